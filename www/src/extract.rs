//! Extractors that need the state: the authenticated user (from the bearer token), and the
//! client address. Request bodies, which need none, are in [`crate::body`].

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts, HeaderMap},
};

use crate::{
    config::Profile,
    db::{self, SessionState, User},
    error::ApiError,
    profile::Failure,
    state::AppState,
    tokens::{TokenClaims, TokenError, ACCESS},
};

/// The bearer token of `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
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
        let fail = |f: Failure| f.answer(profile);
        let token = bearer_token(&parts.headers).ok_or_else(|| fail(Failure::NotAuthenticated))?;
        let verified = state
            .signer
            .verify(token, state.clock.now_utc())
            .map_err(|e| match e {
                TokenError::Expired => fail(Failure::ExpiredToken),
                TokenError::Invalid => fail(Failure::InvalidToken),
            })?;
        let claims = verified.claims;
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
