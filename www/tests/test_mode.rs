//! `--test-mode`: the switch, `/__stats`, `/__reset`, and fault injection.

mod common;

use std::time::{Duration, Instant};

use axum::http::{header, Method};
use common::*;
use serde_json::{json, Value};
use tokenkeeper_server::{Config, Profile};
use tower::ServiceExt;

fn test_mode() -> TestApp {
    TestApp::with(Config {
        test_mode: true,
        ..config()
    })
}

async fn arm(app: &TestApp, fault: Value) -> Reply {
    app.post_json("/__faults", None, fault).await
}

#[tokio::test]
async fn off_by_default_the_test_routes_do_not_exist() {
    let app = TestApp::new();
    assert_eq!(app.get("/__stats", None).await.status, 404);
    assert_eq!(app.post_empty("/__reset", None).await.status, 404);
    assert_eq!(arm(&app, json!({"status": 500})).await.status, 404);
}

#[tokio::test]
async fn stats_count_requests_and_statuses_per_route() {
    let app = test_mode();
    let pair = app.login(USER).await;
    app.login_attempt("user", "wrong").await;
    app.get("/auth/me", Some(&pair.str("access_token"))).await;
    app.get("/auth/me", None).await;
    app.get("/no-such-file.txt", None).await;
    let stats = app.get("/__stats", None).await;
    assert_eq!(stats.status, 200);
    assert_eq!(
        stats.json,
        json!({
            "total": 5,
            "routes": {
                "POST /auth/login": {"count": 2, "statuses": {"200": 1, "401": 1}},
                "GET /auth/me": {"count": 2, "statuses": {"200": 1, "401": 1}},
                "other": {"count": 1, "statuses": {"404": 1}},
            }
        })
    );
}

#[tokio::test]
async fn reset_forgets_sessions_accounts_counts_faults_and_limits() {
    let app = TestApp::with(Config {
        test_mode: true,
        login_limits: tokenkeeper_server::LoginLimits {
            per_account: 1,
            ..Default::default()
        },
        ..config()
    });
    let pair = app.login(USER).await;
    app.post_json(
        "/auth/signup",
        None,
        json!({"email": "temp@example.com", "password": "temp-password"}),
    )
    .await;
    app.login_attempt("admin", "wrong").await;
    assert_eq!(
        app.login_attempt("admin", "admin-password").await.status,
        429
    );
    arm(&app, json!({"endpoint": "me", "status": 500, "count": 5})).await;

    let r = app.post_empty("/__reset", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get("/__stats", None).await.json,
        json!({"total": 0, "routes": {}})
    );
    assert_eq!(app.get("/__faults", None).await.json, json!({}));
    app.login(ADMIN).await;
    app.login_attempt("temp@example.com", "temp-password")
        .await
        .assert_error(401, "Incorrect email or password");
    app.refresh(&pair.str("refresh_token"))
        .await
        .assert_error(401, "Invalid refresh token");
    // The access token names a user id from before the reset.
    app.get("/auth/me", Some(&pair.str("access_token")))
        .await
        .assert_error(401, "User not found");
}

