//! `entra-extract schedule add|list|remove` as an operator uses it: the systemd user units it
//! writes pass `systemd-analyze verify`, the command they run (executed here as systemd
//! would, with the credential in `$CREDENTIALS_DIRECTORY`) reruns the profile
//! incrementally with files equal to the tenant, cron is the fallback where no user
//! manager answers, and every unusable request is refused with exit code 2.
//!
//! `systemctl` is a stand-in script first in `PATH` that logs its arguments: the test
//! machines have no user manager to enable timers in.
//!
//! Unix only: systemd user timers and crontab lines, with `#!/bin/sh` stand-ins for
//! `systemctl`; the Task Scheduler and launchd get their own tests.
#![cfg(unix)]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{Extraction, Sim, TestEnv, assert_exit, check_manifest, create_profile};
use entra_sim::DemoAppKind;
use serde_json::Value;

const PROFILE: &str = "contoso";

/// A fresh HOME with a fake `systemctl` (exit code `show_env_exit` for `show-environment`).
struct Host {
    env: TestEnv,
    home: PathBuf,
    bin: PathBuf,
}

impl Host {
    fn new(show_env_exit: i32) -> Host {
        Host::with_systemctl(show_env_exit, "*is-active*) echo active;;")
    }

    /// A fake `systemctl` with `cases` (shell `case` arms) before its default of exit 0.
    fn with_systemctl(show_env_exit: i32, cases: &str) -> Host {
        let env = TestEnv::new();
        let home = env.root.path().join("home");
        let bin = env.root.path().join("bin");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let log = env.root.path().join("systemctl.log");
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in *show-environment*) exit {show_env_exit};; {cases} esac\nexit 0\n",
            log.display()
        );
        write_mode(&bin.join("systemctl"), &script, 0o755);
        // No crontab here either: `schedule list` must not depend on the host's.
        write_mode(&bin.join("crontab"), "#!/bin/sh\nexit 1\n", 0o755);
        Host { env, home, bin }
    }

    fn command(&self) -> assert_cmd::Command {
        let mut c = self.env.command();
        let path = format!("{}:{}", self.bin.display(), std::env::var("PATH").unwrap());
        c.env("HOME", &self.home)
            .env("PATH", path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        c
    }

    fn schedule(&self, args: &[&str]) -> std::process::Output {
        self.command().arg("schedule").args(args).output().unwrap()
    }

    fn systemctl_log(&self) -> String {
        std::fs::read_to_string(self.env.root.path().join("systemctl.log")).unwrap_or_default()
    }

    fn unit(&self, ext: &str) -> PathBuf {
        self.home
            .join(".config/systemd/user")
            .join(format!("entra-extract-{PROFILE}.{ext}"))
    }

    fn profile_toml(&self) -> PathBuf {
        self.env
            .config_dir()
            .join("profiles")
            .join(format!("{PROFILE}.toml"))
    }
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One unit-file value split into words as systemd does: double-quoted words with `\"` and
/// `\\` escapes, `%%` and `$$` collapsed.
fn unit_words(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' => continue,
            '"' => {
                let mut w = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.push(chars.next().unwrap()),
                        c => w.push(c),
                    }
                }
                words.push(w.replace("%%", "%").replace("$$", "$"));
            }
            c => {
                let mut w = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n == ' ' {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                words.push(w.replace("%%", "%").replace("$$", "$"));
            }
        }
    }
    words
}

/// The service's ExecStartPre, ExecStart, Environment and LoadCredential, as the run would
/// see them.
struct Service {
    /// ExecStartPre= commands, with whether a failure is ignored (`-`).
    pre: Vec<(bool, Vec<String>)>,
    exec: Vec<String>,
    environment: Vec<(String, String)>,
    credential: Option<(String, PathBuf)>,
}

fn parse_service(text: &str) -> Service {
    let mut service = Service {
        pre: Vec::new(),
        exec: Vec::new(),
        environment: Vec::new(),
        credential: None,
    };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("ExecStartPre=") {
            let (ignore, v) = v.strip_prefix('-').map_or((false, v), |v| (true, v));
            service.pre.push((ignore, unit_words(v)));
        } else if let Some(v) = line.strip_prefix("ExecStart=") {
            service.exec = unit_words(v);
        } else if let Some(v) = line.strip_prefix("Environment=") {
            for w in unit_words(v) {
                let (k, v) = w.split_once('=').unwrap();
                service.environment.push((k.into(), v.into()));
            }
        } else if let Some(v) = line.strip_prefix("LoadCredential=") {
            let (id, path) = v.split_once(':').unwrap();
            service.credential = Some((id.into(), PathBuf::from(path.replace("%%", "%"))));
        }
    }
    service
}

