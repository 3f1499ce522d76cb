//! Target `machine`: the session state machine driven by an honest model of its world, checked
//! against its invariants after every step.
//!
//! The harness plays the driver of the session module docs (`src/logic/session/mod.rs`) and
//! everything around it:
//! - **API calls** with fresh [`OpId`]s: `login`, `refresh`, `getAccessToken` (sometimes answered
//!   from [`SessionMachine::ready_access_token`], as the driver does), a 401 on a request that
//!   carried a token handed out earlier, `logout`;
//! - **the network**: every [`Effect::Send`] waits until the fuzzer answers it, in any order, with
//!   new tokens from a server model, a 4xx with a `detail`, a 429 with `Retry-After`, a 5xx, an
//!   HTML page, an empty or broken 200, raw bytes, or a network error;
//! - **the cross-tab lock**: a FIFO lock manager that grants one holder at a time (this tab's
//!   requests, or another tab's), with storage read under the lock, sometimes failing;
//! - **storage and other tabs** (shared storage only): other tabs sign in, refresh (under the
//!   lock), fail a refresh and share the backoff, sign out, or write garbage or another API's
//!   session; each write reaches this tab as one or two [`Event::StorageChanged`] messages,
//!   delivered late and out of order; this tab's own writes may fail ([`Event::StorageFailed`]);
//! - **time**: a clock that only moves forward, by milliseconds or by days (a sleeping laptop);
//!   the one timer fires at or after its time, and wake-ups tick at any moment.
//!
//! Server model: with an **honest** server (clocks in step, `exp`, `iat` and `expires_in` agree)
//! the harness knows when each token really expires; otherwise tokens say anything.
//!
//! Invariants, checked after every step (a broken one panics with the last steps of the run):
//! 1. **single flight**: at most one refresh request of the current session is unanswered; with
//!    shared storage it is sent and stays out only while this tab holds the cross-tab lock, and
//!    the lock is held only while this tab's refresh is out;
//! 2. **no token past its expiry**: every access token handed out (`getAccessToken`, a 401
//!    replay, the ready-token fast path, a `me()` request) is the current session's, not expired
//!    by the machine's own reckoning, and, with an honest server, not expired in truth (leeway
//!    allowed);
//! 3. **settled exactly once**: every [`Effect::Complete`] names an open call, and once the
//!    fuzz input is spent the world answers everything (replies, locks, messages, timers) until
//!    every call is settled;
//! 4. **phase consistent with the session**: `SignedOut` exactly without a session, `SignedIn`
//!    only with an unexpired token, `Expired` only with an expired one, `Refreshing` only with a
//!    refresh request or lock request out; diagnostics agree; the last write to storage in a
//!    step is the current session (or a removal when there is none), and the last event
//!    listeners hear carries the current session.
//!
//! Also: effects come in the documented order, request ids are fresh, timers are never set in
//! the past or beyond the browser's limit, persisted values read back, the fast path agrees with
//! the machine, and no error shows a password or token.
//!
//! [`Mutant`]s simulate bugs in the machine, to show that each invariant check can fail.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};
use tokenkeeper::protocol::{Endpoint, HttpReply, HttpRequest};
use tokenkeeper::{AuthError, Config, Effect, Event, Jitter, LockId, OpId, Outcome, Phase};
use tokenkeeper::{RequestId, Session, SessionMachine, Timestamp};

use super::input::Input;
use super::stored_session::retry_hint;
use super::world;

/// The browser's longest timer (`setTimeout` takes a signed 32-bit millisecond count).
const MAX_TIMER_DELAY: Duration = Duration::from_millis(2_147_483_647);

/// A simulated machine bug, applied by the harness to what the machine returns, to prove that
/// the invariant checks catch it (`TOKENKEEPER_FUZZ_MUTANT=<name>` in `cargo fuzz run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutant {
    /// No bug: the real machine.
    None,
    /// Every refresh request is counted as sent twice (invariant 1).
    DoubleRefresh,
    /// `getAccessToken` answers with the first token it ever handed out (invariant 2).
    StaleToken,
    /// Calls settled by a reply are settled twice (invariant 3, exactly once).
    DoubleComplete,
    /// Calls settled by a refresh reply are never settled (invariant 3, eventually).
    DropComplete,
    /// The phase is read at the previous step's time (invariant 4).
    PhaseLag,
}

