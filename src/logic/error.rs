//! Errors: one [`AuthError`] type carrying a stable [`ErrorCode`], the HTTP status when a response
//! came, whether retrying can help, and how long the server asked us to wait.
//!
//! Every failure the SDK reports, whatever its phase (options, storage, decoding, HTTP), becomes
//! an `AuthError`, so apps switch on [`AuthError::code`] instead of parsing messages. The codes
//! and their strings are fixed by the public contract (`API.md`); the messages are for humans,
//! start lowercase, and never contain a token or a password.
//!
//! No message is formatted with `core::fmt` on the wasm module's paths: a message is static text,
//! or a static template whose `{}` placeholders [`fill`] replaces with its fields, and numbers
//! become text with [`decimal`]. Formatting machinery costs the npm package bytes for no gain
//! (`bench/SIZE-ANALYSIS.md`), and a template keeps each message one greppable, stable string.

use std::error::Error as StdError;
use std::fmt;
#[cfg(feature = "error-source")]
use std::sync::Arc;
use std::time::Duration;

use crate::logic::token::DecodeError;

/// What went wrong, as a stable machine-readable code (`AuthError.code` in JavaScript).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The login was rejected: wrong username or password (`"invalid_credentials"`).
    InvalidCredentials,
    /// The account exists but is disabled or inactive (`"account_disabled"`).
    AccountDisabled,
    /// No usable session for an authenticated call (`"not_authenticated"`).
    NotAuthenticated,
    /// The server says the access token has expired (`"token_expired"`).
    TokenExpired,
    /// The server says the access token was revoked, e.g. after a logout (`"token_revoked"`).
    TokenRevoked,
    /// A token is not a well-formed JWT (`"invalid_token"`).
    InvalidToken,
    /// The server rejected the refresh token; the session is over (`"refresh_failed"`).
    RefreshFailed,
    /// The server understood who we are and refused: HTTP 403 (`"forbidden"`).
    Forbidden,
    /// The server asked us to slow down: HTTP 429 (`"rate_limited"`).
    RateLimited,
    /// No response arrived: offline, DNS, CORS, abort or timeout (`"network"`).
    Network,
    /// The server failed: HTTP 5xx (`"server"`).
    Server,
    /// The server answered something we cannot use: wrong shape, not JSON, 422 (`"protocol"`).
    Protocol,
    /// Token storage threw or held garbage (`"storage"`).
    Storage,
    /// The client options are invalid (`"config"`).
    Config,
}

impl ErrorCode {
    /// Every code, in the order of `API.md`.
    pub const ALL: [ErrorCode; 14] = [
        Self::InvalidCredentials,
        Self::AccountDisabled,
        Self::NotAuthenticated,
        Self::TokenExpired,
        Self::TokenRevoked,
        Self::InvalidToken,
        Self::RefreshFailed,
        Self::Forbidden,
        Self::RateLimited,
        Self::Network,
        Self::Server,
        Self::Protocol,
        Self::Storage,
        Self::Config,
    ];

