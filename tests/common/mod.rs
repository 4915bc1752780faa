//! Shared setup for the end-to-end tests of `run` and `check`: a simulated tenant started
//! in-process, the binary driven through `assert_cmd`, and an expected extraction derived
//! from the simulator's ground truth by a small conversion of our own (never the crate's
//! schema code), so a test that passes proves the engine, not that two halves agree.
#![allow(
    dead_code,
    reason = "each test binary uses a part of the shared helpers"
)]

#[cfg(unix)]
pub mod fifo;
pub mod wine;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use entra_sim::{DemoApp, DemoAppKind, SimConfig, SimHandle};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Long enough for tenant `m` in a debug build on a busy machine; a hang still fails.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(300);

/// The fixed user columns, in order (docs/csv.md).
pub const USER_COLUMNS: [&str; 27] = [
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "accountEnabled",
    "userType",
    "externalUserState",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "officeLocation",
    "city",
    "country",
    "usageLocation",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "onPremisesUserPrincipalName",
    "onPremisesDomainName",
    "onPremisesDistinguishedName",
    "onPremisesImmutableId",
    "onPremisesSecurityIdentifier",
    "proxyAddresses",
];

/// The group property columns, in order; the three computed columns follow (docs/csv.md).
pub const GROUP_COLUMNS: [&str; 15] = [
    "id",
    "displayName",
    "description",
    "mail",
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "visibility",
    "isAssignableToRole",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
];
pub const GROUP_COMPUTED: [&str; 3] = ["membersReadable", "memberCount", "ownerCount"];
pub const MEMBER_COLUMNS: [&str; 6] = [
    "groupId",
    "groupDisplayName",
    "memberId",
    "memberType",
    "memberDisplayName",
    "memberUserPrincipalName",
];
pub const OWNER_COLUMNS: [&str; 6] = [
    "groupId",
    "groupDisplayName",
    "ownerId",
    "ownerType",
    "ownerDisplayName",
    "ownerUserPrincipalName",
];

/// A simulated tenant on its own runtime, so tests can stay synchronous and drive the
/// binary with `assert_cmd` while the server answers on other threads.
pub struct Sim {
    handle: Option<SimHandle>,
    rt: Option<tokio::runtime::Runtime>,
    /// `GET /_sim/truth`, parsed.
    pub truth: Value,
}

impl Sim {
    pub fn start(config: SimConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handle = rt
            .block_on(entra_sim::start(config))
            .expect("simulator starts");
        let truth = serde_json::from_str(&handle.truth_json()).expect("truth is JSON");
        Sim {
            handle: Some(handle),
            rt: Some(rt),
            truth,
        }
    }

    /// Tenant `small` with throttling off (tests that want throttling configure it).
    pub fn small() -> Sim {
        Sim::start(no_throttle(SimConfig::default()))
    }

    fn handle(&self) -> &SimHandle {
        self.handle.as_ref().expect("running")
    }

    pub fn base(&self) -> String {
        self.handle().base_url().to_string()
    }

    pub fn tenant(&self) -> String {
        self.handle().tenant_id().to_string()
    }

    pub fn domain(&self) -> String {
        self.handle().default_domain().to_string()
    }

    pub fn app(&self, kind: DemoAppKind) -> DemoApp {
        let app = self.handle().app(kind).clone();
        assert_eq!(app.kind, kind, "the simulator has no {} app", kind.slug());
        app
    }

    /// The CA certificate (PEM) of a TLS simulator.
    pub fn ca_pem(&self) -> String {
        self.handle()
            .ca_cert_pem()
            .expect("the simulator serves TLS")
            .to_string()
    }

    /// `GET /_sim/stats`.
    pub fn stats(&self) -> Value {
        self.request("GET", "/_sim/stats", None)
    }

