//! SQLite storage: users, sessions (refresh token families), refresh tokens, settings.
//!
//! One connection behind a mutex; async code reaches it through [`Db::call`], which runs the
//! closure on the blocking pool. Times are Unix seconds except `rotated_at_ms`.
//!
//! Revocation is per session: every standard token carries its session id (`sid`), logout and
//! reuse detection mark the session revoked, and a revoked session is kept until everything
//! issued in it would have expired (`expires_at`), then [`prune`] deletes it.

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::{config::DbLocation, error::ApiError, passwords::Passwords};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id             TEXT PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_reason TEXT
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    jti           TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    rotated_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_expires ON refresh_tokens(expires_at);
";

/// The accounts created on first start (their passwords are in `www/README.md`).
pub const SEED_USERS: [SeedUser; 3] = [
    SeedUser {
        email: "admin@example.com",
        username: "admin",
        name: "Ada Admin",
        password: "admin-password",
        role: "admin",
        active: true,
    },
    SeedUser {
        email: "user@example.com",
        username: "user",
        name: "Uma User",
        password: "user-password",
        role: "user",
        active: true,
    },
    SeedUser {
        email: "inactive@example.com",
        username: "inactive",
        name: "Ivo Inactive",
        password: "inactive-password",
        role: "user",
        active: false,
    },
];

/// One seed account.
#[derive(Debug, Clone, Copy)]
pub struct SeedUser {
    /// Email (the login name in the standard and v1 profiles).
    pub email: &'static str,
    /// Username (the login name in the minimal profile).
    pub username: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Plain-text password, documented for the demos.
    pub password: &'static str,
    /// `admin` or `user`.
    pub role: &'static str,
    /// Whether the account may log in.
    pub active: bool,
}

/// A user row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Unique, case-insensitive.
    pub email: String,
    /// Unique, case-insensitive.
    pub username: String,
    /// Display name.
    pub name: String,
    /// PHC string.
    pub password_hash: String,
    /// `admin` or `user`.
    pub role: String,
    /// Inactive users cannot log in or use protected routes.
    pub is_active: bool,
}

/// The columns [`user_from_row`] reads, in order, each with the prefix `$p` (a macro so that
/// `concat!` builds constant SQL, which `prepare_cached` compiles once per connection).
macro_rules! user_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "email, ",
            $p,
            "username, ",
            $p,
            "name, ",
            $p,
            "password_hash, ",
            $p,
            "role, ",
            $p,
            "is_active"
        )
    };
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        email: row.get(1)?,
        username: row.get(2)?,
        name: row.get(3)?,
        password_hash: row.get(4)?,
        role: row.get(5)?,
        is_active: row.get(6)?,
    })
}

/// A failure to open or initialise the database at start-up.
#[derive(Debug)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenError {}

/// The shared connection.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating when needed) the database and its schema.
    pub fn open(location: &DbLocation) -> Result<Self, OpenError> {
        let conn = match location {
            DbLocation::Memory => Connection::open_in_memory(),
            DbLocation::File(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| OpenError(format!("cannot create {}: {e}", dir.display())))?;
                }
                let conn = Connection::open(path);
                restrict_permissions(path);
                conn
            }
        }
        .map_err(|e| OpenError(format!("cannot open the database: {e}")))?;
        let wal = matches!(location, DbLocation::File(_));
        init(&conn, wal).map_err(|e| OpenError(format!("cannot initialise the database: {e}")))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// A fresh in-memory database.
    pub fn memory() -> Result<Self, OpenError> {
        Self::open(&DbLocation::Memory)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, ApiError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| ApiError::internal("database task", e))?
    }

    /// Runs `f` with the connection on the current thread (start-up, tests).
    pub fn call_blocking<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // The file holds password hashes and, unless --secret is given, the signing secret.
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!("cannot restrict permissions of {}: {e}", path.display());
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

fn init(conn: &Connection, wal: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if wal {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    conn.execute_batch(SCHEMA)
}

/// Reads the stored signing secret, generating and storing one when there is none.
pub fn load_or_create_secret(conn: &Connection) -> Result<String, ApiError> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = 'jwt_secret'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(secret) = existing {
        return Ok(secret);
    }
    let secret = crate::tokens::random_hex::<32>()?;
    conn.execute(
        "INSERT INTO settings (key, value) VALUES ('jwt_secret', ?1)",
        params![secret],
    )?;
    Ok(secret)
}

