//! Executes the core's [`HttpRequest`]s with `fetch` and hands back [`HttpReply`]s.
//!
//! Any HTTP status is a reply: the core maps 4xx and 5xx to errors (`protocol::error_for`).
//! Only a missing response is an error here, always `network`: offline, DNS, CORS, an abort, the
//! request's timeout, a failure while reading the body, or a request the browser refuses to build
//! (e.g. a header value with a newline). The one exception is a body too large to copy into wasm
//! memory safely ([`MAX_REPLY_CHARS`]): a `protocol` error.
//!
//! Requests are built with gloo-net's [`RequestBuilder`] (URL resolution against the page, query
//! merging) and sent with the *global* `fetch`, so the same code runs in pages, workers and Node.
//! We bind `fetch` ourselves with `catch` instead of calling gloo-net's `Request::send`, which
//! panics when `fetch` resolves to something that is not a `Response` (a mocked or polyfilled
//! `fetch`): a panic would kill the wasm module for the whole page. Headers are set through
//! `web_sys::Headers` for the same reason (gloo-net's `Headers::set` calls `unwrap_throw`).
//!
//! Messages name the endpoint and the JavaScript error's `name` only. A JavaScript message or the
//! URL could carry a refresh token (the `minimal` profile sends it in the query string).

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use gloo_net::http::{Request, RequestBuilder};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, RequestCredentials};

use crate::logic::error::AuthError;
use crate::logic::protocol::{Credentials, HttpReply, HttpRequest, Method};
use crate::logic::session::MAX_TIMER_DELAY;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (window, worker or Node), looked up at call time so a test or an app
    /// may wrap it. `catch`: a replaced `fetch` may throw synchronously.
    #[wasm_bindgen(catch, js_name = fetch)]
    pub(crate) fn global_fetch(request: &web_sys::Request) -> Result<JsValue, JsValue>;
}

/// The longest reply body read, in UTF-16 code units (a JS string's `length`): 4 Mi, far above
/// any token reply or FastAPI error, and what a `me` endpoint could reasonably answer. A longer
/// body is a `protocol` error.
pub const MAX_REPLY_CHARS: u32 = 4 * 1024 * 1024;

/// Sends `request` and returns the reply, whatever its status.
///
/// No response (offline, DNS, CORS, abort), a failure reading the body, and the request's
/// `timeout` (which aborts it through an `AbortController`) are `network` errors; a body over
/// [`MAX_REPLY_CHARS`] is a `protocol` error with the status.
pub async fn send(request: &HttpRequest) -> Result<HttpReply, AuthError> {
    let endpoint = request.endpoint.name();
    let controller = AbortController::new().map_err(|error| {
        AuthError::network(format!(
            "{endpoint} request could not start ({})",
            js_error_name(&error)
        ))
    })?;
    // The timer also bounds a `fetch` that ignores the abort signal (a mock or an old polyfill):
    // whichever finishes first wins, and a timeout aborts the request so the browser drops it.
    let exchange = pin!(exchange(request, controller.signal()));
    let timer = pin!(TimeoutFuture::new(timer_millis(request.timeout)));
    match first_of(exchange, timer).await {
        First::Left(result) => result,
        First::Right(()) => {
            controller.abort();
            // The timeout is fixed (`protocol::REQUEST_TIMEOUT`), so the message need not say
            // it: formatting a duration cost 0.8 KB gzip of float formatting code.
            Err(AuthError::network(format!("{endpoint} request timed out")))
        }
    }
}

