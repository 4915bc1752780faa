//! Atomic output: a previous extraction in the output directory stays byte-identical when a
//! run fails (retries exhausted) or is interrupted by SIGINT, and no temporary file is left.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    Sim, TestEnv, assert_exit, assert_private_and_clean, json_stdout, seed_previous, snapshot,
};
use entra_extract::sim::{DemoAppKind, SimConfig};

#[test]
fn failed_run_leaves_previous_files_untouched() {
    // Every user listing answers 503 with Retry-After 0: retries are exhausted at once.
    let sim = Sim::start(common::no_throttle(SimConfig {
        faults: vec!["503=0@always;path=/users".parse().unwrap()],
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    let previous = seed_previous(&out, &sim.domain());
    let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    assert_exit(&o, 5);
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "failed");
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("503"), "{error}");
    assert!(error.contains("no output file was changed"), "{error}");
    assert_eq!(snapshot(&out), previous, "previous extraction changed");
    assert_private_and_clean(&out);
}

/// True once a run has created its temporary files in `dir`.
/// Starts a slow `run` into `out` and returns once it is writing its temporary files.
fn start_writing(sim: &Sim, env: &TestEnv, out: &Path) -> std::process::Child {
    let mut child = sim
        .std_command(env, "run", DemoAppKind::Full)
        .arg("-o")
        .arg(out)
        .args(["--workers", "1", "-q", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !writing(out) {
        assert!(Instant::now() < deadline, "the run never started writing");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn writing(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        })
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn sigint_mid_run_exits_130_and_leaves_previous_files_untouched() {
    interrupted_by("-INT");
}

#[cfg(unix)]
#[test]
fn sigterm_mid_run_exits_130_and_leaves_previous_files_untouched() {
    interrupted_by("-TERM");
}

/// Interrupts a slow run once it is writing, with `kill SIGNAL`.
#[cfg(unix)]
fn interrupted_by(signal: &str) {
    // 150 ms per response: with one worker the run takes several seconds.
    let sim = common::slow_sim(150);
    let env = TestEnv::new();
    let out = env.out("out");
    let previous = seed_previous(&out, &sim.domain());
    let child = start_writing(&sim, &env, &out);
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let o = child.wait_with_output().expect("wait");
    assert_exit(&o, 130);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "interrupted");
    assert_eq!(snapshot(&out), previous, "previous extraction changed");
    assert_private_and_clean(&out);
}

#[test]
fn output_dir_is_created_private_when_missing() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("a/b/out");
    let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    assert_exit(&o, 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "output dir mode {mode:o}");
    }
    assert_private_and_clean(&out);
}

#[test]
fn second_run_into_the_same_directory_is_refused_while_the_first_writes() {
    // 300 ms per response: the first run writes for about two seconds, the second reaches
    // the lock well within that.
    let sim = common::slow_sim(300);
    let env = TestEnv::new();
    let out = env.out("out");
    let first = start_writing(&sim, &env, &out);
    let second = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    let first = first.wait_with_output().unwrap();
    assert_exit(&first, 0);
    assert_ne!(
        second.status.code(),
        Some(0),
        "both runs wrote the same directory"
    );
    let report = json_stdout(&second);
    eprintln!("{report}");
    assert!(
        report["error"].as_str().unwrap().contains("another"),
        "{report}"
    );
    common::Extraction::read(&out, &sim.domain()).assert_eq(&common::Extraction::expected(
        &sim.truth,
        &Default::default(),
    ));
    assert_private_and_clean(&out);
}
