//! One extraction run: users, groups, members and owners streamed from Graph into the
//! atomic output set.
//!
//! Shape of a run:
//! - prepare: the schema, the output directory's lock, the token, the tenant and prefix;
//! - with a profile's state, try the incremental rerun ([`super::incremental`]) and fall
//!   back to a full read with the reason;
//! - a full read: a request plan ([`super::plan`]) turns Graph's pages into rows and hands
//!   them to the writer stage ([`super::writer`]), whose one blocking task owns the CSV
//!   files, so memory stays flat however large the tenant;
//! - on success the files are committed (fsync + rename + manifest); on any error or
//!   cancellation they are aborted and the previous extraction stays untouched.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::hold::CommitHold;
use super::incremental::{
    self, DeltaLinks, Fallback, Identity, RerunError, StateDir, StateOptions,
};
use super::manifest::{ChangeCounts, RunDetails, RunInfo, RunMode};
use super::output::{ClaimedDir, CommittedOutput, OutputError, OutputOptions, OutputSet};
use super::prefix::DomainPrefix;
use super::progress::{Phase, Progress, Warning};
use super::schema::Schema;
use super::{plan, writer};
use crate::graph::{GraphClient, GraphError};

pub use super::error::ExtractError;
pub use super::plan::per_group::GROUPS_PER_BATCH;

/// What to extract and where to put it.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Directory that receives the four CSV files and the manifest.
    pub output_dir: PathBuf,
    /// File-name prefix; `None` uses the tenant's default verified domain.
    pub prefix: Option<DomainPrefix>,
    /// Write a UTF-8 byte-order mark (Excel).
    pub bom: bool,
    /// Extra user properties appended as columns.
    pub extra_user_attributes: Vec<String>,
    /// Extra group properties appended as columns.
    pub extra_group_attributes: Vec<String>,
    /// Workers fetching member/owner lists at once in the per-group plan (each holds up
    /// to 10 groups); the fast plan uses the client's in-flight limit instead.
    pub workers: usize,
    /// Which requests read the tenant.
    pub plan: Plan,
    /// Cloud name for the manifest (e.g. `global`).
    pub cloud: String,
    /// A profile's state between runs: with it, a run reads only the changes when it can
    /// and writes `<domain>_changes.csv`.
    pub state: Option<StateOptions>,
    /// The run's commit point: a front end holds it while it asks "cancel?" (the wizard),
    /// and interrupts through it so that a late interruption is told the run completes.
    pub commit_hold: CommitHold,
}

impl ExtractOptions {
    /// Defaults for everything but the output directory.
    pub fn new(output_dir: impl Into<PathBuf>) -> Self {
        ExtractOptions {
            output_dir: native_separators(output_dir.into()),
            prefix: None,
            bom: false,
            extra_user_attributes: Vec::new(),
            extra_group_attributes: Vec::new(),
            workers: 4,
            plan: Plan::default(),
            cloud: "global".into(),
            state: None,
            commit_hold: CommitHold::default(),
        }
    }
}

impl ExtractOptions {
    /// Writes into `dir` instead (`run -o`).
    pub fn set_output_dir(&mut self, dir: impl Into<PathBuf>) {
        self.output_dir = native_separators(dir.into());
    }
}

/// `dir` with Windows' own separator: Windows accepts `C:/exports` too, but every file path
/// made from it would then read `C:/exports\contoso_users.csv`. Elsewhere `dir` unchanged.
fn native_separators(dir: PathBuf) -> PathBuf {
    #[cfg(windows)] // `/` is a separator only on Windows; on Unix `\` is a file-name character.
    {
        use std::os::windows::ffi::{OsStrExt, OsStringExt};
        let wide: Vec<u16> = dir.as_os_str().encode_wide().collect();
        // A verbatim path (`\\?\`) is taken literally by Windows: leave it as given.
        if !wide.starts_with(&[0x5c, 0x5c, 0x3f, 0x5c]) {
            let native = wide.into_iter().map(|c| {
                if c == u16::from(b'/') {
                    u16::from(b'\\')
                } else {
                    c
                }
            });
            return PathBuf::from(std::ffi::OsString::from_wide(&native.collect::<Vec<_>>()));
        }
    }
    dir
}

