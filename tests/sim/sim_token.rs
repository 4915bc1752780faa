//! The token endpoint: success and every documented error body/code, claims, discovery.

use crate::sim_support;

use std::time::Duration;

use entra_sim::{DemoAppKind, SimConfig};
use reqwest::StatusCode;
use serde_json::Value;
use sim_support::*;

/// Checks the documented AADSTS error shape and returns the body.
fn assert_aad_error(status: StatusCode, v: &Value, want_status: u16, error: &str, code: u64) {
    assert_eq!(status.as_u16(), want_status, "{v}");
    assert_eq!(v["error"], error, "{v}");
    assert_eq!(v["error_codes"], serde_json::json!([code]));
    let desc = v["error_description"].as_str().unwrap();
    assert!(desc.starts_with(&format!("AADSTS{code}: ")), "{desc}");
    let ts = v["timestamp"].as_str().unwrap();
    // "2016-01-09 02:02:12Z": a space, not 'T'.
    assert_eq!(ts.len(), 20, "{ts}");
    assert_eq!(&ts[10..11], " ");
    assert!(ts.ends_with('Z'));
    let trace = v["trace_id"].as_str().unwrap();
    let corr = v["correlation_id"].as_str().unwrap();
    assert!(
        desc.ends_with(&format!(
            "\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"
        )),
        "{desc:?}"
    );
    assert!(
        v["error_uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("code={code}"))
    );
}

#[tokio::test]
async fn success_body_and_claims_with_roles_exactly_as_granted() {
    let h = start(SimConfig {
        token_lifetime: Duration::from_secs(600),
        ..SimConfig::default()
    })
    .await;
    let app = h.app(DemoAppKind::Full);
    let (s, v) = token_response(
        &h,
        h.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 600);
    assert_eq!(v["ext_expires_in"], 600);
    let c = claims(v["access_token"].as_str().unwrap());
    assert_eq!(c["tid"], h.tenant_id());
    assert_eq!(c["appid"], app.client_id);
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(
        c["iss"],
        format!("https://sts.windows.net/{}/", h.tenant_id())
    );
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["ver"], "1.0");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);
    assert_eq!(
        c["roles"],
        serde_json::json!(["Directory.Read.All", "Member.Read.Hidden"])
    );

    let roles = |kind| {
        let h = &h;
        async move { claims(&token(h, kind).await).get("roles").cloned() }
    };
    assert_eq!(
        roles(DemoAppKind::NoHidden).await,
        Some(serde_json::json!(["Directory.Read.All"]))
    );
    assert_eq!(
        roles(DemoAppKind::NoGrants).await,
        None,
        "claim absent when nothing is granted"
    );
    let over = roles(DemoAppKind::OverPrivileged).await.unwrap();
    for r in [
        "Directory.Read.All",
        "Member.Read.Hidden",
        "Directory.ReadWrite.All",
        "Group.ReadWrite.All",
    ] {
        assert!(
            over.as_array().unwrap().iter().any(|x| x == r),
            "{r} in {over}"
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn tenant_by_domain_basic_auth_and_own_scope_work() {
    let h = start_small().await;
    let app = h.app(DemoAppKind::Full);
    let domain = h.default_domain().to_string();
    let (s, _) = token_response(
        &h,
        &domain,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let own_scope = format!("{}/.default", h.base_url());
    let (s, v) = token_response(
        &h,
        h.tenant_id(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("scope", &own_scope),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        claims(v["access_token"].as_str().unwrap())["aud"],
        h.base_url()
    );
    // HTTP Basic client authentication (RFC 6749 §2.3.1).
    let r = client()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            h.base_url(),
            h.tenant_id()
        ))
        .basic_auth(&app.client_id, Some(&app.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", GRAPH_SCOPE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn every_documented_error_code() {
    let h = start_small().await;
    let full = h.app(DemoAppKind::Full).clone();
    let expired = h.app(DemoAppKind::ExpiredSecret).clone();
    let form = |id: &str, secret: &str, scope: &str| -> Vec<(String, String)> {
        let mut f = vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("client_id".into(), id.into()),
            ("scope".into(), scope.into()),
        ];
        if !secret.is_empty() {
            f.push(("client_secret".into(), secret.into()));
        }
        f
    };
    let call = |tenant: String, f: Vec<(String, String)>| {
        let h = &h;
        async move {
            let pairs: Vec<(&str, &str)> =
                f.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            token_response(h, &tenant, &pairs).await
        }
    };
    let tid = h.tenant_id().to_string();
    let (s, v) = call(
        "11111111-2222-3333-4444-555555555555".into(),
        form(&full.client_id, &full.client_secret, GRAPH_SCOPE),
    )
    .await;
    assert_aad_error(s, &v, 400, "invalid_tenant", 90002);
    let (s, v) = call(
        "unknown.example".into(),
        form(&full.client_id, &full.client_secret, GRAPH_SCOPE),
    )
    .await;
    assert_aad_error(s, &v, 400, "invalid_tenant", 90002);
    let (s, v) = call(
        "not_a_tenant".into(),
        form(&full.client_id, &full.client_secret, GRAPH_SCOPE),
    )
    .await;
    assert_aad_error(s, &v, 400, "invalid_request", 900023);
    let (s, v) = call(
        tid.clone(),
        form("99999999-8888-7777-6666-555555555555", "x", GRAPH_SCOPE),
    )
    .await;
    assert_aad_error(s, &v, 400, "unauthorized_client", 700016);
    let (s, v) = call(
        tid.clone(),
        form(&full.client_id, "wrong-secret", GRAPH_SCOPE),
    )
    .await;
    assert_aad_error(s, &v, 401, "invalid_client", 7000215);
    let (s, v) = call(
        tid.clone(),
        form(&expired.client_id, &expired.client_secret, GRAPH_SCOPE),
    )
    .await;
    assert_aad_error(s, &v, 401, "invalid_client", 7000222);
    let (s, v) = call(tid.clone(), form(&full.client_id, "", GRAPH_SCOPE)).await;
    assert_aad_error(s, &v, 401, "invalid_client", 7000218);
    let (s, v) = call(
        tid.clone(),
        form(
            &full.client_id,
            &full.client_secret,
            "https://graph.microsoft.com/User.Read",
        ),
    )
    .await;
    assert_aad_error(s, &v, 400, "invalid_scope", 70011);
    let (s, v) = call(
        tid.clone(),
        form(
            &full.client_id,
            &full.client_secret,
            "https://management.azure.com/.default",
        ),
    )
    .await;
    assert_aad_error(s, &v, 400, "invalid_scope", 70011);

    // The correlation id echoes client-request-id.
    let r = client()
        .post(format!("{}/{tid}/oauth2/v2.0/token", h.base_url()))
        .header("client-request-id", "6a3c2f50-0000-4000-8000-000000000001")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", full.client_id.as_str()),
            ("client_secret", "bad"),
            ("scope", GRAPH_SCOPE),
        ])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["correlation_id"], "6a3c2f50-0000-4000-8000-000000000001");
    // The secret never shows up in an error body.
    assert!(!v.to_string().contains(&full.client_secret));
    h.shutdown().await;
}

