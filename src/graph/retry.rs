//! The one retry policy and the one loop that applies it, to single requests and to the items
//! of a `$batch` alike (the Graph SDKs' retry handler is the model: one predicate, one loop,
//! a `Retry-Attempt` header). Callers describe an attempt; only this loop sleeps for Graph.
//!
//! What is retried, and for how long:
//! - 429 (throttled): as long as Graph asks (Retry-After, else backoff), without a count,
//!   until the wait would end past the run's throttle deadline;
//! - 502/503/504 and network failures: a bounded number of attempts within a per-request
//!   budget (Retry-After honoured when given);
//! - a 200 whose body does not parse: a few times;
//! - an access token Graph refuses: once, with a fresh token.

use std::future::Future;
use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::GraphError;
use super::stats::StatsCounters;

/// Limits for retrying failures that may pass.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request while it fails transiently (5xx, network), the first included.
    pub max_attempts: u32,
    /// Give up on a transient failure when the next wait would end later than this after the
    /// request's first attempt.
    pub total_budget: Duration,
    /// First exponential backoff step (before jitter).
    pub base_delay: Duration,
    /// Largest exponential backoff step (a server's Retry-After may be longer).
    pub max_delay: Duration,
    /// Extra attempts for a 200 whose JSON body does not parse.
    pub malformed_body_retries: u32,
    /// How long after the client was created (the run's start) throttled requests may still
    /// wait: a 429 is retried for as long as Graph asks, unless the wait would end later.
    pub throttle_deadline: Duration,
}

/// Default of [`RetryPolicy::throttle_deadline`]: a throttled run waits up to an hour.
pub const DEFAULT_THROTTLE_DEADLINE: Duration = Duration::from_secs(3600);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            total_budget: Duration::from_secs(300),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            malformed_body_retries: 2,
            throttle_deadline: DEFAULT_THROTTLE_DEADLINE,
        }
    }
}

/// Why an attempt failed in a way worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// 429: Graph asks the app to slow down.
    Throttled,
    /// 502/503/504, a reset connection, a timeout.
    Transient,
    /// A 200 whose body did not parse.
    MalformedBody,
    /// Graph refused the access token (revoked or expired early): retry once, fresh token.
    TokenRejected,
}

/// A failed attempt that may be retried.
#[derive(Debug)]
pub(crate) struct Retryable {
    pub(crate) error: GraphError,
    pub(crate) cause: Cause,
    /// The server's Retry-After, if it sent one.
    pub(crate) retry_after: Option<Duration>,
    /// Graph requests the retry sends again (a batch counts its items; 0 for the token
    /// endpoint), for the statistics.
    pub(crate) items: u64,
}

/// What one attempt came to.
#[derive(Debug)]
pub(crate) enum Attempt<T> {
    Done(T),
    Fatal(GraphError),
    Retry(Retryable),
}

/// Something to attempt until it succeeds or the policy gives up: a single request, or
/// the items of a batch still pending.
pub(crate) trait Attempts {
    type Output;
    /// Makes attempt `n` (1-based; `n - 1` is the `Retry-Attempt` header's value).
    fn attempt(&mut self, n: u32) -> impl Future<Output = Attempt<Self::Output>> + Send;
}

/// Refreshes in a row one request (or `$batch` item) may make after Graph refused its token.
/// More than one: the token another request fetched after an earlier revocation, and handed
/// to this one, may already have been revoked again (a burst of revocations).
const TOKEN_REFRESHES: u32 = 3;

/// Refreshes of the token in a row after Graph refused it, for one request or `$batch` item:
/// a few, never a loop on a token refused every time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TokenRefreshes(u32);

impl TokenRefreshes {
    /// Counts a refusal; whether one more refresh is allowed.
    pub(crate) fn refused(&mut self) -> bool {
        self.0 += 1;
        self.0 <= TOKEN_REFRESHES
    }

    /// Graph got past the token this time: a later refusal is a new revocation (a long
    /// retry can outlive a token), not the fresh token being refused.
    pub(crate) fn got_through(&mut self) {
        self.0 = 0;
    }
}

/// Counts of what went wrong so far for one logical request.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    attempts: u32,
    transient: u32,
    malformed: u32,
    throttled: u32,
    token_refreshes: TokenRefreshes,
}

impl RetryPolicy {
    /// Exponential step for the wait after failure `n` (1-based), before jitter.
    fn exponential_step(&self, n: u32) -> Duration {
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .without_max_times()
            .build()
            .nth(n.saturating_sub(1).min(64) as usize)
            .unwrap_or(self.max_delay)
    }

