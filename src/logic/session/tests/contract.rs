//! The driver's contract: effect order, the stored format, redacted `Debug` output, event names,
//! and seeded jitter.

use super::*;

/// Effects come out by rank, and in the order they were produced within a rank (two
/// completions resolve in call order; a persist precedes the event announcing it).
#[test]
fn effects_are_ordered_by_rank_and_stable_within_a_rank() {
    let complete = |op| Effect::Complete {
        op: OpId(op),
        result: Ok(Outcome::Done),
    };
    let persist = |value: &str| Effect::Persist {
        value: value.to_owned(),
    };
    let label = |effects: Vec<Effect>| -> Vec<String> {
        in_rank_order(effects)
            .iter()
            .map(|effect| match effect {
                Effect::Persist { value } => format!("persist {value}"),
                Effect::Complete { op, .. } => format!("op{}", op.0),
                other => describe(std::slice::from_ref(other)).concat(),
            })
            .collect()
    };
    let effects = vec![
        complete(1),
        Effect::Emit {
            event: AuthEvent::SignedOut,
            session: None,
        },
        Effect::ScheduleTick { at: at(5.0) },
        complete(2),
        persist("a"),
        Effect::CancelTick,
        Effect::Clear,
        persist("b"),
        complete(3),
    ];
    assert_eq!(
        label(effects),
        [
            "persist a",
            "clear",
            "persist b",
            "tick 5",
            "cancel tick",
            "emit SIGNED_OUT null",
            "op1",
            "op2",
            "op3"
        ]
    );
    assert_eq!(label(vec![Effect::Clear, complete(7)]), ["clear", "op7"]);
}

#[test]
fn persisted_sessions_round_trip_and_reject_garbage() {
    let stored = stored_a1();
    let value: Value = serde_json::from_str(&stored).expect("json");
    assert_eq!(value["v"], json!(1));
    assert_eq!(value["sid"], json!("login-1"));
    assert_eq!(value["refreshToken"], json!("r1"));
    assert_eq!(value["expiresAt"], json!((T0 + 1800) * 1000));
    let session = Session::from_storage(&stored).expect("reads back");
    assert_eq!(session.to_storage(), stored);
    assert_eq!(jti(session.access_token()), "a1");
    assert_eq!(
        session.claims().get("sub").and_then(Json::as_str),
        Some("1")
    );

    let mut v2 = value.clone();
    v2["v"] = json!(2);
    let mut bad_token = value.clone();
    bad_token["accessToken"] = json!("nope");
    let mut wrong_shape = value;
    wrong_shape["receivedAt"] = json!("yesterday");
    for (text, why) in [
        ("".to_owned(), "not json"),
        ("null".to_owned(), "no version"),
        ("[1]".to_owned(), "no version"),
        (r#"{"accessToken": "x"}"#.to_owned(), "no version"),
        (v2.to_string(), "unsupported version 2"),
        (bad_token.to_string(), "malformed"),
        (wrong_shape.to_string(), "wrong shape"),
    ] {
        let error = Session::from_storage(&text).expect_err("garbage");
        assert_eq!(error.code(), ErrorCode::Storage, "{text}");
        assert!(error.message().contains(why), "{text}: {error}");
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let mut fx = signed_in_memory();
    let mut seen = Vec::new();
    seen.push(format!(
        "{:?}",
        Event::Login {
            op: OpId(9),
            username: "ann".into(),
            password: "hunter2".into()
        }
    ));
    seen.push(format!(
        "{:?}",
        fx.feed(Event::Refresh { op: OpId(2) }, 1750.0)
    ));
    let reply = fx.reply(Ok(token_reply(
        &access("a2", 1750.0, 1800.0),
        Some("r2-secret"),
    )));
    seen.push(format!("{:?}", fx.machine));
    seen.push(format!("{reply:?}"));
    seen.push(format!("{:?}", fx.feed(reply, 1750.0)));
    seen.push(format!("{:?}", fx.machine));
    let a2 = access("a2", 1750.0, 1800.0);
    let payload = a2.split('.').nth(1).expect("payload");
    let a1 = access("a1", 0.0, 1800.0);
    let old_payload = a1.split('.').nth(1).expect("payload");
    for text in seen {
        for secret in ["hunter2", "r2-secret", "r1", payload, old_payload] {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
}

#[test]
fn events_have_their_contract_names() {
    let names: Vec<&str> = [
        AuthEvent::InitialSession,
        AuthEvent::SignedIn,
        AuthEvent::TokenRefreshed,
        AuthEvent::SignedOut,
        AuthEvent::SessionExpired,
        AuthEvent::RefreshFailed,
    ]
    .iter()
    .map(|event| event.as_str())
    .collect();
    assert_eq!(
        names,
        [
            "INITIAL_SESSION",
            "SIGNED_IN",
            "TOKEN_REFRESHED",
            "SIGNED_OUT",
            "SESSION_EXPIRED",
            "REFRESH_FAILED"
        ]
    );
}

#[test]
fn seeded_jitter_is_deterministic_and_in_range() {
    let mut a = SessionMachine::new(memory(), Jitter::Seeded(42));
    let mut b = SessionMachine::new(memory(), Jitter::Seeded(42));
    let mut c = SessionMachine::new(memory(), Jitter::Seeded(43));
    let xs: Vec<f64> = (0..100).map(|_| a.rng.next_jitter()).collect();
    let ys: Vec<f64> = (0..100).map(|_| b.rng.next_jitter()).collect();
    let zs: Vec<f64> = (0..100).map(|_| c.rng.next_jitter()).collect();
    assert_eq!(xs, ys);
    assert_ne!(xs, zs);
    assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
    let mean = xs.iter().sum::<f64>() / 100.0;
    assert!((0.3..0.7).contains(&mean), "{mean}");
}

/// Before [`Event::Start`] events wait inside the machine; `Start` handles them after itself,
/// in order, so a call or a listener that comes while an asynchronous storage is read is
/// answered from what storage held.
#[test]
fn events_before_start_wait_for_it() {
    let mut fx = fresh_memory();
    for event in [
        Event::Subscribe {
            listener: ListenerId(7),
        },
        Event::GetAccessToken { op: OpId(1) },
        Event::Tick,
    ] {
        assert!(fx.feed(event, 1.0).is_empty());
    }
    let stored = Event::Start {
        stored: Ok(Some(stored_a1())),
    };
    let effects = fx.feed(stored, 2.0);
    assert_eq!(
        describe(&effects),
        // The tick forgets the timer it came by, so the timer is set again.
        [
            "tick 1740",
            "greet listener7 a1",
            "op1 token a1",
            "tick 1740"
        ]
    );
    // Once started, an event is handled at once.
    let effects = fx.feed(Event::GetAccessToken { op: OpId(2) }, 3.0);
    assert_eq!(describe(&effects), ["op2 token a1"]);
}

/// `INITIAL_SESSION` is an effect in order with the others: a listener that subscribes before a
/// login's reply is greeted with the state before it, then hears `SIGNED_IN`.
#[test]
fn a_listener_is_greeted_with_the_session_as_it_stands() {
    let mut fx = logging_in_memory();
    let effects = fx.feed(
        Event::Subscribe {
            listener: ListenerId(1),
        },
        0.0,
    );
    assert_eq!(describe(&effects), ["greet listener1 null"]);
    let reply = fx.reply(Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1"))));
    fx.feed(reply, 0.0);
    let effects = fx.feed(
        Event::Subscribe {
            listener: ListenerId(2),
        },
        1.0,
    );
    assert_eq!(describe(&effects), ["greet listener2 a1"]);
}
