//! Client options: the Rust form of `AuthClientOptions`, the three profile presets, and their
//! validation into a [`Config`] the rest of the core trusts.
//!
//! [`AuthClientOptions`] mirrors the JavaScript object field by field (camelCase). The wasm
//! facade reads it with [`AuthClientOptions::from_json`] (`logic::options_json`); Rust apps may
//! also use its serde `Deserialize`, which that reader follows. Every field is optional except
//! `baseUrl`; [`Config::resolve`] fills the gaps from the chosen [`Profile`] and rejects what
//! cannot work with a `config` [`AuthError`]. Unknown fields are rejected too: in JavaScript a
//! typo such as `refreshMargin` would otherwise be silently ignored.
//!
//! URLs are handled without a URL library (the `url` crate would add a large share to the wasm
//! binary for the few checks needed here): `baseUrl` is either an absolute `http(s)` URL or a path
//! starting with `/` (same origin as the page), endpoints are paths joined to it or absolute URLs.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::logic::error::{fill, find_text, AuthError};
use crate::logic::logout::{LogoutBearer, LogoutCall, LogoutCallOptions, LogoutMethod};
use crate::logic::roles::{RoleClaims, DEFAULT_ROLE_CLAIMS};

/// A preset for a backend shape (`profile` option): the seed shapes, and the Python auth
/// libraries as their docs set them up.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// `/auth/login` (form), `/auth/refresh` (JSON, rotating), `/auth/logout`, `/auth/me`.
    #[default]
    Standard,
    /// `/auth/login` (form), `/auth/refresh?refresh_token=…`, no logout, `/users/me`.
    Minimal,
    /// `/api/v1/login` (JSON `{email, password}`), no refresh, no logout, `/api/v1/me`.
    V1,
    /// djangorestframework-simplejwt: `/api/token/` (JSON), `/api/token/refresh/` (JSON
    /// `refresh`, rotating), logout through `/api/token/blacklist/`, no `me` endpoint.
    Simplejwt,
    /// flask-jwt-extended: `/login` (JSON), `/refresh` with the refresh token as the bearer,
    /// `DELETE /logout` once per token, no `me` endpoint; 422 also means a refused token.
    #[serde(rename = "flask-jwt-extended")]
    FlaskJwtExtended,
    /// fastapi-users (JWT strategy, bearer transport): `/auth/jwt/login` (form), no refresh,
    /// `/auth/jwt/logout`, `/users/me`.
    #[serde(rename = "fastapi-users")]
    FastapiUsers,
}

/// How login credentials are sent.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginEncoding {
    /// `application/x-www-form-urlencoded`, as FastAPI's `OAuth2PasswordRequestForm` expects.
    Form,
    /// A JSON object.
    Json,
}

/// How the refresh token travels to the refresh endpoint.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefreshVia {
    /// A JSON body `{"<field>": "<refresh token>"}`.
    Json,
    /// A query parameter `?<field>=<refresh token>` (FastAPI's bare `refresh_token: str`).
    Query,
    /// An HttpOnly cookie the browser sends itself; requests go with `credentials: "include"`.
    Cookie,
    /// `Authorization: Bearer <refresh token>`, no body (flask-jwt-extended's
    /// `@jwt_required(refresh=True)`).
    Bearer,
}

/// Where the session is kept (`storage` option).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// `localStorage`: survives reloads, shared by the tabs of the origin.
    Local,
    /// `sessionStorage`: survives reloads, private to the tab.
    Session,
    /// Memory only: gone on reload.
    Memory,
    /// An app-supplied `TokenStorage` adapter. The JavaScript facade sets this when `storage` is
    /// an object (an object with functions cannot go through serde); it is never parsed.
    #[serde(skip_deserializing)]
    Custom,
}

impl StorageKind {
    /// Whether other tabs see the same storage, so that tabs must act as one session (refresh
    /// under a cross-tab lock, follow each other's writes). A custom adapter is assumed shared:
    /// wrongly assuming so costs a lock, wrongly assuming not costs duplicate refreshes.
    pub fn is_shared(self) -> bool {
        matches!(self, Self::Local | Self::Custom)
    }
}

/// A nullable option: absent keeps the preset, `null` says the server has none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Override<T> {
    /// Not given: the profile's value applies.
    #[default]
    Preset,
    /// Given as `null`: the server has no such endpoint.
    Disabled,
    /// Given: this value.
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Override<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Absence never reaches here (`#[serde(default)]` yields `Preset`), so `None` is `null`.
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Self::Set(value),
            None => Self::Disabled,
        })
    }
}

/// `endpoints` option: paths (joined to `baseUrl`) or absolute URLs; `null` = the server has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointOptions {
    /// The login endpoint (every server has one).
    #[serde(default)]
    pub login: Option<String>,
    /// The refresh endpoint.
    #[serde(default)]
    pub refresh: Override<String>,
    /// The logout endpoint.
    #[serde(default)]
    pub logout: Override<String>,
    /// The current-user endpoint.
    #[serde(default)]
    pub me: Override<String>,
}

/// `login` option: how credentials are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginOptions {
    /// Form or JSON body.
    #[serde(default)]
    pub encoding: Option<LoginEncoding>,
    /// The field carrying the username (`"username"`, or `"email"` for v1).
    #[serde(default)]
    pub username_field: Option<String>,
    /// The field carrying the password.
    #[serde(default)]
    pub password_field: Option<String>,
}

/// `refresh` option: how the refresh token is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshOptions {
    /// JSON body, query parameter or cookie.
    #[serde(default)]
    pub via: Option<RefreshVia>,
    /// The JSON field or query parameter name (default `"refresh_token"`).
    #[serde(default)]
    pub field: Option<String>,
}

/// `responseFields` option: where the token response keeps its values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseFieldOptions {
    /// Default `"access_token"`.
    #[serde(default)]
    pub access_token: Option<String>,
    /// Default `"refresh_token"`.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Default `"expires_in"`.
    #[serde(default)]
    pub expires_in: Option<String>,
}

/// The options of `new AuthClient(options)`, as given: every field but `baseUrl` optional.
///
/// Resolve them with [`Config::resolve`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthClientOptions {
    /// Origin (and optional path prefix) of the auth API, or a path such as `/api` for the
    /// page's own origin.
    pub base_url: String,
    /// The backend shape preset; default `standard`.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// Endpoint overrides.
    #[serde(default)]
    pub endpoints: Option<EndpointOptions>,
    /// Login request shape.
    #[serde(default)]
    pub login: Option<LoginOptions>,
    /// Refresh request shape.
    #[serde(default)]
    pub refresh: Option<RefreshOptions>,
    /// Token response field names.
    #[serde(default)]
    pub response_fields: Option<ResponseFieldOptions>,
    /// Where the session is kept; default `local`.
    #[serde(default)]
    pub storage: Option<StorageKind>,
    /// The storage key; default `"tokenkeeper"`.
    #[serde(default)]
    pub storage_key: Option<String>,
    /// Refresh in the background before expiry; default `true`.
    #[serde(default)]
    pub auto_refresh: Option<bool>,
    /// Refresh this long before `exp`; default 60, scaled down for short-lived tokens.
    #[serde(default)]
    pub refresh_margin_seconds: Option<f64>,
    /// Clock tolerance when judging expiry; default 0.
    #[serde(default)]
    pub leeway_seconds: Option<f64>,
    /// Claim paths holding roles; default `["role", "roles", "realm_access.roles"]`.
    #[serde(default)]
    pub role_claims: Option<Vec<String>>,
    /// Extra origins `fetch()` may send the token to (the origin of `baseUrl` always may).
    #[serde(default)]
    pub api_origins: Option<Vec<String>>,
    /// How logout reaches the server: one call or several; default one `POST` to
    /// `endpoints.logout` with the access token.
    #[serde(default)]
    pub logout: Option<Vec<LogoutCallOptions>>,
    /// Where error replies keep their explanation, tried in order: claim-style paths, `[]` for
    /// each element of a list (`"messages[].message"`). Default `["detail",
    /// "error_description", "message", "error"]`.
    #[serde(default)]
    pub error_fields: Option<Vec<String>>,
    /// The statuses that mean "this token was refused" (refresh and replay once); default
    /// `[401]`. flask-jwt-extended answers 422 to a malformed or wrong-type token.
    #[serde(default)]
    pub token_error_statuses: Option<Vec<u16>>,
}

