//! Time: a timestamp newtype in milliseconds since the Unix epoch, and `Duration` for spans.
//!
//! JavaScript hands out times as milliseconds since the epoch, JWTs carry seconds (integer or
//! float). One newtype keeps the two from being mixed up with spans.
//!
//! Two clocks are in play: this device's and the server's. Tokens state `exp` and `iat` on the
//! server's clock, timers run on ours, and laptops and phones are routinely minutes (sometimes
//! hours, with a timezone bug on the server) apart. [`ClockOffset::estimate`] measures the gap
//! when a token arrives, from the best evidence the reply carries ([`ClockEvidence`]), and
//! everything after that works in local time.
//!
//! Nothing here reads the system clock: the core takes `now` as an argument and `Date.now()`
//! stays in the browser driver, so tests pass fixed instants.

use std::time::Duration;

/// An instant, in whole milliseconds since the Unix epoch (the unit of JavaScript's `Date.now()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// A JWT NumericDate (seconds since the epoch, integer or float) as a timestamp.
    ///
    /// `None` for NaN, infinities and values beyond ±2^53 milliseconds (outside what a JS `Date`
    /// or an `f64` can hold exactly), so a hostile `exp` can never overflow later arithmetic.
    pub fn from_seconds_f64(seconds: f64) -> Option<Self> {
        const MAX_SAFE_MILLIS: f64 = 9_007_199_254_740_991.0; // Number.MAX_SAFE_INTEGER
        let millis = (seconds * 1000.0).round();
        if millis.is_finite() && millis.abs() <= MAX_SAFE_MILLIS {
            Some(Self(millis as i64))
        } else {
            None
        }
    }

    /// The instant `span` later, saturating instead of overflowing.
    pub fn saturating_add(self, span: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis(span)))
    }

    /// The instant `span` earlier, saturating instead of overflowing.
    pub fn saturating_sub(self, span: Duration) -> Self {
        Self(self.0.saturating_sub(duration_millis(span)))
    }

    /// The span from `earlier` to `self`; zero when `earlier` is not earlier.
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0).max(0) as u64)
    }
}

fn duration_millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

/// Signed milliseconds from `earlier` to `later` (negative when `later` is earlier).
fn signed_millis_between(earlier: Timestamp, later: Timestamp) -> i64 {
    later.0.saturating_sub(earlier.0)
}

/// Whether a token whose expiry (on this device's clock) is `expires_at` counts as expired at
/// `now`, tolerating `leeway` of clock error (`leewaySeconds`).
///
/// RFC 7519 §4.1.4: the token is valid only *before* its expiry, so the boundary instant is
/// already expired.
pub fn is_expired(expires_at: Timestamp, now: Timestamp, leeway: Duration) -> bool {
    now >= expires_at.saturating_add(leeway)
}

/// How far the server's clock is ahead of this device's: `server − local`, in milliseconds.
///
/// Positive means the server is ahead, so its `exp` arrives sooner on our clock than the raw
/// number suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClockOffset(i64);

impl ClockOffset {
    /// The clocks agree (or we could not tell).
    pub const ZERO: ClockOffset = ClockOffset(0);

    /// A measured gap smaller than this, either way, counts as zero. Stamps come in whole
    /// seconds, so a sub-second gap cannot be told from clocks in step (reading it as "server
    /// ahead" made sessions end up to a second before their `exp`), and latency alone makes the
    /// server look behind. Ignoring a real gap under a second is safe: the refresh margin is
    /// never under one second (`schedule::MIN_MARGIN`), so a refresh still lands before the
    /// server's `exp`.
    pub const DEADBAND: Duration = Duration::from_secs(1);

    /// Measured gaps larger than this are ignored as implausible: real timezone bugs stay within
    /// ±14 hours, and a garbage `iat` (say 0) must not push expiry decades away.
    pub const MAX_PLAUSIBLE: Duration = Duration::from_secs(24 * 60 * 60);

    /// A token that arrives with less than this left, read at face value, cannot be used as it
    /// is: only then may a past issue time move its expiry later ([`ClockOffset::estimate`],
    /// rule 3).
    /// Two seconds: the shortest lifetime the refresh schedule handles without refreshing on
    /// arrival (half the lifetime, and at least [`MIN_MARGIN`](crate::logic::schedule::MIN_MARGIN),
    /// before expiry).
    pub const MIN_USABLE_LIFE: Duration = Duration::from_secs(2);

    /// An offset of `millis` milliseconds (`server − local`).
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// The offset in milliseconds (`server − local`).
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// A server-clock instant (like `exp`) on this device's clock.
    pub fn to_local(self, server: Timestamp) -> Timestamp {
        Timestamp(server.0.saturating_sub(self.0))
    }