impl Mutant {
    /// Every mutant, with its name.
    pub const ALL: [(&'static str, Mutant); 5] = [
        ("double-refresh", Mutant::DoubleRefresh),
        ("stale-token", Mutant::StaleToken),
        ("double-complete", Mutant::DoubleComplete),
        ("drop-complete", Mutant::DropComplete),
        ("phase-lag", Mutant::PhaseLag),
    ];

    /// The mutant named by `TOKENKEEPER_FUZZ_MUTANT`, or [`Mutant::None`].
    pub fn from_env() -> Self {
        let name = std::env::var("TOKENKEEPER_FUZZ_MUTANT").unwrap_or_default();
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map_or(Mutant::None, |(_, mutant)| *mutant)
    }
}

/// Checks one fuzz input with the real machine.
pub fn check(data: &[u8]) {
    check_with(data, Mode::Full, Mutant::None);
}

/// Which part of the world the fuzz input mostly drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything.
    Full,
    /// Tab-channel messages of any content, with just enough else to act on them.
    TabMessages,
}

/// Checks one fuzz input in `mode`, with `mutant` applied.
pub fn check_with(data: &[u8], mode: Mode, mutant: Mutant) {
    run(data, mode, mutant);
}

fn run(data: &[u8], mode: Mode, mutant: Mutant) {
    let mut input = Input::new(data);
    let mut harness = Harness::new(&mut input, mode, mutant);
    let mut steps = 0;
    while !input.is_empty() && steps < 200 {
        harness.act(&mut input);
        steps += 1;
    }
    harness.drain(&mut input);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Free,
    Ours(LockId),
    OtherTab,
}

struct Pending {
    request: RequestId,
    http: HttpRequest,
    epoch: u64,
}

/// The server: mints tokens, honestly or not.
struct Server {
    honest: bool,
    serial: u64,
    /// When each minted access token really expires (local clock), with an honest server.
    expiry: HashMap<String, Option<Timestamp>>,
    /// Logins made in other tabs so far (each gets its own `sid`).
    lineage: u64,
}

struct Harness {
    machine: SessionMachine,
    mode: Mode,
    mutant: Mutant,
    leeway: Duration,
    shared: bool,
    now: Timestamp,
    previous_now: Timestamp,
    next_op: u64,
    open: Vec<(OpId, &'static str)>,
    pending: Vec<Pending>,
    seen_requests: Vec<RequestId>,
    holder: Holder,
    queue: VecDeque<(LockId, u64)>,
    storage: Option<String>,
    messages: VecDeque<Option<String>>,
    timer: Option<Timestamp>,
    epoch: u64,
    server: Server,
    handed_out: Vec<String>,
    secrets: Vec<String>,
    fail_writes: bool,
    trace: VecDeque<String>,
}

impl Harness {
    fn new(input: &mut Input, mode: Mode, mutant: Mutant) -> Self {
        let config: Config = world::config(input, mode == Mode::TabMessages);
        let leeway = config.leeway();
        let shared = config.storage().is_shared();
        let jitter = if input.bool() {
            Jitter::Seeded(input.u64())
        } else {
            Jitter::Fixed(f64::from(input.u8()) / 255.0)
        };
        let mut machine = SessionMachine::new(config, jitter);
        if input.one_in(3) {
            machine.set_page_origin("https://api.example.com");
        }
        let now = Timestamp::from_millis(1_790_000_000_000 + i64::from(input.u32()));
        let mut harness = Self {
            machine,
            mode,
            mutant,
            leeway,
            shared,
            now,
            previous_now: now,
            next_op: 0,
            open: Vec::new(),
            pending: Vec::new(),
            seen_requests: Vec::new(),
            holder: Holder::Free,
            queue: VecDeque::new(),
            storage: None,
            messages: VecDeque::new(),
            timer: None,
            epoch: 0,
            server: Server {
                honest: !input.one_in(4),
                serial: 0,
                expiry: HashMap::new(),
                lineage: 0,
            },
            handed_out: Vec::new(),
            secrets: Vec::new(),
            fail_writes: false,
            trace: VecDeque::new(),
        };
        // What an earlier visit left in storage.
        let stored = match input.u8() % 6 {
            0 | 1 => Ok(None),
            2 => Err(AuthError::storage("SecurityError: storage is disabled")),
            3 => Ok(Some(harness.foreign_or_garbage(input))),
            _ => Ok(Some(harness.other_tab_session(input, None, None))),
        };
        harness.storage = stored.clone().ok().flatten();
        harness.step(Event::Start { stored }, "start");
        harness
    }

    // ----- the driver -----

