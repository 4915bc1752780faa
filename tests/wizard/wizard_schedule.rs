//! The wizard's save step with a schedule, through the live services the wizard calls (the
//! screen's side is in the TUI tests): saving installs the profile's systemd user timer,
//! saving it again with the field cleared removes it, what the wizard does not show (extra
//! attributes) survives the edit, and the demo touches no timer.
//!
//! The live services read HOME and PATH, so each save runs in a child process (this test
//! binary again) with a fresh HOME and a stand-in `systemctl` that logs its arguments.
//!
//! Unix only: the systemd user timer and a `#!/bin/sh` stand-in for `systemctl`; the Task
//! Scheduler and launchd get their own tests.
#![allow(
    clippy::disallowed_macros,
    reason = "the test harness captures what tests print"
)]
#![cfg(unix)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

const CHILD_ENV: &str = "ENTRA_EXTRACT_SCHEDULE_CHILD";

use entra_extract::profile::Dirs;
use entra_extract::secret::StoreChoice;
use entra_extract::session::wizard::LiveServices;
use entra_extract::tui::services::{ProfileDraft, SecretStorage, Services};

/// The wizard's draft of the profile `name` of a fixed tenant and app, writing under `root`.
fn draft(root: &Path, name: &str) -> ProfileDraft {
    common::wizard_draft(
        name,
        "contoso.onmicrosoft.com",
        &root.join("out"),
        common::typed_secret(),
        None,
    )
}

/// The live services over the child's directories under `root`.
fn services(root: &Path) -> LiveServices {
    LiveServices::new(
        Dirs::new(root.join("config"), root.join("data")),
        StoreChoice::Memory,
    )
}

