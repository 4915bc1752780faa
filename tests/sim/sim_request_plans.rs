//! The documented techniques the fast plan relies on, as the simulated tenant answers them:
//! `groups/delta` filtered by ids, `startswith` and `/$count` with a filter on users,
//! OData casts and filters on a group's members, and `POST /directoryObjects/getByIds`.

use crate::sim_support;

use std::collections::{BTreeMap, BTreeSet};

use entra_sim::{DemoAppKind, Preset, SimConfig, SimHandle, SizeSpec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sim_support::*;

const EVENTUAL: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];

/// 700 users: "All Staff" has more members than one delta page holds.
async fn start_700() -> SimHandle {
    start(SimConfig {
        size: Some(SizeSpec {
            users: 700,
            ..Preset::Small.size()
        }),
        ..SimConfig::default()
    })
    .await
}

fn edges_by_group(truth: &Value, list: &str, id_key: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in truth[list].as_array().unwrap() {
        out.entry(e["groupId"].as_str().unwrap().into())
            .or_default()
            .insert(e[id_key].as_str().unwrap().into());
    }
    out
}

fn largest_group(truth: &Value) -> String {
    let members = edges_by_group(truth, "members", "memberId");
    members
        .iter()
        .max_by_key(|(_, m)| m.len())
        .map(|(g, _)| g.clone())
        .unwrap()
}

async fn count(h: &SimHandle, tok: &str, url: &str) -> u64 {
    let r = get_with(h, Some(tok), url, EVENTUAL).await;
    assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
    r.text.trim().parse().expect("a number")
}

/// Pages with `ConsistencyLevel: eventual` on every request (Graph doesn't carry it over).
async fn page_all_eventual(h: &SimHandle, tok: &str, first: &str) -> Vec<Value> {
    let mut url = first.to_string();
    let mut items = Vec::new();
    loop {
        let r = get_with(h, Some(tok), &url, EVENTUAL).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        let v = r.json();
        items.extend(v["value"].as_array().unwrap().iter().cloned());
        match v["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => return items,
        }
    }
}