    /// The code's string in the public contract, e.g. `"invalid_credentials"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountDisabled => "account_disabled",
            Self::NotAuthenticated => "not_authenticated",
            Self::TokenExpired => "token_expired",
            Self::TokenRevoked => "token_revoked",
            Self::InvalidToken => "invalid_token",
            Self::RefreshFailed => "refresh_failed",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::Network => "network",
            Self::Server => "server",
            Self::Protocol => "protocol",
            Self::Storage => "storage",
            Self::Config => "config",
        }
    }

    /// Whether the same request may succeed later without anything changing on our side.
    ///
    /// Only a missing response, a 5xx and a 429 qualify (supabase auth-js draws the same line in
    /// `isAuthRetryableFetchError`): everything else is an answer that repeating will not change.
    pub const fn is_retryable(self) -> bool {
        matches!(self, Self::Network | Self::Server | Self::RateLimited)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest server-supplied detail an error keeps: enough for FastAPI's messages, short
/// enough that an HTML error page pasted into a detail does not flood a log.
const MAX_DETAIL_CHARS: usize = 200;

/// An error from tokenkeeper: a stable [`ErrorCode`], the HTTP status if a response came, a
/// human message, and retry hints.
///
/// Equality compares everything except [`source`](StdError::source), so tests can compare errors
/// built in different places.
///
/// The cause behind [`source`](StdError::source) is kept only with the crate feature
/// `error-source` (on by default). The npm package builds without it: its JavaScript `AuthError`
/// has no cause, and a stored `dyn Error` would keep every cause's `Debug` formatting (and
/// `core::fmt`'s string escaping with it) in the wasm module, reachable through the vtable alone.
#[derive(Clone)]
pub struct AuthError {
    code: ErrorCode,
    status: Option<u16>,
    message: String,
    detail: Option<String>,
    retryable: bool,
    retry_after: Option<Duration>,
    #[cfg(feature = "error-source")]
    source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl AuthError {
    /// An error with `code` and a message (lowercase, no trailing period, no secrets): static
    /// text, or a template filled by [`fill`].
    ///
    /// Retryable exactly when the code is ([`ErrorCode::is_retryable`]).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status: None,
            message: message.into(),
            detail: None,
            retryable: code.is_retryable(),
            retry_after: None,
            #[cfg(feature = "error-source")]
            source: None,
        }
    }

    /// A `network` error: no response arrived (offline, DNS, CORS, abort, timeout).
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Network, message)
    }

    /// A `config` error: the options are invalid.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Config, message)
    }

    /// A `storage` error: token storage threw or held garbage.
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Storage, message)
    }

    /// A `protocol` error: the server's answer has a shape we cannot use.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Protocol, message)
    }

    /// A `server` error: the server failed (5xx).
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Server, message)
    }

    /// A `not_authenticated` error: there is no usable session.
    pub fn not_authenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotAuthenticated, message)
    }

    /// The same error with the HTTP status of the response that caused it.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The same error carrying the server's own explanation (FastAPI's `detail`, an HTML title).
    ///
    /// Anything that looks like a JWT is replaced by `[redacted]` and the text is cut to a few
    /// hundred characters, because details end up in logs and error reporters.
    #[must_use]
    pub fn with_detail(mut self, detail: impl AsRef<str>) -> Self {
        let cleaned = sanitize_detail(detail.as_ref());
        self.detail = if cleaned.is_empty() {
            None
        } else {
            Some(cleaned)
        };
        self
    }

    /// The same error with the server's requested wait before the next attempt (`Retry-After`).
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The same error with an underlying cause, reported by [`source`](StdError::source).
    ///
    /// Without the crate feature `error-source` the cause is dropped and `source()` stays `None`
    /// (see [`AuthError`]).
    #[must_use]
    #[cfg(feature = "error-source")]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The same error with an underlying cause, reported by [`source`](StdError::source).
    ///
    /// Without the crate feature `error-source` the cause is dropped and `source()` stays `None`
    /// (see [`AuthError`]).
    #[must_use]
    #[cfg(not(feature = "error-source"))]
    pub fn with_source(self, source: impl StdError + Send + Sync + 'static) -> Self {
        drop(source);
        self
    }

    /// The stable code (`AuthError.code` in JavaScript).
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status of the response, when one was received.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The human message, without the server's detail.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server's own explanation, sanitized, when it gave one.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The whole human text, as [`Display`](fmt::Display) writes it: the message, the server's
    /// detail in quotes, the HTTP status (`login rejected: "Incorrect password" (http 401)`).
    ///
    /// Built by concatenation, not `core::fmt`: this is the text the wasm module hands to the
    /// JavaScript `AuthError`.
    pub fn full_message(&self) -> String {
        let mut text = self.message.clone();
        if let Some(detail) = &self.detail {
            text.push_str(": \"");
            text.push_str(detail);
            text.push('"');
        }
        if let Some(status) = self.status {
            text.push_str(" (http ");
            text.push_str(&decimal(status.into()));
            text.push(')');
        }
        text
    }

    /// Whether retrying later may succeed (network, 5xx, 429).
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// How long the server asked us to wait (`Retry-After`), when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("code", &self.code)
            .field("status", &self.status)
            .field("message", &self.message)
            .field("detail", &self.detail)
            .field("retryable", &self.retryable)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl PartialEq for AuthError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.status == other.status
            && self.message == other.message
            && self.detail == other.detail
            && self.retryable == other.retryable
            && self.retry_after == other.retry_after
    }
}

impl Eq for AuthError {}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_message())
    }
}

