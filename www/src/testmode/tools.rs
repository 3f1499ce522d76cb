//! The test tools themselves: request counters and pending faults. A leaf: it knows the
//! profile's endpoint paths and nothing of the state, the extractors or the handlers, so the
//! production modules never depend on test mode.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use serde::Serialize;

use crate::{config::Profile, profile::Endpoint};

/// Counts per route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// All counted requests.
    pub total: u64,
    /// `"METHOD /path"` (the route pattern) → counts; `"other"` for static files and 404s.
    pub routes: BTreeMap<String, RouteStats>,
}

/// Counts for one route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouteStats {
    /// Requests.
    pub count: u64,
    /// Status code (or `"dropped"`) → requests.
    pub statuses: BTreeMap<String, u64>,
}

/// What a pending fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer this status (with `Retry-After` when set).
    Status {
        /// HTTP status.
        status: u16,
        /// Seconds.
        retry_after: Option<u64>,
    },
    /// Close the connection without a response; with `after_processing`, only once the
    /// request has been handled (a lost response: e.g. a refresh that rotated the token).
    Drop {
        /// Run the handler first.
        after_processing: bool,
    },
    /// Only delay, then serve normally.
    Pass,
}

/// A fault armed for the next `remaining` calls of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Calls left.
    pub remaining: u32,
    /// Milliseconds to wait first.
    pub delay_ms: u64,
    /// Then this.
    pub action: FaultAction,
}

/// Counters and pending faults of one test-mode router. It carries the profile so the fault
/// middleware can tell which endpoint a route pattern is without reaching for the state.
#[derive(Debug)]
pub struct TestTools {
    profile: Profile,
    stats: Mutex<Stats>,
    faults: Mutex<HashMap<Endpoint, Fault>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TestTools {
    /// No counts and no faults, for the endpoints of `profile`.
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            stats: Mutex::default(),
            faults: Mutex::default(),
        }
    }

    /// The named endpoint served at `route` (a route pattern), if any.
    pub fn endpoint_at(&self, route: &str) -> Option<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .find(|e| e.path(self.profile) == Some(route))
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// Counts one request of `route` that ended with `status`.
    pub(super) fn record(&self, route: String, status: String) {
        let mut stats = lock(&self.stats);
        stats.total += 1;
        let entry = stats.routes.entry(route).or_default();
        entry.count += 1;
        *entry.statuses.entry(status).or_default() += 1;
    }

    /// Arms (or replaces) the fault of an endpoint.
    pub fn arm(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.faults).insert(endpoint, fault);
    }

    /// Takes one use of the endpoint's fault, if any.
    pub(super) fn take(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let fault = faults.get_mut(&endpoint)?;
        fault.remaining = fault.remaining.saturating_sub(1);
        let taken = *fault;
        if fault.remaining == 0 {
            faults.remove(&endpoint);
        }
        Some(taken)
    }

    /// Pending faults, by endpoint name.
    pub fn pending(&self) -> BTreeMap<Endpoint, Fault> {
        lock(&self.faults).iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Forgets counters and faults.
    pub fn clear(&self) {
        *lock(&self.stats) = Stats::default();
        lock(&self.faults).clear();
    }
}
