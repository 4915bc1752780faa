//! `entra-extract run`: the whole extraction without a terminal UI, for operators, cron and
//! systemd. Progress goes to stderr, the summary to stdout (`--json` for machines), and the
//! exit code says how it ended.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use clap::Args;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::Exit;
use super::connect::{ConnectArgs, Connection, Failure, graph_failure, on_signals};
use crate::extract::hold::Interruption;
use crate::extract::manifest::{ChangeCounts, RunMode};
use crate::extract::progress::{Progress, WarningKind};
use crate::extract::run::{ExtractError, ExtractOptions, ExtractSummary, Plan, run as extract};
use crate::extract::{DomainPrefix, FileKind};
use crate::permissions::check::own_secret_expiry;
use crate::permissions::report::SecretExpiry;
use crate::profile::Outcome;

/// Arguments of `entra-extract run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Rerun every saved profile (a few at a time): one summary per profile (one JSON
    /// object per line with --json), exit code = the worst.
    #[arg(long, conflicts_with_all = ["profile", "tenant", "client_id", "output_dir", "domain_prefix", "certificate"])]
    pub all: bool,
    /// With --all: how many profiles run at the same time.
    #[arg(long, default_value_t = 2, requires = "all", value_parser = clap::value_parser!(u16).range(1..=8))]
    pub jobs: u16,
    /// Directory for the CSV files (default: the profile's, else the current directory).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// File-name prefix (default: the profile's, else the tenant's default domain).
    #[arg(long, value_name = "PREFIX")]
    pub domain_prefix: Option<String>,
    /// Start each CSV with a UTF-8 byte-order mark (for Excel).
    #[arg(long)]
    pub bom: bool,
    /// Extra user property to add as a column (repeatable).
    #[arg(long = "extra-user-attribute", value_name = "NAME")]
    pub extra_user_attributes: Vec<String>,
    /// Extra group property to add as a column (repeatable).
    #[arg(long = "extra-group-attribute", value_name = "NAME")]
    pub extra_group_attributes: Vec<String>,
    /// Concurrent member/owner fetchers of the per-group plan (each batches 10 groups).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Request plan: `fast` (parallel chains, groups/delta; the default) or `per-group`
    /// (each group's members and owners on their own; slower, for diagnosis). Both write
    /// the same rows.
    #[arg(long, default_value = "fast", value_name = "PLAN")]
    pub plan: Plan,
    /// With --profile: read everything, even if only the changes since the profile's
    /// previous run could be read.
    #[arg(long)]
    pub full: bool,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Machine-readable run summary (`--json`).
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The profile run (`--profile`, `--all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub tenant_id: Option<String>,
    pub files: Vec<PathBuf>,
    pub manifest: Option<PathBuf>,
    pub users: u64,
    pub groups: u64,
    pub member_edges: u64,
    pub owner_edges: u64,
    pub hidden_groups_unreadable: usize,
    pub groups_deleted: usize,
    pub warnings: Vec<String>,
    /// What happened without making the files incomplete (as in the manifest).
    pub notes: Vec<String>,
    /// A profile's run: `full` or `incremental` (only the changes were read).
    pub mode: Option<RunMode>,
    /// Why a profile's run was full.
    pub full_reason: Option<String>,
    /// A profile's run: what changed since its previous run (as `<domain>_changes.csv`).
    pub changes: Option<ChangeCounts>,
    /// When the client secret in use ends (`null` for a certificate, when Graph does not
    /// say, or after an interrupt); a run within 30 days of it also warns on stderr, with
    /// the same exit code.
    pub secret_expiry: Option<SecretExpiry>,
    pub duration_secs: f64,
    pub error: Option<String>,
}

impl RunReport {
    /// The report of a run refused before it started (bad configuration): the same shape as
    /// every other report, so a script reading `--json` always gets one.
    fn refused(f: &Failure) -> Self {
        RunReport {
            profile: None,
            outcome: f.exit.outcome(),
            exit_code: f.exit.code(),
            tenant_id: None,
            files: Vec::new(),
            manifest: None,
            users: 0,
            groups: 0,
            member_edges: 0,
            owner_edges: 0,
            hidden_groups_unreadable: 0,
            groups_deleted: 0,
            warnings: Vec::new(),
            notes: Vec::new(),
            mode: None,
            full_reason: None,
            changes: None,
            secret_expiry: None,
            duration_secs: 0.0,
            error: Some(f.message.clone()),
        }
    }
}

/// Runs the extraction and reports it.
pub async fn run(args: RunArgs) -> color_eyre::Result<Exit> {
    if args.all {
        return run_all(args).await;
    }
    match args.connect.connect().await {
        Ok(conn) => run_connected(conn, &args).await,
        Err(f) => Ok(refuse(f, args.json)),
    }
}

/// Reports a run refused before it started: stderr, and with `--json` a report on stdout.
fn refuse(f: Failure, json: bool) -> Exit {
    if json {
        let report = RunReport::refused(&f);
        match serde_json::to_string_pretty(&report) {
            Ok(text) => crate::outln!("{text}"),
            Err(e) => tracing::error!(%e, "cannot serialise the report"),
        }
    }
    f.report()
}

/// Runs the extraction over an established connection (the demo brings its own).
pub async fn run_connected(conn: Connection, args: &RunArgs) -> color_eyre::Result<Exit> {
    let (exit, report, result) = match execute(conn, args, None).await {
        Ok(done) => done,
        Err(f) => return Ok(refuse(f, args.json)),
    };
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&result, &report);
    }
    Ok(exit)
}

type Executed = (Exit, RunReport, Result<ExtractSummary, ExtractError>);

/// The extraction itself, recorded in the profile's history; the caller reports it.
/// Cancelled by a signal (Ctrl-C, SIGTERM, SIGHUP), or, under `run --all`, by the `parent`
/// that listens for them.
async fn execute(
    conn: Connection,
    args: &RunArgs,
    parent: Option<&CancellationToken>,
) -> Result<Executed, Failure> {
    let options = options(args, &conn)?;
    let token = conn.client.cancellation().clone();
    let progress = Arc::new(Progress::new());
    // An interruption stops the run up to its commit point; after it the run completes.
    // Either way nothing more is asked of Graph: `stopped` says an interruption came.
    let hold = options.commit_hold.clone();
    let stopped = parent.map_or_else(CancellationToken::new, CancellationToken::child_token);
    match parent {
        None => {
            let stopped = stopped.clone();
            on_signals(move || {
                stopped.cancel();
                hold.interrupt(&token).describe()
            })
        }
        Some(parent) if parent.is_cancelled() => return Err(not_started()),
        Some(parent) => {
            let parent = parent.clone();
            let name = conn.profile.as_ref().map(|p| p.name.to_string());
            tokio::spawn(async move {
                tokio::select! {
                    _ = parent.cancelled() => {
                        let said = hold.interrupt(&token);
                        if said == Interruption::Committing {
                            crate::errln!("{}: {}", name.unwrap_or_default(), said.describe());
                        }
                    }
                    _ = token.cancelled() => {}
                }
            });
        }
    }

    let started = Utc::now();
    let stop = CancellationToken::new();
    let display = {
        let p = progress.clone();
        super::progress::spawn(Arc::new(move || p.snapshot()), stop.clone(), args.quiet)
    };
    let mut result = extract(&conn.client, options, progress.clone()).await;
    stop.cancel();
    let _ = display.await;
    // Before the outcome is decided: a run its history could not record ends with a warning.
    // On the blocking pool (a slow disk), so that the runtime's threads stay free: the signal
    // listener keeps answering (on a current-thread runtime too), and under `run --all` the
    // other profiles' runs, polled by this same task, go on.
    if let (Some(profile), Some(dirs)) = (&conn.profile, &conn.dirs) {
        let (profile, dirs, progress) = (profile.clone(), dirs.clone(), progress.clone());
        result = tokio::task::spawn_blocking(move || {
            crate::session::record_run(&dirs, &profile, started, &mut result, &progress);
            result
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    }

    let (exit, mut report) = outcome(&result, &progress, started);
    report.profile = conn.profile.as_ref().map(|p| p.name.to_string());
    if let Err(ExtractError::Graph(e)) = &result {
        report.error = report.error.map(|m| conn.explain(e, m));
    }
    // About this machine, not the tenant: said where an operator looks, even with --json.
    for w in progress.warnings() {
        if w.kind.is_about_this_machine() {
            crate::errln!("warning: {}", w.detail);
        }
    }
    // One more request after a run that signed in: when the secret in use ends. (Not
    // beside the extraction: a run refused before signing in sends nothing.)
    if result.is_ok() {
        // Advisory: never holds up the exit for long (the files are committed already),
        // and not at all once the user asked the run to stop.
        let asked = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            own_secret_expiry(&conn.client),
        );
        report.secret_expiry = tokio::select! {
            biased;
            _ = stopped.cancelled() => None,
            asked = asked => asked.ok().and_then(Result::ok).flatten(),
        };
    }
    if let Some(s) = report.secret_expiry.as_ref().filter(|s| s.is_soon()) {
        crate::errln!("warning: {}", expiry_warning(s, conn.profile.as_ref()));
    }
    Ok((exit, report, result))
}

/// What to say about a secret that expired or ends within 30 days.
fn expiry_warning(s: &SecretExpiry, profile: Option<&crate::profile::Profile>) -> String {
    let when = if s.days_left < 0 {
        format!("expired on {} ({} days ago)", s.end_date_time, -s.days_left)
    } else {
        format!("expires on {} (in {} days)", s.end_date_time, s.days_left)
    };
    let fix = match profile {
        Some(p) if p.secret_storage.is_stored() => format!(
            "rotate it without downtime: `entra-extract profile rotate-secret {}`",
            p.name
        ),
        // The secret comes from each run's environment: rotate-secret cannot store it there.
        _ => "create a new one under Certificates & secrets and supply it instead".to_string(),
    };
    format!("the client secret {when}; {fix}")
}

/// `run --all`: every saved profile (started in name order), `--jobs` at a time, each
/// reported as it ends; an unreadable profile file is reported, not skipped.
async fn run_all(args: RunArgs) -> color_eyre::Result<Exit> {
    use futures::StreamExt;
    let dirs = match crate::profile::Dirs::from_env() {
        Ok(d) => d,
        Err(e) => {
            return Ok(refuse(
                Failure::new(Exit::BadConfig, e.to_string()),
                args.json,
            ));
        }
    };
    let names = match crate::profile::ProfileStore::new(dirs).list() {
        Ok(listed) => listed.into_iter().map(|(name, _)| name).collect::<Vec<_>>(),
        Err(e) => {
            return Ok(refuse(
                Failure::new(Exit::BadConfig, e.to_string()),
                args.json,
            ));
        }
    };
    if names.is_empty() {
        return Ok(refuse(
            Failure::new(
                Exit::BadConfig,
                "there are no saved profiles to run; create one with `entra-extract profile create` or the wizard",
            ),
            args.json,
        ));
    }
    match crate::secret::SecretInputs::from_env().override_source(None) {
        Some(crate::secret::SecretSource::Env) => crate::errln!(
            "warning: {} is set, so every profile signs in with that one secret; unset it to use each profile's own",
            crate::secret::SECRET_ENV
        ),
        Some(source) => crate::errln!(
            "warning: the {source} {} is set, so every profile without its own ({0}-NAME) signs in with that one secret",
            crate::secret::SYSTEMD_CREDENTIAL
        ),
        None => {}
    }
    // One listener for the signals: it stops the running profiles, and no further
    // one starts.
    let stop_all = CancellationToken::new();
    let stop = stop_all.clone();
    on_signals(move || {
        stop.cancel();
        "stopping every profile's run; one already committing its files completes, the others change no output file"
    });
    let runs = futures::stream::iter(names)
        .map(|name| {
            let mut one = args.clone();
            one.all = false;
            one.quiet = true;
            one.connect.profile = Some(name.to_string());
            let stop_all = &stop_all;
            async move {
                let done = if stop_all.is_cancelled() {
                    Err(not_started())
                } else {
                    match one.connect.connect().await {
                        Ok(conn) => execute(conn, &one, Some(stop_all)).await,
                        Err(f) => Err(f),
                    }
                };
                let (exit, mut report) = match done {
                    Ok((exit, report, _)) => (exit, report),
                    Err(f) => (f.exit, RunReport::refused(&f)),
                };
                report.profile = Some(name.to_string());
                (exit, report)
            }
        })
        // Reported as each ends: a slow tenant does not hold back the others' slots.
        .buffer_unordered(usize::from(args.jobs));
    futures::pin_mut!(runs);
    let mut worst = Exit::Success;
    while let Some((exit, report)) = runs.next().await {
        if args.json {
            crate::outln!("{}", serde_json::to_string(&report)?);
        } else {
            crate::outln!("{}", one_line(&report));
        }
        worst = worse(worst, exit);
    }
    Ok(worst)
}

fn not_started() -> Failure {
    Failure::new(Exit::Interrupted, "not started: the run was interrupted")
}

/// The worse of two outcomes: a failure over warnings over success; between failures the
/// higher code (interrupted is the highest).
pub fn worse(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Success => 0,
        Exit::CompletedWithWarnings => 1,
        other => 10 + u16::from(other.code()),
    };
    if rank(b) > rank(a) { b } else { a }
}

/// A profile's run in one line: `contoso: success, incremental (3 joiners, …), 12.0s`.
fn one_line(report: &RunReport) -> String {
    let name = report.profile.as_deref().unwrap_or("?");
    if let Some(e) = &report.error {
        return format!(
            "{name}: {} (exit {}): {e}",
            report.outcome.label(),
            report.exit_code
        );
    }
    let what = match (report.mode, &report.changes) {
        (Some(RunMode::Incremental), Some(c)) => format!("incremental ({})", c.summary()),
        _ => "full".to_string(),
    };
    format!(
        "{name}: {}, {} users, {} groups, {what}, {:.1}s{}",
        report.outcome.label(),
        report.users,
        report.groups,
        report.duration_secs,
        if report.warnings.is_empty() {
            String::new()
        } else {
            format!(", {} warning(s)", report.warnings.len())
        }
    )
}

/// The profile's settings (if any) with the flags layered on top.
fn options(args: &RunArgs, conn: &Connection) -> Result<ExtractOptions, Failure> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Failure::new(Exit::BadConfig, format!("{what}: {e}"))
    };
    let mut options = match (&conn.profile, &conn.dirs) {
        (Some(p), Some(dirs)) => crate::session::profile_run(p, dirs)
            .map_err(|e| bad(&format!("profile {}", p.name), &e))?,
        _ => ExtractOptions::new("."),
    };
    if let Some(dir) = &args.output_dir {
        options.set_output_dir(dir);
    }
    // Caught before signing in: a directory that cannot hold the files is configuration.
    crate::extract::output::check_output_dir(&options.output_dir).map_err(|e| {
        bad(
            &format!("output directory {}", options.output_dir.display()),
            &e,
        )
    })?;
    if let Some(raw) = &args.domain_prefix {
        let prefix =
            DomainPrefix::parse(raw).map_err(|e| bad(&format!("--domain-prefix {raw:?}"), &e))?;
        options.prefix = Some(prefix);
    }
    options.bom |= args.bom;
    options
        .extra_user_attributes
        .extend(args.extra_user_attributes.iter().cloned());
    options
        .extra_group_attributes
        .extend(args.extra_group_attributes.iter().cloned());
    options.workers = usize::from(args.workers);
    options.plan = args.plan;
    options.cloud = crate::session::cloud_name(conn.cloud);
    if let Some(state) = &mut options.state {
        state.full = args.full;
    } else if args.full {
        return Err(Failure::new(
            Exit::BadConfig,
            "--full needs --profile: only a profile's runs read just the changes",
        ));
    }
    Ok(options)
}

/// The exit code and the report for a finished (or failed) run.
fn outcome(
    result: &Result<ExtractSummary, ExtractError>,
    progress: &Progress,
    started: chrono::DateTime<Utc>,
) -> (Exit, RunReport) {
    let snap = progress.snapshot();
    let (exit, error) = match result {
        Ok(s) if s.warnings.is_empty() => (Exit::Success, None),
        Ok(_) => (Exit::CompletedWithWarnings, None),
        Err(e) => {
            let f = failure(e);
            (f.exit, Some(f.message))
        }
    };
    let outcome = exit.outcome();
    let count = |k: WarningKind| snap.warnings.iter().filter(|w| w.kind == k).count();
    let ok = result.as_ref().ok();
    // Decided before the run could fail: a failed run still says how it was reading.
    let run_info = progress.run_info();
    let report = RunReport {
        profile: None,
        outcome,
        exit_code: exit.code(),
        tenant_id: ok.map(|s| s.tenant.tenant_id.clone()),
        files: ok
            .map(|s| s.output.files.iter().map(|f| f.path.clone()).collect())
            .unwrap_or_default(),
        manifest: ok.map(|s| s.output.manifest_path.clone()),
        users: file_rows(ok, FileKind::Users).unwrap_or(snap.users_done),
        groups: file_rows(ok, FileKind::Groups).unwrap_or(snap.groups_done),
        member_edges: file_rows(ok, FileKind::GroupsMembers).unwrap_or(snap.member_edges),
        owner_edges: file_rows(ok, FileKind::GroupsOwners).unwrap_or(snap.owner_edges),
        hidden_groups_unreadable: count(WarningKind::HiddenMembershipUnreadable),
        groups_deleted: count(WarningKind::GroupDeleted),
        warnings: snap.warnings.iter().map(|w| w.detail.clone()).collect(),
        notes: progress.notes(),
        mode: run_info.as_ref().map(|r| r.mode),
        full_reason: run_info.and_then(|r| r.full_reason),
        changes: ok.and_then(|s| s.output.manifest.changes),
        secret_expiry: None,
        duration_secs: (Utc::now() - started).num_milliseconds() as f64 / 1000.0,
        error,
    };
    (exit, report)
}

fn file_rows(summary: Option<&ExtractSummary>, kind: FileKind) -> Option<u64> {
    summary?
        .output
        .files
        .iter()
        .find(|f| f.kind == kind)
        .map(|f| f.rows)
}

/// Maps an extraction error to its exit code and message.
pub fn failure(e: &ExtractError) -> Failure {
    match e {
        ExtractError::Graph(g) => {
            // Say that the previous extraction survived, as for every other failed run.
            let f = graph_failure(g);
            match f.exit {
                Exit::ExtractFailed => {
                    Failure::new(f.exit, format!("{}; no output file was changed", f.message))
                }
                _ => f,
            }
        }
        ExtractError::PermissionDenied { .. } => {
            Failure::new(Exit::PermissionMissing, e.to_string())
        }
        ExtractError::Cancelled => Failure::new(Exit::Interrupted, e.to_string()),
        ExtractError::Schema(_) | ExtractError::Prefix { .. } => {
            Failure::new(Exit::BadConfig, e.to_string())
        }
        // The directory could not be claimed (missing rights, another run holds it):
        // checked before any request, so it is configuration.
        ExtractError::Output(o) if o.is_setup() => Failure::new(Exit::BadConfig, e.to_string()),
        // Writing or committing failed (disk full, I/O error), or the run itself broke:
        // exit 1, as documented.
        ExtractError::Output(_) | ExtractError::Internal { .. } => {
            Failure::new(Exit::Failure, e.to_string())
        }
        ExtractError::Record(_) | ExtractError::Unexpected { .. } => Failure::new(
            Exit::ExtractFailed,
            format!("{e}; no output file was changed"),
        ),
    }
}

fn print_human(result: &Result<ExtractSummary, ExtractError>, report: &RunReport) {
    match result {
        Ok(s) => {
            crate::outln!(
                "Extracted {} users, {} groups, {} member and {} owner rows from {} in {:.1}s:",
                report.users,
                report.groups,
                report.member_edges,
                report.owner_edges,
                s.tenant.default_domain,
                report.duration_secs
            );
            for f in &report.files {
                crate::outln!("  {}", f.display());
            }
            if let Some(m) = &report.manifest {
                crate::outln!("  {}", m.display());
            }
            if let Some(mode) = report.mode {
                crate::outln!(
                    "{}",
                    mode.describe(report.full_reason.as_deref(), report.changes.as_ref())
                );
            }
            // What happened without making the files incomplete (a plan that fell back to
            // plainer reads, a listing read again), as the manifest's notes.
            for (what, lines) in [("note", &report.notes), ("warning", &report.warnings)] {
                if !lines.is_empty() {
                    crate::outln!("{} {what}(s):", lines.len());
                    for line in lines {
                        crate::outln!("  - {line}");
                    }
                }
            }
        }
        Err(_) => {
            if let Some(e) = &report.error {
                crate::errln!("error: {e}");
            }
        }
    }
}
