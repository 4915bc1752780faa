//! Members and owners of many groups per request: `groups/delta` filtered by up to 50 ids
//! with `$select=members,owners` [GDC api/group-delta.md: "a limit of 50 filtered objects";
//! any directoryObject-collection relationship can be selected], 1 RU a page [graph
//! reference §6], so each chain of 50 groups usually ends after one or two pages.
//!
//! A large group's members arrive over several pages, the group repeated with each chunk
//! [GDC concepts/delta-query-groups.md]: they are merged by group id. Such a group would
//! hold its chain for as long as its members take, so when one group of a chain has shown
//! more than [`large_group`] references the chain stops; that group is read on its own
//! (its `members` split into parallel chains) and the chain's other groups start a
//! new chain, because the documentation does not promise that the groups read so far were
//! complete.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::names::Ref;
use crate::extract::schema::GroupRecord;
use crate::graph::{GraphClient, GraphError, Page};

/// "There is a limit of 50 filtered objects" [GDC api/group-delta.md].
pub(super) const IDS_PER_CHAIN: usize = 50;
/// A group that has shown more member references than this in a chain is read on its own,
/// in parallel parts: a page of delta returns about 500 references, so the chain would take
/// ~0.5 s per 500 members, one page after the other. The references read before the switch
/// are read again by the parts, so the threshold grows with the tenant, whose run is longer
/// and can hide a longer chain: a twentieth of its users, between 500 and 5,000 (one to ten
/// pages; on tenant l, 2,000 cost more in references read twice than it saved, and on tenant
/// m, 2,000 found its large groups a second later than 500).
pub(super) fn large_group(users: Option<u64>) -> usize {
    users.map_or(5_000, |n| (n / 20).clamp(500, 5_000) as usize)
}
/// How often one chain may start over after Graph expired its page token.
const CHAIN_RESTARTS: u32 = 3;

/// The member and owner references of one group, merged across pages.
#[derive(Debug, Default, Clone)]
pub(super) struct Lists {
    pub members: Vec<Ref>,
    pub owners: Vec<Ref>,
}

/// How one chain ended.
#[derive(Debug)]
pub(super) enum ChainEnd {
    /// The deltaLink arrived: every group of the chain that Graph returned, with its lists;
    /// groups of the chain missing from the answer are in `missing`.
    Complete {
        lists: Vec<(Arc<GroupRecord>, Lists)>,
        missing: Vec<Arc<GroupRecord>>,
        restarts: u32,
    },
    /// One group turned out large: read it on its own, and the others (if any) in a new
    /// chain.
    Split {
        large: Arc<GroupRecord>,
        rest: Vec<Arc<GroupRecord>>,
        restarts: u32,
    },
}

/// The first URL of a chain over `groups`.
pub(super) fn chain_url(groups: &[Arc<GroupRecord>]) -> String {
    let filter = groups
        .iter()
        .map(|g| format!("id eq '{}'", g.id()))
        .collect::<Vec<_>>()
        .join(" or ");
    format!("/groups/delta?$filter={filter}&$select=id,members,owners")
}

/// Reads one chain to its deltaLink (or until one group proves large).
pub(super) async fn read_chain(
    client: &GraphClient,
    groups: Vec<Arc<GroupRecord>>,
    large: usize,
) -> Result<ChainEnd, GraphError> {
    let mut restarts = 0;
    loop {
        match read_once(client, &groups, large).await {
            Err(e)
                if restarts < CHAIN_RESTARTS
                    && e.status() == Some(400)
                    && e.code() == Some(crate::graph::EXPIRED_PAGE_TOKEN) =>
            {
                // Start over: what the first pages said may have been superseded.
                restarts += 1;
                tracing::warn!(restarts, "delta page token expired; restarting the chain");
            }
            Err(e) => return Err(e),
            Ok(Read::Done(lists)) => {
                let (found, missing): (Vec<_>, Vec<_>) = groups
                    .into_iter()
                    .map(|g| {
                        let l = lists.get(g.id()).cloned();
                        (g, l)
                    })
                    .partition(|(_, l)| l.is_some());
                return Ok(ChainEnd::Complete {
                    lists: found
                        .into_iter()
                        .map(|(g, l)| (g, l.unwrap_or_default()))
                        .collect(),
                    missing: missing.into_iter().map(|(g, _)| g).collect(),
                    restarts,
                });
            }
            Ok(Read::Large(id)) => {
                let (large, rest): (Vec<_>, Vec<_>) =
                    groups.into_iter().partition(|g| g.id() == id);
                let Some(large) = large.into_iter().next() else {
                    return Err(GraphError::Decode {
                        what: "groups/delta".into(),
                        message: format!("returned group {id}, which the filter did not ask for"),
                    });
                };
                return Ok(ChainEnd::Split {
                    large,
                    rest,
                    restarts,
                });
            }
        }
    }
}

enum Read {
    Done(HashMap<String, Lists>),
    Large(String),
}

async fn read_once(
    client: &GraphClient,
    groups: &[Arc<GroupRecord>],
    large: usize,
) -> Result<Read, GraphError> {
    let mut pager = client.pager(&chain_url(groups));
    let mut lists: HashMap<String, Lists> = HashMap::with_capacity(groups.len());
    while let Some(page) = pager.next_page().await {
        let page: Page = page?;
        for group in &page.items {
            let Some(id) = group.get("id").and_then(Value::as_str) else {
                continue;
            };
            if group.get("@removed").is_some() {
                // Deleted since it was listed: the per-group reading reports it.
                continue;
            }
            let entry = lists.entry(id.to_string()).or_default();
            entry.members.extend(refs(group, "members@delta"));
            entry.owners.extend(refs(group, "owners@delta"));
            if entry.members.len() > large {
                return Ok(Read::Large(id.to_string()));
            }
        }
        if page.delta_link.is_some() {
            break;
        }
    }
    Ok(Read::Done(lists))
}

/// The references of one `…@delta` array, without those marked `@removed` (an initial
/// synchronisation has none, but a reference that says it was removed is no member).
fn refs<'a>(group: &'a Value, key: &str) -> impl Iterator<Item = Ref> + 'a {
    group
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|r| r.get("@removed").is_none())
        .filter_map(|r| {
            Some(Ref {
                odata_type: r
                    .get("@odata.type")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                id: r.get("id")?.as_str()?.to_string(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_large_group_threshold_grows_with_the_tenant_within_bounds() {
        assert_eq!(large_group(Some(5_000)), 500);
        assert_eq!(large_group(Some(10_000)), 500);
        assert_eq!(large_group(Some(60_000)), 3_000);
        assert_eq!(large_group(Some(100_000)), 5_000);
        assert_eq!(large_group(Some(1_000_000)), 5_000);
        assert_eq!(large_group(None), 5_000);
    }

    #[test]
    fn references_skip_removed_entries_and_keep_types() {
        let g = json!({"id": "g", "members@delta": [
            {"@odata.type": "#microsoft.graph.user", "id": "u1"},
            {"@odata.type": "#microsoft.graph.user", "id": "u2", "@removed": {"reason": "deleted"}},
            {"id": "x"}
        ]});
        let got: Vec<Ref> = refs(&g, "members@delta").collect();
        assert_eq!(
            got,
            vec![
                Ref {
                    odata_type: Some("#microsoft.graph.user".into()),
                    id: "u1".into()
                },
                Ref {
                    odata_type: None,
                    id: "x".into()
                },
            ]
        );
        assert_eq!(refs(&g, "owners@delta").count(), 0);
    }
}
