//! A profile's incremental state directory, `<data>/state/<name>/`, as the profile's
//! lifecycle sees it: deleted with the profile (it holds a copy of the last run's four
//! files: names, UPNs, memberships), moved when the profile is renamed. What is inside
//! belongs to `extract::incremental`; nothing there names the profile, so a moved state
//! stays valid for the profile's next run.

use std::fs;
use std::io;
use std::path::PathBuf;

use super::{Dirs, ProfileName, fsutil};

/// The state directory could not be deleted or moved.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} the incremental state {}: {source}", path.display())]
pub struct StateDirError {
    /// What was attempted.
    pub action: &'static str,
    /// The directory.
    pub path: PathBuf,
    /// The OS error.
    pub source: io::Error,
}

/// The names that have a state directory, sorted: profiles, and what an earlier version
/// left when it removed a profile ([`crate::secret::lifecycle::leftovers`]).
pub fn names(dirs: &Dirs) -> Result<Vec<ProfileName>, StateDirError> {
    let path = dirs.states();
    fsutil::names_in(&path, fsutil::Named::Dir).map_err(|source| StateDirError {
        action: "list",
        path,
        source,
    })
}

/// Deletes the state of `name`; returns whether there was one.
pub fn remove(dirs: &Dirs, name: &ProfileName) -> Result<bool, StateDirError> {
    remove_dir(dirs.state(name))
}

/// Moves the state of `old` to `new`. Whatever lies under `new` already belonged to no
/// profile (`new` is not one yet: an earlier version left it when it removed a profile of
/// that name) and is deleted first, so the renamed profile never starts from it.
pub fn rename(dirs: &Dirs, old: &ProfileName, new: &ProfileName) -> Result<(), StateDirError> {
    let (from, to) = (dirs.state(old), dirs.state(new));
    remove_dir(to.clone())?;
    match fs::rename(&from, &to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound || from.exists() => Err(StateDirError {
            action: "move",
            path: from,
            source: e,
        }),
        _ => Ok(()),
    }
}

fn remove_dir(path: PathBuf) -> Result<bool, StateDirError> {
    match fs::remove_dir_all(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StateDirError {
            action: "delete",
            path,
            source,
        }),
    }
}
