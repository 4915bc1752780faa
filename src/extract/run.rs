//! One extraction run: users, groups, members and owners streamed from Graph into the
//! atomic output set.
//!
//! Shape of a run:
//! - users are paged (`$top=999`) while, concurrently, groups are paged and handed to a
//!   pool of workers;
//! - each worker takes up to [`GROUPS_PER_BATCH`] groups and asks for the first page of
//!   their members and owners in one `$batch` (most groups are small, so one round trip
//!   finishes ten of them); longer lists continue through their `@odata.nextLink`;
//! - every page goes through a bounded channel to one blocking writer task that owns the
//!   CSV files, so memory stays flat however large the tenant, and disk I/O never runs on
//!   the async workers;
//! - on success the files are committed (fsync + rename + manifest); on any error or
//!   cancellation they are aborted and the previous extraction stays untouched.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

use super::manifest::RunDetails;
use super::output::{ClaimedDir, CommittedOutput, OutputError, OutputOptions, OutputSet};
use super::prefix::{DomainPrefix, PrefixError};
use super::progress::{Phase, Progress, Warning};
use super::schema::{
    EDGE_SELECT, GroupCounts, GroupRecord, MemberCount, RecordError, Schema, SchemaError,
};
use crate::graph::{BatchRequest, GraphClient, GraphError, Pager};

/// Groups whose first member and owner pages share one `$batch` (2 requests each, ≤ 20).
pub const GROUPS_PER_BATCH: usize = 10;
/// Page size for every collection (Graph's maximum for directory objects).
pub const PAGE_SIZE: u32 = 999;
/// How often one listing may start over after Graph expired its page token.
const LISTING_RESTARTS: u32 = 3;
/// Pages buffered between the fetchers and the writer: bounds memory, applies backpressure.
const WRITE_QUEUE: usize = 64;

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
    /// Workers fetching member/owner lists at once (each holds up to 10 groups).
    pub workers: usize,
    /// Cloud name for the manifest (e.g. `global`).
    pub cloud: String,
}

impl ExtractOptions {
    /// Defaults for everything but the output directory.
    pub fn new(output_dir: impl Into<PathBuf>) -> Self {
        ExtractOptions {
            output_dir: output_dir.into(),
            prefix: None,
            bom: false,
            extra_user_attributes: Vec::new(),
            extra_group_attributes: Vec::new(),
            workers: 4,
            cloud: "global".into(),
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

/// Why an extraction did not complete. In every case no output file was changed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(
        "Microsoft Graph refused to list {what} (403 Authorization_RequestDenied): the app lacks Directory.Read.All; run `entra-extract check` for the exact fix"
    )]
    PermissionDenied { what: String },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(
        "the tenant's default domain {domain:?} cannot be used as a file-name prefix ({source}); choose one with --domain-prefix"
    )]
    Prefix {
        domain: String,
        #[source]
        source: PrefixError,
    },
    #[error("unexpected answer from {what}: {detail}")]
    Unexpected { what: String, detail: String },
    /// A task of the run itself failed (panicked or stopped): a bug, not Graph's doing.
    #[error(
        "internal error in {what}: {detail}; no output file was changed (please report it with the log file)"
    )]
    Internal { what: String, detail: String },
    #[error("cancelled; no output file was changed")]
    Cancelled,
}

impl ExtractError {
    fn from_graph(e: GraphError, what: &str) -> Self {
        match e {
            GraphError::Cancelled => ExtractError::Cancelled,
            e if e.is_access_denied() => ExtractError::PermissionDenied { what: what.into() },
            e => ExtractError::Graph(e),
        }
    }
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
    progress.set_totals(users_total.ok(), groups_total.ok());

    let set = {
        let (dir, prefix, schema) = (options.output_dir.clone(), prefix.clone(), schema.clone());
        let bom = options.bom;
        blocking(move || {
            let claimed = match claimed {
                Some(c) => c,
                None => ClaimedDir::claim(&dir)?,
            };
            OutputSet::create_in(claimed, &prefix, &schema, OutputOptions { bom })
        })
        .await?
    };
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    let writer = {
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || write_all(set, rx, &progress))
    };

    let fetched = fetch_all(
        client,
        &schema,
        can_read_hidden,
        options.workers,
        tx,
        progress,
    )
    .await;
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
    let warnings = progress.warnings();
    let details = RunDetails {
        tenant_id: tenant.tenant_id.clone(),
        client_id: client.config().client_id.to_string(),
        cloud: options.cloud.clone(),
        started_at,
        finished_at: None,
        warnings: warnings.clone(),
        notes: progress.notes(),
    };
    let output = blocking(move || set.commit(details)).await?;
    Ok(ExtractSummary {
        tenant,
        prefix,
        output,
        warnings,
        duration: (Utc::now() - started_at).to_std().unwrap_or_default(),
    })
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

