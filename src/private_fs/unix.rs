//! Owner-only on Unix: 0600 files, 0700 directories, umask 077.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::Create;

pub(super) fn create_dir_all(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

pub(super) fn restrict(path: &Path, is_dir: bool) -> io::Result<()> {
    let mode = if is_dir { 0o700 } else { 0o600 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

pub(super) fn open(path: &Path, create: Create) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    match create {
        Create::New => options.create_new(true),
        Create::IfMissing => options.read(true).create(true).truncate(false),
    };
    options.open(path)
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(super) fn owner_only_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use super::super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_the_directories_made_for_them_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("f");
        write_atomic(&path, b"x").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        let new = dir.path().join("new");
        create_new(&new).unwrap().write_all(b"x").unwrap();
        assert_eq!(mode(&new), 0o600);
        let lock = dir.path().join("lock");
        drop(open_or_create(&lock).unwrap());
        assert_eq!(mode(&lock), 0o600);
        let copy = dir.path().join("copy");
        fs::set_permissions(&new, fs::Permissions::from_mode(0o644)).unwrap();
        copy_new(&new, &copy).unwrap();
        assert_eq!(mode(&copy), 0o600);
    }

    #[test]
    fn restrict_closes_what_was_open() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("d");
        fs::create_dir(&sub).unwrap();
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
        let file = sub.join("f");
        fs::write(&file, "").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        restrict(&sub).unwrap();
        restrict(&file).unwrap();
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&file), 0o600);
    }

    /// A symlinked logs or state directory stays a directory its owner can enter (it was
    /// taken for a file and made 0600).
    #[test]
    fn restrict_through_a_symlink_to_a_directory_keeps_it_enterable() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real");
        fs::create_dir(&target).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        restrict(&link).unwrap();
        assert_eq!(mode(&target), 0o700);
    }

    #[test]
    fn an_existing_directory_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        write_atomic(&dir.path().join("f"), b"x").unwrap();
        assert_eq!(mode(dir.path()), 0o755);
    }
}
