//! Reruns of a profile read only the changes: `run --profile X` after the tenant changed
//! (`/_sim/evolve`) writes the same files a full extraction of the changed tenant would,
//! and `<domain>_changes.csv` lists exactly the changes the simulator applied. A run falls
//! back to a full one, saying why, when asked (`--full`), when Graph expired the delta
//! token, and when the previous run's files changed; a failed incremental run leaves the
//! previous files and the saved state as they were.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{
    Extraction, Sim, TestEnv, assert_exit, check_manifest, create_profile, csv_path, json_stdout,
    no_throttle, read_csv, snapshot,
};
use entra_extract::extract::schema::{CHANGE_COLUMNS, GROUP_COLUMNS, USER_COLUMNS};
use entra_sim::{DemoAppKind, FaultKind, FaultSpec, Preset, SimConfig, Trigger};
use serde_json::Value;

const PROFILE: &str = "contoso";

/// `run --profile contoso --json` with the secret in the environment.
fn run_profile(sim: &Sim, env: &TestEnv, extra: &[&str]) -> std::process::Output {
    env.command()
        .args(["run", "--profile", PROFILE, "--json", "-q"])
        .args(extra)
        .env(
            "ENTRA_EXTRACT_CLIENT_SECRET",
            sim.app(DemoAppKind::Full).client_secret,
        )
        .output()
        .unwrap()
}

