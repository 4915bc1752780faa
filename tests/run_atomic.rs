//! Atomic output: a previous extraction in the output directory stays byte-identical when a
//! run fails (retries exhausted) or is interrupted (SIGINT, SIGTERM, SIGHUP), and no
//! temporary file is left.
#![allow(clippy::disallowed_macros)] // the test harness captures what tests print

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

#[cfg(unix)]
use common::fifo::Fifo;
use common::{
    Sim, TestEnv, assert_exit, assert_private_and_clean, json_stdout, seed_previous, snapshot,
};
#[cfg(unix)]
use entra_extract::extract::hold::Interruption;
use entra_sim::{DemoAppKind, SimConfig};

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

/// Starts a slow `run` into `out` and returns once it is writing its temporary files.
fn start_writing(sim: &Sim, env: &TestEnv, out: &Path) -> std::process::Child {
    start_writing_with(sim.std_command(env, "run", DemoAppKind::Full), out)
}

/// [`start_writing`] with `command` (`run` and how to connect).
fn start_writing_with(mut command: std::process::Command, out: &Path) -> std::process::Child {
    let mut child = command
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

/// A closed terminal (or SSH session) hangs up on the run: it stops as on Ctrl-C instead of
/// dying with its temporary files left behind.
#[cfg(unix)]
#[test]
fn sighup_mid_run_exits_130_and_leaves_previous_files_untouched() {
    interrupted_by("-HUP");
}

/// `nohup entra-extract run …` survives the hang-up it asked to survive: a signal ignored
/// when the program started stays ignored.
#[cfg(unix)]
#[test]
fn a_run_started_with_sighup_ignored_completes_despite_a_hang_up() {
    use std::os::unix::process::CommandExt;
    let sim = common::slow_sim(150);
    let env = TestEnv::new();
    let out = env.out("out");
    let mut command = sim.std_command(&env, "run", DemoAppKind::Full);
    // SAFETY: between fork and exec only signal(2), which is async-signal-safe, runs.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let child = start_writing_with(command, &out);
    kill("-HUP", &child);
    let o = child.wait_with_output().expect("wait");
    assert_exit(&o, 0);
    assert_eq!(json_stdout(&o)["outcome"], "success");
    common::Extraction::read(&out, &sim.domain()).assert_eq(&common::Extraction::expected(
        &sim.truth,
        &Default::default(),
    ));
    assert_private_and_clean(&out);
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
    kill(signal, &child);
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

/// Waits until `child` reads the file `fifo` replaced (then it waits there); kills it if it
/// never does.
#[cfg(unix)]
fn reached(fifo: &Fifo, child: &mut std::process::Child, what: &str) -> std::fs::File {
    fifo.wait_read().unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the run never reached {what}");
    })
}

/// The lines of `child`'s stderr as they come, and all of it once it ends.
#[cfg(unix)]
struct StderrLines {
    lines: std::sync::mpsc::Receiver<String>,
    all: std::thread::JoinHandle<String>,
}

#[cfg(unix)]
impl StderrLines {
    fn of(child: &mut std::process::Child) -> StderrLines {
        let (line_tx, lines) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        let all = std::thread::spawn(move || {
            let mut all = String::new();
            for line in std::io::BufRead::lines(std::io::BufReader::new(err)) {
                let line = line.unwrap_or_default();
                let _ = line_tx.send(line.clone());
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        StderrLines { lines, all }
    }

    /// Waits (up to a minute) for the next line containing `text`.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!("stderr never said {text:?}"),
            }
        }
    }

    fn all(self) -> String {
        self.all.join().unwrap()
    }
}

