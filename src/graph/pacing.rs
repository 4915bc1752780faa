//! Pacing: keep a run under Graph's resource-unit budget instead of bouncing off 429s.
//! A governor token bucket counts resource units (RU), a semaphore caps requests in flight,
//! and an adaptive factor slows the bucket down when Graph reports pressure.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::GraphError;

/// Resource-unit budget of the app+tenant bucket (graph-reference §6).
#[derive(Debug, Clone, PartialEq)]
pub struct PacingPolicy {
    /// RU allowed per `window`; 0 turns RU pacing off. Large tenants: 8,000 / 10 s.
    pub ru_budget: u32,
    /// Length of Graph's accounting window.
    pub window: Duration,
}

impl Default for PacingPolicy {
    fn default() -> Self {
        PacingPolicy {
            ru_budget: 8_000,
            window: Duration::from_secs(10),
        }
    }
}

/// Most the adaptive factor may multiply RU charges by.
const MAX_SLOWDOWN: f64 = 8.0;

/// Documented RU cost of a GET (graph-reference §6) for a path relative to `/v1.0`, or a full
/// URL such as an `@odata.nextLink`.
pub fn estimate_ru(path_and_query: &str) -> u32 {
    let (path, query) = split_path_query(path_and_query);
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip_while(|s| *s == "v1.0" || *s == "beta")
        .collect();
    // A type cast (`/members/microsoft.graph.user`) costs what its relationship costs.
    let meaningful: Vec<String> = segments
        .iter()
        .filter(|s| !s.starts_with("microsoft.graph.") && **s != "$count")
        .map(|s| s.split('(').next().unwrap_or(s).to_ascii_lowercase())
        .collect();
    let is_count = segments.last() == Some(&"$count");
    let mut cost: i64 = match meaningful.last().map(String::as_str) {
        _ if is_count => 1,
        Some("transitivemembers") => 5,
        Some("members") => 3,
        Some("approleassignments") => 2,
        Some("users" | "applications") if meaningful.len() == 1 => 2,
        _ => 1,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match percent_decode(k).to_ascii_lowercase().as_str() {
            "$select" => cost -= 1,
            "$expand" => cost += 1,
            "$top" if v.parse::<u32>().is_ok_and(|n| n < 20) => cost -= 1,
            _ => {}
        }
    }
    cost.max(1) as u32
}

