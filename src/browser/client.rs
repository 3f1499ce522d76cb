//! The browser driver: [`AuthClient`] feeds API calls and the outside world into the pure
//! [`SessionMachine`] and executes the effects it returns, in order. It decides nothing itself.
//!
//! Effects run from one queue, one at a time: storage writes may be asynchronous (custom
//! adapters), and running each list to completion before the next keeps the machine's order
//! (storage written → lock released → I/O started → listeners told → callers settled) even when a
//! listener calls back into the client. No `RefCell` borrow is held across an `.await` or while a
//! listener runs (a timer-fired refresh during `login()` must not hit a borrowed cell).
//!
//! With shared storage, other tabs hear of each write and removal at once: after executing a
//! [`Effect::Persist`] or [`Effect::Clear`] the driver announces it on the storage key's
//! `BroadcastChannel` ([`tabs`](super::tabs)), and feeds what others announce, like
//! `localStorage`'s `storage` events ([`page`](super::page)), as [`Event::StorageChanged`].

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::logic::json::Json;
use futures_channel::oneshot;
use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::spawn;

use crate::browser::page::PageEvents;
use crate::browser::storage::{StorageChoice, Store};
use crate::browser::tabs::{self, TabChannel};
use crate::browser::{http, lock};
use crate::logic::config::{AuthClientOptions, Config, StorageKind};
use crate::logic::error::{AuthError, ErrorCode};
use crate::logic::session::{
    AuthEvent, Diagnostics, Effect, Event, Jitter, ListenerId, LockId, OpId, Outcome, Session,
    SessionMachine, MAX_TIMER_DELAY,
};
use crate::logic::time::Timestamp;
use crate::logic::token::Claims;

/// How long a refresh waits for another tab's cross-tab lock before going ahead without it.
const LOCK_MAX_WAIT: Duration = Duration::from_secs(5);

/// A session client for one auth server: log in, keep tokens fresh, log out.
///
/// Cloning is cheap and gives another handle to the same client. The client must live on the
/// browser's main thread (or a worker); it is not `Send`.
///
/// ```no_run
/// # async fn demo() -> Result<(), tokenkeeper::AuthError> {
/// use tokenkeeper::{AuthClient, AuthClientOptions, StorageChoice};
///
/// let client = AuthClient::new(AuthClientOptions::new("https://api.example.com"), StorageChoice::Local)?;
/// let _events = client.on_auth_state_change(|event, session| {
///     web_sys::console::log_1(&format!("{event}: signed in = {}", session.is_some()).into());
/// });
/// let session = client.login("alice@example.com", "correct horse").await?;
/// assert_eq!(session.claims().sub().as_deref(), Some("1"));
/// let token = client.get_access_token().await?; // refreshed first when about to expire
/// let me = client.me().await?;
/// client.logout().await?;
/// # let _ = (token, me);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthClient {
    inner: Rc<Inner>,
}

/// A listener registration; [`Subscription::unsubscribe`] removes it (dropping it does not, so
/// a listener may be registered for the client's lifetime without keeping the handle).
#[must_use = "keep the subscription to be able to unsubscribe"]
pub struct Subscription {
    inner: Weak<Inner>,
    id: u64,
}

impl Subscription {
    /// Stops delivering events to this listener.
    pub fn unsubscribe(&self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.listeners.borrow_mut().retain(|l| l.id != self.id);
        }
    }
}

type ListenerFn = dyn Fn(AuthEvent, Option<&Session>);

struct Listener {
    id: u64,
    /// Set once `INITIAL_SESSION` was delivered: no other event may reach the listener first.
    ready: bool,
    callback: Rc<ListenerFn>,
}

/// A cross-tab lock this client holds, with what storage held when it was read under the lock
/// (updated by each write made while holding it).
struct HeldLock {
    guard: lock::LockGuard,
    read: Option<String>,
}

/// Settles one API call with the machine's answer.
type Settle = oneshot::Sender<Result<Outcome, AuthError>>;

