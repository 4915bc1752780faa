//! The output set: four CSV files and a manifest, written to temporary files in the output
//! directory and moved into place only when the whole extraction succeeded.
//!
//! - Every file is created owner-only at creation ([`crate::private_fs`]), never chmod-ed
//!   later.
//! - `commit` flushes and fsyncs every file, then renames the CSV files and, last, the
//!   manifest over the previous ones, and fsyncs the directory.
//! - Dropping an uncommitted set (error, cancel, panic) or calling `abort` removes the
//!   temporary files; the previous extraction is untouched.
//! - One run at a time holds `.entra-extract.lock` in the directory, so any
//!   `.entra-extract-*.tmp` file found there belongs to a killed run and is removed.

use std::fs::{File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::manifest::{
    MANIFEST_FORMAT, Manifest, ManifestCounts, ManifestFile, RunDetails, TOOL_NAME,
};
use super::prefix::DomainPrefix;
use super::progress::Warning;
use super::schema::{CHANGE_COLUMNS, MEMBER_COLUMNS, OWNER_COLUMNS, Schema};
use super::sink::{CsvSink, EdgeSink, GroupSink, UserSink};

use crate::private_fs;
pub use crate::private_fs::{TEMP_PREFIX, TEMP_SUFFIX};
/// Lock file held by the run writing into a directory.
pub const LOCK_FILE: &str = ".entra-extract.lock";
/// Suffix of the manifest file name.
pub const MANIFEST_SUFFIX: &str = "_manifest.json";

/// The CSV files of an extraction: the four of every run, and the changes report of a
/// profile's runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Users,
    Groups,
    GroupsMembers,
    GroupsOwners,
    /// What changed since the previous run of the profile (`<domain>_changes.csv`).
    Changes,
}

impl FileKind {
    /// The four files of every extraction, in the order the manifest lists them (the
    /// changes report, when written, comes after them).
    pub const ALL: [FileKind; 4] = [
        FileKind::Users,
        FileKind::Groups,
        FileKind::GroupsMembers,
        FileKind::GroupsOwners,
    ];

    /// The file's name for `prefix`, e.g. `contoso.com_users.csv`.
    pub fn file_name(self, prefix: &DomainPrefix) -> String {
        prefix.file_name(self.suffix())
    }

    /// What follows the prefix in the file name.
    pub fn suffix(self) -> &'static str {
        match self {
            FileKind::Users => "_users.csv",
            FileKind::Groups => "_groups.csv",
            FileKind::GroupsMembers => "_groups_members.csv",
            FileKind::GroupsOwners => "_groups_owners.csv",
            FileKind::Changes => "_changes.csv",
        }
    }
}

/// Choices that change the bytes written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// Start each CSV file with a UTF-8 byte order mark (for Excel).
    pub bom: bool,
    /// Also write `<domain>_changes.csv` ([`OutputSet::changes`]).
    pub changes: bool,
}

/// Why the output could not be prepared, written or committed. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("the output path {} exists but is not a directory; choose a directory", .dir.display())]
    NotADirectory { dir: PathBuf },
    #[error("cannot create the output directory {}: {source}; create it yourself or choose another", .dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },
    #[error("cannot write in the output directory {}: {source}; check its permissions or choose another directory", .dir.display())]
    NotWritable { dir: PathBuf, source: io::Error },
    #[error("another entra-extract run is writing into {}; wait for it to finish or choose another directory", .dir.display())]
    Busy { dir: PathBuf },
    #[error("{} is a directory, so the file cannot be written there; move it away or choose another prefix", .path.display())]
    PathBlocked { path: PathBuf },
    #[error("could not write {}: {source}; check free space and permissions in the output directory (previous files are untouched)", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "could not move {} into place: {source}. {} file(s) had already been replaced{}; run the extraction again",
        .path.display(),
        .replaced.len(),
        list_paths(.replaced)
    )]
    Commit {
        path: PathBuf,
        replaced: Vec<PathBuf>,
        source: io::Error,
    },
    #[error("could not remove the temporary file {}: {source}; delete it by hand", .path.display())]
    Cleanup { path: PathBuf, source: io::Error },
    #[error("{} is no longer the manifest this run wrote (a later run replaced it, or it was moved away), so it was left as it is", .path.display())]
    Superseded { path: PathBuf },
}

