//! `entra-extract app create` through the binary, against the simulated tenant: an
//! administrator signs in with a device code, the program creates the app registration, its
//! consent and a secret that goes straight into the keyring, and the new profile extracts the
//! tenant; then what each kind of failure leaves (and removes), and the printed scripts.

use crate::common;

use std::time::Duration;

use common::*;
use entra_sim::{DemoAppKind, DeviceApproval, SimAdmin, SimConfig};
use serde_json::Value;

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

fn sim_with(approval: Option<DeviceApproval>, tweak: impl FnOnce(&mut SimConfig)) -> Sim {
    let mut config = no_throttle(SimConfig {
        device_approval: approval,
        device_poll_interval: Duration::from_secs(1),
        ..SimConfig::default()
    });
    tweak(&mut config);
    Sim::start(config)
}

fn created_apps(sim: &Sim) -> Vec<Value> {
    sim.request("GET", "/_sim/apps", None)["apps"]
        .as_array()
        .expect("apps")
        .clone()
}

/// `app create` with the secret in an owner-only file (so these tests need no keyring).
fn create(sim: &Sim, env: &TestEnv, extra: &[&str]) -> std::process::Output {
    let mut c = env.command();
    c.args([
        "app",
        "create",
        "--profile",
        "acme",
        "--plaintext-secret-file",
    ])
    .args(sim.admin_flags())
    .args(["--output-dir"])
    .arg(env.out("out"))
    .args(extra);
    c.output().expect("app create runs")
}

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// From nothing to CSVs: the secret is never typed or shown, lands in the Secret Service,
/// and the new profile's run equals the ground truth.
#[cfg(target_os = "linux")] // The Secret Service in a private D-Bus session, driven by `sh`.
#[test]
fn a_global_admin_goes_from_nothing_to_a_working_profile_with_the_secret_in_the_keyring() {
    require_secret_service_tools();
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)), |_| {});
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let flags = sim.admin_flags().join(" ");
    let script = format!(
        r#"
set -u
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
"$BIN" app create --profile acme {flags} --output-dir "$ROOT/out" --secret-expiry 90 >"$ROOT/create.out" 2>"$ROOT/create.err"; echo "create=$?"
"$BIN" run --profile acme --json >"$ROOT/run.json" 2>"$ROOT/run.err"; echo "run=$?"
v=$(secret-tool lookup service entra-extract username profile:acme); echo "lookup=$?"; echo "secret=$v"
"$BIN" profile rotate-secret acme >"$ROOT/rotate.out" 2>"$ROOT/rotate.err"; echo "rotate=$?"
v=$(secret-tool lookup service entra-extract username profile:acme); echo "rotated=$v"
"$BIN" run --profile acme --json >"$ROOT/run2.json" 2>"$ROOT/run2.err"; echo "run2=$?"
"#
    );
    let out = dbus_session(r, &script, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let read = |f: &str| std::fs::read_to_string(r.join(f)).unwrap_or_default();
    let context = format!(
        "stdout:\n{stdout}\ncreate:\n{}{}\nrun:\n{}",
        read("create.out"),
        read("create.err"),
        read("run.err")
    );
    let kv: std::collections::HashMap<&str, &str> =
        stdout.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(kv.get("create"), Some(&"0"), "{context}");
    assert_eq!(kv.get("run"), Some(&"0"), "{context}");
    // Rotation replaces the keyring's secret, and the profile keeps working.
    let context = format!(
        "{context}\nrotate:\n{}{}",
        read("rotate.out"),
        read("rotate.err")
    );
    assert_eq!(kv.get("rotate"), Some(&"0"), "{context}");
    assert_eq!(kv.get("run2"), Some(&"0"), "{context}");
    let rotated = kv.get("rotated").copied().unwrap_or_default();
    assert_eq!(rotated.len(), 40, "{context}");
    assert_ne!(Some(&rotated), kv.get("secret"), "{context}");
    let err = read("create.err");
    assert!(err.contains("enter the code"), "{context}");
    assert!(
        err.contains("Signed in as ") && err.contains('@'),
        "names the admin: {context}"
    );
    assert!(
        read("create.out").contains("Profile acme is ready"),
        "{context}"
    );
    assert!(
        read("create.out").contains("Member.Read.Hidden   granted"),
        "{context}"
    );

    // The secret is in the Secret Service, and nowhere else.
    let secret = kv.get("secret").copied().unwrap_or_default();
    assert_eq!(secret.len(), 40, "{context}");
    assert_eq!(&secret[4..6], "Q~");
    for f in [
        "create.out",
        "create.err",
        "run.json",
        "run.err",
        "rotate.out",
        "rotate.err",
    ] {
        assert!(!read(f).contains(secret), "the secret leaked into {f}");
        assert!(!read(f).contains(rotated), "the new secret leaked into {f}");
    }
    let files = walk(r);
    assert!(
        files
            .iter()
            .any(|p| p.ends_with("config/profiles/acme.toml")),
        "the profile was saved: {files:?}"
    );
    for entry in files {
        if entry.is_file() {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            let hay = String::from_utf8_lossy(&bytes);
            assert!(
                entry.starts_with(r.join("home"))
                    || !(hay.contains(secret) || hay.contains(rotated)),
                "the secret is in {}",
                entry.display()
            );
        }
    }

    // One app, exactly the two permissions as application permissions, consented.
    let apps = created_apps(&sim);
    assert_eq!(apps.len(), 1);
    let app = &apps[0];
    assert_eq!(app["displayName"], "entra-extract (identity analytics)");
    assert_eq!(app["signInAudience"], "AzureADMyOrg");
    assert_eq!(
        app["roles"],
        serde_json::json!(["Directory.Read.All", "Member.Read.Hidden"])
    );
    let access = &app["requiredResourceAccess"][0];
    assert_eq!(access["resourceAppId"], GRAPH_APP_ID);
    let types: Vec<&str> = access["resourceAccess"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Role", "Role"]);
    // After the rotation, one secret with rotate-secret's default lifetime.
    assert_secret_days(app, 180.0);

    let domain = sim.domain();
    let got = Extraction::read(&r.join("out"), &domain);
    got.assert_eq(&Extraction::expected(&sim.truth, &Default::default()));
    assert_private_and_clean(&r.join("out"));
}

/// The created app's only secret ends `days` from now.
fn assert_secret_days(app: &Value, days: f64) {
    let ends = app["secretEnds"].as_array().unwrap();
    assert_eq!(ends.len(), 1, "{app}");
    let left = (ends[0].as_i64().unwrap() - chrono::Utc::now().timestamp()) as f64 / 86_400.0;
    assert!(
        (days - 0.1..days + 0.1).contains(&left),
        "{left} days, not {days}"
    );
}

#[cfg(target_os = "linux")]
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn an_application_administrator_cannot_consent_and_what_was_created_is_removed_or_kept() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::AppAdmin)), |_| {});
    let env = TestEnv::new();
    let out = create(&sim, &env, &["--on-failure", "remove"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("Privileged Role Administrator"), "{err}");
    assert!(
        err.contains("These were created before the failure"),
        "{err}"
    );
    assert!(err.contains("its service principal"), "{err}");
    assert!(err.contains("Deleted the app registration"), "{err}");
    assert!(created_apps(&sim).is_empty(), "removed");
    assert!(!env.config_dir().join("profiles/acme.toml").exists());

    // Kept: it is listed, and `app delete` removes it later.
    let out = create(&sim, &env, &["--on-failure", "keep"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let apps = created_apps(&sim);
    assert_eq!(apps.len(), 1, "{err}");
    let app_id = apps[0]["appId"].as_str().unwrap().to_string();
    assert!(err.contains(&app_id), "{err}");
    assert!(err.contains("entra-extract app delete"), "says how: {err}");
    assert_eq!(apps[0]["roles"], serde_json::json!([]));

    let sim2 = &sim;
    let mut del = env.command();
    del.args(["app", "delete", "--app-id", &app_id])
        .args(sim2.admin_flags());
    let out = del.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(created_apps(&sim).is_empty());
}

#[test]
fn a_user_without_a_role_is_told_which_role_and_nothing_is_created() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::User)), |_| {});
    let env = TestEnv::new();
    let out = create(&sim, &env, &["--on-failure", "keep"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("Application Administrator"), "{err}");
    assert!(err.contains("Nothing was created"), "{err}");
    assert!(created_apps(&sim).is_empty());
}