    /// Estimates the offset from the evidence a token reply carries, strongest first (the
    /// README's "how refresh timing works" states the same rules):
    ///
    /// 1. **`Date`**: the reply's `Date` header is the server's clock when it answered, whatever
    ///    the token says. Readable same-origin, or cross-origin when the server lists it in
    ///    `Access-Control-Expose-Headers`.
    /// 2. **The token's issue time**: `exp − expires_in` when the reply has `expires_in`, else
    ///    `iat`. One that is in our future proves that the server is ahead; believing it moves
    ///    refreshes earlier, which is always safe.
    /// 3. **An issue time in our past** is weak evidence: the server may be behind, or the stamp
    ///    may just be old (djangorestframework-simplejwt before 5.5 gives a refreshed access
    ///    token the `iat` of its refresh token, hours or days old, with `exp` = now + lifetime).
    ///    Believing an old stamp would use the token long after its real expiry. So it is used
    ///    only when it must be: when the token, read at face value, arrives with less than
    ///    [`MIN_USABLE_LIFE`](Self::MIN_USABLE_LIFE) left (a client clock far ahead of the
    ///    server's would otherwise refresh in a loop). It then moves expiry later by the gap,
    ///    which gives the token exactly the lifetime it states (`exp − iat`). Otherwise `exp` is
    ///    taken at face value, which is early, never late, when the server is behind.
    ///
    /// Every measurement is pushed towards "server ahead", the side on which we refresh early
    /// rather than late: a stamp in whole seconds is taken as the *end* of that second (HTTP
    /// dates, python-jose and PyJWT truncate, so the server's real "now" was up to a second
    /// later). Gaps within [`DEADBAND`](Self::DEADBAND) either way, and beyond
    /// [`MAX_PLAUSIBLE`](Self::MAX_PLAUSIBLE), give [`ZERO`](Self::ZERO).
    pub fn estimate(evidence: &ClockEvidence) -> (Self, ClockSource) {
        let gap = |stamp: Timestamp| Self::measure(evidence.received_at, stamp);
        if let Some(offset) = evidence.server_date.and_then(gap) {
            return (offset, ClockSource::Date);
        }
        // The token's own stamps: `exp − expires_in` is the moment `exp` was computed from, so
        // it beats an `iat` that may have been copied from an older token.
        let issued = match (evidence.exp, evidence.expires_in) {
            (Some(exp), Some(expires_in)) => {
                Some((exp.saturating_sub(expires_in), ClockSource::ExpiresIn))
            }
            _ => evidence.iat.map(|iat| (iat, ClockSource::Iat)),
        };
        let Some((offset, source)) = issued.and_then(|(stamp, source)| Some((gap(stamp)?, source)))
        else {
            return (Self::ZERO, ClockSource::None);
        };
        // Ahead, or in agreement within the deadband.
        if offset.0 >= 0 {
            return (offset, source);
        }
        let usable_at_face_value = evidence
            .exp
            .is_none_or(|exp| exp.duration_since(evidence.received_at) >= Self::MIN_USABLE_LIFE);
        if usable_at_face_value {
            (Self::ZERO, ClockSource::None)
        } else {
            (offset, source)
        }
    }

    /// The offset that a server stamp `stamp` (server clock) implies for a reply received at
    /// `received_at` (local clock); `None` when the stamp is implausible. Within the deadband it
    /// is [`ZERO`](Self::ZERO): the clocks agree as far as a stamp can tell.
    fn measure(received_at: Timestamp, stamp: Timestamp) -> Option<Self> {
        let server_now = if stamp.0.rem_euclid(1000) == 0 {
            stamp.saturating_add(Duration::from_millis(999))
        } else {
            stamp
        };
        let raw = signed_millis_between(received_at, server_now);
        let magnitude = Duration::from_millis(raw.unsigned_abs());
        if magnitude > Self::MAX_PLAUSIBLE {
            None
        } else if magnitude < Self::DEADBAND {
            Some(Self::ZERO)
        } else {
            Some(Self(raw))
        }
    }
}

/// Where a [`ClockOffset`] came from ([`ClockOffset::estimate`]), strongest first; shown by
/// `getDiagnostics()` as `clockOffsetSource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClockSource {
    /// The reply's `Date` header.
    Date,
    /// The token's `exp` less the reply's `expires_in`.
    ExpiresIn,
    /// The token's `iat`.
    Iat,
    /// No usable evidence: the clocks are taken to agree.
    #[default]
    None,
}

