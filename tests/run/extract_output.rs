//! End-to-end tests of the output set through the library's public API: owner-only files,
//! atomic commit with a matching manifest, nothing left behind on drop/abort, stale
//! temporary files of a killed run, and clear errors for unusable directories.
#![allow(
    clippy::disallowed_macros,
    reason = "the test harness captures what tests print"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{TimeZone, Utc};
use entra_extract::extract::output::{LOCK_FILE, TEMP_PREFIX, TEMP_SUFFIX, check_output_dir};
use entra_extract::extract::{
    DomainPrefix, EdgeObject, EdgeRow, FileKind, GroupCounts, GroupRecord, Manifest, MemberCount,
    OutputError, OutputOptions, OutputSet, RunDetails, Schema, Warning, WarningKind,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PREFIX: &str = "contoso.com";

fn prefix() -> DomainPrefix {
    DomainPrefix::parse(PREFIX).unwrap()
}

fn schema() -> Schema {
    Schema::new(["employeeType"], ["classification"]).unwrap()
}

fn run_details(warnings: Vec<Warning>) -> RunDetails {
    RunDetails {
        run: None,
        changes: None,
        tenant_id: "11111111-2222-3333-4444-555555555555".into(),
        client_id: "66666666-7777-8888-9999-000000000000".into(),
        cloud: "global".into(),
        started_at: Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap(),
        finished_at: Some(Utc.with_ymd_and_hms(2026, 11, 27, 2, 5, 0).unwrap()),
        warnings,
        notes: Vec::new(),
    }
}

/// Writes a small tenant: `tag` lands in display names so two extractions differ.
fn write_tenant(set: &mut OutputSet, schema: &Schema, tag: &str) {
    let users = [
        json!({"id": "u1", "userPrincipalName": "ann@contoso.com", "displayName": format!("Ann {tag}"),
               "accountEnabled": true, "proxyAddresses": ["SMTP:ann@contoso.com", "smtp:a@contoso.com"],
               "createdDateTime": "2018-12-22T02:21:05Z", "jobTitle": null, "employeeType": "Employee"}),
        json!({"id": "u2", "userPrincipalName": "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com",
               "displayName": "Bob, \"the guest\"", "accountEnabled": false, "userType": "Guest",
               "proxyAddresses": []}),
    ];
    for u in &users {
        set.users().write(&schema.user_row(u)).unwrap();
    }
    let sales = GroupRecord::from_value(
        schema,
        &json!({"id": "g1", "displayName": format!("Sales {tag}"), "groupTypes": [],
                "securityEnabled": true, "mailEnabled": false, "description": "line one\nline two"}),
    )
    .unwrap();
    let board = GroupRecord::from_value(
        schema,
        &json!({"id": "g2", "displayName": "Board", "groupTypes": ["Unified"],
                "visibility": "HiddenMembership", "classification": "High"}),
    )
    .unwrap();
    let members = [
        json!({"@odata.type": "#microsoft.graph.user", "id": "u1", "displayName": "Ann", "userPrincipalName": "ann@contoso.com"}),
        json!({"@odata.type": "#microsoft.graph.group", "id": "g2", "displayName": "Board", "userPrincipalName": null}),
        json!({"@odata.type": "#microsoft.graph.administrativeUnit", "id": "au1", "displayName": "EU"}),
    ];
    for m in &members {
        let m = EdgeObject::from_graph(m);
        set.members()
            .write(&EdgeRow::of(sales.id(), sales.display_name(), &m))
            .unwrap();
    }
    let n = set.members().rows();
    let owner = EdgeObject::from_graph(
        &json!({"@odata.type": "#microsoft.graph.user", "id": "u2", "displayName": "Bob", "userPrincipalName": "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"}),
    );
    set.owners()
        .write(&EdgeRow::of(sales.id(), sales.display_name(), &owner))
        .unwrap();
    set.groups()
        .write(
            &sales,
            GroupCounts {
                members: MemberCount::Known(n),
                owners: Some(1),
            },
        )
        .unwrap();
    set.groups()
        .write(
            &board,
            GroupCounts {
                members: MemberCount::Unreadable,
                owners: Some(0),
            },
        )
        .unwrap();
}

fn hidden_warning() -> Warning {
    Warning {
        kind: WarningKind::HiddenMembershipUnreadable,
        group_id: Some("g2".into()),
        group_name: Some("Board".into()),
        detail: "members of a hidden-membership group could not be read".into(),
    }
}

/// Every entry of `dir` with its bytes (directories as empty).
fn snapshot_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

fn temp_files(dir: &Path) -> Vec<String> {
    snapshot_dir(dir)
        .into_keys()
        .filter(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX))
        .collect()
}

