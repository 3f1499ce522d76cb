//! The tokenkeeper companion server: the JWT backend the demos and end-to-end suites log in
//! against, in the three shapes of the seed tutorials (`--profile standard|minimal|v1`).
//!
//! # Design
//!
//! - [`app`] builds the whole [`axum::Router`] from an [`AppState`]; `main` only parses flags,
//!   binds and serves. Tests drive the router with `tower::ServiceExt::oneshot`.
//! - State is configured from arguments ([`Config`]), never from the environment inside a
//!   handler, and its clock is injectable ([`Clock`]), so tests can use 2-second tokens or
//!   move time by hand.
//! - Every failure is one [`ApiError`], answered as FastAPI does (`{"detail": ...}`, 401 with
//!   `WWW-Authenticate: Bearer`, 422 with field errors); internal causes are logged, not sent.
//! - Storage is SQLite ([`db`]); passwords are argon2id; tokens are HS256 JWTs signed with
//!   jwt-compact. A login opens a *session* (the refresh token family); standard tokens carry
//!   its id as `sid`, so revoking the session revokes every token issued in it.
//! - Test mode sits on top, not inside: [`testmode`] depends on the production modules and
//!   none of them (state, extractors, handlers) depends on it; [`app()`] installs it only with
//!   `--test-mode`.
//!
//! | module | job |
//! |---|---|
//! | [`config`] | flags, environment, runtime configuration |
//! | `app.rs` ([`app()`]) | the router and its layers (CORS, static files, test mode) |
//! | [`handlers`] | the endpoints of the three profiles |
//! | [`extract`] | bearer-token users, client address (the extractors that need the state) |
//! | [`body`] | FastAPI-style bodies (form or JSON, 422 field errors); no state |
//! | [`profile`] | paths and detail strings per profile |
//! | [`tokens`] | claims, signing, verification |
//! | [`dpop`] | `--dpop`: DPoP proof checks (RFC 9449), key thumbprints, replay cache, nonces |
//! | [`db`] | schema, seed users, sessions, rotation with reuse detection, pruning |
//! | [`ratelimit`] | failed-login windows per account and per address |
//! | [`testmode`] | `--test-mode` only: `/__stats`, `/__reset`, `/__faults`, counts, faults |
//! | [`server`] | start-up, the `listening on` line, graceful shutdown |
#![deny(missing_docs)]

mod app;
pub mod body;
pub mod clock;
pub mod config;
pub mod db;
pub mod dpop;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod passwords;
pub mod profile;
pub mod ratelimit;
pub mod server;
pub mod state;
pub mod testmode;
pub mod tokens;

pub use app::app;
pub use clock::Clock;
pub use config::{Args, Config, DbLocation, HashCost, LoginLimits, Profile};
pub use db::Db;
pub use error::ApiError;
pub use state::AppState;
