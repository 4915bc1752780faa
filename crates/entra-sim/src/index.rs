//! Indexes over one snapshot, so the queries a client sends cost what they return, not a scan
//! of every user: `startswith` on a property selects a range of a sorted index, and a big
//! group's members are found by position instead of walking its whole list.
//!
//! An index only proposes candidates; the filter still checks each one, so an index can never
//! make an answer differ from a scan (`tests` below hold them side by side).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::json::json_text;
use crate::model::{Directory, ObjKind, ObjRef};
use crate::state::Column;

/// A string lower-cased as Graph's case-insensitive `startswith` compares it (character by
/// character, `char::to_lowercase`), so that `lower(v).starts_with(lower(p))` is that test.
pub fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// The objects of one type whose property is a string, sorted by its lower-cased value:
/// those starting with a prefix are one contiguous range.
#[derive(Debug, Default)]
pub struct PrefixIndex {
    /// The lower-cased values, concatenated in sorted order.
    text: String,
    /// Position `k`'s value is `text[bounds[k]..bounds[k + 1]]`.
    bounds: Vec<usize>,
    /// The object at position `k`.
    idx: Vec<u32>,
}

impl PrefixIndex {
    /// Indexes the string values of `column` (nulls, collections and absent properties are
    /// left out: `startswith` never matches them).
    pub fn build(column: &Column, len: usize) -> PrefixIndex {
        let mut keyed: Vec<(String, u32)> = (0..len as u32)
            .filter_map(|i| Some((lower(&json_text(column.get(i)?)?), i)))
            .collect();
        keyed.sort_unstable();
        let mut index = PrefixIndex {
            text: String::with_capacity(keyed.iter().map(|(k, _)| k.len()).sum()),
            bounds: Vec::with_capacity(keyed.len() + 1),
            idx: Vec::with_capacity(keyed.len()),
        };
        index.bounds.push(0);
        for (key, i) in keyed {
            index.text.push_str(&key);
            index.bounds.push(index.text.len());
            index.idx.push(i);
        }
        index
    }

    fn key(&self, k: usize) -> &str {
        &self.text[self.bounds[k]..self.bounds[k + 1]]
    }

    /// The objects whose value starts with `prefix` (ignoring case), in directory order.
    pub fn starting_with(&self, prefix: &str) -> Vec<u32> {
        let p = lower(prefix);
        let n = self.idx.len();
        let from = partition_point(n, |k| self.key(k) < p.as_str());
        let to = partition_point(n, |k| {
            let key = self.key(k);
            key < p.as_str() || key.starts_with(p.as_str())
        });
        let mut found = self.idx[from..to].to_vec();
        found.sort_unstable();
        found
    }
}

/// The first position in `0..n` where `before` turns false (it must be true, then false).
fn partition_point(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// [`PrefixIndex`]es by object type and property, built on first use.
#[derive(Debug, Default)]
pub struct PrefixIndexes(Mutex<HashMap<(ObjKind, &'static str), Arc<PrefixIndex>>>);

impl PrefixIndexes {
    pub fn of(
        &self,
        dir: &Directory,
        kind: ObjKind,
        prop: &'static str,
        column: &Column,
    ) -> Arc<PrefixIndex> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((kind, prop))
            .or_insert_with(|| Arc::new(PrefixIndex::build(column, dir.len_of(kind))))
            .clone()
    }
}

/// Groups with fewer members than this are scanned: a position map would cost more.
pub const POSITIONS_FROM_MEMBERS: usize = 2_000;

/// Where each member of a group sits in its member list, for the big groups a client splits
/// by prefix (built on first use).
#[derive(Debug, Default)]
pub struct MemberPositions(Mutex<HashMap<u32, Arc<HashMap<ObjRef, u32>>>>);

impl MemberPositions {
    pub fn of(&self, dir: &Directory, group: u32) -> Arc<HashMap<ObjRef, u32>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(group)
            .or_insert_with(|| {
                let members = &dir.groups[group as usize].members;
                Arc::new(
                    members
                        .iter()
                        .enumerate()
                        .map(|(k, r)| (*r, k as u32))
                        .collect(),
                )
            })
            .clone()
    }
}
