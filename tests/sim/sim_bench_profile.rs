//! The benchmark profile's parts: the per-app limit of requests in flight (FIFO queue, token
//! requests exempt) and the counters `/_sim/stats` gives the harness.

use crate::sim_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use entra_sim::{DemoAppKind, FaultSpec, LatencyModel, SimConfig, SimHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sim_support::*;

fn slow(base_ms: u64, max_in_flight: Option<usize>) -> SimConfig {
    SimConfig {
        latency: LatencyModel {
            base: Duration::from_millis(base_ms),
            per_item: Duration::ZERO,
        },
        max_in_flight,
        ..SimConfig::default()
    }
}

/// Sends `n` GETs of `/v1.0/organization`, the i-th `stagger × i` after the first; returns
/// the order they completed in (request indices) and the time the last one took.
async fn concurrent_gets(
    h: &Arc<SimHandle>,
    n: usize,
    stagger: Duration,
) -> (Vec<usize>, Duration) {
    let tok = token(h, DemoAppKind::Full).await;
    let done = Arc::new(std::sync::Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..n {
        let (h, tok, done) = (h.clone(), tok.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(stagger * i as u32).await;
            let r = get(&h, &tok, "/v1.0/organization").await;
            assert_eq!(r.status, StatusCode::OK);
            done.lock().unwrap().push(i);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let order = done.lock().unwrap().clone();
    (order, started.elapsed())
}

#[tokio::test]
async fn requests_beyond_the_in_flight_limit_wait_for_a_slot() {
    let h = Arc::new(start(slow(300, Some(2))).await);
    let (order, elapsed) = concurrent_gets(&h, 6, Duration::ZERO).await;
    assert_eq!(order.len(), 6);
    // Six requests through two slots are three waves of at least 300 ms each.
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    let s = stats(&h).await;
    assert_eq!(s["peakInFlight"], 2, "{s}");
    assert!(s["peakQueued"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["maxInFlight"], 2);
}

#[tokio::test]
async fn without_a_limit_the_same_requests_overlap() {
    let h = Arc::new(start(slow(500, None)).await);
    concurrent_gets(&h, 6, Duration::ZERO).await;
    let s = stats(&h).await;
    assert!(s["peakInFlight"].as_u64().unwrap() > 2, "{s}");
    assert_eq!(s["peakQueued"], 0, "{s}");
    assert_eq!(s["maxInFlight"], Value::Null);
}

#[tokio::test]
async fn queued_requests_are_served_in_arrival_order() {
    let h = Arc::new(start(slow(150, Some(1))).await);
    // Arrivals 40 ms apart, each served for 150 ms: all but the first queue.
    let (order, _) = concurrent_gets(&h, 5, Duration::from_millis(40)).await;
    assert_eq!(order, vec![0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn token_requests_take_no_slot() {
    let h = Arc::new(start(slow(800, Some(1))).await);
    let tok = token(&h, DemoAppKind::Full).await;
    let finished = Arc::new(AtomicUsize::new(0));
    let graph = {
        let (h, finished) = (h.clone(), finished.clone());
        tokio::spawn(async move {
            get(&h, &tok, "/v1.0/organization").await;
            finished.fetch_add(1, Ordering::SeqCst);
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The only slot is taken; a token still comes at once.
    token(&h, DemoAppKind::Full).await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the token had to wait for the Graph request"
    );
    graph.await.unwrap();
}

#[tokio::test]
async fn stats_count_requests_by_kind_items_units_and_429s() {
    let h = start(SimConfig {
        faults: vec![
            "429=0.1@at=1;path=/organization"
                .parse::<FaultSpec>()
                .unwrap(),
        ],
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let gid = t["groups"][0]["id"].as_str().unwrap().to_string();
    let mut items = 0;
    let mut units = 0;
    let paths = [
        "/v1.0/users?$top=999&$select=id".to_string(),
        "/v1.0/groups?$top=999".to_string(),
        format!("/v1.0/groups/{gid}/members?$top=999"),
        format!("/v1.0/groups/{gid}/owners"),
    ];
    for p in &paths {
        let r = get(&h, &tok, p).await;
        assert_eq!(r.status, StatusCode::OK, "{p}");
        items += r.json()["value"].as_array().unwrap().len();
        units += r
            .header("x-ms-resource-unit")
            .unwrap()
            .parse::<u64>()
            .unwrap();
    }
    let r = get_with(
        &h,
        Some(&tok),
        "/v1.0/users/$count",
        &[("ConsistencyLevel", "eventual")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    units += 1;
    let r = get(&h, &tok, "/v1.0/organization").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let batch = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/groups/{gid}/members?$select=id")},
        {"id": "2", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": "eventual"}},
    ]});
    let r = client()
        .post(format!("{}/v1.0/$batch", h.base_url()))
        .bearer_auth(&tok)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    for item in body["responses"].as_array().unwrap() {
        assert_eq!(item["status"], 200, "{item}");
        units += item["headers"]["x-ms-resource-unit"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap();
        items += item["body"]["value"].as_array().map_or(0, Vec::len);
    }

    let s = stats(&h).await;
    let k = &s["requestsByKind"];
    assert_eq!(k["usersList"], 1, "{k}");
    assert_eq!(k["groupsList"], 1, "{k}");
    assert_eq!(k["members"], 2, "{k}");
    assert_eq!(k["owners"], 1, "{k}");
    assert_eq!(k["count"], 2, "{k}");
    assert_eq!(k["batch"], 1, "{k}");
    assert_eq!(k["batchItems"], 2, "{k}");
    assert_eq!(k["other"], 1, "{k}");
    assert_eq!(k["token"], 1, "{k}");
    // `/$count` answers a number, not objects.
    assert_eq!(s["itemsReturned"], items as u64, "{s}");
    assert_eq!(s["resourceUnits"], units, "{s}");
    assert_eq!(s["responses429"], 1, "{s}");
    assert_eq!(s["peakInFlight"], 1, "{s}");
}
