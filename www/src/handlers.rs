//! The API handlers of the three profiles.

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    body::{require, FormOrJson, JsonBody},
    clock::duration_secs,
    config::Profile,
    db::{self, NewUser, RefreshOutcome, RefreshRow, User},
    error::{ApiError, FieldError},
    extract::{cookie, ActiveUser, AdminUser, ClientIp, CurrentUser, TokenProof},
    profile::Failure,
    state::AppState,
    tokens::{random_id, Confirmation, TokenClaims, TokenError, V1Claims, ACCESS, REFRESH},
};

/// Name of the refresh cookie in cookie mode.
pub const REFRESH_COOKIE: &str = "refresh_token";
/// Path of the refresh cookie: sent to `/auth/refresh` and `/auth/logout` only.
pub const REFRESH_COOKIE_PATH: &str = "/auth";
/// Shortest accepted new password.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest accepted new password (hashing cost is linear in it).
pub const MAX_PASSWORD_LEN: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Replies

/// A user as `/auth/me` and `/admin/users` show it (seed 003's shape plus username and role).
#[derive(Debug, Serialize)]
pub struct UserRead {
    id: String,
    email: String,
    username: String,
    name: String,
    role: String,
    is_active: bool,
}

impl From<User> for UserRead {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email,
            username: u.username,
            name: u.name,
            role: u.role,
            is_active: u.is_active,
        }
    }
}

/// Login and refresh replies of the standard and minimal profiles.
#[derive(Debug, Serialize)]
pub struct TokenReply {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies (every field optional, so that a missing one is a 422 naming it)

/// Login: the OAuth2 password form (`username`, `password`) or the same as JSON.
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    username: Option<String>,
    password: Option<String>,
    /// OAuth2 clients send these; they are accepted and ignored.
    #[serde(default, rename = "grant_type")]
    _grant_type: Option<String>,
    #[serde(default, rename = "scope")]
    _scope: Option<String>,
}

/// v1 login: `{email, password}`.
#[derive(Debug, Default, Deserialize)]
pub struct EmailLogin {
    email: Option<String>,
    password: Option<String>,
}

/// `{refresh_token}`.
#[derive(Debug, Default, Deserialize)]
pub struct RefreshBody {
    refresh_token: Option<String>,
}

/// Signup.
#[derive(Debug, Default, Deserialize)]
pub struct SignupBody {
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
    username: Option<String>,
}

/// Password change.
#[derive(Debug, Default, Deserialize)]
pub struct ChangePasswordBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Shared steps

/// How the login name is looked up.
#[derive(Debug, Clone, Copy)]
enum LoginBy {
    /// Email or username (form logins).
    EmailOrUsername,
    /// Email only (v1).
    Email,
}

/// Checks a login: rate limits, then the password (argon2 on the blocking pool, against a
/// dummy hash when the account does not exist), then the account state.
async fn authenticate(
    state: &AppState,
    login: String,
    password: String,
    by: LoginBy,
    ip: ClientIp,
) -> Result<User, ApiError> {
    let profile = state.config.profile;
    let lookup = login.trim().to_owned();
    let user = state
        .db
        .call(move |conn| match by {
            LoginBy::EmailOrUsername => db::find_user_by_login(conn, &lookup),
            LoginBy::Email => db::find_user_by_email(conn, &lookup),
        })
        .await?;
    // Failures of a known account count against the account whichever name was typed.
    let account = match &user {
        Some(u) => format!("user:{}", u.id),
        None => format!("login:{login}"),
    };
    let now_ms = state.clock.now_ms();
    if let Err(secs) = state.limiter.check(&account, ip.0, now_ms) {
        return Err(too_many_attempts(secs));
    }
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = state
        .hashing(move |p| p.verify(stored.as_deref(), &password))
        .await?;
    let Some(user) = user.filter(|_| ok) else {
        state.limiter.record_failure(&account, ip.0, now_ms);
        return Err(Failure::BadCredentials.answer(profile));
    };
    if !user.is_active {
        return Err(Failure::LoginDisabled.answer(profile));
    }
    state.limiter.record_success(&account);
    Ok(user)
}