/// The request plan of a run. Both write the same rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Plan {
    /// Parallel chains, `groups/delta` for memberships (see `extract::fast`).
    #[default]
    Fast,
    /// Users, groups, then each group's members and owners: the plain plan, for diagnosis.
    PerGroup,
}

impl std::str::FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fast" => Ok(Plan::Fast),
            "per-group" => Ok(Plan::PerGroup),
            other => Err(format!("unknown plan {other:?}: use fast or per-group")),
        }
    }
}

/// The tenant as `/organization` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantInfo {
    pub tenant_id: String,
    pub display_name: String,
    pub default_domain: String,
}

/// A finished extraction.
#[derive(Debug, Clone)]
pub struct ExtractSummary {
    pub tenant: TenantInfo,
    pub prefix: DomainPrefix,
    pub output: CommittedOutput,
    pub warnings: Vec<Warning>,
    pub duration: Duration,
}

/// Reads the tenant's id, name and default verified domain.
pub async fn tenant_info(client: &GraphClient) -> Result<TenantInfo, ExtractError> {
    let body = client
        .get_json("/organization?$select=id,displayName,verifiedDomains")
        .await
        .map_err(|e| ExtractError::from_graph(e, "the organization"))?;
    let org = body
        .get("value")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
        .ok_or_else(|| ExtractError::Unexpected {
            what: "/organization".into(),
            detail: "no organization object".into(),
        })?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    let domains = org
        .get("verifiedDomains")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let default_domain = domains
        .iter()
        .find(|d| d.get("isDefault").and_then(Value::as_bool) == Some(true))
        .or_else(|| domains.first())
        .map(|d| text(d.get("name")))
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ExtractError::Unexpected {
            what: "/organization".into(),
            detail: "no verified domain".into(),
        })?;
    Ok(TenantInfo {
        tenant_id: text(org.get("id")),
        display_name: text(org.get("displayName")),
        default_domain,
    })
}

/// Runs a whole extraction. Progress is published into `progress` as it goes; cancel
/// through the client's cancellation token.
pub async fn run(
    client: &GraphClient,
    options: ExtractOptions,
    progress: Arc<Progress>,
) -> Result<ExtractSummary, ExtractError> {
    let started_at = Utc::now();
    let stats_client = client.clone();
    progress.set_request_stats_source(move || stats_client.stats());
    let result = run_inner(client, options, &progress, started_at).await;
    progress.set_phase(match &result {
        Ok(_) => Phase::Done,
        Err(ExtractError::Cancelled) => Phase::Cancelled,
        Err(_) => Phase::Failed,
    });
    result
}

