//! Saved profiles (TOML in the OS config directory) and run history. Never the secret.
//!
//! A profile remembers everything needed to extract a tenant again; the client secret lives
//! in [`crate::secret`] (environment, systemd credential or OS keyring).

pub mod dirs;
pub mod fsutil;
pub mod history;
pub mod model;
pub mod name;
pub mod store;

pub use dirs::Dirs;
pub use history::{Outcome, RunRecord};
pub use model::{CredentialKind, Profile, SecretStorage};
pub use name::ProfileName;
pub use store::{ProfileError, ProfileStore};
