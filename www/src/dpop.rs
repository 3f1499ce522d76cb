//! DPoP (RFC 9449): proof verification, the replay cache and the server nonce, for `--dpop`
//! and `--dpop-nonce` (standard profile).
//!
//! A proof is a compact JWS in the `DPoP` request header, signed with ES256 by a key whose
//! public half is in its own header (`jwk`). [`Dpop::verify`] runs the checks of RFC 9449
//! §4.3 in this order: one header, a JWS, `typ` = `dpop+jwt`, `alg` = `ES256`, a public P-256
//! `jwk` (one carrying `d` is refused), the signature (jwt-compact's `Es256`), `jti`, `htm`,
//! `htu`, `iat` within [`IAT_WINDOW_SECS`], `ath` when an access token comes with the proof,
//! the nonce (with `--dpop-nonce`), and last the replay cache, so that only a proof that
//! passed everything else uses up its `jti`.
//!
//! What the handlers do with a [`Proof`] (binding tokens to its [`Proof::jkt`], comparing it
//! with a token's `cnf.jkt`) is in `handlers.rs` and `extract.rs`; the error replies are
//! [`ProofError::at_token_endpoint`] and [`ProofError::at_resource`].

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use axum::http::{header, HeaderMap, HeaderName, Method, StatusCode, Uri};
use base64ct::{Base64UrlUnpadded, Encoding};
use jwt_compact::{alg::Es256, jwk::JsonWebKey, Algorithm, AlgorithmExt, UntrustedToken};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::{error::ApiError, tokens::random_hex};

/// How far a proof's `iat` may be from the server clock, either way, in seconds. RFC 9449
/// leaves it to the server; a minute covers a client clock a little off without letting a
/// captured proof live long. It is also how long a `jti` is remembered.
pub const IAT_WINDOW_SECS: i64 = 60;
/// How often the server nonce changes, in seconds. The current and the previous nonce are
/// accepted, so a nonce is good for between this and twice this.
pub const NONCE_ROTATION_SECS: i64 = 30;
/// Most `jti`s remembered at once. Each entry is a 32-byte hash and an expiry, so the cache
/// stays under about 10 MB. When it is full, proofs are refused with 503 and `Retry-After`
/// until entries expire: failing closed, never forgetting a `jti` early (which would let a
/// captured proof be replayed).
pub const REPLAY_CACHE_CAPACITY: usize = 100_000;
/// Longest accepted `DPoP` header, in bytes. A real proof is well under 1 KiB.
pub const MAX_PROOF_LEN: usize = 4096;
/// The request header carrying the proof.
pub const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The reply header carrying the server nonce.
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");
/// The only proof algorithm accepted (and announced in `algs`).
pub const ALG: &str = "ES256";

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// RFC 7638 thumbprint of the proof's key: what tokens are bound to (`cnf.jkt`).
    pub jkt: String,
}

/// Why a proof was refused. Descriptions are fixed strings: nothing the client sent is echoed
/// into a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// No `DPoP` header.
    Missing,
    /// More than one `DPoP` header.
    Multiple,
    /// Not a compact JWS, unreadable header or claims, or too long.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    WrongType,
    /// `alg` is not `ES256`.
    WrongAlgorithm,
    /// `jwk` absent, not an EC P-256 public key, or not a point on the curve.
    BadKey,
    /// `jwk` carries a private key (`d`).
    PrivateKey,
    /// The signature does not verify with the `jwk`.
    BadSignature,
    /// `jti` absent or empty.
    MissingJti,
    /// `htm` is not the request method.
    WrongMethod,
    /// `htu` is not the request URL.
    WrongUrl,
    /// The request has no `Host` (so its URL is unknown).
    NoHost,
    /// `iat` absent.
    MissingIat,
    /// `iat` more than [`IAT_WINDOW_SECS`] from the server clock.
    IatOutOfWindow,
    /// An access token came with the proof and the proof has no `ath`.
    MissingAth,
    /// `ath` is not the hash of the access token.
    WrongAth,
    /// `--dpop-nonce`: the proof has no `nonce`.
    NonceMissing,
    /// `--dpop-nonce`: the proof's nonce is neither the current nor the previous one.
    NonceStale,
    /// This `jti` was seen before.
    Replayed,
    /// The replay cache is full; retry after this many seconds.
    CacheFull(u64),
}

impl ProofError {
    /// The OAuth error code: `use_dpop_nonce` for nonce problems, else `invalid_dpop_proof`.
    pub fn code(self) -> &'static str {
        match self {
            ProofError::NonceMissing | ProofError::NonceStale => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }

