//! JWTs: the claims each profile puts in its tokens, HS256 signing and verification through
//! jwt-compact.
//!
//! `exp`/`iat` normally live in jwt-compact's [`Claims`] (integer seconds). The v1 profile
//! emulates PyJWT with a float `exp`, so [`V1Claims`] carries its own `exp: f64` and leaves
//! jwt-compact's fields empty; on the way back in, jwt-compact reads that float `exp` into its
//! own field truncated to the second, so the expiry check also reads the exact number.

use base64ct::{Base64UrlUnpadded, Encoding};
use chrono::{DateTime, Utc};
use jwt_compact::{
    alg::{Hs256, Hs256Key},
    AlgorithmExt, Claims, Header, UntrustedToken,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// `type` claim of an access token.
pub const ACCESS: &str = "access";
/// `type` claim of a refresh token.
pub const REFRESH: &str = "refresh";

/// The custom claims of the standard and minimal profiles (and what is read back from any
/// token). Absent values are left out of the token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Subject: the user id (standard) or the username (minimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Unique token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `access` or `refresh`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `admin` or `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The user's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Session (refresh token family) the token belongs to; revoking it revokes the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// v1: the user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// v1: role names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `--dpop`: the key the token is bound to (RFC 9449 §6, RFC 7800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

impl TokenClaims {
    /// The thumbprint of the DPoP key the token is bound to, if it is bound.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }
}

/// The `cnf` claim of a DPoP-bound token: `{"jkt": "<RFC 7638 thumbprint>"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// base64url SHA-256 JWK thumbprint of the client's proof key.
    pub jkt: String,
}

/// Seed 001's payload: `{id, email, roles, exp}` with `exp` a float (PyJWT with
/// `datetime.timestamp()`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct V1Claims {
    /// The user id, as a string.
    pub id: String,
    /// The user's email.
    pub email: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Expiry in fractional seconds since the epoch.
    pub exp: f64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a JWT, wrong algorithm, bad signature, unreadable claims, or no `exp`.
    Invalid,
    /// Signature fine, `exp` in the past.
    Expired,
}

/// A token whose signature and expiry have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Its custom claims.
    pub claims: TokenClaims,
    /// `exp`, whole seconds.
    pub expires_at: i64,
}

/// Signs and verifies HS256 tokens with the server's secret.
#[derive(Clone)]
pub struct Signer {
    key: Hs256Key,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

impl Signer {
    /// A signer for `secret` (its bytes are the HMAC key).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: Hs256Key::new(secret),
        }
    }

    /// Signs claims whose `exp`/`iat` are whole seconds.
    pub fn sign(
        &self,
        custom: TokenClaims,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<String, ApiError> {
        let mut claims = Claims::new(custom);
        claims.issued_at = DateTime::from_timestamp(issued_at, 0);
        claims.expiration = DateTime::from_timestamp(expires_at, 0);
        self.sign_claims(&claims)
    }

    /// Signs a v1 token (float `exp`, no `iat`).
    pub fn sign_v1(&self, custom: V1Claims) -> Result<String, ApiError> {
        self.sign_claims(&Claims::new(custom))
    }

    fn sign_claims<T: Serialize>(&self, claims: &Claims<T>) -> Result<String, ApiError> {
        Hs256
            .token(&Header::empty().with_token_type("JWT"), claims, &self.key)
            .map_err(|e| ApiError::internal("signing a token", e))
    }

    /// Checks the signature, then the expiry against `now` (no leeway: the server is the
    /// clock of record).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Verified, TokenError> {
        let compact = token;
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Invalid)?;
        let token = Hs256
            .validator::<TokenClaims>(&self.key)
            .validate(&untrusted)
            .map_err(|_| TokenError::Invalid)?;
        let claims = token.claims();
        // Not jwt-compact's `validate_expiration`: it keeps whole seconds, so a float `exp` (v1)
        // would be refused up to a second early; PyJWT, which the v1 seed uses, honours the
        // fraction. Same rule otherwise: no leeway, expired once `now` is past `exp`.
        let exact_exp = exact_exp(untrusted_payload(compact))?;
        if (now.timestamp_millis() as f64) / 1000.0 > exact_exp {
            return Err(TokenError::Expired);
        }
        let expires_at = claims
            .expiration
            .map(|t| t.timestamp())
            .ok_or(TokenError::Invalid)?;
        Ok(Verified {
            claims: claims.custom.clone(),
            expires_at,
        })
    }
}

/// The payload part of a compact token whose structure jwt-compact has already accepted.
fn untrusted_payload(token: &str) -> &str {
    token.split('.').nth(1).unwrap_or_default()
}

/// The payload's `exp` as the JSON number it is (integer or float seconds).
fn exact_exp(payload: &str) -> Result<f64, TokenError> {
    #[derive(Deserialize)]
    struct Exp {
        exp: f64,
    }
    let bytes = Base64UrlUnpadded::decode_vec(payload).map_err(|_| TokenError::Invalid)?;
    serde_json::from_slice::<Exp>(&bytes)
        .map(|claims| claims.exp)
        .map_err(|_| TokenError::Invalid)
}

