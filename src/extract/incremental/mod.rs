//! Incremental reruns of a profile: read only what changed since the previous complete run
//! (`users/delta` and `groups/delta` from the links saved then [GDC
//! concepts/delta-query-overview.md]), merge it into that run's files, and write the
//! complete four files again plus `<domain>_changes.csv`.
//!
//! A full run of a profile first takes `$deltatoken=latest` links for both collections, so
//! whatever changes while it reads is replayed by the next run (merging is idempotent);
//! after the commit it saves the links and the files as the next run's starting point
//! ([`state`]). The unfiltered delta functions are used, not the fast plan's filtered
//! chains, because a chain filtered by ids never sees groups created later.
//!
//! Anything that makes the saved state untrustworthy — no state, other settings, a snapshot
//! whose hash changed, a delta token Graph no longer accepts — means a full run, and the
//! reason is kept in the manifest ([`Fallback`]).

pub mod state;
mod tables;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::path::PathBuf;

use serde_json::Value;

use super::error::ExtractError;
use super::manifest::ChangeCounts;
use super::progress::{Phase, Progress};
use super::schema::Schema;
use crate::graph::{GraphClient, GraphError};
pub use state::{DeltaLinks, Fallback, Identity, Snapshot, StateDir};
pub use tables::Tables;
use tables::{Loaded, Other, WriteError, attribute_cell, ref_type};

/// Where a profile keeps its state between runs, and whether this run must read everything.
#[derive(Debug, Clone)]
pub struct StateOptions {
    pub dir: PathBuf,
    /// `--full`: read everything even if the state could be used.
    pub full: bool,
}

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

/// Why an incremental run stopped.
pub(super) enum RerunError {
    /// Read everything instead.
    Fallback(Fallback),
    Extract(ExtractError),
}

impl From<ExtractError> for RerunError {
    fn from(e: ExtractError) -> Self {
        RerunError::Extract(e)
    }
}

/// What a row of the changes report is about. Declared in the order of the names, which is
/// the order the report's rows are sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangedObject {
    Group,
    Member,
    Owner,
    User,
}

impl ChangedObject {
    /// The `object` cell.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangedObject::Group => "group",
            ChangedObject::Member => "member",
            ChangedObject::Owner => "owner",
            ChangedObject::User => "user",
        }
    }
}

/// How an object or edge changed. Declared in the order of the names, as
/// [`ChangedObject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Added,
    Removed,
    Updated,
}

impl Change {
    /// The `change` cell.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Updated => "updated",
        }
    }
}

/// One row of `<domain>_changes.csv`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangeRow {
    pub object: ChangedObject,
    pub change: Change,
    pub group_id: String,
    pub id: String,
    pub kind: String,
    pub display_name: String,
    pub group_name: String,
    pub attributes: Vec<String>,
}

impl ChangeRow {
    /// The cells in [`CHANGE_COLUMNS`](super::schema::CHANGE_COLUMNS) order.
    pub fn cells(&self) -> [String; 8] {
        [
            self.object.as_str().to_string(),
            self.change.as_str().to_string(),
            self.id.clone(),
            self.kind.clone(),
            self.display_name.clone(),
            self.group_id.clone(),
            self.group_name.clone(),
            attribute_cell(&self.attributes),
        ]
    }
}

/// The merged tables, what changed, and the links the next run starts from.
pub(super) struct Rerun {
    pub tables: Tables,
    pub changes: Vec<ChangeRow>,
    pub counts: ChangeCounts,
    pub links: DeltaLinks,
}

/// Reads the changes since `links` and merges them into the previous run's files.
pub(super) async fn rerun(
    client: &GraphClient,
    schema: &Schema,
    links: DeltaLinks,
    snapshot: Snapshot,
    can_read_hidden: bool,
    progress: &Progress,
) -> Result<Rerun, RerunError> {
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
        let found = look_up(client, &known)
            .await
            .map_err(|e| unreadable("getByIds", e))?;
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
    progress.set_phase(Phase::Memberships);
    let mut m = Merge::new(tables, can_read_hidden);
    m.users(&users)?;
    m.groups(&groups)?;
    m.drop_dangling_edges();
    m.refresh_others(client, refreshed)
        .await
        .map_err(|e| unreadable("getByIds", e))?;
    tracing::info!(at = ?progress.elapsed(), "changes merged");
    let (changes, counts) = m.changes();
    Ok(Rerun {
        tables: m.t,
        changes,
        counts,
        links: DeltaLinks {
            users: users_link,
            groups: groups_link,
        },
    })
}

