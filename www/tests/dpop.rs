//! DPoP (`--dpop`, `--dpop-nonce`): proofs at the token endpoints and on protected routes,
//! one test per refusal, key binding of both tokens, nonces, CORS. Proofs are made here with
//! the p256 crate (ES256), independently of the server's jwt-compact.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use axum::{
    body::Body,
    http::{header, Method, Request},
};
use base64ct::{Base64UrlUnpadded, Encoding};
use common::*;
use p256::ecdsa::{signature::Signer, Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokenkeeper_server::{app, AppState, Clock, Config, Db};

/// What the client sees as the server's address (the `Host` header of every request here).
const HOST: &str = "127.0.0.1:8080";

/// A `jti` not used before in this test binary.
fn next_jti() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", COUNT.fetch_add(1, Ordering::Relaxed))
}

fn url(path: &str) -> String {
    format!("http://{HOST}{path}")
}

/// A client key pair. Fixed seeds: tests stay reproducible.
struct Key(SigningKey);

impl Key {
    fn new(seed: u8) -> Self {
        Key(SigningKey::from_slice(&[seed; 32]).expect("a valid scalar"))
    }

    fn coordinates(&self) -> (String, String) {
        let point = self.0.verifying_key().to_encoded_point(false);
        (
            Base64UrlUnpadded::encode_string(point.x().unwrap()),
            Base64UrlUnpadded::encode_string(point.y().unwrap()),
        )
    }

    /// The public JWK, members in an unusual order (the thumbprint must not care).
    fn jwk(&self) -> Value {
        let (x, y) = self.coordinates();
        json!({ "y": y, "x": x, "kty": "EC", "crv": "P-256" })
    }

    /// RFC 7638, computed here by hand.
    fn jkt(&self) -> String {
        let (x, y) = self.coordinates();
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        Base64UrlUnpadded::encode_string(&Sha256::digest(canonical.as_bytes()))
    }

    /// A valid proof for `method` on `path` now (the tests' clock), with a fresh `jti`.
    fn proof(&self, app: &TestApp, method: &str, path: &str) -> Spec {
        Spec {
            header: json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk() }),
            claims: json!({
                "jti": next_jti(),
                "htm": method,
                "htu": url(path),
                "iat": app.clock.now_secs(),
            }),
        }
    }

    fn sign(&self, spec: &Spec) -> String {
        let encode = |v: &Value| Base64UrlUnpadded::encode_string(v.to_string().as_bytes());
        let input = format!("{}.{}", encode(&spec.header), encode(&spec.claims));
        let signature: Signature = self.0.sign(input.as_bytes());
        format!(
            "{input}.{}",
            Base64UrlUnpadded::encode_string(&signature.to_bytes())
        )
    }
}

/// A proof before signing: change anything, then [`Key::sign`] it.
struct Spec {
    header: Value,
    claims: Value,
}

impl Spec {
    fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims[name] = value;
        self
    }

    /// Leaves claim `name` out.
    fn without(mut self, name: &str) -> Self {
        if let Some(claims) = self.claims.as_object_mut() {
            claims.remove(name);
        }
        self
    }

    fn header(mut self, name: &str, value: Value) -> Self {
        self.header[name] = value;
        self
    }

    /// `ath` for `token`.
    fn ath(self, token: &str) -> Self {
        let ath = Base64UrlUnpadded::encode_string(&Sha256::digest(token.as_bytes()));
        self.claim("ath", json!(ath))
    }
}

fn dpop_config() -> Config {
    Config {
        dpop: true,
        ..config()
    }
}

fn nonce_config() -> Config {
    Config {
        dpop: true,
        dpop_nonce: true,
        ..config()
    }
}