#[tokio::test]
async fn delta_filtered_by_ids_tracks_exactly_those_groups() {
    let h = start_700().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let want_members = edges_by_group(&t, "members", "memberId");
    let want_owners = edges_by_group(&t, "owners", "ownerId");
    let all_groups: Vec<String> = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    let big = largest_group(&t);
    let chosen: Vec<String> = vec![all_groups[5].clone(), big.clone(), all_groups[1].clone()];
    let filter: Vec<String> = chosen
        .iter()
        .chain(std::iter::once(
            &"00000000-0000-0000-0000-000000000001".to_string(),
        ))
        .map(|id| format!("id eq '{id}'"))
        .collect();
    let first = format!(
        "/v1.0/groups/delta?$filter={}&$select=id,members,owners",
        filter.join(" or ")
    );
    let mut url = first;
    let mut pages = 0;
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    loop {
        let r = get(&h, &tok, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.header("x-ms-resource-unit"), Some("1"));
        pages += 1;
        let v = r.json();
        for g in v["value"].as_array().unwrap() {
            let id = g["id"].as_str().unwrap().to_string();
            assert!(chosen.contains(&id), "{id} was not asked for");
            for (key, out) in [
                ("members@delta", &mut members),
                ("owners@delta", &mut owners),
            ] {
                let set = out.entry(id.clone()).or_default();
                for m in g[key].as_array().into_iter().flatten() {
                    set.insert(m["id"].as_str().unwrap().to_string());
                }
            }
        }
        match v["@odata.nextLink"].as_str() {
            Some(n) => {
                assert!(n.contains("$skiptoken="), "{n}");
                url = n.to_string();
            }
            None => {
                assert!(v["@odata.deltaLink"].is_string());
                break;
            }
        }
    }
    assert!(pages >= 2, "the largest group is split across pages");
    for id in &chosen {
        assert_eq!(
            members.get(id).cloned().unwrap_or_default(),
            want_members.get(id).cloned().unwrap_or_default(),
            "members of {id}"
        );
        assert_eq!(
            owners.get(id).cloned().unwrap_or_default(),
            want_owners.get(id).cloned().unwrap_or_default(),
            "owners of {id}"
        );
    }

    // More than 50 ids, or anything but `id eq`, is refused.
    let many: Vec<String> = all_groups
        .iter()
        .cycle()
        .take(51)
        .map(|id| format!("id eq '{id}'"))
        .collect();
    let r = get(
        &h,
        &tok,
        &format!("/v1.0/groups/delta?$filter={}", many.join(" or ")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = get(&h, &tok, "/v1.0/groups/delta?$filter=displayName eq 'x'").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "Request_UnsupportedQuery");
    h.shutdown().await;
}

#[tokio::test]
async fn users_split_by_upn_prefix_add_up_to_the_whole_and_to_their_counts() {
    let h = start_700().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let all: BTreeSet<String> = t["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let mut union = BTreeSet::new();
    let mut counted = 0;
    for c in "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~".chars() {
        let lit = c.to_string().replace('\'', "''");
        let filter = format!("startswith(userPrincipalName,'{lit}')");
        let enc: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        let (items, _) = page_all(
            &h,
            &tok,
            &format!("/v1.0/users?$filter={enc}&$select=id,userPrincipalName&$top=999"),
        )
        .await;
        for u in &items {
            let upn = u["userPrincipalName"].as_str().unwrap().to_lowercase();
            assert!(upn.starts_with(c), "{upn} under {c}");
            assert!(
                union.insert(u["id"].as_str().unwrap().to_string()),
                "in two prefixes"
            );
        }
        let n = count(&h, &tok, &format!("/v1.0/users/$count?$filter={enc}")).await;
        assert_eq!(n as usize, items.len(), "count of prefix {c}");
        counted += n;
    }
    assert_eq!(union, all);
    assert_eq!(counted as usize, all.len());
    // /$count needs the advanced-query header, with or without a filter.
    let r = get(
        &h,
        &tok,
        "/v1.0/users/$count?$filter=startswith(userPrincipalName,'a')",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let groups = count(
        &h,
        &tok,
        "/v1.0/groups/$count?$filter=startswith(mailNickname,'a')",
    )
    .await;
    let want = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["mailNickname"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().starts_with('a'))
        })
        .count();
    assert_eq!(groups as usize, want);
    h.shutdown().await;
}

/// `startswith` with any literal answers as Graph does, case-insensitively, with the users
/// whose property starts with it: accented, multi-byte and quoted literals included (the
/// literal `'ł'` once panicked the handler and dropped the connection). Random filter text
/// is answered 200 or 400 with a Graph error, never with a dropped connection.
#[tokio::test]
async fn startswith_with_any_literal_answers_and_random_filters_never_break_the_server() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let users = t["users"].as_array().unwrap();
    let lower = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
    let mut found = 0;
    for prop in ["userPrincipalName", "displayName"] {
        for lit in [
            "ł", "Ł", "sø", "山田", "😀", "e\u{301}", "İ", "o'b", "O'Brien", "", "x and y",
        ] {
            let filter = format!("startswith({prop},'{}')", lit.replace('\'', "''"));
            let enc: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
            let r = get(
                &h,
                &tok,
                &format!("/v1.0/users?$filter={enc}&$select=id&$top=999"),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text);
            let got: BTreeSet<String> = r.json()["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect();
            let want: BTreeSet<String> = users
                .iter()
                .filter(|u| {
                    u[prop]
                        .as_str()
                        .is_some_and(|v| lower(v).starts_with(&lower(lit)))
                })
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, want, "{filter}");
            found += usize::from(!lit.is_empty() && !got.is_empty());
        }
    }
    assert!(found >= 2, "some literals match a user (山田, O'Brien)");

    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(24);
    let pieces = [
        "startswith(",
        "userPrincipalName",
        ",",
        "'",
        ")",
        " and ",
        " eq ",
        "ł",
        "山",
        "😀",
        "İ",
        "a",
        " ",
    ];
    for _ in 0..300 {
        let mut filter = String::new();
        for _ in 0..rng.random_range(1..10) {
            if rng.random_bool(0.2) {
                filter.extend(char::from_u32(rng.random_range(0..0x11_0000)));
            } else {
                filter.push_str(pieces[rng.random_range(0..pieces.len())]);
            }
        }
        let enc: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        let r = get(&h, &tok, &format!("/v1.0/users?$filter={enc}&$select=id")).await;
        match r.status {
            StatusCode::OK => assert!(r.json()["value"].is_array(), "{filter:?}"),
            StatusCode::BAD_REQUEST => assert!(!r.error_code().is_empty(), "{filter:?}"),
            other => panic!("{filter:?}: {other} {}", r.text),
        }
    }
    h.shutdown().await;
}