#[test]
fn a_declined_or_expired_sign_in_creates_nothing() {
    let sim = sim_with(Some(DeviceApproval::Decline), |_| {});
    let env = TestEnv::new();
    let out = create(&sim, &env, &[]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("declined"), "{err}");
    assert!(err.contains("nothing was created"), "{err}");

    // Nobody enters the code before it expires.
    let sim = sim_with(None, |c| c.device_code_lifetime = Duration::from_secs(2));
    let out = create(&sim, &env, &[]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("expired"), "{err}");
    assert!(created_apps(&sim).is_empty());
    assert!(!env.config_dir().join("profiles/acme.toml").exists());
}

#[test]
fn a_secret_that_has_not_replicated_yet_is_waited_for_not_called_wrong() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)), |c| {
        c.replication_delay = Duration::from_millis(2500)
    });
    let env = TestEnv::new();
    let out = create(&sim, &env, &[]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("waiting for Entra to replicate the new secret"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("wrong secret"), "{err}");
    assert!(stdout.contains("Profile acme is ready"), "{stdout}");

    // The saved profile runs headless.
    let run = env
        .command()
        .args(["run", "--profile", "acme"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run).1);
    Extraction::read(&env.out("out"), &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &Default::default()));
}

#[test]
fn printed_scripts_name_the_permissions_of_the_tenants_microsoft_graph_and_parse() {
    let sim = Sim::small();
    let graph = sim.graph_get(
        DemoAppKind::Full,
        &format!("/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appRoles"),
    );
    let role_id = |value: &str| {
        graph["appRoles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["value"] == value)
            .and_then(|r| r["id"].as_str())
            .unwrap()
            .to_string()
    };
    let env = TestEnv::new();
    for kind in ["azure-cli", "powershell"] {
        let out = env
            .command()
            .args([
                "app",
                "create",
                "--print-script",
                kind,
                "--secret-expiry",
                "365",
            ])
            .args(sim.admin_flags())
            .output()
            .unwrap();
        let (script, err) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{err}");
        for value in ["Directory.Read.All", "Member.Read.Hidden"] {
            assert!(
                script.contains(&role_id(value)),
                "{kind} names {value}'s id"
            );
        }
        assert!(script.contains(GRAPH_APP_ID));
        assert!(script.contains(&sim.tenant()));
        if kind == "azure-cli" {
            assert!(
                script.contains("--years 1") || script.contains("365"),
                "{script}"
            );
            assert_bash_parses(&env.out("create.sh"), &script);
        } else {
            // No syntax check: PowerShell (pwsh) is not installable here — it is neither a
            // Debian package nor on crates.io, PyPI or npm, the only sources these machines
            // reach. The unit tests in registration::script pin its quoting instead.
            assert!(script.contains("Connect-MgGraph"), "{script}");
        }
    }
    assert!(
        created_apps(&sim).is_empty(),
        "--print-script changes nothing"
    );
}

/// A profile for a demo app, its secret in an owner-only file.
fn demo_profile(sim: &Sim, env: &TestEnv, kind: DemoAppKind) {
    let out = env
        .command()
        .args(["profile", "create", "acme", "--plaintext-secret-file"])
        .args(sim.connect_flags(kind, &[]))
        .args(["--output-dir"])
        .arg(env.out("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let mut set = env.command();
    set.args(["profile", "set-secret", "acme", "--stdin"])
        .write_stdin(format!("{}\n", sim.app(kind).client_secret));
    let out = set.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
}

fn rotate(env: &TestEnv, extra: &[&str]) -> std::process::Output {
    env.command()
        .args(["profile", "rotate-secret", "acme"])
        .args(extra)
        .output()
        .unwrap()
}

fn run_profile(env: &TestEnv) -> std::process::Output {
    env.command()
        .args(["run", "--profile", "acme"])
        .output()
        .unwrap()
}

/// keyIds of a demo app's secrets, read through Graph.
fn demo_key_ids(sim: &Sim, kind: DemoAppKind) -> Vec<String> {
    let app = sim.graph_get(
        DemoAppKind::Full,
        &format!(
            "/applications(appId='{}')?$select=passwordCredentials",
            sim.app(kind).client_id
        ),
    );
    app["passwordCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["keyId"].as_str().unwrap().to_string())
        .collect()
}

fn profile_toml(env: &TestEnv) -> String {
    std::fs::read_to_string(env.config_dir().join("profiles/acme.toml")).unwrap()
}

#[test]
fn rotating_a_created_profiles_secret_replaces_it_and_removes_the_old_one() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)), |_| {});
    let env = TestEnv::new();
    let out = create(&sim, &env, &["--secret-expiry", "90"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_secret_days(&created_apps(&sim)[0], 90.0);
    let before = created_apps(&sim)[0]["keyIds"].clone();
    let secret_file = env.config_dir().join("secrets/acme");
    let old_secret = std::fs::read_to_string(&secret_file).unwrap();

    let out = rotate(&env, &["--secret-expiry", "365"]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_secret_days(&created_apps(&sim)[0], 365.0);
    let after = created_apps(&sim)[0]["keyIds"].clone();
    assert_eq!(after.as_array().unwrap().len(), 1, "{err}");
    assert_ne!(
        after, before,
        "the old secret is gone, a new one took its place"
    );
    let new_key = after[0].as_str().unwrap();
    assert!(stdout.contains(new_key), "{stdout}");
    assert!(
        profile_toml(&env).contains(new_key),
        "its keyId is recorded"
    );
    let new_secret = std::fs::read_to_string(&secret_file).unwrap();
    assert_ne!(new_secret, old_secret);
    assert!(!stdout.contains(new_secret.trim()) && !err.contains(new_secret.trim()));
    assert_eq!(run_profile(&env).status.code(), Some(0));
}

#[test]
fn a_new_secret_that_never_signs_in_is_removed_and_the_old_one_kept() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)), |c| {
        c.replication_delay = Duration::from_secs(600)
    });
    let env = TestEnv::new();
    demo_profile(&sim, &env, DemoAppKind::Full);
    let before = demo_key_ids(&sim, DemoAppKind::Full);
    let out = rotate(&env, &["--replication-timeout", "2s"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("old secret"), "{err}");
    assert_eq!(
        demo_key_ids(&sim, DemoAppKind::Full),
        before,
        "the new secret was removed again: {err}"
    );
    assert_eq!(
        run_profile(&env).status.code(),
        Some(0),
        "the old one still works"
    );
}