impl OutputError {
    /// Whether the directory itself is unusable (not a directory, cannot be created or
    /// written, held by another run, a file name blocked), as opposed to a write or commit
    /// that failed half-way (disk full, I/O error).
    pub fn is_setup(&self) -> bool {
        matches!(
            self,
            OutputError::NotADirectory { .. }
                | OutputError::CreateDir { .. }
                | OutputError::NotWritable { .. }
                | OutputError::Busy { .. }
                | OutputError::PathBlocked { .. }
        )
    }

    pub(crate) fn write(path: &Path, source: io::Error) -> Self {
        OutputError::Write {
            path: path.to_owned(),
            source,
        }
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return String::new();
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!(" ({})", names.join(", "))
}

/// A file of a committed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedFile {
    pub kind: FileKind,
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// What `commit` put in place.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedOutput {
    pub files: Vec<CommittedFile>,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
}

/// Four CSV sinks on temporary files, plus the lock on their directory.
///
/// Writing is synchronous (`&mut self`): give the set to one task that receives rows, or
/// wrap it in a mutex. Only [`GroupRecord`](super::schema::GroupRecord)s of groups still
/// being fetched live in memory; member and owner rows go straight to disk.
#[derive(Debug)]
pub struct OutputSet {
    // Field order is drop order: files are closed before the guard removes them (Windows
    // cannot delete open files), and the lock is released last.
    users: UserSink,
    groups: GroupSink,
    members: EdgeSink,
    owners: EdgeSink,
    changes: Option<CsvSink>,
    temps: TempFiles,
    dir: PathBuf,
    prefix: DomainPrefix,
    bom: bool,
    stale_removed: Vec<PathBuf>,
    _lock: File,
}

/// An output directory whose lock this process holds, with the temporary files of killed
/// runs removed. Claimed before the first request, so a run that cannot write there never
/// signs in; held until the set built on it is committed or dropped.
#[derive(Debug)]
pub struct ClaimedDir {
    dir: PathBuf,
    stale_removed: Vec<PathBuf>,
    lock: File,
}

impl ClaimedDir {
    /// Creates `dir` if needed (owner-only) and takes its lock.
    pub fn claim(dir: &Path) -> Result<Self, OutputError> {
        prepare_dir(dir)?;
        Self::lock(dir)
    }

