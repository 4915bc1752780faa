//! Saved profiles (TOML in the OS config directory) and run history. Never the secret.
//!
//! A profile remembers everything needed to extract a tenant again; the client secret lives
//! in [`crate::secret`] (environment, systemd credential or OS keyring).

pub mod dirs;
pub mod fsutil;
pub mod history;
pub mod model;
pub mod name;
pub mod state;
pub mod store;

pub use dirs::Dirs;
pub use history::{Outcome, RunRecord};
pub use model::{CredentialKind, Profile, SecretStorage};
pub use name::ProfileName;
pub use store::{ProfileError, ProfileStore};

/// One saved profile with its last run: a row of `profile list` and of the wizard's home
/// screen.
#[derive(Debug)]
pub struct ProfileSummary {
    /// The profile's name.
    pub name: ProfileName,
    /// The profile, or why its file is unreadable.
    pub profile: Result<Profile, ProfileError>,
    /// The most recent run, if any, or why the history is unreadable.
    pub last_run: Result<Option<RunRecord>, history::HistoryError>,
}

/// Every saved profile, sorted by name, with its last run.
pub fn summaries(store: &ProfileStore) -> Result<Vec<ProfileSummary>, ProfileError> {
    let history = history::History::new(store.dirs());
    Ok(store
        .list()?
        .into_iter()
        .map(|(name, profile)| ProfileSummary {
            last_run: history.last_run(&name),
            name,
            profile,
        })
        .collect())
}
