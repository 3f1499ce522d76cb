# tokenkeeper: `make demo` runs the demo, `make test` runs every check. Both set up what they need.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(CARGO_BIN):$(PATH)

CHROMEDRIVER ?= /usr/bin/chromedriver
GECKODRIVER ?= $(shell command -v geckodriver || echo $(CARGO_BIN)/geckodriver)
# Debian's WebKitGTK WebDriver (webkit2gtk-driver). wasm-bindgen-test-runner drives it as Safari;
# it needs an X display, which `xvfb-run -a` gives each run (a free display number).
WEBKIT_WEBDRIVER ?= /usr/bin/WebKitWebDriver
XVFB_RUN := xvfb-run -a
# --mode no-install: wasm-pack uses the tools on PATH and downloads nothing.
WASM_PACK_TEST := wasm-pack test --mode no-install

.PHONY: help setup build server demo test lint fmt-check clippy test-native test-wasm \
        test-chrome test-firefox test-webkit test-node test-e2e test-e2e-webkit test-e2e-firefox examples api api-check \
        bench fixtures screenshot fuzz size-gate test-backends test-core

help:
	@echo "make demo   build the package and serve the demo on http://127.0.0.1:8080"
	@echo "make test   every check: fmt, clippy, native tests, browser tests (Chromium, Firefox, WebKit), Node, e2e"
	@echo "make build  build the npm package into pkg/"
	@echo "make examples  install and build the example apps (www/examples/, examples/rust-app/)"
	@echo "make bench  benchmarks, results in bench/RESULTS.md"
	@echo "make fuzz   coverage-guided fuzzing (cargo-fuzz), FUZZ_SECONDS per target, results in bench/FUZZING.md"
	@echo "make api    accept a change of the public TypeScript API (api/tokenkeeper.d.ts)"

setup:
	@scripts/setup.sh

build: setup
	scripts/build-pkg.sh

server: setup
	cargo build -p tokenkeeper-server

demo: build server
	scripts/demo.sh

test: setup lint test-native test-wasm api-check size-gate test-core test-backends test-e2e test-e2e-webkit test-e2e-firefox
	@echo "make test: all suites passed"

lint: fmt-check clippy

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p tokenkeeper --target wasm32-unknown-unknown --all-targets -- -D warnings
	cargo clippy -p tokenkeeper --target wasm32-unknown-unknown --no-default-features --features talc-allocator -- -D warnings
	cargo clippy -p tokenkeeper-rust-app --target wasm32-unknown-unknown -- -D warnings
	cargo clippy -p tokenkeeper --features verify --all-targets -- -D warnings

# The `verify` feature's tests run on their own: no other build turns it on.
test-native:
	cargo test --workspace
	cargo test -p tokenkeeper --features verify --lib verify

test-wasm: test-chrome test-firefox test-webkit test-node

# The package's wasm core (the `Core` class the JavaScript driver feeds) in Node: a login from
# start to settlement, and arguments of every wrong type, without a crash; the renaming of
# the module's imports and exports that the package build does (scripts/wasm-names.mjs); and the
# WebKit suites' retrying runner (scripts/wasm-test-runner-retry.sh).
test-core: build
	node tests/core-smoke.mjs
	node --test tests/wasm-names.test.mjs tests/wasm-test-runner-retry.test.mjs

# The real Python auth backends (tests/backends/: simplejwt, flask-jwt-extended, fastapi-users)
# over raw HTTP, as their docs say they behave; tests/e2e/backends.test.mjs drives the SDK at them.
test-backends: setup
	node --test --test-concurrency=1 tests/backends/

# Each engine runs the same wasm-bindgen-test suites, with the companion server up for the
# ones that talk to it (scripts/with-server.sh); tests/node.rs runs under Node only.
# TOKENKEEPER_REQUIRE_SERVER=1: those suites fail rather than skip if the server URL did not
# reach their build (tests/common/server.rs).
test-chrome: server
	TOKENKEEPER_REQUIRE_SERVER=1 scripts/with-server.sh $(WASM_PACK_TEST) --headless --chrome --chromedriver $(CHROMEDRIVER)

test-firefox: server
	TOKENKEEPER_REQUIRE_SERVER=1 scripts/with-server.sh $(WASM_PACK_TEST) --headless --firefox --geckodriver $(GECKODRIVER)

