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
use crate::logic::json::{Json, JsonObject};
use crate::logic::logout::LogoutCallOptions;

/// The first key that the options do not have, as `"name"` or `"parent.name"`, with the names
/// that were possible there. Nested objects are checked too: the one under `endpoints`, `login`,
/// …, and each object of the `logout` list.
///
/// It walks the object in place: collecting the keys into lists first cost the package a
/// `Vec<String>` per level and the iterator adapters to fill them.
pub fn unknown_option(options: &JsonObject) -> Option<(String, &'static [&'static str])> {
    let top = struct_fields::<AuthClientOptions>();
    for (key, value) in options.iter() {
        if !top.contains(&key) {
            return Some((key.to_owned(), top));
        }
        let Some(nested) = nested_fields(key) else {
            continue;
        };
        // One object, or a list of them (`logout`); anything else has no keys to check (its
        // type is refused later, by the reader).
        let objects = match value {
            Json::Array(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        // Plain loops: `filter_map` and `find` each brought an adapter's code into the package.
        for object in objects {
            let Some(object) = object.as_object() else {
                continue;
            };
            for (inner, _) in object.iter() {
                if !nested.contains(&inner) {
                    return Some((crate::logic::error::concat(&[key, ".", inner]), nested));
                }
            }
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

    /// [`unknown_option`] of the options in the JSON text.
    fn unknown_in(text: &str) -> Option<(String, &'static [&'static str])> {
        let value: Json = crate::logic::json::from_str(text).expect("test JSON");
        unknown_option(value.as_object().expect("an object"))
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
            let found = unknown_in(json);
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
