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

use super::error::ExtractError;

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

    /// True while held (whether or not the run has reached the commit point yet). For test
    /// fakes of a run; a front end knows whether it holds.
    #[doc(hidden)]
    pub fn is_held(&self) -> bool {
        matches!(*self.0.borrow(), State::Held | State::Waiting)
    }

    /// True while the run waits at the commit point for a release.
    pub fn run_waits(&self) -> bool {
        *self.0.borrow() == State::Waiting
    }

    /// Stops the run through `cancel` (Ctrl-C, SIGTERM), unless it has passed its commit
    /// point (then it completes). Decided under the hold's lock, as [`pass`](Self::pass)
    /// is, so an interruption is either honoured or told it came late, never both.
    pub fn interrupt(&self, cancel: &CancellationToken) -> Interruption {
        let mut said = Interruption::Stopping;
        self.0.send_if_modified(|s| {
            if *s == State::Passed {
                said = Interruption::Committing;
            } else {
                cancel.cancel();
            }
            false
        });
        said
    }

    /// The run's side, without waiting: passes the commit point when nothing holds it and
    /// `cancel` has not fired, else records that the run waits there.
    fn try_pass(&self, cancel: &CancellationToken) -> Passing {
        let mut passing = Passing::Waiting;
        self.0.send_if_modified(|s| match s {
            _ if cancel.is_cancelled() => {
                passing = Passing::Cancelled;
                false
            }
            State::Open | State::Passed => {
                passing = Passing::Passed;
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
        passing
    }

    /// The run's side: waits at the commit point while held. [`ExtractError::Cancelled`]
    /// when `cancel` fires first (or had fired): the run then ends without committing.
    pub async fn pass(&self, cancel: &CancellationToken) -> Result<(), ExtractError> {
        let mut changes = self.0.subscribe();
        loop {
            changes.borrow_and_update();
            match self.try_pass(cancel) {
                Passing::Passed => return Ok(()),
                Passing::Cancelled => return Err(ExtractError::Cancelled),
                Passing::Waiting => {}
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {}
                // The sender lives in `self`, so the channel never closes under us.
                _ = changes.changed() => {}
            }
        }
    }
}

/// What [`CommitHold::try_pass`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Passing {
    /// The run is past its commit point: its files are (being) renamed into place.
    Passed,
    /// Held: the run waits at its commit point.
    Waiting,
    /// Cancelled before the commit point: no file is to be replaced.
    Cancelled,
}

/// What an interruption (Ctrl-C, SIGTERM) did to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// The run stops; no output file is changed.
    Stopping,
    /// The files were already replacing the previous ones: the run completes.
    Committing,
}

impl Interruption {
    /// What to tell the user, after "interrupted: ".
    pub fn describe(self) -> &'static str {
        match self {
            Interruption::Stopping => "stopping; no output file will be changed",
            Interruption::Committing => {
                "the output files are already being committed, so the run completes"
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
        assert!(hold.run_waits());
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
        assert_eq!(hold.try_pass(&CancellationToken::new()), Passing::Passed);
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
        assert!(!hold.run_waits());
        assert_eq!(hold.try_pass(&CancellationToken::new()), Passing::Passed);
    }

    #[test]
    fn an_interruption_before_the_commit_point_stops_the_run_and_after_it_is_told_it_came_late() {
        let hold = CommitHold::default();
        let cancel = CancellationToken::new();
        assert_eq!(hold.interrupt(&cancel), Interruption::Stopping);
        assert!(cancel.is_cancelled());
        assert_eq!(
            hold.try_pass(&cancel),
            Passing::Cancelled,
            "a run interrupted before its commit point replaces no file"
        );

        let hold = CommitHold::default();
        let cancel = CancellationToken::new();
        assert_eq!(hold.try_pass(&cancel), Passing::Passed);
        assert_eq!(hold.interrupt(&cancel), Interruption::Committing);
        assert!(
            !cancel.is_cancelled(),
            "a committing run is left to complete"
        );
        assert!(Interruption::Committing.describe().contains("committed"));
    }
}
