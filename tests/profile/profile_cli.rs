//! End-to-end tests of `entra-extract profile …` through the binary, in temporary config and
//! data directories, with the OS keyring disabled so no developer keyring is ever touched.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use entra_extract::profile::history::History;
use entra_extract::profile::{Dirs, Outcome, ProfileName, RunRecord};
use predicates::prelude::*;

const SECRET: &str = "Qx8~Zt.unit-test-secret-value_0123456789";

struct Env {
    _root: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

impl Env {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let config = root.path().join("config");
        let data = root.path().join("data");
        Env {
            _root: root,
            config,
            data,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("entra-extract").unwrap();
        c.env("ENTRA_EXTRACT_CONFIG_DIR", &self.config)
            .env("ENTRA_EXTRACT_DATA_DIR", &self.data)
            .env("ENTRA_EXTRACT_KEYRING_STORE", "none")
            .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
            .env_remove("CREDENTIALS_DIRECTORY");
        c
    }

    fn profile(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd().arg("profile").args(args).assert()
    }

    /// `profile create NAME` of a fixed tenant and app, which must succeed.
    fn create(&self, name: &str) {
        self.profile(&[
            "create",
            name,
            "--tenant",
            "contoso.example",
            "--client-id",
            "11111111-2222-3333-4444-555555555555",
        ])
        .success();
    }

