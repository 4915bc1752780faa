//! The simulator's side of creating an app registration: device code sign-in (pending,
//! slow_down, declined, expired, approved, refresh), delegated tokens, Graph's
//! application / servicePrincipal / appRoleAssignment / addPassword / removePassword /
//! delete, who may do which, and the replication delay of a new secret. Raw HTTP only.

use crate::sim_support;

use std::time::Duration;

use entra_sim::{DeviceApproval, SimAdmin, SimConfig, SimHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sim_support::*;

const GRAPH_CLI_TOOLS: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
const DIRECTORY_READ_ALL: &str = "7ab1d382-f21e-4acd-a863-ba3e13f7da61";
const MEMBER_READ_HIDDEN: &str = "658aa5d8-239f-45c4-aa12-864f4fc7e490";
const ADMIN_SCOPE: &str = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All offline_access openid profile";

fn fast(config: SimConfig) -> SimConfig {
    SimConfig {
        device_poll_interval: Duration::from_secs(1),
        ..config
    }
}

async fn post_form(h: &SimHandle, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{}/{}{path}", h.base_url(), h.tenant_id()))
        .form(form)
        .send()
        .await
        .expect("POST");
    let s = r.status();
    (s, r.json().await.expect("JSON"))
}

async fn device_code(h: &SimHandle, client_id: &str, scope: &str) -> (StatusCode, Value) {
    post_form(
        h,
        "/oauth2/v2.0/devicecode",
        &[("client_id", client_id), ("scope", scope)],
    )
    .await
}

async fn poll(h: &SimHandle, device_code: &str) -> (StatusCode, Value) {
    post_form(
        h,
        "/oauth2/v2.0/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", GRAPH_CLI_TOOLS),
            ("device_code", device_code),
        ],
    )
    .await
}

async fn sim_post(h: &SimHandle, path_and_query: &str) -> StatusCode {
    client()
        .post(format!("{}{path_and_query}", h.base_url()))
        .send()
        .await
        .expect("admin POST")
        .status()
}

