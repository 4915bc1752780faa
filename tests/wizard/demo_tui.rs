//! `entra-extract demo` end to end in a real terminal: the real binary runs in a tmux pane,
//! the test presses keys like a user and reads the screen, then checks the CSV files against
//! the simulator's ground truth (`entra-extract sim --truth-out`, same preset and seed as the
//! demo), converted here with serde_json, independently of the crate's own code.
//!
//! Needs tmux (scripts/install-test-deps.sh installs it); without it the tests fail.
//!
//! Unix only: tmux and `sh` drive the terminal. Windows consoles need a ConPTY driver, which
//! these tests do not have yet.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use entra_extract::tui::testing::flat;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_entra-extract");
/// Printed by the pane's shell once the demo has exited, with its exit status.
const EXITED: &str = "DEMO-EXITED-";
/// Generous: debug build, two shared cores, tests running side by side.
const TIMEOUT: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------
// The tmux pane

/// A tmux session on its own server (socket inside `root`) running the demo; killed on drop.
struct Pane {
    socket: PathBuf,
    name: String,
    /// Holds HOME, XDG dirs, TMPDIR and the output directory of this run.
    root: tempfile::TempDir,
}

impl Pane {
    /// Starts `entra-extract demo -o <root>/out <extra>` in a new `width`×`height` session.
    fn start(test: &str, width: u16, height: u16, extra: &[&str]) -> Pane {
        Pane::launch(test, width, height, |root| {
            format!(
                "{bin} demo -o {out} {extra}",
                bin = quote(Path::new(BIN)),
                out = quote(&root.join("out")),
                extra = extra.join(" "),
            )
        })
    }

