//! `run` against a misbehaving Graph: throttling, transient 503/504 (with and without
//! Retry-After), connection resets, malformed JSON, a group deleted mid-run, token expiry
//! and expired page tokens. Each run either equals the truth or fails cleanly with the
//! previous files untouched.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{
    Extraction, GroupFate, Sim, TestEnv, assert_exit, assert_private_and_clean, check_manifest,
    json_stdout, snapshot,
};
use entra_sim::{DemoAppKind, FaultSpec, LatencyModel, SimConfig, SizeSpec};
use serde_json::Value;

fn faults(specs: &[&str]) -> Vec<FaultSpec> {
    specs
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

/// Small tenant (throttling off) with these faults.
fn sim_with(specs: &[&str]) -> Sim {
    Sim::start(common::no_throttle(SimConfig {
        faults: faults(specs),
        ..SimConfig::default()
    }))
}

/// Runs the full app into a fresh directory and asserts the output equals the truth with
/// every group readable. Returns the report and the simulator's stats.
fn assert_recovers(sim: &Sim) -> (Value, Value) {
    assert_recovers_with(sim, &[])
}

fn assert_recovers_with(sim: &Sim, args: &[&str]) -> (Value, Value) {
    let env = TestEnv::new();
    let out = env.out("out");
    let o = run_args(sim, &env, &out, args);
    assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    check_manifest(&out, &sim.domain());
    assert_private_and_clean(&out);
    let stats = sim.stats();
    (json_stdout(&o), stats)
}

/// Faults aimed at the per-group plan's requests (`/groups/{id}/members`, `$batch`).
const PER_GROUP: &[&str] = &["--plan", "per-group"];

/// `run` with the full app and extra arguments.
fn run_args(
    sim: &Sim,
    env: &TestEnv,
    out: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    sim.run(env, DemoAppKind::Full, out)
        .args(args)
        .output()
        .unwrap()
}

fn injected(stats: &Value) -> u64 {
    stats["faultsInjected"].as_u64().unwrap()
}

#[test]
fn throttled_by_a_small_resource_unit_budget() {
    let mut config = SimConfig::default();
    config.throttle.enabled = true;
    config.throttle.budget = Some(60);
    config.throttle.window = Duration::from_secs(10);
    // 60 RU per second after scaling: the run needs several windows.
    config.time_scale = 10.0;
    let sim = Sim::start(config);
    let (_, stats) = assert_recovers(&sim);
    assert!(
        stats["throttled"].as_u64().unwrap() > 0,
        "never throttled: {stats}"
    );
}

#[test]
fn forced_429_with_retry_after() {
    let sim = sim_with(&["429=0.2@every=4"]);
    let (_, stats) = assert_recovers(&sim);
    assert!(injected(&stats) >= 3, "{stats}");
}

#[test]
fn service_unavailable_with_and_without_retry_after() {
    let sim = sim_with(&["503=0.3@every=5", "503@at=2,9"]);
    let (_, stats) = assert_recovers(&sim);
    assert!(injected(&stats) >= 4, "{stats}");
}

#[test]
fn gateway_timeout_with_http_date_and_without_retry_after() {
    let sim = sim_with(&["504=date:1@at=3", "504@every=6"]);
    let (_, stats) = assert_recovers(&sim);
    assert!(injected(&stats) >= 3, "{stats}");
}

#[test]
fn connection_reset_mid_body() {
    let sim = sim_with(&["reset@at=2,4,6"]);
    let (_, stats) = assert_recovers(&sim);
    assert_eq!(injected(&stats), 3, "{stats}");
}

#[test]
fn malformed_json_body() {
    let sim = sim_with(&["malformed@at=2,5"]);
    let (_, stats) = assert_recovers(&sim);
    assert_eq!(injected(&stats), 2, "{stats}");
}

#[test]
fn token_expiry_mid_run_is_survived() {
    // Every token issued so far is revoked at the organization read and again at the group
    // count (concurrent with the user count): each time the client must get a new token.
    // Both happen before any `$batch` is in flight; the next test covers a batch.
    let sim = sim_with(&[
        "token-expiry@at=1;path=/organization",
        "token-expiry@at=1;path=/groups",
    ]);
    let (_, stats) = assert_recovers(&sim);
    assert_eq!(injected(&stats), 2, "{stats}");
    assert!(stats["tokenRequests"].as_u64().unwrap() >= 3, "{stats}");
}

/// A token revoked while a batch is in flight: the items answering 401
/// InvalidAuthenticationToken inside the 200 envelope are retried with a fresh token.
#[test]
fn token_expiry_inside_a_batch_is_survived() {
    let probe = Sim::small();
    let (gid, _) = probe.group_where(|g| probe.member_count(g["id"].as_str().unwrap()) > 0);
    drop(probe);
    let sim = sim_with(&[&format!("token-expiry@at=1;path=/groups/{gid}/members")]);
    // The per-group plan reads first member pages inside `$batch`.
    let (_, stats) = assert_recovers_with(&sim, PER_GROUP);
    assert_eq!(injected(&stats), 1, "{stats}");
}

#[test]
fn short_token_lifetime_is_refreshed() {
    // 5 s tokens: the client refreshes a quarter of the lifetime early (3.75 s), safely
    // before the simulator's whole-second `exp` (at least 4 s after issue) ends it.
    let sim = Sim::start(common::no_throttle(SimConfig {
        token_lifetime: Duration::from_secs(5),
        latency: LatencyModel {
            base: Duration::from_millis(800),
            per_item: Duration::ZERO,
        },
        ..SimConfig::default()
    }));
    // One worker: the run takes longer than a token lives.
    let (report, stats) = assert_recovers_with(&sim, &["--workers", "1"]);
    assert!(report["duration_secs"].as_f64().unwrap() > 4.0, "{report}");
    assert!(stats["tokenRequests"].as_u64().unwrap() >= 2, "{stats}");
}

#[test]
fn group_deleted_between_listing_and_member_fetch() {
    // Per-group plan: its member fetch answers 404. Fast plan: groups/delta leaves it out,
    // and the per-group reading it falls back to answers 404.
    let (gid, gname) = group_with_members_and_owners();
    for args in [PER_GROUP, &[][..]] {
        let sim = sim_with(&[&format!("deleted-group@always;path=/groups/{gid}/")]);
        let env = TestEnv::new();
        let out = env.out("out");
        let o = run_args(&sim, &env, &out, args);
        assert_exit(&o, 6);
        let report = json_stdout(&o);
        assert_eq!(report["groups_deleted"], 1, "{args:?}");
        let warnings = report["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].as_str().unwrap().contains(&gname),
            "{warnings:?}"
        );

        let fates = BTreeMap::from([(gid.clone(), GroupFate::Deleted)]);
        Extraction::read(&out, &sim.domain()).assert_eq(&Extraction::expected(&sim.truth, &fates));
        let manifest = check_manifest(&out, &sim.domain());
        assert_eq!(manifest["warnings"][0]["kind"], "group_deleted");
        assert_eq!(manifest["warnings"][0]["group_id"], gid.as_str());
        assert_eq!(manifest["counts"]["groups_members_unreadable"], 1);
        assert_private_and_clean(&out);
    }
}

/// A tenant with two pages of users and a group with two pages of members (All Staff), so
/// requests carry `$skiptoken`.
fn paged_config(specs: &[&str]) -> SimConfig {
    common::no_throttle(SimConfig {
        size: Some(SizeSpec {
            users: 1_200,
            groups: 30,
            devices: 5,
            service_principals: 3,
            contacts: 3,
            member_edges: 3_000,
            owner_edges: 30,
        }),
        faults: faults(specs),
        ..SimConfig::default()
    })
}

/// An expired page token (400 Directory_ExpiredPageToken) restarts that listing from its
/// first page; objects read twice are written once, and the manifest says so.
#[test]
fn an_expired_page_token_restarts_the_listing_and_the_manifest_says_so() {
    // Per-group plan: the users' second page, then the second page of a member list. Fast
    // plan: the second page of whichever groups/delta chain asks for one first.
    for (spec, listing, args) in [
        (
            "expired-skiptoken@at=1;path=/users",
            "the user listing",
            PER_GROUP,
        ),
        (
            "expired-skiptoken@at=1;path=/groups/",
            "the members of group",
            PER_GROUP,
        ),
        (
            "expired-skiptoken@at=1;path=/groups/delta",
            "a groups/delta chain",
            &[],
        ),
    ] {
        let sim = Sim::start(paged_config(&[spec]));
        let env = TestEnv::new();
        let out = env.out("out");
        let o = run_args(&sim, &env, &out, args);
        assert_exit(&o, 0);
        Extraction::read(&out, &sim.domain())
            .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
        assert_eq!(injected(&sim.stats()), 1, "{spec}: the fault never fired");
        let report = json_stdout(&o);
        assert_eq!(report["notes"].as_array().unwrap().len(), 1, "{report}");
        let manifest = check_manifest(&out, &sim.domain());
        let notes = manifest["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 1, "{manifest}");
        let note = notes[0].as_str().unwrap();
        assert!(
            note.starts_with(listing)
                && note.contains("restarted from its first page 1 time")
                && note.contains("Directory_ExpiredPageToken"),
            "{spec}: {note}"
        );
    }
}

/// A listing whose page token keeps expiring is restarted a bounded number of times, then
/// the run fails cleanly with the previous files untouched.
#[test]
fn a_page_token_that_keeps_expiring_fails_cleanly_after_a_few_restarts() {
    let sim = Sim::start(paged_config(&["expired-skiptoken@always;path=/users"]));
    let env = TestEnv::new();
    let out = env.out("out");
    let previous = common::seed_previous(&out, &sim.domain());
    let o = run_args(&sim, &env, &out, PER_GROUP);
    assert_exit(&o, 5);
    // The users listing is one chain: it tries once and restarts three times.
    assert_eq!(injected(&sim.stats()), 4);
    let error = json_stdout(&o)["error"].as_str().unwrap().to_string();
    assert!(error.contains("Directory_ExpiredPageToken"), "{error}");
    assert_eq!(snapshot(&out), previous, "previous files changed");
    assert_private_and_clean(&out);
}

/// groups/delta chains whose page token keeps expiring: only the fast plan's shortcut for
/// the memberships fails, so they are read group by group instead, and the manifest says so.
#[test]
fn groups_delta_page_tokens_that_keep_expiring_leave_the_memberships_to_per_group_reads() {
    let sim = Sim::start(paged_config(&[
        "expired-skiptoken@always;path=/groups/delta",
    ]));
    let (report, stats) = assert_recovers(&sim);
    assert!(injected(&stats) >= 4, "{stats}");
    let notes = report["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| {
            let n = n.as_str().unwrap();
            n.starts_with("groups/delta failed")
                && n.contains("Directory_ExpiredPageToken")
                && n.contains("group by group")
        }),
        "{report}"
    );
}

