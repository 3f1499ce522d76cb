//! Command-line flags (with `TOKENKEEPER_*` environment variables) and the runtime [`Config`].
//!
//! [`Args`] is what `clap` parses; [`Args::into_config`] checks the combination and turns it
//! into a [`Config`], which is all the handlers ever read. Tests build a [`Config`] directly
//! (starting from [`Config::default`]) so they can use 2-second tokens and cheap hashing.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use axum::http::HeaderValue;
use clap::{builder::BoolishValueParser, Parser, ValueEnum};

/// The backend shape the server emulates (see `shared/API.md`, "Profiles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Seeds 000/003: form login by email, JSON refresh with rotation, logout, `/auth/me`.
    Standard,
    /// Seeds 002/004: form login by username, refresh by query parameter, `/users/me`.
    Minimal,
    /// Seed 001: JSON login by email under `/api/v1`, no refresh, no logout.
    V1,
}

impl Profile {
    /// The profile's name as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::Minimal => "minimal",
            Profile::V1 => "v1",
        }
    }
}

/// Limits on failed logins (a sliding window; see `ratelimit.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failed attempts allowed per account within `window`; the next one gets 429.
    pub per_account: u32,
    /// Failed attempts allowed per client address within `window`.
    pub per_address: u32,
    /// Length of the sliding window.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 30,
            window: Duration::from_secs(900),
        }
    }
}

/// Argon2id cost parameters used when hashing new passwords.
///
/// Verification always uses the parameters stored in the hash itself, so a database written
/// with cheap test parameters still verifies correctly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism.
    pub parallelism: u32,
}

impl HashCost {
    /// The argon2 crate's defaults: m = 19 MiB, t = 2, p = 1 (the OWASP recommendation).
    pub const RECOMMENDED: HashCost = HashCost {
        memory_kib: argon2::Params::DEFAULT_M_COST,
        iterations: argon2::Params::DEFAULT_T_COST,
        parallelism: argon2::Params::DEFAULT_P_COST,
    };
    /// The cheapest parameters argon2 accepts. For tests only: never for real passwords.
    pub const INSECURE_FAST: HashCost = HashCost {
        memory_kib: argon2::Params::MIN_M_COST,
        iterations: argon2::Params::MIN_T_COST,
        parallelism: argon2::Params::MIN_P_COST,
    };
}

impl Default for HashCost {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// Everything the handlers need to know, fixed at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which backend shape to serve.
    pub profile: Profile,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens (each rotation starts a new one).
    pub refresh_ttl: Duration,
    /// How long a just-rotated refresh token may still be presented without being treated as
    /// reuse (two tabs refreshing at once). Zero disables the grace window.
    pub refresh_grace: Duration,
    /// Standard profile: keep the refresh token in an HttpOnly `SameSite=Strict` cookie.
    pub cookie_mode: bool,
    /// Add `Secure` to the refresh cookie (set when the server listens on a non-loopback
    /// address).
    pub cookie_secure: bool,
    /// Minimal profile: include a `refresh_token` in the login reply (the seeds do not).
    pub minimal_refresh_token: bool,
    /// Mount `/__stats`, `/__reset` and `/__faults`, and count requests.
    pub test_mode: bool,
    /// Origins allowed to make credentialed cross-origin calls. Empty: no CORS headers.
    pub cors_origins: Vec<HeaderValue>,
    /// Demo files served at `/`. A missing directory only means 404s.
    pub static_dir: PathBuf,
    /// The wasm-pack output served at `/pkg/`.
    pub pkg_dir: PathBuf,
    /// Failed-login limits.
    pub login_limits: LoginLimits,
    /// Argon2id cost for new hashes.
    pub hash_cost: HashCost,
    /// `Retry-After` (seconds) sent with an injected 429 or 503 when the fault names none.
    pub fault_retry_after: u64,
    /// Test mode: access tokens carry an `iat` this far in the past, as
    /// djangorestframework-simplejwt before 5.5 stamps refreshed tokens (zero: a true `iat`).
    pub iat_age: Duration,
    /// Standard profile: DPoP (RFC 9449). Login and refresh need a proof and bind the tokens
    /// to its key; bound tokens need `Authorization: DPoP` and a proof on every request.
    pub dpop: bool,
    /// With `dpop`: proofs must carry the server's current (or previous) nonce, handed out in
    /// `DPoP-Nonce` (RFC 9449 §8, §9).
    pub dpop_nonce: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            profile: Profile::Standard,
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            refresh_grace: Duration::from_secs(10),
            cookie_mode: false,
            cookie_secure: false,
            minimal_refresh_token: false,
            test_mode: false,
            cors_origins: Vec::new(),
            static_dir: PathBuf::from("www/static"),
            pkg_dir: PathBuf::from("pkg"),
            login_limits: LoginLimits::default(),
            hash_cost: HashCost::RECOMMENDED,
            fault_retry_after: 1,
            iat_age: Duration::ZERO,
            dpop: false,
            dpop_nonce: false,
        }
    }
}