    /// A JSON request to the simulator (an admin route, or Graph with `bearer`).
    pub fn request(&self, method: &str, path: &str, bearer: Option<&str>) -> Value {
        let url = format!("{}{path}", self.base());
        // Only the simulator's CA: no platform roots needed, and Wine's chain engine refuses
        // extra roots (wine.rs).
        let client = match self.handle().ca_cert_pem() {
            Some(pem) => reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).expect("CA PEM")]),
            None => reqwest::Client::builder(),
        }
        .build()
        .expect("HTTP client");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let bearer = bearer.map(str::to_string);
        self.rt.as_ref().expect("runtime").block_on(async move {
            let mut req = client.request(method, url);
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            let text = req
                .send()
                .await
                .expect("simulator request")
                .text()
                .await
                .expect("body");
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        })
    }

    /// A Graph GET as a demo app.
    pub fn graph_get(&self, kind: DemoAppKind, path: &str) -> Value {
        let app = self.app(kind);
        let url = format!("{}/{}/oauth2/v2.0/token", self.base(), self.tenant());
        let token = self.rt.as_ref().expect("runtime").block_on(async move {
            let v: Value = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", app.client_id.as_str()),
                    ("client_secret", app.client_secret.as_str()),
                    ("scope", "https://graph.microsoft.com/.default"),
                ])
                .send()
                .await
                .expect("token request")
                .json()
                .await
                .expect("token JSON");
            v["access_token"].as_str().expect("a token").to_string()
        });
        self.request("GET", &format!("/v1.0{path}"), Some(&token))
    }

    /// Flags that point the `app` commands' administrator sign-in at this simulator.
    pub fn admin_flags(&self) -> Vec<String> {
        [
            "--tenant",
            &self.tenant(),
            "--cloud",
            "custom",
            "--authority-url",
            &self.base(),
            "--graph-url",
            &self.base(),
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// Applies `changes` seeded changes to the tenant (`POST /_sim/evolve`), refreshes
    /// [`Sim::truth`] and returns the changes applied.
    pub fn evolve(&mut self, changes: usize, seed: u64) -> Value {
        let applied = self.handle().evolve(changes, seed);
        self.truth = serde_json::from_str(&self.handle().truth_json()).expect("truth is JSON");
        applied
    }

    /// Expires every delta token issued so far.
    pub fn expire_delta_tokens(&self) {
        self.handle().expire_delta_tokens();
    }

    /// Group ids with HiddenMembership visibility.
    pub fn hidden_groups(&self) -> BTreeSet<String> {
        self.truth["hiddenMembershipGroups"]
            .as_array()
            .expect("hiddenMembershipGroups")
            .iter()
            .map(|v| v.as_str().expect("id").to_string())
            .collect()
    }

    /// A group of the truth chosen by a predicate, with its id and display name.
    pub fn group_where(&self, pred: impl Fn(&Value) -> bool) -> (String, String) {
        let g = self.truth["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| pred(g))
            .expect("a matching group");
        (
            g["id"].as_str().expect("id").to_string(),
            g["displayName"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// Member edges of one group in the truth.
    pub fn member_count(&self, group_id: &str) -> usize {
        edges_of(&self.truth, "members", group_id)
    }

    /// `entra-extract <cmd> --cloud custom ... --tenant T --client-id C` for a demo app, with
    /// its secret in the environment and private config/data directories.
    pub fn command(&self, env: &TestEnv, cmd: &str, kind: DemoAppKind) -> Command {
        let mut c = Command::from_std(self.std_command(env, cmd, kind));
        c.timeout(CMD_TIMEOUT);
        c
    }

    /// [`Sim::command`] with some connection flags replaced (`("--tenant", "x")`).
    pub fn command_replacing(
        &self,
        env: &TestEnv,
        cmd: &str,
        kind: DemoAppKind,
        replace: &[(&str, &str)],
    ) -> Command {
        let mut c = env.command();
        c.arg(cmd)
            .args(self.connect_flags(kind, replace))
            .env("ENTRA_EXTRACT_CLIENT_SECRET", self.app(kind).client_secret);
        c
    }

    /// [`Sim::command`] as a `std::process::Command`, for tests that spawn and signal it.
    pub fn std_command(
        &self,
        env: &TestEnv,
        cmd: &str,
        kind: DemoAppKind,
    ) -> std::process::Command {
        let mut c = env.std_command();
        c.arg(cmd)
            .args(self.connect_flags(kind, &[]))
            .env("ENTRA_EXTRACT_CLIENT_SECRET", self.app(kind).client_secret);
        c
    }

    /// `--cloud custom --authority-url B --graph-url B --tenant T --client-id C` for a demo
    /// app, with some flags replaced (`("--tenant", "x")`).
    pub fn connect_flags(&self, kind: DemoAppKind, replace: &[(&str, &str)]) -> Vec<String> {
        let base = self.base();
        let flags = [
            ("--cloud", "custom".to_string()),
            ("--authority-url", base.clone()),
            ("--graph-url", base),
            ("--tenant", self.tenant()),
            ("--client-id", self.app(kind).client_id),
        ];
        flags
            .into_iter()
            .flat_map(|(flag, value)| {
                let value = replace
                    .iter()
                    .find(|(f, _)| *f == flag)
                    .map_or(value, |(_, v)| v.to_string());
                [flag.to_string(), value]
            })
            .collect()
    }

    /// `run ... -o DIR --json -q`.
    pub fn run(&self, env: &TestEnv, kind: DemoAppKind, out: &Path) -> Command {
        let mut c = self.command(env, "run", kind);
        c.arg("-o").arg(out).args(["--json", "-q"]);
        c
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        drop(self.handle.take());
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

pub fn no_throttle(mut config: SimConfig) -> SimConfig {
    config.throttle.enabled = false;
    config
}

/// The name the test harness gives the test `name` of the module whose `module_path!()` is
/// `module`: its path less the test binary's name (`run::extract_output` →
/// `extract_output::NAME`), for `--exact` when a test runs a test of its own binary as a
/// child process.
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_binary, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    }
}

/// Tenant `small`, throttling off, every response `millis` late: runs that last long enough
/// to be interrupted or overlapped.
pub fn slow_sim(millis: u64) -> Sim {
    Sim::start(no_throttle(SimConfig {
        latency: entra_sim::LatencyModel {
            base: Duration::from_millis(millis),
            per_item: Duration::ZERO,
        },
        ..SimConfig::default()
    }))
}

fn edges_of(truth: &Value, list: &str, group_id: &str) -> usize {
    truth[list]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| e["groupId"] == group_id)
        .count()
}

/// Private config, data and output directories for one test; the binary never sees the
/// developer's profiles, keyring or secret.
pub struct TestEnv {
    pub root: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            root: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.root.path().join("config")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A fresh output directory path (not created).
    pub fn out(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// The binary with only this test's directories and no keyring.
    pub fn command(&self) -> Command {
        let mut c = Command::from_std(self.std_command());
        c.timeout(CMD_TIMEOUT);
        c
    }

    /// [`TestEnv::command`] as a `std::process::Command`.
    pub fn std_command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_entra-extract"));
        c.env("ENTRA_EXTRACT_CONFIG_DIR", self.config_dir())
            .env("ENTRA_EXTRACT_DATA_DIR", self.data_dir())
            .env("ENTRA_EXTRACT_KEYRING_STORE", "none")
            .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("ENTRA_EXTRACT_LOG");
        c
    }
}

/// What happened to a group's member list, as the expected output must show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupFate {
    /// Members and owners read completely.
    Readable,
    /// Hidden membership without Member.Read.Hidden: no member rows, owners still read.
    MembersUnreadable,
    /// Deleted during the run: no member or owner rows, both counts empty.
    Deleted,
    /// Deleted after its members were read: member rows and count kept, no owner rows,
    /// ownerCount empty.
    OwnersGone,
}

/// Extra attribute columns (`--extra-user-attribute`, `--extra-group-attribute`), in order.
#[derive(Debug, Default)]
pub struct Extras {
    pub user: Vec<&'static str>,
    pub group: Vec<&'static str>,
}

/// One extraction as rows: users and groups by id, edges as sorted multisets.
#[derive(Debug, Default, PartialEq)]
pub struct Extraction {
    pub users: BTreeMap<String, Vec<String>>,
    pub groups: BTreeMap<String, Vec<String>>,
    pub members: Vec<Vec<String>>,
    pub owners: Vec<Vec<String>>,
}

/// A Graph JSON value as a CSV cell: null → empty, bool → true/false, arrays joined with `|`.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("|"),
        Value::Object(_) => v.to_string(),
    }
}

fn prop(obj: &Value, name: &str) -> String {
    let v = obj
        .get(name)
        .unwrap_or_else(|| panic!("truth object {} lacks {name}", obj["id"]));
    cell(v)
}

impl Extraction {
    /// The extraction a correct run must produce, from the truth JSON and each group's fate
    /// (groups not in `fates` are readable).
    pub fn expected(truth: &Value, fates: &BTreeMap<String, GroupFate>) -> Extraction {
        Extraction::expected_with(truth, fates, &Extras::default())
    }

    /// [`Extraction::expected`] with extra attribute columns.
    pub fn expected_with(
        truth: &Value,
        fates: &BTreeMap<String, GroupFate>,
        extras: &Extras,
    ) -> Extraction {
        let fate = |id: &str| fates.get(id).copied().unwrap_or(GroupFate::Readable);
        let users = truth["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| {
                let row: Vec<String> = USER_COLUMNS
                    .iter()
                    .chain(&extras.user)
                    .map(|c| prop(u, c))
                    .collect();
                (row[0].clone(), row)
            })
            .collect();
        let names: BTreeMap<String, String> = truth["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| (prop(g, "id"), prop(g, "displayName")))
            .collect();
        let edges = |list: &str, prefix: &str, keep: &dyn Fn(GroupFate) -> bool| {
            let mut rows: Vec<Vec<String>> = truth[list]
                .as_array()
                .expect("edges")
                .iter()
                .filter(|e| keep(fate(e["groupId"].as_str().unwrap_or_default())))
                .map(|e| {
                    let gid = prop(e, "groupId");
                    vec![
                        gid.clone(),
                        names.get(&gid).cloned().unwrap_or_default(),
                        prop(e, &format!("{prefix}Id")),
                        prop(e, &format!("{prefix}Type")),
                        prop(e, &format!("{prefix}DisplayName")),
                        prop(e, &format!("{prefix}UserPrincipalName")),
                    ]
                })
                .collect();
            rows.sort();
            rows
        };
        let members = edges("members", "member", &|f| {
            matches!(f, GroupFate::Readable | GroupFate::OwnersGone)
        });
        let owners = edges("owners", "owner", &|f| {
            matches!(f, GroupFate::Readable | GroupFate::MembersUnreadable)
        });
        let (member_counts, owner_counts) = (rows_per_group(&members), rows_per_group(&owners));
        let groups = truth["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                let id = prop(g, "id");
                let mut row: Vec<String> = GROUP_COLUMNS.iter().map(|c| prop(g, c)).collect();
                let count = |per_group: &BTreeMap<&str, usize>| {
                    per_group.get(id.as_str()).copied().unwrap_or(0)
                };
                let (readable, members_n, owners_n) = match fate(&id) {
                    GroupFate::Readable => (
                        "true".into(),
                        count(&member_counts).to_string(),
                        count(&owner_counts).to_string(),
                    ),
                    GroupFate::MembersUnreadable => (
                        "false".into(),
                        String::new(),
                        count(&owner_counts).to_string(),
                    ),
                    GroupFate::Deleted => ("false".into(), String::new(), String::new()),
                    GroupFate::OwnersGone => (
                        "true".into(),
                        count(&member_counts).to_string(),
                        String::new(),
                    ),
                };
                row.extend([readable, members_n, owners_n]);
                row.extend(extras.group.iter().map(|c| prop(g, c)));
                (id, row)
            })
            .collect();
        Extraction {
            users,
            groups,
            members,
            owners,
        }
    }

    /// Reads the four CSV files `<prefix>_*.csv` in `dir`, checking each header.
    pub fn read(dir: &Path, prefix: &str) -> Extraction {
        Extraction::read_with(dir, prefix, &Extras::default())
    }

    /// [`Extraction::read`] with extra attribute columns.
    pub fn read_with(dir: &Path, prefix: &str, extras: &Extras) -> Extraction {
        let user_header: Vec<&str> = USER_COLUMNS.iter().chain(&extras.user).copied().collect();
        let group_header: Vec<&str> = GROUP_COLUMNS
            .iter()
            .chain(&GROUP_COMPUTED)
            .chain(&extras.group)
            .copied()
            .collect();
        let by_id = |rows: Vec<Vec<String>>| {
            let n = rows.len();
            let map: BTreeMap<String, Vec<String>> =
                rows.into_iter().map(|r| (r[0].clone(), r)).collect();
            assert_eq!(map.len(), n, "duplicate ids");
            map
        };
        let sorted = |mut rows: Vec<Vec<String>>| {
            rows.sort();
            rows
        };
        Extraction {
            users: by_id(read_csv(&csv_path(dir, prefix, "users"), &user_header)),
            groups: by_id(read_csv(&csv_path(dir, prefix, "groups"), &group_header)),
            members: sorted(read_csv(
                &csv_path(dir, prefix, "groups_members"),
                &MEMBER_COLUMNS,
            )),
            owners: sorted(read_csv(
                &csv_path(dir, prefix, "groups_owners"),
                &OWNER_COLUMNS,
            )),
        }
    }

    /// Asserts equality file by file, naming the first differences rather than dumping
    /// thousands of rows.
    pub fn assert_eq(&self, expected: &Extraction) {
        diff_map("users", &self.users, &expected.users);
        diff_map("groups", &self.groups, &expected.groups);
        diff_rows("members", &self.members, &expected.members);
        diff_rows("owners", &self.owners, &expected.owners);
    }
}

