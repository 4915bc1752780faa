//! Extraction: plan the requests, run them with bounded concurrency, stream into CSV sinks.
//!
//! A row's route: a plan (`plan`) reads Graph's pages and builds [`rows`], the writer
//! stage (`writer`) hands them to the [`sink`]s of the [`output`] set, and [`run`]
//! prepares, picks the full or incremental read, and commits.
//!
//! - [`run`] — one extraction, start to commit; [`error`] — why one did not complete.
//! - `access` — what the token allows the run to read (hidden memberships, getByIds).
//! - [`schema`] — column lists, `$select` strings, Graph value → CSV cell.
//! - [`prefix`] — the validated `<domain>` file-name prefix.
//! - [`listed`] — a listed user or group decoded straight into its cells.
//! - [`rows`] — the rows of the CSV files, built once and handed to the sinks.
//! - [`sink`] — RFC 4180 CSV writers that hash and count while writing.
//! - [`output`] — the atomic set of four CSV files and the manifest.
//! - [`manifest`] — `<domain>_manifest.json`.
//! - [`progress`] — counters the front ends read.
//! - [`hold`] — a front end's hold on the commit point while it asks whether to cancel.
//! - `incremental` — a profile's runs with state, decision to saved state: reruns from
//!   delta links and the previous run's files, the changes report, the state saved.

pub(crate) mod access;
pub mod error;
pub mod hold;
pub(crate) mod incremental;
pub mod listed;
pub mod manifest;
pub mod output;
mod plan;
pub mod prefix;
pub mod progress;
pub mod rows;
pub mod run;
pub mod schema;
pub mod sink;
mod writer;

pub use manifest::{Manifest, RunDetails};
pub use output::{CommittedOutput, FileKind, OutputError, OutputOptions, OutputSet};
pub use prefix::{DomainPrefix, PrefixError};
pub use progress::{Phase, Progress, ProgressSnapshot, RequestStats, Warning, WarningKind};
pub use rows::{EdgeObject, EdgeRow, Row};
pub use schema::{GroupCounts, GroupRecord, MemberCount, Schema, SchemaError};