/// Which list of a group an edge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Members,
    Owners,
}

impl ListKind {
    fn segment(self) -> &'static str {
        match self {
            ListKind::Members => "members",
            ListKind::Owners => "owners",
        }
    }
}

/// What the fetchers hand to the writer.
enum WriteOp {
    Users(Vec<Value>),
    Edges {
        kind: ListKind,
        group: Arc<GroupRecord>,
        items: Vec<Value>,
    },
    Group {
        group: Arc<GroupRecord>,
        counts: GroupCounts,
    },
}

/// The writer task: owns the files until the channel closes, then hands the set back for
/// commit or abort. On a write error it aborts at once and returns the error; the closed
/// channel then stops the fetchers.
fn write_all(
    mut set: OutputSet,
    mut rx: mpsc::Receiver<WriteOp>,
    progress: &Progress,
) -> Result<OutputSet, OutputError> {
    while let Some(op) = rx.blocking_recv() {
        let written = match op {
            WriteOp::Users(users) => users
                .iter()
                .try_for_each(|u| set.users().write(u))
                .map(|()| progress.add_users(users.len() as u64)),
            WriteOp::Edges { kind, group, items } => match kind {
                ListKind::Members => set
                    .members()
                    .write_page(&group, &items)
                    .map(|n| progress.add_member_edges(n)),
                ListKind::Owners => set
                    .owners()
                    .write_page(&group, &items)
                    .map(|n| progress.add_owner_edges(n)),
            },
            WriteOp::Group { group, counts } => set.groups().write(&group, counts).map(|()| {
                progress.member_list_done();
                progress.owner_list_done();
            }),
        };
        if let Err(e) = written {
            let _ = set.abort();
            return Err(e);
        }
    }
    Ok(set)
}

/// Lists users and groups and fetches every group's members and owners.
async fn fetch_all(
    client: &GraphClient,
    schema: &Arc<Schema>,
    can_read_hidden: bool,
    workers: usize,
    tx: mpsc::Sender<WriteOp>,
    progress: &Arc<Progress>,
) -> Result<(), ExtractError> {
    progress.set_phase(Phase::Users);
    let (group_tx, group_rx) = mpsc::channel::<Arc<GroupRecord>>(GROUPS_PER_BATCH * workers * 2);
    let group_rx = Arc::new(Mutex::new(group_rx));
    let mut tasks: JoinSet<Result<(), ExtractError>> = JoinSet::new();

    {
        let (client, tx, select) = (client.clone(), tx.clone(), schema.user_select());
        let progress = progress.clone();
        let mut presence = AttributePresence::new(schema.user_extras());
        tasks.spawn(async move {
            let mut pager = client
                .pager(&format!("/users?$select={select}&$top={PAGE_SIZE}"))
                .restart_on_expired_page_token(LISTING_RESTARTS);
            while let Some(page) = pager.next_page().await {
                let page = page.map_err(|e| ExtractError::from_graph(e, "users"))?;
                presence.observe(&page.items);
                send(&tx, WriteOp::Users(page.items)).await?;
            }
            note_restarts(&progress, &pager, "the user listing");
            presence.warn(&progress, "user");
            progress.set_phase(Phase::Memberships);
            Ok(())
        });
    }
    {
        let (client, schema, progress) = (client.clone(), schema.clone(), progress.clone());
        tasks.spawn(async move {
            let select = schema.group_select();
            let mut presence = AttributePresence::new(schema.group_extras());
            let mut pager = client
                .pager(&format!("/groups?$select={select}&$top={PAGE_SIZE}"))
                .restart_on_expired_page_token(LISTING_RESTARTS);
            while let Some(page) = pager.next_page().await {
                let page = page.map_err(|e| ExtractError::from_graph(e, "groups"))?;
                presence.observe(&page.items);
                for group in &page.items {
                    let record = Arc::new(GroupRecord::from_value(&schema, group)?);
                    progress.add_groups(1);
                    if group_tx.send(record).await.is_err() {
                        return Ok(()); // the workers stopped on an error reported elsewhere
                    }
                }
            }
            note_restarts(&progress, &pager, "the group listing");
            presence.warn(&progress, "group");
            Ok(())
        });
    }
    for _ in 0..workers.max(1) {
        let worker = GroupWorker {
            client: client.clone(),
            tx: tx.clone(),
            progress: progress.clone(),
            can_read_hidden,
        };
        let group_rx = group_rx.clone();
        tasks.spawn(async move {
            let mut batch = Vec::with_capacity(GROUPS_PER_BATCH);
            loop {
                batch.clear();
                if group_rx
                    .lock()
                    .await
                    .recv_many(&mut batch, GROUPS_PER_BATCH)
                    .await
                    == 0
                {
                    return Ok(());
                }
                worker.fetch_lists(&batch).await?;
            }
        });
    }
    drop(tx);

    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.unwrap_or_else(|e| {
            Err(ExtractError::Internal {
                what: "an extraction task".into(),
                detail: e.to_string(),
            })
        });
        if let Err(e) = outcome {
            tasks.shutdown().await;
            return Err(e);
        }
    }
    Ok(())
}