impl StdError for AuthError {
    #[cfg(feature = "error-source")]
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

impl From<DecodeError> for AuthError {
    /// A malformed token is `invalid_token`; the decoder's message never quotes the token.
    fn from(err: DecodeError) -> Self {
        Self::new(ErrorCode::InvalidToken, err.message()).with_source(err)
    }
}

/// `template` with each `{}` replaced by the next of `args`, in order: how every message with
/// fields is built, without `core::fmt`.
///
/// A placeholder without an argument becomes empty and extra arguments are ignored (a mismatch is
/// a bug of the caller, never a panic); the arguments are copied as they are, never scanned for
/// placeholders themselves.
pub(crate) fn fill(template: &str, args: &[&str]) -> String {
    let mut args = args.iter();
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = find_text(rest, "{}") {
        out.push_str(rest.get(..at).unwrap_or_default());
        out.push_str(args.next().copied().unwrap_or_default());
        rest = rest.get(at + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// `parts` joined end to end: `[..].concat()` without std's generic `join_generic_copy` (0.9 KB
/// raw in the wasm module while any caller of `concat` on `&str` slices remains).
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut len = 0;
    for part in parts {
        len += part.len();
    }
    let mut out = String::with_capacity(len);
    for part in parts {
        out.push_str(part);
    }
    out
}

/// The byte offset of the first `needle` in `haystack`, as `str::find` gives it.
///
/// A plain scan: the needles are a few short literals, and `str::find` with a string pattern
/// brings its two-way searcher into the wasm module. A match of UTF-8 bytes always starts and
/// ends on character boundaries, so the offset is the one `str::find` returns.
pub(crate) fn find_text(haystack: &str, needle: &str) -> Option<usize> {
    find_bytes(haystack, needle, false)
}

/// [`find_text`] ignoring ASCII case: where `haystack.to_ascii_lowercase()` holds `needle` (an
/// ASCII lowercase literal), without the lowercased copy.
pub(crate) fn find_text_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    find_bytes(haystack, needle, true)
}

/// The scan of [`find_text`] and [`find_text_ignoring_case`].
fn find_bytes(haystack: &str, needle: &str, ignore_case: bool) -> Option<usize> {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| {
            if ignore_case {
                window.eq_ignore_ascii_case(needle)
            } else {
                window == needle
            }
        })
}

/// `n` in decimal digits (`401`, `16384`): the integers of messages, without `core::fmt`'s
/// integer formatting.
pub(crate) fn decimal(mut n: u64) -> String {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while at > 0 {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: the UTF-8 check always passes.
    std::str::from_utf8(digits.get(at..).unwrap_or_default())
        .unwrap_or_default()
        .to_owned()
}

/// Trims, collapses whitespace, redacts JWT-looking runs and caps the length.
///
/// A run is a maximal stretch of base64url characters and dots, so a token glued to quotes,
/// braces or a key (`{"token":"eyJ…"}`, a JSON detail object's text) is found as well as one
/// standing alone.
fn sanitize_detail(text: &str) -> String {
    // One pass over the characters: whitespace between words becomes one space (none at either
    // end), and runs are redacted as they end. Not `split_whitespace` and `join`, nor a
    // `chars().take(..).collect()` for the cap: their generic code costs the wasm module more.
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let mut started = false;
    let mut gap = false;
    for c in text.chars() {
        if c.is_whitespace() {
            gap = started;
            continue;
        }
        started = true;
        if gap {
            push_run(&mut out, &mut run);
            out.push(' ');
            gap = false;
        }
        if is_token_char(c) {
            run.push(c);
        } else {
            push_run(&mut out, &mut run);
            out.push(c);
        }
    }
    push_run(&mut out, &mut run);
    if let Some((cut, _)) = out.char_indices().nth(MAX_DETAIL_CHARS) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The characters of a compact JWS: base64url and the dots between its parts.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Appends `run` to `out`, redacted when it could be a token, and empties it.
fn push_run(out: &mut String, run: &mut String) {
    if looks_like_jwt(run) {
        out.push_str("[redacted]");
    } else {
        out.push_str(run);
    }
    run.clear();
}

/// Whether a run of base64url characters and dots could hold a compact JWS: at least three
/// dot-separated parts, one long enough to be a JOSE header, 30 characters in all. A word glued
/// to the token by a dot (`expired.eyJ…`) still counts. Errs towards redacting; a false positive
/// only hides a word of a message.
fn looks_like_jwt(run: &str) -> bool {
    let parts = run.split('.').filter(|part| !part.is_empty());
    let (count, longest) = parts.fold((0, 0), |(count, longest), part| {
        (count + 1, longest.max(part.len()))
    });
    count >= 3 && longest >= 10 && run.len() >= 30
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn codes_have_exactly_the_contract_strings() {
        let strings: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(
            strings,
            [
                "invalid_credentials",
                "account_disabled",
                "not_authenticated",
                "token_expired",
                "token_revoked",
                "invalid_token",
                "refresh_failed",
                "forbidden",
                "rate_limited",
                "network",
                "server",
                "protocol",
                "storage",
                "config",
            ]
        );
        for code in ErrorCode::ALL {
            assert_eq!(code.to_string(), code.as_str());
        }
    }

    #[test]
    fn only_network_server_and_rate_limited_are_retryable() {
        let retryable: Vec<ErrorCode> = ErrorCode::ALL
            .into_iter()
            .filter(|code| code.is_retryable())
            .collect();
        assert_eq!(
            retryable,
            [
                ErrorCode::RateLimited,
                ErrorCode::Network,
                ErrorCode::Server
            ]
        );
        assert!(AuthError::network("offline").is_retryable());
        assert!(!AuthError::config("bad").is_retryable());
    }

    #[test]
    fn display_shows_message_detail_and_status() {
        let err = AuthError::new(ErrorCode::InvalidCredentials, "login rejected")
            .with_status(401)
            .with_detail("Incorrect   username or password");
        assert_eq!(
            err.to_string(),
            "login rejected: \"Incorrect username or password\" (http 401)"
        );
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.code(), ErrorCode::InvalidCredentials);
        assert_eq!(AuthError::storage("garbage").to_string(), "garbage");
    }

    #[test]
    fn details_never_carry_a_token_and_stay_short() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        let err = AuthError::protocol("odd").with_detail(format!("bad token '{jwt}' given"));
        assert_eq!(err.detail(), Some("bad token '[redacted]' given"));
        assert!(!err.to_string().contains("eyJ"));
        // Glued to JSON punctuation (a detail object's text) or to a word by a dot.
        let err = AuthError::protocol("odd").with_detail(format!("{{\"token\":\"{jwt}\"}}"));
        assert_eq!(err.detail(), Some("{\"token\":\"[redacted]\"}"));
        let err = AuthError::protocol("odd").with_detail(format!("expired.{jwt}."));
        assert_eq!(err.detail(), Some("[redacted]"));
        // Dotted words that are not tokens survive.
        let err = AuthError::protocol("odd").with_detail("see example.com or v1.2.3");
        assert_eq!(err.detail(), Some("see example.com or v1.2.3"));
        let long = "x ".repeat(500);
        let detail = AuthError::server("boom")
            .with_detail(long)
            .detail()
            .map(|d| d.chars().count());
        assert_eq!(detail, Some(MAX_DETAIL_CHARS + 1));
        assert_eq!(AuthError::server("boom").with_detail("   ").detail(), None);
    }

    #[test]
    fn decode_errors_become_invalid_token() {
        let err = AuthError::from(DecodeError::WrongPartCount { found: 2 });
        assert_eq!(err.code(), ErrorCode::InvalidToken);
        assert!(!err.is_retryable());
        assert!(err.message().contains("found 2"));
        // The decoder's error is the cause exactly when the crate keeps causes.
        assert_eq!(err.source().is_some(), cfg!(feature = "error-source"));
    }

    /// The plain statement of [`sanitize_detail`]: collapse the words, redact each run, cap.
    fn sanitize_reference(text: &str) -> String {
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut out = String::new();
        let mut run = String::new();
        for c in collapsed.chars() {
            if is_token_char(c) {
                run.push(c);
            } else {
                push_run(&mut out, &mut run);
                out.push(c);
            }
        }
        push_run(&mut out, &mut run);
        if out.chars().count() > MAX_DETAIL_CHARS {
            let mut cut: String = out.chars().take(MAX_DETAIL_CHARS).collect();
            cut.push('…');
            cut
        } else {
            out
        }
    }

    proptest::proptest! {
        #[test]
        fn sanitizing_collapses_redacts_and_caps_like_the_reference(
            text in "[ \t\n\u{3000}a-zA-Z0-9._:\"{}é€-]{0,260}"
        ) {
            proptest::prop_assert_eq!(sanitize_detail(&text), sanitize_reference(&text));
        }
    }

    #[test]
    fn sanitizing_edge_cases_match_the_reference() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
        let long_multibyte = "é".repeat(MAX_DETAIL_CHARS + 1);
        let exact = "€".repeat(MAX_DETAIL_CHARS);
        for text in [
            "",
            " \t\n ",
            "  lead and trail  ",
            "a\u{3000}b\u{a0}c",
            &format!(" {jwt}\n"),
            &format!("x\t{jwt} y"),
            &long_multibyte,
            &exact,
        ] {
            assert_eq!(sanitize_detail(text), sanitize_reference(text), "{text:?}");
        }
        assert_eq!(sanitize_detail(&exact), exact);
        assert_eq!(
            sanitize_detail(&long_multibyte).chars().count(),
            MAX_DETAIL_CHARS + 1
        );
    }

