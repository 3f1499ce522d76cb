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
//! - `POST /__dpop-nonce` (with `--dpop-nonce`) → `{"nonce": "…"}`: a new DPoP nonce at once;
//!   every nonce handed out before is stale from then on.
//!
//! None of this is in the production state: [`install`] makes one [`TestTools`] per router
//! and hands it to the middlewares as their state and to the `/__*` handlers as an
//! [`Extension`]. The tools themselves (`tools.rs`) are a leaf module.

mod tools;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Extension, Json, Router,
};
use serde::Deserialize;
use serde_json::json;

pub use self::tools::{Fault, FaultAction, RouteStats, Stats, TestTools};
use crate::{
    body::JsonBody,
    config::Profile,
    db,
    error::{ApiError, FieldError},
    profile::Endpoint,
    state::AppState,
};

/// Test mode on the app: `api` (the profile's routes) gets fault injection and is joined by
/// the `/__*` routes; `finish` makes that the whole app (fallbacks, static files, state);
/// then every request except the `/__*` ones is counted. The `/__*` routes are added before
/// `finish` so that they get the app's JSON 405, and after the fault layer so that they are
/// never faulted.
pub fn install(
    api: Router<AppState>,
    profile: Profile,
    finish: impl FnOnce(Router<AppState>) -> Router,
) -> Router {
    let tools = Arc::new(TestTools::new(profile));
    let test_routes = Router::new()
        .route("/__stats", get(get_stats))
        .route("/__reset", post(reset))
        .route("/__faults", get(list_faults).post(arm_fault))
        .route("/__dpop-nonce", post(new_dpop_nonce))
        .layer(Extension(Arc::clone(&tools)));
    let api = api
        .layer(middleware::from_fn_with_state(
            Arc::clone(&tools),
            inject_faults,
        ))
        .merge(test_routes);
    finish(api).layer(middleware::from_fn_with_state(tools, count_requests))
}

/// Marks a response whose connection is to be dropped, so the counter can say so.
#[derive(Debug, Clone, Copy)]
struct Dropped;

/// Middleware: counts requests by route pattern and final status.
async fn count_requests(State(tools): State<Arc<TestTools>>, req: Request, next: Next) -> Response {
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
    tools.record(route, status);
    response
}

/// Middleware: applies a pending fault to the endpoint it targets.
async fn inject_faults(State(tools): State<Arc<TestTools>>, req: Request, next: Next) -> Response {
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|matched| tools.endpoint_at(matched.as_str()));
    let Some(fault) = endpoint.and_then(|e| tools.take(e)) else {
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
async fn get_stats(Extension(tools): Extension<Arc<TestTools>>) -> Json<Stats> {
    Json(tools.stats())
}

/// `POST /__reset`.
async fn reset(
    State(state): State<AppState>,
    Extension(tools): Extension<Arc<TestTools>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = state.clock.now_secs();
    let passwords = state.passwords.clone();
    state
        .db
        .call(move |conn| db::reset(conn, &passwords, now))
        .await?;
    state.limiter.clear();
    state.dpop.clear_replay_cache();
    tools.clear();
    Ok(Json(json!({ "message": "reset" })))
}

/// `POST /__dpop-nonce`: replaces the DPoP nonce now, so that tests need not wait
/// `NONCE_ROTATION_SECS` to see a stale one. 400 without `--dpop-nonce`.
async fn new_dpop_nonce(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match state.dpop.force_new_nonce(state.clock.now_ms())? {
        Some(nonce) => Ok(Json(json!({ "nonce": nonce }))),
        None => Err(ApiError::BadRequest("The server runs without --dpop-nonce")),
    }
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
async fn arm_fault(
    State(state): State<AppState>,
    Extension(tools): Extension<Arc<TestTools>>,
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
    tools.arm(endpoint, fault);
    Ok(Json(json!({ "endpoint": endpoint, "fault": fault })))
}

/// `GET /__faults`.
async fn list_faults(
    Extension(tools): Extension<Arc<TestTools>>,
) -> Json<BTreeMap<Endpoint, Fault>> {
    Json(tools.pending())
}
