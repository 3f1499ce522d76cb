//! [`RefreshBackoff`] on its own: one table per rule, with no machine around it. Times are in
//! seconds after the test epoch, and jitter is fixed at 0.5 (a backoff step is 3/4 of its
//! ceiling).

use std::cell::Cell;

use super::*;
use crate::logic::session::backoff::RefreshBackoff;

/// A request that got no answer.
fn down() -> AuthError {
    AuthError::network("down")
}

/// A 503.
fn busy() -> AuthError {
    AuthError::server("unavailable").with_status(503)
}

/// A 429 with a `Retry-After` of `secs`.
fn slow(secs: f64) -> AuthError {
    AuthError::new(ErrorCode::RateLimited, "slow down")
        .with_status(429)
        .with_retry_after(Duration::from_secs_f64(secs))
}

/// An answer retrying will not mend: an HTML 404 page.
fn unusable() -> AuthError {
    AuthError::protocol("an html page").with_status(404)
}

/// A backoff that saw `failures` (each an error at a time), with jitter 0.5.
fn after(failures: &[(AuthError, f64)]) -> RefreshBackoff {
    let mut backoff = RefreshBackoff::new();
    for (error, secs) in failures {
        backoff.record_failure(error, at(*secs), || 0.5);
    }
    backoff
}

/// A backoff whose attempt window is full: `error` once a second from 100 to 104, which holds
/// attempts back until the first failure is a minute old, at 160.
fn full_window(error: fn() -> AuthError) -> RefreshBackoff {
    let failures: Vec<(AuthError, f64)> =
        (100..105).map(|secs| (error(), f64::from(secs))).collect();
    after(&failures)
}

/// What a backoff knows, as it would share it: the failure times, the backoff step, the retry
/// and `Retry-After` times (all in seconds).
type Known = (Vec<f64>, u32, f64, Option<f64>);

/// An on-demand refresh held back: the error's code and status, and the wait it states.
type Held = (ErrorCode, Option<u16>, f64);

/// What `backoff` would share, or `None` when no retry is planned.
fn shared(backoff: &RefreshBackoff) -> Option<Known> {
    let secs = |at: Timestamp| (at.as_millis() - T0 * 1000) as f64 / 1000.0;
    backoff.to_shared(&busy()).map(|retry| {
        (
            retry.failed_at.iter().copied().map(secs).collect(),
            retry.failures,
            secs(retry.retry_at),
            retry.not_before.map(secs),
        )
    })
}

/// Asserts that `backoff` plans its retry at `retry_at` and holds refreshes back until
/// `not_before` (seconds), as it would share them and as it answers at `now`.
fn assert_waits(
    backoff: &RefreshBackoff,
    now: Timestamp,
    retry_at: f64,
    not_before: Option<f64>,
    what: &str,
) {
    let (_, _, got_retry_at, got_not_before) = shared(backoff).expect("a retry is planned");
    assert_eq!(
        (got_retry_at, got_not_before),
        (retry_at, not_before),
        "{what}"
    );
    assert_eq!(backoff.retry_not_before(now), not_before.map(at), "{what}");
}

/// A failure another tab stored: failed at `failed_at`, `failures` in a row, retrying at
/// `retry_at`, with an optional `Retry-After` instant.
fn elsewhere(
    failed_at: &[f64],
    failures: u32,
    retry_at: f64,
    not_before: Option<f64>,
) -> SharedRetry {
    SharedRetry {
        failed_at: failed_at.iter().map(|secs| at(*secs)).collect(),
        failures,
        retry_at: at(retry_at),
        not_before: not_before.map(at),
        code: ErrorCode::Server,
        status: Some(503),
    }
}