#[tokio::test]
async fn the_next_n_refreshes_fail_with_the_armed_status_then_recover() {
    let app = test_mode();
    let pair = app.login(USER).await;
    let refresh = pair.str("refresh_token");
    let r = arm(
        &app,
        json!({"endpoint": "refresh", "count": 2, "status": 503}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        app.get("/__faults", None).await.json["refresh"]["remaining"],
        2
    );
    for _ in 0..2 {
        let r = app.refresh(&refresh).await;
        assert_eq!(r.status, 503);
        assert_eq!(r.json, json!({"detail": "Service Unavailable"}));
        assert_eq!(
            r.header("retry-after"),
            Some("1"),
            "503 gets the default Retry-After"
        );
    }
    // Other endpoints were never affected, and the token was never consumed.
    assert_eq!(
        app.get("/auth/me", Some(&pair.str("access_token")))
            .await
            .status,
        200
    );
    assert_eq!(app.refresh(&refresh).await.status, 200);
    let stats = app.get("/__stats", None).await.json;
    assert_eq!(
        stats["routes"]["POST /auth/refresh"]["statuses"],
        json!({"200": 1, "503": 2})
    );

    arm(&app, json!({"status": 500})).await;
    let r = app.refresh(&refresh).await;
    assert_eq!((r.status.as_u16(), r.header("retry-after")), (500, None));
    arm(&app, json!({"status": 429, "retry_after": 3})).await;
    let r = app.refresh(&refresh).await;
    assert_eq!(
        (r.status.as_u16(), r.header("retry-after")),
        (429, Some("3"))
    );
}

#[tokio::test]
async fn faults_can_target_login_and_me() {
    let app = test_mode();
    arm(&app, json!({"endpoint": "login", "status": 500})).await;
    assert_eq!(app.login_attempt("user", "user-password").await.status, 500);
    let token = app.login(USER).await.str("access_token");
    arm(
        &app,
        json!({"endpoint": "me", "status": 429, "retry_after": 7}),
    )
    .await;
    let r = app.get("/auth/me", Some(&token)).await;
    assert_eq!(
        (r.status.as_u16(), r.header("retry-after")),
        (429, Some("7"))
    );
    assert_eq!(app.get("/auth/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn a_delay_holds_the_request_then_serves_it() {
    let app = test_mode();
    let refresh = app.login(USER).await.str("refresh_token");
    arm(&app, json!({"delay_ms": 300})).await;
    let started = Instant::now();
    let r = app.refresh(&refresh).await;
    assert_eq!(r.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    // Delay and status together.
    arm(
        &app,
        json!({"delay_ms": 100, "status": 503, "retry_after": 2}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(app.refresh(&r.str("refresh_token")).await.status, 503);
    assert!(started.elapsed() >= Duration::from_millis(100));
}

/// Sends a request whose response body is expected to fail (a dropped connection).
async fn body_fails(app: &TestApp, refresh: &str) -> bool {
    let router = app.router.clone();
    let req = request(
        Method::POST,
        "/auth/refresh",
        None,
        Some((
            "application/json",
            json!({"refresh_token": refresh}).to_string(),
        )),
    );
    let response = router.oneshot(req).await.unwrap();
    axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .is_err()
}

#[tokio::test]
async fn drop_loses_the_request_or_only_the_response() {
    let app = test_mode();
    let refresh = app.login(USER).await.str("refresh_token");
    arm(&app, json!({"drop": true})).await;
    assert!(
        body_fails(&app, &refresh).await,
        "the response never completes"
    );
    // Dropped before the handler: the token was not rotated, so it still works normally.
    let next = app.refresh(&refresh).await;
    assert_eq!(next.status, 200);

    // After processing: the refresh happened but its reply was lost; the client retrying with
    // the same token inside the grace window gets the pair it missed.
    let token = next.str("refresh_token");
    arm(&app, json!({"drop": true, "after_processing": true})).await;
    assert!(body_fails(&app, &token).await);
    let retry = app.refresh(&token).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_ne!(retry.str("refresh_token"), token, "it had been rotated");
    let stats = app.get("/__stats", None).await.json;
    assert_eq!(
        stats["routes"]["POST /auth/refresh"]["statuses"]["dropped"],
        2
    );
}

#[tokio::test]
async fn fault_requests_are_validated() {
    let app = test_mode();
    for bad in [
        json!({"status": 200}),
        json!({"status": 700}),
        json!({"status": 500, "drop": true}),
        json!({}),
        json!({"status": 500, "count": 0}),
        json!({"delay_ms": 600_000}),
        json!({"endpoint": "nope", "status": 500}),
    ] {
        assert_eq!(arm(&app, bad.clone()).await.status, 422, "{bad}");
    }
    let v1 = TestApp::with(Config {
        profile: Profile::V1,
        test_mode: true,
        ..config()
    });
    let r = arm(&v1, json!({"endpoint": "refresh", "status": 500})).await;
    assert_eq!(r.status, 422, "v1 has no refresh endpoint");
    assert_eq!(
        arm(&v1, json!({"endpoint": "me", "status": 500}))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn injected_failures_carry_cors_headers() {
    let app = TestApp::with(Config {
        test_mode: true,
        cors_origins: vec!["http://localhost:9000".parse().unwrap()],
        ..config()
    });
    arm(&app, json!({"status": 503})).await;
    let mut req = request(
        Method::POST,
        "/auth/refresh",
        None,
        Some(("application/json", "{}".into())),
    );
    req.headers_mut()
        .insert(header::ORIGIN, "http://localhost:9000".parse().unwrap());
    let r = app.send(req).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:9000")
    );
}