/// A request to the server at [`HOST`], with `Authorization: <scheme> <token>` and `DPoP`
/// headers when given.
fn req(
    method: Method,
    path: &str,
    auth: Option<(&str, &str)>,
    proofs: &[&str],
    json_body: Option<Value>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST);
    if let Some((scheme, token)) = auth {
        b = b.header(header::AUTHORIZATION, format!("{scheme} {token}"));
    }
    for p in proofs {
        b = b.header("DPoP", *p);
    }
    match json_body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// `POST /auth/login` as `user` with these `DPoP` headers.
async fn login_with(app: &TestApp, proofs: &[&str]) -> Reply {
    let body = json!({ "username": USER.0, "password": USER.1 });
    app.send(req(Method::POST, "/auth/login", None, proofs, Some(body)))
        .await
}

/// A DPoP login by `key`; asserts success.
async fn login(app: &TestApp, key: &Key) -> Reply {
    let proof = key.sign(&key.proof(app, "POST", "/auth/login"));
    let r = login_with(app, &[&proof]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

async fn refresh_with(app: &TestApp, refresh_token: &str, proofs: &[&str]) -> Reply {
    let body = json!({ "refresh_token": refresh_token });
    app.send(req(Method::POST, "/auth/refresh", None, proofs, Some(body)))
        .await
}

/// `GET path` with `Authorization: DPoP <token>` and a correct proof by `key`.
async fn get_dpop(app: &TestApp, key: &Key, path: &str, token: &str) -> Reply {
    let proof = key.sign(&key.proof(app, "GET", path).ath(token));
    get_with(app, path, ("DPoP", token), &[&proof]).await
}

async fn get_with(app: &TestApp, path: &str, auth: (&str, &str), proofs: &[&str]) -> Reply {
    app.send(req(Method::GET, path, Some(auth), proofs, None))
        .await
}

/// A token endpoint's refusal: 400 with the OAuth fields and `detail`, no challenge.
#[track_caller]
fn assert_token_refusal(r: &Reply, error: &str, description: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.json,
        json!({ "error": error, "error_description": description, "detail": description })
    );
    assert_eq!(r.header("www-authenticate"), None);
}

/// A protected route's refusal: 401 with the DPoP challenge naming `error`.
#[track_caller]
fn assert_resource_refusal(r: &Reply, error: &str, description: &str) {
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(
        r.json,
        json!({ "error": error, "error_description": description, "detail": description })
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(r#"DPoP error="{error}", error_description="{description}", algs="ES256""#)
                .as_str()
        )
    );
}

/// Logs in with `key`, then asserts that `GET /auth/me` with the proof `make` builds (from a
/// correct one, the token's `ath` included) is refused at the resource with `description`.
async fn assert_me_refuses(
    app: &TestApp,
    key: &Key,
    make: impl FnOnce(Spec, &str) -> String,
    description: &str,
) {
    let token = login(app, key).await.str("access_token");
    let proof = make(key.proof(app, "GET", "/auth/me").ath(&token), &token);
    let r = get_with(app, "/auth/me", ("DPoP", &token), &[&proof]).await;
    assert_resource_refusal(&r, "invalid_dpop_proof", description);
}

// ---------------------------------------------------------------------------------------------
// The happy path

#[tokio::test]
async fn login_binds_both_tokens_and_resources_and_refresh_take_the_same_key() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let first = login(&app, &key).await;
    assert_eq!(first.json["token_type"], "DPoP");
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let access = first.str("access_token");
    assert_eq!(payload(&access)["cnf"], json!({ "jkt": key.jkt() }));
    assert_eq!(
        payload(&first.str("refresh_token"))["cnf"],
        json!({ "jkt": key.jkt() })
    );
    let me = get_dpop(&app, &key, "/auth/me", &access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json["email"], USER.0);
    assert_eq!(
        me.header("dpop-nonce"),
        None,
        "no nonces without --dpop-nonce"
    );
    let dash = get_dpop(&app, &key, "/dashboard", &access).await;
    assert_eq!(dash.status, 200, "{}", dash.text);

    app.advance(30.0);
    let proof = key.sign(&key.proof(&app, "POST", "/auth/refresh"));
    let second = refresh_with(&app, &first.str("refresh_token"), &[&proof]).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.json["token_type"], "DPoP");
    let access2 = second.str("access_token");
    assert_eq!(payload(&access2)["cnf"]["jkt"], key.jkt());
    assert_eq!(
        payload(&second.str("refresh_token"))["cnf"]["jkt"],
        key.jkt()
    );
    assert_eq!(get_dpop(&app, &key, "/auth/me", &access2).await.status, 200);
}