/// Each retryable failure counts, draws jitter once, and plans the retry one backoff step later
/// (3/4 of 1, 2, 4, 8 s); a `Retry-After` replaces the step and holds refreshes back, and is
/// believed for five minutes at most, however long the server asked for.
#[test]
fn a_retryable_failure_plans_the_retry_after_its_backoff_step() {
    let minutes = schedule::MAX_RETRY_AFTER.as_secs_f64();
    type Row = (&'static str, AuthError, f64, u32, f64, Option<f64>);
    #[rustfmt::skip]
    let rows: &[Row] = &[
        // (what, error, at, failures after, retry at, Retry-After until)
        ("first failure", down(), 10.0, 1, 10.75, None),
        ("second", busy(), 11.0, 2, 12.5, None),
        ("third", down(), 13.0, 3, 16.0, None),
        ("fourth", down(), 17.0, 4, 23.0, None),
        ("Retry-After replaces the step", slow(120.0), 30.0, 5, 150.0, Some(150.0)),
        ("a year is five minutes", slow(31_536_000.0), 200.0, 6, 200.0 + minutes, Some(200.0 + minutes)),
        ("the step stops growing at a minute", down(), 600.0, 7, 600.0 + 45.0, None),
    ];
    let mut backoff = RefreshBackoff::new();
    for (what, error, secs, failures, retry_at, not_before) in rows {
        let draws = Cell::new(0);
        let retryable = backoff.record_failure(error, at(*secs), || {
            draws.set(draws.get() + 1);
            0.5
        });
        assert!(retryable, "{what}");
        assert_eq!(draws.get(), 1, "{what}: jitter drawn once");
        assert_eq!(backoff.failures(), *failures, "{what}");
        assert_waits(&backoff, at(*secs), *retry_at, *not_before, what);
        assert_eq!(backoff.stopped_by(), None, "{what}");
    }
}

/// An answer retrying will not mend stops refreshing: no retry is planned, no jitter drawn,
/// nothing shared, but the attempt still counts in the window.
#[test]
fn an_unusable_answer_stops_refreshing() {
    let mut backoff = after(&[(down(), 10.0)]);
    let draws = Cell::new(0);
    let retryable = backoff.record_failure(&unusable(), at(11.0), || {
        draws.set(draws.get() + 1);
        0.5
    });
    assert!(!retryable);
    assert_eq!(draws.get(), 0, "no jitter is drawn");
    assert_eq!(
        backoff.stopped_by().map(AuthError::code),
        Some(ErrorCode::Protocol)
    );
    assert_eq!(
        backoff.failures(),
        1,
        "only retryable failures are backoff steps"
    );
    let (failed_at, ..) = shared(&backoff).expect("the earlier retry is still planned");
    assert_eq!(failed_at, [10.0, 11.0], "both attempts count in the window");
    // Five unusable answers in a minute fill the window on their own.
    let backoff = full_window(unusable);
    assert_eq!(shared(&backoff), None, "nothing to share without a retry");
    assert!(backoff.blocker(at(105.0), None).is_some());
}

/// A retry is pending from the failure until its planned time, and only after a retryable
/// failure.
#[test]
fn a_retry_is_pending_until_its_time() {
    #[rustfmt::skip]
    let rows: &[(&str, RefreshBackoff, f64, bool)] = &[
        ("nothing failed", RefreshBackoff::new(), 10.0, false),
        ("just failed", after(&[(down(), 10.0)]), 10.0, true),
        ("until the retry time", after(&[(down(), 10.0)]), 10.749, true),
        ("not at it", after(&[(down(), 10.0)]), 10.75, false),
        ("nor after", after(&[(down(), 10.0)]), 20.0, false),
        ("Retry-After", after(&[(slow(120.0), 10.0)]), 129.0, true),
        ("an unusable answer plans no retry", after(&[(unusable(), 10.0)]), 10.0, false),
    ];
    for (what, backoff, secs, pending) in rows {
        assert_eq!(backoff.retry_pending(at(*secs)), *pending, "{what}");
    }
}

/// `refresh()`, a 401 replay and an expired token's caller wait for `Retry-After`
/// (`rate_limited`) and for a full attempt window (reported with the code and status of the
/// failure that filled it); each error says how long is left.
#[test]
fn on_demand_refreshes_wait_for_retry_after_and_a_full_window() {
    let last = busy();
    type Row<'a> = (
        &'static str,
        RefreshBackoff,
        Option<&'a AuthError>,
        f64,
        Option<Held>,
    );
    #[rustfmt::skip]
    let rows: &[Row] = &[
        // (what, backoff, last error, at, held back)
        ("nothing failed", RefreshBackoff::new(), None, 100.0, None),
        ("one failure is no block", after(&[(down(), 100.0)]), None, 100.0, None),
        ("Retry-After", after(&[(slow(120.0), 100.0)]), Some(&last), 100.0, Some((ErrorCode::RateLimited, None, 120.0))),
        ("Retry-After, later", after(&[(slow(120.0), 100.0)]), Some(&last), 219.0, Some((ErrorCode::RateLimited, None, 1.0))),
        ("Retry-After has passed", after(&[(slow(120.0), 100.0)]), Some(&last), 220.0, None),
        ("the window is full", full_window(down), Some(&last), 105.0, Some((ErrorCode::Server, Some(503), 55.0))),
        ("no error known", full_window(down), None, 105.0, Some((ErrorCode::RateLimited, None, 55.0))),
        ("the first failure left the window", full_window(down), Some(&last), 160.0, None),
    ];
    for (what, backoff, last_error, secs, expected) in rows {
        let got = backoff.blocker(at(*secs), *last_error).map(|error| {
            let wait = error.retry_after().expect("says how long").as_secs_f64();
            (error.code(), error.status(), wait)
        });
        assert_eq!(got, *expected, "{what}");
    }
}

