//! A Windows user's path through the README, through the binary, with nothing overridden:
//! the profile lands under `%APPDATA%`, its run history and state under `%LOCALAPPDATA%`, its
//! secret in the Windows Credential Manager; `check`,
//! `run`, a change in the tenant (`POST /_sim/evolve`), an incremental rerun whose files equal
//! a full extraction of the changed tenant, and `profile remove` leaving no file and no
//! Credential Manager entry behind.
//!
//! Windows only: the Credential Manager and the known folder `%APPDATA%` exist only there
//! (CI runs it under Wine; docs/windows.md). The same path on Linux, with the Secret Service,
//! is tests/profile/app_create.rs and tests/run/run_profiles.rs.
#![cfg(windows)] // The Credential Manager and the known folder %APPDATA% are Windows'.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{
    Extraction, Sim, assert_exit, assert_private_and_clean, check_manifest, json_stdout,
    no_throttle,
};
use entra_extract::profile::ProfileName;
use entra_extract::secret::{SecretError, SecretStore, StoreChoice};
use entra_sim::{DemoAppKind, DeviceApproval, SimAdmin, SimConfig};
use secrecy::ExposeSecret;

/// The binary as a user starts it: the OS directories and the platform keyring, no secret in
/// the environment.
fn user_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_entra-extract"));
    for var in [
        "ENTRA_EXTRACT_CONFIG_DIR",
        "ENTRA_EXTRACT_DATA_DIR",
        "ENTRA_EXTRACT_KEYRING_STORE",
        "ENTRA_EXTRACT_CLIENT_SECRET",
        "CREDENTIALS_DIRECTORY",
        "ENTRA_EXTRACT_LOG",
    ] {
        c.env_remove(var);
    }
    c.stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    user_command().args(args).output().expect("the binary runs")
}

/// `%APPDATA%\entra-extract`: where the README says profiles and run history go on Windows.
fn app_root() -> PathBuf {
    PathBuf::from(std::env::var_os("APPDATA").expect("Windows sets APPDATA")).join("entra-extract")
}

/// `%LOCALAPPDATA%\entra-extract`: run history, incremental state and logs stay on the
/// machine instead of roaming with the user's profile.
fn local_root() -> PathBuf {
    PathBuf::from(std::env::var_os("LOCALAPPDATA").expect("Windows sets LOCALAPPDATA"))
        .join("entra-extract")
}

/// The secret the Credential Manager holds for `name`, if any.
fn from_credential_manager(name: &str) -> Option<String> {
    let name = ProfileName::new(name).expect("valid name");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SecretStore::open(StoreChoice::Platform)
            .await
            .expect("the Credential Manager opens");
        match store.load(&name).await {
            Ok(secret) => Some(secret.expose_secret().to_owned()),
            Err(SecretError::NotFound { .. }) => None,
            Err(e) => panic!("the entry cannot be read: {e}"),
        }
    })
}

/// Whether the Credential Manager holds a secret for `name`.
fn in_credential_manager(name: &str) -> bool {
    from_credential_manager(name).is_some()
}

/// Removes the profile if the test fails half-way, so a shared Wine prefix (or a developer's
/// real `%APPDATA%`, on Windows) keeps nothing of it.
struct RemoveOnDrop(String);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = run(&["profile", "remove", &self.0, "--force"]);
    }
}

/// Every path under `dir` (files and directories) whose name contains `needle`.
fn named_after(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().contains(needle) {
            found.push(path.clone());
        }
        if path.is_dir() {
            found.extend(named_after(&path, needle));
        }
    }
    found
}