#[tokio::test]
async fn discovery_and_jwks_validate_issued_tokens() {
    let h = start_small().await;
    let c = client();
    let cfg: Value = c
        .get(format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            h.base_url(),
            h.default_domain()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        cfg["token_endpoint"],
        format!("{}/{}/oauth2/v2.0/token", h.base_url(), h.tenant_id())
    );
    let jwks: Value = c
        .get(cfg["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    let tok = token(&h, DemoAppKind::Full).await;
    let header = jsonwebtoken::decode_header(&tok).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let dk = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut val = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    val.set_audience(&["https://graph.microsoft.com"]);
    val.set_issuer(&[format!("https://sts.windows.net/{}/", h.tenant_id())]);
    let data = jsonwebtoken::decode::<Value>(&tok, &dk, &val)
        .expect("token verifies against the published key");
    assert_eq!(data.claims["tid"], h.tenant_id());
    let r = c
        .get(format!(
            "{}/nope.example/v2.0/.well-known/openid-configuration",
            h.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

#[tokio::test]
async fn short_lived_tokens_expire_at_graph() {
    let h = start(SimConfig {
        token_lifetime: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    assert_eq!(
        get(&h, &tok, "/v1.0/organization").await.status,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = get(&h, &tok, "/v1.0/organization").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "InvalidAuthenticationToken");
    assert_eq!(
        r.json()["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
    h.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_only_accepts_post() {
    let h = start_small().await;
    let r = client()
        .get(format!(
            "{}/{}/oauth2/v2.0/token",
            h.base_url(),
            h.tenant_id()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_codes"], serde_json::json!([900561]));
    h.shutdown().await;
}