/// Runs the profile; asserts success, files = truth, and the mode the manifest states.
fn run_ok(sim: &Sim, env: &TestEnv, out: &Path, extra: &[&str]) -> Value {
    let o = run_profile(sim, env, extra);
    assert_exit(&o, 0);
    let report = json_stdout(&o);
    Extraction::read(out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    let manifest = check_manifest(out, &sim.domain());
    assert_eq!(report["mode"], manifest["run"]["mode"]);
    manifest
}

/// The changes file as comparable rows: (object, change, id, groupId, attributes).
type Row = (String, String, String, String, BTreeSet<String>);

fn changes_file(out: &Path, prefix: &str) -> BTreeSet<Row> {
    read_csv(&csv_path(out, prefix, "changes"), CHANGE_COLUMNS)
        .into_iter()
        .map(|r| {
            let attrs = r[7]
                .split('|')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect();
            (
                r[0].clone(),
                r[1].clone(),
                r[2].clone(),
                r[5].clone(),
                attrs,
            )
        })
        .collect()
}

/// The simulator's changes as the changes file must show them: attributes limited to the
/// CSV's columns (an update of nothing the files hold is no change of the files).
fn expected_changes(applied: &[Value]) -> BTreeSet<Row> {
    applied
        .iter()
        .filter_map(|c| {
            let object = c["object"].as_str().unwrap().to_string();
            let columns: &[&str] = match object.as_str() {
                "user" => USER_COLUMNS,
                _ => GROUP_COLUMNS,
            };
            let attrs: BTreeSet<String> = c["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .filter(|a| columns.contains(&a.as_str()))
                .collect();
            if c["change"] == "updated" && attrs.is_empty() {
                return None;
            }
            Some((
                object,
                c["change"].as_str().unwrap().to_string(),
                c["id"].as_str().unwrap().to_string(),
                c["groupId"].as_str().unwrap_or("").to_string(),
                attrs,
            ))
        })
        .collect()
}

fn evolve_and_rerun(sim: &mut Sim, env: &TestEnv, out: &Path, rounds: u64, changes: usize) {
    for round in 1..=rounds {
        let applied = sim.evolve(changes, 100 + round);
        let applied = applied["changes"].as_array().unwrap().clone();
        assert!(!applied.is_empty());
        let manifest = run_ok(sim, env, out, &[]);
        assert_eq!(
            manifest["run"]["mode"], "incremental",
            "round {round}: {manifest}"
        );
        let want = expected_changes(&applied);
        assert_eq!(changes_file(out, &sim.domain()), want, "round {round}");
        let c = &manifest["changes"];
        assert_eq!(c["baseline"], true);
        let n = |o: &str, ch: &str| want.iter().filter(|r| r.0 == o && r.1 == ch).count() as u64;
        assert_eq!(c["users_added"], n("user", "added"));
        assert_eq!(c["users_removed"], n("user", "removed"));
        assert_eq!(c["members_added"], n("member", "added"));
        assert_eq!(c["members_removed"], n("member", "removed"));
        assert_eq!(c["owners_removed"], n("owner", "removed"));
        // The run history says the same.
        let list = common::profile_list(env.command());
        let last = &list[0]["last_run"];
        assert_eq!(last["mode"], "incremental", "{last}");
        assert_eq!(&last["changes"], c, "{last}");
    }
}

fn first_full_run(sim: &Sim, env: &TestEnv, out: &Path) {
    let manifest = run_ok(sim, env, out, &[]);
    assert_eq!(manifest["run"]["mode"], "full");
    assert!(
        manifest["run"]["full_reason"]
            .as_str()
            .unwrap()
            .contains("no previous complete run"),
        "{manifest}"
    );
    assert_eq!(manifest["changes"]["baseline"], false);
    assert!(changes_file(out, &sim.domain()).is_empty());
}

#[test]
fn reruns_read_only_the_changes_and_equal_a_full_extraction() {
    let mut sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    first_full_run(&sim, &env, &out);
    let state = env.data_dir().join("state").join(PROFILE);
    assert!(state.join("state.json").is_file());
    common::assert_private_and_clean(&state);

    let before = sim.stats()["graphRequests"].as_u64().unwrap();
    evolve_and_rerun(&mut sim, &env, &out, 3, 25);
    let per_rerun = (sim.stats()["graphRequests"].as_u64().unwrap() - before) / 3;
    assert!(
        per_rerun < 12,
        "an incremental rerun takes a handful of requests, not {per_rerun}"
    );

    // --full reads everything and says so, and still reports what changed since the
    // previous run; the next rerun is incremental again.
    let applied = sim.evolve(10, 7)["changes"].as_array().unwrap().clone();
    let manifest = run_ok(&sim, &env, &out, &["--full"]);
    assert_eq!(manifest["run"]["mode"], "full");
    assert_eq!(
        changes_file(&out, &sim.domain()),
        expected_changes(&applied),
        "a full rerun diffs against the previous files"
    );
    assert_eq!(manifest["changes"]["baseline"], true, "{manifest}");
    assert!(
        manifest["run"]["full_reason"]
            .as_str()
            .unwrap()
            .contains("--full")
    );
    evolve_and_rerun(&mut sim, &env, &out, 1, 10);
}

#[test]
fn reruns_of_m_over_several_rounds() {
    let mut sim = Sim::start(no_throttle(SimConfig {
        preset: Preset::M,
        seed: 4,
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    first_full_run(&sim, &env, &out);
    evolve_and_rerun(&mut sim, &env, &out, 3, 100);
}

#[test]
fn an_expired_token_or_changed_files_mean_a_full_run_with_the_reason() {
    let mut sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    first_full_run(&sim, &env, &out);

    let applied = sim.evolve(20, 1)["changes"].as_array().unwrap().clone();
    sim.expire_delta_tokens();
    let manifest = run_ok(&sim, &env, &out, &[]);
    assert_eq!(manifest["run"]["mode"], "full");
    assert_eq!(
        changes_file(&out, &sim.domain()),
        expected_changes(&applied)
    );
    let reason = manifest["run"]["full_reason"].as_str().unwrap();
    assert!(
        reason.contains("resync") && reason.contains("syncStateNotFound"),
        "{reason}"
    );

    // Someone edits the users file in place: its snapshot no longer matches.
    sim.evolve(20, 2);
    let users = csv_path(&out, &sim.domain(), "users");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&users)
        .unwrap();
    std::io::Write::write_all(&mut f, b"x").unwrap();
    drop(f);
    let manifest = run_ok(&sim, &env, &out, &[]);
    assert_eq!(manifest["run"]["mode"], "full");
    assert!(
        manifest["run"]["full_reason"]
            .as_str()
            .unwrap()
            .contains("changed since the run that wrote it"),
        "{manifest}"
    );
    evolve_and_rerun(&mut sim, &env, &out, 1, 20);

    // Another column set is another extraction.
    let run = run_profile(&sim, &env, &["--extra-user-attribute", "mobilePhone"]);
    assert_exit(&run, 0);
    let manifest = check_manifest(&out, &sim.domain());
    assert_eq!(manifest["run"]["mode"], "full");
    let reason = manifest["run"]["full_reason"].as_str().unwrap();
    assert!(reason.contains("user columns"), "{reason}");
    // Different columns are no baseline: the changes report stays empty and says so.
    assert_eq!(manifest["changes"]["baseline"], false, "{manifest}");
    assert!(changes_file(&out, &sim.domain()).is_empty());
}

/// A simulated tenant whose full app has what a run needs except Directory.Read.All (so
/// neither getByIds nor the fast plan).
fn without_directory_read_all() -> Sim {
    let roles = [
        "Organization.Read.All",
        "User.Read.All",
        "GroupMember.Read.All",
        "Member.Read.Hidden",
    ];
    Sim::start(no_throttle(SimConfig {
        grants: vec![(
            DemoAppKind::Full,
            roles.iter().map(|r| r.to_string()).collect(),
        )],
        ..SimConfig::default()
    }))
}

/// Without Directory.Read.All a rerun cannot look up by id the members that are neither
/// users nor groups (devices, service principals, contacts): when the previous files hold
/// some, the run reads everything, saying which permission would make reruns cheap, instead
/// of failing at getByIds each time (a tenant whose groups hold only users and groups still
/// reruns: `merge::tests` in the library).
#[test]
fn without_directory_read_all_devices_among_members_mean_full_runs_naming_the_permission() {
    let mut sim = without_directory_read_all();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    for round in 1..=2 {
        let o = run_profile(&sim, &env, &[]);
        assert_exit(&o, 0);
        let manifest = check_manifest(&out, &sim.domain());
        assert_eq!(manifest["run"]["mode"], "full", "round {round}: {manifest}");
        let reason = manifest["run"]["full_reason"].as_str().unwrap();
        if round == 1 {
            assert!(reason.contains("no previous complete run"), "{reason}");
        } else {
            assert!(
                reason.contains("Directory.Read.All") && reason.contains("looked up by id"),
                "{reason}"
            );
            // The previous files still are the changes report's baseline.
            assert_eq!(manifest["changes"]["baseline"], true, "{manifest}");
        }
        sim.evolve(5, round);
    }
    let get_by_ids = sim.stats()["requestsByKind"]["getByIds"].as_u64().unwrap();
    assert_eq!(get_by_ids, 0, "a request the app is not allowed to make");
}

/// A rerun whose changes cannot be read falls back to reading everything; when that fails
/// too (the data itself cannot be read), the previous files and the saved state stay as
/// they were, and the next run picks up from that state.
#[test]
fn a_failed_rerun_leaves_the_files_and_the_state_alone() {
    // The first run's /users requests (its `latest` delta link, the count, one page) work;
    // the next four fail (500 is not retried): the rerun's users/delta, then the fallback's
    // `latest` link, count and listing.
    let mut config = no_throttle(SimConfig::default());
    config.faults.push(FaultSpec {
        kind: FaultKind::InternalError,
        trigger: Trigger::At((4..=7).collect()),
        path_prefix: Some("/users".into()),
        method: None,
        query: Vec::new(),
    });
    let mut sim = Sim::start(config);
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    let full = run_profile(&sim, &env, &["--plan", "per-group"]);
    assert_exit(&full, 0);
    let files = snapshot(&out);
    let state = env.data_dir().join("state").join(PROFILE);
    let saved = snapshot(&state);

    sim.evolve(20, 3);
    let failed = run_profile(&sim, &env, &[]);
    assert_exit(&failed, 5);
    let report = json_stdout(&failed);
    assert_eq!(report["mode"], "full", "{report}");
    assert!(
        report["full_reason"]
            .as_str()
            .unwrap()
            .contains("changes since the previous run could not be read"),
        "{report}"
    );
    assert_eq!(snapshot(&out), files, "the previous files are untouched");
    assert_eq!(snapshot(&state), saved, "the saved state is untouched");

    // Once Graph answers again, the rerun picks up from the same state.
    let o = run_profile(&sim, &env, &[]);
    assert_exit(&o, 0);
    let manifest = check_manifest(&out, &sim.domain());
    assert_eq!(manifest["run"]["mode"], "incremental");
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
}

/// The data directory is full: the files are committed, but the state the next run starts
/// from cannot be saved. The run says so (stderr, the report's warnings, the manifest; exit
/// 6) and leaves no partial file in the state directory. A small tmpfs over the data
/// directory, in a private mount namespace (`unshare`), so the test needs no real full disk.
#[cfg(target_os = "linux")]
#[test]
fn a_state_that_cannot_be_saved_is_a_warning_and_leaves_no_partial_file() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    let data = env.data_dir();
    std::fs::create_dir_all(&data).unwrap();
    let listing = env.out("state-listing.txt");
    let args: Vec<String> = ["run", "--profile", PROFILE, "--json", "-q"]
        .map(String::from)
        .to_vec();
    // The state directory is listed before the namespace (and its tmpfs) goes away.
    let list = format!(
        "ls -A '{}' > '{}'",
        data.join("state").join(PROFILE).display(),
        listing.display()
    );
    let o = common::run_on_small_disk(&sim, &env, &data, "48k", &args, &list);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_exit(&o, 6);
    let report = json_stdout(&o);
    assert_eq!(report["outcome"], "warnings");
    let said = |text: &str| text.contains("could not be saved") && text.contains("next run");
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(warnings.iter().any(|w| said(w)), "{report}");
    assert!(
        stderr.lines().any(|l| l.starts_with("warning:") && said(l)),
        "{stderr}"
    );
    let manifest = check_manifest(&out, &sim.domain());
    let in_manifest = manifest["warnings"].as_array().unwrap();
    assert!(
        in_manifest
            .iter()
            .any(|w| said(w["detail"].as_str().unwrap())),
        "{manifest}"
    );
    // The files themselves are complete.
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    let left = std::fs::read_to_string(&listing).unwrap();
    assert!(
        !left.lines().any(|name| name.ends_with(".tmp")),
        "partial files left in the state directory: {left}"
    );
}

/// A CSV file's header and its rows by their first cell (the id, or `groupId` + member id
/// for an edge file).
struct Table {
    header: Vec<String>,
    rows: BTreeMap<(String, String), Vec<String>>,
}

impl Table {
    fn read(path: &Path, edges: bool) -> Table {
        let mut r = csv::Reader::from_path(path).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows = r
            .records()
            .map(|row| {
                let row: Vec<String> = row.unwrap().iter().map(str::to_string).collect();
                let key = match edges {
                    true => (row[0].clone(), row[2].clone()),
                    false => (row[0].clone(), String::new()),
                };
                (key, row)
            })
            .collect();
        Table { header, rows }
    }

    fn at(&self, column: &str) -> usize {
        self.header.iter().position(|c| c == column).unwrap()
    }
}

/// A changes report row with its `attributes` cell in a canonical order.
type Change = [String; 8];

fn canonical(mut row: Change) -> Change {
    let mut attributes: Vec<&str> = row[7].split('|').filter(|a| !a.is_empty()).collect();
    attributes.sort_unstable();
    row[7] = attributes.join("|");
    row
}

/// What changed from the files in `before` to those in `after`, worked out from the files
/// alone: an added row describes the object as the new files have it, a removed one as the
/// previous files had it; an edge names its group as the new files do (as the previous ones
/// for a group that is gone).
fn diff_of_files(before: &Path, after: &Path, prefix: &str) -> BTreeSet<Change> {
    let read =
        |dir: &Path, kind: &str, edges: bool| Table::read(&csv_path(dir, prefix, kind), edges);
    let mut rows = BTreeSet::new();
    let users = (read(before, "users", false), read(after, "users", false));
    let groups = (read(before, "groups", false), read(after, "groups", false));
    for (object, (old, new)) in [("user", &users), ("group", &groups)] {
        let name = old.at("displayName");
        let keys: BTreeSet<_> = old.rows.keys().chain(new.rows.keys()).collect();
        for key in keys {
            let (change, row, attributes) = match (old.rows.get(key), new.rows.get(key)) {
                (None, Some(b)) => ("added", b, Vec::new()),
                (Some(a), None) => ("removed", a, Vec::new()),
                (Some(a), Some(b)) => {
                    let computed = ["membersReadable", "memberCount", "ownerCount"];
                    let changed: Vec<String> = old
                        .header
                        .iter()
                        .enumerate()
                        .filter(|(i, c)| !computed.contains(&c.as_str()) && a[*i] != b[*i])
                        .map(|(_, c)| c.clone())
                        .collect();
                    if changed.is_empty() {
                        continue;
                    }
                    ("updated", b, changed)
                }
                (None, None) => continue,
            };
            rows.insert(canonical([
                object.into(),
                change.into(),
                key.0.clone(),
                object.into(),
                row[name].clone(),
                String::new(),
                String::new(),
                attributes.join("|"),
            ]));
        }
    }
    let group_name = |gid: &str| {
        let key = (gid.to_string(), String::new());
        let (old, new) = &groups;
        new.rows
            .get(&key)
            .map(|g| g[new.at("displayName")].clone())
            .or_else(|| old.rows.get(&key).map(|g| g[old.at("displayName")].clone()))
            .unwrap_or_default()
    };
    for (object, kind) in [("member", "groups_members"), ("owner", "groups_owners")] {
        let (old, new) = (read(before, kind, true), read(after, kind, true));
        for (change, a, b) in [("removed", &old, &new), ("added", &new, &old)] {
            for (key, row) in &a.rows {
                if b.rows.contains_key(key) {
                    continue;
                }
                rows.insert([
                    object.into(),
                    change.into(),
                    key.1.clone(),
                    row[3].clone(),
                    row[4].clone(),
                    key.0.clone(),
                    group_name(&key.0),
                    String::new(),
                ]);
            }
        }
    }
    rows
}

fn changes_rows(out: &Path, prefix: &str) -> BTreeSet<Change> {
    read_csv(&csv_path(out, prefix, "changes"), CHANGE_COLUMNS)
        .into_iter()
        .map(|r| canonical(r.try_into().unwrap()))
        .collect()
}

/// The changes report of several evolve rounds on tenant m (incremental reruns and a full
/// one) equals a diff of the previous and the new files worked out independently, names and
/// types included: a removed member is
/// described as the previous files had it (a device by its type and name, a member renamed
/// and removed since by its old name).
#[test]
fn the_changes_report_equals_a_diff_of_the_files_names_included() {
    let mut sim = Sim::start(no_throttle(SimConfig {
        preset: Preset::M,
        seed: 7,
        ..SimConfig::default()
    }));
    let env = TestEnv::new();
    let out = env.out("out");
    let before = env.out("before");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    first_full_run(&sim, &env, &out);
    let prefix = sim.domain();
    let mut removed_devices = 0;
    // Three incremental rounds, then a --full one (its report is a diff of the files too).
    for round in 1..=4 {
        let full = round == 4;
        let _ = std::fs::remove_dir_all(&before);
        std::fs::create_dir(&before).unwrap();
        for kind in ["users", "groups", "groups_members", "groups_owners"] {
            std::fs::copy(
                csv_path(&out, &prefix, kind),
                csv_path(&before, &prefix, kind),
            )
            .unwrap();
        }
        sim.evolve(400, 40 + round);
        // (The per-group plan: how the full run reads does not matter here.)
        let extra: &[&str] = if full {
            &["--full", "--plan", "per-group"]
        } else {
            &[]
        };
        let manifest = run_ok(&sim, &env, &out, extra);
        let mode = if full { "full" } else { "incremental" };
        assert_eq!(manifest["run"]["mode"], mode, "round {round}");
        let want = diff_of_files(&before, &out, &prefix);
        let got = changes_rows(&out, &prefix);
        let only = |a: &BTreeSet<Change>, b: &BTreeSet<Change>| -> Vec<Change> {
            a.difference(b).take(5).cloned().collect()
        };
        assert!(
            got == want,
            "round {round}: {} rows reported, {} in the diff\nreported only: {:#?}\ndiff only: {:#?}",
            got.len(),
            want.len(),
            only(&got, &want),
            only(&want, &got)
        );
        removed_devices += got
            .iter()
            .filter(|r| r[0] == "member" && r[1] == "removed" && r[3] == "device")
            .count();
    }
    assert!(removed_devices > 0, "the rounds removed no device member");
}

/// A run that falls back to reading everything says why in its `--json` report even when it
/// then fails: here the saved snapshot fails its hash, and the users file's place is taken
/// by a directory, which the full run finds only once it writes.
#[test]
fn a_fallback_run_that_fails_still_reports_why_it_read_everything() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let out = env.out("out");
    create_profile(&sim, &env, PROFILE, &out, &[]);
    first_full_run(&sim, &env, &out);
    let snapshot = env
        .data_dir()
        .join("state")
        .join(PROFILE)
        .join("snapshot_groups.csv");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&snapshot)
        .unwrap();
    std::io::Write::write_all(&mut f, b"x").unwrap();
    drop(f);
    let users = csv_path(&out, &sim.domain(), "users");
    std::fs::remove_file(&users).unwrap();
    std::fs::create_dir(&users).unwrap();

    let o = run_profile(&sim, &env, &[]);
    assert_ne!(o.status.code(), Some(0));
    let report = json_stdout(&o);
    assert!(
        report["error"].as_str().unwrap().contains("is a directory"),
        "{report}"
    );
    assert_eq!(report["mode"], "full", "{report}");
    let reason = report["full_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("changed since the run that wrote it"),
        "{report}"
    );
}
