//! The standard profile (seeds 000/003): every endpoint, its reply shape and its errors.

mod common;

use axum::http::Method;
use common::*;
use serde_json::json;

#[tokio::test]
async fn login_with_the_oauth2_form_returns_a_pair_with_the_documented_claims() {
    let app = TestApp::new();
    let r = app.login(ADMIN).await;
    assert_eq!(r.json["token_type"], "bearer");
    assert!(
        r.json.get("expires_in").is_none(),
        "seed 000's shape: no expires_in"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let access = payload(&r.str("access_token"));
    let now = T0_MS / 1000;
    assert_eq!(access["sub"], "1");
    assert_eq!(access["type"], "access");
    assert_eq!(access["role"], "admin");
    assert_eq!(access["email"], "admin@example.com");
    assert_eq!(access["iat"], now);
    assert_eq!(access["exp"], now + 900);
    assert_eq!(access["jti"].as_str().unwrap().len(), 32);
    let refresh = payload(&r.str("refresh_token"));
    assert_eq!(refresh["type"], "refresh");
    assert_eq!(refresh["sub"], "1");
    assert_eq!(refresh["exp"], now + 7 * 24 * 3600);
    assert_eq!(
        refresh["sid"], access["sid"],
        "both tokens name the same session"
    );
    assert_ne!(refresh["jti"], access["jti"]);
}

#[tokio::test]
async fn login_accepts_json_and_the_username_too() {
    let app = TestApp::new();
    let r = app
        .post_json(
            "/auth/login",
            None,
            json!({"username": "admin@example.com", "password": "admin-password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.login(("USER", "user-password")).await;
    assert_eq!(payload(&r.str("access_token"))["email"], "user@example.com");
}

#[tokio::test]
async fn login_errors() {
    let app = TestApp::new();
    app.login_attempt("admin@example.com", "wrong")
        .await
        .assert_error(401, "Incorrect email or password");
    app.login_attempt("nobody@example.com", "admin-password")
        .await
        .assert_error(401, "Incorrect email or password");
    let (email, password) = INACTIVE;
    app.login_attempt(email, password)
        .await
        .assert_error(403, "User account is disabled");
    // An inactive account with a wrong password says nothing about being inactive.
    app.login_attempt(email, "wrong")
        .await
        .assert_error(401, "Incorrect email or password");
}

#[tokio::test]
async fn missing_or_malformed_bodies_are_422_like_fastapi() {
    let app = TestApp::new();
    let r = app
        .post_form("/auth/login", "username=admin%40example.com")
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json,
        json!({"detail": [{"type": "missing", "loc": ["body", "password"], "msg": "Field required"}]})
    );
    let r = app.post_empty("/auth/login", None).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail().as_array().unwrap().len(), 2);
    let r = app
        .send(request(
            Method::POST,
            "/auth/login",
            None,
            Some(("application/json", "{not json".into())),
        ))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "json_invalid");
    let r = app
        .post_json("/auth/login", None, json!({"username": 5, "password": "x"}))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["body"]));
    let r = app.post_json("/auth/refresh", None, json!({})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["body", "refresh_token"]));
}

#[tokio::test]
async fn me_dashboard_and_admin() {
    let app = TestApp::new();
    let admin = app.login(ADMIN).await.str("access_token");
    let user = app.login(USER).await.str("access_token");

    let r = app.get("/auth/me", Some(&user)).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json,
        json!({"id": "2", "email": "user@example.com", "username": "user", "name": "Uma User",
               "role": "user", "is_active": true})
    );
    let r = app.get("/dashboard", Some(&user)).await;
    assert_eq!(r.json, json!({"message": "Welcome Uma User!"}));

    let r = app.get("/admin/users", Some(&admin)).await;
    assert_eq!(r.status, 200);
    let emails: Vec<_> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].clone())
        .collect();
    assert_eq!(
        emails,
        [
            "admin@example.com",
            "user@example.com",
            "inactive@example.com"
        ]
    );
    app.get("/admin/users", Some(&user))
        .await
        .assert_error(403, "Admin access required");
}

#[tokio::test]
async fn protected_routes_refuse_missing_bad_expired_and_wrong_type_tokens() {
    let app = TestApp::new();
    let pair = app.login(USER).await;
    let access = pair.str("access_token");
    for path in ["/auth/me", "/dashboard", "/admin/users"] {
        app.get(path, None)
            .await
            .assert_error(401, "Not authenticated");
        app.get(path, Some("garbage"))
            .await
            .assert_error(401, "Invalid token");
    }
    // A changed signature.
    let (signed, signature) = access.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{signed}.{first}{}", &signature[1..]);
    app.get("/auth/me", Some(&forged))
        .await
        .assert_error(401, "Invalid token");
    // A refresh token is not an access token.
    app.get("/auth/me", Some(&pair.str("refresh_token")))
        .await
        .assert_error(401, "Invalid token type");
    // Expiry: valid through exp, refused after.
    app.advance(900.0);
    assert_eq!(app.get("/auth/me", Some(&access)).await.status, 200);
    app.advance(1.0);
    app.get("/auth/me", Some(&access))
        .await
        .assert_error(401, "Token has expired");
}

#[tokio::test]
async fn deactivated_users_are_refused_on_protected_routes() {
    let app = TestApp::new();
    let access = app.login(USER).await.str("access_token");
    app.state
        .db
        .call_blocking(|c| tokenkeeper_server::db::set_active(c, 2, false))
        .unwrap();
    app.get("/auth/me", Some(&access))
        .await
        .assert_error(403, "Inactive user");
    app.get("/dashboard", Some(&access))
        .await
        .assert_error(403, "Inactive user");
}