/// `systemd-analyze --user verify` on the written units (a private runtime directory, as a
/// user session would have).
fn verify(host: &Host) {
    let runtime = host.env.root.path().join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    write_mode(&runtime.join(".keep"), "", 0o600);
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let o = std::process::Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(host.unit("service"))
        .arg(host.unit("timer"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", &host.home)
        .output()
        .expect("systemd-analyze (scripts/install-test-deps.sh installs it)");
    let err = stderr(&o);
    assert!(o.status.success(), "systemd-analyze verify failed:\n{err}");
    // verify exits 0 on some warnings; a bad key or value is still reported.
    assert!(
        !err.contains("Unknown key") && !err.contains("Failed to parse"),
        "{err}"
    );
}

/// Runs the service's commands the way systemd would: its ExecStartPre= first (the host's
/// `systemctl` stand-in first in PATH, for systemd's own search path), then ExecStart with
/// its environment only (plus PATH), the credential copied into a private
/// `$CREDENTIALS_DIRECTORY`.
fn run_as_systemd(host: &Host, service: &Service) -> std::process::Output {
    for (ignore, pre) in &service.pre {
        let path = format!("{}:{}", host.bin.display(), std::env::var("PATH").unwrap());
        let o = std::process::Command::new(&pre[0])
            .args(&pre[1..])
            .env_clear()
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(*ignore || o.status.success(), "{pre:?} failed");
    }
    let creds = host.env.root.path().join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    let (id, path) = service.credential.as_ref().expect("LoadCredential=");
    std::fs::copy(path, creds.join(id)).unwrap();
    let mut cmd = std::process::Command::new(&service.exec[0]);
    cmd.args(&service.exec[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", &host.home)
        .env("CREDENTIALS_DIRECTORY", &creds)
        .envs(service.environment.iter().cloned());
    cmd.output().unwrap()
}

fn last_run(host: &Host) -> Value {
    common::profile_list(host.command())[0]["last_run"].clone()
}

#[test]
fn a_daily_timer_passes_systemd_verify_and_its_runs_are_incremental() {
    let mut sim = Sim::small();
    let host = Host::new(0);
    let out = host.env.out("out");
    create_profile(&sim, &host.env, PROFILE, &out, &[]);
    let secret = host.env.root.path().join("client-secret");
    write_mode(&secret, &sim.app(DemoAppKind::Full).client_secret, 0o600);

    let o = host.schedule(&[
        "add",
        "--profile",
        PROFILE,
        "daily",
        "at",
        "02:30",
        "--credential-file",
        secret.to_str().unwrap(),
    ]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("daily at 02:30"), "{}", stdout(&o));
    let log = host.systemctl_log();
    assert!(
        log.contains("--user daemon-reload")
            && log.contains("--user enable --now entra-extract-contoso.timer"),
        "{log}"
    );
    verify(&host);

    let timer = std::fs::read_to_string(host.unit("timer")).unwrap();
    for line in [
        "OnCalendar=*-*-* 02:30:00",
        "Persistent=true",
        "RandomizedDelaySec=15min",
    ] {
        assert!(timer.lines().any(|l| l == line), "{line}\n{timer}");
    }
    let service_text = std::fs::read_to_string(host.unit("service")).unwrap();
    assert!(
        !service_text.contains(&sim.app(DemoAppKind::Full).client_secret),
        "the secret is never in a unit"
    );
    let service = parse_service(&service_text);
    assert_eq!(
        service.exec[1..],
        ["run", "--profile", PROFILE, "--quiet"].map(String::from)
    );
    // A user manager cannot order the run after the system's network-online.target
    // (systemd issue 3312; `Wants=`/`After=` on it would be silently dropped): a run caught
    // up at boot waits until the system has booted, network-online.target included. The
    // command is the `systemctl` found in PATH when scheduling, by its absolute path
    // (systemd before 239 refuses any other).
    let systemctl = host.bin.join("systemctl").to_string_lossy().into_owned();
    assert_eq!(
        service.pre,
        [(
            true,
            [systemctl.as_str(), "is-system-running", "--wait"]
                .map(String::from)
                .to_vec()
        )]
    );
    let toml = std::fs::read_to_string(host.profile_toml()).unwrap();
    assert!(toml.contains("schedule = \"daily 02:30\""), "{toml}");

    // The timer's first run reads everything; after the tenant changed, the next only the
    // changes, and both leave files equal to the tenant.
    for (round, mode) in [(0, "full"), (1, "incremental")] {
        if round > 0 {
            sim.evolve(20, 7);
        }
        let o = run_as_systemd(&host, &service);
        assert_exit(&o, 0);
        assert!(host.systemctl_log().contains("is-system-running --wait"));
        Extraction::read(&out, &sim.domain())
            .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
        let manifest = check_manifest(&out, &sim.domain());
        assert_eq!(manifest["run"]["mode"], mode, "{manifest}");
        assert_eq!(last_run(&host)["mode"], mode);
    }

    let o = host.schedule(&["list", "--json"]);
    assert_exit(&o, 0);
    let listed: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(listed[0]["profile"], PROFILE);
    assert_eq!(listed[0]["schedule"], "daily 02:30");
    assert_eq!(listed[0]["installed"], "systemd timer (active)");

    let o = host.schedule(&["remove", "--profile", PROFILE]);
    assert_exit(&o, 0);
    assert!(
        host.systemctl_log()
            .contains("--user disable --now entra-extract-contoso.timer")
    );
    assert!(!host.unit("timer").exists() && !host.unit("service").exists());
    let toml = std::fs::read_to_string(host.profile_toml()).unwrap();
    assert!(!toml.contains("schedule"), "{toml}");
    let o = host.schedule(&["list", "--json"]);
    assert_eq!(stdout(&o).trim(), "[]");
}

#[test]
fn without_a_user_manager_the_crontab_line_is_printed() {
    let sim = Sim::small();
    let host = Host::new(1);
    let out = host.env.out("out");
    // Without a credential file the secret must be stored where a later process finds it
    // (here the plaintext opt-in; this test machine's keyring store is "none").
    create_profile(&sim, &host.env, PROFILE, &out, &["--plaintext-secret-file"]);
    let o = host.schedule(&["add", "--profile", PROFILE, "weekly", "fri", "18:05"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.starts_with("5 18 * * 5 "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("'run' '--profile' 'contoso' '--quiet' >> ")
            && line.contains("umask 077;")
            && line.contains("ENTRA_EXTRACT_KEYRING_STORE='none'"),
        "{line}"
    );
    // The line runs in /bin/sh as written (cron only turns `\%` back into `%`).
    let o = std::process::Command::new("sh")
        .args(["-n", "-c"])
        .arg(line.split_once("* * 5 ").unwrap().1.replace("\\%", "%"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !host.unit("timer").exists(),
        "no units where systemd is absent"
    );

    let o = host.schedule(&["list"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("weekly on Friday at 18:05\tnot installed"),
        "{}",
        stdout(&o)
    );
    let o = host.schedule(&["remove", "--profile", PROFILE]);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("crontab -e"), "{}", stdout(&o));
}

/// cron's line takes the credential-file form, as the systemd timer does: the run reads the
/// secret from an owner-only file through `CREDENTIALS_DIRECTORY`, and nothing of the login
/// that scheduled it (no `DBUS_SESSION_BUS_ADDRESS`, which dies with that login) is in the
/// line. Run by `sh` with cron's bare environment, the line extracts the tenant.
#[test]
fn a_crontab_line_reads_the_secret_from_a_credential_file_and_outlives_the_login() {
    let sim = Sim::small();
    let host = Host::new(1);
    let out = host.env.out("out");
    create_profile(&sim, &host.env, PROFILE, &out, &[]);
    let creds = host.env.root.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    let secret = creds.join("entra-extract-client-secret-contoso");
    write_mode(&secret, &sim.app(DemoAppKind::Full).client_secret, 0o600);
    let login_bus = "unix:path=/tmp/dbus-login-that-ends,guid=0123";
    let o = host
        .command()
        .env("DBUS_SESSION_BUS_ADDRESS", login_bus)
        .args([
            "schedule",
            "add",
            "--profile",
            PROFILE,
            "daily",
            "01:15",
            "--cron",
        ])
        .arg("--credential-file")
        .arg(&secret)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.starts_with("15 1 * * * "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!line.contains("DBUS_SESSION_BUS_ADDRESS"), "{line}");
    assert!(
        line.contains(&format!("CREDENTIALS_DIRECTORY='{}'", creds.display())),
        "{line}"
    );
    assert!(!line.contains(&sim.app(DemoAppKind::Full).client_secret));

    // As cron runs it: /bin/sh, a bare environment, `\%` turned back into `%`.
    let command = line.split_once("* * * ").unwrap().1.replace("\\%", "%");
    let o = std::process::Command::new("sh")
        .args(["-c", &command])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", &host.home)
        .output()
        .unwrap();
    assert_exit(&o, 0);
    Extraction::read(&out, &sim.domain())
        .assert_eq(&Extraction::expected(&sim.truth, &BTreeMap::new()));
    assert_eq!(last_run(&host)["outcome"], "success");

    // A file the run would not find under that name is refused, with the name to give it.
    let other = creds.join("contoso.secret");
    write_mode(&other, "s3cret", 0o600);
    let o = host.schedule(&[
        "add",
        "--profile",
        PROFILE,
        "daily",
        "--cron",
        "--credential-file",
        other.to_str().unwrap(),
    ]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("entra-extract-client-secret-contoso"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unusable_schedules_are_refused_with_the_fix() {
    let sim = Sim::small();
    let host = Host::new(0);
    let out = host.env.out("out");
    create_profile(&sim, &host.env, PROFILE, &out, &[]);
    let open = host.env.root.path().join("open-secret");
    write_mode(&open, "s3cret", 0o644);
    let toml = host.profile_toml();
    let env_profile = std::fs::read_to_string(&toml).unwrap().replace(
        "secret_storage = \"keyring\"",
        "secret_storage = \"environment\"",
    );
    assert!(env_profile.contains("\"environment\""), "{env_profile}");

    let cases: [(&[&str], Option<&str>, &str); 6] = [
        // This machine's keyring store is "none": a timer's run could never read it.
        (
            &["add", "--profile", PROFILE, "daily"],
            None,
            "a scheduled run cannot read",
        ),
        (
            &["add", "--profile", PROFILE, "monthly"],
            None,
            "not hourly, daily or weekly",
        ),
        (
            &["add", "--profile", PROFILE, "daily", "25:00"],
            None,
            "is not a time",
        ),
        (&["add", "--profile", "nobody", "daily"], None, "nobody"),
        (
            &[
                "add",
                "--profile",
                PROFILE,
                "daily",
                "--credential-file",
                open.to_str().unwrap(),
            ],
            None,
            "chmod 600",
        ),
        (
            &["add", "--profile", PROFILE, "hourly"],
            Some(&env_profile),
            "--credential-file",
        ),
    ];
    for (args, profile_text, want) in cases {
        if let Some(text) = profile_text {
            std::fs::write(&toml, text).unwrap();
        }
        let o = host.schedule(args);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(!host.unit("timer").exists(), "{args:?} installed a timer");
    }
    assert_eq!(host.systemctl_log().matches("enable").count(), 0);
}

#[test]
fn a_scheduled_profile_is_not_renamed_under_its_timer_and_removing_it_removes_the_timer() {
    let host = Host::new(0);
    add_hourly_with_a_credential_file(&host);
    assert!(host.unit("timer").exists());

    let o = host
        .command()
        .args(["profile", "rename", PROFILE, "fabrikam"])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("schedule remove --profile contoso"),
        "{}",
        stderr(&o)
    );
    assert!(host.profile_toml().exists());

    let o = host
        .command()
        .args(["profile", "remove", PROFILE])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("systemd timer"), "{}", stdout(&o));
    assert!(!host.unit("timer").exists() && !host.unit("service").exists());
    assert!(
        host.systemctl_log()
            .contains("--user disable --now entra-extract-contoso.timer")
    );
}

/// A timer systemd still runs is never left firing without its unit file: when `systemctl
/// disable` fails and the timer is active, nothing is deleted and the command says why; when
/// it fails because the timer is not loaded, removing the files is enough.
#[test]
fn a_failing_disable_of_an_active_timer_removes_nothing() {
    let add = add_hourly_with_a_credential_file;
    let fails = "*disable*) echo 'Failed to disable unit: Access denied' >&2; exit 1;;";
    let host = Host::with_systemctl(0, &format!("{fails} *is-active*) echo active;;"));
    add(&host);
    let o = host.schedule(&["remove", "--profile", PROFILE]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("Access denied"), "{}", stderr(&o));
    assert!(host.unit("timer").exists() && host.unit("service").exists());
    let toml = std::fs::read_to_string(host.profile_toml()).unwrap();
    assert!(toml.contains("schedule"), "still scheduled: {toml}");

    let host = Host::with_systemctl(0, &format!("{fails} *is-active*) echo inactive; exit 3;;"));
    add(&host);
    let o = host.schedule(&["remove", "--profile", PROFILE]);
    assert_exit(&o, 0);
    assert!(!host.unit("timer").exists() && !host.unit("service").exists());
}

/// A profile of a fresh simulator, scheduled hourly with its secret in an owner-only file.
fn add_hourly_with_a_credential_file(host: &Host) {
    let sim = Sim::small();
    create_profile(&sim, &host.env, PROFILE, &host.env.out("out"), &[]);
    let secret = host.env.root.path().join("client-secret");
    write_mode(&secret, "s3cret", 0o600);
    assert_exit(
        &host.schedule(&[
            "add",
            "--profile",
            PROFILE,
            "hourly",
            "--credential-file",
            secret.to_str().unwrap(),
        ]),
        0,
    );
}