impl AuthClientOptions {
    /// Options with `base_url` and every other field at its default.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            ..Self::default()
        }
    }
}

/// The resolved endpoint URLs; `None` where the server has no such endpoint.
///
/// Each URL is absolute, or a path starting with `/` when `baseUrl` is a path (the browser
/// resolves it against the page, as `fetch` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Login URL.
    pub login: String,
    /// Refresh URL, if the server can refresh.
    pub refresh: Option<String>,
    /// Logout URL, if the server has one.
    pub logout: Option<String>,
    /// Current-user URL, if the server has one.
    pub me: Option<String>,
}

/// The resolved login request shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFormat {
    /// Form or JSON.
    pub encoding: LoginEncoding,
    /// The username field name.
    pub username_field: String,
    /// The password field name.
    pub password_field: String,
}

/// The resolved refresh request shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFormat {
    /// How the refresh token travels.
    pub via: RefreshVia,
    /// The JSON field or query parameter name.
    pub field: String,
}

/// The resolved token response field names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFields {
    /// Field holding the access token.
    pub access_token: String,
    /// Field holding the refresh token.
    pub refresh_token: String,
    /// Field holding the lifetime in seconds.
    pub expires_in: String,
}

/// How error replies speak: where the explanation is, and which statuses refuse a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFormat {
    /// Paths of the explanation in a JSON body, tried in order (`[]` expands a list).
    pub fields: Vec<String>,
    /// Statuses that mean the token was refused; always holds 401.
    pub token_statuses: Vec<u16>,
}

/// The default `errorFields`: FastAPI's `detail`, OAuth's `error_description`, and the common
/// `message` and `error`.
pub const DEFAULT_ERROR_FIELDS: [&str; 4] = ["detail", "error_description", "message", "error"];

impl Default for ErrorFormat {
    fn default() -> Self {
        Self {
            fields: owned(&DEFAULT_ERROR_FIELDS),
            token_statuses: vec![401],
        }
    }
}

impl ErrorFormat {
    /// Whether `status` says the token was refused.
    pub fn refuses_token(&self, status: u16) -> bool {
        self.token_statuses.contains(&status)
    }
}

/// Validated options: what the rest of the core reads. Built only by [`Config::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    profile: Profile,
    base_origin: Option<String>,
    endpoints: Endpoints,
    login: LoginFormat,
    refresh: RefreshFormat,
    response_fields: ResponseFields,
    storage: StorageKind,
    storage_key: String,
    auto_refresh: bool,
    refresh_margin: Duration,
    leeway: Duration,
    role_claims: RoleClaims,
    api_origins: Vec<String>,
    logout: Vec<LogoutCall>,
    errors: ErrorFormat,
}

/// The default `storageKey`.
pub const DEFAULT_STORAGE_KEY: &str = "tokenkeeper";
/// The default `refreshMarginSeconds`.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The profile table of `API.md`, as data.
struct Preset {
    login: &'static str,
    refresh: Option<&'static str>,
    logout: Option<&'static str>,
    me: Option<&'static str>,
    encoding: LoginEncoding,
    username_field: &'static str,
    via: RefreshVia,
    refresh_field: &'static str,
    access_token_field: &'static str,
    refresh_token_field: &'static str,
    logout_calls: &'static [PresetLogout],
    error_fields: &'static [&'static str],
    token_statuses: &'static [u16],
}

/// A preset's logout call: method, bearer, and the refresh token's body field (JSON) if any.
type PresetLogout = (LogoutMethod, LogoutBearer, Option<&'static str>);

/// One `POST` with the access token: every shape but the libraries below.
const LOGOUT_WITH_ACCESS: &[PresetLogout] = &[(LogoutMethod::Post, LogoutBearer::Access, None)];

/// The seed shapes' defaults for the fields the libraries name differently.
const SEED: Preset = Preset {
    login: "/auth/login",
    refresh: Some("/auth/refresh"),
    logout: Some("/auth/logout"),
    me: Some("/auth/me"),
    encoding: LoginEncoding::Form,
    username_field: "username",
    via: RefreshVia::Json,
    refresh_field: "refresh_token",
    access_token_field: "access_token",
    refresh_token_field: "refresh_token",
    logout_calls: LOGOUT_WITH_ACCESS,
    error_fields: &DEFAULT_ERROR_FIELDS,
    token_statuses: &[401],
};

/// Each profile's preset, as data: a table, not code, in the package.
fn preset(profile: Profile) -> &'static Preset {
    match profile {
        Profile::Standard => &SEED,
        Profile::Minimal => &MINIMAL,
        Profile::V1 => &V1,
        Profile::Simplejwt => &SIMPLEJWT,
        Profile::FlaskJwtExtended => &FLASK_JWT_EXTENDED,
        Profile::FastapiUsers => &FASTAPI_USERS,
    }
}

static MINIMAL: Preset = Preset {
    logout: None,
    me: Some("/users/me"),
    via: RefreshVia::Query,
    ..SEED
};

static V1: Preset = Preset {
    login: "/api/v1/login",
    refresh: None,
    logout: None,
    me: Some("/api/v1/me"),
    encoding: LoginEncoding::Json,
    username_field: "email",
    ..SEED
};

/// As simplejwt's docs set it up: rotation, and logout by blacklisting the refresh token (the
/// access token stays valid until it expires: the library cannot revoke it).
static SIMPLEJWT: Preset = Preset {
    login: "/api/token/",
    refresh: Some("/api/token/refresh/"),
    logout: Some("/api/token/blacklist/"),
    me: None,
    encoding: LoginEncoding::Json,
    refresh_field: "refresh",
    access_token_field: "access",
    refresh_token_field: "refresh",
    logout_calls: &[(LogoutMethod::Post, LogoutBearer::None, Some("refresh"))],
    // "Token is expired" is only in the nested messages of a refused access token.
    error_fields: &["messages[].message", "detail"],
    ..SEED
};