    /// Takes the lock of `dir` if it exists; `None` when it does not exist yet (nothing to
    /// claim, and nothing is created before the sign-in succeeded).
    pub fn claim_existing(dir: &Path) -> Result<Option<Self>, OutputError> {
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => Self::lock(dir).map(Some),
            Ok(_) => Err(OutputError::NotADirectory {
                dir: dir.to_owned(),
            }),
            Err(_) => Ok(None),
        }
    }

    fn lock(dir: &Path) -> Result<Self, OutputError> {
        let lock = take_lock(dir)?;
        Ok(ClaimedDir {
            dir: dir.to_owned(),
            stale_removed: remove_stale_temps(dir),
            lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl OutputSet {
    /// Creates `dir` if needed, takes its lock, removes stale temporary files of killed runs,
    /// and opens the four temporary CSV files with their headers written.
    pub fn create(
        dir: &Path,
        prefix: &DomainPrefix,
        schema: &Schema,
        options: OutputOptions,
    ) -> Result<Self, OutputError> {
        Self::create_in(ClaimedDir::claim(dir)?, prefix, schema, options)
    }

    /// [`create`](Self::create) in a directory claimed earlier.
    pub fn create_in(
        claimed: ClaimedDir,
        prefix: &DomainPrefix,
        schema: &Schema,
        options: OutputOptions,
    ) -> Result<Self, OutputError> {
        let ClaimedDir {
            dir,
            stale_removed,
            lock,
        } = claimed;
        let dir = dir.as_path();
        for path in FileKind::ALL
            .iter()
            .map(|k| dir.join(prefix.file_name(k.suffix())))
            .chain([dir.join(prefix.file_name(MANIFEST_SUFFIX))])
        {
            // A symlink there is fine: rename replaces the link, not its target.
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                return Err(OutputError::PathBlocked { path });
            }
        }

        let run_id = format!("{:08x}", rand::random::<u32>());
        let temp_path = |final_name: String| {
            dir.join(format!("{TEMP_PREFIX}{run_id}.{final_name}{TEMP_SUFFIX}"))
        };
        let mut temps = TempFiles::default();
        let mut open = |kind: FileKind, columns: &[&str]| -> Result<CsvSink, OutputError> {
            let path = temp_path(prefix.file_name(kind.suffix()));
            let file = private_fs::create_new(&path).map_err(|e| classify(dir, &path, e))?;
            temps.paths.push(path.clone());
            CsvSink::new(file, &path, columns, options.bom)
        };
        let users = UserSink::new(open(FileKind::Users, &schema.user_columns())?);
        let groups = GroupSink::new(open(FileKind::Groups, &schema.group_columns())?);
        let members = EdgeSink::new(open(FileKind::GroupsMembers, MEMBER_COLUMNS)?);
        let owners = EdgeSink::new(open(FileKind::GroupsOwners, OWNER_COLUMNS)?);
        let changes = if options.changes {
            Some(open(FileKind::Changes, CHANGE_COLUMNS)?)
        } else {
            None
        };
        temps
            .paths
            .push(temp_path(prefix.file_name(MANIFEST_SUFFIX)));

        Ok(Self {
            users,
            groups,
            members,
            owners,
            changes,
            temps,
            dir: dir.to_owned(),
            prefix: prefix.clone(),
            bom: options.bom,
            stale_removed,
            _lock: lock,
        })
    }

    /// The four files as written so far (flushed, not committed; users, groups, members,
    /// owners): a full run compares them with the previous run's to report what changed.
    pub fn staged(&mut self) -> Result<[PathBuf; 4], OutputError> {
        let sinks = [
            self.users.csv_mut(),
            self.groups.csv_mut(),
            self.members.csv_mut(),
            self.owners.csv_mut(),
        ];
        for sink in sinks {
            sink.flush()?;
        }
        let p = &self.temps.paths;
        Ok([p[0].clone(), p[1].clone(), p[2].clone(), p[3].clone()])
    }

    /// The users file.
    pub fn users(&mut self) -> &mut UserSink {
        &mut self.users
    }

    /// The groups file.
    pub fn groups(&mut self) -> &mut GroupSink {
        &mut self.groups
    }

    /// The group members file.
    pub fn members(&mut self) -> &mut EdgeSink {
        &mut self.members
    }

    /// The group owners file.
    pub fn owners(&mut self) -> &mut EdgeSink {
        &mut self.owners
    }

    /// The users, groups, members and owners files at once, to write them side by side.
    pub fn sinks(&mut self) -> (&mut UserSink, &mut GroupSink, &mut EdgeSink, &mut EdgeSink) {
        (
            &mut self.users,
            &mut self.groups,
            &mut self.members,
            &mut self.owners,
        )
    }

    /// The changes report, when the options asked for one.
    pub fn changes(&mut self) -> Option<&mut CsvSink> {
        self.changes.as_mut()
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the file of `kind` will be once committed.
    pub fn final_path(&self, kind: FileKind) -> PathBuf {
        self.dir.join(self.prefix.file_name(kind.suffix()))
    }

    /// Where the manifest will be once committed.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(self.prefix.file_name(MANIFEST_SUFFIX))
    }

    /// Temporary files of killed runs that `create` removed.
    pub fn stale_files_removed(&self) -> &[PathBuf] {
        &self.stale_removed
    }

    /// Finishes every file (flush, fsync), writes the manifest, and renames all of them over
    /// the previous extraction, manifest last. On error the temporary files are removed.
    pub fn commit(self, run: RunDetails) -> Result<CommittedOutput, OutputError> {
        match self.commit_if(run, || true)? {
            Some(committed) => Ok(committed),
            None => unreachable!("asked to proceed unconditionally"),
        }
    }

    /// [`commit`](Self::commit), asking `proceed` right before the first rename (the commit
    /// point): when it says no, the temporary files are removed and nothing is replaced
    /// (`None`).
    pub fn commit_if(
        self,
        run: RunDetails,
        proceed: impl FnOnce() -> bool,
    ) -> Result<Option<CommittedOutput>, OutputError> {
        let manifest_path = self.manifest_path();
        let kinds: Vec<FileKind> = FileKind::ALL
            .into_iter()
            .chain(self.changes.as_ref().map(|_| FileKind::Changes))
            .collect();
        let finals: Vec<PathBuf> = kinds.iter().map(|k| self.final_path(*k)).collect();
        let Self {
            users,
            groups,
            members,
            owners,
            changes,
            mut temps,
            dir,
            prefix,
            bom,
            ..
        } = self;
        let unreadable = groups.unreadable_members();
        let sinks: Vec<CsvSink> = [
            users.into_csv(),
            groups.into_csv(),
            members.into_csv(),
            owners.into_csv(),
        ]
        .into_iter()
        .chain(changes)
        .collect();
        // The sinks are consumed in here, so their files are closed before `temps` can
        // remove anything on the error path.
        let manifest = finish_and_write_manifest(
            kinds.into_iter().zip(sinks),
            &temps,
            &prefix,
            bom,
            run,
            unreadable,
        )?;
        if !proceed() {
            temps.remove_all()?;
            return Ok(None);
        }

        let mut replaced = Vec::new();
        let moves = temps
            .paths
            .iter()
            .zip(finals.iter().chain([&manifest_path]));
        for (temp, target) in moves {
            if let Err(source) = std::fs::rename(temp, target) {
                return Err(OutputError::Commit {
                    path: target.clone(),
                    replaced,
                    source,
                });
            }
            replaced.push(target.clone());
        }
        temps.disarm();
        private_fs::sync_dir(&dir);

        let files = manifest
            .files
            .iter()
            .zip(finals)
            .map(|(f, path)| CommittedFile {
                kind: f.kind,
                path,
                rows: f.rows,
                bytes: f.bytes,
                sha256: f.sha256.clone(),
            })
            .collect();
        Ok(Some(CommittedOutput {
            files,
            manifest_path,
            manifest,
        }))
    }

    /// Discards everything written: removes the temporary files and reports the first
    /// removal that failed. Dropping the set does the same, silently.
    pub fn abort(self) -> Result<(), OutputError> {
        let Self {
            users,
            groups,
            members,
            owners,
            changes,
            mut temps,
            ..
        } = self;
        drop((users, groups, members, owners, changes));
        temps.remove_all()
    }
}

impl CommittedOutput {
    /// Adds a warning found after the commit (the state for the next run or the history
    /// could not be saved) to the manifest: rewritten whole under the directory's lock and
    /// renamed over the committed one, as a commit does. Refused when another run holds the
    /// directory, and when the manifest there is no longer the one this run wrote: a run
    /// that committed since (the lock is free between a commit and its warnings) keeps its
    /// manifest, whose hashes describe its files.
    pub fn add_warning(&mut self, warning: Warning) -> Result<(), OutputError> {
        let dir = self
            .manifest_path
            .parent()
            .unwrap_or_else(|| Path::new("."));
        let superseded = || OutputError::Superseded {
            path: self.manifest_path.clone(),
        };
        let _claimed = ClaimedDir::claim_existing(dir)?.ok_or_else(superseded)?;
        let written = manifest_bytes(&self.manifest)
            .map_err(|e| OutputError::write(&self.manifest_path, e))?;
        if std::fs::read(&self.manifest_path).ok() != Some(written) {
            return Err(superseded());
        }
        let mut manifest = self.manifest.clone();
        manifest.warnings.push(warning);
        manifest.counts.warnings = manifest.warnings.len() as u64;
        let bytes =
            manifest_bytes(&manifest).map_err(|e| OutputError::write(&self.manifest_path, e))?;
        private_fs::write_atomic(&self.manifest_path, &bytes)
            .map_err(|e| OutputError::write(&self.manifest_path, e))?;
        self.manifest = manifest;
        Ok(())
    }

    /// [`CommittedOutput::add_warning`] for a run that goes on to report `warning`: when the
    /// manifest cannot take it, the warning returned says so.
    pub fn report_warning(&mut self, mut warning: Warning) -> Warning {
        if let Err(e) = self.add_warning(warning.clone()) {
            warning.detail = format!("{} (the manifest could not say so: {e})", warning.detail);
        }
        warning
    }
}

/// Checks, without creating anything that stays, that an extraction could write into `dir`:
/// it is a directory, or can be created under its nearest existing ancestor, and a file
/// can be created there. For `check` commands and wizard screens, before a long run.
pub fn check_output_dir(dir: &Path) -> Result<(), OutputError> {
    let existing = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => dir,
        Ok(_) => {
            return Err(OutputError::NotADirectory {
                dir: dir.to_owned(),
            });
        }
        Err(_) => {
            let Some(ancestor) = existing_ancestor(dir) else {
                return Err(OutputError::CreateDir {
                    dir: dir.to_owned(),
                    source: io::Error::new(io::ErrorKind::NotFound, "no existing parent"),
                });
            };
            if !ancestor.is_dir() {
                return Err(OutputError::CreateDir {
                    dir: dir.to_owned(),
                    source: io::Error::new(
                        io::ErrorKind::NotADirectory,
                        format!("{} is not a directory", ancestor.display()),
                    ),
                });
            }
            ancestor
        }
    };
    // Named like a temporary file, so a probe left by a kill is cleaned up like one.
    let probe = existing.join(format!(
        "{TEMP_PREFIX}probe-{:08x}{TEMP_SUFFIX}",
        rand::random::<u32>()
    ));
    private_fs::create_new(&probe).map_err(|e| {
        let e = classify(existing, &probe, e);
        match (e, existing == dir) {
            (OutputError::NotWritable { source, .. }, false) => OutputError::CreateDir {
                dir: dir.to_owned(),
                source,
            },
            (e, _) => e,
        }
    })?;
    std::fs::remove_file(&probe).map_err(|source| OutputError::Cleanup {
        path: probe,
        source,
    })
}

/// The nearest ancestor of `dir` that exists. A relative path's last ancestor is the empty
/// path, which stands for the current directory (`newdir` lies in `.`).
fn existing_ancestor(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .skip(1)
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists())
}

