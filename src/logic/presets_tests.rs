//! The Python auth libraries' presets (`simplejwt`, `flask-jwt-extended`, `fastapi-users`) and
//! the options they are made of: bearer refresh, logout calls, error fields, token statuses.
//! The replies are the ones the real libraries give (`tests/backends/README.md`); the browser
//! e2e suite runs the same presets against those libraries.

use crate::logic::config::tests::{config_error, resolve_json};
use crate::logic::config::{Config, LoginEncoding, Profile, RefreshVia};
use crate::logic::error::ErrorCode;
use crate::logic::logout::{LogoutBearer, LogoutMethod};
use crate::logic::protocol::{self, Endpoint, HttpReply, HttpRequest, Method};
use crate::logic::time::Timestamp;

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

fn config(json: &str) -> Config {
    resolve_json(json).unwrap_or_else(|err| panic!("{json}: {err}"))
}

fn preset(profile: &str) -> Config {
    config(&format!(
        r#"{{"baseUrl": "http://127.0.0.1:8000", "profile": "{profile}"}}"#
    ))
}

/// Method, URL, Authorization header and body of each request, for compact assertions.
fn shapes(requests: &[HttpRequest]) -> Vec<(Method, String, Option<String>, Option<String>)> {
    requests
        .iter()
        .map(|r| {
            (
                r.method,
                r.url.clone(),
                r.header("Authorization").map(str::to_owned),
                r.body_text(),
            )
        })
        .collect()
}

fn reply(status: u16, body: &str) -> HttpReply {
    HttpReply::json(status, body)
}

#[test]
fn the_library_presets_follow_their_docs() {
    let simplejwt = preset("simplejwt");
    assert_eq!(simplejwt.profile(), Profile::Simplejwt);
    let endpoints = simplejwt.endpoints();
    assert_eq!(endpoints.login, "http://127.0.0.1:8000/api/token/");
    assert_eq!(
        endpoints.refresh.as_deref(),
        Some("http://127.0.0.1:8000/api/token/refresh/")
    );
    assert_eq!(
        endpoints.logout.as_deref(),
        Some("http://127.0.0.1:8000/api/token/blacklist/")
    );
    assert_eq!(
        endpoints.me, None,
        "simplejwt has no user endpoint: the app names its own"
    );
    assert_eq!(simplejwt.login().encoding, LoginEncoding::Json);
    assert_eq!(simplejwt.login().username_field, "username");
    assert_eq!(
        (simplejwt.refresh().via, simplejwt.refresh().field.as_str()),
        (RefreshVia::Json, "refresh")
    );
    let fields = simplejwt.response_fields();
    assert_eq!(
        (fields.access_token.as_str(), fields.refresh_token.as_str()),
        ("access", "refresh")
    );
    assert_eq!(simplejwt.errors().fields, ["messages[].message", "detail"]);
    assert_eq!(simplejwt.errors().token_statuses, [401]);

    let flask = preset("flask-jwt-extended");
    assert_eq!(flask.profile(), Profile::FlaskJwtExtended);
    assert_eq!(flask.endpoints().login, "http://127.0.0.1:8000/login");
    assert_eq!(
        flask.endpoints().refresh.as_deref(),
        Some("http://127.0.0.1:8000/refresh")
    );
    assert_eq!(flask.login().encoding, LoginEncoding::Json);
    assert_eq!(flask.refresh().via, RefreshVia::Bearer);
    assert_eq!(flask.response_fields().access_token, "access_token");
    assert_eq!(flask.errors().fields, ["msg"]);
    assert_eq!(flask.errors().token_statuses, [401, 422]);
    let calls: Vec<_> = flask
        .logout_calls()
        .iter()
        .map(|c| (c.method, c.bearer))
        .collect();
    assert_eq!(
        calls,
        [
            (LogoutMethod::Delete, LogoutBearer::Access),
            (LogoutMethod::Delete, LogoutBearer::Refresh)
        ]
    );

    let users = preset("fastapi-users");
    assert_eq!(users.profile(), Profile::FastapiUsers);
    assert_eq!(
        users.endpoints().login,
        "http://127.0.0.1:8000/auth/jwt/login"
    );
    assert_eq!(
        users.endpoints().refresh,
        None,
        "fastapi-users has no refresh"
    );
    assert_eq!(
        users.endpoints().me.as_deref(),
        Some("http://127.0.0.1:8000/users/me")
    );
    assert_eq!(users.login().encoding, LoginEncoding::Form);
    assert_eq!(
        users.errors().fields,
        ["detail", "error_description", "message", "error"]
    );
}