/// `take` on the output directory's lock, again while another holder keeps it for a moment:
/// a test here spawns a child process, and one forked while a set held its lock file
/// shares that lock until it execs (flock follows the open file, and fork copies it), so
/// the lock may outlive its set by a moment.
fn when_free<T>(mut take: impl FnMut() -> Result<T, OutputError>) -> Result<T, OutputError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match take() {
            Err(OutputError::Busy { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => break other,
        }
    }
}

fn commit_tenant(
    dir: &Path,
    tag: &str,
    options: OutputOptions,
) -> entra_extract::extract::CommittedOutput {
    let schema = schema();
    let mut set = when_free(|| OutputSet::create(dir, &prefix(), &schema, options)).unwrap();
    write_tenant(&mut set, &schema, tag);
    set.commit(run_details(vec![hidden_warning()])).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn commit_renames_everything_and_the_manifest_matches_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out/nested"); // created on demand
    let committed = commit_tenant(&dir, "v1", OutputOptions::default());

    let expected_names: Vec<String> = FileKind::ALL
        .iter()
        .map(|k| format!("{PREFIX}{}", k.suffix()))
        .collect();
    let mut names: Vec<String> = snapshot_dir(&dir).into_keys().collect();
    names.sort();
    let mut want: Vec<String> = expected_names
        .iter()
        .cloned()
        .chain([format!("{PREFIX}_manifest.json"), LOCK_FILE.to_string()])
        .collect();
    want.sort();
    assert_eq!(
        names, want,
        "exactly the four CSVs, the manifest and the lock file"
    );

    // The manifest on disk is the one returned, and its hashes and sizes match the bytes.
    let manifest_path = dir.join(format!("{PREFIX}_manifest.json"));
    assert_eq!(committed.manifest_path, manifest_path);
    let manifest = Manifest::read(&manifest_path).unwrap();
    assert_eq!(manifest, committed.manifest);
    assert_eq!(manifest.files.len(), 4);
    for (file, name) in manifest.files.iter().zip(&expected_names) {
        assert_eq!(&file.name, name);
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(file.sha256, hex::encode(Sha256::digest(&bytes)), "{name}");
        assert_eq!(file.bytes, bytes.len() as u64, "{name}");
        let (header, rows) = read_csv(&dir.join(name));
        assert_eq!(header, file.columns, "{name}");
        assert_eq!(file.rows, rows.len() as u64, "{name}");
        assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
    }
    assert!(manifest.verify(&dir).is_empty());
    assert_eq!(manifest.counts.users, 2);
    assert_eq!(manifest.counts.groups, 2);
    assert_eq!(manifest.counts.member_edges, 3);
    assert_eq!(manifest.counts.owner_edges, 1);
    assert_eq!(manifest.counts.groups_members_unreadable, 1);
    assert_eq!(manifest.counts.warnings, 1);
    assert_eq!(manifest.tenant_id, "11111111-2222-3333-4444-555555555555");
    assert_eq!(manifest.client_id, "66666666-7777-8888-9999-000000000000");
    assert_eq!(manifest.cloud, "global");
    assert_eq!(manifest.tool, "entra-extract");
    assert_eq!(manifest.tool_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.prefix, PREFIX);
    assert_eq!(manifest.warnings, vec![hidden_warning()]);
    let raw: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert_eq!(raw["started_at"], "2026-11-27T02:00:00Z");
    assert_eq!(raw["files"][2]["kind"], "groups_members");
    assert_eq!(raw["warnings"][0]["kind"], "hidden_membership_unreadable");

    // The rows say what the tenant said.
    let (users_header, users) = read_csv(&dir.join(&expected_names[0]));
    assert_eq!(
        users_header.last().map(String::as_str),
        Some("employeeType")
    );
    let col = |h: &[String], name: &str| h.iter().position(|c| c == name).unwrap();
    assert_eq!(
        users[0][col(&users_header, "proxyAddresses")],
        "SMTP:ann@contoso.com|smtp:a@contoso.com"
    );
    assert_eq!(users[0][col(&users_header, "accountEnabled")], "true");
    assert_eq!(users[0][col(&users_header, "jobTitle")], "");
    assert_eq!(
        users[1][col(&users_header, "displayName")],
        "Bob, \"the guest\""
    );
    assert_eq!(
        users[1][col(&users_header, "userPrincipalName")],
        "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    );
    let (groups_header, groups) = read_csv(&dir.join(&expected_names[1]));
    assert_eq!(
        groups[0][col(&groups_header, "description")],
        "line one\nline two"
    );
    assert_eq!(groups[0][col(&groups_header, "memberCount")], "3");
    assert_eq!(groups[1][col(&groups_header, "membersReadable")], "false");
    assert_eq!(groups[1][col(&groups_header, "memberCount")], "");
    assert_eq!(groups[1][col(&groups_header, "classification")], "High");
    let (_, members) = read_csv(&dir.join(&expected_names[2]));
    let types: Vec<&str> = members.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(types, ["user", "group", "administrativeUnit"]);

    // Committed file paths are reported.
    let paths: Vec<PathBuf> = committed.files.iter().map(|f| f.path.clone()).collect();
    let want_paths: Vec<PathBuf> = expected_names.iter().map(|n| dir.join(n)).collect();
    assert_eq!(paths, want_paths);
}

#[cfg(unix)]
#[test]
fn every_file_is_owner_only_from_creation() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = schema();
    let mut set =
        OutputSet::create(tmp.path(), &prefix(), &schema, OutputOptions::default()).unwrap();
    write_tenant(&mut set, &schema, "v1");
    // Before commit: the temporary files already are 0600.
    let temps = temp_files(tmp.path());
    assert_eq!(temps.len(), 4, "{temps:?}");
    for name in &temps {
        assert_eq!(mode(&tmp.path().join(name)), 0o600, "{name}");
    }
    set.commit(run_details(vec![])).unwrap();
    for name in snapshot_dir(tmp.path()).keys() {
        assert_eq!(mode(&tmp.path().join(name)), 0o600, "{name}");
    }
    // A directory created for the output is owner-only too.
    let created = tmp.path().join("new/out");
    OutputSet::create(&created, &prefix(), &schema, OutputOptions::default()).unwrap();
    assert_eq!(mode(&created), 0o700);
    assert_eq!(mode(&tmp.path().join("new")), 0o700);
}

