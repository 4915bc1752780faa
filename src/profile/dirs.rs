//! Where profiles, secrets files and run history live.

use std::path::PathBuf;

/// Overrides the configuration directory (profiles, plaintext secrets opt-in).
pub const CONFIG_DIR_ENV: &str = "ENTRA_EXTRACT_CONFIG_DIR";
/// Overrides the data directory (run history, logs).
pub const DATA_DIR_ENV: &str = "ENTRA_EXTRACT_DATA_DIR";

/// The two roots entra-extract stores state in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// OS config directory, e.g. `~/.config/entra-extract`, `%APPDATA%\entra-extract\config`.
    pub config: PathBuf,
    /// OS local data directory, e.g. `~/.local/share/entra-extract`,
    /// `%LOCALAPPDATA%\entra-extract\data`.
    pub data: PathBuf,
}

/// No home directory to derive the OS directories from.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find a home directory for the configuration and data directories; set {CONFIG_DIR_ENV} and {DATA_DIR_ENV}"
)]
pub struct NoHomeDir;

impl Dirs {
    /// Explicit roots (tests, packagers).
    pub fn new(config: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        Dirs {
            config: config.into(),
            data: data.into(),
        }
    }

    /// The OS directories (`directories::ProjectDirs`), each overridable by its variable.
    pub fn from_env() -> Result<Self, NoHomeDir> {
        let config = non_empty_env(CONFIG_DIR_ENV);
        let data = non_empty_env(DATA_DIR_ENV);
        if let (Some(config), Some(data)) = (&config, &data) {
            return Ok(Dirs::new(config, data));
        }
        let project = directories::ProjectDirs::from("", "", "entra-extract").ok_or(NoHomeDir)?;
        Ok(Dirs {
            config: config.unwrap_or_else(|| project.config_dir().to_path_buf()),
            // The local one: on Windows `%LOCALAPPDATA%`, since run history, logs and the
            // copy of the last run's files must not roam to a server with the user's profile
            // (elsewhere it is the data directory itself).
            data: data.unwrap_or_else(|| project.data_local_dir().to_path_buf()),
        })
    }

    /// `<config>/profiles`.
    pub fn profiles(&self) -> PathBuf {
        self.config.join("profiles")
    }

    /// `<config>/secrets` (only used by the plaintext opt-in).
    pub fn secrets(&self) -> PathBuf {
        self.config.join("secrets")
    }

    /// `<data>/history`.
    pub fn history(&self) -> PathBuf {
        self.data.join("history")
    }

    /// `<data>/state`: one directory per profile ([`Dirs::state`]).
    pub fn states(&self) -> PathBuf {
        self.data.join("state")
    }

    /// `<data>/state/<profile>`: what the profile's next run starts from (delta links and
    /// the previous run's files).
    pub fn state(&self, profile: &crate::profile::ProfileName) -> PathBuf {
        self.states().join(profile.as_str())
    }
}

fn non_empty_env(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
