//! Browser tests for the adapters the driver calls: storage, HTTP, the cross-tab lock and the
//! cross-tab channel.
//!
//! Run: `wasm-pack test --headless --chrome -- --test browser_adapters` (or `--firefox`; see the
//! Makefile for the driver flags this machine needs). HTTP is checked against the test runner's
//! own origin, a refused port, and a `fetch` replaced for one test (the adapter calls the global
//! `fetch` at call time); only the timeout test needs the companion server, to hold a reply. The last
//! section drives the Rust `AuthClient` the same way, with a `fetch` that answers the login
//! itself, for what only shows with the whole driver: a throwing `fetch`, `storage` events.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use js_sys::Date;
use serde_json::Value;
use tokenkeeper::__adapters::storage::{MemoryStorage, Store, TokenStorage};
use tokenkeeper::__adapters::{http, lock, tabs};
use tokenkeeper::protocol::{Body, Credentials, Endpoint, HttpRequest, Method};
use tokenkeeper::{AuthError, ErrorCode, StorageChoice};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function syncAdapter() {
  const items = new Map();
  return {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => { items.set(key, value); },
    removeItem: (key) => { items.delete(key); },
    snapshot: () => JSON.stringify([...items]),
  };
}
export function promiseAdapter() {
  const items = new Map();
  const later = (f) => new Promise((resolve) => setTimeout(() => resolve(f()), 1));
  return {
    getItem: (key) => later(() => items.get(key)),
    setItem: (key, value) => later(() => { items.set(key, value); }),
    removeItem: (key) => later(() => { items.delete(key); }),
    snapshot: () => JSON.stringify([...items]),
  };
}
export function throwingAdapter(secret) {
  return {
    getItem() { throw new Error("cannot read " + secret); },
    setItem(key, value) { return Promise.reject(new TypeError("cannot write " + value)); },
    removeItem() { throw new DOMException("denied " + secret, "SecurityError"); },
  };
}
export function garbageAdapter(kind) {
  const value = kind === "number" ? 42 : kind === "object" ? { token: "x" } : true;
  return { getItem: () => Promise.resolve(value), setItem() {}, removeItem() {} };
}
export function adapterMissing(name) {
  const adapter = { getItem() { return null; }, setItem() {}, removeItem() {} };
  delete adapter[name];
  return adapter;
}
export function snapshot(adapter) { return adapter.snapshot(); }

// Makes `globalThis[name]` throw like a disabled Web Storage; returns the undo function.
export function breakGlobal(name) {
  const original = Object.getOwnPropertyDescriptor(globalThis, name);
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() { throw new DOMException("storage is disabled", "SecurityError"); },
  });
  return () => {
    if (original) { Object.defineProperty(globalThis, name, original); }
    else { delete globalThis[name]; }
  };
}

// Replaces `fetch` with `impl(request, log)`; returns { log, restore }.
function installFetch(impl) {
  const original = globalThis.fetch;
  const log = [];
  globalThis.fetch = (request) => impl(request, log);
  return { log, restore() { globalThis.fetch = original; } };
}
export function recordingFetch(status, headers, body) {
  return installFetch(async (request, log) => {
    log.push({
      method: request.method,
      url: request.url,
      headers: [...request.headers].sort(),
      credentials: request.credentials,
      body: await request.text(),
    });
    return new Response(body, { status, headers });
  });
}
// Answers every request with a 200 whose body is `chars` times "x", made here in JS.
export function longBodyFetch(chars) {
  return installFetch(async () => new Response("x".repeat(chars), { status: 200 }));
}
export function hangingFetch(honourSignal) {
  return installFetch((request, log) => new Promise((_, reject) => {
    log.push("sent");
    request.signal.addEventListener("abort", () => {
      log.push("aborted");
      if (honourSignal) { reject(new DOMException("aborted", "AbortError")); }
    });
  }));
}
export function oddFetch(kind) {
  return installFetch(() => {
    if (kind === "throws") { throw new TypeError("fetch exploded"); }
    return Promise.resolve({ status: 200, headers: null });
  });
}
export function fetchLog(mock) { return JSON.stringify(mock.log); }
export function restoreFetch(mock) { mock.restore(); }

// Hides `navigator.locks` (as in an insecure context); returns the undo function.
export function hideLocks() {
  Object.defineProperty(navigator, "locks", { configurable: true, value: undefined });
  return () => { delete navigator.locks; };
}
export async function lockState(name) {
  const state = await navigator.locks.query();
  const count = (list) => (list || []).filter((lock) => lock.name === name).length;
  return JSON.stringify({ held: count(state.held), pending: count(state.pending) });
}

// A custom storage whose Promises never settle (a stuck IndexedDB transaction); counts calls.
export function stalledAdapter() {
  const calls = [];
  const never = (name) => () => { calls.push(name); return new Promise(() => {}); };
  return { getItem: never("getItem"), setItem: never("setItem"), removeItem: never("removeItem"), calls };
}
export function adapterCalls(adapter) { return adapter.calls.join(","); }