#[tokio::test]
async fn admin_logout_and_change_password_take_dpop_too() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(2);
    let body = json!({ "username": ADMIN.0, "password": ADMIN.1 });
    let proof = key.sign(&key.proof(&app, "POST", "/auth/login"));
    let admin = app
        .send(req(
            Method::POST,
            "/auth/login",
            None,
            &[&proof],
            Some(body),
        ))
        .await;
    let token = admin.str("access_token");
    assert_eq!(
        get_dpop(&app, &key, "/admin/users", &token).await.status,
        200
    );

    let change = json!({ "current_password": ADMIN.1, "new_password": "another-password" });
    let proof = key.sign(&key.proof(&app, "POST", "/auth/change-password").ath(&token));
    let r = app
        .send(req(
            Method::POST,
            "/auth/change-password",
            Some(("DPoP", &token)),
            &[&proof],
            Some(change),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let proof = key.sign(&key.proof(&app, "POST", "/auth/logout").ath(&token));
    let r = app
        .send(req(
            Method::POST,
            "/auth/logout",
            Some(("DPoP", &token)),
            &[&proof],
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Revoked: the token problem is answered with the DPoP challenge and the usual detail.
    let r = get_dpop(&app, &key, "/auth/me", &token).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.detail(), "Token has been revoked");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .starts_with(r#"DPoP error="invalid_token""#));
}

#[tokio::test]
async fn htu_ignores_query_fragment_case_and_default_port() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(3);
    let spec = key.proof(&app, "POST", "/auth/login").claim(
        "htu",
        json!("HTTP://127.0.0.1:8080/auth/login?next=/x#frag"),
    );
    assert_eq!(login_with(&app, &[&key.sign(&spec)]).await.status, 200);
    // Host without a port: `http://host:80/...` is the same URL.
    let spec = key
        .proof(&app, "POST", "/auth/login")
        .claim("htu", json!("http://localhost:80/auth/login"));
    let body = json!({ "username": USER.0, "password": USER.1 });
    let mut request = req(
        Method::POST,
        "/auth/login",
        None,
        &[&key.sign(&spec)],
        Some(body),
    );
    request
        .headers_mut()
        .insert(header::HOST, "LocalHost".parse().unwrap());
    assert_eq!(app.send(request).await.status, 200);
}

#[tokio::test]
async fn iat_at_the_edges_of_the_window_is_accepted() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(4);
    let now = app.clock.now_secs();
    for iat in [now - 60, now + 60] {
        let spec = key
            .proof(&app, "POST", "/auth/login")
            .claim("iat", json!(iat));
        let r = login_with(&app, &[&key.sign(&spec)]).await;
        assert_eq!(r.status, 200, "iat {iat}: {}", r.text);
    }
}

#[tokio::test]
async fn without_dpop_the_server_ignores_proofs_and_issues_bearer_tokens() {
    let app = TestApp::new();
    let key = Key::new(5);
    let r = login(&app, &key).await;
    assert_eq!(r.json["token_type"], "bearer");
    assert!(payload(&r.str("access_token")).get("cnf").is_none());
    // And `Authorization: DPoP` means nothing to it.
    let token = r.str("access_token");
    let me = get_dpop(&app, &key, "/auth/me", &token).await;
    me.assert_error(401, "Not authenticated");
}

// ---------------------------------------------------------------------------------------------
// Refusals at the token endpoints (login, refresh): 400 invalid_dpop_proof

#[tokio::test]
async fn login_without_a_proof_is_refused() {
    let app = TestApp::with(dpop_config());
    let r = login_with(&app, &[]).await;
    assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof required");
    // A refused proof is not a failed login: the right password still works afterwards and
    // nothing counted against the account.
    assert_eq!(login(&app, &Key::new(1)).await.status, 200);
}

#[tokio::test]
async fn two_dpop_headers_are_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let a = key.sign(&key.proof(&app, "POST", "/auth/login"));
    let b = key.sign(&key.proof(&app, "POST", "/auth/login"));
    let r = login_with(&app, &[&a, &b]).await;
    assert_token_refusal(&r, "invalid_dpop_proof", "More than one DPoP header");
}

