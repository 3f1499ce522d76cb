//! When to refresh, and how long to wait after a failure.
//!
//! - **Refresh time**: `expires_at − margin`, where the margin is `refreshMarginSeconds` (at
//!   least [`MIN_MARGIN`]) capped at 1/[`MARGIN_DIVISOR`] of the token's lifetime, so a
//!   5-second token refreshes 2.5 s before it expires instead of immediately (a 60 s margin on
//!   a 5 s token would mean refreshing on arrival, in a loop). `expires_at` is on this device's
//!   clock, already corrected by the server clock offset ([`TokenTiming`]). Never in the past;
//!   for any lifetime of 2 s or more, always before expiry (property-tested below).
//! - **Backoff** after a retryable failure: exponential from [`BACKOFF_BASE`], capped at
//!   [`BACKOFF_CAP`], with "equal jitter" (half fixed, half random) from an injected random
//!   value so tests are deterministic; a server's `Retry-After` replaces it.
//! - **Attempt window**: at most [`MAX_FAILURES_PER_WINDOW`] failed refreshes per
//!   [`FAILURE_WINDOW`], whatever triggered them (timers, `getAccessToken()`, `refresh()` calls
//!   from an app retrying in a loop), so a failing server is not hammered. Tabs sharing a
//!   session share their failures ([`AttemptWindow::merge`]), so the cap holds for all of them
//!   together.
//!
//! [`TokenTiming`]: crate::logic::time::TokenTiming

use std::time::Duration;

use crate::logic::time::Timestamp;

/// The margin is at most `lifetime / MARGIN_DIVISOR`: a token is used for at least half its
/// life before it is refreshed, and the other half is left for the refresh request, its
/// retries, timer lateness and residual clock error.
pub const MARGIN_DIVISOR: u32 = 2;

/// The margin is at least this (lifetime permitting), even with `refreshMarginSeconds: 0`: a
/// refresh takes a round trip, and one started at the expiry instant would always be late.
pub const MIN_MARGIN: Duration = Duration::from_secs(1);

/// The first retry waits between half of this and this.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);

/// Retries never wait longer than this (unless the server's `Retry-After` says so): about the
/// default refresh margin, so a recovering server is noticed within a minute.
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);

/// The longest wait a server's `Retry-After` can impose. A proxy or a broken server answering
/// `Retry-After: 31536000` would otherwise stop refreshes for a year, and the shared backoff would
/// carry the block into every tab and across reloads, until the refresh token expired. Five
/// minutes honours any real maintenance pause a token's life can bear; the session is kept
/// meanwhile (its token may expire, and the first refresh after the wait saves it).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// The window over which failed refresh attempts are counted.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Failed refresh attempts allowed within [`FAILURE_WINDOW`]; further attempts wait until the
/// oldest failure leaves the window.
pub const MAX_FAILURES_PER_WINDOW: usize = 5;

/// After a successful refresh, the next scheduled one waits at least this long, so a server that
/// issues already-expired tokens (a badly wrong clock) cannot put us in a refresh loop.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The margin actually used for a token living `lifetime`: `configured` (at least
/// [`MIN_MARGIN`]), capped at `lifetime / MARGIN_DIVISOR`.
pub fn effective_margin(configured: Duration, lifetime: Duration) -> Duration {
    configured.max(MIN_MARGIN).min(lifetime / MARGIN_DIVISOR)
}

/// The instant a token expiring at `expires_at` (local clock) after living `lifetime` becomes
/// due for refresh; may be in the past.
pub fn refresh_due_at(expires_at: Timestamp, lifetime: Duration, margin: Duration) -> Timestamp {
    expires_at.saturating_sub(effective_margin(margin, lifetime))
}

/// When to refresh a token expiring at `expires_at` (local clock) after living `lifetime`, with
/// the configured `margin`: [`refresh_due_at`], or `now` if that has passed.
pub fn refresh_at(
    expires_at: Timestamp,
    lifetime: Duration,
    margin: Duration,
    now: Timestamp,
) -> Timestamp {
    refresh_due_at(expires_at, lifetime, margin).max(now)
}

