//! One extraction run: users, groups, members and owners streamed from Graph into the
//! atomic output set.
//!
//! Shape of a run:
//! - prepare (`Prepared`): the schema, the output directory's lock, the token and what it
//!   allows (`Access`), the tenant and prefix;
//! - with a profile's state, hand over to `incremental::start`: it reruns from the saved
//!   state up to the next one, or says why not and wraps the full read that follows (the
//!   next run's delta links before it, the changes report and the saved state after);
//! - a full read: a request plan (`plan`) turns Graph's pages into rows and hands
//!   them to the writer stage (`writer`), whose one blocking task owns the CSV
//!   files, so memory stays flat however large the tenant;
//! - on success the files are committed (fsync + rename + manifest); on any error or
//!   cancellation they are aborted and the previous extraction stays untouched.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::access::Access;
use super::hold::CommitHold;
use super::incremental::{self, Start, StateOptions};
use super::manifest::RunDetails;
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
    let mut run = Prepared::new(client, options, progress, started_at).await?;
    let mut profile = match run.options.state.clone() {
        Some(state) => match incremental::start(&mut run, &state).await? {
            Start::Rerun(output) => return Ok(run.summary(output)),
            Start::Full(profile) => Some(profile),
        },
        None => None,
    };
    let set = read_everything(&mut run, profile.is_some()).await?;
    progress.set_phase(Phase::Finishing);
    let (set, changes) = match &mut profile {
        Some(profile) => {
            let (set, counts) = profile.report_changes(&run, set).await?;
            (set, Some(counts))
        }
        None => (set, None),
    };
    let details = RunDetails {
        warnings: progress.warnings(),
        run: progress.run_info(),
        changes,
        ..run.details()
    };
    let output = run.commit(set, details).await?;
    let output = match profile {
        Some(profile) => profile.save(output, progress).await,
        None => output,
    };
    Ok(run.summary(output))
}

/// A run after preparing: what the full read, the incremental rerun and the commit share.
pub(super) struct Prepared<'a> {
    pub client: &'a GraphClient,
    pub options: ExtractOptions,
    pub schema: Arc<Schema>,
    /// What the token allows, decided once.
    pub access: Access,
    pub tenant: TenantInfo,
    pub prefix: DomainPrefix,
    pub progress: &'a Arc<Progress>,
    started_at: DateTime<Utc>,
    /// The output directory, claimed before sign-in when it existed already.
    claimed: Option<ClaimedDir>,
}

impl<'a> Prepared<'a> {
    /// The schema, the output directory's lock, the token, the tenant and the prefix.
    async fn new(
        client: &'a GraphClient,
        options: ExtractOptions,
        progress: &'a Arc<Progress>,
        started_at: DateTime<Utc>,
    ) -> Result<Prepared<'a>, ExtractError> {
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
        let access = Access::of(token.claims());
        let tenant = tenant_info(client).await?;
        let prefix = match options.prefix.clone() {
            Some(p) => p,
            None => DomainPrefix::parse(&tenant.default_domain).map_err(|source| {
                ExtractError::Prefix {
                    domain: tenant.default_domain.clone(),
                    source,
                }
            })?,
        };
        Ok(Prepared {
            client,
            options,
            schema,
            access,
            tenant,
            prefix,
            progress,
            started_at,
            claimed,
        })
    }

    /// Creates the staged output set in the output directory (claiming it now if it did not
    /// exist before sign-in); `changes` adds `<domain>_changes.csv`.
    pub(super) async fn create_set(&mut self, changes: bool) -> Result<OutputSet, ExtractError> {
        let (claimed, dir) = (self.claimed.take(), self.options.output_dir.clone());
        let (prefix, schema, bom) = (self.prefix.clone(), self.schema.clone(), self.options.bom);
        blocking(move || {
            let claimed = match claimed {
                Some(c) => c,
                None => ClaimedDir::claim(&dir)?,
            };
            OutputSet::create_in(claimed, &prefix, &schema, OutputOptions { bom, changes })
        })
        .await
    }

    /// What every manifest says about the run; callers add warnings, mode and changes.
    pub(super) fn details(&self) -> RunDetails {
        RunDetails {
            tenant_id: self.tenant.tenant_id.clone(),
            client_id: self.client.config().client_id.to_string(),
            cloud: self.options.cloud.clone(),
            started_at: self.started_at,
            finished_at: None,
            warnings: Vec::new(),
            notes: self.progress.notes(),
            run: None,
            changes: None,
        }
    }

    /// Commits the set. Right before its first rename (the commit point) the run waits while
    /// a front end holds it, and a cancellation that came first ends the run cancelled with
    /// no file replaced; from there on an interruption lets the run complete
    /// ([`CommitHold::interrupt`]).
    pub(super) async fn commit(
        &self,
        set: OutputSet,
        details: RunDetails,
    ) -> Result<CommittedOutput, ExtractError> {
        let hold = self.options.commit_hold.clone();
        let cancel = self.client.cancellation().clone();
        let runtime = tokio::runtime::Handle::current();
        // A blocking thread may wait on the runtime: the hold is released by another task.
        blocking(move || set.commit_if(details, || runtime.block_on(hold.pass(&cancel)).is_ok()))
            .await?
            .ok_or(ExtractError::Cancelled)
    }

    /// The finished run.
    fn summary(self, output: CommittedOutput) -> ExtractSummary {
        ExtractSummary {
            tenant: self.tenant,
            prefix: self.prefix,
            output,
            warnings: self.progress.warnings(),
            duration: (Utc::now() - self.started_at).to_std().unwrap_or_default(),
        }
    }
}

/// A full read: counts the objects, then a request plan writes every row into a new set;
/// `changes` adds the changes report's file.
async fn read_everything(run: &mut Prepared<'_>, changes: bool) -> Result<OutputSet, ExtractError> {
    let (client, progress) = (run.client, run.progress);
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
    let (users_total, groups_total) = (users_total.ok(), groups_total.ok());
    progress.set_totals(users_total, groups_total);

    let set = run.create_set(changes).await?;
    let (tx, writer) = writer::spawn(set, progress);
    let (schema, access) = (&run.schema, run.access);
    let fetched = match run.options.plan {
        Plan::Fast if access.look_up_ids => {
            plan::fast::fetch_all(plan::fast::FastRun {
                client,
                schema,
                access,
                users_total,
                groups_total,
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
            let workers = run.options.workers;
            plan::per_group::fetch_all(client, schema, access, workers, tx, progress).await
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
    Ok(set)
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