#[test]
fn each_preset_logs_out_as_its_library_revokes() {
    let simplejwt = protocol::logout_requests(&preset("simplejwt"), "acc", Some("ref"), false);
    assert_eq!(
        shapes(&simplejwt),
        [(
            Method::Post,
            "http://127.0.0.1:8000/api/token/blacklist/".to_owned(),
            None,
            Some(r#"{"refresh":"ref"}"#.to_owned())
        )]
    );
    let flask = protocol::logout_requests(&preset("flask-jwt-extended"), "acc", Some("ref"), false);
    let url = "http://127.0.0.1:8000/logout".to_owned();
    assert_eq!(
        shapes(&flask),
        [
            (
                Method::Delete,
                url.clone(),
                Some("Bearer acc".to_owned()),
                None
            ),
            (Method::Delete, url, Some("Bearer ref".to_owned()), None),
        ]
    );
    let users = protocol::logout_requests(&preset("fastapi-users"), "acc", Some("ref"), false);
    assert_eq!(
        shapes(&users),
        [(
            Method::Post,
            "http://127.0.0.1:8000/auth/jwt/logout".to_owned(),
            Some("Bearer acc".to_owned()),
            None
        )]
    );
    // A session without a refresh token skips the calls that need one.
    let flask_without =
        protocol::logout_requests(&preset("flask-jwt-extended"), "acc", None, false);
    assert_eq!(flask_without.len(), 1);
    assert!(protocol::logout_requests(&preset("simplejwt"), "acc", None, false).is_empty());
    // Replaced sessions are logged out the same way, never with cookies.
    let replaced =
        protocol::logout_replaced_requests(&preset("flask-jwt-extended"), "a", Some("r"), false);
    assert_eq!(replaced.len(), 2);
    assert!(replaced
        .iter()
        .all(|r| r.credentials == protocol::Credentials::Omit));
}

#[test]
fn logout_calls_are_options_a_user_can_guess() {
    let custom = config(
        r#"{"baseUrl": "https://h", "logout": [
            {"endpoint": "/revoke", "bearer": "none", "refreshToken": "form", "field": "token"},
            {"method": "DELETE"}
        ]}"#,
    );
    assert_eq!(
        shapes(&protocol::logout_requests(
            &custom,
            "acc",
            Some("ref"),
            false
        )),
        [
            (
                Method::Post,
                "https://h/revoke".to_owned(),
                None,
                Some("token=ref".to_owned())
            ),
            (
                Method::Delete,
                "https://h/auth/logout".to_owned(),
                Some("Bearer acc".to_owned()),
                None
            ),
        ]
    );
    // The refresh token's JSON field defaults. (JavaScript may also give one call as an object:
    // the facade makes it a list; tests/e2e/backends.test.mjs passes one so.)
    let one = config(r#"{"baseUrl": "https://h", "logout": [{"refreshToken": "json"}]}"#);
    assert_eq!(
        shapes(&protocol::logout_requests(&one, "acc", Some("ref"), false)),
        [(
            Method::Post,
            "https://h/auth/logout".to_owned(),
            Some("Bearer acc".to_owned()),
            Some(r#"{"refresh_token":"ref"}"#.to_owned())
        )]
    );
    // An empty list means no server logout, like `endpoints.logout: null`.
    let none = config(r#"{"baseUrl": "https://h", "logout": []}"#);
    assert!(protocol::logout_requests(&none, "acc", Some("ref"), false).is_empty());
    // In cookie mode the standard logout stays; the simplejwt blacklist call cannot be made.
    let cookie =
        config(r#"{"baseUrl": "https://h", "profile": "simplejwt", "refresh": {"via": "cookie"}}"#);
    assert!(cookie.logout_calls().is_empty());
}

#[test]
fn impossible_logout_and_error_options_are_refused_with_the_reason() {
    let cases = [
        (
            r#"{"baseUrl": "https://h", "endpoints": {"logout": null}, "logout": [{"method": "DELETE"}]}"#,
            "needs an endpoint",
        ),
        (
            r#"{"baseUrl": "https://h", "logout": [{"field": "refresh"}]}"#,
            "set logout.refreshToken",
        ),
        (
            r#"{"baseUrl": "https://h", "logout": [{"bearer": "none"}]}"#,
            "must send the refresh token",
        ),
        (
            r#"{"baseUrl": "https://h", "refresh": {"via": "cookie"}, "logout": [{"bearer": "refresh"}]}"#,
            "HttpOnly cookie",
        ),
        (
            r#"{"baseUrl": "https://h", "refresh": {"via": "cookie"}, "logout": [{"refreshToken": "json"}]}"#,
            "HttpOnly cookie",
        ),
        (
            r#"{"baseUrl": "https://h", "logout": [{"endpoint": "ftp://x/y"}]}"#,
            "logout.endpoint",
        ),
        (
            r#"{"baseUrl": "https://h", "errorFields": []}"#,
            "errorFields",
        ),
        (
            r#"{"baseUrl": "https://h", "errorFields": ["msg", " "]}"#,
            "errorFields",
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [422]}"#,
            "must include 401",
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [401, 500]}"#,
            "4xx",
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [401, 429]}"#,
            "429",
        ),
    ];
    for (json, says) in cases {
        let message = config_error(json);
        assert!(message.contains(says), "{json}: {message}");
    }
    for json in [
        r#"{"baseUrl": "https://h", "logout": "DELETE"}"#,
        r#"{"baseUrl": "https://h", "logout": [{"method": 1}]}"#,
        r#"{"baseUrl": "https://h", "refresh": {"via": "header"}}"#,
        r#"{"baseUrl": "https://h", "profile": "flask"}"#,
    ] {
        config_error(json);
    }
}

