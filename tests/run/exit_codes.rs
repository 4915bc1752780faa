//! The exit-code table of the README, row by row, through `run --json`: the process exit
//! code, the report's `exit_code` and its `outcome` are one contract, and a refused run
//! (exit 2) sends no request and still prints a report.

use crate::common;

use std::path::Path;

use common::{Sim, TestEnv, json_stdout};
use entra_sim::{DemoAppKind, HiddenMembers, SimConfig};

/// Requests the simulator has answered (token endpoint and Graph).
fn requests(sim: &Sim) -> u64 {
    let s = sim.stats();
    s["tokenRequests"].as_u64().unwrap() + s["graphRequests"].as_u64().unwrap()
}

/// Asserts the process exit code, the report's `exit_code` and `outcome`; returns the report.
fn contract(o: &std::process::Output, code: i32, outcome: &str) -> serde_json::Value {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let report = json_stdout(o);
    assert_eq!(report["exit_code"], code, "{report}");
    assert_eq!(report["outcome"], outcome, "{report}");
    if code != 0 && code != 6 {
        assert!(
            report["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{report}"
        );
    }
    report
}

fn run(sim: &Sim, kind: DemoAppKind, out: &Path) -> std::process::Output {
    let env = TestEnv::new();
    sim.run(&env, kind, out).output().unwrap()
}

#[test]
fn row_0_success_6_warnings_3_sign_in_4_permission() {
    let sim = Sim::start(common::no_throttle(SimConfig {
        hidden_members: HiddenMembers::Forbidden,
        ..SimConfig::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let out = |n: &str| dir.path().join(n);
    contract(&run(&sim, DemoAppKind::Full, &out("ok")), 0, "success");
    contract(
        &run(&sim, DemoAppKind::NoHidden, &out("warn")),
        6,
        "warnings",
    );
    contract(
        &run(&sim, DemoAppKind::ExpiredSecret, &out("auth")),
        3,
        "auth_failed",
    );
    contract(
        &run(&sim, DemoAppKind::NoGrants, &out("perm")),
        4,
        "permission_missing",
    );
}

#[test]
fn row_2_bad_configuration_prints_a_report_and_sends_nothing() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let before = requests(&sim);
    let o = sim
        .command_replacing(
            &env,
            "run",
            DemoAppKind::Full,
            &[("--tenant", "not a tenant!")],
        )
        .args(["--json", "-q", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let report = contract(&o, 2, "bad_config");
    assert!(
        report["error"].as_str().unwrap().contains("--tenant"),
        "{report}"
    );
    assert_eq!(requests(&sim), before);
    assert!(!out.exists());
}

#[test]
fn row_2_an_output_directory_held_by_another_run_is_refused_before_signing_in() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    std::fs::create_dir(&out).unwrap();
    // Another run holds the directory's lock for as long as this file stays open.
    let lock = std::fs::File::create(out.join(".entra-extract.lock")).unwrap();
    lock.try_lock().unwrap();
    let before = requests(&sim);
    let o = run(&sim, DemoAppKind::Full, &out);
    let report = contract(&o, 2, "bad_config");
    assert!(
        report["error"].as_str().unwrap().contains("another"),
        "{report}"
    );
    assert_eq!(
        requests(&sim),
        before,
        "signed in although the directory was held"
    );
    drop(lock);
}

#[test]
fn row_5_graph_failed_after_retries() {
    let sim = Sim::start(common::no_throttle(SimConfig {
        faults: vec!["503=0@always;path=/users".parse().unwrap()],
        ..SimConfig::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    contract(
        &run(&sim, DemoAppKind::Full, &dir.path().join("o")),
        5,
        "failed",
    );
}

/// Disk full while writing: a small tmpfs in a private mount namespace (`unshare`), so the
/// test needs neither root nor a real full disk.
#[cfg(target_os = "linux")]
#[test]
fn row_1_a_full_disk_is_an_io_error_and_leaves_nothing_behind() {
    let sim = Sim::start(common::no_throttle(SimConfig::default()));
    let env = TestEnv::new();
    let mnt = env.out("small-disk");
    std::fs::create_dir(&mnt).unwrap();
    let mut args = vec!["run".to_string()];
    args.extend(sim.connect_flags(DemoAppKind::Full, &[]));
    args.extend(["-o".into(), format!("{}/out", mnt.display())]);
    args.extend(["--json".into(), "-q".into()]);
    let o = common::run_on_small_disk(&sim, &env, &mnt, "48k", &args, "true");
    let report = contract(&o, 1, "failed");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("No space left") || error.contains("space"),
        "{error}"
    );
    // The tmpfs vanished with its namespace; what matters is the report said so and no
    // file was passed off as complete.
    assert!(report["files"].as_array().unwrap().is_empty(), "{report}");
}

#[cfg(unix)]
#[test]
fn row_130_interrupted() {
    use std::time::Duration;
    let sim = common::slow_sim(200);
    let env = TestEnv::new();
    let out = env.out("out");
    let child = sim
        .std_command(&env, "run", DemoAppKind::Full)
        .arg("-o")
        .arg(&out)
        .args(["--workers", "1", "-q", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first Graph request, then interrupt.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sim.stats()["graphRequests"].as_u64().unwrap() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    contract(&o, 130, "interrupted");
}

/// A standard error that cannot be written (`2>/dev/full`, a hung-up terminal) keeps the
/// documented exit codes: the messages are lost, not turned into a panic and an abort (134).
#[cfg(target_os = "linux")]
#[test]
fn exit_codes_hold_when_stderr_cannot_be_written() {
    let sim = Sim::start(common::no_throttle(SimConfig::default()));
    let env = TestEnv::new();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    // A refused command (bad configuration) and a failed sign-in, each with a message on stderr.
    let o = env
        .std_command()
        .args(["profile", "remove", "no-such-profile"])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = sim
        .std_command(&env, "run", DemoAppKind::ExpiredSecret)
        .arg("-o")
        .arg(env.out("auth"))
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{o:?}");
}
