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
    AuthClientOptions, LoginEncoding, Override, Profile, RefreshVia, StorageKind,
};
use crate::logic::error::{fill, AuthError};
use crate::logic::json::{Json, JsonObject};
use crate::logic::logout::LogoutCallOptions;
use crate::logic::option_names::unknown_option;

/// The `profile` names, as the derive spells them, and the profiles they name (same order).
const PROFILES: [&str; 6] = [
    "standard",
    "minimal",
    "v1",
    "simplejwt",
    "flask-jwt-extended",
    "fastapi-users",
];
const PROFILE_VALUES: [Profile; 6] = [
    Profile::Standard,
    Profile::Minimal,
    Profile::V1,
    Profile::Simplejwt,
    Profile::FlaskJwtExtended,
    Profile::FastapiUsers,
];

/// The `login.encoding` names.
const ENCODINGS: [&str; 2] = ["form", "json"];
const ENCODING_VALUES: [LoginEncoding; 2] = [LoginEncoding::Form, LoginEncoding::Json];

/// The `refresh.via` names.
const VIAS: [&str; 4] = ["json", "query", "cookie", "bearer"];
const VIA_VALUES: [RefreshVia; 4] = [
    RefreshVia::Json,
    RefreshVia::Query,
    RefreshVia::Cookie,
    RefreshVia::Bearer,
];

/// The `storage` names (`custom` is set by the JavaScript driver, never given by name).
const STORAGES: [&str; 3] = ["local", "session", "memory"];
const STORAGE_VALUES: [StorageKind; 3] = [
    StorageKind::Local,
    StorageKind::Session,
    StorageKind::Memory,
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
        if let Some((name, known)) = unknown_option(object) {
            return Err(AuthError::config(fill(
                "unknown option `{}`, expected one of {}",
                &[&name, &quoted_list(known)],
            )));
        }
        // The readers fail with a small `Wrong`, made an `AuthError` here only: moving a whole
        // `AuthError` out of every read cost a copy and a cleanup path per option.
        let mut read = Self::default();
        match read_options(object, &mut read) {
            Ok(()) => Ok(read),
            Err(wrong) => Err(wrong.error()),
        }
    }
}

/// Every option into `out`, field by field: an early return leaves `out` for the caller to drop
/// once, where a struct literal with a `?` per field has a cleanup path of its own for each.
/// Each reader writes its slot itself, so the code that replaces a value is in each reader
/// once, not at every option. `out` starts at its default and each option is read once, so the
/// lists and nested objects fill empty slots (`get_or_insert_*`: `insert` also brought the code
/// dropping a previous value, which is never there).
fn read_options(object: &JsonObject, out: &mut AuthClientOptions) -> Result<(), Wrong> {
    let top = Fields(object);
    // Required: the only option whose absence (or `null`) is refused here.
    match top.given("baseUrl") {
        Some(Json::String(base_url)) => out.base_url = base_url.clone(),
        _ => return Err(top.wrong("baseUrl", "a string")),
    }
    top.choice("profile", &PROFILES, &PROFILE_VALUES, &mut out.profile)?;
    if let Some(fields) = top.nested("endpoints")? {
        let endpoints = out.endpoints.get_or_insert_default();
        fields.string("endpoints.login", &mut endpoints.login)?;
        fields.endpoint("endpoints.refresh", &mut endpoints.refresh)?;
        fields.endpoint("endpoints.logout", &mut endpoints.logout)?;
        fields.endpoint("endpoints.me", &mut endpoints.me)?;
    }
    if let Some(fields) = top.nested("login")? {
        let login = out.login.get_or_insert_default();
        fields.choice(
            "login.encoding",
            &ENCODINGS,
            &ENCODING_VALUES,
            &mut login.encoding,
        )?;
        fields.string("login.usernameField", &mut login.username_field)?;
        fields.string("login.passwordField", &mut login.password_field)?;
    }
    if let Some(fields) = top.nested("refresh")? {
        let refresh = out.refresh.get_or_insert_default();
        fields.choice("refresh.via", &VIAS, &VIA_VALUES, &mut refresh.via)?;
        fields.string("refresh.field", &mut refresh.field)?;
    }
    if let Some(fields) = top.nested("responseFields")? {
        let names = out.response_fields.get_or_insert_default();
        fields.string("responseFields.accessToken", &mut names.access_token)?;
        fields.string("responseFields.refreshToken", &mut names.refresh_token)?;
        fields.string("responseFields.expiresIn", &mut names.expires_in)?;
    }
    top.choice("storage", &STORAGES, &STORAGE_VALUES, &mut out.storage)?;
    top.string("storageKey", &mut out.storage_key)?;
    top.boolean("autoRefresh", &mut out.auto_refresh)?;
    top.number("refreshMarginSeconds", &mut out.refresh_margin_seconds)?;
    top.number("leewaySeconds", &mut out.leeway_seconds)?;
    top.strings("roleClaims", &mut out.role_claims)?;
    top.strings("apiOrigins", &mut out.api_origins)?;
    if let Some(calls) = top.given("logout") {
        let not_calls = || top.wrong("logout", "a list of objects");
        let calls = calls.as_array().ok_or_else(not_calls)?;
        let list = out
            .logout
            .get_or_insert_with(|| Vec::with_capacity(calls.len()));
        for call in calls {
            let fields = Fields(call.as_object().ok_or_else(not_calls)?);
            list.push(LogoutCallOptions::default());
            if let Some(read) = list.last_mut() {
                fields.string("logout.endpoint", &mut read.endpoint)?;
                fields.string("logout.method", &mut read.method)?;
                fields.string("logout.bearer", &mut read.bearer)?;
                fields.string("logout.refreshToken", &mut read.refresh_token)?;
                fields.string("logout.field", &mut read.field)?;
            }
        }
    }
    top.strings("errorFields", &mut out.error_fields)?;
    top.statuses("tokenErrorStatuses", &mut out.token_error_statuses)?;
    Ok(())
}

