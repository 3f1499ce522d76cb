//! Refreshing: when the timer refreshes, how failures back off and hold refreshes back, the
//! server's clock and short-lived tokens, and what diagnostics report of the plan.

use super::*;

#[test]
fn retry_after_and_the_window_hold_back_on_demand_refreshes() {
    let mut fx = refreshing_memory();
    let reply = fx.reply(Ok(HttpReply {
        retry_after: Some("120".into()),
        ..status(429, "")
    }));
    fx.feed(reply, 1741.0);
    let effects = fx.feed(Event::Refresh { op: OpId(2) }, 1742.0);
    assert_eq!(describe(&effects), ["op2 err rate_limited"]);
    let Some(Effect::Complete {
        result: Err(error), ..
    }) = effects.first()
    else {
        panic!("expected a rejection");
    };
    assert_eq!(error.retry_after(), Some(Duration::from_secs(119)));
    assert_eq!(
        fx.machine.diagnostics(at(1742.0)).retry_not_before,
        Some(at(1861.0))
    );

    // An app calling refresh() in a loop against a dead server: five attempts per minute.
    let mut fx = signed_in_memory();
    let mut sent = 0;
    for i in 0u32..20 {
        let now = 100.0 + f64::from(i);
        let effects = fx.feed(
            Event::Refresh {
                op: OpId(10 + u64::from(i)),
            },
            now,
        );
        if effects.iter().any(|e| matches!(e, Effect::Send { .. })) {
            sent += 1;
            let reply = fx.reply(Err(AuthError::network("down")));
            fx.feed(reply, now + 0.1);
        } else {
            assert_eq!(completions(&effects), [format!("op{} err network", 10 + i)]);
        }
    }
    assert_eq!(sent, schedule::MAX_FAILURES_PER_WINDOW);
    assert_eq!(fx.machine.diagnostics(at(120.0)).consecutive_failures, 5);
    // The automatic retry waits for the window too: the first failure was at 100.1.
    assert_eq!(
        fx.machine.diagnostics(at(120.0)).next_refresh_at,
        Some(at(160.1))
    );
}

/// While a refresh is held back, a token in its last second is not handed out: it would
/// reach the server expired. The call gets the reason instead, or a refresh when one may go.
#[test]
fn a_token_about_to_expire_is_not_handed_out_while_refreshes_are_held_back() {
    // Retry-After: the refresh may not go, so the caller gets the reason.
    let mut fx = refreshing_memory();
    let reply = fx.reply(Ok(HttpReply {
        retry_after: Some("120".into()),
        ..status(429, "")
    }));
    fx.feed(reply, 1741.0);
    let effects = fx.feed(Event::GetAccessToken { op: OpId(2) }, 1798.9);
    assert_eq!(
        describe(&effects),
        ["op2 token a1"],
        "1.1 s left: still usable"
    );
    let effects = fx.feed(Event::GetAccessToken { op: OpId(3) }, 1799.2);
    assert_eq!(describe(&effects), ["op3 err rate_limited"], "0.8 s left");

    // A planned retry (no Retry-After): the caller's need goes first, as once expired.
    let mut fx = refreshing_memory();
    let reply = fx.reply(Err(AuthError::network("down")));
    fx.feed(reply, 1799.0);
    let effects = fx.feed(Event::GetAccessToken { op: OpId(2) }, 1799.3);
    assert_eq!(describe(&effects), ["send refresh", "cancel tick"]);
    let reply = fx.reply(Ok(token_reply(&access("a2", 1799.4, 1800.0), Some("r2"))));
    let effects = fx.feed(reply, 1799.4);
    assert!(describe(&effects).contains(&"op2 token a2".to_owned()));
}

#[test]
fn backoff_grows_with_each_failure() {
    let mut fx = refreshing_memory();
    let mut now = 1741.0;
    let mut ticks = Vec::new();
    for _ in 0..4 {
        let reply = fx.reply(Err(AuthError::network("down")));
        let effects = fx.feed(reply, now);
        let next = effects.iter().find_map(|effect| match effect {
            Effect::ScheduleTick { at } => Some(*at),
            _ => None,
        });
        let next = next.expect("a retry is scheduled");
        ticks.push(next.duration_since(at(now)).as_millis());
        now = (next.as_millis() - T0 * 1000) as f64 / 1000.0;
        let effects = fx.feed(Event::Tick, now);
        assert_eq!(describe(&effects), ["send refresh"]);
    }
    // Jitter fixed at 0.5: 3/4 of 1, 2, 4, 8 seconds.
    assert_eq!(ticks, [750, 1500, 3000, 6000]);
    // Success resets the backoff.
    let reply = fx.reply(Ok(token_reply(&access("a2", now, 1800.0), Some("r2"))));
    fx.feed(reply, now);
    assert_eq!(fx.machine.diagnostics(at(now)).consecutive_failures, 0);
}

#[test]
fn a_skewed_server_clock_moves_the_schedule() {
    // The server is five minutes ahead: iat says 300 s when we receive at 0.
    let token = jwt(json!({"jti": "a1", "iat": T0 + 300, "exp": T0 + 300 + 1800}));
    let mut fx = logging_in(memory());
    let reply = fx.reply(Ok(token_reply(&token, Some("r1"))));
    let effects = fx.feed(reply, 0.0);
    // Local expiry 1800 − 0.999 (iat rounded up to the end of its second); refresh 60 s
    // before that: 1739.001, five minutes earlier than the raw exp would say.
    assert!(
        describe(&effects).contains(&"tick 1739.001".to_owned()),
        "{effects:?}"
    );
    let session = fx.machine.session().expect("signed in");
    assert_eq!(session.clock_offset().as_millis(), 300_999);
    assert_eq!(session.expires_at(), Some(at(1799.001)));
    assert_eq!(
        fx.machine.diagnostics(at(0.0)).clock_offset.as_millis(),
        300_999
    );
}