    fn act(&mut self, input: &mut Input) {
        let small = Duration::from_millis(u64::from(input.u16() % 2048));
        self.advance(small);
        let choice = input.u8();
        let choice = match self.mode {
            Mode::Full => choice % 16,
            // Mostly messages: deliver (14) or another tab writing (13).
            Mode::TabMessages => {
                [13, 14, 14, 13, 2, 10, 12, 6, 9, 4, 1, 11][usize::from(choice) % 12]
            }
        };
        match choice {
            0 => {
                let password = format!("pw-S3cr3t-{:08x}", input.u32());
                self.remember_secret(password.clone());
                let op = self.open_op("login");
                let username = input.text(16);
                self.step(
                    Event::Login {
                        op,
                        username,
                        password,
                    },
                    "login",
                );
            }
            1 => {
                let op = self.open_op("refresh");
                self.step(Event::Refresh { op }, "refresh");
            }
            2 | 3 => self.get_access_token(input.bool()),
            4 => {
                if !self.handed_out.is_empty() {
                    let token = self.handed_out[input.choose(self.handed_out.len())].clone();
                    let op = self.open_op("401 replay");
                    self.step(Event::TokenRejected { op, token }, "401");
                }
            }
            5 => {
                let op = self.open_op("logout");
                self.step(Event::Logout { op }, "logout");
            }
            6..=8 => {
                if !self.pending.is_empty() {
                    let index = input.choose(self.pending.len());
                    self.respond(index, input);
                }
            }
            9 => self.grant_lock(input.one_in(8)),
            10 => {
                if let Some(at) = self.timer {
                    let late =
                        Duration::from_millis(u64::from(input.u16()) * input.pick(&[0, 1, 1000]));
                    self.advance(at.duration_since(self.now).saturating_add(late));
                    self.step(Event::Tick, "timer");
                }
            }
            11 => {
                self.step(Event::Tick, "wake");
            }
            12 => {
                let unit = input.pick(&[1u64, 1_000, 60_000, 3_600_000, 86_400_000]);
                self.advance(Duration::from_millis(u64::from(input.u8()) * unit));
            }
            13 if self.shared => self.other_tab(input),
            // Without shared storage there are no other tabs: `me()` takes the place.
            13 => {
                let op = self.open_op("me");
                self.step(Event::Me { op }, "me");
            }
            14 if self.shared => {
                if !self.messages.is_empty() {
                    let index = input.choose(self.messages.len());
                    let stored = self.messages.remove(index).flatten();
                    self.step(Event::StorageChanged { stored }, "tab message");
                }
            }
            15 => self.fail_writes = input.one_in(2),
            _ => {
                self.step(Event::Tick, "wake");
            }
        }
    }

    fn get_access_token(&mut self, fast_path: bool) {
        let ready = self.machine.ready_access_token(self.now).map(str::to_owned);
        if let (true, Some(token)) = (fast_path, &ready) {
            // The driver answers without the machine.
            self.trace("getAccessToken (ready)".to_owned());
            let token = token.clone();
            self.check_handed_out(&token, "the ready-token fast path");
            return;
        }
        let op = self.open_op("getAccessToken");
        let effects = self.step(Event::GetAccessToken { op }, "getAccessToken");
        if let Some(token) = ready {
            let answers: Vec<&Effect> = effects
                .iter()
                .filter(|e| !matches!(e, Effect::ScheduleTick { .. } | Effect::CancelTick))
                .collect();
            let agrees = matches!(
                answers.as_slice(),
                [Effect::Complete { op: done, result: Ok(Outcome::AccessToken(Some(t))) }]
                    if *done == op && *t == token
            );
            self.require(
                agrees || self.mutant == Mutant::StaleToken,
                "ready_access_token promised an immediate answer the machine did not give",
            );
        }
    }

    fn open_op(&mut self, what: &'static str) -> OpId {
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.open.push((op, what));
        op
    }

    fn advance(&mut self, span: Duration) {
        self.now = self.now.saturating_add(span);
    }

    fn remember_secret(&mut self, secret: String) {
        if self.secrets.len() >= 24 {
            self.secrets.remove(0);
        }
        self.secrets.push(secret);
    }

    // ----- the outside world -----

