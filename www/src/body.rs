//! Request bodies that fail the FastAPI way (422 with field errors, never a plain-text 4xx).
//! They need no state, so any router can use them (the test-mode routes do too).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Which encodings a body extractor accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accept {
    FormOrJson,
    Json,
}

async fn parse_body<T, S>(req: Request, state: &S, accept: Accept) -> Result<T, ApiError>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if accept == Accept::FormOrJson && content_type == "application/x-www-form-urlencoded" {
        return axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(v)| v)
            .map_err(|_| {
                ApiError::Validation(vec![FieldError::body(
                    "value_error",
                    "Form data could not be parsed",
                )])
            });
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|_| {
        ApiError::Validation(vec![FieldError::body(
            "value_error",
            "Body could not be read",
        )])
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // Every field missing: the caller reports which ones.
        return Ok(T::default());
    }
    let is_json = content_type == "application/json"
        || content_type.ends_with("+json")
        || (content_type.is_empty() || content_type == "text/plain")
            && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if is_json {
        return serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::Validation(vec![if e.is_data() {
                FieldError::body(
                    "model_attributes_type",
                    "Input should be an object of strings",
                )
            } else {
                FieldError::json_invalid()
            }])
        });
    }
    // Multipart or anything else: nothing understood, so every field is missing.
    Ok(T::default())
}

/// A body sent as `application/x-www-form-urlencoded` (the OAuth2 password form) or JSON.
#[derive(Debug, Clone)]
pub struct FormOrJson<T>(pub T);

impl<S, T> FromRequest<S> for FormOrJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        parse_body(req, state, Accept::FormOrJson)
            .await
            .map(FormOrJson)
    }
}

/// A JSON body.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        parse_body(req, state, Accept::Json).await.map(JsonBody)
    }
}

/// Collects "Field required" errors for absent or empty fields; returns the values when all
/// are present.
pub fn require<const N: usize>(
    place: &str,
    fields: [(&str, Option<String>); N],
) -> Result<[String; N], ApiError> {
    let mut errors = Vec::new();
    let values = fields.map(|(name, value)| match value.filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => {
            errors.push(FieldError::missing(place, name));
            String::new()
        }
    });
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_reports_every_missing_field() {
        let err = require(
            "body",
            [("username", None), ("password", Some(String::new()))],
        )
        .unwrap_err();
        match err {
            ApiError::Validation(v) => {
                assert_eq!(v.len(), 2);
                assert_eq!(v[0].loc, ["body", "username"]);
                assert_eq!(v[1].loc, ["body", "password"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            require("q", [("a", Some("x".into()))]).unwrap(),
            ["x".to_string()]
        );
    }
}
