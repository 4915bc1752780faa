//! Rough throughput probe of the simulator (ignored: performance targets belong to the
//! benchmark harness, not to tests). Run with
//! `cargo test --release --test sim sim_load:: -- --ignored --nocapture`.
//!
//! The server runs on its own runtime whose threads are named `sim-server`, so the probe can
//! read how much CPU the server alone used (from /proc) and report requests per server
//! CPU-second as well as the raw rate (client and server share the machine).
#![allow(
    clippy::disallowed_macros,
    reason = "the test harness captures what tests print"
)]

use crate::sim_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use entra_sim::{DemoAppKind, Preset, SimConfig};
use sim_support::*;

/// CPU seconds used so far by this process's threads named `name` (Linux only).
fn thread_cpu_secs(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // Fields after the ")" of comm: state is field 3; utime and stime are 14 and 15.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            ticks += f.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
            ticks += f.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    ticks as f64 / 100.0 // USER_HZ is 100 on Linux
}

#[test]
#[ignore = "throughput probe, run by hand"]
fn requests_per_second_with_latency_off() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim-server")
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = server_rt.block_on(start(SimConfig {
        preset: Preset::M,
        ..SimConfig::default()
    }));
    let (tok, groups) = client_rt.block_on(async {
        let tok = token(&h, DemoAppKind::Full).await;
        let t = truth(&h).await;
        let groups: Vec<String> = t["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_string())
            .collect();
        (tok, groups)
    });
    let base = h.base_url().to_string();
    let done = Arc::new(AtomicU64::new(0));
    let cpu0 = thread_cpu_secs("sim-server");
    let secs = 5.0;
    client_rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
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
                        format!(
                            "{base}/v1.0/users?$top=100&$select=id,displayName,userPrincipalName"
                        )
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
    });
    let server_cpu = thread_cpu_secs("sim-server") - cpu0;
    let n = done.load(Ordering::Relaxed);
    println!(
        "{n} requests in {secs} s = {:.0} req/s with client and server sharing the CPU",
        n as f64 / secs
    );
    if server_cpu > 0.0 {
        println!(
            "server used {server_cpu:.2} CPU-s = {:.0} requests per server CPU-second (≈ {:.0} req/s on 2 dedicated cores)",
            n as f64 / server_cpu,
            2.0 * n as f64 / server_cpu
        );
    }
    assert!(n > 0);
    server_rt.block_on(h.shutdown());
}
