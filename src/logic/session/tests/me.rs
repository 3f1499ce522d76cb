//! `me()` ([`Event::Me`]): the machine decides and sends every request of it, refreshing first
//! when the token is expiring and once more after a 401, like `getAccessToken()` and a
//! `fetch()` replay do.

use super::*;

/// The bearer token of the last `me` request among `effects`.
fn me_token(effects: &[Effect]) -> String {
    let bearer = effects
        .iter()
        .rev()
        .find_map(|effect| match effect {
            Effect::Send { http, .. } if http.endpoint == Endpoint::Me => http
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                .map(|(_, value)| value.clone()),
            _ => None,
        })
        .expect("a me request with a token");
    jti(bearer.trim_start_matches("Bearer "))
}

#[test]
fn signed_out_or_without_an_endpoint_no_request_is_sent() {
    let mut fx = signed_out_memory();
    let effects = fx.feed(Event::Me { op: OpId(2) }, 1.0);
    assert_eq!(describe(&effects), ["op2 err not_authenticated"]);
    let no_me = config(
        r#"{"baseUrl": "https://api.test", "storage": "memory", "endpoints": {"me": null}}"#,
    );
    let mut fx = signed_in(no_me);
    let effects = fx.feed(Event::Me { op: OpId(2) }, 1.0);
    assert_eq!(describe(&effects), ["op2 err config"]);
}

#[test]
fn me_sends_with_the_current_token_and_resolves_with_the_json() {
    let mut fx = signed_in_memory();
    let effects = fx.feed(Event::Me { op: OpId(2) }, 10.0);
    assert_eq!(describe(&effects), ["send me"]);
    assert_eq!(me_token(&effects), "a1");
    let reply = fx.reply(Ok(status(200, r#"{"email": "ann@example.com"}"#)));
    let effects = fx.feed(reply, 10.1);
    assert_eq!(
        describe(&effects),
        [r#"op2 json {"email":"ann@example.com"}"#]
    );
    // A 4xx other than 401 is its error, without a refresh.
    fx.feed(Event::Me { op: OpId(3) }, 11.0);
    let reply = fx.reply(Ok(status(403, r#"{"detail": "Inactive user"}"#)));
    let effects = fx.feed(reply, 11.1);
    assert_eq!(describe(&effects), ["op3 err account_disabled"]);
}

#[test]
fn an_expiring_token_is_refreshed_before_the_request() {
    let mut fx = signed_in_memory();
    let effects = fx.feed(Event::Me { op: OpId(2) }, 1799.5);
    assert_eq!(describe(&effects), ["send refresh", "cancel tick"]);
    let reply = fx.reply(Ok(token_reply(&access("a2", 1800.0, 1800.0), Some("r2"))));
    let effects = fx.feed(reply, 1800.0);
    let lines = describe(&effects);
    assert!(lines.contains(&"send me".to_owned()), "{lines:?}");
    assert!(
        !lines.iter().any(|line| line.starts_with("op2")),
        "{lines:?}"
    );
    assert_eq!(me_token(&effects), "a2");
}

#[test]
fn a_401_is_answered_by_one_refresh_and_one_replay() {
    let mut fx = signed_in_memory();
    fx.feed(Event::Me { op: OpId(2) }, 10.0);
    let rejected = fx.reply(Ok(status(401, r#"{"detail": "Token has been revoked"}"#)));
    let effects = fx.feed(rejected, 10.1);
    assert_eq!(describe(&effects), ["send refresh", "cancel tick"]);
    let reply = fx.reply(Ok(token_reply(&access("a2", 11.0, 1800.0), Some("r2"))));
    let effects = fx.feed(reply, 11.0);
    assert_eq!(me_token(&effects), "a2");
    // The replay's 401 is the answer: no second refresh.
    let again = fx.reply(Ok(status(401, r#"{"detail": "Token has expired"}"#)));
    let effects = fx.feed(again, 11.1);
    assert_eq!(describe(&effects), ["op2 err token_expired"]);
}

#[test]
fn without_a_fresh_token_the_original_401_is_the_answer() {
    // The refresh is refused: the session ends, and me() fails as its 401 said.
    let mut fx = signed_in_memory();
    fx.feed(Event::Me { op: OpId(2) }, 10.0);
    let rejected = fx.reply(Ok(status(401, r#"{"detail": "Token has been revoked"}"#)));
    fx.feed(rejected, 10.1);
    let refused = fx.reply(Ok(status(401, r#"{"detail": "Invalid refresh token"}"#)));
    let effects = fx.feed(refused, 10.2);
    assert_eq!(completions(&effects), ["op2 err token_revoked"]);
    assert!(fx.machine.session().is_none());
    // A server without a refresh token: no refresh at all.
    let mut fx = signed_in_v1();
    fx.feed(Event::Me { op: OpId(2) }, 10.0);
    let rejected = fx.reply(Ok(status(401, r#"{"detail": "Token has expired"}"#)));
    let effects = fx.feed(rejected, 10.1);
    assert_eq!(describe(&effects), ["op2 err token_expired"]);
}

#[test]
fn a_network_failure_is_the_answer() {
    let mut fx = signed_in_memory();
    fx.feed(Event::Me { op: OpId(2) }, 10.0);
    let failed = fx.reply(Err(AuthError::network("offline")));
    let effects = fx.feed(failed, 10.1);
    assert_eq!(describe(&effects), ["op2 err network"]);
    assert!(
        fx.machine.session().is_some(),
        "a transient failure keeps the session"
    );
}