#[test]
fn a_windows_user_keeps_the_secret_in_the_credential_manager_and_reruns_incrementally() {
    let mut sim = Sim::small();
    let app = sim.app(DemoAppKind::Full);
    let name = format!("windows-user-{}", std::process::id());
    let _cleanup = RemoveOnDrop(name.clone());
    let out_root = tempfile::tempdir().unwrap();
    let out = out_root.path().join("exports");

    // profile create: the file lands in %APPDATA%\entra-extract\config\profiles.
    let base = sim.base();
    let o = run(&[
        "profile",
        "create",
        &name,
        "--cloud",
        "custom",
        "--authority-url",
        &base,
        "--graph-url",
        &base,
        "--tenant",
        &sim.tenant(),
        "--client-id",
        &app.client_id,
        "--output-dir",
        out.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    let profile_file = app_root()
        .join("config")
        .join("profiles")
        .join(format!("{name}.toml"));
    assert!(
        profile_file.is_file(),
        "no {}; stdout: {}",
        profile_file.display(),
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&profile_file.display().to_string()),
        "profile create names where it wrote: {}",
        String::from_utf8_lossy(&o.stdout)
    );

    // The secret, piped in as from a password manager, goes to the Credential Manager.
    let mut child = user_command()
        .args(["profile", "set-secret", &name, "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", app.client_secret).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 0);
    assert!(
        in_credential_manager(&name),
        "the secret is in the Credential Manager"
    );
    assert!(
        !std::fs::read_to_string(&profile_file)
            .unwrap()
            .contains(&app.client_secret),
        "the profile file never holds the secret"
    );

    let o = run(&["check", "--profile", &name, "--json"]);
    assert_exit(&o, 0);

    // The first run reads everything.
    let o = run(&["run", "--profile", &name, "--json", "-q"]);
    assert_exit(&o, 0);
    assert_eq!(json_stdout(&o)["mode"], "full");
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    assert_private_and_clean(&out);
    let data = local_root().join("data");
    assert!(data.join("history").join(format!("{name}.jsonl")).is_file());
    assert!(data.join("state").join(&name).is_dir());
    assert_eq!(
        named_after(&app_root().join("data"), &name),
        Vec::<PathBuf>::new(),
        "nothing of the run roams in %APPDATA%"
    );

    // The tenant changes; the rerun reads only the changes and writes the same files a full
    // extraction of the changed tenant would.
    let applied = sim.evolve(12, 7);
    assert!(
        !applied["changes"].as_array().unwrap().is_empty(),
        "the tenant changed"
    );
    let o = run(&["run", "--profile", &name, "--json", "-q"]);
    assert_exit(&o, 0);
    let report = json_stdout(&o);
    assert_eq!(report["mode"], "incremental", "{report:#}");
    assert!(report["changes"].is_object(), "{report:#}");
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    let manifest = check_manifest(&out, &sim.domain());
    assert_eq!(manifest["run"]["mode"], "incremental");
    assert_private_and_clean(&out);
    for file in report["files"].as_array().expect("files in the report") {
        let path = file.as_str().expect("a path");
        assert!(
            !path.contains('/'),
            "a Windows path has one kind of separator: {path}"
        );
    }

    // `profile list` shows it with its last run.
    let o = run(&["profile", "list", "--json"]);
    assert_exit(&o, 0);
    let list = json_stdout(&o);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name.as_str()),
        "{list:#}"
    );

    // profile remove leaves nothing: no file named after it, no Credential Manager entry.
    let o = run(&["profile", "remove", &name, "--force"]);
    assert_exit(&o, 0);
    assert_eq!(named_after(&app_root(), &name), Vec::<PathBuf>::new());
    assert_eq!(named_after(&local_root(), &name), Vec::<PathBuf>::new());
    assert!(
        !in_credential_manager(&name),
        "profile remove deletes the Credential Manager entry"
    );
    // The exports are the user's: they stay.
    assert!(common::csv_path(&out, &sim.domain(), "users").is_file());
}

/// README's first command on Windows: the demo's summary names its files with Windows'
/// separator, also when the output directory was typed with `/` (Windows accepts both).
#[test]
fn the_headless_demo_names_its_files_with_one_kind_of_separator() {
    let tmp = tempfile::tempdir().unwrap();
    let typed = tmp
        .path()
        .join("demo")
        .display()
        .to_string()
        .replace('\\', "/");
    let o = user_command()
        .args(["demo", "--headless", "--latency-ms", "0", "-o", &typed])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let files: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.ends_with(".csv") || l.ends_with(".json"))
        .collect();
    assert_eq!(files.len(), 5, "{stdout}");
    for file in files {
        assert!(!file.contains('/'), "mixed separators in {file:?}");
        assert!(Path::new(file).is_file(), "{file} exists");
    }
}

/// `app create` and `profile rotate-secret` (README's "No app registration yet"): the new
/// secret goes straight into the Credential Manager, the rotation replaces it there, and the
/// profile extracts the tenant with each.
#[test]
fn app_create_and_rotation_keep_the_secret_in_the_credential_manager() {
    let sim = Sim::start(no_throttle(SimConfig {
        device_approval: Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)),
        device_poll_interval: std::time::Duration::from_secs(1),
        ..SimConfig::default()
    }));
    let name = format!("windows-app-{}", std::process::id());
    let _cleanup = RemoveOnDrop(name.clone());
    let out_root = tempfile::tempdir().unwrap();
    let out = out_root.path().join("exports");
    let admin = sim.admin_flags();
    let mut args = vec!["app", "create", "--profile", &name];
    args.extend(admin.iter().map(String::as_str));
    args.extend(["--output-dir", out.to_str().unwrap()]);
    let o = run(&args);
    assert_exit(&o, 0);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        said.contains("Windows Credential Manager"),
        "says where the secret went: {said}"
    );
    let first = from_credential_manager(&name).expect("the new secret is stored");
    assert_eq!(
        &first[4..6],
        "Q~",
        "an Entra-shaped secret, read back whole"
    );

    let o = run(&["run", "--profile", &name, "--json", "-q"]);
    assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));

    let o = run(&["profile", "rotate-secret", &name]);
    assert_exit(&o, 0);
    let rotated = from_credential_manager(&name).expect("the rotated secret is stored");
    assert_ne!(rotated, first, "the rotation replaced the secret");
    let o = run(&["run", "--profile", &name, "--json", "-q"]);
    assert_exit(&o, 0);

    let o = run(&["profile", "remove", &name, "--force"]);
    assert_exit(&o, 0);
    assert!(!in_credential_manager(&name));
}