struct Inner {
    machine: RefCell<SessionMachine>,
    store: Store,
    storage_key: String,
    /// The machine's effects not yet executed, run one at a time, in order.
    jobs: RefCell<VecDeque<Effect>>,
    pumping: Cell<bool>,
    /// Pending calls. A few at a time, so a `Vec` (a `HashMap` costs the wasm module more code).
    ops: RefCell<Vec<(OpId, Settle)>>,
    next_op: Cell<u64>,
    locks: RefCell<Vec<(LockId, HeldLock)>>,
    timer: RefCell<Option<Timeout>>,
    listeners: RefCell<Vec<Listener>>,
    next_listener: Cell<u64>,
    page_events: RefCell<Option<PageEvents>>,
    /// The storage key's `BroadcastChannel`, with shared storage where it exists.
    tabs: RefCell<Option<TabChannel>>,
    /// The login and refresh URLs, absolute and without query: `fetch()` never sends the token
    /// there. Resolved once (endpoints are absolute or `/`-paths, so the page's path is moot).
    token_endpoints: Vec<String>,
    /// The page's origin (`"null"` outside a page): fixed for the page's lifetime.
    page_origin: String,
    disposed: Cell<bool>,
}

impl AuthClient {
    /// Creates a client. Fails with `config` when the options are invalid.
    ///
    /// A session in synchronous storage (`Local`, `Session`, `Memory`) is restored before this
    /// returns, so [`AuthClient::session`] answers at once; an asynchronous custom storage is
    /// read in the background, and calls made meanwhile wait for it. Storage that is missing or
    /// throws falls back to memory with a console warning.
    pub fn new(mut options: AuthClientOptions, storage: StorageChoice) -> Result<Self, AuthError> {
        let (store, fallback) = Store::open(storage);
        if let Some(error) = fallback {
            warn(&error);
        }
        // The machine decides about cross-tab locking from the storage actually in use (after
        // any fallback), not from what was asked for.
        options.storage = Some(match store.kind_name() {
            "local" => StorageKind::Local,
            "session" => StorageKind::Session,
            "custom" => StorageKind::Custom,
            _ => StorageKind::Memory,
        });
        let config = Config::resolve(options)?;
        let token_endpoints = token_endpoints(&config);
        let storage_key = config.storage_key().to_owned();
        let watch_storage = (store.kind_name() == "local").then(|| storage_key.clone());
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let page_origin = page_origin();
        let mut machine = SessionMachine::new(config, Jitter::Seeded(seed));
        if page_origin != "null" {
            machine.set_page_origin(&page_origin);
        }
        let inner = Rc::new(Inner {
            machine: RefCell::new(machine),
            store,
            storage_key,
            jobs: RefCell::new(VecDeque::new()),
            pumping: Cell::new(false),
            ops: RefCell::new(Vec::new()),
            next_op: Cell::new(1),
            locks: RefCell::new(Vec::new()),
            timer: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            next_listener: Cell::new(1),
            page_events: RefCell::new(None),
            tabs: RefCell::new(None),
            token_endpoints,
            page_origin,
            disposed: Cell::new(false),
        });

        let wake = Rc::downgrade(&inner);
        let changed = Rc::downgrade(&inner);
        let page_events = PageEvents::listen(
            move || {
                if let Some(inner) = wake.upgrade() {
                    inner.dispatch(Event::Tick);
                }
            },
            watch_storage,
            move |stored| {
                if let Some(inner) = changed.upgrade() {
                    inner.dispatch(Event::StorageChanged { stored });
                }
            },
        );
        *inner.page_events.borrow_mut() = Some(page_events);
        if inner.store.is_shared() {
            let announced = Rc::downgrade(&inner);
            let channel = TabChannel::open(&inner.storage_key, move |stored| {
                if let Some(inner) = announced.upgrade() {
                    inner.dispatch(Event::StorageChanged { stored });
                }
            });
            *inner.tabs.borrow_mut() = channel;
        }

        // Web and memory storage answer synchronously: start now so `session()` is right at once.
        // A custom adapter may be asynchronous: it is read in the background, and the calls and
        // listeners that come meanwhile wait inside the machine until `Event::Start`.
        let key = inner.storage_key.clone();
        let synchronous = if inner.store.kind_name() == "custom" {
            None
        } else {
            poll_once(inner.store.get(&key))
        };
        match synchronous {
            Some(stored) => inner.start(stored),
            None => {
                let reader = Rc::clone(&inner);
                spawn(Box::pin(async move {
                    let stored = reader.store.get(&key).await;
                    reader.start(stored);
                }));
            }
        }
        Ok(Self { inner })
    }

