//! The wizard (and `demo` without `--headless`) started without a terminal — from cron, a
//! pipe, `setsid … </dev/null` — says it needs one, names the headless commands and exits 2,
//! before touching the terminal: no escape codes, no backtrace.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestEnv, assert_exit};

fn assert_refused_plainly(what: &str, out: &std::process::Output) {
    assert_exit(out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "needs a terminal",
        "entra-extract run",
        "entra-extract check",
        "entra-extract demo --headless",
    ] {
        assert!(stderr.contains(needle), "{what}: no {needle:?} in {stderr}");
    }
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !stream.contains(&0x1b),
            "{what}: escape codes in a plain stream: {:?}",
            String::from_utf8_lossy(stream)
        );
    }
    assert!(
        !stderr.contains("os error") && !stderr.contains("Location:"),
        "{what}: a plain message, no error report: {stderr}"
    );
}

/// Standard input from /dev/null, output into a pipe: a cron line or `| tee log`.
#[test]
fn without_a_terminal_the_wizard_and_the_demo_say_so_and_exit_2() {
    let env = TestEnv::new();
    for args in [&[][..], &["demo"][..]] {
        let out = env
            .std_command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs");
        assert_refused_plainly(&format!("{args:?}"), &out);
    }
}

/// `setsid entra-extract </dev/null` on a terminal: output goes to the terminal but there is
/// no controlling terminal to read keys from.
#[test]
fn without_a_controlling_terminal_the_wizard_says_so_and_exits_2() {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is not installed: run scripts/install-test-deps.sh"
    );
    let env = TestEnv::new();
    let socket = env.root.path().join("tmux.sock");
    let name = format!("no-ctty-{}", std::process::id());
    let log = env.root.path().join("stderr.log");
    let command = format!(
        "env ENTRA_EXTRACT_CONFIG_DIR='{}' ENTRA_EXTRACT_DATA_DIR='{}' RUST_BACKTRACE=1 \
         setsid -w '{}' </dev/null 2>'{}'; echo EXITED-$?; sleep 60",
        env.config_dir().display(),
        env.data_dir().display(),
        env!("CARGO_BIN_EXE_entra-extract"),
        log.display()
    );
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux runs")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "80",
        "-y",
        "24",
        &command,
    ]);
    assert!(started.status.success(), "{started:?}");
    let start = Instant::now();
    let screen = loop {
        let screen = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &name]).stdout)
            .into_owned();
        if screen.contains("EXITED-") {
            break screen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the wizard did not exit:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = tmux(&["kill-server"]);
    assert!(screen.contains("EXITED-2"), "exit status 2:\n{screen}");
    let stderr = std::fs::read(&log).unwrap();
    assert!(
        !stderr.contains(&0x1b),
        "escape codes in a file: {stderr:?}"
    );
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(!stderr.contains("os error"), "{stderr}");
}
