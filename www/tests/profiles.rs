//! `--profile minimal` (seeds 002/004) and `--profile v1` (seed 001).

mod common;

use axum::http::Method;
use common::*;
use serde_json::json;
use tokenkeeper_server::{db, Config, Profile};

fn minimal(with_refresh: bool) -> TestApp {
    TestApp::with(Config {
        profile: Profile::Minimal,
        minimal_refresh_token: with_refresh,
        ..config()
    })
}

fn v1() -> TestApp {
    TestApp::with(Config {
        profile: Profile::V1,
        ..config()
    })
}

#[tokio::test]
async fn minimal_login_by_username_has_no_refresh_token_but_expires_in() {
    let app = minimal(false);
    let r = app.login(("user", "user-password")).await;
    let keys: Vec<_> = r.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["access_token", "expires_in", "token_type"]);
    assert_eq!(r.json["expires_in"], 900);
    assert_eq!(r.json["token_type"], "bearer");
    let claims = payload(&r.str("access_token"));
    assert_eq!(claims["sub"], "user", "seed 002: sub is the username");
    assert_eq!(claims["type"], "access");
    assert_eq!(claims["email"], "user@example.com");
    assert_eq!(claims["role"], "user");
    assert!(claims.get("sid").is_none());
    assert_eq!(claims["exp"], T0_MS / 1000 + 900);
}

#[tokio::test]
async fn minimal_me_and_its_errors() {
    let app = minimal(false);
    let token = app
        .login(("user", "user-password"))
        .await
        .str("access_token");
    let r = app.get("/users/me", Some(&token)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json,
        json!({"id": 2, "email": "user@example.com", "username": "user", "is_active": true})
    );
    app.get("/users/me", None)
        .await
        .assert_error(401, "Not authenticated");
    app.get("/users/me", Some("x.y.z"))
        .await
        .assert_error(401, "Could not validate credentials");
    app.advance(901.0);
    app.get("/users/me", Some(&token))
        .await
        .assert_error(401, "Could not validate credentials");
    // Routes of the other profiles are absent.
    assert_eq!(app.get("/auth/me", Some(&token)).await.status, 404);
    assert_eq!(
        app.post_empty("/auth/logout", Some(&token)).await.status,
        404
    );
}

#[tokio::test]
async fn minimal_login_errors() {
    let app = minimal(false);
    app.login_attempt("user", "wrong")
        .await
        .assert_error(401, "Incorrect username or password");
    app.login_attempt("inactive", "inactive-password")
        .await
        .assert_error(400, "Inactive user");
    let token = app
        .login(("user", "user-password"))
        .await
        .str("access_token");
    app.state
        .db
        .call_blocking(|c| db::set_active(c, 2, false))
        .unwrap();
    app.get("/users/me", Some(&token))
        .await
        .assert_error(400, "Inactive user");
}

#[tokio::test]
async fn minimal_refresh_by_query_parameter_with_the_opt_in_refresh_token() {
    let app = minimal(true);
    let login = app.login(("user", "user-password")).await;
    let refresh = login.str("refresh_token");
    assert_eq!(payload(&refresh)["type"], "refresh");
    assert_eq!(payload(&refresh)["sub"], "user");
    app.advance(60.0);
    let r = app
        .post_empty(&format!("/auth/refresh?refresh_token={refresh}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<_> = r.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["access_token", "token_type"],
        "seed 002/004: access token only"
    );
    let access = r.str("access_token");
    assert_eq!(payload(&access)["iat"], T0_MS / 1000 + 60);
    assert_eq!(app.get("/users/me", Some(&access)).await.status, 200);
    // No rotation: the same refresh token works again.
    assert_eq!(
        app.post_empty(&format!("/auth/refresh?refresh_token={refresh}"), None)
            .await
            .status,
        200
    );

    let r = app.post_empty("/auth/refresh", None).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["query", "refresh_token"]));
    app.post_empty("/auth/refresh?refresh_token=garbage", None)
        .await
        .assert_error(401, "Invalid refresh token");
    app.post_empty(&format!("/auth/refresh?refresh_token={access}"), None)
        .await
        .assert_error(401, "Invalid token type");
    assert_eq!(
        app.get(&format!("/auth/refresh?refresh_token={refresh}"), None)
            .await
            .status,
        405
    );
    app.advance(7.0 * 24.0 * 3600.0);
    app.post_empty(&format!("/auth/refresh?refresh_token={refresh}"), None)
        .await
        .assert_error(401, "Invalid refresh token");
}