fn too_many_attempts(secs: u64) -> ApiError {
    ApiError::TooManyRequests {
        detail: format!("Too many failed login attempts. Try again in {secs} seconds."),
        retry_after: secs,
    }
}

/// The `cnf` claim binding a token to the DPoP key with thumbprint `jkt`.
fn confirmation(jkt: Option<&str>) -> Option<Confirmation> {
    jkt.map(|jkt| Confirmation {
        jkt: jkt.to_owned(),
    })
}

/// Signs an access token for the standard or minimal profile, bound to the DPoP key `jkt`
/// when there is one.
fn access_token(
    state: &AppState,
    user: &User,
    sid: Option<String>,
    jkt: Option<&str>,
    now: i64,
) -> Result<String, ApiError> {
    let sub = match state.config.profile {
        Profile::Minimal => user.username.clone(),
        _ => user.id.to_string(),
    };
    let claims = TokenClaims {
        sub: Some(sub),
        jti: Some(random_id()?),
        kind: Some(ACCESS.into()),
        role: Some(user.role.clone()),
        email: Some(user.email.clone()),
        sid,
        cnf: confirmation(jkt),
        ..TokenClaims::default()
    };
    let issued_at = now - duration_secs(state.config.iat_age);
    state.signer.sign(
        claims,
        issued_at,
        now + duration_secs(state.config.access_ttl),
    )
}

/// The claims of a refresh token (`sid` in the standard profile only).
fn refresh_claims(subject: String, jti: String, sid: Option<String>) -> TokenClaims {
    TokenClaims {
        sub: Some(subject),
        jti: Some(jti),
        kind: Some(REFRESH.into()),
        sid,
        ..TokenClaims::default()
    }
}

/// Signs a stored refresh token (the same row and key always give the same string). With
/// DPoP the key is the session's: login binds it and every refresh must prove the same one,
/// so the token itself (`cnf.jkt`) is where it is kept, not the database.
fn refresh_token(
    state: &AppState,
    subject: String,
    row: &RefreshRow,
    jkt: Option<&str>,
) -> Result<String, ApiError> {
    let mut claims = refresh_claims(subject, row.jti.clone(), Some(row.session_id.clone()));
    claims.cnf = confirmation(jkt);
    state.signer.sign(claims, row.issued_at, row.expires_at)
}

/// A new refresh token row for a session, starting now.
fn new_refresh_row(state: &AppState, session_id: String, now: i64) -> Result<RefreshRow, ApiError> {
    Ok(RefreshRow {
        jti: random_id()?,
        session_id,
        issued_at: now,
        expires_at: now + duration_secs(state.config.refresh_ttl),
    })
}

/// The latest expiry of the pair issued at `now`: how long the session must be remembered.
fn keep_until(state: &AppState, now: i64) -> i64 {
    now + duration_secs(state.config.access_ttl.max(state.config.refresh_ttl))
}

/// The refresh cookie carrying `token` for `max_age` seconds (0 with an empty token: forget it).
fn refresh_cookie(state: &AppState, token: &str, max_age: u64) -> Result<HeaderValue, ApiError> {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; \
         Max-Age={max_age}{secure}"
    ))
    .map_err(|e| ApiError::internal("cookie", e))
}

fn clear_refresh_cookie(state: &AppState) -> Option<HeaderValue> {
    refresh_cookie(state, "", 0).ok()
}

/// The standard reply carrying a pair: in cookie mode the refresh token goes into the cookie
/// and out of the body. `token_type` is `DPoP` for a DPoP-bound pair (RFC 9449 §5).
fn standard_pair_reply(
    state: &AppState,
    access: String,
    refresh: String,
    bound: bool,
) -> Result<Response, ApiError> {
    let token_type = if bound { "DPoP" } else { "bearer" };
    if state.config.cookie_mode {
        let cookie = refresh_cookie(state, &refresh, state.config.refresh_ttl.as_secs())?;
        let body = TokenReply {
            access_token: access,
            refresh_token: None,
            token_type,
            expires_in: None,
        };
        Ok(([(header::SET_COOKIE, cookie)], no_store(Json(body))).into_response())
    } else {
        let body = TokenReply {
            access_token: access,
            refresh_token: Some(refresh),
            token_type,
            expires_in: None,
        };
        Ok(no_store(Json(body)).into_response())
    }
}

