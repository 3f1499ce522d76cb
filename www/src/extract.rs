//! Extractors that need the state: the authenticated user (from the bearer or DPoP-bound
//! token), the DPoP proof of a token request, and the client address. Request bodies, which
//! need none, are in [`crate::body`].

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, OriginalUri},
    http::{header, request::Parts, HeaderMap, StatusCode},
};

use crate::{
    config::Profile,
    db::{self, SessionState, User},
    dpop::{self, Proof, ProofError},
    error::ApiError,
    profile::Failure,
    state::AppState,
    tokens::{TokenClaims, TokenError, ACCESS},
};

/// The bearer token of `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    match authorization(headers)? {
        (AuthScheme::Bearer, token) => Some(token),
        (AuthScheme::Dpop, _) => None,
    }
}

/// The scheme of an `Authorization` header that carries a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// The scheme and token of `Authorization: Bearer|DPoP <token>` (scheme case-insensitive).
pub fn authorization(headers: &HeaderMap) -> Option<(AuthScheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((AuthScheme::Bearer, token))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Some((AuthScheme::Dpop, token))
    } else {
        None
    }
}

/// Checks the DPoP proof of the request in `parts` (with `access_token`, `ath` is required).
fn check_proof(
    parts: &Parts,
    state: &AppState,
    access_token: Option<&str>,
) -> Result<Proof, ProofError> {
    // The URI the client sent, not one a nesting router may have shortened.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |OriginalUri(u)| u);
    let request = dpop::Request {
        method: &parts.method,
        uri,
        headers: &parts.headers,
        access_token,
    };
    state.dpop.verify(request, state.clock.now_ms())
}

/// The DPoP proof of a token request (login, refresh): `None` without `--dpop`. A missing or
/// bad proof is refused with 400 `invalid_dpop_proof` (or `use_dpop_nonce`). No `ath` is
/// asked for: there is no access token here.
#[derive(Debug, Clone)]
pub struct TokenProof(pub Option<Proof>);

impl FromRequestParts<AppState> for TokenProof {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !state.config.dpop {
            return Ok(TokenProof(None));
        }
        check_proof(parts, state, None)
            .map(|p| TokenProof(Some(p)))
            .map_err(ProofError::at_token_endpoint)
    }
}

