//! Sessions in the standard profile: refresh rotation, the grace window, reuse detection,
//! logout revocation, pruning, and cookie mode.

mod common;

use std::time::Duration;

use axum::http::{header, Method, Request};
use common::*;
use serde_json::json;
use tokenkeeper_server::{db, Config};

fn with_grace(secs: u64) -> Config {
    Config {
        refresh_grace: Duration::from_secs(secs),
        ..config()
    }
}

#[tokio::test]
async fn refresh_rotates_the_pair() {
    let app = TestApp::new();
    let first = app.login(USER).await;
    app.advance(30.0);
    let second = app.refresh(&first.str("refresh_token")).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.json["token_type"], "bearer");
    assert_eq!(second.header("cache-control"), Some("no-store"));
    let (a1, a2) = (
        payload(&first.str("access_token")),
        payload(&second.str("access_token")),
    );
    let (r1, r2) = (
        payload(&first.str("refresh_token")),
        payload(&second.str("refresh_token")),
    );
    assert_ne!(r1["jti"], r2["jti"], "a new refresh token");
    assert_eq!(r1["sid"], r2["sid"], "in the same session");
    assert_eq!(a2["sid"], a1["sid"]);
    assert_eq!(a2["iat"], T0_MS / 1000 + 30);
    assert_eq!(
        r2["exp"],
        T0_MS / 1000 + 30 + 7 * 24 * 3600,
        "sliding refresh lifetime"
    );
    assert_eq!(
        app.get("/auth/me", Some(&second.str("access_token")))
            .await
            .status,
        200
    );
    // The new refresh token rotates in turn.
    app.advance(30.0);
    assert_eq!(app.refresh(&second.str("refresh_token")).await.status, 200);
}