/// How long to wait before retry number `failures` (1 for the first retry).
///
/// `retry_after` (the server's `Retry-After`, at most [`MAX_RETRY_AFTER`]) wins when present.
/// Otherwise the ceiling is
/// `BACKOFF_BASE × 2^(failures−1)`, capped at [`BACKOFF_CAP`], and the wait is
/// `ceiling/2 + jitter × ceiling/2` with `jitter` in `[0, 1]` (clamped; NaN counts as 1): half
/// fixed so retries never bunch up at zero, half random so tabs and clients do not retry in
/// lockstep.
pub fn backoff_delay(failures: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(MAX_RETRY_AFTER);
    }
    let doublings = failures.saturating_sub(1).min(31);
    let ceiling = BACKOFF_BASE
        .checked_mul(1u32 << doublings)
        .unwrap_or(BACKOFF_CAP)
        .min(BACKOFF_CAP);
    let jitter = if jitter.is_nan() {
        1.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let half = ceiling / 2;
    half + half.mul_f64(jitter)
}

/// Recent failed refresh attempts, to cap them per [`FAILURE_WINDOW`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptWindow {
    /// Oldest first, always: kept in order on insertion (a handful of entries), so nothing here
    /// needs a sort, whose code would cost the wasm module kilobytes.
    failures: Vec<Timestamp>,
}

impl AttemptWindow {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failed attempt at `at`, forgetting failures that left the window.
    pub fn record_failure(&mut self, at: Timestamp) {
        self.forget_up_to(at.saturating_sub(FAILURE_WINDOW));
        self.insert(at);
    }

    /// Inserts `at` in order (a clock stepped back can record out of order), after any equal
    /// one. Pushed and moved back past the later ones: a handful of entries, and no
    /// `partition_point` nor `Vec::insert` in the wasm module for this one vector.
    fn insert(&mut self, at: Timestamp) {
        self.failures.push(at);
        let mut index = self.failures.len() - 1;
        while index > 0 && self.failures[index - 1] > at {
            self.failures.swap(index - 1, index);
            index -= 1;
        }
    }

    /// Forgets the failures at or before `horizon`, keeping the order of the others: what
    /// `retain` does, in a loop (the module's only `retain` was this one).
    fn forget_up_to(&mut self, horizon: Timestamp) {
        let mut kept = 0;
        for index in 0..self.failures.len() {
            let failure = self.failures[index];
            if failure > horizon {
                self.failures[kept] = failure;
                kept += 1;
            }
        }
        self.failures.truncate(kept);
    }

    /// Forgets every failure (after a success).
    pub fn clear(&mut self) {
        self.failures.clear();
    }

    /// The failures counted so far, oldest first (to share them with other tabs).
    pub fn recent(&self) -> &[Timestamp] {
        &self.failures
    }

    /// Adds failures counted elsewhere (another tab's attempts at the same session), ignoring
    /// those already known and those that left the window before `now`. Returns whether any
    /// was new.
    pub fn merge(&mut self, failures: &[Timestamp], now: Timestamp) -> bool {
        let horizon = now.saturating_sub(FAILURE_WINDOW);
        let mut new = false;
        for at in failures {
            if *at > horizon && !self.failures.contains(at) {
                self.insert(*at);
                new = true;
            }
        }
        if new {
            let newest = self.failures.last().copied().unwrap_or(now).max(now);
            self.forget_up_to(newest.saturating_sub(FAILURE_WINDOW));
        }
        new
    }

    /// How many failures happened in the window ending at `now`.
    pub fn failures_in_window(&self, now: Timestamp) -> usize {
        let horizon = now.saturating_sub(FAILURE_WINDOW);
        self.failures
            .iter()
            .filter(|failure| **failure > horizon)
            .count()
    }

