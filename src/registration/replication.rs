//! Waiting for a new secret to work. Entra replicates a new application and secret across its
//! regions for a while; until then the token endpoint answers as if the app or the secret did
//! not exist (AADSTS700016, AADSTS7000215). That is not a wrong secret, so the sign-in is
//! retried, with visible progress, for a bounded time.

use std::time::Duration;

use tokio::time::Instant;

use crate::graph::{GraphClient, GraphConfig, GraphError};

/// How long to wait for replication unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Pause between sign-in attempts while Entra replicates.
const PAUSE: Duration = Duration::from_secs(2);

/// What the caller shows while waiting.
pub const WAITING: &str = "waiting for Entra to replicate the new secret";

/// When to say [`WAITING`]: as the wait starts and every 10 s after, not on every retry.
#[derive(Debug, Default)]
pub struct WaitNotice {
    last_shown: Option<u64>,
}

impl WaitNotice {
    /// The line to show after waiting `waited`, when one is due.
    pub fn due(&mut self, waited: Duration) -> Option<String> {
        let secs = waited.as_secs();
        if self.last_shown.is_some_and(|l| secs < l + 10) {
            return None;
        }
        self.last_shown = Some(secs);
        Some(format!("{WAITING} ({secs}s) …"))
    }
}

/// Why the new secret did not sign in.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    /// Still refused as unknown when the time was up.
    #[error(
        "Entra still refused the new secret after {}: {last}; replication can take longer in large tenants: run `entra-extract check --profile …` again in a few minutes",
        crate::graph::human_duration(*.waited)
    )]
    StillRefused { waited: Duration, last: GraphError },
    /// Any other failure (network, a different refusal).
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// True for the refusals Entra gives while a new app or secret replicates.
pub fn is_replicating(e: &GraphError) -> bool {
    matches!(e.auth().and_then(|a| a.code()), Some(700016 | 7000215))
}

/// Signs in with `config` until it works, calling `on_wait(elapsed)` before each pause;
/// the client that signed in.
pub async fn wait_for_sign_in(
    config: GraphConfig,
    timeout: Duration,
    mut on_wait: impl FnMut(Duration),
) -> Result<GraphClient, ReplicationError> {
    let cancel = config.cancel.clone();
    let client = GraphClient::new(config)?;
    let started = Instant::now();
    loop {
        match client.token().await {
            Ok(_) => return Ok(client),
            Err(e) if is_replicating(&e) => {
                let waited = started.elapsed();
                if waited >= timeout {
                    return Err(ReplicationError::StillRefused { waited, last: e });
                }
                on_wait(waited);
                tokio::select! {
                    _ = tokio::time::sleep(PAUSE.min(timeout - waited)) => {}
                    _ = cancel.cancelled() => return Err(GraphError::Cancelled.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod notice_tests {
    use super::*;

    #[test]
    fn the_wait_is_shown_at_once_then_every_ten_seconds() {
        let mut n = WaitNotice::default();
        let shown: Vec<u64> = [0, 2, 4, 10, 12, 19, 20, 31]
            .into_iter()
            .filter(|s| n.due(Duration::from_secs(*s)).is_some())
            .collect();
        assert_eq!(shown, [0, 10, 20, 31]);
        assert!(
            WaitNotice::default()
                .due(Duration::from_secs(3))
                .is_some_and(|l| l.starts_with(WAITING) && l.contains("(3s)"))
        );
    }
}