#[test]
fn mixed_faults_at_a_rate_still_equal_truth() {
    let sim = Sim::start(paged_config(&[
        "503=0.05@rate=0.05",
        "429=0.05@rate=0.05",
        "reset@rate=0.03",
        "malformed@rate=0.03",
    ]));
    let (_, stats) = assert_recovers(&sim);
    assert!(injected(&stats) > 0, "{stats}");
}

#[test]
fn group_deleted_between_member_and_owner_fetch() {
    let (gid, _) = group_with_members_and_owners();
    // Only the owner list answers 404: the members were read before the group vanished.
    let sim = sim_with(&[&format!("deleted-group@always;path=/groups/{gid}/owners")]);
    let env = TestEnv::new();
    let out = env.out("out");
    let o = run_args(&sim, &env, &out, PER_GROUP);
    assert_exit(&o, 6);
    let report = json_stdout(&o);
    assert_eq!(report["groups_deleted"], 1);
    let warning = report["warnings"][0].as_str().unwrap();
    assert!(warning.contains("members were read"), "{warning}");
    assert!(
        warning.contains("its owners are not in the files"),
        "{warning}"
    );
    let fates = BTreeMap::from([(gid.clone(), GroupFate::OwnersGone)]);
    Extraction::read(&out, &sim.domain()).assert_eq(&Extraction::expected(&sim.truth, &fates));
    check_manifest(&out, &sim.domain());
}

