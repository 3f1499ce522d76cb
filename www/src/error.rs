//! The one error type of the HTTP layer, answered the way FastAPI does: `{"detail": ...}`.
//!
//! Internal failures (SQLite, hashing, a panicked blocking task) are logged where they are
//! converted and answered with a bare 500: nothing about them reaches the client.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::json;

/// One entry of a FastAPI validation error (422): `{"type", "loc", "msg"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Pydantic's error type, e.g. `missing`, `string_too_short`, `json_invalid`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "username"]`, `["query", "refresh_token"]`.
    pub loc: Vec<String>,
    /// A human-readable message.
    pub msg: String,
}

impl FieldError {
    /// A required field that is absent.
    pub fn missing(place: &str, field: &str) -> Self {
        Self {
            kind: "missing",
            loc: vec![place.to_owned(), field.to_owned()],
            msg: "Field required".to_owned(),
        }
    }

    /// A string shorter than `min` characters.
    pub fn too_short(place: &str, field: &str, min: usize) -> Self {
        Self {
            kind: "string_too_short",
            loc: vec![place.to_owned(), field.to_owned()],
            msg: format!("String should have at least {min} characters"),
        }
    }

    /// A value that does not have the expected shape.
    pub fn invalid(place: &str, field: &str, msg: &str) -> Self {
        Self {
            kind: "value_error",
            loc: vec![place.to_owned(), field.to_owned()],
            msg: msg.to_owned(),
        }
    }

    /// A problem with the body as a whole.
    pub fn body(kind: &'static str, msg: &str) -> Self {
        Self {
            kind,
            loc: vec!["body".to_owned()],
            msg: msg.to_owned(),
        }
    }

    /// A body that is not valid JSON (or not a JSON object).
    pub fn json_invalid() -> Self {
        Self {
            kind: "json_invalid",
            loc: vec!["body".to_owned()],
            msg: "JSON decode error".to_owned(),
        }
    }
}

