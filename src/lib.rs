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
//! - **Decoding is unverified.** The client never holds the signing key: claims are read without
//!   a signature check, and role checks on the client drive the UI only. The server decides.
//!
//! The JavaScript API is the npm package `tokenkeeper`; Rust apps (Yew, Leptos) use this crate.
#![deny(missing_docs)]

// Pure logic: no js-sys, web-sys, gloo or wasm-bindgen below this line.
mod logic;

// The JavaScript facade: converts types, owns no logic.
mod js;

pub use js::version;