    /// Answers pending request `index`.
    fn respond(&mut self, index: usize, input: &mut Input) {
        let pending = self.pending.remove(index);
        let endpoint = pending.http.endpoint;
        let result = match input.u8() % 16 {
            0..=5 if matches!(endpoint, Endpoint::Login | Endpoint::Refresh) => {
                Ok(self.token_reply(input))
            }
            0..=5 => Ok(world::json_reply(input.pick(&[200, 204]), &Value::Null)),
            6 => Err(AuthError::network("TypeError: Failed to fetch")),
            7 => Ok(world::json_reply(
                input.pick(&[400, 401, 403, 422]),
                &json!({"detail": input.pick(&["Invalid refresh token", "Token has been revoked", "Inactive user", "Signature has expired"])}),
            )),
            8 => {
                let mut reply = world::json_reply(429, &json!({"detail": "slow down"}));
                reply.retry_after = Some(match input.u8() % 4 {
                    0 => world::http_date(self.now.as_millis() + i64::from(input.u16()) * 1000).0,
                    1 => "31536000".to_owned(),
                    2 => input.text(12),
                    _ => input.u8().to_string(),
                });
                Ok(reply)
            }
            9 => {
                let mut reply = world::json_reply(500 + u16::from(input.u8() % 100), &Value::Null);
                if input.bool() {
                    reply.retry_after = Some(input.u16().to_string());
                }
                Ok(reply)
            }
            10 => {
                let mut reply = world::json_reply(200, &Value::Null);
                reply.content_type = Some("text/html".to_owned());
                reply.body = "<html><title>App</title></html>".to_owned();
                Ok(reply)
            }
            11 => Ok(world::json_reply(
                200,
                &json!({"access_token": "not-a-jwt"}),
            )),
            12 => {
                let mut reply = world::json_reply(input.u16() % 600, &Value::Null);
                reply.content_type = None;
                reply.body = input.text(64);
                Ok(reply)
            }
            13 => Err(AuthError::network("the request timed out")),
            _ if matches!(endpoint, Endpoint::Login | Endpoint::Refresh) => {
                Ok(self.token_reply(input))
            }
            _ => Ok(world::json_reply(200, &json!({"ok": true}))),
        };
        let label = match &result {
            Ok(reply) => format!("reply {} to {}", reply.status, endpoint.name()),
            Err(_) => format!("network error for {}", endpoint.name()),
        };
        self.trace(label);
        self.step(
            Event::Response {
                request: pending.request,
                result,
            },
            "response",
        );
    }

    /// A successful token reply: a new access token (and usually a new refresh token).
    fn token_reply(&mut self, input: &mut Input) -> HttpReply {
        let (access, refresh, expires_in, _) = self.mint(input);
        let mut body = json!({"access_token": access, "token_type": "bearer"});
        let fields = self.machine.config().response_fields().clone();
        if fields.access_token != "access_token" {
            body = json!({ fields.access_token.clone(): access });
        }
        if let Some(refresh) = refresh {
            body[&fields.refresh_token] = json!(refresh);
        }
        if let Some(expires_in) = expires_in {
            body[&fields.expires_in] = expires_in;
        }
        world::json_reply(200, &body)
    }

    /// Mints an access token, maybe a refresh token, and maybe `expires_in`.
    fn mint(
        &mut self,
        input: &mut Input,
    ) -> (String, Option<String>, Option<Value>, Option<Timestamp>) {
        self.server.serial += 1;
        let serial = self.server.serial;
        let lifetime_s: i64 = input.pick(&[900, 60, 5, 2, 1, 30, 3600, 86_400, 0, -5, 120, 600]);
        let now_ms = self.now.as_millis();
        let (exp, iat, expires_in, truth) = if self.server.honest {
            let exp_ms = now_ms + lifetime_s * 1000;
            let exp = (!input.one_in(8)).then_some(exp_ms as f64 / 1000.0);
            let iat = input.bool().then_some(now_ms.div_euclid(1000) as f64);
            let expires_in = (lifetime_s >= 0 && (exp.is_none() || input.bool()))
                .then(|| world::seconds_value(input, Some(lifetime_s as u32)).0);
            let truth = if exp.is_some() || expires_in.is_some() {
                Some(Timestamp::from_millis(exp_ms))
            } else {
                None
            };
            (exp, iat, expires_in, truth)
        } else {
            let skew = input.range_i64(-86_400_000, 86_400_000);
            let exp =
                (!input.one_in(6)).then(|| (now_ms + skew) as f64 / 1000.0 + lifetime_s as f64);
            let iat = input
                .bool()
                .then(|| (now_ms + input.range_i64(-3_600_000, 3_600_000)) as f64 / 1000.0);
            let expires_in = input.bool().then(|| world::seconds_value(input, None).0);
            (exp, iat, expires_in, None)
        };
        let access = world::access_token(serial, exp, iat);
        self.server.expiry.insert(access.clone(), truth);
        self.remember_secret(world::secret_of(&access).to_owned());
        let refresh = match input.u8() % 5 {
            0 => None,
            _ => Some(format!("rt-S3cr3t-{serial:06}-{:08x}", input.u32())),
        };
        if let Some(refresh) = &refresh {
            self.remember_secret(refresh.clone());
        }
        (access, refresh, expires_in, truth)
    }

    /// Grants the lock to the first waiting request of this tab, if the lock is free.
    fn grant_lock(&mut self, read_fails: bool) {
        if self.holder != Holder::Free {
            return;
        }
        let Some((lock, _)) = self.queue.pop_front() else {
            return;
        };
        self.holder = Holder::Ours(lock);
        let stored = if read_fails {
            Err(AuthError::storage("the storage read failed"))
        } else {
            Ok(self.storage.clone())
        };
        self.step(Event::LockAcquired { lock, stored }, "lock granted");
    }

