//! The API calls: login and its replies, `refresh()`, `getAccessToken()` and its shortcut, a 401
//! replay, and `logout()`.

use super::*;

/// A 200 reply whose token does not decode is `invalid_token`, and still carries the
/// status: the contract sets `status` whenever a response was received.
#[test]
fn a_malformed_token_in_a_reply_keeps_the_reply_status() {
    let mut fx = logging_in_memory();
    let event = fx.reply(Ok(token_reply("not-a-jwt", Some("r1"))));
    let effects = fx.feed(event, 0.0);
    let error = effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Complete {
                result: Err(error), ..
            } => Some(error.clone()),
            _ => None,
        })
        .expect("the login call fails");
    assert_eq!(error.code(), ErrorCode::InvalidToken);
    assert_eq!(error.status(), Some(200));
    assert!(fx.machine.session().is_none());

    let mut fx = signed_in_memory();
    fx.feed(Event::Refresh { op: OpId(2) }, 10.0);
    let event = fx.reply(Ok(token_reply("still.not-a.jwt", None)));
    let effects = fx.feed(event, 10.0);
    let error = effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Complete {
                op: OpId(2),
                result: Err(error),
            } => Some(error.clone()),
            _ => None,
        })
        .expect("the refresh call fails");
    assert_eq!(
        (error.code(), error.status()),
        (ErrorCode::InvalidToken, Some(200))
    );
}