/// The timer refreshes at the due time, or at the planned retry after failures (even before the
/// due time), never before `Retry-After` or the earliest time the machine allows, and never
/// while the window is full.
#[test]
fn the_timer_waits_for_the_retry_retry_after_and_the_window() {
    // This tab, two failures in, retries at 101.6; another tab, one failure in, was told to wait.
    let told_to_wait = || {
        let mut backoff = after(&[(down(), 100.0), (down(), 100.1)]);
        backoff.merge(&elsewhere(&[100.05], 1, 101.0, Some(160.0)), at(100.2));
        backoff
    };
    #[rustfmt::skip]
    let rows: &[(&str, RefreshBackoff, f64, Option<f64>, f64)] = &[
        // (what, backoff, due, earliest, refresh at)
        ("when due", RefreshBackoff::new(), 1740.0, None, 1740.0),
        ("not before the earliest", RefreshBackoff::new(), 1740.0, Some(1750.0), 1750.0),
        ("the retry replaces the due time", after(&[(down(), 100.0)]), 1740.0, None, 100.75),
        ("the retry, not before the earliest", after(&[(down(), 100.0)]), 1740.0, Some(101.0), 101.0),
        ("Retry-After", after(&[(slow(120.0), 100.0)]), 1740.0, None, 220.0),
        ("Retry-After after the earliest", after(&[(slow(120.0), 100.0)]), 1740.0, Some(101.0), 220.0),
        ("another tab's Retry-After", told_to_wait(), 1740.0, None, 160.0),
        ("a full window", full_window(down), 1740.0, None, 160.0),
        ("a full window, and due later", full_window(down), 1740.0, Some(1745.0), 1745.0),
        ("a stop plans no retry", after(&[(unusable(), 100.0)]), 1740.0, None, 1740.0),
    ];
    for (what, backoff, due, earliest, expected) in rows {
        let got = backoff.auto_refresh_at(at(*due), earliest.map(at));
        assert_eq!(got, at(*expected), "{what}");
    }
}

/// A new session starts with no failure, no `Retry-After`, no window and no stop.
#[test]
fn reset_forgets_every_failure() {
    for (what, mut backoff) in [
        ("retries", after(&[(down(), 100.0), (down(), 101.0)])),
        ("Retry-After", after(&[(slow(120.0), 100.0)])),
        ("a full window", full_window(down)),
        ("a stop", after(&[(unusable(), 100.0)])),
    ] {
        backoff.reset();
        assert_eq!(backoff.failures(), 0, "{what}");
        assert_eq!(backoff.stopped_by(), None, "{what}");
        assert!(!backoff.retry_pending(at(100.5)), "{what}");
        assert_eq!(backoff.retry_not_before(at(100.5)), None, "{what}");
        assert!(
            backoff.blocker(at(105.0), Some(&busy())).is_none(),
            "{what}"
        );
        assert_eq!(
            backoff.auto_refresh_at(at(1740.0), None),
            at(1740.0),
            "{what}"
        );
        assert_eq!(shared(&backoff), None, "{what}");
    }
}

