//! `run --all` reruns every saved profile: one JSON summary per profile and line, each
//! profile's files equal to its tenant, reruns incremental, a broken profile reported
//! (not skipped) and the exit code the worst of them.

use crate::common;

use std::collections::BTreeMap;

use common::{Extraction, Sim, TestEnv, assert_exit, create_profile};
use entra_sim::DemoAppKind;
use serde_json::Value;

/// `run --all EXTRA…` with the full app's secret in the environment.
fn run_all_command(sim: &Sim, env: &TestEnv, extra: &[&str]) -> std::process::Command {
    let mut c = env.std_command();
    c.args(["run", "--all"]).args(extra).env(
        "ENTRA_EXTRACT_CLIENT_SECRET",
        sim.app(DemoAppKind::Full).client_secret,
    );
    c
}

fn run_all(sim: &Sim, env: &TestEnv, extra: &[&str]) -> std::process::Output {
    let mut c = assert_cmd::Command::from_std(run_all_command(sim, env, extra));
    c.timeout(common::CMD_TIMEOUT);
    c.output().unwrap()
}

fn lines(o: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn every_profile_runs_and_the_exit_code_is_the_worst() {
    let mut sim = Sim::small();
    let env = TestEnv::new();
    for name in ["alpha", "beta"] {
        create_profile(&sim, &env, name, &env.out(name), &[]);
    }
    // An app the tenant does not know: its sign-in fails, the others still run.
    let o = env
        .command()
        .args(["profile", "create", "broken", "--cloud", "custom"])
        .args(["--authority-url", &sim.base(), "--graph-url", &sim.base()])
        .args(["--tenant", &sim.tenant()])
        .args(["--client-id", "00000000-1111-2222-3333-444444444444"])
        .arg("--output-dir")
        .arg(env.out("broken"))
        .output()
        .unwrap();
    assert_exit(&o, 0);

    for (round, mode) in [(0, "full"), (1, "incremental")] {
        if round > 0 {
            sim.evolve(15, 3);
        }
        let o = run_all(&sim, &env, &["--json"]);
        assert_exit(&o, 3);
        let mut reports = lines(&o);
        // Each is reported as it ends.
        reports.sort_by_key(|r| r["profile"].as_str().unwrap().to_string());
        let names: Vec<_> = reports.iter().map(|r| r["profile"].clone()).collect();
        assert_eq!(names, ["alpha", "beta", "broken"]);
        for r in &reports[..2] {
            assert_eq!(r["outcome"], "success", "{r}");
            assert_eq!(r["mode"], mode, "{r}");
            let out = env.out(r["profile"].as_str().unwrap());
            Extraction::read(&out, &sim.domain())
                .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
        }
        assert_eq!(reports[2]["exit_code"], 3, "{}", reports[2]);
        assert!(
            reports[2]["error"]
                .as_str()
                .unwrap()
                .contains("00000000-1111")
        );
        assert!(!env.out("broken").join("manifest.json").exists());
    }

    // For people: one line per profile (one at a time: in name order).
    let o = run_all(&sim, &env, &["--jobs", "1"]);
    assert_exit(&o, 3);
    let text = String::from_utf8_lossy(&o.stdout);
    // (An error's "fix:" continues on an indented line.)
    let starts: Vec<_> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(starts, ["alpha", "beta", "broken"], "{text}");
    assert!(text.lines().next().unwrap().contains("success"), "{text}");
    assert!(text.contains("\n  fix: the app was not found"), "{text}");
}

#[test]
fn run_all_refuses_what_does_not_apply_to_every_profile() {
    let env = TestEnv::new();
    let o = env
        .command()
        .args(["run", "--all", "--json"])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no saved profiles"));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["exit_code"], 2);

    for extra in [
        &["--profile", "x"][..],
        &["-o", "/tmp/x"],
        &["--tenant", "contoso.example"],
    ] {
        let o = env
            .command()
            .args(["run", "--all"])
            .args(extra)
            .output()
            .unwrap();
        assert_exit(&o, 2);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("cannot be used with"),
            "{extra:?}"
        );
    }
}

/// Ctrl-C (or SIGTERM) during `run --all` stops the running profile, starts no other, and
/// still reports each: the one interrupted and those never started.
#[cfg(unix)]
#[test]
fn an_interrupt_stops_the_rest() {
    let sim = common::slow_sim(150);
    let env = TestEnv::new();
    for name in ["alpha", "beta"] {
        create_profile(&sim, &env, name, &env.out(name), &[]);
    }
    let child = run_all_command(&sim, &env, &["--json", "--jobs", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // alpha's run has claimed its output directory: it is reading.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !env.out("alpha").exists() {
        assert!(std::time::Instant::now() < deadline, "alpha never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 130);
    let reports = lines(&o);
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0]["profile"], "alpha");
    assert_eq!(reports[0]["outcome"], "interrupted", "{}", reports[0]);
    assert_eq!(reports[1]["profile"], "beta");
    assert_eq!(reports[1]["exit_code"], 130, "{}", reports[1]);
    assert!(
        reports[1]["error"]
            .as_str()
            .unwrap()
            .contains("not started"),
        "{}",
        reports[1]
    );
    assert!(!env.out("beta").exists(), "beta must not have started");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("every profile signs in with that one secret"),
        "{stderr}"
    );
}
