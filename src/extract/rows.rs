//! The rows of the CSV files, each built once — from Graph's JSON by a request plan, or from
//! a previous run's file by an incremental rerun — and handed to the sinks ([`super::sink`]).
//!
//! - users file: a [`Row`] in the header's order ([`Schema::user_row`](super::schema::Schema::user_row));
//! - groups file: a [`GroupRecord`](super::schema::GroupRecord) and its
//!   [`GroupCounts`](super::schema::GroupCounts);
//! - members and owners files: an [`EdgeRow`], the group's cells and an [`EdgeObject`].
//!
//! Rows hold their cells in one allocation each: tenant l has ~2.5 million user cells and
//! over a million edges, and a `String` (or a JSON object) per cell was most of a run's
//! allocations.

use super::listed::GraphObject;
use super::schema::member_type;

/// One row's cells in a single allocation, exactly as the CSV holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    text: Box<str>,
    /// Where each cell ends in `text`.
    ends: Box<[u32]>,
}

impl Row {
    /// A row of `cells`, in order.
    ///
    /// Sized before it is filled: over a million rows are built in a run of tenant L, and
    /// growing each row's text cell by cell was several reallocations a row.
    pub fn new<'a, I>(cells: I) -> Row
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: Clone,
    {
        let cells = cells.into_iter();
        let (count, len) = cells
            .clone()
            .fold((0, 0), |(count, len), c| (count + 1, len + c.len()));
        let mut text = String::with_capacity(len);
        let mut ends = Vec::with_capacity(count);
        for c in cells {
            text.push_str(c);
            // A row is a CSV line of a few KB: far below 4 GiB.
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Row {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// How many cells the row has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// `true` for a row without cells.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Cell `i`, `None` past the end.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.text.get(start..end)
    }

    /// The cells, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        (0..self.len()).map(|i| &self[i])
    }

    /// The cells as strings to change, for [`Row::new`] to take back.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::ops::Index<usize> for Row {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i)
            .unwrap_or_else(|| panic!("cell {i} of a row of {}", self.len()))
    }
}

/// A member or owner as its edge row shows it: id, type, display name and user principal
/// name, in one allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeObject(Row);

impl EdgeObject {
    /// An object from its cells (`object_type` as the CSV writes it, e.g. `user`).
    pub fn new(id: &str, object_type: &str, display_name: &str, user_principal_name: &str) -> Self {
        EdgeObject(Row::new([
            id,
            object_type,
            display_name,
            user_principal_name,
        ]))
    }

    /// A member or owner as returned by `/groups/{id}/members` or `/owners` (an object
    /// carrying `@odata.type`, selected with [`EDGE_SELECT`](super::schema::EDGE_SELECT)).
    pub fn from_graph<O: GraphObject>(object: &O) -> Self {
        let cell = |name: &str| object.cell(name).unwrap_or_default();
        EdgeObject::new(
            &cell("id"),
            member_type(object),
            &cell("displayName"),
            &cell("userPrincipalName"),
        )
    }

    /// The object's id.
    pub fn id(&self) -> &str {
        &self.0[0]
    }
}

/// One members-file or owners-file row: the group, then the member or owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeRow<'a> {
    pub group_id: &'a str,
    pub group_display_name: &'a str,
    pub id: &'a str,
    /// `memberType`/`ownerType`: the `@odata.type` without `#microsoft.graph.`.
    pub object_type: &'a str,
    pub display_name: &'a str,
    pub user_principal_name: &'a str,
}

impl<'a> EdgeRow<'a> {
    /// The row of `object` in the list of the group `group_id` named `group_display_name`.
    pub fn of(group_id: &'a str, group_display_name: &'a str, object: &'a EdgeObject) -> Self {
        let o = &object.0;
        EdgeRow {
            group_id,
            group_display_name,
            id: &o[0],
            object_type: &o[1],
            display_name: &o[2],
            user_principal_name: &o[3],
        }
    }

    /// The cells in [`MEMBER_COLUMNS`](super::schema::MEMBER_COLUMNS) order (the owners
    /// file's columns are in the same order).
    pub fn cells(&self) -> [&'a str; 6] {
        [
            self.group_id,
            self.group_display_name,
            self.id,
            self.object_type,
            self.display_name,
            self.user_principal_name,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_keeps_its_cells_empty_ones_and_non_ascii_included() {
        let cells = ["id-1", "", "Zoë Müller", "", "x"];
        let row = Row::new(cells);
        assert_eq!(row.len(), 5);
        assert_eq!(row.iter().collect::<Vec<_>>(), cells);
        assert_eq!(&row[2], "Zoë Müller");
        assert_eq!(row.get(1), Some(""));
        assert_eq!(row.get(5), None);
        assert_eq!(Row::new(row.to_vec().iter().map(String::as_str)), row);
        assert!(Row::default().is_empty());
        assert_ne!(
            Row::new(["a", "b"]),
            Row::new(["ab", ""]),
            "cells, not their text"
        );
    }

    #[test]
    fn edge_rows_keep_guest_upns_and_limited_objects() {
        let guest = EdgeObject::from_graph(&json!({
            "@odata.type": "#microsoft.graph.user",
            "id": "u1",
            "displayName": "Ann Guest",
            "userPrincipalName": "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"
        }));
        assert_eq!(guest.id(), "u1");
        assert_eq!(
            EdgeRow::of("g1", "Sales", &guest).cells(),
            [
                "g1",
                "Sales",
                "u1",
                "user",
                "Ann Guest",
                "ann_fabrikam.com#EXT#@contoso.onmicrosoft.com"
            ]
        );
        // An object the app may only partly read: type and id, all else null.
        let limited = EdgeObject::from_graph(
            &json!({"@odata.type": "#microsoft.graph.device", "id": "d1", "displayName": null}),
        );
        assert_eq!(
            EdgeRow::of("g1", "Sales", &limited).cells(),
            ["g1", "Sales", "d1", "device", "", ""]
        );
        assert_eq!(limited, EdgeObject::new("d1", "device", "", ""));
    }
}