    /// Logs in with a username (or email) and password; resolves with the new session.
    ///
    /// A later `login` or [`logout`](Self::logout) made before this one's reply replaces it:
    /// this call then fails with `not_authenticated` and its reply is discarded.
    pub async fn login(&self, username: &str, password: &str) -> Result<Session, AuthError> {
        let outcome = self
            .inner
            .call(|op| Event::Login {
                op,
                username: username.to_owned(),
                password: password.to_owned(),
            })
            .await?;
        expect_session(outcome)
    }

    /// Refreshes the tokens now. Concurrent calls (and `get_access_token`/`fetch` calls that need
    /// a refresh) share one request; if another tab has just refreshed, resolves with that
    /// session without a request.
    pub async fn refresh(&self) -> Result<Session, AuthError> {
        let outcome = self.inner.call(|op| Event::Refresh { op }).await?;
        expect_session(outcome)
    }

    /// Logs out: calls the server's logout endpoint when there is one, and clears the local
    /// session even when that call fails.
    pub async fn logout(&self) -> Result<(), AuthError> {
        self.inner.call(|op| Event::Logout { op }).await.map(|_| ())
    }

    /// The access token, refreshed first when it is expiring; `None` when signed out.
    pub async fn get_access_token(&self) -> Result<Option<String>, AuthError> {
        if let Some(token) = self.ready_access_token() {
            return Ok(Some(token));
        }
        let outcome = self.inner.call(|op| Event::GetAccessToken { op }).await?;
        expect_token(outcome)
    }

    /// The access token if [`AuthClient::get_access_token`] would resolve with it at once: signed
    /// in, not expiring, no refresh in flight. `None` means that call has work to do (or there is
    /// no session); it never means signed out.
    ///
    /// The common case of every `getAccessToken()` and `fetch()` call, answered without queueing
    /// an operation through the state machine.
    pub fn ready_access_token(&self) -> Option<String> {
        if self.inner.disposed.get() {
            return None;
        }
        let machine = self.inner.machine.try_borrow().ok()?;
        machine.ready_access_token(now()).map(str::to_owned)
    }

    /// Sends `request` with `Authorization: Bearer <token>` when its origin is allowed
    /// (`apiOrigins`, the origin of `baseUrl`); on a 401 refreshes once and replays once.
    ///
    /// Resolves with the response for any HTTP status; fails with `network` when no response
    /// came. Signed out, or for another origin, the request goes out untouched. Requests to the
    /// login and refresh endpoints never carry the token nor trigger a refresh.
    pub async fn fetch(&self, request: web_sys::Request) -> Result<web_sys::Response, AuthError> {
        if !self.may_carry_token(&request) {
            return send_request(&request).await;
        }
        let token = match self.get_access_token().await {
            Ok(token) => token,
            // No usable token and no network to get one: nothing can be sent.
            Err(error) if error.is_retryable() => return Err(error),
            // The session ended (e.g. the refresh token was refused): signed out now, so the
            // request goes out without a token and the server answers it.
            Err(_) => None,
        };
        let Some(token) = token else {
            return send_request(&request).await;
        };
        let response = send_request(&with_bearer(&request, &token)?).await?;
        self.after_response(request, token, response).await
    }

