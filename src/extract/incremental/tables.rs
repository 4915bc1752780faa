//! The previous run's four files as tables, the delta answers merged into them, and the
//! rows of the next run (and of its changes report) written from them.
//!
//! Cells are kept exactly as the CSV holds them. A CSV column is a Graph property of the
//! same name and a cell is [`render_cell`] of its value, so merging a changed property is
//! rendering it into its column; rendering a string gives the same string back, so the
//! tables are written again through the same sinks a full run uses, row for row: the cells
//! are the rows the sinks take ([`crate::extract::rows`]).

use foldhash::{HashMap, HashSet, HashSetExt};
use std::io::BufRead;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::extract::access::Access;
use crate::extract::error::ExtractError;
use crate::extract::output::OutputError;
use crate::extract::output::OutputSet;
use crate::extract::progress::{Progress, Warning};
use crate::extract::rows::EdgeRow;
pub use crate::extract::rows::Row;
use crate::extract::schema::{
    GROUP_COMPUTED_COLUMNS, GroupCounts, GroupRecord, MEMBER_COLUMNS, MULTI_VALUE_SEPARATOR,
    MemberCount, OWNER_COLUMNS, RecordError, Schema, member_type, render_cell,
};
use crate::extract::sink::EdgeSink;

use super::state::Fallback;

/// A member or owner that is neither a user nor a group (device, service principal,
/// contact...): its type and the names its rows show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Other {
    pub kind: String,
    pub display_name: String,
    pub upn: String,
}

/// An object id shared by every edge that names it: tenant L's ~1 million edges name its
/// 100,000 users, its groups and a few others, so each edge holds a pointer rather than its
/// own copy of the id (270 MB instead of 350 MB for the rerun of L, BENCHMARKS.md).
pub type Id = Arc<str>;

/// Edges by group id: the member (or owner) ids.
pub type Edges = HashMap<String, HashSet<Id>>;

/// The one copy of each id that edges share.
#[derive(Debug, Default)]
pub struct Ids(HashSet<Id>);

impl Ids {
    pub fn get(&mut self, id: &str) -> Id {
        if let Some(known) = self.0.get(id) {
            return known.clone();
        }
        let new: Id = Arc::from(id);
        self.0.insert(new.clone());
        new
    }
}

/// The state of the tenant as the files describe it.
#[derive(Debug, Default)]
pub struct Tables {
    user_cols: Vec<String>,
    group_cols: Vec<String>,
    pub users: HashMap<String, Row>,
    pub groups: HashMap<String, Row>,
    pub members: Edges,
    pub owners: Edges,
    /// Members and owners that are neither users nor groups.
    pub others: HashMap<String, Other>,
    /// The ids the edges hold.
    pub ids: Ids,
    /// Where the cells read by name sit.
    at: Columns,
}

/// Positions of the cells read by name, found once: they are read for every edge row (1.2
/// million on tenant l), and looking them up each time was a fifth of the rerun's CPU.
#[derive(Debug, Default)]
struct Columns {
    user_name: usize,
    user_upn: usize,
    group_name: usize,
    group_visibility: usize,
    group_readable: usize,
}

impl Columns {
    fn of(user_cols: &[String], group_cols: &[String]) -> Columns {
        let at = |cols: &[String], name: &str| cols.iter().position(|c| c == name).unwrap_or(0);
        Columns {
            user_name: at(user_cols, "displayName"),
            user_upn: at(user_cols, "userPrincipalName"),
            group_name: at(group_cols, "displayName"),
            group_visibility: at(group_cols, "visibility"),
            group_readable: at(group_cols, "membersReadable"),
        }
    }
}

/// The four files of a run, to read.
pub struct Loaded<R> {
    pub users: R,
    pub groups: R,
    pub members: R,
    pub owners: R,
}

fn reader<R: BufRead>(mut r: R, what: &str) -> Result<csv::Reader<R>, Fallback> {
    let bom = r
        .fill_buf()
        .map_err(|e| Fallback::Snapshot(format!("the saved {what} file cannot be read: {e}")))?
        .starts_with(b"\xEF\xBB\xBF");
    if bom {
        r.consume(3);
    }
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(r))
}

fn header<R: BufRead>(r: &mut csv::Reader<R>, what: &str) -> Result<Vec<String>, Fallback> {
    r.headers()
        .map(|h| h.iter().map(str::to_string).collect())
        .map_err(|e| Fallback::Snapshot(format!("the saved {what} file cannot be read: {e}")))
}

