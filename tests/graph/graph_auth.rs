//! Token requests, caching, single-flight refresh, 401 handling and sign-in errors.

use crate::graph_support;

use std::collections::HashMap;
use std::time::Duration;

use entra_extract::graph::{Credential, CredentialField, GraphClient, GraphError, TokenClaims};
use graph_support::*;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn form(req: &wiremock::Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

async fn mount_users(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn token_request_has_the_client_credentials_form() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    mount_users(&server).await;
    let client = GraphClient::new(config(&server)).unwrap();
    client.get_json("/users").await.unwrap();

    let reqs = hits(&server, TOKEN_PATH).await;
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method.as_str(), "POST");
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert!(r.headers.get("authorization").is_none(), "no Basic auth");
    let f = form(r);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], CLIENT_ID);
    assert_eq!(f["client_secret"], SECRET);
    assert_eq!(f["scope"], format!("{}/.default", server.uri()));
    let users = hits(&server, "/v1.0/users").await;
    assert_eq!(users[0].headers.get("authorization").unwrap(), "Bearer tok");
}

#[tokio::test]
async fn token_is_cached_while_valid() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    mount_users(&server).await;
    let client = GraphClient::new(config(&server)).unwrap();
    for _ in 0..3 {
        client.get_json("/users").await.unwrap();
    }
    assert_eq!(hits(&server, TOKEN_PATH).await.len(), 1);
    assert_eq!(client.stats().token_requests, 1);
    assert!(client.token().await.unwrap().expires_in() > Duration::from_secs(3500));
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    let server = MockServer::start().await;
    // 4 s lifetime: refreshed once less than a quarter (1 s) remains, i.e. after 3 s.
    mount_token(&server, "tok", 4).await;
    let client = GraphClient::new(config(&server)).unwrap();
    client.token().await.unwrap();
    client.token().await.unwrap();
    assert_eq!(hits(&server, TOKEN_PATH).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    client.token().await.unwrap();
    assert_eq!(hits(&server, TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("tok", 3599))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    mount_users(&server).await;
    let client = GraphClient::new(config(&server)).unwrap();
    let calls = (0..10).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.get_json("/users").await })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(hits(&server, TOKEN_PATH).await.len(), 1);
    assert_eq!(hits(&server, "/v1.0/users").await.len(), 10);
}

fn invalid_token_body() -> serde_json::Value {
    json!({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid.",
        "innerError": {"date": "2026-11-27T02:02:12", "request-id": "r1", "client-request-id": "c1"}}})
}

#[tokio::test]
async fn graph_401_refreshes_the_token_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("old", 3599)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_token(&server, "new", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(header("authorization", "Bearer old"))
        .respond_with(ResponseTemplate::new(401).set_body_json(invalid_token_body()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(header("authorization", "Bearer new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "u1"}]})))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let v = client.get_json("/users").await.unwrap();
    assert_eq!(v["value"][0]["id"], "u1");
    assert_eq!(hits(&server, TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_token_refused_every_time_is_reported_after_three_refreshes_not_retried_forever() {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(401).set_body_json(invalid_token_body()))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let err = client.get_json("/users").await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("InvalidAuthenticationToken"));
    // The first try and three refreshes in a row (a burst of revocations can refuse the
    // token another request just fetched), then the error.
    assert_eq!(hits(&server, "/v1.0/users").await.len(), 4);
    assert_eq!(hits(&server, TOKEN_PATH).await.len(), 4);
}

#[tokio::test]
async fn wrong_secret_maps_to_the_secret_field_without_leaking_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-11-27 02:02:12Z",
            "error_codes": [7000215], "timestamp": "2026-11-27 02:02:12Z",
            "trace_id": "t", "correlation_id": "c",
            "error_uri": "https://login.microsoftonline.com/error?code=7000215"
        })))
        .mount(&server)
        .await;
    let client = GraphClient::new(config(&server)).unwrap();
    let err = client.get_json("/users").await.unwrap_err();
    let auth = err.auth().expect("an auth error");
    assert_eq!(auth.field(), Some(CredentialField::Secret));
    assert_eq!(auth.codes, vec![7000215]);
    let text = format!("{err} {err:?} {client:?}");
    assert!(text.contains("Value column"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    // Not retried: a wrong secret stays wrong.
    assert_eq!(hits(&server, TOKEN_PATH).await.len(), 1);
    assert_eq!(hits(&server, "/v1.0/users").await.len(), 0);
}

#[tokio::test]
async fn token_claims_are_readable_from_the_client() {
    let server = MockServer::start().await;
    let jwt = fake_jwt(
        json!({"aud": server.uri(), "tid": "tid-1", "appid": CLIENT_ID,
        "roles": ["Directory.Read.All"], "exp": 4_000_000_000u64}),
    );
    mount_token(&server, &jwt, 3599).await;
    let client = GraphClient::new(config(&server)).unwrap();
    let token = client.token().await.unwrap();
    let claims: &TokenClaims = token.claims().unwrap();
    assert!(claims.has_role("Directory.Read.All"));
    assert!(!claims.has_role("Member.Read.Hidden"));
    assert_eq!(claims.appid.as_deref(), Some(CLIENT_ID));
    assert!(!format!("{token:?}").contains(&jwt));
}

#[tokio::test]
async fn certificate_credential_sends_a_signed_assertion() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["app.test".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();

    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    let mut cfg = config(&server);
    cfg.credential = Credential::Certificate { cert_pem, key_pem };
    let client = GraphClient::new(cfg).unwrap();
    client.token().await.unwrap();

    let f = form(&hits(&server, TOKEN_PATH).await[0]);
    assert!(!f.contains_key("client_secret"));
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let parts: Vec<&str> = f["client_assertion"].split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims = TokenClaims::decode_unverified(&f["client_assertion"]).unwrap();
    assert_eq!(claims.aud, Some(format!("{}{TOKEN_PATH}", server.uri())));
}

#[tokio::test]
async fn unreadable_extra_ca_is_a_config_error() {
    let server = MockServer::start().await;
    let mut cfg = config(&server);
    cfg.extra_ca_pem = Some("/nonexistent/ca.pem".into());
    assert!(matches!(GraphClient::new(cfg), Err(GraphError::Config(m)) if m.contains("ca.pem")));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["ca.test".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(&ca, cert.pem()).unwrap();
    let mut cfg = config(&server);
    cfg.extra_ca_pem = Some(ca);
    let built = GraphClient::new(cfg);
    let failure = built.as_ref().err().map(ToString::to_string);
    if graph_support::wine::refused_extra_roots(&failure.clone().unwrap_or_default()) {
        return;
    }
    assert!(built.is_ok(), "{failure:?}");
}

/// A `MakeWriter` collecting everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_carry_requests_but_never_the_secret_or_token() {
    let server = MockServer::start().await;
    let token = fake_jwt(json!({"roles": ["Directory.Read.All"], "tid": "t"}));
    mount_token(&server, &token, 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_users(&server).await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so a thread-local default sees every event.
    let _guard = tracing::subscriber::set_default(subscriber);
    let client = GraphClient::new(config(&server)).unwrap();
    client.get_json("/users").await.unwrap();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("graph_request"), "{log}");
    assert!(log.contains("retrying"), "{log}");
    assert!(!log.contains(SECRET), "secret in log");
    assert!(!log.contains(&token), "token in log");
    assert!(
        !log.contains(token.split('.').nth(1).unwrap()),
        "token payload in log"
    );
}
