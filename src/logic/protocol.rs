//! The wire protocol: each endpoint's request as data, and each reply turned into a token
//! response or an [`AuthError`].
//!
//! Nothing here sends anything. A driver executes an [`HttpRequest`] with `fetch` exactly as
//! described (method, URL, headers, [`HttpRequest::body_text`], credentials mode, timeout) and
//! hands back an [`HttpReply`] (status, `Content-Type`, body text, `Retry-After`), or a `network`
//! error when no response came.
//!
//! Replies are read the way the FastAPI seed servers write them, warts included: `{"detail":
//! "..."}` errors, 422 validation lists, tokens without `expires_in` or without a refresh token,
//! HTML error pages from proxies and SPA fallbacks, empty bodies. The status-to-code mapping is
//! the table of `API.md`; see [`error_for`] for the precise rules.

use std::fmt;
use std::time::Duration;

use crate::logic::json::{self, Json, JsonObject};

use crate::logic::config::{Config, ErrorFormat, LoginEncoding, RefreshVia, ResponseFields};
use crate::logic::error::{
    concat, decimal, fill, find_text, find_text_ignoring_case, AuthError, ErrorCode,
};
use crate::logic::logout::{LogoutBearer, LogoutCall, LogoutMethod};
use crate::logic::schedule;
use crate::logic::time::Timestamp;

/// How long a driver waits for an auth endpoint before giving up with a `network` error: long
/// enough for a cold serverless backend, short enough that a hung refresh does not block
/// `getAccessToken()` callers indefinitely.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP method.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `DELETE` (flask-jwt-extended's logout).
    Delete,
}

impl Method {
    /// The method as `fetch` expects it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

/// The `credentials` mode of a `fetch` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// `"same-origin"`: the browser default.
    SameOrigin,
    /// `"include"`: send and accept cookies cross-origin (cookie-based refresh).
    Include,
    /// `"omit"`: no cookies at all, even same-origin, and none accepted from the reply.
    Omit,
}

impl Credentials {
    /// The mode as `fetch` expects it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SameOrigin => "same-origin",
            Self::Include => "include",
            Self::Omit => "omit",
        }
    }
}

/// A request body.
#[derive(Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded` pairs, in order.
    Form(Vec<(String, String)>),
    /// JSON text.
    Json(String),
}

impl fmt::Debug for Body {
    /// Shows field names only: bodies carry passwords and refresh tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Form(pairs) => {
                let names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
                write!(f, "Form({names:?})")
            }
            Self::Json(text) => write!(f, "Json([{} bytes])", text.len()),
        }
    }
}

/// Which endpoint a request or reply belongs to; the error mapping depends on it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The login endpoint.
    Login,
    /// The refresh endpoint.
    Refresh,
    /// The logout endpoint.
    Logout,
    /// The current-user endpoint.
    Me,
    /// Any other authenticated call (through `fetch()`).
    Api,
}

impl Endpoint {
    /// A lowercase name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Refresh => "refresh",
            Self::Logout => "logout",
            Self::Me => "me",
            Self::Api => "api call",
        }
    }
}

/// A request for the driver to send with `fetch`.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Which endpoint this is.
    pub endpoint: Endpoint,
    /// The method.
    pub method: Method,
    /// The URL: absolute, or a `/path` the browser resolves against the page.
    pub url: String,
    /// Headers, in order (`Content-Type` included when there is a body).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// The `credentials` mode.
    pub credentials: Credentials,
    /// Abort and report a `network` error after this long.
    pub timeout: Duration,
}

impl HttpRequest {
    fn new(endpoint: Endpoint, method: Method, url: String, credentials: Credentials) -> Self {
        let mut request = Self {
            endpoint,
            method,
            url,
            headers: Vec::new(),
            body: Body::Empty,
            credentials,
            timeout: REQUEST_TIMEOUT,
        };
        request.push_header("Accept", "application/json", "");
        request
    }

    /// Appends the header `name: value` + `more`. The one place a header is made: a pair of
    /// owned strings built at each call site cost the wasm module more.
    fn push_header(&mut self, name: &str, value: &str, more: &str) {
        self.headers.push((name.to_owned(), concat(&[value, more])));
    }

    /// Sets the body and its `Content-Type`. The setters take `&mut self`, not `self` by value:
    /// moving the whole request through each builder step cost the wasm module more.
    fn set_body(&mut self, body: Body) {
        let content_type = match &body {
            Body::Empty => None,
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
            Body::Json(_) => Some("application/json"),
        };
        if let Some(content_type) = content_type {
            self.push_header("Content-Type", content_type, "");
        }
        self.body = body;
    }

    /// The request carrying `token` as `Authorization: Bearer`, or, when `dpop` (the session is
    /// DPoP-bound), as `Authorization: DPoP` (RFC 9449 section 7.1), to which the driver adds the
    /// proof. A refresh token is never bound: it goes with `dpop` false.
    fn set_token(&mut self, token: &str, dpop: bool) {
        let scheme = if dpop { "DPoP " } else { "Bearer " };
        self.push_header("Authorization", scheme, token);
    }

    /// The body as the text `fetch` sends, `None` for no body.
    pub fn body_text(&self) -> Option<String> {
        match &self.body {
            Body::Empty => None,
            Body::Form(pairs) => {
                let mut text = String::new();
                for (name, value) in pairs {
                    // Every pair writes at least `=`: only the first finds `text` empty.
                    if !text.is_empty() {
                        text.push('&');
                    }
                    push_form_pair(&mut text, name, value);
                }
                Some(text)
            }
            Body::Json(text) => Some(text.clone()),
        }
    }

    /// The value of header `name` (case-insensitive), if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Appends `name=value` to `out` as `application/x-www-form-urlencoded` (the WHATWG URL
/// standard's serializer, which `URLSearchParams` and the `form_urlencoded` crate follow): ASCII
/// letters, digits and `*-._` as they are, a space as `+`, every other byte of the UTF-8 as
/// `%XX`. The caller writes the `&` or `?` before it.
///
/// Written out, not the `form_urlencoded` crate: its serializer and 768-byte escape table cost
/// the wasm module 1.2 KB gzip (measured: 65183 -> 64009 B), for a loop this small. The tests
/// compare the two on any text.
fn push_form_pair(out: &mut String, name: &str, value: &str) {
    push_form_component(out, name);
    out.push('=');
    push_form_component(out, value);
}

/// Appends one name or value of [`push_form_pair`], escaped.
fn push_form_component(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'*' | b'-' | b'.' | b'_') {
            out.push(char::from(byte));
        } else if byte == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
}

impl fmt::Debug for HttpRequest {
    /// Redacts the bearer token, the query (a refresh token may ride there) and body values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match self.url.split_once('?') {
            Some((path, _)) => format!("{path}?[redacted]"),
            None => self.url.clone(),
        };
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                if name.eq_ignore_ascii_case("authorization") {
                    (name.as_str(), "[redacted]")
                } else {
                    (name.as_str(), value.as_str())
                }
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field("url", &url)
            .field("headers", &headers)
            .field("body", &self.body)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A response, as the driver received it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct HttpReply {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body as text (empty when there was none).
    pub body: String,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The `Date` header, if the browser let us read it (same origin, or listed in
    /// `Access-Control-Expose-Headers`): the server's clock, for [`TokenReply::server_date`].
    pub date: Option<String>,
}

impl HttpReply {
    /// A reply with `status` and a JSON body.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: Some("application/json".to_owned()),
            body: body.into(),
            retry_after: None,
            date: None,
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Debug for HttpReply {
    /// The body is left out: token replies carry tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpReply")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body", &format_args!("[{} bytes]", self.body.len()))
            .field("retry_after", &self.retry_after)
            .field("date", &self.date)
            .finish()
    }
}

/// The useful part of a login or refresh reply.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenReply {
    /// The new access token.
    pub access_token: String,
    /// The new refresh token; `None` when the server did not send one (keep the old one: the
    /// server does not rotate).
    pub refresh_token: Option<String>,
    /// The access token's lifetime (`expires_in`), when the server said.
    pub expires_in: Option<Duration>,
    /// The server's clock when it answered (the reply's `Date` header), when readable.
    pub server_date: Option<Timestamp>,
    /// The reply's `token_type` is `DPoP` (RFC 9449 section 5): the access token is bound to the
    /// client's key and goes out as `Authorization: DPoP`, with a proof.
    pub dpop: bool,
}

