//! The shared state handed to every handler: cheap to clone, everything behind `Arc`.

use std::sync::Arc;

use crate::{
    clock::Clock,
    config::{Config, MIN_SECRET_LEN},
    db::{self, Db},
    dpop::Dpop,
    error::ApiError,
    passwords::Passwords,
    ratelimit::LoginLimiter,
    tokens::Signer,
};

/// Handles to configuration, storage, keys and counters.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Fixed at start-up.
    pub config: Arc<Config>,
    /// SQLite.
    pub db: Db,
    /// HS256 key.
    pub signer: Arc<Signer>,
    /// Argon2id.
    pub passwords: Arc<Passwords>,
    /// Failed-login windows.
    pub limiter: Arc<LoginLimiter>,
    /// "Now".
    pub clock: Clock,
    /// DPoP replay cache and nonces (idle without `--dpop`).
    pub dpop: Arc<Dpop>,
}

/// Why the state could not be built.
#[derive(Debug)]
pub struct StateError(pub String);

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StateError {}

impl AppState {
    /// Builds the state: seeds the users on first start and loads (or creates and stores) the
    /// signing secret unless `secret` is given. Blocks for a few password hashes.
    pub fn new(
        config: Config,
        db: Db,
        secret: Option<&str>,
        clock: Clock,
    ) -> Result<Self, StateError> {
        let passwords = Passwords::new(config.hash_cost).map_err(|e| StateError(e.to_string()))?;
        let now = clock.now_secs();
        let secret = db
            .call_blocking(|conn| {
                let seeded = db::seed_if_empty(conn, &passwords, now)?;
                if seeded > 0 {
                    tracing::info!("created {seeded} seed users");
                }
                match secret {
                    Some(s) => Ok(s.to_owned()),
                    None => db::load_or_create_secret(conn),
                }
            })
            .map_err(|_| StateError("cannot initialise the database (see the log)".into()))?;
        if secret.len() < MIN_SECRET_LEN {
            return Err(StateError(format!(
                "the signing secret must be at least {MIN_SECRET_LEN} bytes"
            )));
        }
        let dpop = Dpop::new(config.dpop_nonce, clock.now_ms())
            .map_err(|_| StateError("cannot make a DPoP nonce (see the log)".into()))?;
        Ok(Self {
            dpop: Arc::new(dpop),
            limiter: Arc::new(LoginLimiter::new(config.login_limits)),
            signer: Arc::new(Signer::new(secret.as_bytes())),
            passwords: Arc::new(passwords),
            config: Arc::new(config),
            db,
            clock,
        })
    }

    /// Deletes expired sessions and refresh tokens, and forgets old login failures.
    pub async fn prune(&self) -> Result<db::Pruned, ApiError> {
        let now_ms = self.clock.now_ms();
        self.limiter.prune(now_ms);
        self.db
            .call(move |conn| db::prune(conn, now_ms.div_euclid(1000)))
            .await
    }

    /// Runs a password hash or check on the blocking pool.
    pub async fn hashing<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Passwords) -> R + Send + 'static,
    ) -> Result<R, ApiError> {
        let passwords = Arc::clone(&self.passwords);
        tokio::task::spawn_blocking(move || f(&passwords))
            .await
            .map_err(|e| ApiError::internal("hashing task", e))
    }
}