    /// Full jitter in `[0, step]`.
    fn backoff(&self, n: u32) -> Duration {
        let step = self.exponential_step(n);
        let nanos = step.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// How long to wait before retrying `failure`, or `None` to give up. `request_elapsed`
    /// runs from this request's first attempt, `run_elapsed` from the client's creation.
    pub(crate) fn next_wait(
        &self,
        tally: &mut Tally,
        cause: Cause,
        retry_after: Option<Duration>,
        request_elapsed: Duration,
        run_elapsed: Duration,
    ) -> Option<Duration> {
        if cause != Cause::TokenRejected {
            tally.token_refreshes.got_through();
        }
        match cause {
            Cause::TokenRejected => tally.token_refreshes.refused().then_some(Duration::ZERO),
            Cause::Throttled => {
                tally.throttled += 1;
                // A zero (or past-date) Retry-After gets backoff, so an hour of 429s never
                // turns into a busy loop.
                let delay = retry_after
                    .filter(|d| !d.is_zero())
                    .unwrap_or_else(|| self.backoff(tally.throttled));
                (run_elapsed.saturating_add(delay) <= self.throttle_deadline).then_some(delay)
            }
            Cause::Transient | Cause::MalformedBody => {
                tally.transient += 1;
                if cause == Cause::MalformedBody {
                    tally.malformed += 1;
                    if tally.malformed > self.malformed_body_retries {
                        return None;
                    }
                }
                if tally.transient >= self.max_attempts {
                    return None;
                }
                let delay = retry_after.unwrap_or_else(|| self.backoff(tally.transient));
                (request_elapsed.saturating_add(delay) <= self.total_budget).then_some(delay)
            }
        }
    }
}

/// What the loop needs besides the policy.
pub(crate) struct RetryContext<'a> {
    pub(crate) policy: &'a RetryPolicy,
    pub(crate) cancel: &'a CancellationToken,
    pub(crate) stats: &'a StatsCounters,
    /// When the client was created: the start of the throttle deadline.
    pub(crate) run_started: Instant,
}

/// The loop: attempts `op` until it is done, fails for good, or the policy gives up.
pub(crate) async fn retry<A: Attempts>(
    cx: &RetryContext<'_>,
    op: &mut A,
) -> Result<A::Output, GraphError> {
    let started = Instant::now();
    let mut tally = Tally::default();
    loop {
        if cx.cancel.is_cancelled() {
            return Err(GraphError::Cancelled);
        }
        tally.attempts += 1;
        let failure = match op.attempt(tally.attempts).await {
            Attempt::Done(v) => return Ok(v),
            Attempt::Fatal(e) => return Err(e),
            Attempt::Retry(r) => r,
        };
        let wait = cx.policy.next_wait(
            &mut tally,
            failure.cause,
            failure.retry_after,
            started.elapsed(),
            cx.run_started.elapsed(),
        );
        let Some(delay) = wait else {
            tracing::warn!(attempts = tally.attempts, error = %failure.error, "giving up");
            return Err(give_up(cx.policy, &tally, failure));
        };
        StatsCounters::add(&cx.stats.retries, failure.items);
        tracing::warn!(
            attempt = tally.attempts,
            cause = ?failure.cause,
            delay_ms = delay.as_millis() as u64,
            error = %failure.error,
            "retrying"
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cx.cancel.cancelled() => return Err(GraphError::Cancelled),
        }
    }
}