/// As flask-jwt-extended's docs set it up: the refresh token authenticates `/refresh`, and
/// `DELETE /logout` revokes whichever token authenticates it, so once per token.
static FLASK_JWT_EXTENDED: Preset = Preset {
    login: "/login",
    refresh: Some("/refresh"),
    logout: Some("/logout"),
    me: None,
    encoding: LoginEncoding::Json,
    via: RefreshVia::Bearer,
    logout_calls: &[
        (LogoutMethod::Delete, LogoutBearer::Access, None),
        (LogoutMethod::Delete, LogoutBearer::Refresh, None),
    ],
    error_fields: &["msg"],
    token_statuses: &[401, 422],
    ..SEED
};

/// fastapi-users' JWT strategy has no refresh; its logout revokes nothing (stateless).
static FASTAPI_USERS: Preset = Preset {
    login: "/auth/jwt/login",
    refresh: None,
    logout: Some("/auth/jwt/logout"),
    me: Some("/users/me"),
    ..SEED
};

impl Config {
    /// Validates `options` and fills every default from the profile.
    ///
    /// Fails with a `config` error naming the option: a `baseUrl` that is not an `http(s)` URL or
    /// a `/path`, negative or non-finite seconds, empty names, malformed origins.
    pub fn resolve(mut options: AuthClientOptions) -> Result<Self, AuthError> {
        // The checks borrow `options` (or take values out of it) and fail with a small `Bad`:
        // `options` is then dropped here, whole, once, and the `AuthError` is made once, where
        // each failing check used to move an `AuthError` and clean up a partly moved `options`.
        // The values are written into `config` in place, so that a refusal leaves one `config`
        // to drop here too, not the values resolved so far at each check.
        let mut config = Self::EMPTY;
        match config.resolve_from(&mut options) {
            Ok(()) => Ok(config),
            Err(bad) => Err(bad.error()),
        }
    }

    /// A `Config` with nothing resolved yet (no allocation), for [`Self::resolve_from`] to fill.
    /// A constant, copied in one piece, where a function called `String::new` per field.
    const EMPTY: Self = Self {
        profile: Profile::Standard,
        base_origin: None,
        endpoints: Endpoints {
            login: String::new(),
            refresh: None,
            logout: None,
            me: None,
        },
        login: LoginFormat {
            encoding: LoginEncoding::Form,
            username_field: String::new(),
            password_field: String::new(),
        },
        refresh: RefreshFormat {
            via: RefreshVia::Json,
            field: String::new(),
        },
        response_fields: ResponseFields {
            access_token: String::new(),
            refresh_token: String::new(),
            expires_in: String::new(),
        },
        storage: StorageKind::Local,
        storage_key: String::new(),
        auto_refresh: true,
        refresh_margin: Duration::ZERO,
        leeway: Duration::ZERO,
        role_claims: RoleClaims::from_paths(Vec::new()),
        api_origins: Vec::new(),
        logout: Vec::new(),
        errors: ErrorFormat {
            fields: Vec::new(),
            token_statuses: Vec::new(),
        },
    };

    /// Every option into `self` (fresh from [`Self::EMPTY`]), checked, defaults filled.
    fn resolve_from(&mut self, options: &mut AuthClientOptions) -> Result<(), Bad> {
        let profile = options.profile.unwrap_or_default();
        self.profile = profile;
        let preset = preset(profile);
        let base = BaseUrl::parse(&options.base_url)?;

        let given = options.endpoints.get_or_insert_default();
        let endpoints = &mut self.endpoints;
        base.join(
            &mut endpoints.login,
            "endpoints.login",
            given.login.as_deref().unwrap_or(preset.login),
        )?;
        base.endpoint(
            &mut endpoints.refresh,
            "endpoints.refresh",
            &given.refresh,
            preset.refresh,
        )?;
        base.endpoint(
            &mut endpoints.logout,
            "endpoints.logout",
            &given.logout,
            preset.logout,
        )?;
        base.endpoint(&mut endpoints.me, "endpoints.me", &given.me, preset.me)?;

        let given = options.login.get_or_insert_default();
        let login = &mut self.login;
        login.encoding = given.encoding.unwrap_or(preset.encoding);
        name(
            &mut login.username_field,
            "login.usernameField",
            &given.username_field,
            preset.username_field,
        )?;
        name(
            &mut login.password_field,
            "login.passwordField",
            &given.password_field,
            "password",
        )?;

        let given = options.refresh.get_or_insert_default();
        self.refresh.via = given.via.unwrap_or(preset.via);
        name(
            &mut self.refresh.field,
            "refresh.field",
            &given.field,
            preset.refresh_field,
        )?;

        let given = options.response_fields.get_or_insert_default();
        let fields = &mut self.response_fields;
        name(
            &mut fields.access_token,
            "responseFields.accessToken",
            &given.access_token,
            preset.access_token_field,
        )?;
        name(
            &mut fields.refresh_token,
            "responseFields.refreshToken",
            &given.refresh_token,
            preset.refresh_token_field,
        )?;
        name(
            &mut fields.expires_in,
            "responseFields.expiresIn",
            &given.expires_in,
            "expires_in",
        )?;

        name(
            &mut self.storage_key,
            "storageKey",
            &options.storage_key,
            DEFAULT_STORAGE_KEY,
        )?;
        self.refresh_margin = seconds(
            "refreshMarginSeconds",
            options.refresh_margin_seconds,
            DEFAULT_REFRESH_MARGIN,
        )?;
        self.leeway = seconds("leewaySeconds", options.leeway_seconds, Duration::ZERO)?;

        if options.role_claims.as_deref().is_some_and(has_blank) {
            return Err(bad("roleClaims", "must not contain empty paths"));
        }
        // The given list moves into the `RoleClaims`.
        let paths = options
            .role_claims
            .take()
            .unwrap_or_else(|| owned(&DEFAULT_ROLE_CLAIMS));
        self.role_claims = RoleClaims::from_paths(paths);

        let api_origins = &mut self.api_origins;
        if let Some(origin) = &base.origin {
            api_origins.push(origin.clone());
        }
        for given in options.api_origins.as_deref().unwrap_or_default() {
            let origin = parse_origin_only(given)
                .map_err(|why| bad("apiOrigins entry is not an origin:", why))?;
            if !api_origins.contains(&origin) {
                api_origins.push(origin);
            }
        }

        resolve_logout(
            &mut self.logout,
            &base,
            options.logout.as_deref(),
            self.endpoints.logout.as_deref(),
            preset.logout_calls,
            self.refresh.via,
        )?;
        resolve_errors(&mut self.errors, options, preset)?;
        self.storage = options.storage.unwrap_or(StorageKind::Local);
        self.auto_refresh = options.auto_refresh.unwrap_or(true);
        self.base_origin = base.origin;
        Ok(())
    }

    /// The profile the defaults came from.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The origin of `baseUrl` (`scheme://host[:port]`, lowercase, default port dropped), or
    /// `None` when `baseUrl` is a path on the page's own origin.
    pub fn base_origin(&self) -> Option<&str> {
        self.base_origin.as_deref()
    }

    /// The endpoint URLs.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The login request shape.
    pub fn login(&self) -> &LoginFormat {
        &self.login
    }

    /// The refresh request shape.
    pub fn refresh(&self) -> &RefreshFormat {
        &self.refresh
    }