fn diff_map(
    what: &str,
    actual: &BTreeMap<String, Vec<String>>,
    expected: &BTreeMap<String, Vec<String>>,
) {
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(5)
        .collect();
    let changed: Vec<String> = expected
        .iter()
        .filter_map(|(k, e)| {
            let a = actual.get(k)?;
            (a != e).then(|| format!("{k}:\n   got      {a:?}\n   expected {e:?}"))
        })
        .take(5)
        .collect();
    assert!(
        missing.is_empty()
            && extra.is_empty()
            && changed.is_empty()
            && actual.len() == expected.len(),
        "{what}: {} rows, expected {}; missing {missing:?}; unexpected {extra:?}; differing:\n{}",
        actual.len(),
        expected.len(),
        changed.join("\n")
    );
}

fn diff_rows(what: &str, actual: &[Vec<String>], expected: &[Vec<String>]) {
    if actual == expected {
        return;
    }
    let (a, e) = (multiset(actual), multiset(expected));
    let missing: Vec<_> = e
        .iter()
        .filter(|(r, n)| a.get(*r).copied().unwrap_or(0) < **n)
        .map(|(r, _)| r)
        .take(5)
        .collect();
    let extra: Vec<_> = a
        .iter()
        .filter(|(r, n)| e.get(*r).copied().unwrap_or(0) < **n)
        .map(|(r, _)| r)
        .take(5)
        .collect();
    panic!(
        "{what}: {} rows, expected {}; missing e.g. {missing:?}; unexpected e.g. {extra:?}",
        actual.len(),
        expected.len()
    );
}