    #[test]
    fn concat_joins_like_std_concat() {
        for parts in [
            &[][..],
            &[""],
            &["a"],
            &["Bearer ", "t.o.k"],
            &["", "é", "", "€x"],
            &["https://", "h", ":", "8080"],
        ] {
            assert_eq!(concat(parts), parts.concat(), "{parts:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn concat_joins_like_std_concat_on_any_parts(parts in proptest::collection::vec("[aé€ ]{0,4}", 0..6)) {
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(concat(&parts), parts.concat());
        }
    }

    #[test]
    fn find_text_finds_what_str_find_finds() {
        for (haystack, needle) in [
            ("", ""),
            ("abc", ""),
            ("", "a"),
            ("<html><title>x</title>", "<title"),
            ("<title", "<title"),
            ("<titl", "<title"),
            ("{{}}", "{}"),
            ("é{}ü", "{}"),
            ("ééé", "é"),
            ("aaab", "aab"),
            ("user is inactive", "inactive"),
        ] {
            assert_eq!(
                find_text(haystack, needle),
                haystack.find(needle),
                "{haystack:?} {needle:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn find_text_agrees_with_str_find(haystack in "[ab{}é]{0,12}", needle in "[ab{}é]{0,3}") {
            proptest::prop_assert_eq!(find_text(&haystack, &needle), haystack.find(needle.as_str()));
        }
    }

    #[test]
    fn find_text_ignoring_case_finds_what_lowercasing_finds() {
        for (haystack, needle) in [
            ("", ""),
            ("TEXT/HTML; charset=utf-8", "html"),
            ("<HTML><TiTlE>x</tItLe>", "<title"),
            ("<HTML><TiTlE>x</tItLe>", "</title"),
            ("User Account Is DISABLED", "disabled"),
            ("İnactive", "inactive"),
            ("éxpired EXPIRED", "expired"),
            ("application/json", "html"),
        ] {
            assert_eq!(
                find_text_ignoring_case(haystack, needle),
                haystack.to_ascii_lowercase().find(needle),
                "{haystack:?} {needle:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn find_text_ignoring_case_agrees_with_lowercasing(haystack in "[abAB{}éÉ]{0,12}", needle in "[ab{}é]{0,3}") {
            proptest::prop_assert_eq!(
                find_text_ignoring_case(&haystack, &needle),
                haystack.to_ascii_lowercase().find(needle.as_str())
            );
        }
    }

    #[test]
    fn fill_replaces_each_placeholder_in_order() {
        assert_eq!(fill("no placeholder", &[]), "no placeholder");
        assert_eq!(
            fill("the {} reply is empty", &["login"]),
            "the login reply is empty"
        );
        assert_eq!(fill("{}{}", &["a", "b"]), "ab");
        assert_eq!(fill("{} at {} and {}", &["x", "y", "z"]), "x at y and z");
        // Arguments are not scanned for placeholders; a mismatch never panics.
        assert_eq!(fill("`{}`", &["{}"]), "`{}`");
        assert_eq!(fill("{} and {}", &["one"]), "one and ");
        assert_eq!(fill("{}", &["one", "two"]), "one");
        assert_eq!(fill("é{}ü", &["ß"]), "éßü");
    }

    #[test]
    fn decimal_writes_what_display_writes() {
        for n in [0, 7, 10, 401, 16_384, 65_535, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    #[cfg(feature = "error-source")]
    fn source_is_kept_but_ignored_by_equality() {
        let cause = std::fmt::Error;
        let with = AuthError::storage("write failed").with_source(cause);
        let without = AuthError::storage("write failed");
        assert!(with.source().is_some());
        assert!(without.source().is_none());
        assert_eq!(with, without);
        assert_ne!(with, without.clone().with_status(500));
    }

    #[test]
    #[cfg(not(feature = "error-source"))]
    fn source_is_dropped_without_the_error_source_feature() {
        let with = AuthError::storage("write failed").with_source(std::fmt::Error);
        assert!(with.source().is_none());
        assert_eq!(with, AuthError::storage("write failed"));
    }
}