/// Token replies must not be cached (RFC 6749 §5.1).
fn no_store(body: impl IntoResponse) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        body,
    )
}

// ---------------------------------------------------------------------------------------------
// Standard profile

/// `POST /auth/login` (standard): a new session and its first pair. With `--dpop` the proof
/// is checked before the password (a refused proof is not a failed login) and the pair is
/// bound to its key.
pub async fn login_standard(
    State(state): State<AppState>,
    ip: ClientIp,
    TokenProof(proof): TokenProof,
    FormOrJson(form): FormOrJson<LoginForm>,
) -> Result<Response, ApiError> {
    let [username, password] = require(
        "body",
        [("username", form.username), ("password", form.password)],
    )?;
    let user = authenticate(&state, username, password, LoginBy::EmailOrUsername, ip).await?;
    let now = state.clock.now_secs();
    let first = new_refresh_row(&state, random_id()?, now)?;
    let keep = keep_until(&state, now);
    let (user_id, row) = (user.id, first.clone());
    state
        .db
        .call(move |conn| db::create_session(conn, user_id, &row, keep))
        .await?;
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let access = access_token(&state, &user, Some(first.session_id.clone()), jkt, now)?;
    let refresh = refresh_token(&state, user.id.to_string(), &first, jkt)?;
    standard_pair_reply(&state, access, refresh, jkt.is_some())
}