#[test]
fn bom_option_prefixes_every_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = commit_tenant(
        tmp.path(),
        "v1",
        OutputOptions {
            bom: true,
            changes: false,
        },
    );
    for file in &committed.files {
        let bytes = std::fs::read(&file.path).unwrap();
        assert!(
            bytes.starts_with(b"\xEF\xBB\xBF"),
            "{}",
            file.path.display()
        );
        assert_eq!(file.sha256, hex::encode(Sha256::digest(&bytes)));
    }
    assert!(committed.manifest.files.iter().all(|f| f.bom));
}

#[test]
fn drop_and_abort_leave_the_previous_extraction_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    commit_tenant(tmp.path(), "v1", OutputOptions::default());
    let before = snapshot_dir(tmp.path());

    let schema = schema();
    let mut dropped =
        OutputSet::create(tmp.path(), &prefix(), &schema, OutputOptions::default()).unwrap();
    write_tenant(&mut dropped, &schema, "v2");
    assert_eq!(temp_files(tmp.path()).len(), 4);
    drop(dropped);
    assert_eq!(snapshot_dir(tmp.path()), before);

    let mut aborted =
        OutputSet::create(tmp.path(), &prefix(), &schema, OutputOptions::default()).unwrap();
    write_tenant(&mut aborted, &schema, "v2");
    aborted.abort().unwrap();
    assert_eq!(snapshot_dir(tmp.path()), before);

    // A new commit does replace the files.
    commit_tenant(tmp.path(), "v2", OutputOptions::default());
    let after = snapshot_dir(tmp.path());
    let users = format!("{PREFIX}_users.csv");
    assert_ne!(after[&users], before[&users]);
    assert!(String::from_utf8_lossy(&after[&users]).contains("Ann v2"));
}

