//! `run --profile NAME` with the secret from the environment, from an opted-in plaintext
//! file and (on Linux) from a private Secret Service; the run history shows each run; and the
//! secret is nowhere on disk or in any output.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Extraction, Sim, TestEnv, assert_exit, check_manifest, create_profile};
use entra_sim::DemoAppKind;
use serde_json::Value;

fn last_run(env: &TestEnv, name: &str) -> Value {
    let list = common::profile_list(env.command());
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))["last_run"]
        .clone()
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            files.push(p);
        }
    }
    files
}

/// Neither the files under `roots` nor the outputs contain `secret` (nor its tail, in case
/// a prefix was cut off or masked).
fn assert_secret_absent(secret: &str, roots: &[&Path], outputs: &[&Output]) {
    let needles = [secret, &secret[secret.len() - 16..]];
    let mut scanned = 0;
    for root in roots {
        for f in files_under(root) {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            for n in needles {
                assert!(!text.contains(n), "secret found in {}", f.display());
            }
            scanned += 1;
        }
    }
    assert!(scanned > 0, "nothing to scan");
    for o in outputs {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        for n in needles {
            assert!(!text.contains(n), "secret found in command output:\n{text}");
        }
    }
}

fn assert_extraction(sim: &Sim, out: &Path) {
    Extraction::read(out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    check_manifest(out, &sim.domain());
}

#[test]
fn profile_with_secret_from_environment() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, "contoso", &out, &[]);
    let secret = sim.app(DemoAppKind::Full).client_secret;

    // Verbose logs, so a leak through tracing would show.
    let run = env
        .command()
        .args(["run", "--profile", "contoso", "--json"])
        .env("ENTRA_EXTRACT_CLIENT_SECRET", &secret)
        .env("ENTRA_EXTRACT_LOG", "trace")
        .output()
        .unwrap();
    assert_exit(&run, 0);
    assert_extraction(&sim, &out);
    let human = env
        .command()
        .args(["run", "--profile", "contoso"])
        .env("ENTRA_EXTRACT_CLIENT_SECRET", &secret)
        .env("ENTRA_EXTRACT_LOG", "trace")
        .output()
        .unwrap();
    assert_exit(&human, 0);
    let check = env
        .command()
        .args(["check", "--profile", "contoso", "--json"])
        .env("ENTRA_EXTRACT_CLIENT_SECRET", &secret)
        .env("ENTRA_EXTRACT_LOG", "trace")
        .output()
        .unwrap();
    assert_exit(&check, 0);
    let show = env
        .command()
        .args(["profile", "show", "contoso", "--json"])
        .output()
        .unwrap();
    assert_exit(&show, 0);

    let last = last_run(&env, "contoso");
    assert_eq!(last["outcome"], "success", "{last}");
    assert_eq!(last["users"], sim.truth["users"].as_array().unwrap().len());
    assert_eq!(
        last["member_edges"],
        sim.truth["members"].as_array().unwrap().len()
    );
    let history = std::fs::read_to_string(env.data_dir().join("history/contoso.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2, "{history}");

    let logs = env.data_dir().join("logs");
    assert!(
        files_under(&logs)
            .iter()
            .any(|f| std::fs::metadata(f).unwrap().len() > 0),
        "no log written"
    );
    assert_secret_absent(
        &secret,
        &[&env.config_dir(), &env.data_dir(), &out],
        &[&run, &human, &check, &show],
    );
}

#[test]
fn profile_without_a_secret_is_refused_before_any_request() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, "nosecret", &out, &[]);
    let before = sim.stats()["tokenRequests"].as_u64().unwrap();
    let o = env
        .command()
        .args(["run", "--profile", "nosecret"])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("ENTRA_EXTRACT_CLIENT_SECRET"), "{stderr}");
    assert_eq!(sim.stats()["tokenRequests"].as_u64().unwrap(), before);
    assert!(!out.exists());
}

/// A run refused before it read anything (exit 2: here an extra attribute that is no
/// property name) is no run of the profile: the history keeps the last run that happened,
/// instead of a `failed` run that never started.
#[test]
fn a_refused_run_is_not_recorded_in_the_history() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, "refused", &out, &[]);
    let secret = sim.app(DemoAppKind::Full).client_secret;
    let run = |extra: &[&str]| {
        env.command()
            .args(["run", "--profile", "refused", "--json"])
            .args(extra)
            .env("ENTRA_EXTRACT_CLIENT_SECRET", &secret)
            .output()
            .unwrap()
    };
    assert_exit(&run(&[]), 0);
    let done = last_run(&env, "refused");
    assert_eq!(done["outcome"], "success", "{done}");

    let o = run(&["--extra-user-attribute", "not a name"]);
    assert_exit(&o, 2);
    assert_eq!(common::json_stdout(&o)["outcome"], "bad_config");
    assert_eq!(
        last_run(&env, "refused"),
        done,
        "the refused run was recorded"
    );
}

