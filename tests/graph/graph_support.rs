//! Shared helpers for the Graph client tests: a wiremock token endpoint and fast policies.
#![allow(
    dead_code,
    reason = "each test binary uses a part of the shared helpers"
)]

#[path = "../common/wine.rs"]
pub mod wine;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_extract::graph::{Cloud, Credential, Endpoints, GraphConfig, RetryPolicy};
use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const TENANT: &str = "contoso.example";
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "very-secret-value~123";
pub const TOKEN_PATH: &str = "/contoso.example/oauth2/v2.0/token";

/// An unsigned JWT carrying `payload`, shaped like an app-only Graph token.
pub fn fake_jwt(payload: serde_json::Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256"}"#);
    let p = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{h}.{p}.c2ln")
}

pub fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    serde_json::json!({
        "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
        "access_token": token
    })
}

/// Mounts a token endpoint that always hands out `token`.
pub async fn mount_token(server: &MockServer, token: &str, expires_in: u64) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(token, expires_in)))
        .mount(server)
        .await;
}

/// Config pointing both roots at `server`, with a secret and a quick retry policy.
pub fn config(server: &MockServer) -> GraphConfig {
    config_for(&server.uri(), &server.uri())
}

pub fn config_for(authority: &str, graph: &str) -> GraphConfig {
    let endpoints = Endpoints::resolve(Cloud::Custom, Some(authority), Some(graph)).unwrap();
    let mut cfg = GraphConfig::new(
        endpoints,
        TENANT.parse().unwrap(),
        CLIENT_ID.parse().unwrap(),
        Credential::Secret(SecretString::from(SECRET)),
    );
    cfg.retry = RetryPolicy {
        max_attempts: 4,
        total_budget: Duration::from_secs(20),
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        malformed_body_retries: 2,
        // Throttled requests wait as long as Graph asks, up to one second into the run.
        throttle_deadline: Duration::from_secs(1),
    };
    cfg.request_timeout = Duration::from_secs(5);
    cfg
}

/// Requests the server received on `path`.
pub async fn hits(server: &MockServer, p: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}
