//! Live request counters: written by the client, read by progress screens on every tick.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of what a client has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct RequestStats {
    /// Graph requests sent, counting each item of a batch (retries included).
    pub requests: u64,
    /// Attempts that were repeats of an earlier one.
    pub retries: u64,
    /// 429 answers, batch items included.
    pub throttled: u64,
    /// Sum of `x-ms-resource-unit` reported by Graph.
    pub resource_units: u64,
    /// Token endpoint requests.
    pub token_requests: u64,
    /// Current pacing slowdown (1.0 = full speed).
    pub slowdown: f64,
}

#[derive(Default)]
pub(crate) struct StatsCounters {
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) resource_units: AtomicU64,
}

impl StatsCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, token_requests: u64, slowdown: f64) -> RequestStats {
        RequestStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            resource_units: self.resource_units.load(Ordering::Relaxed),
            token_requests,
            slowdown,
        }
    }
}