    /// The token response field names.
    pub fn response_fields(&self) -> &ResponseFields {
        &self.response_fields
    }

    /// Where the session is kept.
    pub fn storage(&self) -> StorageKind {
        self.storage
    }

    /// The storage key.
    pub fn storage_key(&self) -> &str {
        &self.storage_key
    }

    /// Whether to refresh in the background before expiry.
    pub fn auto_refresh(&self) -> bool {
        self.auto_refresh
    }

    /// The configured refresh margin (before scaling for short-lived tokens).
    pub fn refresh_margin(&self) -> Duration {
        self.refresh_margin
    }

    /// Clock tolerance when judging expiry.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Which claims hold roles.
    pub fn role_claims(&self) -> &RoleClaims {
        &self.role_claims
    }

    /// The server logout calls, in order; empty when the server has no logout.
    pub fn logout_calls(&self) -> &[LogoutCall] {
        &self.logout
    }

    /// How error replies speak (`errorFields`, `tokenErrorStatuses`).
    pub fn errors(&self) -> &ErrorFormat {
        &self.errors
    }

    /// The origins `fetch()` may send the token to: `baseUrl`'s (when absolute) and `apiOrigins`.
    pub fn api_origins(&self) -> &[String] {
        &self.api_origins
    }

    /// Whether a request to `origin` may carry the token.
    ///
    /// `origin` and `page_origin` are what the browser's `URL.origin` gives for the request and
    /// the page. The page's origin counts only when `baseUrl` is a path, since the auth API then
    /// lives there. An opaque origin (`"null"`) never matches.
    pub fn allows_origin(&self, origin: &str, page_origin: &str) -> bool {
        let Ok(origin) = parse_origin_only(origin) else {
            return false;
        };
        if self.api_origins.contains(&origin) {
            return true;
        }
        self.base_origin.is_none()
            && parse_origin_only(page_origin).is_ok_and(|page| page == origin)
    }

    /// Whether the server can refresh at all (it has a refresh endpoint). Whether a given session
    /// can also needs a refresh token unless the token travels in a cookie.
    pub fn has_refresh_endpoint(&self) -> bool {
        self.endpoints.refresh.is_some()
    }

    /// Whether the refresh token lives in a cookie, so requests must include credentials.
    pub fn uses_cookies(&self) -> bool {
        self.refresh.via == RefreshVia::Cookie
    }
}

/// The `logout` option, or the preset's calls to `endpoints.logout`. Refuses a call that has no
/// endpoint to go to, sends no token at all, names a body field without a body, or needs the
/// refresh token when it lives in an HttpOnly cookie.
fn resolve_logout(
    calls: &mut Vec<LogoutCall>,
    base: &BaseUrl,
    given: Option<&[LogoutCallOptions]>,
    default_url: Option<&str>,
    preset: &[PresetLogout],
    via: RefreshVia,
) -> Result<(), Bad> {
    let Some(given) = given else {
        let Some(url) = default_url else {
            return Ok(());
        };
        for &(method, bearer, field) in preset {
            let call = LogoutCall {
                url: url.to_owned(),
                method,
                bearer,
                refresh_token: field.map(|field| (LoginEncoding::Json, field.to_owned())),
            };
            // With the refresh token out of reach (a cookie), the preset's calls that need it go.
            if via != RefreshVia::Cookie || !call.needs_refresh_token() {
                calls.push(call);
            }
        }
        return Ok(());
    };
    for call in given {
        let mut url = String::new();
        match &call.endpoint {
            Some(path) => base.join(&mut url, "logout.endpoint", path)?,
            None => url.push_str(default_url.ok_or(bad(
                "a logout call needs an endpoint:",
                "endpoints.logout is null",
            ))?),
        }
        let method = call
            .method()
            .ok_or(bad("logout.method", "must be \"POST\" or \"DELETE\""))?;
        let bearer = call.bearer().ok_or(bad(
            "logout.bearer",
            "must be \"access\", \"refresh\" or \"none\"",
        ))?;
        let body = call
            .body()
            .map_err(|()| bad("logout.refreshToken", "must be \"json\" or \"form\""))?;
        let refresh_token = match body {
            Some(encoding) => {
                let mut field = String::new();
                name(&mut field, "logout.field", &call.field, "refresh_token")?;
                Some((encoding, field))
            }
            None if call.field.is_some() => {
                return Err(bad(
                    "logout.field",
                    "names the body field of the refresh token: set logout.refreshToken too",
                ));
            }
            None => None,
        };
        let resolved = LogoutCall {
            url,
            method,
            bearer,
            refresh_token,
        };
        if resolved.bearer == LogoutBearer::None && resolved.refresh_token.is_none() {
            return Err(bad(
                "a logout call with bearer \"none\"",
                "must send the refresh token (logout.refreshToken)",
            ));
        }
        if via == RefreshVia::Cookie && resolved.needs_refresh_token() {
            return Err(bad(
                "logout",
                "cannot send the refresh token: with refresh.via \"cookie\" it is an HttpOnly cookie that JavaScript cannot read",
            ));
        }
        calls.push(resolved);
    }
    Ok(())
}

/// `errorFields` and `tokenErrorStatuses`, or the preset's.
fn resolve_errors(
    out: &mut ErrorFormat,
    options: &mut AuthClientOptions,
    preset: &Preset,
) -> Result<(), Bad> {
    let fields = match options.error_fields.take() {
        None => owned(preset.error_fields),
        Some(fields) if fields.is_empty() || has_blank(&fields) => {
            return Err(bad(
                "errorFields",
                "must list at least one path, none of them empty",
            ));
        }
        Some(fields) => fields,
    };
    let token_statuses = match options.token_error_statuses.take() {
        None => preset.token_statuses.to_vec(),
        Some(statuses) if !statuses.contains(&401) => {
            return Err(bad(
                "tokenErrorStatuses",
                "must include 401, the status every server uses for a refused token",
            ));
        }
        Some(statuses)
            if statuses
                .iter()
                .any(|s| !(400..500).contains(s) || *s == 429) =>
        {
            return Err(bad(
                "tokenErrorStatuses",
                "may hold only 4xx statuses other than 429 (rate limiting)",
            ));
        }
        Some(statuses) => statuses,
    };
    *out = ErrorFormat {
        fields,
        token_statuses,
    };
    Ok(())
}

/// Whether one of `names` is empty or only whitespace. One loop for `roleClaims` and
/// `errorFields`, where each had its own `any` with a closure.
fn has_blank(names: &[String]) -> bool {
    for name in names {
        if name.trim().is_empty() {
            return true;
        }
    }
    false
}

/// Owned copies of `names` (a preset's defaults), in a loop rather than an iterator chain, which
/// the package would hold once per element type and adapter.
fn owned(names: &[&str]) -> Vec<String> {
    let mut list = Vec::with_capacity(names.len());
    for name in names {
        list.push((*name).to_owned());
    }
    list
}

/// Why the options cannot work: the option, or the words naming it, and what is wrong, which
/// the message joins with a space (`storageKey` + `must not be empty`). Two static strings and
/// no destructor: the checks pass this up, and [`Config::resolve`] makes the one `AuthError`.
#[derive(Debug, Clone, Copy)]
struct Bad {
    option: &'static str,
    why: &'static str,
}