impl fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenReply")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_in", &self.expires_in)
            .field("server_date", &self.server_date)
            .finish()
    }
}

fn credentials(config: &Config) -> Credentials {
    // With cookie refresh the login must accept the cookie and the refresh and logout must send
    // it, which cross-origin takes `include`; otherwise no cookies are needed at all.
    if config.uses_cookies() {
        Credentials::Include
    } else {
        Credentials::SameOrigin
    }
}

/// The login request for `username` and `password`, shaped by the config (form or JSON, field
/// names).
pub fn login_request(config: &Config, username: &str, password: &str) -> HttpRequest {
    let format = config.login();
    let mut request = HttpRequest::new(
        Endpoint::Login,
        Method::Post,
        config.endpoints().login.clone(),
        credentials(config),
    );
    request.set_body(body_of(
        format.encoding,
        &[
            (&format.username_field, username),
            (&format.password_field, password),
        ],
    ));
    request
}

/// Whether a session holding `refresh_token` can be refreshed: the server has a refresh endpoint
/// and either a refresh token is known or the browser holds it in a cookie.
pub fn can_refresh(config: &Config, refresh_token: Option<&str>) -> bool {
    config.has_refresh_endpoint() && (config.uses_cookies() || refresh_token.is_some())
}

/// The refresh request, or `None` when this session cannot refresh ([`can_refresh`]).
pub fn refresh_request(config: &Config, refresh_token: Option<&str>) -> Option<HttpRequest> {
    let mut url = config.endpoints().refresh.clone()?;
    let format = config.refresh();
    let via = format.via;
    // One request built for every way the token travels: a request built per way cost the wasm
    // module more.
    let (token, credentials) = match (via, refresh_token) {
        (RefreshVia::Cookie, _) => ("", Credentials::Include),
        (_, Some(token)) => (token, Credentials::SameOrigin),
        (_, None) => return None,
    };
    if via == RefreshVia::Query {
        url.push(if url.contains('?') { '&' } else { '?' });
        push_form_pair(&mut url, &format.field, token);
    }
    let mut request = HttpRequest::new(Endpoint::Refresh, Method::Post, url, credentials);
    match via {
        RefreshVia::Json => {
            request.set_body(body_of(LoginEncoding::Json, &[(&format.field, token)]))
        }
        RefreshVia::Bearer => request.set_token(token, false),
        _ => {}
    }
    Some(request)
}

/// The server logout requests of a session holding `access_token` and `refresh_token`: the
/// `logout` option's calls in order, without those that need a refresh token the session lacks.
/// Empty when the server has no logout. `dpop`: the access token is DPoP-bound
/// ([`Session::is_dpop_bound`](crate::logic::session::Session::is_dpop_bound)).
pub fn logout_requests(
    config: &Config,
    access_token: &str,
    refresh_token: Option<&str>,
    dpop: bool,
) -> Vec<HttpRequest> {
    logout_calls(
        config,
        access_token,
        refresh_token,
        dpop,
        credentials(config),
    )
}

/// [`logout_requests`] with the `credentials` mode of every request.
fn logout_calls(
    config: &Config,
    access_token: &str,
    refresh_token: Option<&str>,
    dpop: bool,
    credentials: Credentials,
) -> Vec<HttpRequest> {
    // A loop, not `filter_map(..).collect()`: the iterator's generic code costs the wasm module
    // more.
    let mut requests = Vec::new();
    for call in config.logout_calls() {
        if let Some(request) = logout_call(call, access_token, refresh_token, dpop, credentials) {
            requests.push(request);
        }
    }
    requests
}

/// One logout call's request; `None` when it needs a refresh token the session lacks.
fn logout_call(
    call: &LogoutCall,
    access_token: &str,
    refresh_token: Option<&str>,
    dpop: bool,
    credentials: Credentials,
) -> Option<HttpRequest> {
    // The refresh token checked before anything is built: a request built and then dropped on
    // the way out cost the wasm module more.
    let refresh_token = match (refresh_token, call.needs_refresh_token()) {
        (Some(token), _) => token,
        (None, false) => "",
        (None, true) => return None,
    };
    let method = match call.method {
        LogoutMethod::Post => Method::Post,
        LogoutMethod::Delete => Method::Delete,
    };
    let mut request = HttpRequest::new(Endpoint::Logout, method, call.url.clone(), credentials);
    match call.bearer {
        LogoutBearer::Access => request.set_token(access_token, dpop),
        LogoutBearer::Refresh => request.set_token(refresh_token, false),
        LogoutBearer::None => {}
    }
    if let Some((encoding, field)) = &call.refresh_token {
        request.set_body(body_of(*encoding, &[(field, refresh_token)]));
    }
    Some(request)
}

/// A body of `pairs` (name, value), as a form or as a JSON object of strings: the login's, the
/// refresh's and the logout's, from one function.
fn body_of(encoding: LoginEncoding, pairs: &[(&str, &str)]) -> Body {
    match encoding {
        LoginEncoding::Form => {
            let mut form = Vec::new();
            for &(name, value) in pairs {
                form.push((name.to_owned(), value.to_owned()));
            }
            Body::Form(form)
        }
        LoginEncoding::Json => {
            let mut object = JsonObject::new();
            for &(name, value) in pairs {
                object.insert(name, Json::from(value));
            }
            Body::Json(Json::Object(object).to_json_text())
        }
    }
}

/// The logout requests for a session this client no longer holds (one a later login replaced):
/// [`logout_requests`] with its tokens, never with cookies. In cookie mode the browser's
/// refresh cookie already belongs to the session that replaced it, and sending it would log
/// that one out; the reply's cookie-clearing header is not taken either.
pub fn logout_replaced_requests(
    config: &Config,
    access_token: &str,
    refresh_token: Option<&str>,
    dpop: bool,
) -> Vec<HttpRequest> {
    logout_calls(config, access_token, refresh_token, dpop, Credentials::Omit)
}

/// The current-user request, or a `config` error when the server has no such endpoint. `dpop`:
/// the access token is DPoP-bound.
pub fn me_request(
    config: &Config,
    access_token: &str,
    dpop: bool,
) -> Result<HttpRequest, AuthError> {
    let url = me_endpoint(config)?.to_owned();
    let mut request = HttpRequest::new(Endpoint::Me, Method::Get, url, credentials(config));
    request.set_token(access_token, dpop);
    Ok(request)
}

/// The `me` endpoint's URL, or the `config` error `me()` fails with when the server has none.
pub fn me_endpoint(config: &Config) -> Result<&str, AuthError> {
    config
        .endpoints()
        .me
        .as_deref()
        .ok_or_else(|| AuthError::config("this server has no `me` endpoint (endpoints.me is null)"))
}

/// What a body turned out to be.
enum Parsed {
    Empty,
    Html { title: Option<String> },
    Json(Json),
    Text(String),
}

