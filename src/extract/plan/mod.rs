//! The request plans: which requests read the tenant, turning Graph's pages into rows for
//! the writer ([`super::writer`]). Both plans write the same rows.
//!
//! - [`fast`] — the default: parallel chains, `groups/delta` for memberships.
//! - [`per_group`] — users, groups, then each group's members and owners.

pub(super) mod fast;
pub(super) mod per_group;

use super::listed::GraphObject;
use super::progress::{Progress, Warning};
use crate::graph::{PageItem, Pager};

/// Page size for every collection (Graph's maximum for directory objects).
pub const PAGE_SIZE: u32 = 999;
/// How often one listing may start over after Graph expired its page token.
const LISTING_RESTARTS: u32 = 3;

/// Says in the manifest that `what` was read again from its first page (and deduplicated
/// by id) after Graph expired its page token.
fn note_restarts<T: PageItem>(progress: &Progress, pager: &Pager<T>, what: &str) {
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

    fn observe<O: GraphObject>(&mut self, items: &[O]) {
        self.objects += items.len() as u64;
        for (name, seen) in self.names.iter().zip(self.seen.iter_mut()) {
            *seen = *seen || items.iter().any(|o| o.has_ignore_case(name));
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