/// Where the SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A private in-memory database (`--db :memory:`), gone when the process exits.
    Memory,
    /// A file, created with its parent directory when missing.
    File(PathBuf),
}

/// The companion server for tokenkeeper: a JWT backend in the shapes of the seed tutorials.
///
/// Every flag can also be set through the environment variable shown. Lists in environment
/// variables are comma-separated.
#[derive(Debug, Parser)]
#[command(name = "tokenkeeper-server", version, about, long_about = None)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, env = "TOKENKEEPER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// SQLite database file (created on first start), or `:memory:`.
    #[arg(
        long,
        value_name = "PATH",
        env = "TOKENKEEPER_DB",
        default_value = "www/data/tokenkeeper.db"
    )]
    pub db: String,

    /// Directory served at `/` (index.html for directories).
    #[arg(
        long,
        value_name = "DIR",
        env = "TOKENKEEPER_STATIC_DIR",
        default_value = "www/static"
    )]
    pub static_dir: PathBuf,

    /// Directory served at `/pkg/` (the wasm-pack output).
    #[arg(
        long,
        value_name = "DIR",
        env = "TOKENKEEPER_PKG_DIR",
        default_value = "pkg"
    )]
    pub pkg_dir: PathBuf,

    /// Access token lifetime, in seconds.
    #[arg(long, value_name = "SECONDS", env = "TOKENKEEPER_ACCESS_TTL", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub access_ttl: u64,

    /// Refresh token lifetime, in seconds.
    #[arg(long, value_name = "SECONDS", env = "TOKENKEEPER_REFRESH_TTL", default_value_t = 604_800,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub refresh_ttl: u64,

    /// Seconds during which a just-rotated refresh token is still honoured (0 disables).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "TOKENKEEPER_REFRESH_GRACE",
        default_value_t = 10
    )]
    pub refresh_grace: u64,

    /// Backend shape to emulate.
    #[arg(long, env = "TOKENKEEPER_PROFILE", value_enum, default_value_t = Profile::Standard)]
    pub profile: Profile,

    /// Keep the refresh token in an HttpOnly SameSite=Strict cookie (standard profile).
    #[arg(long, env = "TOKENKEEPER_COOKIE_MODE", value_parser = BoolishValueParser::new())]
    pub cookie_mode: bool,

    /// Minimal profile: add a refresh_token to the login reply, so clients can refresh.
    #[arg(long, env = "TOKENKEEPER_MINIMAL_REFRESH_TOKEN", value_parser = BoolishValueParser::new())]
    pub minimal_refresh_token: bool,

    /// Origin allowed to call the API from a browser with credentials (repeatable).
    #[arg(
        long = "cors-origin",
        value_name = "ORIGIN",
        env = "TOKENKEEPER_CORS_ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Enable /__stats, /__reset and /__faults (loopback addresses only).
    #[arg(long, env = "TOKENKEEPER_TEST_MODE", value_parser = BoolishValueParser::new())]
    pub test_mode: bool,

    /// Test mode: stamp access tokens with an `iat` this many seconds old, as
    /// djangorestframework-simplejwt before 5.5 does for refreshed tokens.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub iat_age: u64,

    /// DPoP (RFC 9449, standard profile): proof-of-possession for login, refresh and every
    /// protected route; tokens are bound to the client's key (`cnf.jkt`).
    #[arg(long, env = "TOKENKEEPER_DPOP", value_parser = BoolishValueParser::new())]
    pub dpop: bool,

    /// With --dpop: require the server's rotating nonce in proofs (sent in `DPoP-Nonce`).
    #[arg(long, env = "TOKENKEEPER_DPOP_NONCE", value_parser = BoolishValueParser::new())]
    pub dpop_nonce: bool,

    /// HS256 signing secret, at least 32 bytes. When absent, one is generated and stored in
    /// the database.
    #[arg(long, env = "TOKENKEEPER_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Failed logins allowed per account within the window.
    #[arg(long, value_name = "N", env = "TOKENKEEPER_LOGIN_MAX_FAILURES", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures: u32,

    /// Failed logins allowed per client address within the window.
    #[arg(long, value_name = "N", env = "TOKENKEEPER_LOGIN_MAX_FAILURES_PER_IP", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_max_failures_per_ip: u32,

    /// Length of the failed-login window, in seconds.
    #[arg(long, value_name = "SECONDS", env = "TOKENKEEPER_LOGIN_WINDOW", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub login_window: u64,
}