/// Creates the seed users when the table is empty. Returns how many were created.
pub fn seed_if_empty(
    conn: &mut Connection,
    passwords: &Passwords,
    now: i64,
) -> Result<usize, ApiError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?;
    if count > 0 {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    for seed in SEED_USERS {
        let hash = passwords
            .hash(seed.password)
            .map_err(|e| ApiError::internal("seeding", e))?;
        tx.execute(
            "INSERT INTO users (email, username, name, password_hash, role, is_active, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                seed.email,
                seed.username,
                seed.name,
                hash,
                seed.role,
                seed.active,
                now
            ],
        )?;
    }
    tx.commit()?;
    Ok(SEED_USERS.len())
}

/// Test mode: forgets every session and account, then seeds again.
pub fn reset(conn: &mut Connection, passwords: &Passwords, now: i64) -> Result<(), ApiError> {
    {
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM refresh_tokens", [])?;
        tx.execute("DELETE FROM sessions", [])?;
        tx.execute("DELETE FROM users", [])?;
        tx.commit()?;
    }
    seed_if_empty(conn, passwords, now).map(|_| ())
}

/// Finds a user by email or username (case-insensitive).
pub fn find_user_by_login(conn: &Connection, login: &str) -> Result<Option<User>, ApiError> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(""),
        " FROM users WHERE email = ?1 OR username = ?1 LIMIT 1"
    );
    one_user(conn, SQL, params![login])
}

/// Finds a user by email only.
pub fn find_user_by_email(conn: &Connection, email: &str) -> Result<Option<User>, ApiError> {
    const SQL: &str = concat!("SELECT ", user_columns!(""), " FROM users WHERE email = ?1");
    one_user(conn, SQL, params![email])
}

/// Finds a user by id.
pub fn find_user_by_id(conn: &Connection, id: i64) -> Result<Option<User>, ApiError> {
    const SQL: &str = concat!("SELECT ", user_columns!(""), " FROM users WHERE id = ?1");
    one_user(conn, SQL, params![id])
}

/// Finds a user by username only.
pub fn find_user_by_username(conn: &Connection, username: &str) -> Result<Option<User>, ApiError> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(""),
        " FROM users WHERE username = ?1"
    );
    one_user(conn, SQL, params![username])
}

fn one_user(
    conn: &Connection,
    sql: &'static str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Option<User>, ApiError> {
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, user_from_row)
        .optional()?)
}

/// What an access token's session looks like now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Present and not revoked.
    Live,
    /// Revoked, or unknown (never issued here, or forgotten by a test-mode reset).
    Revoked,
}

/// Loads the user of a standard access token together with the state of its session, in one
/// query (this is on every authenticated request).
pub fn user_and_session(
    conn: &Connection,
    user_id: i64,
    session_id: &str,
) -> Result<Option<(User, SessionState)>, ApiError> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!("u."),
        ", s.id IS NOT NULL AND s.revoked_at IS NULL
         FROM users u LEFT JOIN sessions s ON s.id = ?2 AND s.user_id = u.id
         WHERE u.id = ?1"
    );
    let row = conn
        .prepare_cached(SQL)?
        .query_row(params![user_id, session_id], |row| {
            let live: bool = row.get(7)?;
            Ok((user_from_row(row)?, live))
        })
        .optional()?;
    Ok(row.map(|(user, live)| {
        let state = if live {
            SessionState::Live
        } else {
            SessionState::Revoked
        };
        (user, state)
    }))
}

/// Lists users by id.
pub fn list_users(conn: &Connection) -> Result<Vec<User>, ApiError> {
    let mut stmt = conn.prepare(concat!(
        "SELECT ",
        user_columns!(""),
        " FROM users ORDER BY id"
    ))?;
    let users = stmt
        .query_map([], user_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(users)
}

/// The fields of a new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Email.
    pub email: String,
    /// Username.
    pub username: String,
    /// Display name.
    pub name: String,
    /// PHC string.
    pub password_hash: String,
}

/// Why an account could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The email is taken.
    Email,
    /// The username is taken.
    Username,
}

