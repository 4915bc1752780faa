//! Corporate networks reach Microsoft through a proxy: `run` honours `HTTPS_PROXY`, tunnelling
//! every request (token endpoint and Graph) through HTTP CONNECT, and the output still equals
//! the simulator's ground truth.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::{Extraction, Sim, TestEnv, check_manifest};
use entra_sim::{DemoAppKind, SimConfig, TlsOptions};

/// A minimal HTTP CONNECT proxy on loopback that records each tunnel's target.
struct ConnectProxy {
    url: String,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || tunnel(client, &seen));
            }
        });
        ConnectProxy { url, targets }
    }
}

fn tunnel(client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the rest of the request head.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        let _ = (&client).write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n");
        return;
    };
    seen.lock().unwrap().push(target.to_string());
    let Ok(upstream) = TcpStream::connect(target) else {
        let _ = (&client).write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    (&client)
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .unwrap();
    let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
    let mut client_write = client;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Write);
}

#[test]
fn https_proxy_carries_every_request_and_the_output_equals_truth() {
    let sim = Sim::start(common::no_throttle(SimConfig {
        tls: Some(TlsOptions::default()),
        ..SimConfig::default()
    }));
    let proxy = ConnectProxy::start();
    let env = TestEnv::new();
    let ca = env.root.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    let out = env.out("out");

    let o = sim
        .run(&env, DemoAppKind::Full, &out)
        .arg("--extra-ca")
        .arg(&ca)
        .env("HTTPS_PROXY", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("https_proxy")
        .output()
        .unwrap();
    if common::extra_ca_refused_by_wine(&o) {
        return;
    }
    common::assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    check_manifest(&out, &sim.domain());

    let sim_authority = sim.base().trim_start_matches("https://").to_string();
    let targets = proxy.targets.lock().unwrap().clone();
    assert!(!targets.is_empty(), "no request went through the proxy");
    assert!(
        targets.iter().all(|t| *t == sim_authority),
        "{targets:?} vs {sim_authority}"
    );
}
