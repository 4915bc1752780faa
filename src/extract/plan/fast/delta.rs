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

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};

use super::names::Ref;
use crate::extract::schema::{GroupRecord, object_type};
use crate::graph::{GraphClient, GraphError, ObjectKey, Page, PageItem};

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
    let mut pager = client.pager_of::<DeltaGroup>(&chain_url(groups));
    let mut lists: HashMap<String, Lists> = HashMap::with_capacity(groups.len());
    while let Some(page) = pager.next_page().await {
        let page: Page<DeltaGroup> = page?;
        for group in page.items {
            let Some(id) = group.id else {
                continue;
            };
            if group.removed {
                // Deleted since it was listed: the per-group reading reports it.
                continue;
            }
            let entry = lists.entry(id.clone()).or_default();
            entry.members.extend(refs(group.members));
            entry.owners.extend(refs(group.owners));
            if entry.members.len() > large {
                return Ok(Read::Large(id));
            }
        }
        if page.delta_link.is_some() {
            break;
        }
    }
    Ok(Read::Done(lists))
}

/// A group of a `groups/delta` page: its id and its member and owner references (the
/// only fields the chain selects).
#[derive(Deserialize)]
struct DeltaGroup {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "@removed", default, deserialize_with = "present")]
    removed: bool,
    #[serde(rename = "members@delta", default)]
    members: Option<Vec<DeltaRef>>,
    #[serde(rename = "owners@delta", default)]
    owners: Option<Vec<DeltaRef>>,
}

impl PageItem for DeltaGroup {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// One entry of a `…@delta` array.
#[derive(Deserialize)]
struct DeltaRef {
    #[serde(
        rename = "@odata.type",
        default = "unknown_type",
        deserialize_with = "type_name"
    )]
    object_type: Cow<'static, str>,
    #[serde(default)]
    id: Option<ObjectKey>,
    #[serde(rename = "@removed", default, deserialize_with = "present")]
    removed: bool,
}

/// `true` when the field is there, whatever its value (`null` included).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

fn unknown_type() -> Cow<'static, str> {
    Cow::Borrowed(object_type(None))
}

/// The types a reference names almost always, kept without an allocation each.
const COMMON_TYPES: [&str; 5] = ["user", "group", "device", "servicePrincipal", "orgContact"];

/// The `memberType` an `@odata.type` makes ([`object_type`]); `null` is no type.
fn type_name<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'static, str>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Cow<'static, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an @odata.type (a string)")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
            let name = object_type(Some(s));
            Ok(match COMMON_TYPES.iter().find(|t| **t == name) {
                Some(t) => Cow::Borrowed(t),
                None if name == object_type(None) => unknown_type(),
                None => Cow::Owned(name.to_string()),
            })
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(unknown_type())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(unknown_type())
        }
    }
    d.deserialize_option(OptionVisitor(Visitor))
}

/// Hands a present value to the inner visitor, `null` to its `visit_none`.
struct OptionVisitor<V>(V);

impl<'de, V: serde::de::Visitor<'de>> serde::de::Visitor<'de> for OptionVisitor<V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.0.expecting(f)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_str(self.0)
    }
}

/// The references of one `…@delta` array, without those marked `@removed` (an initial
/// synchronisation has none, but a reference that says it was removed is no member).
fn refs(list: Option<Vec<DeltaRef>>) -> impl Iterator<Item = Ref> {
    list.unwrap_or_default()
        .into_iter()
        .filter(|r| !r.removed)
        .filter_map(|r| {
            Some(Ref {
                object_type: r.object_type,
                id: r.id?,
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
        let g: DeltaGroup = serde_json::from_value(json!({"id": "g", "members@delta": [
            {"@odata.type": "#microsoft.graph.user", "id": "u1"},
            {"@odata.type": "#microsoft.graph.user", "id": "u2", "@removed": {"reason": "deleted"}},
            {"id": "x"},
            {"@odata.type": null, "id": "y", "extra": [1, {"a": 2}]},
            {"@odata.type": "#microsoft.graph.printer", "id": "p"},
            {"@odata.type": "#microsoft.graph.user"}
        ], "owners@delta": null}))
        .unwrap();
        assert!(!g.removed);
        let got: Vec<Ref> = refs(g.members).collect();
        let r = |t: &str, id: &str| Ref {
            object_type: Cow::Owned(t.into()),
            id: ObjectKey::of(id),
        };
        assert_eq!(
            got,
            vec![
                r("user", "u1"),
                r("directoryObject", "x"),
                r("directoryObject", "y"),
                r("printer", "p"),
            ]
        );
        assert_eq!(refs(g.owners).count(), 0);
        let removed: DeltaGroup =
            serde_json::from_value(json!({"id": "g", "@removed": null})).unwrap();
        assert!(removed.removed, "present, even as null");
    }
}