    fn history(&self) -> History {
        History::new(&Dirs::new(&self.config, &self.data))
    }
}

fn record() -> RunRecord {
    RunRecord {
        started: chrono::DateTime::parse_from_rfc3339("2026-11-27T01:02:03Z")
            .unwrap()
            .to_utc(),
        duration_secs: 12.5,
        outcome: Outcome::Warnings,
        users: 1234,
        groups: 56,
        member_edges: 789,
        owner_edges: 10,
        warnings: 2,
        output_dir: PathBuf::from("/srv/out"),
        mode: None,
        changes: None,
    }
}

fn stdout_json(a: &assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

#[test]
fn create_list_show_rename_remove() {
    let env = Env::new();
    env.profile(&["list"])
        .success()
        .stdout(predicate::str::contains("No saved profiles"));
    env.profile(&[
        "create",
        "contoso",
        "--tenant",
        "contoso.onmicrosoft.com",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--cloud",
        "us-gov",
        "--output-dir",
        "/srv/out",
        "--extra-user-attribute",
        "department",
        "--extra-user-attribute",
        "jobTitle",
        "--bom",
    ])
    .success()
    .stdout(predicate::str::contains("profile set-secret contoso"));
    env.profile(&[
        "create",
        "contoso",
        "--tenant",
        "contoso.example",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
    ])
    .code(2)
    .stderr(predicate::str::contains("already exists"));

    let name = ProfileName::new("contoso").unwrap();
    env.history().append(&name, &record()).unwrap();

    env.profile(&["list"]).success().stdout(
        predicate::str::contains("contoso.onmicrosoft.com")
            .and(predicate::str::contains("us-gov"))
            .and(predicate::str::contains("2026-11-27 01:02 UTC"))
            .and(predicate::str::contains("warnings"))
            .and(predicate::str::contains("1234 users")),
    );
    let a = env.profile(&["list", "--json"]).success();
    let v = stdout_json(&a);
    assert_eq!(v[0]["name"], "contoso");
    assert_eq!(v[0]["cloud"], "us-gov");
    assert_eq!(v[0]["last_run"]["outcome"], "warnings");
    assert_eq!(v[0]["last_run"]["users"], 1234);

    let a = env.profile(&["show", "contoso", "--json"]).success();
    let v = stdout_json(&a);
    assert_eq!(v["tenant"], "contoso.onmicrosoft.com");
    assert_eq!(v["extra_user_attributes"][1], "jobTitle");
    assert_eq!(v["bom"], true);
    // Made absolute when saved: on Windows, on the current drive.
    let srv_out = std::path::absolute("/srv/out").unwrap();
    assert_eq!(v["output_dir"], srv_out.to_str().unwrap());
    assert_eq!(v["secret_storage"], "keyring");
    assert_eq!(v["secret"]["presence"], "unknown");
    env.profile(&["show", "contoso"]).success().stdout(
        predicate::str::contains("graph.microsoft.us")
            .and(predicate::str::contains("OS keyring"))
            .and(predicate::str::contains("1234 users")),
    );

    env.profile(&["rename", "contoso", "fabrikam"]).success();
    env.profile(&["show", "contoso"])
        .code(2)
        .stderr(predicate::str::contains("no profile named \"contoso\""));
    let a = env.profile(&["show", "fabrikam", "--json"]).success();
    let v = stdout_json(&a);
    assert_eq!(v["name"], "fabrikam");
    assert_eq!(
        v["last_run"]["users"], 1234,
        "history moved with the rename"
    );

    env.profile(&["remove", "fabrikam"]).success();
    env.profile(&["list", "--json"])
        .success()
        .stdout(predicate::str::diff("[]\n"));
    let fab = ProfileName::new("fabrikam").unwrap();
    assert!(env.history().runs(&fab).unwrap().is_empty());
}

#[test]
fn bad_names_and_custom_cloud_without_urls_are_config_errors() {
    let env = Env::new();
    env.profile(&[
        "create",
        "../etc",
        "--tenant",
        "contoso.example",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
    ])
    .code(2)
    .stderr(predicate::str::contains("not a valid profile name"));
    env.profile(&[
        "create",
        "c",
        "--tenant",
        "contoso.example",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--cloud",
        "custom",
    ])
    .code(2)
    .stderr(predicate::str::contains("authority URL and a Graph URL"));
    env.profile(&[
        "create",
        "c",
        "--tenant",
        "contoso.example",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--cloud",
        "custom",
        "--authority-url",
        "http://login.example.com",
        "--graph-url",
        "https://graph.example.com",
    ])
    .code(2)
    .stderr(predicate::str::contains("plain http"));
}

#[test]
fn damaged_and_newer_files_give_clear_errors() {
    let env = Env::new();
    let dir = env.config.join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("broken.toml"),
        "schema_version = 1\nname = \"broken\"\ntenant = \"contoso.example\"\nclient_id = \n",
    )
    .unwrap();
    std::fs::write(
        dir.join("future.toml"),
        "schema_version = 7\nname = \"future\"\nhologram = true\n",
    )
    .unwrap();
    env.profile(&["show", "broken"]).code(2).stderr(
        predicate::str::contains("broken.toml").and(predicate::str::contains("damaged at line 4")),
    );
    env.profile(&["show", "future"]).code(2).stderr(
        predicate::str::contains("future.toml")
            .and(predicate::str::contains("written by a newer entra-extract")),
    );
    // One bad file does not hide the others.
    env.create("good");
    let a = env.profile(&["list", "--json"]).success();
    let v = stdout_json(&a);
    let names: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, ["broken", "future", "good"]);
    assert!(v[0]["error"].as_str().unwrap().contains("damaged"));
    // A damaged profile can still be removed.
    env.profile(&["remove", "broken"]).success();
    assert!(!dir.join("broken.toml").exists());
}

#[test]
fn set_secret_never_takes_the_secret_as_an_argument() {
    let env = Env::new();
    env.create("p");
    env.profile(&["set-secret", "p", "--secret", SECRET])
        .code(2);
    env.profile(&["set-secret", "p", SECRET]).code(2);
    // Without --stdin and without a terminal there is nothing safe to read from.
    env.cmd()
        .args(["profile", "set-secret", "p"])
        .write_stdin(SECRET)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--stdin"));
}

