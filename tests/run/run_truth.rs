//! `run` with the full app against tenants `small`, `m` and `l`: the four CSV files equal the
//! simulator's ground truth row for row, the manifest matches the files, every file is
//! owner-only and no temporary file is left.

use crate::common;

use std::collections::BTreeMap;

use common::{Extraction, Sim, TestEnv, check_manifest, run_and_compare};
use entra_sim::{Preset, SimConfig};

#[test]
fn small_tenant_equals_truth() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let report = run_and_compare(&sim, &env, &out);

    let t = &sim.truth;
    assert_eq!(report["outcome"], "success");
    assert_eq!(report["tenant_id"], sim.tenant());
    assert_eq!(report["users"], t["users"].as_array().unwrap().len() as u64);
    assert_eq!(
        report["groups"],
        t["groups"].as_array().unwrap().len() as u64
    );
    assert_eq!(
        report["member_edges"],
        t["members"].as_array().unwrap().len() as u64
    );
    assert_eq!(
        report["owner_edges"],
        t["owners"].as_array().unwrap().len() as u64
    );
    assert_eq!(report["warnings"], serde_json::json!([]));

    let manifest = check_manifest(&out, &sim.domain());
    assert_eq!(manifest["tenant_id"], sim.tenant());
    assert_eq!(manifest["prefix"], sim.domain());
    assert_eq!(manifest["cloud"], "custom");
    assert_eq!(manifest["counts"]["groups_members_unreadable"], 0);
    // The hidden-membership group was read in full by an app with Member.Read.Hidden.
    let hidden = sim.hidden_groups();
    assert!(!hidden.is_empty());
    for id in &hidden {
        assert!(
            sim.member_count(id) > 0,
            "hidden group {id} has members in the truth"
        );
    }
}

#[test]
fn small_tenant_with_bom_prefix_and_second_run_replaces_files() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim
        .run(&env, entra_sim::DemoAppKind::Full, &out)
        .args(["--bom", "--domain-prefix", "acme"])
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    for kind in ["users", "groups", "groups_members", "groups_owners"] {
        let bytes = std::fs::read(common::csv_path(&out, "acme", kind)).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{kind} has no BOM");
    }
    Extraction::read(&out, "acme").assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    let manifest = check_manifest(&out, "acme");
    assert_eq!(manifest["prefix"], "acme");
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["bom"] == true)
    );

    // A second run into the same directory replaces the set atomically and cleanly.
    let o = sim
        .run(&env, entra_sim::DemoAppKind::Full, &out)
        .args(["--domain-prefix", "acme"])
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    Extraction::read(&out, "acme").assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    let manifest = check_manifest(&out, "acme");
    assert!(
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["bom"] == false)
    );
    common::assert_private_and_clean(&out);
}

