//! Storage and many tabs: the API mark of stored sessions, other tabs' sessions and failures,
//! backing off together, and late or repeated messages.

use super::*;

/// `x1` as a client of another API stored it under the same storage key.
fn stored_by_another_api() -> String {
    let tokens = TokenReply {
        access_token: access("x1", 0.0, 1800.0),
        refresh_token: Some("rx".into()),
        expires_in: None,
        server_date: None,
        dpop: false,
    };
    Session::from_tokens(tokens, None, at(0.0), "other-login")
        .expect("decodes")
        .to_storage_with(Some("https://other.test/auth/login"), None)
}

#[test]
fn stored_sessions_name_their_api_and_read_back_as_ours() {
    let mut fx = logging_in(local());
    let reply = fx.reply(Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1"))));
    let effects = fx.feed(reply, 0.0);
    let value = effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Persist { value } => Some(value.clone()),
            _ => None,
        })
        .expect("persisted");
    let json: Value = serde_json::from_str(&value).expect("JSON");
    assert_eq!(json["api"], json!("https://api.test/auth/login"));
    let mut again = fresh_local();
    again.feed(
        Event::Start {
            stored: Ok(Some(value)),
        },
        1.0,
    );
    let session = again.machine.session().expect("adopted");
    assert_eq!(jti(session.access_token()), "a1");
}

#[test]
fn a_session_of_another_api_under_the_same_key_is_never_adopted() {
    let foreign = stored_by_another_api();
    let says_why = |fx: &Fixture| {
        let error = fx
            .machine
            .diagnostics(at(0.0))
            .last_error
            .expect("a reason");
        assert_eq!(error.code(), ErrorCode::Storage);
        assert!(error.to_string().contains("another API"), "{error}");
    };
    // At start: not adopted, and not removed either (it is the other client's).
    let mut fx = fresh_local();
    let effects = fx.feed(
        Event::Start {
            stored: Ok(Some(foreign.clone())),
        },
        1.0,
    );
    assert!(
        !describe(&effects).contains(&"clear".to_owned()),
        "{effects:?}"
    );
    assert!(fx.machine.session().is_none());
    says_why(&fx);
    // Signed in: the other client's write is ignored.
    let mut fx = signed_in_local();
    let changed = Event::StorageChanged {
        stored: Some(foreign.clone()),
    };
    assert!(fx.feed(changed, 10.0).is_empty());
    let session = fx.machine.session().expect("still signed in");
    assert_eq!(jti(session.access_token()), "a1");
    says_why(&fx);
    // Read under the lock: our own refresh goes out and overwrites it.
    let mut fx = waiting_lock();
    let granted = Event::LockAcquired {
        lock: fx.lock.expect("lock requested"),
        stored: Ok(Some(foreign)),
    };
    assert_eq!(describe(&fx.feed(granted, 1740.0)), ["send refresh"]);
    says_why(&fx);
}