/// A named way to reach a machine state.
type Scenario = (&'static str, fn() -> Fixture);

/// `ready_access_token` is a shortcut for `GetAccessToken`, never a different answer: in
/// every state below, at every probe time, when it returns a token the machine answers the
/// call with that token and nothing else (no request, no lock, no timer change, no event).
#[test]
fn the_ready_token_is_what_get_access_token_would_answer() {
    let failing = || {
        let mut fx = signed_in_memory();
        fx.feed(Event::Refresh { op: OpId(2) }, 100.0);
        let event = fx.reply(Ok(status(500, "")));
        fx.feed(event, 100.0);
        fx
    };
    let in_flight = || {
        let mut fx = signed_in_memory();
        fx.feed(Event::Refresh { op: OpId(2) }, 100.0);
        fx
    };
    let scenarios: [Scenario; 6] = [
        ("memory", signed_in_memory),
        ("local", signed_in_local),
        ("no refresh token", || {
            signed_in_with(memory(), token_reply(&access("a1", 0.0, 1800.0), None))
        }),
        ("autoRefresh off", || {
            signed_in(config(
                r#"{"baseUrl": "https://api.test", "storage": "memory", "autoRefresh": false}"#,
            ))
        }),
        ("after a failed refresh", failing),
        ("refresh in flight", in_flight),
    ];
    for (name, build) in scenarios {
        let mut hits = 0;
        for step in 0..=200 {
            let secs = 100.5 + f64::from(step) * 9.0;
            let ready = build()
                .machine
                .ready_access_token(at(secs))
                .map(str::to_owned);
            let mut fx = build();
            let effects = fx.feed(Event::GetAccessToken { op: OpId(99) }, secs);
            let Some(token) = ready else { continue };
            hits += 1;
            assert_eq!(
                describe(&effects),
                [format!("op99 token {}", jti(&token))],
                "{name} at {secs}"
            );
        }
        // While a refresh is out, the token it replaces is never handed out by the shortcut;
        // in every other state the shortcut is used at least once, so the comparison above
        // ran.
        match name {
            "refresh in flight" => assert_eq!(hits, 0, "{name}: the shortcut answered"),
            _ => assert!(hits >= 1, "{name}: the shortcut never answered"),
        }
    }
}

#[test]
fn concurrent_callers_share_one_refresh() {
    let mut fx = signed_in_memory();
    let first = fx.feed(Event::Refresh { op: OpId(2) }, 1750.0);
    assert_eq!(describe(&first), ["send refresh", "cancel tick"]);
    let a1 = access("a1", 0.0, 1800.0);
    for event in [
        Event::Refresh { op: OpId(3) },
        Event::GetAccessToken { op: OpId(4) },
        Event::TokenRejected {
            op: OpId(5),
            token: a1,
        },
        Event::Tick,
    ] {
        let effects = fx.feed(event, 1751.0);
        assert!(
            !describe(&effects)
                .iter()
                .any(|line| line.starts_with("send")),
            "a second request went out: {effects:?}"
        );
    }
    let reply = fx.reply(Ok(token_reply(&access("a2", 1752.0, 1800.0), Some("r2"))));
    let done = fx.feed(reply, 1752.0);
    assert_eq!(
        completions(&done),
        [
            "op2 session a2",
            "op3 session a2",
            "op4 token a2",
            "op5 token a2"
        ]
    );
}

#[test]
fn a_transient_failure_never_takes_a_valid_token() {
    let mut fx = signed_in_memory();
    fx.feed(Event::Refresh { op: OpId(2) }, 1750.0);
    fx.feed(Event::GetAccessToken { op: OpId(3) }, 1750.0);
    let a1 = access("a1", 0.0, 1800.0);
    fx.feed(
        Event::TokenRejected {
            op: OpId(4),
            token: a1,
        },
        1750.0,
    );
    let reply = fx.reply(Ok(status(
        502,
        "<html><title>502 Bad Gateway</title></html>",
    )));
    let effects = fx.feed(reply, 1751.0);
    assert_eq!(
        completions(&effects),
        // refresh() reports the failure; getAccessToken() still gets the working token;
        // a 401 replay does not get the token the server just rejected.
        ["op2 err server", "op3 token a1", "op4 err server"]
    );
    assert_eq!(fx.machine.phase(at(1751.0)), Phase::SignedIn);
    assert!(fx.machine.is_authenticated(at(1751.0)));
    // While the retry is pending, getAccessToken() hands out the token without a request.
    let effects = fx.feed(Event::GetAccessToken { op: OpId(5) }, 1751.5);
    assert_eq!(describe(&effects), ["op5 token a1"]);
    // Once expired, a caller gets the error rather than a dead token.
    let mut fx = expired_memory();
    fx.feed(Event::GetAccessToken { op: OpId(6) }, 1801.5);
    let reply = fx.reply(Err(AuthError::network("offline")));
    let effects = fx.feed(reply, 1802.0);
    assert_eq!(completions(&effects), ["op6 err network"]);
    assert!(
        fx.machine.session().is_some(),
        "the refresh token is kept for later"
    );
}

#[test]
fn minimal_servers_keep_their_refresh_token_and_use_the_query() {
    let minimal =
        config(r#"{"baseUrl": "https://api.test", "profile": "minimal", "storage": "memory"}"#);
    let mut fx = signed_in_with(
        minimal.clone(),
        token_reply(&access("a1", 0.0, 900.0), Some("r1")),
    );
    let effects = fx.feed(Event::Tick, 840.0);
    let Some(Effect::Send { http, .. }) = effects.first() else {
        panic!("expected a refresh request, got {effects:?}");
    };
    assert_eq!(http.url, "https://api.test/auth/refresh?refresh_token=r1");
    // The reply has no refresh token: keep the old one.
    let reply = fx.reply(Ok(token_reply(&access("a2", 841.0, 900.0), None)));
    fx.feed(reply, 841.0);
    let session = fx.machine.session().expect("signed in");
    assert_eq!(jti(session.access_token()), "a2");
    assert_eq!(session.refresh_token(), Some("r1"));

    // A minimal login that gives no refresh token at all ends at exp.
    let mut fx = signed_in_with(minimal, token_reply(&access("a1", 0.0, 900.0), None));
    let effects = fx.feed(Event::Tick, 900.0);
    assert_eq!(describe(&effects), ["clear", "emit SESSION_EXPIRED null"]);
}

#[test]
fn logout_settles_after_the_server_answers_even_on_failure() {
    let mut fx = signed_in_memory();
    let effects = fx.feed(Event::Logout { op: OpId(2) }, 100.0);
    assert!(
        completions(&effects).is_empty(),
        "waits for the server: {effects:?}"
    );
    let reply = fx.reply(Ok(status(500, "")));
    let effects = fx.feed(reply, 101.0);
    assert_eq!(describe(&effects), ["op2 done"]);
    let diagnostics = fx.machine.diagnostics(at(101.0));
    assert_eq!(
        diagnostics.last_error.map(|e| e.code()),
        Some(ErrorCode::Server)
    );
    assert_eq!(diagnostics.phase, Phase::SignedOut);
    // A network failure settles it too.
    let mut fx = signed_in_memory();
    fx.feed(Event::Logout { op: OpId(3) }, 100.0);
    let reply = fx.reply(Err(AuthError::network("offline")));
    assert_eq!(describe(&fx.feed(reply, 101.0)), ["op3 done"]);
}

#[test]
fn logout_request_carries_the_token() {
    let mut fx = signed_in_memory();
    let effects = fx.feed(Event::Logout { op: OpId(2) }, 100.0);
    let request = effects.iter().find_map(|effect| match effect {
        Effect::Send { http, .. } => Some(http.clone()),
        _ => None,
    });
    let request = request.expect("logout request");
    let expected = format!("Bearer {}", access("a1", 0.0, 1800.0));
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
    assert_eq!(request.url, "https://api.test/auth/logout");
}

#[test]
fn a_logout_of_several_calls_settles_when_the_last_is_answered() {
    // flask-jwt-extended revokes the access and the refresh token with one call each.
    let flask = config(
        r#"{"baseUrl": "https://api.test", "storage": "memory", "logout": [
            {"method": "DELETE"}, {"method": "DELETE", "bearer": "refresh"}]}"#,
    );
    let mut fx = signed_in(flask);
    let effects = fx.feed(Event::Logout { op: OpId(2) }, 100.0);
    let sent: Vec<(RequestId, Option<String>)> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send { request, http } => {
                Some((*request, http.header("authorization").map(str::to_owned)))
            }
            _ => None,
        })
        .collect();
    let bearers: Vec<Option<&str>> = sent.iter().map(|(_, h)| h.as_deref()).collect();
    let access_bearer = format!("Bearer {}", access("a1", 0.0, 1800.0));
    assert_eq!(bearers, [Some(access_bearer.as_str()), Some("Bearer r1")]);
    assert!(
        completions(&effects).is_empty(),
        "logout() waits for the server"
    );
    let answer = |request: RequestId, result| Event::Response { request, result };
    // The second call's answer alone settles nothing; a failure is only a diagnostic.
    let early = fx.feed(answer(sent[1].0, Err(AuthError::network("offline"))), 100.1);
    assert!(completions(&early).is_empty());
    let last = fx.feed(answer(sent[0].0, Ok(status(200, "{}"))), 100.2);
    assert_eq!(completions(&last), ["op2 done"]);
    assert_eq!(
        fx.machine
            .diagnostics(at(100.3))
            .last_error
            .map(|e| e.code()),
        Some(ErrorCode::Network)
    );
}

