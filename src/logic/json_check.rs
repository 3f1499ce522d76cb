//! A strict JSON syntax check that accepts exactly the texts serde_json parses into a `Value`.
//!
//! The wasm module parses JSON with the JS engine's `JSON.parse`, which is laxer than serde_json
//! (the parser the crate's rules were written and tested against): it turns `1e400` into
//! `Infinity`, nests without limit, keeps lone UTF-16 surrogates from `\ud800`, and silently drops
//! the value of a repeated key, whatever that value held. Running this check first keeps
//! serde_json's accept/refuse answer on every input without shipping serde_json: the grammar of
//! RFC 8259, serde_json's recursion limit, its `\u` surrogate rules for strings, and its own
//! overflow test for numbers (serde_json 1.0.154 without `float_roundtrip` or
//! `arbitrary_precision`, the crate's configuration).
//!
//! No float is parsed or formatted here (that code is what the wasm is rid of), nothing recurses
//! (hostile nesting cannot exhaust the wasm stack), nothing allocates, and time is linear.

/// Containers serde_json opens before refusing: its `remaining_depth` starts at 128 and the open
/// that brings it to 0 fails, so 127 nested arrays or objects pass and the 128th does not.
const MAX_DEPTH: u8 = 128;

/// `10^289 ..= 10^308`, the powers of ten for which serde_json's overflow test can fail.
///
/// serde_json (without `float_roundtrip`) computes a number as `significand as f64 * 10^e` and
/// refuses it when that product is infinite. The significand is a `u64`, so at most 2^64
/// (≈ 1.8e19): up to `e = 288` the product stays below 1.9e307, never infinite; from 289 on it
/// can reach `f64::MAX` (≈ 1.8e308) and the multiplication must be done to know; past 308 (no
/// entry in serde_json's table) every nonzero significand is refused. Negative exponents only
/// divide and are never refused. Literals, converted at compile time exactly as serde_json's own
/// `POW10` table is.
const POW10_FROM_289: [f64; 20] = [
    1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, //
    1e299, 1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308,
];

/// Whether serde_json would parse `text` into a `serde_json::Value` (same accept/refuse on every
/// input).
///
/// Only the wasm build calls it (before `JSON.parse`, in `crate::platform`); native builds parse
/// with serde_json itself, and test this against it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn is_strict_json(text: &str) -> bool {
    walk(text, None).is_some()
}

/// For a `text` that [`is_strict_json`] accepts and whose root is an object: whether some key of
/// the root object (not of nested ones) that is in `names` occurs more than once. Keys are compared
/// after resolving escapes (`"\u0061lg"` is `alg`). False for any other root, and for a text that
/// is not strict JSON.
///
/// One pass over `text` per name: the callers ask about a handful of names in a short header,
/// and this needs no memory for the names already seen.
pub fn root_repeats_any(text: &str, names: &[&str]) -> bool {
    names
        .iter()
        .any(|name| walk(text, Some(name)).is_some_and(|count| count > 1))
}