/// Builds, sends and reads one request: everything the timeout covers.
async fn exchange(request: &HttpRequest, signal: AbortSignal) -> Result<HttpReply, AuthError> {
    let endpoint = request.endpoint.name();
    let failed = |what: &str, error: &JsValue| {
        AuthError::network(format!(
            "{endpoint} request {what} ({})",
            js_error_name(error)
        ))
    };

    let headers = web_sys::Headers::new().map_err(|error| failed("could not be built", &error))?;
    for (name, value) in &request.headers {
        headers
            .set(name, value)
            .map_err(|error| failed("could not be built", &error))?;
    }
    let builder = match request.method {
        Method::Get => Request::get(&request.url),
        Method::Post => Request::post(&request.url),
        Method::Delete => Request::delete(&request.url),
    };
    let builder: RequestBuilder = builder
        .headers(gloo_net::http::Headers::from_raw(headers))
        .credentials(match request.credentials {
            Credentials::SameOrigin => RequestCredentials::SameOrigin,
            Credentials::Include => RequestCredentials::Include,
            Credentials::Omit => RequestCredentials::Omit,
        })
        .abort_signal(Some(&signal));
    let built = match request.body_text() {
        Some(text) => builder.body(JsValue::from_str(&text)),
        None => builder.build(),
    };
    // gloo-net's error keeps the JavaScript message, which may quote the URL: drop it.
    let built = built.map_err(|_| {
        AuthError::network(format!(
            "{endpoint} request could not be built (bad URL or header)"
        ))
    })?;
    let raw: web_sys::Request = built.into();

    let pending = global_fetch(&raw).map_err(|error| failed("failed", &error))?;
    let settled = JsFuture::from(Promise::resolve(&pending))
        .await
        .map_err(|error| failed("got no response", &error))?;
    let response: web_sys::Response = settled.dyn_into().map_err(|_| {
        AuthError::network(format!(
            "{endpoint} request failed (fetch did not return a Response)"
        ))
    })?;

    let response_headers = response.headers();
    let header = |name: &str| response_headers.get(name).ok().flatten();
    let status = response.status();
    let content_type = header("Content-Type");
    let retry_after = header("Retry-After");
    let date = header("Date");

    let text_promise = response
        .text()
        .map_err(|error| failed("body could not be read", &error))?;
    let text = JsFuture::from(text_promise)
        .await
        .map_err(|error| failed("body could not be read", &error))?;
    let text: js_sys::JsString = text
        .dyn_into()
        .unwrap_or_else(|_| js_sys::JsString::from(""));
    // Checked before the copy into wasm memory: a reply of hundreds of megabytes could exhaust
    // it, and running out of memory aborts the module.
    if text.length() > MAX_REPLY_CHARS {
        return Err(AuthError::protocol(format!(
            "{endpoint} reply is too large ({} characters; at most {MAX_REPLY_CHARS})",
            text.length()
        ))
        .with_status(status));
    }
    let body = String::from(text);

    Ok(HttpReply {
        status,
        content_type,
        body,
        retry_after,
        date,
    })
}

/// The `name` of a thrown JavaScript value (`"TypeError"`, `"AbortError"`,
/// `"QuotaExceededError"`), for messages: unlike the message, it never quotes a URL or a value.
pub(crate) fn js_error_name(error: &JsValue) -> String {
    if let Some(name) = Reflect::get(error, &JsValue::from_str("name"))
        .ok()
        .and_then(|name| name.as_string())
        .filter(|name| !name.is_empty() && name.len() <= 64)
    {
        return name;
    }
    match error.js_typeof().as_string() {
        Some(kind) if !error.is_null() => format!("a thrown {kind}"),
        _ => "a thrown null".to_owned(),
    }
}

/// Which of two futures finished first.
pub(crate) enum First<A, B> {
    /// The first one.
    Left(A),
    /// The second one.
    Right(B),
}

/// Polls `left` then `right` until one finishes and returns its output; the other is dropped
/// (the crate has no `futures-util` for `select`). `left` wins a tie.
pub(crate) async fn first_of<A, B>(
    mut left: Pin<&mut A>,
    mut right: Pin<&mut B>,
) -> First<A::Output, B::Output>
where
    A: Future + ?Sized,
    B: Future + ?Sized,
{
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = left.as_mut().poll(cx) {
            return Poll::Ready(First::Left(value));
        }
        if let Poll::Ready(value) = right.as_mut().poll(cx) {
            return Poll::Ready(First::Right(value));
        }
        Poll::Pending
    })
    .await
}

/// A delay for `setTimeout`, which fires at once beyond a signed 32-bit millisecond count.
pub(crate) fn timer_millis(delay: Duration) -> u32 {
    let capped = delay.min(MAX_TIMER_DELAY).as_millis();
    u32::try_from(capped).unwrap_or(u32::MAX)
}
