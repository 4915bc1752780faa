//! Incremental reruns of a profile: read only what changed since the previous complete run
//! (`users/delta` and `groups/delta` from the links saved then [GDC
//! concepts/delta-query-overview.md]), merge it into that run's files, and write the
//! complete four files again plus `<domain>_changes.csv`.
//!
//! A run of a profile enters here once, through [`start`], and its route is this folder:
//! - **decide** ([`decide`]): the saved state ([`state`]) is used only when it exists, was
//!   saved under this run's settings and `--full` was not asked for; anything else that
//!   makes it untrustworthy later (a snapshot whose hash changed, a delta token Graph no
//!   longer accepts, changes that cannot be read) also means a full run, and the reason
//!   ([`Fallback`]) goes to the manifest, `--json` and the summary;
//! - **read** ([`read`]): the previous run's files as tables ([`tables`]) while both delta
//!   chains are followed;
//! - **merge** ([`merge`]): the delta answers merged into the tables, and what changed;
//! - **write**: the tables through the same sinks a full run uses, and the changes report
//!   ([`changes`]); then the run's commit;
//! - **save**: the new delta links and the committed files as the next run's state.
//!
//! When it does not rerun, [`start`] hands the run a [`FullRun`]: before the full read it took
//! `$deltatoken=latest` links for both collections, so whatever changes while the run reads
//! is replayed by the next one (merging is idempotent); after the read it compares the new
//! files with the previous ones for the changes report ([`FullRun::report_changes`]), and
//! after the commit it saves the state ([`FullRun::save`]). The unfiltered delta functions
//! are used, not the fast plan's filtered chains, because a chain filtered by ids never
//! sees groups created later.

mod changes;
mod merge;
mod read;
pub mod state;
mod tables;

use std::path::PathBuf;

use super::error::ExtractError;
use super::manifest::{ChangeCounts, RunDetails, RunInfo, RunMode};
use super::output::{CommittedOutput, OutputSet};
use super::progress::{Phase, Progress, Warning};
use super::run::Prepared;
use changes::ChangeRow;
use merge::Merged;
pub(crate) use state::{DeltaLinks, Fallback, Identity, Snapshot, StateDir};
pub(crate) use tables::Tables;

/// Where a profile keeps its state between runs, and whether this run must read everything.
#[derive(Debug, Clone)]
pub struct StateOptions {
    pub dir: PathBuf,
    /// `--full`: read everything even if the state could be used.
    pub full: bool,
}

/// How a run of a profile goes on after [`start`].
pub(super) enum Start {
    /// The rerun wrote and committed the files and saved the state.
    Rerun(CommittedOutput),
    /// A full read follows; this profile's changes report and state come around it.
    Full(FullRun),
}

/// Why a rerun stopped.
#[derive(Debug)]
enum RerunError {
    /// Read everything instead.
    Fallback(Fallback),
    Extract(ExtractError),
}

impl From<ExtractError> for RerunError {
    fn from(e: ExtractError) -> Self {
        RerunError::Extract(e)
    }
}

/// The run of a profile with state: reruns from the saved state when it can, through to
/// saving the next state; otherwise says why not and prepares the full run that follows.
pub(super) async fn start(
    run: &mut Prepared<'_>,
    options: &StateOptions,
) -> Result<Start, ExtractError> {
    let identity = identity(run);
    let dir = StateDir(options.dir.clone());
    let reason = match decide(&dir, &identity, options.full) {
        Ok((links, snapshot)) => {
            run.progress.set_run_info(RunInfo {
                mode: RunMode::Incremental,
                full_reason: None,
            });
            match rerun(run, links, snapshot).await {
                Ok((output, links)) => {
                    let output = save_state(dir, identity, links, output, run.progress).await;
                    return Ok(Start::Rerun(output));
                }
                Err(RerunError::Fallback(reason)) => reason,
                Err(RerunError::Extract(e)) => return Err(e),
            }
        }
        Err(reason) => reason,
    };
    FullRun::prepare(run, dir, identity, reason)
        .await
        .map(Start::Full)
}