impl Tables {
    /// Reads the previous run's files; their headers must be this run's columns.
    pub fn load<R: BufRead>(schema: &Schema, files: Loaded<R>) -> Result<Tables, Fallback> {
        let mut t = Tables {
            user_cols: schema
                .user_columns()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            group_cols: schema
                .group_columns()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            ..Tables::default()
        };
        t.at = Columns::of(&t.user_cols, &t.group_cols);
        for (bytes, what, want, map) in [
            (files.users, "users", t.user_cols.clone(), &mut t.users),
            (files.groups, "groups", t.group_cols.clone(), &mut t.groups),
        ] {
            let mut r = reader(bytes, what)?;
            if header(&mut r, what)? != want {
                return Err(Fallback::Settings(format!(
                    "the {what} columns differ from the previous run's"
                )));
            }
            for row in r.records() {
                let row = row.map_err(|e| {
                    Fallback::Snapshot(format!("the saved {what} file cannot be read: {e}"))
                })?;
                let cells = Row::new(row.iter());
                map.insert(cells[0].to_string(), cells);
            }
        }
        if t.groups
            .values()
            .any(|g| &g[t.at.group_readable] == "false" && !t.is_hidden(g))
        {
            return Err(Fallback::Snapshot(
                "the previous run could not read every member list".into(),
            ));
        }
        for (bytes, what, want, edges) in [
            (files.members, "members", MEMBER_COLUMNS, &mut t.members),
            (files.owners, "owners", OWNER_COLUMNS, &mut t.owners),
        ] {
            let mut r = reader(bytes, what)?;
            if header(&mut r, what)? != want {
                return Err(Fallback::Snapshot(format!(
                    "the saved {what} file has other columns"
                )));
            }
            for row in r.records() {
                let row = row.map_err(|e| {
                    Fallback::Snapshot(format!("the saved {what} file cannot be read: {e}"))
                })?;
                let (gid, id, kind) = (&row[0], &row[2], &row[3]);
                edges
                    .entry(gid.to_string())
                    .or_default()
                    .insert(t.ids.get(id));
                if kind != "user" && kind != "group" {
                    t.others.insert(
                        id.to_string(),
                        Other {
                            kind: kind.to_string(),
                            display_name: row[4].to_string(),
                            upn: row[5].to_string(),
                        },
                    );
                }
            }
        }
        Ok(t)
    }

    /// Where the display name sits in a user's row and in a group's.
    pub fn name_cells(&self) -> (usize, usize) {
        (self.at.user_name, self.at.group_name)
    }

    pub fn is_hidden(&self, cells: &Row) -> bool {
        cells[self.at.group_visibility].eq_ignore_ascii_case("HiddenMembership")
    }

    pub fn user_columns(&self) -> &[String] {
        &self.user_cols
    }

    pub fn group_columns(&self) -> &[String] {
        &self.group_cols
    }

    /// Type, display name and UPN of a member or owner as its row shows them; `None` for
    /// a user or group no longer in the tenant.
    pub fn describe(&self, id: &str) -> Option<(&str, &str, &str)> {
        if let Some(u) = self.users.get(id) {
            return Some(("user", &u[self.at.user_name], &u[self.at.user_upn]));
        }
        if let Some(g) = self.groups.get(id) {
            return Some(("group", &g[self.at.group_name], ""));
        }
        self.others
            .get(id)
            .map(|o| (o.kind.as_str(), o.display_name.as_str(), o.upn.as_str()))
    }

