//! The one retry policy: which failures are retried, how long to wait, and when to give up.
//! The loop that applies it lives in the client; this module is the pure decision logic.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;

/// Limits for retrying transient failures (429, 503/504, network errors, malformed bodies).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, the first one included.
    pub max_attempts: u32,
    /// Give up when the next wait would end later than this after the first attempt.
    pub total_budget: Duration,
    /// First exponential backoff step (before jitter).
    pub base_delay: Duration,
    /// Largest exponential backoff step (a server's Retry-After may be longer).
    pub max_delay: Duration,
    /// Extra attempts for a 200 whose JSON body does not parse.
    pub malformed_body_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            total_budget: Duration::from_secs(300),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            malformed_body_retries: 2,
        }
    }
}

impl RetryPolicy {
    /// Exponential step for the wait after attempt `attempt` (1-based), before jitter.
    fn exponential_step(&self, attempt: u32) -> Duration {
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .without_max_times()
            .build()
            .nth(attempt.saturating_sub(1).min(64) as usize)
            .unwrap_or(self.max_delay)
    }

    /// How long to wait before the next attempt, or `None` to give up. `retry_after` from the
    /// server wins over backoff; otherwise full jitter in `[0, step]`.
    pub fn delay_before_next(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            Some(d) => d,
            None => {
                let step = self.exponential_step(attempts_made);
                let nanos = step.as_nanos().min(u64::MAX as u128) as u64;
                Duration::from_nanos(rand::rng().random_range(0..=nanos))
            }
        };
        if elapsed.saturating_add(delay) > self.total_budget {
            return None;
        }
        Some(delay)
    }
}

/// Parses a Retry-After value: whole or fractional seconds ("2.128") or an HTTP-date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_fractions_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 2.128 ", now),
            Some(Duration::from_millis(2128))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn server_retry_after_wins_and_budget_limits_it() {
        let p = RetryPolicy::default();
        let ra = Some(Duration::from_millis(2128));
        assert_eq!(p.delay_before_next(1, ra, Duration::ZERO), ra);
        assert_eq!(
            p.delay_before_next(1, Some(Duration::from_secs(400)), Duration::ZERO),
            None
        );
        assert_eq!(
            p.delay_before_next(1, ra, Duration::from_secs(299)),
            None,
            "would end after the total budget"
        );
    }

    #[test]
    fn backoff_is_jittered_below_a_growing_capped_step() {
        let p = RetryPolicy::default();
        assert_eq!(p.exponential_step(1), Duration::from_millis(500));
        assert_eq!(p.exponential_step(2), Duration::from_secs(1));
        assert_eq!(p.exponential_step(4), Duration::from_secs(4));
        assert_eq!(p.exponential_step(20), Duration::from_secs(30));
        for attempt in 1..8 {
            let d = p.delay_before_next(attempt, None, Duration::ZERO).unwrap();
            assert!(d <= p.exponential_step(attempt), "{attempt}: {d:?}");
        }
    }

    #[test]
    fn max_attempts_stops_retrying() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(p.delay_before_next(2, None, Duration::ZERO).is_some());
        assert_eq!(p.delay_before_next(3, None, Duration::ZERO), None);
    }
}