/// The settings this run's state belongs to.
fn identity(run: &Prepared<'_>) -> Identity {
    let config = run.client.config();
    let names = |columns: Vec<&str>| columns.into_iter().map(str::to_string).collect();
    Identity {
        tenant_id: run.tenant.tenant_id.clone(),
        client_id: config.client_id.to_string(),
        graph_root: config.endpoints.graph.to_string(),
        prefix: run.prefix.as_str().to_string(),
        user_columns: names(run.schema.user_columns()),
        group_columns: names(run.schema.group_columns()),
        can_read_hidden: run.access.read_hidden,
    }
}

/// Where this run may read the changes from and the previous run's files, or why it must
/// read everything.
fn decide(
    dir: &StateDir,
    identity: &Identity,
    full: bool,
) -> Result<(DeltaLinks, Snapshot), Fallback> {
    if full {
        return Err(Fallback::Asked);
    }
    let (saved, snapshot) = dir.load()?;
    if let Some(why) = identity.differs_from(&saved.identity) {
        return Err(Fallback::Settings(why));
    }
    let links = DeltaLinks {
        users: saved.users_delta_link,
        groups: saved.groups_delta_link,
    };
    Ok((links, snapshot))
}

/// Reads the changes since `links`, merges them into the previous run's files, writes and
/// commits the files; returns them with the links the next run starts from.
async fn rerun(
    run: &mut Prepared<'_>,
    links: DeltaLinks,
    snapshot: Snapshot,
) -> Result<(CommittedOutput, DeltaLinks), RerunError> {
    let read = read::read(
        run.client,
        &run.schema,
        &links,
        snapshot,
        run.access,
        run.progress,
    )
    .await?;
    let Merged {
        tables,
        changes,
        counts,
        links,
    } = merge::merge(run.client, read, run.access, run.progress).await?;
    Ok((write(run, tables, changes, counts).await?, links))
}

/// Writes the files of a rerun from the merged tables and commits them with the changes
/// report.
async fn write(
    run: &mut Prepared<'_>,
    tables: Tables,
    changes: Vec<ChangeRow>,
    counts: ChangeCounts,
) -> Result<CommittedOutput, ExtractError> {
    let progress = run.progress;
    progress.set_totals(
        Some(tables.users.len() as u64),
        Some(tables.groups.len() as u64),
    );
    progress.set_phase(Phase::Finishing);
    let details = RunDetails {
        run: progress.run_info(),
        changes: Some(counts),
        ..run.details()
    };
    let mut set = run.create_set(true).await?;
    let set = {
        let (access, progress) = (run.access, progress.clone());
        tokio::task::spawn_blocking(move || -> Result<OutputSet, ExtractError> {
            let written = tables
                .write(&mut set, access, &progress)
                .map_err(ExtractError::from)
                .and_then(|()| changes::write_changes(&mut set, &changes));
            if let Err(e) = written {
                let _ = set.abort();
                return Err(e);
            }
            tracing::info!(at = ?progress.elapsed(), "changes report written");
            Ok(set)
        })
        .await
        .map_err(|e| ExtractError::Internal {
            what: "writing the files".into(),
            detail: e.to_string(),
        })??
    };
    // Writing found what the files still lack (hidden memberships unreadable).
    let details = RunDetails {
        warnings: progress.warnings(),
        ..details
    };
    let output = run.commit(set, details).await?;
    tracing::info!(at = ?progress.elapsed(), "files written and committed");
    Ok(output)
}

/// A full run of a profile: the previous run's files it reports its changes against, and
/// the state it leaves for the next run.
pub(super) struct FullRun {
    dir: StateDir,
    identity: Identity,
    /// Where the next run starts from; `None` when they could not be taken.
    links: Option<DeltaLinks>,
    /// The previous run's files, when the changes report can still compare with them.
    baseline: Option<Snapshot>,
}