    /// Starts the shell command `invocation(root)` (the binary, its arguments and
    /// redirections) in a new `width`×`height` session, in this test's own directories.
    fn launch(
        test: &str,
        width: u16,
        height: u16,
        invocation: impl FnOnce(&Path) -> String,
    ) -> Pane {
        assert!(
            Command::new("tmux").arg("-V").output().is_ok(),
            "tmux is not installed: run scripts/install-test-deps.sh"
        );
        let root = tempfile::tempdir().expect("temp dir");
        for d in ["home", "config", "data", "tmp", "out"] {
            std::fs::create_dir_all(root.path().join(d)).expect("create test dirs");
        }
        let p = |d: &str| quote(&root.path().join(d));
        // The tmux server keeps the environment it started with, so the child's environment
        // goes on its command line. stty reports whether the terminal left raw mode.
        let command = format!(
            "cd {root} && env HOME={home} XDG_CONFIG_HOME={config} XDG_DATA_HOME={data} \
             TMPDIR={tmp} RUST_BACKTRACE=0 {invocation}; \
             echo {EXITED}$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo \
             | tr '\\n' ' '; echo STTY-END; sleep 600",
            root = quote(root.path()),
            home = p("home"),
            config = p("config"),
            data = p("data"),
            tmp = p("tmp"),
            invocation = invocation(root.path()),
        );
        let pane = Pane {
            socket: root.path().join("tmux.sock"),
            name: format!("{test}-{}", std::process::id()),
            root,
        };
        let (w, h) = (width.to_string(), height.to_string());
        let out = pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            &pane.name,
            "-x",
            &w,
            "-y",
            &h,
            &command,
        ]);
        assert!(out.status.success(), "tmux new-session failed: {out:?}");
        pane
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn out_dir(&self) -> PathBuf {
        self.root.path().join("out")
    }

    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format value of the pane, e.g. `#{alternate_on}`.
    fn flag(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", &self.name, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys failed: {out:?}");
    }

    /// Waits until a file whose name satisfies `found` is in the output directory.
    fn wait_for_file(&self, what: &str, found: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while !files_in(&self.out_dir()).iter().any(|n| found(n)) {
            assert!(
                start.elapsed() < TIMEOUT,
                "{what} never appeared; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// For each of `screens` (texts on it), waits until it shows, then presses Enter.
    fn enter_through(&self, screens: &[&[&str]]) {
        for texts in screens {
            self.wait_for(texts);
            self.keys(&["Enter"]);
        }
    }

    /// From the demo picker, takes every default (the fully consented app) through the
    /// steps, and saves: the saved profile's run starts.
    fn save_and_extract(&self) {
        self.wait_for(&["Choose an app registration"]);
        self.keys(&["Enter"]);
        self.enter_through(&[
            &["Step 1 of 7: Cloud"],
            &["Step 2 of 7: Tenant"],
            &["Step 3 of 7: Client id"],
            &["Step 4 of 7: Credential"],
            &["Step 5 of 7: Permissions", "All required permissions"],
            &["Step 6 of 7: Output"],
            &["Step 7 of 7: Save"],
        ]);
    }

    /// The demo's process (under the pane's shell).
    #[cfg(target_os = "linux")]
    fn demo_pid(&self) -> u32 {
        let shell: u32 = self
            .flag("#{pane_pid}")
            .parse()
            .expect("tmux reports the pane's pid");
        child_of(shell).expect("the demo runs under the pane's shell")
    }

    /// Polls the screen until it contains every one of `texts`; fails with the screen.
    fn wait_for(&self, texts: &[&str]) -> String {
        self.wait_until(&format!("{texts:?}"), |s| {
            texts.iter().all(|t| s.contains(t))
        })
    }

    /// Polls until `done` holds for a settled screen: the same on two captures in a row, so
    /// a capture taken halfway through a redraw is never judged.
    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut previous = String::new();
        loop {
            let screen = self.screen();
            if screen == previous && done(&screen) {
                return screen;
            }
            previous = screen;
            assert!(
                start.elapsed() < TIMEOUT,
                "timed out waiting for {what}; screen:\n{previous}"
            );
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// Polls tmux's newest paste buffer (where OSC 52 copies land) until it is `expected`,
    /// or returns what it holds after a while.
    fn wait_until_buffer(&self, expected: &str) -> String {
        let start = Instant::now();
        loop {
            let out = self.tmux(&["show-buffer"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text == expected || start.elapsed() > Duration::from_secs(5) {
                return text;
            }
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// Waits for the demo to exit and checks the terminal is usable again: exit status 0,
    /// the alternate screen left, the cursor shown, canonical mode and echo back on.
    fn assert_exited_and_restored(&self) -> String {
        let screen = self.wait_for(&[EXITED, "STTY-END"]);
        assert!(
            screen.contains(&format!("{EXITED}0")),
            "the demo must exit with status 0:\n{screen}"
        );
        assert!(
            !screen.contains("entra-extract ·"),
            "the wizard must be gone from the screen:\n{screen}"
        );
        let stty = screen
            .lines()
            .find(|l| l.contains("STTY-END"))
            .unwrap_or_default();
        assert!(
            stty.contains("icanon") && stty.contains("echo") && !stty.contains("-icanon"),
            "raw mode must be switched off: {stty:?}"
        );
        assert!(!stty.contains("-echo"), "echo must be back on: {stty:?}");
        assert_eq!(self.flag("#{alternate_on}"), "0", "alternate screen left");
        assert_eq!(self.flag("#{cursor_flag}"), "1", "cursor visible again");
        assert_eq!(self.flag("#{mouse_any_flag}"), "0", "mouse reporting off");
        screen
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-session", "-t", &self.name]);
    }
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// The screen line containing `text`, trimmed; fails with the screen.
fn line_with<'a>(screen: &'a str, text: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?} on screen:\n{screen}"))
        .trim()
}

// ---------------------------------------------------------------------------------------
// Ground truth

/// The demo tenant as `entra-extract sim --truth-out` describes it, plus the demo apps.
struct Truth {
    json: Value,
    /// App name (`full`, `no-hidden`, …) → (client id, secret).
    apps: BTreeMap<String, (String, String)>,
}

/// Kills the simulator started for the truth file, also when an assertion fails.
struct SimChild(Child);

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Truth {
    /// Runs the simulator with the demo's defaults (preset small, seed 1) just long enough
    /// to write the truth file and list the apps.
    fn load() -> Truth {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("truth.json");
        let mut child = SimChild(
            Command::new(BIN)
                .args(["sim", "--scenario", "demo", "--truth-out"])
                .arg(&file)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn entra-extract sim"),
        );
        let stdout = child.0.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut apps = BTreeMap::new();
        loop {
            let line = rx
                .recv_timeout(TIMEOUT)
                .expect("the simulator must print its banner");
            if line.starts_with("Serving until Ctrl-C") {
                break;
            }
            // "  full   client id <GUID>  secret <SECRET>"
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [name, "client", "id", id, "secret", secret] = words[..] {
                apps.insert(name.to_owned(), (id.to_owned(), secret.to_owned()));
            }
        }
        let text = std::fs::read_to_string(&file).expect("truth file written before serving");
        drop(child);
        let json: Value = serde_json::from_str(&text).expect("truth is JSON");
        assert!(apps.contains_key("full"), "demo apps listed: {apps:?}");
        Truth { json, apps }
    }

    fn str(&self, key: &str) -> &str {
        self.json[key].as_str().expect("string in truth")
    }

    fn ids(&self, key: &str) -> Vec<String> {
        let mut ids: Vec<String> = self.json[key]
            .as_array()
            .expect("array in truth")
            .iter()
            .map(|o| o["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// Sorted (groupId, `<role>Id`) pairs of `members` or `owners`, leaving out groups in
    /// `skip_groups`.
    fn edges(&self, key: &str, role: &str, skip_groups: &[String]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = self.json[key]
            .as_array()
            .expect("edge array in truth")
            .iter()
            .map(|e| {
                (
                    e["groupId"].as_str().expect("groupId").to_owned(),
                    e[format!("{role}Id")].as_str().expect("edge id").to_owned(),
                )
            })
            .filter(|(g, _)| !skip_groups.contains(g))
            .collect();
        pairs.sort();
        pairs
    }

    fn hidden_groups(&self) -> Vec<String> {
        self.json["hiddenMembershipGroups"]
            .as_array()
            .expect("hiddenMembershipGroups")
            .iter()
            .map(|g| g.as_str().expect("group id").to_owned())
            .collect()
    }
}

/// `1234` → `1,234`, as the summary prints counts.
fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// The CSV files

/// One CSV file: its header and rows.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !bytes.starts_with(b"\xEF\xBB\xBF"),
            "{}: no byte order mark unless asked for",
            path.display()
        );
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        let header = reader
            .headers()
            .expect("CSV header")
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| {
                r.unwrap_or_else(|e| panic!("{}: bad CSV row: {e}", path.display()))
                    .iter()
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        Csv { header, rows }
    }

    fn column(&self, name: &str) -> Vec<String> {
        let i = self
            .header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.header));
        self.rows.iter().map(|r| r[i].clone()).collect()
    }

    fn sorted_column(&self, name: &str) -> Vec<String> {
        let mut v = self.column(name);
        v.sort();
        v
    }

    fn sorted_pairs(&self, a: &str, b: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.column(a).into_iter().zip(self.column(b)).collect();
        v.sort();
        v
    }
}

/// The four CSV files in `dir`, named after the tenant's default domain.
struct Output {
    users: Csv,
    groups: Csv,
    members: Csv,
    owners: Csv,
}

impl Output {
    fn paths(dir: &Path, domain: &str) -> [PathBuf; 5] {
        [
            "_users.csv",
            "_groups.csv",
            "_groups_members.csv",
            "_groups_owners.csv",
            "_manifest.json",
        ]
        .map(|s| dir.join(format!("{domain}{s}")))
    }

    fn read(dir: &Path, domain: &str) -> Output {
        let [users, groups, members, owners, _] = Output::paths(dir, domain);
        Output {
            users: Csv::read(&users),
            groups: Csv::read(&groups),
            members: Csv::read(&members),
            owners: Csv::read(&owners),
        }
    }

    /// Every user, group and edge of the truth, nothing else; members of `skip_groups`
    /// (hidden membership without Member.Read.Hidden) are expected to be absent.
    fn assert_matches(&self, truth: &Truth, skip_groups: &[String]) {
        let users = truth.ids("users");
        assert_eq!(self.users.rows.len(), users.len(), "user rows");
        assert_eq!(self.users.sorted_column("id"), users, "user ids");
        let groups = truth.ids("groups");
        assert_eq!(self.groups.rows.len(), groups.len(), "group rows");
        assert_eq!(self.groups.sorted_column("id"), groups, "group ids");
        let members = truth.edges("members", "member", skip_groups);
        assert_eq!(self.members.rows.len(), members.len(), "member rows");
        assert_eq!(
            self.members.sorted_pairs("groupId", "memberId"),
            members,
            "(groupId, memberId) pairs"
        );
        let owners = truth.edges("owners", "owner", &[]);
        assert_eq!(self.owners.rows.len(), owners.len(), "owner rows");
        assert_eq!(
            self.owners.sorted_pairs("groupId", "ownerId"),
            owners,
            "(groupId, ownerId) pairs"
        );
    }
}

/// Fails if `needle` occurs in any file under `dir`.
fn assert_not_in_files(dir: &Path, needle: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            assert_not_in_files(&path, needle);
        } else if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "the client secret was written to {}",
                path.display()
            );
        }
    }
}

/// Entries of `dir` other than the run lock (an empty file a run holds, by design kept).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("output dir readable")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".entra-extract.lock")
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Walking the wizard

/// Step 1 in the demo: the simulated tenant's cloud, fixed; returns its URL (authority and
/// Graph alike, on loopback).
fn simulated_cloud(s: &str) -> String {
    assert!(
        s.contains("Cloud:         Custom authority and Graph URLs"),
        "{s}"
    );
    assert!(s.contains("Authority URL: http://127.0.0.1:"), "{s}");
    assert!(s.contains("Graph URL:     http://127.0.0.1:"), "{s}");
    let url = line_with(s, "Authority URL: ")
        .split_whitespace()
        .nth(2)
        .expect("the authority URL")
        .to_owned();
    assert!(line_with(s, "Graph URL: ").ends_with(&url), "{s}");
    url
}

/// From the demo picker, choose the entry `downs` rows below the first and walk steps 1–4,
/// checking the prefilled values, up to pressing Enter on the secret (sign-in). Returns the
/// simulated tenant's URL (authority and Graph alike).
fn pick_and_sign_in(pane: &Pane, downs: usize, label: &str, truth: &Truth, app: &str) -> String {
    pane.wait_for(&["entra-extract · Demo", "Choose an app registration", label]);
    for _ in 0..downs {
        pane.keys(&["Down"]);
    }
    pane.wait_until(&format!("{label} selected"), |s| {
        s.lines()
            .any(|l| l.trim_start().starts_with('>') && l.contains(label))
    });
    pane.keys(&["Enter"]);

    let s = pane.wait_for(&["Step 1 of 7: Cloud"]);
    assert!(s.contains(&format!("Demo: {label}")), "{s}");
    let url = simulated_cloud(&s);
    pane.keys(&["Enter"]);

    let s = pane.wait_for(&["Step 2 of 7: Tenant"]);
    let tenant = truth.str("tenantId");
    assert!(s.contains(&format!("Tenant: [{tenant}")), "{s}");
    pane.keys(&["Enter"]);

    let (client_id, secret) = &truth.apps[app];
    let s = pane.wait_for(&["Step 3 of 7: Client id"]);
    assert!(s.contains(&format!("Client id: [{client_id}")), "{s}");
    pane.keys(&["Enter"]);

    let s = pane.wait_for(&["Step 4 of 7: Credential", "Secret value: [••••"]);
    assert!(
        !s.contains(secret.as_str()),
        "the secret must be masked:\n{s}"
    );
    pane.keys(&["Enter"]);
    url
}

// ---------------------------------------------------------------------------------------
// The tests

/// The main job: every step with the fully consented app, the files against the truth,
/// then the saved profile on the home screen and a second run from it.
#[test]
fn fully_consented_walkthrough_matches_the_truth_and_reruns() {
    let truth = Truth::load();
    let pane = Pane::start("full", 80, 24, &[]);
    let out = pane.out_dir();
    let domain = truth.str("defaultDomain").to_owned();
    let (_, secret) = truth.apps["full"].clone();

    pick_and_sign_in(&pane, 0, "Fully consented", &truth, "full");

    // Validation succeeded and the permission check ran.
    let s = pane.wait_for(&["Step 5 of 7: Permissions", "All required permissions"]);
    assert!(
        line_with(&s, "Directory.Read.All").starts_with("✓ Directory.Read.All   granted"),
        "{s}"
    );
    assert!(
        line_with(&s, "Member.Read.Hidden").starts_with("✓ Member.Read.Hidden   granted"),
        "{s}"
    );
    assert!(!s.contains("MISSING"), "{s}");
    pane.keys(&["Enter"]);

    // Output: what validation learned about the tenant, the prefix and the files.
    let s = pane.wait_for(&["Step 6 of 7: Output"]);
    let tenant_line: String = s
        .lines()
        .skip_while(|l| !l.contains("Tenant:"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        tenant_line.contains(truth.str("tenantId")) && tenant_line.contains(&domain),
        "the validated tenant is shown: {tenant_line:?}\n{s}"
    );
    assert!(s.contains(&format!("File prefix: [{domain}")), "{s}");
    // A long TMPDIR scrolls inside the field; the path is only checked when it fits.
    let dir_field = format!("Directory:   [{}", out.display());
    assert!(
        s.contains(&dir_field) || (dir_field.len() > 60 && s.contains("Directory:   [")),
        "{s}"
    );
    for suffix in [
        "_users.csv",
        "_groups.csv",
        "_groups_members.csv",
        "_groups_owners.csv",
    ] {
        assert!(s.contains(&format!("{domain}{suffix}")), "{s}");
    }
    pane.keys(&["Enter"]);

    let s = pane.wait_for(&["Step 7 of 7: Save", "Profile name: [contoso"]);
    assert!(s.contains("(•) Save the profile"), "{s}");
    pane.keys(&["Enter"]);

    // The demo tenant sits behind realistic latency: the live progress can be read, with
    // some users in and the run not yet complete.
    let s = pane.wait_until("the progress screen mid-run", |s| {
        s.contains("Elapsed") && s.contains("ETA") && !s.contains("complete")
    });
    assert!(line_with(&s, "Users").contains('/'), "{s}");

    // Extraction, then the summary with the truth's counts.
    let users = truth.ids("users").len();
    let groups = truth.ids("groups").len();
    let members = truth.edges("members", "member", &[]).len();
    let owners = truth.edges("owners", "owner", &[]).len();
    let counts = format!(
        "{} users · {} groups · {} member rows · {} owner rows",
        grouped(users),
        grouped(groups),
        grouped(members),
        grouped(owners)
    );
    let s = pane.wait_for(&["Extraction of contoso complete", &counts]);
    assert!(s.contains("Profile contoso saved"), "{s}");
    assert!(
        s.contains("Read everything: "),
        "the first run has no baseline:\n{s}"
    );
    assert!(
        s.contains(&format!("{domain}_users.csv ({} rows)", grouped(users))),
        "{s}"
    );
    assert!(
        line_with(&s, "_manifest.json").ends_with("_manifest.json"),
        "the manifest has no row count:\n{s}"
    );
    Output::read(&out, &domain).assert_matches(&truth, &[]);
    assert_not_in_files(&out, &secret);
    assert_not_in_files(pane.root.path(), &secret);

    // Remove the files so the rerun has to write them again.
    for p in Output::paths(&out, &domain) {
        std::fs::remove_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    pane.keys(&["Enter"]);

    // Home: the saved profile with its last run.
    let s = pane.wait_for(&["Saved profiles", "Last run: success"]);
    let row = line_with(&s, "contoso ");
    assert!(
        row.contains(truth.str("tenantId")) && row.ends_with("success"),
        "{s}"
    );
    let details: String = s
        .lines()
        .skip_while(|l| !l.contains("Last run: success"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        details.contains(&format!(
            "{} users, {} groups, {} member and {} owner rows",
            grouped(users),
            grouped(groups),
            grouped(members),
            grouped(owners)
        )),
        "{s}"
    );
    pane.keys(&["Enter"]);

    // The rerun: a second summary and the files written again, complete, although only
    // the changes (none) were read: the previous files live on in the profile's state.
    let s = pane.wait_for(&["Extraction of contoso complete", &counts]);
    assert!(
        s.contains("Read only the changes since the previous run: 0 joiners, 0 leavers"),
        "{s}"
    );
    Output::read(&out, &domain).assert_matches(&truth, &[]);
    assert_eq!(
        files_in(&out),
        {
            let mut v: Vec<String> = Output::paths(&out, &domain)
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            // A saved profile's runs also report what changed.
            v.push(format!("{domain}_changes.csv"));
            v.sort();
            v
        },
        "the four CSV files, the changes report and the manifest, no temporary files"
    );

    pane.keys(&["q"]);
    pane.assert_exited_and_restored();
    assert!(
        files_in(&pane.root.path().join("tmp")).is_empty(),
        "the demo's temporary profiles are removed on exit"
    );
    assert_not_in_files(pane.root.path(), &secret);
}

/// Without Member.Read.Hidden the permission step says so and shows the portal steps; the
/// extraction then leaves out the hidden groups' members and warns about them.
#[test]
fn missing_member_read_hidden_shows_the_portal_steps_at_100x30() {
    let truth = Truth::load();
    let pane = Pane::start("hidden", 100, 30, &[]);
    pick_and_sign_in(&pane, 1, "Missing Member.Read.Hidden", &truth, "no-hidden");

    let s = pane.wait_for(&["Step 5 of 7: Permissions", "To grant them"]);
    assert!(
        line_with(&s, "Directory.Read.All").starts_with("✓ Directory.Read.All   granted"),
        "{s}"
    );
    assert!(
        line_with(&s, "Member.Read.Hidden   ").starts_with("✗ Member.Read.Hidden   MISSING"),
        "{s}"
    );
    let (client_id, _) = &truth.apps["no-hidden"];
    let steps = s.split_whitespace().collect::<Vec<_>>().join(" ");
    for step in [
        "Microsoft Entra admin center",
        "App registrations",
        client_id.as_str(),
        "API permissions > Add a permission > Microsoft Graph > Application permissions",
        "select Member.Read.Hidden",
        "Grant admin consent",
    ] {
        assert!(steps.contains(step), "missing portal step {step:?}:\n{s}");
    }
    assert!(
        steps.contains("You can extract now, but members of hidden-membership groups"),
        "{s}"
    );
    for n in ["1. ", "2. ", "3. "] {
        assert!(
            s.lines().any(|l| l.trim_start().starts_with(n)),
            "the portal steps are numbered:\n{s}"
        );
    }
    pane.keys(&["Enter"]);
    pane.enter_through(&[&["Step 6 of 7: Output"], &["Step 7 of 7: Save"]]);

    let hidden = truth.hidden_groups();
    assert!(!hidden.is_empty(), "the demo tenant has hidden groups");
    let warnings = format!("{} hidden unreadable", hidden.len());
    let s = pane.wait_for(&["Extraction of contoso complete", &warnings]);
    assert!(s.contains("hidden members unreadable"), "{s}");
    assert!(
        s.split_whitespace().collect::<Vec<_>>().join(" ").contains(
            "grant the application permission Member.Read.Hidden with admin consent and run again"
        ),
        "a warning's remedy is shown whole, not cut at the edge:\n{s}"
    );
    Output::read(&pane.out_dir(), truth.str("defaultDomain")).assert_matches(&truth, &hidden);

    // This app's secret ends in 20 days: the saved profile's check offers to rotate it, the
    // simulated administrator signs in, and the profile then uses a new secret.
    pane.keys(&["Enter"]);
    let s = pane.wait_for(&["Saved profiles", "contoso"]);
    assert!(
        line_with(&s, "contoso ").ends_with("warnings"),
        "a run with warnings is listed as such:\n{s}"
    );
    pane.keys(&["c"]);
    pane.wait_for(&["s rotate the secret now"]);
    pane.keys(&["s"]);
    let s = pane.wait_for(&["now uses a new secret", "The old secret was"]);
    assert!(s.contains("Rotate the secret of contoso"), "{s}");
    pane.keys(&["Enter"]);
    pane.wait_for(&["Saved profiles"]);
    pane.keys(&["c"]);
    let s = pane.wait_for(&["Check contoso", "Member.Read.Hidden"]);
    assert!(
        !s.contains("s rotate the secret now"),
        "the new secret is far from expiry: {s}"
    );
    pane.keys(&["Enter"]);
    pane.wait_for(&["Saved profiles"]);
    pane.keys(&["q"]);
    pane.assert_exited_and_restored();
}

/// An expired secret is reported on the secret field, naming the expiry and the fix.
#[test]
fn expired_secret_error_sits_on_the_secret_field() {
    let truth = Truth::load();
    let pane = Pane::start("expired", 80, 24, &[]);
    pick_and_sign_in(&pane, 4, "Expired secret", &truth, "expired-secret");

    let s = pane.wait_for(&["AADSTS7000222"]);
    assert!(
        s.contains("Step 4 of 7: Credential"),
        "stays on the secret:\n{s}"
    );
    let below: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("> Secret value: ["))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let message = below.join(" ");
    assert!(
        message.contains("expired") && message.contains("AADSTS7000222"),
        "the error belongs right under the secret field: {below:?}\n{s}"
    );
    assert!(
        message.contains("create a new client secret"),
        "the remedy is shown: {below:?}\n{s}"
    );
    pane.keys(&["C-c"]);
    pane.assert_exited_and_restored();
}

/// Ctrl-C during a long extraction asks first; confirmed, the run is cancelled, its
/// partial files removed and the terminal restored.
#[test]
fn ctrl_c_during_extraction_asks_then_leaves_no_files() {
    // Preset m (10,000 users) runs for seconds, long enough to interrupt.
    let pane = Pane::start("ctrl-c", 80, 24, &["--scenario", "m"]);
    let out = pane.out_dir();
    pane.save_and_extract();

    // Wait until the run has partial files on disk, then interrupt.
    pane.wait_for_file("a partial file", |n| n.ends_with(".tmp"));
    // The totals come from /users/$count and /groups/$count once the run is under way.
    let s = pane.wait_for(&["entra-extract · Extracting", "/ 10,000", "Member lists"]);
    for row in ["Groups", "Owner lists", "Requests", "Elapsed", "ETA"] {
        assert!(s.contains(row), "progress shows {row}:\n{s}");
    }
    pane.keys(&["C-c"]);
    let s = pane.wait_for(&["Cancel the extraction and quit?"]);
    assert!(s.contains("entra-extract · Extracting"), "{s}");
    assert!(
        files_in(&out).iter().any(|n| n.ends_with(".tmp")),
        "asking must not cancel yet: {:?}",
        files_in(&out)
    );
    pane.keys(&["y"]);
    pane.assert_exited_and_restored();
    assert_eq!(
        files_in(&out),
        Vec::<String>::new(),
        "a cancelled run leaves no files"
    );
}

/// The process whose parent is `parent` (the demo under the pane's shell), from /proc.
#[cfg(target_os = "linux")]
fn child_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
        let ppid: u32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (ppid == parent).then_some(pid)
    })
}

