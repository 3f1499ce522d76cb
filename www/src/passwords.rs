//! Argon2id password hashing. Hashing and verifying are CPU-bound (tens of milliseconds with
//! the recommended cost): handlers run them on the blocking pool.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use crate::config::HashCost;

/// Hashes new passwords with a fixed cost and verifies stored ones.
#[derive(Debug, Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when the account does not exist so that
    /// an unknown email takes as long as a wrong password.
    dummy_hash: String,
}

/// Hashing failed (bad parameters or an RNG failure); never caused by the password itself.
#[derive(Debug)]
pub struct HashError(pub String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "password hashing failed: {}", self.0)
    }
}

impl std::error::Error for HashError {}

impl Passwords {
    /// Builds the hasher; computes one dummy hash (so this blocks for one hash).
    pub fn new(cost: HashCost) -> Result<Self, HashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut me = Self {
            argon2,
            dummy_hash: String::new(),
        };
        me.dummy_hash = me.hash(SaltString::generate(&mut OsRng).as_str())?;
        Ok(me)
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Checks `password` against `stored` (or against the dummy hash when there is no account,
    /// then always false). A malformed stored hash counts as a mismatch.
    pub fn verify(&self, stored: Option<&str>, password: &str) -> bool {
        let target = stored.unwrap_or(&self.dummy_hash);
        let ok = PasswordHash::new(target)
            .map(|parsed| {
                // The parameters come from the stored hash, not from `self`.
                self.argon2
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && stored.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let p = Passwords::new(HashCost::INSECURE_FAST).unwrap();
        let h = p.hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(p.verify(Some(&h), "correct horse"));
        assert!(!p.verify(Some(&h), "wrong horse"));
        assert!(!p.verify(None, "correct horse"));
        assert!(!p.verify(Some("not a phc string"), "x"));
        assert_ne!(h, p.hash("correct horse").unwrap(), "salts differ");
    }

    #[test]
    fn recommended_cost_is_the_owasp_one() {
        let c = HashCost::RECOMMENDED;
        assert_eq!((c.memory_kib, c.iterations, c.parallelism), (19_456, 2, 1));
    }

    #[test]
    fn a_hash_made_cheaply_verifies_with_another_cost() {
        let cheap = Passwords::new(HashCost::INSECURE_FAST).unwrap();
        let h = cheap.hash("pw-123456").unwrap();
        let other = Passwords::new(HashCost {
            memory_kib: 64,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap();
        assert!(other.verify(Some(&h), "pw-123456"));
    }
}