fn parse_body(reply: &HttpReply) -> Parsed {
    let body = reply.body.trim();
    if body.is_empty() {
        return Parsed::Empty;
    }
    // Try JSON whatever the header says: FastAPI is right, but proxies and hand-written
    // responses label JSON as text/plain. An HTML page never parses as JSON.
    if let Some(value) = json::from_str::<Json>(body) {
        return Parsed::Json(value);
    }
    let content_type = reply.content_type.as_deref().unwrap_or_default();
    if find_text_ignoring_case(content_type, "html").is_some() || body.starts_with('<') {
        return Parsed::Html {
            title: html_title(body),
        };
    }
    Parsed::Text(body.to_owned())
}

/// The text of an HTML page's `<title>`, which for proxies and frameworks names the error
/// ("502 Bad Gateway").
fn html_title(html: &str) -> Option<String> {
    let open = find_text_ignoring_case(html, "<title")?;
    let content_start = open + html.get(open..)?.find('>')? + 1;
    let content_len = find_text_ignoring_case(html.get(content_start..)?, "</title")?;
    let title = html.get(content_start..content_start + content_len)?.trim();
    (!title.is_empty()).then(|| title.to_owned())
}

/// The server's explanation in a JSON error body: the first of the `errorFields` paths that
/// holds text. FastAPI's `detail` is read in all its forms (a string, a validation list, an
/// object); any other path gives its strings, every element's for a path through `[]`.
fn json_detail(value: &Json, fields: &[String]) -> Option<String> {
    value.as_object()?;
    // Loops over slices, not `find_map`, `filter_map` and a `Vec`'s `into_iter`: their generic
    // code costs the wasm module more.
    for path in fields {
        let found = if path == "detail" {
            match value.get("detail") {
                Some(Json::String(text)) => Some(text.clone()),
                Some(Json::Array(items)) => Some(validation_summary(items)),
                Some(other @ Json::Object(_)) => Some(other.to_json_text()),
                _ => None,
            }
        } else {
            // The non-empty strings, joined by "; " (no `join`: its generic code costs the wasm
            // module more than this loop).
            let mut joined = String::new();
            for found in &values_at(value, path) {
                let text = match found {
                    Json::String(text) if !text.is_empty() => text,
                    _ => continue,
                };
                if !joined.is_empty() {
                    joined.push_str("; ");
                }
                joined.push_str(text);
            }
            (!joined.is_empty()).then_some(joined)
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The values at a dotted `path`, where a segment ending in `[]` stands for each element of the
/// list it names (`"messages[].message"`).
fn values_at<'a>(value: &'a Json, path: &str) -> Vec<&'a Json> {
    let mut found = vec![value];
    for segment in path.split('.') {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        // Loops over slices, not `filter_map`, `flat_map` or a `Vec`'s `into_iter`: their generic
        // code costs the wasm module more.
        let mut next = Vec::new();
        for value in &found {
            match (each, value.get(name)) {
                (true, Some(Json::Array(items))) => {
                    for item in items {
                        next.push(item);
                    }
                }
                (false, Some(value)) => next.push(value),
                _ => {}
            }
        }
        found = next;
    }
    found
}

/// FastAPI's 422 body, `[{"loc": ["body", "username"], "msg": "field required", ...}]`, as
/// `body.username: field required`.
///
/// Built by appending, not with `join`: its generic code costs the wasm module more than these
/// loops.
fn validation_summary(items: &[Json]) -> String {
    let mut summary = String::new();
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            summary.push_str("; ");
        }
        let mut location = String::new();
        if let Some(parts) = item.get("loc").and_then(Json::as_array) {
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    location.push('.');
                }
                match part {
                    Json::String(text) => location.push_str(text),
                    Json::Number(number) => location.push_str(&json::number_text(*number)),
                    other => location.push_str(&other.to_json_text()),
                }
            }
        }
        let message = item.get("msg").and_then(Json::as_str).unwrap_or("invalid");
        if !location.is_empty() {
            summary.push_str(&location);
            summary.push_str(": ");
        }
        summary.push_str(message);
    }
    summary
}

fn detail_of(parsed: &Parsed, fields: &[String]) -> Option<String> {
    match parsed {
        Parsed::Empty => None,
        Parsed::Html { title } => title.clone(),
        Parsed::Json(value) => json_detail(value, fields),
        Parsed::Text(text) => Some(text.clone()),
    }
}

/// Whether `detail` holds one of `words` (lowercase), in any ASCII case. Not a lowercased copy
/// per question: each was its own allocation and its own code.
fn mentions(detail: &str, words: [&str; 2]) -> bool {
    find_text_ignoring_case(detail, words[0]).is_some()
        || find_text_ignoring_case(detail, words[1]).is_some()
}

/// The error for a reply that is not a usable success, following the table of `API.md`:
///
/// | status | login | refresh | logout, me, api |
/// |---|---|---|---|
/// | 400 | `account_disabled` if the detail says inactive/disabled, else `invalid_credentials` | `refresh_failed` | `account_disabled` if inactive, else `protocol` |
/// | 401 | `invalid_credentials` (`account_disabled` if the detail says so) | `refresh_failed` | `token_expired` / `token_revoked` by detail, else `not_authenticated` |
/// | 403 | `account_disabled` | `refresh_failed` | `account_disabled` if inactive, else `forbidden` |
/// | 422 | `protocol` | `protocol` | `protocol` |
/// | 429 | `rate_limited` | `rate_limited` | `rate_limited` |
/// | 5xx | `server` | `server` | `server` |
/// | other | `protocol` | `protocol` | `protocol` |
///
/// Login 400 is `invalid_credentials` because FastAPI's own tutorial answers a wrong password
/// with 400 "Incorrect username or password". The detail refinements exist because seed servers
/// say "User account is disabled" with a 401 and "Inactive user" with a 403 on `/me`. Every
/// error carries the status, the sanitized detail and, for 429 and 5xx, `Retry-After`.
pub fn error_for(endpoint: Endpoint, reply: &HttpReply, now: Timestamp) -> AuthError {
    error_for_with(endpoint, reply, &ErrorFormat::default(), now)
}

/// [`error_for`] for a server that speaks `errors`: the explanation comes from its
/// `errorFields`, and each of its `tokenErrorStatuses` counts as a 401.
pub fn error_for_with(
    endpoint: Endpoint,
    reply: &HttpReply,
    errors: &ErrorFormat,
    now: Timestamp,
) -> AuthError {
    let parsed = parse_body(reply);
    let detail = detail_of(&parsed, &errors.fields);
    let detail_ref = detail.as_deref();
    // The refinements by detail: "Inactive user" and "User account is disabled"; "Token has been
    // revoked" and simplejwt's "Token is blacklisted"; "Token has expired" and PyJWT's
    // "Signature has expired" ("expired" twice: `mentions` takes two words).
    let text = detail_ref.unwrap_or_default();
    let disabled = mentions(text, ["inactive", "disabled"]);
    let revoked = mentions(text, ["revoked", "blacklisted"]);
    let expired = mentions(text, ["expired", "expired"]);
    let status = reply.status;
    let as_status = if errors.refuses_token(status) {
        401
    } else {
        status
    };
    // A code and a static template per case, made into the one message after the match: a
    // `String` built in each arm cost the wasm module more. The template's first `{}` is the
    // endpoint's name, but for an unexpected status, the status; the second is the name.
    let what = endpoint.name();
    let status_text;
    let mut first = what;
    let (code, template) = match (as_status, endpoint) {
        (429, _) => (ErrorCode::RateLimited, "too many requests ({})"),
        (500..=599, _) => (ErrorCode::Server, "the server failed ({})"),
        (422, _) => (
            ErrorCode::Protocol,
            "the server rejected the {} request as malformed: check the field names and encoding",
        ),
        (400 | 401, Endpoint::Login) if disabled => {
            (ErrorCode::AccountDisabled, "the account is disabled")
        }
        (400 | 401, Endpoint::Login) => (
            ErrorCode::InvalidCredentials,
            "login rejected: wrong username or password",
        ),
        (403, Endpoint::Login) => (ErrorCode::AccountDisabled, "the account is disabled"),
        (400 | 401 | 403, Endpoint::Refresh) => (
            ErrorCode::RefreshFailed,
            "the server rejected the refresh token",
        ),
        (400 | 401 | 403, _) if disabled => (ErrorCode::AccountDisabled, "the account is disabled"),
        (401, _) if revoked => (
            ErrorCode::TokenRevoked,
            "the server says the access token has been revoked",
        ),
        (401, _) if expired => (
            ErrorCode::TokenExpired,
            "the server says the access token has expired",
        ),
        (401, _) => (
            ErrorCode::NotAuthenticated,
            "the server did not accept the access token",
        ),
        (403, _) => (ErrorCode::Forbidden, "the server refused the {}"),
        (200..=299, _) => (ErrorCode::Protocol, "the {} reply is not what was expected"),
        _ => {
            status_text = decimal(status.into());
            first = &status_text;
            (ErrorCode::Protocol, "unexpected http {} from {}")
        }
    };
    let message = fill(template, &[first, what]);
    let mut error = AuthError::new(code, message).with_status(status);
    if let Some(detail) = detail_ref {
        error = error.with_detail(detail);
    } else if matches!(parsed, Parsed::Html { .. }) {
        error = error.with_detail("an html page");
    }
    if code.is_retryable() {
        if let Some(wait) = reply
            .retry_after
            .as_deref()
            .and_then(|value| parse_retry_after(value, now))
        {
            error = error.with_retry_after(wait);
        }
    }
    error
}