    /// Another tab of the same browser does something to the shared session.
    fn other_tab(&mut self, input: &mut Input) {
        let choice = input.u8() % 10;
        let lock_free = self.holder == Holder::Free || self.holder == Holder::OtherTab;
        let written = match choice {
            // Signs in: a new session of its own.
            0 => Some(Some(self.other_tab_session(input, None, None))),
            // Refreshes the stored session, under the lock.
            1 | 2 if lock_free => {
                let sid = self.stored_sid();
                Some(Some(self.other_tab_session(input, sid, None)))
            }
            // Fails to refresh it and shares the backoff, under the lock.
            3 if lock_free => self.storage.clone().map(|text| {
                let mut value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if value.is_object() {
                    value["retry"] = self.honest_retry(input);
                }
                Some(value.to_string())
            }),
            // Signs out.
            4 => Some(None),
            // Writes something this client cannot or must not use.
            5 => Some(Some(self.foreign_or_garbage(input))),
            // Takes the lock and keeps it a while (a refresh in progress there).
            6 => {
                if self.holder == Holder::Free {
                    self.holder = Holder::OtherTab;
                    self.trace("other tab takes the lock".to_owned());
                }
                None
            }
            7 => {
                if self.holder == Holder::OtherTab {
                    self.holder = Holder::Free;
                    self.trace("other tab releases the lock".to_owned());
                }
                None
            }
            // A message of any content (tab-channel fuzzing).
            8 if self.mode == Mode::TabMessages => Some(Some(self.any_message(input))),
            _ => {
                // Repeats an old message (both channels, or a late duplicate).
                if let Some(message) = self.messages.front().cloned() {
                    self.messages.push_back(message);
                }
                None
            }
        };
        if let Some(value) = written {
            self.trace(format!(
                "other tab writes {}",
                describe_stored(value.as_deref())
            ));
            self.storage = value.clone();
            self.messages.push_back(value.clone());
            if input.bool() {
                self.messages.push_back(value);
            }
        }
    }

    fn stored_sid(&self) -> Option<String> {
        let text = self.storage.as_deref()?;
        let value: Value = serde_json::from_str(text).ok()?;
        value.get("sid")?.as_str().map(str::to_owned)
    }

    /// A session as another tab (same SDK) stores it, with tokens from the server.
    fn other_tab_session(
        &mut self,
        input: &mut Input,
        sid: Option<String>,
        retry: Option<Value>,
    ) -> String {
        let (access, refresh, _, truth) = self.mint(input);
        let sid = sid.unwrap_or_else(|| {
            self.server.lineage += 1;
            format!("other-tab-{}", self.server.lineage)
        });
        // The other tab read the same reply: its expiry is the token's (from `expires_in` when
        // the token has no `exp`).
        let expires_at = truth
            .or_else(|| {
                tokenkeeper::decode_unverified(&access)
                    .ok()
                    .and_then(|token| token.claims().exp())
            })
            .map(Timestamp::as_millis);
        let mut value = json!({
            "v": 1,
            "sid": sid,
            "accessToken": access,
            "refreshToken": refresh,
            "expiresAt": expires_at,
            "receivedAt": self.now.as_millis(),
            "clockOffsetMs": 0,
        });
        if let Some(retry) = retry {
            value["retry"] = retry;
        }
        value.to_string()
    }

    /// The failures a tab that failed a refresh just now would share.
    fn honest_retry(&self, input: &mut Input) -> Value {
        let now = self.now.as_millis();
        let failures = 1 + input.u8() % 6;
        let mut retry = json!({
            "failedAt": (0..failures.min(5)).map(|i| now - i64::from(i) * 5_000).rev().collect::<Vec<_>>(),
            "failures": failures,
            "retryAt": now + 1_000 * i64::from(input.u8()),
            "code": input.pick(&["network", "server", "rate_limited"]),
        });
        if input.bool() {
            retry["notBefore"] = json!(now + 1_000 * i64::from(input.u8()));
            retry["status"] = json!(429);
        }
        retry
    }

    fn foreign_or_garbage(&mut self, input: &mut Input) -> String {
        match input.u8() % 4 {
            0 => input.text(40),
            1 => r#"{"v":2,"sid":"future"}"#.to_owned(),
            _ => {
                let text = self.other_tab_session(input, None, None);
                let mut value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                value["api"] = json!("https://other-api.example.net/auth/login");
                value.to_string()
            }
        }
    }