#[tokio::test]
async fn garbage_is_refused() {
    let app = TestApp::with(dpop_config());
    // Not three parts; not base64url; a header without alg; too long.
    let long = "a".repeat(5000);
    for garbage in [
        long.as_str(),
        "x",
        "a.b",
        "a.b.c",
        "....",
        "e30.!!.AA",
        "eyJhbGciOiJFUzI1NiJ9.e30",
    ] {
        let r = login_with(&app, &[garbage]).await;
        assert_token_refusal(
            &r,
            "invalid_dpop_proof",
            "DPoP proof is not a well-formed JWS",
        );
    }
}

#[tokio::test]
async fn wrong_typ_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    for typ in [json!("JWT"), Value::Null] {
        let spec = key.proof(&app, "POST", "/auth/login").header("typ", typ);
        let r = login_with(&app, &[&key.sign(&spec)]).await;
        assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof typ must be dpop+jwt");
    }
}

#[tokio::test]
async fn wrong_alg_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    for alg in ["ES384", "HS256", "none"] {
        let spec = key
            .proof(&app, "POST", "/auth/login")
            .header("alg", json!(alg));
        let r = login_with(&app, &[&key.sign(&spec)]).await;
        assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof alg must be ES256");
    }
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let app = TestApp::with(dpop_config());
    let (key, other) = (Key::new(1), Key::new(2));
    // Signed by one key, claiming to be another.
    let spec = key
        .proof(&app, "POST", "/auth/login")
        .header("jwk", other.jwk());
    let r = login_with(&app, &[&key.sign(&spec)]).await;
    assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof signature is invalid");
    // A signed proof whose claims were changed afterwards.
    let signed = key.sign(&key.proof(&app, "POST", "/auth/login"));
    let parts: Vec<&str> = signed.split('.').collect();
    let forged_claims = json!({ "jti": "forged", "htm": "POST", "htu": url("/auth/login"),
        "iat": app.clock.now_secs() });
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        Base64UrlUnpadded::encode_string(forged_claims.to_string().as_bytes()),
        parts[2]
    );
    let r = login_with(&app, &[&forged]).await;
    assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof signature is invalid");
}

#[tokio::test]
async fn jwk_with_a_private_part_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let mut jwk = key.jwk();
    jwk["d"] = json!(Base64UrlUnpadded::encode_string(&key.0.to_bytes()));
    let spec = key.proof(&app, "POST", "/auth/login").header("jwk", jwk);
    let r = login_with(&app, &[&key.sign(&spec)]).await;
    assert_token_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof jwk must not contain a private key",
    );
}

