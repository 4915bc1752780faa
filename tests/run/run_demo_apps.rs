//! `run` with each demo app registration of the simulator: what a consultant meets when the
//! customer's app registration is missing a grant, has no grants, or an expired secret.

use crate::common;

use std::collections::BTreeMap;

use common::{
    Extraction, GroupFate, Sim, TestEnv, assert_exit, assert_private_and_clean, check_manifest,
    json_stdout,
};
use entra_sim::{DemoAppKind, HiddenMembers, SimConfig};

/// Without Member.Read.Hidden the run completes with warnings: hidden-membership groups are
/// flagged unreadable (memberCount empty, not 0), everything else equals the truth.
fn no_hidden(mode: HiddenMembers) {
    let sim = Sim::start(common::no_throttle(SimConfig {
        hidden_members: mode,
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim.run(&env, DemoAppKind::NoHidden, &out).output().unwrap();
    assert_exit(&o, 6);
    let report = json_stdout(&o);

    let hidden = sim.hidden_groups();
    assert!(!hidden.is_empty());
    let fates: BTreeMap<String, GroupFate> = hidden
        .iter()
        .map(|id| (id.clone(), GroupFate::MembersUnreadable))
        .collect();
    let domain = sim.domain();
    let actual = Extraction::read(&out, &domain);
    actual.assert_eq(&Extraction::expected(&sim.truth, &fates));
    for id in &hidden {
        let row = &actual.groups[id];
        assert_eq!(row[15..17], ["false".to_string(), String::new()], "{row:?}");
    }

    assert_eq!(report["outcome"], "warnings");
    assert_eq!(report["hidden_groups_unreadable"], hidden.len());
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), hidden.len(), "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|w| w.as_str().unwrap().contains("Member.Read.Hidden")),
        "{warnings:?}"
    );

    let manifest = check_manifest(&out, &domain);
    assert_eq!(
        manifest["counts"]["groups_members_unreadable"],
        hidden.len()
    );
    let flagged: std::collections::BTreeSet<String> = manifest["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "hidden_membership_unreadable")
        .map(|w| w["group_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(flagged, hidden);
    assert_private_and_clean(&out);
}

#[test]
fn no_hidden_with_forbidden_members_completes_with_warnings() {
    no_hidden(HiddenMembers::Forbidden);
}

#[test]
fn no_hidden_with_empty_members_completes_with_warnings() {
    no_hidden(HiddenMembers::Empty);
}

#[test]
fn no_grants_exits_4_and_writes_nothing() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim.run(&env, DemoAppKind::NoGrants, &out).output().unwrap();
    assert_exit(&o, 4);
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "permission_missing");
    assert_eq!(report["files"], serde_json::json!([]));
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("Directory.Read.All"), "{error}");
    assert!(error.contains("entra-extract check"), "{error}");
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n == ".entra-extract.lock"),
        "files written: {left:?}"
    );
}

#[test]
fn expired_secret_exits_3_naming_the_secret() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    // Human output: the error on stderr names the secret and the fix.
    let o = sim
        .command(&env, "run", DemoAppKind::ExpiredSecret)
        .arg("-o")
        .arg(&out)
        .arg("-q")
        .output()
        .unwrap();
    assert_exit(&o, 3);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("client secret"), "{stderr}");
    assert!(stderr.contains("7000222"), "{stderr}");
    assert!(stderr.contains("new client secret"), "{stderr}");
    assert!(!out.exists(), "output directory created on an auth failure");

    let o = sim
        .run(&env, DemoAppKind::ExpiredSecret, &out)
        .output()
        .unwrap();
    assert_exit(&o, 3);
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "auth_failed");
    assert_eq!(report["exit_code"], 3);
    assert!(report["error"].as_str().unwrap().contains("client secret"));
}

#[test]
fn over_privileged_app_extracts_everything() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim
        .run(&env, DemoAppKind::OverPrivileged, &out)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
}

#[test]
fn certificate_app_extracts_everything() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let app = sim.app(DemoAppKind::Certificate);
    let cert = app.certificate.expect("the cert app has a certificate");
    let pem = env.root.path().join("cert.pem");
    std::fs::write(&pem, format!("{}\n{}", cert.cert_pem, cert.key_pem)).unwrap();
    let o = sim
        .run(&env, DemoAppKind::Certificate, &out)
        .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
        .arg("--certificate")
        .arg(&pem)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    check_manifest(&out, &sim.domain());
}
