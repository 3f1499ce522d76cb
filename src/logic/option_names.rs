//! The option names [`AuthClientOptions`] reads, taken from serde itself, for readers that do
//! not go through its derived `Deserialize`.
//!
//! `#[serde(deny_unknown_fields)]` refuses a typo such as `refreshMargin` when serde_json reads
//! the options; the hand-written reader the wasm module uses (`AuthClientOptions::from_json`)
//! asks [`unknown_option`] instead, so a typo is never ignored silently. The names come from the
//! derive (what it passes to `deserialize_struct`), so they cannot drift from the structs.

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::logic::config::{
    AuthClientOptions, EndpointOptions, LoginOptions, RefreshOptions, ResponseFieldOptions,
};
use crate::logic::logout::LogoutCallOptions;

/// The first key that the options do not have, as `"name"` or `"parent.name"`, with the names
/// that were possible there. `keys(None)` lists the top-level keys given; `keys(Some(name))` the
/// keys of the nested object given under `name` (empty when it is not an object).
pub fn unknown_option(
    keys: impl Fn(Option<&str>) -> Vec<String>,
) -> Option<(String, &'static [&'static str])> {
    let top = struct_fields::<AuthClientOptions>();
    for key in keys(None) {
        let Some(&name) = top.iter().find(|&&name| name == key) else {
            return Some((key, top));
        };
        let Some(nested) = nested_fields(name) else {
            continue;
        };
        if let Some(inner) = keys(Some(name))
            .into_iter()
            .find(|inner| !nested.contains(&inner.as_str()))
        {
            return Some(([name, ".", &inner].concat(), nested));
        }
    }
    None
}

/// The fields of the option objects nested under `name` (`endpoints`, `login`, `refresh`,
/// `responseFields`, and `logout`, an object or a list of them); `None` for options that are
/// not objects.
fn nested_fields(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "endpoints" => struct_fields::<EndpointOptions>(),
        "login" => struct_fields::<LoginOptions>(),
        "refresh" => struct_fields::<RefreshOptions>(),
        "responseFields" => struct_fields::<ResponseFieldOptions>(),
        "logout" => struct_fields::<LogoutCallOptions>(),
        _ => return None,
    })
}

/// The field names (as serialized) that `T`'s derived `Deserialize` asks its deserializer for.
fn struct_fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(Fields(fields)) => fields,
        Ok(_) => &[],
    }
}

/// A deserializer that answers every request with an error, except that the error of
/// `deserialize_struct` carries the field names it was given.
struct FieldNames;

/// The "error" that carries the field names out of [`FieldNames`].
#[derive(Debug)]
struct Fields(&'static [&'static str]);

impl std::fmt::Display for Fields {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("field names")
    }
}

impl std::error::Error for Fields {}

impl de::Error for Fields {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Fields(&[])
    }
}

impl<'de> Deserializer<'de> for FieldNames {
    type Error = Fields;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
        Err(Fields(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Fields> {
        Err(Fields(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `keys` for [`unknown_option`] from a JSON object, as the facade reads a JS object (the
    /// keys of every object of a nested list).
    fn keys_of(json: &str) -> impl Fn(Option<&str>) -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(json).expect("test JSON");
        let own_keys = |object: Option<&serde_json::Value>| -> Vec<String> {
            object
                .and_then(serde_json::Value::as_object)
                .map(|object| object.keys().cloned().collect())
                .unwrap_or_default()
        };
        move |parent| match parent {
            None => own_keys(Some(&value)),
            Some(name) => match value.get(name) {
                Some(serde_json::Value::Array(items)) => {
                    items.iter().flat_map(|item| own_keys(Some(item))).collect()
                }
                nested => own_keys(nested),
            },
        }
    }

    #[test]
    fn the_names_are_the_ones_serde_json_accepts() {
        // Every name reported known is one serde_json takes with deny_unknown_fields; the
        // camelCase renaming included.
        let top = struct_fields::<AuthClientOptions>();
        assert!(top.contains(&"baseUrl") && top.contains(&"refreshMarginSeconds"));
        assert_eq!(top.len(), 16, "{top:?}");
        for name in top {
            let value = match *name {
                "baseUrl" => continue,
                "storageKey" => r#""key""#,
                "profile" => r#""minimal""#,
                "storage" => r#""memory""#,
                "autoRefresh" => "true",
                "refreshMarginSeconds" | "leewaySeconds" => "5",
                "roleClaims" | "apiOrigins" => "[]",
                "errorFields" => r#"["msg"]"#,
                "logout" => "[{}]",
                "tokenErrorStatuses" => "[401, 422]",
                _ => "{}",
            };
            let json = format!(r#"{{"baseUrl": "https://h", "{name}": {value}}}"#);
            serde_json::from_str::<AuthClientOptions>(&json)
                .unwrap_or_else(|error| panic!("{json}: {error}"));
        }
        assert_eq!(
            nested_fields("login"),
            Some(&["encoding", "usernameField", "passwordField"][..])
        );
        assert_eq!(nested_fields("baseUrl"), None);
    }

    #[test]
    fn typos_are_found_at_the_top_and_inside_nested_options() {
        let cases = [
            (
                r#"{"baseUrl": "https://h", "refreshMargin": 5}"#,
                Some("refreshMargin"),
            ),
            (
                r#"{"baseUrl": "https://h", "login": {"usernamefield": "email"}}"#,
                Some("login.usernamefield"),
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": {"logout": null, "me": "/me", "x": 1}}"#,
                Some("endpoints.x"),
            ),
            (
                r#"{"baseUrl": "https://h", "responseFields": {"access_token": "t"}}"#,
                Some("responseFields.access_token"),
            ),
            (
                r#"{"baseUrl": "https://h", "refresh": {"via": "query", "field": "rt"}, "login": {"encoding": "json"}}"#,
                None,
            ),
            (
                r#"{"baseUrl": "https://h", "endpoints": null, "login": "form"}"#,
                None,
            ),
            (
                r#"{"baseUrl": "https://h", "logout": [{"metod": "DELETE"}]}"#,
                Some("logout.metod"),
            ),
            (
                r#"{"baseUrl": "https://h", "logout": [{"method": "DELETE"}, {"bearer": "refresh", "feild": "x"}]}"#,
                Some("logout.feild"),
            ),
            (
                r#"{"baseUrl": "https://h", "logout": [{"method": "DELETE"}, {"bearer": "refresh"}]}"#,
                None,
            ),
            (r#"{"baseUrl": "https://h"}"#, None),
        ];
        for (json, expected) in cases {
            let found = unknown_option(keys_of(json));
            assert_eq!(
                found.as_ref().map(|(name, _)| name.as_str()),
                expected,
                "{json}"
            );
            // Whatever is reported unknown, serde_json refuses too.
            if expected.is_some() {
                assert!(
                    serde_json::from_str::<AuthClientOptions>(json).is_err(),
                    "{json}"
                );
            }
        }
    }
}