#[test]
fn bearer_refresh_sends_the_refresh_token_as_the_authorization() {
    let flask = preset("flask-jwt-extended");
    let request = protocol::refresh_request(&flask, Some("ref")).expect("refreshes");
    assert_eq!(
        shapes(&[request]),
        [(
            Method::Post,
            "http://127.0.0.1:8000/refresh".to_owned(),
            Some("Bearer ref".to_owned()),
            None
        )]
    );
    assert_eq!(protocol::refresh_request(&flask, None), None);
    assert!(!protocol::can_refresh(&flask, None));
}

/// The replies of the real libraries (tests/backends/README.md) and the codes they map to.
#[test]
fn the_libraries_errors_map_to_our_codes() {
    use Endpoint::{Login, Me, Refresh};
    use ErrorCode::*;
    let simplejwt_expired = r#"{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is expired"}]}"#;
    // Profile, endpoint, status, body, the code, the detail kept.
    type Case<'a> = (&'a str, Endpoint, u16, &'a str, ErrorCode, Option<&'a str>);
    let cases: [Case; 17] = [
        (
            "simplejwt",
            Login,
            401,
            r#"{"detail":"No active account found with the given credentials"}"#,
            InvalidCredentials,
            Some("No active account found with the given credentials"),
        ),
        (
            "simplejwt",
            Me,
            401,
            simplejwt_expired,
            TokenExpired,
            Some("Token is expired"),
        ),
        (
            "simplejwt",
            Me,
            401,
            r#"{"detail":"User is inactive","code":"user_inactive"}"#,
            AccountDisabled,
            Some("User is inactive"),
        ),
        (
            "simplejwt",
            Me,
            401,
            r#"{"detail":"Authentication credentials were not provided."}"#,
            NotAuthenticated,
            Some("Authentication credentials were not provided."),
        ),
        (
            "simplejwt",
            Refresh,
            401,
            r#"{"detail":"Token is blacklisted","code":"token_not_valid"}"#,
            RefreshFailed,
            Some("Token is blacklisted"),
        ),
        (
            "simplejwt",
            Endpoint::Logout,
            401,
            r#"{"detail":"Token is blacklisted","code":"token_not_valid"}"#,
            TokenRevoked,
            Some("Token is blacklisted"),
        ),
        (
            "flask-jwt-extended",
            Login,
            401,
            "{\"msg\":\"Bad username or password\"}\n",
            InvalidCredentials,
            Some("Bad username or password"),
        ),
        (
            "flask-jwt-extended",
            Me,
            401,
            "{\"msg\":\"Token has expired\"}\n",
            TokenExpired,
            Some("Token has expired"),
        ),
        (
            "flask-jwt-extended",
            Me,
            401,
            "{\"msg\":\"Token has been revoked\"}\n",
            TokenRevoked,
            Some("Token has been revoked"),
        ),
        (
            "flask-jwt-extended",
            Me,
            422,
            "{\"msg\":\"Signature verification failed\"}\n",
            NotAuthenticated,
            Some("Signature verification failed"),
        ),
        (
            "flask-jwt-extended",
            Me,
            422,
            "{\"msg\":\"Not enough segments\"}\n",
            NotAuthenticated,
            Some("Not enough segments"),
        ),
        (
            "flask-jwt-extended",
            Refresh,
            422,
            "{\"msg\":\"Only refresh tokens are allowed\"}\n",
            RefreshFailed,
            Some("Only refresh tokens are allowed"),
        ),
        (
            "flask-jwt-extended",
            Refresh,
            401,
            "{\"msg\":\"Token has been revoked\"}\n",
            RefreshFailed,
            Some("Token has been revoked"),
        ),
        (
            "fastapi-users",
            Login,
            400,
            r#"{"detail":"LOGIN_BAD_CREDENTIALS"}"#,
            InvalidCredentials,
            Some("LOGIN_BAD_CREDENTIALS"),
        ),
        (
            "fastapi-users",
            Me,
            401,
            r#"{"detail":"Unauthorized"}"#,
            NotAuthenticated,
            Some("Unauthorized"),
        ),
        // Our own shapes keep their table: 422 is a malformed request there, not a token.
        (
            "standard",
            Me,
            422,
            r#"{"detail":[{"loc":["body","username"],"msg":"field required"}]}"#,
            Protocol,
            Some("body.username: field required"),
        ),
        (
            "standard",
            Me,
            401,
            r#"{"detail":"Token has been revoked","msg":"ignored"}"#,
            TokenRevoked,
            Some("Token has been revoked"),
        ),
    ];
    for (profile, endpoint, status, body, code, detail) in cases {
        let config = preset(profile);
        let error = protocol::error_for_with(endpoint, &reply(status, body), config.errors(), NOW);
        assert_eq!(error.code(), code, "{profile} {endpoint:?} {status} {body}");
        assert_eq!(error.status(), Some(status), "the real status is kept");
        assert_eq!(error.detail(), detail, "{profile} {body}");
    }
    // Every element of a list path counts, in order.
    let config = config(r#"{"baseUrl": "https://h", "errorFields": ["errors[].detail", "msg"]}"#);
    let body =
        r#"{"errors":[{"detail":"first"},{"detail":""},{"x":1},{"detail":"second"}],"msg":"m"}"#;
    let error = protocol::error_for_with(Me, &reply(401, body), config.errors(), NOW);
    assert_eq!(error.detail(), Some("first; second"));
    let fallback =
        protocol::error_for_with(Me, &reply(401, r#"{"msg":"m"}"#), config.errors(), NOW);
    assert_eq!(fallback.detail(), Some("m"));
}
