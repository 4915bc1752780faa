//! What a profile keeps between runs, in `<data>/state/<profile>/` (owner-only, never in
//! the output directory, never a secret): the delta links of `users/delta` and
//! `groups/delta` taken just before the last complete run, and that run's four files as a
//! snapshot (hard links to the committed files where the file system allows, else copies),
//! with their SHA-256 so a snapshot that changed since is never trusted.

use std::fs;
use std::io;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::extract::output::{CommittedOutput, FileKind};
use crate::private_fs;

/// Layout version of `state.json`; another value means a full run.
pub const STATE_FORMAT: u32 = 1;
const STATE_FILE: &str = "state.json";

/// Where the next run reads the changes from: the `@odata.deltaLink` of `users/delta` and
/// of `groups/delta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaLinks {
    /// The `users/delta` link.
    pub users: String,
    /// The `groups/delta` link.
    pub groups: String,
}

/// Why a run of a profile reads everything instead of only the changes. Each says why in
/// words the manifest, the summary and the history show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fallback {
    #[error("a full run was asked for (--full)")]
    Asked,
    #[error("no previous complete run of this profile to start from")]
    NoState,
    #[error("the saved state can't be used: {0}")]
    Unusable(String),
    #[error("the settings changed since the previous run: {0}")]
    Settings(String),
    #[error("the saved snapshot of the previous run can't be trusted: {0}")]
    Snapshot(String),
    #[error("Microsoft Graph no longer accepts the saved delta token ({0}): a resync is required")]
    Expired(String),
    #[error("the changes since the previous run could not be read ({0})")]
    ChangesUnreadable(String),
    /// A rerun looks up by id (getByIds) the members that are neither users nor groups;
    /// without them it needs no look-up and reruns without the permission.
    #[error(
        "members that are neither users nor groups are looked up by id in a rerun, which needs Directory.Read.All, not granted to this app: runs read everything until it is (`entra-extract check` says how)"
    )]
    NoLookUps,
}

/// One snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFile {
    pub kind: FileKind,
    pub sha256: String,
}

/// `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedState {
    pub format: u32,
    /// What the run read and how: a state saved under other settings is not used.
    pub identity: Identity,
    pub users_delta_link: String,
    pub groups_delta_link: String,
    pub files: Vec<SnapshotFile>,
    pub saved_at: DateTime<Utc>,
}

/// The settings a saved state belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub tenant_id: String,
    pub client_id: String,
    pub graph_root: String,
    pub prefix: String,
    pub user_columns: Vec<String>,
    pub group_columns: Vec<String>,
    /// [`Access::read_hidden`](crate::extract::access::Access::read_hidden): without it the
    /// files lack the members of hidden groups.
    pub can_read_hidden: bool,
}

impl Identity {
    /// Why `self` (now) differs from `saved`, if it does.
    pub fn differs_from(&self, saved: &Identity) -> Option<String> {
        let checks = [
            (self.tenant_id != saved.tenant_id, "another tenant"),
            (
                self.client_id != saved.client_id,
                "another app registration",
            ),
            (
                self.graph_root != saved.graph_root,
                "another Graph endpoint",
            ),
            (self.prefix != saved.prefix, "another file-name prefix"),
            (
                self.user_columns != saved.user_columns,
                "other user columns (extra attributes)",
            ),
            (
                self.group_columns != saved.group_columns,
                "other group columns (extra attributes)",
            ),
            (
                self.can_read_hidden != saved.can_read_hidden,
                "Member.Read.Hidden granted or removed",
            ),
        ];
        checks
            .iter()
            .find(|(differs, _)| *differs)
            .map(|(_, why)| why.to_string())
    }
}