/// A [`Bad`], shorter to write.
fn bad(option: &'static str, why: &'static str) -> Bad {
    Bad { option, why }
}

impl Bad {
    /// The `config` error: "`option` `why`".
    fn error(self) -> AuthError {
        AuthError::config(fill("{} {}", &[self.option, self.why]))
    }
}

/// The name `given` for `option`, or `default`, written into `into` (empty); a blank one is
/// refused.
fn name(
    into: &mut String,
    option: &'static str,
    given: &Option<String>,
    default: &str,
) -> Result<(), Bad> {
    let value = given.as_deref().unwrap_or(default);
    if value.trim().is_empty() {
        return Err(bad(option, "must not be empty"));
    }
    into.push_str(value);
    Ok(())
}

/// Seconds `given` for `option` as a `Duration`, or `default`: finite, not negative, in range.
fn seconds(option: &'static str, given: Option<f64>, default: Duration) -> Result<Duration, Bad> {
    let Some(value) = given else {
        return Ok(default);
    };
    // One refusal path, its words picked by the rule broken (the conversion refuses only what
    // is too large once the value is finite and not negative).
    let why = if !value.is_finite() {
        "must be a finite number"
    } else if value < 0.0 {
        "must not be negative"
    } else {
        match Duration::try_from_secs_f64(value) {
            Ok(duration) => return Ok(duration),
            Err(_) => "is too large",
        }
    };
    Err(bad(option, why))
}

/// `baseUrl`, split into the origin (absent for a same-origin path) and a path prefix without a
/// trailing slash.
#[derive(Debug)]
struct BaseUrl {
    origin: Option<String>,
    prefix: String,
}

impl BaseUrl {
    fn parse(text: &str) -> Result<Self, Bad> {
        let bad = |why| bad("baseUrl", why);
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("is required"));
        }
        if find_byte(text, b"?#").is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        let (origin, path) = if text.starts_with('/') && !text.starts_with("//") {
            (None, text)
        } else {
            let (origin, rest) = split_origin(text).map_err(bad)?;
            (Some(origin), rest)
        };
        check_path(path).map_err(bad)?;
        Ok(Self {
            origin,
            prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    /// An endpoint as a full URL, written into `into` (empty): absolute URLs stand alone, paths
    /// go under the prefix.
    fn join(&self, into: &mut String, option: &'static str, endpoint: &str) -> Result<(), Bad> {
        let bad = |why| bad(option, why);
        let endpoint = endpoint.trim();
        if endpoint.is_empty() {
            return Err(bad("must not be empty"));
        }
        if find_byte(endpoint, b"#").is_some() {
            return Err(bad("must not have a fragment"));
        }
        if has_scheme(endpoint) {
            let (url, rest) = split_origin(endpoint).map_err(bad)?;
            check_path(rest).map_err(bad)?;
            *into = url;
            into.push_str(rest);
            return Ok(());
        }
        check_path(endpoint).map_err(bad)?;
        let path = skip_leading(endpoint, b'/');
        into.push_str(self.origin.as_deref().unwrap_or(""));
        into.push_str(&self.prefix);
        into.push('/');
        into.push_str(path);
        Ok(())
    }

    /// An endpoint that may be switched off: `given`, else the preset's (`None`: there is none).
    fn endpoint(
        &self,
        into: &mut Option<String>,
        option: &'static str,
        given: &Override<String>,
        preset: Option<&str>,
    ) -> Result<(), Bad> {
        let path = match given {
            Override::Disabled => None,
            Override::Set(path) => Some(path.as_str()),
            Override::Preset => preset,
        };
        match path {
            Some(path) => self.join(into.get_or_insert_default(), option, path),
            None => Ok(()),
        }
    }
}

fn has_scheme(text: &str) -> bool {
    split_scheme(text).is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && all_bytes(scheme, |c| {
                c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
            })
    })
}

/// `text.split_once("://")`, with the crate's small substring search: `str`'s two-way searcher
/// for a `&str` pattern cost the wasm module 0.8 KB gzip (measured) for these two calls.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let at = find_text(text, "://")?;
    Some((text.get(..at)?, text.get(at + 3..)?))
}

/// Whether every byte of `text` passes `test`. One function taking a function pointer, not
/// `bytes().all(..)` with a closure: each closure made its own copy of the iterator's generic
/// loop in the wasm module.
fn all_bytes(text: &str, test: fn(u8) -> bool) -> bool {
    for &byte in text.as_bytes() {
        if !test(byte) {
            return false;
        }
    }
    true
}

/// Where the first of the ASCII bytes `set` is in `text`. A byte loop, not `str::find` or
/// `contains` with a `char` or `[char; N]` pattern: each pattern type brought its own searcher
/// into the wasm module. An ASCII byte is never inside a multi-byte character, so the offset is
/// a character boundary.
fn find_byte(text: &str, set: &[u8]) -> Option<usize> {
    for (at, byte) in text.as_bytes().iter().enumerate() {
        if set.contains(byte) {
            return Some(at);
        }
    }
    None
}

/// `text` split before the first of the ASCII bytes `set` (the second part starts with it), or
/// all of `text` and `""` when none is there.
fn split_at_byte<'a>(text: &'a str, set: &[u8]) -> (&'a str, &'a str) {
    let at = find_byte(text, set).unwrap_or(text.len());
    (text.get(..at).unwrap_or(text), text.get(at..).unwrap_or(""))
}

/// `text.strip_prefix(byte as char)` for an ASCII `byte`, without `str`'s pattern code.
fn strip_byte(text: &str, byte: u8) -> Option<&str> {
    if text.as_bytes().first() == Some(&byte) {
        text.get(1..)
    } else {
        None
    }
}

/// `text.trim_start_matches(byte as char)` for an ASCII `byte`, without `str`'s pattern code.
fn skip_leading(text: &str, byte: u8) -> &str {
    let mut at = 0;
    while text.as_bytes().get(at) == Some(&byte) {
        at += 1;
    }
    text.get(at..).unwrap_or(text)
}

/// Paths may not hold whitespace or control characters: a URL with them is a typo, and the
/// browser would percent-encode them silently.
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("must not contain spaces or control characters")
    } else {
        Ok(())
    }
}

/// An origin as `URL.origin` would print it, rejecting anything with a path.
fn parse_origin_only(text: &str) -> Result<String, &'static str> {
    let (origin, rest) = split_origin(text.trim())?;
    if rest.is_empty() || rest == "/" {
        Ok(origin)
    } else {
        Err("it has a path")
    }
}

