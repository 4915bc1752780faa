//! Identity resource-unit throttling: a token bucket per app+tenant (graph-reference §6),
//! and the optional per-app limit of requests in flight (an assumption: Graph documents none
//! for the identity service, graph-request-plans.md §5).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Result of charging a request against the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Charge {
    /// Admitted; `used` is the share of the budget in use (for x-ms-throttle-limit-percentage).
    Admitted { used: f64 },
    /// Over budget: retry after this many seconds (fractional).
    Throttled { retry_after: f64 },
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// One token bucket per demo app (the tenant is fixed, so app+tenant = app).
pub struct Throttle {
    enabled: bool,
    capacity: f64,
    /// Resource units refilled per real second.
    rate: f64,
    buckets: Vec<Mutex<Bucket>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("enabled", &self.enabled)
            .field("capacity", &self.capacity)
            .field("rate", &self.rate)
            .finish()
    }
}

/// Budget by tenant size: S < 50 users 3,500; M 50–500 5,000; L > 500 8,000 per 10 s.
pub fn budget_for_users(users: usize) -> u32 {
    if users < 50 {
        3_500
    } else if users <= 500 {
        5_000
    } else {
        8_000
    }
}

/// The documented cost: base per endpoint, −1 with $select, +1 with $expand, −1 with
/// $top < 20, never below 1.
pub fn cost(base: u32, select: bool, expand: bool, small_top: bool) -> u32 {
    let mut c = base as i64;
    if select {
        c -= 1;
    }
    if expand {
        c += 1;
    }
    if small_top {
        c -= 1;
    }
    c.max(1) as u32
}

impl Throttle {
    /// A bucket set: `budget` units per `window` of real time (already time-scaled).
    pub fn new(enabled: bool, budget: u32, window: Duration, apps: usize) -> Throttle {
        let capacity = f64::from(budget.max(1));
        let secs = window.as_secs_f64().max(1e-6);
        let now = Instant::now();
        Throttle {
            enabled,
            capacity,
            rate: capacity / secs,
            buckets: (0..apps)
                .map(|_| {
                    Mutex::new(Bucket {
                        tokens: capacity,
                        last: now,
                    })
                })
                .collect(),
        }
    }

    /// Budget per window.
    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    /// Charges `cost` units to `app`.
    pub fn charge(&self, app: usize, cost: u32) -> Charge {
        if !self.enabled {
            return Charge::Admitted { used: 0.0 };
        }
        let Some(bucket) = self.buckets.get(app) else {
            return Charge::Admitted { used: 0.0 };
        };
        let mut b = match bucket.lock() {
            Ok(b) => b,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.capacity);
        b.last = now;
        let cost = f64::from(cost);
        if b.tokens >= cost {
            b.tokens -= cost;
            Charge::Admitted {
                used: 1.0 - b.tokens / self.capacity,
            }
        } else {
            Charge::Throttled {
                retry_after: ((cost - b.tokens) / self.rate).max(0.001),
            }
        }
    }
}

/// At most N Graph requests of one app in flight; the rest wait in arrival order (tokio's
/// semaphore is fair), and the wait is part of the response time the client sees.
#[derive(Debug)]
pub struct InFlightLimit {
    /// One semaphore per app; `None` = no limit.
    slots: Option<Vec<Semaphore>>,
}

impl InFlightLimit {
    /// `limit` slots for each of `apps` apps (`None` or 0: unlimited).
    pub fn new(limit: Option<usize>, apps: usize) -> InFlightLimit {
        InFlightLimit {
            slots: limit
                .filter(|&n| n > 0)
                .map(|n| (0..apps).map(|_| Semaphore::new(n)).collect()),
        }
    }

    /// Waits for a slot of `app` (requests of no known app, which are refused anyway, and
    /// unlimited servers take none), holding what `waiting` returns while it waits. The slot
    /// frees when the permit drops.
    pub async fn acquire<G>(
        &self,
        app: Option<usize>,
        waiting: impl FnOnce() -> G,
    ) -> Option<SemaphorePermit<'_>> {
        let sem = self.slots.as_ref()?.get(app?)?;
        // With requests already waiting no permit is free, so this can't jump the queue.
        if let Ok(permit) = sem.try_acquire() {
            return Some(permit);
        }
        let _waiting = waiting();
        sem.acquire().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rules() {
        assert_eq!(cost(2, false, false, false), 2);
        assert_eq!(cost(2, true, false, false), 1);
        assert_eq!(cost(1, true, false, true), 1);
        assert_eq!(cost(3, true, true, false), 3);
        assert_eq!(cost(3, true, false, true), 1);
    }

    #[test]
    fn bucket_admits_budget_then_throttles_with_retry_after() {
        let t = Throttle::new(true, 10, Duration::from_secs(100), 1);
        for _ in 0..5 {
            assert!(matches!(t.charge(0, 2), Charge::Admitted { .. }));
        }
        match t.charge(0, 2) {
            Charge::Throttled { retry_after } => assert!(retry_after > 10.0 && retry_after <= 20.0),
            other => panic!("expected throttling, got {other:?}"),
        }
        let off = Throttle::new(false, 1, Duration::from_secs(100), 1);
        assert!(matches!(off.charge(0, 50), Charge::Admitted { .. }));
    }

    #[tokio::test]
    async fn in_flight_limit_queues_beyond_its_slots_and_frees_them_on_drop() {
        let waits = std::sync::atomic::AtomicUsize::new(0);
        let waiting = || waits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let limit = InFlightLimit::new(Some(2), 1);
        let a = limit.acquire(Some(0), waiting).await;
        let b = limit.acquire(Some(0), waiting).await;
        assert!(a.is_some() && b.is_some());
        let third =
            tokio::time::timeout(Duration::from_millis(50), limit.acquire(Some(0), waiting)).await;
        assert!(third.is_err(), "a third request must wait for a slot");
        drop(a);
        let third =
            tokio::time::timeout(Duration::from_secs(5), limit.acquire(Some(0), waiting)).await;
        assert!(matches!(third, Ok(Some(_))));
        assert_eq!(
            waits.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "only the third waited"
        );
        let open = InFlightLimit::new(None, 1);
        assert!(open.acquire(Some(0), waiting).await.is_none());
        assert!(limit.acquire(None, waiting).await.is_none());
    }
}