#[test]
#[ignore = "only run as a child of the_save_step_installs_and_removes_the_timer"]
fn child_save() {
    let Some(root) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    let schedule = std::env::var("SCHEDULE").unwrap();
    let credential_file = std::env::var_os("CREDENTIAL_FILE").map(PathBuf::from);
    let storage = if credential_file.is_some() {
        SecretStorage::Environment
    } else {
        SecretStorage::Keyring
    };
    let draft = ProfileDraft {
        replaces: Some("contoso".into()),
        schedule: (!schedule.is_empty()).then(|| schedule.parse().unwrap()),
        credential_file,
        ..draft(&root, "contoso")
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcome = runtime
        .block_on(services(&root).save_profile(draft, storage))
        .expect("saved");
    println!("SCHEDULE: {}", outcome.schedule.unwrap_or_default());
}

#[test]
#[ignore = "only run as a child of the_demo_leaves_the_timers_of_real_profiles_alone"]
fn child_demo_removals() {
    use entra_extract::tui::services::IfNameTaken;
    let Some(root) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    let demo = services(&root).without_schedules();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let deleted = runtime.block_on(demo.delete_profile("contoso".into()));
    println!("DELETED: {deleted:?}");
    let replace = ProfileDraft {
        if_name_taken: IfNameTaken::Replace,
        ..draft(&root, "fabrikam")
    };
    let replaced = runtime.block_on(demo.save_profile(replace, SecretStorage::Keyring));
    println!("REPLACED: {replaced:?}");
    let rename = ProfileDraft {
        replaces: Some("prod".into()),
        ..draft(&root, "prod-renamed")
    };
    let renamed = runtime.block_on(demo.save_profile(rename, SecretStorage::Keyring));
    println!("RENAMED: {renamed:?}");
}

struct Host {
    root: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexit 0\n",
            root.path().join("systemctl.log").display()
        );
        let path = bin.join("systemctl");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Host { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// Saves the profile in a child process with `schedule` in the wizard's field.
    fn save(&self, schedule: &str) -> String {
        self.save_with(schedule, None)
    }

    /// [`Host::save`] with the secret left to the environment and `file` in the wizard's
    /// "Timer's secret file" field.
    fn save_with(&self, schedule: &str, file: Option<&Path>) -> String {
        let mut vars = vec![("SCHEDULE", std::ffi::OsStr::new(schedule))];
        vars.extend(file.map(|f| ("CREDENTIAL_FILE", f.as_os_str())));
        let out = self.child("child_save", &vars);
        out.lines()
            .find_map(|l| l.strip_prefix("SCHEDULE: "))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    }

    /// Runs the child test `test` of this binary with `vars`, a fresh HOME and the stand-in
    /// `systemctl`; asserts it passed and returns its standard output.
    fn child(&self, test: &str, vars: &[(&str, &std::ffi::OsStr)]) -> String {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let o = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                &common::test_name(module_path!(), test),
            ])
            .arg("--nocapture")
            .env(CHILD_ENV, self.root.path())
            .envs(vars.iter().copied())
            .env("HOME", self.path("home"))
            .env("PATH", path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("ENTRA_EXTRACT_CONFIG_DIR")
            .env_remove("ENTRA_EXTRACT_DATA_DIR")
            .env_remove("ENTRA_EXTRACT_KEYRING_STORE")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success() && out.contains("1 passed"),
            "{out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    fn unit(&self, ext: &str) -> PathBuf {
        self.unit_of("contoso", ext)
    }

    /// The systemd unit `entra-extract-<name>.<ext>` in the fresh HOME.
    fn unit_of(&self, name: &str, ext: &str) -> PathBuf {
        self.path(&format!(
            "home/.config/systemd/user/entra-extract-{name}.{ext}"
        ))
    }

    fn profile(&self) -> String {
        std::fs::read_to_string(self.path("config/profiles/contoso.toml")).unwrap()
    }

    /// A saved profile `name` of the same tenant and app as [`draft`].
    fn write_profile(&self, name: &str) {
        std::fs::create_dir_all(self.path("config/profiles")).unwrap();
        std::fs::write(
            self.path(&format!("config/profiles/{name}.toml")),
            format!(
                "schema_version = 1\nname = \"{name}\"\ntenant = \"contoso.onmicrosoft.com\"\n\
                 client_id = \"11111111-2222-3333-4444-555555555555\"\noutput_dir = \"/o\"\n"
            ),
        )
        .unwrap();
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_save_step_installs_and_removes_the_timer() {
    let host = Host::new();
    // The profile being edited has a column the wizard does not show.
    std::fs::create_dir_all(host.path("config/profiles")).unwrap();
    std::fs::write(
        host.path("config/profiles/contoso.toml"),
        "schema_version = 1\nname = \"contoso\"\ntenant = \"contoso.onmicrosoft.com\"\n\
         client_id = \"11111111-2222-3333-4444-555555555555\"\noutput_dir = \"/o\"\n\
         extra_user_attributes = [\"department\"]\n",
    )
    .unwrap();

    let said = host.save("weekly mon 06:30");
    assert_eq!(
        said,
        "It reruns weekly on Monday at 06:30 (systemd user timer entra-extract-contoso.timer)."
    );
    let timer = read(&host.unit("timer"));
    assert!(timer.contains("OnCalendar=Mon *-*-* 06:30:00\n"), "{timer}");
    let service = read(&host.unit("service"));
    assert!(
        service.contains("\"run\" \"--profile\" \"contoso\" \"--quiet\""),
        "{service}"
    );
    assert!(!service.contains("not.a.real.secret"));
    let log = read(&host.path("systemctl.log"));
    assert!(
        log.contains("--user enable --now entra-extract-contoso.timer"),
        "{log}"
    );
    let profile = host.profile();
    assert!(
        profile.contains("schedule = \"weekly mon 06:30\"")
            && profile.contains("extra_user_attributes = [\"department\"]"),
        "{profile}"
    );

    // Saved again unchanged: the installed timer is left as it is (it may hand the run a
    // credential file the wizard does not know about).
    let said = host.save("weekly mon 06:30");
    assert_eq!(said, "It still reruns weekly on Monday at 06:30.");
    assert_eq!(
        read(&host.path("systemctl.log")).matches("enable").count(),
        1
    );
    assert_eq!(read(&host.unit("service")), service);

    // Saved again with the field cleared: no timer, no schedule.
    let said = host.save("");
    assert!(said.contains("no longer reruns"), "{said}");
    assert!(!host.unit("timer").exists() && !host.unit("service").exists());
    assert!(
        read(&host.path("systemctl.log"))
            .contains("--user disable --now entra-extract-contoso.timer")
    );
    assert!(!host.profile().contains("schedule"), "{}", host.profile());
}

/// A profile whose secret the timer cannot read from a keyring (it comes from the
/// environment) gets its timer only with the wizard's secret-file field, which the unit
/// hands to each run as a systemd credential.
#[test]
fn the_save_step_hands_the_timer_a_secret_file() {
    let host = Host::new();
    let said = host.save_with("daily 02:00", Some(&host.path("missing")));
    assert!(said.starts_with("The schedule was not installed"), "{said}");
    assert!(!host.unit("timer").exists());

    let file = host.path("client-secret");
    std::fs::write(&file, "Xy7~not.a.real.secret\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let said = host.save_with("daily 02:00", Some(&file));
    assert!(said.starts_with("It reruns daily at 02:00"), "{said}");
    let service = read(&host.unit("service"));
    assert!(
        service.contains(&format!(
            "LoadCredential=entra-extract-client-secret:{}",
            file.display()
        )),
        "{service}"
    );
    assert!(!service.contains("not.a.real.secret"), "{service}");
}

/// The demo's profiles live in a directory of their own, but timers are the user's, found by
/// profile name: deleting a demo profile, replacing one from the demo's save step, or
/// renaming one (which a real timer of that name used to refuse, advising to remove that
/// timer) leaves the timer of a real profile of that name alone.
#[test]
fn the_demo_leaves_the_timers_of_real_profiles_alone() {
    let host = Host::new();
    for name in ["contoso", "fabrikam", "prod"] {
        host.write_profile(name);
        for ext in ["timer", "service"] {
            let unit = host.unit_of(name, ext);
            std::fs::create_dir_all(unit.parent().unwrap()).unwrap();
            std::fs::write(&unit, "[Unit]\n").unwrap();
        }
    }
    let out = host.child("child_demo_removals", &[]);
    assert!(
        out.contains("DELETED: Ok") && out.contains("REPLACED: Ok") && out.contains("RENAMED: Ok"),
        "{out}"
    );
    assert!(
        host.path("config/profiles/prod-renamed.toml").exists()
            && !host.path("config/profiles/prod.toml").exists()
    );
    for name in ["contoso", "fabrikam", "prod"] {
        for ext in ["timer", "service"] {
            assert!(
                host.unit_of(name, ext).exists(),
                "the demo deleted {name}.{ext}"
            );
        }
    }
    let log = std::fs::read_to_string(host.path("systemctl.log")).unwrap_or_default();
    assert!(!log.contains("disable"), "{log}");
}
