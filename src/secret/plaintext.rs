//! The loud opt-in: a profile's secret in an owner-only file `<config>/secrets/<name>`.
//!
//! Only for profiles created with `--plaintext-secret-file`; every load returns a warning.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::{SecretError, read_secret_file};
use crate::private_fs;
use crate::profile::{Dirs, ProfileName, fsutil};

/// `<config>/secrets/<name>`.
pub fn path(dirs: &Dirs, name: &ProfileName) -> PathBuf {
    dirs.secrets().join(name.as_str())
}

/// The names that have a secret file, sorted.
pub fn names(dirs: &Dirs) -> Result<Vec<ProfileName>, SecretError> {
    let path = dirs.secrets();
    fsutil::names_in(&path, fsutil::Named::File("")).map_err(|source| SecretError::File {
        action: "list",
        path,
        source,
    })
}

/// The warning shown on every use of a plaintext secret.
pub fn warning(dirs: &Dirs, name: &ProfileName) -> String {
    format!(
        "the client secret of profile \"{name}\" is stored in plain text in {}; anyone who can \
         read that file can read the whole directory. Prefer the OS keyring, \
         ENTRA_EXTRACT_CLIENT_SECRET or a systemd credential",
        path(dirs, name).display()
    )
}

/// Writes the secret (atomically, 0600) and returns the warning to show.
pub fn save(dirs: &Dirs, name: &ProfileName, secret: &SecretString) -> Result<String, SecretError> {
    let path = path(dirs, name);
    private_fs::write_atomic(&path, secret.expose_secret().as_bytes()).map_err(|source| {
        SecretError::File {
            action: "write",
            path,
            source,
        }
    })?;
    Ok(warning(dirs, name))
}

/// Reads the secret, refusing a file others can read; returns it with the warning to show.
pub fn load(dirs: &Dirs, name: &ProfileName) -> Result<(SecretString, String), SecretError> {
    let path = path(dirs, name);
    if !path.exists() {
        return Err(SecretError::NotFound {
            profile: name.clone(),
            looked_in: format!("the plaintext secret file {}", path.display()),
        });
    }
    check_owner_only(&path)?;
    let secret = read_secret_file(&path, "plaintext secret file")?;
    Ok((secret, warning(dirs, name)))
}

/// Deletes the file; returns whether it existed.
pub fn delete(dirs: &Dirs, name: &ProfileName) -> Result<bool, SecretError> {
    let path = path(dirs, name);
    fsutil::remove_if_exists(&path).map_err(|source| SecretError::File {
        action: "remove",
        path,
        source,
    })
}

#[cfg(unix)] // modes
pub(crate) fn check_owner_only(path: &std::path::Path) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| SecretError::File {
            action: "inspect",
            path: path.to_path_buf(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(SecretError::FileTooOpen {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(windows)] // DACLs
pub(crate) fn check_owner_only(path: &std::path::Path) -> Result<(), SecretError> {
    let readers = private_fs::windows::other_readers(path).map_err(|source| SecretError::File {
        action: "inspect",
        path: path.to_path_buf(),
        source,
    })?;
    if !readers.is_empty() {
        return Err(SecretError::FileSharedWith {
            path: path.to_path_buf(),
            readers,
        });
    }
    Ok(())
}
