//! The state machine as a table: one row per transition, from a named state, one event, to the
//! phase after it and the effects in order.

use super::*;

type Row = (
    &'static str,
    fn() -> Fixture,
    fn(&Fixture) -> Event,
    f64,
    Phase,
    &'static [&'static str],
);

fn op2_get(_: &Fixture) -> Event {
    Event::GetAccessToken { op: OpId(2) }
}

fn op2_refresh(_: &Fixture) -> Event {
    Event::Refresh { op: OpId(2) }
}

fn op2_logout(_: &Fixture) -> Event {
    Event::Logout { op: OpId(2) }
}

fn tick(_: &Fixture) -> Event {
    Event::Tick
}

#[test]
fn state_machine_table() {
    use Phase::*;
    // One row per transition: (name, state, event, at, phase after, effects in order).
    #[rustfmt::skip]
    let rows: &[Row] = &[
        // --- signed out ---
        ("login sends the request", signed_out_memory, |_| Event::Login { op: OpId(2), username: "ann".into(), password: "pw".into() }, 0.0, SignedOut, &["send login"]),
        ("no token when signed out", signed_out_memory, op2_get, 0.0, SignedOut, &["op2 null"]),
        ("refresh needs a session", signed_out_memory, op2_refresh, 0.0, SignedOut, &["op2 err not_authenticated"]),
        ("logout when signed out", signed_out_memory, op2_logout, 0.0, SignedOut, &["clear", "op2 done"]),
        ("nothing to do", signed_out_memory, tick, 0.0, SignedOut, &[]),
        // --- logging in ---
        ("login ok", logging_in_memory, |fx| fx.reply(Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1")))), 0.0, SignedIn, &["persist a1", "tick 1740", "emit SIGNED_IN a1", "op1 session a1"]),
        ("login rejected", logging_in_memory, |fx| fx.reply(Ok(status(401, r#"{"detail": "Incorrect username or password"}"#))), 0.0, SignedOut, &["op1 err invalid_credentials"]),
        ("login offline", logging_in_memory, |fx| fx.reply(Err(AuthError::network("offline"))), 0.0, SignedOut, &["op1 err network"]),
        ("login with a malformed token", logging_in_memory, |fx| fx.reply(Ok(token_reply("not-a-jwt", None))), 0.0, SignedOut, &["op1 err invalid_token"]),
        ("login answered by an html page", logging_in_memory, |fx| fx.reply(Ok(HttpReply { status: 200, content_type: Some("text/html".into()), body: "<html></html>".into(), retry_after: None, date: None })), 0.0, SignedOut, &["op1 err protocol"]),
        // --- signed in (a1 expires at 1800, refresh due at 1740) ---
        ("valid token handed out", signed_in_memory, op2_get, 100.0, SignedIn, &["op2 token a1"]),
        ("expiring token refreshed first", signed_in_memory, op2_get, 1750.0, Refreshing, &["send refresh", "cancel tick"]),
        ("timer refreshes", signed_in_memory, tick, 1740.0, Refreshing, &["send refresh"]),
        ("woken long after expiry", signed_in_memory, tick, 5000.0, Refreshing, &["send refresh"]),
        ("early tick re-arms", signed_in_memory, tick, 100.0, SignedIn, &["tick 1740"]),
        ("logout", signed_in_memory, op2_logout, 100.0, SignedOut, &["clear", "send logout", "cancel tick", "emit SIGNED_OUT null"]),
        ("logout on waking sends no refresh", signed_in_memory, op2_logout, 5000.0, SignedOut, &["clear", "send logout", "cancel tick", "emit SIGNED_OUT null"]),
        ("another tab signed out", signed_in_memory, |_| Event::StorageChanged { stored: None }, 100.0, SignedOut, &["cancel tick", "emit SIGNED_OUT null"]),
        ("another tab refreshed", signed_in_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("a2", 100.0, 1800.0), 100.0, true)) }, 100.0, SignedIn, &["tick 1840", "emit TOKEN_REFRESHED a2"]),
        ("another tab signed in anew", signed_in_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("b1", 100.0, 1800.0), 100.0, false)) }, 100.0, SignedIn, &["tick 1840", "emit SIGNED_IN b1"]),
        ("another tab wrote garbage", signed_in_memory, |_| Event::StorageChanged { stored: Some("{oops".into()) }, 100.0, SignedIn, &[]),
        ("401 refreshes", signed_in_memory, |_| Event::TokenRejected { op: OpId(2), token: access("a1", 0.0, 1800.0) }, 100.0, Refreshing, &["send refresh", "cancel tick"]),
        ("401 on an old token replays", signed_in_memory, |_| Event::TokenRejected { op: OpId(2), token: "old".into() }, 100.0, SignedIn, &["op2 token a1"]),
        ("refresh on demand", signed_in_memory, op2_refresh, 100.0, Refreshing, &["send refresh", "cancel tick"]),
        // --- refreshing (memory storage: no lock) ---
        ("refresh ok", refreshing_memory, |fx| fx.reply(Ok(token_reply(&access("a2", 1741.0, 1800.0), Some("r2")))), 1741.0, SignedIn, &["persist a2", "tick 3481", "emit TOKEN_REFRESHED a2"]),
        ("server down: retry soon", refreshing_memory, |fx| fx.reply(Ok(status(503, ""))), 1741.0, SignedIn, &["tick 1741.75", "emit REFRESH_FAILED a1"]),
        ("refresh token rejected", refreshing_memory, |fx| fx.reply(Ok(status(401, r#"{"detail": "Invalid refresh token"}"#))), 1741.0, SignedOut, &["clear", "emit REFRESH_FAILED null", "emit SIGNED_OUT null"]),
        ("rate limited: Retry-After", refreshing_memory, |fx| fx.reply(Ok(HttpReply { retry_after: Some("120".into()), ..status(429, "") })), 1741.0, SignedIn, &["tick 1861", "emit REFRESH_FAILED a1"]),
        ("rate limited: a Retry-After of a year is capped at 5 minutes", refreshing_memory, |fx| fx.reply(Ok(HttpReply { retry_after: Some("31536000".into()), ..status(429, "") })), 1741.0, SignedIn, &["tick 2041", "emit REFRESH_FAILED a1"]),
        ("callers join the refresh", refreshing_memory, op2_get, 1742.0, Refreshing, &[]),
        ("logout during refresh", refreshing_memory, op2_logout, 1742.0, SignedOut, &["clear", "send logout", "emit SIGNED_OUT null"]),
        ("stale reply ignored", refreshing_memory, |_| Event::Response { request: RequestId(999), result: Ok(status(500, "")) }, 1742.0, Refreshing, &[]),
        ("offline past expiry: kept", refreshing_memory, |fx| fx.reply(Err(AuthError::network("offline"))), 1801.0, Expired, &["tick 1801.75", "emit REFRESH_FAILED a1"]),
        ("broken endpoint: run out", refreshing_memory, |fx| fx.reply(Ok(HttpReply { status: 404, content_type: Some("text/html".into()), body: "<title>404</title>".into(), retry_after: None, date: None })), 1741.0, SignedIn, &["tick 1800", "emit REFRESH_FAILED a1"]),
        // --- expired, refreshable ---
        ("expired: refresh on demand", expired_memory, op2_get, 1801.5, Refreshing, &["send refresh", "cancel tick"]),
        ("expired: retry timer", expired_memory, tick, 1801.75, Refreshing, &["send refresh"]),
        // --- no refresh possible (v1) ---
        ("v1 session ends at exp", signed_in_v1, tick, 1800.0, SignedOut, &["clear", "emit SESSION_EXPIRED null"]),
        ("v1 token until exp", signed_in_v1, op2_get, 1799.0, SignedIn, &["op2 token a1"]),
        ("v1 cannot refresh", signed_in_v1, op2_refresh, 100.0, SignedIn, &["op2 err config"]),
        ("v1 token after exp", signed_in_v1, op2_get, 1800.0, SignedOut, &["clear", "cancel tick", "emit SESSION_EXPIRED null", "op2 null"]),
        // --- shared storage: the cross-tab lock ---
        ("timer asks for the lock", signed_in_local, tick, 1740.0, Refreshing, &["lock"]),
        ("lock: nobody refreshed", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(fx.stored()) }, 1740.1, Refreshing, &["send refresh"]),
        ("lock: another tab refreshed", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(Some(fx.other_tab(&access("a2", 1739.0, 1800.0), 1739.0, true))) }, 1740.1, SignedIn, &["unlock", "tick 3479", "emit TOKEN_REFRESHED a2"]),
        ("lock: another tab signed out", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(None) }, 1740.1, SignedOut, &["unlock", "emit SIGNED_OUT null"]),
        ("lock: garbage stored", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(Some("garbage".into())) }, 1740.1, Refreshing, &["send refresh"]),
        ("lock: storage threw", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Err(AuthError::storage("denied")) }, 1740.1, Refreshing, &["send refresh"]),
        ("lock: refresh ok", refreshing_local, |fx| fx.reply(Ok(token_reply(&access("a2", 1741.0, 1800.0), Some("r2")))), 1741.0, SignedIn, &["persist a2", "unlock", "tick 3481", "emit TOKEN_REFRESHED a2"]),
        ("lock: refresh failed, shared with the tabs", refreshing_local, |fx| fx.reply(Ok(status(503, ""))), 1741.0, SignedIn, &["persist a1", "unlock", "tick 1741.75", "emit REFRESH_FAILED a1"]),
        ("lock: another tab's refresh just failed", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(Some(failed_elsewhere(fx, 1740.05, 1741.0))) }, 1740.1, SignedIn, &["unlock", "tick 1741", "emit REFRESH_FAILED a1"]),
        ("another tab's refresh failed", signed_in_local, |fx| Event::StorageChanged { stored: Some(failed_elsewhere(fx, 1740.05, 1741.0)) }, 1740.1, SignedIn, &["tick 1741", "emit REFRESH_FAILED a1"]),
        ("a late message about a replaced token", refreshed_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("a1", 0.0, 1800.0), 0.0, true)) }, 1742.0, SignedIn, &[]),
        ("an older token of another login is adopted", refreshed_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("b1", 1000.0, 1800.0), 1000.0, false)) }, 1742.0, SignedIn, &["tick 2740", "emit SIGNED_IN b1"]),
        ("unknown lock released", signed_in_local, |_| Event::LockAcquired { lock: LockId(999), stored: Ok(None) }, 100.0, SignedIn, &["unlock"]),
        ("logout while waiting for the lock", waiting_lock, op2_logout, 1741.0, SignedOut, &["clear", "send logout", "emit SIGNED_OUT null"]),
        ("logout holding the lock", refreshing_local, op2_logout, 1741.0, SignedOut, &["clear", "unlock", "send logout", "emit SIGNED_OUT null"]),
        ("other tab's refresh arrives first", waiting_lock, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("a2", 1739.0, 1800.0), 1739.0, true)) }, 1740.1, SignedIn, &["tick 3479", "emit TOKEN_REFRESHED a2"]),
        // --- start-up ---
        ("start empty", fresh_memory, |_| Event::Start { stored: Ok(None) }, 0.0, SignedOut, &[]),
        ("start restores", fresh_memory, |_| Event::Start { stored: Ok(Some(stored_a1())) }, 10.0, SignedIn, &["tick 1740"]),
        ("start clears garbage", fresh_memory, |_| Event::Start { stored: Ok(Some("{garbage".into())) }, 10.0, SignedOut, &["clear"]),
        ("start with a due session", fresh_memory, |_| Event::Start { stored: Ok(Some(stored_a1())) }, 1790.0, Refreshing, &["send refresh"]),
        ("start when storage throws", fresh_memory, |_| Event::Start { stored: Err(AuthError::storage("denied")) }, 0.0, SignedOut, &[]),
        ("start joins the tabs' backoff", fresh_local, |_| Event::Start { stored: Ok(Some(stored_a1_failed())) }, 1740.0, SignedIn, &["tick 1741"]),
        ("start with an expired v1 session", fresh_v1, |_| Event::Start { stored: Ok(Some(stored_a1())) }, 2000.0, SignedOut, &["clear", "emit SESSION_EXPIRED null"]),
    ];
    let mut failures = Vec::new();
    for (name, setup, event, secs, phase, expected) in rows {
        let mut fx = setup();
        let event = event(&fx);
        let effects = fx.feed(event, *secs);
        let got = describe(&effects);
        let got_phase = fx.machine.phase(at(*secs));
        if got != *expected || got_phase != *phase {
            failures.push(format!(
                "{name}: expected {phase:?} {expected:?}\n{:>width$}  got {got_phase:?} {got:?}",
                "",
                width = name.len()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(rows.len() >= 50);
}
