//! Clock skew end to end: a session machine driven for many token lifetimes against a simulated
//! server whose clock, `iat` and headers are set per case, checked on the *server's* clock.
//!
//! The machine sees only what a browser would: replies with tokens, `expires_in` when the server
//! sends it, and a `Date` header when the browser may read it. The checks are the promises of
//! `ClockOffset::estimate`: no token is handed out after its real expiry, every refresh leaves
//! before the token it replaces dies on the server, and skew causes no refresh storm.

use serde_json::json;

use crate::logic::config::{AuthClientOptions, Config};
use crate::logic::protocol::HttpReply;
use crate::logic::session::{Effect, Event, Jitter, OpId, Outcome, SessionMachine};
use crate::logic::time::{ClockSource, Timestamp};
use crate::logic::token::decode_unverified;

/// The local clock's start, in epoch milliseconds.
const LOCAL_START: i64 = 1_700_000_000_000;

/// A server as the issue describes them: its clock is `skew_ms` ahead of the client's, it
/// stamps `iat` `iat_age_ms` before its "now" (simplejwt before 5.5 copies the refresh token's),
/// and it may send `expires_in` and an exposed `Date` header.
#[derive(Debug, Clone, Copy)]
struct Server {
    skew_ms: i64,
    lifetime_s: i64,
    iat_age_ms: i64,
    expires_in: bool,
    date: bool,
}

impl Server {
    /// The server's clock, in epoch milliseconds, at `local_ms` after the local start.
    fn now_ms(&self, local_ms: i64) -> i64 {
        LOCAL_START + local_ms + self.skew_ms
    }

    /// A token reply issued at local time `local_ms`; tokens are numbered by `serial`.
    fn issue(&self, local_ms: i64, serial: u32) -> HttpReply {
        let now_s = self.now_ms(local_ms).div_euclid(1000);
        let iat = (self.now_ms(local_ms) - self.iat_age_ms).div_euclid(1000);
        let claims = json!({"sub": "1", "jti": format!("t{serial}"), "iat": iat, "exp": now_s + self.lifetime_s});
        let payload = base64url(claims.to_string().as_bytes());
        let token = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln");
        let mut body = json!({"access_token": token, "refresh_token": format!("r{serial}"), "token_type": "bearer"});
        if self.expires_in {
            body["expires_in"] = json!(self.lifetime_s);
        }
        let mut reply = HttpReply::json(200, body.to_string());
        if self.date {
            reply.date = Some(http_date(self.now_ms(local_ms)));
        }
        reply
    }
}

/// Unpadded base64url, as tokens carry their parts.
fn base64url(bytes: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64UrlUnpadded::encode_string(bytes)
}

/// An IMF-fixdate (`Tue, 14 Nov 2023 22:13:20 GMT`), as servers send `Date`.
fn http_date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// What a run observed.
#[derive(Default)]
struct Run {
    refreshes: u32,
    /// Server-clock milliseconds between each refresh leaving and the death (server `exp`) of
    /// the token it replaced; negative means late.
    refresh_margins_ms: Vec<i64>,
    /// Tokens handed out by `getAccessToken()` after their server `exp`.
    expired_handed_out: u32,
    /// How long before its server `exp` each token stopped being handed out, at the latest.
    last_use_before_exp_ms: Vec<i64>,
    offset_ms: i64,
    source: Option<ClockSource>,
}

impl std::fmt::Debug for Run {
    /// A summary: a storm's thousands of margins would drown the failure message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let range = |values: &[i64]| (values.iter().min().copied(), values.iter().max().copied());
        f.debug_struct("Run")
            .field("refreshes", &self.refreshes)
            .field("refresh_margins_ms", &range(&self.refresh_margins_ms))
            .field("expired_handed_out", &self.expired_handed_out)
            .field(
                "last_use_before_exp_ms",
                &range(&self.last_use_before_exp_ms),
            )
            .field("offset_ms", &self.offset_ms)
            .field("source", &self.source)
            .finish()
    }
}

fn server_exp_ms(token: &str) -> i64 {
    let claims = decode_unverified(token)
        .expect("our tokens decode")
        .into_claims();
    claims.exp().expect("our tokens have exp").as_millis()
}

