//! The app's options read from a [`Json`] value by hand: [`AuthClientOptions::from_json`].
//!
//! The wasm module once read the options object with serde-wasm-bindgen into the derived
//! `Deserialize` of [`AuthClientOptions`]; that instantiated serde-wasm-bindgen's typed struct
//! deserializer per option type (about 22 KB of the module). The module already turns JavaScript
//! values into [`Json`] for every other value it reads, so the options take that road too and
//! this reader, written once, decides what each option accepts. It follows the derived
//! `Deserialize` (the differential test below holds it to serde_json's answers), and says which
//! option is at fault, which serde-wasm-bindgen's messages did not.
//!
//! A `null` is "not given", as serde's `Option` reads it; for the endpoints that may be switched
//! off (`endpoints.refresh`, `.logout`, `.me`) `null` says the server has none
//! ([`Override::Disabled`]), as before. JavaScript's `undefined` reaches [`Json`] as `null`.

use crate::logic::config::{
    AuthClientOptions, EndpointOptions, LoginEncoding, LoginOptions, Override, Profile,
    RefreshOptions, RefreshVia, ResponseFieldOptions, StorageKind,
};
use crate::logic::error::{fill, AuthError};
use crate::logic::json::{Json, JsonObject};
use crate::logic::logout::LogoutCallOptions;
use crate::logic::option_names::unknown_option;

/// The `profile` names, as the derive spells them.
const PROFILES: [(&str, Profile); 6] = [
    ("standard", Profile::Standard),
    ("minimal", Profile::Minimal),
    ("v1", Profile::V1),
    ("simplejwt", Profile::Simplejwt),
    ("flask-jwt-extended", Profile::FlaskJwtExtended),
    ("fastapi-users", Profile::FastapiUsers),
];

/// The `login.encoding` names.
const ENCODINGS: [(&str, LoginEncoding); 2] =
    [("form", LoginEncoding::Form), ("json", LoginEncoding::Json)];

/// The `refresh.via` names.
const VIAS: [(&str, RefreshVia); 4] = [
    ("json", RefreshVia::Json),
    ("query", RefreshVia::Query),
    ("cookie", RefreshVia::Cookie),
    ("bearer", RefreshVia::Bearer),
];

/// The `storage` names (`custom` is set by the JavaScript driver, never given by name).
const STORAGES: [(&str, StorageKind); 3] = [
    ("local", StorageKind::Local),
    ("session", StorageKind::Session),
    ("memory", StorageKind::Memory),
];

impl AuthClientOptions {
    /// Reads the options from a JSON object (`new AuthClient(options)`'s argument, or JSON text
    /// parsed with [`crate::logic::json::from_str`]).
    ///
    /// Fails with a `config` [`AuthError`] naming the option at fault: not an object, an unknown
    /// option (a typo would otherwise be ignored), a value of the wrong type, a name that is not
    /// one of a choice's. `logout` is a list here (the JavaScript facade makes one call a list).
    /// What the values mean is checked later, by [`crate::logic::config::Config::resolve`].
    pub fn from_json(options: &Json) -> Result<Self, AuthError> {
        let Some(object) = options.as_object() else {
            return Err(AuthError::config(
                "options must be an object with a baseUrl",
            ));
        };
        if let Some((name, known)) = unknown_option(|parent| option_keys(object, parent)) {
            return Err(AuthError::config(fill(
                "unknown option `{}`, expected one of {}",
                &[&name, &quoted_list(known.iter().copied())],
            )));
        }
        let top = Fields {
            object,
            parent: None,
        };
        let base_url = match object.get("baseUrl") {
            Some(Json::String(text)) => text.clone(),
            _ => return Err(top.wrong("baseUrl", "a string")),
        };
        // Field by field into one value: an early return then drops that one value, where a
        // struct literal with a `?` per field has a cleanup path of its own for each (2 KB).
        let mut read = Self::new(base_url);
        read.profile = top.choice("profile", &PROFILES)?;
        read.endpoints = top.nested("endpoints", endpoints)?;
        read.login = top.nested("login", login)?;
        read.refresh = top.nested("refresh", refresh)?;
        read.response_fields = top.nested("responseFields", response_fields)?;
        read.storage = top.choice("storage", &STORAGES)?;
        read.storage_key = top.string("storageKey")?;
        read.auto_refresh = top.boolean("autoRefresh")?;
        read.refresh_margin_seconds = top.number("refreshMarginSeconds")?;
        read.leeway_seconds = top.number("leewaySeconds")?;
        read.role_claims = top.strings("roleClaims")?;
        read.api_origins = top.strings("apiOrigins")?;
        read.logout = logout(&top)?;
        read.error_fields = top.strings("errorFields")?;
        read.token_error_statuses = top.statuses("tokenErrorStatuses")?;
        Ok(read)
    }
}