fn split_path_query(s: &str) -> (&str, &str) {
    let s = match s.find("://") {
        // Absolute URL: drop scheme and authority.
        Some(i) => {
            let rest = &s[i + 3..];
            rest.find('/').map_or("", |j| &rest[j..])
        }
        None => s,
    };
    s.split_once('?').unwrap_or((s, ""))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

struct Adaptive {
    /// Multiplies every RU charge; 1.0 = documented cost, more = slower.
    factor: f64,
    /// Nobody starts a request before this (set by a 429's Retry-After).
    pause_until: Option<Instant>,
    /// RU Graph reported beyond our estimates, charged to the next admission.
    debt: u32,
}

/// Admission control shared by all clones of a client.
pub(crate) struct Pacer {
    limiter: Option<DefaultDirectRateLimiter>,
    burst: u32,
    in_flight: Arc<Semaphore>,
    state: Mutex<Adaptive>,
}

impl Pacer {
    pub(crate) fn new(policy: &PacingPolicy, max_in_flight: usize) -> Self {
        // Rate 90 % of the budget with a burst of a tenth: no 10 s window can exceed the budget.
        let (limiter, burst) = match NonZeroU32::new(policy.ru_budget) {
            Some(budget) if !policy.window.is_zero() => {
                let per_window = (f64::from(budget.get()) * 0.9).max(1.0);
                let period = policy
                    .window
                    .div_f64(per_window)
                    .max(Duration::from_nanos(1));
                let burst = NonZeroU32::new((budget.get() / 10).max(1)).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(period)
                    .unwrap_or_else(|| Quota::per_second(budget))
                    .allow_burst(burst);
                (Some(RateLimiter::direct(quota)), burst.get())
            }
            _ => (None, u32::MAX),
        };
        Pacer {
            limiter,
            burst,
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            state: Mutex::new(Adaptive {
                factor: 1.0,
                pause_until: None,
                debt: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Adaptive> {
        // A poisoned lock only means another task panicked mid-update; the numbers stay usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Current slowdown factor (1.0 = full speed), for progress screens.
    pub(crate) fn slowdown(&self) -> f64 {
        self.lock().factor
    }

    /// Waits for a pause to end, for `ru` resource units and for an in-flight slot.
    pub(crate) async fn admit(
        &self,
        ru: u32,
        cancel: &CancellationToken,
    ) -> Result<OwnedSemaphorePermit, GraphError> {
        let pause = self.lock().pause_until;
        if let Some(until) = pause
            && until > Instant::now()
        {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = cancel.cancelled() => return Err(GraphError::Cancelled),
            }
        }
        if ru > 0
            && let Some(limiter) = &self.limiter
        {
            let charge = {
                let mut s = self.lock();
                let c = (f64::from(ru) * s.factor).ceil() as u64 + u64::from(s.debt);
                s.debt = 0;
                c.clamp(1, u64::from(self.burst)) as u32
            };
            if let Some(n) = NonZeroU32::new(charge) {
                tokio::select! {
                    r = limiter.until_n_ready(n) => { let _ = r; }
                    _ = cancel.cancelled() => return Err(GraphError::Cancelled),
                }
            }
        }
        tokio::select! {
            permit = self.in_flight.clone().acquire_owned() => permit
                .map_err(|_| GraphError::Config("request limiter closed".into())),
            _ = cancel.cancelled() => Err(GraphError::Cancelled),
        }
    }

    /// Learns from a response: actual RU cost and Graph's throttle-limit percentage.
    pub(crate) fn observe(&self, estimate: u32, actual: Option<u32>, limit_fraction: Option<f64>) {
        let mut s = self.lock();
        if let Some(actual) = actual
            && actual > estimate
        {
            s.debt = s.debt.saturating_add(actual - estimate);
        }
        match limit_fraction {
            Some(p) if p > 0.8 => {
                s.factor = s.factor.max(1.0 + (p - 0.8) * 5.0).min(MAX_SLOWDOWN);
            }
            _ => s.factor = (s.factor * 0.98).max(1.0),
        }
    }

    /// Resource units spent beyond what was charged (batch items report their own cost).
    pub(crate) fn add_debt(&self, units: u32) {
        let mut s = self.lock();
        s.debt = s.debt.saturating_add(units);
    }

    /// After a 429: everyone waits out Retry-After, and the bucket runs slower for a while.
    pub(crate) fn throttled(&self, retry_after: Option<Duration>) {
        let mut s = self.lock();
        s.factor = (s.factor * 2.0).min(MAX_SLOWDOWN);
        let until = Instant::now() + retry_after.unwrap_or(Duration::from_secs(1));
        s.pause_until = Some(s.pause_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_follow_the_documented_costs() {
        assert_eq!(estimate_ru("/users"), 2);
        assert_eq!(estimate_ru("/users?$select=id,displayName&$top=999"), 1);
        assert_eq!(estimate_ru("/groups"), 1);
        assert_eq!(estimate_ru("/groups/abc/members"), 3);
        assert_eq!(estimate_ru("/groups/abc/members?$select=id"), 2);
        assert_eq!(estimate_ru("/groups/abc/members/microsoft.graph.user"), 3);
        assert_eq!(estimate_ru("/groups/abc/transitiveMembers?$top=5"), 4);
        assert_eq!(estimate_ru("/servicePrincipals/x/appRoleAssignments"), 2);
        assert_eq!(estimate_ru("/applications"), 2);
        assert_eq!(estimate_ru("/groups?$expand=members"), 2);
        assert_eq!(estimate_ru("/groups/abc/owners?$select=id&$top=10"), 1);
        assert_eq!(estimate_ru("/users/$count"), 1);
        assert_eq!(estimate_ru("/users/abc"), 1);
        assert_eq!(
            estimate_ru(
                "https://graph.microsoft.com/v1.0/groups/a/members?%24select=id&%24skiptoken=X"
            ),
            2
        );
        assert_eq!(
            estimate_ru("https://graph.microsoft.com/v1.0/users?$skiptoken=X"),
            2
        );
    }

    #[tokio::test]
    async fn throttling_and_limit_percentage_slow_down_then_recover() {
        let p = Pacer::new(&PacingPolicy::default(), 4);
        assert_eq!(p.slowdown(), 1.0);
        p.observe(1, Some(1), Some(1.2));
        assert!((p.slowdown() - 3.0).abs() < 1e-9);
        p.throttled(Some(Duration::from_millis(1)));
        assert!((p.slowdown() - 6.0).abs() < 1e-9);
        for _ in 0..200 {
            p.observe(1, Some(1), None);
        }
        assert_eq!(p.slowdown(), 1.0);
    }

    #[tokio::test]
    async fn underestimated_cost_becomes_debt_charged_next_time() {
        let p = Pacer::new(&PacingPolicy::default(), 4);
        p.observe(1, Some(5), None);
        assert_eq!(p.lock().debt, 4);
        let cancel = CancellationToken::new();
        let _permit = p.admit(1, &cancel).await.unwrap();
        assert_eq!(p.lock().debt, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_admissions_until_retry_after() {
        let p = Pacer::new(&PacingPolicy::default(), 4);
        p.throttled(Some(Duration::from_secs(3)));
        let start = Instant::now();
        let cancel = CancellationToken::new();
        let _permit = p.admit(1, &cancel).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(3));
    }

    #[tokio::test]
    async fn in_flight_cap_and_cancellation() {
        let p = Pacer::new(
            &PacingPolicy {
                ru_budget: 0,
                ..PacingPolicy::default()
            },
            1,
        );
        let cancel = CancellationToken::new();
        let held = p.admit(1, &cancel).await.unwrap();
        cancel.cancel();
        assert!(matches!(
            p.admit(1, &cancel).await,
            Err(GraphError::Cancelled)
        ));
        drop(held);
    }
}