/// Checks `text` as serde_json would, counting the root object keys that mean `name` (0 without
/// a name). `None` where serde_json returns an error. Not generic (a name, not a callback): one
/// copy serves both callers in the wasm module.
///
/// A loop with an explicit stack rather than recursion: the open containers fit in one `u128`
/// (one bit each, set for an object), since the depth limit stops at 127.
fn walk(text: &str, name: Option<&str>) -> Option<usize> {
    let mut s = Scanner {
        bytes: text.as_bytes(),
        at: 0,
    };
    let mut objects: u128 = 0; // bit 0: the innermost open container is an object
    let mut depth: u8 = 0;
    let mut count = 0;
    loop {
        // A value is expected.
        match s.skip_whitespace()? {
            open @ (b'[' | b'{') => {
                depth += 1;
                if depth == MAX_DEPTH {
                    return None;
                }
                s.at += 1;
                objects = objects << 1 | u128::from(open == b'{');
                let close = if open == b'{' { b'}' } else { b']' };
                if s.skip_whitespace()? != close {
                    if open == b'{' {
                        s.key(depth, name, &mut count)?;
                    }
                    continue;
                }
                // An empty container is closed by the loop below, like a finished one.
            }
            b'"' => s.string().map(|_| ())?,
            b't' => s.literal(b"true")?,
            b'f' => s.literal(b"false")?,
            b'n' => s.literal(b"null")?,
            _ => s.number()?,
        }
        // A value has ended: close containers until a comma, or the text ends.
        loop {
            if depth == 0 {
                // Only whitespace may follow the root value.
                return s.skip_whitespace().is_none().then_some(count);
            }
            let in_object = objects & 1 == 1;
            let close = if in_object { b'}' } else { b']' };
            match s.skip_whitespace()? {
                b',' => {
                    s.at += 1;
                    if in_object {
                        s.key(depth, name, &mut count)?;
                    }
                    break;
                }
                c if c == close => {
                    s.at += 1;
                    depth -= 1;
                    objects >>= 1;
                }
                _ => return None,
            }
        }
    }
}

/// A position in the text. Every read is bounds-checked (`get`), so no input can panic.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    /// Consumes `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    /// Consumes a decimal digit if one comes next.
    fn digit(&mut self) -> Option<u8> {
        let digit = self.peek()?.wrapping_sub(b'0');
        (digit < 10).then(|| {
            self.at += 1;
            digit
        })
    }

    /// The next byte that is not JSON whitespace (only these four: serde_json and RFC 8259 know
    /// no other, not even a byte order mark), left unconsumed; `None` at the end of the text.
    fn skip_whitespace(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
        self.peek()
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// An object key and its colon, after any whitespace; a root key that means `name` adds one
    /// to `count`.
    fn key(&mut self, depth: u8, name: Option<&str>, count: &mut usize) -> Option<()> {
        if self.skip_whitespace()? != b'"' {
            return None;
        }
        let key = self.string()?;
        if depth == 1 && name.is_some_and(|name| key_means(key, name)) {
            *count += 1;
        }
        (self.skip_whitespace()? == b':').then(|| self.at += 1)
    }

    /// A string starting at its opening quote; its raw content, escapes unresolved. Control
    /// characters must be escaped; the text is a `&str`, so the rest is valid UTF-8 already.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.at += 1;
        let start = self.at;
        loop {
            match self.next()? {
                b'"' => return self.bytes.get(start..self.at - 1),
                b'\\' => {
                    self.escape()?;
                }
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// An escape after its backslash: the character it stands for, `None` where serde_json
    /// refuses it. Into a Rust string it takes surrogates only as a leading one followed at once
    /// by `\u` and a trailing one (`\ud800\u0041`, `\ud800x` and a lone `\udc00` are refused).
    fn escape(&mut self) -> Option<char> {
        let code = match self.next()? {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => 0x0a,
            b'r' => 0x0d,
            b't' => 0x09,
            c @ (b'"' | b'\\' | b'/') => u32::from(c),
            b'u' => {
                let first = self.hex4()?;
                if (0xd800..0xdc00).contains(&first) {
                    if self.next()? != b'\\' || self.next()? != b'u' {
                        return None;
                    }
                    let second = self.hex4()?;
                    if !(0xdc00..0xe000).contains(&second) {
                        return None;
                    }
                    0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
                } else {
                    first
                }
            }
            _ => return None,
        };
        // Refuses a lone trailing surrogate; every other code here is a character.
        char::from_u32(code)
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0;
        for _ in 0..4 {
            code = code * 16 + char::from(self.next()?).to_digit(16)?;
        }
        Some(code)
    }

    /// A number, with serde_json's grammar and its exact overflow decision (`parse_integer`,
    /// `parse_long_integer`, `parse_decimal`, `parse_exponent`, `f64_from_parts`): digits
    /// accumulate in a `u64` significand while they fit, a decimal exponent counts the rest.
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        let mut significand = u64::from(self.digit()?);
        if significand == 0 && matches!(self.peek(), Some(b'0'..=b'9')) {
            return None; // a leading zero
        }
        // Saturating: serde_json's `i32` would overflow only past 2^31 digits, gigabytes of text.
        let mut exponent: i32 = 0;
        // Once an integer digit does not fit, serde_json only counts the rest, even those that
        // would fit again.
        let mut full = false;
        while let Some(digit) = self.digit() {
            full = full || !push_digit(&mut significand, digit);
            exponent = exponent.saturating_add(i32::from(full));
        }
        if self.eat(b'.') {
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return None;
            }
            // Fraction digits join the significand until one does not fit, then are dropped.
            // This starts afresh after a long integer part: a fraction digit may fit again.
            let mut full = false;
            while let Some(digit) = self.digit() {
                full = full || !push_digit(&mut significand, digit);
                exponent = exponent.saturating_sub(i32::from(!full));
            }
        }
        if self.eat(b'e') || self.eat(b'E') {
            let negative = self.eat(b'-');
            if !negative {
                self.eat(b'+');
            }
            let mut value = i32::from(self.digit()?);
            while let Some(digit) = self.digit() {
                match value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i32::from(digit)))
                {
                    Some(next) => value = next,
                    None => {
                        // Beyond `i32`: serde_json refuses a positive exponent for a nonzero
                        // significand, and reads zero otherwise.
                        while self.digit().is_some() {}
                        return (significand == 0 || negative).then_some(());
                    }
                }
            }
            exponent = if negative {
                exponent.saturating_sub(value)
            } else {
                exponent.saturating_add(value)
            };
        }
        fits_f64(significand, exponent).then_some(())
    }
}