#[test]
fn a_five_second_token_refreshes_halfway() {
    let mut fx = logging_in(memory());
    let reply = fx.reply(Ok(token_reply(&access("a1", 0.0, 5.0), Some("r1"))));
    let effects = fx.feed(reply, 0.0);
    assert!(
        describe(&effects).contains(&"tick 2.5".to_owned()),
        "{effects:?}"
    );
    // expires_in shorter than exp: the stricter one wins.
    let mut fx = logging_in(memory());
    let body =
        json!({"access_token": access("a1", 0.0, 1800.0), "refresh_token": "r1", "expires_in": 10});
    let reply = fx.reply(Ok(HttpReply::json(200, body.to_string())));
    let effects = fx.feed(reply, 0.0);
    // (The disagreement also reads as a server clock 29:50 ahead; either way the token is
    // treated as living 9.001 s and refreshed halfway.)
    assert!(
        describe(&effects).contains(&"tick 4.501".to_owned()),
        "{effects:?}"
    );
    let session = fx.machine.session().expect("signed in");
    assert_eq!(session.expires_at(), Some(at(9.001)));
}

#[test]
fn without_auto_refresh_tokens_refresh_on_demand_only() {
    let manual =
        config(r#"{"baseUrl": "https://api.test", "storage": "memory", "autoRefresh": false}"#);
    let mut fx = signed_in(manual);
    assert_eq!(fx.machine.diagnostics(at(0.0)).next_refresh_at, None);
    assert!(describe(&fx.feed(Event::Tick, 1790.0)).is_empty());
    assert_eq!(fx.machine.phase(at(1800.0)), Phase::Expired);
    let effects = fx.feed(Event::GetAccessToken { op: OpId(2) }, 2000.0);
    assert_eq!(describe(&effects), ["send refresh"]);
    let reply = fx.reply(Ok(token_reply(&access("a2", 2000.0, 1800.0), None)));
    let effects = fx.feed(reply, 2000.0);
    assert_eq!(
        describe(&effects),
        ["persist a2", "emit TOKEN_REFRESHED a2", "op2 token a2"]
    );
}

#[test]
fn born_expired_tokens_do_not_loop() {
    // A server whose clock is far behind issues tokens already expired on our clock: the
    // login itself finds the session due and refreshes at once.
    let mut fx = logging_in(memory());
    let reply = fx.reply(Ok(token_reply(&access("a1", -10.0, 5.0), Some("r1"))));
    let effects = fx.feed(reply, 0.0);
    assert_eq!(
        describe(&effects),
        [
            "persist a1",
            "send refresh",
            "emit SIGNED_IN a1",
            "op1 session a1"
        ]
    );
    // The refresh brings another dead token.
    let reply = fx.reply(Ok(token_reply(&access("a2", -10.0, 5.0), Some("r2"))));
    let effects = fx.feed(reply, 0.0);
    // The next automatic refresh waits a second rather than firing immediately.
    assert_eq!(
        describe(&effects),
        ["persist a2", "tick 1", "emit TOKEN_REFRESHED a2"]
    );
}

#[test]
fn far_timers_are_stepped() {
    let mut fx = logging_in(memory());
    let reply = fx.reply(Ok(token_reply(
        &access("a1", 0.0, 100.0 * 86_400.0),
        Some("r1"),
    )));
    let effects = fx.feed(reply, 0.0);
    let tick = effects.iter().find_map(|effect| match effect {
        Effect::ScheduleTick { at } => Some(*at),
        _ => None,
    });
    assert_eq!(tick, Some(at(0.0).saturating_add(MAX_TIMER_DELAY)));
}

#[test]
fn the_refresh_token_expiry_ends_the_session() {
    let refresh = jwt(json!({"type": "refresh", "exp": T0 + 1000}));
    let manual =
        config(r#"{"baseUrl": "https://api.test", "storage": "memory", "autoRefresh": false}"#);
    let mut fx = signed_in_with(
        manual,
        token_reply(&access("a1", 0.0, 1800.0), Some(&refresh)),
    );
    assert_eq!(
        fx.machine.session().and_then(Session::refresh_expires_at),
        Some(at(1000.0))
    );
    // The refresh token dies at 1000; the access token at 1800 ends the session.
    let effects = fx.feed(Event::Tick, 1000.0);
    assert_eq!(describe(&effects), ["tick 1800"]);
    let effects = fx.feed(Event::Refresh { op: OpId(2) }, 1001.0);
    assert_eq!(describe(&effects), ["op2 err refresh_failed"]);
    let effects = fx.feed(Event::Tick, 1800.0);
    assert_eq!(describe(&effects), ["clear", "emit SESSION_EXPIRED null"]);
}

#[test]
fn diagnostics_report_the_plan() {
    let mut fx = signed_in_memory();
    let diagnostics = fx.machine.diagnostics(at(10.0));
    assert_eq!(diagnostics.phase, Phase::SignedIn);
    assert_eq!(diagnostics.expires_at, Some(at(1800.0)));
    assert_eq!(diagnostics.next_refresh_at, Some(at(1740.0)));
    assert_eq!(diagnostics.refresh_count, 0);
    assert_eq!(diagnostics.last_error, None);
    fx.feed(Event::Tick, 1740.0);
    let reply = fx.reply(Ok(token_reply(&access("a2", 1740.0, 1800.0), Some("r2"))));
    fx.feed(reply, 1740.0);
    let diagnostics = fx.machine.diagnostics(at(1741.0));
    assert_eq!(diagnostics.refresh_count, 1);
    assert_eq!(diagnostics.next_refresh_at, Some(at(3480.0)));
}