/// The keys [`unknown_option`] checks: the top-level ones (`parent` `None`), or those of the
/// object under `parent` (of every object in it, when it is a list: `logout`).
fn option_keys(options: &JsonObject, parent: Option<&str>) -> Vec<String> {
    let own_keys = |value: &Json| -> Vec<String> {
        value
            .as_object()
            .map(|object| object.iter().map(|(key, _)| key.to_owned()).collect())
            .unwrap_or_default()
    };
    match parent {
        None => options.iter().map(|(key, _)| key.to_owned()).collect(),
        Some(name) => match options.get(name) {
            Some(Json::Array(items)) => items.iter().flat_map(own_keys).collect(),
            Some(value) => own_keys(value),
            None => Vec::new(),
        },
    }
}

fn endpoints(fields: &Fields) -> Result<EndpointOptions, AuthError> {
    Ok(EndpointOptions {
        login: fields.string("login")?,
        refresh: fields.endpoint("refresh")?,
        logout: fields.endpoint("logout")?,
        me: fields.endpoint("me")?,
    })
}

fn login(fields: &Fields) -> Result<LoginOptions, AuthError> {
    Ok(LoginOptions {
        encoding: fields.choice("encoding", &ENCODINGS)?,
        username_field: fields.string("usernameField")?,
        password_field: fields.string("passwordField")?,
    })
}

fn refresh(fields: &Fields) -> Result<RefreshOptions, AuthError> {
    Ok(RefreshOptions {
        via: fields.choice("via", &VIAS)?,
        field: fields.string("field")?,
    })
}

fn response_fields(fields: &Fields) -> Result<ResponseFieldOptions, AuthError> {
    Ok(ResponseFieldOptions {
        access_token: fields.string("accessToken")?,
        refresh_token: fields.string("refreshToken")?,
        expires_in: fields.string("expiresIn")?,
    })
}

fn logout_call(fields: &Fields) -> Result<LogoutCallOptions, AuthError> {
    Ok(LogoutCallOptions {
        endpoint: fields.string("endpoint")?,
        method: fields.string("method")?,
        bearer: fields.string("bearer")?,
        refresh_token: fields.string("refreshToken")?,
        field: fields.string("field")?,
    })
}