    /// Whether [`AuthClient::fetch`] attaches the token to `request`: its origin is allowed
    /// (`apiOrigins`, the origin of `baseUrl`), it is not for the login or refresh endpoint, and
    /// it has no `Authorization` header of its own. A header the caller set wins (as in
    /// supabase-js): such a request goes out as it is, and its 401 is not answered with a
    /// refresh, since it is about the caller's credential, not the session's.
    pub fn may_carry_token(&self, request: &web_sys::Request) -> bool {
        if request.headers().has("Authorization").unwrap_or(true) {
            return false;
        }
        let url = request.url();
        let target = strip_query(&url);
        let Ok(machine) = self.inner.machine.try_borrow() else {
            return false;
        };
        machine
            .config()
            .allows_origin(serialized_origin(&url), &self.inner.page_origin)
            && !self.inner.token_endpoints.iter().any(|e| e == target)
    }

    /// Whether a response with `status` says the token was refused (`tokenErrorStatuses`).
    pub fn refuses_token(&self, status: u16) -> bool {
        self.inner
            .machine
            .borrow()
            .config()
            .errors()
            .refuses_token(status)
    }

    /// The end of [`AuthClient::fetch`] once `request` was sent with `token` and `response`
    /// came back: on a 401 (or another `tokenErrorStatuses` status), one replay with a newer
    /// token (refreshing once if none is in hand); otherwise `response` itself. `request` must
    /// still be unsent (the copy carried the token).
    pub async fn after_response(
        &self,
        request: web_sys::Request,
        token: String,
        response: web_sys::Response,
    ) -> Result<web_sys::Response, AuthError> {
        if !self.refuses_token(response.status()) {
            return Ok(response);
        }
        match self.replacement_for(token).await {
            Some(fresh) => send_request(&with_bearer(&request, &fresh)?).await,
            None => Ok(response),
        }
    }

    /// GETs the `me` endpoint with the token and resolves with its JSON body.
    ///
    /// Fails with `not_authenticated` when signed out, `config` when the server has no `me`
    /// endpoint, and the mapped error code for any other failure (one refresh and replay on 401).
    /// The machine decides and sends each request ([`Event::Me`]), like login's and refresh's.
    pub async fn me(&self) -> Result<Json, AuthError> {
        match self.inner.call(|op| Event::Me { op }).await? {
            Outcome::Json(value) => Ok(value),
            _ => Err(unexpected_outcome()),
        }
    }

    /// After a 401 on a request sent with `token`: the token to replay with, if any (a newer one
    /// already in hand, or one from a single refresh).
    async fn replacement_for(&self, token: String) -> Option<String> {
        match self
            .inner
            .call(|op| Event::TokenRejected { op, token })
            .await
        {
            Ok(Outcome::AccessToken(fresh)) => fresh,
            _ => None,
        }
    }

    /// The current session, if signed in.
    pub fn session(&self) -> Option<Session> {
        self.inner.machine.borrow().session().cloned()
    }

    /// Whether there is a session whose access token has not expired (with the leeway).
    pub fn is_authenticated(&self) -> bool {
        self.inner.machine.borrow().is_authenticated(now())
    }

    /// The access token's claims (decoded without a signature check: for the UI only).
    pub fn claims(&self) -> Option<Claims> {
        self.inner
            .machine
            .borrow()
            .session()
            .map(|s| s.claims().clone())
    }

