// Fast path of `decodeClaims` (src/js/mod.rs): decodes a common, well-formed token without
// entering wasm. It returns `undefined` for anything it does not fully vouch for, and the Rust
// decoder then gives the verdict and the error, so it only has to be sound: what it accepts,
// `decode_unverified` accepts, with the same claims (the rules: src/logic/token.rs). The one
// exception: a repeated key whose dropped value overflows f64 or nests over 127 levels, which
// serde_json refuses and JSON.parse drops (keeping the last, as RFC 7519 §4 allows).
// tests/common/decode_cases.rs holds the two to this. Nothing is cached between calls.

const MAX_TOKEN_LEN = 16384; // bytes, as in token.rs
const MAX_SECONDS = 9e12; // |exp|, |iat|, |nbf|: inside Rust's ±2^53 ms
const SHORT_PAYLOAD = 192; // chars: decoded here below, by setFromBase64 above
const SHORT_TEXT = 64; // ASCII bytes: String.fromCharCode below, TextDecoder above
const MAX_DEPTH = 100; // nesting left to Rust beyond this (serde_json: 127)

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const BASE64URL = { alphabet: "base64url", lastChunkHandling: "loose" };
const hasSetFromBase64 = typeof Uint8Array.prototype.setFromBase64 === "function";
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const SEXTET = new Int8Array(128).fill(-1); // base64url character -> 6 bits
for (let i = 0; i < 64; i++) {
  SEXTET["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".charCodeAt(i)] = i;
}
let scratch = null; // decoded parts, reused by every call
let decodedBits = 0; // OR of the groups of the last decodeInto: & 0x808080 = not ASCII

/** The claims of `token`, or `undefined` when the Rust decoder must decide. Never throws. */
export function decodeClaimsFast(token) {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LEN) return undefined;
  const dot1 = token.indexOf(".");
  const dot2 = token.indexOf(".", dot1 + 1);
  if (dot1 < 1 || dot2 <= dot1 + 1 || token.indexOf(".", dot2 + 1) !== -1) return undefined;
  scratch ??= new Uint8Array((MAX_TOKEN_LEN * 3) / 4);

  if (!isBase64url(token, dot2 + 1, token.length)) return undefined;
  const headerLen = decodeInto(token, 0, dot1);
  if (headerLen < 0 || decodedBits & 0x808080 || !isPlainHeader(scratch, headerLen)) {
    return undefined;
  }
  const text = payloadText(token, dot1 + 1, dot2);
  if (text === undefined) return undefined;
  let claims;
  try {
    claims = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return undefined;
  if (!isTime(claims.exp) || !isTime(claims.iat) || !isTime(claims.nbf)) return undefined;
  if (text.indexOf("\\u") !== -1 && SURROGATE_ESCAPE.test(text) && !surrogatesPaired(text)) {
    return undefined;
  }
  return isTame(claims, MAX_DEPTH) ? claims : undefined;
}

/** Whether the last of `n` base64url characters ending before `end` has no stray low bits. */
function canonicalEnd(text, end, n) {
  const rest = n & 3;
  return rest === 0 || (SEXTET[text.charCodeAt(end - 1)] & (rest === 2 ? 15 : 3)) === 0;
}

/** Whether `text[start..end)` is canonical unpadded base64url (a signature: not decoded). */
function isBase64url(text, start, end) {
  if (((end - start) & 3) === 1) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > 127 || SEXTET[c] < 0) return false;
  }
  return canonicalEnd(text, end, end - start);
}

/**
 * Decodes `text[start..end)`, canonical unpadded base64url, into `scratch`: the byte count, or
 * -1. Plain JavaScript beats the engine's decoders on a few dozen characters.
 */