/// Reads a login or refresh reply: the tokens on 2xx, otherwise the mapped error.
///
/// A 2xx that is empty, HTML, not JSON, not an object, or lacks a non-empty string access token
/// is a `protocol` error (an HTML 200 usually means `baseUrl` points at the web app, not the
/// API). A refresh token that is missing, `null` or empty is `None`. `expires_in` may be a number
/// or a numeric string; anything else is ignored rather than failing a good login.
pub fn parse_token_reply(
    endpoint: Endpoint,
    reply: &HttpReply,
    fields: &ResponseFields,
    errors: &ErrorFormat,
    now: Timestamp,
) -> Result<TokenReply, AuthError> {
    if !reply.is_success() {
        return Err(error_for_with(endpoint, reply, errors, now));
    }
    // The parsed value is taken, not cloned (`as_object().cloned()` copied the whole reply).
    let template = match success_json(endpoint, reply)? {
        Json::Object(object) => match token_at(&object, &fields.access_token) {
            Some(access_token) => {
                return Ok(TokenReply {
                    access_token,
                    refresh_token: token_at(&object, &fields.refresh_token),
                    expires_in: object.get(&fields.expires_in).and_then(seconds_value),
                    server_date: reply.date.as_deref().and_then(parse_http_date),
                    dpop: matches!(object.get("token_type"), Some(Json::String(kind)) if kind.eq_ignore_ascii_case("dpop")),
                })
            }
            None => "the {} reply has no `{}` string",
        },
        _ => "the {} reply is json but not an object",
    };
    Err(reply_error(template, endpoint, reply, &fields.access_token))
}

/// The token under `field`, trimmed; `None` when it is missing, not a string, or blank.
fn token_at(object: &JsonObject, field: &str) -> Option<String> {
    match object.get(field) {
        Some(Json::String(token)) => {
            let token = token.trim();
            (!token.is_empty()).then(|| token.to_owned())
        }
        _ => None,
    }
}

/// The `protocol` error of a 2xx reply that is not what `endpoint` answers: `template` filled
/// with the endpoint's name and `field`. One helper for every such error: each built where it
/// arose cost the wasm module more.
fn reply_error(template: &str, endpoint: Endpoint, reply: &HttpReply, field: &str) -> AuthError {
    AuthError::protocol(fill(template, &[endpoint.name(), field])).with_status(reply.status)
}

/// Reads a `me` reply: any JSON value on 2xx, otherwise the mapped error.
pub fn parse_json_reply(
    endpoint: Endpoint,
    reply: &HttpReply,
    errors: &ErrorFormat,
    now: Timestamp,
) -> Result<Json, AuthError> {
    if !reply.is_success() {
        return Err(error_for_with(endpoint, reply, errors, now));
    }
    success_json(endpoint, reply)
}

/// Reads a logout reply: any 2xx is fine, whatever the body.
pub fn parse_logout_reply(
    reply: &HttpReply,
    errors: &ErrorFormat,
    now: Timestamp,
) -> Result<(), AuthError> {
    if reply.is_success() {
        Ok(())
    } else {
        Err(error_for_with(Endpoint::Logout, reply, errors, now))
    }
}

fn success_json(endpoint: Endpoint, reply: &HttpReply) -> Result<Json, AuthError> {
    // A template picked per case, made into the one error after the match: an error built in
    // each arm cost the wasm module more.
    let template = match parse_body(reply) {
        Parsed::Json(value) => return Ok(value),
        Parsed::Empty => "the {} reply is empty",
        Parsed::Html { .. } => {
            "the {} reply is an html page, not json: check baseUrl and the endpoint paths"
        }
        Parsed::Text(_) => "the {} reply is not json",
    };
    Err(reply_error(template, endpoint, reply, ""))
}

/// A non-negative number of seconds, from a JSON number or numeric string.
fn seconds_value(value: &Json) -> Option<Duration> {
    let seconds = match value {
        Json::Number(number) => *number,
        // Read as a `Json` value, whose reading the module holds anyway: an `f64` reading of its
        // own cost more. A JSON number reads the same either way.
        Json::String(text) => match json::from_str::<Json>(text.trim())? {
            Json::Number(number) => number,
            _ => return None,
        },
        _ => return None,
    };
    if seconds.is_finite() && seconds >= 0.0 {
        Duration::try_from_secs_f64(seconds).ok()
    } else {
        None
    }
}

/// A `Retry-After` value as a wait from `now`: delay-seconds (`"120"`, RFC 9110's `1*DIGIT`: no
/// sign) or an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`, IMF-fixdate). A date in the past
/// waits zero, and no wait is longer than [`schedule::MAX_RETRY_AFTER`]. `None` for anything
/// else, so a malformed header falls back to normal backoff.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    let wait = match digits(value) {
        // Digits beyond u64 are still "a very long wait" (capped below), not garbage.
        Some(seconds) => Duration::from_secs(seconds),
        None => parse_http_date(value)?.duration_since(now),
    };
    Some(wait.min(schedule::MAX_RETRY_AFTER))
}