/// Finishes the four CSV files and writes the manifest's temporary file (the last path in
/// `temps`).
fn finish_and_write_manifest(
    sinks: impl Iterator<Item = (FileKind, CsvSink)>,
    temps: &TempFiles,
    prefix: &DomainPrefix,
    bom: bool,
    run: RunDetails,
    groups_members_unreadable: u64,
) -> Result<Manifest, OutputError> {
    let mut files = Vec::with_capacity(5);
    for (kind, sink) in sinks {
        let columns = sink.columns().to_vec();
        let done = sink.finish()?;
        files.push(ManifestFile {
            kind,
            name: prefix.file_name(kind.suffix()),
            rows: done.rows,
            bytes: done.bytes,
            sha256: done.sha256,
            bom,
            columns,
        });
    }
    let rows = |k: usize| files[k].rows;
    let counts = ManifestCounts {
        users: rows(0),
        groups: rows(1),
        member_edges: rows(2),
        owner_edges: rows(3),
        groups_members_unreadable,
        warnings: run.warnings.len() as u64,
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        tool: TOOL_NAME.to_owned(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        tenant_id: run.tenant_id,
        client_id: run.client_id,
        cloud: run.cloud,
        prefix: prefix.as_str().to_owned(),
        started_at: run.started_at,
        finished_at: run.finished_at.unwrap_or_else(Utc::now),
        counts,
        files,
        warnings: run.warnings,
        notes: run.notes,
        run: run.run,
        changes: run.changes,
    };
    let Some(path) = temps.paths.last() else {
        return Err(OutputError::write(
            Path::new(""),
            io::Error::other("internal error: no manifest path"),
        ));
    };
    write_manifest(path, &manifest)?;
    Ok(manifest)
}

/// Writes `manifest` into a new owner-only file at `path`, synced to disk.
fn write_manifest(path: &Path, manifest: &Manifest) -> Result<(), OutputError> {
    let write = || -> io::Result<()> {
        let mut file = private_fs::create_new(path)?;
        file.write_all(&manifest_bytes(manifest)?)?;
        file.sync_all()
    };
    write().map_err(|e| OutputError::write(path, e))
}

/// The bytes of `manifest`'s file: pretty JSON and a newline (a few kilobytes).
fn manifest_bytes(manifest: &Manifest) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(manifest)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Creates `dir` and its parents when missing (owner-only on Unix).
fn prepare_dir(dir: &Path) -> Result<(), OutputError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(OutputError::NotADirectory {
            dir: dir.to_owned(),
        }),
        // Only the owner may list the files (their names reveal the tenant).
        Err(_) => private_fs::create_dir(dir).map_err(|source| OutputError::CreateDir {
            dir: dir.to_owned(),
            source,
        }),
    }
}