/// Group id (first column) → number of rows.
fn rows_per_group(rows: &[Vec<String>]) -> BTreeMap<&str, usize> {
    let mut n: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *n.entry(r[0].as_str()).or_default() += 1;
    }
    n
}

fn multiset(rows: &[Vec<String>]) -> BTreeMap<&Vec<String>, i64> {
    let mut m: BTreeMap<&Vec<String>, i64> = BTreeMap::new();
    for r in rows {
        *m.entry(r).or_default() += 1;
    }
    m
}

pub fn csv_path(dir: &Path, prefix: &str, kind: &str) -> PathBuf {
    dir.join(format!("{prefix}_{kind}.csv"))
}

/// Reads a CSV file (optional BOM), checks its header and CRLF line ends, returns the rows.
pub fn read_csv(path: &Path, header: &[&str]) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let first_line_end = body
        .iter()
        .position(|b| *b == b'\n')
        .expect("a header line");
    assert!(
        first_line_end > 0 && body[first_line_end - 1] == b'\r',
        "{}: header line does not end in CRLF",
        path.display()
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let got: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(got, header, "{}: header", path.display());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{}: bad CSV: {e}", path.display()));
            assert_eq!(r.len(), header.len(), "{}: ragged row", path.display());
            r.iter().map(str::to_string).collect()
        })
        .collect()
}

