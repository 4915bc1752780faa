//! Request and resource-unit rates over Graph's 10-second accounting window, from the
//! progress samples the screen takes on each tick. Pure: fed snapshots, no clock of its own.

use std::collections::VecDeque;
use std::time::Duration;

use crate::extract::progress::ProgressSnapshot;

/// Rates are averaged over this window of progress samples: Graph's own resource-unit
/// accounting window, so "used in the window" compares directly with the budget.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Rates over the last [`RATE_WINDOW`] of samples.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    samples: VecDeque<(Duration, u64, u64)>,
    /// Requests per second over the last few seconds.
    pub request_rate: Option<f64>,
    /// Resource units per second over the last few seconds.
    pub ru_rate: Option<f64>,
    /// Resource units spent within the last [`RATE_WINDOW`], to set against the budget.
    pub ru_in_window: Option<u64>,
}

impl Rates {
    /// Adds a sample and updates the rates.
    pub fn observe(&mut self, s: &ProgressSnapshot) {
        if self.samples.back().is_some_and(|b| b.0 > s.elapsed) {
            self.samples.clear(); // a new clock: start the window again
        }
        self.samples
            .push_back((s.elapsed, s.stats.requests, s.stats.resource_units));
        while self
            .samples
            .front()
            .is_some_and(|f| s.elapsed.saturating_sub(f.0) > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return;
        };
        let dt = last.0.saturating_sub(first.0).as_secs_f64();
        if dt > 0.0 {
            self.request_rate = Some(last.1.saturating_sub(first.1) as f64 / dt);
            self.ru_rate = Some(last.2.saturating_sub(first.2) as f64 / dt);
        }
        // Until a whole window has passed, everything spent so far counts; after that the
        // recent rate over a full window (the view may have started mid-run).
        self.ru_in_window = if s.elapsed <= RATE_WINDOW {
            Some(last.2)
        } else {
            self.ru_rate
                .map(|r| (r * RATE_WINDOW.as_secs_f64()).round() as u64)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, requests: u64, units: u64) -> ProgressSnapshot {
        let mut s = ProgressSnapshot {
            elapsed: Duration::from_secs(secs),
            ..Default::default()
        };
        s.stats.requests = requests;
        s.stats.resource_units = units;
        s
    }

    #[test]
    fn rates_come_from_the_sample_window() {
        let mut r = Rates::default();
        r.observe(&at(0, 0, 0));
        assert_eq!(r.request_rate, None);
        r.observe(&at(2, 20, 60));
        assert_eq!(r.request_rate, Some(10.0));
        assert_eq!(r.ru_rate, Some(30.0));
        assert_eq!(
            r.ru_in_window,
            Some(60),
            "everything so far, inside the first window"
        );
        // Past a whole window only the recent samples count.
        r.observe(&at(20, 220, 660));
        r.observe(&at(22, 240, 720));
        assert_eq!(r.request_rate, Some(10.0));
        assert_eq!(r.ru_in_window, Some(300));
        // A new run (its clock restarts) starts a new window.
        r.observe(&at(1, 5, 5));
        assert_eq!(r.ru_in_window, Some(5));
    }
}