/// `POST /auth/refresh` (standard): rotation with reuse detection. With `--dpop` the proof
/// must be by the key the refresh token is bound to, checked before anything is rotated.
pub async fn refresh_standard(
    State(state): State<AppState>,
    headers: HeaderMap,
    proof: Result<TokenProof, ApiError>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Response {
    let result = match proof {
        Ok(TokenProof(proof)) => {
            let jkt = proof.map(|p| p.jkt);
            refresh_standard_inner(&state, &headers, body, jkt.as_deref()).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(response) => response,
        Err(e) if state.config.cookie_mode && e.status() == StatusCode::UNAUTHORIZED => {
            // A refused cookie is useless: have the browser forget it.
            let mut response = e.into_response();
            if let Some(clear) = clear_refresh_cookie(&state) {
                response.headers_mut().insert(header::SET_COOKIE, clear);
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn refresh_standard_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: RefreshBody,
    proof_jkt: Option<&str>,
) -> Result<Response, ApiError> {
    let presented = match body.refresh_token.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None if state.config.cookie_mode => cookie(headers, REFRESH_COOKIE)
            .map(str::to_owned)
            .ok_or(ApiError::Unauthorized("Not authenticated"))?,
        None => {
            return Err(ApiError::Validation(vec![FieldError::missing(
                "body",
                "refresh_token",
            )]))
        }
    };
    let invalid = ApiError::Unauthorized("Invalid refresh token");
    let claims = match state.signer.verify(&presented, state.clock.now_utc()) {
        Ok(v) => v.claims,
        Err(TokenError::Expired) => return Err(ApiError::Unauthorized("Token has expired")),
        Err(TokenError::Invalid) => return Err(invalid),
    };
    // The session row names the user; `sub` adds nothing to a token this server signed.
    // Before the rotation: a refresh by the wrong key must not use the token up. It is not
    // reuse either (the session stays): whoever holds a copy without the key can do nothing.
    // 401 like a revoked token, which the SDK already takes as a final refusal.
    if let (Some(bound), Some(proved)) = (claims.jkt(), proof_jkt) {
        if bound != proved {
            return Err(ApiError::Dpop {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_grant",
                description: "Refresh token is bound to another DPoP key",
                challenge: false,
            });
        }
    }
    let (Some(REFRESH), Some(jti), Some(sid)) = (claims.kind.as_deref(), claims.jti, claims.sid)
    else {
        return Err(invalid);
    };
    let now_ms = state.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let next = new_refresh_row(state, sid.clone(), now)?;
    let grace_ms = crate::clock::duration_ms(state.config.refresh_grace);
    let keep = keep_until(state, now);
    let outcome = state
        .db
        .call({
            let sid = sid.clone();
            move |conn| db::use_refresh_token(conn, &jti, &sid, now_ms, grace_ms, &next, keep)
        })
        .await?;
    let (user, row) = match outcome {
        RefreshOutcome::Rotated { user, next } => (user, next),
        RefreshOutcome::Grace { user, current } => (user, current),
        RefreshOutcome::ReuseDetected => {
            tracing::warn!(session = %sid, "refresh token reuse detected: session revoked");
            return Err(ApiError::Unauthorized("Token has been revoked"));
        }
        RefreshOutcome::Revoked => return Err(ApiError::Unauthorized("Token has been revoked")),
        RefreshOutcome::Unknown => return Err(invalid),
        RefreshOutcome::UserInactive => {
            return Err(ApiError::Unauthorized("User not found or inactive"))
        }
    };
    // An unbound refresh token refreshed with a proof (issued before `--dpop`) gets bound now.
    let access = access_token(state, &user, Some(row.session_id.clone()), proof_jkt, now)?;
    let refresh = refresh_token(state, user.id.to_string(), &row, proof_jkt)?;
    standard_pair_reply(state, access, refresh, proof_jkt.is_some())
}

/// `POST /auth/logout` (standard): revokes the session of the bearer token (its access
/// tokens and its refresh token family). A refresh token in the body or the cookie revokes
/// its session too, so logging out still works once the access token has expired.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    current: Result<CurrentUser, ApiError>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Response {
    let presented = body.refresh_token.or_else(|| {
        state
            .config
            .cookie_mode
            .then(|| cookie(&headers, REFRESH_COOKIE).map(str::to_owned))
            .flatten()
    });
    let refresh_sid = presented.and_then(|t| {
        let v = state.signer.verify(&t, state.clock.now_utc()).ok()?;
        (v.claims.kind.as_deref() == Some(REFRESH))
            .then_some(v.claims.sid)
            .flatten()
    });
    let access_sid = current.as_ref().ok().and_then(|c| c.claims.sid.clone());
    let result = match (access_sid, refresh_sid, current) {
        (None, None, Err(e)) => Err(e),
        (a, r, _) => {
            let now = state.clock.now_secs();
            state
                .db
                .call(move |conn| {
                    for sid in [a, r].into_iter().flatten() {
                        db::revoke_session(conn, &sid, now, "logout")?;
                    }
                    Ok(())
                })
                .await
                .map(|()| Json(json!({ "message": "Successfully logged out" })))
        }
    };
    let mut response = result.into_response();
    if let Some(clear) = clear_refresh_cookie(&state).filter(|_| state.config.cookie_mode) {
        response.headers_mut().insert(header::SET_COOKIE, clear);
    }
    response
}

/// `GET /auth/me` (standard).
pub async fn me_standard(ActiveUser(current): ActiveUser) -> Json<UserRead> {
    Json(current.user.into())
}

/// `GET /dashboard`.
pub async fn dashboard(ActiveUser(current): ActiveUser) -> Json<serde_json::Value> {
    Json(json!({ "message": format!("Welcome {}!", current.user.name) }))
}

/// `GET /admin/users` (admins only).
pub async fn admin_users(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<Json<Vec<UserRead>>, ApiError> {
    let users = state.db.call(|conn| db::list_users(conn)).await?;
    Ok(Json(users.into_iter().map(UserRead::from).collect()))
}

fn check_new_password(field: &str, password: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ApiError::Validation(vec![FieldError::too_short(
            "body",
            field,
            MIN_PASSWORD_LEN,
        )]));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ApiError::Validation(vec![FieldError {
            kind: "string_too_long",
            loc: vec!["body".into(), field.into()],
            msg: format!("String should have at most {MAX_PASSWORD_LEN} characters"),
        }]));
    }
    Ok(())
}

/// A deliberately simple address check (one `@`, a dot in the domain, no spaces).
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// `POST /auth/signup`: `{email, password, name?, username?}` → 201 and the user.
pub async fn signup(
    State(state): State<AppState>,
    FormOrJson(body): FormOrJson<SignupBody>,
) -> Result<(StatusCode, Json<UserRead>), ApiError> {
    let [email, password] = require("body", [("email", body.email), ("password", body.password)])?;
    let email = email.trim().to_owned();
    if !valid_email(&email) {
        return Err(ApiError::Validation(vec![FieldError::invalid(
            "body",
            "email",
            "value is not a valid email address",
        )]));
    }
    check_new_password("password", &password)?;
    let username = match body
        .username
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
    {
        // A username with an @ could be someone else's email: login would be ambiguous.
        Some(u) if u.contains('@') || u.chars().count() > 64 => {
            return Err(ApiError::Validation(vec![FieldError::invalid(
                "body",
                "username",
                "Username must not contain @ and must be at most 64 characters",
            )]))
        }
        Some(u) => u,
        None => email.clone(),
    };
    let name = body
        .name
        .map(|n| n.trim().chars().take(100).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let hash = state
        .hashing(move |p| p.hash(&password))
        .await?
        .map_err(|e| ApiError::internal("signup", e))?;
    let now = state.clock.now_secs();
    let new = NewUser {
        email,
        username,
        name,
        password_hash: hash,
    };
    match state
        .db
        .call(move |conn| db::insert_user(conn, &new, now))
        .await?
    {
        Ok(user) => Ok((StatusCode::CREATED, Json(user.into()))),
        Err(db::Conflict::Email) => Err(ApiError::BadRequest("Email already registered")),
        Err(db::Conflict::Username) => Err(ApiError::BadRequest("Username already registered")),
    }
}

/// `POST /auth/change-password`: `{current_password, new_password}`. Revokes the user's other
/// sessions; this one stays signed in. Wrong current passwords count as failed logins.
pub async fn change_password(
    State(state): State<AppState>,
    ip: ClientIp,
    ActiveUser(current): ActiveUser,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let [current_password, new_password] = require(
        "body",
        [
            ("current_password", body.current_password),
            ("new_password", body.new_password),
        ],
    )?;
    check_new_password("new_password", &new_password)?;
    let user = current.user;
    let account = format!("user:{}", user.id);
    let now_ms = state.clock.now_ms();
    if let Err(secs) = state.limiter.check(&account, ip.0, now_ms) {
        return Err(too_many_attempts(secs));
    }
    let stored = user.password_hash.clone();
    let new_hash = state
        .hashing(move |p| {
            p.verify(Some(&stored), &current_password)
                .then(|| p.hash(&new_password))
        })
        .await?;
    let Some(new_hash) = new_hash else {
        state.limiter.record_failure(&account, ip.0, now_ms);
        return Err(ApiError::BadRequest("Current password is incorrect"));
    };
    let new_hash = new_hash.map_err(|e| ApiError::internal("change password", e))?;
    let keep = current.claims.sid.unwrap_or_default();
    let now = now_ms.div_euclid(1000);
    state
        .db
        .call(move |conn| {
            db::set_password_hash(conn, user.id, &new_hash)?;
            db::revoke_other_sessions(conn, user.id, &keep, now, "password change")
        })
        .await?;
    Ok(Json(json!({ "message": "Password changed successfully" })))
}

// ---------------------------------------------------------------------------------------------
// Minimal profile

/// `POST /auth/login` (minimal): `{access_token, token_type, expires_in}`, plus a stateless
/// `refresh_token` when the server runs with `--minimal-refresh-token`.
pub async fn login_minimal(
    State(state): State<AppState>,
    ip: ClientIp,
    FormOrJson(form): FormOrJson<LoginForm>,
) -> Result<Response, ApiError> {
    let [username, password] = require(
        "body",
        [("username", form.username), ("password", form.password)],
    )?;
    let user = authenticate(&state, username, password, LoginBy::EmailOrUsername, ip).await?;
    let now = state.clock.now_secs();
    let access = access_token(&state, &user, None, None, now)?;
    let refresh = if state.config.minimal_refresh_token {
        let claims = refresh_claims(user.username.clone(), random_id()?, None);
        Some(
            state
                .signer
                .sign(claims, now, now + duration_secs(state.config.refresh_ttl))?,
        )
    } else {
        None
    };
    Ok(no_store(Json(TokenReply {
        access_token: access,
        refresh_token: refresh,
        token_type: "bearer",
        expires_in: Some(state.config.access_ttl.as_secs()),
    }))
    .into_response())
}

/// The query of the minimal refresh.
#[derive(Debug, Deserialize)]
pub struct RefreshQuery {
    refresh_token: Option<String>,
}

/// `POST /auth/refresh?refresh_token=…` (minimal): a new access token, no rotation.
pub async fn refresh_minimal(
    State(state): State<AppState>,
    query: Result<Query<RefreshQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let token = query.ok().and_then(|Query(q)| q.refresh_token);
    let [token] = require("query", [("refresh_token", token)])?;
    let claims = state
        .signer
        .verify(&token, state.clock.now_utc())
        .map_err(|_| ApiError::Unauthorized("Invalid refresh token"))?
        .claims;
    if claims.kind.as_deref() != Some(REFRESH) {
        return Err(ApiError::Unauthorized("Invalid token type"));
    }
    let username = claims
        .sub
        .ok_or(ApiError::Unauthorized("Invalid refresh token"))?;
    let user = state
        .db
        .call(move |conn| db::find_user_by_username(conn, &username))
        .await?
        .ok_or(ApiError::Unauthorized("User not found"))?;
    if !user.is_active {
        return Err(Failure::InactiveUser.answer(Profile::Minimal));
    }
    let access = access_token(&state, &user, None, None, state.clock.now_secs())?;
    Ok(no_store(Json(TokenReply {
        access_token: access,
        refresh_token: None,
        token_type: "bearer",
        expires_in: None,
    }))
    .into_response())
}

/// `GET /users/me` (minimal): seed 002's `UserResponse`.
pub async fn me_minimal(ActiveUser(current): ActiveUser) -> Json<serde_json::Value> {
    let u = current.user;
    Json(json!({ "id": u.id, "email": u.email, "username": u.username, "is_active": u.is_active }))
}

// ---------------------------------------------------------------------------------------------
// v1 profile

/// `POST /api/v1/login` (v1): JSON `{email, password}` → `{access_token}` with a float `exp`
/// and a `roles` list.
pub async fn login_v1(
    State(state): State<AppState>,
    ip: ClientIp,
    JsonBody(body): JsonBody<EmailLogin>,
) -> Result<Response, ApiError> {
    let [email, password] = require("body", [("email", body.email), ("password", body.password)])?;
    let user = authenticate(&state, email, password, LoginBy::Email, ip).await?;
    #[allow(clippy::cast_precision_loss)] // milliseconds since 1970 fit in f64's 53 bits
    let exp = state.clock.now_ms() as f64 / 1000.0 + state.config.access_ttl.as_secs_f64();
    let token = state.signer.sign_v1(V1Claims {
        id: user.id.to_string(),
        email: user.email,
        roles: vec![user.role],
        exp,
    })?;
    Ok(no_store(Json(json!({ "access_token": token }))).into_response())
}

/// `GET /api/v1/me` (v1): `{id, email, roles}`.
pub async fn me_v1(ActiveUser(current): ActiveUser) -> Json<serde_json::Value> {
    let u = current.user;
    Json(json!({ "id": u.id.to_string(), "email": u.email, "roles": [u.role] }))
}

// ---------------------------------------------------------------------------------------------
// Fallbacks

/// 404 in FastAPI's shape.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// 405 in FastAPI's shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check() {
        for ok in ["a@b.co", "first.last+tag@example.com"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@.co", "a@b.co.",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