    /// A short, fixed explanation (`error_description` and `detail`).
    pub fn description(self) -> &'static str {
        use ProofError::*;
        match self {
            Missing => "DPoP proof required",
            Multiple => "More than one DPoP header",
            Malformed => "DPoP proof is not a well-formed JWS",
            WrongType => "DPoP proof typ must be dpop+jwt",
            WrongAlgorithm => "DPoP proof alg must be ES256",
            BadKey => "DPoP proof jwk must be a public EC P-256 key",
            PrivateKey => "DPoP proof jwk must not contain a private key",
            BadSignature => "DPoP proof signature is invalid",
            MissingJti => "DPoP proof jti is missing",
            WrongMethod => "DPoP proof htm does not match the request method",
            WrongUrl => "DPoP proof htu does not match the request URL",
            NoHost => "Request has no Host header to check htu against",
            MissingIat => "DPoP proof iat is missing",
            IatOutOfWindow => "DPoP proof iat is too far from the server time",
            MissingAth => "DPoP proof ath is missing",
            WrongAth => "DPoP proof ath does not match the access token",
            NonceMissing => "DPoP proof nonce required",
            NonceStale => "DPoP proof nonce is stale",
            Replayed => "DPoP proof jti has been used before",
            CacheFull(_) => "Too many DPoP proofs at once; try again later",
        }
    }

    /// The reply at a token endpoint (login, refresh): 400 with
    /// `{"error", "error_description", "detail"}` (RFC 9449 §5, §8).
    pub fn at_token_endpoint(self) -> ApiError {
        self.reply(StatusCode::BAD_REQUEST, false)
    }

    /// The reply at a protected resource: 401 with
    /// `WWW-Authenticate: DPoP error="…", error_description="…", algs="ES256"` (§7.1, §9).
    pub fn at_resource(self) -> ApiError {
        self.reply(StatusCode::UNAUTHORIZED, true)
    }

    fn reply(self, status: StatusCode, challenge: bool) -> ApiError {
        if let ProofError::CacheFull(retry_after) = self {
            return ApiError::Unavailable {
                detail: self.description(),
                retry_after,
            };
        }
        ApiError::Dpop {
            status,
            error: self.code(),
            description: self.description(),
            challenge,
        }
    }
}

/// The request a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Its method (`htm`).
    pub method: &'a Method,
    /// Its URI as received (origin form, or absolute form with HTTP/2's authority).
    pub uri: &'a Uri,
    /// Its headers (`DPoP`, `Host`).
    pub headers: &'a HeaderMap,
    /// The access token presented with the proof, if any: then `ath` is required.
    pub access_token: Option<&'a str>,
}

/// Proof header fields beyond `alg` and `typ` (which jwt-compact reads itself).
#[derive(Debug, Clone, Deserialize)]
struct ProofHeader {
    jwk: Option<serde_json::Value>,
}

/// The JWK members that matter; anything else in it (`kid`, `use`, `alg`) is ignored.
#[derive(Debug, Deserialize)]
struct EcJwk {
    kty: String,
    crv: String,
    x: String,
    y: String,
    d: Option<serde_json::Value>,
}

/// The proof claims besides `iat` (which jwt-compact reads into its own field).
#[derive(Debug, Deserialize)]
struct ProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// The server's DPoP state: the replay cache and, with `--dpop-nonce`, the nonces.
#[derive(Debug)]
pub struct Dpop {
    replay: Mutex<ReplayCache>,
    nonces: Option<Mutex<Nonces>>,
}

impl Dpop {
    /// DPoP state starting at `now_ms`; `with_nonce` for `--dpop-nonce`.
    pub fn new(with_nonce: bool, now_ms: i64) -> Result<Self, ApiError> {
        let nonces = if with_nonce {
            Some(Mutex::new(Nonces::new(now_ms)?))
        } else {
            None
        };
        Ok(Self {
            replay: Mutex::new(ReplayCache::new(REPLAY_CACHE_CAPACITY)),
            nonces,
        })
    }

