//! A hold a front end puts on a run's commit point while it asks its user whether to cancel.
//!
//! Why: the wizard's "Cancel the extraction? y/n" question takes seconds to answer, and a
//! run that reaches its commit meanwhile would replace the files the user is about to keep
//! unchanged. While held, the run keeps reading and writing its temporary files but waits
//! just before renaming them into place; a cancellation then ends it as cancelled (nothing
//! changed), a release lets it commit. Once the run has passed the commit point, a hold
//! says so instead, so the front end can tell its user the files are already written.

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::run::ExtractError;

/// Where a run stands at its commit point; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// No hold: the run commits when it gets there.
    #[default]
    Open,
    /// Held; the run has not reached the commit point yet.
    Held,
    /// Held, and the run is waiting at the commit point.
    Waiting,
    /// The run has passed the commit point: its files are (being) renamed into place.
    Passed,
}

/// What [`CommitHold::hold`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The run will not commit until [`CommitHold::release`] (or ends cancelled).
    Held,
    /// Too late: the run has already replaced the files (or is replacing them now).
    AlreadyCommitted,
}

/// The commit point's hold, shared by a run and its front end (clones are the same hold).
#[derive(Debug, Clone, Default)]
pub struct CommitHold(Arc<watch::Sender<State>>);

impl CommitHold {
    /// Keeps the run from committing until [`CommitHold::release`]; says whether it was in
    /// time.
    pub fn hold(&self) -> Hold {
        let mut answer = Hold::Held;
        self.0.send_if_modified(|s| match s {
            State::Open => {
                *s = State::Held;
                true
            }
            State::Held | State::Waiting => false,
            State::Passed => {
                answer = Hold::AlreadyCommitted;
                false
            }
        });
        answer
    }

    /// Lets the run commit again.
    pub fn release(&self) {
        self.0.send_if_modified(|s| match s {
            State::Held | State::Waiting => {
                *s = State::Open;
                true
            }
            State::Open | State::Passed => false,
        });
    }

    /// True while held (whether or not the run has reached the commit point yet).
    pub fn is_held(&self) -> bool {
        matches!(*self.0.borrow(), State::Held | State::Waiting)
    }

    /// True while the run waits at the commit point for a release.
    pub fn is_waiting(&self) -> bool {
        *self.0.borrow() == State::Waiting
    }

    /// The run's side, without waiting: passes the commit point when nothing holds it
    /// (true), else records that the run waits there (false).
    pub fn try_pass(&self) -> bool {
        let mut passed = false;
        self.0.send_if_modified(|s| match s {
            State::Open | State::Passed => {
                passed = true;
                let changed = *s == State::Open;
                *s = State::Passed;
                changed
            }
            State::Held => {
                *s = State::Waiting;
                true
            }
            State::Waiting => false,
        });
        passed
    }

    /// The run's side: waits at the commit point while held. [`ExtractError::Cancelled`]
    /// when `cancel` fires first (or had fired): the run then ends without committing.
    pub async fn pass(&self, cancel: &CancellationToken) -> Result<(), ExtractError> {
        let mut changes = self.0.subscribe();
        loop {
            if cancel.is_cancelled() {
                return Err(ExtractError::Cancelled);
            }
            changes.borrow_and_update();
            if self.try_pass() {
                return Ok(());
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(ExtractError::Cancelled),
                // The sender lives in `self`, so the channel never closes under us.
                _ = changes.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_held_run_waits_at_the_commit_point_until_released() {
        let hold = CommitHold::default();
        let cancel = CancellationToken::new();
        assert_eq!(hold.hold(), Hold::Held);
        let run = tokio::spawn({
            let (hold, cancel) = (hold.clone(), cancel.clone());
            async move { hold.pass(&cancel).await }
        });
        settle().await;
        assert!(hold.is_waiting());
        assert!(!run.is_finished(), "it must not commit while held");
        hold.release();
        let passed = tokio::time::timeout(Duration::from_secs(5), run).await;
        assert!(passed.expect("released").unwrap().is_ok());
        assert_eq!(hold.hold(), Hold::AlreadyCommitted);
    }

    #[tokio::test]
    async fn a_cancellation_while_held_ends_the_wait_without_committing() {
        let hold = CommitHold::default();
        let cancel = CancellationToken::new();
        hold.hold();
        let run = tokio::spawn({
            let (hold, cancel) = (hold.clone(), cancel.clone());
            async move { hold.pass(&cancel).await }
        });
        settle().await;
        cancel.cancel();
        assert!(matches!(run.await.unwrap(), Err(ExtractError::Cancelled)));
        assert_ne!(hold.hold(), Hold::AlreadyCommitted, "nothing was committed");
    }

    #[tokio::test]
    async fn an_open_hold_lets_the_run_pass_and_a_later_hold_is_too_late() {
        let hold = CommitHold::default();
        assert!(hold.pass(&CancellationToken::new()).await.is_ok());
        assert_eq!(hold.hold(), Hold::AlreadyCommitted);
        hold.release();
        assert!(hold.try_pass());
        // A cancellation that came before the commit point is honoured there.
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(matches!(
            CommitHold::default().pass(&cancel).await,
            Err(ExtractError::Cancelled)
        ));
    }

    #[test]
    fn a_hold_released_before_the_run_arrives_costs_nothing() {
        let hold = CommitHold::default();
        hold.hold();
        hold.release();
        assert!(!hold.is_waiting());
        assert!(hold.try_pass());
    }
}