#[test]
fn tenant_m_equals_truth() {
    let sim = Sim::start(common::no_throttle(SimConfig {
        preset: Preset::M,
        seed: 7,
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    let report = run_and_compare(&sim, &env, &out);
    assert_eq!(report["users"], 10_000);
    assert_eq!(report["groups"], 2_500);
    assert_eq!(
        report["member_edges"],
        sim.truth["members"].as_array().unwrap().len() as u64
    );
}

/// A full run against tenant m after rounds of 500 evolve changes equals the changed truth.
/// The rounds go on until a user whose given name starts outside ASCII (Łukasz) is renamed:
/// the UPN evolve gives him must stay in the documented character set, and the
/// `startswith` the client sends for the prefixes it saw must not upset the simulator.
#[test]
fn tenant_m_after_evolving_equals_truth() {
    let mut sim = Sim::start(common::no_throttle(SimConfig {
        preset: Preset::M,
        ..SimConfig::default()
    }));
    let renamed_with_accent = |truth: &serde_json::Value| {
        truth["users"].as_array().unwrap().iter().any(|u| {
            u["givenName"] == "Łukasz"
                && u["surname"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Renamed"))
        })
    };
    let mut rounds = 0;
    while !renamed_with_accent(&sim.truth) {
        rounds += 1;
        assert!(rounds <= 20, "no Łukasz renamed in 20 rounds");
        sim.evolve(500, rounds);
    }
    let env = TestEnv::new();
    let out = env.out("out");
    run_and_compare(&sim, &env, &out);
}

/// The largest preset, L (100,000 users, 25,000 groups, about 1,000,000 member rows), equals
/// the truth too. Client pacing (`--ru-budget 0`) and simulated throttling are off, so the run
/// takes seconds instead of the minutes Graph's budget imposes; pacing has its own tests.
#[test]
fn tenant_l_equals_truth() {
    let sim = Sim::start(common::no_throttle(SimConfig {
        preset: Preset::L,
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim
        .run(&env, entra_sim::DemoAppKind::Full, &out)
        .args(["--ru-budget", "0", "--workers", "8"])
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    let report = common::json_stdout(&o);
    assert_eq!(report["users"], 100_000);
    assert_eq!(report["groups"], 25_000);
    let members = sim.truth["members"].as_array().unwrap().len() as u64;
    assert!(members > 900_000, "{members}");
    assert_eq!(report["member_edges"], members);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    check_manifest(&out, &sim.domain());
    common::assert_private_and_clean(&out);
}

#[test]
fn extra_attributes_are_appended_in_order() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    let extras = common::Extras {
        // An array, a nullable string, a date; on groups an array and a nullable string.
        user: vec![
            "businessPhones",
            "mobilePhone",
            "onPremisesLastSyncDateTime",
        ],
        group: vec!["proxyAddresses", "classification"],
    };
    let mut c = sim.run(&env, entra_sim::DemoAppKind::Full, &out);
    for a in &extras.user {
        c.args(["--extra-user-attribute", a]);
    }
    for a in &extras.group {
        c.args(["--extra-group-attribute", a]);
    }
    let o = c.output().unwrap();
    common::assert_exit(&o, 0);
    let actual = Extraction::read_with(&out, &sim.domain(), &extras);
    actual.assert_eq(&Extraction::expected_with(
        &sim.truth,
        &BTreeMap::new(),
        &extras,
    ));
    // The extras carry data, so the comparison is not between empty columns.
    assert!(
        actual.users.values().any(|r| r[27].contains('+')),
        "no businessPhones"
    );
    assert!(
        actual.groups.values().any(|r| r[18].contains("SMTP:")),
        "no proxyAddresses"
    );
    check_manifest(&out, &sim.domain());
}

#[test]
fn over_https_with_an_extra_ca_equals_truth() {
    over_https_with_an_extra_ca(false);
}

/// An endpoint whose own certificate is self-signed with `CA:TRUE` (a plain `openssl req
/// -x509`), given with `--extra-ca`: trusted as the server's certificate too, as Microsoft's
/// Python SDK trusts it (WebPKI alone refuses it with CaUsedAsEndEntity).
#[test]
fn a_self_signed_endpoint_certificate_given_with_extra_ca_is_trusted() {
    over_https_with_an_extra_ca(true);
}

fn over_https_with_an_extra_ca(self_signed: bool) {
    let sim = Sim::start(common::no_throttle(SimConfig {
        tls: Some(entra_sim::TlsOptions {
            cert_out: None,
            self_signed,
        }),
        ..SimConfig::default()
    }));
    assert!(sim.base().starts_with("https://"), "{}", sim.base());
    let env = TestEnv::new();
    let ca = env.root.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    let out = env.out("out");

    let o = sim
        .run(&env, entra_sim::DemoAppKind::Full, &out)
        .arg("--extra-ca")
        .arg(&ca)
        .output()
        .unwrap();
    if common::extra_ca_refused_by_wine(&o) {
        return;
    }
    common::assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    check_manifest(&out, &sim.domain());
    // A trusted certificate is no error, whichever check accepted it.
    let log = logs(&env);
    assert!(
        !log.lines().any(|l| l.contains("ERROR")),
        "a successful run logged an error:\n{log}"
    );
}

/// Everything the runs in `env` logged.
fn logs(env: &TestEnv) -> String {
    let dir = env.data_dir().join("logs");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

/// A TLS certificate the client does not trust is not a network blip: the run fails at once
/// as a configuration problem (exit 2), saying how to trust a TLS-inspecting proxy's CA.
#[test]
fn untrusted_certificate_fails_fast() {
    let sim = Sim::start(common::no_throttle(SimConfig {
        tls: Some(entra_sim::TlsOptions::default()),
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim
        .run(&env, entra_sim::DemoAppKind::Full, &out)
        .output()
        .unwrap();
    common::assert_exit(&o, 2);
    let report = common::json_stdout(&o);
    assert_eq!(report["outcome"], "bad_config");
    let error = report["error"].as_str().unwrap();
    // Reported as a trust problem with its remedy, not as retries running out.
    assert!(
        error.contains("TLS certificate of 127.0.0.1 is not trusted"),
        "{report}"
    );
    assert!(error.contains("--extra-ca"), "{report}");
    assert!(!error.contains("gave up after"), "{report}");
    assert!(!out.join(format!("{}_users.csv", sim.domain())).exists());
    // A real verification failure is still logged as one.
    let log = logs(&env);
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("certificate")),
        "{log}"
    );
}