/// Parses a snapshot, trusting it only if every file has its saved hash (checked also when
/// parsing failed, so that a file edited since says so).
fn load_snapshot(schema: &Schema, snapshot: &Snapshot) -> Result<Tables, Fallback> {
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

/// What changed between the previous run's files and a full run's (`--full`, or a run that
/// could not be incremental but had a trusted previous snapshot with the same settings):
/// `after` are the full run's files (users, groups, members, owners).
pub(super) fn diff(
    schema: &Schema,
    before: &Snapshot,
    after: &[PathBuf; 4],
    can_read_hidden: bool,
) -> Result<(Vec<ChangeRow>, ChangeCounts), Fallback> {
    let old = load_snapshot(schema, before)?;
    let open = |p: &PathBuf| {
        std::fs::File::open(p)
            .map(std::io::BufReader::new)
            .map_err(|e| Fallback::Unusable(format!("{}: {e}", p.display())))
    };
    let [users, groups, members, owners] = after;
    let now = Tables::load(
        schema,
        Loaded {
            users: open(users)?,
            groups: open(groups)?,
            members: open(members)?,
            owners: open(owners)?,
        },
    )?;
    let mut m = Merge::new(now, can_read_hidden);
    m.others_before = old.others;
    let ids = |a: &HashMap<String, tables::Row>,
               b: &HashMap<String, tables::Row>|
     -> HashSet<String> { a.keys().chain(b.keys()).cloned().collect() };
    for id in ids(&old.users, &m.t.users) {
        let was = old.users.get(&id).cloned();
        m.users_before.insert(id, was);
    }
    for gid in ids(&old.groups, &m.t.groups) {
        m.groups_before
            .insert(gid.clone(), old.groups.get(&gid).cloned());
        m.members_before.insert(
            gid.clone(),
            old.members.get(&gid).cloned().unwrap_or_default(),
        );
        let owners = old.owners.get(&gid).cloned().unwrap_or_default();
        m.owners_before.insert(gid, owners);
    }
    Ok(m.changes())
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
fn unreadable(what: &str, e: GraphError) -> RerunError {
    match e {
        GraphError::Cancelled => RerunError::Extract(ExtractError::Cancelled),
        e => RerunError::Fallback(Fallback::ChangesUnreadable(format!("{what}: {e}"))),
    }
}

/// Objects by id with the columns their rows show, several lookups in flight (the client's
/// pacing still applies).
async fn look_up(client: &GraphClient, ids: &[&str]) -> Result<Vec<Value>, GraphError> {
    client
        .get_by_ids(ids, super::schema::EDGE_SELECT, LOOKUPS_IN_FLIGHT)
        .await
}

/// The tables being merged, and how each touched object and edge list looked before.
struct Merge {
    t: Tables,
    can_read_hidden: bool,
    users_before: HashMap<String, Option<tables::Row>>,
    groups_before: HashMap<String, Option<tables::Row>>,
    members_before: HashMap<String, HashSet<tables::Id>>,
    owners_before: HashMap<String, HashSet<tables::Id>>,
    /// The members and owners that are neither users nor groups, as the previous files
    /// named them (a removed edge's row describes its object as they did).
    others_before: HashMap<String, Other>,
}

fn id_of(o: &Value, what: &str) -> Result<String, ExtractError> {
    o.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ExtractError::Unexpected {
            what: format!("{what}/delta"),
            detail: "an object without an id".into(),
        })
}

impl Merge {
    /// Merges into `t`, the previous run's tables.
    fn new(t: Tables, can_read_hidden: bool) -> Merge {
        let others_before = t.others.clone();
        Merge {
            t,
            can_read_hidden,
            users_before: HashMap::new(),
            groups_before: HashMap::new(),
            members_before: HashMap::new(),
            owners_before: HashMap::new(),
            others_before,
        }
    }

    fn touch_group(&mut self, gid: &str) {
        let t = &self.t;
        self.groups_before
            .entry(gid.to_string())
            .or_insert_with(|| t.groups.get(gid).cloned());
        self.members_before
            .entry(gid.to_string())
            .or_insert_with(|| t.members.get(gid).cloned().unwrap_or_default());
        self.owners_before
            .entry(gid.to_string())
            .or_insert_with(|| t.owners.get(gid).cloned().unwrap_or_default());
    }

    /// Users: `@removed` (reason `changed` or `deleted`, both gone from `/users`), new ones
    /// whole, changed ones with at least their changed properties [DQ].
    fn users(&mut self, items: &[Value]) -> Result<(), ExtractError> {
        for u in items {
            let id = id_of(u, "users")?;
            let t = &self.t;
            self.users_before
                .entry(id.clone())
                .or_insert_with(|| t.users.get(&id).cloned());
            if u.get("@removed").is_some() {
                self.t.users.remove(&id);
                continue;
            }
            let Some(obj) = u.as_object() else { continue };
            let columns = self.t.user_columns().to_vec();
            Tables::merge_props(&columns, self.t.users.entry(id).or_default(), obj);
        }
        Ok(())
    }

    /// Groups: properties as for users, then `members@delta` / `owners@delta`: additions,
    /// and removals marked `@removed`; a group may come back on a later page [DQG].
    fn groups(&mut self, items: &[Value]) -> Result<(), ExtractError> {
        let columns = self.t.group_columns().to_vec();
        for g in items {
            let gid = id_of(g, "groups")?;
            self.touch_group(&gid);
            if g.get("@removed").is_some() {
                self.t.groups.remove(&gid);
                self.t.members.remove(&gid);
                self.t.owners.remove(&gid);
                continue;
            }
            let Some(obj) = g.as_object() else { continue };
            let cells = self.t.groups.entry(gid.clone()).or_default();
            Tables::merge_props(&columns, cells, obj);
            let hidden = !self.can_read_hidden && self.t.is_hidden(&self.t.groups[&gid]);
            for (key, owners) in [("members@delta", false), ("owners@delta", true)] {
                let refs = obj.get(key).and_then(Value::as_array);
                for r in refs.into_iter().flatten() {
                    let id = id_of(r, "groups")?;
                    let t = &mut self.t;
                    let edges = if owners {
                        &mut t.owners
                    } else {
                        &mut t.members
                    };
                    let set = edges.entry(gid.clone()).or_default();
                    if r.get("@removed").is_some() {
                        set.remove(id.as_str());
                        continue;
                    }
                    set.insert(t.ids.get(&id));
                    let kind = ref_type(r);
                    if kind != "user" && kind != "group" {
                        self.t.others.entry(id).or_insert(Other {
                            kind,
                            display_name: String::new(),
                            upn: String::new(),
                        });
                    }
                }
            }
            // A full run reads no members of a hidden group without Member.Read.Hidden.
            if hidden {
                self.t.members.remove(&gid);
            }
        }
        Ok(())
    }

    /// Edges to users and groups that are gone (Graph reports those removals too; a full
    /// run could not list them either way).
    fn drop_dangling_edges(&mut self) {
        let dangling = |t: &Tables, edges: &tables::Edges| -> Vec<String> {
            edges
                .iter()
                .filter(|(_, ids)| ids.iter().any(|id| t.describe(id).is_none()))
                .map(|(gid, _)| gid.clone())
                .collect()
        };
        let mut groups = dangling(&self.t, &self.t.members);
        groups.extend(dangling(&self.t, &self.t.owners));
        for gid in groups {
            self.touch_group(&gid);
            let t = &mut self.t;
            let (users, groups, others) = (&t.users, &t.groups, &t.others);
            let alive = |id: &str| {
                users.contains_key(id) || groups.contains_key(id) || others.contains_key(id)
            };
            for edges in [&mut t.members, &mut t.owners] {
                if let Some(set) = edges.get_mut(&gid) {
                    set.retain(|id| alive(id));
                }
            }
        }
    }

    /// Names of members that are neither users nor groups, read again with getByIds (delta
    /// doesn't track devices, service principals or contacts), as a full run reads them:
    /// `refreshed` are the ids asked for during the rerun already and what came back (an id
    /// that did not is a deleted object, not asked again); the others in use are read now.
    async fn refresh_others(
        &mut self,
        client: &GraphClient,
        refreshed: (HashSet<String>, Vec<Value>),
    ) -> Result<(), GraphError> {
        let (asked, refreshed) = refreshed;
        let used: HashSet<tables::Id> = self
            .t
            .members
            .values()
            .chain(self.t.owners.values())
            .flatten()
            .filter(|id| self.t.others.contains_key(&***id))
            .cloned()
            .collect();
        self.t.others.retain(|id, _| used.contains(id.as_str()));
        let mut rest: Vec<&str> = used
            .iter()
            .map(|id| &**id)
            .filter(|id| !asked.contains(*id))
            .collect();
        rest.sort_unstable();
        let found = look_up(client, &rest).await?;
        for o in refreshed.iter().chain(&found) {
            let Some(id) = o.get("id").and_then(Value::as_str) else {
                continue;
            };
            if let Some(other) = self.t.others.get_mut(id) {
                other.kind = ref_type(o);
                other.display_name = super::schema::render_cell(o.get("displayName")).into_owned();
                other.upn = super::schema::render_cell(o.get("userPrincipalName")).into_owned();
            }
        }
        Ok(())
    }

    /// What changed, comparing each touched object and edge list with how it was before.
    fn changes(&self) -> (Vec<ChangeRow>, ChangeCounts) {
        let t = &self.t;
        let mut rows = Vec::new();
        let mut counts = ChangeCounts {
            baseline: true,
            ..ChangeCounts::default()
        };
        let (un, gn) = t.name_cells();
        for (object, before, now, cols, n) in [
            (
                ChangedObject::User,
                &self.users_before,
                &t.users,
                t.user_columns(),
                un,
            ),
            (
                ChangedObject::Group,
                &self.groups_before,
                &t.groups,
                t.group_columns(),
                gn,
            ),
        ] {
            for (id, was) in before {
                let (change, cells, attributes) = match (was, now.get(id)) {
                    (None, Some(c)) => (Change::Added, c, Vec::new()),
                    (Some(c), None) => (Change::Removed, c, Vec::new()),
                    (Some(a), Some(b)) => {
                        let changed = Tables::changed_columns(cols, a, b);
                        if changed.is_empty() {
                            continue;
                        }
                        (Change::Updated, b, changed)
                    }
                    (None, None) => continue,
                };
                let user = object == ChangedObject::User;
                let slot = match (user, change) {
                    (true, Change::Added) => &mut counts.users_added,
                    (true, Change::Removed) => &mut counts.users_removed,
                    (true, Change::Updated) => &mut counts.users_updated,
                    (false, Change::Added) => &mut counts.groups_added,
                    (false, Change::Removed) => &mut counts.groups_removed,
                    (false, Change::Updated) => &mut counts.groups_updated,
                };
                *slot += 1;
                rows.push(ChangeRow {
                    object,
                    change,
                    group_id: String::new(),
                    id: id.clone(),
                    kind: object.as_str().to_string(),
                    display_name: cells[n].to_string(),
                    group_name: String::new(),
                    attributes,
                });
            }
        }
        // An added member or owner is named as it is now; a removed one as the previous
        // files had it (renamed, deleted or no longer a member of anything since).
        let now = |id: &str| t.describe(id).map(|(kind, name, _)| (kind, name));
        let before = |id: &str| match (self.users_before.get(id), self.groups_before.get(id)) {
            (Some(Some(u)), _) => Some(("user", &u[un])),
            (_, Some(Some(g))) => Some(("group", &g[gn])),
            _ => self
                .others_before
                .get(id)
                .map(|o| (o.kind.as_str(), o.display_name.as_str())),
        };
        let describe = |change: Change, id: &str| -> (String, String) {
            let found = match change {
                Change::Removed => before(id).or_else(|| now(id)),
                Change::Added | Change::Updated => now(id).or_else(|| before(id)),
            };
            let (kind, name) = found.unwrap_or(("directoryObject", ""));
            (kind.to_string(), name.to_string())
        };
        let empty = HashSet::new();
        for (object, before, now) in [
            (ChangedObject::Member, &self.members_before, &t.members),
            (ChangedObject::Owner, &self.owners_before, &t.owners),
        ] {
            for (gid, was) in before {
                let group_name = t
                    .groups
                    .get(gid)
                    .or_else(|| self.groups_before.get(gid).and_then(Option::as_ref))
                    .map(|g| g[gn].to_string())
                    .unwrap_or_default();
                let readable = t
                    .groups
                    .get(gid)
                    .is_none_or(|g| self.can_read_hidden || !t.is_hidden(g));
                let is = now.get(gid).filter(|_| readable).unwrap_or(&empty);
                for (change, a, b) in [(Change::Removed, was, is), (Change::Added, is, was)] {
                    for id in a.difference(b) {
                        let (kind, name) = describe(change, id);
                        let member = object == ChangedObject::Member;
                        let slot = match (member, change) {
                            (true, Change::Added) => &mut counts.members_added,
                            (true, _) => &mut counts.members_removed,
                            (false, Change::Added) => &mut counts.owners_added,
                            (false, _) => &mut counts.owners_removed,
                        };
                        *slot += 1;
                        rows.push(ChangeRow {
                            object,
                            change,
                            group_id: gid.clone(),
                            id: id.to_string(),
                            kind,
                            display_name: name,
                            group_name: group_name.clone(),
                            attributes: Vec::new(),
                        });
                    }
                }
            }
        }
        rows.sort();
        (rows, counts)
    }
}

impl From<WriteError> for ExtractError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Output(e) => ExtractError::Output(e),
            WriteError::Record(e) => ExtractError::Record(e),
            e @ WriteError::MemberRowsStopped => ExtractError::Internal {
                what: "writing the files".into(),
                detail: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The changes report is sorted by these enums; its bytes are those of a sort by the
    /// cells' words, which a reordered or new variant would silently change.
    #[test]
    fn kinds_sort_as_their_words() {
        let objects = [
            ChangedObject::User,
            ChangedObject::Owner,
            ChangedObject::Member,
            ChangedObject::Group,
        ];
        let changes = [Change::Updated, Change::Removed, Change::Added];
        let mut by_enum: Vec<_> = objects
            .iter()
            .flat_map(|o| changes.iter().map(move |c| (*o, *c)))
            .collect();
        let mut by_words = by_enum.clone();
        by_enum.sort();
        by_words.sort_by_key(|(o, c)| (o.as_str(), c.as_str()));
        assert_eq!(by_enum, by_words);
    }
}
