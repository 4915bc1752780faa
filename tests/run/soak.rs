//! The fast fault soak (issue 9; the full one is `scripts/bench --soak`): tenant m through
//! the default (fast) plan with every kind of fault at once — 5 % 503/504, 1 % connection
//! resets, a 429 storm, tokens revoked every few hundred requests, two groups deleted
//! mid-run, an expired page token in a delta chain and delta pages that fail. The files
//! equal the truth except the deleted groups, which the summary and manifest report.

use crate::common;

use std::collections::BTreeMap;

use common::{
    Extraction, GroupFate, Sim, TestEnv, assert_exit, assert_private_and_clean, check_manifest,
    json_stdout,
};
use entra_sim::{DemoAppKind, FaultSpec, Preset, SimConfig};

fn m_with(faults: Vec<FaultSpec>) -> Sim {
    // Seed 4: m has a hidden-membership group longer than a page (read on its own).
    Sim::start(common::no_throttle(SimConfig {
        preset: Preset::M,
        seed: 4,
        faults,
        ..SimConfig::default()
    }))
}

fn parse(specs: &[String]) -> Vec<FaultSpec> {
    specs
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

#[test]
fn the_fast_plan_survives_every_fault_at_once_and_reports_the_deleted_groups() {
    let probe = m_with(Vec::new());
    // One group read through delta, and the long hidden one read on its own.
    let (plain, plain_name) = probe.group_where(|g| {
        let id = g["id"].as_str().unwrap();
        !probe.hidden_groups().contains(id) && (3..50).contains(&probe.member_count(id))
    });
    let (hidden, hidden_name) = probe.group_where(|g| {
        let id = g["id"].as_str().unwrap();
        probe.hidden_groups().contains(id) && probe.member_count(id) > 999
    });
    drop(probe);

    let storm = (150..=190).map(|n| n.to_string()).collect::<Vec<_>>();
    let specs = [
        "503=0.05@rate=0.03".to_string(),
        "504@rate=0.02".into(),
        "reset@rate=0.01".into(),
        format!("429=0.1@at={}", storm.join(",")),
        "token-expiry@every=250".into(),
        format!("deleted-group@always;path=/groups/{plain}/"),
        format!("deleted-group@always;path=/groups/{hidden}/"),
        "expired-skiptoken@at=2;path=/groups/delta".into(),
        // The first delta page (no skiptoken, so never the expired one: a cut-off 400
        // body could not say that its page token expired).
        "malformed@at=1;path=/groups/delta".into(),
        "503@at=9,10;path=/groups/delta".into(),
    ];
    let sim = m_with(parse(&specs));
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    // Exit 6: complete, with warnings (the deleted groups).
    assert_exit(&o, 6);
    let report = json_stdout(&o);
    assert_eq!(report["groups_deleted"], 2, "{report}");
    let warnings = report["warnings"].to_string();
    for name in [&plain_name, &hidden_name] {
        assert!(warnings.contains(name.as_str()), "{name} in {warnings}");
    }

    let fates = BTreeMap::from([
        (plain.clone(), GroupFate::Deleted),
        (hidden.clone(), GroupFate::Deleted),
    ]);
    Extraction::read(&out, &sim.domain()).assert_eq(&Extraction::expected(&sim.truth, &fates));
    let manifest = check_manifest(&out, &sim.domain());
    assert_eq!(manifest["counts"]["groups_members_unreadable"], 2);
    assert_private_and_clean(&out);

    // Every kind of fault fired.
    let stats = sim.stats();
    assert!(
        stats["faultsInjected"].as_u64().unwrap() > 50,
        "{}",
        stats["faultsInjected"]
    );
    // The storm: 41 requests in a row, less those another fault answered first.
    assert!(stats["responses429"].as_u64().unwrap() > 30, "{stats}");
}