#[tokio::test]
async fn jwk_that_is_not_a_public_p256_key_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let (x, y) = key.coordinates();
    let short = Base64UrlUnpadded::encode_string(&[1u8; 31]);
    let not_on_curve = Base64UrlUnpadded::encode_string(&[1u8; 32]);
    for jwk in [
        Value::Null,
        json!("EC"),
        json!({ "kty": "RSA", "n": "AQAB", "e": "AQAB" }),
        json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y }),
        json!({ "kty": "EC", "crv": "P-256", "x": x }),
        json!({ "kty": "EC", "crv": "P-256", "x": short, "y": y }),
        json!({ "kty": "EC", "crv": "P-256", "x": x, "y": not_on_curve }),
        json!({ "kty": "EC", "crv": "P-256", "x": "!!", "y": y }),
    ] {
        let spec = key
            .proof(&app, "POST", "/auth/login")
            .header("jwk", jwk.clone());
        let r = login_with(&app, &[&key.sign(&spec)]).await;
        assert_token_refusal(
            &r,
            "invalid_dpop_proof",
            "DPoP proof jwk must be a public EC P-256 key",
        );
    }
}

#[tokio::test]
async fn missing_or_empty_jti_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    for jti in [Value::Null, json!("")] {
        let spec = key.proof(&app, "POST", "/auth/login").claim("jti", jti);
        let r = login_with(&app, &[&key.sign(&spec)]).await;
        assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof jti is missing");
    }
}

#[tokio::test]
async fn htm_mismatch_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    for htm in [json!("GET"), json!("post"), Value::Null] {
        let spec = key.proof(&app, "POST", "/auth/login").claim("htm", htm);
        let r = login_with(&app, &[&key.sign(&spec)]).await;
        assert_token_refusal(
            &r,
            "invalid_dpop_proof",
            "DPoP proof htm does not match the request method",
        );
    }
}

#[tokio::test]
async fn htu_mismatch_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    for htu in [
        json!(url("/auth/refresh")),
        json!("http://127.0.0.1:9999/auth/login"),
        json!("https://127.0.0.1:8080/auth/login"),
        json!("/auth/login"),
        Value::Null,
    ] {
        let spec = key
            .proof(&app, "POST", "/auth/login")
            .claim("htu", htu.clone());
        let r = login_with(&app, &[&key.sign(&spec)]).await;
        assert_token_refusal(
            &r,
            "invalid_dpop_proof",
            "DPoP proof htu does not match the request URL",
        );
    }
}

#[tokio::test]
async fn iat_too_old_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let spec = key
        .proof(&app, "POST", "/auth/login")
        .claim("iat", json!(app.clock.now_secs() - 61));
    let r = login_with(&app, &[&key.sign(&spec)]).await;
    assert_token_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof iat is too far from the server time",
    );
}

#[tokio::test]
async fn iat_too_far_ahead_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let spec = key
        .proof(&app, "POST", "/auth/login")
        .claim("iat", json!(app.clock.now_secs() + 61));
    let r = login_with(&app, &[&key.sign(&spec)]).await;
    assert_token_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof iat is too far from the server time",
    );
    let spec = key.proof(&app, "POST", "/auth/login").without("iat");
    let r = login_with(&app, &[&key.sign(&spec)]).await;
    assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof iat is missing");
}

#[tokio::test]
async fn replayed_jti_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let proof = key.sign(&key.proof(&app, "POST", "/auth/login"));
    assert_eq!(login_with(&app, &[&proof]).await.status, 200);
    app.advance(59.0);
    let r = login_with(&app, &[&proof]).await;
    assert_token_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof jti has been used before",
    );
    // The same jti in a new proof (new iat) is a replay too.
    let jti = payload(&proof)["jti"].clone();
    let again = key.proof(&app, "POST", "/auth/login").claim("jti", jti);
    let r = login_with(&app, &[&key.sign(&again)]).await;
    assert_token_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof jti has been used before",
    );
    // Once its iat is out of the window the proof is refused for that instead.
    app.advance(2.0);
    let r = login_with(&app, &[&proof]).await;
    assert_token_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof iat is too far from the server time",
    );
}

#[tokio::test]
async fn a_refused_proof_does_not_use_up_its_jti() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let spec = key.proof(&app, "POST", "/auth/login");
    let jti = spec.claims["jti"].clone();
    let bad = key.sign(
        &Spec {
            header: spec.header.clone(),
            claims: spec.claims.clone(),
        }
        .claim("htm", json!("GET")),
    );
    assert_eq!(login_with(&app, &[&bad]).await.status, 400);
    let good = key.sign(&key.proof(&app, "POST", "/auth/login").claim("jti", jti));
    assert_eq!(login_with(&app, &[&good]).await.status, 200);
}

