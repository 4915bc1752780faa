//! The wizard on a real terminal (a tmux pane): it opens, takes bracketed paste, on Ctrl-C
//! restores the terminal, and prints what it could not show any more once it has. Needs
//! tmux (scripts/install-test-deps.sh installs it).
//!
//! The test re-runs this test binary inside tmux to execute `child_wizard`, which calls the
//! public `tui::run` with the scripted fake services.
//!
//! Unix only: tmux and `sh` drive the terminal. Windows consoles need a ConPTY driver, which
//! these tests do not have yet.
#![allow(
    clippy::disallowed_macros,
    reason = "the test harness captures what tests print"
)]
#![cfg(unix)]

use std::process::Command;
use std::time::{Duration, Instant};

use std::sync::Arc;

use chrono::Utc;
use entra_extract::graph::cloud::Cloud;
use entra_extract::permissions::report::PermissionReport;
use entra_extract::tui::services::*;
use entra_extract::tui::testing::{FakeServices, Script};
use entra_extract::tui::{WizardOptions, run};
use futures::FutureExt;
use futures::future::BoxFuture;

const CHILD_ENV: &str = "ENTRA_EXTRACT_TUI_CHILD";
const EXITED: &str = "WIZARD-EXITED-CLEANLY";
const PANIC_MESSAGE: &str = "progress source exploded";

/// Fake services whose extraction progress panics when the wizard reads it: the panic
/// happens on the render loop, so it proves the terminal is restored on panic.
struct PanickingProgress(Arc<FakeServices>);

impl Services for PanickingProgress {
    fn list_profiles(&self) -> BoxFuture<'_, Result<Vec<ProfileSummary>, ServiceError>> {
        async {
            Ok(vec![ProfileSummary {
                name: "contoso".into(),
                tenant: "contoso.onmicrosoft.com".into(),
                cloud: Cloud::Global,
                last_run: Some(RunRecord {
                    started: Utc::now(),
                    duration_secs: 1.0,
                    outcome: RunOutcome::Success,
                    users: 1,
                    groups: 1,
                    member_edges: 1,
                    owner_edges: 1,
                    warnings: 0,
                    output_dir: "/exports".into(),
                    mode: None,
                    changes: None,
                }),
            }])
        }
        .boxed()
    }
    fn load_profile(&self, name: String) -> BoxFuture<'_, Result<ProfileDraft, ServiceError>> {
        self.0.load_profile(name)
    }
    fn validate_credentials(
        &self,
        input: CredentialsInput,
    ) -> BoxFuture<'_, Result<TenantInfo, CredentialProblem>> {
        self.0.validate_credentials(input)
    }
    fn check_permissions(
        &self,
        target: CheckTarget,
    ) -> BoxFuture<'_, Result<PermissionReport, ServiceError>> {
        self.0.check_permissions(target)
    }
    fn save_profile(
        &self,
        draft: ProfileDraft,
        storage: SecretStorage,
    ) -> BoxFuture<'_, Result<SaveOutcome, SaveProblem>> {
        self.0.save_profile(draft, storage)
    }
    fn delete_profile(&self, name: String) -> BoxFuture<'_, Result<String, ServiceError>> {
        self.0.delete_profile(name)
    }
    fn start_extraction(
        &self,
        target: ExtractionTarget,
    ) -> BoxFuture<'_, Result<ExtractionHandle, ServiceError>> {
        async move {
            let mut handle = self.0.start_extraction(target).await?;
            handle.progress = Arc::new(|| panic!("{PANIC_MESSAGE}"));
            Ok(handle)
        }
        .boxed()
    }
}

#[test]
#[ignore = "only run inside tmux by real_terminal_is_restored_on_panic"]
fn child_wizard_panics() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let services = Arc::new(PanickingProgress(FakeServices::new(Script::default())));
    let _ = runtime.block_on(run(services, WizardOptions::default()));
}

#[test]
#[ignore = "only run inside tmux by real_terminal_paste_and_ctrl_c_restore"]
fn child_wizard() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(run(
            FakeServices::new(Script::default()),
            WizardOptions::default(),
        ))
        .unwrap();
    println!("{EXITED}");
}

/// Where `child_wizard_deleting` learns that it may finish the delete: a file the test
/// creates.
const RELEASE_ENV: &str = "ENTRA_EXTRACT_TUI_RELEASE";
/// What the held delete answers.
const DELETE_REFUSED: &str = "the OS keyring is locked; nothing was deleted";