    /// Any stored value: sessions of this lineage or others, mutated, with retry hints of any
    /// shape, or raw text.
    fn any_message(&mut self, input: &mut Input) -> String {
        match input.u8() % 5 {
            0 => input.text(80),
            1 => {
                let sid = self.stored_sid();
                let retry = retry_hint(input);
                self.other_tab_session(input, sid, Some(retry))
            }
            2 => {
                // The stored value with one field replaced by anything.
                let mut value: Value = self
                    .storage
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or_else(|| json!({"v": 1}));
                let field = input.pick(&[
                    "expiresAt",
                    "receivedAt",
                    "clockOffsetMs",
                    "refreshExpiresAt",
                    "sid",
                    "refreshToken",
                    "api",
                    "retry",
                ]);
                if value.is_object() {
                    value[field] = match input.u8() % 4 {
                        0 => json!(input.edgy_i64()),
                        1 => json!(input.text(12)),
                        2 => retry_hint(input),
                        _ => Value::Null,
                    };
                }
                value.to_string()
            }
            _ => {
                let sid = self.stored_sid();
                self.other_tab_session(input, sid, None)
            }
        }
    }

    // ----- stepping and checking -----

    fn step(&mut self, event: Event, label: &str) -> Vec<Effect> {
        let before = self.session_token();
        self.trace(format!("{label}: {event:?}"));
        let mut effects = self.machine.handle(event, self.now);
        self.mutate(&mut effects, label);
        self.trace(format!("  -> {effects:?}"));
        if self.session_token() != before {
            // A new session (or none): refreshes of the old one are no longer this session's.
            self.epoch += 1;
        }
        self.apply(&effects, label);
        self.check_state(&effects);
        self.previous_now = self.now;
        effects
    }

    /// Applies the simulated bug, if any.
    fn mutate(&mut self, effects: &mut Vec<Effect>, label: &str) {
        match self.mutant {
            Mutant::StaleToken => {
                let first = self.handed_out.first().cloned();
                for effect in effects.iter_mut() {
                    if let (
                        Effect::Complete {
                            result: Ok(Outcome::AccessToken(Some(t))),
                            ..
                        },
                        Some(first),
                    ) = (effect, &first)
                    {
                        t.clone_from(first);
                    }
                }
            }
            Mutant::DoubleComplete if label == "response" => {
                let completes: Vec<Effect> = effects
                    .iter()
                    .filter(|e| matches!(e, Effect::Complete { .. }))
                    .cloned()
                    .collect();
                effects.extend(completes);
            }
            Mutant::DropComplete if label == "response" => {
                let refresh_settled = effects.iter().any(|e| {
                    matches!(
                        e,
                        Effect::Emit {
                            event: tokenkeeper::AuthEvent::TokenRefreshed,
                            ..
                        }
                    )
                });
                if refresh_settled {
                    effects.retain(|e| !matches!(e, Effect::Complete { .. }));
                }
            }
            _ => {}
        }
    }

    /// Executes the effects as the driver does, checking each.
    fn apply(&mut self, effects: &[Effect], label: &str) {
        let ranks: Vec<u8> = effects.iter().map(rank).collect();
        self.require(
            ranks.windows(2).all(|pair| pair[0] <= pair[1]),
            "effects out of the documented order",
        );
        let mut write_failed = false;
        for effect in effects {
            match effect {
                Effect::Persist { value } => {
                    let read_back = Session::from_storage(value);
                    self.require(read_back.is_ok(), "a persisted value does not read back");
                    if self.fail_writes {
                        write_failed = true;
                    } else {
                        self.storage = Some(value.clone());
                    }
                }
                Effect::Clear => {
                    if self.fail_writes {
                        write_failed = true;
                    } else {
                        self.storage = None;
                    }
                }
                Effect::ReleaseLock { lock } => {
                    self.require(
                        self.holder == Holder::Ours(*lock),
                        "released a lock this tab does not hold",
                    );
                    self.holder = Holder::Free;
                }
                Effect::Send { request, http } => {
                    self.require(
                        !self.seen_requests.contains(request),
                        "a request id was reused",
                    );
                    self.seen_requests.push(*request);
                    let is_refresh = http.endpoint == Endpoint::Refresh;
                    if is_refresh && self.shared {
                        self.require(
                            matches!(self.holder, Holder::Ours(_)),
                            "a refresh was sent without the cross-tab lock",
                        );
                    }
                    self.check_request_hides_secrets(http);
                    if http.endpoint == Endpoint::Me {
                        // `me()` sends the token it was handed: the same rules apply.
                        let token = bearer(http).unwrap_or_default();
                        self.check_handed_out(&token, "me request");
                    }
                    let copies = if is_refresh && self.mutant == Mutant::DoubleRefresh {
                        2
                    } else {
                        1
                    };
                    for _ in 0..copies {
                        self.pending.push(Pending {
                            request: *request,
                            http: http.clone(),
                            epoch: self.epoch,
                        });
                    }
                }
                Effect::AcquireLock { lock } => self.queue.push_back((*lock, self.epoch)),
                Effect::ScheduleTick { at } => {
                    self.require(*at >= self.now, "a timer set in the past");
                    self.require(
                        *at <= self.now.saturating_add(MAX_TIMER_DELAY),
                        "a timer beyond setTimeout's range",
                    );
                    self.timer = Some(*at);
                }
                Effect::CancelTick => self.timer = None,
                Effect::Emit { .. } => {}
                Effect::Complete { op, result } => {
                    let position = self.open.iter().position(|(open, _)| open == op);
                    self.require(
                        position.is_some(),
                        "a call was settled twice, or never made",
                    );
                    if let Some(position) = position {
                        self.open.remove(position);
                    }
                    match result {
                        Ok(Outcome::AccessToken(Some(token))) => {
                            let token = token.clone();
                            self.check_handed_out(&token, label);
                        }
                        Ok(Outcome::Session(session)) => {
                            // A session that arrived expired and cannot be refreshed ends in the
                            // step that installs it; otherwise calls get the current session.
                            let current = self.session_token();
                            let ended =
                                current.is_none() && session.is_expired(self.now, self.leeway);
                            self.require(
                                ended || current.as_deref() == Some(session.access_token()),
                                "a call resolved with a session that is not the current one",
                            );
                        }
                        Ok(_) => {}
                        Err(error) => self.check_error_hides_secrets(error),
                    }
                }
                _ => {}
            }
        }
        if write_failed {
            self.fail_writes = false;
            self.step(
                Event::StorageFailed {
                    error: AuthError::storage("QuotaExceededError"),
                },
                "storage failed",
            );
        }
    }

