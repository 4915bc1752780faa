//! Reading a rerun's input: the previous run's files and, at the same time, the changes
//! since them from `users/delta` and `groups/delta`; and the links a full run takes for the
//! next one.

use foldhash::HashSet;

use serde_json::Value;

use super::RerunError;
use super::state::{DeltaLinks, Fallback, Snapshot};
use super::tables::{Loaded, Tables};
use crate::extract::access::Access;
use crate::extract::error::ExtractError;
use crate::extract::progress::{Phase, Progress};
use crate::extract::schema::Schema;
use crate::graph::{GraphClient, GraphError};

/// getByIds lookups of one rerun in flight at once.
const LOOKUPS_IN_FLIGHT: usize = 8;

fn users_delta(schema: &Schema) -> String {
    format!("/users/delta?$select={}", schema.user_select())
}

fn groups_delta(schema: &Schema) -> String {
    format!(
        "/groups/delta?$select={},members,owners",
        schema.group_select()
    )
}

/// Delta links for "now", taken before a full read (`$deltatoken=latest` returns no objects,
/// only the link [GDC concepts/delta-query-overview.md]). An error names the function that
/// failed; the caller reads everything without them.
pub(super) async fn latest_links(
    client: &GraphClient,
    schema: &Schema,
) -> Result<DeltaLinks, ExtractError> {
    let mut links = Vec::new();
    for (start, what) in [
        (users_delta(schema), "users"),
        (groups_delta(schema), "groups"),
    ] {
        let body = client
            .get_json(&format!("{start}&$deltatoken=latest"))
            .await
            .map_err(|e| match e {
                GraphError::Cancelled => ExtractError::Cancelled,
                e => ExtractError::Unexpected {
                    what: format!("{what}/delta?$deltatoken=latest"),
                    detail: e.to_string(),
                },
            })?;
        let link = body
            .get("@odata.deltaLink")
            .and_then(Value::as_str)
            .ok_or_else(|| ExtractError::Unexpected {
                what: format!("{what}/delta?$deltatoken=latest"),
                detail: "no @odata.deltaLink".into(),
            })?;
        links.push(link.to_string());
    }
    let [users, groups] = <[String; 2]>::try_from(links).unwrap_or_default();
    Ok(DeltaLinks { users, groups })
}

/// What a rerun read: the previous run's tables and the changes since, with the links the
/// next run starts from.
pub(super) struct Read {
    pub tables: Tables,
    /// The ids of the other objects the previous files hold, asked for with getByIds while
    /// the changes arrived, and what came back.
    pub refreshed: (HashSet<String>, Vec<Value>),
    pub users: Vec<Value>,
    pub groups: Vec<Value>,
    pub links: DeltaLinks,
}

