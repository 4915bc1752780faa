//! `check` with each demo app: exit codes, the human report and the `--json` shape.

use crate::common;

use common::{Sim, TestEnv, assert_exit, json_stdout};
use entra_sim::DemoAppKind;
use serde_json::Value;

const DIRECTORY_READ_ALL: &str = "7ab1d382-f21e-4acd-a863-ba3e13f7da61";
const MEMBER_READ_HIDDEN: &str = "658aa5d8-239f-45c4-aa12-864f4fc7e490";

fn check_json(sim: &Sim, env: &TestEnv, kind: DemoAppKind, code: i32) -> Value {
    let o = sim
        .command(env, "check", kind)
        .arg("--json")
        .output()
        .unwrap();
    assert_exit(&o, code);
    let report = json_stdout(&o);
    // The shape every consumer relies on.
    for key in [
        "required",
        "over_privileged",
        "secret_expiry",
        "remediation",
    ] {
        assert!(report[key].is_array(), "{key} missing in {report}");
    }
    let required = report["required"].as_array().unwrap();
    let names: Vec<&str> = required
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Directory.Read.All", "Member.Read.Hidden"]);
    let ids: Vec<&str> = required
        .iter()
        .map(|p| p["app_role_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [DIRECTORY_READ_ALL, MEMBER_READ_HIDDEN]);
    for p in required {
        assert!(p["evidence"].as_str().is_some_and(|e| !e.is_empty()), "{p}");
    }
    report
}

fn states(report: &Value) -> Vec<&str> {
    report["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect()
}

#[test]
fn full_app_passes() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let r = check_json(&sim, &env, DemoAppKind::Full, 0);
    assert_eq!(states(&r), ["granted", "granted"]);
    assert_eq!(r["remediation"], serde_json::json!([]));
    assert_eq!(r["over_privileged"], serde_json::json!([]));
    let expiry = r["secret_expiry"].as_array().unwrap();
    let hint = &sim.app(DemoAppKind::Full).client_secret[..3];
    assert!(
        expiry
            .iter()
            .any(|s| s["hint"] == hint && s["days_left"].as_i64().unwrap() > 300),
        "{r}"
    );
}

#[test]
fn no_hidden_app_misses_member_read_hidden_and_secret_expires_soon() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let r = check_json(&sim, &env, DemoAppKind::NoHidden, 4);
    assert_eq!(states(&r), ["granted", "missing"]);
    let steps = r["remediation"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s.as_str().unwrap().contains("Member.Read.Hidden")),
        "{r}"
    );
    assert!(
        !steps
            .iter()
            .any(|s| s.as_str().unwrap().contains("Directory.Read.All")),
        "{r}"
    );
    let days = r["secret_expiry"][0]["days_left"].as_i64().unwrap();
    assert!((18..=20).contains(&days), "{r}");

    let o = sim
        .command(&env, "check", DemoAppKind::NoHidden)
        .output()
        .unwrap();
    assert_exit(&o, 4);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Member.Read.Hidden   MISSING"), "{text}");
    assert!(text.contains("To fix:"), "{text}");
    assert!(text.contains("expires on"), "{text}");
}

#[test]
fn no_grants_app_misses_both() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let r = check_json(&sim, &env, DemoAppKind::NoGrants, 4);
    assert_eq!(states(&r), ["missing", "missing"]);
    let steps = r["remediation"].as_array().unwrap();
    assert!(
        steps.iter().any(|s| {
            let s = s.as_str().unwrap();
            s.contains("Directory.Read.All") && s.contains("Member.Read.Hidden")
        }),
        "{r}"
    );
    assert!(steps.iter().any(|s| {
        s.as_str()
            .unwrap()
            .contains(&sim.app(DemoAppKind::NoGrants).client_id)
    }));
}

#[test]
fn over_privileged_app_passes_with_a_warning() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let r = check_json(&sim, &env, DemoAppKind::OverPrivileged, 0);
    assert_eq!(states(&r), ["granted", "granted"]);
    let extra: Vec<&str> = r["over_privileged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(extra, ["Directory.ReadWrite.All", "Group.ReadWrite.All"]);

    let o = sim
        .command(&env, "check", DemoAppKind::OverPrivileged)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("warning: the app also holds write permissions"),
        "{text}"
    );
    assert!(text.contains("Directory.ReadWrite.All"), "{text}");
}

