//! Helpers shared by the integration tests: an app on an in-memory database with a manual
//! clock and cheap password hashing, driven with `tower::ServiceExt::oneshot`.
#![allow(dead_code)]

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, HeaderMap, Method, Request, StatusCode},
    Router,
};
use serde_json::Value;
use tokenkeeper_server::{app, AppState, Clock, Config, Db, HashCost};
use tower::ServiceExt;

/// 2027-01-15T08:00:00Z: a fixed start so tests never depend on the wall clock.
pub const T0_MS: i64 = 1_800_000_000_000;

pub const ADMIN: (&str, &str) = ("admin@example.com", "admin-password");
pub const USER: (&str, &str) = ("user@example.com", "user-password");
pub const INACTIVE: (&str, &str) = ("inactive@example.com", "inactive-password");

pub struct TestApp {
    pub state: AppState,
    pub clock: Clock,
    /// The app under test (test-mode counters and faults belong to it, not to the state).
    pub router: Router,
}

/// A reply, with the body parsed as JSON when it is JSON (`Value::Null` otherwise).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn detail(&self) -> &Value {
        &self.json["detail"]
    }

    pub fn str(&self, field: &str) -> String {
        self.json[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field:?} in {}", self.text))
            .to_owned()
    }

    /// Asserts a FastAPI error: status, detail string, and the bearer challenge on 401.
    #[track_caller]
    pub fn assert_error(&self, status: u16, detail: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(
            self.json,
            serde_json::json!({ "detail": detail }),
            "status {status}"
        );
        assert_eq!(
            self.header("www-authenticate"),
            (status == 401).then_some("Bearer"),
            "WWW-Authenticate on {status}"
        );
    }
}

/// The default configuration with fast hashing.
pub fn config() -> Config {
    Config {
        hash_cost: HashCost::INSECURE_FAST,
        ..Config::default()
    }
}

impl TestApp {
    pub fn new() -> Self {
        Self::with(config())
    }

    pub fn with(config: Config) -> Self {
        let clock = Clock::manual(T0_MS);
        let state = AppState::new(config, Db::memory().unwrap(), None, clock.clone()).unwrap();
        Self {
            router: app(state.clone()),
            state,
            clock,
        }
    }

    pub fn advance(&self, secs: f64) {
        self.clock.advance(Duration::from_secs_f64(secs));
    }

    /// Sends `req` as if from 127.0.0.1.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        self.send_from(IpAddr::from([127, 0, 0, 1]), req).await
    }

    pub async fn send_from(&self, ip: IpAddr, mut req: Request<Body>) -> Reply {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
        let response = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status: parts.status,
            headers: parts.headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(request(Method::GET, path, token, None)).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(request(
            Method::POST,
            path,
            token,
            Some(("application/json", body.to_string())),
        ))
        .await
    }

    pub async fn post_form(&self, path: &str, form: &str) -> Reply {
        self.send(request(
            Method::POST,
            path,
            None,
            Some(("application/x-www-form-urlencoded", form.to_owned())),
        ))
        .await
    }

    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(request(Method::POST, path, token, None)).await
    }

    /// Form login; asserts 200 and returns the reply.
    pub async fn login(&self, (username, password): (&str, &str)) -> Reply {
        let r = self.login_attempt(username, password).await;
        assert_eq!(r.status, 200, "login {username}: {}", r.text);
        r
    }

    pub async fn login_attempt(&self, username: &str, password: &str) -> Reply {
        self.post_form(
            "/auth/login",
            &form(&[("username", username), ("password", password)]),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post_json(
            "/auth/refresh",
            None,
            serde_json::json!({ "refresh_token": refresh_token }),
        )
        .await
    }
}

pub fn request(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some((content_type, body)) => b
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// `application/x-www-form-urlencoded` encoding.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The JSON payload of a JWT, unverified (base64url, no padding).
pub fn payload(token: &str) -> Value {
    let segment = token.split('.').nth(1).expect("three segments");
    serde_json::from_slice(&base64url(segment)).expect("JSON payload")
}

fn base64url(s: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c}"),
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

/// A fresh, empty directory under the system temp dir, deleted when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tokenkeeper-server-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn join(&self, path: &str) -> std::path::PathBuf {
        self.0.join(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