/// A profile's state directory.
#[derive(Debug, Clone)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    fn snapshot_path(&self, kind: FileKind) -> PathBuf {
        self.0.join(format!("snapshot{}", kind.suffix()))
    }

    /// The saved state, and its snapshot files to read (their hashes are checked as they
    /// are read, see [`Snapshot::open`]).
    pub fn load(&self) -> Result<(SavedState, Snapshot), Fallback> {
        let path = self.0.join(STATE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Fallback::NoState),
            Err(e) => return Err(Fallback::Unusable(format!("{}: {e}", path.display()))),
        };
        let state: SavedState = serde_json::from_str(&text)
            .map_err(|e| Fallback::Unusable(format!("{}: {e}", path.display())))?;
        if state.format != STATE_FORMAT {
            return Err(Fallback::Unusable(format!(
                "it was written in format {} (this version reads {STATE_FORMAT})",
                state.format
            )));
        }
        let mut files: [(PathBuf, String); 4] = Default::default();
        for (slot, kind) in files.iter_mut().zip(FileKind::ALL) {
            let want = state
                .files
                .iter()
                .find(|f| f.kind == kind)
                .ok_or_else(|| Fallback::Snapshot(format!("no {kind:?} file recorded")))?;
            *slot = (self.snapshot_path(kind), want.sha256.clone());
        }
        Ok((state, Snapshot { files }))
    }

    /// Keeps the committed files as the snapshot, then writes `state.json` (last, so a
    /// crash in between leaves hashes that don't match and the next run reads everything).
    /// When that fails (a full disk) the state is cleared, partial files included: the
    /// next run reads everything.
    pub fn save(
        &self,
        identity: Identity,
        links: DeltaLinks,
        output: &CommittedOutput,
    ) -> io::Result<()> {
        let saved = self.try_save(identity, links, output);
        if saved.is_err()
            && let Err(e) = self.clear()
        {
            tracing::warn!(dir = %self.0.display(), error = %e, "could not clear the state that failed to save");
        }
        saved
    }

    fn temp_path(&self, kind: FileKind) -> PathBuf {
        self.0.join(format!(".{}.tmp", kind.suffix()))
    }

    fn try_save(
        &self,
        identity: Identity,
        links: DeltaLinks,
        output: &CommittedOutput,
    ) -> io::Result<()> {
        private_fs::create_dir(&self.0)?;
        // An earlier version may have left it open.
        private_fs::restrict(&self.0)?;
        let mut files = Vec::new();
        for f in output
            .files
            .iter()
            .filter(|f| FileKind::ALL.contains(&f.kind))
        {
            let target = self.snapshot_path(f.kind);
            let temp = self.temp_path(f.kind);
            let _ = fs::remove_file(&temp);
            // A hard link costs nothing and keeps this run's bytes even after the next run
            // renames new files over the output; a copy where links aren't possible.
            if fs::hard_link(&f.path, &temp).is_err() {
                private_fs::copy_new(&f.path, &temp)?;
            }
            fs::rename(&temp, &target)?;
            files.push(SnapshotFile {
                kind: f.kind,
                sha256: f.sha256.clone(),
            });
        }
        let state = SavedState {
            format: STATE_FORMAT,
            identity,
            users_delta_link: links.users,
            groups_delta_link: links.groups,
            files,
            saved_at: Utc::now(),
        };
        let mut bytes = serde_json::to_vec_pretty(&state)?;
        bytes.push(b'\n');
        private_fs::write_atomic(&self.0.join(STATE_FILE), &bytes)
    }

    /// Forgets the state (the next run is full): `state.json`, the snapshot and any
    /// temporary file of a save that failed. Reports the first removal that failed.
    pub fn clear(&self) -> io::Result<()> {
        let paths = [self.0.join(STATE_FILE)].into_iter().chain(
            FileKind::ALL
                .iter()
                .flat_map(|k| [self.snapshot_path(*k), self.temp_path(*k)]),
        );
        let mut first_error = None;
        for path in paths {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    first_error.get_or_insert(e);
                }
                _ => {}
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// The previous run's four files (users, groups, members, owners) and the SHA-256 each
/// must have. They are streamed, never held whole: on tenant L they are ~200 MB.
#[derive(Debug, Clone)]
pub struct Snapshot {
    files: [(PathBuf, String); 4],
}

impl Snapshot {
    /// Opens the four files for one reading.
    pub fn open(&self) -> Result<[Checked; 4], Fallback> {
        let open = |(path, want): &(PathBuf, String)| {
            let file = fs::File::open(path)
                .map_err(|e| Fallback::Snapshot(format!("{}: {e}", path.display())))?;
            Ok(Checked {
                inner: io::BufReader::with_capacity(
                    256 * 1024,
                    Hashing {
                        file,
                        hasher: Sha256::new(),
                    },
                ),
                path: path.clone(),
                want: want.clone(),
            })
        };
        let [a, b, c, d] = &self.files;
        Ok([open(a)?, open(b)?, open(c)?, open(d)?])
    }
}

/// A file hashed as it is read.
struct Hashing {
    file: fs::File,
    hasher: Sha256,
}

impl io::Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// One snapshot file being read; [`Checked::verify`] says whether its bytes were the ones
/// saved.
pub struct Checked {
    inner: io::BufReader<Hashing>,
    path: PathBuf,
    want: String,
}

impl io::Read for Checked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl io::BufRead for Checked {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n)
    }
}

impl Checked {
    /// Reads what is left and compares the hash of the whole file with the saved one.
    pub fn verify(mut self) -> Result<(), Fallback> {
        let unreadable = |e: io::Error| Fallback::Snapshot(format!("{}: {e}", self.path.display()));
        io::copy(&mut self.inner, &mut io::sink()).map_err(unreadable)?;
        let got = hex::encode(self.inner.into_inner().hasher.finalize());
        if got != self.want {
            return Err(Fallback::Snapshot(format!(
                "{} changed since the run that wrote it",
                self.path.display()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn snapshot_of(dir: &std::path::Path, contents: [&[u8]; 4]) -> Snapshot {
        let mut files: [(PathBuf, String); 4] = Default::default();
        for (i, (slot, bytes)) in files.iter_mut().zip(contents).enumerate() {
            let path = dir.join(format!("f{i}"));
            fs::write(&path, bytes).unwrap();
            *slot = (path, hex::encode(Sha256::digest(bytes)));
        }
        Snapshot { files }
    }

    #[test]
    fn a_snapshot_file_is_trusted_only_with_its_saved_bytes_even_when_read_in_part() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'x'; 600 * 1024];
        let snap = snapshot_of(dir.path(), [b"a", b"", &big, b"d"]);
        let [a, b, mut c, d] = snap.open().unwrap();
        // A reader that stopped early (a parse error) is still hashed to its end.
        let mut head = [0u8; 10];
        c.read_exact(&mut head).unwrap();
        for f in [a, b, c, d] {
            f.verify().unwrap();
        }
        fs::write(&snap.files[2].0, b"edited").unwrap();
        let [_, _, c, _] = snap.open().unwrap();
        let err = c.verify().unwrap_err().to_string();
        assert!(err.contains("changed since the run that wrote it"), "{err}");
        fs::remove_file(&snap.files[3].0).unwrap();
        assert!(matches!(snap.open(), Err(Fallback::Snapshot(_))));
    }
}