/// Inserts a user with role `user`; `Err(Conflict)` when the email or username is taken.
pub fn insert_user(
    conn: &Connection,
    new: &NewUser,
    now: i64,
) -> Result<Result<User, Conflict>, ApiError> {
    if find_user_by_email(conn, &new.email)?.is_some() {
        return Ok(Err(Conflict::Email));
    }
    if find_user_by_username(conn, &new.username)?.is_some() {
        return Ok(Err(Conflict::Username));
    }
    conn.execute(
        "INSERT INTO users (email, username, name, password_hash, role, is_active, created_at)
         VALUES (?1, ?2, ?3, ?4, 'user', 1, ?5)",
        params![new.email, new.username, new.name, new.password_hash, now],
    )?;
    let id = conn.last_insert_rowid();
    find_user_by_id(conn, id)?
        .map(Ok)
        .ok_or_else(|| ApiError::internal("signup", "inserted user not found"))
}

/// Replaces a password hash.
pub fn set_password_hash(conn: &Connection, user_id: i64, hash: &str) -> Result<(), ApiError> {
    conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![user_id, hash],
    )?;
    Ok(())
}

/// Activates or deactivates an account.
pub fn set_active(conn: &Connection, user_id: i64, active: bool) -> Result<(), ApiError> {
    conn.execute(
        "UPDATE users SET is_active = ?2 WHERE id = ?1",
        params![user_id, active],
    )?;
    Ok(())
}

/// A refresh token as stored (enough to sign it again, byte for byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRow {
    /// Token id.
    pub jti: String,
    /// Session (family) id.
    pub session_id: String,
    /// `iat`, seconds.
    pub issued_at: i64,
    /// `exp`, seconds.
    pub expires_at: i64,
}

/// Starts a session with its first refresh token. `keep_until` is the latest expiry of
/// anything issued in it so far.
pub fn create_session(
    conn: &mut Connection,
    user_id: i64,
    first: &RefreshRow,
    keep_until: i64,
) -> Result<(), ApiError> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![first.session_id, user_id, first.issued_at, keep_until],
    )?;
    insert_refresh(&tx, first, keep_until)?;
    tx.commit()?;
    Ok(())
}

fn insert_refresh(tx: &Transaction<'_>, row: &RefreshRow, keep_until: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        row.jti,
        row.session_id,
        row.issued_at,
        row.expires_at
    ])?;
    extend_session(tx, &row.session_id, keep_until)
}

fn extend_session(tx: &Transaction<'_>, session_id: &str, keep_until: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE sessions SET expires_at = MAX(expires_at, ?2) WHERE id = ?1")?
        .execute(params![session_id, keep_until])?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now rotated and `next` replaces it.
    Rotated {
        /// The session's user.
        user: User,
        /// The new current refresh token.
        next: RefreshRow,
    },
    /// The token was rotated less than the grace window ago (another tab got there first):
    /// the session's current refresh token is handed out again.
    Grace {
        /// The session's user.
        user: User,
        /// The session's current refresh token.
        current: RefreshRow,
    },
    /// The token had been rotated before the grace window: the whole session is now revoked.
    ReuseDetected,
    /// The session was already revoked.
    Revoked,
    /// Not a refresh token issued here (or forgotten by a reset).
    Unknown,
    /// The user is gone or inactive.
    UserInactive,
}

