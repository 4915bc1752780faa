//! Owner-only files and directories. Everything that holds tenant data or a secret (profiles,
//! plaintext secrets, CSVs, manifests, incremental state, histories, logs, copied commands)
//! is created here, and the one temporary-file + fsync + rename lives here.
//!
//! - Unix: files 0600 and directories 0700 from the first byte (the process umask is 077
//!   too, for files a library creates: [`owner_only_umask`]).
//! - Windows: an explicit, protected DACL (nothing inherited from the parent) with a single
//!   ACE granting the token's user full control, set when the file or directory is created;
//!   directories pass that ACE on to what is created inside them. No ACE for SYSTEM or
//!   Administrators: see `windows.rs`.
//!
//! A directory that already exists (an output directory the user chose) keeps its own
//! permissions; only what this module creates, or [`restrict`]s, is owner-only.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[cfg(unix)] // modes and umask
mod unix;
#[cfg(unix)] // modes and umask
use unix as sys;
#[cfg(windows)] // security descriptors
pub mod windows;
#[cfg(windows)] // security descriptors
use windows as sys;

/// Start of every temporary file name the program writes; with [`TEMP_SUFFIX`] it marks a
/// file a killed run left behind (the next extraction into that directory removes it).
pub const TEMP_PREFIX: &str = ".entra-extract-";
/// End of every temporary file name.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Creates `dir` and its missing parents; the ones it creates are owner-only.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    sys::create_dir_all(dir)
}

/// Makes an existing file or directory owner-only (0600 / 0700 on Unix; a protected,
/// owner-only DACL on Windows), for what an earlier version or a library left open.
pub fn restrict(path: &Path) -> io::Result<()> {
    // What the change reaches: both calls follow a symlink (a symlinked logs or state
    // directory must stay a directory the owner can enter).
    let is_dir = fs::metadata(path)?.is_dir();
    sys::restrict(path, is_dir)
}

/// Creates a new file (an existing one is an error), readable and writable by its owner only
/// before any byte is written; opened for writing.
pub fn create_new(path: &Path) -> io::Result<File> {
    sys::open(path, Create::New)
}

/// Opens `path` for reading and writing, creating it owner-only when missing (never
/// truncated): a lock file.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    sys::open(path, Create::IfMissing)
}

/// How [`sys::open`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Create {
    /// A new file; an existing one is an error.
    New,
    /// Open an existing file, create a missing one.
    IfMissing,
}

/// A fresh temporary path beside `target`: `.entra-extract-<random>.<name>.tmp`.
pub fn temp_path_for(target: &Path) -> io::Result<PathBuf> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    Ok(parent(target)?.join(format!(
        "{TEMP_PREFIX}{:08x}.{name}{TEMP_SUFFIX}",
        rand::random::<u32>()
    )))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent(path: &Path) -> io::Result<&Path> {
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Ok(Path::new(".")),
        Some(p) => Ok(p),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no parent",
        )),
    }
}

/// Writes `bytes` to `path` so readers see the old file or the whole new one: the missing
/// directories are created owner-only, the bytes go to an owner-only temporary file beside
/// it, which is fsynced and renamed over `path`, then the directory is synced. On failure
/// the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    create_dir(parent(path)?)?;
    let temp = temp_path_for(path)?;
    // Not ours to remove when creating it failed (another writer's file of the same name).
    let mut file = create_new(&temp)?;
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| replace(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Renames the finished (fsynced) `temp` over `target` in the same directory and syncs the
/// directory. The file keeps its owner-only permissions (and DACL) through the rename.
pub fn replace(temp: &Path, target: &Path) -> io::Result<()> {
    fs::rename(temp, target)?;
    sync_dir(parent(target)?);
    Ok(())
}

/// Copies `from` into a new owner-only file `to`, fsynced. (`std::fs::copy` would carry the
/// source's permissions on Unix and the destination folder's inherited ACL on Windows.)
/// A copy that fails midway removes what it wrote of `to`.
pub fn copy_new(from: &Path, to: &Path) -> io::Result<u64> {
    let mut source = File::open(from)?;
    let mut out = create_new(to)?;
    let copied = io::copy(&mut source, &mut out).and_then(|n| out.sync_all().map(|()| n));
    if copied.is_err() {
        let _ = fs::remove_file(to);
    }
    copied
}

/// Makes the renames in `dir` durable. Some file systems cannot fsync a directory (and
/// Windows has no such call: NTFS journals its metadata); the files are in place either
/// way, so a failure is only logged.
pub fn sync_dir(dir: &Path) {
    if let Err(e) = sys::sync_dir(dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not fsync the directory");
    }
}

/// Sets the process umask to 077, so what a library creates (the log appender's files) is
/// owner-only too. Windows has no umask: files created inside a directory of ours inherit
/// its owner-only ACE.
pub fn owner_only_umask() {
    #[cfg(unix)] // the umask exists only there
    unix::owner_only_umask();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_atomic_write_replaces_the_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("f.toml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(path.parent().unwrap()), ["f.toml"]);
    }

    #[test]
    fn a_failed_atomic_write_removes_its_temporary_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"old").unwrap();
        // A directory where the file should be: the rename fails after the write.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), "").unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(names(dir.path()), ["blocked", "f"]);
        assert_eq!(fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn temporary_files_are_named_for_the_stale_file_sweep() {
        let temp = temp_path_for(Path::new("out/contoso_users.csv")).unwrap();
        let name = temp.file_name().unwrap().to_str().unwrap();
        assert_eq!(temp.parent(), Some(Path::new("out")));
        assert!(name.starts_with(TEMP_PREFIX), "{name}");
        assert!(name.ends_with(".contoso_users.csv.tmp"), "{name}");
        let bare = temp_path_for(Path::new("f")).unwrap();
        assert_eq!(bare.parent(), Some(Path::new(".")));
    }

    #[test]
    fn create_new_refuses_an_existing_file_and_open_or_create_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        create_new(&path).unwrap().write_all(b"kept").unwrap();
        assert_eq!(
            create_new(&path).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        drop(open_or_create(&path).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        let copy = dir.path().join("copy");
        assert_eq!(copy_new(&path, &copy).unwrap(), 4);
        assert_eq!(fs::read(&copy).unwrap(), b"kept");
    }
}