#[tokio::test]
async fn v1_login_is_json_by_email_and_returns_only_an_access_token() {
    let app = v1();
    let r = app
        .post_json(
            "/api/v1/login",
            None,
            json!({"email": "admin@example.com", "password": "admin-password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<_> = r.json.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["access_token"]);
    let claims = payload(&r.str("access_token"));
    let keys: Vec<_> = claims.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["email", "exp", "id", "roles"], "seed 001's payload");
    assert_eq!(claims["id"], "1");
    assert_eq!(claims["roles"], json!(["admin"]));
    assert!(claims["exp"].is_f64(), "a float exp: {}", claims["exp"]);
    assert_eq!(
        claims["exp"].as_f64().unwrap(),
        (T0_MS as f64) / 1000.0 + 900.0
    );

    let token = r.str("access_token");
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(
        me.json,
        json!({"id": "1", "email": "admin@example.com", "roles": ["admin"]})
    );
    app.advance(900.5);
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_error(401, "Token has expired");
}

#[tokio::test]
async fn v1_float_exp_is_checked_exactly() {
    let app = v1();
    // Log in half a second into a second: exp = x.5, honoured to the fraction as PyJWT does.
    app.advance(0.5);
    let token = app
        .post_json(
            "/api/v1/login",
            None,
            json!({"email": "user@example.com", "password": "user-password"}),
        )
        .await
        .str("access_token");
    assert_eq!(payload(&token)["exp"].as_f64().unwrap().fract(), 0.5);
    app.advance(899.9); // exp - 0.1 s: past the whole second, still valid
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status, 200);
    app.advance(0.2); // exp + 0.1 s
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_error(401, "Token has expired");
}

#[tokio::test]
async fn v1_errors_and_missing_routes() {
    let app = v1();
    app.post_json(
        "/api/v1/login",
        None,
        json!({"email": "admin@example.com", "password": "nope"}),
    )
    .await
    .assert_error(401, "Incorrect email or password");
    // v1 looks up by email only.
    app.post_json(
        "/api/v1/login",
        None,
        json!({"email": "admin", "password": "admin-password"}),
    )
    .await
    .assert_error(401, "Incorrect email or password");
    app.post_json(
        "/api/v1/login",
        None,
        json!({"email": "inactive@example.com", "password": "inactive-password"}),
    )
    .await
    .assert_error(403, "User account is disabled");
    let r = app
        .post_json("/api/v1/login", None, json!({"email": "admin@example.com"}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["body", "password"]));
    // The form is not accepted: seed 001 takes a JSON body.
    let r = app
        .post_form(
            "/api/v1/login",
            "email=admin%40example.com&password=admin-password",
        )
        .await;
    assert_eq!(r.status, 422);
    app.get("/api/v1/me", None)
        .await
        .assert_error(401, "Not authenticated");
    app.get("/api/v1/me", Some("a.b.c"))
        .await
        .assert_error(401, "Invalid token");
    for (method, path) in [
        (Method::POST, "/auth/login"),
        (Method::POST, "/auth/refresh"),
        (Method::POST, "/auth/logout"),
        (Method::GET, "/auth/me"),
    ] {
        let r = app.send(request(method, path, None, None)).await;
        assert_eq!(r.status, 404, "{path}");
    }
}