/// Signs `who` in through the device code flow and answers the token response.
async fn sign_in(h: &SimHandle, who: SimAdmin) -> Value {
    let (s, start) = device_code(h, GRAPH_CLI_TOOLS, ADMIN_SCOPE).await;
    assert_eq!(s, StatusCode::OK, "{start}");
    let code = start["user_code"].as_str().unwrap();
    let approve = format!("/_sim/device/approve?user_code={code}&as={}", who.slug());
    assert_eq!(sim_post(h, &approve).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (s, v) = poll(h, start["device_code"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// A Graph write with a bearer token.
async fn graph(h: &SimHandle, method: &str, token: &str, path: &str, body: Value) -> Reply {
    let url = format!("{}/v1.0{path}", h.base_url());
    let req = match method {
        "DELETE" => client().delete(url),
        _ => client().post(url).json(&body),
    };
    send(req.bearer_auth(token)).await
}

/// Assigns one Graph app role to a service principal (admin consent).
async fn grant(h: &SimHandle, token: &str, sp_id: &str, graph_sp: &str, role: &str) -> Reply {
    let path = format!("/servicePrincipals/{sp_id}/appRoleAssignments");
    let body = json!({"principalId": sp_id, "resourceId": graph_sp, "appRoleId": role});
    graph(h, "POST", token, &path, body).await
}

async fn add_password(h: &SimHandle, token: &str, object_id: &str, body: Value) -> Reply {
    let path = format!("/applications/{object_id}/addPassword");
    graph(h, "POST", token, &path, body).await
}

async fn sim_apps(h: &SimHandle) -> Vec<Value> {
    let v: Value = client()
        .get(format!("{}/_sim/apps", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["apps"].as_array().unwrap().clone()
}

async fn secret_sign_in(h: &SimHandle, app_id: &str, secret: &str) -> (StatusCode, Value) {
    token_response(
        h,
        h.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_secret", secret),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await
}

fn aadsts(v: &Value) -> u64 {
    v["error_codes"][0].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn device_code_sign_in_waits_slows_down_and_issues_delegated_tokens() {
    let h = start(fast(SimConfig::default())).await;
    let (s, start) = device_code(&h, GRAPH_CLI_TOOLS, ADMIN_SCOPE).await;
    assert_eq!(s, StatusCode::OK, "{start}");
    let code = start["user_code"].as_str().unwrap();
    assert_eq!(code.len(), 9);
    assert_eq!(start["interval"], 1);
    assert_eq!(start["expires_in"], 900);
    let uri = start["verification_uri"].as_str().unwrap();
    assert_eq!(uri, format!("{}/devicelogin", h.base_url()));
    assert!(start["message"].as_str().unwrap().contains(code));
    let device = start["device_code"].as_str().unwrap();

    // The first poll may come at once (MSAL's does); the next one before the interval has
    // passed is too fast (on a second sign-in, as slow_down adds 5 s to its interval).
    let (_, other) = device_code(&h, GRAPH_CLI_TOOLS, ADMIN_SCOPE).await;
    let (_, v) = poll(&h, other["device_code"].as_str().unwrap()).await;
    assert_eq!(v["error"], "authorization_pending", "{v}");
    let (s, v) = poll(&h, other["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("slow_down"))
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (_, v) = poll(&h, device).await;
    assert_eq!(v["error"], "authorization_pending", "{v}");
    assert_eq!(aadsts(&v), 70016);

    let pending: Value = client()
        .get(format!("{}/_sim/device/pending", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["pending"][0]["userCode"], code);
    let approve = format!("/_sim/device/approve?user_code={code}&as=global-admin");
    assert_eq!(sim_post(&h, &approve).await, StatusCode::OK);
    assert_eq!(
        sim_post(&h, &approve).await,
        StatusCode::BAD_REQUEST,
        "only once"
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (s, tokens) = poll(&h, device).await;
    assert_eq!(s, StatusCode::OK, "{tokens}");
    let c = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!(c["idtyp"], "user");
    assert_eq!(c["appid"], GRAPH_CLI_TOOLS);
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(
        c["scp"],
        "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All"
    );
    assert!(
        c["wids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "62e90394-69f5-4237-9190-012177145e10")
    );
    assert!(c["upn"].as_str().unwrap().contains('@'));
    assert!(tokens["id_token"].is_string());
    // The response names the scopes as they were asked, resource prefix included.
    let granted: Vec<&str> = tokens["scope"].as_str().unwrap().split(' ').collect();
    assert!(
        granted.contains(&"https://graph.microsoft.com/Application.ReadWrite.All"),
        "{tokens}"
    );
    // The code is spent.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (_, v) = poll(&h, device).await;
    assert_eq!(v["error"], "invalid_grant", "{v}");

    // A refresh hands out a new refresh token; the old one is not revoked (as Entra), but
    // one presented by another client is refused and stays usable.
    let old = tokens["refresh_token"].as_str().unwrap();
    let refresh = |rt: String| {
        let h = &h;
        async move {
            post_form(
                h,
                "/oauth2/v2.0/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", GRAPH_CLI_TOOLS),
                    ("refresh_token", &rt),
                    ("scope", ADMIN_SCOPE),
                ],
            )
            .await
        }
    };
    let (s, renewed) = refresh(old.to_string()).await;
    assert_eq!(s, StatusCode::OK, "{renewed}");
    assert_ne!(renewed["refresh_token"], tokens["refresh_token"]);
    let (s, v) = post_form(
        &h,
        "/oauth2/v2.0/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "04b07795-8ddb-461a-bbee-02f9e1bf7b46"),
            ("refresh_token", old),
        ],
    )
    .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (s, v) = refresh(old.to_string()).await;
    assert_eq!(s, StatusCode::OK, "the old refresh token still works: {v}");
    let (s, v) = refresh("not-a-refresh-token".into()).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Delegated tokens read Graph like any other caller.
    let r = get(
        &h,
        renewed["access_token"].as_str().unwrap(),
        "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,appRoles",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    h.shutdown().await;
}

#[tokio::test]
async fn device_code_sign_in_can_be_declined_expire_or_be_refused() {
    let h = start(SimConfig {
        device_code_lifetime: Duration::from_secs(1),
        ..fast(SimConfig::default())
    })
    .await;
    let (_, a) = device_code(&h, GRAPH_CLI_TOOLS, ADMIN_SCOPE).await;
    let (_, b) = device_code(&h, GRAPH_CLI_TOOLS, ADMIN_SCOPE).await;
    let decline = format!(
        "/_sim/device/decline?user_code={}",
        a["user_code"].as_str().unwrap()
    );
    assert_eq!(sim_post(&h, &decline).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (_, v) = poll(&h, a["device_code"].as_str().unwrap()).await;
    assert_eq!(
        v["error"], "expired_token",
        "a declined code that expired: {v}"
    );
    let (_, v) = poll(&h, b["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (v["error"].as_str(), aadsts(&v)),
        (Some("expired_token"), 70019)
    );
    let (_, v) = poll(&h, "not-a-device-code").await;
    assert_eq!(v["error"], "bad_verification_code");

    let (s, v) = device_code(&h, "11111111-2222-3333-4444-555555555555", ADMIN_SCOPE).await;
    assert_eq!((s, aadsts(&v)), (StatusCode::BAD_REQUEST, 700016));
    let (s, v) = device_code(&h, GRAPH_CLI_TOOLS, "https://graph.microsoft.com/Nope.All").await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    h.shutdown().await;

    let h = start(SimConfig {
        device_approval: Some(DeviceApproval::Decline),
        ..fast(SimConfig::default())
    })
    .await;
    let (_, a) = device_code(&h, GRAPH_CLI_TOOLS, ADMIN_SCOPE).await;
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (_, v) = poll(&h, a["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (v["error"].as_str(), aadsts(&v)),
        (Some("authorization_declined"), 65004)
    );
    h.shutdown().await;
}

/// Creates an application with both permissions and its service principal.
async fn create_app(h: &SimHandle, token: &str) -> (Value, Value) {
    let app = graph(
        h,
        "POST",
        token,
        "/applications",
        json!({
            "displayName": "entra-extract test",
            "signInAudience": "AzureADMyOrg",
            "requiredResourceAccess": [{
                "resourceAppId": "00000003-0000-0000-c000-000000000000",
                "resourceAccess": [
                    {"id": DIRECTORY_READ_ALL, "type": "Role"},
                    {"id": MEMBER_READ_HIDDEN, "type": "Role"},
                ],
            }],
        }),
    )
    .await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.text);
    let app = app.json();
    let sp = graph(
        h,
        "POST",
        token,
        "/servicePrincipals",
        json!({"appId": app["appId"]}),
    )
    .await;
    assert_eq!(sp.status, StatusCode::CREATED, "{}", sp.text);
    (app, sp.json())
}

async fn graph_sp_id(h: &SimHandle, token: &str) -> String {
    let r = get(
        h,
        token,
        "/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id",
    )
    .await;
    r.json()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_global_admin_creates_consents_adds_a_secret_and_deletes() {
    let h = start(fast(SimConfig::default())).await;
    let admin = sign_in(&h, SimAdmin::GlobalAdmin).await;
    let token = admin["access_token"].as_str().unwrap();
    let (app, sp) = create_app(&h, token).await;
    assert_eq!(app["signInAudience"], "AzureADMyOrg");
    assert_eq!(
        app["requiredResourceAccess"][0]["resourceAccess"][1]["id"],
        MEMBER_READ_HIDDEN
    );
    let app_id = app["appId"].as_str().unwrap();
    let object_id = app["id"].as_str().unwrap();
    let again = graph(
        &h,
        "POST",
        token,
        "/servicePrincipals",
        json!({"appId": app_id}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // Signing in before a secret exists, and before consent: no secret matches.
    let graph_sp = graph_sp_id(&h, token).await;
    let sp_id = sp["id"].as_str().unwrap();
    for role in [DIRECTORY_READ_ALL, MEMBER_READ_HIDDEN] {
        let r = grant(&h, token, sp_id, &graph_sp, role).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.json()["resourceDisplayName"], "Microsoft Graph");
    }
    let dup = grant(&h, token, sp_id, &graph_sp, DIRECTORY_READ_ALL).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let added = add_password(
        &h,
        token,
        object_id,
        json!({"passwordCredential": {"displayName": "t", "endDateTime": "2027-06-01T00:00:00Z"}}),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let added = added.json();
    let secret = added["secretText"].as_str().unwrap();
    assert_eq!(added["hint"].as_str().unwrap(), &secret[..3]);
    assert_eq!(added["endDateTime"], "2027-06-01T00:00:00Z");

    let (s, v) = secret_sign_in(&h, app_id, secret).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let roles = claims(v["access_token"].as_str().unwrap())["roles"].clone();
    assert_eq!(roles, json!(["Directory.Read.All", "Member.Read.Hidden"]));
    let users = get(
        &h,
        v["access_token"].as_str().unwrap(),
        "/v1.0/users?$top=1",
    )
    .await;
    assert_eq!(users.status, StatusCode::OK);

    let listed = sim_apps(&h).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["roles"],
        json!(["Directory.Read.All", "Member.Read.Hidden"])
    );
    assert_eq!(listed[0]["keyIds"], json!([added["keyId"]]));

    // removePassword by keyId (also addressed by appId): the secret stops working.
    let gone = graph(
        &h,
        "POST",
        token,
        &format!("/applications(appId='{app_id}')/removePassword"),
        json!({"keyId": added["keyId"]}),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    let (_, v) = secret_sign_in(&h, app_id, secret).await;
    assert_eq!(aadsts(&v), 7000215);

    let deleted = graph(
        &h,
        "DELETE",
        token,
        &format!("/applications/{object_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(sim_apps(&h).await.is_empty());
    let (_, v) = secret_sign_in(&h, app_id, secret).await;
    assert_eq!(aadsts(&v), 700016, "the application is gone: {v}");
    let r = get(&h, token, &format!("/v1.0/servicePrincipals/{sp_id}")).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "its service principal went with it"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn who_may_do_what_and_a_secret_before_replication() {
    let h = start(SimConfig {
        replication_delay: Duration::from_millis(1500),
        ..fast(SimConfig::default())
    })
    .await;
    // A user without a directory role may not create applications.
    let user = sign_in(&h, SimAdmin::User).await;
    let r = graph(
        &h,
        "POST",
        user["access_token"].as_str().unwrap(),
        "/applications",
        json!({"displayName": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "Authorization_RequestDenied");

    // An Application Administrator creates, but cannot consent to application permissions.
    let app_admin = sign_in(&h, SimAdmin::AppAdmin).await;
    let token = app_admin["access_token"].as_str().unwrap();
    let (app, sp) = create_app(&h, token).await;
    let sp_id = sp["id"].as_str().unwrap();
    let graph_sp = graph_sp_id(&h, token).await;
    let r = grant(&h, token, sp_id, &graph_sp, DIRECTORY_READ_ALL).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A new secret is refused as wrong until it has replicated.
    let added = add_password(
        &h,
        token,
        app["id"].as_str().unwrap(),
        json!({"passwordCredential": {"displayName": "t"}}),
    )
    .await
    .json();
    let secret = added["secretText"].as_str().unwrap();
    let app_id = app["appId"].as_str().unwrap();
    let (s, v) = secret_sign_in(&h, app_id, secret).await;
    assert_eq!((s, aadsts(&v)), (StatusCode::UNAUTHORIZED, 7000215));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (s, v) = secret_sign_in(&h, app_id, secret).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        claims(v["access_token"].as_str().unwrap())
            .get("roles")
            .is_none(),
        "no consent"
    );

    // App-only tokens still cannot write.
    let r = graph(
        &h,
        "POST",
        v["access_token"].as_str().unwrap(),
        "/applications",
        json!({"displayName": "y"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The demo apps cannot be deleted.
    let demo = h.apps()[0].client_id.clone();
    let r = graph(
        &h,
        "DELETE",
        token,
        &format!("/applications(appId='{demo}')"),
        Value::Null,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    h.shutdown().await;
}

#[tokio::test]
async fn an_application_without_its_service_principal_cannot_sign_in() {
    let h = start(fast(SimConfig::default())).await;
    let admin = sign_in(&h, SimAdmin::GlobalAdmin).await;
    let token = admin["access_token"].as_str().unwrap();
    let app = graph(
        &h,
        "POST",
        token,
        "/applications",
        json!({"displayName": "half"}),
    )
    .await
    .json();
    assert_eq!(
        app["signInAudience"], "AzureADandPersonalMicrosoftAccount",
        "the default"
    );
    let added = add_password(
        &h,
        token,
        app["id"].as_str().unwrap(),
        json!({"passwordCredential": {}}),
    )
    .await
    .json();
    let (s, v) = secret_sign_in(
        &h,
        app["appId"].as_str().unwrap(),
        added["secretText"].as_str().unwrap(),
    )
    .await;
    assert_eq!((s, aadsts(&v)), (StatusCode::BAD_REQUEST, 7000229), "{v}");
    let bad = graph(
        &h,
        "POST",
        token,
        "/applications",
        json!({"displayName": "x", "requiredResourceAccess": [{"resourceAppId": "00000003-0000-0000-c000-000000000000", "resourceAccess": [{"id": "00000000-0000-0000-0000-000000000001", "type": "Role"}]}]}),
    )
    .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "an app role Graph does not have"
    );
    h.shutdown().await;
}