#[test]
fn group_deleted_while_paging_its_members() {
    let probe = Sim::start(paged_config(&[]));
    let (gid, _) = probe.group_where(|g| probe.member_count(g["id"].as_str().unwrap()) > 999);
    let truth_members = probe.member_count(&gid);
    drop(probe);
    // The first member page (in a batch) is read, the second answers 404.
    let sim = Sim::start(paged_config(&[&format!(
        "deleted-group@at=2;path=/groups/{gid}/members"
    )]));
    let env = TestEnv::new();
    let out = env.out("out");
    let o = run_args(&sim, &env, &out, PER_GROUP);
    assert_exit(&o, 6);
    let warning = json_stdout(&o)["warnings"][0].as_str().unwrap().to_string();
    assert!(
        warning.contains("only the first 999 of its members are in the files"),
        "{warning}"
    );

    let mut actual = Extraction::read(&out, &sim.domain());
    let expected = Extraction::expected(
        &sim.truth,
        &BTreeMap::from([(gid.clone(), GroupFate::Deleted)]),
    );
    // The partial member rows are real members of the group; set them aside, then the rest
    // must equal the truth exactly.
    let all = Extraction::expected(&sim.truth, &BTreeMap::new());
    let partial: Vec<Vec<String>> = actual
        .members
        .iter()
        .filter(|r| r[0] == gid)
        .cloned()
        .collect();
    assert_eq!(partial.len(), 999, "of {truth_members}");
    assert!(partial.iter().all(|r| all.members.binary_search(r).is_ok()));
    actual.members.retain(|r| r[0] != gid);
    // Owners were read in the same batch as the first member page.
    let mut expected = expected;
    expected.owners = all.owners.clone();
    let row = expected.groups.get_mut(&gid).unwrap();
    row[17] = all.groups[&gid][17].clone();
    actual.assert_eq(&expected);
    check_manifest(&out, &sim.domain());
}

