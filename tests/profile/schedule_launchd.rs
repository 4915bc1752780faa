//! `entra-extract schedule` with launchd (macOS): the LaunchAgent plist the binary writes is
//! a valid property list (Python's `plistlib`; `plutil -lint` too where it exists, i.e. on
//! macOS) with the program, the directory overrides, the calendar interval and the log, and
//! no secret; `schedule add` writes it to `~/Library/LaunchAgents` and loads it with
//! `launchctl bootstrap gui/<uid>`, here a stand-in `launchctl` first in `PATH` that logs its
//! arguments (no launchd on the test machines). On macOS, `schedule list` reads the plist
//! back and `schedule remove` boots the agent out and deletes it.
//!
//! Unix only: `#!/bin/sh` stand-ins, `python3` and `plutil` are Unix tools; generation is the
//! same code on every platform.
#![cfg(unix)]
#![allow(
    clippy::disallowed_macros,
    reason = "the test harness captures what tests print"
)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Sim, TestEnv, assert_exit, create_profile};

const PROFILE: &str = "contoso";

struct Mac {
    env: TestEnv,
    home: PathBuf,
    bin: PathBuf,
}

impl Mac {
    fn new() -> Mac {
        let env = TestEnv::new();
        let home = env.root.path().join("home");
        let bin = env.root.path().join("bin");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let log = env.root.path().join("launchctl.log");
        // `bootstrap` fails when the test sets FAKE_BOOTSTRAP_FAILS.
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nif [ \"$1\" = bootstrap ] && [ -n \"$FAKE_BOOTSTRAP_FAILS\" ]; then echo 'Bootstrap failed: 5: Input/output error' >&2; exit 5; fi\nexit 0\n",
            log.display()
        );
        let fake = bin.join("launchctl");
        std::fs::write(&fake, script).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        Mac { env, home, bin }
    }

    fn command(&self) -> assert_cmd::Command {
        let mut c = self.env.command();
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap());
        c.env("HOME", &self.home).env("PATH", path);
        c
    }

    /// `schedule add --profile contoso --scheduler launchd WHEN…`.
    fn add(&self, when: &[&str]) -> assert_cmd::Command {
        let mut c = self.command();
        c.args([
            "schedule",
            "add",
            "--profile",
            PROFILE,
            "--scheduler",
            "launchd",
        ])
        .args(when);
        c
    }

    fn launchctl_log(&self) -> String {
        std::fs::read_to_string(self.env.root.path().join("launchctl.log")).unwrap_or_default()
    }

    fn plist(&self) -> PathBuf {
        self.home
            .join("Library/LaunchAgents")
            .join(format!("local.entra-extract.{PROFILE}.plist"))
    }
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `plistlib.load` of `file`, printed back as JSON; and `plutil -lint` where it exists.
fn parse_plist(file: &Path) -> serde_json::Value {
    let o = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, plistlib, sys\nwith open(sys.argv[1], 'rb') as f:\n    print(json.dumps(plistlib.load(f)))",
        ])
        .arg(file)
        .output()
        .expect("python3 runs (scripts/install-test-deps.sh installs it)");
    assert!(
        o.status.success(),
        "plistlib refuses {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    match std::process::Command::new("plutil")
        .arg("-lint")
        .arg(file)
        .output()
    {
        Ok(lint) => assert!(lint.status.success(), "plutil -lint: {}", stdout(&lint)),
        // Only macOS has plutil; plistlib above is the check everywhere else.
        Err(e) => eprintln!("note: plutil -lint not run ({e}); plistlib parsed the plist"),
    }
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn printed_agents_are_valid_property_lists_with_no_secret() {
    let sim = Sim::small();
    let mac = Mac::new();
    create_profile(
        &sim,
        &mac.env,
        PROFILE,
        &mac.env.out("out"),
        &["--plaintext-secret-file"],
    );
    for (when, keys) in [
        (&["hourly"][..], &["Minute"][..]),
        (&["daily", "02:30"], &["Hour", "Minute"]),
        (&["weekly", "sat", "23:59"], &["Weekday", "Hour", "Minute"]),
    ] {
        let o = mac.add(&["--print"]).args(when).output().unwrap();
        assert_exit(&o, 0);
        let file = mac.env.root.path().join("printed.plist");
        std::fs::write(&file, stdout(&o)).unwrap();
        let plist = parse_plist(&file);
        assert_eq!(plist["Label"], "local.entra-extract.contoso");
        let args: Vec<&str> = plist["ProgramArguments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(args[0], env!("CARGO_BIN_EXE_entra-extract"));
        assert_eq!(&args[1..], ["run", "--profile", PROFILE, "--quiet"]);
        let env = &plist["EnvironmentVariables"];
        assert_eq!(
            env["ENTRA_EXTRACT_DATA_DIR"],
            mac.env.data_dir().to_string_lossy().as_ref()
        );
        assert!(!stdout(&o).contains("CLIENT_SECRET"));
        let calendar = plist["StartCalendarInterval"].as_object().unwrap();
        let mut got: Vec<&str> = calendar.keys().map(String::as_str).collect();
        let mut want = keys.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{when:?}");
        assert!(calendar.values().all(|v| v.is_u64()), "{calendar:?}");
        assert_eq!(plist["Umask"], 63);
        let log = mac.env.data_dir().join("logs/schedule-contoso.log");
        assert_eq!(plist["StandardOutPath"], log.to_string_lossy().as_ref());
    }
}

#[test]
fn add_writes_the_agent_and_bootstraps_it_into_the_gui_domain() {
    let sim = Sim::small();
    let mac = Mac::new();
    create_profile(
        &sim,
        &mac.env,
        PROFILE,
        &mac.env.out("out"),
        &["--plaintext-secret-file"],
    );
    let o = mac.add(&["daily", "02:00"]).output().unwrap();
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("launchd has no random delay"), "{text}");
    assert!(text.contains("login keychain"), "{text}");
    let plist = mac.plist();
    let mode = std::fs::metadata(&plist).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "owner-only");
    let parsed = parse_plist(&plist);
    assert_eq!(parsed["StartCalendarInterval"]["Hour"], 2);
    let uid = current_uid();
    assert_eq!(
        mac.launchctl_log(),
        format!(
            "bootout gui/{uid}/local.entra-extract.contoso\nbootstrap gui/{uid} {}\n",
            plist.display()
        )
    );
    let toml = std::fs::read_to_string(mac.env.config_dir().join("profiles/contoso.toml")).unwrap();
    assert!(toml.contains("schedule = \"daily 02:00\""), "{toml}");
}