/// The error a request ends with when the policy stops retrying it. A transient failure
/// counts the attempts the policy limits (the README's "at most 8"), and names apart the
/// throttled ones, which no count limits.
fn give_up(policy: &RetryPolicy, tally: &Tally, failure: Retryable) -> GraphError {
    match failure.cause {
        Cause::Throttled => GraphError::Throttled {
            attempts: tally.attempts,
            retry_after: failure.retry_after,
            deadline: policy.throttle_deadline,
        },
        // A refused token twice over, or a body still malformed, is the error itself.
        Cause::TokenRejected => failure.error,
        Cause::MalformedBody if tally.transient <= policy.malformed_body_retries + 1 => {
            failure.error
        }
        Cause::Transient | Cause::MalformedBody => GraphError::RetriesExhausted {
            attempts: tally.transient,
            throttled: tally.throttled,
            last: Box::new(failure.error),
        },
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

/// A duration for messages: `1h 30m`, `45s`, `1.5s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=9 if d.subsec_millis() > 0 => format!("{:.1}s", d.as_secs_f64()),
        0..=59 => format!("{secs}s"),
        60..=3599 if secs.is_multiple_of(60) => format!("{}m", secs / 60),
        60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
        _ if secs.is_multiple_of(3600) => format!("{}h", secs / 3600),
        _ => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
    }
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

    fn wait(
        p: &RetryPolicy,
        t: &mut Tally,
        cause: Cause,
        ra: Option<Duration>,
    ) -> Option<Duration> {
        p.next_wait(t, cause, ra, Duration::ZERO, Duration::ZERO)
    }

    #[test]
    fn throttling_is_waited_out_without_a_count_until_the_run_deadline() {
        let p = RetryPolicy::default();
        let mut t = Tally::default();
        let ra = Some(Duration::from_secs(1));
        for _ in 0..1000 {
            assert_eq!(wait(&p, &mut t, Cause::Throttled, ra), ra);
        }
        let late = p.throttle_deadline - Duration::from_millis(500);
        assert_eq!(
            p.next_wait(&mut t, Cause::Throttled, ra, Duration::ZERO, late),
            None,
            "the wait would end past the deadline"
        );
        assert_eq!(
            wait(&p, &mut t, Cause::Throttled, Some(p.throttle_deadline * 2)),
            None
        );
        // Retry-After: 0 is backed off, never a busy loop.
        let mut t = Tally::default();
        for _ in 0..5 {
            let d = wait(&p, &mut t, Cause::Throttled, Some(Duration::ZERO)).unwrap();
            assert!(d <= p.exponential_step(t.throttled), "{d:?}");
        }
        let mut zeros = 0;
        for _ in 0..50 {
            zeros += usize::from(
                wait(&p, &mut t, Cause::Throttled, Some(Duration::ZERO)) == Some(Duration::ZERO),
            );
        }
        assert!(zeros < 5, "jittered backoff is almost never zero: {zeros}");
    }

    #[test]
    fn transient_failures_keep_a_bounded_count_and_budget() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let mut t = Tally::default();
        assert!(wait(&p, &mut t, Cause::Transient, None).is_some());
        assert!(wait(&p, &mut t, Cause::Transient, None).is_some());
        assert_eq!(wait(&p, &mut t, Cause::Transient, None), None);
        let mut t = Tally::default();
        let ra = Some(Duration::from_secs(2));
        assert_eq!(
            p.next_wait(
                &mut t,
                Cause::Transient,
                ra,
                Duration::from_secs(299),
                Duration::ZERO
            ),
            None,
            "would end after the per-request budget"
        );
    }

    #[test]
    fn a_refused_token_and_a_bad_body_are_retried_a_few_times() {
        let p = RetryPolicy::default();
        let mut t = Tally::default();
        for _ in 0..TOKEN_REFRESHES {
            assert_eq!(
                wait(&p, &mut t, Cause::TokenRejected, None),
                Some(Duration::ZERO)
            );
        }
        assert_eq!(wait(&p, &mut t, Cause::TokenRejected, None), None);
        // A refusal after a token got through (a long retry outliving it) starts the count
        // again.
        let mut t = Tally::default();
        for _ in 0..TOKEN_REFRESHES {
            assert!(wait(&p, &mut t, Cause::TokenRejected, None).is_some());
        }
        assert!(wait(&p, &mut t, Cause::Transient, None).is_some());
        for _ in 0..TOKEN_REFRESHES {
            assert!(wait(&p, &mut t, Cause::TokenRejected, None).is_some());
        }
        assert_eq!(wait(&p, &mut t, Cause::TokenRejected, None), None);
        let mut t = Tally::default();
        for _ in 0..p.malformed_body_retries {
            assert!(wait(&p, &mut t, Cause::MalformedBody, None).is_some());
        }
        assert_eq!(wait(&p, &mut t, Cause::MalformedBody, None), None);
    }

    #[test]
    fn backoff_is_jittered_below_a_growing_capped_step() {
        let p = RetryPolicy::default();
        assert_eq!(p.exponential_step(1), Duration::from_millis(500));
        assert_eq!(p.exponential_step(2), Duration::from_secs(1));
        assert_eq!(p.exponential_step(4), Duration::from_secs(4));
        assert_eq!(p.exponential_step(20), Duration::from_secs(30));
        for n in 1..8 {
            assert!(p.backoff(n) <= p.exponential_step(n), "{n}");
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_secs(45)), "45s");
        assert_eq!(human(Duration::from_secs(90)), "1m 30s");
        assert_eq!(human(Duration::from_secs(1800)), "30m");
        assert_eq!(human(Duration::from_secs(3600)), "1h");
        assert_eq!(human(Duration::from_secs(5400)), "1h 30m");
    }
}