/// (id, name) of a small-tenant group with members and owners, so a deletion shows in both
/// files.
fn group_with_members_and_owners() -> (String, String) {
    let probe = Sim::small();
    probe.group_where(|g| {
        let id = g["id"].as_str().unwrap();
        probe.member_count(id) > 2
            && probe.truth["owners"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["groupId"] == id)
    })
}

/// A storm of consecutive 429s, longer than any count of attempts would allow (the old cap
/// was 8): throttled requests wait as long as Graph asks, and the run completes.
#[test]
fn a_429_storm_is_waited_out() {
    let storm: Vec<String> = (1..=15).map(|n| n.to_string()).collect();
    let sim = sim_with(&[&format!("429=0.2@at={};path=/users", storm.join(","))]);
    let (report, stats) = assert_recovers(&sim);
    assert_eq!(injected(&stats), 15);
    assert_eq!(report["outcome"], "success");
}

/// ...within the run's throttle deadline: past it the run fails (exit 5) and says how to
/// allow more time, and the wait never outlasts the deadline by much.
#[test]
fn throttling_past_the_deadline_fails_the_run_with_the_remedy() {
    let sim = sim_with(&["429=0.5@always;path=/users"]);
    let env = TestEnv::new();
    let out = env.out("out");
    let started = std::time::Instant::now();
    let o = sim
        .run(&env, DemoAppKind::Full, &out)
        .args(["--throttle-deadline", "2s"])
        .output()
        .unwrap();
    assert_exit(&o, 5);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let error = json_stdout(&o)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("throttle deadline of 2s") && error.contains("--throttle-deadline"),
        "{error}"
    );
    assert!(injected(&sim.stats()) > 3);
}

/// A request that keeps failing with 503 gives up after the 8 attempts the README promises,
/// and says so even when a throttled attempt (429, waited out without a count) came first.
#[test]
fn a_failing_request_gives_up_after_the_documented_8_attempts() {
    // The user count's 8 attempts fail; the listing's first is throttled, the next 8 fail.
    let sim = sim_with(&["429=0@at=9;path=/users", "503=0@always;path=/users"]);
    let env = TestEnv::new();
    let out = env.out("out");
    let o = run_args(&sim, &env, &out, &[]);
    assert_exit(&o, 5);
    let error = json_stdout(&o)["error"].as_str().unwrap().to_string();
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains("at most 8 attempts"),
        "the README's retry promise changed"
    );
    assert!(
        error.contains("gave up after 8 attempts") && error.contains("1 throttled"),
        "{error}"
    );
}