    /// Checks the proof of `req` at `now_ms` (RFC 9449 §4.3) and remembers its `jti`.
    pub fn verify(&self, req: Request<'_>, now_ms: i64) -> Result<Proof, ProofError> {
        let mut values = req.headers.get_all(DPOP).iter();
        let value = values.next().ok_or(ProofError::Missing)?;
        if values.next().is_some() {
            return Err(ProofError::Multiple);
        }
        if value.len() > MAX_PROOF_LEN {
            return Err(ProofError::Malformed);
        }
        let compact = value.to_str().map_err(|_| ProofError::Malformed)?;
        let untrusted = UntrustedToken::<ProofHeader>::try_from(compact.trim())
            .map_err(|_| ProofError::Malformed)?;
        let typ = untrusted.header().token_type.as_deref();
        if !typ.is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt")) {
            return Err(ProofError::WrongType);
        }
        if untrusted.algorithm() != ALG {
            return Err(ProofError::WrongAlgorithm);
        }
        let jwk = untrusted
            .header()
            .other_fields
            .jwk
            .as_ref()
            .ok_or(ProofError::BadKey)?;
        let (key, jkt) = public_key(jwk)?;
        let token = Es256
            .validator::<ProofClaims>(&key)
            .validate(&untrusted)
            .map_err(|e| match e {
                jwt_compact::ValidationError::MalformedClaims(_) => ProofError::Malformed,
                _ => ProofError::BadSignature,
            })?;
        let claims = token.claims();
        let custom = &claims.custom;
        let jti = custom
            .jti
            .as_deref()
            .filter(|j| !j.is_empty())
            .ok_or(ProofError::MissingJti)?;
        if custom.htm.as_deref() != Some(req.method.as_str()) {
            return Err(ProofError::WrongMethod);
        }
        let expected = request_url(req.uri, req.headers).ok_or(ProofError::NoHost)?;
        let htu = custom.htu.as_deref().and_then(normalize_url);
        if htu.as_deref() != Some(expected.as_str()) {
            return Err(ProofError::WrongUrl);
        }
        let iat = claims.issued_at.ok_or(ProofError::MissingIat)?;
        let iat_ms = iat.timestamp_millis();
        if (now_ms - iat_ms).abs() > IAT_WINDOW_SECS * 1000 {
            return Err(ProofError::IatOutOfWindow);
        }
        if let Some(token) = req.access_token {
            let ath = custom.ath.as_deref().ok_or(ProofError::MissingAth)?;
            if ath != access_token_hash(token) {
                return Err(ProofError::WrongAth);
            }
        }
        if let Some(nonces) = &self.nonces {
            let nonce = custom.nonce.as_deref().ok_or(ProofError::NonceMissing)?;
            if !lock(nonces).accepts(nonce, now_ms) {
                return Err(ProofError::NonceStale);
            }
        }
        // Keyed by key and jti together: a jti is the client's to choose, and one client's
        // choice must not block another's proofs.
        let entry: [u8; 32] = Sha256::new()
            .chain_update(jkt.as_bytes())
            .chain_update(b".")
            .chain_update(jti.as_bytes())
            .finalize()
            .into();
        lock(&self.replay).insert(entry, iat_ms + IAT_WINDOW_SECS * 1000, now_ms)?;
        Ok(Proof { jkt })
    }

    /// The nonce to send in `DPoP-Nonce` now (rotating it when due); `None` without
    /// `--dpop-nonce`.
    pub fn current_nonce(&self, now_ms: i64) -> Option<String> {
        let nonces = self.nonces.as_ref()?;
        Some(lock(nonces).current(now_ms).to_owned())
    }

    /// Test mode: replaces the nonce at once and forgets the previous ones, so that every
    /// nonce handed out so far is stale. Returns the new one (`None` without `--dpop-nonce`).
    pub fn force_new_nonce(&self, now_ms: i64) -> Result<Option<String>, ApiError> {
        let Some(nonces) = &self.nonces else {
            return Ok(None);
        };
        let fresh = Nonces::new(now_ms)?;
        let value = fresh.current.clone();
        *lock(nonces) = fresh;
        Ok(Some(value))
    }

    /// Test mode (`/__reset`): forgets every remembered `jti`.
    pub fn clear_replay_cache(&self) {
        lock(&self.replay).clear();
    }
}

