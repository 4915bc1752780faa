//! `/groups/delta`: paging to the deltaLink reproduces the ground truth after merging split
//! groups by id; the delta token then reports no changes.

use crate::sim_support;

use std::collections::{BTreeMap, BTreeSet};

use entra_sim::{DemoAppKind, Preset, SimConfig, SizeSpec};
use reqwest::StatusCode;
use serde_json::Value;
use sim_support::*;

/// Follows nextLinks to the deltaLink; returns the items and the deltaLink.
async fn delta_all(
    h: &entra_sim::SimHandle,
    tok: &str,
    first: &str,
) -> (Vec<Value>, String, usize) {
    let mut url = first.to_string();
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(h, tok, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.header("x-ms-resource-unit"), Some("1"));
        let v = r.json();
        pages += 1;
        items.extend(v["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = v["@odata.nextLink"].as_str() {
            url = next.to_string();
            continue;
        }
        return (
            items,
            v["@odata.deltaLink"]
                .as_str()
                .expect("deltaLink on the last page")
                .to_string(),
            pages,
        );
    }
}

#[tokio::test]
async fn delta_pages_merge_to_the_truth() {
    // 700 users: "All Staff" has 700 members, more than one delta page holds.
    let size = SizeSpec {
        users: 700,
        ..Preset::Small.size()
    };
    let h = start(SimConfig {
        size: Some(size),
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let (items, delta_link, pages) = delta_all(
        &h,
        &tok,
        "/v1.0/groups/delta?$select=id,displayName,members,owners",
    )
    .await;
    assert!(pages >= 2);
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for g in &items {
        let id = g["id"].as_str().unwrap().to_string();
        assert!(g["displayName"].is_string());
        *seen.entry(id.clone()).or_default() += 1;
        for m in g["members@delta"].as_array().expect("members@delta") {
            assert!(
                m["@odata.type"]
                    .as_str()
                    .unwrap()
                    .starts_with("#microsoft.graph.")
            );
            assert_eq!(
                m.as_object().unwrap().len(),
                2,
                "only @odata.type and id: {m}"
            );
            members
                .entry(id.clone())
                .or_default()
                .insert(m["id"].as_str().unwrap().to_string());
        }
        for o in g["owners@delta"].as_array().into_iter().flatten() {
            owners
                .entry(id.clone())
                .or_default()
                .insert(o["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len(), t["groups"].as_array().unwrap().len());
    assert!(
        seen.values().any(|n| *n > 1),
        "a large group must be split across pages"
    );
    let mut want_m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in t["members"].as_array().unwrap() {
        want_m
            .entry(e["groupId"].as_str().unwrap().into())
            .or_default()
            .insert(e["memberId"].as_str().unwrap().into());
    }
    let mut want_o: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in t["owners"].as_array().unwrap() {
        want_o
            .entry(e["groupId"].as_str().unwrap().into())
            .or_default()
            .insert(e["ownerId"].as_str().unwrap().into());
    }
    members.retain(|_, v| !v.is_empty());
    owners.retain(|_, v| !v.is_empty());
    assert_eq!(members, want_m);
    assert_eq!(owners, want_o);

    // No changes since: empty page, fresh deltaLink.
    let v = get(&h, &tok, &delta_link).await.json();
    assert_eq!(v["value"], serde_json::json!([]));
    assert!(
        v["@odata.deltaLink"]
            .as_str()
            .unwrap()
            .contains("$deltatoken=")
    );
    let v = get(&h, &tok, "/v1.0/groups/delta?$deltatoken=latest")
        .await
        .json();
    assert_eq!(v["value"], serde_json::json!([]));
    assert!(v["@odata.deltaLink"].is_string());
    assert_eq!(
        get(&h, &tok, "/v1.0/groups/delta?$deltatoken=bogus")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&h, &tok, "/v1.0/groups/delta?$top=5").await.status,
        StatusCode::BAD_REQUEST
    );
    h.shutdown().await;
}

#[tokio::test]
async fn delta_hides_hidden_memberships_without_the_permission() {
    let h = start_small().await;
    let t = truth(&h).await;
    let hidden = t["hiddenMembershipGroups"][0].as_str().unwrap().to_string();
    for (kind, want_empty) in [(DemoAppKind::NoHidden, true), (DemoAppKind::Full, false)] {
        let tok = token(&h, kind).await;
        let (items, _, _) = delta_all(&h, &tok, "/v1.0/groups/delta?$select=id,members").await;
        let refs: usize = items
            .iter()
            .filter(|g| g["id"] == hidden)
            .map(|g| g["members@delta"].as_array().unwrap().len())
            .sum();
        assert_eq!(refs == 0, want_empty, "{kind:?}");
    }
    let no_grants = token(&h, DemoAppKind::NoGrants).await;
    assert_eq!(
        get(&h, &no_grants, "/v1.0/groups/delta").await.status,
        StatusCode::FORBIDDEN
    );
    h.shutdown().await;
}
