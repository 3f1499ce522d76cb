//! The machine's frame: construction, the public queries, and [`SessionMachine::handle`], which
//! turns one event into effects (see "How one event becomes effects" in the module docs). Time
//! passing is handled here too: `advance` ends a session that expired beyond rescue and starts a
//! due refresh, `reschedule` sets the one timer to the next instant anything may happen.

use crate::logic::config::Config;
use crate::logic::error::AuthError;
use crate::logic::time::Timestamp;

use super::backoff::RefreshBackoff;
use super::calls::emit;
use super::contract::in_rank_order;
use super::MAX_TIMER_DELAY;
use super::{
    AuthEvent, Diagnostics, Effect, Event, Jitter, Phase, RequestId, Session, SessionMachine,
};

impl SessionMachine {
    /// A signed-out machine; feed [`Event::Start`] next.
    pub fn new(config: Config, jitter: Jitter) -> Self {
        Self {
            config,
            before_start: Some(Vec::new()),
            session: None,
            refresh: None,
            logins: Vec::new(),
            superseded_logins: Vec::new(),
            logouts: Vec::new(),
            me_calls: Vec::new(),
            continuations: Vec::new(),
            backoff: RefreshBackoff::new(),
            storage_trusted: true,
            last_error: None,
            refresh_count: 0,
            last_refreshed_at: None,
            scheduled: None,
            next_id: 0,
            rng: Rng::new(jitter),
            page_origin: None,
            ended_received_at: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current session, if any (also while its token is expired but refreshable).
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Whether there is a session whose access token is valid at `now`.
    pub fn is_authenticated(&self, now: Timestamp) -> bool {
        self.session
            .as_ref()
            .is_some_and(|session| !session.is_expired(now, self.config.leeway()))
    }

    /// The phase at `now`.
    pub fn phase(&self, now: Timestamp) -> Phase {
        match (&self.session, &self.refresh) {
            (None, _) => Phase::SignedOut,
            (Some(_), Some(_)) => Phase::Refreshing,
            (Some(session), None) if session.is_expired(now, self.config.leeway()) => {
                Phase::Expired
            }
            (Some(_), None) => Phase::SignedIn,
        }
    }

    /// A snapshot for debugging.
    pub fn diagnostics(&self, now: Timestamp) -> Diagnostics {
        let session = self.session.as_ref();
        Diagnostics {
            phase: self.phase(now),
            expires_at: session.and_then(Session::expires_at),
            next_refresh_at: session
                .filter(|session| self.config.auto_refresh() && self.can_refresh(session, now))
                .and_then(|session| self.auto_refresh_at(session)),
            last_error: self.last_error.clone(),
            clock_offset: session.map(Session::clock_offset).unwrap_or_default(),
            clock_source: session.map(Session::clock_source).unwrap_or_default(),
            refresh_count: self.refresh_count,
            consecutive_failures: self.backoff.failures(),
            retry_not_before: self.backoff.retry_not_before(now),
        }
    }

    /// Handles one event at `now` (local clock) and returns the effects to execute, in order.
    ///
    /// Before [`Event::Start`] an event only waits (no effects): a call cannot be answered, nor
    /// a listener greeted, before the stored session is known. `Start` then handles them all,
    /// in the order they came, and returns their effects after its own.
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Effect> {
        let Some(waiting) = self.before_start.as_mut() else {
            return self.step(event, now);
        };
        if !matches!(event, Event::Start { .. }) {
            waiting.push(event);
            return Vec::new();
        }
        let waiting = self.before_start.take().unwrap_or_default();
        let mut out = self.step(event, now);
        for event in waiting {
            out.extend(self.step(event, now));
        }
        out
    }

    /// [`Self::handle`] for a started machine: the steps of "How one event becomes effects" in
    /// the module docs.
    fn step(&mut self, event: Event, now: Timestamp) -> Vec<Effect> {
        let mut out = Vec::new();
        // Catch up first: after a sleep, a session that expired beyond rescue must end before
        // any call is answered from stale state. (Due refreshes start after the event, so a
        // logout on waking does not send a refresh first.)
        self.advance(now, false, &mut out);
        match event {
            Event::Start { stored } => self.on_start(stored, now, &mut out),
            Event::Login {
                op,
                username,
                password,
            } => self.on_login(op, &username, &password, &mut out),
            Event::Refresh { op } => self.on_refresh(op, now, &mut out),
            Event::GetAccessToken { op } => self.on_get_access_token(op, now, &mut out),
            Event::TokenRejected { op, token } => self.on_token_rejected(op, &token, now, &mut out),
            Event::Logout { op } => self.on_logout(op, now, &mut out),
            Event::Me { op } => self.on_me(op, now, &mut out),
            Event::Subscribe { listener } => out.push(Effect::EmitInitial {
                listener,
                session: self.session.clone(),
            }),
            Event::Response { request, result } => self.on_response(request, result, now, &mut out),
            Event::LockAcquired { lock, stored } => self.on_lock(lock, stored, now, &mut out),
            Event::StorageChanged { stored } => self.on_storage_changed(stored, now, &mut out),
            Event::StorageFailed { error } => self.on_storage_failed(error),
            Event::Tick => self.on_tick(),
        }
        self.advance(now, true, &mut out);
        self.resume_continuations(now, &mut out);
        self.reschedule(now, &mut out);
        let mut out = in_rank_order(out);
        // An expiry and a logout in one step both clear storage; once is enough. (`remove`, not
        // `dedup_by`: the wasm module has its code for effects already.)
        while let Some(index) = out
            .windows(2)
            .position(|pair| matches!(pair, [Effect::Clear, Effect::Clear]))
        {
            out.remove(index + 1);
        }
        out
    }

    /// [`Event::Tick`]: the timer fired, or the page woke up. Time passing needs no handler of
    /// its own: `advance` runs before and after every event (ending a session that expired
    /// beyond rescue, and afterwards starting a refresh that is due: the timer's main job), and
    /// `reschedule` sets the next timer. A tick only makes sure they run, and forgets the timer
    /// that brought it: that timer is spent, so whatever comes next must be armed again.
    fn on_tick(&mut self) {
        self.scheduled = None;
    }

    /// Acts on the passage of time: ends a session that expired beyond rescue and, with
    /// `start_refresh`, starts a refresh that is due.
    // Inlined at both calls in `step`, each with its constant `start_refresh`: measured -173 B
    // gzipped against one shared copy.
    #[inline(always)]
    fn advance(&mut self, now: Timestamp, start_refresh: bool, out: &mut Vec<Effect>) {
        let Some(session) = &self.session else {
            return;
        };
        if self.refresh.is_some() {
            return;
        }
        if !self.can_refresh(session, now) {
            if session.is_expired(now, self.config.leeway()) {
                self.end_session();
                self.backoff.reset();
                out.push(Effect::Clear);
                emit(out, AuthEvent::SessionExpired, None);
            }
            return;
        }
        let due = self.auto_refresh_at(session).is_some_and(|at| now >= at);
        if start_refresh && self.config.auto_refresh() && due {
            self.begin_refresh(Vec::new(), out);
        }
    }

    /// Sets the timer to the next instant something may happen.
    fn reschedule(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let wanted = self
            .next_wake(now)
            .map(|at| at.max(now).min(now.saturating_add(MAX_TIMER_DELAY)));
        if wanted != self.scheduled {
            self.scheduled = wanted;
            out.push(match wanted {
                Some(at) => Effect::ScheduleTick { at },
                None => Effect::CancelTick,
            });
        }
    }

    fn next_wake(&self, now: Timestamp) -> Option<Timestamp> {
        let session = self.session.as_ref()?;
        if self.refresh.is_some() {
            return None;
        }
        let refreshable = self.can_refresh(session, now);
        let refresh = if refreshable && self.config.auto_refresh() {
            self.auto_refresh_at(session)
        } else {
            None
        };
        // When the session becomes unrecoverable, `advance` must run to end it.
        let end = if refreshable {
            session.refresh_expires_at
        } else {
            session
                .expires_at
                .map(|at| at.saturating_add(self.config.leeway()))
        };
        match (refresh, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Keeps `error` as the most recent one (the diagnostics' `lastError`). Out of line: the
    /// drop of the one it replaces is then in the wasm module once, not at every handler.
    #[inline(never)]
    pub(super) fn remember(&mut self, error: AuthError) {
        self.last_error = Some(error);
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    pub(super) fn next_request(&mut self) -> RequestId {
        RequestId(self.next_id())
    }

    /// Takes the session away, remembering when it was received: tab messages about it or
    /// anything older that arrive late are not adopted (see [`Self::is_late_message`]).
    pub(super) fn end_session(&mut self) -> Option<Session> {
        let ended = self.session.take()?;
        // `None` orders before any `Some`: the latest receipt time wins.
        self.ended_received_at = self.ended_received_at.max(Some(ended.received_at));
        Some(ended)
    }

    pub(super) fn next_lineage(&mut self) -> String {
        let id = self.next_id();
        let mut lineage = String::with_capacity(32);
        push_hex(&mut lineage, self.rng.next_random(), 16);
        push_hex(&mut lineage, id, 1);
        lineage
    }
}

/// Appends `n` in lowercase hexadecimal, zero-padded to at least `width` digits: what
/// `format!("{n:0width$x}")` writes, without `core::fmt` in the wasm module.
fn push_hex(out: &mut String, n: u64, width: usize) {
    let mut started = false;
    for digit in (0..16).rev() {
        let value = (n >> (digit * 4)) & 0xf;
        started |= value != 0 || digit < width;
        if started {
            out.push(char::from_digit(value as u32, 16).unwrap_or('0'));
        }
    }
}

/// The machine's random numbers: login ids and backoff jitter. A field of its own, so that the
/// backoff can draw jitter while the machine lends it its other state.
#[derive(Debug)]
pub(super) struct Rng {
    jitter: Jitter,
    state: u64,
}

impl Rng {
    /// A sequence seeded as `jitter` says.
    fn new(jitter: Jitter) -> Self {
        let state = match jitter {
            Jitter::Seeded(seed) => seed,
            Jitter::Fixed(_) => 0,
        };
        Self { jitter, state }
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: tiny, well distributed, and needs no crate.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next jitter, in `[0, 1]`.
    pub(super) fn next_jitter(&mut self) -> f64 {
        match self.jitter {
            Jitter::Fixed(value) => value,
            // The top 53 bits as a fraction in [0, 1).
            Jitter::Seeded(_) => (self.next_random() >> 11) as f64 / (1u64 << 53) as f64,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::push_hex;

    #[test]
    fn push_hex_writes_what_format_writes() {
        for n in [
            0,
            1,
            0xf,
            0x10,
            0xabc,
            0x8000_0000_0000_0000,
            u64::MAX,
            0x0123_4567_89ab_cdef,
        ] {
            for width in [1, 16] {
                let mut out = String::new();
                push_hex(&mut out, n, width);
                assert_eq!(out, format!("{n:0width$x}"), "{n} {width}");
            }
        }
    }
}
