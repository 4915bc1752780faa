//! Rough throughput probe of the simulator (ignored: performance targets belong to the
//! benchmark harness, not to tests). Run with
//! `cargo test --release --test sim_load -- --ignored --nocapture`.

mod sim_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use entra_extract::sim::{DemoAppKind, Preset, SimConfig};
use sim_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput probe, run by hand"]
async fn requests_per_second_with_latency_off() {
    let h = start(SimConfig {
        preset: Preset::M,
        ..SimConfig::default()
    })
    .await;
    let tok = token(&h, DemoAppKind::Full).await;
    let t = truth(&h).await;
    let groups: Vec<String> = t["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    let base = h.base_url().to_string();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    let c = client();
    let mut tasks = Vec::new();
    for w in 0..32 {
        let (c, tok, base, groups, done) = (
            c.clone(),
            tok.clone(),
            base.clone(),
            groups.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while Instant::now() < deadline {
                let url = if i % 4 == 0 {
                    format!("{base}/v1.0/users?$top=100&$select=id,displayName,userPrincipalName")
                } else {
                    format!(
                        "{base}/v1.0/groups/{}/members?$select=id,displayName",
                        groups[i % groups.len()]
                    )
                };
                let r = c.get(url).bearer_auth(&tok).send().await.unwrap();
                assert!(r.status().is_success());
                let _ = r.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                i += 7;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = done.load(Ordering::Relaxed);
    println!(
        "{n} requests in 5 s = {:.0} req/s (client and server share the CPU)",
        n as f64 / 5.0
    );
    assert!(n > 0);
    h.shutdown().await;
}