/// Splits `http(s)://authority/rest` into the normalized origin and `rest` (which starts with
/// `/`, `?` or is empty).
///
/// The origin is the input's own scheme, host and port, lowercased once at the end (the port's
/// digits are unaffected), so that only it is allocated.
fn split_origin(text: &str) -> Result<(String, &str), &'static str> {
    const NOT_HTTP: &str = "must start with http:// or https://";
    let (scheme, after) = split_scheme(text).ok_or(NOT_HTTP)?;
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        "80"
    } else if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        return Err(NOT_HTTP);
    };
    let (authority, rest) = split_at_byte(after, b"/?#");
    if find_byte(authority, b"@").is_some() {
        return Err("must not contain credentials");
    }
    let (host, port) = if let Some(bracketed) = strip_byte(authority, b'[') {
        let (inside, after_host) = split_at_byte(bracketed, b"]");
        let after_host = strip_byte(after_host, b']').ok_or("has an unclosed IPv6 bracket")?;
        if inside.is_empty()
            || !all_bytes(inside, |c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        {
            return Err("has an invalid IPv6 host");
        }
        let port = match after_host {
            "" => None,
            other => Some(strip_byte(other, b':').ok_or("has junk after the IPv6 host")?),
        };
        // The host with its brackets: the authority up to what follows `]`.
        let host = authority
            .get(..authority.len() - after_host.len())
            .unwrap_or(authority);
        (host, port)
    } else {
        let (host, port) = split_at_byte(authority, b":");
        let port = strip_byte(port, b':');
        if host.is_empty() {
            return Err("has no host");
        }
        // A byte test, not `str::is_ascii`, whose word-at-a-time loop only this call used.
        if !all_bytes(host, |c| c.is_ascii()) {
            return Err("has a non-ASCII host: use its punycode (xn--) form");
        }
        if !all_bytes(host, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_')
        }) {
            return Err("has an invalid host");
        }
        (host, port)
    };
    let port = match port {
        None => "",
        Some(port) => canonical_port(port).ok_or("has an invalid port")?,
    };
    let mut origin = if port.is_empty() || port == default_port {
        crate::logic::error::concat(&[scheme, "://", host])
    } else {
        crate::logic::error::concat(&[scheme, "://", host, ":", port])
    };
    origin.make_ascii_lowercase();
    Ok((origin, rest))
}

