//! Failed-login limits (per account, per client address, 429 + Retry-After) and CORS.

mod common;

use std::{net::IpAddr, time::Duration};

use axum::http::{header, Method, Request};
use common::*;
use serde_json::json;
use tokenkeeper_server::{Config, LoginLimits};

fn limited(per_account: u32, per_address: u32, window_secs: u64) -> TestApp {
    TestApp::with(Config {
        login_limits: LoginLimits {
            per_account,
            per_address,
            window: Duration::from_secs(window_secs),
        },
        ..config()
    })
}

fn login_req(username: &str, password: &str) -> Request<axum::body::Body> {
    request(
        Method::POST,
        "/auth/login",
        None,
        Some((
            "application/x-www-form-urlencoded",
            form(&[("username", username), ("password", password)]),
        )),
    )
}

#[tokio::test]
async fn an_account_is_locked_after_its_failures_even_with_the_right_password() {
    let app = limited(3, 100, 60);
    for _ in 0..3 {
        app.login_attempt("user@example.com", "wrong")
            .await
            .assert_error(401, "Incorrect email or password");
    }
    let r = app.login_attempt("user@example.com", "user-password").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.header("retry-after"), Some("60"));
    assert!(r
        .detail()
        .as_str()
        .unwrap()
        .contains("Too many failed login attempts"));
    // The same account under its username is the same account.
    assert_eq!(app.login_attempt("user", "user-password").await.status, 429);
    // Other accounts are not affected.
    app.login(ADMIN).await;
    // Waiting Retry-After is enough.
    app.advance(59.0);
    assert_eq!(
        app.login_attempt("user@example.com", "user-password")
            .await
            .header("retry-after"),
        Some("1")
    );
    app.advance(1.0);
    app.login(USER).await;
}

#[tokio::test]
async fn a_successful_login_clears_the_account_failures() {
    let app = limited(3, 100, 60);
    for _ in 0..2 {
        app.login_attempt("user", "wrong").await;
    }
    app.login(USER).await;
    for _ in 0..2 {
        app.login_attempt("user", "wrong").await;
    }
    app.login(USER).await;
}

#[tokio::test]
async fn a_client_address_is_limited_across_accounts() {
    let app = limited(100, 4, 60);
    let attacker: IpAddr = [10, 0, 0, 66].into();
    let bystander: IpAddr = [10, 0, 0, 7].into();
    for (i, who) in ["a@x.io", "b@x.io", "c@x.io", "d@x.io"].iter().enumerate() {
        app.advance(1.0);
        let r = app.send_from(attacker, login_req(who, "guess")).await;
        assert_eq!(r.status, 401, "attempt {i}");
    }
    let r = app
        .send_from(attacker, login_req("admin@example.com", "admin-password"))
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.header("retry-after"),
        Some("57"),
        "the first failure leaves the window in 57 s"
    );
    let r = app
        .send_from(bystander, login_req("admin@example.com", "admin-password"))
        .await;
    assert_eq!(r.status, 200, "another address is fine");
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_logins() {
    let app = limited(2, 100, 60);
    let token = app.login(USER).await.str("access_token");
    let change = |current: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            app.post_json(
                "/auth/change-password",
                Some(&token),
                json!({"current_password": current, "new_password": "another-password"}),
            )
            .await
        }
    };
    assert_eq!(change("wrong-1").await.status, 400);
    assert_eq!(change("wrong-2").await.status, 400);
    let r = change("user-password").await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn v1_and_minimal_logins_are_limited_too() {
    for profile in [
        tokenkeeper_server::Profile::V1,
        tokenkeeper_server::Profile::Minimal,
    ] {
        let app = TestApp::with(Config {
            profile,
            login_limits: LoginLimits {
                per_account: 1,
                per_address: 100,
                window: Duration::from_secs(30),
            },
            ..config()
        });
        let path = if profile == tokenkeeper_server::Profile::V1 {
            "/api/v1/login"
        } else {
            "/auth/login"
        };
        let body =
            json!({"email": "user@example.com", "username": "user@example.com", "password": "x"});
        assert_eq!(app.post_json(path, None, body.clone()).await.status, 401);
        let r = app.post_json(path, None, body).await;
        assert_eq!(
            (r.status.as_u16(), r.header("retry-after")),
            (429, Some("30")),
            "{profile:?}"
        );
    }
}

fn cors_app() -> TestApp {
    TestApp::with(Config {
        cors_origins: vec!["http://127.0.0.1:9000".parse().unwrap()],
        ..config()
    })
}

#[tokio::test]
async fn preflight_from_an_allowed_origin() {
    let app = cors_app();
    let req = Request::builder()
        .method(Method::OPTIONS)
        .uri("/auth/login")
        .header(header::ORIGIN, "http://127.0.0.1:9000")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert!(r.status.is_success(), "{}", r.status);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:9000")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let allowed = r
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
}

#[tokio::test]
async fn actual_requests_expose_retry_after_www_authenticate_and_date() {
    let app = cors_app();
    let mut req = request(Method::GET, "/auth/me", None, None);
    req.headers_mut()
        .insert(header::ORIGIN, "http://127.0.0.1:9000".parse().unwrap());
    let r = app.send(req).await;
    r.assert_error(401, "Not authenticated");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:9000")
    );
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("retry-after")
            && exposed.contains("www-authenticate")
            && exposed.contains("date"),
        "{exposed}"
    );
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    for app in [cors_app(), TestApp::new()] {
        let mut req = request(Method::GET, "/auth/me", None, None);
        req.headers_mut()
            .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        let r = app.send(req).await;
        // Without a matching Allow-Origin the browser withholds the response (tower-http
        // still sends Allow-Credentials, which means nothing on its own).
        assert_eq!(r.header("access-control-allow-origin"), None);
    }
}