/// Rotation with reuse detection, in one transaction. `next` is the token to issue if the
/// presented one is current; `keep_until` extends the session's retention.
pub fn use_refresh_token(
    conn: &mut Connection,
    jti: &str,
    session_id: &str,
    now_ms: i64,
    grace_ms: i64,
    next: &RefreshRow,
    keep_until: i64,
) -> Result<RefreshOutcome, ApiError> {
    let tx = conn.transaction()?;
    let found = tx
        .prepare_cached(
            "SELECT t.rotated_at_ms, s.revoked_at IS NOT NULL, s.user_id
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
             WHERE t.jti = ?1 AND t.session_id = ?2",
        )?
        .query_row(params![jti, session_id], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    let Some((rotated_at_ms, revoked, user_id)) = found else {
        return Ok(RefreshOutcome::Unknown);
    };
    if revoked {
        return Ok(RefreshOutcome::Revoked);
    }
    let user = match find_user_by_id(&tx, user_id)? {
        Some(user) if user.is_active => user,
        _ => return Ok(RefreshOutcome::UserInactive),
    };
    let outcome = match rotated_at_ms {
        None => {
            tx.prepare_cached("UPDATE refresh_tokens SET rotated_at_ms = ?2 WHERE jti = ?1")?
                .execute(params![jti, now_ms])?;
            insert_refresh(&tx, next, keep_until)?;
            RefreshOutcome::Rotated {
                user,
                next: next.clone(),
            }
        }
        Some(at) if now_ms.saturating_sub(at) < grace_ms => {
            match current_refresh(&tx, session_id)? {
                Some(current) => {
                    extend_session(&tx, session_id, keep_until)?;
                    RefreshOutcome::Grace { user, current }
                }
                None => RefreshOutcome::Revoked,
            }
        }
        Some(_) => {
            revoke_session_tx(
                &tx,
                session_id,
                now_ms.div_euclid(1000),
                "refresh token reuse",
            )?;
            RefreshOutcome::ReuseDetected
        }
    };
    tx.commit()?;
    Ok(outcome)
}

fn current_refresh(tx: &Transaction<'_>, session_id: &str) -> rusqlite::Result<Option<RefreshRow>> {
    tx.query_row(
        "SELECT jti, session_id, issued_at, expires_at FROM refresh_tokens
         WHERE session_id = ?1 AND rotated_at_ms IS NULL
         ORDER BY issued_at DESC, rowid DESC LIMIT 1",
        params![session_id],
        |r| {
            Ok(RefreshRow {
                jti: r.get(0)?,
                session_id: r.get(1)?,
                issued_at: r.get(2)?,
                expires_at: r.get(3)?,
            })
        },
    )
    .optional()
}

fn revoke_session_tx(
    tx: &Transaction<'_>,
    session_id: &str,
    now: i64,
    reason: &str,
) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3
         WHERE id = ?1 AND revoked_at IS NULL",
        params![session_id, now, reason],
    )
}

/// Revokes one session (logout).
pub fn revoke_session(
    conn: &mut Connection,
    session_id: &str,
    now: i64,
    reason: &str,
) -> Result<(), ApiError> {
    let tx = conn.transaction()?;
    revoke_session_tx(&tx, session_id, now, reason)?;
    tx.commit()?;
    Ok(())
}

/// Revokes every live session of a user except `keep` (password change).
pub fn revoke_other_sessions(
    conn: &Connection,
    user_id: i64,
    keep: &str,
    now: i64,
    reason: &str,
) -> Result<usize, ApiError> {
    Ok(conn.execute(
        "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4
         WHERE user_id = ?1 AND id <> ?2 AND revoked_at IS NULL",
        params![user_id, keep, now, reason],
    )?)
}

