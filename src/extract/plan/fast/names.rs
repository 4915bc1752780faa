//! The names a members or owners row needs, for edges that arrive as bare references.
//!
//! `groups/delta` returns only `@odata.type` and `id` of each member and owner [GDC
//! api/group-delta.md], so the rows are completed from the users and groups this run already
//! listed, and the few other objects (devices, service principals, contacts, objects created
//! since) through `POST /directoryObjects/getByIds`, at most 1,000 ids a call [GDC
//! api/directoryobject-getbyids.md].

use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

use foldhash::HashMap;

use super::partition::Histogram;
use crate::extract::listed::GraphObject;
use crate::extract::rows::EdgeObject;
use crate::extract::schema::EDGE_SELECT;
use crate::graph::{GraphClient, GraphError, ObjectKey};

/// One member or owner reference from a delta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ref {
    /// `memberType`/`ownerType` as the CSV writes it (`user`, `device`, …).
    pub object_type: Cow<'static, str>,
    pub id: ObjectKey,
}

/// The name columns of one object, kept as plain strings: tenant L holds 125,000 of them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NameColumns {
    display_name: Option<String>,
    user_principal_name: Option<String>,
}

/// id → the object's name columns (`displayName`, `userPrincipalName` when it has one).
///
/// Keyed with foldhash by [`ObjectKey`]: a run looks up every member and owner reference
/// here twice (over two million look-ups on tenant L), and SipHash and string keys were a
/// visible share of the run's CPU.
#[derive(Default)]
pub(super) struct Names {
    known: Mutex<HashMap<ObjectKey, NameColumns>>,
    upns: OnceLock<Histogram>,
}

impl Names {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectKey, NameColumns>> {
        // A poisoned map only means another task panicked mid-insert; entries stay valid.
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers the name columns of listed objects (users or groups).
    pub(super) fn learn<O: GraphObject>(&self, objects: &[O]) {
        let mut known = self.lock();
        for o in objects {
            let Some(id) = o.text("id") else {
                continue;
            };
            let text = |key: &str| o.text(key).map(str::to_string);
            known.insert(
                ObjectKey::of(id),
                NameColumns {
                    display_name: text("displayName"),
                    user_principal_name: text("userPrincipalName"),
                },
            );
        }
    }

    /// How the user principal names start, from the users learnt so far: computed on the
    /// first call, so make it once the users are listed.
    pub(super) fn upn_histogram(&self) -> &Histogram {
        self.upns.get_or_init(|| {
            let known = self.lock();
            Histogram::of(
                known
                    .values()
                    .filter_map(|n| n.user_principal_name.as_deref()),
            )
        })
    }

    /// Looks up, with getByIds, the ids among `refs` that nobody listed (devices, service
    /// principals, contacts, objects created since): one round for a whole chain.
    pub(super) async fn look_up(
        &self,
        client: &GraphClient,
        refs: &[&Ref],
    ) -> Result<(), GraphError> {
        let unknown: Vec<String> = {
            let known = self.lock();
            let mut buf = [0; 36];
            let mut ids: Vec<String> = refs
                .iter()
                .filter(|r| !known.contains_key(&r.id))
                .map(|r| r.id.text(&mut buf).to_string())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let unknown: Vec<&str> = unknown.iter().map(String::as_str).collect();
        // One call after the other: many chains look up at the same time.
        let found = client.get_by_ids(&unknown, EDGE_SELECT, 1).await?;
        self.learn(&found);
        Ok(())
    }

    /// The members or owners `refs` name, as their rows show them, with how many ids are
    /// unknown (looked up by [`look_up`](Self::look_up) and not found: deleted meanwhile);
    /// those keep their type and id, without names.
    pub(super) fn objects(&self, refs: &[&Ref]) -> (Vec<EdgeObject>, u64) {
        let known = self.lock();
        let mut unresolved = 0;
        let mut buf = [0; 36];
        let objects = refs
            .iter()
            .map(|r| {
                // A missing column and a null one both make an empty cell.
                let (name, upn) = match known.get(&r.id) {
                    Some(names) => (
                        names.display_name.as_deref().unwrap_or_default(),
                        names.user_principal_name.as_deref().unwrap_or_default(),
                    ),
                    None => {
                        unresolved += 1;
                        ("", "")
                    }
                };
                EdgeObject::new(r.id.text(&mut buf), &r.object_type, name, upn)
            })
            .collect();
        (objects, unresolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn learned_names_are_kept_by_id_with_only_the_name_columns() {
        let names = Names::default();
        names.learn::<serde_json::Value>(&[
            json!({"id": "u1", "displayName": "Ann", "userPrincipalName": "ann@x", "jobTitle": "CEO"}),
            json!({"id": "g1", "displayName": "Team"}),
            json!({"displayName": "no id"}),
        ]);
        let known = names.lock();
        assert_eq!(known.len(), 2);
        assert_eq!(
            known[&ObjectKey::of("u1")],
            NameColumns {
                display_name: Some("Ann".into()),
                user_principal_name: Some("ann@x".into())
            }
        );
        assert_eq!(
            known[&ObjectKey::of("g1")],
            NameColumns {
                display_name: Some("Team".into()),
                user_principal_name: None
            }
        );
    }
}