#[test]
fn set_secret_without_a_keyring_explains_the_headless_options() {
    let env = Env::new();
    env.create("p");
    env.cmd()
        .args(["profile", "set-secret", "p", "--stdin"])
        .write_stdin(SECRET)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("ENTRA_EXTRACT_CLIENT_SECRET")
                .and(predicate::str::contains(
                    "LoadCredential=entra-extract-client-secret",
                ))
                .and(predicate::str::contains("set-secret p --storage"))
                .and(predicate::str::contains("--storage plaintext-file"))
                .and(predicate::str::contains(SECRET).not()),
        );
}

#[test]
fn plaintext_opt_in_is_owner_only_loud_and_validated() {
    let env = Env::new();
    env.profile(&[
        "create",
        "p",
        "--tenant",
        "contoso.example",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--plaintext-secret-file",
    ])
    .success()
    .stderr(predicate::str::contains("warning: ").and(predicate::str::contains("plain text")));
    env.cmd()
        .args(["profile", "set-secret", "p", "--stdin"])
        .write_stdin("\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty"));
    env.cmd()
        .args(["profile", "set-secret", "p", "--stdin"])
        .write_stdin("7c4f5b4e-2f7d-4c43-9d1e-0b7e3c1d2a90\n")
        .assert()
        .success()
        .stderr(predicate::str::contains("secret ID"));
    env.cmd()
        .args(["profile", "set-secret", "p", "--stdin"])
        .write_stdin(format!("{SECRET}\n"))
        .assert()
        .success()
        .stderr(predicate::str::contains("plain text"));
    let file = env.config.join("secrets").join("p");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), SECRET);
    #[cfg(unix)] // modes
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    #[cfg(windows)] // DACLs
    {
        use entra_extract::private_fs::windows;
        assert_eq!(
            windows::dacl(&file).unwrap(),
            windows::owner_only_as_read_back(0).unwrap()
        );
    }
    let a = env.profile(&["show", "p", "--json"]).success();
    assert_eq!(stdout_json(&a)["secret"]["presence"], "present");

    env.profile(&["rename", "p", "q"]).success();
    assert!(!file.exists());
    assert!(env.config.join("secrets").join("q").exists());
    env.profile(&["remove", "q"]).success();
    assert!(!env.config.join("secrets").join("q").exists());
}

#[test]
fn the_secret_appears_in_no_profile_file_history_or_output() {
    let env = Env::new();
    env.create("k");
    env.profile(&[
        "create",
        "pt",
        "--tenant",
        "contoso.example",
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--plaintext-secret-file",
    ])
    .success();
    env.cmd()
        .args(["profile", "set-secret", "pt", "--stdin"])
        .write_stdin(SECRET)
        .assert()
        .success();
    for n in ["k", "pt"] {
        env.history()
            .append(&ProfileName::new(n).unwrap(), &record())
            .unwrap();
    }
    let mut outputs = Vec::new();
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["show", "k"],
        &["show", "k", "--json"],
        &["show", "pt"],
        &["show", "pt", "--json"],
    ] {
        let out = env
            .cmd()
            .env("ENTRA_EXTRACT_CLIENT_SECRET", SECRET)
            .arg("profile")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    for o in &outputs {
        assert!(!String::from_utf8_lossy(o).contains(SECRET));
    }
    let opt_in_file = env.config.join("secrets").join("pt");
    let (scanned, found) = scan_for(&[&env.config, &env.data], SECRET.as_bytes());
    assert!(scanned >= 5, "scanned only {scanned} files");
    // Only the explicit plaintext opt-in holds it (which also proves the scan can find it).
    assert_eq!(found, vec![opt_in_file]);
}

/// Scans every file under `roots` for `needle`: how many files were read, and which hold it.
fn scan_for(roots: &[&Path], needle: &[u8]) -> (usize, Vec<PathBuf>) {
    let mut scanned = 0;
    let mut found = Vec::new();
    let mut stack: Vec<PathBuf> = roots.iter().map(|p| p.to_path_buf()).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(p);
            }
            scanned += 1;
        }
    }
    (scanned, found)
}
