//! Run history: the last runs of each profile as JSON lines in `<data>/history/<name>.jsonl`.
//!
//! Written by the headless `run` command and the wizard; read by `profile list` and the
//! wizard's home screen. Never holds the secret: a record has no field that could.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dirs::Dirs;
use super::fsutil;
use super::name::ProfileName;
use crate::private_fs;

/// How many runs are kept per profile.
pub const KEEP_RUNS: usize = 20;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// All files written, no warnings.
    Success,
    /// Files written, with warnings.
    Warnings,
    /// Graph or I/O failure; previous files untouched.
    Failed,
    /// Refused before it started: bad arguments, profile, secret or output directory.
    BadConfig,
    /// The token endpoint refused the credential.
    AuthFailed,
    /// A required permission is missing.
    PermissionMissing,
    /// Cancelled by the user or a signal.
    Interrupted,
}

impl Outcome {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Warnings => "warnings",
            Outcome::Failed => "failed",
            Outcome::BadConfig => "bad configuration",
            Outcome::AuthFailed => "auth failed",
            Outcome::PermissionMissing => "permission missing",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// One extraction run of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// When the run started (RFC 3339, UTC).
    pub started: DateTime<Utc>,
    /// Wall-clock duration in seconds.
    pub duration_secs: f64,
    /// How it ended.
    pub outcome: Outcome,
    /// Users written.
    pub users: u64,
    /// Groups written.
    pub groups: u64,
    /// Group-member rows written.
    pub member_edges: u64,
    /// Group-owner rows written.
    pub owner_edges: u64,
    /// Warnings raised (e.g. unreadable hidden memberships).
    pub warnings: u64,
    /// Where the files went.
    pub output_dir: PathBuf,
    /// Full or incremental (absent in records written before incremental reruns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::extract::manifest::RunMode>,
    /// What changed since the previous run, when the run completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::extract::manifest::ChangeCounts>,
}

/// Why the history could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} run history {}: {source}", path.display())]
pub struct HistoryError {
    /// What was attempted.
    pub action: &'static str,
    /// The history file.
    pub path: PathBuf,
    /// The OS error.
    pub source: io::Error,
}

/// The history files under one [`Dirs`].
#[derive(Debug, Clone)]
pub struct History {
    dir: PathBuf,
}

impl History {
    /// History rooted at `dirs.history()`.
    pub fn new(dirs: &Dirs) -> Self {
        History {
            dir: dirs.history(),
        }
    }

    /// `<data>/history/<name>.jsonl`.
    pub fn path(&self, name: &ProfileName) -> PathBuf {
        self.dir.join(format!("{name}.jsonl"))
    }

    /// The kept runs of `name`, oldest first. Unreadable lines are skipped: history is a
    /// convenience and must never block a run.
    pub fn runs(&self, name: &ProfileName) -> Result<Vec<RunRecord>, HistoryError> {
        let path = self.path(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(HistoryError {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// The most recent run of `name`.
    pub fn last_run(&self, name: &ProfileName) -> Result<Option<RunRecord>, HistoryError> {
        Ok(self.runs(name)?.pop())
    }

    /// Appends `record`, keeping the last [`KEEP_RUNS`] runs.
    pub fn append(&self, name: &ProfileName, record: &RunRecord) -> Result<(), HistoryError> {
        let mut runs = self.runs(name)?;
        runs.push(record.clone());
        let skip = runs.len().saturating_sub(KEEP_RUNS);
        let mut text = String::new();
        for run in &runs[skip..] {
            // A RunRecord has only plain fields; serialization cannot fail.
            if let Ok(line) = serde_json::to_string(run) {
                text.push_str(&line);
                text.push('\n');
            }
        }
        let path = self.path(name);
        private_fs::write_atomic(&path, text.as_bytes()).map_err(|source| HistoryError {
            action: "write",
            path,
            source,
        })
    }

    /// The names that have a history, sorted.
    pub fn names(&self) -> Result<Vec<ProfileName>, HistoryError> {
        fsutil::names_in(&self.dir, fsutil::Named::File(".jsonl")).map_err(|source| HistoryError {
            action: "list",
            path: self.dir.clone(),
            source,
        })
    }

    /// Deletes the history of `name`; returns whether there was one.
    pub fn remove(&self, name: &ProfileName) -> Result<bool, HistoryError> {
        let path = self.path(name);
        fsutil::remove_if_exists(&path).map_err(|source| HistoryError {
            action: "remove",
            path,
            source,
        })
    }

    /// Moves the history of `old` to `new` (replacing any history of `new`).
    pub fn rename(&self, old: &ProfileName, new: &ProfileName) -> Result<(), HistoryError> {
        let from = self.path(old);
        let to = self.path(new);
        match fs::rename(&from, &to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !exists(&from) => Ok(()),
            Err(source) => Err(HistoryError {
                action: "rename",
                path: from,
                source,
            }),
        }
    }
}

fn exists(path: &Path) -> bool {
    path.try_exists().unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64, outcome: Outcome) -> RunRecord {
        RunRecord {
            started: DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap(),
            duration_secs: 1.5,
            outcome,
            users: i,
            groups: 2,
            member_edges: 3,
            owner_edges: 4,
            warnings: 0,
            output_dir: PathBuf::from("/out"),
            mode: None,
            changes: None,
        }
    }

    #[test]
    fn keeps_the_last_twenty_runs_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::new(&Dirs::new(dir.path(), dir.path()));
        let n = ProfileName::new("p").unwrap();
        assert_eq!(h.last_run(&n).unwrap(), None);
        for i in 0..25 {
            h.append(&n, &record(i, Outcome::Success)).unwrap();
        }
        h.append(&n, &record(99, Outcome::AuthFailed)).unwrap();
        let runs = h.runs(&n).unwrap();
        assert_eq!(runs.len(), KEEP_RUNS);
        assert_eq!(runs[0].users, 6);
        assert_eq!(
            h.last_run(&n).unwrap().unwrap().outcome,
            Outcome::AuthFailed
        );
    }

    #[test]
    fn records_are_json_lines_with_rfc3339_and_snake_case_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::new(&Dirs::new(dir.path(), dir.path()));
        let n = ProfileName::new("p").unwrap();
        h.append(&n, &record(1, Outcome::PermissionMissing))
            .unwrap();
        let text = fs::read_to_string(h.path(&n)).unwrap();
        assert!(
            text.contains("\"started\":\"2023-11-14T22:13:21Z\""),
            "{text}"
        );
        assert!(
            text.contains("\"outcome\":\"permission_missing\""),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn damaged_lines_are_skipped_and_rename_moves_history() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::new(&Dirs::new(dir.path(), dir.path()));
        let a = ProfileName::new("a").unwrap();
        let b = ProfileName::new("b").unwrap();
        h.append(&a, &record(1, Outcome::Success)).unwrap();
        let mut text = fs::read_to_string(h.path(&a)).unwrap();
        text.push_str("{not json\n");
        fs::write(h.path(&a), text).unwrap();
        assert_eq!(h.runs(&a).unwrap().len(), 1);
        h.rename(&a, &b).unwrap();
        assert!(h.runs(&a).unwrap().is_empty());
        assert_eq!(h.runs(&b).unwrap().len(), 1);
        h.rename(&a, &b).unwrap();
        assert!(h.remove(&b).unwrap());
        assert!(!h.remove(&b).unwrap());
    }
}
