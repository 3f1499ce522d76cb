//! Time: a timestamp newtype in milliseconds since the Unix epoch, and `Duration` for spans.
//!
//! JavaScript hands out times as milliseconds since the epoch, JWTs carry seconds (integer or
//! float). One newtype keeps the two from being mixed up with spans.
//!
//! Two clocks are in play: this device's and the server's. Tokens state `exp` and `iat` on the
//! server's clock, timers run on ours, and laptops and phones are routinely minutes (sometimes
//! hours, with a timezone bug on the server) apart. [`ClockOffset::estimate`] measures the gap
//! when a token arrives, and everything after that works in local time.
//!
//! Nothing here reads the system clock: the core takes `now` as an argument, and drivers inject
//! a [`Clock`] (jwt-compact's `TimeOptions { leeway, clock_fn }` pattern), so tests use a
//! [`ManualClock`] and `Date.now()` stays in the browser driver.

use std::cell::Cell;
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

/// A source of the current time, injected so the core never reads a real clock.
///
/// Any `Fn() -> Timestamp` is a clock, so a driver can pass `|| Timestamp::from_millis(now_ms())`.
pub trait Clock {
    /// The current instant on this device's clock.
    fn now(&self) -> Timestamp;
}

impl<F: Fn() -> Timestamp> Clock for F {
    fn now(&self) -> Timestamp {
        self()
    }
}

/// A clock that only moves when told to: for tests and deterministic replays.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Cell<Timestamp>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Cell::new(start),
        }
    }

    /// Moves the clock to `instant` (backwards too, like a user fixing their clock).
    pub fn set(&self, instant: Timestamp) {
        self.now.set(instant);
    }

    /// Moves the clock forward by `span`.
    pub fn advance(&self, span: Duration) {
        self.now.set(self.now.get().saturating_add(span));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.now.get()
    }
}

/// Whether a token whose expiry (on this device's clock) is `expires_at` counts as expired at
/// `now`, tolerating `leeway` of clock error (`leewaySeconds`).
///
/// RFC 7519 §4.1.4: the token is valid only *before* its expiry, so the boundary instant is
/// already expired.
pub fn is_expired(expires_at: Timestamp, now: Timestamp, leeway: Duration) -> bool {
    now >= expires_at.saturating_add(leeway)
}

/// A clock plus the leeway used when judging expiry, after jwt-compact's `TimeOptions`.
#[derive(Debug, Clone)]
pub struct TimeOptions<C = fn() -> Timestamp> {
    /// Clock tolerance when judging expiry.
    pub leeway: Duration,
    /// Where the current time comes from.
    pub clock: C,
}