#[test]
fn a_logout_during_a_login_wins() {
    let mut fx = logging_in(memory());
    let login_request = fx.request.expect("login was sent");
    let effects = fx.feed(Event::Logout { op: OpId(2) }, 0.5);
    assert_eq!(
        describe(&effects),
        ["clear", "op1 err not_authenticated", "op2 done"]
    );
    // The login's reply, when it comes, installs nothing: the server's new session is
    // logged out there instead.
    let late = Event::Response {
        request: login_request,
        result: Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1"))),
    };
    assert_eq!(describe(&fx.feed(late, 1.0)), ["send logout"]);
    assert!(fx.machine.session().is_none());
    // That logout answers no caller.
    let reply = fx.reply(Ok(status(200, "{}")));
    assert!(fx.feed(reply, 1.1).is_empty());
    assert!(fx.machine.session().is_none());
}

#[test]
fn of_two_logins_the_later_call_wins_whichever_reply_comes_first() {
    for later_reply_first in [true, false] {
        let mut fx = logging_in(memory());
        let first = fx.request.expect("first login was sent");
        let login = Event::Login {
            op: OpId(2),
            username: "bob".into(),
            password: "pw".into(),
        };
        let effects = fx.feed(login, 0.2);
        assert_eq!(
            describe(&effects),
            ["send login", "op1 err not_authenticated"]
        );
        let second = fx.request.expect("second login was sent");
        let first_reply = Event::Response {
            request: first,
            result: Ok(token_reply(&access("a1", 0.0, 1800.0), Some("ra"))),
        };
        let second_reply = Event::Response {
            request: second,
            result: Ok(token_reply(&access("b1", 0.0, 1800.0), Some("rb"))),
        };
        let (early, late) = if later_reply_first {
            (second_reply, first_reply)
        } else {
            (first_reply, second_reply)
        };
        let mut seen = describe(&fx.feed(early, 0.5));
        seen.extend(describe(&fx.feed(late, 0.6)));
        let expected_signed_in = [
            "persist b1",
            "tick 1740",
            "emit SIGNED_IN b1",
            "op2 session b1",
        ];
        let expected: Vec<&str> = if later_reply_first {
            expected_signed_in
                .iter()
                .copied()
                .chain(["send logout"])
                .collect()
        } else {
            ["send logout"]
                .into_iter()
                .chain(expected_signed_in)
                .collect()
        };
        assert_eq!(seen, expected, "later reply first: {later_reply_first}");
        let session = fx.machine.session().expect("signed in");
        assert_eq!(jti(session.access_token()), "b1");
    }
}