    /// Invariant 2 for a token handed out now.
    fn check_handed_out(&mut self, token: &str, via: &str) {
        let session = self.machine.session();
        let current = session.map(Session::access_token);
        self.require(
            current == Some(token),
            &format!("{via} handed out a token that is not the current session's"),
        );
        if let Some(session) = session {
            let expired = session.is_expired(self.now, self.leeway);
            self.require(!expired, &format!("{via} handed out an expired token"));
        }
        if self.server.honest {
            if let Some(Some(truth)) = self.server.expiry.get(token) {
                let expired = tokenkeeper::is_expired(*truth, self.now, self.leeway);
                self.require(
                    !expired,
                    &format!("{via} handed out a token past its real expiry"),
                );
            }
        }
        if !self.handed_out.iter().any(|known| known == token) {
            self.handed_out.push(token.to_owned());
        }
    }

    /// Invariants 1 and 4, after a step.
    fn check_state(&mut self, effects: &[Effect]) {
        let refreshes = self
            .pending
            .iter()
            .filter(|p| p.http.endpoint == Endpoint::Refresh && p.epoch == self.epoch)
            .count();
        self.require(refreshes <= 1, "two refreshes of one session are in flight");
        let phase_time = if self.mutant == Mutant::PhaseLag {
            self.previous_now
        } else {
            self.now
        };
        let phase = self.machine.phase(phase_time);
        let session = self.machine.session();
        let expired = session.map(|s| s.is_expired(self.now, self.leeway));
        let locks_wanted = self.queue.iter().any(|(_, epoch)| *epoch == self.epoch);
        if refreshes == 1 {
            self.require(
                phase == Phase::Refreshing,
                "a refresh is out but the phase is not Refreshing",
            );
            if self.shared {
                self.require(
                    matches!(self.holder, Holder::Ours(_)),
                    "a refresh is out while the lock is not held",
                );
            }
        }
        if matches!(self.holder, Holder::Ours(_)) {
            self.require(refreshes == 1, "the lock is held with no refresh out");
        }
        match phase {
            Phase::SignedOut => self.require(session.is_none(), "SignedOut with a session"),
            Phase::SignedIn => {
                self.require(expired == Some(false), "SignedIn without a valid token")
            }
            Phase::Expired => {
                self.require(expired == Some(true), "Expired without an expired token")
            }
            Phase::Refreshing => self.require(
                session.is_some() && (refreshes == 1 || locks_wanted),
                "Refreshing without a session, a refresh out or a lock requested",
            ),
            _ => {}
        }
        self.require(
            phase != Phase::SignedOut || session.is_none(),
            "a session while SignedOut",
        );
        self.require(
            session.is_some() || phase == Phase::SignedOut,
            "no session but not SignedOut",
        );
        let diagnostics = self.machine.diagnostics(self.now);
        self.require(
            diagnostics.phase == self.machine.phase(self.now),
            "diagnostics disagree on the phase",
        );
        self.require(
            self.machine.is_authenticated(self.now) == (expired == Some(false)),
            "is_authenticated disagrees with the session",
        );
        if let Some(error) = diagnostics.last_error {
            self.check_error_hides_secrets(&error);
        }
        let current = self.session_token();
        let last_write = effects.iter().rev().find_map(|effect| match effect {
            Effect::Persist { value } => Some(
                Session::from_storage(value)
                    .ok()
                    .map(|s| s.access_token().to_owned()),
            ),
            Effect::Clear => Some(None),
            _ => None,
        });
        if let Some(written) = last_write {
            self.require(
                written == current,
                "the last storage write is not the current session",
            );
        }
        let last_emit = effects.iter().rev().find_map(|effect| match effect {
            Effect::Emit { session, .. } => {
                Some(session.as_ref().map(|s| s.access_token().to_owned()))
            }
            _ => None,
        });
        if let Some(emitted) = last_emit {
            self.require(
                emitted == current,
                "listeners last heard of a session that is not current",
            );
        }
    }

