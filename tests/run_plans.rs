//! The fast plan and the per-group plan write the same rows (sorted) on every preset and
//! under faults, and the fast plan gets there with fewer requests and resource units.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Extraction, Sim, TestEnv, assert_exit, csv_path, json_stdout, no_throttle};
use entra_extract::sim::{DemoAppKind, FaultSpec, Preset, SimConfig, SizeSpec};
use serde_json::Value;

const FILES: [&str; 4] = ["users", "groups", "groups_members", "groups_owners"];

/// The data rows of each CSV, sorted (the header stays first).
fn sorted_rows(dir: &Path, prefix: &str) -> BTreeMap<&'static str, Vec<Vec<String>>> {
    FILES
        .iter()
        .map(|kind| {
            let mut reader = csv::Reader::from_path(csv_path(dir, prefix, kind)).expect("csv");
            let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
            let mut rows: Vec<Vec<String>> = reader
                .records()
                .map(|r| r.unwrap().iter().map(String::from).collect())
                .collect();
            rows.sort();
            rows.insert(0, header);
            (*kind, rows)
        })
        .collect()
}

/// Runs one plan against `sim`; returns the rows, the `--json` report and the Graph
/// requests and resource units the run cost.
fn run_plan(
    sim: &Sim,
    env: &TestEnv,
    plan: &str,
) -> (BTreeMap<&'static str, Vec<Vec<String>>>, Value, u64, u64) {
    let before = sim.stats();
    let out = env.out(plan);
    let o = sim
        .run(env, DemoAppKind::Full, &out)
        .args(["--plan", plan])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let after = sim.stats();
    let full = |s: &Value, key: &str| {
        s["apps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "full")
            .map(|a| a[key].as_u64().unwrap())
            .unwrap()
    };
    (
        sorted_rows(&out, &sim.domain()),
        json_stdout(&o),
        full(&after, "requests") - full(&before, "requests"),
        full(&after, "resourceUnits") - full(&before, "resourceUnits"),
    )
}

fn assert_plans_agree(sim: &Sim) -> (u64, u64, u64, u64) {
    let env = TestEnv::new();
    let (fast, fast_report, fast_requests, fast_ru) = run_plan(sim, &env, "fast");
    let (plain, _, plain_requests, plain_ru) = run_plan(sim, &env, "per-group");
    for kind in FILES {
        assert_eq!(
            fast[kind].len(),
            plain[kind].len(),
            "{kind}: row counts differ"
        );
        for (a, b) in fast[kind].iter().zip(&plain[kind]) {
            assert_eq!(a, b, "{kind}: first differing row");
        }
    }
    // Both equal the simulator's ground truth, too.
    Extraction::read(&env.out("fast"), &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    assert_eq!(
        fast_report["warnings"],
        serde_json::json!([]),
        "{fast_report}"
    );
    (fast_requests, plain_requests, fast_ru, plain_ru)
}

#[test]
fn plans_agree_on_the_small_tenant() {
    let sim = Sim::small();
    // On 40 groups the prefix counts cost about what delta saves: only the rows matter here.
    let (fast_requests, plain_requests, _, _) = assert_plans_agree(&sim);
    assert!(fast_requests > 0 && plain_requests > 0);
}

#[test]
fn plans_agree_on_tenant_m_and_the_fast_plan_costs_far_fewer_resource_units() {
    // Seed 4 gives m a hidden-membership group of 2,000 members (the fast plan hands it
    // from its batch to a read of its own) beside All Staff's 10,000 (read in parts).
    let sim = Sim::start(no_throttle(SimConfig {
        preset: Preset::M,
        seed: 4,
        ..SimConfig::default()
    }));
    let hidden = sim.hidden_groups();
    let hidden_sizes = sim.truth["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|e| hidden.contains(e["groupId"].as_str().unwrap_or_default()))
        .fold(BTreeMap::<&str, u64>::new(), |mut m, e| {
            *m.entry(e["groupId"].as_str().unwrap_or_default())
                .or_default() += 1;
            m
        });
    assert!(
        hidden_sizes.values().any(|n| *n > 999),
        "no hidden group longer than a page: {hidden_sizes:?}"
    );
    let (fast_requests, plain_requests, fast_ru, plain_ru) = assert_plans_agree(&sim);
    // Only the fast plan calls getByIds, for the chains' devices, service principals and
    // contacts: a few calls for all ~50 chains (one per chain was 75 here).
    let get_by_ids = sim.stats()["requestsByKind"]["getByIds"].as_u64().unwrap();
    assert!(
        (1..=20).contains(&get_by_ids),
        "{get_by_ids} getByIds calls"
    );
    assert!(
        fast_ru * 4 < plain_ru,
        "fast {fast_ru} RU vs per-group {plain_ru} RU"
    );
    assert!(
        fast_requests < plain_requests,
        "fast {fast_requests} requests vs per-group {plain_requests}"
    );
}

fn faults(specs: &[&str]) -> Vec<FaultSpec> {
    specs
        .iter()
        .map(|s| s.parse().expect("fault spec"))
        .collect()
}

#[test]
fn plans_agree_under_transient_faults_and_expired_delta_tokens() {
    // 1,200 users: "All Staff" spans three delta pages, so a delta chain carries skiptokens.
    let sim = Sim::start(no_throttle(SimConfig {
        size: Some(SizeSpec {
            users: 1_200,
            ..Preset::Small.size()
        }),
        faults: faults(&[
            "503=0.05@rate=0.05",
            "429=0.05@rate=0.03",
            "reset@rate=0.02",
            "malformed@rate=0.02",
            "expired-skiptoken@at=1;path=/groups/delta",
        ]),
        ..SimConfig::default()
    }));
    assert_plans_agree(&sim);
    assert!(sim.stats()["faultsInjected"].as_u64().unwrap() > 0);
}