/// A poisoned lock only means another request panicked mid-update; the data (hashes,
/// nonces) is still consistent enough to go on with.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The verifying key of a proof's `jwk` and its RFC 7638 thumbprint.
fn public_key(
    jwk: &serde_json::Value,
) -> Result<(<Es256 as Algorithm>::VerifyingKey, String), ProofError> {
    // `d` first: a client that leaks its private key must hear so, not "bad key".
    if jwk.get("d").is_some() {
        return Err(ProofError::PrivateKey);
    }
    let ec: EcJwk = serde_json::from_value(jwk.clone()).map_err(|_| ProofError::BadKey)?;
    if ec.d.is_some() || ec.kty != "EC" || ec.crv != "P-256" {
        return Err(ProofError::BadKey);
    }
    let x = Base64UrlUnpadded::decode_vec(&ec.x).map_err(|_| ProofError::BadKey)?;
    let y = Base64UrlUnpadded::decode_vec(&ec.y).map_err(|_| ProofError::BadKey)?;
    let key = JsonWebKey::EllipticCurve {
        curve: "P-256".into(),
        x: x.as_slice().into(),
        y: y.as_slice().into(),
        secret: None,
    };
    // Checks the lengths (32 bytes each) and that the point is on the curve.
    let verifying =
        <Es256 as Algorithm>::VerifyingKey::try_from(&key).map_err(|_| ProofError::BadKey)?;
    Ok((verifying, thumbprint(&x, &y)))
}

/// RFC 7638 thumbprint of an EC P-256 public key: base64url(SHA-256) of the required members
/// in lexicographic order, no whitespace. The coordinates are re-encoded from their bytes, so
/// the thumbprint does not depend on how the client spelled them.
pub fn thumbprint(x: &[u8], y: &[u8]) -> String {
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        Base64UrlUnpadded::encode_string(x),
        Base64UrlUnpadded::encode_string(y)
    );
    Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
}

/// `ath`: base64url(SHA-256(the access token's ASCII)).
pub fn access_token_hash(token: &str) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(token.as_bytes()))
}

/// The URL of the request as the client addressed it, normalized: `http://` (the server only
/// listens over plain HTTP; an absolute-form URI keeps its own scheme), the `Host` header (or
/// the URI's authority), and the path, without query.
fn request_url(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let authority = match uri.authority() {
        Some(a) => a.as_str(),
        None => headers.get(header::HOST)?.to_str().ok()?,
    };
    let scheme = uri.scheme_str().unwrap_or("http");
    normalize_url(&format!("{scheme}://{authority}{}", uri.path()))
}

/// Syntax-based normalization (RFC 3986 §6.2.2, §6.2.3) of an `http(s)` URL for comparison:
/// query and fragment dropped, scheme and host lowercased, the default port dropped, an empty
/// path made `/`. `None` for anything else (other schemes, user info, no host).
pub fn normalize_url(url: &str) -> Option<String> {
    let url = url.split(['#', '?']).next().unwrap_or_default();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    if authority.is_empty() || authority.contains(['@', ' ']) {
        return None;
    }
    Some(format!("{scheme}://{authority}{path}"))
}

/// The rotating server nonce (RFC 9449 §8): the current value and the one before it.
#[derive(Debug)]
struct Nonces {
    current: String,
    previous: Option<String>,
    /// When `current` was made.
    since_ms: i64,
}

impl Nonces {
    fn new(now_ms: i64) -> Result<Self, ApiError> {
        Ok(Self {
            current: random_hex::<16>()?,
            previous: None,
            since_ms: now_ms,
        })
    }

    /// Rotates when [`NONCE_ROTATION_SECS`] have passed. After two periods or more with no
    /// request, the old value is not kept: it would be older than any nonce should be.
    fn rotate_if_due(&mut self, now_ms: i64) {
        let period = NONCE_ROTATION_SECS * 1000;
        let periods = (now_ms - self.since_ms).div_euclid(period);
        if periods < 1 {
            return;
        }
        match random_hex::<16>() {
            Ok(next) => {
                let old = std::mem::replace(&mut self.current, next);
                self.previous = (periods == 1).then_some(old);
                self.since_ms += periods * period;
            }
            // Keeping the old value a while longer is better than failing requests.
            Err(_) => tracing::warn!("no random bytes for a new DPoP nonce; keeping the old one"),
        }
    }

    fn current(&mut self, now_ms: i64) -> &str {
        self.rotate_if_due(now_ms);
        &self.current
    }

    fn accepts(&mut self, nonce: &str, now_ms: i64) -> bool {
        self.rotate_if_due(now_ms);
        nonce == self.current || self.previous.as_deref() == Some(nonce)
    }
}

/// The `jti`s of accepted proofs, each until its proof's `iat` leaves the window (after that
/// the proof is refused for its `iat` anyway). At most `capacity` entries.
#[derive(Debug)]
struct ReplayCache {
    capacity: usize,
    /// Entry → when it may be forgotten (ms).
    seen: HashMap<[u8; 32], i64>,
    /// The same entries in insertion order, for expiry.
    order: VecDeque<([u8; 32], i64)>,
}

