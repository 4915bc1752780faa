//! Resource-unit accounting (graph-reference §6) and 429 with Retry-After.

use crate::sim_support;

use std::time::Duration;

use entra_sim::{DemoAppKind, SimConfig, ThrottleConfig};
use reqwest::StatusCode;
use sim_support::*;

#[tokio::test]
async fn resource_unit_costs_follow_the_documented_rules() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let gid = truth(&h).await["groups"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sp = format!(
        "/v1.0/servicePrincipals(appId='{}')/appRoleAssignments",
        h.app(DemoAppKind::Full).client_id
    );
    let cases = [
        ("/v1.0/users".to_string(), "2"),
        ("/v1.0/users?$select=id".to_string(), "1"),
        ("/v1.0/users?$top=5".to_string(), "1"),
        ("/v1.0/users?$top=5&$select=id".to_string(), "1"),
        ("/v1.0/users?$top=20".to_string(), "2"),
        ("/v1.0/groups".to_string(), "1"),
        ("/v1.0/groups?$expand=members".to_string(), "2"),
        (format!("/v1.0/groups/{gid}/members"), "3"),
        (format!("/v1.0/groups/{gid}/members?$select=id"), "2"),
        (format!("/v1.0/groups/{gid}/owners"), "1"),
        (sp, "2"),
    ];
    let mut total = 0u64;
    for (path, want) in &cases {
        let r = get(&h, &tok, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.header("x-ms-resource-unit"), Some(*want), "{path}");
        total += want.parse::<u64>().unwrap();
    }
    let s = stats(&h).await;
    assert_eq!(
        s["apps"],
        h.stats_json()["apps"],
        "in-process stats match /_sim/stats"
    );
    let full = s["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "full")
        .unwrap();
    assert_eq!(full["resourceUnits"], total);
    h.shutdown().await;
}

#[tokio::test]
async fn over_budget_gets_429_with_retry_after_and_scope_headers() {
    let h = start(SimConfig {
        throttle: ThrottleConfig {
            enabled: true,
            budget: Some(20),
            window: Duration::from_secs(10),
        },
        time_scale: 2.0, // the 10 s window lasts 5 s
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let mut saw_percentage = false;
    let mut throttled = None;
    for _ in 0..60 {
        let r = get(&h, &tok, "/v1.0/users").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(r);
            break;
        }
        saw_percentage |= r.header("x-ms-throttle-limit-percentage").is_some();
    }
    let r = throttled.expect("a 429 within the budget");
    assert!(saw_percentage, "x-ms-throttle-limit-percentage above 80 %");
    assert_eq!(r.error_code(), "TooManyRequests");
    let retry: f64 = r
        .header("retry-after")
        .unwrap()
        .parse()
        .expect("fractional seconds");
    assert!(retry > 0.0 && retry <= 5.0, "{retry}");
    let app = h.app(DemoAppKind::Full).client_id.clone();
    assert_eq!(
        r.header("x-ms-throttle-scope"),
        Some(format!("Tenant_Application/ReadWrite/{app}/{}", h.tenant_id()).as_str())
    );
    assert_eq!(
        r.header("x-ms-throttle-information"),
        Some("ResourceUnitLimitExceeded")
    );
    // Other apps have their own budget.
    let other = token(&h, DemoAppKind::OverPrivileged).await;
    assert_eq!(get(&h, &other, "/v1.0/users").await.status, StatusCode::OK);
    // Waiting Retry-After is enough.
    tokio::time::sleep(Duration::from_secs_f64(retry + 0.02)).await;
    assert_eq!(get(&h, &tok, "/v1.0/users").await.status, StatusCode::OK);
    let s = stats(&h).await;
    assert!(s["throttled"].as_u64().unwrap() >= 1);
    h.shutdown().await;
}

#[tokio::test]
async fn default_budget_follows_tenant_size() {
    let h = entra_sim::start(SimConfig::default()).await.unwrap();
    // 150 users: "M" tenant (50–500 users) = 5,000 RU per 10 s.
    assert_eq!(stats(&h).await["resourceUnitBudget"], 5000.0);
    h.shutdown().await;
}

#[tokio::test]
async fn latency_model_is_shrunk_by_time_scale() {
    let h = start(SimConfig {
        latency: entra_sim::LatencyModel {
            base: Duration::from_millis(800),
            per_item: Duration::from_millis(4),
        },
        time_scale: 4.0,
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t0 = std::time::Instant::now();
    let r = get(&h, &tok, "/v1.0/users?$top=50&$select=id").await;
    let elapsed = t0.elapsed();
    assert_eq!(r.status, StatusCode::OK);
    // (2000 ms + 50 × 4 ms) / 10 = 220 ms; unscaled it would be 2.2 s.
    assert!(elapsed >= Duration::from_millis(220), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    h.shutdown().await;
}