/// A combination of flags the server refuses to start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Shortest accepted `--secret`, in bytes (HS256 keys should be at least 256 bits).
pub const MIN_SECRET_LEN: usize = 32;

impl Args {
    /// Where the database lives.
    pub fn db_location(&self) -> DbLocation {
        if self.db == ":memory:" {
            DbLocation::Memory
        } else {
            DbLocation::File(PathBuf::from(&self.db))
        }
    }

    /// Checks the flags and builds the runtime configuration.
    pub fn into_config(&self) -> Result<Config, ConfigError> {
        let loopback = self.addr.ip().is_loopback();
        if self.test_mode && !loopback {
            return Err(ConfigError(format!(
                "--test-mode is refused on the non-loopback address {}: it lets anyone reset \
                 the server and inject faults",
                self.addr
            )));
        }
        if self.iat_age > 0 && !self.test_mode {
            return Err(ConfigError(
                "--iat-age needs --test-mode: it imitates a backend bug for client tests".into(),
            ));
        }
        if self.cookie_mode && self.profile != Profile::Standard {
            return Err(ConfigError(
                "--cookie-mode needs --profile standard (the other shapes have no cookie)".into(),
            ));
        }
        if self.minimal_refresh_token && self.profile != Profile::Minimal {
            return Err(ConfigError(
                "--minimal-refresh-token needs --profile minimal".into(),
            ));
        }
        if self.dpop && self.profile != Profile::Standard {
            return Err(ConfigError(
                "--dpop needs --profile standard (the other shapes have no DPoP support)".into(),
            ));
        }
        if self.dpop_nonce && !self.dpop {
            return Err(ConfigError("--dpop-nonce needs --dpop".into()));
        }
        if let Some(secret) = &self.secret {
            if secret.len() < MIN_SECRET_LEN {
                return Err(ConfigError(format!(
                    "--secret must be at least {MIN_SECRET_LEN} bytes long"
                )));
            }
        }
        let cors_origins = self
            .cors_origins
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            profile: self.profile,
            access_ttl: Duration::from_secs(self.access_ttl),
            refresh_ttl: Duration::from_secs(self.refresh_ttl),
            refresh_grace: Duration::from_secs(self.refresh_grace),
            cookie_mode: self.cookie_mode,
            cookie_secure: self.cookie_mode && !loopback,
            minimal_refresh_token: self.minimal_refresh_token,
            test_mode: self.test_mode,
            cors_origins,
            static_dir: self.static_dir.clone(),
            pkg_dir: self.pkg_dir.clone(),
            login_limits: LoginLimits {
                per_account: self.login_max_failures,
                per_address: self.login_max_failures_per_ip,
                window: Duration::from_secs(self.login_window),
            },
            hash_cost: HashCost::RECOMMENDED,
            fault_retry_after: 1,
            iat_age: Duration::from_secs(self.iat_age),
            dpop: self.dpop,
            dpop_nonce: self.dpop_nonce,
        })
    }
}