/// Starts the demo on tenant m in a new pane, walks to the extraction and returns once the
/// run is writing its partial files, with the demo's process id.
#[cfg(target_os = "linux")]
fn extracting_in_a_pane(test: &str) -> (Pane, u32) {
    let pane = Pane::start(test, 80, 24, &["--scenario", "m"]);
    pane.save_and_extract();
    pane.wait_for_file("a partial file", |n| n.ends_with(".tmp"));
    let demo = pane.demo_pid();
    (pane, demo)
}

/// A signal from outside (`kill -INT`, `kill` (SIGTERM), `kill -HUP`: nobody at the keyboard
/// to answer) cancels the run without asking, removes its partial files and restores the
/// terminal.
#[cfg(target_os = "linux")]
fn a_signal_from_outside_cancels_without_asking(test: &str, signal: &str) {
    let (pane, demo) = extracting_in_a_pane(test);
    let status = Command::new("kill")
        .args([signal, &demo.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    pane.assert_exited_and_restored();
    assert_eq!(
        files_in(&pane.out_dir()),
        Vec::<String>::new(),
        "an interrupted run leaves no files"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn sigint_from_outside_cancels_without_asking() {
    a_signal_from_outside_cancels_without_asking("sigint", "-INT");
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_cancels_without_asking_and_restores_the_terminal() {
    a_signal_from_outside_cancels_without_asking("sigterm", "-TERM");
}

#[cfg(target_os = "linux")]
#[test]
fn sighup_cancels_without_asking_and_restores_the_terminal() {
    a_signal_from_outside_cancels_without_asking("sighup", "-HUP");
}

/// A SIGTERM once the run has replaced the files (past its commit point) cancels nothing:
/// the screen says so while the run completes, then the wizard quits with the terminal
/// restored and the files in place.
///
/// The moment is made deterministic with a FIFO: a saved profile's run reads its history
/// after its files are committed, so a history file that is a FIFO holds the rerun there.
#[cfg(target_os = "linux")]
#[test]
fn a_sigterm_after_the_commit_point_lets_the_run_complete_and_says_so() {
    let fast = [
        "--scenario",
        "small",
        "--latency-ms",
        "0",
        "--per-item-us",
        "0",
    ];
    let pane = Pane::start("sigterm-committed", 80, 24, &fast);
    pane.save_and_extract();
    pane.enter_through(&[&["Extraction of", "complete"]]);
    pane.wait_for(&["Saved profiles", "Last run: success"]);
    // The demo keeps its profiles in a temporary directory of its own.
    let demo_home = pane.root.path().join("tmp");
    let history = std::fs::read_dir(&demo_home)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("data/history"))
        .find(|d| d.is_dir())
        .and_then(|d| std::fs::read_dir(d).ok()?.flatten().next())
        .expect("the saved profile's history")
        .path();
    let fifo = crate::common::fifo::Fifo::replace(&history);

    pane.keys(&["Enter"]);
    let writer = fifo
        .wait_read()
        .unwrap_or_else(|| panic!("the rerun never recorded itself:\n{}", pane.screen()));
    let committed = files_in(&pane.out_dir());
    assert!(
        !committed.iter().any(|n| n.ends_with(".tmp")),
        "past its commit point the run has replaced the files: {committed:?}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &pane.demo_pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let s = pane.wait_for(&["Too late to cancel: the run has already replaced the files"]);
    assert!(!s.contains("Cancelling"), "{s}");
    fifo.release(writer);
    pane.assert_exited_and_restored();
    assert_eq!(files_in(&pane.out_dir()), committed, "the files stay");
}

/// Closing the terminal (the pane goes, the demo is hung up on and can neither draw nor
/// read) cancels the run as a signal does: the demo cleans up its partial files, then exits.
#[cfg(target_os = "linux")]
#[test]
fn closing_the_terminal_cancels_the_run_and_leaves_no_files() {
    let (pane, demo) = extracting_in_a_pane("closed");
    let out = pane.tmux(&["kill-session", "-t", &pane.name]);
    assert!(out.status.success(), "tmux kill-session failed: {out:?}");
    let start = Instant::now();
    while running(demo) {
        assert!(start.elapsed() < TIMEOUT, "the demo never exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        files_in(&pane.out_dir()),
        Vec::<String>::new(),
        "a run whose terminal closed leaves no files"
    );
}

/// Whether process `pid` still runs (a zombie nobody reaped has ended).
#[cfg(target_os = "linux")]
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// On a machine without a keyring (an SSH jump host): the save step says so and offers the
/// alternatives; choosing the environment variable records that choice in the profile, the
/// extraction right after uses the secret just typed, and the notice reads as a sentence.
#[test]
fn without_a_keyring_the_environment_choice_is_recorded_and_the_run_uses_the_typed_secret() {
    let truth = Truth::load();
    let pane = Pane::start("nokeyring", 80, 24, &["--no-keyring"]);
    let out = pane.out_dir();
    let domain = truth.str("defaultDomain").to_owned();
    let (_, secret) = truth.apps["full"].clone();

    pick_and_sign_in(&pane, 0, "Fully consented", &truth, "full");
    pane.enter_through(&[
        &["Step 5 of 7: Permissions", "All required permissions"],
        &["Step 6 of 7: Output"],
        &["Step 7 of 7: Save", "Profile name: [contoso"],
    ]);

    let s = pane.wait_for(&[
        "The profile was not saved.",
        "Save with: Environment variable",
    ]);
    assert!(flat(&s).contains("no D-Bus Secret Service"), "{s}");
    assert!(
        line_with(&s, "Save with: Environment variable").starts_with("(•)"),
        "{s}"
    );
    pane.keys(&["Enter"]);

    let s = pane.wait_for(&["Extraction of contoso complete"]);
    let flat = flat(&s);
    assert!(
        flat.contains(
            "Profile contoso saved; the secret is not stored: set ENTRA_EXTRACT_CLIENT_SECRET before each later run."
        ),
        "{s}"
    );
    assert!(!flat.contains("stored in not stored"), "{s}");
    Output::read(&out, &domain).assert_matches(&truth, &[]);

    // The profile records the storage the user chose.
    let profile = find_file(&pane.root.path().join("tmp"), "contoso.toml")
        .expect("the demo saved the profile");
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(text.contains("secret_storage = \"environment\""), "{text}");
    assert_not_in_files(pane.root.path(), &secret);

    pane.keys(&["q"]);
    pane.assert_exited_and_restored();
}

/// The first file named `name` under `dir`, searched depth-first.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

/// "I don't have an app registration yet", in a real terminal: from the demo picker the
/// simulated Global Administrator signs in with a code, the program creates the registration,
/// its consent and its secret (into the demo's keyring; nobody types or sees it), and the new
/// profile's extraction equals the truth.
#[test]
fn creating_an_app_registration_needs_no_typed_secret_and_extracts_the_truth() {
    let truth = Truth::load();
    let pane = Pane::start("newapp", 80, 24, &[]);
    let out = pane.out_dir();
    let domain = truth.str("defaultDomain").to_owned();
    pane.wait_for(&["Demo mode", "press a to create"]);
    pane.keys(&["a"]);
    let s = pane.wait_for(&["Create an app registration", "Profile name: [demo-created"]);
    assert!(
        s.contains(truth.str("tenantId")),
        "the demo tenant is filled in: {s}"
    );
    pane.keys(&["Enter"]);
    // The code is shown, the simulated administrator approves, every step is listed.
    let s = pane.wait_for(&["Profile demo-created is ready"]);
    assert!(s.contains("Create an app registration"), "{s}");
    assert!(s.contains("Application (client) id: "), "{s}");
    pane.keys(&["Enter"]);
    let users = truth.ids("users").len();
    let s = pane.wait_for(&["Extraction of demo-created complete"]);
    assert!(s.contains(&format!("{} users", grouped(users))), "{s}");
    Output::read(&out, &domain).assert_matches(&truth, &[]);
    pane.keys(&["Enter"]);
    let s = pane.wait_for(&["Saved profiles", "demo-created"]);
    assert!(line_with(&s, "demo-created ").ends_with("success"), "{s}");
    pane.keys(&["q"]);
    pane.assert_exited_and_restored();
}

/// "Enter my own app registration" in the demo opens on the simulated tenant, whose cloud
/// cannot be changed there: the app's identifiers typed by hand sign in to the simulator.
#[test]
fn your_own_app_registration_in_the_demo_signs_in_on_the_simulated_tenant() {
    let truth = Truth::load();
    let pane = Pane::start("ownapp", 80, 24, &[]);
    let label = "Enter my own app registration";
    pane.wait_for(&["Choose an app registration", label]);
    // The last entry: Down stops there.
    for _ in 0..10 {
        pane.keys(&["Down"]);
    }
    pane.wait_until(&format!("{label} selected"), |s| {
        s.lines()
            .any(|l| l.trim_start().starts_with('>') && l.contains(label))
    });
    pane.keys(&["Enter"]);
    let s = pane.wait_for(&["Demo: your own app registration", "Step 1 of 7: Cloud"]);
    simulated_cloud(&s);
    // Up to the global cloud: nothing moves.
    pane.keys(&["Up", "Up", "Up", "Up", "Up"]);
    let s = pane.screen();
    simulated_cloud(&s);
    pane.keys(&["Enter"]);
    let s = pane.wait_for(&["Step 2 of 7: Tenant"]);
    assert!(
        s.contains(&format!("Tenant: [{}", truth.str("tenantId"))),
        "{s}"
    );
    pane.keys(&["Enter"]);
    let (client_id, secret) = &truth.apps["full"];
    pane.wait_for(&["Step 3 of 7: Client id"]);
    pane.keys(&["-l", client_id]);
    pane.keys(&["Enter"]);
    pane.wait_for(&["Step 4 of 7: Credential"]);
    pane.keys(&["-l", secret]);
    pane.keys(&["Enter"]);
    pane.wait_for(&["Step 5 of 7: Permissions", "All required permissions"]);
}

/// Esc during the extraction asks whether to cancel, and while the question is open the
/// run replaces no file: it waits before its commit. `y` then cancels it (the previous
/// files stay byte for byte); on the run started again, `n` lets it finish and write.
///
/// Through a terminal the run's wait cannot be observed directly (tests/wizard/wizard_extraction.rs
/// proves it on the hold's own state): here the run is known to be at its commit point once
/// the manifest's temporary file exists, the last thing written before it, and a run that
/// did not wait there would rename its files within milliseconds of writing it. Seconds
/// later the files are still the previous ones and the manifest still waits unrenamed.
#[test]
fn the_cancel_question_holds_the_files_until_it_is_answered() {
    let truth = Truth::load();
    let pane = Pane::start("hold", 80, 24, &[]);
    let out = pane.out_dir();
    let domain = truth.str("defaultDomain").to_owned();
    for p in Output::paths(&out, &domain) {
        std::fs::write(&p, format!("previous {}\n", p.display())).unwrap();
    }
    let previous: Vec<Vec<u8>> = Output::paths(&out, &domain)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let current = || -> Vec<Vec<u8>> {
        Output::paths(&out, &domain)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    };
    let staged_manifest = |n: &str| n.ends_with("_manifest.json.tmp");

    pick_and_sign_in(&pane, 0, "Fully consented", &truth, "full");
    pane.enter_through(&[
        &["Step 5 of 7: Permissions", "All required permissions"],
        &["Step 6 of 7: Output"],
        &["Step 7 of 7: Save"],
    ]);

    for answer in ["y", "n"] {
        pane.wait_until("the progress screen mid-run", |s| {
            s.contains("Elapsed") && s.contains("ETA") && !s.contains("complete")
        });
        pane.keys(&["Escape"]);
        pane.wait_for(&["Cancel the extraction?"]);
        pane.wait_for_file(
            "the staged manifest (the run at its commit point)",
            staged_manifest,
        );
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(current(), previous, "no file replaced while asking");
        assert!(
            files_in(&out).iter().any(|n| staged_manifest(n)),
            "the manifest waits unrenamed: {:?}",
            files_in(&out)
        );
        let s = pane.screen();
        assert!(
            !s.contains("complete") && s.contains("Cancel the extraction?"),
            "the run must not finish while the question is open:\n{s}"
        );
        pane.keys(&[answer]);
        let s = pane.wait_until("the summary", |s| s.contains("entra-extract · Summary"));
        if answer == "y" {
            assert!(s.contains("The extraction was cancelled."), "{s}");
            assert_eq!(current(), previous, "a cancelled run changes no file");
            assert!(
                !files_in(&out).iter().any(|n| n.ends_with(".tmp")),
                "{:?}",
                files_in(&out)
            );
            pane.keys(&["r"]);
        } else {
            assert!(s.contains("Extraction of contoso complete"), "{s}");
            Output::read(&out, &domain).assert_matches(&truth, &[]);
        }
    }
    pane.keys(&["q"]);
    pane.assert_exited_and_restored();
}

/// The grant commands cannot be copied off the screen (they wrap mid-command), so a key
/// copies each one whole: to the clipboard (OSC 52, here into tmux's buffer) and into a file.
/// What is copied is exactly what `entra-extract check` prints for the same app.
#[test]
fn a_grant_command_is_copied_whole_as_check_prints_it() {
    let truth = Truth::load();
    let pane = Pane::start("copy", 80, 24, &[]);
    pane.tmux(&["set-option", "-g", "set-clipboard", "on"]);
    let url = pick_and_sign_in(&pane, 1, "Missing Member.Read.Hidden", &truth, "no-hidden");
    pane.wait_for(&["Step 5 of 7: Permissions", "To grant them"]);

    // What `check` prints for this app, against the demo's own simulated tenant.
    let (client_id, secret) = &truth.apps["no-hidden"];
    let check = Command::new(BIN)
        .args([
            "check",
            "--cloud",
            "custom",
            "--authority-url",
            &url,
            "--graph-url",
            &url,
        ])
        .args(["--tenant", truth.str("tenantId"), "--client-id", client_id])
        .env("ENTRA_EXTRACT_CLIENT_SECRET", secret)
        .env("ENTRA_EXTRACT_CONFIG_DIR", pane.root.path().join("config"))
        .env("ENTRA_EXTRACT_DATA_DIR", pane.root.path().join("data"))
        .env("ENTRA_EXTRACT_KEYRING_STORE", "none")
        .output()
        .expect("check runs");
    let printed = String::from_utf8_lossy(&check.stdout).into_owned();
    let command_after = |tool: &str| -> String {
        let mut lines = printed
            .lines()
            .skip_while(|l| l.trim() != format!("{tool}:"));
        lines.next();
        lines.next().unwrap_or_default().trim().to_owned()
    };
    let az = command_after("Azure CLI");
    let ps = command_after("Microsoft Graph PowerShell");
    assert!(
        az.starts_with("az login") && ps.starts_with("Connect-MgGraph"),
        "{printed}"
    );

    for (key, expected, file) in [
        ("a", &az, format!("grant-{client_id}-azure-cli.txt")),
        (
            "b",
            &ps,
            format!("grant-{client_id}-microsoft-graph-powershell.txt"),
        ),
    ] {
        pane.keys(&[key]);
        let s = pane.wait_for(&["to the clipboard"]);
        assert!(s.contains("Step 5 of 7: Permissions"), "{s}");
        let copied = pane.wait_until_buffer(expected);
        assert_eq!(
            &copied, expected,
            "the clipboard holds the command as check prints it"
        );
        let path = find_file(&pane.root.path().join("tmp"), &file)
            .unwrap_or_else(|| panic!("{file} written:\n{s}"));
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.trim_end(), expected.as_str(), "{}", path.display());
        assert!(
            s.split_whitespace().collect::<String>().contains(&file),
            "the file is named on screen:\n{s}"
        );
    }
    pane.keys(&["C-c"]);
    pane.assert_exited_and_restored();
}

/// `setsid entra-extract </dev/null` on a terminal: the screen is a terminal, but there is
/// no controlling terminal to read keys from. The wizard and the demo say they need one,
/// name the headless commands and exit 2, without escape codes or an error report.
#[test]
fn without_a_controlling_terminal_the_wizard_says_so_and_exits_2() {
    for (test, args) in [("no-ctty", ""), ("no-ctty-demo", " demo")] {
        let pane = Pane::launch(test, 80, 24, |root| {
            format!(
                "setsid -w {bin}{args} </dev/null 2>{log}",
                bin = quote(Path::new(BIN)),
                log = quote(&root.join("stderr.log")),
            )
        });
        let screen = pane.wait_for(&[EXITED]);
        assert!(
            screen.contains(&format!("{EXITED}2")),
            "exit status 2:\n{screen}"
        );
        let stderr = std::fs::read(pane.root.path().join("stderr.log")).unwrap();
        assert!(
            !stderr.contains(&0x1b),
            "escape codes in a file: {stderr:?}"
        );
        let stderr = String::from_utf8_lossy(&stderr);
        for needle in [
            "needs a terminal",
            "entra-extract run",
            "entra-extract check",
        ] {
            assert!(stderr.contains(needle), "{args}: no {needle:?} in {stderr}");
        }
        assert!(stderr.contains("entra-extract demo --headless"), "{stderr}");
        assert!(!stderr.contains("os error"), "{stderr}");
    }
}