impl ReplayCache {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Records `entry` until `expires_ms`; refuses one already there, or any when full.
    fn insert(&mut self, entry: [u8; 32], expires_ms: i64, now_ms: i64) -> Result<(), ProofError> {
        self.expire(now_ms);
        if self.seen.contains_key(&entry) {
            return Err(ProofError::Replayed);
        }
        if self.seen.len() >= self.capacity {
            let oldest = self.order.iter().map(|(_, t)| *t).min().unwrap_or(now_ms);
            let wait_ms = (oldest - now_ms).max(0);
            let secs = u64::try_from(wait_ms.div_euclid(1000) + 1).unwrap_or(1);
            return Err(ProofError::CacheFull(secs));
        }
        self.seen.insert(entry, expires_ms);
        self.order.push_back((entry, expires_ms));
        Ok(())
    }

    /// Drops expired entries from the front. Expiries are not quite in insertion order (they
    /// follow each proof's `iat`), so a few may outlive their time by up to twice the window;
    /// they are still counted, which only makes the cache stricter.
    fn expire(&mut self, now_ms: i64) {
        while let Some(&(entry, expires)) = self.order.front() {
            if expires >= now_ms {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&entry);
        }
    }

    fn clear(&mut self) {
        self.seen.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha256;

    #[test]
    fn thumbprint_matches_jwt_compact() {
        // jwt-compact's own RFC 7638 implementation, as a second opinion.
        let (x, y) = ([7u8; 32], [9u8; 32]);
        let jwk = JsonWebKey::EllipticCurve {
            curve: "P-256".into(),
            x: x.as_slice().into(),
            y: y.as_slice().into(),
            secret: None,
        };
        let theirs = Base64UrlUnpadded::encode_string(&jwk.thumbprint::<Sha256>());
        assert_eq!(thumbprint(&x, &y), theirs);
    }

    #[test]
    fn urls_normalize() {
        let n = |s| normalize_url(s);
        assert_eq!(
            n("HTTP://127.0.0.1:8080/auth/me?x=1#f").as_deref(),
            Some("http://127.0.0.1:8080/auth/me")
        );
        assert_eq!(
            n("http://Example.COM:80").as_deref(),
            Some("http://example.com/")
        );
        assert_eq!(n("https://h:443/p").as_deref(), Some("https://h/p"));
        assert_eq!(n("https://h:8443/p").as_deref(), Some("https://h:8443/p"));
        for bad in ["", "/auth/me", "ftp://h/", "http:///p", "http://u@h/p"] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }

    #[test]
    fn replay_cache_refuses_repeats_expires_and_fails_closed_when_full() {
        let mut c = ReplayCache::new(2);
        let (a, b, d) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        assert_eq!(c.insert(a, 1_000, 0), Ok(()));
        assert_eq!(c.insert(a, 1_000, 10), Err(ProofError::Replayed));
        assert_eq!(c.insert(b, 5_000, 20), Ok(()));
        // Full: the oldest entry leaves at 1 000 ms, so retry in a second.
        assert_eq!(c.insert(d, 9_000, 30), Err(ProofError::CacheFull(1)));
        // Remembered until its expiry, forgotten after.
        assert_eq!(c.insert(a, 1_000, 1_000), Err(ProofError::Replayed));
        assert_eq!(c.insert(d, 9_000, 1_001), Ok(()));
        assert_eq!(c.insert(a, 9_000, 1_002), Err(ProofError::CacheFull(4)));
    }

    #[test]
    fn nonces_rotate_and_keep_one_previous() {
        let mut n = Nonces::new(0).unwrap();
        let first = n.current(0).to_owned();
        assert!(n.accepts(&first, 29_999));
        let second = n.current(30_000).to_owned();
        assert_ne!(first, second);
        assert!(n.accepts(&first, 30_001), "the previous one is still good");
        assert!(n.accepts(&second, 30_001));
        assert!(
            !n.accepts(&first, 60_000),
            "two rotations later it is stale"
        );
        let third = n.current(60_000).to_owned();
        // A long quiet spell: nothing old survives.
        assert!(!n.accepts(&third, 150_000));
        assert!(!n.accepts("", 150_000));
    }

    #[test]
    fn error_codes() {
        assert_eq!(ProofError::NonceMissing.code(), "use_dpop_nonce");
        assert_eq!(ProofError::NonceStale.code(), "use_dpop_nonce");
        assert_eq!(ProofError::WrongAth.code(), "invalid_dpop_proof");
        assert_eq!(
            ProofError::BadSignature.at_token_endpoint().status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ProofError::BadSignature.at_resource().status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ProofError::CacheFull(3).at_resource().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