#[tokio::test]
async fn signup_then_login() {
    let app = TestApp::new();
    let r = app
        .post_json(
            "/auth/signup",
            None,
            json!({"email": "new@example.com", "password": "SecurePass123!", "name": "New Person"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["email"], "new@example.com");
    assert_eq!(r.json["username"], "new@example.com");
    assert_eq!(r.json["role"], "user");
    assert_eq!(r.json["id"], "4");
    assert!(r.json.get("password_hash").is_none());
    let token = app
        .login(("new@example.com", "SecurePass123!"))
        .await
        .str("access_token");
    assert_eq!(
        app.get("/auth/me", Some(&token)).await.json["name"],
        "New Person"
    );

    app.post_json(
        "/auth/signup",
        None,
        json!({"email": "NEW@example.com", "password": "another-pass"}),
    )
    .await
    .assert_error(400, "Email already registered");
    app.post_json(
        "/auth/signup",
        None,
        json!({"email": "x@example.com", "username": "admin", "password": "another-pass"}),
    )
    .await
    .assert_error(400, "Username already registered");
    let r = app
        .post_json(
            "/auth/signup",
            None,
            json!({"email": "bad", "password": "long-enough"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.detail()[0]["loc"].clone()),
        (422, json!(["body", "email"]))
    );
    let r = app
        .post_json(
            "/auth/signup",
            None,
            json!({"email": "ok@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["type"], "string_too_short");
    let r = app
        .post_json(
            "/auth/signup",
            None,
            json!({"email": "ok@example.com", "username": "a@b", "password": "long-enough"}),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.detail()[0]["loc"].clone()),
        (422, json!(["body", "username"]))
    );
}

#[tokio::test]
async fn change_password_keeps_this_session_and_revokes_the_others() {
    let app = TestApp::new();
    let here = app.login(USER).await;
    let elsewhere = app.login(USER).await;
    let token = here.str("access_token");

    let r = app
        .post_json(
            "/auth/change-password",
            Some(&token),
            json!({"current_password": "wrong-one", "new_password": "brand-new-pass"}),
        )
        .await;
    r.assert_error(400, "Current password is incorrect");
    let r = app
        .post_json(
            "/auth/change-password",
            Some(&token),
            json!({"current_password": "user-password", "new_password": "short"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.detail()[0]["loc"], json!(["body", "new_password"]));
    app.post_json("/auth/change-password", None, json!({}))
        .await
        .assert_error(401, "Not authenticated");

    let r = app
        .post_json(
            "/auth/change-password",
            Some(&token),
            json!({"current_password": "user-password", "new_password": "brand-new-pass"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, json!({"message": "Password changed successfully"}));

    assert_eq!(
        app.get("/auth/me", Some(&token)).await.status,
        200,
        "this session stays"
    );
    app.get("/auth/me", Some(&elsewhere.str("access_token")))
        .await
        .assert_error(401, "Token has been revoked");
    app.refresh(&elsewhere.str("refresh_token"))
        .await
        .assert_error(401, "Token has been revoked");
    app.login_attempt("user@example.com", "user-password")
        .await
        .assert_error(401, "Incorrect email or password");
    app.login(("user@example.com", "brand-new-pass")).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_like_fastapi() {
    let app = TestApp::new();
    let r = app.get("/nope", None).await;
    assert_eq!(
        (r.status.as_u16(), r.json.clone()),
        (404, json!({"detail": "Not Found"}))
    );
    let r = app.post_empty("/nope", None).await;
    assert_eq!(r.status, 404);
    let r = app.get("/auth/login", None).await;
    assert_eq!(
        (r.status.as_u16(), r.json.clone()),
        (405, json!({"detail": "Method Not Allowed"}))
    );
    // Routes of the other profiles do not exist here.
    assert_eq!(app.get("/users/me", None).await.status, 404);
    assert_eq!(app.post_empty("/api/v1/login", None).await.status, 404);
}

#[tokio::test]
async fn a_different_secret_invalidates_tokens() {
    let a = TestApp::new();
    let b = TestApp::new();
    let token = a.login(ADMIN).await.str("access_token");
    b.get("/auth/me", Some(&token))
        .await
        .assert_error(401, "Invalid token");
}

/// `--iat-age` (test mode) imitates djangorestframework-simplejwt before 5.5: refreshed access
/// tokens carry an old `iat` while `exp` is now + lifetime. Client skew tests need that server.
#[tokio::test]
async fn iat_age_stamps_access_tokens_with_an_old_iat_and_a_fresh_exp() {
    let app = TestApp::with(tokenkeeper_server::Config {
        test_mode: true,
        iat_age: std::time::Duration::from_secs(3600),
        ..config()
    });
    let now = T0_MS / 1000;
    let login = app.login(ADMIN).await;
    let access = payload(&login.str("access_token"));
    assert_eq!(access["iat"], now - 3600);
    assert_eq!(access["exp"], now + 900);
    app.advance(60.0);
    let refreshed = app.refresh(&login.str("refresh_token")).await;
    let access = payload(&refreshed.str("access_token"));
    assert_eq!(access["iat"], now + 60 - 3600);
    assert_eq!(access["exp"], now + 60 + 900);
    // The tokens still work.
    let me = app
        .get("/auth/me", Some(&refreshed.str("access_token")))
        .await;
    assert_eq!(me.status.as_u16(), 200);
}