#[tokio::test]
async fn refresh_with_another_key_is_refused_and_uses_nothing_up() {
    let app = TestApp::with(dpop_config());
    let (key, thief) = (Key::new(1), Key::new(2));
    let first = login(&app, &key).await;
    let stolen = first.str("refresh_token");
    let proof = thief.sign(&thief.proof(&app, "POST", "/auth/refresh"));
    let r = refresh_with(&app, &stolen, &[&proof]).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let description = "Refresh token is bound to another DPoP key";
    assert_eq!(
        r.json,
        json!({ "error": "invalid_grant", "error_description": description, "detail": description })
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    // Not rotated, not revoked: the owner refreshes as if nothing happened.
    let proof = key.sign(&key.proof(&app, "POST", "/auth/refresh"));
    let r = refresh_with(&app, &stolen, &[&proof]).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn refresh_without_a_proof_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let first = login(&app, &key).await;
    let r = refresh_with(&app, &first.str("refresh_token"), &[]).await;
    assert_token_refusal(&r, "invalid_dpop_proof", "DPoP proof required");
    // A proof made for login does not do for refresh.
    let proof = key.sign(&key.proof(&app, "POST", "/auth/login"));
    let r = refresh_with(&app, &first.str("refresh_token"), &[&proof]).await;
    assert_token_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof htu does not match the request URL",
    );
}

// ---------------------------------------------------------------------------------------------
// Refusals at protected routes: 401 with the DPoP challenge

#[tokio::test]
async fn missing_ath_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    assert_me_refuses(
        &app,
        &key,
        |spec, _| key.sign(&spec.without("ath")),
        "DPoP proof ath is missing",
    )
    .await;
}

#[tokio::test]
async fn incorrect_ath_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    assert_me_refuses(
        &app,
        &key,
        |spec, _| key.sign(&spec.ath("another token")),
        "DPoP proof ath does not match the access token",
    )
    .await;
}

#[tokio::test]
async fn a_bad_proof_on_a_resource_gets_the_dpop_challenge() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    assert_me_refuses(
        &app,
        &key,
        |spec, _| key.sign(&spec.claim("htm", json!("POST"))),
        "DPoP proof htm does not match the request method",
    )
    .await;
    let token = login(&app, &key).await.str("access_token");
    let r = get_with(&app, "/auth/me", ("DPoP", &token), &[]).await;
    assert_resource_refusal(&r, "invalid_dpop_proof", "DPoP proof required");
}

#[tokio::test]
async fn a_proof_by_another_key_on_a_resource_is_refused() {
    let app = TestApp::with(dpop_config());
    let (key, thief) = (Key::new(1), Key::new(2));
    let token = login(&app, &key).await.str("access_token");
    // A perfectly valid proof, by the wrong key.
    let r = get_dpop(&app, &thief, "/auth/me", &token).await;
    assert_resource_refusal(
        &r,
        "invalid_dpop_proof",
        "DPoP proof key does not match the token's cnf.jkt",
    );
}

#[tokio::test]
async fn a_bound_token_as_bearer_is_refused() {
    let app = TestApp::with(dpop_config());
    let key = Key::new(1);
    let token = login(&app, &key).await.str("access_token");
    for proofs in [
        vec![],
        vec![key.sign(&key.proof(&app, "GET", "/auth/me").ath(&token))],
    ] {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let r = get_with(&app, "/auth/me", ("Bearer", &token), &proofs).await;
        assert_resource_refusal(
            &r,
            "invalid_token",
            "DPoP-bound token must be sent as Authorization: DPoP",
        );
    }
}