#[tokio::test]
async fn a_rotated_token_within_the_grace_window_gets_the_current_pair() {
    let app = TestApp::with(with_grace(10));
    let first = app.login(USER).await;
    let old = first.str("refresh_token");
    let winner = app.refresh(&old).await;
    app.advance(9.5);
    // The second tab, racing with the same token: no punishment, and the same refresh token
    // the winner got, so both tabs agree on what comes next.
    let loser = app.refresh(&old).await;
    assert_eq!(loser.status, 200, "{}", loser.text);
    assert_eq!(loser.str("refresh_token"), winner.str("refresh_token"));
    assert_ne!(loser.str("access_token"), winner.str("access_token"));
    assert_eq!(app.refresh(&winner.str("refresh_token")).await.status, 200);
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_whole_family() {
    let app = TestApp::with(with_grace(10));
    let first = app.login(USER).await;
    let other_session = app.login(USER).await;
    let second = app.refresh(&first.str("refresh_token")).await;
    app.advance(10.0);
    app.refresh(&first.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
    // Everything issued in that session is dead: the current refresh token and the access
    // tokens, old and new.
    app.refresh(&second.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
    app.get("/auth/me", Some(&second.str("access_token")))
        .await
        .assert_error(401, "Token has been revoked");
    app.get("/auth/me", Some(&first.str("access_token")))
        .await
        .assert_error(401, "Token has been revoked");
    // Other sessions of the same user are untouched.
    assert_eq!(
        app.get("/auth/me", Some(&other_session.str("access_token")))
            .await
            .status,
        200
    );
    assert_eq!(
        app.refresh(&other_session.str("refresh_token"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn with_no_grace_window_the_first_reuse_is_detected() {
    let app = TestApp::with(with_grace(0));
    let first = app.login(USER).await;
    let second = app.refresh(&first.str("refresh_token")).await;
    assert_eq!(second.status, 200);
    app.refresh(&first.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
    app.refresh(&second.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
}

#[tokio::test]
async fn refresh_errors() {
    let app = TestApp::new();
    let pair = app.login(USER).await;
    app.refresh("garbage")
        .await
        .assert_error(401, "Invalid refresh token");
    app.refresh(&pair.str("access_token"))
        .await
        .assert_error(401, "Invalid refresh token");
    // Validly signed but never issued as a refresh token here: another app's token.
    let stranger = TestApp::new().login(USER).await.str("refresh_token");
    app.refresh(&stranger)
        .await
        .assert_error(401, "Invalid refresh token");
    // Expired refresh token.
    app.advance(7.0 * 24.0 * 3600.0 + 1.0);
    app.refresh(&pair.str("refresh_token"))
        .await
        .assert_error(401, "Token has expired");
}

#[tokio::test]
async fn a_deactivated_user_cannot_refresh() {
    let app = TestApp::new();
    let pair = app.login(USER).await;
    app.state
        .db
        .call_blocking(|c| db::set_active(c, 2, false))
        .unwrap();
    app.refresh(&pair.str("refresh_token"))
        .await
        .assert_error(401, "User not found or inactive");
}

#[tokio::test]
async fn logout_revokes_the_access_token_and_the_refresh_family() {
    let app = TestApp::new();
    let pair = app.login(USER).await;
    let other = app.login(USER).await;
    let access = pair.str("access_token");
    let r = app.post_empty("/auth/logout", Some(&access)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"message": "Successfully logged out"}));
    app.get("/auth/me", Some(&access))
        .await
        .assert_error(401, "Token has been revoked");
    app.refresh(&pair.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
    app.post_empty("/auth/logout", Some(&access))
        .await
        .assert_error(401, "Token has been revoked");
    assert_eq!(
        app.get("/auth/me", Some(&other.str("access_token")))
            .await
            .status,
        200
    );
    app.post_empty("/auth/logout", None)
        .await
        .assert_error(401, "Not authenticated");
}

#[tokio::test]
async fn logout_with_an_expired_access_token_still_revokes_via_the_refresh_token() {
    let app = TestApp::new();
    let pair = app.login(USER).await;
    app.advance(901.0);
    let r = app
        .post_json(
            "/auth/logout",
            Some(&pair.str("access_token")),
            json!({"refresh_token": pair.str("refresh_token")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.refresh(&pair.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
}

#[tokio::test]
async fn revoked_sessions_are_kept_until_they_would_have_expired_then_pruned() {
    let app = TestApp::with(Config {
        access_ttl: Duration::from_secs(60),
        refresh_ttl: Duration::from_secs(300),
        ..config()
    });
    let pair = app.login(USER).await;
    let live = app.login(ADMIN).await;
    app.post_empty("/auth/logout", Some(&pair.str("access_token")))
        .await;
    let count = |table: &'static str| {
        app.state
            .db
            .call_blocking(move |c| db::count(c, table))
            .unwrap()
    };
    assert_eq!(count("sessions"), 2);
    app.advance(299.0);
    let pruned = app.state.prune().await.unwrap();
    assert_eq!(
        pruned.sessions, 0,
        "the revoked session is still remembered"
    );
    app.refresh(&pair.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
    // Refresh the live session at 299 s: its retention moves on.
    let live = app.refresh(&live.str("refresh_token")).await;
    app.advance(2.0);
    let pruned = app.state.prune().await.unwrap();
    assert_eq!(pruned.sessions, 1, "the revoked one, past every expiry");
    assert_eq!(count("sessions"), 1);
    assert_eq!(
        pruned.refresh_tokens, 2,
        "the revoked session's token and the rotated one"
    );
    assert_eq!(count("refresh_tokens"), 1);
    assert_eq!(
        app.get("/auth/me", Some(&live.str("access_token")))
            .await
            .status,
        200
    );
}

fn cookie_app() -> TestApp {
    TestApp::with(Config {
        cookie_mode: true,
        ..config()
    })
}

fn set_cookie(r: &Reply) -> String {
    r.header("set-cookie")
        .expect("a Set-Cookie header")
        .to_owned()
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix("refresh_token="))
        .unwrap()
        .to_owned()
}

fn with_cookie(path: &str, token: Option<&str>, cookie: &str) -> Request<axum::body::Body> {
    let mut req = request(Method::POST, path, token, None);
    req.headers_mut().insert(
        header::COOKIE,
        format!("refresh_token={cookie}").parse().unwrap(),
    );
    req
}

#[tokio::test]
async fn cookie_mode_keeps_the_refresh_token_out_of_javascripts_reach() {
    let app = cookie_app();
    let login = app.login(USER).await;
    assert!(login.json.get("refresh_token").is_none(), "{}", login.text);
    let c = set_cookie(&login);
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/auth"),
        "{c}"
    );
    assert!(c.contains("Max-Age=604800") && !c.contains("Secure"), "{c}");
    let token = cookie_value(&c);
    assert_eq!(payload(&token)["type"], "refresh");

    // Refresh with the cookie and no body.
    let r = app.send(with_cookie("/auth/refresh", None, &token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json.get("refresh_token").is_none());
    let rotated = cookie_value(&set_cookie(&r));
    assert_ne!(rotated, token);
    // The JSON body still works in cookie mode.
    let r = app.refresh(&rotated).await;
    assert_eq!(r.status, 200);
    let rotated = cookie_value(&set_cookie(&r));

    // No cookie at all.
    app.post_empty("/auth/refresh", None)
        .await
        .assert_error(401, "Not authenticated");
    // A refused cookie is cleared.
    let r = app
        .send(with_cookie("/auth/refresh", None, "garbage"))
        .await;
    r.assert_error(401, "Invalid refresh token");
    assert!(set_cookie(&r).contains("Max-Age=0"));

    // Logout clears the cookie and revokes its session.
    let r = app.send(with_cookie("/auth/logout", None, &rotated)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(set_cookie(&r).contains("Max-Age=0"));
    let r = app.send(with_cookie("/auth/refresh", None, &rotated)).await;
    r.assert_error(401, "Token has been revoked");
}