/// Every way a request can fail.
#[derive(Debug)]
pub enum ApiError {
    /// 400 with a detail string ("Inactive user", "Email already registered", ...).
    BadRequest(&'static str),
    /// 401 with `WWW-Authenticate: Bearer`.
    Unauthorized(&'static str),
    /// 403.
    Forbidden(&'static str),
    /// 404 `{"detail": "Not Found"}`.
    NotFound,
    /// 405 `{"detail": "Method Not Allowed"}`.
    MethodNotAllowed,
    /// 422 with a list of field errors.
    Validation(Vec<FieldError>),
    /// 429 with `Retry-After` in seconds.
    TooManyRequests {
        /// Detail string.
        detail: String,
        /// Seconds until a retry may succeed (at least 1).
        retry_after: u64,
    },
    /// A status forced by test-mode fault injection (500, 503, 429, ...).
    Injected {
        /// The status to answer with.
        status: StatusCode,
        /// `Retry-After` seconds, when any.
        retry_after: Option<u64>,
    },
    /// A DPoP refusal (RFC 9449): `{"detail", "error", "error_description"}`, the last two
    /// OAuth's. With `challenge` (a protected resource) it carries
    /// `WWW-Authenticate: DPoP error="…", error_description="…", algs="ES256"`; otherwise a 401
    /// carries the usual `Bearer` (token endpoints, like their other 401s).
    Dpop {
        /// 400 at token endpoints, 401 at resources (or the refresh rejection's status).
        status: StatusCode,
        /// `invalid_dpop_proof`, `use_dpop_nonce`, `invalid_token`, `invalid_grant`.
        error: &'static str,
        /// A fixed explanation, also the `detail` (never client input: it goes in a header).
        description: &'static str,
        /// Answer with the DPoP challenge.
        challenge: bool,
    },
    /// 503 with `Retry-After`: a bounded resource (the DPoP replay cache) is full.
    Unavailable {
        /// Detail string.
        detail: &'static str,
        /// Seconds until a retry may succeed (at least 1).
        retry_after: u64,
    },
    /// 500. The cause has been logged; the client sees only "Internal Server Error".
    Internal,
}

impl ApiError {
    /// Logs `cause` and returns [`ApiError::Internal`].
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {cause}");
        ApiError::Internal
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Injected { status, .. } | ApiError::Dpop { status, .. } => *status,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal("database", e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut retry_after = None;
        let mut dpop_challenge = None;
        let body = match self {
            ApiError::BadRequest(d) | ApiError::Unauthorized(d) | ApiError::Forbidden(d) => {
                json!({ "detail": d })
            }
            ApiError::Validation(errors) => json!({ "detail": errors }),
            ApiError::TooManyRequests {
                detail,
                retry_after: secs,
            } => {
                retry_after = Some(secs.max(1));
                json!({ "detail": detail })
            }
            ApiError::Injected {
                retry_after: secs, ..
            } => {
                retry_after = secs;
                json!({ "detail": status.canonical_reason().unwrap_or("Error") })
            }
            ApiError::Dpop {
                error,
                description,
                challenge,
                ..
            } => {
                if challenge {
                    dpop_challenge = Some(format!(
                        "DPoP error=\"{error}\", error_description=\"{description}\", algs=\"{}\"",
                        crate::dpop::ALG
                    ));
                }
                json!({ "detail": description, "error": error, "error_description": description })
            }
            ApiError::Unavailable {
                detail,
                retry_after: secs,
            } => {
                retry_after = Some(secs.max(1));
                json!({ "detail": detail })
            }
            ApiError::NotFound | ApiError::MethodNotAllowed | ApiError::Internal => {
                json!({ "detail": status.canonical_reason().unwrap_or("Error") })
            }
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        // The descriptions are fixed ASCII strings, so the challenge is always a valid value.
        match dpop_challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            Some(challenge) => {
                headers.insert(header::WWW_AUTHENTICATE, challenge);
            }
            None if status == StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            None => {}
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(e: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let r = e.into_response();
        let (parts, body) = r.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn unauthorized_carries_the_bearer_challenge() {
        let (s, h, b) = parts(ApiError::Unauthorized("Token has expired")).await;
        assert_eq!(s, 401);
        assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(b, json!({"detail": "Token has expired"}));
    }

    #[tokio::test]
    async fn dpop_refusals_carry_oauth_fields_and_the_dpop_challenge() {
        let (s, h, b) = parts(ApiError::Dpop {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: "Bad",
            challenge: true,
        })
        .await;
        assert_eq!(s, 401);
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"DPoP error="invalid_token", error_description="Bad", algs="ES256""#
        );
        assert_eq!(
            b,
            json!({"detail": "Bad", "error": "invalid_token", "error_description": "Bad"})
        );
        let (s, h, _) = parts(ApiError::Dpop {
            status: StatusCode::BAD_REQUEST,
            error: "use_dpop_nonce",
            description: "x",
            challenge: false,
        })
        .await;
        assert_eq!(s, 400);
        assert!(!h.contains_key(header::WWW_AUTHENTICATE));
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak() {
        let e = ApiError::from(rusqlite::Error::InvalidQuery);
        let (s, _, b) = parts(e).await;
        assert_eq!(s, 500);
        assert_eq!(b, json!({"detail": "Internal Server Error"}));
    }

    #[tokio::test]
    async fn rate_limit_sets_retry_after() {
        let (s, h, _) = parts(ApiError::TooManyRequests {
            detail: "x".into(),
            retry_after: 0,
        })
        .await;
        assert_eq!(s, 429);
        assert_eq!(h[header::RETRY_AFTER], "1");
        assert!(!h.contains_key(header::WWW_AUTHENTICATE));
    }

    #[tokio::test]
    async fn validation_has_the_fastapi_shape() {
        let (s, _, b) = parts(ApiError::Validation(vec![FieldError::missing(
            "body", "username",
        )]))
        .await;
        assert_eq!(s, 422);
        assert_eq!(
            b,
            json!({"detail": [{"type": "missing", "loc": ["body", "username"], "msg": "Field required"}]})
        );
    }
}