/// `port` as `u16::from_str` takes it (an optional `+`, then decimal digits, at most 65535), in
/// its shortest form (`0080` is `80`); `None` if it is not one. Checks the digits in place, where
/// parsing and printing the number again pulled in both.
fn canonical_port(port: &str) -> Option<&str> {
    let digits = strip_byte(port, b'+').unwrap_or(port);
    if digits.is_empty() || !all_bytes(digits, |c| c.is_ascii_digit()) {
        return None;
    }
    let significant = skip_leading(digits, b'0');
    let port = if significant.is_empty() {
        "0"
    } else {
        significant
    };
    // At most five digits, so the number fits a `u32`: computed, where comparing the digits
    // with `"65535"` as strings brought the slice ordering into the wasm module for this alone.
    if port.len() > 5 {
        return None;
    }
    let mut number = 0u32;
    for &digit in port.as_bytes() {
        number = number * 10 + u32::from(digit - b'0');
    }
    (number <= 65_535).then_some(port)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod tests {
    use super::*;
    use crate::logic::error::ErrorCode;
    use crate::logic::json::Json;

    /// Options from JSON text, read by [`AuthClientOptions::from_json`] (the reader the wasm
    /// module uses) and resolved.
    pub(crate) fn resolve_json(json: &str) -> Result<Config, AuthError> {
        let value: Json =
            crate::logic::json::from_str(json).unwrap_or_else(|| panic!("test JSON: {json}"));
        Config::resolve(AuthClientOptions::from_json(&value)?)
    }

    /// The message of the `config` error `json` resolves to; panics if it resolves.
    pub(crate) fn config_error(json: &str) -> String {
        match resolve_json(json) {
            Ok(config) => panic!("expected a config error for {json}, got {config:?}"),
            Err(err) => {
                assert_eq!(err.code(), ErrorCode::Config, "{json}");
                err.to_string()
            }
        }
    }

    #[test]
    fn profiles_follow_the_api_table() -> Result<(), AuthError> {
        let standard = resolve_json(r#"{"baseUrl": "https://api.example.com"}"#)?;
        assert_eq!(standard.profile(), Profile::Standard);
        assert_eq!(
            standard.endpoints(),
            &Endpoints {
                login: "https://api.example.com/auth/login".into(),
                refresh: Some("https://api.example.com/auth/refresh".into()),
                logout: Some("https://api.example.com/auth/logout".into()),
                me: Some("https://api.example.com/auth/me".into()),
            }
        );
        assert_eq!(standard.login().encoding, LoginEncoding::Form);
        assert_eq!(standard.login().username_field, "username");
        assert_eq!(standard.login().password_field, "password");
        assert_eq!(standard.refresh().via, RefreshVia::Json);
        assert_eq!(standard.refresh().field, "refresh_token");

        let minimal = resolve_json(r#"{"baseUrl": "https://h", "profile": "minimal"}"#)?;
        assert_eq!(minimal.endpoints().logout, None);
        assert_eq!(
            minimal.endpoints().me.as_deref(),
            Some("https://h/users/me")
        );
        assert_eq!(minimal.refresh().via, RefreshVia::Query);
        assert_eq!(minimal.login().encoding, LoginEncoding::Form);

        let v1 = resolve_json(r#"{"baseUrl": "https://h", "profile": "v1"}"#)?;
        assert_eq!(v1.endpoints().login, "https://h/api/v1/login");
        assert_eq!(v1.endpoints().refresh, None);
        assert_eq!(v1.endpoints().logout, None);
        assert_eq!(v1.endpoints().me.as_deref(), Some("https://h/api/v1/me"));
        assert_eq!(v1.login().encoding, LoginEncoding::Json);
        assert_eq!(v1.login().username_field, "email");
        assert!(!v1.has_refresh_endpoint());
        Ok(())
    }

    #[test]
    fn defaults_match_the_contract() -> Result<(), AuthError> {
        let config = Config::resolve(AuthClientOptions::new("https://h"))?;
        assert_eq!(config.storage(), StorageKind::Local);
        assert!(config.storage().is_shared());
        assert_eq!(config.storage_key(), "tokenkeeper");
        assert!(config.auto_refresh());
        assert_eq!(config.refresh_margin(), Duration::from_secs(60));
        assert_eq!(config.leeway(), Duration::ZERO);
        assert_eq!(config.role_claims(), &RoleClaims::default());
        assert_eq!(config.response_fields().access_token, "access_token");
        assert_eq!(config.response_fields().refresh_token, "refresh_token");
        assert_eq!(config.response_fields().expires_in, "expires_in");
        assert_eq!(config.api_origins(), ["https://h"]);
        Ok(())
    }

    #[test]
    fn overrides_apply_and_null_means_none() -> Result<(), AuthError> {
        let config = resolve_json(
            r#"{
                "baseUrl": "https://API.Example.com:443/prefix/",
                "profile": "minimal",
                "endpoints": {"login": "token", "refresh": null, "logout": "/auth/logout",
                              "me": "https://other.example.com/whoami"},
                "login": {"encoding": "json", "usernameField": "email"},
                "refresh": {"via": "cookie", "field": "rt"},
                "responseFields": {"accessToken": "token", "expiresIn": "ttl"},
                "storage": "memory",
                "storageKey": "app.auth",
                "autoRefresh": false,
                "refreshMarginSeconds": 12.5,
                "leewaySeconds": 3,
                "roleClaims": ["groups"],
                "apiOrigins": ["https://data.example.com/", "HTTP://localhost:8000"]
            }"#,
        )?;
        assert_eq!(
            config.endpoints(),
            &Endpoints {
                login: "https://api.example.com/prefix/token".into(),
                refresh: None,
                logout: Some("https://api.example.com/prefix/auth/logout".into()),
                me: Some("https://other.example.com/whoami".into()),
            }
        );
        assert_eq!(config.login().encoding, LoginEncoding::Json);
        assert_eq!(config.login().username_field, "email");
        assert_eq!(config.refresh().via, RefreshVia::Cookie);
        assert!(config.uses_cookies());
        assert_eq!(config.refresh().field, "rt");
        assert_eq!(config.response_fields().access_token, "token");
        assert_eq!(config.response_fields().refresh_token, "refresh_token");
        assert_eq!(config.response_fields().expires_in, "ttl");
        assert_eq!(config.storage(), StorageKind::Memory);
        assert!(!config.storage().is_shared());
        assert_eq!(config.storage_key(), "app.auth");
        assert!(!config.auto_refresh());
        assert_eq!(config.refresh_margin(), Duration::from_millis(12_500));
        assert_eq!(config.leeway(), Duration::from_secs(3));
        assert_eq!(config.role_claims().paths(), ["groups"]);
        assert_eq!(
            config.api_origins(),
            [
                "https://api.example.com",
                "https://data.example.com",
                "http://localhost:8000"
            ]
        );
        Ok(())
    }

    #[test]
    fn a_path_base_url_means_the_page_origin() -> Result<(), AuthError> {
        let config = resolve_json(r#"{"baseUrl": "/api"}"#)?;
        assert_eq!(config.base_origin(), None);
        assert_eq!(config.endpoints().login, "/api/auth/login");
        assert!(config.api_origins().is_empty());
        assert!(config.allows_origin("https://app.example.com", "https://app.example.com"));
        assert!(!config.allows_origin("https://evil.example.com", "https://app.example.com"));
        let root = resolve_json(r#"{"baseUrl": "/"}"#)?;
        assert_eq!(root.endpoints().login, "/auth/login");
        Ok(())
    }

    #[test]
    fn origins_are_compared_like_url_origin() -> Result<(), AuthError> {
        let config = resolve_json(
            r#"{"baseUrl": "https://api.example.com/v1", "apiOrigins": ["http://[::1]:8000"]}"#,
        )?;
        let page = "https://app.example.com";
        assert!(config.allows_origin("https://api.example.com", page));
        assert!(config.allows_origin("https://API.example.com:443", page));
        assert!(config.allows_origin("http://[::1]:8000", page));
        assert!(!config.allows_origin("http://api.example.com", page));
        assert!(!config.allows_origin("https://api.example.com.evil.com", page));
        assert!(
            !config.allows_origin("https://app.example.com", page),
            "page origin not implied"
        );
        assert!(!config.allows_origin("null", page));
        Ok(())
    }

    #[test]
    fn bad_options_are_config_errors() {
        let cases = [
            (r#"{"baseUrl": ""}"#, "baseUrl is required"),
            (r#"{"baseUrl": "api.example.com"}"#, "http:// or https://"),
            (r#"{"baseUrl": "ftp://h"}"#, "http:// or https://"),
            (r#"{"baseUrl": "https://"}"#, "no host"),
            (r#"{"baseUrl": "https://u:p@h"}"#, "credentials"),
            (r#"{"baseUrl": "https://h:99999"}"#, "invalid port"),
            (r#"{"baseUrl": "https://h?x=1"}"#, "query"),
            (r#"{"baseUrl": "https://bücher.de"}"#, "punycode"),
            (r#"{"baseUrl": "https://h/a b"}"#, "spaces"),
            (r#"{"baseUrl": "//h"}"#, "http:// or https://"),
            (
                r#"{"baseUrl": "https://h", "refreshMarginSeconds": -1}"#,
                "refreshMarginSeconds must not be negative",
            ),
            (
                r#"{"baseUrl": "https://h", "leewaySeconds": -0.5}"#,
                "leewaySeconds must not be negative",
            ),
            (
                r#"{"baseUrl": "https://h", "leewaySeconds": 1e300}"#,
                "leewaySeconds is too large",
            ),
            (
                r#"{"baseUrl": "https://h", "storageKey": ""}"#,
                "storageKey must not be empty",
            ),
            (
                r#"{"baseUrl": "https://h", "login": {"usernameField": " "}}"#,
                "login.usernameField",
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": {"me": ""}}"#,
                "endpoints.me must not be empty",
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": {"login": "/a#b"}}"#,
                "fragment",
            ),
            (
                r#"{"baseUrl": "https://h", "apiOrigins": ["https://x/path"]}"#,
                "apiOrigins",
            ),
            (
                r#"{"baseUrl": "https://h", "roleClaims": [""]}"#,
                "roleClaims",
            ),
            (
                r#"{"baseUrl": "https://h", "refreshMargin": 5}"#,
                "unknown option `refreshMargin`",
            ),
            (
                r#"{"baseUrl": "https://h", "profile": "v2"}"#,
                "option `profile`: expected one of",
            ),
            (
                r#"{"baseUrl": "https://h", "storage": "custom"}"#,
                "option `storage`: expected one of",
            ),
        ];
        for (json, expected) in cases {
            let message = config_error(json);
            assert!(
                message.contains(expected),
                "{json}: {message:?} lacks {expected:?}"
            );
        }
    }

    #[test]
    fn non_finite_seconds_are_rejected() {
        let mut options = AuthClientOptions::new("https://h");
        options.refresh_margin_seconds = Some(f64::NAN);
        let err = Config::resolve(options.clone())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("refreshMarginSeconds must be a finite number")
        );
        options.refresh_margin_seconds = Some(f64::INFINITY);
        assert!(Config::resolve(options).is_err());
    }

    #[test]
    fn schemes_split_like_split_once() {
        for text in [
            "",
            "://",
            "https://h",
            "https://h/a://b",
            "http:/h",
            "x://",
            "é://ü",
            "://://",
            ":/:/",
            "/path",
        ] {
            assert_eq!(split_scheme(text), text.split_once("://"), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn schemes_split_like_split_once_on_any_text(text in "[:/hé]{0,10}") {
            proptest::prop_assert_eq!(split_scheme(&text), text.split_once("://"), "{:?}", text);
        }
    }

    /// Every rule refuses through one `Bad` path now; the exact words of each family.
    #[test]
    fn refusals_keep_their_exact_words() {
        let cases = [
            (r#"{"baseUrl": " "}"#, "baseUrl is required"),
            (
                r#"{"baseUrl": "https://h", "storageKey": " "}"#,
                "storageKey must not be empty",
            ),
            (
                r#"{"baseUrl": "https://h", "refresh": {"field": ""}}"#,
                "refresh.field must not be empty",
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": {"refresh": "ftp://x"}}"#,
                "endpoints.refresh must start with http:// or https://",
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": {"logout": "/a b"}}"#,
                "endpoints.logout must not contain spaces or control characters",
            ),
            (
                r#"{"baseUrl": "https://h", "refreshMarginSeconds": -1e-300}"#,
                "refreshMarginSeconds must not be negative",
            ),
            (
                r#"{"baseUrl": "https://h", "leewaySeconds": 1e300}"#,
                "leewaySeconds is too large",
            ),
            (
                r#"{"baseUrl": "https://h", "roleClaims": ["a", " "]}"#,
                "roleClaims must not contain empty paths",
            ),
            (
                r#"{"baseUrl": "https://h", "apiOrigins": ["https://x/path"]}"#,
                "apiOrigins entry is not an origin: it has a path",
            ),
            (
                r#"{"baseUrl": "https://h", "logout": [{"method": "GET"}]}"#,
                "logout.method must be \"POST\" or \"DELETE\"",
            ),
            (
                r#"{"baseUrl": "https://h", "logout": [{"bearer": "id"}]}"#,
                "logout.bearer must be \"access\", \"refresh\" or \"none\"",
            ),
            (
                r#"{"baseUrl": "https://h", "logout": [{"refreshToken": "xml"}]}"#,
                "logout.refreshToken must be \"json\" or \"form\"",
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": {"logout": null}, "logout": [{}]}"#,
                "a logout call needs an endpoint: endpoints.logout is null",
            ),
            (
                r#"{"baseUrl": "https://h", "logout": [{"bearer": "none"}]}"#,
                "a logout call with bearer \"none\" must send the refresh token \
                 (logout.refreshToken)",
            ),
            (
                r#"{"baseUrl": "https://h", "tokenErrorStatuses": [401, 500]}"#,
                "tokenErrorStatuses may hold only 4xx statuses other than 429 (rate limiting)",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(config_error(json), expected, "{json}");
        }
    }

    /// `split_origin` as it was written with `str`'s patterns (`find(['/', '?', '#'])`,
    /// `split_once(':')`, `strip_prefix('[')`, `is_ascii`, digits compared as strings), kept
    /// here as the oracle of the byte-level version.
    fn split_origin_with_patterns(text: &str) -> Result<(String, &str), &'static str> {
        const NOT_HTTP: &str = "must start with http:// or https://";
        let (scheme, after) = text.split_once("://").ok_or(NOT_HTTP)?;
        let default_port = if scheme.eq_ignore_ascii_case("http") {
            "80"
        } else if scheme.eq_ignore_ascii_case("https") {
            "443"
        } else {
            return Err(NOT_HTTP);
        };
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        if authority.contains('@') {
            return Err("must not contain credentials");
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (inside, after_host) = bracketed
                .split_once(']')
                .ok_or("has an unclosed IPv6 bracket")?;
            if inside.is_empty()
                || !inside
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
            {
                return Err("has an invalid IPv6 host");
            }
            let port = match after_host {
                "" => None,
                other => Some(
                    other
                        .strip_prefix(':')
                        .ok_or("has junk after the IPv6 host")?,
                ),
            };
            (&authority[..authority.len() - after_host.len()], port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            if host.is_empty() {
                return Err("has no host");
            }
            if !host.is_ascii() {
                return Err("has a non-ASCII host: use its punycode (xn--) form");
            }
            if !host
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
            {
                return Err("has an invalid host");
            }
            (host, port)
        };
        let port = match port {
            None => String::new(),
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| "has an invalid port")?
                .to_string(),
        };
        let origin = if port.is_empty() || port == default_port {
            [scheme, "://", host].concat()
        } else {
            [scheme, "://", host, ":", &port].concat()
        };
        Ok((origin.to_ascii_lowercase(), rest))
    }

    #[test]
    fn origins_split_as_with_str_patterns() {
        for text in [
            "https://h",
            "http://[::1]:8080/x?y#z",
            "http://[::1]x",
            "http://[::1",
            "http://[]",
            "http://[::1]:",
            "http://h:",
            "http://h:1:2",
            "http://:80",
            "http://h@x",
            "http://hé",
            "http://h é",
            "https://h:65535",
            "https://h:65536",
            "https://h:99999",
            "https://h:+0443#f",
            "HTTP://H/a:b@c",
            "ftp://h",
            "https:/h",
        ] {
            assert_eq!(
                split_origin(text),
                split_origin_with_patterns(text),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        /// The byte-level `split_origin` agrees with the pattern version on any text made of
        /// the characters its rules look at (and a non-ASCII one).
        #[test]
        fn origins_split_as_with_str_patterns_on_any_text(
            scheme in "(http|HTTPS|https|ftp|)",
            sep in "(://|:/|)",
            rest in "[hH0-9:/?#@\\[\\]+._é -]{0,14}",
        ) {
            let text = [scheme.as_str(), &sep, &rest].concat();
            proptest::prop_assert_eq!(
                split_origin(&text),
                split_origin_with_patterns(&text),
                "{:?}",
                text
            );
        }

        /// The byte helpers agree with the `str` methods they replace.
        #[test]
        fn byte_helpers_match_the_str_methods(text in "[/0?#aé]{0,8}") {
            let text = text.as_str();
            let split_at = text.find(['?', '#']).unwrap_or(text.len());
            proptest::prop_assert_eq!(find_byte(text, b"?#"), text.find(['?', '#']));
            proptest::prop_assert_eq!(split_at_byte(text, b"?#"), text.split_at(split_at));
            proptest::prop_assert_eq!(skip_leading(text, b'/'), text.trim_start_matches('/'));
            proptest::prop_assert_eq!(skip_leading(text, b'0'), text.trim_start_matches('0'));
            proptest::prop_assert_eq!(strip_byte(text, b'/'), text.strip_prefix('/'));
        }
    }

    /// The origin is lowercased as a whole; the port is read as `u16::from_str` reads it.
    #[test]
    fn origins_are_normalized_in_one_piece() {
        let cases = [
            ("HTTPS://[::ABCD]:0443/x", "https://[::abcd]", "/x"),
            ("http://H.Example:+80", "http://h.example", ""),
            ("https://h:00", "https://h:0", ""),
            ("HtTp://h:08080?q", "http://h:8080", "?q"),
        ];
        for (text, origin, rest) in cases {
            assert_eq!(split_origin(text), Ok((origin.to_owned(), rest)), "{text}");
        }
    }

    /// `canonical_port` takes exactly what `u16::from_str` takes and writes it as `Display`
    /// writes the number.
    #[test]
    fn ports_are_read_like_u16_from_str() {
        let mut texts: Vec<String> = ["", "+", "-0", "-1", "++1", " 80", "80 ", "1_0", "٣", "8a"]
            .map(str::to_owned)
            .to_vec();
        for n in (0..=70_000u32)
            .step_by(7)
            .chain([65_535, 65_536, 99_999, 100_000])
        {
            texts.extend([
                n.to_string(),
                format!("0{n}"),
                format!("+{n}"),
                format!("000{n}"),
            ]);
        }
        for text in &texts {
            let expected = text.parse::<u16>().ok().map(|n| n.to_string());
            assert_eq!(
                canonical_port(text).map(str::to_owned),
                expected,
                "{text:?}"
            );
        }
    }

    #[test]
    fn custom_storage_is_set_by_the_facade_and_shared() -> Result<(), AuthError> {
        let mut options = AuthClientOptions::new("https://h");
        options.storage = Some(StorageKind::Custom);
        let config = Config::resolve(options)?;
        assert_eq!(config.storage(), StorageKind::Custom);
        assert!(config.storage().is_shared());
        assert!(!StorageKind::Session.is_shared());
        Ok(())
    }
}