#[tokio::test]
async fn a_groups_members_split_by_cast_and_filter_need_eventual_consistency() {
    let h = start_700().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let big = largest_group(&t);
    let edges: Vec<&Value> = t["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["groupId"] == big.as_str())
        .collect();
    let users_a: BTreeSet<String> = edges
        .iter()
        .filter(|e| e["memberType"] == "user")
        .filter(|e| {
            e["memberUserPrincipalName"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .starts_with('a')
        })
        .map(|e| e["memberId"].as_str().unwrap().to_string())
        .collect();
    assert!(!users_a.is_empty());
    let path = format!("/v1.0/groups/{big}/members/microsoft.graph.user");
    let first = format!(
        "{path}?$filter=startswith(userPrincipalName,'a')&$count=true&$select=id,displayName,userPrincipalName&$top=7"
    );
    let got = page_all_eventual(&h, &tok, &first).await;
    let ids: BTreeSet<String> = got
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, users_a);
    assert!(
        got.iter()
            .all(|u| u["@odata.type"] == "#microsoft.graph.user")
    );
    // Without the header, `$count=true`, the cast and the filter are each refused.
    let r = get(&h, &tok, &first).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    for url in [
        format!("{path}?$top=5"),
        format!("/v1.0/groups/{big}/members?$filter=startswith(displayName,'a')"),
    ] {
        let r = get(&h, &tok, &url).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{url}");
        assert_eq!(r.error_code(), "Request_UnsupportedQuery", "{url}");
    }
    // Casts count per type and add up to the group.
    let mut sum = 0;
    for t in ["user", "group", "device", "servicePrincipal", "orgContact"] {
        let n = count(
            &h,
            &tok,
            &format!("/v1.0/groups/{big}/members/microsoft.graph.{t}/$count"),
        )
        .await;
        assert_eq!(
            n as usize,
            edges.iter().filter(|e| e["memberType"] == t).count(),
            "{t}"
        );
        sum += n;
    }
    assert_eq!(sum as usize, edges.len());
    assert_eq!(
        count(&h, &tok, &format!("/v1.0/groups/{big}/members/$count")).await,
        sum
    );
    h.shutdown().await;
}

async fn get_by_ids(h: &SimHandle, tok: &str, body: Value) -> (StatusCode, Value, Option<String>) {
    let r = client()
        .post(format!(
            "{}/v1.0/directoryObjects/getByIds?$select=id,displayName",
            h.base_url()
        ))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let ru = r
        .headers()
        .get("x-ms-resource-unit")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.json().await.unwrap(), ru)
}

#[tokio::test]
async fn get_by_ids_returns_the_objects_asked_for_in_order_with_their_types() {
    let h = start(SimConfig {
        grants: vec![(DemoAppKind::NoGrants, vec!["GroupMember.Read.All".into()])],
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let pick = |ty: &str| -> (String, String) {
        let e = t["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["memberType"] == ty)
            .unwrap();
        (
            e["memberId"].as_str().unwrap().into(),
            e["memberDisplayName"].as_str().unwrap().into(),
        )
    };
    let (device, device_name) = pick("device");
    let (sp, _) = pick("servicePrincipal");
    let (user, user_name) = pick("user");
    let unknown = "00000000-0000-0000-0000-0000000000ff";
    let (status, v, ru) = get_by_ids(&h, &tok, json!({"ids": [device, unknown, sp, user]})).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(ru.as_deref(), Some("1"));
    let got: Vec<(&str, &str)> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["@odata.type"].as_str().unwrap(),
                o["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("#microsoft.graph.device", device.as_str()),
            ("#microsoft.graph.servicePrincipal", sp.as_str()),
            ("#microsoft.graph.user", user.as_str()),
        ]
    );
    assert_eq!(v["value"][0]["displayName"], device_name.as_str());
    assert_eq!(v["value"][2]["displayName"], user_name.as_str());
    // `types` narrows the search.
    let (_, v, _) = get_by_ids(&h, &tok, json!({"ids": [device, user], "types": ["User"]})).await;
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    // More than 1,000 ids, or no ids, is a bad request.
    let many: Vec<String> = (0..1001)
        .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
        .collect();
    assert_eq!(
        get_by_ids(&h, &tok, json!({"ids": many})).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get_by_ids(&h, &tok, json!({"types": ["user"]})).await.0,
        StatusCode::BAD_REQUEST
    );
    // Only Directory.Read.All allows it.
    let limited = token(&h, DemoAppKind::NoGrants).await;
    assert_eq!(
        get_by_ids(&h, &limited, json!({"ids": [user]})).await.0,
        StatusCode::FORBIDDEN
    );
    h.shutdown().await;
}