# WebKit: WebKitGTK's driver in Safari's place. This is the `cargo test` that `wasm-pack test
# --headless --safari` runs, with one change: the runner is scripts/wasm-test-runner-retry.sh,
# which runs a suite that failed once more and says so (WebKitWebDriver sometimes never answers
# a new session, and WebKitGTK's JavaScriptCore sometimes traps in code that passes in the other
# engines; a failure of the code fails twice). The runner takes
# the first driver variable it finds in the order GECKODRIVER, SAFARIDRIVER, CHROMEDRIVER, so the
# other two are unset. Its 20 s default per suite is raised: under load, WebKit's start has
# stalled for ~60 s (2 runs in 17); and the driver gets 30 s, not 5, to open its port.
test-webkit: server
	$(XVFB_RUN) env -u GECKODRIVER -u CHROMEDRIVER TOKENKEEPER_REQUIRE_SERVER=1 \
	  WASM_BINDGEN_TEST_TIMEOUT=90 WASM_BINDGEN_TEST_DRIVER_TIMEOUT=30 WASM_BINDGEN_TEST_ONLY_WEB=1 \
	  SAFARIDRIVER=$(WEBKIT_WEBDRIVER) CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(CURDIR)/scripts/wasm-test-runner-retry.sh \
	  scripts/with-server.sh cargo test --target wasm32-unknown-unknown

test-node:
	$(WASM_PACK_TEST) --node

test-e2e: build server examples
	node --test --test-concurrency=1 tests/e2e/

# The e2e subset in WebKit (Playwright cannot drive WebKitGTK): plain W3C WebDriver from node.
test-e2e-webkit: build server
	$(XVFB_RUN) env WEBKIT_WEBDRIVER=$(WEBKIT_WEBDRIVER) node --test --test-concurrency=1 tests/webkit/

# The same subset in Firefox ESR through geckodriver, headless (no Xvfb): the JavaScript driver's
# Firefox coverage (the wasm-bindgen-test suites test the Rust driver).
FIREFOX_BINARY ?= /usr/bin/firefox-esr
test-e2e-firefox: build server
	env E2E_ENGINE=firefox GECKODRIVER=$(GECKODRIVER) FIREFOX_BINARY=$(FIREFOX_BINARY) node --test --test-concurrency=1 tests/webkit/

# The examples, installed and built as their users do; the e2e suite runs them. npm ci for the
# Vite, React and Node apps (skipped while their lock files are unchanged), the Rust app for wasm32.
examples: build
	www/examples/setup.sh
	examples/rust-app/build.sh

# The public TypeScript API is committed (api/tokenkeeper.d.ts) so that changes show in review.
# wasm-bindgen's closure shims in `InitOutput` carry hashed names that change with any Rust
# change; they are not API, so the committed file leaves them out.
API_FILTER = grep -v 'closures_____invoke__h[0-9a-f]'

api-check: build
	@$(API_FILTER) pkg/tokenkeeper.d.ts | diff -u api/tokenkeeper.d.ts - || { \
	  echo "The generated TypeScript API differs from api/tokenkeeper.d.ts."; \
	  echo "If the change is intended, run 'make api' and commit the file."; exit 1; }
	@echo "api-check: pkg/tokenkeeper.d.ts matches api/tokenkeeper.d.ts"
	@cmp -s src/react/index.d.ts pkg/react/index.d.ts || { echo "pkg/react/index.d.ts is not src/react/index.d.ts: run make build"; exit 1; }
	node_modules/.bin/tsc -p tests/types
	@echo "api-check: tests/types/react-usage.tsx type-checks against the published declarations"

# The package may only shrink: over bench/size-budget.json (today's size + 1 KB until the 60 KB
# goal) the build fails. Size does not depend on load, so this one budget is safe in a test.
size-gate: build
	node scripts/size-gate.mjs

api: build
	$(API_FILTER) pkg/tokenkeeper.d.ts > api/tokenkeeper.d.ts

# Benchmarks write bench/RESULTS.md (not part of `make test`: budgets live here, not in tests).
# `make bench`: server load, package size and speed in Chromium, then the budgets (~4 minutes).
.PHONY: bench-size bench-speed
bench: build
	bench/run.sh

bench-size: build
	bench/size.sh

bench-speed: build server
	node bench/speed.mjs

# Coverage-guided fuzzing of the pure core (cargo-fuzz/libFuzzer, fuzz/): each target for
# FUZZ_SECONDS (default 40), fails on any crash, panic or broken invariant; writes bench/FUZZING.md.
# Not part of `make test`: its findings become tests in tests/fuzz_regressions.rs instead.
fuzz:
	scripts/fuzz.sh

# Retakes the README's demo screenshot (docs/demo.png) through the demo e2e test.
screenshot: build server examples
	UPDATE_SCREENSHOT=1 node --test --test-name-pattern="takes the screenshot" tests/e2e/demo.test.mjs

# Regenerates the interop fixtures (tokens made by python-jose, PyJWT and npm jose).
fixtures: setup
	scripts/fixtures/regenerate.sh
