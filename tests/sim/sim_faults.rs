//! Every injectable fault, and that faults are deterministic.

use crate::sim_support;

use std::time::{Duration, Instant};

use entra_sim::{DemoAppKind, FaultSpec, SimConfig};
use reqwest::StatusCode;
use sim_support::*;

async fn with_faults(specs: &[&str]) -> entra_sim::SimHandle {
    start(SimConfig {
        faults: specs
            .iter()
            .map(|s| s.parse::<FaultSpec>().expect("fault spec"))
            .collect(),
        ..SimConfig::default()
    })
    .await
}

#[tokio::test]
async fn service_unavailable_gateway_timeout_and_forced_429() {
    let h = with_faults(&["503=2.5@at=2", "504@at=4", "429=0.75@at=5"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let mut statuses = Vec::new();
    let mut retry = Vec::new();
    for _ in 0..6 {
        let r = get(&h, &tok, "/v1.0/organization").await;
        statuses.push(r.status.as_u16());
        retry.push(r.header("retry-after").map(str::to_string));
    }
    assert_eq!(statuses, [200, 503, 200, 504, 429, 200]);
    assert_eq!(retry[1].as_deref(), Some("2.5"));
    assert_eq!(retry[3], None, "504 without Retry-After");
    assert_eq!(retry[4].as_deref(), Some("0.75"));
    assert!(stats(&h).await["faultsInjected"].as_u64().unwrap() >= 3);
    h.shutdown().await;
}

#[tokio::test]
async fn connection_reset_mid_body_and_malformed_json() {
    let h = with_faults(&["reset@at=1", "malformed@at=2"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let r = client()
        .get(format!("{}/v1.0/users", h.base_url()))
        .bearer_auth(&tok)
        .send()
        .await;
    let body = match r {
        Ok(resp) => resp.text().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(body.is_err(), "the body must fail mid-way");
    let r = get(&h, &tok, "/v1.0/users").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.text).is_err(),
        "truncated JSON"
    );
    assert!(r.text.starts_with("{\"@odata.context\""));
    let r = get(&h, &tok, "/v1.0/users").await;
    assert!(serde_json::from_str::<serde_json::Value>(&r.text).is_ok());
    h.shutdown().await;
}

#[tokio::test]
async fn slow_responses_are_delayed() {
    let h = with_faults(&["slow=400@at=1"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t0 = Instant::now();
    assert_eq!(
        get(&h, &tok, "/v1.0/organization").await.status,
        StatusCode::OK
    );
    assert!(t0.elapsed() >= Duration::from_millis(400));
    h.shutdown().await;
}

#[tokio::test]
async fn group_deleted_between_listing_and_member_fetch() {
    let h = with_faults(&["deleted-group@at=2"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let groups = truth(&h).await["groups"].as_array().unwrap().clone();
    // Listing and other requests don't count towards the trigger.
    assert_eq!(get(&h, &tok, "/v1.0/groups").await.status, StatusCode::OK);
    let g = |i: usize| groups[i]["id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&h, &tok, &format!("/v1.0/groups/{}/members", g(0)))
            .await
            .status,
        StatusCode::OK
    );
    let r = get(&h, &tok, &format!("/v1.0/groups/{}/owners", g(1))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "Request_ResourceNotFound");
    assert_eq!(
        get(&h, &tok, &format!("/v1.0/groups/{}/members", g(2)))
            .await
            .status,
        StatusCode::OK
    );
    h.shutdown().await;
}

#[tokio::test]
async fn token_expiry_mid_run_invalidates_issued_tokens() {
    let h = with_faults(&["token-expiry@at=2"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    assert_eq!(
        get(&h, &tok, "/v1.0/organization").await.status,
        StatusCode::OK
    );
    let r = get(&h, &tok, "/v1.0/organization").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "InvalidAuthenticationToken");
    assert_eq!(
        get(&h, &tok, "/v1.0/organization").await.status,
        StatusCode::UNAUTHORIZED
    );
    // At once, with no pause: the fault revokes what was issued, not what is issued
    // within the next millisecond (a clock-based cut-off refused this token about half
    // the time on loopback).
    for _ in 0..20 {
        let fresh = token(&h, DemoAppKind::Full).await;
        assert_eq!(
            get(&h, &fresh, "/v1.0/organization").await.status,
            StatusCode::OK
        );
    }
    let fresh = token(&h, DemoAppKind::Full).await;
    assert_eq!(
        get(&h, &fresh, "/v1.0/organization").await.status,
        StatusCode::OK
    );
    h.shutdown().await;
}

#[tokio::test]
async fn expired_skiptoken() {
    let h = with_faults(&["expired-skiptoken@at=1"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let first = get(&h, &tok, "/v1.0/users?$top=10").await.json();
    let next = first["@odata.nextLink"].as_str().unwrap().to_string();
    let r = get(&h, &tok, &next).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "Directory_ExpiredPageToken");
    // Restarting from the first page works.
    let again = get(&h, &tok, "/v1.0/users?$top=10").await.json();
    let r = get(&h, &tok, again["@odata.nextLink"].as_str().unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn rate_faults_are_deterministic_for_a_seed() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let h = start(SimConfig {
            seed,
            faults: vec!["503@rate=0.3".parse().unwrap()],
            ..SimConfig::default()
        })
        .await;
        let tok = token(&h, DemoAppKind::Full).await;
        let mut out = Vec::new();
        for _ in 0..30 {
            out.push(get(&h, &tok, "/v1.0/organization").await.status.as_u16());
        }
        h.shutdown().await;
        out
    }
    let a = pattern(11).await;
    assert_eq!(a, pattern(11).await);
    assert!(a.contains(&503) && a.contains(&200), "{a:?}");
}

#[tokio::test]
async fn path_prefix_limits_a_fault() {
    let h = with_faults(&["503@always;path=/groups"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    assert_eq!(get(&h, &tok, "/v1.0/users").await.status, StatusCode::OK);
    assert_eq!(
        get(&h, &tok, "/v1.0/groups").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    h.shutdown().await;
}

#[tokio::test]
async fn retry_after_can_be_an_http_date() {
    let h = with_faults(&["503=date:3@at=1"]).await;
    let tok = token(&h, DemoAppKind::Full).await;
    let r = get(&h, &tok, "/v1.0/organization").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let when =
        chrono::DateTime::parse_from_rfc2822(r.header("retry-after").unwrap()).expect("HTTP-date");
    let ahead = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((1..=3).contains(&ahead), "{ahead}");
    h.shutdown().await;
}
