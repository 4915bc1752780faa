//! The real Secret Service on Linux: gnome-keyring-daemon in a private D-Bus session (never
//! the developer's keyring). Proves that a secret saved by entra-extract is readable by another
//! Secret Service client (`secret-tool`), follows a rename, and is removed with its profile.
//!
//! Needs `dbus-run-session`, `gnome-keyring-daemon` and `secret-tool`; when one is missing the
//! test fails and names `scripts/install-test-deps.sh`.
#![cfg(target_os = "linux")]

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SECRET: &str = "Ss9~real-secret-service-test.value_0123";
const OTHER: &str = "written-by-secret-tool~42";

/// The session script. Each step prints `key=value` lines for the assertions below.
const SCRIPT: &str = r#"
set -u
lookup() { secret-tool lookup service entra-extract username "profile:$1"; }
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
"$BIN" profile create sst --tenant contoso.example --client-id 11111111-2222-3333-4444-555555555555 >/dev/null 2>&1; echo "create=$?"
"$BIN" profile create keep --tenant contoso.example --client-id 11111111-2222-3333-4444-555555555555 >/dev/null 2>&1
"$BIN" profile set-secret sst --stdin < "$SECRET_FILE" >"$ROOT/set.out" 2>&1; echo "set=$?"
"$BIN" profile set-secret keep --stdin < "$SECRET_FILE" >/dev/null 2>&1; echo "set_keep=$?"
v=$(lookup sst); echo "lookup_rc=$?"; echo "lookup=$v"
"$BIN" profile show sst --json >"$ROOT/show.json" 2>&1; echo "show=$?"
"$BIN" profile rename sst sst2 >/dev/null 2>&1; echo "rename=$?"
v=$(lookup sst); echo "old_rc=$?"
v=$(lookup sst2); echo "new=$v"
printf '%s' "$OTHER" | secret-tool store --label other service entra-extract username profile:sst2; echo "store=$?"
"$BIN" profile show sst2 --json >"$ROOT/show2.json" 2>&1
"$BIN" profile remove sst2 >"$ROOT/remove.out" 2>&1; echo "remove=$?"
v=$(lookup sst2); echo "after_rc=$?"
v=$(lookup keep); echo "keep=$v"
"#;

#[test]
fn secret_service_round_trip_with_secret_tool() {
    common::require_secret_service_tools();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let secret_file = r.join("secret.txt");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let (config, data) = (r.join("config"), r.join("data"));
    let out = dbus_session(r, SCRIPT, &secret_file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let context = format!(
        "stdout:\n{stdout}\nstderr:\n{}\nset:\n{}\nremove:\n{}",
        String::from_utf8_lossy(&out.stderr),
        read(&r.join("set.out")),
        read(&r.join("remove.out")),
    );
    let kv: HashMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| kv.get(k).copied().unwrap_or("<missing>");

    assert_eq!(get("create"), "0", "{context}");
    assert_eq!(get("set"), "0", "{context}");
    assert_eq!(get("set_keep"), "0", "{context}");
    // Another Secret Service client reads exactly what entra-extract stored.
    assert_eq!(get("lookup_rc"), "0", "{context}");
    assert_eq!(get("lookup"), SECRET, "{context}");
    assert!(
        read(&r.join("set.out")).contains("Secret Service"),
        "{context}"
    );
    let show: serde_json::Value = serde_json::from_str(&read(&r.join("show.json"))).unwrap();
    assert_eq!(show["secret"]["presence"], "present", "{context}");
    // Rename moved the entry.
    assert_eq!(get("rename"), "0", "{context}");
    assert_ne!(get("old_rc"), "0", "old entry still present\n{context}");
    assert_eq!(get("new"), SECRET, "{context}");
    // An entry written by another client under our attributes is the same entry.
    assert_eq!(get("store"), "0", "{context}");
    let show2: serde_json::Value = serde_json::from_str(&read(&r.join("show2.json"))).unwrap();
    assert_eq!(show2["secret"]["presence"], "present", "{context}");
    // Remove deleted it; the other profile's entry is untouched.
    assert_eq!(get("remove"), "0", "{context}");
    assert!(
        read(&r.join("remove.out")).contains("deleted its secret"),
        "{context}"
    );
    assert_ne!(get("after_rc"), "0", "entry survived remove\n{context}");
    assert_eq!(get("keep"), SECRET, "{context}");

    // Neither the profile files nor the run history hold the secret.
    let files = files_under(&[&config, &data]);
    assert!(!files.is_empty());
    for f in files {
        assert!(
            !read(&f).contains(SECRET),
            "secret found in {}",
            f.display()
        );
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn files_under(roots: &[&Path]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack: Vec<PathBuf> = roots.iter().map(|p| p.to_path_buf()).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            files.push(p);
        }
    }
    files
}

/// Runs `script` in a private D-Bus session with its own HOME, runtime, config and data
/// directories under `r`, the Secret Service chosen, and `$BIN`, `$SECRET_FILE`, `$ROOT` set.
fn dbus_session(r: &Path, script: &str, secret_file: &Path) -> std::process::Output {
    common::dbus_session(
        r,
        script,
        &[
            ("SECRET_FILE", secret_file.as_os_str()),
            ("OTHER", OTHER.as_ref()),
        ],
    )
}

/// The 2 a.m. case: a scheduled run finds the keyring locked (nobody is logged in to unlock
/// it). The run must not wait for a prompt no one sees: it fails at once with exit code 2,
/// says the keyring may be locked and how else to supply the secret, and `--json` still
/// prints a report.
const LOCKED: &str = r#"
set -u
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
"$BIN" profile create night --tenant contoso.example --client-id 11111111-2222-3333-4444-555555555555 --output-dir "$ROOT/out" >/dev/null 2>&1; echo "create=$?"
"$BIN" profile set-secret night --stdin < "$SECRET_FILE" >/dev/null 2>&1; echo "set=$?"
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
  org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null 2>&1; echo "lock=$?"
timeout 120 "$BIN" run --profile night --json >"$ROOT/run.json" 2>"$ROOT/run.err"; echo "run=$?"
"#;

#[test]
fn a_locked_keyring_fails_the_run_at_once_with_exit_code_2() {
    common::require_secret_service_tools();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let secret_file = r.join("secret.txt");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let out = dbus_session(r, LOCKED, &secret_file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let err = read(&r.join("run.err"));
    let context = format!("stdout:\n{stdout}\nrun stderr:\n{err}");
    let kv: HashMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    for step in ["create", "set", "lock"] {
        assert_eq!(kv.get(step).copied(), Some("0"), "{step}\n{context}");
    }
    // 124 would be the timeout: the run hung on the locked keyring.
    assert_eq!(kv.get("run").copied(), Some("2"), "{context}");
    assert!(
        err.contains("may be locked") && err.contains("ENTRA_EXTRACT_CLIENT_SECRET"),
        "{context}"
    );
    let report: serde_json::Value = serde_json::from_str(&read(&r.join("run.json"))).unwrap();
    assert_eq!(report["exit_code"], 2, "{report}");
    assert!(!r.join("out").join("manifest.json").exists());
}