/// 128 random bits as 32 lowercase hex digits (token ids, session ids).
pub fn random_id() -> Result<String, ApiError> {
    random_hex::<16>()
}

/// `N` random bytes as lowercase hex.
pub fn random_hex<const N: usize>() -> Result<String, ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal("random bytes", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn decode_payload(token: &str) -> serde_json::Value {
        let untrusted = UntrustedToken::new(token).unwrap();
        let claims = untrusted
            .deserialize_claims_unchecked::<serde_json::Map<String, serde_json::Value>>()
            .unwrap();
        let mut map = claims.custom;
        if let Some(exp) = claims.expiration {
            map.insert("exp".into(), exp.timestamp().into());
        }
        if let Some(iat) = claims.issued_at {
            map.insert("iat".into(), iat.timestamp().into());
        }
        serde_json::Value::Object(map)
    }

    #[test]
    fn round_trip_and_expiry() {
        let s = Signer::new(b"0123456789abcdef0123456789abcdef");
        let claims = TokenClaims {
            sub: Some("1".into()),
            kind: Some(ACCESS.into()),
            ..Default::default()
        };
        let t = s.sign(claims.clone(), 1000, 1003).unwrap();
        let v = s.verify(&t, at(1002)).unwrap();
        assert_eq!(v.claims, claims);
        assert_eq!(v.expires_at, 1003);
        assert_eq!(
            s.verify(&t, at(1003)).unwrap().expires_at,
            1003,
            "valid up to exp"
        );
        assert_eq!(s.verify(&t, at(1004)), Err(TokenError::Expired));
        let payload = decode_payload(&t);
        assert_eq!(payload["iat"], 1000);
        assert_eq!(payload["type"], "access");
        assert!(payload.get("role").is_none(), "absent claims are left out");
    }

    #[test]
    fn refuses_other_keys_garbage_and_alg_none() {
        let s = Signer::new(b"0123456789abcdef0123456789abcdef");
        let other = Signer::new(b"fedcba9876543210fedcba9876543210");
        let t = other.sign(TokenClaims::default(), 1000, 2000).unwrap();
        assert_eq!(s.verify(&t, at(1500)), Err(TokenError::Invalid));
        assert_eq!(s.verify("not.a.jwt", at(1500)), Err(TokenError::Invalid));
        assert_eq!(s.verify("", at(1500)), Err(TokenError::Invalid));
        // {"alg":"none"} . {"sub":"1","exp":9999999999} . (empty signature)
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIiwiZXhwIjo5OTk5OTk5OTk5fQ.";
        assert_eq!(s.verify(none, at(1500)), Err(TokenError::Invalid));
    }

    #[test]
    fn a_token_without_exp_is_invalid() {
        let s = Signer::new(b"0123456789abcdef0123456789abcdef");
        let t = s.sign_claims(&Claims::new(TokenClaims::default())).unwrap();
        assert_eq!(s.verify(&t, at(1)), Err(TokenError::Invalid));
    }

    #[test]
    fn v1_tokens_carry_a_float_exp_and_verify() {
        let s = Signer::new(b"0123456789abcdef0123456789abcdef");
        let t = s
            .sign_v1(V1Claims {
                id: "1".into(),
                email: "a@example.com".into(),
                roles: vec!["admin".into()],
                exp: 1000.75,
            })
            .unwrap();
        let raw = UntrustedToken::new(&t).unwrap();
        let payload = raw
            .deserialize_claims_unchecked::<serde_json::Value>()
            .unwrap();
        // jwt-compact took `exp` into its own field; look at the raw JSON instead.
        assert!(payload.expiration.is_some());
        let segment = t.split('.').nth(1).unwrap();
        let json = base64_url_decode(segment);
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["exp"], serde_json::json!(1000.75));
        assert_eq!(value["roles"], serde_json::json!(["admin"]));
        assert!(value.get("iat").is_none() && value.get("type").is_none());
        let v = s.verify(&t, at(999)).unwrap();
        assert_eq!(v.claims.id.as_deref(), Some("1"));
        assert_eq!(v.claims.roles, Some(vec!["admin".to_string()]));
        assert_eq!(s.verify(&t, at(1001)), Err(TokenError::Expired));
        // The fraction counts, as in PyJWT: valid at 1000.5, expired at 1000.8.
        let at_millis = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        assert!(s.verify(&t, at_millis(1_000_500)).is_ok());
        assert_eq!(s.verify(&t, at_millis(1_000_800)), Err(TokenError::Expired));
    }

    #[test]
    fn random_ids_are_hex_and_distinct() {
        let a = random_id().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_id().unwrap());
    }

    fn base64_url_decode(s: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in s.bytes() {
            let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
            bits = (bits << 6) | v;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
                bits &= (1 << n) - 1;
            }
        }
        out
    }
}
