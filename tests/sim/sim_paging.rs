//! Paging to exhaustion equals the ground truth; $select/$top/$count/$skip/$expand behave as
//! Graph documents.

use crate::sim_support;

use std::collections::{BTreeMap, BTreeSet};

use entra_sim::{DemoAppKind, SimConfig};
use reqwest::StatusCode;
use serde_json::Value;
use sim_support::*;

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn users_and_groups_paged_to_exhaustion_equal_truth() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let truth_users = t["users"].as_array().unwrap();
    let (users, pages) = page_all(&h, &tok, "/v1.0/users").await;
    assert_eq!(
        pages,
        truth_users.len().div_ceil(100),
        "default page size is 100"
    );
    assert_eq!(ids(&users), ids(truth_users));
    // Without $select, exactly the documented default properties, explicit nulls included.
    let keys: BTreeSet<&str> = users[8]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = [
        "businessPhones",
        "displayName",
        "givenName",
        "id",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    ]
    .into();
    assert_eq!(keys, want);

    // Every property the client selects, with $top=7 so paging crosses many pages.
    let select = "id,userPrincipalName,displayName,givenName,surname,mail,mailNickname,accountEnabled,userType,externalUserState,jobTitle,department,companyName,employeeId,officeLocation,city,country,usageLocation,createdDateTime,onPremisesSyncEnabled,onPremisesSamAccountName,onPremisesUserPrincipalName,onPremisesDomainName,onPremisesDistinguishedName,onPremisesImmutableId,onPremisesSecurityIdentifier,proxyAddresses";
    let (sel, pages) = page_all(&h, &tok, &format!("/v1.0/users?$select={select}&$top=7")).await;
    assert_eq!(pages, truth_users.len().div_ceil(7));
    for (got, want) in sel.iter().zip(truth_users) {
        for p in select.split(',') {
            assert_eq!(got.get(p), want.get(p), "user {} property {p}", want["id"]);
        }
        assert_eq!(got.as_object().unwrap().len(), select.split(',').count());
    }

    let (groups, _) = page_all(&h, &tok, "/v1.0/groups?$top=999").await;
    assert_eq!(ids(&groups), ids(t["groups"].as_array().unwrap()));
    assert_eq!(
        groups,
        *t["groups"].as_array().unwrap(),
        "group default set = full truth object"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn members_and_owners_paged_to_exhaustion_equal_truth() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let mut want_m: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for e in t["members"].as_array().unwrap() {
        want_m
            .entry(e["groupId"].as_str().unwrap().into())
            .or_default()
            .insert((
                e["memberId"].as_str().unwrap().into(),
                e["memberType"].as_str().unwrap().into(),
            ));
    }
    let mut want_o: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for e in t["owners"].as_array().unwrap() {
        want_o
            .entry(e["groupId"].as_str().unwrap().into())
            .or_default()
            .insert((
                e["ownerId"].as_str().unwrap().into(),
                e["ownerType"].as_str().unwrap().into(),
            ));
    }
    let mut saw_multi_page = false;
    for g in t["groups"].as_array().unwrap() {
        let gid = g["id"].as_str().unwrap();
        for (rel, want) in [("members", &want_m), ("owners", &want_o)] {
            let (items, pages) = page_all(
                &h,
                &tok,
                &format!("/v1.0/groups/{gid}/{rel}?$select=id,displayName,userPrincipalName"),
            )
            .await;
            saw_multi_page |= pages > 1;
            let got: BTreeSet<(String, String)> = items
                .iter()
                .map(|m| {
                    let ty = m["@odata.type"]
                        .as_str()
                        .expect("@odata.type on every item");
                    (
                        m["id"].as_str().unwrap().to_string(),
                        ty.trim_start_matches("#microsoft.graph.").to_string(),
                    )
                })
                .collect();
            assert_eq!(got.len(), items.len(), "no duplicates across pages");
            assert_eq!(
                &got,
                want.get(gid).unwrap_or(&BTreeSet::new()),
                "{rel} of {}",
                g["displayName"]
            );
        }
    }
    assert!(
        saw_multi_page,
        "small preset must have a group with more than 100 members"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn top_limits_skip_count_and_select_nulls() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let r = get(&h, &tok, "/v1.0/users?$top=1000").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "Request_BadRequest");
    let r = get(&h, &tok, "/v1.0/users?$top=0").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = get(&h, &tok, "/v1.0/users?$skip=10").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["error"]["message"],
        "'$skip' is not supported by the service."
    );
    let r = get(&h, &tok, "/v1.0/users?$top=999").await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 150);
    assert!(r.json().get("@odata.nextLink").is_none());

    // $count needs ConsistencyLevel: eventual.
    let r = get(&h, &tok, "/v1.0/users/$count").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = get_with(
        &h,
        Some(&tok),
        "/v1.0/users/$count",
        &[("ConsistencyLevel", "eventual")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(r.text, "150");
    let r = get_with(
        &h,
        Some(&tok),
        "/v1.0/groups/$count",
        &[("ConsistencyLevel", "eventual")],
    )
    .await;
    assert_eq!(r.text, "40");
    let r = get_with(
        &h,
        Some(&tok),
        "/v1.0/users?$count=true&$top=5",
        &[("ConsistencyLevel", "eventual")],
    )
    .await;
    assert_eq!(r.json()["@odata.count"], 150);
    let next = r.json()["@odata.nextLink"].as_str().unwrap().to_string();
    let r2 = get_with(&h, Some(&tok), &next, &[("ConsistencyLevel", "eventual")]).await;
    assert!(
        r2.json().get("@odata.count").is_none(),
        "@odata.count only on the first page"
    );
    let r = get(&h, &tok, "/v1.0/users?$count=true").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Selected-but-null is an explicit null; unknown properties are omitted; context says so.
    let r = get(
        &h,
        &tok,
        "/v1.0/users?$select=id,jobTitle,noSuchProperty&$top=20",
    )
    .await;
    let v = r.json();
    assert_eq!(
        v["@odata.context"],
        format!(
            "{}/v1.0/$metadata#users(id,jobTitle,noSuchProperty)",
            h.base_url()
        )
    );
    let svc = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["jobTitle"].is_null())
        .expect("a user without jobTitle");
    assert!(svc.as_object().unwrap().contains_key("jobTitle"));
    assert!(!svc.as_object().unwrap().contains_key("noSuchProperty"));
    // nextLink repeats the query re-encoded.
    assert!(
        v["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("$select=id%2cjobTitle%2cnoSuchProperty&$top=20&$skiptoken=")
    );
    // A skiptoken from another list is refused.
    let tok_param = v["@odata.nextLink"]
        .as_str()
        .unwrap()
        .split("$skiptoken=")
        .nth(1)
        .unwrap()
        .to_string();
    let r = get(&h, &tok, &format!("/v1.0/groups?$skiptoken={tok_param}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // $filter subset.
    let r = get(
        &h,
        &tok,
        "/v1.0/users?$filter=userType eq 'Guest'&$select=id,userType&$top=999",
    )
    .await;
    let guests = r.json()["value"].as_array().unwrap().len();
    assert!(guests > 0 && guests < 150);
    assert!(
        r.json()["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["userType"] == "Guest")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn expand_caps_members_at_20_and_outer_page_at_100() {
    let cfg = SimConfig {
        size: Some(entra_sim::SizeSpec {
            groups: 150,
            ..entra_sim::Preset::Small.size()
        }),
        ..SimConfig::default()
    };
    let h = start(cfg).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let r = get(
        &h,
        &tok,
        "/v1.0/groups?$expand=members&$top=999&$select=id,displayName",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    let page = v["value"].as_array().unwrap();
    assert_eq!(page.len(), 100, "outer page capped at 100 with $expand");
    assert!(v.get("@odata.nextLink").is_some());
    let all_staff = page
        .iter()
        .find(|g| g["displayName"] == "All Staff")
        .unwrap();
    let members = all_staff["members"].as_array().unwrap();
    assert_eq!(members.len(), 20);
    assert!(
        members
            .iter()
            .all(|m| m["@odata.type"] == "#microsoft.graph.user")
    );
    let first = t["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["groupId"] == all_staff["id"])
        .unwrap();
    assert_eq!(members[0]["id"], first["memberId"]);
    assert_eq!(
        r.header("x-ms-resource-unit"),
        Some("1"),
        "groups 1, $select -1, $expand +1"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn relationship_counts_and_service_principal_filter() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let gid = t["groups"][0]["id"].as_str().unwrap();
    let members = t["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["groupId"] == gid)
        .count();
    let ev = [("ConsistencyLevel", "eventual")];
    let r = get_with(
        &h,
        Some(&tok),
        &format!("/v1.0/groups/{gid}/members/$count"),
        &ev,
    )
    .await;
    assert_eq!(r.text, members.to_string());
    let r = get_with(
        &h,
        Some(&tok),
        &format!("/v1.0/groups/{gid}/owners/$count"),
        &ev,
    )
    .await;
    assert_eq!(r.text, "1");
    assert_eq!(
        get(&h, &tok, &format!("/v1.0/groups/{gid}/members/$count"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let app = h.app(DemoAppKind::NoHidden).client_id.clone();
    let r = get(
        &h,
        &tok,
        &format!("/v1.0/servicePrincipals?$filter=appId eq '{app}'&$select=id,appId,displayName"),
    )
    .await;
    let v = r.json();
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["appId"], app);
    h.shutdown().await;
}

#[tokio::test]
async fn transitive_members_flatten_nested_groups() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let parent = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "Nested Parent")
        .unwrap();
    let direct = |gid: &Value| -> Vec<(String, String)> {
        t["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["groupId"] == *gid)
            .map(|e| {
                (
                    e["memberId"].as_str().unwrap().to_string(),
                    e["memberType"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // Expected: breadth-first closure over the truth's edges.
    let mut want = BTreeSet::new();
    let mut queue = vec![parent["id"].clone()];
    while let Some(g) = queue.pop() {
        for (id, ty) in direct(&g) {
            if want.insert(id.clone()) && ty == "group" {
                queue.push(Value::String(id));
            }
        }
    }
    assert!(
        direct(&parent["id"]).iter().any(|(_, ty)| ty == "group"),
        "fixture has nesting"
    );
    let gid = parent["id"].as_str().unwrap();
    let r = get(&h, &tok, &format!("/v1.0/groups/{gid}/transitiveMembers")).await;
    assert_eq!(r.header("x-ms-resource-unit"), Some("5"));
    let (items, _) = page_all(
        &h,
        &tok,
        &format!("/v1.0/groups/{gid}/transitiveMembers?$select=id&$top=3"),
    )
    .await;
    let got: BTreeSet<String> = ids(&items).into_iter().collect();
    assert_eq!(got.len(), items.len());
    assert_eq!(got, want);
    assert!(got.len() > direct(&parent["id"]).len());
    h.shutdown().await;
}

#[tokio::test]
async fn tampered_skiptokens_are_refused_or_harmless() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let v = get(&h, &tok, "/v1.0/users?$top=5").await.json();
    let next = v["@odata.nextLink"].as_str().unwrap();
    let (prefix, skip) = next.split_once("$skiptoken=").unwrap();
    let mut raw = b64.decode(skip).unwrap();
    // Whatever the layout, setting every byte after the first 4 to 0xFF must not crash the
    // server: it answers 400 or an empty last page.
    for b in raw.iter_mut().skip(4).take(8) {
        *b = 0xFF;
    }
    let r = get(
        &h,
        &tok,
        &format!("{prefix}$skiptoken={}", b64.encode(&raw)),
    )
    .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST || r.json()["value"] == serde_json::json!([]),
        "{}",
        r.text
    );
    let r = get(&h, &tok, &format!("{prefix}$skiptoken=garbage")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The server is still up.
    assert_eq!(
        get(&h, &tok, "/v1.0/organization").await.status,
        StatusCode::OK
    );
    h.shutdown().await;
}