impl FullRun {
    /// Records why this run reads everything and takes the next run's delta links.
    async fn prepare(
        run: &Prepared<'_>,
        dir: StateDir,
        identity: Identity,
        reason: Fallback,
    ) -> Result<FullRun, ExtractError> {
        let progress = run.progress;
        tracing::info!(reason = %reason, "full run");
        progress.set_run_info(RunInfo {
            mode: RunMode::Full,
            full_reason: Some(reason.to_string()),
        });
        // Taken before reading, so what changes meanwhile is replayed next time.
        // Without them (a service without delta) this run still reads everything; only
        // the next one cannot start from it.
        let links = match read::latest_links(run.client, &run.schema).await {
            Ok(links) => Some(links),
            Err(ExtractError::Cancelled) => return Err(ExtractError::Cancelled),
            Err(e) => {
                tracing::warn!(error = %e, "no delta links for the next run");
                progress.note(format!(
                    "the delta links the next run would read the changes from could not be taken ({e}); the next run reads everything too"
                ));
                None
            }
        };
        // The previous snapshot, taken with the same settings (`--full`, an expired delta
        // token), still is a baseline for the changes report; its hashes are checked as the
        // report reads it (a changed file leaves the report header-only, with a note).
        // Reasons that already found none (no state, other settings, a snapshot that failed
        // its hash) are not tried again.
        let baseline = match reason {
            Fallback::NoState | Fallback::Settings(_) | Fallback::Snapshot(_) => None,
            _ => decide(&dir, &identity, false)
                .ok()
                .map(|(_, snapshot)| snapshot),
        };
        Ok(FullRun {
            dir,
            identity,
            links,
            baseline,
        })
    }

    /// Writes the changes since the previous run's files into the set's changes file (left
    /// header-only without them) and counts them.
    pub(super) async fn report_changes(
        &mut self,
        run: &Prepared<'_>,
        set: OutputSet,
    ) -> Result<(OutputSet, ChangeCounts), ExtractError> {
        match self.baseline.take() {
            Some(before) => {
                changes::report(set, &run.schema, before, run.access, run.progress).await
            }
            None => Ok((set, ChangeCounts::default())),
        }
    }

    /// After the commit: saves the state for the next run, or forgets the previous one when
    /// no delta links could be taken.
    pub(super) async fn save(
        self,
        output: CommittedOutput,
        progress: &Progress,
    ) -> CommittedOutput {
        match self.links {
            Some(links) => save_state(self.dir, self.identity, links, output, progress).await,
            // The previous state no longer describes the files: the next run reads everything.
            None => {
                forget_state(self.dir).await;
                output
            }
        }
    }
}

/// Saves the state for the next run. The files are committed already, so a failure (a full
/// data directory) only costs the next run its head start: it is a warning, added to the
/// manifest, and the next run reads everything.
async fn save_state(
    dir: StateDir,
    identity: Identity,
    links: DeltaLinks,
    output: CommittedOutput,
    progress: &Progress,
) -> CommittedOutput {
    let (committed, state_dir) = (output.clone(), dir.0.clone());
    let saved = tokio::task::spawn_blocking(move || {
        let mut output = output;
        let Err(e) = dir.save(identity, links, &output) else {
            return (output, None);
        };
        tracing::warn!(error = %e, "could not save the state for the next run");
        let warning = output.report_warning(Warning::state_not_saved(&dir.0, &e));
        (output, Some(warning))
    })
    .await;
    match saved {
        Ok((output, warning)) => {
            if let Some(w) = warning {
                progress.warn(w);
            }
            output
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not save the state for the next run");
            progress.warn(Warning::state_not_saved(&state_dir, &e));
            committed
        }
    }
}

/// Forgets a profile's state after a run that could not take the next run's delta links.
async fn forget_state(dir: StateDir) {
    let failed = match tokio::task::spawn_blocking(move || dir.clear()).await {
        Ok(cleared) => cleared.err().map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(e) = failed {
        tracing::warn!(error = %e, "could not clear the state of the previous run");
    }
}
