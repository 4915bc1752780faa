//! A tenant that changes: `POST /_sim/evolve` applies seeded changes, the ground truth shows
//! the new state, and a client that merges `users/delta` and `groups/delta` answers (as the
//! delta docs describe: partial users, `@removed`, `members@delta` removals) into the state
//! of its initial sync ends up with exactly that truth, round after round.

use crate::sim_support;

use std::collections::{BTreeMap, BTreeSet};

use entra_sim::{DemoAppKind, SimConfig, SimHandle};
use reqwest::StatusCode;
use serde_json::{Map, Value};
use sim_support::*;

const USER_SELECT: &str = "id,displayName,surname,userPrincipalName,mail,accountEnabled,externalUserState,jobTitle,department,city,officeLocation";
const GROUP_SELECT: &str = "id,displayName,visibility,groupTypes,members,owners";

/// Follows nextLinks to the deltaLink; returns the items and the deltaLink.
async fn delta_all(h: &SimHandle, tok: &str, first: &str) -> (Vec<Value>, String) {
    let mut url = first.to_string();
    let mut items = Vec::new();
    loop {
        let r = get(h, tok, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        let v = r.json();
        items.extend(v["value"].as_array().unwrap().iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => {
                return (
                    items,
                    v["@odata.deltaLink"]
                        .as_str()
                        .expect("deltaLink on the last page")
                        .to_string(),
                );
            }
        }
    }
}

async fn post(h: &SimHandle, path: &str) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{}{path}", h.base_url()))
        .send()
        .await
        .expect("POST");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// What a delta client keeps.
#[derive(Default, Debug, PartialEq)]
struct Local {
    users: BTreeMap<String, Map<String, Value>>,
    groups: BTreeMap<String, Map<String, Value>>,
    members: BTreeMap<String, BTreeSet<String>>,
    owners: BTreeMap<String, BTreeSet<String>>,
}

impl Local {
    /// Merges user delta items; returns how many updates carried only some properties.
    fn merge_users(&mut self, items: &[Value]) -> usize {
        let mut partial = 0;
        for u in items {
            let id = u["id"].as_str().unwrap().to_string();
            if let Some(removed) = u.get("@removed") {
                let reason = removed["reason"].as_str().unwrap();
                assert!(reason == "changed" || reason == "deleted", "{u}");
                self.users.remove(&id);
                continue;
            }
            let obj = u.as_object().unwrap();
            match self.users.get_mut(&id) {
                Some(have) => {
                    if obj.len() < have.len() {
                        partial += 1;
                    }
                    have.extend(obj.clone());
                }
                None => {
                    self.users.insert(id, obj.clone());
                }
            }
        }
        partial
    }

    fn merge_groups(&mut self, items: &[Value]) {
        for g in items {
            let id = g["id"].as_str().unwrap().to_string();
            if g.get("@removed").is_some() {
                self.groups.remove(&id);
                self.members.remove(&id);
                self.owners.remove(&id);
                continue;
            }
            let mut obj = g.as_object().unwrap().clone();
            for (key, edges) in [
                ("members@delta", &mut self.members),
                ("owners@delta", &mut self.owners),
            ] {
                let set = edges.entry(id.clone()).or_default();
                for m in obj
                    .remove(key)
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default()
                {
                    let mid = m["id"].as_str().unwrap().to_string();
                    if m.get("@removed").is_some() {
                        assert_eq!(m["@removed"]["reason"], "deleted", "{m}");
                        set.remove(&mid);
                    } else {
                        set.insert(mid);
                    }
                }
            }
            self.groups.entry(id).or_default().extend(obj);
        }
        self.members.retain(|_, s| !s.is_empty());
        self.owners.retain(|_, s| !s.is_empty());
    }

    /// The same view of the ground truth.
    fn from_truth(t: &Value) -> Local {
        let pick = |o: &Value, select: &str| -> Map<String, Value> {
            select
                .split(',')
                .filter(|p| *p != "members" && *p != "owners")
                .map(|p| (p.to_string(), o[p].clone()))
                .collect()
        };
        let mut l = Local::default();
        for u in t["users"].as_array().unwrap() {
            l.users
                .insert(u["id"].as_str().unwrap().into(), pick(u, USER_SELECT));
        }
        for g in t["groups"].as_array().unwrap() {
            l.groups
                .insert(g["id"].as_str().unwrap().into(), pick(g, GROUP_SELECT));
        }
        for (name, who, edges) in [
            ("members", "memberId", &mut l.members),
            ("owners", "ownerId", &mut l.owners),
        ] {
            for e in t[name].as_array().unwrap() {
                edges
                    .entry(e["groupId"].as_str().unwrap().into())
                    .or_default()
                    .insert(e[who].as_str().unwrap().into());
            }
        }
        l
    }
}

#[tokio::test]
async fn merging_delta_answers_after_each_evolve_gives_the_new_truth() {
    let h = start(SimConfig::default()).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let mut local = Local::default();
    let (users, mut users_link) = delta_all(
        &h,
        &tok,
        &format!("/v1.0/users/delta?$select={USER_SELECT}"),
    )
    .await;
    local.merge_users(&users);
    let (groups, mut groups_link) = delta_all(
        &h,
        &tok,
        &format!("/v1.0/groups/delta?$select={GROUP_SELECT}"),
    )
    .await;
    local.merge_groups(&groups);
    assert_eq!(local, Local::from_truth(&truth(&h).await), "initial sync");

    let mut partial = 0;
    let mut all_changes = Vec::new();
    for round in 1..=4u64 {
        let (s, applied) = post(&h, &format!("/_sim/evolve?changes=30&seed={round}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(applied["version"], round);
        // The operations asked for and applied, apart from the differences they made.
        assert_eq!(applied["asked"], 30);
        assert_eq!(applied["operations"], 30, "{}", applied["operations"]);
        let changes = applied["changes"].as_array().unwrap().clone();
        assert!(!changes.is_empty());
        all_changes.extend(changes);
        let (users, next) = delta_all(&h, &tok, &users_link).await;
        users_link = next;
        partial += local.merge_users(&users);
        let (groups, next) = delta_all(&h, &tok, &groups_link).await;
        groups_link = next;
        local.merge_groups(&groups);
        assert_eq!(local, Local::from_truth(&truth(&h).await), "round {round}");
    }
    assert!(
        partial > 0,
        "some user updates carry only the changed properties"
    );
    let kinds: BTreeSet<String> = all_changes
        .iter()
        .map(|c| format!("{} {}", c["object"], c["change"]))
        .collect();
    for want in [
        "\"user\" \"added\"",
        "\"user\" \"removed\"",
        "\"user\" \"updated\"",
        "\"member\" \"added\"",
        "\"member\" \"removed\"",
    ] {
        assert!(kinds.contains(want), "{want} in {kinds:?}");
    }
    // The history holds every change applied, in order.
    let r = get_with(&h, None, "/_sim/changes?since=0", &[])
        .await
        .json();
    assert_eq!(r["version"], 4);
    assert_eq!(r["changes"].as_array().unwrap(), &all_changes);
    // Nothing since the last deltaLink.
    let v = get(&h, &tok, &users_link).await.json();
    assert_eq!(v["value"], serde_json::json!([]));
    h.shutdown().await;
}

#[tokio::test]
async fn only_selected_properties_are_tracked_and_expired_tokens_need_a_resync() {
    let h = start(SimConfig::default()).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let latest = get(
        &h,
        &tok,
        "/v1.0/users/delta?$select=id,accountEnabled&$deltatoken=latest",
    )
    .await
    .json();
    assert_eq!(latest["value"], serde_json::json!([]));
    let link = latest["@odata.deltaLink"].as_str().unwrap().to_string();
    assert!(link.contains("$deltatoken="), "{link}");
    let (_, applied) = post(&h, "/_sim/evolve?changes=60&seed=11").await;
    let changes = applied["changes"].as_array().unwrap();
    // Users whose accountEnabled changed, joined or left; nobody else.
    let mut want: BTreeSet<String> = BTreeSet::new();
    for c in changes.iter().filter(|c| c["object"] == "user") {
        let counts = c["change"] != "updated"
            || c["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "accountEnabled");
        if counts {
            want.insert(c["id"].as_str().unwrap().into());
        }
    }
    let (items, next) = delta_all(&h, &tok, &link).await;
    let got: BTreeSet<String> = items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want);
    assert!(
        changes.iter().any(|c| c["object"] == "user"
            && c["change"] == "updated"
            && !c["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "accountEnabled")),
        "the seed must also change properties that weren't selected"
    );
    for u in items.iter().filter(|u| u.get("@removed").is_none()) {
        assert!(
            u.get("displayName").is_none() || u.get("accountEnabled").is_some(),
            "{u}"
        );
    }

    // Expired: Graph's documented answer, and a fresh initial sync works again.
    h.expire_delta_tokens();
    let r = get(&h, &tok, &next).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_code(), "syncStateNotFound");
    let r = get(&h, &tok, "/v1.0/groups/delta?$select=id&$deltatoken=latest").await;
    assert_eq!(r.status, StatusCode::OK);
    let (s, _) = post(&h, "/_sim/evolve?changes=x&seed=1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

#[tokio::test]
async fn a_filtered_group_chain_sees_only_its_groups_changes() {
    let h = start(SimConfig::default()).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let ids: Vec<String> = t["groups"].as_array().unwrap()[12..20]
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    let filter = ids
        .iter()
        .map(|id| format!("id eq '{id}'"))
        .collect::<Vec<_>>()
        .join(" or ");
    let first = format!(
        "/v1.0/groups/delta?$select=id,members&$filter={}",
        url_escape(&filter)
    );
    let (_, link) = delta_all(&h, &tok, &first).await;
    let (_, applied) = post(&h, "/_sim/evolve?changes=200&seed=5").await;
    let touched: BTreeSet<String> = applied["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["object"] == "member")
        .map(|c| c["groupId"].as_str().unwrap().to_string())
        .filter(|g| ids.contains(g))
        .collect();
    assert!(!touched.is_empty(), "200 changes reach one of 8 groups");
    let (items, _) = delta_all(&h, &tok, &link).await;
    let got: BTreeSet<String> = items
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    assert!(got.iter().all(|g| ids.contains(g)), "{got:?}");
    assert!(touched.is_subset(&got), "{touched:?} ⊄ {got:?}");
    h.shutdown().await;
}

fn url_escape(s: &str) -> String {
    s.replace(' ', "%20").replace('\'', "%27")
}
