//! JSON values as the core reads them: [`Json`], built by serde from whatever parsed the text.
//!
//! The core never parses or prints JSON text itself. The text goes through the platform's codec
//! (`crate::platform`): serde_json in native builds, the JavaScript engine's `JSON.parse` and
//! `JSON.stringify` in wasm, with serde-wasm-bindgen carrying the values across. Either way the
//! result is this small value type, so every rule that reads a reply, a claim or a stored
//! session is written once and tested natively.
//!
//! Why not `serde_json::Value`: it is serde_json's type, and the npm package must not contain
//! serde_json (`bench/SIZE-ANALYSIS.md`, section 10). Numbers are `f64`, as in JavaScript, which
//! is where every value the SDK reads comes from; an object keeps its first-seen key order and,
//! for a repeated key, the last value (what `JSON.parse` does).

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde::Deserialize;

/// The largest integer a JSON number (an `f64`) holds exactly: 2^53 − 1.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The number as an `i64` when it is an integer that fits one (|n| < 2^63): such a number is
/// written with digits only, as `JSON.stringify` writes it below 10^21.
fn whole(number: f64) -> Option<i64> {
    (number.fract() == 0.0 && number.abs() < 9.2e18).then_some(number as i64)
}

/// A JSON value: what a token's claims, a server's reply and a stored session are made of.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as JavaScript holds it.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object.
    Object(JsonObject),
}

/// A JSON object: its members in first-seen order, each key once.
#[derive(Debug, Clone, Default)]
pub struct JsonObject(Vec<(String, Json)>);

impl PartialEq for JsonObject {
    /// The same members, in any order: JSON objects are unordered.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The member `key`, if present (a JSON `null` is present).
    pub fn get(&self, key: &str) -> Option<&Json> {
        for (name, value) in &self.0 {
            if name == key {
                return Some(value);
            }
        }
        None
    }

    /// Whether the object has the member `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets the member `key`: a new key goes last, an existing one keeps its place.
    pub fn insert(&mut self, key: impl Into<String>, value: Json) {
        self.insert_string(key.into(), value);
    }

    /// [`Self::insert`] past the generic key: one copy in the wasm module, not one per key type.
    fn insert_string(&mut self, key: String, value: Json) {
        match self.0.iter_mut().find(|(name, _)| *name == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    /// The members as a parser hands them over. `JSON.parse` has already resolved a repeated
    /// key (the wasm build); serde_json has not, so natively a repeated key keeps its first place
    /// and takes its last value here, in O(n log n): a key-by-key check would be quadratic, and
    /// a hostile reply can hold hundreds of thousands of keys.
    fn from_members(members: Vec<(String, Json)>) -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        let members = {
            let mut members = members;
            let mut order: Vec<usize> = (0..members.len()).collect();
            order.sort_by(|&a, &b| members[a].0.cmp(&members[b].0).then(a.cmp(&b)));
            let mut repeated = vec![false; members.len()];
            let mut moves = Vec::new();
            for run in order.chunk_by(|&a, &b| members[a].0 == members[b].0) {
                if let [first, .., last] = *run {
                    moves.push((first, last));
                    run[1..].iter().for_each(|&later| repeated[later] = true);
                }
            }
            for (first, last) in moves {
                members[first].1 = std::mem::take(&mut members[last].1);
            }
            let mut index = 0;
            members.retain(|_| {
                index += 1;
                !repeated[index - 1]
            });
            members
        };
        Self(members)
    }

    /// The members, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// How many members the object has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Json {
    /// The member `key` of an object; `None` for anything else.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?.get(key)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(number) => Some(*number),
            _ => None,
        }
    }

    /// The number, if this is an integer that a JSON number holds exactly (|n| < 2^53).
    pub fn as_i64(&self) -> Option<i64> {
        // In range, the cast is exact: the integer has at most 53 significant bits.
        self.as_f64()
            .filter(|n| n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER)
            .map(|n| n as i64)
    }

    /// The number, if this is a non-negative integer held exactly.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_i64().and_then(|n| u64::try_from(n).ok())
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&JsonObject> {
        match self {
            Self::Object(object) => Some(object),
            _ => None,
        }
    }

    /// Whether this is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Self::String(_))
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The JSON text of this value, written by the platform's codec (`JSON.stringify` in wasm).
    pub fn to_json_text(&self) -> String {
        crate::platform::write_json(self)
    }
}

impl fmt::Display for Json {
    /// The JSON text of the value.
    fn fmt(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(&self.to_json_text())
    }
}

