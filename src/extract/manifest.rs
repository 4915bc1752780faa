//! `<domain>_manifest.json`: what an extraction wrote, from where, and how to check it.
//!
//! It is written last, after every CSV file is in place, so a manifest whose hashes match
//! the files proves the set is complete and from one run.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::output::FileKind;
use super::progress::{Warning, WarningKind};

/// Layout version of the manifest; bumped when a field changes meaning or disappears.
pub const MANIFEST_FORMAT: u32 = 1;

/// The tool name written in every manifest.
pub const TOOL_NAME: &str = "entra-extract";

/// The manifest of one committed extraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest layout version ([`MANIFEST_FORMAT`]).
    pub format: u32,
    /// Always `entra-extract`.
    pub tool: String,
    /// The version of entra-extract that wrote the files.
    pub tool_version: String,
    /// Directory (tenant) id the files come from.
    pub tenant_id: String,
    /// Application (client) id of the app registration used; never its secret.
    pub client_id: String,
    /// Cloud name (`global`, `us-gov`, `us-gov-dod`, `china`, `custom`).
    pub cloud: String,
    /// The file-name prefix (by default the tenant's default verified domain).
    pub prefix: String,
    /// When the extraction started and finished (UTC, RFC 3339).
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Object and edge counts, equal to the row counts of the files.
    pub counts: ManifestCounts,
    /// One entry per CSV file: name, rows, size, SHA-256, header.
    pub files: Vec<ManifestFile>,
    /// Everything the user must know that did not stop the run.
    pub warnings: Vec<Warning>,
    /// What happened on the way without making the files incomplete (e.g. a listing
    /// restarted from its first page after Graph expired its page token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// For a profile's run: full or incremental, and why not incremental.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunInfo>,
    /// For a profile's run: what changed since the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeCounts>,
}

/// Totals of one extraction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestCounts {
    pub users: u64,
    pub groups: u64,
    /// Rows of the members file.
    pub member_edges: u64,
    /// Rows of the owners file.
    pub owner_edges: u64,
    /// Groups written with `membersReadable=false` (their `memberCount` is empty).
    pub groups_members_unreadable: u64,
    /// Number of entries in `warnings`.
    pub warnings: u64,
}

/// One CSV file of the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub kind: FileKind,
    /// File name inside the output directory.
    pub name: String,
    /// Data rows, header excluded.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the whole file (BOM and header included).
    pub sha256: String,
    /// Whether the file starts with a UTF-8 byte order mark.
    pub bom: bool,
    /// The header, in order.
    pub columns: Vec<String>,
}

/// What the caller knows about the run that the output set does not.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDetails {
    pub tenant_id: String,
    pub client_id: String,
    pub cloud: String,
    pub started_at: DateTime<Utc>,
    /// `None` means "now", at commit.
    pub finished_at: Option<DateTime<Utc>>,
    pub warnings: Vec<Warning>,
    /// See [`Manifest::notes`].
    pub notes: Vec<String>,
    /// See [`Manifest::run`].
    pub run: Option<RunInfo>,
    /// See [`Manifest::changes`].
    pub changes: Option<ChangeCounts>,
}

/// How a profile's run read the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunMode {
    /// Everything read again.
    Full,
    /// Only the changes since the previous run, read with delta queries and merged into
    /// that run's files.
    Incremental,
}

impl RunMode {
    /// What a profile's run read, for people (the CLI's summary and the wizard's): "Read
    /// only the changes since the previous run: 3 joiners, …." or "Read everything: `<why>`.".
    pub fn describe(self, full_reason: Option<&str>, changes: Option<&ChangeCounts>) -> String {
        match (self, changes) {
            (RunMode::Incremental, Some(c)) => format!(
                "Read only the changes since the previous run: {}.",
                c.summary()
            ),
            (RunMode::Incremental, None) => "Read only the changes since the previous run.".into(),
            (RunMode::Full, _) => {
                format!("Read everything: {}.", full_reason.unwrap_or("full run"))
            }
        }
    }
}

/// The mode of a profile's run and, for a full one, why it wasn't incremental.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub mode: RunMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_reason: Option<String>,
}

/// What changed since the previous run: the rows of `<domain>_changes.csv` by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// `false` when there was no previous run to compare with (the changes file is then
    /// header-only).
    pub baseline: bool,
    pub users_added: u64,
    pub users_removed: u64,
    pub users_updated: u64,
    pub groups_added: u64,
    pub groups_removed: u64,
    pub groups_updated: u64,
    pub members_added: u64,
    pub members_removed: u64,
    pub owners_added: u64,
    pub owners_removed: u64,
}

/// A file whose content no longer matches its manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMismatch {
    pub path: PathBuf,
    /// What differs, for humans.
    pub detail: String,
}

impl Manifest {
    /// Reads a manifest file.
    pub fn read(path: &Path) -> io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Warnings of one kind.
    pub fn warnings_of(&self, kind: WarningKind) -> impl Iterator<Item = &Warning> {
        self.warnings.iter().filter(move |w| w.kind == kind)
    }

    /// Re-reads every listed file in `dir` and reports those whose size or SHA-256 differ
    /// (or that are missing). Empty means the set is intact.
    pub fn verify(&self, dir: &Path) -> Vec<FileMismatch> {
        self.files
            .iter()
            .filter_map(|f| {
                let path = dir.join(&f.name);
                let detail = match hash_file(&path) {
                    Err(e) => format!("cannot be read: {e}"),
                    Ok((_, bytes)) if bytes != f.bytes => {
                        format!("has {bytes} bytes, the manifest says {}", f.bytes)
                    }
                    Ok((sha, _)) if sha != f.sha256 => {
                        format!("SHA-256 is {sha}, the manifest says {}", f.sha256)
                    }
                    Ok(_) => return None,
                };
                Some(FileMismatch { path, detail })
            })
            .collect()
    }
}

fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}
impl ChangeCounts {
    /// "3 joiners, 1 leaver, ..." for people (the CLI and the wizard's summary).
    pub fn summary(&self) -> String {
        let c = self;
        let n = |v: u64, one: &str, many: &str| format!("{v} {}", if v == 1 { one } else { many });
        [
            n(c.users_added, "joiner", "joiners"),
            n(c.users_removed, "leaver", "leavers"),
            n(c.users_updated + c.groups_updated, "update", "updates"),
            n(c.groups_added, "group created", "groups created"),
            n(c.groups_removed, "group deleted", "groups deleted"),
            format!("members +{} -{}", c.members_added, c.members_removed),
            format!("owners +{} -{}", c.owners_added, c.owners_removed),
        ]
        .join(", ")
    }
}
