//! Failed-login limits, per account and per client address, over a sliding window.
//!
//! Only failures count: a suite that logs in successfully a thousand times from 127.0.0.1 is
//! never limited. Once an account (or address) has `max` failures inside the window, every
//! attempt, even with the right password, gets 429 until the oldest failure leaves the window;
//! refused attempts are not recorded, so waiting `Retry-After` is always enough. A successful
//! login clears the account's failures (not the address's).

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    net::IpAddr,
    sync::Mutex,
};

use crate::{clock::duration_ms, config::LoginLimits};

/// Account keys longer than this are cut, so junk usernames cannot grow memory unboundedly.
const MAX_KEY_LEN: usize = 256;

#[derive(Debug, Default)]
struct Window<K> {
    failures: HashMap<K, VecDeque<i64>>,
}

impl<K: Eq + Hash + Clone> Window<K> {
    /// Milliseconds until `key` may try again, if it is blocked.
    fn blocked_for(&mut self, key: &K, max: u32, window_ms: i64, now_ms: i64) -> Option<i64> {
        let times = self.failures.get_mut(key)?;
        while times.front().is_some_and(|&t| t <= now_ms - window_ms) {
            times.pop_front();
        }
        if times.len() >= max as usize {
            times.front().map(|&oldest| oldest + window_ms - now_ms)
        } else {
            None
        }
    }

    fn record(&mut self, key: K, max: u32, now_ms: i64) {
        let times = self.failures.entry(key).or_default();
        times.push_back(now_ms);
        while times.len() > max as usize {
            times.pop_front();
        }
    }

    fn prune(&mut self, window_ms: i64, now_ms: i64) {
        self.failures
            .retain(|_, times| times.back().is_some_and(|&t| t > now_ms - window_ms));
    }
}

/// The two windows.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    accounts: Mutex<Window<String>>,
    addresses: Mutex<Window<IpAddr>>,
}

impl LoginLimiter {
    /// An empty limiter.
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            accounts: Mutex::new(Window {
                failures: HashMap::new(),
            }),
            addresses: Mutex::new(Window {
                failures: HashMap::new(),
            }),
        }
    }

    fn window_ms(&self) -> i64 {
        duration_ms(self.limits.window)
    }

    /// `Err(seconds)` when the account or the address must wait that long (rounded up).
    pub fn check(&self, account: &str, address: Option<IpAddr>, now_ms: i64) -> Result<(), u64> {
        let window = self.window_ms();
        let key = account_key(account);
        let by_account =
            lock(&self.accounts).blocked_for(&key, self.limits.per_account, window, now_ms);
        let by_address = address.and_then(|ip| {
            lock(&self.addresses).blocked_for(&ip, self.limits.per_address, window, now_ms)
        });
        match by_account.max(by_address) {
            Some(ms) => Err(u64::try_from(ms.max(1)).unwrap_or(1).div_ceil(1000)),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt.
    pub fn record_failure(&self, account: &str, address: Option<IpAddr>, now_ms: i64) {
        lock(&self.accounts).record(account_key(account), self.limits.per_account, now_ms);
        if let Some(ip) = address {
            lock(&self.addresses).record(ip, self.limits.per_address, now_ms);
        }
    }

    /// Clears the account's failures after a successful login.
    pub fn record_success(&self, account: &str) {
        lock(&self.accounts).failures.remove(&account_key(account));
    }

    /// Drops keys whose failures have all left the window.
    pub fn prune(&self, now_ms: i64) {
        let window = self.window_ms();
        lock(&self.accounts).prune(window, now_ms);
        lock(&self.addresses).prune(window, now_ms);
    }

    /// Forgets everything (test-mode reset).
    pub fn clear(&self) {
        lock(&self.accounts).failures.clear();
        lock(&self.addresses).failures.clear();
    }

    /// Number of tracked keys (accounts + addresses).
    pub fn tracked(&self) -> usize {
        lock(&self.accounts).failures.len() + lock(&self.addresses).failures.len()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Case-insensitive, trimmed, bounded.
fn account_key(account: &str) -> String {
    account
        .trim()
        .chars()
        .take(MAX_KEY_LEN)
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(per_account: u32, per_address: u32, window_secs: u64) -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            per_account,
            per_address,
            window: Duration::from_secs(window_secs),
        })
    }

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn blocks_an_account_after_max_failures_until_the_window_slides() {
        let l = limiter(3, 100, 60);
        for t in [0, 1_000, 2_000] {
            assert_eq!(l.check("a@x", IP, t), Ok(()));
            l.record_failure("a@x", IP, t);
        }
        assert_eq!(
            l.check("A@X ", IP, 2_500),
            Err(58),
            "case and spaces do not matter"
        );
        assert_eq!(l.check("b@x", IP, 2_500), Ok(()), "other accounts are fine");
        assert_eq!(l.check("a@x", IP, 59_999), Err(1));
        assert_eq!(
            l.check("a@x", IP, 60_000),
            Ok(()),
            "the first failure left the window"
        );
    }

    #[test]
    fn blocks_an_address_across_accounts() {
        let l = limiter(100, 2, 10);
        l.record_failure("a", IP, 0);
        l.record_failure("b", IP, 0);
        assert_eq!(l.check("c", IP, 1), Err(10));
        let other = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(l.check("c", other, 1), Ok(()));
        assert_eq!(
            l.check("c", None, 1),
            Ok(()),
            "no address known: only the account counts"
        );
    }

    #[test]
    fn success_clears_the_account_only() {
        let l = limiter(2, 3, 60);
        l.record_failure("a", IP, 0);
        l.record_success("a");
        l.record_failure("a", IP, 1);
        assert_eq!(l.check("a", IP, 2), Ok(()));
        l.record_failure("b", IP, 2);
        assert_eq!(
            l.check("z", IP, 3),
            Err(60),
            "three failures from the address"
        );
    }

    #[test]
    fn prune_and_clear_forget() {
        let l = limiter(2, 2, 1);
        l.record_failure("a", IP, 0);
        assert_eq!(l.tracked(), 2);
        l.prune(500);
        assert_eq!(l.tracked(), 2);
        l.prune(1_000);
        assert_eq!(l.tracked(), 0);
        l.record_failure("a", IP, 0);
        l.clear();
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn long_keys_are_bounded() {
        let long = "x".repeat(10_000);
        assert_eq!(account_key(&long).len(), MAX_KEY_LEN);
    }
}