/// What a machine with `config` on a page at `origin` (if known) persists after logging in.
fn persisted_by(config: Config, origin: Option<&str>) -> String {
    let mut fx = Fixture::new(config);
    if let Some(origin) = origin {
        fx.machine.set_page_origin(origin);
    }
    fx.feed(Event::Start { stored: Ok(None) }, 0.0);
    let login = Event::Login {
        op: OpId(1),
        username: "ann".into(),
        password: "pw".into(),
    };
    fx.feed(login, 0.0);
    let reply = fx.reply(Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1"))));
    fx.feed(reply, 0.0)
        .into_iter()
        .find_map(|effect| match effect {
            Effect::Persist { value } => Some(value),
            _ => None,
        })
        .expect("persisted")
}

/// Whether a machine with `config` on a page at `origin` (if known) adopts `stored`.
fn adopted_by(config: Config, origin: Option<&str>, stored: &str) -> bool {
    let mut fx = Fixture::new(config);
    if let Some(origin) = origin {
        fx.machine.set_page_origin(origin);
    }
    let start = Event::Start {
        stored: Ok(Some(stored.to_owned())),
    };
    fx.feed(start, 1.0);
    fx.machine.session().is_some()
}

#[test]
fn a_relative_base_url_and_the_page_origin_spelled_out_are_one_api() {
    let relative = || config(r#"{"baseUrl": "/api"}"#);
    let absolute = || config(r#"{"baseUrl": "https://app.test/api"}"#);
    let page = Some("https://app.test");
    let mark = |value: &str| {
        let json: Value = serde_json::from_str(value).expect("JSON");
        json["api"].clone()
    };
    // Written absolute when the page's origin is known, whichever form was configured.
    let by_relative = persisted_by(relative(), page);
    assert_eq!(mark(&by_relative), json!("https://app.test/api/auth/login"));
    assert!(adopted_by(absolute(), page, &by_relative));
    let by_absolute = persisted_by(absolute(), page);
    assert!(adopted_by(relative(), page, &by_absolute));
    // A path mark (written where the origin was not known) is a path on this page.
    let by_path = persisted_by(relative(), None);
    assert_eq!(mark(&by_path), json!("/api/auth/login"));
    assert!(adopted_by(absolute(), page, &by_path));
    assert!(adopted_by(relative(), page, &by_path));
    // Another page's origin is another API.
    let elsewhere = Some("https://other.test");
    assert!(!adopted_by(relative(), elsewhere, &by_relative));
    assert!(!adopted_by(absolute(), elsewhere, &by_path));
    assert!(!adopted_by(
        config(r#"{"baseUrl": "/other-api"}"#),
        page,
        &by_relative
    ));
}

/// A `Retry-After` of a year that another tab stored (or an old build, or a hostile script
/// on the origin) holds refreshes back no longer than one this tab received: not after a
/// storage event, and not after a reload.
#[test]
fn a_retry_after_stored_by_another_tab_is_capped_too() {
    let year = 31_536_000.0;
    let mut fx = signed_in_local();
    let stored = fx.machine.session().expect("signed in").to_storage_with(
        None,
        Some(&SharedRetry {
            failed_at: vec![at(100.0)],
            failures: 1,
            retry_at: at(100.0 + year),
            not_before: Some(at(100.0 + year)),
            code: ErrorCode::RateLimited,
            status: Some(429),
        }),
    );
    let cap = at(100.0 + schedule::MAX_RETRY_AFTER.as_secs_f64());
    let heard = fx.feed(
        Event::StorageChanged {
            stored: Some(stored.clone()),
        },
        100.0,
    );
    assert!(describe(&heard).contains(&"emit REFRESH_FAILED a1".to_owned()));
    let diagnostics = fx.machine.diagnostics(at(100.0));
    assert_eq!(diagnostics.retry_not_before, Some(cap));
    assert!(diagnostics.next_refresh_at.is_some_and(|next| next <= cap));
    // A reload reads the same value.
    let mut reloaded = Fixture::new(local());
    reloaded.feed(
        Event::Start {
            stored: Ok(Some(stored)),
        },
        100.0,
    );
    let diagnostics = reloaded.machine.diagnostics(at(100.0));
    assert_eq!(diagnostics.retry_not_before, Some(cap));
    assert!(diagnostics.next_refresh_at.is_some_and(|next| next <= cap));
}

/// Two tabs against a failing server: whichever takes the lock first sends, the other finds
/// the failure stored under the lock and waits for the shared retry, so the server sees one
/// request per backoff step and at most the window's cap, not one per tab.
#[test]
fn tabs_back_off_together() {
    let mut a = signed_in_local();
    let mut storage = a.stored().expect("signed in");
    let mut b = fresh_local();
    b.feed(
        Event::Start {
            stored: Ok(Some(storage.clone())),
        },
        0.0,
    );
    let secs = |at: Timestamp| (at.as_millis() - T0 * 1000) as f64 / 1000.0;
    let mut sent = Vec::new();
    let mut now = 1740.0;
    for round in 0..20 {
        let (first, second) = if round % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        assert_eq!(describe(&first.feed(Event::Tick, now)), ["lock"]);
        assert_eq!(describe(&second.feed(Event::Tick, now)), ["lock"]);
        let lock = first.lock.expect("lock");
        let effects = first.feed(
            Event::LockAcquired {
                lock,
                stored: Ok(Some(storage.clone())),
            },
            now,
        );
        assert_eq!(describe(&effects), ["send refresh"], "round {round}");
        sent.push(now);
        let reply = first.reply(Ok(status(500, "")));
        let effects = first.feed(reply, now + 0.05);
        storage = persisted(&effects).expect("the failure is stored for the other tab");
        let lock = second.lock.expect("lock");
        let effects = second.feed(
            Event::LockAcquired {
                lock,
                stored: Ok(Some(storage.clone())),
            },
            now + 0.1,
        );
        let lines = describe(&effects);
        assert_eq!(lines[0], "unlock", "round {round}: {lines:?}");
        assert!(!lines.iter().any(|l| l.starts_with("send")), "{lines:?}");
        assert!(lines.contains(&"emit REFRESH_FAILED a1".to_owned()));
        // Both plan the same next attempt.
        let next_a = a.machine.diagnostics(at(now + 0.1)).next_refresh_at;
        let next_b = b.machine.diagnostics(at(now + 0.1)).next_refresh_at;
        assert_eq!(next_a, next_b, "round {round}");
        now = secs(next_a.expect("a retry is planned"));
        if now > 1770.0 {
            break;
        }
    }
    // 1740, +0.75, +1.5, +3, +6: five attempts, then the window holds both tabs until the
    // first failure (1740.05) is a minute old.
    assert_eq!(sent, [1740.0, 1740.8, 1742.35, 1745.4, 1751.45]);
    assert_eq!(now, 1800.05);
    for fx in [&a, &b] {
        let diagnostics = fx.machine.diagnostics(at(1760.0));
        assert_eq!(diagnostics.consecutive_failures, 5);
        let error = diagnostics.last_error.expect("an error");
        assert_eq!(
            (error.code(), error.status()),
            (ErrorCode::Server, Some(500))
        );
    }
    // The session was kept throughout; on-demand calls are held back by the shared window.
    let effects = b.feed(Event::Refresh { op: OpId(7) }, 1760.0);
    assert_eq!(describe(&effects), ["op7 err server"]);
}

/// A `Retry-After` one tab received holds back every tab, timers and `refresh()` alike.
#[test]
fn retry_after_holds_back_every_tab() {
    let mut a = refreshing_local();
    let mut b = fresh_local();
    b.feed(
        Event::Start {
            stored: Ok(a.stored()),
        },
        100.0,
    );
    let reply = a.reply(Ok(HttpReply {
        retry_after: Some("5".into()),
        ..status(429, "")
    }));
    let storage = persisted(&a.feed(reply, 1740.5)).expect("stored");
    let effects = b.feed(
        Event::StorageChanged {
            stored: Some(storage.clone()),
        },
        1740.6,
    );
    assert_eq!(
        describe(&effects),
        ["tick 1745.5", "emit REFRESH_FAILED a1"]
    );
    let effects = b.feed(Event::Refresh { op: OpId(3) }, 1741.0);
    assert_eq!(describe(&effects), ["op3 err rate_limited"]);
    assert_eq!(
        b.machine.diagnostics(at(1741.0)).retry_not_before,
        Some(at(1745.5))
    );
    // Both channels deliver the same change: the second copy is no news.
    let effects = b.feed(
        Event::StorageChanged {
            stored: Some(storage),
        },
        1741.0,
    );
    assert!(effects.is_empty(), "{effects:?}");

    // A long Retry-After outlives the attempt window: a tab opened later still waits.
    let session = Session::from_storage(&stored_a1()).expect("reads back");
    let stored = session.to_storage_with(
        None,
        Some(&SharedRetry {
            failed_at: vec![at(100.0)],
            failures: 1,
            retry_at: at(400.0),
            not_before: Some(at(400.0)),
            code: ErrorCode::RateLimited,
            status: Some(429),
        }),
    );
    let mut c = fresh_local();
    let effects = c.feed(
        Event::Start {
            stored: Ok(Some(stored)),
        },
        200.0,
    );
    assert_eq!(describe(&effects), ["tick 400"]);
    assert_eq!(
        c.machine.diagnostics(at(200.0)).retry_not_before,
        Some(at(400.0))
    );
}

/// The same change arriving twice (BroadcastChannel and `storage` event), or a message
/// about a token already replaced arriving late, changes nothing.
#[test]
fn repeated_and_late_messages_change_nothing() {
    let mut b = signed_in_local();
    let a1 = b.stored();
    let a1_failed = failed_elsewhere(&b, 1739.9, 1741.0);
    let a2 = b.other_tab(&access("a2", 1740.0, 1800.0), 1740.0, true);
    let effects = b.feed(
        Event::StorageChanged {
            stored: Some(a2.clone()),
        },
        1740.1,
    );
    assert_eq!(describe(&effects), ["tick 3480", "emit TOKEN_REFRESHED a2"]);
    for stored in [Some(a2), a1, Some(a1_failed)] {
        let effects = b.feed(Event::StorageChanged { stored }, 1740.2);
        assert!(effects.is_empty(), "{effects:?}");
    }
    assert_eq!(b.machine.diagnostics(at(1740.2)).consecutive_failures, 0);
    // A removal is always news.
    let effects = b.feed(Event::StorageChanged { stored: None }, 1740.3);
    assert_eq!(describe(&effects), ["cancel tick", "emit SIGNED_OUT null"]);
}

#[test]
fn tabs_agree_on_expiry() {
    let mut fx = signed_in_v1();
    // Another tab saw the session expire and cleared storage first.
    let effects = fx.feed(Event::StorageChanged { stored: None }, 1799.9);
    assert_eq!(describe(&effects), ["cancel tick", "emit SIGNED_OUT null"]);
    let mut fx = signed_in_v1();
    let effects = fx.feed(Event::StorageChanged { stored: None }, 1800.0);
    // Handled by our own expiry check first.
    assert_eq!(
        describe(&effects),
        ["clear", "cancel tick", "emit SESSION_EXPIRED null"]
    );
    // A refreshable session whose token died while another tab cleared it: expired.
    let mut fx = signed_in_with(memory(), token_reply(&access("a1", 0.0, 1800.0), None));
    let effects = fx.feed(Event::StorageChanged { stored: None }, 1800.5);
    assert_eq!(
        describe(&effects),
        ["clear", "cancel tick", "emit SESSION_EXPIRED null"]
    );
}

#[test]
fn a_failed_storage_write_keeps_this_tab_authoritative() {
    let mut fx = signed_in_local();
    fx.feed(
        Event::StorageFailed {
            error: AuthError::storage("quota exceeded"),
        },
        1.0,
    );
    fx.feed(Event::Tick, 1740.0);
    let event = Event::LockAcquired {
        lock: fx.lock.expect("lock"),
        stored: Ok(None),
    };
    let effects = fx.feed(event, 1740.0);
    // Storage is empty because our write failed, not because anyone signed out.
    assert_eq!(describe(&effects), ["send refresh"]);
}

/// Found by fuzzing: a message that arrives after this tab's session ended, about that session
/// or an older one (the duplicate of a message already handled, a tab waking from sleep), does
/// not sign this tab in again with a session storage no longer holds; a newer login does.
#[test]
fn a_late_message_after_the_session_ended_is_not_adopted() {
    let mut fx = signed_in_v1();
    let older = fx.other_tab(&access("x1", 0.0, 3600.0), 0.0, false);
    let effects = fx.feed(
        Event::StorageChanged {
            stored: Some(older.clone()),
        },
        1800.0,
    );
    // Our session expired in this step; the older login's message is late.
    assert_eq!(
        describe(&effects),
        ["clear", "cancel tick", "emit SESSION_EXPIRED null"]
    );
    assert!(fx.machine.session().is_none());
    let effects = fx.feed(
        Event::StorageChanged {
            stored: Some(older),
        },
        1801.0,
    );
    assert!(effects.is_empty(), "{effects:?}");

    // A login in another tab after ours ended is adopted, and an expiry of ours in the same
    // step does not clear it from storage.
    let mut fx = signed_in_v1();
    let newer = fx.other_tab(&access("x2", 1799.0, 3600.0), 1799.0, false);
    let effects = fx.feed(
        Event::StorageChanged {
            stored: Some(newer),
        },
        1800.0,
    );
    let lines = describe(&effects);
    assert!(!lines.contains(&"clear".to_owned()), "{lines:?}");
    assert!(lines.contains(&"emit SIGNED_IN x2".to_owned()), "{lines:?}");
    assert_eq!(
        jti(fx.machine.session().expect("adopted").access_token()),
        "x2"
    );
}

/// Found by fuzzing: a refresh in flight when another tab's session arrives already expired
/// starts again from that session, so its callers get a token that works.
#[test]
fn an_adopted_session_that_arrived_expired_is_refreshed_for_the_waiters() {
    let mut fx = waiting_lock();
    fx.feed(Event::GetAccessToken { op: OpId(2) }, 1795.0);
    let stale = fx.other_tab(&access("x1", 0.0, 1790.0), 0.0, false);
    let effects = fx.feed(
        Event::StorageChanged {
            stored: Some(stale),
        },
        1795.0,
    );
    let lines = describe(&effects);
    assert!(
        !lines.iter().any(|line| line.starts_with("op2")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|line| line.starts_with("lock")),
        "{lines:?}"
    );
    let event = Event::LockAcquired {
        lock: fx.lock.expect("lock"),
        stored: Ok(fx.stored()),
    };
    let effects = fx.feed(event, 1795.0);
    assert_eq!(describe(&effects), ["send refresh"]);
    let reply = fx.reply(Ok(token_reply(&access("x2", 1796.0, 1800.0), Some("r3"))));
    let effects = fx.feed(reply, 1796.0);
    assert_eq!(completions(&effects), ["op2 token x2"]);
}