impl ClockSource {
    /// The name in diagnostics and in stored sessions: `"date"`, `"expires_in"`, `"iat"` or
    /// `"none"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::ExpiresIn => "expires_in",
            Self::Iat => "iat",
            Self::None => "none",
        }
    }

    /// The source named `name` ([`ClockSource::as_str`]); anything else is `None`.
    pub fn from_name(name: &str) -> Self {
        // A match, not a search of a list: no iterator adapter in the wasm module.
        match name {
            "date" => Self::Date,
            "expires_in" => Self::ExpiresIn,
            "iat" => Self::Iat,
            _ => Self::None,
        }
    }
}

/// What a token reply tells about the server's clock, for [`ClockOffset::estimate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockEvidence {
    /// When the reply arrived (local clock).
    pub received_at: Timestamp,
    /// The reply's `Date` header (server clock), when the browser let us read it.
    pub server_date: Option<Timestamp>,
    /// The access token's `iat` (server clock).
    pub iat: Option<Timestamp>,
    /// The access token's `exp` (server clock).
    pub exp: Option<Timestamp>,
    /// The reply's `expires_in`.
    pub expires_in: Option<Duration>,
}

/// When a token expires and how long it lived, on this device's clock, worked out once when
/// the token arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTiming {
    /// When the access token expires (local clock); `None` when neither `exp` nor
    /// `expires_in` says.
    pub expires_at: Option<Timestamp>,
    /// From receipt to expiry; `None` without an expiry. Zero for a token that arrived expired.
    pub lifetime: Option<Duration>,
    /// The estimated server clock offset ([`ClockOffset::estimate`]).
    pub clock_offset: ClockOffset,
    /// What the offset was estimated from.
    pub clock_source: ClockSource,
}