/// A warning found after the commit (the state or the history could not be saved) goes
/// into the run's manifest; but once a later run has committed in the same directory, the
/// manifest there describes that run's files and stays as it is: the warning is refused,
/// and the run reports that its manifest could not say so.
#[test]
fn a_late_warning_never_replaces_a_later_runs_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let late = |detail: &str| Warning {
        kind: WarningKind::StateNotSaved,
        group_id: None,
        group_name: None,
        detail: detail.into(),
    };
    let mut first = commit_tenant(tmp.path(), "v1", OutputOptions::default());
    let mut second = commit_tenant(tmp.path(), "v2", OutputOptions::default());
    let before = snapshot_dir(tmp.path());

    let e = when_free(|| first.add_warning(late("first"))).unwrap_err();
    assert!(e.to_string().contains("later run"), "{e}");
    assert_eq!(
        snapshot_dir(tmp.path()),
        before,
        "the later run's files stand"
    );
    let reported = first.report_warning(late("first"));
    assert!(
        reported.detail.contains("the manifest could not say so"),
        "{reported:?}"
    );
    assert_eq!(snapshot_dir(tmp.path()), before);

    // The latest run's own manifest takes its warning, hashes still matching its files.
    when_free(|| second.add_warning(late("second"))).unwrap();
    let path = tmp.path().join(format!("{PREFIX}_manifest.json"));
    let on_disk: Manifest = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk, second.manifest);
    assert_eq!(on_disk.counts.warnings, 2);
    assert_eq!(on_disk.warnings[1].detail, "second");
    for f in &on_disk.files {
        let bytes = std::fs::read(tmp.path().join(&f.name)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), f.sha256, "{}", f.name);
    }
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn a_second_run_in_the_same_directory_is_refused_while_the_first_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = schema();
    let first =
        OutputSet::create(tmp.path(), &prefix(), &schema, OutputOptions::default()).unwrap();
    let other = DomainPrefix::parse("fabrikam.com").unwrap();
    let err = OutputSet::create(tmp.path(), &other, &schema, OutputOptions::default()).unwrap_err();
    assert!(matches!(err, OutputError::Busy { .. }), "{err:?}");
    assert!(err.to_string().contains("another entra-extract run"));
    // The refused run did not remove the first run's temporary files.
    assert_eq!(temp_files(tmp.path()).len(), 4);
    drop(first);
    let again =
        when_free(|| OutputSet::create(tmp.path(), &other, &schema, OutputOptions::default()));
    assert!(again.is_ok(), "{:?}", again.err());
}

#[test]
fn stale_temp_files_are_recognised_by_name_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let stale = [
        format!("{TEMP_PREFIX}deadbeef.{PREFIX}_users.csv{TEMP_SUFFIX}"),
        format!("{TEMP_PREFIX}0badf00d.fabrikam.com_manifest.json{TEMP_SUFFIX}"),
    ];
    let unrelated = [
        "notes.tmp",
        ".entra-extract-notes.txt",
        "contoso.com_users.csv.tmp",
    ];
    for name in stale.iter().map(String::as_str).chain(unrelated) {
        std::fs::write(tmp.path().join(name), b"x").unwrap();
    }
    let set =
        OutputSet::create(tmp.path(), &prefix(), &schema(), OutputOptions::default()).unwrap();
    let mut removed: Vec<String> = set
        .stale_files_removed()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    removed.sort();
    let mut want = stale.to_vec();
    want.sort();
    assert_eq!(removed, want);
    set.abort().unwrap();
    let left: Vec<String> = snapshot_dir(tmp.path()).into_keys().collect();
    for name in unrelated {
        assert!(left.contains(&name.to_string()), "{name} must be kept");
    }
    for name in &stale {
        assert!(!left.contains(name), "{name} must be gone");
    }
}

/// Not a test on its own: the child process of `a_killed_run_is_cleaned_up_by_the_next`.
/// It starts an output set in `ENTRA_EXTRACT_KILLED_RUN_DIR`, says READY and waits to be
/// killed.
#[test]
#[ignore = "helper process, started by a_killed_run_is_cleaned_up_by_the_next"]
fn killed_run_helper() {
    let Some(dir) = std::env::var_os("ENTRA_EXTRACT_KILLED_RUN_DIR") else {
        return;
    };
    let schema = schema();
    let mut set = OutputSet::create(
        Path::new(&dir),
        &prefix(),
        &schema,
        OutputOptions::default(),
    )
    .unwrap();
    write_tenant(&mut set, &schema, "killed");
    println!("\nOUTPUT-SET-READY");
    std::thread::sleep(std::time::Duration::from_secs(120));
    drop(set);
}