/// Parses an IMF-fixdate (RFC 9110 §5.6.7), the only HTTP date format servers may send today.
/// Its numbers are plain ASCII digits: a sign (`-1:28:00`) or any other character is refused,
/// and so is a field out of range.
fn parse_http_date(text: &str) -> Option<Timestamp> {
    let mut words = text.split_whitespace();
    let weekday = words.next()?;
    if !weekday.ends_with(',') {
        return None;
    }
    let day = digits(words.next()?)?;
    // The month's place in one string of names: twelve string comparisons cost more code.
    let month = words.next()?;
    let at = find_text("JanFebMarAprMayJunJulAugSepOctNovDec", month)?;
    if month.len() != 3 || at % 3 != 0 {
        return None;
    }
    let month = at as u32 / 3 + 1;
    let year = digits(words.next()?)?;
    // `hh:mm:ss` cut at its first two colons: a third colon is not a digit, so `digits` refuses
    // the seconds (a `split(':')` iterator cost the wasm module more).
    let (hour, clock) = words.next()?.split_once(':')?;
    let (minute, second) = clock.split_once(':')?;
    let (hour, minute, second) = (digits(hour)?, digits(minute)?, digits(second)?);
    if words.next()? != "GMT" || words.next().is_some() {
        return None;
    }
    // The day by comparisons: `(1..=31).contains(&day)` cost the wasm module 0.1 KB gzip more
    // (measured), the year's range did not.
    if day == 0
        || day > 31
        || hour > 23
        || minute > 59
        || second > 60
        || !(1970..=9999).contains(&year)
    {
        return None;
    }
    // In range, every field fits an i64 and the sum cannot overflow; checked all the same, so a
    // later change to the ranges cannot turn a hostile header into a panic.
    let days = days_from_civil(year as i64, month, day as i64);
    let seconds = days
        .checked_mul(86_400)?
        .checked_add((hour * 3_600 + minute * 60 + second) as i64)?;
    Some(Timestamp::from_millis(seconds.checked_mul(1_000)?))
}