#[tokio::test]
async fn unbound_tokens_from_before_dpop_keep_bearer_and_refresh_into_bound_ones() {
    // One database and secret, served first without --dpop, then with it (a restart).
    let db = Db::memory().unwrap();
    let secret = Some("0123456789abcdef0123456789abcdef");
    let clock = Clock::manual(T0_MS);
    let before = AppState::new(config(), db.clone(), secret, clock.clone()).unwrap();
    let before = TestApp {
        router: app(before.clone()),
        state: before,
        clock: clock.clone(),
    };
    let after = AppState::new(dpop_config(), db, secret, clock.clone()).unwrap();
    let after = TestApp {
        router: app(after.clone()),
        state: after,
        clock,
    };
    let old = before.login(USER).await;
    let (access, refresh) = (old.str("access_token"), old.str("refresh_token"));
    // Bearer, no proof: as without --dpop.
    let me = after.get("/auth/me", Some(&access)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    // Presented as DPoP it is refused: it is bound to nothing.
    let key = Key::new(1);
    let r = get_dpop(&after, &key, "/auth/me", &access).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.detail(),
        "Token is not DPoP-bound; send it as Authorization: Bearer"
    );
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .starts_with(r#"DPoP error="invalid_token""#));
    // Refreshed with a proof, the session gets bound to that key.
    let proof = key.sign(&key.proof(&after, "POST", "/auth/refresh"));
    let r = refresh_with(&after, &refresh, &[&proof]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["token_type"], "DPoP");
    assert_eq!(payload(&r.str("access_token"))["cnf"]["jkt"], key.jkt());
}

// ---------------------------------------------------------------------------------------------
// Nonces (--dpop-nonce)

#[tokio::test]
async fn nonce_happy_path_at_login_and_on_a_resource() {
    let app = TestApp::with(nonce_config());
    let key = Key::new(1);
    let proof = key.sign(&key.proof(&app, "POST", "/auth/login"));
    let first = login_with(&app, &[&proof]).await;
    assert_token_refusal(&first, "use_dpop_nonce", "DPoP proof nonce required");
    let nonce = first.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
    assert_eq!(nonce.len(), 32);

    let spec = key
        .proof(&app, "POST", "/auth/login")
        .claim("nonce", json!(nonce));
    let ok = login_with(&app, &[&key.sign(&spec)]).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.header("dpop-nonce"), Some(nonce.as_str()));
    let token = ok.str("access_token");

    // The resource asks in its own way: 401 and the challenge.
    let proof = key.sign(&key.proof(&app, "GET", "/auth/me").ath(&token));
    let r = get_with(&app, "/auth/me", ("DPoP", &token), &[&proof]).await;
    assert_resource_refusal(&r, "use_dpop_nonce", "DPoP proof nonce required");
    assert_eq!(r.header("dpop-nonce"), Some(nonce.as_str()));
    let spec = key
        .proof(&app, "GET", "/auth/me")
        .ath(&token)
        .claim("nonce", json!(nonce));
    let r = get_with(&app, "/auth/me", ("DPoP", &token), &[&key.sign(&spec)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("dpop-nonce"), Some(nonce.as_str()));
}

#[tokio::test]
async fn nonce_missing_is_refused() {
    let app = TestApp::with(nonce_config());
    let key = Key::new(1);
    let proof = key.sign(&key.proof(&app, "POST", "/auth/login"));
    let r = login_with(&app, &[&proof]).await;
    assert_token_refusal(&r, "use_dpop_nonce", "DPoP proof nonce required");
    assert!(r.header("dpop-nonce").is_some());
}

#[tokio::test]
async fn nonce_stale_is_refused_after_two_rotations() {
    let app = TestApp::with(nonce_config());
    let key = Key::new(1);
    let nonce = login_with(&app, &[])
        .await
        .header("dpop-nonce")
        .unwrap()
        .to_owned();
    let with_nonce = |app: &TestApp, n: &str| {
        key.sign(
            &key.proof(app, "POST", "/auth/login")
                .claim("nonce", json!(n)),
        )
    };
    // One rotation later the previous nonce is still good (a request in flight).
    app.advance(30.0);
    let r = login_with(&app, &[&with_nonce(&app, &nonce)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let current = r.header("dpop-nonce").unwrap().to_owned();
    assert_ne!(current, nonce, "rotated");
    // Two rotations later it is stale, and the reply hands out the current one.
    app.advance(30.0);
    let r = login_with(&app, &[&with_nonce(&app, &nonce)]).await;
    assert_token_refusal(&r, "use_dpop_nonce", "DPoP proof nonce is stale");
    let fresh = r.header("dpop-nonce").unwrap().to_owned();
    assert!(fresh != nonce && fresh != current);
    let r = login_with(&app, &[&with_nonce(&app, &fresh)]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Made-up nonces are stale too.
    let r = login_with(&app, &[&with_nonce(&app, "made-up")]).await;
    assert_token_refusal(&r, "use_dpop_nonce", "DPoP proof nonce is stale");
}

#[tokio::test]
async fn nonce_stale_on_a_resource_after_a_forced_rotation() {
    let app = TestApp::with(Config {
        test_mode: true,
        ..nonce_config()
    });
    let key = Key::new(1);
    let nonce = login_with(&app, &[])
        .await
        .header("dpop-nonce")
        .unwrap()
        .to_owned();
    let spec = key
        .proof(&app, "POST", "/auth/login")
        .claim("nonce", json!(nonce));
    let token = login_with(&app, &[&key.sign(&spec)])
        .await
        .str("access_token");
    let forced = app.post_empty("/__dpop-nonce", None).await;
    assert_eq!(forced.status, 200, "{}", forced.text);
    let new = forced.str("nonce");
    assert_ne!(new, nonce);
    let spec = key
        .proof(&app, "GET", "/auth/me")
        .ath(&token)
        .claim("nonce", json!(nonce));
    let r = get_with(&app, "/auth/me", ("DPoP", &token), &[&key.sign(&spec)]).await;
    assert_resource_refusal(&r, "use_dpop_nonce", "DPoP proof nonce is stale");
    assert_eq!(r.header("dpop-nonce"), Some(new.as_str()));
}

#[tokio::test]
async fn forcing_a_nonce_needs_the_flag() {
    let app = TestApp::with(Config {
        test_mode: true,
        ..dpop_config()
    });
    app.post_empty("/__dpop-nonce", None)
        .await
        .assert_error(400, "The server runs without --dpop-nonce");
}

#[tokio::test]
async fn reset_forgets_the_jtis() {
    let app = TestApp::with(Config {
        test_mode: true,
        ..dpop_config()
    });
    let key = Key::new(1);
    let proof = key.sign(&key.proof(&app, "POST", "/auth/login"));
    assert_eq!(login_with(&app, &[&proof]).await.status, 200);
    assert_eq!(app.post_empty("/__reset", None).await.status, 200);
    assert_eq!(login_with(&app, &[&proof]).await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// CORS

#[tokio::test]
async fn cors_allows_the_dpop_header_and_exposes_the_nonce() {
    let origin = "http://127.0.0.1:9000";
    let app = TestApp::with(Config {
        cors_origins: vec![origin.parse().unwrap()],
        ..nonce_config()
    });
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/auth/me")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,dpop")
        .body(Body::empty())
        .unwrap();
    let r = app.send(preflight).await;
    let allowed = r
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("dpop"), "{allowed}");
    let mut request = req(Method::POST, "/auth/login", None, &[], Some(json!({})));
    request
        .headers_mut()
        .insert(header::ORIGIN, origin.parse().unwrap());
    let r = app.send(request).await;
    let exposed = r
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("dpop-nonce") && exposed.contains("www-authenticate"),
        "{exposed}"
    );
    assert!(r.header("dpop-nonce").is_some());
}
