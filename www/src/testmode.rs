//! `--test-mode`: request counts per route, a reset, and fault injection for resilience tests.
//!
//! - `GET /__stats` → `{"total": n, "routes": {"POST /auth/refresh": {"count": n,
//!   "statuses": {"200": n, "503": n, "dropped": n}}}}` (the `/__*` routes are not counted).
//! - `POST /__reset` → forgets sessions, counts, faults and login failures, and restores the
//!   seed users.
//! - `POST /__faults` with `{"endpoint": "refresh", "count": 2, "status": 503, "retry_after": 3,
//!   "delay_ms": 500, "drop": false}` → the next `count` calls to that endpoint wait
//!   `delay_ms`, then answer `status` (with `Retry-After` for 429/503), or drop the connection
//!   without a response (`"drop": true`; add `"after_processing": true` to handle the request
//!   first and lose only the response), or, with neither, are served normally after the
//!   delay. `GET /__faults` lists what is pending.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    db,
    error::{ApiError, FieldError},
    extract::JsonBody,
    profile::Endpoint,
    state::AppState,
};

/// Counts per route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// All counted requests.
    pub total: u64,
    /// `"METHOD /path"` (the route pattern) → counts; `"other"` for static files and 404s.
    pub routes: BTreeMap<String, RouteStats>,
}

/// Counts for one route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouteStats {
    /// Requests.
    pub count: u64,
    /// Status code (or `"dropped"`) → requests.
    pub statuses: BTreeMap<String, u64>,
}

/// What a pending fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer this status (with `Retry-After` when set).
    Status {
        /// HTTP status.
        status: u16,
        /// Seconds.
        retry_after: Option<u64>,
    },
    /// Close the connection without a response; with `after_processing`, only once the
    /// request has been handled (a lost response: e.g. a refresh that rotated the token).
    Drop {
        /// Run the handler first.
        after_processing: bool,
    },
    /// Only delay, then serve normally.
    Pass,
}

/// A fault armed for the next `remaining` calls of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Calls left.
    pub remaining: u32,
    /// Milliseconds to wait first.
    pub delay_ms: u64,
    /// Then this.
    pub action: FaultAction,
}

/// Counters and pending faults.
#[derive(Debug, Default)]
pub struct TestTools {
    stats: Mutex<Stats>,
    faults: Mutex<HashMap<Endpoint, Fault>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TestTools {
    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    fn record(&self, route: String, status: String) {
        let mut stats = lock(&self.stats);
        stats.total += 1;
        let entry = stats.routes.entry(route).or_default();
        entry.count += 1;
        *entry.statuses.entry(status).or_default() += 1;
    }

    /// Arms (or replaces) the fault of an endpoint.
    pub fn arm(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.faults).insert(endpoint, fault);
    }

    /// Takes one use of the endpoint's fault, if any.
    fn take(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let fault = faults.get_mut(&endpoint)?;
        fault.remaining = fault.remaining.saturating_sub(1);
        let taken = *fault;
        if fault.remaining == 0 {
            faults.remove(&endpoint);
        }
        Some(taken)
    }

    /// Pending faults, by endpoint name.
    pub fn pending(&self) -> BTreeMap<Endpoint, Fault> {
        lock(&self.faults).iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Forgets counters and faults.
    pub fn clear(&self) {
        *lock(&self.stats) = Stats::default();
        lock(&self.faults).clear();
    }
}

/// Marks a response whose connection is to be dropped, so the counter can say so.
#[derive(Debug, Clone, Copy)]
struct Dropped;

/// Middleware: counts requests by route pattern and final status.
pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    if path.as_deref().is_some_and(|p| p.starts_with("/__")) {
        return next.run(req).await;
    }
    let route = match path {
        Some(p) => format!("{} {p}", req.method()),
        None => "other".to_owned(),
    };
    let response = next.run(req).await;
    let status = if response.extensions().get::<Dropped>().is_some() {
        "dropped".to_owned()
    } else {
        response.status().as_u16().to_string()
    };
    state.test_tools.record(route, status);
    response
}

