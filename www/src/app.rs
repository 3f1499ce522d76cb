//! The router: the profile's API, test-mode routes, static files, and the outer layers.

use std::time::Duration;

use axum::{
    extract::{Request, State},
    handler::HandlerWithoutStateExt,
    http::{header, HeaderValue, Method},
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
    Router,
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{config::Profile, dpop, handlers as h, state::AppState, testmode};

/// Builds the whole application for `state`. Tests drive it with `tower::ServiceExt::oneshot`;
/// `main` serves it with connect info (for per-address login limits). With `--test-mode`, the
/// counters and faults of [`testmode`] belong to the router built here.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let mut api: Router<AppState> = match config.profile {
        Profile::Standard => Router::new()
            .route("/auth/signup", post(h::signup))
            .route("/auth/login", post(h::login_standard))
            .route("/auth/refresh", post(h::refresh_standard))
            .route("/auth/logout", post(h::logout))
            .route("/auth/me", get(h::me_standard))
            .route("/auth/change-password", post(h::change_password))
            .route("/dashboard", get(h::dashboard))
            .route("/admin/users", get(h::admin_users)),
        Profile::Minimal => Router::new()
            .route("/auth/login", post(h::login_minimal))
            .route("/auth/refresh", post(h::refresh_minimal))
            .route("/users/me", get(h::me_minimal)),
        Profile::V1 => Router::new()
            .route("/api/v1/login", post(h::login_v1))
            .route("/api/v1/me", get(h::me_v1)),
    };
    if config.dpop_nonce {
        api = api.layer(middleware::from_fn_with_state(
            state.clone(),
            send_dpop_nonce,
        ));
    }
    let finish = |api: Router<AppState>| {
        api.method_not_allowed_fallback(h::method_not_allowed)
            .merge(static_files(&config.static_dir, &config.pkg_dir))
            .with_state(state)
    };
    let mut router = if config.test_mode {
        testmode::install(api, config.profile, finish)
    } else {
        finish(api)
    };
    router = router.layer(TraceLayer::new_for_http());
    if let Some(cors) = cors(&config.cors_origins) {
        router = router.layer(cors);
    }
    router
}

/// `static_dir` at `/` (index.html for directories) and `pkg_dir` at `/pkg/`, revalidated on
/// every load so a rebuilt package is picked up. Missing files (or directories) are a JSON 404.
fn static_files(static_dir: &std::path::Path, pkg_dir: &std::path::Path) -> Router<AppState> {
    let serve = |dir: &std::path::Path| {
        ServeDir::new(dir)
            .call_fallback_on_method_not_allowed(true)
            .not_found_service(h::not_found.into_service())
    };
    Router::new()
        .nest_service("/pkg", serve(pkg_dir))
        .fallback_service(serve(static_dir))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

/// `--dpop-nonce`: every API reply, refusals included, carries the current nonce in
/// `DPoP-Nonce` (RFC 9449 §8.2), so a client always has the one to put in its next proof.
/// Read after the handler, so a rotation during the request is already in it.
async fn send_dpop_nonce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let nonce = state.dpop.current_nonce(state.clock.now_ms());
    if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert(dpop::DPOP_NONCE, value);
    }
    response
}

/// Credentialed CORS for the configured origins only; none configured, no CORS headers.
fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, dpop::DPOP])
            // `Date` is not CORS-safelisted: without it a cross-origin client cannot measure
            // its clock offset from the server's clock (the strongest evidence it has).
            // `DPoP-Nonce` and `WWW-Authenticate` carry what a DPoP client must retry with.
            .expose_headers([
                header::RETRY_AFTER,
                header::WWW_AUTHENTICATE,
                header::DATE,
                dpop::DPOP_NONCE,
            ])
            .max_age(Duration::from_secs(600)),
    )
}