/// `logout`: a list of calls, each an object.
fn logout(top: &Fields) -> Result<Option<Vec<LogoutCallOptions>>, AuthError> {
    let Some(value) = top.given("logout") else {
        return Ok(None);
    };
    let calls = value
        .as_array()
        .ok_or_else(|| top.wrong("logout", "a list of objects"))?;
    calls
        .iter()
        .map(|call| {
            let object = call
                .as_object()
                .ok_or_else(|| top.wrong("logout", "a list of objects"))?;
            logout_call(&Fields {
                object,
                parent: Some("logout"),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The members of one options object, and where it sits (for the messages).
struct Fields<'a> {
    object: &'a JsonObject,
    /// The option holding this object (`endpoints`, …); `None` at the top.
    parent: Option<&'static str>,
}

/// Names for a message, each in backquotes, separated by commas: `` `a`, `b` ``.
fn quoted_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut list = String::new();
    for name in names {
        if !list.is_empty() {
            list.push_str(", ");
        }
        list.push('`');
        list.push_str(name);
        list.push('`');
    }
    list
}

impl Fields<'_> {
    /// The value of `name`; `None` when absent or `null` ("not given").
    fn given(&self, name: &str) -> Option<&Json> {
        self.object.get(name).filter(|value| !value.is_null())
    }

    /// The `config` error for `name` holding something other than `expected`.
    fn wrong(&self, name: &str, expected: &str) -> AuthError {
        let path = match self.parent {
            Some(parent) => [parent, ".", name].concat(),
            None => name.to_owned(),
        };
        AuthError::config(fill("option `{}`: expected {}", &[&path, expected]))
    }

    fn string(&self, name: &str) -> Result<Option<String>, AuthError> {
        self.given(name)
            .map(|value| {
                value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.wrong(name, "a string"))
            })
            .transpose()
    }

    /// An endpoint that may be switched off: absent keeps the preset, `null` says none.
    fn endpoint(&self, name: &str) -> Result<Override<String>, AuthError> {
        Ok(match self.object.get(name) {
            None => Override::Preset,
            Some(Json::Null) => Override::Disabled,
            Some(Json::String(text)) => Override::Set(text.clone()),
            Some(_) => return Err(self.wrong(name, "a string or null")),
        })
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, AuthError> {
        match self.given(name) {
            None => Ok(None),
            Some(Json::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(self.wrong(name, "a boolean")),
        }
    }

    /// Any number, as serde's `f64` took it (`Config::resolve` refuses the non-finite ones).
    fn number(&self, name: &str) -> Result<Option<f64>, AuthError> {
        self.given(name)
            .map(|value| value.as_f64().ok_or_else(|| self.wrong(name, "a number")))
            .transpose()
    }

    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, AuthError> {
        let Some(value) = self.given(name) else {
            return Ok(None);
        };
        value
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .map(Some)
            .ok_or_else(|| self.wrong(name, "a list of strings"))
    }

    /// HTTP statuses: whole numbers from 0 to 65535, as serde's `u16` took them.
    fn statuses(&self, name: &str) -> Result<Option<Vec<u16>>, AuthError> {
        let Some(value) = self.given(name) else {
            return Ok(None);
        };
        value
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .map(|item| item.as_u64().and_then(|n| u16::try_from(n).ok()))
                    .collect()
            })
            .map(Some)
            .ok_or_else(|| self.wrong(name, "a list of HTTP statuses (whole numbers)"))
    }

    /// One of `choices`, by name.
    fn choice<T: Copy>(&self, name: &str, choices: &[(&str, T)]) -> Result<Option<T>, AuthError> {
        let Some(value) = self.given(name) else {
            return Ok(None);
        };
        let given = value.as_str();
        match choices.iter().find(|(known, _)| Some(*known) == given) {
            Some((_, choice)) => Ok(Some(*choice)),
            None => {
                let names = quoted_list(choices.iter().map(|(known, _)| *known));
                Err(self.wrong(name, &["one of ", &names].concat()))
            }
        }
    }

    /// The nested options object `name` (`endpoints`, …), read by `read`.
    fn nested<T>(
        &self,
        name: &'static str,
        read: fn(&Fields) -> Result<T, AuthError>,
    ) -> Result<Option<T>, AuthError> {
        let Some(value) = self.given(name) else {
            return Ok(None);
        };
        let object = value
            .as_object()
            .ok_or_else(|| self.wrong(name, "an object"))?;
        read(&Fields {
            object,
            parent: Some(name),
        })
        .map(Some)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::logic::error::ErrorCode;
    use crate::logic::json;

    /// `from_json` of the JSON text.
    fn read(text: &str) -> Result<AuthClientOptions, AuthError> {
        let value: Json = json::from_str(text).unwrap_or_else(|| panic!("test JSON: {text}"));
        AuthClientOptions::from_json(&value)
    }

    /// The message of the `config` error `text` reads to.
    fn refusal(text: &str) -> String {
        match read(text) {
            Ok(options) => panic!("expected a refusal of {text}, got {options:?}"),
            Err(error) => {
                assert_eq!(error.code(), ErrorCode::Config, "{text}");
                error.to_string()
            }
        }
    }

    /// Option objects, each given with the option its refusal names (`None`: accepted). The
    /// differential test holds `from_json` to serde_json's derived `Deserialize` on each.
    const TABLE: &[(&str, Option<&str>)] = &[
        (r#"{"baseUrl": "https://h"}"#, None),
        (
            r#"{"baseUrl": "/api", "profile": "flask-jwt-extended", "storage": "session",
                "storageKey": "k", "autoRefresh": false, "refreshMarginSeconds": 12.5,
                "leewaySeconds": 3, "roleClaims": ["groups", "a.b"], "apiOrigins": [],
                "errorFields": ["msg"], "tokenErrorStatuses": [401, 422]}"#,
            None,
        ),
        (
            r#"{"baseUrl": "https://h",
                "endpoints": {"login": "/in", "refresh": null, "logout": "/out"},
                "login": {"encoding": "json", "usernameField": "email", "passwordField": null},
                "refresh": {"via": "bearer", "field": "rt"},
                "responseFields": {"accessToken": "a", "refreshToken": "r", "expiresIn": "e"},
                "logout": [{"endpoint": "/x", "method": "DELETE", "bearer": "refresh",
                            "refreshToken": "json", "field": "t"}, {}]}"#,
            None,
        ),
        // Nulls are "not given"; for the switchable endpoints, "none".
        (
            r#"{"baseUrl": "https://h", "profile": null, "endpoints": null, "login": null,
                "refresh": null, "responseFields": null, "storage": null, "storageKey": null,
                "autoRefresh": null, "refreshMarginSeconds": null, "leewaySeconds": null,
                "roleClaims": null, "apiOrigins": null, "logout": null, "errorFields": null,
                "tokenErrorStatuses": null}"#,
            None,
        ),
        (
            r#"{"baseUrl": "https://h", "endpoints": {"login": null, "refresh": null,
                "logout": null, "me": null}, "login": {"encoding": null}, "refresh": {"via": null},
                "logout": [{"endpoint": null, "method": null}]}"#,
            None,
        ),
        (r#"{"baseUrl": "https://h", "endpoints": {}}"#, None),
        (r#"{"baseUrl": "https://h", "logout": []}"#, None),
        // Numbers: seconds take any number (resolve judges them), statuses whole ones in range.
        (
            r#"{"baseUrl": "https://h", "refreshMarginSeconds": -1, "leewaySeconds": 1e300}"#,
            None,
        ),
        (r#"{"baseUrl": "https://h", "leewaySeconds": -0.5}"#, None),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [0, 65535]}"#,
            None,
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [65536]}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [-1]}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [401.5]}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [1e20]}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [18446744073709551616]}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": 401}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": [401, null]}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "tokenErrorStatuses": ["401"]}"#,
            Some("tokenErrorStatuses"),
        ),
        (
            r#"{"baseUrl": "https://h", "refreshMarginSeconds": "5"}"#,
            Some("refreshMarginSeconds"),
        ),
        (
            r#"{"baseUrl": "https://h", "leewaySeconds": true}"#,
            Some("leewaySeconds"),
        ),
        // Wrong types, at the top.
        (r#"{}"#, Some("baseUrl")),
        (r#"{"baseUrl": null}"#, Some("baseUrl")),
        (r#"{"baseUrl": 5}"#, Some("baseUrl")),
        (r#"{"baseUrl": ["https://h"]}"#, Some("baseUrl")),
        (
            r#"{"baseUrl": "https://h", "storageKey": 5}"#,
            Some("storageKey"),
        ),
        (
            r#"{"baseUrl": "https://h", "autoRefresh": "no"}"#,
            Some("autoRefresh"),
        ),
        (
            r#"{"baseUrl": "https://h", "autoRefresh": 1}"#,
            Some("autoRefresh"),
        ),
        (
            r#"{"baseUrl": "https://h", "roleClaims": "role"}"#,
            Some("roleClaims"),
        ),
        (
            r#"{"baseUrl": "https://h", "roleClaims": ["role", 5]}"#,
            Some("roleClaims"),
        ),
        (
            r#"{"baseUrl": "https://h", "apiOrigins": [null]}"#,
            Some("apiOrigins"),
        ),
        (
            r#"{"baseUrl": "https://h", "errorFields": {}}"#,
            Some("errorFields"),
        ),
        (
            r#"{"baseUrl": "https://h", "profile": "v2"}"#,
            Some("profile"),
        ),
        (r#"{"baseUrl": "https://h", "profile": 1}"#, Some("profile")),
        (
            r#"{"baseUrl": "https://h", "profile": "Minimal"}"#,
            Some("profile"),
        ),
        (
            r#"{"baseUrl": "https://h", "storage": "custom"}"#,
            Some("storage"),
        ),
        (
            r#"{"baseUrl": "https://h", "endpoints": "/login"}"#,
            Some("endpoints"),
        ),
        (
            r#"{"baseUrl": "https://h", "login": "form"}"#,
            Some("login"),
        ),
        (
            r#"{"baseUrl": "https://h", "logout": "DELETE"}"#,
            Some("logout"),
        ),
        (
            r#"{"baseUrl": "https://h", "logout": {"method": "DELETE"}}"#,
            Some("logout"),
        ),
        (
            r#"{"baseUrl": "https://h", "logout": [null]}"#,
            Some("logout"),
        ),
        (
            r#"{"baseUrl": "https://h", "logout": ["x"]}"#,
            Some("logout"),
        ),
        // Wrong types, nested.
        (
            r#"{"baseUrl": "https://h", "endpoints": {"refresh": 5}}"#,
            Some("endpoints.refresh"),
        ),
        (
            r#"{"baseUrl": "https://h", "endpoints": {"login": false}}"#,
            Some("endpoints.login"),
        ),
        (
            r#"{"baseUrl": "https://h", "endpoints": {"me": {}}}"#,
            Some("endpoints.me"),
        ),
        (
            r#"{"baseUrl": "https://h", "login": {"encoding": "xml"}}"#,
            Some("login.encoding"),
        ),
        (
            r#"{"baseUrl": "https://h", "login": {"usernameField": 1}}"#,
            Some("login.usernameField"),
        ),
        (
            r#"{"baseUrl": "https://h", "refresh": {"via": "header"}}"#,
            Some("refresh.via"),
        ),
        (
            r#"{"baseUrl": "https://h", "responseFields": {"expiresIn": []}}"#,
            Some("responseFields.expiresIn"),
        ),
        (
            r#"{"baseUrl": "https://h", "logout": [{}, {"method": 1}]}"#,
            Some("logout.method"),
        ),
        // Unknown names, at the top and nested.
        (
            r#"{"baseUrl": "https://h", "refreshMargin": 5}"#,
            Some("refreshMargin"),
        ),
        (
            r#"{"baseUrl": "https://h", "login": {"usernamefield": "email"}}"#,
            Some("login.usernamefield"),
        ),
        (
            r#"{"baseUrl": "https://h", "logout": [{}, {"metod": "DELETE"}]}"#,
            Some("logout.metod"),
        ),
    ];

    /// On every row, `from_json` and serde_json's derived `AuthClientOptions` agree on accepting
    /// and, when both accept, on the value; a refusal names the option at fault.
    #[test]
    fn from_json_agrees_with_the_derived_deserialize() {
        for (text, culprit) in TABLE {
            let ours = read(text);
            let theirs = serde_json::from_str::<AuthClientOptions>(text);
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{text}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{text}: from_json {ours:?}, serde {theirs:?}"),
            }
            match (culprit, ours) {
                (None, Ok(_)) => {}
                (Some(name), Err(error)) => {
                    let message = error.to_string();
                    assert!(message.contains(&format!("`{name}`")), "{text}: {message}");
                    assert_eq!(error.code(), ErrorCode::Config, "{text}");
                }
                (culprit, ours) => panic!("{text}: expected {culprit:?}, got {ours:?}"),
            }
        }
    }

    #[test]
    fn refusals_say_what_was_expected() {
        let cases = [
            (
                r#"{"baseUrl": "https://h", "autoRefresh": "no"}"#,
                "option `autoRefresh`: expected a boolean",
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": {"refresh": 5}}"#,
                "option `endpoints.refresh`: expected a string or null",
            ),
            (
                r#"{"baseUrl": "https://h", "profile": "v2"}"#,
                "option `profile`: expected one of `standard`, `minimal`, `v1`, `simplejwt`, \
                 `flask-jwt-extended`, `fastapi-users`",
            ),
            (
                r#"{"baseUrl": "https://h", "storage": "custom"}"#,
                "option `storage`: expected one of `local`, `session`, `memory`",
            ),
            (r#"{"baseUrl": 5}"#, "option `baseUrl`: expected a string"),
            (
                r#"{"baseUrl": "https://h", "tokenErrorStatuses": [401.5]}"#,
                "option `tokenErrorStatuses`: expected a list of HTTP statuses (whole numbers)",
            ),
            ("[]", "options must be an object with a baseUrl"),
            ("null", "options must be an object with a baseUrl"),
        ];
        for (text, expected) in cases {
            assert_eq!(refusal(text), expected, "{text}");
        }
        assert!(refusal(r#"{"baseUrl": "https://h", "refreshMargin": 5}"#)
            .starts_with("unknown option `refreshMargin`, expected one of `baseUrl`, "));
    }

    /// Where serde's derive accepts more than an options object means, `from_json` refuses: its
    /// positional (array) form of a struct, and an enum given as `{"name": null}`. A status
    /// written `401.0` is a float to serde_json but the number 401 to JavaScript, which is where
    /// the options come from: `from_json` takes it.
    #[test]
    fn serde_only_forms_are_not_options() {
        for text in [
            r#"{"baseUrl": "https://h", "endpoints": ["/login"]}"#,
            r#"{"baseUrl": "https://h", "login": []}"#,
            r#"{"baseUrl": "https://h", "profile": {"minimal": null}}"#,
        ] {
            assert!(
                serde_json::from_str::<AuthClientOptions>(text).is_ok(),
                "{text}"
            );
            refusal(text);
        }
        let text = r#"{"baseUrl": "https://h", "tokenErrorStatuses": [401.0, 4.22e2]}"#;
        assert!(serde_json::from_str::<AuthClientOptions>(text).is_err());
        assert_eq!(
            read(text).map(|options| options.token_error_statuses),
            Ok(Some(vec![401, 422]))
        );
    }
}