/// Logs in at local time 0 and runs for `seconds`, calling `getAccessToken()` every 250 ms and
/// answering every request after `latency_ms`.
fn run(server: Server, seconds: i64) -> Run {
    let options: AuthClientOptions =
        serde_json::from_value(json!({"baseUrl": "https://api.test", "storage": "memory"}))
            .expect("options parse");
    let config = Config::resolve(options).expect("options are valid");
    let mut machine = SessionMachine::new(config, Jitter::Fixed(0.5));
    let latency_ms = 40;
    let mut result = Run::default();
    let mut serial = 0;
    let mut next_tick: Option<i64> = None;
    let mut pending: Option<(i64, crate::logic::session::RequestId)> = None;
    let mut current: Option<String> = None;
    let mut last_handed: Option<(String, i64)> = None;
    let at = |ms: i64| Timestamp::from_millis(LOCAL_START + ms);
    let handle = |machine: &mut SessionMachine,
                  event: Event,
                  now: i64,
                  pending: &mut Option<(i64, crate::logic::session::RequestId)>,
                  next_tick: &mut Option<i64>|
     -> Vec<Effect> {
        let effects = machine.handle(event, at(now));
        for effect in &effects {
            match effect {
                Effect::Send { request, .. } => *pending = Some((now + latency_ms, *request)),
                Effect::ScheduleTick { at } => {
                    *next_tick = Some(at.as_millis() - LOCAL_START);
                }
                Effect::CancelTick => *next_tick = None,
                _ => {}
            }
        }
        effects
    };
    handle(
        &mut machine,
        Event::Start { stored: Ok(None) },
        0,
        &mut pending,
        &mut next_tick,
    );
    let login = Event::Login {
        op: OpId(1),
        username: "ann".into(),
        password: "pw".into(),
    };
    handle(&mut machine, login, 0, &mut pending, &mut next_tick);
    let mut op = 1;
    let mut probe = 250;
    loop {
        let due = [Some(probe), next_tick, pending.map(|(at, _)| at)]
            .into_iter()
            .flatten()
            .min()
            .expect("the probe is always due");
        let now = due;
        if now > seconds * 1000 {
            break;
        }
        let effects = if pending.is_some_and(|(at, _)| at == now) {
            let (_, request) = pending.take().expect("pending");
            if let Some(token) = &current {
                let margin = server_exp_ms(token) - server.now_ms(now - latency_ms);
                result.refresh_margins_ms.push(margin);
                result.refreshes += 1;
            }
            serial += 1;
            let reply = server.issue(now, serial);
            let event = Event::Response {
                request,
                result: Ok(reply),
            };
            handle(&mut machine, event, now, &mut pending, &mut next_tick)
        } else if next_tick == Some(now) {
            next_tick = None;
            handle(&mut machine, Event::Tick, now, &mut pending, &mut next_tick)
        } else {
            probe += 250;
            op += 1;
            let event = Event::GetAccessToken { op: OpId(op) };
            handle(&mut machine, event, now, &mut pending, &mut next_tick)
        };
        for effect in effects {
            match effect {
                Effect::Complete {
                    result: Ok(Outcome::AccessToken(Some(token))),
                    ..
                } => {
                    let exp = server_exp_ms(&token);
                    // The request carrying it reaches the server `latency_ms` later.
                    if server.now_ms(now + latency_ms) >= exp {
                        result.expired_handed_out += 1;
                    }
                    last_handed = Some((token, now));
                }
                Effect::Complete {
                    result: Ok(Outcome::Session(session)),
                    ..
                }
                | Effect::Emit {
                    session: Some(session),
                    ..
                } if current.as_deref() != Some(session.access_token()) => {
                    // A new token: the last use of the one it replaced is final.
                    if let Some((token, used_at)) = last_handed.take() {
                        result
                            .last_use_before_exp_ms
                            .push(server_exp_ms(&token) - server.now_ms(used_at));
                    }
                    current = Some(session.access_token().to_owned());
                }
                _ => {}
            }
        }
    }
    let diagnostics = machine.diagnostics(at(seconds * 1000));
    result.offset_ms = diagnostics.clock_offset.as_millis();
    result.source = Some(diagnostics.clock_source);
    result
}

const HOUR_MS: i64 = 3_600_000;

fn server(skew_ms: i64, lifetime_s: i64, iat_age_ms: i64) -> Server {
    Server {
        skew_ms,
        lifetime_s,
        iat_age_ms,
        expires_in: false,
        date: false,
    }
}

