//! # tokenkeeper
//!
//! A client-side JWT session SDK: log in, keep tokens fresh, log out, against the JWT backends
//! that FastAPI tutorials teach (OAuth2 password form login, `/auth/refresh`, `/auth/logout`,
//! bearer tokens with `sub`, `exp`, `type` and `role`/`roles` claims).
//!
//! ## Design
//! - **Pure core, thin shell.** Everything that decides (decoding, time, roles, the refresh
//!   schedule, protocol shapes, the session state machine, errors) lives in private modules under
//!   `logic/` that never call into JavaScript, so plain `cargo test` covers them with a fixed
//!   clock. Browser adapters and the `#[wasm_bindgen]` facade only execute what the core decides.
//! - **One path.** Every API call, timer tick, reply and other tab's write becomes an
//!   [`Event`] for the [`SessionMachine`], which answers with [`Effect`]s (store, send, lock,
//!   set the timer, tell listeners, settle a call); the driver (`AuthClient`: in Rust with the
//!   default `driver` feature, in JavaScript in the npm package) executes them in order through
//!   its adapters, and their outcomes come back as events. The README's "How it is built" draws
//!   the path and names the modules.
//! - **Decoding is unverified.** The client never holds the signing key: claims are read without
//!   a signature check, and role checks on the client drive the UI only. The server decides.
//!
//! The JavaScript API is the npm package `tokenkeeper`; Rust apps (Yew, Leptos) use this crate.
#![deny(missing_docs)]

// Pure logic: no js-sys, web-sys, gloo or wasm-bindgen below this line.
mod logic;

// JSON text to values and back: serde_json natively, the JavaScript engine in wasm.
mod platform;

// Browser adapters and the Rust driver that executes the core's effects (feature `driver`; the
// npm package's driver is JavaScript, around `js::core::Core`).
#[cfg(feature = "driver")]
mod browser;

// The JavaScript facade: converts types, owns no logic.
mod js;

#[cfg(feature = "driver")]
pub use browser::client::{AuthClient, Subscription};
#[cfg(feature = "driver")]
pub use browser::storage::{BoxFuture, StorageChoice, TokenStorage};
pub use js::version;
pub use logic::config::{AuthClientOptions, Config, Endpoints, Profile, RefreshVia, StorageKind};
pub use logic::config::{EndpointOptions, LoginOptions, RefreshOptions, ResponseFieldOptions};
pub use logic::config::{ErrorFormat, LoginEncoding, LoginFormat, Override, RefreshFormat};
pub use logic::config::{ResponseFields, DEFAULT_ERROR_FIELDS};
pub use logic::error::{AuthError, ErrorCode};
pub use logic::json::{Json, JsonObject};
pub use logic::logout::{LogoutBearer, LogoutCall, LogoutCallOptions, LogoutMethod};
pub use logic::roles::{lookup_path, permissions, scopes, RoleClaims, DEFAULT_ROLE_CLAIMS};
pub use logic::session::{AuthEvent, Diagnostics, Effect, Event, Jitter, Outcome, Phase};
pub use logic::session::{ListenerId, LockId, OpId, RequestId, Session, SessionMachine};
pub use logic::time::TokenTiming;
pub use logic::time::{is_expired, ClockEvidence, ClockOffset, ClockSource, Timestamp};
pub use logic::token::{decode_unverified, Claims, DecodeError, UnverifiedToken};
pub use logic::token::{TimeClaim, TokenHeader, TokenPart, MAX_TOKEN_LEN};
#[cfg(feature = "verify")]
pub use logic::verify;
pub use logic::{protocol, schedule};

/// For tests only (`tests/browser_adapters.rs`): the browser adapters, which are not public API.
#[cfg(feature = "driver")]
#[doc(hidden)]
pub mod __adapters {
    pub use crate::browser::{http, lock, storage, tabs};
}

/// The npm package's allocator (feature `talc-allocator`): smaller and faster than dlmalloc.
#[cfg(all(target_arch = "wasm32", feature = "talc-allocator"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