#[test]
#[ignore = "only run inside tmux by what_a_delete_came_to_after_ctrl_c_is_printed_on_the_restored_terminal"]
fn child_wizard_deleting() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let fake = FakeServices::new(Script {
        profiles: vec![ProfileSummary {
            name: "contoso".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            cloud: Cloud::Global,
            last_run: None,
        }],
        deletions: [Err(ServiceError::new(ErrorKind::Secret, DELETE_REFUSED))].into(),
        ..Script::default()
    });
    fake.close_gate();
    let release = std::path::PathBuf::from(std::env::var_os(RELEASE_ENV).unwrap());
    let gate = fake.clone();
    std::thread::spawn(move || {
        while !release.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        gate.open_gate();
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(run(fake, WizardOptions::default()))
        .unwrap();
    println!("{EXITED}");
}

struct Session(String);

impl Session {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").args(args).output().expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {text:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

/// Start `test` of this binary in a new 80×24 tmux session. Without tmux the test fails:
/// a skipped terminal test would pass off an untested feature as working.
fn start(test: &str) -> Option<Session> {
    start_with(test, "")
}

/// [`start`], with `env` (`NAME=value …`, quoted for the shell) in the child's environment.
fn start_with(test: &str, env: &str) -> Option<Session> {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is not installed: run scripts/install-test-deps.sh"
    );
    let exe = std::env::current_exe().unwrap();
    let name = format!("ee-tui-{test}-{}", std::process::id());
    let child = format!(
        "env {CHILD_ENV}=1 RUST_BACKTRACE=0 {env} {} --exact {} --ignored --nocapture --test-threads=1; sleep 60",
        exe.display(),
        crate::common::test_name(module_path!(), test)
    );
    let status = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "80",
            "-y",
            "24",
            &child,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    Some(Session(name))
}

#[test]
fn real_terminal_is_restored_on_panic() {
    let Some(s) = start("child_wizard_panics") else {
        return;
    };
    s.wait_for("Saved profiles");
    s.tmux(&["send-keys", "-t", &s.0, "Enter"]);
    // Wait for the test harness's last line, printed after the terminal was restored.
    let screen = s.wait_for("test result:");
    assert!(
        !screen.contains("Saved profiles"),
        "the alternate screen must be left before the panic report:\n{screen}"
    );
    assert!(
        screen.lines().any(|l| l.trim() == PANIC_MESSAGE),
        "the panic report must stay readable, not overwritten:\n{screen}"
    );
}

#[test]
fn real_terminal_paste_and_ctrl_c_restore() {
    let Some(s) = start("child_wizard") else {
        return;
    };
    s.wait_for("No saved profiles yet.");
    s.tmux(&["send-keys", "-t", &s.0, "n"]);
    s.wait_for("Step 1 of 7: Cloud");
    s.tmux(&["send-keys", "-t", &s.0, "Enter"]);
    s.wait_for("Step 2 of 7: Tenant");
    // Bracketed paste: the pasted newline must not submit the field.
    s.tmux(&["set-buffer", "-b", &s.0, "contoso.onmicrosoft.com\n"]);
    s.tmux(&["paste-buffer", "-p", "-b", &s.0, "-t", &s.0]);
    let screen = s.wait_for("[contoso.onmicrosoft.com");
    assert!(screen.contains("Step 2 of 7: Tenant"), "{screen}");
    s.tmux(&["send-keys", "-t", &s.0, "C-c"]);
    let screen = s.wait_for(EXITED);
    assert!(
        !screen.contains("Step 2 of 7"),
        "the alternate screen must be left on exit:\n{screen}"
    );
}

/// Ctrl-C while a profile is being deleted waits for the delete, and what came of it (here
/// a failure) is printed after the wizard has left the screen, where it stays readable.
#[test]
fn what_a_delete_came_to_after_ctrl_c_is_printed_on_the_restored_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let release = dir.path().join("release");
    let Some(s) = start_with(
        "child_wizard_deleting",
        &format!("{RELEASE_ENV}='{}'", release.display()),
    ) else {
        return;
    };
    s.wait_for("contoso");
    s.tmux(&["send-keys", "-t", &s.0, "d"]);
    s.wait_for("Delete profile contoso");
    s.tmux(&["send-keys", "-t", &s.0, "y"]);
    s.wait_for("Deleting contoso");
    s.tmux(&["send-keys", "-t", &s.0, "C-c"]);
    s.wait_for("The wizard quits once profile contoso is deleted.");
    std::fs::write(&release, "").unwrap();
    let screen = s.wait_for(EXITED);
    assert!(
        !screen.contains("Saved profiles"),
        "the alternate screen must be left first:\n{screen}"
    );
    // The test harness prints its line first, and the pane wraps at 80 columns.
    assert!(
        screen
            .replace('\n', "")
            .contains(&format!("error: {DELETE_REFUSED}")),
        "what came of the delete must be printed:\n{screen}"
    );
}