/// The issue's finding: a refreshed token whose `iat` is an hour (or a day) old, with a correct
/// client clock, no `Date` and no `expires_in`. Before the fix the offset read −1 h, the refresh
/// came an hour late and expired tokens were handed out meanwhile.
#[test]
fn a_stale_iat_never_makes_an_expired_token_usable() {
    for iat_age_ms in [HOUR_MS, 24 * HOUR_MS] {
        for lifetime_s in [5, 300] {
            let run = run(server(0, lifetime_s, iat_age_ms), lifetime_s * 6);
            let label = format!("iat {iat_age_ms} ms old, {lifetime_s} s tokens: {run:?}");
            assert_eq!(run.expired_handed_out, 0, "{label}");
            assert!(run.refreshes >= 5, "{label}");
            assert!(run.refresh_margins_ms.iter().all(|m| *m > 0), "{label}");
            assert_eq!(run.offset_ms, 0, "{label}");
            assert_eq!(run.source, Some(ClockSource::None), "{label}");
        }
    }
}

/// A client clock 10 minutes ahead of the server's with 5-minute tokens (which therefore arrive
/// "expired" on the client's clock): one refresh per lifetime, not a storm, and each token is
/// used until shortly before the server's `exp`.
#[test]
fn a_client_clock_ten_minutes_ahead_uses_tokens_to_their_end_without_a_storm() {
    let run = run(server(-600_000, 300, 0), 1_800);
    let label = format!("{run:?}");
    assert_eq!(run.expired_handed_out, 0, "{label}");
    // 30 minutes of 5-minute tokens refreshed a minute early: 7 refreshes, not hundreds.
    assert!((6..=8).contains(&run.refreshes), "{label}");
    assert!(run.refresh_margins_ms.iter().all(|m| *m > 0), "{label}");
    // Used until the refresh margin (60 s) before exp, give or take a probe and the rounding.
    assert!(
        run.last_use_before_exp_ms
            .iter()
            .all(|m| (58_000..=62_000).contains(m)),
        "{label}"
    );
    assert!((run.offset_ms + 600_000).abs() < 1_000, "{label}");
    assert_eq!(run.source, Some(ClockSource::Iat), "{label}");
}

/// A client clock 10 minutes behind: the refresh still comes before the server's `exp`.
#[test]
fn a_client_clock_ten_minutes_behind_refreshes_before_the_servers_exp() {
    for lifetime_s in [5, 300] {
        let run = run(server(600_000, lifetime_s, 0), lifetime_s * 6);
        let label = format!("{lifetime_s} s tokens: {run:?}");
        assert_eq!(run.expired_handed_out, 0, "{label}");
        assert!(run.refreshes >= 5, "{label}");
        assert!(run.refresh_margins_ms.iter().all(|m| *m > 0), "{label}");
        assert!((run.offset_ms - 600_000).abs() < 1_000, "{label}");
    }
}

/// With an exposed `Date` header the offset follows it, within a second, whatever `iat` says:
/// a stale one, one that claims the server is far ahead, or none.
#[test]
fn an_exposed_date_header_decides_the_offset() {
    for skew_ms in [-600_000, 0, 600_000] {
        for iat_age_ms in [0, HOUR_MS, -2 * HOUR_MS] {
            let server = Server {
                date: true,
                ..server(skew_ms, 300, iat_age_ms)
            };
            let run = run(server, 1_800);
            let label = format!("skew {skew_ms}, iat age {iat_age_ms}: {run:?}");
            assert!((run.offset_ms - skew_ms).abs() <= 1_000, "{label}");
            assert_eq!(run.source, Some(ClockSource::Date), "{label}");
            assert_eq!(run.expired_handed_out, 0, "{label}");
            assert!(run.refresh_margins_ms.iter().all(|m| *m > 0), "{label}");
            assert!((6..=8).contains(&run.refreshes), "{label}");
        }
    }
}

/// `expires_in` also tells the server's clock (`exp − expires_in`), so a stale `iat` is harmless
/// with it too, and diagnostics name it.
#[test]
fn expires_in_tells_the_servers_clock() {
    let server = Server {
        expires_in: true,
        ..server(-600_000, 300, HOUR_MS)
    };
    let run = run(server, 1_800);
    assert!((run.offset_ms + 600_000).abs() <= 1_000, "{run:?}");
    assert_eq!(run.source, Some(ClockSource::ExpiresIn), "{run:?}");
    assert_eq!(run.expired_handed_out, 0, "{run:?}");
    assert!((6..=8).contains(&run.refreshes), "{run:?}");
}

#[test]
fn http_dates_are_formatted_as_servers_send_them() {
    assert_eq!(
        http_date(1_700_000_000_000),
        "Tue, 14 Nov 2023 22:13:20 GMT"
    );
    assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(http_date(951_786_061_000), "Tue, 29 Feb 2000 01:01:01 GMT");
}
