//! Everything that can change the wizard's state: terminal input, the redraw tick, and the
//! results of background calls. Results carry the generation of the request that produced
//! them so that answers to an abandoned attempt are dropped.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::services::{
    CreatedApp, CredentialProblem, ExtractionError, ExtractionHandle, ExtractionSummary,
    NewAppFailure, NewAppUpdate, ProfileDraft, ProfileSummary, SaveOutcome, SaveProblem,
    ServiceError, StorageProblem, TenantInfo,
};
use crate::permissions::report::PermissionReport;

/// Identifies one background request; see [`super::app::App::update`].
pub type Generation = u64;

/// One input to [`super::app::App::update`].
#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    /// Bracketed paste: the whole pasted text at once.
    Paste(String),
    Resize(u16, u16),
    /// Redraw timer: advances the spinner and samples extraction progress.
    Tick,
    /// Leave now (SIGINT outside raw mode, or a second Ctrl-C).
    Quit,
    /// Stop without asking: a SIGINT from outside or the terminal's input ended, so nobody
    /// can answer a question. A running extraction is cancelled and cleaned up first.
    Interrupt,
    /// The profile list; only the answer to the latest reload is used.
    ProfilesLoaded(Generation, Result<Vec<ProfileSummary>, ServiceError>),
    ProfileLoaded(Generation, Result<Box<ProfileDraft>, ServiceError>),
    /// A deleted profile's name and what was deleted with it.
    ProfileDeleted(Generation, Result<(String, String), ServiceError>),
    Validated(Generation, Result<TenantInfo, CredentialProblem>),
    PermissionsChecked(Generation, Result<PermissionReport, ServiceError>),
    Saved(Generation, Result<SaveOutcome, SaveProblem>),
    ExtractionStarted(Generation, Result<ExtractionHandle, ServiceError>),
    ExtractionFinished(Generation, Result<ExtractionSummary, ExtractionError>),
    /// A creation's progress; the screen checks the generation itself (it arrives while
    /// the creation is still awaited).
    NewAppProgress(Generation, NewAppUpdate),
    /// A creation ended: the new profile and app, or what went wrong.
    NewAppCreated(Generation, Result<CreatedApp, NewAppFailure>),
    NewAppRemoved(Generation, Result<String, ServiceError>),
    /// A secret rotation ended: what became of the old secret, or why nothing changed.
    SecretRotated(Generation, Result<String, ServiceError>),
    /// A profile's secret moved to another storage, or why it stayed.
    SecretStorageChanged(Generation, Result<String, StorageProblem>),
    /// A copied text (`what`, e.g. "the Azure CLI command") was kept in a file, or not.
    CopySaved {
        what: String,
        result: Result<std::path::PathBuf, ServiceError>,
    },
}

impl Action {
    /// The foreground request this answers, for the results the wizard waits on one at a
    /// time. `None` for input, for the profile list (reloads run beside other requests) and
    /// for a finished extraction (checked against the run on screen).
    pub fn awaited_generation(&self) -> Option<Generation> {
        match self {
            Action::ProfileLoaded(g, _)
            | Action::ProfileDeleted(g, _)
            | Action::Validated(g, _)
            | Action::PermissionsChecked(g, _)
            | Action::Saved(g, _)
            | Action::ExtractionStarted(g, _)
            | Action::NewAppCreated(g, _)
            | Action::NewAppRemoved(g, _)
            | Action::SecretRotated(g, _)
            | Action::SecretStorageChanged(g, _) => Some(*g),
            Action::Key(_)
            | Action::Paste(_)
            | Action::Resize(..)
            | Action::Tick
            | Action::Quit
            | Action::Interrupt
            | Action::ProfilesLoaded(..)
            | Action::ExtractionFinished(..)
            | Action::NewAppProgress(..)
            | Action::CopySaved { .. } => None,
        }
    }

    /// A plain key press, for tests and scripted input.
    pub fn key(code: KeyCode) -> Self {
        Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    /// A key press with Ctrl held.
    pub fn ctrl(c: char) -> Self {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }
}