/// Checks `<prefix>_manifest.json` against the files on disk (our own SHA-256 and row
/// counts, not the crate's verifier) and returns it.
pub fn check_manifest(dir: &Path, prefix: &str) -> Value {
    let path = dir.join(format!("{prefix}_manifest.json"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let manifest: Value = serde_json::from_str(&text).expect("manifest JSON");
    let files = manifest["files"].as_array().expect("files");
    let mut kinds: BTreeSet<&str> = files.iter().filter_map(|f| f["kind"].as_str()).collect();
    // A profile's runs also write the changes report.
    assert_eq!(kinds.remove("changes"), manifest.get("changes").is_some());
    assert_eq!(
        kinds,
        BTreeSet::from(["users", "groups", "groups_members", "groups_owners"])
    );
    for f in files {
        let name = f["name"].as_str().expect("name");
        let kind = f["kind"].as_str().expect("kind");
        assert_eq!(name, format!("{prefix}_{kind}.csv"));
        let bytes = std::fs::read(dir.join(name)).expect("listed file exists");
        assert_eq!(f["bytes"], bytes.len() as u64, "{name}: bytes");
        assert_eq!(
            f["sha256"].as_str(),
            Some(hex::encode(Sha256::digest(&bytes)).as_str()),
            "{name}: sha256"
        );
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        assert_eq!(f["bom"], body.len() != bytes.len(), "{name}: bom");
        let rows = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(body)
            .records()
            .count() as u64;
        assert_eq!(f["rows"], rows, "{name}: rows");
        let counts_key = match kind {
            "changes" => continue,
            "users" => "users",
            "groups" => "groups",
            "groups_members" => "member_edges",
            _ => "owner_edges",
        };
        assert_eq!(manifest["counts"][counts_key], rows, "counts.{counts_key}");
    }
    assert_eq!(
        manifest["counts"]["warnings"],
        manifest["warnings"].as_array().map(Vec::len).unwrap_or(0) as u64
    );
    manifest
}

/// Every file in `dir` is owner-only (0600 on Unix, the user's protected DACL on Windows) and
/// no temporary file is left.
pub fn assert_private_and_clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read output dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.ends_with(".tmp") && !name.starts_with(".entra-extract-"),
            "temporary file left behind: {name}"
        );
        #[cfg(unix)] // modes
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name} has mode {mode:o}");
        }
        #[cfg(windows)] // DACLs
        assert_owner_only(&entry.path(), 0);
    }
}