/// A run whose history cannot be written (here `<data>/history` is a file, so no history
/// file can be made under it, even by root) is not passed off as a clean success: the files
/// are committed, and the run ends with a warning on stderr, in `--json` and in the manifest
/// (exit 6), because `profile list` and the wizard will not show it.
#[test]
fn a_run_the_history_cannot_record_ends_with_a_warning() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, "unrecorded", &out, &[]);
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::write(env.data_dir().join("history"), "not a directory").unwrap();
    let o = common::run_profile(&sim, &env, "unrecorded");
    assert_exit(&o, 6);
    let report = common::json_stdout(&o);
    assert_eq!(report["outcome"], "warnings", "{report}");
    let said = |text: &str| text.contains("history") && text.contains("not recorded");
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| said(w.as_str().unwrap())),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with("warning:") && said(l)),
        "{stderr}"
    );
    let manifest = check_manifest(&out, &sim.domain());
    assert!(
        manifest["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == "history_not_saved" && said(w["detail"].as_str().unwrap())),
        "{manifest}"
    );
    assert_extraction(&sim, &out);
}

#[test]
fn profile_with_plaintext_secret_file() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, "plain", &out, &["--plaintext-secret-file"]);
    let secret = sim.app(DemoAppKind::Full).client_secret;
    let set = env
        .command()
        .args(["profile", "set-secret", "plain", "--stdin"])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap();
    assert_exit(&set, 0);
    let run = env
        .command()
        .args(["run", "--profile", "plain", "--json", "-q"])
        .output()
        .unwrap();
    assert_exit(&run, 0);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("warning"),
        "no plaintext warning: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_extraction(&sim, &out);
    assert_eq!(last_run(&env, "plain")["outcome"], "success");
    // The secret is in the opted-in file only.
    assert_secret_absent(&secret, &[&env.data_dir(), &out], &[&set, &run]);

    // Once others can read the file, the run refuses it and says how to close it.
    let file = env.config_dir().join("secrets").join("plain");
    #[cfg(unix)] // modes
    let remedy = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        "chmod 600"
    };
    #[cfg(windows)] // DACLs
    let remedy = {
        entra_extract::private_fs::windows::open_to_everyone(&file);
        "/inheritance:r /grant:r \"%USERNAME%:F\" /remove:g *S-1-1-0"
    };
    let refused = env
        .command()
        .args(["run", "--profile", "plain", "--json", "-q"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(remedy), "{stderr}");
}

/// The keyring path end to end: a private gnome-keyring in its own D-Bus session (never the
/// developer's), `profile set-secret --stdin`, then `run --profile` with no secret in the
/// environment. Needs the tools tests/profile/secret_service.rs needs.
#[cfg(target_os = "linux")]
#[test]
fn profile_with_secret_from_secret_service() {
    use std::collections::HashMap;
    const SCRIPT: &str = r#"
set -u
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
"$BIN" profile set-secret kr --stdin < "$SECRET_FILE" >"$ROOT/set.out" 2>&1; echo "set=$?"
"$BIN" run --profile kr --json -q >"$ROOT/run.json" 2>"$ROOT/run.err"; echo "run=$?"
"$BIN" check --profile kr --json >"$ROOT/check.json" 2>"$ROOT/check.err"; echo "check=$?"
"$BIN" profile list --json >"$ROOT/list.json" 2>&1; echo "list=$?"
"#;
    for tool in ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "missing {tool}: run scripts/install-test-deps.sh");
    }
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, "kr", &out, &[]);
    let secret = sim.app(DemoAppKind::Full).client_secret;
    let r = env.root.path();
    let (home, runtime, logs) = (r.join("home"), r.join("run"), r.join("script"));
    for d in [&home, &runtime, &logs] {
        std::fs::create_dir_all(d).unwrap();
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let secret_file = r.join("secret.txt");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();

    let o = std::process::Command::new("dbus-run-session")
        .args(["--", "sh", "-c", SCRIPT])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("ENTRA_EXTRACT_KEYRING_STORE", "secret-service")
        .env("ENTRA_EXTRACT_CONFIG_DIR", env.config_dir())
        .env("ENTRA_EXTRACT_DATA_DIR", env.data_dir())
        .env("ENTRA_EXTRACT_LOG", "trace")
        .env("BIN", env!("CARGO_BIN_EXE_entra-extract"))
        .env("SECRET_FILE", &secret_file)
        .env("ROOT", &logs)
        .output()
        .expect("run dbus-run-session");
    let read = |n: &str| std::fs::read_to_string(logs.join(n)).unwrap_or_default();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let context = format!(
        "stdout:\n{stdout}\nstderr:\n{}\nset:\n{}\nrun:\n{}{}\ncheck:\n{}",
        String::from_utf8_lossy(&o.stderr),
        read("set.out"),
        read("run.json"),
        read("run.err"),
        read("check.err"),
    );
    let kv: HashMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    for (k, want) in [("set", "0"), ("run", "0"), ("check", "0"), ("list", "0")] {
        assert_eq!(kv.get(k).copied(), Some(want), "{k}\n{context}");
    }
    assert_extraction(&sim, &out);
    let run: Value = serde_json::from_str(&read("run.json")).expect("run JSON");
    assert_eq!(run["outcome"], "success");
    let list: Value = serde_json::from_str(&read("list.json")).expect("list JSON");
    let kr = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "kr")
        .unwrap();
    assert_eq!(kr["last_run"]["outcome"], "success", "{list}");
    assert_eq!(
        kr["last_run"]["groups"],
        sim.truth["groups"].as_array().unwrap().len()
    );
    // The keyring files under `home` hold it (encrypted); nothing of ours does.
    assert_secret_absent(
        &secret,
        &[&env.config_dir(), &env.data_dir(), &out, &logs],
        &[&o],
    );
}
