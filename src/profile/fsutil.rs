//! Owner-only, atomic file writes shared by profiles, history and the plaintext opt-in, and
//! the profile names a directory of theirs holds.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::ProfileName;

/// Creates `dir` (and parents) readable only by the owner on Unix.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers never see half a file; the file is created 0600 on Unix before any byte is written.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut file = open_private_new(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn open_private_new(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Removes `path`, treating "already gone" as success; returns whether it existed.
pub fn remove_if_exists(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Which entries of a directory are named after a profile.
#[derive(Debug, Clone, Copy)]
pub enum Named<'a> {
    /// Directories named `<name>` (incremental states).
    Dir,
    /// Files named `<name><suffix>` (`.toml` profiles, `.jsonl` histories, bare secrets).
    File(&'a str),
}

/// The profile names `dir` holds as `named` entries, sorted. Other entries (temporary files
/// start with a dot) are not a profile's; a missing `dir` holds none.
pub fn names_in(dir: &Path, named: Named<'_>) -> io::Result<Vec<ProfileName>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut names: Vec<ProfileName> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let is_dir = entry.file_type().ok()?.is_dir();
            let file = entry.file_name();
            let stem = match named {
                Named::Dir if is_dir => file.to_str()?,
                Named::File(suffix) if !is_dir => file.to_str()?.strip_suffix(suffix)?,
                _ => return None,
            };
            ProfileName::new(stem).ok()
        })
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_keeps_only_what_is_named_like_a_profile() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "b.toml",
            "a.prod.toml",
            ".a.toml.tmp",
            "-x.toml",
            "notes.txt",
        ] {
            fs::write(dir.path().join(f), "").unwrap();
        }
        fs::create_dir(dir.path().join("c")).unwrap();
        fs::create_dir(dir.path().join("d.toml")).unwrap();
        let names = |named| -> Vec<String> {
            names_in(dir.path(), named)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(names(Named::File(".toml")), ["a.prod", "b"]);
        assert_eq!(
            names(Named::File("")),
            ["a.prod.toml", "b.toml", "notes.txt"]
        );
        assert_eq!(names(Named::Dir), ["c", "d.toml"]);
        let missing = dir.path().join("missing");
        assert!(names_in(&missing, Named::Dir).unwrap().is_empty());
    }

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("f.toml");
        write_private_atomic(&path, b"one").unwrap();
        write_private_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.toml")]);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d").join("f");
        write_private_atomic(&path, b"x").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);
    }
}
