//! `entra-extract sim` through the binary: banner, truth file, fault specs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn sim_command_prints_urls_and_apps_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-extract"))
        .args([
            "sim",
            "--port",
            "0",
            "--seed",
            "7",
            "--fault",
            "503=1@every=1000",
            "--truth-out",
        ])
        .arg(&truth)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn entra-extract sim");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        let done = line.starts_with("Serving until Ctrl-C");
        lines.push(line);
        if done {
            break;
        }
    }
    let text = lines.join("\n");
    let base = lines
        .iter()
        .find_map(|l| l.split("base URL (authority and Graph root): ").nth(1))
        .unwrap_or_else(|| panic!("no base URL in:\n{text}"))
        .trim()
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"));
    for slug in [
        "full",
        "no-hidden",
        "no-grants",
        "over-privileged",
        "expired-secret",
        "cert",
    ] {
        assert!(
            lines.iter().any(|l| l.trim_start().starts_with(slug)),
            "{slug} missing:\n{text}"
        );
    }
    assert!(text.contains("default domain:  contoso.example"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stats: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{base}/_sim/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(stats["apps"].as_array().map(Vec::len), Some(6));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&truth).unwrap()).unwrap();
    assert!(text.contains(t["tenantId"].as_str().unwrap()));
    stops_on_sigterm(child);
}

/// SIGTERM (`kill`, systemd stopping a service) shuts the simulated tenant down cleanly, as
/// Ctrl-C does: exit 0, not death by the signal.
#[cfg(unix)]
fn stops_on_sigterm(mut child: std::process::Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the simulated tenant did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// Windows has no SIGTERM (its console events reach the same `Signals` stream; a test
/// process cannot send them to a child without a console of its own).
#[cfg(not(unix))]
fn stops_on_sigterm(mut child: std::process::Child) {
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn bad_fault_spec_is_rejected_with_a_hint() {
    let out = Command::new(env!("CARGO_BIN_EXE_entra-extract"))
        .args(["sim", "--fault", "explode@every=2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown kind 'explode'"), "{err}");
}

#[test]
fn help_documents_the_fault_syntax() {
    let out = Command::new(env!("CARGO_BIN_EXE_entra-extract"))
        .args(["sim", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("KIND[=ARG]@TRIGGER"), "{help}");
    assert!(help.contains("deleted-group"));
    assert!(help.contains("query=TEXT"), "{help}");
}

#[test]
fn grant_option_is_validated() {
    let out = Command::new(env!("CARGO_BIN_EXE_entra-extract"))
        .args(["sim", "--grant", "nobody=User.Read.All"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown demo app 'nobody'"));
}