/// Accepts `scheme://host[:port]` with no path; `*` is refused because credentials are allowed.
fn parse_origin(origin: &str) -> Result<HeaderValue, ConfigError> {
    let trimmed = origin.trim().trim_end_matches('/');
    let bad = || {
        ConfigError(format!(
            "--cors-origin {origin:?} is not an origin like http://127.0.0.1:8000"
        ))
    };
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or_else(bad)?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '*', ' ']) {
        return Err(bad());
    }
    HeaderValue::from_str(trimmed).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["tokenkeeper-server"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).expect("flags parse")
    }

    #[test]
    fn defaults_match_the_contract() {
        let a = args(&[]);
        assert_eq!(a.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            a.db_location(),
            DbLocation::File("www/data/tokenkeeper.db".into())
        );
        let c = a.into_config().unwrap();
        assert_eq!(c.profile, Profile::Standard);
        assert_eq!(c.static_dir, PathBuf::from("www/static"));
        assert_eq!(c.pkg_dir, PathBuf::from("pkg"));
        assert!(!c.test_mode && !c.cookie_mode && c.cors_origins.is_empty());
        assert!(!c.dpop && !c.dpop_nonce);
        assert_eq!(c.hash_cost, HashCost::RECOMMENDED);
    }

    #[test]
    fn every_flag_parses() {
        let a = args(&[
            "--addr",
            "127.0.0.1:0",
            "--db",
            ":memory:",
            "--access-ttl",
            "3",
            "--refresh-ttl",
            "20",
            "--refresh-grace",
            "0",
            "--profile",
            "standard",
            "--cookie-mode",
            "--cors-origin",
            "http://127.0.0.1:9000",
            "--cors-origin",
            "http://localhost:9001/",
            "--test-mode",
            "--secret",
            "0123456789abcdef0123456789abcdef",
            "--static-dir",
            "s",
            "--pkg-dir",
            "p",
            "--login-max-failures",
            "3",
            "--login-max-failures-per-ip",
            "4",
            "--login-window",
            "60",
        ]);
        assert_eq!(a.db_location(), DbLocation::Memory);
        let c = a.into_config().unwrap();
        assert_eq!(c.access_ttl, Duration::from_secs(3));
        assert_eq!(c.refresh_ttl, Duration::from_secs(20));
        assert_eq!(c.refresh_grace, Duration::ZERO);
        assert!(c.cookie_mode && c.test_mode && !c.cookie_secure);
        assert_eq!(
            c.cors_origins,
            vec!["http://127.0.0.1:9000", "http://localhost:9001"]
        );
        assert_eq!(c.login_limits.per_account, 3);
        assert_eq!(c.login_limits.per_address, 4);
        assert_eq!(c.login_limits.window, Duration::from_secs(60));
        assert_eq!(args(&["--profile", "v1"]).profile, Profile::V1);
        assert_eq!(args(&["--profile", "minimal"]).profile, Profile::Minimal);
    }

    #[test]
    fn refuses_dangerous_combinations() {
        let err = args(&["--addr", "0.0.0.0:8080", "--test-mode"])
            .into_config()
            .unwrap_err();
        assert!(err.0.contains("non-loopback"), "{err}");
        assert!(args(&["--addr", "[::1]:0", "--test-mode"])
            .into_config()
            .is_ok());
        assert!(args(&["--secret", "short"]).into_config().is_err());
        assert!(args(&["--cors-origin", "*"]).into_config().is_err());
        assert!(args(&["--cors-origin", "http://x/path"])
            .into_config()
            .is_err());
        assert!(args(&["--profile", "v1", "--cookie-mode"])
            .into_config()
            .is_err());
        assert!(args(&["--minimal-refresh-token"]).into_config().is_err());
        assert!(args(&["--iat-age", "3600"]).into_config().is_err());
        let stale = args(&["--iat-age", "3600", "--test-mode"]).into_config();
        assert_eq!(stale.map(|c| c.iat_age), Ok(Duration::from_secs(3600)));
        assert!(Args::try_parse_from(["x", "--access-ttl", "0"]).is_err());
        assert!(Args::try_parse_from(["x", "--profile", "other"]).is_err());
    }

    #[test]
    fn dpop_flags() {
        let c = args(&["--dpop", "--dpop-nonce"]).into_config().unwrap();
        assert!(c.dpop && c.dpop_nonce);
        let err = args(&["--dpop-nonce"]).into_config().unwrap_err();
        assert!(err.0.contains("--dpop-nonce needs --dpop"), "{err}");
        let err = args(&["--dpop", "--profile", "minimal"])
            .into_config()
            .unwrap_err();
        assert!(err.0.contains("standard"), "{err}");
        assert!(args(&["--dpop", "--profile", "v1"]).into_config().is_err());
    }

    #[test]
    fn cookie_is_secure_off_loopback() {
        let c = args(&["--addr", "0.0.0.0:8080", "--cookie-mode"])
            .into_config()
            .unwrap();
        assert!(c.cookie_secure);
    }
}