impl<C: Clock> TimeOptions<C> {
    /// Options with `leeway` reading time from `clock`.
    pub fn new(leeway: Duration, clock: C) -> Self {
        Self { leeway, clock }
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Whether `expires_at` (local clock) has passed, with leeway.
    pub fn is_expired(&self, expires_at: Timestamp) -> bool {
        is_expired(expires_at, self.now(), self.leeway)
    }
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

    /// A local instant on the server's clock.
    pub fn to_server(self, local: Timestamp) -> Timestamp {
        Timestamp(local.0.saturating_add(self.0))
    }

    /// Estimates the offset from a token received at local time `received_at`.
    ///
    /// The server stamped the token when it answered, so its "now" at that moment was about
    /// `iat`, or `exp − expires_in` when the reply carries `expires_in`; our "now" was
    /// `received_at`. `iat` is preferred (it is a statement about the same token); `expires_in`
    /// is used without it.
    ///
    /// Errors are pushed towards "server ahead", the side on which we refresh early rather than
    /// late: a stamp in whole seconds is taken as the *end* of that second (python-jose and
    /// PyJWT truncate, so the server's real "now" was up to a second later). Gaps within
    /// [`DEADBAND`](Self::DEADBAND) either way, and beyond
    /// [`MAX_PLAUSIBLE`](Self::MAX_PLAUSIBLE), give [`ZERO`](Self::ZERO).
    pub fn estimate(
        received_at: Timestamp,
        iat: Option<Timestamp>,
        exp: Option<Timestamp>,
        expires_in: Option<Duration>,
    ) -> Self {
        let stamp = match (iat, exp, expires_in) {
            (Some(iat), _, _) => iat,
            (None, Some(exp), Some(expires_in)) => exp.saturating_sub(expires_in),
            _ => return Self::ZERO,
        };
        let server_now = if stamp.0.rem_euclid(1000) == 0 {
            stamp.saturating_add(Duration::from_millis(999))
        } else {
            stamp
        };
        let raw = signed_millis_between(received_at, server_now);
        let magnitude = Duration::from_millis(raw.unsigned_abs());
        if magnitude > Self::MAX_PLAUSIBLE || magnitude < Self::DEADBAND {
            Self::ZERO
        } else {
            Self(raw)
        }
    }
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
}

impl TokenTiming {
    /// The timing of a token received at `received_at` (local) with claims `exp` and `iat`
    /// (server clock) and the reply's `expires_in`.
    ///
    /// The expiry is the earlier of `exp` moved onto our clock and `received_at + expires_in`,
    /// so a server whose two statements disagree is taken at its stricter word.
    pub fn at_receipt(
        received_at: Timestamp,
        exp: Option<Timestamp>,
        iat: Option<Timestamp>,
        expires_in: Option<Duration>,
    ) -> Self {
        let clock_offset = ClockOffset::estimate(received_at, iat, exp, expires_in);
        let from_exp = exp.map(|exp| clock_offset.to_local(exp));
        let from_expires_in = expires_in.map(|span| received_at.saturating_add(span));
        let expires_at = match (from_exp, from_expires_in) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self {
            expires_at,
            lifetime: expires_at.map(|at| at.duration_since(received_at)),
            clock_offset,
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
    fn clocks_are_injected() {
        let clock = ManualClock::new(at(100));
        assert_eq!(clock.now(), at(100));
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now().as_millis(), 101_500);
        clock.set(at(50));
        assert_eq!(clock.now(), at(50));
        let fixed = || at(7);
        assert_eq!(Clock::now(&fixed), at(7));
        let options = TimeOptions::new(Duration::from_secs(5), ManualClock::new(at(104)));
        assert!(!options.is_expired(at(100)), "within leeway");
        options.clock.advance(Duration::from_secs(1));
        assert!(options.is_expired(at(100)), "leeway used up");
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

    #[test]
    fn offset_is_estimated_from_iat_then_expires_in() {
        let received = Timestamp::from_millis(1_000_000_000);
        let ms = |m: i64| Some(Timestamp::from_millis(m));
        let secs = |s: u64| Some(Duration::from_secs(s));
        // (iat ms, exp ms, expires_in) -> offset ms. Whole-second stamps count as the end of
        // their second (+999 ms): servers truncate.
        type Case = (Option<Timestamp>, Option<Timestamp>, Option<Duration>, i64);
        let cases: [Case; 13] = [
            // Server five minutes ahead, told by a float iat.
            (ms(1_000_300_250), ms(1_002_100_250), None, 300_250),
            // The same with an integer iat.
            (ms(1_000_300_000), ms(1_002_100_000), None, 300_999),
            // Server an hour behind (naive local time on the server).
            (ms(996_400_000), ms(998_200_000), None, -3_599_001),
            // iat wins over expires_in.
            (ms(1_000_300_000), ms(1_002_100_000), secs(60), 300_999),
            // Without iat, exp − expires_in is the server's now.
            (None, ms(1_001_920_000), secs(1_800), 120_999),
            // Clocks agree, integer iat: under a second either way cannot be told from agreement
            // (whole-second stamps), so the session keeps its exact `exp`.
            (ms(999_999_000), ms(1_001_799_000), None, 0),
            (ms(1_000_000_000), None, None, 0),
            // A second or more ahead is believed.
            (ms(1_000_001_000), None, None, 1_999),
            // Server slightly behind (latency): ignored.
            (ms(999_999_500), None, None, 0),
            // Server clearly behind: believed.
            (ms(999_998_500), None, None, -1_500),
            // Nothing to go on.
            (None, ms(1_001_800_000), None, 0),
            // A garbage iat is ignored rather than believed.
            (ms(0), ms(1_001_800_000), None, 0),
            (ms(1_000_000_000 + 2 * 86_400_000), None, None, 0),
        ];
        for (iat, exp, expires_in, expected) in cases {
            let offset = ClockOffset::estimate(received, iat, exp, expires_in);
            assert_eq!(
                offset.as_millis(),
                expected,
                "iat {iat:?} exp {exp:?} expires_in {expires_in:?}"
            );
        }
        assert_eq!(
            ClockOffset::estimate(received, None, None, secs(60)),
            ClockOffset::ZERO
        );
    }

    #[test]
    fn token_timing_moves_exp_onto_the_local_clock() {
        let received = at(1_000_000);
        // Server five minutes ahead: its exp of +30 min is our +25 min (less the rounding).
        let timing = TokenTiming::at_receipt(
            received,
            Some(at(1_000_300 + 1_800)),
            Some(at(1_000_300)),
            None,
        );
        assert_eq!(timing.clock_offset.as_millis(), 300_999);
        assert_eq!(
            timing.expires_at,
            Some(Timestamp::from_millis(1_001_800_000 - 999))
        );
        assert_eq!(
            timing.lifetime,
            Some(Duration::from_millis(1_800_000 - 999))
        );
        // expires_in alone.
        let timing = TokenTiming::at_receipt(received, None, None, Some(Duration::from_secs(90)));
        assert_eq!(timing.expires_at, Some(at(1_000_090)));
        assert_eq!(timing.lifetime, Some(Duration::from_secs(90)));
        // The stricter of exp and expires_in wins.
        let timing = TokenTiming::at_receipt(
            received,
            Some(at(1_003_600)),
            Some(at(1_000_000)),
            Some(Duration::from_secs(900)),
        );
        assert_eq!(timing.expires_at, Some(at(1_000_900)));
        // No expiry at all.
        let timing = TokenTiming::at_receipt(received, None, Some(at(999_999)), None);
        assert_eq!((timing.expires_at, timing.lifetime), (None, None));
        // Arrived already expired: zero lifetime, never negative.
        let timing = TokenTiming::at_receipt(received, Some(at(999_000)), None, None);
        assert_eq!(timing.lifetime, Some(Duration::ZERO));
    }

    #[test]
    fn offsets_convert_between_clocks() {
        let ahead = ClockOffset::from_millis(300_000);
        // The server's exp of 2_000 s is our 1_700 s.
        assert_eq!(ahead.to_local(at(2_000)), at(1_700));
        assert_eq!(ahead.to_server(at(1_700)), at(2_000));
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
