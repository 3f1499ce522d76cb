//! Server logout as the backend wants it (the `logout` option): one call or several, each with
//! its endpoint, its method, the token it authenticates with, and optionally the refresh token in
//! its body.
//!
//! Backends revoke in different ways. Our companion server takes the access token; simplejwt's
//! blacklist endpoint takes `{"refresh": …}` and no header; flask-jwt-extended revokes whichever
//! token authenticates a `DELETE /logout`, so revoking both takes two calls. A list of calls says
//! all of that without a mode per library. JavaScript may give one call as an object; the facade
//! makes it a list of one before the options are read (a one-or-many type cost 1.4 KB gzip).

use serde::Deserialize;

use crate::logic::config::LoginEncoding;

/// The HTTP method of a logout call.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutMethod {
    /// `POST` (the default).
    Post,
    /// `DELETE` (flask-jwt-extended's documented logout).
    Delete,
}

/// Which token a logout call sends in `Authorization: Bearer`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutBearer {
    /// The access token (the default).
    Access,
    /// The refresh token (flask-jwt-extended revokes the token that authenticates the call).
    Refresh,
    /// No `Authorization` header (simplejwt's blacklist endpoint reads only its body).
    None,
}

/// One logout call as given: every field optional. The choices are read as strings and checked
/// when the options are resolved (`Config::resolve`), which words the error: a derived enum per
/// field cost the package its own visitor each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogoutCallOptions {
    /// Path (joined to `baseUrl`) or absolute URL; default `endpoints.logout`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `"POST"` (the default) or `"DELETE"`.
    #[serde(default)]
    pub method: Option<String>,
    /// `"access"` (the default), `"refresh"` or `"none"`.
    #[serde(default)]
    pub bearer: Option<String>,
    /// Also send the refresh token in the body: `"json"` or `"form"`.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The body field of the refresh token; default `"refresh_token"`. Needs `refreshToken`.
    #[serde(default)]
    pub field: Option<String>,
}

impl LogoutCallOptions {
    /// The method named, if it is one of the two.
    pub(crate) fn method(&self) -> Option<LogoutMethod> {
        match self.method.as_deref() {
            None | Some("POST") => Some(LogoutMethod::Post),
            Some("DELETE") => Some(LogoutMethod::Delete),
            Some(_) => None,
        }
    }

    /// The bearer named, if it is one of the three.
    pub(crate) fn bearer(&self) -> Option<LogoutBearer> {
        match self.bearer.as_deref() {
            None | Some("access") => Some(LogoutBearer::Access),
            Some("refresh") => Some(LogoutBearer::Refresh),
            Some("none") => Some(LogoutBearer::None),
            Some(_) => None,
        }
    }

    /// The body encoding named: `Ok(None)` for none, `Err` for an unknown name.
    pub(crate) fn body(&self) -> Result<Option<LoginEncoding>, ()> {
        match self.refresh_token.as_deref() {
            None => Ok(None),
            Some("json") => Ok(Some(LoginEncoding::Json)),
            Some("form") => Ok(Some(LoginEncoding::Form)),
            Some(_) => Err(()),
        }
    }
}

/// A logout call ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutCall {
    /// The endpoint's URL.
    pub url: String,
    /// `POST` or `DELETE`.
    pub method: LogoutMethod,
    /// The token in `Authorization: Bearer`, if any.
    pub bearer: LogoutBearer,
    /// The body carrying the refresh token: its encoding and field.
    pub refresh_token: Option<(LoginEncoding, String)>,
}

impl LogoutCall {
    /// Whether the call needs the refresh token, so a session without one skips it.
    pub fn needs_refresh_token(&self) -> bool {
        self.bearer == LogoutBearer::Refresh || self.refresh_token.is_some()
    }
}