/// Sends `signal` (`-INT`, `-TERM`, `-HUP`) to `child`.
#[cfg(unix)]
fn kill(signal: &str, child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Tenant `small` and profile `contoso` writing into `out`, after one complete run.
#[cfg(unix)]
fn a_profile_after_one_run() -> (Sim, TestEnv, std::path::PathBuf) {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    common::create_profile(&sim, &env, "contoso", &out, &[]);
    common::run_profile_ok(&sim, &env, "contoso");
    (sim, env, out)
}

/// Starts `run --profile contoso --json -q --full`, its stdout and stderr piped.
#[cfg(unix)]
fn spawn_full_rerun(sim: &Sim, env: &TestEnv) -> std::process::Child {
    common::run_profile_command(sim, env, "contoso")
        .arg("--full")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// A Ctrl-C sent after every Graph read is done, before the files replace the previous
/// ones, is honoured: exit 130, the previous files untouched, and stderr says only that.
///
/// The moment is made deterministic with a FIFO: a profile's `--full` rerun compares its
/// new files with the previous run's snapshot (in the data directory) after the last Graph
/// request and before the commit, so a snapshot file that is a FIFO holds it there until
/// the test writes the snapshot's bytes into it.
#[cfg(unix)]
#[test]
fn an_interrupt_after_the_reads_and_before_the_commit_changes_no_file() {
    let (sim, env, out) = a_profile_after_one_run();
    let previous = snapshot(&out);
    let fifo = Fifo::replace(&env.data_dir().join("state/contoso/snapshot_users.csv"));

    let mut child = spawn_full_rerun(&sim, &env);
    let writer = reached(
        &fifo,
        &mut child,
        "the comparison with the previous snapshot",
    );
    let requests = sim.stats()["graphRequests"].as_u64().unwrap();
    let stderr = StderrLines::of(&mut child);
    kill("-INT", &child);
    // The run goes on to its commit only once the signal was handled.
    stderr.wait_for("interrupted");
    fifo.release(writer);

    let o = child.wait_with_output().unwrap();
    let stderr = stderr.all();
    assert_eq!(
        sim.stats()["graphRequests"].as_u64().unwrap(),
        requests,
        "every Graph read was done before the interrupt"
    );
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(Interruption::Stopping.describe())
            && !stderr.contains(Interruption::Committing.describe()),
        "{stderr}"
    );
    assert_eq!(json_stdout(&o)["outcome"], "interrupted");
    assert_eq!(snapshot(&out), previous, "previous extraction changed");
    assert_private_and_clean(&out);
}

/// A Ctrl-C after the commit point is told the run completes, and so is every further one
/// (none is swallowed); the run then ends at once, without the advisory request for its
/// secret's expiry, and keeps its files.
///
/// The moment is made deterministic with a FIFO: the run records itself in the profile's
/// history after its files are committed, so a history file that is a FIFO holds it there.
#[cfg(unix)]
#[test]
fn interrupts_after_the_commit_point_are_each_told_the_run_completes() {
    let (sim, env, out) = a_profile_after_one_run();
    let fifo = Fifo::replace(&env.data_dir().join("history/contoso.jsonl"));

    let mut child = spawn_full_rerun(&sim, &env);
    let writer = reached(&fifo, &mut child, "its history");
    let committed = snapshot(&out);
    let requests = sim.stats()["graphRequests"].as_u64().unwrap();
    let stderr = StderrLines::of(&mut child);
    for _ in 0..2 {
        kill("-INT", &child);
        stderr.wait_for(Interruption::Committing.describe());
    }
    fifo.release(writer);

    let o = child.wait_with_output().unwrap();
    let stderr = stderr.all();
    assert_exit(&o, 0);
    assert!(
        !stderr.contains(Interruption::Stopping.describe()),
        "{stderr}"
    );
    assert_eq!(
        sim.stats()["graphRequests"].as_u64().unwrap(),
        requests,
        "no request after an interrupt"
    );
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "success", "{report}");
    assert_eq!(report["secret_expiry"], serde_json::Value::Null, "{report}");
    assert_eq!(snapshot(&out), committed, "the committed files stay");
    common::check_manifest(&out, &sim.domain());
    assert_private_and_clean(&out);
}