/// Names for a message, each in backquotes, separated by commas: `` `a`, `b` ``.
fn quoted_list(names: &[&str]) -> String {
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

/// An option holding the wrong type or name: where it is, and what it should have held.
/// Small and without a destructor, so that failing reads stay cheap to pass up.
#[derive(Clone, Copy)]
struct Wrong {
    /// The option's path: `storageKey`, `endpoints.login`.
    path: &'static str,
    /// What was expected, as the message says it (`a string`, `one of `).
    expected: &'static str,
    /// For a choice: its names, listed after `expected`; empty otherwise.
    choices: &'static [&'static str],
}

impl Wrong {
    /// The `config` error: "option `path`: expected …".
    fn error(self) -> AuthError {
        let expected = crate::logic::error::concat(&[self.expected, &quoted_list(self.choices)]);
        AuthError::config(fill("option `{}`: expected {}", &[self.path, &expected]))
    }
}

/// The members of one options object. The readers take an option's whole path
/// (`endpoints.login`) and look up its last part: a message then names the path as it is
/// written, with nothing to put together.
struct Fields<'a>(&'a JsonObject);

impl Fields<'_> {
    /// The member for the option at `path` (its last part), `null` included.
    fn get(&self, path: &str) -> Option<&Json> {
        // The part after the last `.`, found by a byte loop: `rsplit_once('.')` brought the
        // reverse `char` searcher into the wasm module for this one call. A `.` is ASCII, so
        // the part starts on a character boundary.
        let mut start = path.len();
        while start > 0 && path.as_bytes().get(start - 1) != Some(&b'.') {
            start -= 1;
        }
        self.0.get(path.get(start..).unwrap_or(path))
    }

    /// The value of the option at `path`; `None` when absent or `null` ("not given").
    fn given(&self, path: &str) -> Option<&Json> {
        self.get(path).filter(|value| !value.is_null())
    }

    /// The option at `path` holds something other than `expected`.
    fn wrong(&self, path: &'static str, expected: &'static str) -> Wrong {
        Wrong {
            path,
            expected,
            choices: &[],
        }
    }

    /// The string option at `path` into `into` (left as it is when not given).
    fn string(&self, path: &'static str, into: &mut Option<String>) -> Result<(), Wrong> {
        match self.given(path) {
            None => {}
            Some(Json::String(text)) => *into = Some(text.clone()),
            Some(_) => return Err(self.wrong(path, "a string")),
        }
        Ok(())
    }

    /// An endpoint that may be switched off: absent keeps the preset, `null` says none.
    fn endpoint(&self, path: &'static str, into: &mut Override<String>) -> Result<(), Wrong> {
        *into = match self.get(path) {
            None => return Ok(()),
            Some(Json::Null) => Override::Disabled,
            Some(Json::String(text)) => Override::Set(text.clone()),
            Some(_) => return Err(self.wrong(path, "a string or null")),
        };
        Ok(())
    }

    fn boolean(&self, path: &'static str, into: &mut Option<bool>) -> Result<(), Wrong> {
        match self.given(path) {
            None => {}
            Some(Json::Bool(value)) => *into = Some(*value),
            Some(_) => return Err(self.wrong(path, "a boolean")),
        }
        Ok(())
    }

    /// Any number, as serde's `f64` took it (`Config::resolve` refuses the non-finite ones).
    fn number(&self, path: &'static str, into: &mut Option<f64>) -> Result<(), Wrong> {
        match self.given(path) {
            None => {}
            Some(Json::Number(number)) => *into = Some(*number),
            Some(_) => return Err(self.wrong(path, "a number")),
        }
        Ok(())
    }

    fn strings(&self, path: &'static str, into: &mut Option<Vec<String>>) -> Result<(), Wrong> {
        let Some(value) = self.given(path) else {
            return Ok(());
        };
        let wrong = || self.wrong(path, "a list of strings");
        let items = value.as_array().ok_or_else(wrong)?;
        let list = into.get_or_insert_with(|| Vec::with_capacity(items.len()));
        for item in items {
            list.push(item.as_str().ok_or_else(wrong)?.to_owned());
        }
        Ok(())
    }

    /// HTTP statuses: whole numbers from 0 to 65535, as serde's `u16` took them.
    fn statuses(&self, path: &'static str, into: &mut Option<Vec<u16>>) -> Result<(), Wrong> {
        let Some(value) = self.given(path) else {
            return Ok(());
        };
        let wrong = || self.wrong(path, "a list of HTTP statuses (whole numbers)");
        let items = value.as_array().ok_or_else(wrong)?;
        let list = into.get_or_insert_with(|| Vec::with_capacity(items.len()));
        for item in items {
            let status = item.as_u64().and_then(|n| u16::try_from(n).ok());
            list.push(status.ok_or_else(wrong)?);
        }
        Ok(())
    }

    /// The option at `path`: one of `names`, read as the value at the same place in `values`.
    fn choice<T: Copy, const N: usize>(
        &self,
        path: &'static str,
        names: &'static [&'static str; N],
        values: &[T; N],
        into: &mut Option<T>,
    ) -> Result<(), Wrong> {
        if let Some(index) = self.choice_index(path, names)? {
            *into = values.get(index).copied();
        }
        Ok(())
    }

    /// Where the name given for the option at `path` is in `names` (the part of
    /// [`Self::choice`] that does not depend on the value type, so it is in the package once).
    fn choice_index(
        &self,
        path: &'static str,
        names: &'static [&'static str],
    ) -> Result<Option<usize>, Wrong> {
        let Some(value) = self.given(path) else {
            return Ok(None);
        };
        let given = value.as_str();
        match names.iter().position(|known| Some(*known) == given) {
            Some(index) => Ok(Some(index)),
            None => Err(Wrong {
                choices: names,
                ..self.wrong(path, "one of ")
            }),
        }
    }

    /// The nested options object at `path` (`endpoints`, …), if given.
    fn nested(&self, path: &'static str) -> Result<Option<Fields<'_>>, Wrong> {
        let Some(value) = self.given(path) else {
            return Ok(None);
        };
        match value.as_object() {
            Some(object) => Ok(Some(Fields(object))),
            None => Err(self.wrong(path, "an object")),
        }
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

    /// Each choice's names and values line up: serde's derive reads every name as the value at
    /// its place (the reader maps a name to a value by position).
    #[test]
    fn choice_names_read_as_serde_reads_them() {
        fn check<T>(names: &[&str], values: &[T])
        where
            T: for<'de> serde::Deserialize<'de> + PartialEq + std::fmt::Debug,
        {
            assert_eq!(names.len(), values.len());
            for (name, value) in names.iter().zip(values) {
                let read: T = serde_json::from_str(&format!("\"{name}\"")).expect(name);
                assert_eq!(&read, value, "{name}");
            }
        }
        check(&PROFILES, &PROFILE_VALUES);
        check(&ENCODINGS, &ENCODING_VALUES);
        check(&VIAS, &VIA_VALUES);
        check(&STORAGES, &STORAGE_VALUES);
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