#[test]
fn a_superseded_login_that_failed_or_a_server_without_logout_sends_nothing() {
    // Refused by the server: nothing to log out.
    let mut fx = logging_in(memory());
    let first = fx.request.expect("login was sent");
    fx.feed(Event::Logout { op: OpId(2) }, 0.1);
    let refused = Event::Response {
        request: first,
        result: Ok(status(
            401,
            r#"{"detail": "Incorrect username or password"}"#,
        )),
    };
    assert!(fx.feed(refused, 0.2).is_empty());
    // v1 has no logout endpoint: the granted session is dropped without a request.
    let mut fx = logging_in(v1());
    let first = fx.request.expect("login was sent");
    fx.feed(Event::Logout { op: OpId(2) }, 0.1);
    let granted = Event::Response {
        request: first,
        result: Ok(token_reply(&access("a1", 0.0, 1800.0), None)),
    };
    assert!(fx.feed(granted, 0.2).is_empty());
    assert!(fx.machine.session().is_none());
}

/// A second login replaces the session here and logs the first one out on the server, with
/// the old access token and no cookies (in cookie mode the browser's refresh cookie is the
/// new session's by then). Its reply changes nothing.
#[test]
fn a_login_while_signed_in_logs_the_old_session_out_there() {
    for (label, mut fx) in [
        ("bearer", signed_in_memory()),
        (
            "cookie",
            signed_in(config(
                r#"{"baseUrl": "https://api.test", "storage": "memory", "refresh": {"via": "cookie"}}"#,
            )),
        ),
    ] {
        let old_token = fx
            .machine
            .session()
            .expect("signed in")
            .access_token()
            .to_owned();
        let login = Event::Login {
            op: OpId(5),
            username: "bob".into(),
            password: "pw".into(),
        };
        fx.feed(login, 10.0);
        let reply = fx.reply(Ok(token_reply(&access("b1", 10.0, 1800.0), Some("rb"))));
        let effects = fx.feed(reply, 10.0);
        assert_eq!(
            describe(&effects),
            [
                "persist b1",
                "send logout",
                "tick 1750",
                "emit SIGNED_IN b1",
                "op5 session b1"
            ],
            "{label}"
        );
        let logout = effects
            .iter()
            .find_map(|effect| match effect {
                Effect::Send { http, .. } => Some(http.clone()),
                _ => None,
            })
            .expect("a logout was sent");
        let authorization = logout
            .headers
            .iter()
            .find(|(name, _)| name == "Authorization")
            .map(|(_, value)| value.clone());
        assert_eq!(
            authorization,
            Some(format!("Bearer {old_token}")),
            "{label}"
        );
        assert_eq!(logout.credentials, protocol::Credentials::Omit, "{label}");
        // Its reply, whatever it is, answers no caller and keeps the new session.
        for result in [
            Ok(status(200, "{}")),
            Ok(status(401, "{}")),
            Err(AuthError::network("down")),
        ] {
            let answer = fx.reply(result);
            assert!(describe(&fx.feed(answer, 11.0)).is_empty(), "{label}");
        }
        assert_eq!(
            jti(fx.machine.session().expect("new session").access_token()),
            "b1"
        );
    }
    // A server without a logout endpoint: nothing to send.
    let mut fx = signed_in(config(
        r#"{"baseUrl": "https://api.test", "storage": "memory", "endpoints": {"logout": null}}"#,
    ));
    let login = Event::Login {
        op: OpId(5),
        username: "bob".into(),
        password: "pw".into(),
    };
    fx.feed(login, 10.0);
    let reply = fx.reply(Ok(token_reply(&access("b1", 10.0, 1800.0), Some("rb"))));
    assert!(!describe(&fx.feed(reply, 10.0)).contains(&"send logout".to_owned()));
}

