//! The backoff after failed refreshes, owned by [`RefreshBackoff`]: how many failed in a row,
//! when the next attempt is planned, the server's `Retry-After`, the attempt window, and whether
//! refreshing has stopped for this session. The machine asks it questions (may an on-demand
//! refresh go, is a retry pending, when does the timer refresh) and tells it what happened (a
//! failure here, failures another tab shared, a new session); it never touches the fields.

use crate::logic::error::{AuthError, ErrorCode};
use crate::logic::schedule::{self, AttemptWindow};
use crate::logic::time::Timestamp;

use super::persisted::SharedRetry;

/// The failed refreshes of the current session and the rules that follow from them. A new
/// session (a login, a refresh, one adopted from another tab) or the end of the session starts
/// it afresh ([`RefreshBackoff::reset`]).
#[derive(Debug)]
pub(super) struct RefreshBackoff {
    /// Consecutive retryable failures (the backoff exponent).
    failures: u32,
    /// When the next attempt is planned (after a retryable failure).
    retry_at: Option<Timestamp>,
    /// No refresh before this instant: the server's `Retry-After`.
    not_before: Option<Timestamp>,
    /// The failed attempts of the last [`schedule::FAILURE_WINDOW`], this tab's and the others'.
    window: AttemptWindow,
    /// A non-retryable, non-terminal refresh failure: stop refreshing this session.
    stopped_by: Option<AuthError>,
}

impl RefreshBackoff {
    /// No failure known.
    pub(super) fn new() -> Self {
        Self {
            failures: 0,
            retry_at: None,
            not_before: None,
            window: AttemptWindow::new(),
            stopped_by: None,
        }
    }

    /// Forgets every failure: the session is new, refreshed, or gone.
    pub(super) fn reset(&mut self) {
        *self = Self::new();
    }

    /// Records a refresh that failed at `now` with `error` (not a rejected refresh token: that
    /// ends the session). Every failure counts in the attempt window. A retryable one plans the
    /// next attempt after [`schedule::backoff_delay`] (which draws `jitter`; nothing else does,
    /// so the machine's random sequence is only used for retries) and keeps the server's
    /// `Retry-After`, at most [`schedule::MAX_RETRY_AFTER`]; any other (a 404 page, a malformed
    /// token) stops refreshing, as retrying will not help. Returns whether it was retryable:
    /// those are shared with the other tabs.
    pub(super) fn record_failure(
        &mut self,
        error: &AuthError,
        now: Timestamp,
        jitter: impl FnOnce() -> f64,
    ) -> bool {
        self.window.record_failure(now);
        if !error.is_retryable() {
            self.stopped_by = Some(error.clone());
            return false;
        }
        self.failures = self.failures.saturating_add(1);
        let delay = schedule::backoff_delay(self.failures, jitter(), error.retry_after());
        self.retry_at = Some(now.saturating_add(delay));
        self.not_before = error
            .retry_after()
            .map(|wait| now.saturating_add(wait.min(schedule::MAX_RETRY_AFTER)));
        true
    }

    /// Failed attempts since the last success (the diagnostics' `consecutiveFailures`).
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    /// The failure that stopped refreshing this session, if one did.
    pub(super) fn stopped_by(&self) -> Option<&AuthError> {
        self.stopped_by.as_ref()
    }

    /// The server's `Retry-After` instant, while it is still ahead of `now`.
    pub(super) fn retry_not_before(&self, now: Timestamp) -> Option<Timestamp> {
        self.not_before.filter(|at| *at > now)
    }

    /// Whether a retry is planned and its time has not come at `now`: a caller whose token
    /// still works gets it rather than adding a request against a failing server.
    pub(super) fn retry_pending(&self, now: Timestamp) -> bool {
        self.failures > 0 && self.retry_at.is_some_and(|at| now < at)
    }

    /// Why an on-demand refresh may not be sent at `now`, if it may not: the server's
    /// `Retry-After` (`rate_limited`), or the attempt window being full (with the code and
    /// status of `last_error`, the failure that filled it). The error says how long to wait.
    pub(super) fn blocker(
        &self,
        now: Timestamp,
        last_error: Option<&AuthError>,
    ) -> Option<AuthError> {
        if let Some(not_before) = self.not_before.filter(|at| now < *at) {
            let wait = not_before.duration_since(now);
            return Some(
                AuthError::new(
                    ErrorCode::RateLimited,
                    "waiting before the next refresh, as the server asked",
                )
                .with_retry_after(wait),
            );
        }
        let until = self.window.blocked_until(now)?;
        let (code, status) = last_error
            .map(|error| (error.code(), error.status()))
            .unwrap_or((ErrorCode::RateLimited, None));
        let mut error = AuthError::new(code, "refresh paused after repeated failures")
            .with_retry_after(until.duration_since(now));
        if let Some(status) = status {
            error = error.with_status(status);
        }
        Some(error)
    }

    /// When the timer refreshes a session that is `due` then: at the planned retry instead
    /// after failures, never before `Retry-After` nor `earliest` (the machine's minimum interval
    /// since the last refresh), and never while the attempt window is full.
    pub(super) fn auto_refresh_at(&self, due: Timestamp, earliest: Option<Timestamp>) -> Timestamp {
        let mut at = match self.retry_at {
            Some(retry_at) if self.failures > 0 => retry_at,
            _ => due,
        };
        if let Some(not_before) = self.not_before {
            at = at.max(not_before);
        }
        if let Some(earliest) = earliest {
            at = at.max(earliest);
        }
        if let Some(until) = self.window.blocked_until(at) {
            at = until;
        }
        at
    }

    /// What the other tabs should know after a retryable failure ending with `last_error`:
    /// `None` when no retry is planned.
    pub(super) fn to_shared(&self, last_error: &AuthError) -> Option<SharedRetry> {
        Some(SharedRetry {
            failed_at: self.window.recent().to_vec(),
            failures: self.failures,
            retry_at: self.retry_at?,
            not_before: self.not_before,
            code: last_error.code(),
            status: last_error.status(),
        })
    }

    /// Counts the failures another tab stored with the current session as this tab's own: the
    /// window, the backoff step, `Retry-After`. Its waits are first capped as a `Retry-After` of
    /// our own would be (no later than [`schedule::MAX_RETRY_AFTER`] or
    /// [`schedule::BACKOFF_CAP`] after `now`, whichever is longer), so a value from a hostile
    /// page or an old build cannot block refreshes for longer, in any tab or after a reload.
    /// Returns whether anything was news: a failure not yet counted, or a later `Retry-After`.
    pub(super) fn merge(&mut self, shared: &SharedRetry, now: Timestamp) -> bool {
        let latest = now.saturating_add(schedule::MAX_RETRY_AFTER.max(schedule::BACKOFF_CAP));
        let retry_at = shared.retry_at.min(latest);
        let not_before = shared.not_before.map(|at| at.min(latest));
        // `merge` must run whatever the `Retry-After` says: it records the failures.
        let counted = self.window.merge(&shared.failed_at, now);
        let held_back = not_before.is_some_and(|at| at > now && Some(at) > self.not_before);
        if !counted && !held_back {
            return false;
        }
        if shared.failures > self.failures {
            self.failures = shared.failures;
            self.retry_at = Some(retry_at);
        } else if shared.failures == self.failures {
            self.retry_at = self.retry_at.max(Some(retry_at));
        }
        self.not_before = self.not_before.max(not_before);
        true
    }
}