async fn run_inner(
    client: &GraphClient,
    options: ExtractOptions,
    progress: &Arc<Progress>,
    started_at: DateTime<Utc>,
) -> Result<ExtractSummary, ExtractError> {
    let schema = Arc::new(Schema::new(
        &options.extra_user_attributes,
        &options.extra_group_attributes,
    )?);
    // Before the first request: a directory held by another run, or one that cannot be
    // written, is found before signing in. A missing one is created only after sign-in.
    let claimed = {
        let dir = options.output_dir.clone();
        blocking(move || ClaimedDir::claim_existing(&dir)).await?
    };
    let token = client.token().await.map_err(|e| match e {
        GraphError::Cancelled => ExtractError::Cancelled,
        e => ExtractError::Graph(e),
    })?;
    let can_read_hidden = token
        .claims()
        .is_some_and(|c| c.has_role("Member.Read.Hidden"));
    // The fast plan looks objects up with getByIds, which only Directory.Read.All allows.
    let can_look_up_ids = token
        .claims()
        .is_some_and(|c| c.has_role("Directory.Read.All") || c.has_role("Directory.ReadWrite.All"));
    let tenant = tenant_info(client).await?;
    let prefix = match options.prefix.clone() {
        Some(p) => p,
        None => {
            DomainPrefix::parse(&tenant.default_domain).map_err(|source| ExtractError::Prefix {
                domain: tenant.default_domain.clone(),
                source,
            })?
        }
    };

    let mut state = None;
    // The previous run's files, when a full run can still say what changed since them.
    let mut baseline = None;
    if let Some(st) = &options.state {
        let identity = Identity {
            tenant_id: tenant.tenant_id.clone(),
            client_id: client.config().client_id.to_string(),
            graph_root: client.config().endpoints.graph.to_string(),
            prefix: prefix.as_str().to_string(),
            user_columns: schema
                .user_columns()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            group_columns: schema
                .group_columns()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            can_read_hidden,
        };
        let dir = StateDir(st.dir.clone());
        let attempt = if st.full {
            Err(Fallback::Asked)
        } else {
            dir.load().and_then(
                |(saved, snapshot)| match identity.differs_from(&saved.identity) {
                    Some(why) => Err(Fallback::Settings(why)),
                    None => Ok((saved, snapshot)),
                },
            )
        };
        let full_reason = match attempt {
            Ok((saved, snapshot)) => {
                let links = DeltaLinks {
                    users: saved.users_delta_link,
                    groups: saved.groups_delta_link,
                };
                progress.set_run_info(RunInfo {
                    mode: RunMode::Incremental,
                    full_reason: None,
                });
                match incremental::rerun(
                    client,
                    &schema,
                    links,
                    snapshot,
                    can_read_hidden,
                    progress,
                )
                .await
                {
                    Ok(rerun) => {
                        return write_incremental(
                            client,
                            &options,
                            &schema,
                            claimed,
                            tenant,
                            prefix,
                            identity,
                            dir,
                            rerun,
                            can_read_hidden,
                            progress,
                            started_at,
                        )
                        .await;
                    }
                    Err(RerunError::Fallback(f)) => f,
                    Err(RerunError::Extract(e)) => return Err(e),
                }
            }
            Err(f) => f,
        };
        tracing::info!(reason = %full_reason, "full run");
        progress.set_run_info(RunInfo {
            mode: RunMode::Full,
            full_reason: Some(full_reason.to_string()),
        });
        // Taken before reading, so what changes meanwhile is replayed next time.
        // Without them (a service without delta) this run still reads everything; only
        // the next one cannot start from it.
        let links = match incremental::latest_links(client, &schema).await {
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
        baseline = match full_reason {
            Fallback::NoState | Fallback::Settings(_) | Fallback::Snapshot(_) => None,
            _ => match dir.load() {
                Ok((saved, snapshot)) if identity.differs_from(&saved.identity).is_none() => {
                    Some(snapshot)
                }
                _ => None,
            },
        };
        state = Some((dir, identity, links));
    }

    progress.set_phase(Phase::Counting);
    let (users_total, groups_total) = tokio::join!(client.count("users"), client.count("groups"));
    for r in [&users_total, &groups_total] {
        if let Err(GraphError::Cancelled) = r {
            return Err(ExtractError::Cancelled);
        }
        if let Err(e) = r {
            // Totals only drive progress bars; the listing itself is authoritative.
            tracing::warn!(error = %e, "object count unavailable");
        }
    }
    progress.set_totals(
        users_total.as_ref().ok().copied(),
        groups_total.as_ref().ok().copied(),
    );

    let set = {
        let (dir, prefix, schema) = (options.output_dir.clone(), prefix.clone(), schema.clone());
        let bom = options.bom;
        let changes = state.is_some();
        blocking(move || {
            let claimed = match claimed {
                Some(c) => c,
                None => ClaimedDir::claim(&dir)?,
            };
            OutputSet::create_in(claimed, &prefix, &schema, OutputOptions { bom, changes })
        })
        .await?
    };
    let (tx, writer) = writer::spawn(set, progress);

    let fetched = match options.plan {
        Plan::Fast if can_look_up_ids => {
            plan::fast::fetch_all(plan::fast::FastRun {
                client,
                schema: &schema,
                can_read_hidden,
                users_total: users_total.as_ref().ok().copied(),
                groups_total: groups_total.as_ref().ok().copied(),
                tx,
                progress,
            })
            .await
        }
        plan => {
            if plan == Plan::Fast {
                progress.note(
                    "read with the per-group plan: the app lacks Directory.Read.All, which the fast plan's getByIds needs".into(),
                );
            }
            plan::per_group::fetch_all(
                client,
                &schema,
                can_read_hidden,
                options.workers,
                tx,
                progress,
            )
            .await
        }
    };
    let set = writer
        .await
        .map_err(|e| ExtractError::Internal {
            what: "the CSV writer".into(),
            detail: e.to_string(),
        })?
        .map_err(ExtractError::Output)?;
    if let Err(e) = fetched {
        let _ = blocking(move || set.abort()).await;
        return Err(e);
    }

    progress.set_phase(Phase::Finishing);
    let (set, changes) = match baseline {
        Some(before) => report_changes(set, &schema, before, can_read_hidden, progress).await?,
        None => (set, state.as_ref().map(|_| ChangeCounts::default())),
    };
    let details = RunDetails {
        warnings: progress.warnings(),
        run: progress.run_info(),
        changes,
        ..run_details(client, &options, &tenant, started_at, progress)
    };
    let output = commit(client, &options, set, details).await?;
    let output = match state {
        Some((dir, identity, Some(links))) => {
            save_state(dir, identity, links, output, progress).await
        }
        // The previous state no longer describes the files: the next run reads everything.
        Some((dir, _, None)) => {
            forget_state(dir).await;
            output
        }
        None => output,
    };
    Ok(ExtractSummary {
        tenant,
        prefix,
        output,
        warnings: progress.warnings(),
        duration: (Utc::now() - started_at).to_std().unwrap_or_default(),
    })
}

/// A full run's changes report against the previous run's files: the rows go into the set's
/// changes file. Files that cannot be compared leave it header-only, with a note.
async fn report_changes(
    mut set: OutputSet,
    schema: &Arc<Schema>,
    before: incremental::Snapshot,
    can_read_hidden: bool,
    progress: &Arc<Progress>,
) -> Result<(OutputSet, Option<ChangeCounts>), ExtractError> {
    let schema = schema.clone();
    let progress = progress.clone();
    tokio::task::spawn_blocking(move || {
        let after = set.staged().map_err(ExtractError::Output)?;
        match incremental::diff(&schema, &before, &after, can_read_hidden) {
            Ok((rows, counts)) => {
                if let Some(sink) = set.changes() {
                    for row in &rows {
                        sink.write_row(&row.cells()).map_err(ExtractError::Output)?;
                    }
                }
                Ok((set, Some(counts)))
            }
            Err(why) => {
                progress.note(format!(
                    "no changes report: the previous run's files could not be compared ({why})"
                ));
                Ok((set, Some(ChangeCounts::default())))
            }
        }
    })
    .await
    .map_err(|e| ExtractError::Internal {
        what: "comparing with the previous run".into(),
        detail: e.to_string(),
    })?
}

/// Writes the files of an incremental run from the merged tables, commits them with the
/// changes report, and saves the state the next run starts from.
#[allow(clippy::too_many_arguments)]
async fn write_incremental(
    client: &GraphClient,
    options: &ExtractOptions,
    schema: &Arc<Schema>,
    claimed: Option<ClaimedDir>,
    tenant: TenantInfo,
    prefix: DomainPrefix,
    identity: Identity,
    dir: StateDir,
    rerun: incremental::Rerun,
    can_read_hidden: bool,
    progress: &Arc<Progress>,
    started_at: DateTime<Utc>,
) -> Result<ExtractSummary, ExtractError> {
    progress.set_totals(
        Some(rerun.tables.users.len() as u64),
        Some(rerun.tables.groups.len() as u64),
    );
    progress.set_phase(Phase::Finishing);
    let details = RunDetails {
        run: progress.run_info(),
        changes: Some(rerun.counts),
        ..run_details(client, options, &tenant, started_at, progress)
    };
    let set = {
        let (out_dir, prefix, schema) =
            (options.output_dir.clone(), prefix.clone(), schema.clone());
        let bom = options.bom;
        let progress = progress.clone();
        let tables = rerun.tables;
        let changes = rerun.changes;
        tokio::task::spawn_blocking(move || -> Result<OutputSet, ExtractError> {
            let claimed = match claimed {
                Some(c) => c,
                None => ClaimedDir::claim(&out_dir)?,
            };
            let mut set = OutputSet::create_in(
                claimed,
                &prefix,
                &schema,
                OutputOptions { bom, changes: true },
            )?;
            let written = tables
                .write(&mut set, can_read_hidden, &progress)
                .map_err(ExtractError::from)
                .and_then(|()| {
                    let sink = set.changes().ok_or_else(|| ExtractError::Internal {
                        what: "the changes report".into(),
                        detail: "no file".into(),
                    })?;
                    changes
                        .iter()
                        .try_for_each(|c| sink.write_row(&c.cells()))
                        .map_err(ExtractError::Output)
                });
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
    let output = commit(client, options, set, details).await?;
    tracing::info!(at = ?progress.elapsed(), "files written and committed");
    let output = save_state(dir, identity, rerun.links, output, progress).await;
    Ok(ExtractSummary {
        tenant,
        prefix,
        output,
        warnings: progress.warnings(),
        duration: (Utc::now() - started_at).to_std().unwrap_or_default(),
    })
}

/// Commits the set. Right before its first rename (the commit point) the run waits while a
/// front end holds it, and a cancellation that came first ends the run cancelled with no
/// file replaced; from there on an interruption lets the run complete
/// ([`CommitHold::interrupt`]).
async fn commit(
    client: &GraphClient,
    options: &ExtractOptions,
    set: OutputSet,
    details: RunDetails,
) -> Result<CommittedOutput, ExtractError> {
    let (hold, cancel) = (options.commit_hold.clone(), client.cancellation().clone());
    let runtime = tokio::runtime::Handle::current();
    // A blocking thread may wait on the runtime: the hold is released by another task.
    blocking(move || set.commit_if(details, || runtime.block_on(hold.pass(&cancel)).is_ok()))
        .await?
        .ok_or(ExtractError::Cancelled)
}

/// What every manifest says about the run; callers add warnings, mode and changes.
fn run_details(
    client: &GraphClient,
    options: &ExtractOptions,
    tenant: &TenantInfo,
    started_at: DateTime<Utc>,
    progress: &Progress,
) -> RunDetails {
    RunDetails {
        tenant_id: tenant.tenant_id.clone(),
        client_id: client.config().client_id.to_string(),
        cloud: options.cloud.clone(),
        started_at,
        finished_at: None,
        warnings: Vec::new(),
        notes: progress.notes(),
        run: None,
        changes: None,
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

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, OutputError> + Send + 'static,
) -> Result<T, ExtractError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ExtractError::Internal {
            what: "a file operation".into(),
            detail: e.to_string(),
        })?
        .map_err(ExtractError::Output)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::ExtractOptions;

    /// Windows reads `/` as a separator and writes `\`; elsewhere `\` is part of a name and
    /// `/` already the separator.
    fn native(windows: &str, elsewhere: &str) -> PathBuf {
        PathBuf::from(if cfg!(windows) { windows } else { elsewhere })
    }

    #[test]
    fn an_output_directory_keeps_one_kind_of_separator() {
        let mut options = ExtractOptions::new("C:/exports/contoso");
        assert_eq!(
            options.output_dir,
            native(r"C:\exports\contoso", "C:/exports/contoso")
        );
        options.set_output_dir("out/a");
        assert_eq!(options.output_dir, native(r"out\a", "out/a"));
    }

    #[cfg(windows)] // Verbatim paths exist only on Windows.
    #[test]
    fn a_verbatim_output_directory_is_left_as_given() {
        let options = ExtractOptions::new(r"\\?\C:\exports");
        assert_eq!(options.output_dir, PathBuf::from(r"\\?\C:\exports"));
    }
}