/// Whether a session is revoked (`None`: unknown).
pub fn session_revoked(conn: &Connection, session_id: &str) -> Result<Option<bool>, ApiError> {
    Ok(conn
        .query_row(
            "SELECT revoked_at IS NOT NULL FROM sessions WHERE id = ?1",
            params![session_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Counts of what [`prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Sessions (revoked or not) past their retention.
    pub sessions: usize,
    /// Expired refresh tokens.
    pub refresh_tokens: usize,
}

/// Deletes what can no longer be presented: expired refresh tokens, and sessions once every
/// token issued in them has expired (a revoked session is kept until then).
pub fn prune(conn: &mut Connection, now: i64) -> Result<Pruned, ApiError> {
    let tx = conn.transaction()?;
    let refresh_tokens = tx.execute(
        "DELETE FROM refresh_tokens WHERE expires_at < ?1",
        params![now],
    )?;
    let sessions = tx.execute("DELETE FROM sessions WHERE expires_at < ?1", params![now])?;
    tx.commit()?;
    Ok(Pruned {
        sessions,
        refresh_tokens,
    })
}

/// Row counts, for tests and logs.
pub fn count(conn: &Connection, table: &str) -> Result<i64, ApiError> {
    let table = match table {
        "users" | "sessions" | "refresh_tokens" | "settings" => table,
        _ => return Err(ApiError::internal("count", "unknown table")),
    };
    Ok(conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HashCost;

    fn setup() -> (Connection, Passwords) {
        let conn = Connection::open_in_memory().unwrap();
        init(&conn, false).unwrap();
        let p = Passwords::new(HashCost::INSECURE_FAST).unwrap();
        (conn, p)
    }

    fn row(jti: &str, sid: &str, iat: i64, exp: i64) -> RefreshRow {
        RefreshRow {
            jti: jti.into(),
            session_id: sid.into(),
            issued_at: iat,
            expires_at: exp,
        }
    }

    #[test]
    fn seeds_once_and_finds_by_email_or_username() {
        let (mut c, p) = setup();
        assert_eq!(seed_if_empty(&mut c, &p, 1).unwrap(), 3);
        assert_eq!(seed_if_empty(&mut c, &p, 1).unwrap(), 0);
        let admin = find_user_by_login(&c, "ADMIN@example.com")
            .unwrap()
            .unwrap();
        assert_eq!(admin.role, "admin");
        assert_eq!(
            find_user_by_login(&c, "Admin").unwrap().unwrap().id,
            admin.id
        );
        assert!(p.verify(Some(&admin.password_hash), "admin-password"));
        assert!(
            !find_user_by_login(&c, "inactive")
                .unwrap()
                .unwrap()
                .is_active
        );
        assert!(find_user_by_login(&c, "nobody").unwrap().is_none());
    }

    #[test]
    fn the_secret_is_generated_once() {
        let (c, _) = setup();
        let a = load_or_create_secret(&c).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(load_or_create_secret(&c).unwrap(), a);
    }

    #[test]
    fn rotation_grace_and_reuse() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        create_session(&mut c, 1, &row("r1", "s", 100, 200), 200).unwrap();
        let out = use_refresh_token(
            &mut c,
            "r1",
            "s",
            100_000,
            5_000,
            &row("r2", "s", 100, 300),
            300,
        )
        .unwrap();
        assert!(matches!(out, RefreshOutcome::Rotated { ref next, .. } if next.jti == "r2"));
        // Within the grace window: the current token (r2) again, no new token.
        let out = use_refresh_token(
            &mut c,
            "r1",
            "s",
            104_999,
            5_000,
            &row("rX", "s", 104, 304),
            304,
        )
        .unwrap();
        assert!(matches!(out, RefreshOutcome::Grace { ref current, .. } if current.jti == "r2"));
        assert_eq!(count(&c, "refresh_tokens").unwrap(), 2);
        // After it: reuse, the session is revoked, r2 stops working too.
        let out = use_refresh_token(
            &mut c,
            "r1",
            "s",
            105_000,
            5_000,
            &row("rY", "s", 105, 305),
            305,
        )
        .unwrap();
        assert_eq!(out, RefreshOutcome::ReuseDetected);
        assert_eq!(session_revoked(&c, "s").unwrap(), Some(true));
        let out = use_refresh_token(
            &mut c,
            "r2",
            "s",
            105_001,
            5_000,
            &row("rZ", "s", 105, 305),
            305,
        )
        .unwrap();
        assert_eq!(out, RefreshOutcome::Revoked);
        // A token id from another session does not match.
        create_session(&mut c, 1, &row("q1", "t", 100, 200), 200).unwrap();
        let out = use_refresh_token(
            &mut c,
            "q1",
            "s",
            105_002,
            5_000,
            &row("q2", "s", 105, 305),
            305,
        )
        .unwrap();
        assert_eq!(out, RefreshOutcome::Unknown);
    }

    #[test]
    fn zero_grace_means_immediate_reuse_detection() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        create_session(&mut c, 1, &row("r1", "s", 100, 200), 200).unwrap();
        use_refresh_token(
            &mut c,
            "r1",
            "s",
            100_000,
            0,
            &row("r2", "s", 100, 300),
            300,
        )
        .unwrap();
        let out = use_refresh_token(
            &mut c,
            "r1",
            "s",
            100_000,
            0,
            &row("r3", "s", 100, 300),
            300,
        )
        .unwrap();
        assert_eq!(out, RefreshOutcome::ReuseDetected);
    }

    #[test]
    fn inactive_users_cannot_refresh() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        create_session(&mut c, 2, &row("r1", "s", 100, 200), 200).unwrap();
        set_active(&c, 2, false).unwrap();
        let out = use_refresh_token(
            &mut c,
            "r1",
            "s",
            100_000,
            0,
            &row("r2", "s", 100, 300),
            300,
        )
        .unwrap();
        assert_eq!(out, RefreshOutcome::UserInactive);
    }

    #[test]
    fn sessions_are_kept_until_everything_in_them_expired() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        // The access token outlives the refresh token: retention follows the later one.
        create_session(&mut c, 1, &row("r1", "s", 100, 150), 180).unwrap();
        revoke_session(&mut c, "s", 120, "logout").unwrap();
        assert_eq!(
            prune(&mut c, 170).unwrap(),
            Pruned {
                sessions: 0,
                refresh_tokens: 1
            }
        );
        assert_eq!(session_revoked(&c, "s").unwrap(), Some(true));
        assert_eq!(
            prune(&mut c, 181).unwrap(),
            Pruned {
                sessions: 1,
                refresh_tokens: 0
            }
        );
        assert_eq!(session_revoked(&c, "s").unwrap(), None);
    }

    #[test]
    fn user_and_session_in_one_query() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        create_session(&mut c, 1, &row("r1", "s", 100, 200), 200).unwrap();
        let (u, st) = user_and_session(&c, 1, "s").unwrap().unwrap();
        assert_eq!((u.id, st), (1, SessionState::Live));
        assert_eq!(
            user_and_session(&c, 2, "s").unwrap().unwrap().1,
            SessionState::Revoked,
            "someone else's session"
        );
        assert_eq!(
            user_and_session(&c, 1, "nope").unwrap().unwrap().1,
            SessionState::Revoked
        );
        revoke_session(&mut c, "s", 150, "logout").unwrap();
        assert_eq!(
            user_and_session(&c, 1, "s").unwrap().unwrap().1,
            SessionState::Revoked
        );
        assert!(user_and_session(&c, 99, "s").unwrap().is_none());
    }

    #[test]
    fn password_change_revokes_the_other_sessions() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        create_session(&mut c, 1, &row("a", "s1", 100, 200), 200).unwrap();
        create_session(&mut c, 1, &row("b", "s2", 100, 200), 200).unwrap();
        create_session(&mut c, 2, &row("c", "s3", 100, 200), 200).unwrap();
        assert_eq!(
            revoke_other_sessions(&c, 1, "s1", 150, "password change").unwrap(),
            1
        );
        assert_eq!(session_revoked(&c, "s1").unwrap(), Some(false));
        assert_eq!(session_revoked(&c, "s2").unwrap(), Some(true));
        assert_eq!(session_revoked(&c, "s3").unwrap(), Some(false));
    }

    #[test]
    fn signup_conflicts() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        let new = NewUser {
            email: "Admin@Example.com".into(),
            username: "x".into(),
            name: "x".into(),
            password_hash: "h".into(),
        };
        assert_eq!(insert_user(&c, &new, 1).unwrap(), Err(Conflict::Email));
        let new = NewUser {
            email: "new@example.com".into(),
            username: "USER".into(),
            ..new
        };
        assert_eq!(insert_user(&c, &new, 1).unwrap(), Err(Conflict::Username));
        let new = NewUser {
            username: "new@example.com".into(),
            ..new
        };
        let u = insert_user(&c, &new, 1).unwrap().unwrap();
        assert_eq!((u.id, u.role.as_str(), u.is_active), (4, "user", true));
    }

    #[test]
    fn reset_forgets_everything_and_seeds_again() {
        let (mut c, p) = setup();
        seed_if_empty(&mut c, &p, 1).unwrap();
        create_session(&mut c, 1, &row("a", "s1", 100, 200), 200).unwrap();
        reset(&mut c, &p, 2).unwrap();
        assert_eq!(count(&c, "sessions").unwrap(), 0);
        assert_eq!(count(&c, "refresh_tokens").unwrap(), 0);
        assert_eq!(count(&c, "users").unwrap(), 3);
        // Ids are not reused, so tokens from before the reset name nobody.
        assert!(find_user_by_id(&c, 1).unwrap().is_none());
    }
}