/// A number as JSON writes it: integers with digits only (`42`), anything else by the platform's
/// codec, so that formatting floats never costs the wasm module its own float printer.
pub fn number_text(number: f64) -> String {
    if let Some(integer) = whole(number) {
        let digits = crate::logic::error::decimal(integer.unsigned_abs());
        if integer < 0 {
            crate::logic::error::concat(&["-", &digits])
        } else {
            digits
        }
    } else {
        // Through the `Json` writer: no second instance of the codec's generic writer for `f64`.
        Json::Number(number).to_json_text()
    }
}

/// Parses JSON `text` into `T` with the platform's codec; `None` when the text is not JSON (by
/// serde_json's rules, in wasm too) or not a `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    crate::platform::parse_json(text)
}

impl From<&str> for Json {
    fn from(text: &str) -> Self {
        Self::String(text.to_owned())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Self {
        Self::String(text)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value as f64))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json, E> {
        Ok(Json::Number(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        Json::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Json>()? {
            members.push(member);
        }
        Ok(Json::Object(JsonObject::from_members(members)))
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Bool(value) => serializer.serialize_bool(*value),
            // Integers as integers: serde_json would write `42.0` for the f64.
            #[cfg(not(target_arch = "wasm32"))]
            Self::Number(n) => match whole(*n) {
                Some(integer) => serializer.serialize_i64(integer),
                None => serializer.serialize_f64(*n),
            },
            // In wasm the number becomes a JavaScript number, which `JSON.stringify` writes as
            // an integer when it is one; serde-wasm-bindgen refuses an `i64` beyond 2^53.
            #[cfg(target_arch = "wasm32")]
            Self::Number(n) => serializer.serialize_f64(*n),
            Self::String(text) => serializer.serialize_str(text),
            Self::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(object) => object.serialize(serializer),
        }
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn parse(text: &str) -> Json {
        from_str(text).expect("test JSON")
    }

    #[test]
    fn values_read_as_serde_json_reads_them() {
        let value = parse(r#"{"s":"x","n":1.5,"i":-3,"b":true,"z":null,"a":[1,"2"],"o":{"k":{}}}"#);
        assert_eq!(value.get("s").and_then(Json::as_str), Some("x"));
        assert_eq!(value.get("n").and_then(Json::as_f64), Some(1.5));
        assert_eq!(value.get("n").and_then(Json::as_i64), None);
        assert_eq!(value.get("i").and_then(Json::as_i64), Some(-3));
        assert_eq!(value.get("i").and_then(Json::as_u64), None);
        assert_eq!(value.get("b"), Some(&Json::Bool(true)));
        assert!(value.get("z").is_some_and(Json::is_null));
        assert_eq!(
            value.get("a").and_then(Json::as_array).map(<[_]>::len),
            Some(2)
        );
        assert!(value.get("o").and_then(|o| o.get("k")).is_some());
        assert_eq!(value.get("missing"), None);
        assert_eq!(Json::from("x").get("s"), None);
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let value = parse(r#"{"a":1,"b":2,"a":3}"#);
        let keys: Vec<&str> = value.as_object().unwrap().iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(value.get("a").and_then(Json::as_i64), Some(3));
    }

    #[test]
    fn many_keys_and_many_repeats_parse_in_linear_time() {
        // 200,000 members, every key given twice: quadratic work would take minutes.
        let mut text = String::from("{");
        for round in 0..2 {
            for key in 0..100_000 {
                text.push_str(&format!("\"k{key}\":{round},"));
            }
        }
        text.push_str("\"end\":true}");
        let started = std::time::Instant::now();
        let value = parse(&text);
        let object = value.as_object().expect("an object");
        assert_eq!(object.len(), 100_001);
        assert_eq!(object.get("k99999").and_then(Json::as_i64), Some(1));
        assert_eq!(object.iter().next().map(|(key, _)| key), Some("k0"));
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    }

    #[test]
    fn integers_beyond_2_pow_53_are_not_taken_as_exact() {
        assert_eq!(
            parse("9007199254740991").as_i64(),
            Some(9_007_199_254_740_991)
        );
        assert_eq!(parse("9007199254740992").as_i64(), None);
        assert_eq!(parse("1e300").as_u64(), None);
    }

    #[test]
    fn values_write_back_as_the_same_json() {
        let text = r#"{"s":"x\"y","n":1.5,"i":-3,"b":false,"z":null,"a":[1,"2",[]],"o":{}}"#;
        assert_eq!(parse(text).to_json_text(), text);
        assert_eq!(number_text(42.0), "42");
        assert_eq!(number_text(-0.0), "0");
        assert_eq!(number_text(1.5), "1.5");
    }
}