/// Says in the manifest that `what` was read again from its first page (and deduplicated
/// by id) after Graph expired its page token.
fn note_restarts(progress: &Progress, pager: &Pager, what: &str) {
    let n = pager.restarts();
    if n > 0 {
        progress.note(format!(
            "{what} restarted from its first page {n} time(s) after Graph expired its page token (400 Directory_ExpiredPageToken); objects read twice were written once"
        ));
    }
}

/// Which extra attributes appeared in at least one object of a listing. Graph leaves out a
/// `$select` name it does not know (and returns known but unset ones as `null`), so a name
/// that appears nowhere is almost always misspelt: its empty column earns a warning.
struct AttributePresence {
    names: Vec<String>,
    seen: Vec<bool>,
    objects: u64,
}

impl AttributePresence {
    fn new(names: &[String]) -> Self {
        AttributePresence {
            names: names.to_vec(),
            seen: vec![false; names.len()],
            objects: 0,
        }
    }

    fn observe(&mut self, items: &[Value]) {
        self.objects += items.len() as u64;
        for (name, seen) in self.names.iter().zip(self.seen.iter_mut()) {
            *seen = *seen || items.iter().any(|o| has_key(o, name));
        }
    }

    fn warn(&self, progress: &Progress, noun: &str) {
        if self.objects == 0 {
            return;
        }
        // Directory extensions are left out where they are unset, so absence proves nothing.
        let missing = self.names.iter().zip(&self.seen).filter(|(n, s)| {
            !**s && !n
                .get(..10)
                .is_some_and(|p| p.eq_ignore_ascii_case("extension_"))
        });
        for (name, _) in missing {
            progress.warn(Warning::attribute_not_returned(noun, name, self.objects));
        }
    }
}

/// Graph compares property names case-insensitively; so does the CSV column lookup.
fn has_key(object: &Value, name: &str) -> bool {
    object
        .as_object()
        .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case(name)))
}

async fn send(tx: &mpsc::Sender<WriteOp>, op: WriteOp) -> Result<(), ExtractError> {
    // The writer only hangs up after a write error, which it reports itself.
    tx.send(op).await.map_err(|_| ExtractError::Internal {
        what: "the CSV writer".into(),
        detail: "stopped early".into(),
    })
}

/// How one member or owner list ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListOutcome {
    Complete(u64),
    /// Hidden membership without Member.Read.Hidden: 403, or an empty answer we can't trust.
    Unreadable,
    /// 404: the group was deleted after it was listed; `partial` rows of this list were
    /// already written (earlier pages, or the members before the owners 404'd).
    Deleted {
        partial: u64,
    },
}

struct GroupWorker {
    client: GraphClient,
    tx: mpsc::Sender<WriteOp>,
    progress: Arc<Progress>,
    can_read_hidden: bool,
}

