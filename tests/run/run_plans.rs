//! The fast plan and the per-group plan write the same rows (sorted) on every preset and
//! under faults, and the fast plan gets there with fewer requests and resource units.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{Extraction, Sim, TestEnv, assert_exit, csv_path, json_stdout, no_throttle};
use entra_sim::{DemoAppKind, FaultSpec, Preset, SimConfig, SizeSpec};
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
    // contacts: held chains share a call (one per chain was 75 here). How many chains are
    // still running when the last one starts, and so write (and look up) on their own,
    // depends on timing (up to 25 calls were seen under load), so the bound is half of one per
    // chain.
    let get_by_ids = sim.stats()["requestsByKind"]["getByIds"].as_u64().unwrap();
    assert!(
        (1..=37).contains(&get_by_ids),
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

/// Tenant `small` (throttling off) with these faults.
fn small_with(specs: &[&str]) -> Sim {
    Sim::start(no_throttle(SimConfig {
        faults: faults(specs),
        ..SimConfig::default()
    }))
}

/// `run` (no profile) against `sim` with the default plan: exit 0, files = truth; returns
/// the `--json` report and the manifest.
fn run_default_plan_ok(sim: &Sim) -> (Value, Value) {
    let env = TestEnv::new();
    let out = env.out("out");
    let o = sim.run(&env, DemoAppKind::Full, &out).output().unwrap();
    assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    (json_stdout(&o), common::check_manifest(&out, &sim.domain()))
}

/// The notes of a report or manifest that contain all of `words`.
fn notes_with(v: &Value, words: &[&str]) -> Vec<String> {
    v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .filter(|n| words.iter().all(|w| n.contains(w)))
        .collect()
}

/// A Graph-shaped service that does not serve `groups/delta` (404): the default plan reads
/// the memberships with the plain per-group requests instead, and says so.
#[test]
fn without_groups_delta_the_default_plan_reads_each_group_and_says_so() {
    let sim = small_with(&["404@always;path=/groups/delta"]);
    let (report, manifest) = run_default_plan_ok(&sim);
    assert_eq!(report["warnings"], serde_json::json!([]), "{report}");
    for v in [&report, &manifest] {
        let said = notes_with(v, &["groups/delta", "group by group"]);
        assert_eq!(said.len(), 1, "said once: {v}");
    }
    // The human summary says it too.
    let env = TestEnv::new();
    let o = sim
        .command(&env, "run", DemoAppKind::Full)
        .arg("-o")
        .arg(env.out("out"))
        .arg("-q")
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("groups/delta") && stdout.contains("group by group"),
        "{stdout}"
    );
}

/// A profile's runs against the same service: each reads everything (no delta to take the
/// changes from), says why, and equals the truth.
#[test]
fn without_groups_delta_a_profile_reads_everything_each_run_and_says_why() {
    let mut sim = small_with(&["404@always;path=/groups/delta"]);
    let env = TestEnv::new();
    let out = env.out("out");
    common::create_profile(&sim, &env, "contoso", &out, &[]);
    for round in 0..2 {
        if round > 0 {
            sim.evolve(10, round);
        }
        let report = common::run_profile_ok(&sim, &env, "contoso");
        Extraction::read(&out, &sim.domain())
            .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
        assert_eq!(report["mode"], "full", "round {round}: {report}");
        assert!(
            !notes_with(&report, &["groups/delta", "next run"]).is_empty(),
            "round {round}: {report}"
        );
    }
}

/// A large group's member list split into parts whose `$count`/`startswith` requests keep
/// failing: the group's whole list is read instead (once, deduplicated), and the manifest
/// says so; the run does not fail.
#[test]
fn a_large_group_whose_split_parts_keep_failing_is_read_whole() {
    // Seed 4: All Staff's 10,000 members, and a few other groups', are read in parts: the
    // user cast filtered by UPN prefix (`startswith`), which every part fails; the cast's
    // `$count` probes carry no filter, and the whole list is read without the cast.
    let sim = Sim::start(no_throttle(SimConfig {
        preset: Preset::M,
        seed: 4,
        faults: faults(&[
            "503=0@always;path=/groups/*/members/microsoft.graph.user;query=startswith",
        ]),
        ..SimConfig::default()
    }));
    let (report, manifest) = run_default_plan_ok(&sim);
    assert!(sim.stats()["faultsInjected"].as_u64().unwrap() > 0);
    assert_eq!(report["warnings"], serde_json::json!([]), "{report}");
    for v in [&report, &manifest] {
        let said = notes_with(
            v,
            &["members of group", "could not all be read", "one listing"],
        );
        let groups: BTreeSet<&str> = said
            .iter()
            .filter_map(|n| n.split_whitespace().nth(4))
            .collect();
        assert!(!said.is_empty(), "{v}");
        assert_eq!(groups.len(), said.len(), "said once per group: {v}");
    }
}

/// getByIds failing (it names the devices, service principals and contacts delta's
/// references leave unnamed): the memberships are read with the plain per-group requests.
#[test]
fn when_get_by_ids_fails_the_memberships_are_read_group_by_group() {
    let sim = small_with(&["503=0@always;path=/directoryObjects/getByIds"]);
    let (report, _) = run_default_plan_ok(&sim);
    assert_eq!(
        notes_with(&report, &["getByIds", "group by group"]).len(),
        1,
        "{report}"
    );
}

/// Runs the default plan on tenant `small` under `specs`, which fail only the split of the
/// user and group listings: exit 0, the files equal the truth, no warning, and the report
/// and the manifest each say once per listing what has all the `words` its name gives.
fn assert_read_unsplit(specs: &[&str], words: impl Fn(&str) -> Vec<String>) {
    let sim = small_with(specs);
    let (report, manifest) = run_default_plan_ok(&sim);
    assert_eq!(report["warnings"], serde_json::json!([]), "{report}");
    assert!(sim.stats()["faultsInjected"].as_u64().unwrap() > 0);
    for v in [&report, &manifest] {
        for what in ["users", "groups"] {
            let words = words(what);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            assert_eq!(notes_with(v, &words).len(), 1, "{what} said once: {v}");
        }
    }
}

/// The user and group listings are split by prefix, planned from a `$count` per prefix;
/// those counts keep failing: each listing is read unsplit instead, and the manifest and
/// `--json` say so. The run succeeds (only a cheaper way to read failed).
#[test]
fn a_split_listing_whose_prefix_counts_keep_failing_is_read_unsplit() {
    // `/*/$count` with `startswith`: the prefix counts of `/users` and `/groups`, not their
    // totals (the totals plan the split).
    assert_read_unsplit(&["503=0@always;path=/*/$count;query=startswith"], |what| {
        vec![
            format!("the {what} could not be counted"),
            "one listing".into(),
        ]
    });
}

/// The split's counts work but its `startswith` chains keep failing: the listings are read
/// whole (each object once), and the manifest and `--json` say so.
#[test]
fn a_split_listing_whose_chains_keep_failing_is_read_unsplit() {
    // The chains carry `$select`, the prefix counts do not; the plain listings carry no
    // `startswith`.
    assert_read_unsplit(
        &[
            "503=0@always;path=/users;query=startswith;query=$select",
            "503=0@always;path=/groups;query=startswith;query=$select",
        ],
        |what| {
            vec![
                format!("the {what} read in parts"),
                "could not all be read".into(),
                "one more listing".into(),
            ]
        },
    );
}