impl TokenTiming {
    /// The timing of a token, from what its reply says of the server's clock.
    ///
    /// The expiry is the earlier of `exp` moved onto our clock and `received_at + expires_in`,
    /// so a server whose two statements disagree is taken at its stricter word.
    pub fn at_receipt(evidence: &ClockEvidence) -> Self {
        let (clock_offset, clock_source) = ClockOffset::estimate(evidence);
        let received_at = evidence.received_at;
        let from_exp = evidence.exp.map(|exp| clock_offset.to_local(exp));
        let from_expires_in = evidence
            .expires_in
            .map(|span| received_at.saturating_add(span));
        let expires_at = match (from_exp, from_expires_in) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self {
            expires_at,
            lifetime: expires_at.map(|at| at.duration_since(received_at)),
            clock_offset,
            clock_source,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn float_and_integer_seconds_become_millis() {
        assert_eq!(
            Timestamp::from_seconds_f64(1_700_000_000.0),
            Some(Timestamp(1_700_000_000_000))
        );
        assert_eq!(
            Timestamp::from_seconds_f64(1_700_000_000.25),
            Some(Timestamp(1_700_000_000_250))
        );
        assert_eq!(Timestamp::from_seconds_f64(f64::NAN), None);
        assert_eq!(Timestamp::from_seconds_f64(f64::INFINITY), None);
        assert_eq!(Timestamp::from_seconds_f64(1e300), None);
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    #[test]
    fn expiry_is_exclusive_and_leeway_extends_it() {
        // (exp, now, leeway) -> expired
        let cases = [
            (100, 99, 0, false),
            (100, 100, 0, true),
            (100, 101, 0, true),
            (100, 101, 2, false),
            (100, 102, 2, true),
        ];
        for (exp, now, leeway, expected) in cases {
            assert_eq!(
                is_expired(at(exp), at(now), Duration::from_secs(leeway)),
                expected,
                "exp {exp} now {now} leeway {leeway}"
            );
        }
    }

    fn evidence(
        received_ms: i64,
        server_date: Option<Timestamp>,
        iat: Option<Timestamp>,
        exp: Option<Timestamp>,
        expires_in: Option<Duration>,
    ) -> ClockEvidence {
        ClockEvidence {
            received_at: Timestamp::from_millis(received_ms),
            server_date,
            iat,
            exp,
            expires_in,
        }
    }

    #[test]
    fn offset_comes_from_the_strongest_evidence() {
        const RECEIVED: i64 = 1_000_000_000;
        const HOUR: i64 = 3_600_000;
        let ms = |m: i64| Some(Timestamp::from_millis(m));
        let secs = |s: u64| Some(Duration::from_secs(s));
        use ClockSource::{Date, ExpiresIn, Iat, None as Nothing};
        // (Date, iat, exp, expires_in) -> (offset ms, source). Whole-second stamps count as the
        // end of their second (+999 ms): servers truncate.
        type Case = (
            &'static str,
            Option<Timestamp>,
            Option<Timestamp>,
            Option<Timestamp>,
            Option<Duration>,
            i64,
            ClockSource,
        );
        let cases: [Case; 23] = [
            (
                "server 5 min ahead, float iat",
                None,
                ms(1_000_300_250),
                ms(1_002_100_250),
                None,
                300_250,
                Iat,
            ),
            (
                "server 5 min ahead, integer iat",
                None,
                ms(1_000_300_000),
                ms(1_002_100_000),
                None,
                300_999,
                Iat,
            ),
            (
                "a second or more ahead is believed",
                None,
                ms(1_000_001_000),
                None,
                None,
                1_999,
                Iat,
            ),
            // A past iat is believed only when the token would otherwise arrive unusable.
            (
                "server an hour behind: exp is in our past",
                None,
                ms(RECEIVED - HOUR),
                ms(RECEIVED - HOUR + 1_800_000),
                None,
                -3_599_001,
                Iat,
            ),
            (
                "client 10 min ahead, 5-min token",
                None,
                ms(RECEIVED - 600_000),
                ms(RECEIVED - 300_000),
                None,
                -599_001,
                Iat,
            ),
            (
                "iat an hour old (simplejwt < 5.5), exp now + 5 s",
                None,
                ms(RECEIVED - HOUR),
                ms(RECEIVED + 5_000),
                None,
                0,
                Nothing,
            ),
            (
                "iat a day old, exp now + 5 s",
                None,
                ms(RECEIVED - 24 * HOUR),
                ms(RECEIVED + 5_000),
                None,
                0,
                Nothing,
            ),
            (
                "iat 2 min old, exp now + 2 s: usable at face value",
                None,
                ms(RECEIVED - 120_000),
                ms(RECEIVED + 2_000),
                None,
                0,
                Nothing,
            ),
            (
                "iat 2 min old, exp now + 1.9 s: not usable",
                None,
                ms(RECEIVED - 120_000),
                ms(RECEIVED + 1_900),
                None,
                -119_001,
                Iat,
            ),
            (
                "a past iat and no exp: nothing to correct",
                None,
                ms(RECEIVED - 1_500),
                None,
                None,
                0,
                Nothing,
            ),
            (
                "slightly behind (latency): agreement",
                None,
                ms(RECEIVED - 500),
                ms(RECEIVED - 200),
                None,
                0,
                Iat,
            ),
            (
                "clocks agree, integer iat",
                None,
                ms(999_999_000),
                ms(1_001_799_000),
                None,
                0,
                Iat,
            ),
            (
                "garbage iat 0",
                None,
                ms(0),
                ms(1_001_800_000),
                None,
                0,
                Nothing,
            ),
            (
                "garbage iat two days ahead",
                None,
                ms(RECEIVED + 48 * HOUR),
                None,
                None,
                0,
                Nothing,
            ),
            (
                "without iat, exp − expires_in is the server's now",
                None,
                None,
                ms(1_001_920_000),
                secs(1_800),
                120_999,
                ExpiresIn,
            ),
            (
                "exp − expires_in beats iat",
                None,
                ms(1_000_300_000),
                ms(1_002_100_000),
                secs(1_800),
                300_999,
                ExpiresIn,
            ),
            (
                "expires_in and a stale iat: the clocks agree",
                None,
                ms(RECEIVED - HOUR),
                ms(1_000_005_000),
                secs(5),
                0,
                ExpiresIn,
            ),
            (
                "exp − expires_in in the past, usable at face value",
                None,
                None,
                ms(RECEIVED + 900_000),
                secs(3_600),
                0,
                Nothing,
            ),
            (
                "exp − expires_in in the past, unusable at face value",
                None,
                None,
                ms(RECEIVED - 300_000),
                secs(300),
                -599_001,
                ExpiresIn,
            ),
            (
                "nothing to go on",
                None,
                None,
                ms(1_001_800_000),
                None,
                0,
                Nothing,
            ),
            // Date beats everything, both ways, and reads as the end of its second.
            (
                "Date: client 10 min ahead, whatever iat says",
                ms(RECEIVED - 600_000),
                ms(RECEIVED + 3_000_000),
                ms(RECEIVED),
                secs(5),
                -599_001,
                Date,
            ),
            (
                "Date: clocks agree, stale iat",
                ms(RECEIVED - 1_000),
                ms(RECEIVED - HOUR),
                ms(RECEIVED + 5_000),
                None,
                0,
                Date,
            ),
            (
                "an implausible Date falls through to iat",
                ms(5),
                ms(1_000_300_000),
                None,
                None,
                300_999,
                Iat,
            ),
        ];
        for (label, date, iat, exp, expires_in, offset, source) in cases {
            let estimate = ClockOffset::estimate(&evidence(RECEIVED, date, iat, exp, expires_in));
            assert_eq!(estimate, (ClockOffset(offset), source), "{label}");
        }
        let nothing = evidence(RECEIVED, None, None, None, secs(60));
        assert_eq!(
            ClockOffset::estimate(&nothing),
            (ClockOffset::ZERO, Nothing)
        );
    }

    #[test]
    fn sources_round_trip_by_name() {
        for source in [
            ClockSource::Date,
            ClockSource::ExpiresIn,
            ClockSource::Iat,
            ClockSource::None,
        ] {
            assert_eq!(ClockSource::from_name(source.as_str()), source);
        }
        assert_eq!(ClockSource::from_name("sundial"), ClockSource::None);
    }

    #[test]
    fn token_timing_moves_exp_onto_the_local_clock() {
        let received = at(1_000_000);
        let timing = |exp, iat, expires_in| {
            TokenTiming::at_receipt(&ClockEvidence {
                received_at: received,
                server_date: None,
                iat,
                exp,
                expires_in,
            })
        };
        // Server five minutes ahead: its exp of +30 min is our +25 min (less the rounding).
        let ahead = timing(Some(at(1_000_300 + 1_800)), Some(at(1_000_300)), None);
        assert_eq!(ahead.clock_offset.as_millis(), 300_999);
        assert_eq!(ahead.clock_source, ClockSource::Iat);
        assert_eq!(
            ahead.expires_at,
            Some(Timestamp::from_millis(1_001_800_000 - 999))
        );
        assert_eq!(ahead.lifetime, Some(Duration::from_millis(1_800_000 - 999)));
        // expires_in alone.
        let only = timing(None, None, Some(Duration::from_secs(90)));
        assert_eq!(only.expires_at, Some(at(1_000_090)));
        assert_eq!(only.lifetime, Some(Duration::from_secs(90)));
        // The stricter of exp and expires_in wins: with a `Date` that says the clocks agree,
        // exp says an hour and expires_in 15 minutes.
        let both = TokenTiming::at_receipt(&ClockEvidence {
            received_at: received,
            server_date: Some(at(1_000_000)),
            iat: Some(at(1_000_000)),
            exp: Some(at(1_003_600)),
            expires_in: Some(Duration::from_secs(900)),
        });
        assert_eq!(both.clock_source, ClockSource::Date);
        assert_eq!(both.expires_at, Some(at(1_000_900)));
        // An iat an hour old never moves expiry past exp read at face value.
        let stale = timing(Some(at(1_000_005)), Some(at(996_400)), None);
        assert_eq!(stale.expires_at, Some(at(1_000_005)));
        // No expiry at all.
        let none = timing(None, Some(at(999_999)), None);
        assert_eq!((none.expires_at, none.lifetime), (None, None));
        // Arrived already expired, with nothing that says the server is behind: zero lifetime,
        // never negative.
        let expired = timing(Some(at(999_000)), None, None);
        assert_eq!(expired.lifetime, Some(Duration::ZERO));
    }

    #[test]
    fn offsets_convert_between_clocks() {
        let ahead = ClockOffset::from_millis(300_000);
        // The server's exp of 2_000 s is our 1_700 s.
        assert_eq!(ahead.to_local(at(2_000)), at(1_700));
        assert_eq!(ClockOffset::ZERO.to_local(at(5)), at(5));
        assert_eq!(
            ClockOffset::from_millis(i64::MIN).to_local(Timestamp::from_millis(i64::MAX)),
            Timestamp::from_millis(i64::MAX)
        );
    }

    #[test]
    fn arithmetic_saturates_and_spans_never_go_negative() {
        let t = Timestamp::from_millis(10_000);
        assert_eq!(t.saturating_add(Duration::from_secs(5)).as_millis(), 15_000);
        assert_eq!(t.saturating_sub(Duration::from_secs(5)).as_millis(), 5_000);
        assert_eq!(
            Timestamp::from_millis(i64::MAX)
                .saturating_add(Duration::MAX)
                .as_millis(),
            i64::MAX
        );
        assert_eq!(
            t.duration_since(Timestamp::from_millis(20_000)),
            Duration::ZERO
        );
        assert_eq!(
            t.duration_since(Timestamp::from_millis(4_000)),
            Duration::from_secs(6)
        );
    }
}