/// The DACL of `path` is the owner-only one entra-extract gives what it creates (`flags`:
/// 0 for a file, `DIRECTORY_ACE_FLAGS` for a directory), as Windows or Wine reads it back.
#[cfg(windows)] // DACLs
pub fn assert_owner_only(path: &Path, flags: u8) {
    use entra_extract::private_fs::windows;
    assert_eq!(
        windows::dacl(path).unwrap(),
        windows::owner_only_as_read_back(flags).unwrap(),
        "{}",
        path.display()
    );
}

/// The lock file a run leaves in its output directory (docs/csv.md: it stays, empty).
pub const LOCK_FILE: &str = ".entra-extract.lock";

/// Name → content of every file in `dir` but the lock file (for "untouched" checks).
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_name() != LOCK_FILE)
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read file"),
            )
        })
        .collect()
}

/// Puts a previous extraction under the names a run with `prefix` would write (distinct
/// content, owner-only) into `out` and returns its snapshot.
pub fn seed_previous(out: &Path, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    std::fs::create_dir_all(out).expect("create output dir");
    for kind in ["users", "groups", "groups_members", "groups_owners"] {
        write_private(
            &csv_path(out, prefix, kind),
            format!("id\r\nprevious-{kind}\r\n").as_bytes(),
        );
    }
    write_private(
        &out.join(format!("{prefix}_manifest.json")),
        b"{\"previous\":true}",
    );
    snapshot(out)
}

