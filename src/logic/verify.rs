//! Signature verification for Rust apps (cargo feature `verify`), by jwt-compact.
//!
//! The browser SDK never holds a signing key and never verifies: the server decides. A Rust app
//! that does hold the key (a server-side render, a Tauri app with its own backend) can check a
//! token's signature here before trusting its claims. The npm package is built without this
//! feature, so none of jwt-compact's code ships to browsers.
//!
//! The token is first decoded with the strict rules of [`decode_unverified`], then jwt-compact
//! checks the algorithm named in the header and the signature. Errors never quote the token.

use std::fmt;

use jwt_compact::{Algorithm, AlgorithmExt, Empty, UntrustedToken, ValidationError};

use crate::logic::token::{decode_unverified, Claims, DecodeError, TokenHeader, UnverifiedToken};

/// The signing library, re-exported so that an app names its algorithms and keys with the
/// version this crate verifies with (`tokenkeeper::jwt_compact::alg::Hs256`, ...).
pub use jwt_compact;

/// A token whose signature was checked with the verifying key.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken(UnverifiedToken);

impl VerifiedToken {
    /// The token's header (`alg`, `typ`, `kid`).
    pub fn header(&self) -> &TokenHeader {
        self.0.header()
    }

    /// The token's claims: the whole payload.
    pub fn claims(&self) -> &Claims {
        self.0.claims()
    }

    /// The token's claims, consuming the token.
    pub fn into_claims(self) -> Claims {
        self.0.into_claims()
    }
}

/// Why a token was not verified.
#[derive(Debug)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token breaks a decoding rule (see [`decode_unverified`]).
    Decode(DecodeError),
    /// The header names another algorithm than the one given.
    AlgorithmMismatch,
    /// The signature does not match the token and the key (or is malformed).
    InvalidSignature,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(error) => error.fmt(f),
            Self::AlgorithmMismatch => f.write_str("token header names another algorithm"),
            Self::InvalidSignature => f.write_str("token signature is invalid"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<DecodeError> for VerifyError {
    fn from(error: DecodeError) -> Self {
        Self::Decode(error)
    }
}

/// Decodes `token` strictly and checks its signature with `key` under `algorithm` (e.g.
/// `jwt_compact::alg::Hs256` and its `Hs256Key`). Time claims are not judged here: `exp` and
/// `nbf` are in the claims for the app's own rules.
pub fn decode_verified<A: Algorithm>(
    algorithm: &A,
    key: &A::VerifyingKey,
    token: &str,
) -> Result<VerifiedToken, VerifyError> {
    let decoded = decode_unverified(token)?;
    // The strict decoder accepted it, so jwt-compact parses it too; a refusal is a bad signature.
    let untrusted = UntrustedToken::new(token).map_err(|_| VerifyError::InvalidSignature)?;
    match algorithm.validator::<Empty>(key).validate(&untrusted) {
        Ok(_) => Ok(VerifiedToken(decoded)),
        Err(ValidationError::AlgorithmMismatch { .. }) => Err(VerifyError::AlgorithmMismatch),
        Err(_) => Err(VerifyError::InvalidSignature),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use jwt_compact::alg::{Hs256, Hs256Key, Hs384};
    use jwt_compact::{Claims as JwtClaims, Header};
    use serde_json::{json, Value};

    fn signed(key: &Hs256Key, claims: Value) -> String {
        let Value::Object(custom) = claims else {
            unreachable!()
        };
        let claims = JwtClaims::new(custom);
        Hs256.token(&Header::empty(), &claims, key).expect("signs")
    }

    #[test]
    fn a_token_signed_with_the_key_is_verified_and_decoded() {
        let key = Hs256Key::new(b"a key of thirty-two bytes or more");
        let token = signed(&key, json!({"sub": "42", "role": "admin", "exp": 2e9}));
        let verified = decode_verified(&Hs256, &key, &token).expect("verifies");
        assert_eq!(verified.header().alg(), "HS256");
        assert_eq!(verified.claims().sub().as_deref(), Some("42"));
        assert_eq!(
            verified.claims(),
            decode_unverified(&token).unwrap().claims()
        );
    }

    #[test]
    fn another_key_a_changed_payload_or_another_algorithm_is_refused() {
        let key = Hs256Key::new(b"a key of thirty-two bytes or more");
        let other = Hs256Key::new(b"another key, thirty-two bytes long");
        let token = signed(&key, json!({"sub": "42"}));
        assert!(matches!(
            decode_verified(&Hs256, &other, &token),
            Err(VerifyError::InvalidSignature)
        ));
        // The payload of another token under this one's signature.
        let forged_payload = signed(&other, json!({"sub": "1", "role": "admin"}));
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = forged_payload.split('.').nth(1).unwrap();
        let forged = parts.join(".");
        let error = decode_verified(&Hs256, &key, &forged).unwrap_err();
        assert!(matches!(error, VerifyError::InvalidSignature), "{error}");
        assert!(!error.to_string().contains("eyJ"));
        let hs384 = jwt_compact::alg::Hs384Key::new(b"a key of thirty-two bytes or more");
        assert!(matches!(
            decode_verified(&Hs384, &hs384, &token),
            Err(VerifyError::AlgorithmMismatch)
        ));
    }

    #[test]
    fn a_malformed_token_is_a_decode_error() {
        let key = Hs256Key::new(b"a key of thirty-two bytes or more");
        assert!(matches!(
            decode_verified(&Hs256, &key, "not.a.jwt"),
            Err(VerifyError::Decode(_))
        ));
    }
}