    /// `None` when an attempt may start at `now`; otherwise the instant the oldest counted
    /// failure leaves the window.
    pub fn blocked_until(&self, now: Timestamp) -> Option<Timestamp> {
        let horizon = now.saturating_sub(FAILURE_WINDOW);
        // Loops over the failures in the window rather than a collected copy of them: no
        // allocation, and no `collect` of a filter in the wasm module.
        let mut recent = 0;
        for failure in &self.failures {
            if *failure > horizon {
                recent += 1;
            }
        }
        if recent < MAX_FAILURES_PER_WINDOW {
            return None;
        }
        // The attempt may go once enough failures have aged out to get below the cap: when the
        // one after the `excess` oldest of the window leaves it.
        let mut excess = recent - MAX_FAILURES_PER_WINDOW;
        for failure in &self.failures {
            if *failure > horizon {
                if excess == 0 {
                    return Some(failure.saturating_add(FAILURE_WINDOW));
                }
                excess -= 1;
            }
        }
        None
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::logic::time::{ClockEvidence, ClockOffset, TokenTiming};
    use proptest::prelude::*;

    fn ms(millis: i64) -> Timestamp {
        Timestamp::from_millis(millis)
    }

    #[test]
    fn margin_scales_down_for_short_tokens() {
        let sixty = Duration::from_secs(60);
        // (configured, lifetime) -> margin
        let cases = [
            (60_000, 1_800_000, 60_000),
            (60_000, 120_000, 60_000),
            (60_000, 60_000, 30_000),
            (60_000, 5_000, 2_500),
            (60_000, 2_000, 1_000),
            (0, 1_800_000, 1_000),
            (0, 1_000, 500),
            (10_000, 0, 0),
        ];
        for (configured, lifetime, expected) in cases {
            let margin = effective_margin(
                Duration::from_millis(configured),
                Duration::from_millis(lifetime),
            );
            assert_eq!(
                margin,
                Duration::from_millis(expected),
                "{configured} {lifetime}"
            );
        }
        // A 5-second token received at 0 refreshes at 2.5 s.
        assert_eq!(
            refresh_at(ms(5_000), Duration::from_secs(5), sixty, ms(0)),
            ms(2_500)
        );
        // A 30-minute token refreshes a minute early.
        assert_eq!(
            refresh_at(ms(1_800_000), Duration::from_secs(1_800), sixty, ms(0)),
            ms(1_740_000)
        );
        // Overdue (a laptop waking up): now.
        assert_eq!(
            refresh_at(
                ms(1_800_000),
                Duration::from_secs(1_800),
                sixty,
                ms(1_799_000)
            ),
            ms(1_799_000)
        );
        assert_eq!(
            refresh_due_at(ms(1_800_000), Duration::from_secs(1_800), sixty),
            ms(1_740_000)
        );
    }

    #[test]
    fn backoff_doubles_to_a_cap_and_retry_after_wins() {
        // (failures, jitter) -> delay ms
        let cases = [
            (1, 0.0, 500),
            (1, 1.0, 1_000),
            (1, 0.5, 750),
            (2, 0.0, 1_000),
            (3, 1.0, 4_000),
            (6, 1.0, 32_000),
            (7, 1.0, 60_000),
            (7, 0.0, 30_000),
            (1_000, 1.0, 60_000),
            (0, 1.0, 1_000),
            (1, -3.0, 500),
            (1, 7.0, 1_000),
            (1, f64::NAN, 1_000),
        ];
        for (failures, jitter, expected) in cases {
            assert_eq!(
                backoff_delay(failures, jitter, None),
                Duration::from_millis(expected),
                "{failures} {jitter}"
            );
        }
        assert_eq!(
            backoff_delay(1, 0.0, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
        assert_eq!(backoff_delay(9, 1.0, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(
            backoff_delay(1, 0.0, Some(Duration::from_secs(31_536_000))),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn the_window_caps_failures() {
        let mut window = AttemptWindow::new();
        for second in 0..5 {
            assert_eq!(window.blocked_until(ms(second * 1_000)), None);
            window.record_failure(ms(second * 1_000));
        }
        assert_eq!(window.failures_in_window(ms(4_000)), 5);
        // The sixth attempt waits until the first failure is a window old.
        assert_eq!(window.blocked_until(ms(5_000)), Some(ms(60_000)));
        assert_eq!(window.blocked_until(ms(59_999)), Some(ms(60_000)));
        assert_eq!(window.blocked_until(ms(60_000)), None);
        window.record_failure(ms(60_000));
        assert_eq!(window.blocked_until(ms(60_000)), Some(ms(61_000)));
        window.clear();
        assert_eq!(window.blocked_until(ms(60_000)), None);
        assert_eq!(window.failures_in_window(ms(60_000)), 0);
    }

    #[test]
    fn windows_merge_failures_from_other_tabs() {
        let mut window = AttemptWindow::new();
        window.record_failure(ms(1_000));
        // Known, too old, and new failures: only the new one counts.
        assert!(!window.merge(&[ms(1_000)], ms(2_000)));
        assert!(!window.merge(&[ms(-70_000)], ms(2_000)));
        assert!(window.merge(&[ms(1_000), ms(500), ms(1_500)], ms(2_000)));
        assert_eq!(window.recent(), [ms(500), ms(1_000), ms(1_500)]);
        assert_eq!(window.failures_in_window(ms(2_000)), 3);
        // Two tabs' failures fill one window: the cap holds for both together.
        assert!(window.merge(&[ms(2_000), ms(2_500)], ms(3_000)));
        assert_eq!(window.blocked_until(ms(3_000)), Some(ms(60_500)));
        // A failure that left the window is forgotten when newer ones arrive.
        assert!(window.merge(&[ms(61_000)], ms(61_000)));
        assert_eq!(
            window.recent(),
            [ms(1_500), ms(2_000), ms(2_500), ms(61_000)]
        );
    }

    proptest! {
        /// The issue's property: never in the past, always before exp, for lifetimes ≥ 2 s.
        #[test]
        fn schedule_is_never_past_and_always_before_exp(
            issued in -1_000_000_000_000i64..4_000_000_000_000,
            lifetime_ms in 2_000u64..=30 * 86_400_000,
            margin_ms in 0u64..=86_400_000,
            elapsed_fraction in 0.0f64..1.0,
        ) {
            let lifetime = Duration::from_millis(lifetime_ms);
            let expires_at = ms(issued).saturating_add(lifetime);
            // Any moment of the token's life, from receipt to just before expiry.
            let elapsed = ((lifetime_ms as f64) * elapsed_fraction) as i64;
            let now = ms(issued + elapsed).min(expires_at.saturating_sub(Duration::from_millis(1)));
            let margin = Duration::from_millis(margin_ms);
            let at = refresh_at(expires_at, lifetime, margin, now);
            prop_assert!(at >= now, "in the past: {at:?} < {now:?}");
            prop_assert!(at < expires_at, "not before exp: {at:?} >= {expires_at:?}");
            // And the token is used for at least half its life.
            prop_assert!(at >= ms(issued).saturating_add(lifetime / 2));
        }

        /// Never in the past, whatever the inputs (expired tokens, zero lifetimes).
        #[test]
        fn schedule_is_never_in_the_past(
            expires_at in any::<i64>(),
            lifetime_ms in any::<u64>(),
            margin_ms in any::<u64>(),
            now in any::<i64>(),
        ) {
            let at = refresh_at(
                ms(expires_at),
                Duration::from_millis(lifetime_ms),
                Duration::from_millis(margin_ms),
                ms(now),
            );
            prop_assert!(at >= ms(now));
        }

        /// End to end with a skewed client clock: the refresh lands before the *server's* exp.
        ///
        /// The server issues at its time `t`, stamping `exp = t + L` and `iat` (truncated to
        /// whole seconds or not, and possibly `iat_age` old, as simplejwt before 5.5 does); the
        /// reply reaches a client whose clock is `skew` behind the server's after `latency`,
        /// carrying one kind of clock evidence: the token alone, `expires_in`, or a `Date`
        /// header.
        #[test]
        fn refresh_lands_before_the_servers_exp_despite_skew(
            server_issue in 1_600_000_000_000i64..1_900_000_000_000,
            skew_ms in -20 * 3_600_000i64..=20 * 3_600_000,
            lifetime_s in 3u64..=7 * 86_400,
            latency_ms in 0i64..=500,
            truncate in any::<bool>(),
            iat_age_ms in prop_oneof![Just(0i64), 0i64..=2 * 86_400_000],
            evidence in 0u8..3,
            margin_s in 0u64..=600,
        ) {
            let exp_ms = server_issue + (lifetime_s as i64) * 1000;
            let stamp = |ms: i64| if truncate { ms - ms.rem_euclid(1000) } else { ms };
            let iat_ms = stamp(server_issue - iat_age_ms);
            let received = ms(server_issue - skew_ms + latency_ms);
            let (server_date, expires_in) = match evidence {
                0 => (None, None),
                1 => (None, Some(Duration::from_secs(lifetime_s))),
                // HTTP dates are whole seconds, always truncated.
                _ => (Some(ms(server_issue - server_issue.rem_euclid(1000))), None),
            };
            // The one case no client can get right: an old iat is all there is, and read at face
            // value the token arrives unusable (the client clock is far ahead). The client then
            // believes the iat, as it must for a fresh one (README, "how refresh timing works").
            prop_assume!(
                iat_age_ms == 0
                    || evidence != 0
                    || exp_ms - received.as_millis() >= ClockOffset::MIN_USABLE_LIFE.as_millis() as i64
            );
            let timing = TokenTiming::at_receipt(&ClockEvidence {
                received_at: received,
                server_date,
                iat: Some(ms(iat_ms)),
                exp: Some(ms(exp_ms)),
                expires_in,
            });
            let expires_at = timing.expires_at.unwrap_or(ms(i64::MAX));
            let lifetime = timing.lifetime.unwrap_or(Duration::ZERO);
            let at = refresh_at(expires_at, lifetime, Duration::from_secs(margin_s), received);
            prop_assert!(at >= received);
            // The token is never used past its exp on the server's clock, beyond the latency a
            // request takes to get there and the deadband within which clocks count as agreeing
            // (the refresh margin, never under a second, covers both), and a refresh that was
            // not due on arrival happens before the token dies there.
            // An old iat, when it is all there is, also hides a server that is ahead by up to
            // its age: only `Date` or `expires_in` can tell (README, the limits of skew).
            let server_time_at_expiry = expires_at.as_millis() + skew_ms;
            let hidden = if evidence == 0 { iat_age_ms.min(skew_ms.max(0)) } else { 0 };
            let tolerance = latency_ms + ClockOffset::DEADBAND.as_millis() as i64 + hidden;
            prop_assert!(
                server_time_at_expiry <= exp_ms + tolerance,
                "used until server time {server_time_at_expiry} > exp {exp_ms} (offset {:?})",
                timing.clock_offset
            );
            let server_time_at_refresh = at.as_millis() + skew_ms;
            if at > received && hidden == 0 {
                prop_assert!(
                    server_time_at_refresh < exp_ms,
                    "refresh at server time {server_time_at_refresh} >= exp {exp_ms} (offset {:?})",
                    timing.clock_offset
                );
            }
            // And an offset the client believes is within the latency and rounding of the
            // true skew (and the age of an iat that was all it had).
            let error = timing.clock_offset.as_millis() - skew_ms;
            let stale = if evidence == 0 { iat_age_ms } else { 0 };
            prop_assert!((-latency_ms - 1_000 - stale..=1_000).contains(&error) || timing.clock_offset == ClockOffset::ZERO);
        }

        /// Backoff stays within [ceiling/2, ceiling] and never exceeds the cap.
        #[test]
        fn backoff_is_bounded(failures in 0u32..100, jitter in -1.0f64..2.0) {
            let delay = backoff_delay(failures, jitter, None);
            prop_assert!(delay >= BACKOFF_BASE / 2);
            prop_assert!(delay <= BACKOFF_CAP);
            let next = backoff_delay(failures + 1, 1.0, None);
            prop_assert!(next >= backoff_delay(failures, 1.0, None), "ceilings never shrink");
        }

        /// The window's loops (insertion by moving back, forgetting by compaction, counting
        /// without a copy) do what the std formulation they replaced did: `retain`, then
        /// `partition_point` and `insert`, and a collected `filter` for `blocked_until`; with
        /// clocks stepped back, repeated instants and failures merged from other tabs.
        #[test]
        fn the_window_does_what_its_std_formulation_did(
            steps in proptest::collection::vec(
                (any::<bool>(), -5i64..70, proptest::collection::vec(-70i64..70, 0..4)),
                1..40,
            ),
        ) {
            let mut window = AttemptWindow::new();
            let mut model: Vec<Timestamp> = Vec::new();
            let mut now_ms = 0i64;
            for (is_failure, step, others) in steps {
                // Mostly forward, sometimes back (a clock stepped back); in whole seconds, so
                // that failures land exactly on the window's edge too.
                now_ms += step * 1_000;
                let now = ms(now_ms);
                if is_failure {
                    window.record_failure(now);
                    let horizon = now.saturating_sub(FAILURE_WINDOW);
                    model.retain(|failure| *failure > horizon);
                    let position = model.partition_point(|failure| *failure <= now);
                    model.insert(position, now);
                } else {
                    let others: Vec<Timestamp> = others
                        .iter()
                        .map(|offset| ms(now_ms + offset * 1_000))
                        .collect();
                    let new = window.merge(&others, now);
                    let horizon = now.saturating_sub(FAILURE_WINDOW);
                    let mut model_new = false;
                    for at in &others {
                        if *at > horizon && !model.contains(at) {
                            let position = model.partition_point(|failure| *failure <= *at);
                            model.insert(position, *at);
                            model_new = true;
                        }
                    }
                    if model_new {
                        let newest = model.last().copied().unwrap_or(now).max(now);
                        let horizon = newest.saturating_sub(FAILURE_WINDOW);
                        model.retain(|failure| *failure > horizon);
                    }
                    prop_assert_eq!(new, model_new);
                }
                prop_assert_eq!(window.recent(), model.as_slice());
                for probe in [now, now.saturating_add(Duration::from_millis(30_000))] {
                    let horizon = probe.saturating_sub(FAILURE_WINDOW);
                    let recent: Vec<Timestamp> =
                        model.iter().copied().filter(|at| *at > horizon).collect();
                    let expected = recent
                        .len()
                        .checked_sub(MAX_FAILURES_PER_WINDOW)
                        .and_then(|excess| recent.get(excess))
                        .map(|oldest| oldest.saturating_add(FAILURE_WINDOW));
                    prop_assert_eq!(window.blocked_until(probe), expected);
                }
            }
        }

        /// Respecting `blocked_until`, no window ever holds more than the cap of failures.
        #[test]
        fn the_window_is_never_exceeded(gaps in proptest::collection::vec(0i64..30_000, 1..60)) {
            let mut window = AttemptWindow::new();
            let mut now = ms(0);
            let mut attempts: Vec<Timestamp> = Vec::new();
            for gap in gaps {
                now = now.saturating_add(Duration::from_millis(gap as u64));
                if let Some(until) = window.blocked_until(now) {
                    prop_assert!(until > now);
                    now = until;
                    prop_assert_eq!(window.blocked_until(now), None);
                }
                window.record_failure(now);
                attempts.push(now);
                let in_window = attempts
                    .iter()
                    .filter(|at| **at > now.saturating_sub(FAILURE_WINDOW))
                    .count();
                prop_assert!(in_window <= MAX_FAILURES_PER_WINDOW);
            }
        }
    }
}