#[test]
fn a_login_during_a_refresh_wins() {
    let mut fx = refreshing_memory();
    let refresh_request = fx.request;
    fx.feed(Event::GetAccessToken { op: OpId(2) }, 1741.0);
    fx.feed(
        Event::Login {
            op: OpId(3),
            username: "bob".into(),
            password: "pw".into(),
        },
        1741.0,
    );
    let reply = fx.reply(Ok(token_reply(&access("b1", 1742.0, 1800.0), Some("rb"))));
    let effects = fx.feed(reply, 1742.0);
    assert_eq!(
        describe(&effects),
        [
            "persist b1",
            "send logout",
            "tick 3482",
            "emit SIGNED_IN b1",
            "op2 token b1",
            "op3 session b1"
        ]
    );
    // The old refresh's reply is ignored.
    let stale = Event::Response {
        request: refresh_request.expect("refresh was sent"),
        result: Ok(token_reply(&access("a2", 1743.0, 1800.0), Some("r2"))),
    };
    assert!(fx.feed(stale, 1743.0).is_empty());
    assert_eq!(
        jti(fx.machine.session().expect("signed in").access_token()),
        "b1"
    );
}

/// Found by fuzzing: no caller is ever handed a token that expired before it arrived, nor an
/// expired current token in answer to a 401 for an older one.
#[test]
fn no_caller_gets_a_token_that_is_already_expired() {
    // A refresh reply delayed past the new token's expiry: the waiter gets an error, not a 401.
    let mut fx = signed_in_memory();
    fx.feed(Event::GetAccessToken { op: OpId(2) }, 1790.0);
    let reply = fx.reply(Ok(token_reply(&access("a2", 0.0, 1800.0), Some("r2"))));
    let effects = fx.feed(reply, 1801.0);
    assert_eq!(completions(&effects), ["op2 err token_expired"]);

    // A 401 for `a0` while the current `a1` has expired too: the replay waits for a refresh.
    let mut fx = expired_memory();
    let effects = fx.feed(
        Event::TokenRejected {
            op: OpId(3),
            token: access("a0", 0.0, 1800.0),
        },
        1802.0,
    );
    assert_eq!(describe(&effects), ["send refresh", "cancel tick"]);
    let reply = fx.reply(Ok(token_reply(&access("a2", 1803.0, 1800.0), Some("r2"))));
    let effects = fx.feed(reply, 1803.0);
    assert_eq!(completions(&effects), ["op3 token a2"]);
}

/// A session that expired before a logout in the same step is cleared by both; the driver sees
/// one `clear`.
#[test]
fn an_expiry_and_a_logout_in_one_step_clear_storage_once() {
    let mut fx = signed_in_with(v1(), token_reply(&access("a1", 0.0, 900.0), None));
    let effects = fx.feed(Event::Logout { op: OpId(2) }, 1000.0);
    let described = describe(&effects);
    let clears = described.iter().filter(|effect| *effect == "clear").count();
    assert_eq!(clears, 1, "{described:?}");
}