    /// When the access token expires, as the server stated it (`exp`, or `expires_in` after
    /// receipt). Refresh timing also corrects for clock skew: see [`AuthClient::diagnostics`].
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.inner
            .machine
            .borrow()
            .session()
            .and_then(Session::stated_expires_at)
    }

    /// Whether the access token carries `role` under one of the configured role claims.
    /// Client-side role checks drive the UI only: the server decides what a token may do.
    pub fn has_role(&self, role: &str) -> bool {
        self.with_roles(|roles, claims| roles.has_role(claims, role))
    }

    /// Whether the access token carries at least one of `roles`.
    pub fn has_any_role<S: AsRef<str>>(&self, roles: &[S]) -> bool {
        self.with_roles(|config, claims| config.has_any_role(claims, roles))
    }

    /// Whether the access token carries every one of `roles`.
    pub fn has_all_roles<S: AsRef<str>>(&self, roles: &[S]) -> bool {
        self.with_roles(|config, claims| config.has_all_roles(claims, roles))
    }

    fn with_roles(
        &self,
        check: impl FnOnce(&crate::logic::roles::RoleClaims, &Claims) -> bool,
    ) -> bool {
        let machine = self.inner.machine.borrow();
        match machine.session() {
            Some(session) => check(machine.config().role_claims(), session.claims()),
            None => false,
        }
    }

    /// What a developer needs to debug a session: phase, expiry, next refresh, last error,
    /// clock offset, refresh count.
    pub fn diagnostics(&self) -> Diagnostics {
        self.inner.machine.borrow().diagnostics(now())
    }

    /// Calls `listener` on every auth event. `INITIAL_SESSION` comes first, asynchronously
    /// (after the current task), with the session as it stood when the listener subscribed
    /// (the restored one, once storage was read); every change after that follows as its event.
    pub fn on_auth_state_change(
        &self,
        listener: impl Fn(AuthEvent, Option<&Session>) + 'static,
    ) -> Subscription {
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id + 1);
        self.inner.listeners.borrow_mut().push(Listener {
            id,
            ready: false,
            callback: Rc::new(listener),
        });
        self.inner.dispatch(Event::Subscribe {
            listener: ListenerId(id),
        });
        Subscription {
            inner: Rc::downgrade(&self.inner),
            id,
        }
    }

    /// Stops timers and page listeners, drops event listeners and rejects pending calls. The
    /// stored session is left as it is (another tab, or a reload, may still use it).
    pub fn dispose(&self) {
        self.inner.dispose();
    }
}

impl Inner {
    /// Feeds one event to the machine and queues its effects.
    fn dispatch(self: &Rc<Self>, event: Event) {
        if self.disposed.get() {
            return;
        }
        let effects = self.machine.borrow_mut().handle(event, now());
        self.push_jobs(effects);
    }

    /// Starts the machine with what storage holds (and the events that waited for it).
    fn start(self: &Rc<Self>, stored: Result<Option<String>, AuthError>) {
        self.dispatch(Event::Start { stored });
        // A stored value that could not be read or was garbage has been discarded: say so once
        // (the message names the rule that failed, never the stored text).
        let start_error = self.machine.borrow().diagnostics(now()).last_error;
        if let Some(error) = start_error.filter(|e| e.code() == ErrorCode::Storage) {
            warn(&error);
        }
    }

    /// Starts a call: registers its completion under a fresh id and feeds the event.
    fn call(
        self: &Rc<Self>,
        event: impl FnOnce(OpId) -> Event,
    ) -> impl Future<Output = Result<Outcome, AuthError>> {
        let (sender, receiver) = oneshot::channel();
        if self.disposed.get() {
            drop(sender);
        } else {
            let op = OpId(self.next_op.get());
            self.next_op.set(op.0 + 1);
            self.ops.borrow_mut().push((op, sender));
            self.dispatch(event(op));
        }
        async move {
            receiver.await.unwrap_or_else(|_| {
                Err(AuthError::config(
                    "the client was disposed before the call finished",
                ))
            })
        }
    }

    fn push_jobs(self: &Rc<Self>, jobs: impl IntoIterator<Item = Effect>) {
        self.jobs.borrow_mut().extend(jobs);
        if !self.pumping.replace(true) {
            let inner = Rc::clone(self);
            spawn(Box::pin(async move { inner.pump().await }));
        }
    }