impl GroupWorker {
    /// Fetches members and owners of up to ten groups: first pages in one batch, the rest
    /// by paging.
    async fn fetch_lists(&self, groups: &[Arc<GroupRecord>]) -> Result<(), ExtractError> {
        let kinds = [ListKind::Members, ListKind::Owners];
        let requests = groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| {
                kinds.iter().map(move |k| {
                    BatchRequest::get(format!("{i}{}", &k.segment()[..1]), list_url(g.id(), *k))
                })
            })
            .collect();
        let mut responses = self.client.batch(requests).await.into_iter();
        for group in groups {
            let mut outcomes = [ListOutcome::Deleted { partial: 0 }; 2];
            for (slot, kind) in outcomes.iter_mut().zip(kinds) {
                let first =
                    responses
                        .next()
                        .map(|r| r.into_json())
                        .unwrap_or(Err(GraphError::Decode {
                            what: "a batch".into(),
                            message: "fewer responses than requests".into(),
                        }));
                *slot = self.finish_list(group, kind, first).await?;
            }
            self.finish_group(group, outcomes[0], outcomes[1]).await?;
        }
        Ok(())
    }

    /// Writes the first page (from the batch) and the rest of the list through a pager.
    async fn finish_list(
        &self,
        group: &Arc<GroupRecord>,
        kind: ListKind,
        first: Result<Value, GraphError>,
    ) -> Result<ListOutcome, ExtractError> {
        let mut total = 0u64;
        let body = match first {
            Ok(body) => body,
            Err(e) => return self.classify(group, kind, e, total),
        };
        let mut pager = self
            .client
            .pager_from(&list_url(group.id(), kind), body)
            .restart_on_expired_page_token(LISTING_RESTARTS);
        while let Some(page) = pager.next_page().await {
            let items = match page {
                Ok(page) => page.items,
                Err(e) => return self.classify(group, kind, e, total),
            };
            total += items.len() as u64;
            if !items.is_empty() {
                let op = WriteOp::Edges {
                    kind,
                    group: group.clone(),
                    items,
                };
                send(&self.tx, op).await?;
            }
        }
        let what = format!("the {} of group {}", kind.segment(), group.id());
        note_restarts(&self.progress, &pager, &what);
        let hidden_unreadable = kind == ListKind::Members
            && total == 0
            && group.is_hidden_membership()
            && !self.can_read_hidden;
        Ok(if hidden_unreadable {
            ListOutcome::Unreadable
        } else {
            ListOutcome::Complete(total)
        })
    }

    /// Maps a list error to an outcome, or to a fatal error; `written` rows of the list are
    /// already in the file.
    fn classify(
        &self,
        group: &GroupRecord,
        kind: ListKind,
        e: GraphError,
        written: u64,
    ) -> Result<ListOutcome, ExtractError> {
        match e {
            GraphError::Cancelled => Err(ExtractError::Cancelled),
            e if e.status() == Some(404) => Ok(ListOutcome::Deleted { partial: written }),
            e if e.is_access_denied()
                && kind == ListKind::Members
                && group.is_hidden_membership() =>
            {
                Ok(ListOutcome::Unreadable)
            }
            e => Err(ExtractError::from_graph(
                e,
                &format!("the {} of group {}", kind.segment(), group.id()),
            )),
        }
    }

    async fn finish_group(
        &self,
        group: &Arc<GroupRecord>,
        members: ListOutcome,
        owners: ListOutcome,
    ) -> Result<(), ExtractError> {
        let (id, name) = (group.id(), group.display_name());
        let gone = |o: ListOutcome| matches!(o, ListOutcome::Deleted { .. });
        if gone(members) || gone(owners) {
            let mut warning = Warning::group_deleted(id, name);
            let nothing_written = |o: ListOutcome| o == ListOutcome::Deleted { partial: 0 };
            if !(nothing_written(members) && nothing_written(owners)) {
                // Some rows made it into the files: say which, rather than "none".
                warning.detail = format!(
                    "group \"{name}\" was deleted during the extraction; {}; {}",
                    deleted_list_note("members", members),
                    deleted_list_note("owners", owners)
                );
            }
            self.progress.warn(warning);
        } else if members == ListOutcome::Unreadable {
            self.progress
                .warn(Warning::hidden_membership_unreadable(id, name));
        }
        let counts = GroupCounts {
            members: match members {
                ListOutcome::Complete(n) => MemberCount::Known(n),
                ListOutcome::Unreadable | ListOutcome::Deleted { .. } => MemberCount::Unreadable,
            },
            owners: match owners {
                ListOutcome::Complete(n) => Some(n),
                ListOutcome::Unreadable | ListOutcome::Deleted { .. } => None,
            },
        };
        let op = WriteOp::Group {
            group: group.clone(),
            counts,
        };
        send(&self.tx, op).await
    }
}

/// What the files hold of one list of a group deleted during the run.
fn deleted_list_note(list: &str, outcome: ListOutcome) -> String {
    match outcome {
        ListOutcome::Complete(n) => format!("its {n} {list} were read before it disappeared"),
        ListOutcome::Deleted { partial: 0 } => format!("its {list} are not in the files"),
        ListOutcome::Deleted { partial } => {
            format!("only the first {partial} of its {list} are in the files")
        }
        ListOutcome::Unreadable => format!("its {list} could not be read"),
    }
}

/// First page of a group's members or owners, with only the columns the CSV needs.
fn list_url(group_id: &str, kind: ListKind) -> String {
    format!(
        "/groups/{group_id}/{}?$select={EDGE_SELECT}&$top={PAGE_SIZE}",
        kind.segment()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_list_notes_say_what_is_in_the_files() {
        assert_eq!(
            deleted_list_note("members", ListOutcome::Complete(3)),
            "its 3 members were read before it disappeared"
        );
        assert_eq!(
            deleted_list_note("owners", ListOutcome::Deleted { partial: 0 }),
            "its owners are not in the files"
        );
        assert_eq!(
            deleted_list_note("members", ListOutcome::Deleted { partial: 999 }),
            "only the first 999 of its members are in the files"
        );
    }

    #[test]
    fn list_urls_select_edge_columns_with_full_pages() {
        assert_eq!(
            list_url("g1", ListKind::Owners),
            "/groups/g1/owners?$select=id,displayName,userPrincipalName&$top=999"
        );
    }
}
