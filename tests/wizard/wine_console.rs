//! The Windows binary in a terminal, under Wine inside tmux on the Linux host: Ctrl-C in the
//! console interrupts a headless run as on Windows (exit 130, no partial file), and keys
//! reach the wizard; and Wine's exact limitation that keeps the wizard's screen from being
//! tested here — its console, in a Unix terminal, breaks lines inside VT sequences
//! (docs/windows.md, scripts/wine/console_vt_probe.c).
//!
//! Needs the Windows build, tmux and Wine: `.ci/run` builds `entra-extract.exe` and runs
//!   ENTRA_EXTRACT_WINDOWS_EXE=target/x86_64-pc-windows-gnu/debug/entra-extract.exe \
//!     cargo test --test wizard wine_console:: -- --ignored
//! Without the variable the tests are listed as ignored, never passed silently.
#![cfg(unix)] // tmux and Wine run on the Unix host; the program under test is the .exe.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use entra_sim::DemoAppKind;

/// Wine starts slowly on two shared cores.
const TIMEOUT: Duration = Duration::from_secs(120);
/// Printed by the pane's shell once the program has exited, with its exit status.
const EXITED: &str = "EXE-EXITED-";
const NEEDS: &str = "needs ENTRA_EXTRACT_WINDOWS_EXE (the Windows build), tmux and Wine; run by .ci/run after the Windows build";

/// The Windows binary named by `ENTRA_EXTRACT_WINDOWS_EXE`.
fn exe() -> PathBuf {
    let exe = std::env::var_os("ENTRA_EXTRACT_WINDOWS_EXE").expect(NEEDS);
    let exe = std::path::absolute(exe).unwrap();
    assert!(exe.is_file(), "{} does not exist: {NEEDS}", exe.display());
    exe
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A tmux session on its own server running `args` under Wine; killed on drop.
struct WinePane {
    socket: PathBuf,
    /// What the pane's program wrote, byte for byte (`pipe-pane`).
    raw: PathBuf,
    /// Holds the socket and the recording; deleted on drop.
    _root: tempfile::TempDir,
}

impl WinePane {
    /// Starts `prefix` (shell words before the runner: variables) and `runner exe args` in a
    /// 100×30 pane.
    fn start(prefix: &str, args: &str) -> WinePane {
        assert!(Command::new("tmux").arg("-V").output().is_ok(), "{NEEDS}");
        let root = tempfile::tempdir().unwrap();
        let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/wine/runner.sh");
        let pane = WinePane {
            socket: root.path().join("tmux.sock"),
            raw: root.path().join("raw"),
            _root: root,
        };
        // The pane's output is recorded from the start: the program waits for the pipe.
        let command = format!(
            "while [ ! -e {raw} ]; do sleep 0.1; done; {prefix} {runner} {exe} {args}; \
             echo {EXITED}$?; sleep 600",
            raw = quote(&pane.raw),
            runner = quote(&runner),
            exe = quote(&exe()),
        );
        pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            "w",
            "-x",
            "100",
            "-y",
            "30",
            &command,
        ]);
        let pipe = format!("cat > {}", quote(&pane.raw));
        pane.tmux(&["pipe-pane", "-t", "w", "-o", &pipe]);
        pane
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "w"])
    }

    fn raw(&self) -> Vec<u8> {
        std::fs::read(&self.raw).unwrap_or_default()
    }

    /// Polls until `done(screen, raw output)` holds; fails with the screen.
    fn wait_until(&self, what: &str, done: impl Fn(&str, &[u8]) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen, &self.raw()) {
                return screen;
            }
            assert!(
                start.elapsed() < TIMEOUT,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for WinePane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["kill-server"])
            .output();
    }
}

/// Where the raw output has a line break inside a VT sequence: `ESC [` and parameters, then
/// CR LF before the final letter.
fn broken_sequence(raw: &[u8]) -> Option<String> {
    raw.windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\x1b[")
        .find_map(|(at, _)| {
            let rest = &raw[at + 2..];
            let params = rest
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b';')
                .count();
            let after = &rest[params..];
            (after.starts_with(b"\r\n") || after.starts_with(b"\r\r\n")).then(|| {
                String::from_utf8_lossy(&raw[at..(at + 2 + params + 4).min(raw.len())])
                    .escape_debug()
                    .to_string()
            })
        })
}

#[test]
#[ignore = "needs ENTRA_EXTRACT_WINDOWS_EXE (the Windows build), tmux and Wine; run by .ci/run"]
fn ctrl_c_in_a_wine_console_interrupts_a_run_and_leaves_no_file() {
    // 150 ms per response and one worker: the run takes several seconds.
    let sim = common::slow_sim(150);
    let app = sim.app(DemoAppKind::Full);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, &app.client_secret).unwrap();
    let out = dir.path().join("out");
    let base = sim.base();
    let pane = WinePane::start(
        // The secret comes through the environment, never the command line.
        &format!(
            "ENTRA_EXTRACT_CLIENT_SECRET=$(cat {}) ENTRA_EXTRACT_KEYRING_STORE=none",
            quote(&secret)
        ),
        &format!(
            "run --tenant {tenant} --client-id {client} --cloud custom --authority-url {base} \
             --graph-url {base} -o {out} --plan per-group --workers 1",
            tenant = sim.tenant(),
            client = app.client_id,
            out = quote(&out),
        ),
    );
    pane.wait_until("the run to read the tenant", |screen, _| {
        screen.contains("requests")
    });
    pane.tmux(&["send-keys", "-t", "w", "C-c"]);
    let screen = pane.wait_until("the run to end", |screen, _| screen.contains(EXITED));
    assert!(screen.contains(&format!("{EXITED}130")), "{screen}");
    assert!(screen.contains("cancelled"), "{screen}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n == common::LOCK_FILE),
        "only the lock file may be left: {left:?}"
    );
}

/// Wine's limitation, asserted exactly: the wizard's output reaches the terminal with line
/// breaks inside VT sequences, which no terminal can draw as the wizard meant. Keys still
/// reach the program: `q` quits with status 0. When Wine's console parses VT output, this
/// test fails and the demo walkthrough of tests/wizard/demo_tui.rs can run against the .exe here.
#[test]
#[ignore = "needs ENTRA_EXTRACT_WINDOWS_EXE (the Windows build), tmux and Wine; run by .ci/run"]
fn wine_console_breaks_vt_sequences_of_the_wizard_but_keys_reach_it() {
    let out = tempfile::tempdir().unwrap();
    let pane = WinePane::start(
        "ENTRA_EXTRACT_KEYRING_STORE=memory",
        &format!("demo -o {}", quote(out.path())),
    );
    // The whole first screen has been written once its key help line is out.
    pane.wait_until("the demo picker", |_, raw| {
        String::from_utf8_lossy(raw).contains("q quit")
    });
    let raw = pane.raw();
    assert!(
        raw.windows(8).any(|w| w == b"\x1b[?1049h"),
        "the wizard switched to the alternate screen"
    );
    let broken = broken_sequence(&raw);
    assert!(
        broken.is_some(),
        "Wine's console no longer breaks VT sequences: drive the wizard here (docs/windows.md)"
    );
    pane.tmux(&["send-keys", "-t", "w", "q"]);
    let screen = pane.wait_until("the demo to quit", |screen, _| screen.contains(EXITED));
    assert!(screen.contains(&format!("{EXITED}0")), "{screen}");
}
