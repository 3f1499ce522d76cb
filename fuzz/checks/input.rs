//! A reader that turns fuzz bytes into choices.
//!
//! Like `arbitrary::Unstructured`, but small and dependency-free so that the regression test can
//! use it too. Every read succeeds: past the end of the data it yields zeros (the first choice,
//! the smallest number), so any byte string is a valid input and a shorter one is a simpler one,
//! which is what libFuzzer's minimizer needs.

/// Fuzz bytes, consumed from the front.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 once the data is exhausted.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((first, rest)) => {
                self.data = rest;
                *first
            }
            None => 0,
        }
    }

    /// A little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// A coin flip.
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// True about once in `n` reads (never for `n == 0`).
    pub fn one_in(&mut self, n: u8) -> bool {
        n != 0 && self.u8() % n == 0
    }

    /// A choice among `n` options (`0` when `n == 0`).
    pub fn choose(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        if n <= 256 {
            usize::from(self.u8()) % n
        } else {
            (self.u32() as usize) % n
        }
    }

    /// One of `items` (the first when the data is exhausted).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.choose(items.len())]
    }

    /// A number in `lo..=hi`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        lo.wrapping_add((self.u64() % span) as i64)
    }

    /// A number that is usually small but sometimes at the edges of `i64`, where overflow lives.
    pub fn edgy_i64(&mut self) -> i64 {
        match self.u8() % 8 {
            0 => i64::MAX,
            1 => i64::MIN,
            2 => i64::from(self.u32() as i32),
            3 => -i64::from(self.u16()),
            4 => (1i64 << 53) - 1 + i64::from(self.u8() % 3) - 1,
            5 => self.u64() as i64,
            _ => i64::from(self.u16()),
        }
    }

    /// Up to `max` raw bytes.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let len = self.choose(max.saturating_add(1)).min(self.data.len());
        let (taken, rest) = self.data.split_at(len);
        self.data = rest;
        taken
    }

    /// Up to `max` bytes as text (invalid UTF-8 replaced).
    pub fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }

    /// The rest of the data.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// Unpadded base64url, written here so the checks need no encoder crate.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A compact JWT with `header` and `payload` JSON text and a dummy signature.
pub fn jwt(header: &str, payload: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        base64url(header.as_bytes()),
        base64url(payload.as_bytes())
    )
}
