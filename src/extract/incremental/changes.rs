//! The changes report, `<domain>_changes.csv`: its rows, and a full run's report against
//! the previous run's files.

use std::path::PathBuf;
use std::sync::Arc;

use foldhash::{HashMap, HashSet};

use super::merge::Merge;
use super::read::load_snapshot;
use super::state::{Fallback, Snapshot};
use super::tables::{self, Loaded, Tables, attribute_cell};
use crate::extract::access::Access;
use crate::extract::error::ExtractError;
use crate::extract::manifest::ChangeCounts;
use crate::extract::output::OutputSet;
use crate::extract::progress::Progress;
use crate::extract::schema::Schema;

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
    /// The cells in [`CHANGE_COLUMNS`](crate::extract::schema::CHANGE_COLUMNS) order.
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

/// What changed between the previous run's files and a full run's (`--full`, or a run that
/// could not be incremental but had a trusted previous snapshot with the same settings):
/// `after` are the full run's files (users, groups, members, owners).
fn diff(
    schema: &Schema,
    before: &Snapshot,
    after: &[PathBuf; 4],
    access: Access,
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
    let mut m = Merge::new(now, access);
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

/// Writes the changes report's rows into the set's changes file.
pub(super) fn write_changes(set: &mut OutputSet, rows: &[ChangeRow]) -> Result<(), ExtractError> {
    let sink = set.changes().ok_or_else(|| ExtractError::Internal {
        what: "the changes report".into(),
        detail: "no file".into(),
    })?;
    rows.iter()
        .try_for_each(|row| sink.write_row(&row.cells()))
        .map_err(ExtractError::Output)
}

/// A full run's changes report against the previous run's files: the rows go into the set's
/// changes file. Files that cannot be compared leave it header-only, with a note.
pub(super) async fn report(
    mut set: OutputSet,
    schema: &Arc<Schema>,
    before: Snapshot,
    access: Access,
    progress: &Arc<Progress>,
) -> Result<(OutputSet, ChangeCounts), ExtractError> {
    let schema = schema.clone();
    let progress = progress.clone();
    tokio::task::spawn_blocking(move || {
        let after = set.staged().map_err(ExtractError::Output)?;
        match diff(&schema, &before, &after, access) {
            Ok((rows, counts)) => {
                write_changes(&mut set, &rows)?;
                Ok((set, counts))
            }
            Err(why) => {
                progress.note(format!(
                    "no changes report: the previous run's files could not be compared ({why})"
                ));
                Ok((set, ChangeCounts::default()))
            }
        }
    })
    .await
    .map_err(|e| ExtractError::Internal {
        what: "comparing with the previous run".into(),
        detail: e.to_string(),
    })?
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