/// A 401 about the token itself on a DPoP request: `WWW-Authenticate: DPoP
/// error="invalid_token"` rather than the bearer challenge (RFC 9449 §7.1).
fn dpop_invalid_token(description: &'static str) -> ApiError {
    ApiError::Dpop {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_token",
        description,
        challenge: true,
    }
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The user behind a valid, unrevoked access token (active or not).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user, as stored now.
    pub user: User,
    /// The token's custom claims.
    pub claims: TokenClaims,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let profile = state.config.profile;
        let (scheme, token) = match authorization(&parts.headers) {
            Some((AuthScheme::Dpop, _)) if !state.config.dpop => None,
            found => found,
        }
        .ok_or_else(|| Failure::NotAuthenticated.answer(profile))?;
        // On a DPoP request, token problems get the DPoP challenge (same detail string).
        let fail = |f: Failure| match (scheme, f.answer(profile)) {
            (AuthScheme::Dpop, ApiError::Unauthorized(detail)) => dpop_invalid_token(detail),
            (_, e) => e,
        };
        let verified = state
            .signer
            .verify(token, state.clock.now_utc())
            .map_err(|e| match e {
                TokenError::Expired => fail(Failure::ExpiredToken),
                TokenError::Invalid => fail(Failure::InvalidToken),
            })?;
        let claims = verified.claims;
        if state.config.dpop {
            match (scheme, claims.jkt()) {
                (AuthScheme::Bearer, None) => {} // an unbound token: as without --dpop
                (AuthScheme::Bearer, Some(_)) => {
                    return Err(dpop_invalid_token(
                        "DPoP-bound token must be sent as Authorization: DPoP",
                    ))
                }
                (AuthScheme::Dpop, None) => {
                    return Err(dpop_invalid_token(
                        "Token is not DPoP-bound; send it as Authorization: Bearer",
                    ))
                }
                (AuthScheme::Dpop, Some(jkt)) => {
                    let proof =
                        check_proof(parts, state, Some(token)).map_err(ProofError::at_resource)?;
                    if proof.jkt != jkt {
                        return Err(ApiError::Dpop {
                            status: StatusCode::UNAUTHORIZED,
                            error: "invalid_dpop_proof",
                            description: "DPoP proof key does not match the token's cnf.jkt",
                            challenge: true,
                        });
                    }
                }
            }
        }
        match (profile, claims.kind.as_deref()) {
            (Profile::V1, None) | (_, Some(ACCESS)) => {}
            _ => return Err(fail(Failure::WrongTokenType)),
        }
        let user = match profile {
            Profile::Standard => {
                let id =
                    parse_id(claims.sub.as_deref()).ok_or_else(|| fail(Failure::InvalidToken))?;
                let sid = claims
                    .sid
                    .clone()
                    .ok_or_else(|| fail(Failure::InvalidToken))?;
                let found = state
                    .db
                    .call(move |conn| db::user_and_session(conn, id, &sid))
                    .await?;
                match found {
                    None => return Err(fail(Failure::UserNotFound)),
                    Some((_, SessionState::Revoked)) => return Err(fail(Failure::Revoked)),
                    Some((user, SessionState::Live)) => user,
                }
            }
            Profile::Minimal => {
                let username = claims
                    .sub
                    .clone()
                    .ok_or_else(|| fail(Failure::InvalidToken))?;
                state
                    .db
                    .call(move |conn| db::find_user_by_username(conn, &username))
                    .await?
                    .ok_or_else(|| fail(Failure::UserNotFound))?
            }
            Profile::V1 => {
                let id =
                    parse_id(claims.id.as_deref()).ok_or_else(|| fail(Failure::InvalidToken))?;
                state
                    .db
                    .call(move |conn| db::find_user_by_id(conn, id))
                    .await?
                    .ok_or_else(|| fail(Failure::UserNotFound))?
            }
        };
        Ok(CurrentUser { user, claims })
    }
}

fn parse_id(s: Option<&str>) -> Option<i64> {
    s?.parse().ok()
}

/// A [`CurrentUser`] whose account is active.
#[derive(Debug, Clone)]
pub struct ActiveUser(pub CurrentUser);

impl FromRequestParts<AppState> for ActiveUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if !current.user.is_active {
            return Err(Failure::InactiveUser.answer(state.config.profile));
        }
        Ok(ActiveUser(current))
    }
}

/// An [`ActiveUser`] with the `admin` role (checked against the database, not the token).
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ActiveUser(current) = ActiveUser::from_request_parts(parts, state).await?;
        if current.user.role != "admin" {
            return Err(ApiError::Forbidden("Admin access required"));
        }
        Ok(AdminUser(current))
    }
}

/// The peer address of the connection, when the server was started with connect info.
/// Proxy headers (`X-Forwarded-For`) are not trusted: anyone can send them.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("DPoP abc"));
        assert_eq!(bearer_token(&h), None);
        assert_eq!(authorization(&h), Some((AuthScheme::Dpop, "abc")));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("dpop  x "));
        assert_eq!(authorization(&h), Some((AuthScheme::Dpop, "x")));
    }

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; refresh_token=xyz"),
        );
        assert_eq!(cookie(&h, "refresh_token"), Some("xyz"));
        assert_eq!(cookie(&h, "a"), Some("1"));
        assert_eq!(cookie(&h, "b"), None);
        h.insert(header::COOKIE, HeaderValue::from_static("refresh_token="));
        assert_eq!(cookie(&h, "refresh_token"), None);
    }
}
