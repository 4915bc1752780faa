//! 401/403 cases, hidden memberships in both modes, and the directory objects a permission
//! check reads (organization, applications, service principals, appRoleAssignments).

use crate::sim_support;

use entra_sim::{DemoAppKind, HiddenMembers, SimConfig};
use reqwest::StatusCode;
use serde_json::Value;
use sim_support::*;

#[tokio::test]
async fn unauthenticated_and_forged_tokens_get_401_with_graph_error_shape() {
    let h = start_small().await;
    let r = get_with(
        &h,
        None,
        "/v1.0/users",
        &[("client-request-id", "c0ffee00-0000-4000-8000-000000000000")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let v = r.json();
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(v["error"]["message"], "Access token is empty.");
    let date = v["error"]["innerError"]["date"].as_str().unwrap();
    assert_eq!(date.len(), 19, "no zone, no fraction: {date}");
    assert!(chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S").is_ok());
    assert_eq!(
        v["error"]["innerError"]["request-id"],
        r.header("request-id").unwrap()
    );
    assert_eq!(
        v["error"]["innerError"]["client-request-id"],
        "c0ffee00-0000-4000-8000-000000000000"
    );
    assert_eq!(
        r.header("client-request-id"),
        Some("c0ffee00-0000-4000-8000-000000000000")
    );
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    assert!(r.header("x-ms-resource-unit").is_some());

    // Swap the payload of a valid token for one claiming more roles: signature fails.
    let tok = token(&h, DemoAppKind::NoGrants).await;
    let full = token(&h, DemoAppKind::Full).await;
    let parts: Vec<&str> = tok.split('.').collect();
    let full_payload = full.split('.').nth(1).unwrap();
    let forged = format!("{}.{}.{}", parts[0], full_payload, parts[2]);
    let r = get(&h, &forged, "/v1.0/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = get(&h, "not-a-jwt", "/v1.0/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    h.shutdown().await;
}

#[tokio::test]
async fn app_without_grants_gets_403_everywhere() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::NoGrants).await;
    for path in [
        "/v1.0/users",
        "/v1.0/groups",
        "/v1.0/organization",
        "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
    ] {
        let r = get(&h, &tok, path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.error_code(), "Authorization_RequestDenied");
        assert_eq!(
            r.json()["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
    }
    h.shutdown().await;
}

async fn hidden_group(h: &entra_sim::SimHandle) -> String {
    truth(h).await["hiddenMembershipGroups"][0]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn hidden_members_forbidden_mode() {
    let h = start(SimConfig {
        hidden_members: HiddenMembers::Forbidden,
        ..SimConfig::default()
    })
    .await;
    let gid = hidden_group(&h).await;
    let no_hidden = token(&h, DemoAppKind::NoHidden).await;
    let r = get(&h, &no_hidden, &format!("/v1.0/groups/{gid}/members")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "Authorization_RequestDenied");
    // The group itself and its owners stay visible.
    let g = get(&h, &no_hidden, &format!("/v1.0/groups/{gid}"))
        .await
        .json();
    assert_eq!(g["visibility"], "HiddenMembership");
    assert_eq!(
        get(&h, &no_hidden, &format!("/v1.0/groups/{gid}/owners"))
            .await
            .status,
        StatusCode::OK
    );
    let full = token(&h, DemoAppKind::Full).await;
    let v = get(&h, &full, &format!("/v1.0/groups/{gid}/members"))
        .await
        .json();
    assert!(!v["value"].as_array().unwrap().is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn hidden_members_empty_mode() {
    let h = start(SimConfig {
        hidden_members: HiddenMembers::Empty,
        ..SimConfig::default()
    })
    .await;
    let gid = hidden_group(&h).await;
    let no_hidden = token(&h, DemoAppKind::NoHidden).await;
    let r = get(&h, &no_hidden, &format!("/v1.0/groups/{gid}/members")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["value"], serde_json::json!([]));
    let full = token(&h, DemoAppKind::Full).await;
    let v = get(&h, &full, &format!("/v1.0/groups/{gid}/members"))
        .await
        .json();
    assert!(!v["value"].as_array().unwrap().is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn organization_applications_service_principals_and_grants() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let org = get(&h, &tok, "/v1.0/organization").await.json();
    let o = &org["value"][0];
    assert_eq!(o["id"], h.tenant_id());
    let domains = o["verifiedDomains"].as_array().unwrap();
    assert!(
        domains
            .iter()
            .any(|d| d["isDefault"] == true && d["name"] == h.default_domain())
    );
    assert!(domains.iter().any(|d| d["isInitial"] == true));

    let now = chrono::Utc::now();
    for (kind, days_min, days_max) in [
        (DemoAppKind::Full, 300, 400),
        (DemoAppKind::NoHidden, 1, 29),
        (DemoAppKind::ExpiredSecret, -40, -1),
    ] {
        let app = h.app(kind);
        let r = get(
            &h,
            &tok,
            &format!("/v1.0/applications?$filter=appId eq '{}'", app.client_id),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.header("x-ms-resource-unit"), Some("2"));
        let v = r.json();
        let list = v["value"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        let cred = &list[0]["passwordCredentials"][0];
        assert_eq!(cred["hint"], &app.client_secret[..3]);
        assert!(cred["secretText"].is_null());
        let end =
            chrono::DateTime::parse_from_rfc3339(cred["endDateTime"].as_str().unwrap()).unwrap();
        let days = (end.with_timezone(&chrono::Utc) - now).num_days();
        assert!(
            (days_min..=days_max).contains(&days),
            "{kind:?}: {days} days"
        );
    }
    let cert_app = h.app(DemoAppKind::Certificate);
    let v = get(
        &h,
        &tok,
        &format!("/v1.0/applications(appId='{}')", cert_app.client_id),
    )
    .await
    .json();
    assert_eq!(v["keyCredentials"][0]["type"], "AsymmetricX509Cert");
    assert_eq!(v["passwordCredentials"], serde_json::json!([]));

    let graph_sp = get(
        &h,
        &tok,
        "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
    )
    .await
    .json();
    let roles = graph_sp["appRoles"].as_array().unwrap();
    let role_id = |name: &str| {
        roles
            .iter()
            .find(|r| r["value"] == name)
            .map(|r| r["id"].as_str().unwrap().to_string())
    };
    assert_eq!(
        role_id("Directory.Read.All").as_deref(),
        Some("7ab1d382-f21e-4acd-a863-ba3e13f7da61")
    );
    assert_eq!(
        role_id("Member.Read.Hidden").as_deref(),
        Some("658aa5d8-239f-45c4-aa12-864f4fc7e490")
    );
    assert_eq!(
        role_id("Directory.ReadWrite.All").as_deref(),
        Some("19dbc75e-c2e2-444c-a770-ec69d8559fc7")
    );
    assert_eq!(
        role_id("Group.ReadWrite.All").as_deref(),
        Some("62a82d76-70ea-41e2-9197-370581804d09")
    );

    for (kind, want) in [
        (DemoAppKind::Full, 2usize),
        (DemoAppKind::NoHidden, 1),
        (DemoAppKind::NoGrants, 0),
        (DemoAppKind::OverPrivileged, 4),
    ] {
        let app = h.app(kind);
        let sp = get(
            &h,
            &tok,
            &format!(
                "/v1.0/servicePrincipals(appId='{}')?$select=id",
                app.client_id
            ),
        )
        .await
        .json();
        let sp_id = sp["id"].as_str().unwrap();
        assert_eq!(
            sp.as_object().unwrap().len(),
            2,
            "@odata.context + id: {sp}"
        );
        let r = get(
            &h,
            &tok,
            &format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignments"),
        )
        .await;
        assert_eq!(r.header("x-ms-resource-unit"), Some("2"));
        let v = r.json();
        let a = v["value"].as_array().unwrap();
        assert_eq!(a.len(), want, "{kind:?}");
        for x in a {
            assert_eq!(x["resourceId"], graph_sp["id"]);
            assert_eq!(x["principalId"], sp_id);
            let created = x["createdDateTime"].as_str().unwrap();
            assert_eq!(
                created.split('.').nth(1).map(str::len),
                Some(8),
                "7 fractional digits + Z: {created}"
            );
        }
    }
    h.shutdown().await;
}

#[tokio::test]
async fn not_found_bad_ids_unknown_segments_and_me() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let r = get(
        &h,
        &tok,
        "/v1.0/groups/00000000-0000-4000-8000-000000000000/members",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "Request_ResourceNotFound");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Resource '00000000-0000-4000-8000-000000000000' does not exist")
    );
    assert_eq!(
        get(&h, &tok, "/v1.0/groups/not-a-guid").await.status,
        StatusCode::BAD_REQUEST
    );
    let r = get(&h, &tok, "/v1.0/widgets").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["error"]["message"],
        "Resource not found for the segment 'widgets'."
    );
    assert_eq!(
        get(&h, &tok, "/v1.0/me").await.status,
        StatusCode::BAD_REQUEST
    );
    // A user by UPN, a guest's #EXT# UPN included.
    let t = truth(&h).await;
    let guest = t["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userType"] == "Guest")
        .unwrap();
    let upn = guest["userPrincipalName"]
        .as_str()
        .unwrap()
        .replace('#', "%23");
    let v: Value = get(&h, &tok, &format!("/v1.0/users/{upn}?$select=id"))
        .await
        .json();
    assert_eq!(v["id"], guest["id"]);
    h.shutdown().await;
}

#[tokio::test]
async fn narrower_grants_give_limited_information_members() {
    let h = start(SimConfig {
        grants: vec![(
            DemoAppKind::NoGrants,
            vec!["GroupMember.Read.All".into(), "User.Read.All".into()],
        )],
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::NoGrants).await;
    let t = truth(&h).await;
    let mixed = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "Devices & Service Principals")
        .unwrap();
    let gid = mixed["id"].as_str().unwrap();
    let r = get(
        &h,
        &tok,
        &format!("/v1.0/groups/{gid}/members?$select=id,displayName"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    let items = v["value"].as_array().unwrap();
    for m in items {
        let ty = m["@odata.type"].as_str().unwrap();
        assert!(m["id"].is_string());
        if ty == "#microsoft.graph.user" {
            assert!(
                m["displayName"].is_string(),
                "users readable with User.Read.All: {m}"
            );
        } else {
            assert!(
                m.get("displayName").is_some_and(Value::is_null),
                "limited information for {ty}: {m}"
            );
        }
    }
    assert!(
        items
            .iter()
            .any(|m| m["@odata.type"] == "#microsoft.graph.device")
    );
    // The role set is what the token says, and Graph still refuses what it doesn't cover.
    assert_eq!(
        get(&h, &tok, "/v1.0/servicePrincipals").await.status,
        StatusCode::FORBIDDEN
    );
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_role_in_grants_is_a_config_error() {
    let err = entra_sim::start(SimConfig {
        grants: vec![(DemoAppKind::Full, vec!["Everything.All".into()])],
        ..SimConfig::default()
    })
    .await
    .expect_err("unknown role");
    assert!(err.to_string().contains("Everything.All"), "{err}");
}
