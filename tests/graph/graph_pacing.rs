//! Pacing holds requests back to the resource-unit budget and the in-flight cap.
//! Only lower bounds on elapsed time are asserted, so a slow machine cannot fail them.

use crate::graph_support;

use std::time::{Duration, Instant};

use entra_extract::graph::{GraphClient, PacingPolicy};
use graph_support::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn users_server(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 3599).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ms-resource-unit", "2")
                .set_body_json(json!({"value": []}))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn resource_unit_budget_spreads_requests_over_time() {
    let server = users_server(Duration::ZERO).await;
    let mut cfg = config(&server);
    // 100 RU per second: a burst of 10 RU, then 90 RU/s.
    cfg.pacing = PacingPolicy {
        ru_budget: 100,
        window: Duration::from_secs(1),
    };
    let client = GraphClient::new(cfg).unwrap();
    let started = Instant::now();
    // 30 × 2 RU = 60 RU: 10 from the burst, 50 more at 90 RU/s ≈ 0.55 s.
    let calls = (0..30).map(|_| client.get_json("/users"));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    let s = client.stats();
    assert_eq!(s.requests, 30);
    assert_eq!(s.resource_units, 60);
}

#[tokio::test]
async fn in_flight_cap_limits_concurrency() {
    let server = users_server(Duration::from_millis(100)).await;
    let mut cfg = config(&server);
    cfg.max_in_flight = 2;
    let client = GraphClient::new(cfg).unwrap();
    client.token().await.unwrap();
    let started = Instant::now();
    let calls = (0..6).map(|_| client.get_json("/users"));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    // Six 100 ms requests, two at a time: at least three rounds.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}