    async fn pump(self: Rc<Self>) {
        loop {
            let job = self.jobs.borrow_mut().pop_front();
            let Some(effect) = job else { break };
            if self.disposed.get() {
                continue;
            }
            self.execute(effect).await;
        }
        self.pumping.set(false);
    }

    async fn execute(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Persist { value } => match self.store.set(&self.storage_key, &value).await {
                Ok(()) => {
                    self.mark_replaced(Some(&value)).await;
                    self.announce(Some(&value));
                }
                Err(error) => {
                    warn(&error);
                    self.dispatch(Event::StorageFailed { error });
                }
            },
            Effect::Clear => match self.store.remove(&self.storage_key).await {
                Ok(()) => {
                    self.mark_replaced(None).await;
                    self.announce(None);
                }
                Err(error) => {
                    warn(&error);
                    self.dispatch(Event::StorageFailed { error });
                }
            },
            Effect::ReleaseLock { lock } => {
                let held = take_entry(&mut self.locks.borrow_mut(), lock);
                if let Some(held) = held {
                    held.guard.release();
                }
            }
            Effect::Send { request, http } => {
                let inner = Rc::clone(self);
                spawn(Box::pin(async move {
                    let result = http::send(&http).await;
                    inner.dispatch(Event::Response { request, result });
                }));
            }
            Effect::AcquireLock { lock } => {
                let inner = Rc::clone(self);
                spawn(Box::pin(async move {
                    let name = format!("tokenkeeper:{}", inner.storage_key);
                    let guard = lock::acquire(&name, LOCK_MAX_WAIT).await;
                    if inner.disposed.get() {
                        guard.release();
                        return;
                    }
                    // Re-read under the lock: another tab may have refreshed meanwhile (and its
                    // write may still be on its way here).
                    let stored = tabs::read_under_lock(&inner.store, &inner.storage_key).await;
                    let read = stored.as_ref().ok().cloned().flatten();
                    inner
                        .locks
                        .borrow_mut()
                        .push((lock, HeldLock { guard, read }));
                    inner.dispatch(Event::LockAcquired { lock, stored });
                }));
            }
            Effect::ScheduleTick { at } => self.schedule_tick(at),
            Effect::CancelTick => drop(self.timer.borrow_mut().take()),
            Effect::Emit { event, session } => self.emit(event, session.as_ref()),
            Effect::EmitInitial { listener, session } => {
                self.emit_initial(listener, session.as_ref());
            }
            Effect::Complete { op, result } => self.settle(op, result),
        }
    }

    /// Settles the promise of call `op` (the caller may have stopped waiting; nothing to do then).
    fn settle(&self, op: OpId, result: Result<Outcome, AuthError>) {
        let sender = take_entry(&mut self.ops.borrow_mut(), op);
        if let Some(sender) = sender {
            let _ = sender.send(result);
        }
    }

    /// After a write made while holding the cross-tab lock: marks the value it replaced, so the
    /// next holder does not act on a stale copy of it (see [`tabs::read_under_lock`]).
    async fn mark_replaced(&self, written: Option<&str>) {
        let replaced: Vec<String> = self
            .locks
            .borrow_mut()
            .iter_mut()
            .filter_map(|(_, held)| {
                let previous = std::mem::replace(&mut held.read, written.map(str::to_owned))?;
                (Some(previous.as_str()) != written).then_some(previous)
            })
            .collect();
        for value in replaced {
            tabs::mark_replaced(&self.storage_key, &value).await;
        }
    }

    /// Tells the other tabs what shared storage now holds (nothing to tell once storage fell
    /// back to memory).
    fn announce(&self, stored: Option<&str>) {
        if self.store.is_shared() {
            if let Some(channel) = self.tabs.borrow().as_ref() {
                channel.announce(stored);
            }
        }
    }

    fn schedule_tick(self: &Rc<Self>, at: Timestamp) {
        let delay = at.duration_since(now()).min(MAX_TIMER_DELAY);
        let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
        let inner = Rc::downgrade(self);
        let timeout = Timeout::new(millis, move || {
            if let Some(inner) = inner.upgrade() {
                inner.dispatch(Event::Tick);
            }
        });
        // Replacing the old timeout drops it, which cancels it.
        let previous = self.timer.borrow_mut().replace(timeout);
        drop(previous);
    }

    fn emit(&self, event: AuthEvent, session: Option<&Session>) {
        // Copy the list first: a listener may subscribe, unsubscribe or call the client.
        let callbacks: Vec<Rc<ListenerFn>> = self
            .listeners
            .borrow()
            .iter()
            .filter(|listener| listener.ready)
            .map(|listener| Rc::clone(&listener.callback))
            .collect();
        for callback in callbacks {
            callback(event, session);
        }
    }

    /// Greets one listener with `INITIAL_SESSION`; it hears every later event too.
    fn emit_initial(&self, listener: ListenerId, session: Option<&Session>) {
        let callback = {
            let mut listeners = self.listeners.borrow_mut();
            let Some(listener) = listeners.iter_mut().find(|l| l.id == listener.0) else {
                return; // unsubscribed before delivery
            };
            listener.ready = true;
            Rc::clone(&listener.callback)
        };
        callback(AuthEvent::InitialSession, session);
    }

    fn dispose(&self) {
        if self.disposed.replace(true) {
            return;
        }
        drop(self.timer.borrow_mut().take());
        drop(self.page_events.borrow_mut().take());
        drop(self.tabs.borrow_mut().take());
        self.listeners.borrow_mut().clear();
        let jobs: Vec<Effect> = self.jobs.borrow_mut().drain(..).collect();
        let locks: Vec<_> = self.locks.borrow_mut().drain(..).map(|(_, h)| h).collect();
        for held in locks {
            held.guard.release();
        }
        // Calls the machine has already settled keep their outcome: a `dispose()` from a
        // `SIGNED_IN` listener runs before the `login()` it reports is resolved (listeners come
        // first), and that login did succeed.
        for job in jobs {
            if let Effect::Complete { op, result } = job {
                self.settle(op, result);
            }
        }
        // Dropping the other senders rejects the calls still pending.
        let ops: Vec<_> = self.ops.borrow_mut().drain(..).collect();
        drop(ops);
    }
}