function decodeInto(text, start, end) {
  if (((end - start) & 3) === 1) return -1;
  const out = scratch;
  let o = 0;
  let i = start;
  let bits = 0;
  for (; i + 4 <= end; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 127) return -1;
    const a = SEXTET[c0];
    const b = SEXTET[c1];
    const c = SEXTET[c2];
    const d = SEXTET[c3];
    if ((a | b | c | d) < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    bits |= v;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  const rest = end - i;
  if (rest > 0) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = rest === 3 ? text.charCodeAt(i + 2) : 65; // "A": no bits
    if ((c0 | c1 | c2) > 127) return -1;
    const a = SEXTET[c0];
    const b = SEXTET[c1];
    const c = SEXTET[c2];
    if ((a | b | c) < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6);
    if (v & (rest === 2 ? 0xffff : 0xff)) return -1; // bits past the last byte
    bits |= v;
    out[o++] = v >> 16;
    if (rest === 3) out[o++] = (v >> 8) & 255;
  }
  decodedBits = bits;
  return o;
}

/** The payload `token[start..end)`, canonical unpadded base64url of UTF-8, as text. */
function payloadText(token, start, end) {
  const n = end - start;
  if ((n & 3) === 1) return undefined;
  let bytes;
  if (n <= SHORT_PAYLOAD || !hasSetFromBase64) {
    const len = decodeInto(token, start, end);
    if (len < 0) return undefined;
    bytes = scratch.subarray(0, len);
    if (len <= SHORT_TEXT && !(decodedBits & 0x808080)) {
      return String.fromCharCode.apply(null, bytes);
    }
  } else {
    const part = token.slice(start, end);
    let written;
    try {
      written = scratch.setFromBase64(part, BASE64URL).written;
    } catch {
      return undefined;
    }
    // Skipped whitespace or "=" makes the count short (for lengths not 1 mod 4).
    if (written !== (n * 3) >> 2 || !canonicalEnd(part, n, n)) return undefined;
    bytes = scratch.subarray(0, written);
  }
  try {
    return utf8.decode(bytes); // a BOM is kept, and JSON.parse refuses it as serde_json does
  } catch {
    return undefined;
  }
}

/** `exp`, `iat`, `nbf`: absent, or a number well inside the range Rust accepts. */
function isTime(value) {
  return value === undefined || (typeof value === "number" && Math.abs(value) <= MAX_SECONDS);
}

/** No number in `value` near the f64 limit (serde_json refuses overflow), nesting <= `depth`. */
function isTame(value, depth) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isTameItem(value[i], depth)) return false;
  } else {
    for (const key in value) if (!isTameItem(value[key], depth)) return false;
  }
  return true;
}

/** An item of an object or array for `isTame`, with `depth` levels left below it. */
function isTameItem(item, depth) {
  switch (typeof item) {
    case "object":
      return item === null || (depth > 0 && isTame(item, depth - 1));
    case "number":
      return item < 1e300 && item > -1e300;
    default:
      return true;
  }
}

/**
 * Whether each surrogate escape in `text` (JSON that JSON.parse read) is a high one followed by
 * a low one, as serde_json requires. Reads the text: a repeated key could hide one.
 */
function surrogatesPaired(text) {
  for (let i = text.indexOf("\\"); i !== -1; i = text.indexOf("\\", i)) {
    if (text.charCodeAt(i + 1) !== 0x75) {
      i += 2; // "\\", "\n", ...
      continue;
    }
    const unit = parseInt(text.slice(i + 2, i + 6), 16);
    i += 6;
    if (unit >= 0xdc00 && unit <= 0xdfff) return false;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      if (text.charCodeAt(i) !== 0x5c || text.charCodeAt(i + 1) !== 0x75) return false;
      const low = parseInt(text.slice(i + 2, i + 6), 16);
      if (!(low >= 0xdc00 && low <= 0xdfff)) return false;
      i += 6;
    }
  }
  return true;
}

// Registered header fields (the Rust decoder, like jwt-compact, refuses a repeat): alg, typ, kid,
// jku, x5u, cty, x5t.
const FIELDS = [0x616c67, 0x747970, 0x6b6964, 0x6a6b75, 0x783575, 0x637479, 0x783574];
const ALG = 1;
const CTY = 32;
const THUMBPRINTS = 64 | 128; // x5t, x5t#S256: their decoding is left to the Rust decoder