/// `significand * 10 + digit` if it fits in a `u64`; false (and no change) if not. The test is
/// serde_json's own (`parse_integer`), by comparison: `checked_mul` on a `u64` costs a 128-bit
/// multiply in wasm32.
fn push_digit(significand: &mut u64, digit: u8) -> bool {
    const TENTH: u64 = u64::MAX / 10;
    let digit = u64::from(digit);
    let fits = *significand < TENTH || (*significand == TENTH && digit <= u64::MAX % 10);
    if fits {
        *significand = *significand * 10 + digit;
    }
    fits
}

/// serde_json's `f64_from_parts` overflow test: whether `significand * 10^exponent`, computed as
/// it does, is finite (see [`POW10_FROM_289`] for the range).
fn fits_f64(significand: u64, exponent: i32) -> bool {
    if exponent < 289 {
        return true;
    }
    match POW10_FROM_289.get((exponent - 289) as usize) {
        Some(pow) => (significand as f64 * pow).is_finite(),
        None => significand == 0,
    }
}

/// Whether a key's raw text (between its quotes, already checked) means `name` once its escapes
/// are resolved, decoding as it compares.
fn key_means(raw: &[u8], name: &str) -> bool {
    let mut rest = name.as_bytes();
    let mut key = Scanner { bytes: raw, at: 0 };
    let mut utf8 = [0u8; 4];
    while let Some(byte) = key.next() {
        let piece: &[u8] = if byte == b'\\' {
            match key.escape() {
                Some(c) => c.encode_utf8(&mut utf8).as_bytes(),
                None => return false,
            }
        } else {
            utf8[0] = byte;
            &utf8[..1]
        };
        match rest.split_at_checked(piece.len()) {
            Some((head, after)) if head == piece => rest = after,
            _ => return false,
        }
    }
    rest.is_empty()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::{select, Index};
    use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(text).is_ok()
    }

    fn assert_agrees(text: &str) {
        assert_eq!(is_strict_json(text), serde_accepts(text), "{text:?}");
    }

    include!("../../tests/common/payload_texts.rs");

    /// The payloads of the decoder's browser conformance suite (`payload_cases()` in
    /// tests/common/decode_cases.rs), from the texts both share.
    fn decode_payloads() -> Vec<String> {
        let mut payloads: Vec<String> = PAYLOAD_TEXTS.map(String::from).to_vec();
        for claim in ["exp", "iat", "nbf"] {
            for value in TIME_CLAIM_VALUES {
                payloads.push(format!(r#"{{"sub":"a","{claim}":{value}}}"#));
            }
        }
        payloads
    }

    /// Every nesting depth from 1 to 300: arrays and objects under a root key, bare, empty,
    /// mixed, and left open.
    fn depth_cases() -> Vec<String> {
        let mut cases = Vec::new();
        for depth in 1..=300 {
            let inner = depth - 1;
            let arrays = format!(r#"{{"a":{}1{}}}"#, "[".repeat(inner), "]".repeat(inner));
            let objects = format!(
                r#"{{"a":{}1{}}}"#,
                r#"{"b":"#.repeat(inner),
                "}".repeat(inner)
            );
            let mixed = format!(
                "{}{}",
                r#"[{"b":"#.repeat(depth / 2),
                r#"0}]"#.repeat(depth / 2)
            );
            cases.push(arrays);
            cases.push(objects);
            cases.push(mixed);
            cases.push(format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
            cases.push(format!("{}{{}}{}", "[".repeat(inner), "]".repeat(inner)));
            cases.push("[".repeat(depth));
        }
        cases
    }

    /// `a + b` for decimal digit strings.
    fn add(a: &str, b: &str) -> String {
        let (mut a, mut b) = (a.bytes().rev(), b.bytes().rev());
        let (mut digits, mut carry) = (Vec::new(), 0);
        loop {
            let (x, y) = (a.next(), b.next());
            if x.is_none() && y.is_none() && carry == 0 {
                break;
            }
            let sum = x.map_or(0, |d| d - b'0') + y.map_or(0, |d| d - b'0') + carry;
            digits.push(b'0' + sum % 10);
            carry = sum / 10;
        }
        digits.iter().rev().map(|&d| char::from(d)).collect()
    }

    /// Numbers around serde_json's overflow threshold and its exponent bookkeeping.
    fn number_cases() -> Vec<String> {
        // Exact decimal expansions (test code may format floats): f64::MAX, the halfway point
        // to the next power of two (2^1024), and 2^1024; each 309 digits.
        let max = format!("{:.0}", f64::MAX);
        let half_ulp = format!("{:.0}", 2f64.powi(970));
        let boundaries = [
            max.clone(),
            add(&max, "1"),
            add(&max, &half_ulp),
            add(&add(&max, &half_ulp), "1"),
            add(&max, &add(&half_ulp, &half_ulp)),
            format!("{}{}", &max[..20], "0".repeat(289)),
            format!("{}{}", &max[..19], "9".repeat(290)),
            "9".repeat(309),
            format!("1{}", "0".repeat(308)),
            format!("1{}", "0".repeat(309)),
            format!("{}{}", u64::MAX, "0".repeat(289)),
            format!("{}{}", u64::MAX, "0".repeat(290)),
            format!("18446744073709551616{}", "0".repeat(289)),
        ];
        let mut cases = Vec::new();
        for digits in &boundaries {
            let len = digits.len();
            cases.push(digits.clone());
            cases.push(format!("-{digits}"));
            cases.push(format!("{digits}.5"));
            cases.push(format!("{digits}.0e0"));
            cases.push(format!("{}.{}e{}", &digits[..1], &digits[1..], len - 1));
            cases.push(format!("0.{digits}e{len}"));
            cases.push(format!("0.{}{digits}e{}", "0".repeat(20), len + 20));
            cases.push(format!("{digits}e-1"));
            cases.push(format!("{}.{}", &digits[..len - 1], &digits[len - 1..]));
            // The first `k` digits, as significand and exponent, and with the last digit ±1.
            for k in 1..=25.min(len) {
                let prefix = &digits[..k];
                cases.push(format!("{prefix}e{}", len - k));
                cases.push(format!("{}e{}", add(prefix, "1"), len - k));
                cases.push(format!("{}.{}e{}", &prefix[..1], &prefix[1..], len - 1));
                cases.push(format!("{prefix}{}", "0".repeat(len - k)));
            }
        }
        for case in [
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1.797693134862315807e308",
            "1.797693134862315808e308",
            "17976931348623158079e289",
            "17976931348623158080e289",
            "1797693134862315807e290",
            "1797693134862315808e290",
            "18446744073709551615e289",
            "18446744073709551616e289",
            "1844674407370955161.5e290",
            "184467440737095516160.5e288",
            "9.7e288",
            "1e288",
            "18446744073709551615e288",
            "1e289",
            "1e308",
            "1e309",
            "0e309",
            "0.0000e400",
            "-0",
            "-0.0e-0",
            "1E+2",
            "1e+308",
            "1e2147483647",
            "1e2147483648",
            "0e2147483648",
            "-1e2147483648",
            "1e-2147483648",
            "1e-2147483649",
            "0.0e99999999999",
            "1e999999999999",
            "1e-999999999999",
            "1e00000000000000000000308",
            "1e00000000000000000000309",
            "10e2147483647",
            "0.1e2147483647",
            "0.1e-2147483647",
            "100000000000000000000e2147483647",
            "100000000000000000000e-2147483647",
            "-",
            "-a",
            "--1",
            "+1",
            ".5",
            "1.e5",
            "1e",
            "1e+",
            "1e-",
            "1ee5",
            "00",
            "-01",
            "0.0",
            "0e0",
            "0x10",
            "1.5.3",
            "[1.5,2e3,-0.1E-1]",
        ] {
            cases.push(case.to_owned());
        }
        cases
    }

    /// Strings, literals, whitespace and structure beyond the decoder's payloads.
    fn syntax_cases() -> Vec<String> {
        [
            r#""\ud800\u0041""#,
            r#""\ud800\ud800""#,
            r#""\ud800\ud800\udc00""#,
            r#""\udbff\udfff""#,
            r#""\udc00\ud800""#,
            r#""\ud800\n""#,
            r#""\ud800\""#,
            r#""\ud800\u""#,
            r#""\ud800\udc0""#,
            r#""\ud800"#,
            r#""\ud800\"#,
            r#""\udfff""#,
            r#""\uDBFF\uDC00""#,
            r#""\u00""#,
            r#""\u0000""#,
            r#""\uGGGG""#,
            r#""\u00é0""#,
            r#""\/\b\f\n\r\t\"\\""#,
            r#""\a""#,
            r#""\U0041""#,
            "\"\u{1f}\"",
            "\"\u{0}\"",
            "\"\u{7f}\"",
            "\"é😀\"",
            "\"",
            "\"\\",
            "\"abc",
            "tru",
            "true false",
            "nul",
            "nulll",
            "True",
            "[true,false,null]",
            "[,]",
            "[,1]",
            "[1 2]",
            "[1,,2]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "{,}",
            "{1:2}",
            "{\"a\":1,\"a\":2,\"a\":{\"a\":[]}}",
            "[}",
            "{]",
            "[[]]]",
            "\u{c}1",
            "1\u{c}",
            "\u{a0}1",
            "\u{2028}1",
            " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r{ \t\n\r\"a\" \t\n\r: \t\n\r2 \t\n\r} \t\n\r] \t\n\r",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn agrees_with_serde_json_on_the_table() {
        let cases: Vec<String> = [
            decode_payloads(),
            depth_cases(),
            number_cases(),
            syntax_cases(),
        ]
        .concat();
        assert!(cases.len() > 2_000, "{}", cases.len());
        for text in &cases {
            assert_agrees(text);
            // The same text as a value inside a document.
            assert_agrees(&format!(r#"{{"k":[0,{text}]}}"#));
        }
    }

    /// serde_json's own depth limit, pinned: 127 nested containers pass, 128 do not.
    #[test]
    fn the_depth_limit_is_127_containers() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(serde_accepts(&nested(127)) && is_strict_json(&nested(127)));
        assert!(!serde_accepts(&nested(128)) && !is_strict_json(&nested(128)));
        // Hostile nesting far past the limit is refused without recursion.
        assert!(!is_strict_json(&"[".repeat(1_000_000)));
    }

    fn whitespace() -> impl Strategy<Value = String> {
        prop_oneof![
            16 => Just(String::new()),
            4 => "[ \t\r\n]{1,2}",
            // Whitespace to JavaScript, not to JSON.
            1 => select(vec!["\u{c}", "\u{a0}", "\u{feff}", "\u{2028}", "\u{b}"]).prop_map(String::from),
        ]
    }

    fn number_text() -> impl Strategy<Value = String> {
        "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,24})?([eE][-+]?([0-9]{1,3}|29[0-9]|30[0-9]|[0-9]{9,12}))?"
    }

    fn string_text() -> impl Strategy<Value = String> {
        // Mostly valid; a raw tab and lone surrogates are refused by serde_json.
        let piece = prop_oneof![
            8 => "[a-z0-9 ]",
            2 => select(vec!["é", "😀", "\u{2028}", "\u{7f}", "\t"]).prop_map(String::from),
            2 => "\\\\[\"\\\\/bfnrt]",
            2 => "\\\\u[0-9a-fA-F]{4}",
            1 => "\\\\u[dD][89abAB][0-9a-fA-F]{2}",
            1 => "\\\\u[dD][c-fC-F][0-9a-fA-F]{2}",
            2 => "\\\\u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2}",
        ];
        prop::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat()))
    }

    /// JSON texts from the grammar, with whitespace of both kinds between tokens.
    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            select(vec!["null", "true", "false"]).prop_map(String::from),
            number_text(),
            string_text(),
        ];
        leaf.prop_recursive(5, 48, 4, |inner| {
            let item = (whitespace(), inner, whitespace())
                .prop_map(|(a, v, b)| a + &v + &b)
                .boxed();
            prop_oneof![
                prop::collection::vec(item.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((whitespace(), string_text(), whitespace(), item), 0..4)
                    .prop_map(|entries| {
                        let entries: Vec<String> = entries
                            .into_iter()
                            .map(|(a, k, b, v)| a + &k + &b + ":" + &v)
                            .collect();
                        format!("{{{}}}", entries.join(","))
                    }),
            ]
        })
    }

    /// A text wrapped in about as many containers as serde_json allows, some more, some fewer.
    fn deep_text() -> impl Strategy<Value = String> {
        (json_text(), prop::collection::vec(any::<bool>(), 120..136)).prop_map(|(core, layers)| {
            let open: String = layers
                .iter()
                .map(|&o| if o { r#"{"k":"# } else { "[" })
                .collect();
            let close: String = layers
                .iter()
                .rev()
                .map(|&o| if o { "}" } else { "]" })
                .collect();
            open + &core + &close
        })
    }

    /// Characters the mutations insert or put in place of others.
    const MUTATION_CHARS: &[char] = &[
        '{', '}', '[', ']', '"', ',', ':', '.', '-', '+', 'e', 'E', '0', '1', '2', '5', '9', '\\',
        'u', ' ', 't', 'f', 'n', 'd', '8', 'c', '\n', '\u{0}', '\u{1f}', 'é', '😀', '\u{feff}',
    ];

    /// No edit for a good share of the texts (so that many are valid), else one to three.
    fn edits() -> impl Strategy<Value = Vec<(Index, u8, char)>> {
        let edit = (any::<Index>(), 0u8..3, select(MUTATION_CHARS));
        prop_oneof![Just(Vec::new()), prop::collection::vec(edit, 1..4)]
    }

    /// Inserts, deletes or replaces characters at random places.
    fn mutate(text: &str, edits: &[(Index, u8, char)]) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, kind, c) in edits {
            match kind {
                0 => chars.insert(at.index(chars.len() + 1), *c),
                _ if chars.is_empty() => {}
                1 => {
                    chars.remove(at.index(chars.len()));
                }
                _ => {
                    let i = at.index(chars.len());
                    chars[i] = *c;
                }
            }
        }
        chars.into_iter().collect()
    }

    /// The digits of f64::MAX, of the halfway point above it, or of 2^1024, cut to a few
    /// significant digits, maybe changed at the end, written with a decimal point and an exponent
    /// that put it within a few powers of ten of f64::MAX.
    fn near_max_number() -> impl Strategy<Value = String> {
        let max = format!("{:.0}", f64::MAX);
        let half_ulp = format!("{:.0}", 2f64.powi(970));
        let halfway = add(&max, &half_ulp);
        let two_1024 = add(&halfway, &half_ulp);
        (
            select(vec![max, halfway, two_1024]),
            1usize..=45,
            prop::collection::vec(0u8..10, 0..3),
            0usize..=45,
            0usize..=3,
            -2i32..=2,
        )
            .prop_map(|(digits, len, tail, point, zeros, shift)| {
                let mut mantissa: String = digits
                    .chars()
                    .take(len.saturating_sub(tail.len()))
                    .collect();
                mantissa.extend(tail.iter().map(|d| char::from(b'0' + d)));
                let point = point.min(mantissa.len());
                // Leading zeros only when the point comes first: "0.{zeros}{mantissa}".
                let zeros = if point == 0 { zeros } else { 0 };
                // The digits stand for 0.{digits} × 10^309; `shift` moves the value off it.
                let exponent = 309 + zeros as i32 + shift - point as i32;
                let (int, frac) = mantissa.split_at(point);
                let int = if int.is_empty() { "0" } else { int };
                let frac = if point == 0 {
                    format!("{}{frac}", "0".repeat(zeros))
                } else {
                    frac.to_owned()
                };
                let dot = if frac.is_empty() {
                    String::new()
                } else {
                    format!(".{frac}")
                };
                format!("{int}{dot}e{exponent}")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Grammar texts, deep ones, and both after random edits.
        #[test]
        fn agrees_with_serde_json_on_mutated_texts(
            text in prop_oneof![4 => json_text(), 1 => deep_text()],
            edits in edits(),
        ) {
            let text = mutate(&text, &edits);
            prop_assert_eq!(is_strict_json(&text), serde_accepts(&text), "{:?}", text);
        }

        /// Numbers around f64::MAX in every spelling serde_json's bookkeeping distinguishes.
        #[test]
        fn agrees_with_serde_json_near_f64_max(number in near_max_number(), negative: bool) {
            let text = if negative { format!("-{number}") } else { number };
            prop_assert_eq!(is_strict_json(&text), serde_accepts(&text), "{:?}", text);
        }
    }

    /// The root object's keys in order, resolved by serde_json itself (a `Value` keeps only one
    /// of each).
    struct RootKeys(Vec<String>);

    impl<'de> Deserialize<'de> for RootKeys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Keys;
            impl<'de> Visitor<'de> for Keys {
                type Value = RootKeys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RootKeys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(RootKeys(keys))
                }
            }
            d.deserialize_map(Keys)
        }
    }

    /// `push_digit` is `checked_mul(10)` then `checked_add(digit)`, at the `u64` boundary and
    /// away from it. (No text can tell them apart: near the boundary, one digit more or less
    /// changes the value by less than f64 can hold, so the agreement tests cannot pin this.)
    #[test]
    fn push_digit_is_checked_arithmetic() {
        let tenth = u64::MAX / 10;
        for significand in [0, 1, 9, tenth - 1, tenth, tenth + 1, u64::MAX / 2, u64::MAX] {
            for digit in 0..10u8 {
                let expected = significand
                    .checked_mul(10)
                    .and_then(|s| s.checked_add(u64::from(digit)));
                let mut pushed = significand;
                let fits = push_digit(&mut pushed, digit);
                assert_eq!(fits.then_some(pushed), expected, "{significand} {digit}");
                if !fits {
                    assert_eq!(pushed, significand, "unchanged when it does not fit");
                }
            }
        }
    }

    #[test]
    fn repeats_are_found_after_resolving_escapes() {
        let header = r#"{"alg":"HS256","\u0061lg":"none"}"#;
        assert!(root_repeats_any(header, &["alg"]));
        assert!(root_repeats_any(
            r#"{"alg":1,"al\u0067":2}"#,
            &["typ", "alg"]
        ));
        assert!(root_repeats_any(r#"{"\u00e9":1,"é":2}"#, &["é"]));
        assert!(root_repeats_any(r#"{"\ud83d\ude00":1,"😀":2}"#, &["😀"]));
        assert!(root_repeats_any(
            r#"{"a\/b\"":1,"a/b\u0022":2}"#,
            &["a/b\""]
        ));
        assert!(root_repeats_any(
            r#"{"\t\n":1,"\u0009\u000a":2}"#,
            &["\t\n"]
        ));
        // Once is not a repeat, and a near miss is not the name.
        assert!(!root_repeats_any(
            r#"{"alg":1,"al":2,"algx":3,"Alg":4}"#,
            &["alg", "al"]
        ));
        assert!(!root_repeats_any(r#"{"alg":1}"#, &["alg", "alg"]));
    }

    #[test]
    fn only_root_keys_in_names_count() {
        // Nested repeats, or nested copies of a root key, are not root repeats.
        assert!(!root_repeats_any(
            r#"{"alg":1,"x":{"alg":2,"alg":3}}"#,
            &["alg"]
        ));
        assert!(!root_repeats_any(
            r#"{"x":[{"alg":2},{"alg":3}],"alg":1}"#,
            &["alg"]
        ));
        // A key, or a string value, equal to the name is not a key.
        assert!(!root_repeats_any(
            r#"{"a":"alg","b":"alg","alg":0}"#,
            &["alg"]
        ));
        // A repeated key that is not asked about.
        assert!(!root_repeats_any(
            r#"{"kid":1,"kid":2,"alg":3}"#,
            &["alg", "typ"]
        ));
        assert!(root_repeats_any(
            r#"{"kid":1,"kid":2,"alg":3}"#,
            &["alg", "kid"]
        ));
        assert!(!root_repeats_any(r#"{"alg":1,"alg":2}"#, &[]));
    }

    #[test]
    fn only_an_object_root_has_keys() {
        for text in [
            r#"[{"alg":1,"alg":2}]"#,
            r#""alg""#,
            "null",
            "1",
            "[]",
            // Not strict JSON: no answer about its keys.
            r#"{"alg":1,"alg":2"#,
            r#"{"alg":1,"alg":1e400}"#,
        ] {
            assert!(!root_repeats_any(text, &["alg"]), "{text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        /// Against the keys serde_json itself reads from the root object.
        #[test]
        fn repeats_agree_with_serde_json_keys(
            entries in prop::collection::vec(
                (
                    select(vec!["alg", "\\u0061lg", "al\\u0067", "typ", "al", "algx", "é", "\\u00e9",
                                "😀", "\\ud83d\\ude00", "\\/", "/", "\\\"", ""]),
                    select(vec!["1", "\"alg\"", "{\"alg\":1,\"alg\":2}", "[{\"typ\":0}]", "null"]),
                ),
                0..6,
            ),
            names in prop::collection::vec(select(vec!["alg", "typ", "é", "😀", "/", "\"", "al", ""]), 0..3),
        ) {
            let body: Vec<String> = entries.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let text = format!("{{{}}}", body.join(","));
            let keys = serde_json::from_str::<RootKeys>(&text).expect("an object").0;
            let expected = names.iter().any(|n| keys.iter().filter(|k| k == n).count() > 1);
            prop_assert!(is_strict_json(&text));
            prop_assert_eq!(root_repeats_any(&text, &names), expected, "{}", text);
        }
    }
}
