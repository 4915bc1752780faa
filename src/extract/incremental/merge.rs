//! Merging a rerun's delta answers into the previous run's tables, and what changed.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde_json::Value;

use super::RerunError;
use super::changes::{Change, ChangeRow, ChangedObject};
use super::read::{Read, look_up};
use super::state::DeltaLinks;
use super::tables::{self, Other, Tables, ref_type};
use crate::extract::access::Access;
use crate::extract::error::ExtractError;
use crate::extract::manifest::ChangeCounts;
use crate::extract::progress::{Phase, Progress};
use crate::graph::GraphClient;

/// The merged tables, what changed, and the links the next run starts from.
pub(super) struct Merged {
    pub tables: Tables,
    pub changes: Vec<ChangeRow>,
    pub counts: ChangeCounts,
    pub links: DeltaLinks,
}

/// Merges what a rerun read into the previous run's tables, as a full run would read the
/// tenant now.
pub(super) async fn merge(
    client: &GraphClient,
    read: Read,
    access: Access,
    progress: &Progress,
) -> Result<Merged, RerunError> {
    progress.set_phase(Phase::Memberships);
    let mut m = Merge::new(read.tables, access);
    m.users(&read.users)?;
    m.groups(&read.groups)?;
    m.drop_dangling_edges();
    m.refresh_others(client, read.refreshed).await?;
    tracing::info!(at = ?progress.elapsed(), "changes merged");
    let (changes, counts) = m.changes();
    Ok(Merged {
        tables: m.t,
        changes,
        counts,
        links: read.links,
    })
}

/// The tables being merged, and how each touched object and edge list looked before.
pub(super) struct Merge {
    pub t: Tables,
    access: Access,
    pub users_before: HashMap<String, Option<tables::Row>>,
    pub groups_before: HashMap<String, Option<tables::Row>>,
    pub members_before: HashMap<String, HashSet<tables::Id>>,
    pub owners_before: HashMap<String, HashSet<tables::Id>>,
    /// The members and owners that are neither users nor groups, as the previous files
    /// named them (a removed edge's row describes its object as they did).
    pub others_before: HashMap<String, Other>,
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
    pub fn new(t: Tables, access: Access) -> Merge {
        let others_before = t.others.clone();
        Merge {
            t,
            access,
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
            let hidden = !self
                .access
                .reads_members(self.t.is_hidden(&self.t.groups[&gid]));
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
    ) -> Result<(), RerunError> {
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
        let found = look_up(client, self.access, &rest).await?;
        for o in refreshed.iter().chain(&found) {
            let Some(id) = o.get("id").and_then(Value::as_str) else {
                continue;
            };
            if let Some(other) = self.t.others.get_mut(id) {
                other.kind = ref_type(o);
                other.display_name =
                    crate::extract::schema::render_cell(o.get("displayName")).into_owned();
                other.upn =
                    crate::extract::schema::render_cell(o.get("userPrincipalName")).into_owned();
            }
        }
        Ok(())
    }

    /// What changed, comparing each touched object and edge list with how it was before.
    pub fn changes(&self) -> (Vec<ChangeRow>, ChangeCounts) {
        let mut rows = Vec::new();
        let mut counts = ChangeCounts {
            baseline: true,
            ..ChangeCounts::default()
        };
        self.object_changes(&mut rows, &mut counts);
        self.edge_changes(&mut rows, &mut counts);
        rows.sort();
        (rows, counts)
    }

    /// The users and groups added, removed or updated (with the columns that changed).
    fn object_changes(&self, rows: &mut Vec<ChangeRow>, counts: &mut ChangeCounts) {
        let t = &self.t;
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
    }

    /// The members and owners added to or removed from each touched group.
    fn edge_changes(&self, rows: &mut Vec<ChangeRow>, counts: &mut ChangeCounts) {
        let t = &self.t;
        let (_, gn) = t.name_cells();
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
                    .is_none_or(|g| self.access.reads_members(t.is_hidden(g)));
                let is = now.get(gid).filter(|_| readable).unwrap_or(&empty);
                for (change, a, b) in [(Change::Removed, was, is), (Change::Added, is, was)] {
                    for id in a.difference(b) {
                        let (kind, name) = self.describe_end(change, id);
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
    }

    /// The kind and name of a member or owner that changed: an added one as it is now, a
    /// removed one as the previous files had it (renamed, deleted or no longer a member of
    /// anything since).
    fn describe_end(&self, change: Change, id: &str) -> (String, String) {
        let t = &self.t;
        let (un, gn) = t.name_cells();
        let now = |id: &str| t.describe(id).map(|(kind, name, _)| (kind, name));
        let before = |id: &str| match (self.users_before.get(id), self.groups_before.get(id)) {
            (Some(Some(u)), _) => Some(("user", &u[un])),
            (_, Some(Some(g))) => Some(("group", &g[gn])),
            _ => self
                .others_before
                .get(id)
                .map(|o| (o.kind.as_str(), o.display_name.as_str())),
        };
        let found = match change {
            Change::Removed => before(id).or_else(|| now(id)),
            Change::Added | Change::Updated => now(id).or_else(|| before(id)),
        };
        let (kind, name) = found.unwrap_or(("directoryObject", ""));
        (kind.to_string(), name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::extract::incremental::state::Fallback;
    use crate::graph::{Cloud, Credential, Endpoints, GraphConfig};

    /// A client for a host that does not exist: any request it made would fail.
    fn offline() -> GraphClient {
        let endpoints = Endpoints::resolve(
            Cloud::Custom,
            Some("https://login.invalid"),
            Some("https://graph.invalid"),
        )
        .unwrap();
        GraphClient::new(GraphConfig::new(
            endpoints,
            "contoso.example".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            Credential::Secret(SecretString::from("secret-value")),
        ))
        .unwrap()
    }

    /// Without Directory.Read.All a rerun falls back when a member must be looked up by id,
    /// and reruns, asking nothing, when every member is a user or a group.
    #[tokio::test]
    async fn without_look_ups_only_members_of_other_kinds_mean_a_fallback() {
        let access = Access {
            read_hidden: true,
            look_up_ids: false,
        };
        let client = offline();
        let mut users_and_groups = Merge::new(Tables::default(), access);
        let refreshed = users_and_groups
            .refresh_others(&client, (HashSet::new(), Vec::new()))
            .await;
        assert!(refreshed.is_ok(), "{refreshed:?}");

        let mut t = Tables::default();
        let device = t.ids.get("dddddddd-0000-0000-0000-000000000001");
        let other = Other {
            kind: "device".into(),
            display_name: "Kiosk".into(),
            upn: String::new(),
        };
        t.others.insert(device.to_string(), other);
        let mut members = HashSet::new();
        members.insert(device);
        t.members.insert("group-1".to_string(), members);
        let refreshed = Merge::new(t, access)
            .refresh_others(&client, (HashSet::new(), Vec::new()))
            .await;
        assert!(
            matches!(refreshed, Err(RerunError::Fallback(Fallback::NoLookUps))),
            "{refreshed:?}"
        );
    }
}
