//! Properties over random inputs: storage garbage never panics, and random event sequences keep
//! the machine's promises.

use super::*;

proptest::proptest! {
    /// Whatever storage holds, reading it never panics.
    #[test]
    fn storage_garbage_never_panics(text in ".*") {
        let _ = Session::from_storage(&text);
    }

    /// Random event sequences never panic and keep the machine's promises: a refresh token is
    /// never sent twice at once, no token is handed out past its expiry, every call is
    /// settled exactly once (and is settled once the outside world has answered every
    /// request and lock), and the phase agrees with the session and what listeners heard.
    #[test]
    fn random_event_sequences_stay_consistent(
        steps in proptest::collection::vec((0u8..12, 0u32..4_000), 1..60),
        shared in proptest::bool::ANY,
    ) {
        let mut fx = if shared { signed_out(local()) } else { signed_out(memory()) };
        let mut now = 0.0;
        let mut next_op = 100u64;
        let mut serial = 0u32;
        let mut open_ops: Vec<u64> = Vec::new();
        // Refresh requests still unanswered, with the refresh token each one carries.
        let mut refreshes_out: Vec<(RequestId, Option<String>)> = Vec::new();
        let mut pending: Vec<RequestId> = Vec::new();
        let mut heard: Option<bool> = None;
        let feed = |fx: &mut Fixture, event: Event, now: f64, open_ops: &mut Vec<u64>, pending: &mut Vec<RequestId>, refreshes_out: &mut Vec<(RequestId, Option<String>)>, heard: &mut Option<bool>| -> Result<(), proptest::test_runner::TestCaseError> {
            if let Event::Response { request, .. } = &event {
                refreshes_out.retain(|(id, _)| id != request);
            }
            let effects = fx.feed(event, now);
            for effect in &effects {
                match effect {
                    Effect::Send { request, http } => {
                        pending.push(*request);
                        if http.endpoint == Endpoint::Refresh {
                            let token = fx.machine.session().and_then(Session::refresh_token).map(str::to_owned);
                            proptest::prop_assert!(
                                !refreshes_out.iter().any(|(_, other)| *other == token),
                                "a refresh token was sent while a refresh carrying it was still out"
                            );
                            refreshes_out.push((*request, token));
                        }
                    }
                    Effect::Complete { op, result } => {
                        let index = open_ops.iter().position(|o| *o == op.0);
                        proptest::prop_assert!(index.is_some(), "op{} settled twice or never opened", op.0);
                        if let Some(index) = index {
                            open_ops.remove(index);
                        }
                        if let Ok(Outcome::AccessToken(Some(token))) = result {
                            let exp = decode_unverified(token).ok().and_then(|t| t.claims().exp());
                            proptest::prop_assert!(exp.is_some_and(|exp| exp > at(now)), "op{} got an expired token", op.0);
                        }
                    }
                    Effect::ScheduleTick { at: when } => proptest::prop_assert!(*when >= at(now)),
                    Effect::Emit { session, .. } => *heard = Some(session.is_some()),
                    _ => {}
                }
            }
            // The phase agrees with the session, its expiry and the refresh in flight, and
            // the last event listeners heard told them whether there is a session.
            let phase = fx.machine.phase(at(now));
            let session = fx.machine.session();
            let expired = session.is_some_and(|s| s.is_expired(at(now), Duration::ZERO));
            let expected = match (session, fx.machine.refresh.is_some()) {
                (None, _) => Phase::SignedOut,
                (Some(_), true) => Phase::Refreshing,
                (Some(_), false) if expired => Phase::Expired,
                (Some(_), false) => Phase::SignedIn,
            };
            proptest::prop_assert_eq!(phase, expected);
            proptest::prop_assert!(fx.machine.refresh.is_none() || session.is_some(), "a refresh without a session");
            proptest::prop_assert_eq!(fx.machine.is_authenticated(at(now)), session.is_some() && !expired);
            if let Some(has_session) = *heard {
                proptest::prop_assert_eq!(has_session, session.is_some(), "listeners were told otherwise");
            }
            Ok(())
        };
        for (kind, dt) in steps {
            now += f64::from(dt) / 4.0;
            next_op += 1;
            serial += 1;
            let op = OpId(next_op);
            let event = match kind {
                0 => Event::Login { op, username: "u".into(), password: "p".into() },
                1 => Event::Refresh { op },
                2 | 3 => Event::GetAccessToken { op },
                4 => Event::Logout { op },
                5 => Event::TokenRejected { op, token: fx.machine.session().map(|s| s.access_token().to_owned()).unwrap_or_default() },
                6 | 7 => match pending.pop() {
                    Some(request) => Event::Response { request, result: Ok(token_reply(&access("x", now, 60.0), Some(&format!("r{serial}")))) },
                    None => Event::Tick,
                },
                8 => match pending.pop() {
                    Some(request) => Event::Response { request, result: Err(AuthError::network("down")) },
                    None => Event::Tick,
                },
                9 => match pending.pop() {
                    Some(request) => Event::Response { request, result: Ok(status(401, "")) },
                    None => Event::Tick,
                },
                10 => match fx.lock {
                    Some(lock) => Event::LockAcquired { lock, stored: Ok(fx.stored()) },
                    None => Event::Tick,
                },
                _ => Event::Tick,
            };
            if matches!(event, Event::Login { .. } | Event::Refresh { .. } | Event::GetAccessToken { .. } | Event::Logout { .. } | Event::TokenRejected { .. }) {
                open_ops.push(next_op);
            }
            feed(&mut fx, event, now, &mut open_ops, &mut pending, &mut refreshes_out, &mut heard)?;
        }
        // The outside world answers everything: every request (a network error, so nothing
        // new starts on success) and the lock a refresh waits for. Every call is then settled.
        for _ in 0..64 {
            let waiting_lock = match &fx.machine.refresh {
                Some(InFlight { stage: Stage::WaitingLock(lock), .. }) => Some(*lock),
                _ => None,
            };
            let event = match (pending.pop(), waiting_lock) {
                (Some(request), _) => Event::Response { request, result: Err(AuthError::network("down")) },
                (None, Some(lock)) => Event::LockAcquired { lock, stored: Ok(fx.stored()) },
                (None, None) => break,
            };
            feed(&mut fx, event, now, &mut open_ops, &mut pending, &mut refreshes_out, &mut heard)?;
        }
        proptest::prop_assert!(open_ops.is_empty(), "calls never settled: {:?}", open_ops);
    }
}