#[test]
fn expired_secret_app_fails_sign_in() {
    let sim = Sim::small();
    let env = TestEnv::new();
    for json in [false, true] {
        let mut c = sim.command(&env, "check", DemoAppKind::ExpiredSecret);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_exit(&o, 3);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("sign-in failed (client secret)"),
            "{stderr}"
        );
        assert!(stderr.contains("7000222"), "{stderr}");
        if json {
            // A script gets the failure as JSON, never a permission report.
            let r = json_stdout(&o);
            assert_eq!(r["exit_code"], 3, "{r}");
            assert!(r["error"].as_str().unwrap().contains("7000222"), "{r}");
            assert!(r.get("required").is_none(), "{r}");
        } else {
            assert!(
                o.stdout.is_empty(),
                "{}",
                String::from_utf8_lossy(&o.stdout)
            );
        }
    }
}

#[test]
fn wrong_secret_fails_sign_in_without_echoing_it() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let wrong = "abc1Q~this-is-not-the-right-secret-000000";
    let o = sim
        .command(&env, "check", DemoAppKind::Full)
        .env("ENTRA_EXTRACT_CLIENT_SECRET", wrong)
        .output()
        .unwrap();
    assert_exit(&o, 3);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(all.contains("client secret"), "{all}");
    assert!(!all.contains(wrong), "{all}");
}

#[test]
fn certificate_app_passes() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let cert = sim
        .app(DemoAppKind::Certificate)
        .certificate
        .expect("certificate");
    let pem = env.root.path().join("cert.pem");
    std::fs::write(&pem, format!("{}\n{}", cert.cert_pem, cert.key_pem)).unwrap();
    let o = sim
        .command(&env, "check", DemoAppKind::Certificate)
        .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
        .arg("--certificate")
        .arg(&pem)
        .arg("--json")
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let r = json_stdout(&o);
    assert_eq!(states(&r), ["granted", "granted"]);
    assert_eq!(r["secret_expiry"], serde_json::json!([]), "{r}");
}

/// `run` says when the secret in use ends: a field in `--json`, and within 30 days a warning
/// naming the fix, without changing the exit code.
#[test]
fn run_reports_the_secret_in_use_and_warns_when_it_ends_within_30_days() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let run = |kind: DemoAppKind| {
        let o = sim.run(&env, kind, &env.out(kind.slug())).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code(), json_stdout(&o), stderr)
    };
    let (code, report, stderr) = run(DemoAppKind::Full);
    assert_eq!(code, Some(0), "{stderr}");
    let days = report["secret_expiry"]["days_left"].as_i64().unwrap();
    assert!((363..=365).contains(&days), "{report}");
    assert!(!stderr.contains("client secret"), "{stderr}");

    // The no-hidden app's secret ends in 20 days; its run exits as it always did (6: hidden
    // memberships unreadable).
    let (code, report, stderr) = run(DemoAppKind::NoHidden);
    assert_eq!(code, Some(6), "{stderr}");
    let days = report["secret_expiry"]["days_left"].as_i64().unwrap();
    assert!((18..=20).contains(&days), "{report}");
    assert!(
        stderr.contains("warning: the client secret expires on")
            && stderr.contains("Certificates & secrets"),
        "{stderr}"
    );

    // A certificate has no secret to expire.
    let (_, report, _) = run(DemoAppKind::Certificate);
    assert!(report["secret_expiry"].is_null(), "{report}");
}

/// A missing permission comes with the commands that grant it: the Azure CLI one parses
/// in bash, both name exactly the missing app role on the tenant's app.
#[test]
fn check_offers_commands_that_grant_exactly_the_missing_permission() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let report = check_json(&sim, &env, DemoAppKind::NoHidden, 4);
    let commands = report["grant_commands"].as_array().unwrap();
    let tools: Vec<&str> = commands
        .iter()
        .map(|c| c["tool"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["Azure CLI", "Microsoft Graph PowerShell"]);
    let client = sim.app(DemoAppKind::NoHidden).client_id;
    for c in commands {
        let command = c["command"].as_str().unwrap();
        assert!(command.contains(MEMBER_READ_HIDDEN), "{command}");
        assert!(
            !command.contains(DIRECTORY_READ_ALL),
            "only the missing one: {command}"
        );
        assert!(
            command.contains(&client) && command.contains(&sim.tenant()),
            "{command}"
        );
    }
    common::assert_bash_parses(
        &env.out("grant.sh"),
        commands[0]["command"].as_str().unwrap(),
    );
    let human = sim
        .command(&env, "check", DemoAppKind::NoHidden)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("Or run one of these as an administrator"),
        "{text}"
    );
    let full = check_json(&sim, &env, DemoAppKind::Full, 0);
    assert_eq!(full["grant_commands"], serde_json::json!([]));
}
