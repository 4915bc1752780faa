//! The profile names a directory of profiles, histories, secrets or states holds. (Their
//! owner-only files are written by [`crate::private_fs`].)

use std::fs;
use std::io;
use std::path::Path;

use super::ProfileName;

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
}