/// Middleware: applies a pending fault to the endpoint it targets.
pub async fn inject_faults(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let profile = state.config.profile;
    let endpoint = req.extensions().get::<MatchedPath>().and_then(|matched| {
        Endpoint::ALL
            .into_iter()
            .find(|e| e.path(profile) == Some(matched.as_str()))
    });
    let Some(fault) = endpoint.and_then(|e| state.test_tools.take(e)) else {
        return next.run(req).await;
    };
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    match fault.action {
        FaultAction::Pass => next.run(req).await,
        FaultAction::Status {
            status,
            retry_after,
        } => ApiError::Injected {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            retry_after,
        }
        .into_response(),
        FaultAction::Drop { after_processing } => {
            if after_processing {
                drop(next.run(req).await);
            }
            // A body that fails before its first byte: hyper gives up on the connection
            // before the buffered status line is flushed, so the client gets no response.
            let failing = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "test mode: connection dropped on purpose",
                ))
            });
            let mut response = Response::new(Body::from_stream(failing));
            response.extensions_mut().insert(Dropped);
            response
        }
    }
}

/// `GET /__stats`.
pub async fn get_stats(State(state): State<AppState>) -> Json<Stats> {
    Json(state.test_tools.stats())
}

/// `POST /__reset`.
pub async fn reset(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let now = state.clock.now_secs();
    let passwords = state.passwords.clone();
    state
        .db
        .call(move |conn| db::reset(conn, &passwords, now))
        .await?;
    state.limiter.clear();
    state.test_tools.clear();
    Ok(Json(json!({ "message": "reset" })))
}

/// The body of `POST /__faults`.
#[derive(Debug, Default, Deserialize)]
pub struct FaultRequest {
    /// `login`, `refresh` (default), `logout` or `me`.
    pub endpoint: Option<Endpoint>,
    /// How many calls (default 1, at most 1000).
    pub count: Option<u32>,
    /// Status to answer (400–599).
    pub status: Option<u16>,
    /// `Retry-After` seconds (429 and 503 get the configured default when absent).
    pub retry_after: Option<u64>,
    /// Delay before acting, at most 60 000.
    pub delay_ms: Option<u64>,
    /// Drop the connection instead of answering.
    #[serde(default)]
    pub drop: bool,
    /// With `drop`: handle the request first, then drop (the response is lost).
    #[serde(default)]
    pub after_processing: bool,
}

/// `POST /__faults`.
pub async fn arm_fault(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<FaultRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let invalid = |field: &str, msg: &str| {
        ApiError::Validation(vec![FieldError::invalid("body", field, msg)])
    };
    let endpoint = req.endpoint.unwrap_or(Endpoint::Refresh);
    if endpoint.path(state.config.profile).is_none() {
        return Err(invalid("endpoint", "This profile has no such endpoint"));
    }
    let count = req.count.unwrap_or(1);
    if !(1..=1000).contains(&count) {
        return Err(invalid("count", "Count should be between 1 and 1000"));
    }
    let delay_ms = req.delay_ms.unwrap_or(0);
    if delay_ms > 60_000 {
        return Err(invalid("delay_ms", "Delay should be at most 60000 ms"));
    }
    let action = match (req.status, req.drop) {
        (Some(_), true) => return Err(invalid("drop", "Give either a status or drop, not both")),
        (Some(status), false) => {
            if !(400..=599).contains(&status) {
                return Err(invalid("status", "Status should be between 400 and 599"));
            }
            let default_retry =
                matches!(status, 429 | 503).then_some(state.config.fault_retry_after);
            FaultAction::Status {
                status,
                retry_after: req.retry_after.or(default_retry),
            }
        }
        (None, true) => FaultAction::Drop {
            after_processing: req.after_processing,
        },
        (None, false) if delay_ms > 0 => FaultAction::Pass,
        (None, false) => return Err(invalid("status", "Give a status, drop, or delay_ms")),
    };
    let fault = Fault {
        remaining: count,
        delay_ms,
        action,
    };
    state.test_tools.arm(endpoint, fault);
    Ok(Json(json!({ "endpoint": endpoint, "fault": fault })))
}

/// `GET /__faults`.
pub async fn list_faults(State(state): State<AppState>) -> Json<BTreeMap<Endpoint, Fault>> {
    Json(state.test_tools.pending())
}