/// Removes and returns the value stored under `id` in a small list of pairs.
fn take_entry<K: PartialEq, V>(entries: &mut Vec<(K, V)>, id: K) -> Option<V> {
    let position = entries.iter().position(|(key, _)| *key == id)?;
    Some(entries.swap_remove(position).1)
}

fn expect_session(outcome: Outcome) -> Result<Session, AuthError> {
    match outcome {
        Outcome::Session(session) => Ok(session),
        _ => Err(unexpected_outcome()),
    }
}

fn expect_token(outcome: Outcome) -> Result<Option<String>, AuthError> {
    match outcome {
        Outcome::AccessToken(token) => Ok(token),
        _ => Err(unexpected_outcome()),
    }
}

fn unexpected_outcome() -> AuthError {
    AuthError::new(
        ErrorCode::Protocol,
        "internal: unexpected outcome for this call",
    )
}

/// The local clock, in the core's unit.
pub(crate) fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

/// Logs a warning that never carries a token (`AuthError` messages never do).
pub(crate) fn warn(error: &AuthError) {
    web_sys::console::warn_1(&format!("tokenkeeper: {error}").into());
}

/// Polls a future once; `Some` when it was already complete (synchronous storage).
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// The origin of the page (or worker); `"null"` where there is none (Node).
fn page_origin() -> String {
    let location = js_sys::Reflect::get(&js_sys::global(), &"location".into()).ok();
    location
        .and_then(|location| js_sys::Reflect::get(&location, &"origin".into()).ok())
        .and_then(|origin| origin.as_string())
        .unwrap_or_else(|| "null".to_owned())
}