/** The bit of the registered field named by `b[start..end)`, 0 for any other name. */
function fieldBit(b, start, end) {
  if (end - start === 3) {
    const i = FIELDS.indexOf((b[start] << 16) | (b[start + 1] << 8) | b[start + 2]);
    return i < 0 ? 0 : 1 << i;
  }
  return end - start === 8 && isText(b, start, "x5t#S256", false) ? 128 : 0;
}

/** Whether `b[i..)` starts with `word`, or with it in any ASCII case (lowercase letters). */
function isText(b, i, word, anyCase) {
  for (let k = 0; k < word.length; k++) {
    if ((anyCase ? b[i + k] | 0x20 : b[i + k]) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** The index of the first non-whitespace byte from `i` (at most `len`). */
function skipSpace(b, i, len) {
  for (let c = b[i]; i < len && (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09); ) {
    c = b[++i];
  }
  return i;
}

/** The index of the quote closing a string that starts at `i`, or -1 (escape, control). */
function stringEnd(b, i, len) {
  for (; i < len; i++) {
    const c = b[i];
    if (c === 0x22) return i;
    if (c === 0x5c || c < 0x20) return -1;
  }
  return -1;
}

/** The end of a JSON number at `i` without exponent, at most 100 characters (finite), or -1. */
function numberEnd(b, i, len) {
  const start = i;
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) {
    i++;
  } else {
    const digits = i;
    while (i < len && b[i] >= 0x30 && b[i] <= 0x39) i++;
    if (i === digits) return -1;
  }
  if (i < len && b[i] === 0x2e) {
    const digits = ++i;
    while (i < len && b[i] >= 0x30 && b[i] <= 0x39) i++;
    if (i === digits) return -1;
  }
  return i >= len || i - start > 100 ? -1 : i; // an exponent then fails as a delimiter
}

/**
 * Whether the decoded header `b[0..len)` is a flat JSON object that the Rust decoder accepts:
 * a string `alg`; `typ`, `kid`, `jku`, `x5u` strings or null; `cty` "json" in any case or
 * null; none twice; other values strings, plain numbers, true, false or null. Strings have no
 * escapes. Anything else is left to Rust.
 */
function isPlainHeader(b, len) {
  let i = skipSpace(b, 0, len);
  if (i >= len || b[i] !== 0x7b) return false;
  i = skipSpace(b, i + 1, len);
  for (let seen = 0; ; ) {
    if (i >= len || b[i] !== 0x22) return false;
    const keyEnd = stringEnd(b, i + 1, len);
    if (keyEnd < 0) return false;
    const field = fieldBit(b, i + 1, keyEnd);
    if (field & seen) return false;
    seen |= field;
    i = skipSpace(b, keyEnd + 1, len);
    if (i >= len || b[i] !== 0x3a) return false;
    i = skipSpace(b, i + 1, len);
    if (i >= len) return false;
    const c = b[i];
    if (c === 0x22) {
      const end = stringEnd(b, i + 1, len);
      if (end < 0 || field & THUMBPRINTS) return false;
      if (field === CTY && !(end - i === 5 && isText(b, i + 1, "json", true))) return false;
      i = end + 1;
    } else if (c === 0x6e && i + 4 <= len && isText(b, i, "null", false)) {
      if (field === ALG) return false;
      i += 4;
    } else if (field) {
      return false; // registered fields hold strings
    } else if (c === 0x74 && i + 4 <= len && isText(b, i, "true", false)) {
      i += 4;
    } else if (c === 0x66 && i + 5 <= len && isText(b, i, "false", false)) {
      i += 5;
    } else if ((i = numberEnd(b, i, len)) < 0) {
      return false;
    }
    i = skipSpace(b, i, len);
    if (i < len && b[i] === 0x7d) return skipSpace(b, i + 1, len) === len && (seen & ALG) !== 0;
    if (i >= len || b[i] !== 0x2c) return false;
    i = skipSpace(b, i + 1, len);
  }
}
