//! DPoP-bound sessions (RFC 9449): a token the server bound to the client's key goes out as
//! `Authorization: DPoP` on every request the machine sends with it (the driver adds the proof);
//! a bearer token, and a refresh token sent in `Authorization`, stay `Bearer`.

use super::*;

/// A token reply that says the access token is DPoP-bound.
fn dpop_reply(access_token: &str) -> HttpReply {
    let body = json!({"access_token": access_token, "refresh_token": "r1", "token_type": "DPoP"});
    HttpReply::json(200, body.to_string())
}

/// An access token that confirms a key (`cnf.jkt`), as RFC 9449 section 6.1 requires of JWTs.
fn confirmed_access() -> String {
    let exp = (T0 as f64) + 1800.0;
    jwt(
        json!({"sub": "1", "jti": "a1", "exp": exp, "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}),
    )
}

/// The `Authorization` header of each request among `effects`.
fn authorizations(effects: &[Effect]) -> Vec<Option<String>> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Send { http, .. } => Some(http.header("authorization").map(str::to_owned)),
            _ => None,
        })
        .collect()
}

fn is_bound(fx: &Fixture) -> bool {
    fx.machine.session().is_some_and(Session::is_dpop_bound)
}

#[test]
fn a_token_type_dpop_reply_binds_the_session_for_me_and_logout() {
    let token = access("a1", 0.0, 1800.0);
    let mut fx = signed_in_with(memory(), dpop_reply(&token));
    assert!(is_bound(&fx));
    let me = fx.feed(Event::Me { op: OpId(2) }, 100.0);
    assert_eq!(authorizations(&me), [Some(format!("DPoP {token}"))]);
    let logout = fx.feed(Event::Logout { op: OpId(3) }, 101.0);
    assert_eq!(authorizations(&logout), [Some(format!("DPoP {token}"))]);
}

#[test]
fn a_key_confirmation_claim_binds_the_session_whatever_the_token_type() {
    let token = confirmed_access();
    let mut fx = signed_in_with(memory(), token_reply(&token, Some("r1")));
    assert!(is_bound(&fx));
    let me = fx.feed(Event::Me { op: OpId(2) }, 100.0);
    assert_eq!(authorizations(&me), [Some(format!("DPoP {token}"))]);
}

#[test]
fn a_bearer_session_stays_bearer() {
    let mut fx = signed_in_memory();
    assert!(!is_bound(&fx));
    let me = fx.feed(Event::Me { op: OpId(2) }, 100.0);
    let token = access("a1", 0.0, 1800.0);
    assert_eq!(authorizations(&me), [Some(format!("Bearer {token}"))]);
}

#[test]
fn the_binding_survives_storage_and_a_reload() {
    let token = access("a1", 0.0, 1800.0);
    let fx = signed_in_with(memory(), dpop_reply(&token));
    let stored = fx.stored().expect("a session");
    let restored = Session::from_storage(&stored).expect("reads back");
    assert!(
        restored.is_dpop_bound(),
        "token_type DPoP is kept in storage"
    );
    let bearer = signed_in_memory().stored().expect("a session");
    assert!(!Session::from_storage(&bearer)
        .expect("reads back")
        .is_dpop_bound());
    assert!(
        !bearer.contains("dpop"),
        "a bearer session's stored form is unchanged"
    );
}

#[test]
fn a_refresh_token_in_authorization_stays_bearer() {
    // flask-jwt-extended's logout revokes the refresh token with it as the bearer credential:
    // only the access token is DPoP-bound.
    let flask = config(
        r#"{"baseUrl": "https://api.test", "storage": "memory", "logout": [
            {"method": "DELETE"}, {"method": "DELETE", "bearer": "refresh"}]}"#,
    );
    let token = access("a1", 0.0, 1800.0);
    let mut fx = signed_in_with(flask, dpop_reply(&token));
    let logout = fx.feed(Event::Logout { op: OpId(2) }, 100.0);
    assert_eq!(
        authorizations(&logout),
        [Some(format!("DPoP {token}")), Some("Bearer r1".to_owned())]
    );
}