// An unsigned JWT (the client never checks signatures) that expires `seconds` from now.
export function fakeToken(sub, seconds) {
  const b64 = (object) => btoa(JSON.stringify(object)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, exp: now + seconds, iat: now, type: "access" })}.c2lnbmF0dXJl`;
}
// A made-up API: answers logins and refreshes with new tokens and anything else with 200 `{}`;
// once `mock.throwing` is set, `fetch` throws synchronously instead (as a replaced one may).
export function mockApi() {
  let issued = 0;
  const mock = installFetch((request, log) => {
    const path = new URL(request.url).pathname;
    log.push(path);
    if (mock.throwing) { throw new TypeError("fetch exploded"); }
    issued += 1;
    const body = path === "/auth/login" || path === "/auth/refresh"
      ? { access_token: fakeToken(`user-${issued}`, 3600), refresh_token: `refresh-${issued}`, token_type: "bearer", expires_in: 3600 }
      : {};
    return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } }));
  });
  mock.throwing = false;
  return mock;
}
export function setThrowing(mock, throwing) { mock.throwing = throwing; }

// A Promise-returning custom storage over a Map whose methods named in `stall` never settle.
export function stallableAdapter() {
  const items = new Map();
  const stall = new Set();
  const call = (name, f) => (stall.has(name) ? new Promise(() => {}) : Promise.resolve().then(f));
  return {
    getItem: (key) => call("getItem", () => items.get(key) ?? null),
    setItem: (key, value) => call("setItem", () => { items.set(key, value); }),
    removeItem: (key) => call("removeItem", () => { items.delete(key); }),
    stall,
  };
}
export function stall(adapter, method) { adapter.stall.add(method); }

// A `storage` event as a change to `area` ("local" or "session") in another frame or tab would
// raise here; `key` null is a `clear()`.
export function storageEvent(area, key, newValue) {
  const storageArea = area === "local" ? localStorage : sessionStorage;
  window.dispatchEvent(new StorageEvent("storage", { key, newValue, storageArea }));
}
// A real change: a same-origin frame writes to `area` and clears it, which raises `storage`
// events here (the frame shares both areas with this page). Resolves with what this page heard.
export async function frameClears(area) {
  const heard = [];
  const listener = (event) => heard.push(`${event.storageArea === localStorage ? "local" : "session"}:${event.key}`);
  window.addEventListener("storage", listener);
  const frame = document.createElement("iframe");
  document.body.append(frame);
  const storage = area === "local" ? frame.contentWindow.localStorage : frame.contentWindow.sessionStorage;
  storage.setItem("tk-frame-probe", "1");
  storage.clear();
  await new Promise((resolve) => setTimeout(resolve, 100));
  window.removeEventListener("storage", listener);
  frame.remove();
  return heard.join(",");
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = syncAdapter)]
    fn sync_adapter() -> JsValue;
    #[wasm_bindgen(js_name = promiseAdapter)]
    fn promise_adapter() -> JsValue;
    #[wasm_bindgen(js_name = throwingAdapter)]
    fn throwing_adapter(secret: &str) -> JsValue;
    #[wasm_bindgen(js_name = garbageAdapter)]
    fn garbage_adapter(kind: &str) -> JsValue;
    #[wasm_bindgen(js_name = adapterMissing)]
    fn adapter_missing(name: &str) -> JsValue;
    fn snapshot(adapter: &JsValue) -> String;
    #[wasm_bindgen(js_name = breakGlobal)]
    fn break_global(name: &str) -> js_sys::Function;
    #[wasm_bindgen(js_name = recordingFetch)]
    fn recording_fetch(status: u16, headers: &JsValue, body: &str) -> JsValue;
    #[wasm_bindgen(js_name = longBodyFetch)]
    fn long_body_fetch(chars: u32) -> JsValue;
    #[wasm_bindgen(js_name = hangingFetch)]
    fn hanging_fetch(honour_signal: bool) -> JsValue;
    #[wasm_bindgen(js_name = oddFetch)]
    fn odd_fetch(kind: &str) -> JsValue;
    #[wasm_bindgen(js_name = fetchLog)]
    fn fetch_log(mock: &JsValue) -> String;
    #[wasm_bindgen(js_name = restoreFetch)]
    fn restore_fetch(mock: &JsValue);
    #[wasm_bindgen(js_name = hideLocks)]
    fn hide_locks() -> js_sys::Function;
    #[wasm_bindgen(js_name = lockState)]
    fn lock_state(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = stalledAdapter)]
    fn stalled_adapter() -> JsValue;
    #[wasm_bindgen(js_name = adapterCalls)]
    fn adapter_calls(adapter: &JsValue) -> String;
    #[wasm_bindgen(js_name = fakeToken)]
    fn fake_token(sub: &str, seconds: u32) -> String;
    #[wasm_bindgen(js_name = mockApi)]
    fn mock_api() -> JsValue;
    #[wasm_bindgen(js_name = stallableAdapter)]
    fn stallable_adapter() -> JsValue;
    fn stall(adapter: &JsValue, method: &str);
    #[wasm_bindgen(js_name = setThrowing)]
    fn set_throwing(mock: &JsValue, throwing: bool);
    #[wasm_bindgen(js_name = storageEvent)]
    fn storage_event(area: &str, key: Option<&str>, new_value: Option<&str>);
    #[wasm_bindgen(js_name = frameClears)]
    fn frame_clears(area: &str) -> js_sys::Promise;
}

fn web_storage(name: &str) -> web_sys::Storage {
    let window = web_sys::window().expect("a window");
    match name {
        "localStorage" => window.local_storage(),
        _ => window.session_storage(),
    }
    .expect("storage accessible")
    .expect("storage present")
}

fn assert_storage_error(error: &AuthError, secret: &str) {
    assert_eq!(error.code(), ErrorCode::Storage, "{error:?}");
    assert!(
        !error.message().contains(secret),
        "message leaks a value: {}",
        error.message()
    );
}

fn custom(adapter: &JsValue) -> Store {
    let choice = Store::from_js(adapter).expect("a valid adapter");
    assert!(matches!(choice, StorageChoice::Custom(_)));
    let (store, warning) = Store::open(choice);
    assert!(warning.is_none());
    store
}

// ---------------------------------------------------------------- storage

/// `localStorage` and `sessionStorage` round trip through the real Web Storage, and removal
/// really removes.
#[wasm_bindgen_test]
async fn web_storage_round_trip_and_remove() {
    for (choice, global, kind, shared) in [
        (StorageChoice::Local, "localStorage", "local", true),
        (StorageChoice::Session, "sessionStorage", "session", false),
    ] {
        let key = format!("tk-test-round-trip-{kind}");
        let (store, warning) = Store::open(choice);
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(store.kind_name(), kind);
        assert_eq!(store.is_shared(), shared);

        assert_eq!(store.get(&key).await.unwrap(), None);
        store.set(&key, "{\"v\":1,\"a\":\"ü\"}").await.unwrap();
        assert_eq!(
            web_storage(global).get_item(&key).unwrap().as_deref(),
            Some("{\"v\":1,\"a\":\"ü\"}"),
            "not written to {global}"
        );
        assert_eq!(
            store.get(&key).await.unwrap().as_deref(),
            Some("{\"v\":1,\"a\":\"ü\"}")
        );
        store.remove(&key).await.unwrap();
        assert_eq!(web_storage(global).get_item(&key).unwrap(), None);
        assert_eq!(store.get(&key).await.unwrap(), None);
        // Removing a missing key is fine.
        store.remove(&key).await.unwrap();
    }
}

/// Memory storage round trips, is private to the tab, and never touches Web Storage.
#[wasm_bindgen_test]
async fn memory_storage_round_trip() {
    let key = "tk-test-memory";
    let (store, warning) = Store::open(StorageChoice::Memory);
    assert!(warning.is_none());
    assert_eq!(store.kind_name(), "memory");
    assert!(!store.is_shared());
    store.set(key, "value-1").await.unwrap();
    store.set(key, "value-2").await.unwrap();
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some("value-2"));
    assert_eq!(web_storage("localStorage").get_item(key).unwrap(), None);
    store.remove(key).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), None);
}

/// A sync JavaScript adapter and a Promise-returning one both work, and values reach the
/// adapter unchanged.
#[wasm_bindgen_test]
async fn custom_js_adapters_sync_and_promise() {
    for adapter in [sync_adapter(), promise_adapter()] {
        let store = custom(&adapter);
        assert_eq!(store.kind_name(), "custom");
        assert!(store.is_shared());
        assert_eq!(store.get("k").await.unwrap(), None);
        store.set("k", "stored value").await.unwrap();
        assert_eq!(snapshot(&adapter), r#"[["k","stored value"]]"#);
        assert_eq!(
            store.get("k").await.unwrap().as_deref(),
            Some("stored value")
        );
        store.remove("k").await.unwrap();
        assert_eq!(snapshot(&adapter), "[]");
        assert_eq!(store.get("k").await.unwrap(), None);
    }
}

/// A throwing method and a rejected Promise are `storage` errors whose messages quote neither
/// the value nor the JavaScript message.
#[wasm_bindgen_test]
async fn custom_js_adapter_that_throws_is_a_storage_error() {
    let secret = "eyJsecret.token.value";
    let store = custom(&throwing_adapter(secret));
    let read = store.get("k").await.unwrap_err();
    assert_storage_error(&read, secret);
    assert!(read.message().contains("getItem"), "{}", read.message());
    let write = store.set("k", secret).await.unwrap_err();
    assert_storage_error(&write, secret);
    assert!(write.message().contains("TypeError"), "{}", write.message());
    let remove = store.remove("k").await.unwrap_err();
    assert_storage_error(&remove, secret);
    assert!(
        remove.message().contains("SecurityError"),
        "{}",
        remove.message()
    );
}

/// `getItem` results that are neither a string nor null are `storage` errors, not crashes.
#[wasm_bindgen_test]
async fn custom_js_adapter_returning_garbage_is_a_storage_error() {
    for kind in ["number", "object", "boolean"] {
        let store = custom(&garbage_adapter(kind));
        let error = store.get("k").await.unwrap_err();
        assert_storage_error(&error, "token");
    }
}

/// `from_js` accepts the three names and adapter objects, and rejects anything else with
/// `config`.
#[wasm_bindgen_test]
fn from_js_accepts_names_and_adapters_and_rejects_the_rest() {
    let name = |value: &str| Store::from_js(&JsValue::from_str(value));
    assert!(matches!(name("local"), Ok(StorageChoice::Local)));
    assert!(matches!(name("session"), Ok(StorageChoice::Session)));
    assert!(matches!(name("memory"), Ok(StorageChoice::Memory)));
    assert!(matches!(
        Store::from_js(&JsValue::UNDEFINED),
        Ok(StorageChoice::Local)
    ));

    let bad = [
        JsValue::from_str("Local"),
        JsValue::from_str("indexeddb"),
        JsValue::from_str(""),
        JsValue::NULL,
        JsValue::from_f64(1.0),
        JsValue::TRUE,
        js_sys::Object::new().into(),
        adapter_missing("getItem"),
        adapter_missing("setItem"),
        adapter_missing("removeItem"),
    ];
    for value in bad {
        match Store::from_js(&value) {
            Err(error) => assert_eq!(error.code(), ErrorCode::Config, "{error:?}"),
            Ok(choice) => panic!("accepted {value:?} as {choice:?}"),
        }
    }
    let missing = Store::from_js(&adapter_missing("removeItem")).unwrap_err();
    assert!(
        missing.message().contains("removeItem"),
        "{}",
        missing.message()
    );
}

/// A write over the quota switches to memory, keeps the value there, reports a `storage` error,
/// and leaves no stale session in `localStorage`.
#[wasm_bindgen_test]
async fn quota_exceeded_falls_back_to_memory_keeping_the_value() {
    let key = "tk-test-quota";
    let (store, _) = Store::open(StorageChoice::Local);
    assert_eq!(store.kind_name(), "local");
    store.set(key, "old session").await.unwrap();

    // Above every engine's quota (5 to 10 MB per origin).
    let big = "x".repeat(12 * 1024 * 1024);
    let error = store.set(key, &big).await.unwrap_err();
    assert_storage_error(&error, "xxxxxxxx");
    assert!(
        error.message().contains("localStorage"),
        "{}",
        error.message()
    );

    assert_eq!(store.kind_name(), "memory");
    assert!(!store.is_shared());
    let kept = store.get(key).await.unwrap().expect("value kept in memory");
    assert_eq!(kept.len(), big.len());
    assert_eq!(web_storage("localStorage").get_item(key).unwrap(), None);

    // Later writes stay in memory.
    store.set(key, "next").await.unwrap();
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some("next"));
    assert_eq!(web_storage("localStorage").get_item(key).unwrap(), None);
}

/// Storage whose getter throws (cookies blocked, sandboxed iframe) opens as memory with a
/// `storage` warning instead of failing.
#[wasm_bindgen_test]
async fn disabled_web_storage_opens_as_memory_with_a_warning() {
    for (choice, global) in [
        (StorageChoice::Local, "localStorage"),
        (StorageChoice::Session, "sessionStorage"),
    ] {
        let undo = break_global(global);
        let (store, warning) = Store::open(choice);
        undo.call0(&JsValue::UNDEFINED).unwrap();

        let warning = warning.expect("a warning");
        assert_eq!(warning.code(), ErrorCode::Storage);
        assert!(warning.message().contains(global), "{}", warning.message());
        assert!(
            warning.message().contains("SecurityError"),
            "{}",
            warning.message()
        );
        assert_eq!(store.kind_name(), "memory");
        assert!(!store.is_shared());
        store.set("tk-test-disabled", "v").await.unwrap();
        assert_eq!(
            store.get("tk-test-disabled").await.unwrap().as_deref(),
            Some("v")
        );
        assert_eq!(
            web_storage(global).get_item("tk-test-disabled").unwrap(),
            None
        );
    }
}

// ---------------------------------------------------------------- http

fn request(method: Method, url: &str, body: Body, timeout: Duration) -> HttpRequest {
    let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
    match &body {
        Body::Form(_) => headers.push((
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )),
        Body::Json(_) => headers.push(("Content-Type".to_owned(), "application/json".to_owned())),
        Body::Empty => {}
    }
    HttpRequest {
        endpoint: Endpoint::Login,
        method,
        url: url.to_owned(),
        headers,
        body,
        credentials: Credentials::SameOrigin,
        timeout,
    }
}

fn get(url: &str, timeout: Duration) -> HttpRequest {
    request(Method::Get, url, Body::Empty, timeout)
}

/// Nothing answers on port 9 (and browsers refuse it): a `network` error without a status.
#[wasm_bindgen_test]
async fn no_response_is_a_network_error() {
    let error = http::send(&get("http://127.0.0.1:9/", Duration::from_secs(10)))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Network, "{error:?}");
    assert_eq!(error.status(), None);
    assert!(error.message().contains("login"), "{}", error.message());
}

/// A 404 from the test runner's own server is a reply, not an error; a relative URL resolves
/// against the page.
#[wasm_bindgen_test]
async fn any_status_is_a_reply() {
    let reply = http::send(&get(
        "/tokenkeeper-no-such-path?x=1",
        Duration::from_secs(10),
    ))
    .await
    .expect("a reply");
    assert_eq!(reply.status, 404);

    // And a page that exists is a 2xx with its content type.
    let location = web_sys::window().unwrap().location().href().unwrap();
    let reply = http::send(&get(&location, Duration::from_secs(10)))
        .await
        .expect("a reply");
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .content_type
            .as_deref()
            .is_some_and(|value| value.contains("text/html")),
        "{:?}",
        reply.content_type
    );
    assert!(reply.body.contains("<"), "empty page body");
}

/// A body longer than `MAX_REPLY_CHARS` is refused before it is copied into wasm memory (a
/// `protocol` error with the status); one at the limit is read whole.
#[wasm_bindgen_test]
async fn an_overlong_body_is_a_protocol_error_and_is_not_copied() {
    for (chars, refused) in [
        (http::MAX_REPLY_CHARS, false),
        (http::MAX_REPLY_CHARS + 1, true),
    ] {
        let mock = long_body_fetch(chars);
        let result = http::send(&get("http://127.0.0.1:1/auth/me", Duration::from_secs(10))).await;
        restore_fetch(&mock);
        match result {
            Ok(reply) => {
                assert!(!refused, "{chars} characters were read");
                assert_eq!(reply.body.len(), chars as usize);
            }
            Err(error) => {
                assert!(refused, "{chars} characters were refused: {error}");
                assert_eq!(error.code(), ErrorCode::Protocol);
                assert_eq!(error.status(), Some(200));
                assert!(error.message().contains("too large"), "{}", error.message());
            }
        }
    }
}

/// Method, URL, headers, body and credentials reach `fetch` as described, and the status,
/// `Content-Type`, `Retry-After` and body come back.
#[wasm_bindgen_test]
async fn request_is_sent_as_described_and_the_reply_read() {
    let headers = js_sys::Object::new();
    js_sys::Reflect::set(&headers, &"Retry-After".into(), &"7".into()).unwrap();
    js_sys::Reflect::set(
        &headers,
        &"Content-Type".into(),
        &"application/json; charset=utf-8".into(),
    )
    .unwrap();
    let mock = recording_fetch(429, &headers, r#"{"detail":"slow down"}"#);

    let mut form = request(
        Method::Post,
        "http://127.0.0.1:1/auth/login?next=%2Fhome",
        Body::Form(vec![
            ("username".to_owned(), "zoë@example.com".to_owned()),
            ("password".to_owned(), "p w&=".to_owned()),
        ]),
        Duration::from_secs(5),
    );
    form.credentials = Credentials::Include;
    let form_reply = http::send(&form).await;

    let mut json = request(
        Method::Post,
        "http://127.0.0.1:1/auth/refresh",
        Body::Json(r#"{"refresh_token":"r.t.s"}"#.to_owned()),
        Duration::from_secs(5),
    );
    json.endpoint = Endpoint::Refresh;
    json.headers
        .push(("Authorization".to_owned(), "Bearer a.b.c".to_owned()));
    let json_reply = http::send(&json).await;

    let get_reply = http::send(&get("http://127.0.0.1:1/auth/me", Duration::from_secs(5))).await;
    let log = fetch_log(&mock);
    restore_fetch(&mock);

    for reply in [&form_reply, &json_reply, &get_reply] {
        let reply = reply.as_ref().expect("a reply");
        assert_eq!(reply.status, 429);
        assert_eq!(reply.retry_after.as_deref(), Some("7"));
        assert_eq!(
            reply.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(reply.body, r#"{"detail":"slow down"}"#);
    }

    let log: Value = serde_json::from_str(&log).unwrap();
    let calls = log.as_array().expect("a log");
    assert_eq!(calls.len(), 3, "{log}");
    let form_call = &calls[0];
    assert_eq!(form_call["method"], "POST");
    assert_eq!(
        form_call["url"],
        "http://127.0.0.1:1/auth/login?next=%2Fhome"
    );
    assert_eq!(form_call["credentials"], "include");
    assert_eq!(
        form_call["body"],
        "username=zo%C3%AB%40example.com&password=p+w%26%3D"
    );
    assert_eq!(
        form_call["headers"],
        serde_json::json!([
            ["accept", "application/json"],
            ["content-type", "application/x-www-form-urlencoded"]
        ])
    );
    let json_call = &calls[1];
    assert_eq!(json_call["method"], "POST");
    assert_eq!(json_call["credentials"], "same-origin");
    assert_eq!(json_call["body"], r#"{"refresh_token":"r.t.s"}"#);
    assert_eq!(
        json_call["headers"],
        serde_json::json!([
            ["accept", "application/json"],
            ["authorization", "Bearer a.b.c"],
            ["content-type", "application/json"]
        ])
    );
    let get_call = &calls[2];
    assert_eq!(get_call["method"], "GET");
    assert_eq!(get_call["body"], "");
}

/// The timeout aborts the request through its signal and reports `network`; a `fetch` that
/// ignores the signal is still bounded by the timeout.
#[wasm_bindgen_test]
async fn timeout_aborts_the_request_and_is_a_network_error() {
    for honour_signal in [true, false] {
        let mock = hanging_fetch(honour_signal);
        let started = Date::now();
        let result = http::send(&get("http://127.0.0.1:1/slow", Duration::from_millis(30))).await;
        let elapsed = Date::now() - started;
        let log = fetch_log(&mock);
        restore_fetch(&mock);

        let error = result.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Network, "{error:?}");
        assert!(error.message().contains("timed out"), "{}", error.message());
        assert!(
            (25.0..2_000.0).contains(&elapsed),
            "took {elapsed} ms for a 30 ms timeout"
        );
        assert_eq!(log, r#"["sent","aborted"]"#, "signal not aborted");
    }
}

#[path = "common/join.rs"]
mod join;
#[path = "common/server.rs"]
mod server;
use join::join;

/// A real request with a 1 ms timeout, to a companion server told to hold its reply for 5 s
/// (test mode's `delay_ms` fault): aborted before the reply. The hold is what makes it
/// deterministic: against the runner's own page, WebKit answered within the millisecond (from
/// its memory cache) on some runs. Needs the server (`server::server()`: skipped without one,
/// failed under `make test` without one).
#[wasm_bindgen_test]
async fn tiny_timeout_against_a_real_request_is_a_network_error() {
    let Some(server) = server::server() else {
        return;
    };
    let hold = request(
        Method::Post,
        &format!("{server}/__faults"),
        Body::Json(r#"{"endpoint": "me", "count": 1, "delay_ms": 5000}"#.to_owned()),
        Duration::from_secs(10),
    );
    assert_eq!(http::send(&hold).await.unwrap().status, 200);
    let me = format!("{server}/auth/me");
    let error = http::send(&get(&me, Duration::from_millis(1)))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Network, "{error:?}");
    assert!(error.message().contains("timed out"), "{}", error.message());
    // The same request with room to answer gets its reply (401: no token), so the error above
    // was the timeout. It also takes the held fault if the aborted request never reached the
    // server, so no later suite on this server is slowed by it.
    let reply = http::send(&get(&me, Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(reply.status, 401);
}

/// A `fetch` that throws synchronously, or resolves to something that is not a `Response`
/// (mocks, polyfills), is a `network` error, not a panic.
#[wasm_bindgen_test]
async fn odd_fetch_results_are_network_errors() {
    for kind in ["throws", "not a response"] {
        let mock = odd_fetch(kind);
        let result = http::send(&get("http://127.0.0.1:1/", Duration::from_secs(5))).await;
        restore_fetch(&mock);
        let error = result.unwrap_err();
        assert_eq!(error.code(), ErrorCode::Network, "{kind}: {error:?}");
    }
}

/// A header value the browser refuses (a newline, e.g. from a corrupted token) is a `network`
/// error that does not quote the value.
#[wasm_bindgen_test]
async fn unbuildable_request_is_a_network_error() {
    let mut bad = get("http://127.0.0.1:1/", Duration::from_secs(5));
    bad.headers
        .push(("Authorization".to_owned(), "Bearer se\ncret".to_owned()));
    let error = http::send(&bad).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Network, "{error:?}");
    assert!(!error.message().contains("cret"), "{}", error.message());
}

// ---------------------------------------------------------------- lock

async fn lock_counts(name: &str) -> Value {
    let state = JsFuture::from(lock_state(name)).await.unwrap();
    serde_json::from_str(&state.as_string().unwrap()).unwrap()
}

/// A second acquire waits until the first guard is released, then holds the lock itself.
#[wasm_bindgen_test]
async fn second_acquire_waits_for_the_first_release() {
    let name = "tk-test-lock-order";
    let first = lock::acquire(name, Duration::from_secs(5)).await;
    assert!(first.is_exclusive(), "Web Locks exist in this browser");
    assert_eq!(lock_counts(name).await["held"], 1);

    let order = Rc::new(RefCell::new(Vec::new()));
    let (done_tx, done_rx) = futures_channel::oneshot::channel();
    let seen = order.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let second = lock::acquire(name, Duration::from_secs(5)).await;
        seen.borrow_mut().push("second acquired");
        let exclusive = second.is_exclusive();
        second.release();
        let _ = done_tx.send(exclusive);
    });

    TimeoutFuture::new(100).await;
    assert_eq!(lock_counts(name).await["pending"], 1, "second is queued");
    order.borrow_mut().push("first released");
    first.release();
    let second_was_exclusive = done_rx.await.unwrap();

    assert!(second_was_exclusive);
    assert_eq!(*order.borrow(), ["first released", "second acquired"]);
    // The release settles the lock's promise; the browser frees the lock a few microtasks later.
    TimeoutFuture::new(20).await;
    assert_eq!(
        lock_counts(name).await,
        serde_json::json!({"held": 0, "pending": 0})
    );
}

/// Dropping a guard releases the lock like `release()`.
#[wasm_bindgen_test]
async fn dropping_the_guard_releases_the_lock() {
    let name = "tk-test-lock-drop";
    {
        let guard = lock::acquire(name, Duration::from_secs(1)).await;
        assert!(guard.is_exclusive());
        assert_eq!(lock_counts(name).await["held"], 1);
    }
    TimeoutFuture::new(0).await;
    assert_eq!(lock_counts(name).await["held"], 0);
    let again = lock::acquire(name, Duration::from_millis(200)).await;
    assert!(again.is_exclusive());
}

/// While the lock is held, `acquire(name, 50 ms)` gives up after about 50 ms with a
/// non-exclusive guard, and its request is withdrawn: it neither waits in the queue nor takes
/// the lock later.
#[wasm_bindgen_test]
async fn bounded_wait_returns_a_non_exclusive_guard() {
    let name = "tk-test-lock-bounded";
    let holder = lock::acquire(name, Duration::from_secs(1)).await;
    assert!(holder.is_exclusive());

    let started = Date::now();
    let waiter = lock::acquire(name, Duration::from_millis(50)).await;
    let elapsed = Date::now() - started;
    assert!(!waiter.is_exclusive());
    assert!(
        (45.0..1_000.0).contains(&elapsed),
        "gave up after {elapsed} ms"
    );

    TimeoutFuture::new(0).await;
    assert_eq!(
        lock_counts(name).await,
        serde_json::json!({"held": 1, "pending": 0}),
        "the abandoned request is still queued"
    );
    holder.release();
    TimeoutFuture::new(20).await;
    assert_eq!(
        lock_counts(name).await,
        serde_json::json!({"held": 0, "pending": 0}),
        "the abandoned request took the lock"
    );
    drop(waiter);
}

/// Without `navigator.locks` (insecure contexts, old browsers), `acquire` proceeds at once with
/// a non-exclusive guard.
#[wasm_bindgen_test]
async fn without_web_locks_the_guard_is_non_exclusive() {
    let undo = hide_locks();
    let started = Date::now();
    let guard = lock::acquire("tk-test-lock-missing", Duration::from_secs(5)).await;
    let elapsed = Date::now() - started;
    undo.call0(&JsValue::UNDEFINED).unwrap();
    assert!(!guard.is_exclusive());
    assert!(elapsed < 1_000.0, "waited {elapsed} ms");
    guard.release();
    // Restored: the real lock works again.
    assert!(
        lock::acquire("tk-test-lock-missing", Duration::from_secs(1))
            .await
            .is_exclusive()
    );
}

/// A refused request (a reserved name starting with "-") does not wait for `max_wait`.
#[wasm_bindgen_test]
async fn refused_request_proceeds_at_once() {
    let started = Date::now();
    let guard = lock::acquire("-tk-reserved", Duration::from_secs(5)).await;
    let elapsed = Date::now() - started;
    assert!(!guard.is_exclusive());
    assert!(elapsed < 1_000.0, "waited {elapsed} ms");
}

// ----- tabs: the BroadcastChannel and the re-read under the lock -----

/// Two clients in one page (as two tabs would) hear each other's announcements on the storage
/// key's channel, never their own, and nothing from another key's channel.
#[wasm_bindgen_test]
async fn tab_channel_carries_writes_and_removals_to_the_others_only() {
    let heard_by_a = Rc::new(RefCell::new(Vec::new()));
    let heard_by_b = Rc::new(RefCell::new(Vec::new()));
    let heard_elsewhere = Rc::new(RefCell::new(Vec::new()));
    let key = format!("tabs-test-{}", Date::now());
    let record = |log: &Rc<RefCell<Vec<Option<String>>>>| {
        let log = Rc::clone(log);
        move |value: Option<String>| log.borrow_mut().push(value)
    };
    let a = tabs::TabChannel::open(&key, record(&heard_by_a)).expect("BroadcastChannel exists");
    let b = tabs::TabChannel::open(&key, record(&heard_by_b)).expect("BroadcastChannel exists");
    let other = tabs::TabChannel::open(&format!("{key}-other"), record(&heard_elsewhere))
        .expect("BroadcastChannel exists");

    a.announce(Some("{\"v\":1}"));
    a.announce(None);
    b.announce(Some("from b"));
    TimeoutFuture::new(50).await;

    assert_eq!(
        *heard_by_b.borrow(),
        [Some("{\"v\":1}".to_owned()), None],
        "b hears a's write and removal, in order"
    );
    assert_eq!(
        *heard_by_a.borrow(),
        [Some("from b".to_owned())],
        "a hears b, not itself"
    );
    assert!(
        heard_elsewhere.borrow().is_empty(),
        "another key's channel hears nothing"
    );

    // Dropping a channel stops it listening.
    drop(a);
    b.announce(Some("after a left"));
    TimeoutFuture::new(50).await;
    assert_eq!(heard_by_a.borrow().len(), 1);
    drop(other);
}

/// Under the lock, a value the previous holder marked as replaced is read again until its
/// successor arrives; an unmarked value is taken at once.
#[wasm_bindgen_test]
async fn read_under_lock_waits_for_the_write_a_marker_announces() {
    /// Memory storage that counts its reads.
    struct CountingReads(MemoryStorage, Rc<std::cell::Cell<u32>>);
    impl TokenStorage for CountingReads {
        fn get_item<'a>(
            &'a self,
            key: &'a str,
        ) -> tokenkeeper::BoxFuture<'a, Result<Option<String>, AuthError>> {
            self.1.set(self.1.get() + 1);
            self.0.get_item(key)
        }
        fn set_item<'a>(
            &'a self,
            key: &'a str,
            value: &'a str,
        ) -> tokenkeeper::BoxFuture<'a, Result<(), AuthError>> {
            self.0.set_item(key, value)
        }
        fn remove_item<'a>(
            &'a self,
            key: &'a str,
        ) -> tokenkeeper::BoxFuture<'a, Result<(), AuthError>> {
            self.0.remove_item(key)
        }
    }
    let key = format!("stale-test-{}", Date::now());
    // A memory area this test also writes to directly, as another tab's write would land.
    let area = MemoryStorage::new();
    let reads = Rc::new(std::cell::Cell::new(0));
    let counted = CountingReads(area.clone(), reads.clone());
    let (store, _) = Store::open(StorageChoice::Custom(Rc::new(counted)));
    store
        .set(&key, "spent")
        .await
        .expect("memory storage writes");

    // Nothing marked: the stored value is current, taken from one read without a pause (counted,
    // not timed: a wall-clock bound here failed under load in WebKit).
    let read = tabs::read_under_lock(&store, &key).await;
    assert_eq!(read.ok().flatten().as_deref(), Some("spent"));
    assert_eq!(reads.get(), 1, "an unmarked value is read once");

    // The previous holder wrote "fresh" over "spent", but the write reaches this store 100 ms
    // later: the read waits for it instead of acting on the spent value.
    tabs::mark_replaced(&key, "spent").await;
    let later_key = key.clone();
    wasm_bindgen_futures::spawn_local(async move {
        TimeoutFuture::new(100).await;
        area.set_item(&later_key, "fresh")
            .await
            .expect("memory storage writes");
    });
    let started = Date::now();
    let read = tabs::read_under_lock(&store, &key).await;
    let waited = Date::now() - started;
    assert_eq!(read.ok().flatten().as_deref(), Some("fresh"));
    assert!((90.0..900.0).contains(&waited), "waited {waited} ms");
}

// ----- storage: custom calls that never settle -----

/// Awaits `future` for at most `ms`: `None` when it is still pending then.
async fn try_within<F: std::future::Future>(ms: u32, future: F) -> Option<F::Output> {
    use std::future::Future;
    use std::task::Poll;
    let mut future = std::pin::pin!(future);
    let mut timer = std::pin::pin!(TimeoutFuture::new(ms));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Awaits `future`, failing the test when it takes over `ms` (rather than hanging the suite
/// until the runner gives up on it).
async fn within<F: std::future::Future>(ms: u32, what: &str, future: F) -> F::Output {
    try_within(ms, future)
        .await
        .unwrap_or_else(|| panic!("{what} still pending after {ms} ms"))
}

/// A Rust [`TokenStorage`] whose futures never complete.
struct Stalled;

impl TokenStorage for Stalled {
    fn get_item<'a>(
        &'a self,
        _key: &'a str,
    ) -> tokenkeeper::BoxFuture<'a, Result<Option<String>, AuthError>> {
        Box::pin(std::future::pending())
    }
    fn set_item<'a>(
        &'a self,
        _key: &'a str,
        _value: &'a str,
    ) -> tokenkeeper::BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(std::future::pending())
    }
    fn remove_item<'a>(
        &'a self,
        _key: &'a str,
    ) -> tokenkeeper::BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(std::future::pending())
    }
}

/// A getItem, setItem or removeItem whose Promise never settles (JavaScript adapter), or whose
/// future never completes (Rust adapter), is a `storage` error once the store's timeout has
/// passed, naming the method and quoting no value; the store answers the next call as usual.
#[wasm_bindgen_test]
async fn custom_storage_calls_that_never_settle_fail_after_the_timeout() {
    let secret = "eyJstalled.secret.value";
    let js = stalled_adapter();
    let (rust, _) = Store::open(StorageChoice::Custom(Rc::new(Stalled)));
    for (label, store) in [("js", custom(&js)), ("rust", rust)] {
        let store = store.with_timeout(Duration::from_millis(100));
        for method in ["getItem", "setItem", "removeItem"] {
            let started = Date::now();
            let what = format!("{label} {method}");
            let result = match method {
                "getItem" => within(3_000, &what, store.get("k")).await.map(drop),
                "setItem" => within(3_000, &what, store.set("k", secret)).await,
                _ => within(3_000, &what, store.remove("k")).await,
            };
            let elapsed = Date::now() - started;
            let error = result.expect_err(&what);
            assert_storage_error(&error, secret);
            assert!(error.message().contains(method), "{what}: {error}");
            assert!(
                error.message().contains("did not settle"),
                "{what}: {error}"
            );
            assert!(
                (90.0..2_000.0).contains(&elapsed),
                "{what} took {elapsed} ms"
            );
        }
        // Still the custom store: a stalled call is no reason to give up on it.
        assert_eq!(store.kind_name(), "custom");
    }
    assert_eq!(adapter_calls(&js), "getItem,setItem,removeItem");
    assert_eq!(
        tokenkeeper::__adapters::storage::STORAGE_TIMEOUT,
        Duration::from_secs(5),
        "the documented default (README, Storage)"
    );
}

/// Under the cross-tab lock, a custom storage read that never settles ends as a `storage` error
/// after the store's timeout, so the caller goes on and the lock is released.
#[wasm_bindgen_test]
async fn read_under_lock_is_bounded_when_the_storage_never_answers() {
    let key = format!("stalled-lock-test-{}", Date::now());
    let (store, _) = Store::open(StorageChoice::Custom(Rc::new(Stalled)));
    let store = store.with_timeout(Duration::from_millis(100));
    let started = Date::now();
    let read = within(
        3_000,
        "read_under_lock",
        tabs::read_under_lock(&store, &key),
    )
    .await;
    let elapsed = Date::now() - started;
    assert_storage_error(&read.expect_err("a storage error"), "never written");
    assert!((90.0..2_000.0).contains(&elapsed), "took {elapsed} ms");
}

/// A storage that answers slowly, and each time with the value a marker says was replaced:
/// `read_under_lock` stops re-reading once `STALE_READ_LIMIT` has passed on the clock, however
/// long the reads took (counting only its own pauses, it would hold the lock for a minute).
#[wasm_bindgen_test]
async fn read_under_lock_counts_slow_reads_against_its_limit() {
    struct SlowStale;
    impl TokenStorage for SlowStale {
        fn get_item<'a>(
            &'a self,
            _key: &'a str,
        ) -> tokenkeeper::BoxFuture<'a, Result<Option<String>, AuthError>> {
            Box::pin(async {
                TimeoutFuture::new(200).await;
                Ok(Some("spent".to_owned()))
            })
        }
        fn set_item<'a>(
            &'a self,
            _key: &'a str,
            _value: &'a str,
        ) -> tokenkeeper::BoxFuture<'a, Result<(), AuthError>> {
            Box::pin(async { Ok(()) })
        }
        fn remove_item<'a>(
            &'a self,
            _key: &'a str,
        ) -> tokenkeeper::BoxFuture<'a, Result<(), AuthError>> {
            Box::pin(async { Ok(()) })
        }
    }
    let key = format!("slow-stale-test-{}", Date::now());
    let (store, _) = Store::open(StorageChoice::Custom(Rc::new(SlowStale)));
    tabs::mark_replaced(&key, "spent").await;
    let started = Date::now();
    let read = within(
        5_000,
        "read_under_lock",
        tabs::read_under_lock(&store, &key),
    )
    .await;
    let elapsed = Date::now() - started;
    assert_eq!(
        read.ok().flatten().as_deref(),
        Some("spent"),
        "gave up waiting"
    );
    let limit = tabs::STALE_READ_LIMIT.as_millis() as f64;
    assert!(
        (limit..limit + 600.0).contains(&elapsed),
        "held the lock {elapsed} ms for a {limit} ms limit"
    );
}

// ----- the client, with a `fetch` that answers the login itself -----

/// A client of a made-up API (the mocked `fetch` answers for it) with its own storage key.
fn mocked_client(storage: StorageChoice) -> (tokenkeeper::AuthClient, String) {
    let key = format!("tk-mocked-{}", js_sys::Math::random());
    let mut options = tokenkeeper::AuthClientOptions::new("http://127.0.0.1:1");
    options.storage_key = Some(key.clone());
    let client = tokenkeeper::AuthClient::new(options, storage).expect("valid options");
    (client, key)
}

fn api_request() -> web_sys::Request {
    web_sys::Request::new_with_str("http://127.0.0.1:1/api/items").expect("a request")
}

/// A replaced `fetch` that throws synchronously: `AuthClient::fetch` rejects with `network`
/// (signed out, and with the token), the machine's own requests do too (a refresh keeps the
/// session), and the client works on once `fetch` answers again.
#[wasm_bindgen_test]
async fn a_throwing_fetch_is_a_network_error_and_the_client_works_on() {
    let mock = mock_api();
    let (client, _) = mocked_client(StorageChoice::Memory);

    set_throwing(&mock, true);
    let signed_out = within(3_000, "fetch signed out", client.fetch(api_request())).await;
    assert_eq!(
        signed_out.expect_err("no response").code(),
        ErrorCode::Network
    );
    let login = within(3_000, "login", client.login("u", "p")).await;
    assert_eq!(login.expect_err("no response").code(), ErrorCode::Network);

    set_throwing(&mock, false);
    within(3_000, "login", client.login("u", "p"))
        .await
        .expect("login answered");
    set_throwing(&mock, true);
    let with_token = within(3_000, "fetch with token", client.fetch(api_request())).await;
    assert_eq!(
        with_token.expect_err("no response").code(),
        ErrorCode::Network
    );
    let refresh = within(3_000, "refresh", client.refresh()).await;
    assert_eq!(refresh.expect_err("no response").code(), ErrorCode::Network);
    assert!(
        client.session().is_some(),
        "a failed refresh keeps the session"
    );

    set_throwing(&mock, false);
    let response = within(3_000, "fetch", client.fetch(api_request()))
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
    let log = fetch_log(&mock);
    restore_fetch(&mock);
    client.dispose();
    assert_eq!(
        log,
        r#"["/api/items","/auth/login","/auth/login","/api/items","/auth/refresh","/api/items"]"#
    );
}

/// A custom storage whose Promise never settles holds the client up for `STORAGE_TIMEOUT` (5 s)
/// and no longer, in two clients at once: one whose setItem stalls (its login resolves after
/// 5 s with the session kept in memory, and later calls are answered at once), and one whose
/// getItem stalls under the cross-tab lock (its refresh goes on without the re-read, and the
/// lock is released).
#[wasm_bindgen_test]
async fn a_stalled_custom_storage_holds_the_client_up_for_the_timeout_only() {
    let mock = mock_api();
    let writes_stall = stallable_adapter();
    stall(&writes_stall, "setItem");
    let (writer, _) = mocked_client(Store::from_js(&writes_stall).expect("an adapter"));
    let reads_stall = stallable_adapter();
    let (reader, reader_key) = mocked_client(Store::from_js(&reads_stall).expect("an adapter"));

    // Both flows run side by side and report what they saw; the checks come after the join
    // (a panic inside a spawned flow would not fail this test, only stop it).
    let write_flow = async move {
        let started = Date::now();
        let login = try_within(9_000, writer.login("u", "p")).await;
        let took = Date::now() - started;
        let token = match &login {
            Some(Ok(_)) => try_within(1_000, writer.get_access_token()).await,
            _ => None,
        };
        let answered_in = Date::now() - started - took;
        let outcome = (
            login.map(|result| result.map(|s| s.access_token().to_owned())),
            writer.session().map(|s| s.access_token().to_owned()),
            writer.diagnostics().last_error,
            token,
        );
        writer.dispose();
        (took, answered_in, outcome)
    };
    let read_flow = async move {
        let login = try_within(3_000, reader.login("u", "p")).await;
        stall(&reads_stall, "getItem");
        let started = Date::now();
        let refresh = match login {
            Some(Ok(_)) => try_within(9_000, reader.refresh()).await,
            _ => None,
        };
        let took = Date::now() - started;
        TimeoutFuture::new(20).await;
        let lock = lock_counts(&format!("tokenkeeper:{reader_key}")).await;
        let refreshed = refresh.map(|result| result.map(|s| s.access_token().to_owned()));
        let kept = reader.session().map(|s| s.access_token().to_owned());
        reader.dispose();
        (took, refreshed, kept, lock)
    };
    let (write, read) = join(write_flow, read_flow).await;
    restore_fetch(&mock);

    let (took, answered_in, (login, kept, last_error, token)) = write;
    let login = login
        .expect("login still pending after 9 s with setItem stalled")
        .expect("the login succeeded; only storing it failed");
    assert!((4_900.0..7_000.0).contains(&took), "login took {took} ms");
    assert_eq!(
        kept.as_deref(),
        Some(login.as_str()),
        "the session is kept in memory"
    );
    let last_error = last_error.expect("the storage error is reported");
    assert_eq!(last_error.code(), ErrorCode::Storage, "{last_error}");
    assert!(last_error.message().contains("setItem"), "{last_error}");
    let token = token.expect("getAccessToken answered").expect("a token");
    assert_eq!(token.as_deref(), Some(login.as_str()));
    assert!(answered_in < 500.0, "the next call waited {answered_in} ms");

    let (took, refreshed, kept, lock) = read;
    let refreshed = refreshed
        .expect("refresh still pending after 9 s with getItem stalled under the lock")
        .expect("refreshed without the re-read");
    assert!((4_900.0..7_000.0).contains(&took), "refresh took {took} ms");
    assert_eq!(kept, Some(refreshed));
    assert_eq!(
        lock,
        serde_json::json!({"held": 0, "pending": 0}),
        "the lock was released"
    );
}

/// `storage` events count only for the area the client uses: a `sessionStorage.clear()` in
/// another frame of the tab (key null), or a removal of the same key there, leaves a
/// `localStorage` session alone; a `localStorage.clear()` elsewhere does sign it out. Real
/// events from a same-origin frame, and constructed ones for the same key.
#[wasm_bindgen_test]
async fn storage_events_of_another_area_are_ignored() {
    let mock = mock_api();
    let (client, key) = mocked_client(StorageChoice::Local);
    let signed_out = Rc::new(RefCell::new(0));
    let seen = signed_out.clone();
    let _subscription = client.on_auth_state_change(move |event, _| {
        if event == tokenkeeper::AuthEvent::SignedOut {
            *seen.borrow_mut() += 1;
        }
    });
    client.login("u", "p").await.expect("login answered");
    restore_fetch(&mock);
    TimeoutFuture::new(0).await;

    let heard = JsFuture::from(frame_clears("session")).await.unwrap();
    assert_eq!(
        heard.as_string().as_deref(),
        Some("session:tk-frame-probe,session:null"),
        "the frame's sessionStorage events reach this page"
    );
    storage_event("session", Some(&key), None);
    TimeoutFuture::new(50).await;
    assert!(
        client.session().is_some(),
        "signed out by a sessionStorage event"
    );
    assert_eq!(*signed_out.borrow(), 0);

    let heard = JsFuture::from(frame_clears("local")).await.unwrap();
    assert_eq!(
        heard.as_string().as_deref(),
        Some("local:tk-frame-probe,local:null")
    );
    TimeoutFuture::new(50).await;
    assert!(
        client.session().is_none(),
        "localStorage.clear() is a sign-out"
    );
    assert_eq!(*signed_out.borrow(), 1);
    client.dispose();
    let _ = web_storage("localStorage").remove_item(&key);
}