    fn check_error_hides_secrets(&self, error: &AuthError) {
        let text = format!("{error} {error:?}");
        for secret in &self.secrets {
            self.require(
                !text.contains(secret.as_str()),
                "an error shows a password or token",
            );
        }
    }

    fn check_request_hides_secrets(&self, http: &HttpRequest) {
        let text = format!("{http:?}");
        for secret in &self.secrets {
            self.require(
                !text.contains(secret.as_str()),
                "a request's Debug shows a secret",
            );
        }
    }

    /// Once the fuzz input is spent, the world answers everything until every call is settled
    /// (invariant 3, eventually).
    fn drain(&mut self, input: &mut Input) {
        self.trace("-- the world answers everything --".to_owned());
        self.fail_writes = false;
        for _ in 0..64 {
            if self.open.is_empty() {
                break;
            }
            if self.holder == Holder::OtherTab {
                self.holder = Holder::Free;
            }
            while let Some(message) = self.messages.pop_front() {
                self.step(Event::StorageChanged { stored: message }, "tab message");
            }
            while !self.pending.is_empty() {
                self.respond(0, input);
            }
            while self.holder == Holder::Free && !self.queue.is_empty() {
                self.grant_lock(false);
            }
            if self.pending.is_empty() && self.queue.is_empty() {
                let at = self
                    .timer
                    .unwrap_or(self.now.saturating_add(Duration::from_secs(1)));
                self.advance(at.duration_since(self.now));
                self.step(Event::Tick, "timer");
            }
        }
        if !self.open.is_empty() {
            let open: Vec<String> = self
                .open
                .iter()
                .map(|(op, what)| format!("{what} {op:?}"))
                .collect();
            self.fail(&format!("calls never settled: {}", open.join(", ")));
        }
    }

    fn session_token(&self) -> Option<String> {
        self.machine.session().map(|s| s.access_token().to_owned())
    }

    fn trace(&mut self, line: String) {
        if self.trace.len() >= 60 {
            self.trace.pop_front();
        }
        let mut stamped = String::new();
        let _ = write!(stamped, "[{}] {line}", self.now.as_millis());
        self.trace.push_back(stamped);
    }

    fn require(&self, ok: bool, what: &str) {
        if !ok {
            self.fail(what);
        }
    }

    fn fail(&self, what: &str) -> ! {
        let trace: Vec<&str> = self.trace.iter().map(String::as_str).collect();
        panic!(
            "invariant broken: {what}\nmode {:?}, mutant {:?}, shared storage {}, honest server {}\nlast steps:\n{}",
            self.mode,
            self.mutant,
            self.shared,
            self.server.honest,
            trace.join("\n")
        );
    }
}

/// The documented order of effects ([`Effect`]'s docs): storage, lock release, I/O, timer,
/// listeners, callers.
fn rank(effect: &Effect) -> u8 {
    match effect {
        Effect::Persist { .. } | Effect::Clear => 0,
        Effect::ReleaseLock { .. } => 1,
        Effect::Send { .. } | Effect::AcquireLock { .. } => 2,
        Effect::ScheduleTick { .. } | Effect::CancelTick => 3,
        Effect::Emit { .. } | Effect::EmitInitial { .. } => 4,
        Effect::Complete { .. } => 5,
        _ => 6,
    }
}

/// A stored value for the trace, without its tokens.
fn describe_stored(value: Option<&str>) -> String {
    match value {
        None => "a removal".to_owned(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => format!(
                "sid {} ({} bytes{})",
                value.get("sid").map_or("-".to_owned(), Value::to_string),
                text.len(),
                if value.get("retry").is_some() {
                    ", retry hint"
                } else {
                    ""
                }
            ),
            Err(_) => format!("{} bytes of garbage", text.len()),
        },
    }
}

/// The bearer token a request carries.
fn bearer(http: &HttpRequest) -> Option<String> {
    http.headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.strip_prefix("Bearer "))
        .map(str::to_owned)
}