#[test]
fn when_removing_the_old_secret_fails_the_profile_already_uses_the_new_one() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)), |c| {
        c.faults = vec![
            "500@always;path=/applications/*/removePassword;method=POST"
                .parse()
                .unwrap(),
        ]
    });
    let env = TestEnv::new();
    demo_profile(&sim, &env, DemoAppKind::Full);
    let before = demo_key_ids(&sim, DemoAppKind::Full);
    let out = rotate(&env, &[]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("removing the old secret"), "{err}");
    let after = demo_key_ids(&sim, DemoAppKind::Full);
    assert_eq!(after.len(), before.len() + 1, "both secrets exist: {err}");
    let new_key = after.iter().find(|k| !before.contains(k)).unwrap();
    assert!(profile_toml(&env).contains(new_key.as_str()));
    let stored = std::fs::read_to_string(env.config_dir().join("secrets/acme")).unwrap();
    assert_ne!(stored.trim(), sim.app(DemoAppKind::Full).client_secret);
    assert_eq!(
        run_profile(&env).status.code(),
        Some(0),
        "the new one works"
    );
}

/// The issue's promise: a secret close to expiry is noticed by a headless run and rotated
/// without downtime — the run before and the run after both work.
#[test]
fn a_run_warns_of_a_secret_close_to_expiry_and_rotation_clears_it() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)), |_| {});
    let env = TestEnv::new();
    demo_profile(&sim, &env, DemoAppKind::NoHidden);
    let before = run_profile(&env);
    let (_, err) = text(&before);
    assert_eq!(
        before.status.code(),
        Some(6),
        "hidden memberships unreadable: {err} {}",
        text(&before).0
    );
    assert!(
        err.contains("expires on") && err.contains("entra-extract profile rotate-secret acme"),
        "{err}"
    );
    let out = rotate(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let after = run_profile(&env);
    let (stdout, err) = text(&after);
    assert!(!err.contains("expires on"), "{err}");
    // This rerun is incremental, and its files still lack the hidden group's members: it
    // says so and exits 6 like the full run did, rather than passing them off as complete.
    assert!(stdout.contains("Read only the changes"), "{stdout}");
    assert!(stdout.contains("hidden-membership group"), "{stdout}");
    assert_eq!(after.status.code(), Some(6), "{err}");
}

/// Without a usable keyring nothing is asked of the administrator, nothing is created, and
/// the advice fits a secret the program would create (not one supplied by the environment).
#[test]
fn without_a_keyring_nothing_is_created_and_the_advice_fits() {
    let sim = sim_with(Some(DeviceApproval::Approve(SimAdmin::GlobalAdmin)), |_| {});
    let env = TestEnv::new();
    let out = env
        .command()
        .args(["app", "create", "--profile", "acme"])
        .args(sim.admin_flags())
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("nothing was created"), "{err}");
    assert!(err.contains("--plaintext-secret-file"), "{err}");
    assert!(!err.contains("ENTRA_EXTRACT_CLIENT_SECRET"), "{err}");
    assert_eq!(sim.stats()["tokenRequests"], 0, "no sign-in was started");
    assert!(created_apps(&sim).is_empty());
}