/// Reads the changes since `links` and the previous run's files.
pub(super) async fn read(
    client: &GraphClient,
    schema: &Schema,
    links: &DeltaLinks,
    snapshot: Snapshot,
    access: Access,
    progress: &Progress,
) -> Result<Read, RerunError> {
    // The previous files are parsed while both delta chains are read: three independent
    // waits, taken at once.
    let load = {
        let schema = schema.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let tables = load_snapshot(&schema, &snapshot);
            tracing::info!(took = ?started.elapsed(), "previous files parsed");
            tables
        })
    };
    let load = async {
        load.await
            .map_err(|e| ExtractError::Internal {
                what: "reading the previous run's files".into(),
                detail: e.to_string(),
            })?
            .map_err(RerunError::Fallback)
    };
    // The names of the devices, service principals and contacts the previous files hold
    // are read again while the groups' changes still arrive; only others new since are
    // left for after the merge.
    let load = async {
        let tables = load.await?;
        let known: Vec<&str> = tables.others.keys().map(String::as_str).collect();
        let found = look_up(client, access, &known).await?;
        let asked: HashSet<String> = known.into_iter().map(str::to_string).collect();
        Ok::<_, RerunError>((tables, (asked, found)))
    };
    // Users and groups are read together: the phase shows the later one.
    progress.set_phase(Phase::Groups);
    // The first failure (a resync asked for, unusable files) ends the others: a full run
    // follows and needs none of them.
    let ((tables, refreshed), (users, users_link), (groups, groups_link)) = tokio::try_join!(
        load,
        follow(client, &links.users, "users"),
        follow(client, &links.groups, "groups")
    )?;
    // Where a rerun's time goes, for BENCHMARKS.md.
    tracing::info!(users = users.len(), groups = groups.len(), at = ?progress.elapsed(), "changes read");
    Ok(Read {
        tables,
        refreshed,
        users,
        groups,
        links: DeltaLinks {
            users: users_link,
            groups: groups_link,
        },
    })
}
/// Parses a snapshot, trusting it only if every file has its saved hash (checked also when
/// parsing failed, so that a file edited since says so).
pub(super) fn load_snapshot(schema: &Schema, snapshot: &Snapshot) -> Result<Tables, Fallback> {
    let [mut users, mut groups, mut members, mut owners] = snapshot.open()?;
    let tables = Tables::load(
        schema,
        Loaded {
            users: &mut users,
            groups: &mut groups,
            members: &mut members,
            owners: &mut owners,
        },
    );
    for file in [users, groups, members, owners] {
        file.verify()?;
    }
    tables
}

/// Follows a delta link to its next deltaLink; a token Graph refuses means a resync.
async fn follow(
    client: &GraphClient,
    link: &str,
    what: &str,
) -> Result<(Vec<Value>, String), RerunError> {
    let started = std::time::Instant::now();
    let mut pager = client.pager(link);
    let mut items = Vec::new();
    let mut next = None;
    while let Some(page) = pager.next_page().await {
        let page = page.map_err(|e| match e {
            // 410 Gone (sync reset) or a 400 such as syncStateNotFound: "the application must
            // restart with a full synchronization" [GDC concepts/delta-query-overview.md].
            e if matches!(e.status(), Some(400 | 410)) => RerunError::Fallback(Fallback::Expired(
                format!(
                    "{what}: {} {}",
                    e.status().unwrap_or_default(),
                    e.code().unwrap_or("")
                )
                .trim()
                .to_string(),
            )),
            e => unreadable(&format!("{what}/delta"), e),
        })?;
        items.extend(page.items);
        if page.delta_link.is_some() {
            next = page.delta_link;
        }
    }
    let next = next.ok_or_else(|| ExtractError::Unexpected {
        what: format!("{what}/delta"),
        detail: "the last page has no @odata.deltaLink".into(),
    })?;
    tracing::info!(what, objects = items.len(), took = ?started.elapsed(), "delta chain followed");
    Ok((items, next))
}

/// A read only a rerun needs (delta, getByIds) failed: read everything instead, as the
/// plain reads of a full run may still work; unless the run was cancelled.
pub(super) fn unreadable(what: &str, e: GraphError) -> RerunError {
    match e {
        GraphError::Cancelled => RerunError::Extract(ExtractError::Cancelled),
        e => RerunError::Fallback(Fallback::ChangesUnreadable(format!("{what}: {e}"))),
    }
}

/// Objects by id with the columns their rows show, several lookups in flight (the client's
/// pacing still applies); without Directory.Read.All, a fallback instead of a request Graph
/// refuses (none is needed when `ids` is empty).
pub(super) async fn look_up(
    client: &GraphClient,
    access: Access,
    ids: &[&str],
) -> Result<Vec<Value>, RerunError> {
    if !ids.is_empty() && !access.look_up_ids {
        return Err(RerunError::Fallback(Fallback::NoLookUps));
    }
    client
        .get_by_ids(ids, crate::extract::schema::EDGE_SELECT, LOOKUPS_IN_FLIGHT)
        .await
        .map_err(|e| unreadable("getByIds", e))
}