/// The origin of `url` as a `Request` serializes it (absolute, lowercase scheme and host, no
/// default port, never with credentials: `new Request` refuses those): the text before the path.
/// Only `http` and `https` have origins that can match `apiOrigins`; anything else is `"null"`.
/// Cheaper than a `URL` object on the `fetch()` hot path.
fn serialized_origin(url: &str) -> &str {
    let Some(after_scheme) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return "null";
    };
    let authority_len = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    &url[..url.len() - after_scheme.len() + authority_len]
}

/// Resolves `url` against the page the way `fetch` does (absolute URLs stay as they are).
fn absolute_url(url: &str) -> Option<String> {
    let base = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .ok()
        .and_then(|location| js_sys::Reflect::get(&location, &"href".into()).ok())
        .and_then(|href| href.as_string());
    match base {
        Some(base) => web_sys::Url::new_with_base(url, &base).ok(),
        None => web_sys::Url::new(url).ok(),
    }
    .map(|url| url.href())
}

/// The login and refresh endpoints as absolute URLs without query: those never carry the access
/// token, and a 401 from them must not start a refresh.
fn token_endpoints(config: &Config) -> Vec<String> {
    let endpoints = config.endpoints();
    [Some(&endpoints.login), endpoints.refresh.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|endpoint| absolute_url(endpoint))
        .map(|endpoint| strip_query(&endpoint).to_owned())
        .collect()
}

fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// A copy of `request` carrying `token` (the original stays unsent, so it can be replayed).
fn with_bearer(request: &web_sys::Request, token: &str) -> Result<web_sys::Request, AuthError> {
    let attempt = request
        .clone()
        .map_err(|_| AuthError::config("the request body was already used; it cannot be sent"))?;
    attempt
        .headers()
        .set("Authorization", &format!("Bearer {token}"))
        .map_err(|_| {
            AuthError::config("this request cannot carry an Authorization header (no-cors mode?)")
        })?;
    Ok(attempt)
}

/// The error of a `fetch` that got no response.
fn no_response() -> AuthError {
    AuthError::network("no response (offline, DNS, CORS or aborted)")
}

/// Sends a prepared request; any HTTP status is a response, only "no response" is an error.
///
/// Through the global `fetch` as [`http`] binds it, with `catch`: an app or a test may have
/// replaced `fetch` with one that throws synchronously, and a throw through the wasm frames
/// would skip their cleanup and could leave the client's state borrowed for good. Such a throw,
/// like a rejection, is "no response". Whatever it resolves with goes through
/// `Promise.resolve`, so a `fetch` returning a plain value is an error, not a crash.
async fn send_request(request: &web_sys::Request) -> Result<web_sys::Response, AuthError> {
    let pending = http::global_fetch(request).map_err(|_| no_response())?;
    let response = JsFuture::from(js_sys::Promise::resolve(&pending))
        .await
        .map_err(|_| no_response())?;
    response
        .dyn_into::<web_sys::Response>()
        .map_err(|_| AuthError::network("fetch resolved with something other than a Response"))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::serialized_origin;

    /// What `new URL(request.url).origin` gives for URLs as `Request` serializes them.
    #[test]
    fn the_origin_is_the_serialized_url_before_its_path() {
        let cases = [
            ("https://api.example.com/auth/me", "https://api.example.com"),
            ("http://127.0.0.1:8080/x?y=1", "http://127.0.0.1:8080"),
            ("https://[::1]:8443/", "https://[::1]:8443"),
            ("https://example.com?q=/x", "https://example.com"),
            ("https://example.com#/x", "https://example.com"),
            ("https://example.com", "https://example.com"),
            ("blob:https://example.com/5c0e", "null"),
            ("data:text/plain,hi", "null"),
            ("file:///etc/passwd", "null"),
        ];
        for (url, origin) in cases {
            assert_eq!(serialized_origin(url), origin, "{url}");
        }
    }
}