/// A previous run's file: owner-only, as a run leaves it.
fn write_private(path: &Path, body: &[u8]) {
    entra_extract::private_fs::write_atomic(path, body).expect("write file");
}

/// The `--json` report printed on stdout.
/// `profile list --json` run by `command` (the binary with a test's directories): the rows.
pub fn profile_list(mut command: Command) -> Value {
    let o = command
        .args(["profile", "list", "--json"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    json_stdout(&o)
}

pub fn json_stdout(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The exit code, with stdout/stderr in the panic message when it differs.
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Under Wine, asserts that a command given `--extra-ca` failed as Wine's chain engine makes
/// it fail (exit 2, `bad_config`, [`wine::EXTRA_ROOTS_REFUSED`]) and returns true; elsewhere
/// returns false and the caller checks the real behaviour.
pub fn extra_ca_refused_by_wine(out: &std::process::Output) -> bool {
    if wine::version().is_none() {
        return false;
    }
    assert_exit(out, 2);
    let report = json_stdout(out);
    assert_eq!(report["outcome"], "bad_config", "{report}");
    wine::refused_extra_roots(report["error"].as_str().unwrap_or_default())
}

/// `profile create NAME` for the full app of `sim`, writing into `out`.
pub fn create_profile(sim: &Sim, env: &TestEnv, name: &str, out: &Path, extra: &[&str]) {
    let app = sim.app(DemoAppKind::Full);
    let o = env
        .command()
        .args(["profile", "create", name, "--cloud", "custom"])
        .arg("--authority-url")
        .arg(sim.base())
        .arg("--graph-url")
        .arg(sim.base())
        .arg("--tenant")
        .arg(sim.tenant())
        .arg("--client-id")
        .arg(&app.client_id)
        .arg("--output-dir")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert_exit(&o, 0);
}

/// Runs the binary with `args` (the full app's secret in its environment) in a private user
/// and mount namespace (`unshare`: no root needed) where `dir` is a tmpfs of `size` (e.g.
/// `48k`): a full disk without filling a real one. `then` runs in the shell afterwards (the
/// binary's exit code is kept), e.g. to list what the tmpfs holds before it vanishes with
/// the namespace. Fails, saying why, where namespaces are not available.
#[cfg(target_os = "linux")]
pub fn run_on_small_disk(
    sim: &Sim,
    env: &TestEnv,
    dir: &Path,
    size: &str,
    args: &[String],
    then: &str,
) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_entra-extract");
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs '{d}' || exit 99; '{bin}' \"$@\"; rc=$?; {then}; exit $rc",
        d = dir.display(),
    );
    let c = env.std_command();
    let o = std::process::Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .args(args)
        .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env(
            "ENTRA_EXTRACT_CLIENT_SECRET",
            sim.app(DemoAppKind::Full).client_secret,
        )
        .output()
        .expect("unshare (util-linux) runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() != Some(99) && !stderr.contains("unshare:"),
        "this test needs unprivileged user namespaces or root: {stderr}"
    );
    o
}

/// `run --profile NAME --json -q` as a scheduled run does it (the full app's secret in the
/// environment).
pub fn run_profile(sim: &Sim, env: &TestEnv, name: &str) -> std::process::Output {
    let mut c = Command::from_std(run_profile_command(sim, env, name));
    c.timeout(CMD_TIMEOUT);
    c.output().unwrap()
}

/// [`run_profile`]'s command, to add arguments to or to spawn.
pub fn run_profile_command(sim: &Sim, env: &TestEnv, name: &str) -> std::process::Command {
    let mut c = env.std_command();
    c.args(["run", "--profile", name, "--json", "-q"]).env(
        "ENTRA_EXTRACT_CLIENT_SECRET",
        sim.app(DemoAppKind::Full).client_secret,
    );
    c
}

/// [`run_profile`], asserting exit 0; returns the report.
pub fn run_profile_ok(sim: &Sim, env: &TestEnv, name: &str) -> Value {
    let o = run_profile(sim, env, name);
    assert_exit(&o, 0);
    json_stdout(&o)
}

/// Runs a full extraction with `kind` into `out` and asserts exit 0 and output = truth.
pub fn run_and_compare(sim: &Sim, env: &TestEnv, out: &Path) -> Value {
    let o = sim.run(env, DemoAppKind::Full, out).output().expect("run");
    assert_exit(&o, 0);
    let report = json_stdout(&o);
    Extraction::read(out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    check_manifest(out, &sim.domain());
    assert_private_and_clean(out);
    report
}

/// Fails, naming the install script, unless the Secret Service test tools are installed.
pub fn require_secret_service_tools() {
    let missing: Vec<&str> = ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"]
        .into_iter()
        .filter(|tool| {
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map(|o| !o.status.success())
                .unwrap_or(true)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}: run scripts/install-test-deps.sh (installs dbus, gnome-keyring, libsecret-tools)"
    );
}

/// Runs `script` with `sh` in a private D-Bus session (so a gnome-keyring-daemon it starts is
/// never the developer's keyring), with a fresh HOME under `r`, this test's config and data
/// directories, `BIN` (the binary) and `ROOT` (= `r`) set, plus `env`.
pub fn dbus_session(
    r: &Path,
    script: &str,
    env: &[(&str, &std::ffi::OsStr)],
) -> std::process::Output {
    let (home, runtime) = (r.join("home"), r.join("run"));
    for d in [&home, &runtime] {
        std::fs::create_dir_all(d).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut c = std::process::Command::new("dbus-run-session");
    c.args(["--", "sh", "-c", script])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("ENTRA_EXTRACT_CLIENT_SECRET")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("ENTRA_EXTRACT_KEYRING_STORE", "secret-service")
        .env("ENTRA_EXTRACT_CONFIG_DIR", r.join("config"))
        .env("ENTRA_EXTRACT_DATA_DIR", r.join("data"))
        .env("BIN", env!("CARGO_BIN_EXE_entra-extract"))
        .env("ROOT", r);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run dbus-run-session")
}

/// Writes `script` to `path` and asserts that `bash -n` accepts it (on Unix: Windows has bash
/// only with Git or WSL, and the Unix run checks what the same code prints).
pub fn assert_bash_parses(path: &Path, script: &str) {
    std::fs::write(path, script).unwrap();
    if cfg!(not(unix)) {
        return;
    }
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n {}: {}",
        path.display(),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// The wizard's draft of the profile `name` of `tenant` (a fixed app), writing into `dir`,
/// signing in with `credential` as the user typed it; `replaces`: the saved profile edited.
pub fn wizard_draft(
    name: &str,
    tenant: &str,
    dir: &std::path::Path,
    credential: entra_extract::tui::services::CredentialInput,
    replaces: Option<&str>,
) -> entra_extract::tui::services::ProfileDraft {
    use entra_extract::graph::Cloud;
    use entra_extract::tui::services::{CredentialsInput, OutputSettings, ProfileDraft};
    ProfileDraft {
        name: name.into(),
        credentials: CredentialsInput {
            cloud: Cloud::Global,
            authority_url: None,
            graph_url: None,
            tenant: tenant.into(),
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            credential,
        },
        output: OutputSettings {
            domain_prefix: String::new(),
            directory: dir.to_path_buf(),
            bom: false,
        },
        tenant: None,
        replaces: replaces.map(Into::into),
        secret_given: true,
        schedule: None,
        credential_file: None,
        if_name_taken: Default::default(),
    }
}

/// A client secret as the user typed it.
pub fn typed_secret() -> entra_extract::tui::services::CredentialInput {
    entra_extract::tui::services::CredentialInput::Secret(
        "Xy7~not.a.real.secret".to_string().into(),
    )
}
