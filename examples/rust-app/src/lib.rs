//! # tokenkeeper from a Rust wasm app
//!
//! The client behind the npm package, used directly from Rust: no UI framework, no JavaScript
//! beyond what `wasm-bindgen --target web` generates and a two-line `index.html`. On start it
//! signs in to the companion server that serves the page (as the seed admin), prints the claims
//! and the refresh plan, calls `/auth/me` and `/dashboard` with the token, refreshes, and logs
//! out, writing each step into `<pre id="output">`.
//!
//! `examples/rust-app/build.sh` builds it into `web/wasm/`; serve `web/` from the companion
//! server (`--static-dir examples/rust-app/web`) and open the page.
//!
//! Natively the crate is empty, so `cargo test --workspace` builds nothing of it.
#![cfg(target_arch = "wasm32")]
#![deny(missing_docs)]

use tokenkeeper::{AuthClient, AuthClientOptions, AuthError, ErrorCode, StorageChoice};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The companion server's seed admin (www/README.md). A real app reads a form.
const USERNAME: &str = "admin@example.com";
const PASSWORD: &str = "admin-password";

/// Runs when the module is instantiated (`await init()` in `index.html`).
#[wasm_bindgen(start)]
pub fn start() {
    let out = Output::find();
    wasm_bindgen_futures::spawn_local(async move {
        match run(&out).await {
            Ok(()) => out.finish("done"),
            Err(error) => {
                out.line(&format!("failed: {} ({error})", error.code()));
                out.finish("error");
            }
        }
    });
}

async fn run(out: &Output) -> Result<(), AuthError> {
    let window = web_sys::window().expect("a browser window");
    // The companion server serves this page, so the auth API is on the page's own origin.
    let origin = window.location().origin().expect("the page's origin");

    // The JavaScript options object, field by field; storage is a separate argument.
    let mut options = AuthClientOptions::new(origin.clone());
    options.storage_key = Some("tokenkeeper-rust-example".into());
    let client = AuthClient::new(options, StorageChoice::Memory)?;
    out.line(&format!(
        "tokenkeeper {} against {origin}",
        tokenkeeper::version()
    ));

    let log = out.clone();
    let _subscription = client.on_auth_state_change(move |event, session| {
        let who = session
            .and_then(|s| s.claims().email().map(|email| format!(" ({email})")))
            .unwrap_or_default();
        log.line(&format!("event {event}{who}"));
    });

    // Every error carries a stable code to branch on (and never a token).
    match client.login(USERNAME, "not the password").await {
        Err(error) if error.code() == ErrorCode::InvalidCredentials => out.line(&format!(
            "wrong password: {} (HTTP {})",
            error.code(),
            error.status().unwrap_or_default()
        )),
        Err(error) => return Err(error),
        Ok(_) => return Err(AuthError::protocol("the server accepted a wrong password")),
    }

    let session = client.login(USERNAME, PASSWORD).await?;
    let claims = session.claims();
    out.line(&format!(
        "signed in: sub {} · email {} · type {}",
        claims.sub().unwrap_or_default(),
        claims.email().unwrap_or_default(),
        claims.token_type().unwrap_or_default(),
    ));
    out.line(&format!(
        "claims: {}",
        serde_json::to_string(claims.as_map()).unwrap_or_default()
    ));
    out.line(&format!(
        "has_role(\"admin\"): {}",
        client.has_role("admin")
    ));

    // When the background refresh will happen: before exp, by the (capped) margin.
    let diagnostics = client.diagnostics();
    if let (Some(expires), Some(next)) = (diagnostics.expires_at, diagnostics.next_refresh_at) {
        out.line(&format!(
            "next refresh {:.1} s before expiry",
            expires.duration_since(next).as_secs_f64()
        ));
    }

    let me = client.me().await?;
    out.line(&format!("me: {me}"));

    // Any request through the client carries the bearer token (for the origin of base_url).
    let request =
        web_sys::Request::new_with_str(&format!("{origin}/dashboard")).expect("a valid request");
    let response = client.fetch(request).await?;
    let body = match response.text() {
        Ok(text) => JsFuture::from(text).await.ok().and_then(|v| v.as_string()),
        Err(_) => None,
    };
    out.line(&format!(
        "GET /dashboard: {} {}",
        response.status(),
        body.unwrap_or_default()
    ));

    let refreshed = client.refresh().await?;
    let claims = refreshed.claims();
    if let (Some(iat), Some(exp)) = (claims.iat(), claims.exp()) {
        out.line(&format!(
            "refreshed: a new access token, valid {} s (exp − iat)",
            exp.duration_since(iat).as_secs()
        ));
    }

    client.logout().await?;
    out.line(&format!(
        "signed out: session() is {:?}",
        client.session().map(|_| "…")
    ));
    // Events are delivered asynchronously: let SIGNED_OUT reach the listener, then stop the
    // client's timers and listeners.
    next_tick().await;
    client.dispose();
    Ok(())
}

/// The page's `<pre id="output">`: one line per step.
#[derive(Clone)]
struct Output(web_sys::Element);

impl Output {
    fn find() -> Self {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .expect("a document");
        Self(
            document
                .get_element_by_id("output")
                .expect("index.html has <pre id=\"output\">"),
        )
    }

    fn line(&self, text: &str) {
        let _ = self
            .0
            .insert_adjacent_text("beforeend", &format!("{text}\n"));
    }

    /// Marks the run as over (`data-status`), for whoever watches the page.
    fn finish(&self, status: &str) {
        let _ = self.0.set_attribute("data-status", status);
    }
}

/// Resolves after the current task (a zero-delay timer).
async fn next_tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let window = web_sys::window().expect("a browser window");
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
}