/// A failed `launchctl bootstrap` leaves no plist in LaunchAgents (launchd would load it at
/// the next login, running a schedule reported as failed) and no schedule in the profile.
#[test]
fn a_failed_bootstrap_leaves_no_agent_to_load_at_the_next_login() {
    let sim = Sim::small();
    let mac = Mac::new();
    create_profile(
        &sim,
        &mac.env,
        PROFILE,
        &mac.env.out("out"),
        &["--plaintext-secret-file"],
    );
    let o = mac
        .add(&["hourly"])
        .env("FAKE_BOOTSTRAP_FAILS", "1")
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    assert!(mac.launchctl_log().contains("bootstrap"));
    assert!(!mac.plist().exists(), "the failed agent's plist stayed");
    let toml = std::fs::read_to_string(mac.env.config_dir().join("profiles/contoso.toml")).unwrap();
    assert!(!toml.contains("schedule ="), "{toml}");
}

#[test]
fn a_launchd_agent_needs_a_stored_secret_or_a_named_credential_file() {
    let sim = Sim::small();
    let mac = Mac::new();
    create_profile(&sim, &mac.env, PROFILE, &mac.env.out("out"), &[]);
    let toml = mac.env.config_dir().join("profiles/contoso.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "secret_storage = \"keyring\"",
        "secret_storage = \"environment\"",
    );
    std::fs::write(&toml, text).unwrap();
    let o = mac.add(&["hourly"]).output().unwrap();
    assert_exit(&o, 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("a launchd agent has no environment to take it from"),
        "{err}"
    );
    assert!(mac.launchctl_log().is_empty());
}

fn current_uid() -> String {
    let o = std::process::Command::new("id").arg("-u").output().unwrap();
    stdout(&o).trim().to_string()
}

#[cfg(target_os = "macos")] // launchd is the native scheduler only there: list and remove use it.
#[test]
fn list_reads_the_agent_back_and_remove_boots_it_out() {
    let sim = Sim::small();
    let mac = Mac::new();
    create_profile(
        &sim,
        &mac.env,
        PROFILE,
        &mac.env.out("out"),
        &["--plaintext-secret-file"],
    );
    let o = mac
        .command()
        .args([
            "schedule",
            "add",
            "--profile",
            PROFILE,
            "weekly",
            "mon",
            "06:30",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let o = mac.command().args(["schedule", "list"]).output().unwrap();
    assert_exit(&o, 0);
    assert!(
        stdout(&o)
            .contains("launchd agent local.entra-extract.contoso (fires weekly on Monday at 06:"),
        "{}",
        stdout(&o)
    );
    let o = mac
        .command()
        .args(["schedule", "remove", "--profile", PROFILE])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert!(!mac.plist().exists());
    assert!(mac.launchctl_log().contains(&format!(
        "bootout gui/{}/local.entra-extract.contoso\n",
        current_uid()
    )));
}
