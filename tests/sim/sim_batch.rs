//! JSON batching: per-item status/headers/body, limits, dependsOn, inner 429s.

use crate::sim_support;

use std::time::Duration;

use entra_sim::{DemoAppKind, SimConfig, ThrottleConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sim_support::*;

async fn batch(h: &entra_sim::SimHandle, tok: &str, body: Value) -> (StatusCode, Value) {
    let r = client()
        .post(format!("{}/v1.0/$batch", h.base_url()))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap())
}

fn by_id<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {v}"))
}

#[tokio::test]
async fn items_carry_status_headers_and_body() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let gid = t["groups"][0]["id"].as_str().unwrap();
    let (s, v) = batch(&h, &tok, json!({"requests": [
        {"id": "1", "method": "GET", "url": "/users?$top=2&$select=id"},
        {"id": "2", "method": "GET", "url": format!("/groups/{gid}/members?$select=id")},
        {"id": "3", "method": "GET", "url": "/groups/00000000-0000-4000-8000-000000000000/owners"},
        {"id": "4", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}},
    ]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["responses"].as_array().unwrap().len(), 4);
    let one = by_id(&v, "1");
    assert_eq!(one["status"], 200);
    assert_eq!(one["body"]["value"].as_array().unwrap().len(), 2);
    assert!(one["body"]["@odata.nextLink"].is_string());
    assert_eq!(one["headers"]["x-ms-resource-unit"], "1");
    assert_eq!(by_id(&v, "2")["headers"]["x-ms-resource-unit"], "2");
    assert_eq!(
        by_id(&v, "2")["body"]["value"].as_array().unwrap().len(),
        100
    );
    assert_eq!(by_id(&v, "3")["status"], 404);
    assert_eq!(
        by_id(&v, "3")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(by_id(&v, "4")["body"], "150");
    h.shutdown().await;
}

#[tokio::test]
async fn limits_and_malformed_envelopes_are_400() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    let (s, _) = batch(&h, &tok, json!({"requests": many})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let twenty: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"}))
        .collect();
    let (s, _) = batch(&h, &tok, json!({"requests": twenty})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = batch(&h, &tok, json!({"requests": [{"id": "1", "method": "GET", "url": "/organization"}, {"id": "1", "method": "GET", "url": "/organization"}]})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = batch(&h, &tok, json!({"nope": []})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

#[tokio::test]
async fn depends_on_failure_gives_424() {
    let h = start_small().await;
    let tok = token(&h, DemoAppKind::Full).await;
    let (s, v) = batch(
        &h,
        &tok,
        json!({"requests": [
            {"id": "a", "method": "GET", "url": "/groups/00000000-0000-4000-8000-000000000000"},
            {"id": "b", "method": "GET", "url": "/organization", "dependsOn": ["a"]},
            {"id": "c", "method": "GET", "url": "/organization"},
            {"id": "d", "method": "GET", "url": "/organization", "dependsOn": ["c"]},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_id(&v, "a")["status"], 404);
    assert_eq!(by_id(&v, "b")["status"], 424);
    assert_eq!(by_id(&v, "c")["status"], 200);
    assert_eq!(by_id(&v, "d")["status"], 200);
    h.shutdown().await;
}

#[tokio::test]
async fn items_are_throttled_individually_inside_a_200_envelope() {
    let h = start(SimConfig {
        throttle: ThrottleConfig {
            enabled: true,
            budget: Some(10),
            window: Duration::from_secs(60),
        },
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let reqs: Vec<Value> = (0..10)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$top=50"}))
        .collect();
    let (s, v) = batch(&h, &tok, json!({"requests": reqs})).await;
    assert_eq!(s, StatusCode::OK);
    let items = v["responses"].as_array().unwrap();
    let ok = items.iter().filter(|r| r["status"] == 200).count();
    let throttled: Vec<&Value> = items.iter().filter(|r| r["status"] == 429).collect();
    assert_eq!(ok, 5, "budget 10 at 2 RU each");
    assert_eq!(throttled.len(), 5);
    for r in throttled {
        let ra: f64 = r["headers"]["Retry-After"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(ra > 0.0);
        assert_eq!(r["body"]["error"]["code"], "TooManyRequests");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn a_503_fault_can_hit_the_whole_batch() {
    let h = start(SimConfig {
        faults: vec!["503=1@at=1;path=/$batch".parse().unwrap()],
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let body = json!({"requests": [{"id": "1", "method": "GET", "url": "/organization"}]});
    let (s, _) = batch(&h, &tok, body.clone()).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let (s, v) = batch(&h, &tok, body).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(by_id(&v, "1")["status"], 200);
    h.shutdown().await;
}
