//! Simulated tenants of any size (issue 27): `sim --users/--groups/--member-edges` generates
//! exactly those users and groups; the client's full run on a custom size (big enough that
//! it splits listings by prefix, which the simulator answers from its indexes) equals the
//! ground truth; and the benchmark harness's streamed check (scripts/bench `verify_digest`)
//! agrees with the simulator's truth digests and catches a changed cell.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{Sim, TestEnv, no_throttle, run_and_compare};
use entra_sim::{SimConfig, SizeSpec};

/// Starts `entra-extract sim ARGS` and waits for its banner; the child and its banner.
fn spawn_sim(args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-extract"))
        .arg("sim")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn entra-extract sim");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) {
        let done = line.starts_with("Serving until");
        lines.push(line);
        if done {
            break;
        }
    }
    (child, lines.join("\n"))
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("JSON")
}

#[test]
fn size_flags_generate_exactly_those_users_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.json");
    let digest = dir.path().join("digest.json");
    let (mut child, banner) = spawn_sim(&[
        "--users",
        "700",
        "--groups",
        "90",
        "--member-edges",
        "5000",
        "--truth-out",
        truth.to_str().unwrap(),
        "--truth-digest-out",
        digest.to_str().unwrap(),
    ]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(banner.contains("truth digests:"), "{banner}");
    let t = read_json(&truth);
    let len = |k: &str| t[k].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!((len("users"), len("groups")), (700, 90));
    let edges = len("members");
    assert!(
        edges.abs_diff(5_000) * 20 < 5_000,
        "{edges} member edges, asked for ~5,000"
    );
    // The digests count the same rows as the truth.
    let d = read_json(&digest);
    assert_eq!(d["defaultDomain"], t["defaultDomain"]);
    for (file, key) in [
        ("users", "users"),
        ("groups", "groups"),
        ("groups_members", "members"),
        ("groups_owners", "owners"),
    ] {
        assert_eq!(d["files"][file]["rows"], len(key) as u64, "{file}");
    }
    // Only --users: the rest follows l's shape (a group for every four users).
    let (mut child, _) = spawn_sim(&["--users", "400", "--truth-out", truth.to_str().unwrap()]);
    let _ = child.kill();
    let _ = child.wait();
    let t = read_json(&truth);
    assert_eq!(t["users"].as_array().map(Vec::len), Some(400));
    assert_eq!(t["groups"].as_array().map(Vec::len), Some(100));
}

/// 12,000 users: All Staff is over the client's split threshold, so users and All Staff's
/// members are read in prefix slices, each planned by a `$count`: the queries the indexes
/// answer.
fn custom_sim() -> Sim {
    Sim::start(no_throttle(SimConfig {
        size: Some(SizeSpec {
            groups: 1_000,
            member_edges: 60_000,
            ..SizeSpec::shaped_like_l(12_000)
        }),
        seed: 27,
        ..SimConfig::default()
    }))
}

#[test]
fn full_run_on_a_custom_size_equals_the_truth_and_its_digests() {
    let sim = custom_sim();
    let t = &sim.truth;
    assert_eq!(t["users"].as_array().map(Vec::len), Some(12_000));
    assert_eq!(t["groups"].as_array().map(Vec::len), Some(1_000));
    let env = TestEnv::new();
    let out = env.out("out");
    let report = run_and_compare(&sim, &env, &out);
    assert_eq!(report["users"], 12_000);
    let digest = sim.request("GET", "/_sim/truth/digest", None);
    assert_eq!(
        digest["files"]["groups_members"]["rows"],
        t["members"].as_array().map(Vec::len).unwrap() as u64
    );
    harness_check(&env, &out, &digest);
}

/// scripts/bench's `verify_digest` on the run's files: no problem; then one cell changed in
/// the users file: the users file differs, in the same number of rows.
#[cfg(unix)] // the harness is a Python script; the benchmark machines run it on Unix
fn harness_check(env: &TestEnv, out: &std::path::Path, digest: &serde_json::Value) {
    let digest_path = env.out("digest.json");
    std::fs::write(&digest_path, digest.to_string()).unwrap();
    let verify = || {
        let o = Command::new("python3")
            .args([
                "-c",
                "import importlib.machinery, importlib.util, json, sys\n\
                 loader = importlib.machinery.SourceFileLoader('bench', sys.argv[1])\n\
                 bench = importlib.util.module_from_spec(importlib.util.spec_from_loader('bench', loader))\n\
                 loader.exec_module(bench)\n\
                 print(json.dumps(bench.verify_digest(sys.argv[2], json.load(open(sys.argv[3])))))",
            ])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/bench"))
            .arg(out)
            .arg(&digest_path)
            .output()
            .expect("python3 runs (scripts/install-test-deps.sh installs it)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Vec<String>>(&o.stdout).expect("a JSON list")
    };
    assert_eq!(verify(), Vec::<String>::new());
    let users = crate::common::csv_path(out, "contoso.example", "users");
    let text = std::fs::read_to_string(&users).unwrap();
    let changed = text.replacen("Contoso, Ltd.", "Contoso, Ltd!", 1);
    assert_ne!(text, changed);
    std::fs::write(&users, changed).unwrap();
    let problems = verify();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("users: 12000 rows, want 12000; different content"),
        "{problems:?}"
    );
}

#[cfg(not(unix))] // see the Unix version: the harness is not run on Windows
fn harness_check(_: &TestEnv, _: &std::path::Path, _: &serde_json::Value) {}