    /// Renders the properties an object in a delta answer carries into `row` (its row,
    /// or a new one).
    pub fn merge_props(columns: &[String], row: &mut Row, object: &Map<String, Value>) {
        let mut cells = match row.len() == columns.len() {
            true => row.to_vec(),
            false => vec![String::new(); columns.len()],
        };
        for (key, value) in object {
            if key.contains('@') {
                continue;
            }
            let Some(i) = columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(key))
                .filter(|i| !GROUP_COMPUTED_COLUMNS.contains(&columns[*i].as_str()))
            else {
                continue;
            };
            cells[i] = render_cell(Some(value)).into_owned();
        }
        *row = Row::new(cells.iter().map(String::as_str));
    }

    /// The columns (other than computed ones) whose cells differ.
    pub fn changed_columns(columns: &[String], a: &Row, b: &Row) -> Vec<String> {
        columns
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                !GROUP_COMPUTED_COLUMNS.contains(&c.as_str()) && a.get(*i) != b.get(*i)
            })
            .map(|(_, c)| c.clone())
            .collect()
    }

    /// Writes every row into `set`, in id order; `access` decides what a hidden group's row
    /// says. The members file is most of the bytes (~70 % on tenant L), so it is
    /// written on a thread of its own beside the three others.
    pub fn write(
        &self,
        set: &mut OutputSet,
        access: Access,
        progress: &Progress,
    ) -> Result<(), WriteError> {
        let (users, groups, members, owners) = set.sinks();
        let mut gids: Vec<&String> = self.groups.keys().collect();
        gids.sort_unstable();
        let gids = &gids;
        // The groups file takes each group's member count from the thread writing its
        // rows, in the same order; either side stops when the other has failed.
        let (counted, counts) = std::sync::mpsc::channel::<u64>();
        std::thread::scope(|scope| {
            let member_rows = scope.spawn(move || -> Result<(), WriteError> {
                for gid in gids {
                    let cells = &self.groups[*gid];
                    if let Some(list) = self.member_list(gid, cells, access) {
                        let name = &cells[self.at.group_name];
                        let written = self.write_list(members, gid, name, list)?;
                        progress.add_member_edges(list.len() as u64);
                        if counted.send(written).is_err() {
                            // The other side failed: its error is the run's.
                            return Ok(());
                        }
                    }
                }
                tracing::info!(at = ?progress.elapsed(), "member rows written");
                Ok(())
            });
            // `false`: stopped because the member rows did.
            let rest = (move || -> Result<bool, WriteError> {
                let mut ids: Vec<&String> = self.users.keys().collect();
                ids.sort_unstable();
                for id in ids {
                    // A rendered cell renders to itself: the row is what a full run writes.
                    users.write(&self.users[id])?;
                    progress.add_users(1);
                }
                let empty = HashSet::new();
                for gid in gids {
                    let cells = &self.groups[*gid];
                    let record = GroupRecord::from_cells(cells)?;
                    let members = match self.member_list(gid, cells, access) {
                        Some(_) => match counts.recv() {
                            Ok(n) => MemberCount::Known(n),
                            Err(_) => return Ok(false),
                        },
                        None => {
                            // Still unreadable: the files lack these members, as the full run
                            // said.
                            progress.warn(Warning::hidden_membership_unreadable(
                                record.id(),
                                record.display_name(),
                            ));
                            MemberCount::Unreadable
                        }
                    };
                    let list = self.owners.get(*gid).unwrap_or(&empty);
                    let owned =
                        self.write_list(owners, record.id(), record.display_name(), list)?;
                    progress.add_owner_edges(list.len() as u64);
                    let counts = GroupCounts {
                        members,
                        owners: Some(owned),
                    };
                    groups.write(&record, counts)?;
                    progress.member_list_done();
                    progress.owner_list_done();
                }
                tracing::info!(at = ?progress.elapsed(), "user, group and owner rows written");
                Ok(true)
            })();
            let members = member_rows
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            match rest? {
                true => members,
                false => members.and(Err(WriteError::MemberRowsStopped)),
            }
        })
    }

    /// A group's members as its rows show them, `None` when they are unreadable (hidden
    /// membership without Member.Read.Hidden).
    fn member_list(&self, gid: &str, cells: &Row, access: Access) -> Option<&HashSet<Id>> {
        static EMPTY: std::sync::OnceLock<HashSet<Id>> = std::sync::OnceLock::new();
        access.reads_members(self.is_hidden(cells)).then(|| {
            self.members
                .get(gid)
                .unwrap_or_else(|| EMPTY.get_or_init(HashSet::new))
        })
    }

    /// Writes one group's edges in id order; returns the rows written (those of objects
    /// still in the tenant).
    fn write_list(
        &self,
        sink: &mut EdgeSink,
        group_id: &str,
        group_name: &str,
        list: &HashSet<Id>,
    ) -> Result<u64, WriteError> {
        let mut ids: Vec<&Id> = list.iter().collect();
        ids.sort_unstable();
        let mut written = 0;
        for id in ids {
            let Some((object_type, display_name, user_principal_name)) = self.describe(id) else {
                continue;
            };
            sink.write(&EdgeRow {
                group_id,
                group_display_name: group_name,
                id,
                object_type,
                display_name,
                user_principal_name,
            })?;
            written += 1;
        }
        Ok(written)
    }
}

/// A row of the tables could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Not expected: the thread writing the member rows ended early without an error.
    #[error("the member rows ended before every group's count was known")]
    MemberRowsStopped,
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

/// Joins changed column names for the `attributes` cell.
pub fn attribute_cell(names: &[String]) -> String {
    names.join(MULTI_VALUE_SEPARATOR)
}

/// The member type a delta reference names (`#microsoft.graph.user` → `user`).
pub fn ref_type(r: &Value) -> String {
    member_type(r).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_share_one_copy_of_each_id() {
        let mut ids = Ids::default();
        let (a, b, c) = (ids.get("u1"), ids.get("u1"), ids.get("u2"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!((&*a, &*c), ("u1", "u2"));
    }

    #[test]
    fn a_file_written_with_a_bom_reads_as_without() {
        for bytes in [&b"\xEF\xBB\xBFid,name\n1,x\n"[..], b"id,name\n1,x\n"] {
            let mut r = reader(std::io::Cursor::new(bytes), "users").unwrap();
            assert_eq!(header(&mut r, "users").unwrap(), ["id", "name"]);
            let rows: Vec<_> = r.records().map(Result::unwrap).collect();
            assert_eq!(&rows[0][0], "1");
        }
    }
}