/// Opens and exclusively locks the directory's lock file. The OS releases the lock when the
/// process dies, however it dies.
fn take_lock(dir: &Path) -> Result<File, OutputError> {
    let path = dir.join(LOCK_FILE);
    let file = private_fs::open_or_create(&path).map_err(|e| classify(dir, &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OutputError::Busy {
            dir: dir.to_owned(),
        }),
        Err(TryLockError::Error(e)) => Err(classify(dir, &path, e)),
    }
}

/// Removes `.entra-extract-*.tmp` files. Only called with the directory lock held, so they
/// cannot belong to a live run. A file that cannot be removed is only logged: it does not
/// collide with this run's names, and stopping the run for it would help no one.
fn remove_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot list the output directory to remove stale temporary files");
            return removed;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        // `DirEntry::file_type` does not follow symlinks: a directory is never touched.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed a temporary file left by a killed run");
                removed.push(path);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a temporary file left by a killed run");
            }
        }
    }
    removed
}

/// Turns a failure to create a file in `dir` into the error that tells the user most.
fn classify(dir: &Path, path: &Path, e: io::Error) -> OutputError {
    match e.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            OutputError::NotWritable {
                dir: dir.to_owned(),
                source: e,
            }
        }
        _ => OutputError::write(path, e),
    }
}

/// Temporary paths to remove unless the set was committed.
#[derive(Debug, Default)]
struct TempFiles {
    paths: Vec<PathBuf>,
    committed: bool,
}

impl TempFiles {
    fn disarm(&mut self) {
        self.committed = true;
    }

    fn remove_all(&mut self) -> Result<(), OutputError> {
        self.committed = true;
        let mut first_error = None;
        for path in self.paths.drain(..) {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    tracing::warn!(path = %path.display(), error = %source, "could not remove a temporary file");
                    first_error.get_or_insert(OutputError::Cleanup { path, source });
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        if !self.committed {
            // Errors are logged in remove_all; a drop has no one to report them to.
            let _ = self.remove_all();
        }
    }
}

// The run hands the set to a blocking task and shares progress across tasks: keep it so.
const _: () = {
    const fn send<T: Send + 'static>() {}
    const fn send_sync<T: Send + Sync + 'static>() {}
    send::<OutputSet>();
    send_sync::<super::progress::Progress>();
    send_sync::<super::schema::GroupRecord>();
};