/// `text` as ASCII digits (`1*DIGIT`), saturating at `u64::MAX`; `None` if it is empty or holds
/// anything else, a sign included. Written out because the generic `str::parse` costs the wasm
/// module more.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text.as_bytes() {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value
            .saturating_mul(10)
            .saturating_add(u64::from(byte - b'0'));
    }
    Some(value)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// The first logout call of a session without a refresh token.
    fn logout_request(config: &Config, access_token: &str) -> Option<HttpRequest> {
        logout_requests(config, access_token, None, false)
            .into_iter()
            .next()
    }
    use crate::logic::config::AuthClientOptions;
    use serde_json::Value;

    const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn config(json: &str) -> Config {
        let options: AuthClientOptions =
            serde_json::from_str(json).unwrap_or_else(|err| panic!("{err}"));
        Config::resolve(options).unwrap_or_else(|err| panic!("{err}"))
    }

    fn standard() -> Config {
        config(r#"{"baseUrl": "https://api.example.com"}"#)
    }

    fn reply(status: u16, content_type: Option<&str>, body: &str) -> HttpReply {
        HttpReply {
            status,
            content_type: content_type.map(str::to_owned),
            body: body.to_owned(),
            retry_after: None,
            date: None,
        }
    }

    #[test]
    fn login_requests_follow_the_profiles() {
        let request = login_request(&standard(), "ann@example.com", "p&ss word");
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url, "https://api.example.com/auth/login");
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.body_text().as_deref(),
            Some("username=ann%40example.com&password=p%26ss+word")
        );
        assert_eq!(request.credentials, Credentials::SameOrigin);
        assert_eq!(request.timeout, REQUEST_TIMEOUT);

        let v1 = config(r#"{"baseUrl": "https://h", "profile": "v1"}"#);
        let request = login_request(&v1, "ann@example.com", "pw\"x");
        assert_eq!(request.url, "https://h/api/v1/login");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body: Value =
            serde_json::from_str(&request.body_text().unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"email": "ann@example.com", "password": "pw\"x"})
        );
    }

    #[test]
    fn refresh_requests_follow_the_profiles() {
        let request = refresh_request(&standard(), Some("r.t/+="));
        let request = request.unwrap_or_else(|| panic!("standard refreshes"));
        assert_eq!(request.url, "https://api.example.com/auth/refresh");
        assert_eq!(
            request.body_text().as_deref(),
            Some(r#"{"refresh_token":"r.t/+="}"#)
        );
        assert_eq!(request.header("content-type"), Some("application/json"));

        let minimal = config(r#"{"baseUrl": "https://h", "profile": "minimal"}"#);
        let request = refresh_request(&minimal, Some("r.t/+="))
            .unwrap_or_else(|| panic!("minimal refreshes"));
        assert_eq!(request.method, Method::Post);
        assert_eq!(
            request.url,
            "https://h/auth/refresh?refresh_token=r.t%2F%2B%3D"
        );
        assert_eq!(request.body, Body::Empty);
        assert_eq!(request.header("content-type"), None);
        assert_eq!(
            refresh_request(&minimal, None),
            None,
            "minimal needs a known token"
        );
        assert!(!can_refresh(&minimal, None));
        assert!(can_refresh(&minimal, Some("r")));

        let with_query = config(
            r#"{"baseUrl": "https://h", "profile": "minimal", "endpoints": {"refresh": "/r?v=2"}}"#,
        );
        let request = refresh_request(&with_query, Some("t"));
        assert_eq!(
            request.map(|r| r.url).as_deref(),
            Some("https://h/r?v=2&refresh_token=t")
        );

        let cookie = config(r#"{"baseUrl": "https://h", "refresh": {"via": "cookie"}}"#);
        assert!(can_refresh(&cookie, None));
        let request = refresh_request(&cookie, None).unwrap_or_else(|| panic!("cookie refreshes"));
        assert_eq!(request.credentials, Credentials::Include);
        assert_eq!(request.body, Body::Empty);
        assert_eq!(
            login_request(&cookie, "a", "b").credentials,
            Credentials::Include
        );

        let v1 = config(r#"{"baseUrl": "https://h", "profile": "v1"}"#);
        assert_eq!(refresh_request(&v1, Some("t")), None);
        assert!(!can_refresh(&v1, Some("t")));
    }

    #[test]
    fn logout_and_me_carry_the_bearer_token() {
        let logout =
            logout_request(&standard(), "acc").unwrap_or_else(|| panic!("standard logs out"));
        assert_eq!(logout.method, Method::Post);
        assert_eq!(logout.url, "https://api.example.com/auth/logout");
        assert_eq!(logout.header("Authorization"), Some("Bearer acc"));
        assert_eq!(logout.body_text(), None);
        let minimal = config(r#"{"baseUrl": "https://h", "profile": "minimal"}"#);
        assert_eq!(logout_request(&minimal, "acc"), None);

        let me = me_request(&minimal, "acc", false).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(me.method, Method::Get);
        assert_eq!(me.url, "https://h/users/me");
        assert_eq!(me.header("authorization"), Some("Bearer acc"));
        let none = config(r#"{"baseUrl": "https://h", "endpoints": {"me": null}}"#);
        assert_eq!(
            me_request(&none, "acc", false).map_err(|e| e.code()),
            Err(ErrorCode::Config)
        );
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let minimal = config(r#"{"baseUrl": "https://h", "profile": "minimal"}"#);
        let requests = [
            login_request(&standard(), "ann", "hunter2"),
            refresh_request(&minimal, Some("sekrit-refresh"))
                .unwrap_or_else(|| panic!("refreshes")),
            refresh_request(&standard(), Some("sekrit-refresh"))
                .unwrap_or_else(|| panic!("refreshes")),
            logout_request(&standard(), "sekrit-access").unwrap_or_else(|| panic!("logs out")),
        ];
        for request in requests {
            let debug = format!("{request:?}");
            for secret in ["hunter2", "sekrit"] {
                assert!(!debug.contains(secret), "{debug}");
            }
        }
        let tokens = TokenReply {
            access_token: "sekrit-access".into(),
            refresh_token: Some("sekrit-refresh".into()),
            expires_in: None,
            server_date: None,
            dpop: false,
        };
        assert!(!format!("{tokens:?}").contains("sekrit"));
    }

    #[test]
    fn token_replies_are_read_leniently_but_need_an_access_token() {
        let fields = standard().response_fields().clone();
        let ok = |body: &str| {
            parse_token_reply(
                Endpoint::Login,
                &reply(200, Some("application/json"), body),
                &fields,
                &ErrorFormat::default(),
                NOW,
            )
        };
        let full = ok(
            r#"{"access_token": "a", "refresh_token": "r", "token_type": "bearer", "expires_in": 1800}"#,
        );
        assert_eq!(
            full,
            Ok(TokenReply {
                access_token: "a".into(),
                refresh_token: Some("r".into()),
                expires_in: Some(Duration::from_secs(1800)),
                server_date: None,
                dpop: false,
            })
        );
        // Minimal servers: no refresh token; odd expires_in shapes.
        let cases: [(&str, Option<&str>, Option<Duration>); 6] = [
            (
                r#"{"access_token": "a", "token_type": "bearer"}"#,
                None,
                None,
            ),
            (
                r#"{"access_token": "a", "refresh_token": null}"#,
                None,
                None,
            ),
            (r#"{"access_token": "a", "refresh_token": ""}"#, None, None),
            (
                r#"{"access_token": "a", "expires_in": "90"}"#,
                None,
                Some(Duration::from_secs(90)),
            ),
            (
                r#"{"access_token": "a", "expires_in": 1.5}"#,
                None,
                Some(Duration::from_millis(1500)),
            ),
            (r#"{"access_token": "a", "expires_in": -5}"#, None, None),
        ];
        for (body, refresh, expires_in) in cases {
            let parsed = ok(body).unwrap_or_else(|err| panic!("{body}: {err}"));
            assert_eq!(parsed.refresh_token.as_deref(), refresh, "{body}");
            assert_eq!(parsed.expires_in, expires_in, "{body}");
        }
        // Unusable 2xx replies are protocol errors.
        let bad = [
            (
                Some("application/json"),
                r#"{"token": "a"}"#,
                "no `access_token`",
            ),
            (
                Some("application/json"),
                r#"{"access_token": 5}"#,
                "no `access_token`",
            ),
            (Some("application/json"), r#"["a"]"#, "not an object"),
            (
                Some("text/html"),
                "<!doctype html><html><title>My App</title></html>",
                "html page",
            ),
            (None, "", "empty"),
            (Some("text/plain"), "ok", "not json"),
        ];
        for (content_type, body, expected) in bad {
            let err = parse_token_reply(
                Endpoint::Refresh,
                &reply(200, content_type, body),
                &fields,
                &ErrorFormat::default(),
                NOW,
            )
            .err()
            .unwrap_or_else(|| panic!("{body} should fail"));
            assert_eq!(err.code(), ErrorCode::Protocol, "{body}");
            assert_eq!(err.status(), Some(200));
            assert!(!err.is_retryable());
            assert!(err.message().contains(expected), "{body}: {err}");
        }
        // Configured field names.
        let custom = config(
            r#"{"baseUrl": "https://h", "responseFields": {"accessToken": "jwt", "refreshToken": "rt", "expiresIn": "ttl"}}"#,
        );
        let parsed = parse_token_reply(
            Endpoint::Login,
            &reply(
                200,
                Some("application/json"),
                r#"{"jwt": "a", "rt": "r", "ttl": 60}"#,
            ),
            custom.response_fields(),
            custom.errors(),
            NOW,
        );
        assert_eq!(
            parsed.map(|t| (t.refresh_token, t.expires_in)),
            Ok((Some("r".into()), Some(Duration::from_secs(60))))
        );
    }

    #[test]
    fn expires_in_strings_read_like_an_f64_reading() {
        // What `seconds_value` did with a string before it read a `Json` value.
        let by_f64 = |text: &str| {
            json::from_str::<f64>(text.trim())
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        };
        for text in [
            "90",
            " 90 ",
            "1.5",
            "0",
            "-0",
            "-0.0",
            "-5",
            "1e3",
            "1E-3",
            "1e400",
            "-1e400",
            "1e-400",
            "18446744073709551616",
            "1e20",
            "9007199254740993",
            "0.0000000005",
            "\"90\"",
            "null",
            "true",
            "[1]",
            "{}",
            "0x10",
            "",
            " ",
            "NaN",
            "Infinity",
            "+1",
            "01",
            "1.",
            ".5",
            "1 2",
        ] {
            let value = Json::String(text.to_owned());
            assert_eq!(seconds_value(&value), by_f64(text), "{text:?}");
        }
    }

    /// `pairs` as the `form_urlencoded` crate serializes them: what the package sent before.
    fn crate_form(pairs: &[(String, String)]) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    fn form_body(pairs: &[(String, String)]) -> Option<String> {
        let mut request = HttpRequest::new(
            Endpoint::Login,
            Method::Post,
            String::new(),
            Credentials::Omit,
        );
        request.set_body(Body::Form(pairs.to_vec()));
        request.body_text()
    }

    #[test]
    fn forms_encode_like_the_form_urlencoded_crate() {
        let every_byte: String = (0..=0x7f_u8).map(char::from).collect();
        let texts = [
            "",
            " ",
            "alice",
            "p@ss w0rd&x=y+z%20",
            "*-._~!'()",
            "é ü ß 日本 🎉",
            "\0\r\n\t",
            "a\u{7f}b\u{80}c\u{ffff}",
            &every_byte,
        ];
        for name in texts {
            for value in texts {
                let pairs = vec![(name.to_owned(), value.to_owned())];
                assert_eq!(
                    form_body(&pairs),
                    Some(crate_form(&pairs)),
                    "{name:?} {value:?}"
                );
            }
        }
        let pairs: Vec<(String, String)> = texts
            .iter()
            .map(|text| (text.to_string(), text.to_string()))
            .collect();
        assert_eq!(form_body(&pairs), Some(crate_form(&pairs)));
        assert_eq!(form_body(&[]), Some(String::new()));
    }

    proptest::proptest! {
        #[test]
        fn forms_encode_like_the_form_urlencoded_crate_on_any_text(
            pairs in proptest::collection::vec((".{0,8}", "\\PC{0,8}"), 0..4)
        ) {
            proptest::prop_assert_eq!(form_body(&pairs), Some(crate_form(&pairs)));
        }
    }

    #[test]
    fn refresh_queries_encode_like_the_form_urlencoded_crate() {
        for (refresh, token) in [
            ("/auth/refresh", "a b+c&d=é"),
            ("/auth/refresh?x=1", "tok/en=="),
            ("/auth/refresh?", "t"),
            ("/auth/refresh", ""),
        ] {
            let config = config(&format!(
                r#"{{"baseUrl": "https://h", "endpoints": {{"refresh": "{refresh}"}}, "refresh": {{"via": "query", "field": "r t"}}}}"#
            ));
            let url = refresh_request(&config, Some(token)).map(|request| request.url);
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("r t", token)
                .finish();
            let separator = if refresh.contains('?') { "&" } else { "?" };
            assert_eq!(
                url,
                Some(["https://h", refresh, separator, &query].concat()),
                "{refresh} {token}"
            );
        }
    }

    #[test]
    fn errors_follow_the_mapping_table() {
        use Endpoint::*;
        use ErrorCode::*;
        let json = Some("application/json");
        let html = Some("text/html; charset=utf-8");
        // (endpoint, status, content type, body) -> (code, retryable)
        type Case<'a> = (Endpoint, u16, Option<&'a str>, &'a str, ErrorCode, bool);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (Login, 401, json, r#"{"detail": "Incorrect username or password"}"#, InvalidCredentials, false),
            (Login, 401, json, r#"{"detail": "User not found"}"#, InvalidCredentials, false),
            (Login, 400, json, r#"{"detail": "Incorrect username or password"}"#, InvalidCredentials, false),
            (Login, 400, json, r#"{"detail": "Inactive user"}"#, AccountDisabled, false),
            (Login, 401, json, r#"{"detail": "User account is disabled"}"#, AccountDisabled, false),
            (Login, 403, json, r#"{"detail": "User account is disabled"}"#, AccountDisabled, false),
            (Login, 403, None, "", AccountDisabled, false),
            (Login, 422, json, r#"{"detail": [{"loc": ["body", "username"], "msg": "field required", "type": "missing"}]}"#, Protocol, false),
            (Login, 404, json, r#"{"detail": "Not Found"}"#, Protocol, false),
            (Login, 405, json, r#"{"detail": "Method Not Allowed"}"#, Protocol, false),
            (Login, 429, json, r#"{"detail": "slow down"}"#, RateLimited, true),
            (Login, 500, Some("text/plain"), "Internal Server Error", Server, true),
            (Login, 502, html, "<html><head><title>502 Bad Gateway</title></head></html>", Server, true),
            (Refresh, 401, json, r#"{"detail": "Invalid refresh token"}"#, RefreshFailed, false),
            (Refresh, 401, json, r#"{"detail": "Token has expired"}"#, RefreshFailed, false),
            (Refresh, 400, json, r#"{"detail": "Inactive user"}"#, RefreshFailed, false),
            (Refresh, 403, None, "", RefreshFailed, false),
            (Refresh, 422, json, r#"{"detail": [{"loc": ["query", "refresh_token"], "msg": "Field required"}]}"#, Protocol, false),
            (Refresh, 503, None, "", Server, true),
            (Refresh, 429, None, "", RateLimited, true),
            (Me, 401, json, r#"{"detail": "Token has expired"}"#, TokenExpired, false),
            (Me, 401, json, r#"{"detail": "Signature has expired."}"#, TokenExpired, false),
            (Me, 401, json, r#"{"detail": "Token has been revoked"}"#, TokenRevoked, false),
            (Me, 401, json, r#"{"detail": "Could not validate credentials"}"#, NotAuthenticated, false),
            (Me, 401, None, "", NotAuthenticated, false),
            (Me, 403, json, r#"{"detail": "Admin access required"}"#, Forbidden, false),
            (Me, 403, json, r#"{"detail": "Inactive user"}"#, AccountDisabled, false),
            (Me, 400, json, r#"{"detail": "Inactive user"}"#, AccountDisabled, false),
            (Me, 400, json, r#"{"detail": "Bad"}"#, Protocol, false),
            (Api, 403, json, r#"{"detail": "Not enough permissions"}"#, Forbidden, false),
            (Logout, 401, json, r#"{"detail": "Token has been revoked"}"#, TokenRevoked, false),
            (Me, 504, html, "<h1>Gateway Timeout</h1>", Server, true),
        ];
        for &(endpoint, status, content_type, body, code, retryable) in cases {
            let err = error_for(endpoint, &reply(status, content_type, body), NOW);
            assert_eq!(err.code(), code, "{endpoint:?} {status} {body}");
            assert_eq!(
                err.is_retryable(),
                retryable,
                "{endpoint:?} {status} {body}"
            );
            assert_eq!(err.status(), Some(status), "{endpoint:?} {status} {body}");
            assert_eq!(
                err.message(),
                err.message().to_lowercase(),
                "messages are lowercase"
            );
        }
        assert_eq!(cases.len(), 32);
    }

    #[test]
    fn every_error_message_is_pinned() {
        use Endpoint::*;
        let json = Some("application/json");
        #[rustfmt::skip]
        let cases: &[(Endpoint, u16, &str, &str)] = &[
            (Login, 429, "", "too many requests (login)"),
            (Me, 503, "", "the server failed (me)"),
            (Refresh, 422, "", "the server rejected the refresh request as malformed: check the field names and encoding"),
            (Login, 400, r#"{"detail": "Inactive user"}"#, "the account is disabled"),
            (Login, 401, "", "login rejected: wrong username or password"),
            (Login, 403, "", "the account is disabled"),
            (Refresh, 403, "", "the server rejected the refresh token"),
            (Api, 403, r#"{"detail": "User is DISABLED"}"#, "the account is disabled"),
            (Me, 401, r#"{"detail": "Token is Blacklisted"}"#, "the server says the access token has been revoked"),
            (Logout, 401, r#"{"detail": "Signature has EXPIRED"}"#, "the server says the access token has expired"),
            (Me, 401, "", "the server did not accept the access token"),
            (Api, 403, "", "the server refused the api call"),
            (Me, 204, "", "the me reply is not what was expected"),
            (Logout, 404, "", "unexpected http 404 from logout"),
            (Api, 302, "", "unexpected http 302 from api call"),
        ];
        for &(endpoint, status, body, message) in cases {
            let err = error_for(endpoint, &reply(status, json, body), NOW);
            assert_eq!(err.message(), message, "{endpoint:?} {status} {body}");
        }
        // Each 2xx login or refresh reply that carries no token, with its message.
        let config = standard();
        let (fields, errors) = (config.response_fields(), config.errors());
        #[rustfmt::skip]
        let token_cases: &[(Option<&str>, &str, &str)] = &[
            (None, "", "the login reply is empty"),
            (Some("text/html"), "<html>app</html>", "the login reply is an html page, not json: check baseUrl and the endpoint paths"),
            (Some("text/plain"), "ok", "the login reply is not json"),
            (json, "[1]", "the login reply is json but not an object"),
            (json, r#"{"access_token": " "}"#, "the login reply has no `access_token` string"),
            (json, r#"{"access_token": 1}"#, "the login reply has no `access_token` string"),
        ];
        for &(content_type, body, message) in token_cases {
            let err =
                parse_token_reply(Login, &reply(200, content_type, body), fields, errors, NOW)
                    .err()
                    .map(|err| (err.message().to_owned(), err.status()));
            assert_eq!(err, Some((message.to_owned(), Some(200))), "{body}");
        }
    }

    #[test]
    fn details_come_from_fastapi_bodies_and_html_titles() {
        let detail = |status: u16, content_type: Option<&str>, body: &str| {
            error_for(Endpoint::Login, &reply(status, content_type, body), NOW)
                .detail()
                .map(str::to_owned)
        };
        assert_eq!(
            detail(
                401,
                Some("application/json"),
                r#"{"detail": "Incorrect username or password"}"#
            )
            .as_deref(),
            Some("Incorrect username or password")
        );
        assert_eq!(
            detail(422, Some("application/json"), r#"{"detail": [{"loc": ["body", "username"], "msg": "field required"}, {"loc": ["body", "password"], "msg": "field required"}]}"#).as_deref(),
            Some("body.username: field required; body.password: field required")
        );
        assert_eq!(
            detail(
                400,
                Some("application/json"),
                r#"{"error": "invalid_grant", "error_description": "Bad password"}"#
            )
            .as_deref(),
            Some("Bad password")
        );
        assert_eq!(
            detail(
                502,
                Some("text/html"),
                "<html><TITLE> 502 Bad Gateway </TITLE>"
            )
            .as_deref(),
            Some("502 Bad Gateway")
        );
        assert_eq!(
            detail(502, Some("text/html"), "<html><body>oops</body></html>").as_deref(),
            Some("an html page")
        );
        assert_eq!(detail(500, None, "").as_deref(), None);
        // A detail object is kept as compact JSON.
        assert_eq!(
            detail(
                401,
                Some("application/json"),
                r#"{"detail": {"reason": "x"}}"#
            )
            .as_deref(),
            Some(r#"{"reason":"x"}"#)
        );
    }

    #[test]
    fn validation_summaries_join_every_location_and_message() {
        let summary = |body: &str| match json::from_str::<Json>(body) {
            Some(Json::Array(items)) => validation_summary(&items),
            _ => panic!("not a JSON array: {body}"),
        };
        assert_eq!(summary("[]"), "");
        assert_eq!(
            summary(r#"[{"loc": ["body", 0, "name"], "msg": "bad"}]"#),
            "body.0.name: bad"
        );
        // Locations of other JSON values are their JSON text; no location, no prefix.
        assert_eq!(
            summary(
                r#"[{"loc": [true, null, 1.5], "msg": "x"}, {"msg": "no loc"}, {"loc": [], "msg": "empty"}, {"loc": [""], "msg": "blank"}]"#
            ),
            "true.null.1.5: x; no loc; empty; blank"
        );
        // Empty parts keep their separators; a missing message is "invalid".
        assert_eq!(
            summary(r#"[{"msg": ""}, {"loc": ["a", ""], "msg": ""}, {}]"#),
            "; a.: ; invalid"
        );
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_and_dates() {
        let with_retry = |status: u16, value: &str| HttpReply {
            retry_after: Some(value.to_owned()),
            ..reply(status, None, "")
        };
        let err = error_for(Endpoint::Refresh, &with_retry(429, "120"), NOW);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
        let err = error_for(Endpoint::Refresh, &with_retry(503, "7"), NOW);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        // Not on terminal errors: a rejected refresh token never becomes valid by waiting.
        let err = error_for(Endpoint::Refresh, &with_retry(401, "7"), NOW);
        assert_eq!(err.retry_after(), None);

        // NOW is 2023-11-14T22:13:20Z.
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:15:00 GMT", NOW),
            Some(Duration::from_secs(100))
        );
        assert_eq!(
            parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", NOW),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", Timestamp::from_millis(0)),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(" 0 ", NOW), Some(Duration::ZERO));
        // A year, a number past u64, or a date years away: capped, never a session-long block.
        for hostile in [
            "31536000",
            "99999999999999999999999",
            "Fri, 14 Nov 2053 22:15:00 GMT",
        ] {
            assert_eq!(
                parse_retry_after(hostile, NOW),
                Some(schedule::MAX_RETRY_AFTER),
                "{hostile:?}"
            );
        }
        let err = error_for(Endpoint::Refresh, &with_retry(503, "31536000"), NOW);
        assert_eq!(err.retry_after(), Some(schedule::MAX_RETRY_AFTER));
        for garbage in [
            "",
            "-1",
            "1.5",
            "soon",
            "Tue, 14 Nov 2023 22:15:00 UTC",
            "Tue, 31 Foo 2023 22:15:00 GMT",
            "Tue, 14 Nov 2023 25:15:00 GMT",
        ] {
            assert_eq!(parse_retry_after(garbage, NOW), None, "{garbage:?}");
        }
    }

    #[test]
    fn http_dates_refuse_signed_and_overflowing_fields() {
        // The well-formed date these variants break: 2015-10-21T07:28:00Z.
        assert_eq!(
            parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Timestamp::from_millis(1_445_412_480_000))
        );
        let min = i64::MIN.to_string();
        let max = i64::MAX.to_string();
        let hostile = [
            "Wed, 21 Oct 2015 -1:28:00 GMT".to_owned(),
            "Wed, 21 Oct 2015 +7:28:00 GMT".to_owned(),
            "Wed, 21 Oct 2015 07:-1:00 GMT".to_owned(),
            "Wed, 21 Oct 2015 07:28:-0 GMT".to_owned(),
            "Wed, 21 Oct 2015 07:28:+0 GMT".to_owned(),
            "Wed, +21 Oct 2015 07:28:00 GMT".to_owned(),
            "Wed, 21 Oct +2015 07:28:00 GMT".to_owned(),
            "Wed, 21 Oct 2015 07:28: GMT".to_owned(),
            "Wed, 21 Oct 2015 07:28:00:00 GMT".to_owned(),
            "Wed, 21 Oct 2015 07:28:0x GMT".to_owned(),
            format!("Wed, 21 Oct 2015 {min}:28:00 GMT"),
            format!("Wed, 21 Oct 2015 07:{min}:00 GMT"),
            format!("Wed, 21 Oct 2015 07:28:{min} GMT"),
            format!("Wed, 21 Oct 2015 {max}:28:00 GMT"),
            format!("Wed, 21 Oct 2015 07:28:00{max} GMT"),
            "Wed, 21 Oct 2015 99999999999999999999999:28:00 GMT".to_owned(),
        ];
        for date in &hostile {
            assert_eq!(parse_http_date(date), None, "{date:?}");
            assert_eq!(parse_retry_after(date, NOW), None, "{date:?}");
        }
        // delta-seconds is 1*DIGIT (RFC 9110 section 10.2.3): no sign, not even on zero.
        for signed in ["+120", "-120", "+0", "-0", "+", "-", "1 2", "0x10"] {
            assert_eq!(parse_retry_after(signed, NOW), None, "{signed:?}");
        }
        assert_eq!(
            parse_retry_after("0120", NOW),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn http_date_months_are_their_three_letter_names() {
        let names = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        for (index, name) in names.iter().enumerate() {
            let date = format!("Sun, 01 {name} 2023 00:00:00 GMT");
            let days = days_from_civil(2023, index as u32 + 1, 1);
            assert_eq!(
                parse_http_date(&date),
                Some(Timestamp::from_millis(days * 86_400_000)),
                "{date}"
            );
        }
        for name in [
            "J", "Ja", "jan", "JAN", "anF", "nFe", "JanF", "JanFeb", "Dece", "ec", "Sept", "Foo",
        ] {
            let date = format!("Sun, 01 {name} 2023 00:00:00 GMT");
            assert_eq!(parse_http_date(&date), None, "{date}");
        }
    }

    #[test]
    fn digits_read_like_str_parse_without_a_sign() {
        let max = u64::MAX.to_string();
        let over = "18446744073709551616";
        for text in [
            "", "+", "-", "0", "+0", "-0", "007", "42", "+42", "-42", "1a", " 1", "1 ", "1_000",
            "1.5", "\u{661}", &max, over,
        ] {
            let unsigned = !text.starts_with(['+', '-']);
            let expected = match text.parse::<u64>() {
                Ok(value) => Some(value).filter(|_| unsigned),
                // Past u64: saturated, still digits.
                Err(_) if text == over => Some(u64::MAX),
                Err(_) => None,
            };
            assert_eq!(digits(text), expected, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn digits_read_like_str_parse_on_any_text(text in "[+-]{0,2}[0-9a ]{0,21}") {
            let expected = if text.starts_with(['+', '-']) {
                None
            } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                Some(text.parse::<u64>().unwrap_or(u64::MAX))
            } else {
                None
            };
            proptest::prop_assert_eq!(digits(&text), expected, "{:?}", text);
        }
    }

    #[test]
    fn civil_dates_count_days_like_the_calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2023, 11, 14), 19_675);
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
    }

    #[test]
    fn me_and_logout_replies() {
        let value = parse_json_reply(
            Endpoint::Me,
            &reply(200, Some("application/json"), r#"{"id": 1}"#),
            &ErrorFormat::default(),
            NOW,
        );
        assert_eq!(value.map(|v| v.to_string()), Ok(r#"{"id":1}"#.to_owned()));
        let err = parse_json_reply(
            Endpoint::Me,
            &reply(401, None, ""),
            &ErrorFormat::default(),
            NOW,
        )
        .err()
        .map(|e| e.code());
        assert_eq!(err, Some(ErrorCode::NotAuthenticated));
        assert_eq!(
            parse_logout_reply(
                &reply(200, Some("application/json"), r#"{"message": "bye"}"#),
                &ErrorFormat::default(),
                NOW
            ),
            Ok(())
        );
        assert_eq!(
            parse_logout_reply(&reply(204, None, ""), &ErrorFormat::default(), NOW),
            Ok(())
        );
        assert!(parse_logout_reply(&reply(500, None, ""), &ErrorFormat::default(), NOW).is_err());
    }
}