/// What another tab stored counts here once: a failure not yet counted or a later
/// `Retry-After` is news; the larger backoff step wins with its retry time, an equal one keeps
/// the later retry; `Retry-After` only ever moves later.
#[test]
fn another_tabs_failures_count_here_once() {
    let own = || after(&[(down(), 100.0)]);
    type Row = (
        &'static str,
        fn() -> RefreshBackoff,
        SharedRetry,
        f64,
        bool,
        Option<Known>,
    );
    #[rustfmt::skip]
    let rows: &[Row] = &[
        // (what, this tab, the other tab's, at, news, what this tab then knows)
        ("a first failure", RefreshBackoff::new, elsewhere(&[99.0], 1, 100.0, None), 99.5, true, Some((vec![99.0], 1, 100.0, None))),
        ("our own failure again", own, elsewhere(&[100.0], 1, 100.75, None), 100.5, false, Some((vec![100.0], 1, 100.75, None))),
        ("more failures win", own, elsewhere(&[100.0, 100.5], 2, 102.0, None), 100.6, true, Some((vec![100.0, 100.5], 2, 102.0, None))),
        ("as many: the later retry", own, elsewhere(&[100.2], 1, 101.0, None), 100.6, true, Some((vec![100.0, 100.2], 1, 101.0, None))),
        ("as many: not an earlier one", own, elsewhere(&[100.2], 1, 100.5, None), 100.6, true, Some((vec![100.0, 100.2], 1, 100.75, None))),
        ("fewer: ours stands", || after(&[(down(), 100.0), (down(), 100.8)]), elsewhere(&[100.2], 1, 101.0, None), 100.9, true, Some((vec![100.0, 100.2, 100.8], 2, 102.3, None))),
        ("a failure that left the window", RefreshBackoff::new, elsewhere(&[10.0], 1, 11.0, None), 100.0, false, None),
        ("a later Retry-After is news", own, elsewhere(&[100.0], 1, 160.0, Some(160.0)), 100.5, true, Some((vec![100.0], 1, 160.0, Some(160.0)))),
        ("a past Retry-After is not", own, elsewhere(&[100.0], 1, 100.2, Some(100.2)), 100.5, false, Some((vec![100.0], 1, 100.75, None))),
    ];
    for (what, build, theirs, secs, news, expected) in rows {
        let mut backoff = build();
        assert_eq!(backoff.merge(theirs, at(*secs)), *news, "{what}");
        assert_eq!(shared(&backoff), *expected, "{what}");
    }
}

/// Waits another tab stored (or a hostile script, or an old build) are believed no longer than
/// our own `Retry-After` would be: at most five minutes (or one backoff ceiling, if longer) from
/// now, the retry time and `Retry-After` alike.
#[test]
fn waits_another_tab_stored_are_capped() {
    let cap = schedule::MAX_RETRY_AFTER
        .max(schedule::BACKOFF_CAP)
        .as_secs_f64();
    let year = 31_536_000.0;
    #[rustfmt::skip]
    let rows: &[(&str, SharedRetry, f64, Option<f64>)] = &[
        // (what, the other tab's, retry at, Retry-After until), merged at 100
        ("within the cap", elsewhere(&[100.0], 1, 160.0, Some(160.0)), 160.0, Some(160.0)),
        ("at the cap", elsewhere(&[100.0], 1, 100.0 + cap, Some(100.0 + cap)), 100.0 + cap, Some(100.0 + cap)),
        ("a year", elsewhere(&[100.0], 1, 100.0 + year, Some(100.0 + year)), 100.0 + cap, Some(100.0 + cap)),
        ("a year's retry alone", elsewhere(&[100.0], 1, 100.0 + year, None), 100.0 + cap, None),
    ];
    for (what, theirs, retry_at, not_before) in rows {
        let mut backoff = RefreshBackoff::new();
        assert!(backoff.merge(theirs, at(100.0)), "{what}");
        assert_waits(&backoff, at(100.0), *retry_at, *not_before, what);
    }
    // A year's Retry-After stored with no failure time is still news, and capped too.
    let mut backoff = RefreshBackoff::new();
    assert!(backoff.merge(
        &elsewhere(&[], 1, 100.0 + year, Some(100.0 + year)),
        at(100.0)
    ));
    assert_eq!(backoff.retry_not_before(at(100.0)), Some(at(100.0 + cap)));
}

/// What the other tabs are told is what this tab knows: the failure times, the backoff step,
/// the retry and `Retry-After` times, and the last error's code and status.
#[test]
fn what_is_shared_is_what_is_known() {
    assert!(RefreshBackoff::new().to_shared(&busy()).is_none());
    let backoff = after(&[(down(), 100.0), (slow(30.0), 101.0)]);
    let retry = backoff.to_shared(&busy()).expect("a retry is planned");
    assert_eq!(
        retry,
        SharedRetry {
            failed_at: vec![at(100.0), at(101.0)],
            failures: 2,
            retry_at: at(131.0),
            not_before: Some(at(131.0)),
            code: ErrorCode::Server,
            status: Some(503),
        }
    );
}