/// Kills the helper process even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_killed_run_is_cleaned_up_by_the_next() {
    let tmp = tempfile::tempdir().unwrap();
    commit_tenant(tmp.path(), "v1", OutputOptions::default());
    let before = snapshot_dir(tmp.path());

    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                &crate::common::test_name(module_path!(), "killed_run_helper"),
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ENTRA_EXTRACT_KILLED_RUN_DIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("OUTPUT-SET-READY"));
    assert!(ready, "the helper process did not start its output set");
    // While it lives, its lock holds.
    let err =
        OutputSet::create(tmp.path(), &prefix(), &schema(), OutputOptions::default()).unwrap_err();
    assert!(matches!(err, OutputError::Busy { .. }), "{err:?}");

    child.0.kill().unwrap(); // SIGKILL: no destructor runs
    child.0.wait().unwrap();
    let left = temp_files(tmp.path());
    assert_eq!(
        left.len(),
        4,
        "a killed run leaves its temporary files: {left:?}"
    );
    // The previous extraction is untouched by the killed run.
    for (name, bytes) in &before {
        assert_eq!(&snapshot_dir(tmp.path())[name], bytes, "{name}");
    }

    let next =
        OutputSet::create(tmp.path(), &prefix(), &schema(), OutputOptions::default()).unwrap();
    assert_eq!(next.stale_files_removed().len(), 4);
    next.abort().unwrap();
    assert_eq!(snapshot_dir(tmp.path()), before);
}

#[test]
fn a_directory_where_a_file_goes_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join(format!("{PREFIX}_groups.csv"))).unwrap();
    let err =
        OutputSet::create(tmp.path(), &prefix(), &schema(), OutputOptions::default()).unwrap_err();
    assert!(matches!(err, OutputError::PathBlocked { .. }), "{err:?}");
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn unusable_output_directories_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();

    let err = OutputSet::create(&file, &prefix(), &schema(), OutputOptions::default()).unwrap_err();
    assert!(matches!(err, OutputError::NotADirectory { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a directory"), "{err}");

    let err = check_output_dir(&file).unwrap_err();
    assert!(matches!(err, OutputError::NotADirectory { .. }), "{err:?}");

    let under_file = file.join("out");
    let err = check_output_dir(&under_file).unwrap_err();
    assert!(matches!(err, OutputError::CreateDir { .. }), "{err:?}");
    let err =
        OutputSet::create(&under_file, &prefix(), &schema(), OutputOptions::default()).unwrap_err();
    assert!(matches!(err, OutputError::CreateDir { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("cannot create the output directory"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_reported_as_not_writable() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    // root ignores permission bits; there the read-only case cannot be staged this way.
    let probe = dir.join("probe");
    if std::fs::write(&probe, b"x").is_ok() {
        std::fs::remove_file(&probe).unwrap();
        eprintln!("running with permission override (root): read-only case not stageable");
        let sys = Path::new("/proc/entra-extract-test");
        let err =
            OutputSet::create(sys, &prefix(), &schema(), OutputOptions::default()).unwrap_err();
        assert!(matches!(err, OutputError::CreateDir { .. }), "{err:?}");
        assert!(check_output_dir(sys).is_err());
        return;
    }
    let err = OutputSet::create(&dir, &prefix(), &schema(), OutputOptions::default()).unwrap_err();
    assert!(matches!(err, OutputError::NotWritable { .. }), "{err:?}");
    assert!(err.to_string().contains("check its permissions"), "{err}");
    let err = check_output_dir(&dir).unwrap_err();
    assert!(matches!(err, OutputError::NotWritable { .. }), "{err:?}");
    let err = check_output_dir(&dir.join("sub")).unwrap_err();
    assert!(matches!(err, OutputError::CreateDir { .. }), "{err:?}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[cfg(unix)]
#[test]
fn a_symlink_in_place_of_a_file_is_replaced_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let link = out.join(format!("{PREFIX}_groups.csv"));
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    commit_tenant(&out, "v1", OutputOptions::default());
    assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn checking_a_usable_directory_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    check_output_dir(tmp.path()).unwrap();
    let missing = tmp.path().join("not/yet");
    check_output_dir(&missing).unwrap();
    assert!(!missing.exists(), "a check must not create the directory");
    assert!(snapshot_dir(tmp.path()).is_empty());
}
