//! The wizard driven by the keys a user presses, through its real services (`LiveServices`)
//! against the simulated tenant: which runs belong to a saved profile (its history, its
//! incremental state) and which to none; that a profile's run is built the same way in the
//! wizard and by `run --profile`; and the wizard's delete, rename and secret-storage actions.
//!
//! Each test uses its own profile names: the in-memory keyring is shared by the process.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Sim, TestEnv, assert_exit, create_profile, csv_path, run_profile_ok};
use crossterm::event::KeyCode;
use entra_extract::profile::{Dirs, ProfileName, ProfileStore, SecretStorage};
use entra_extract::secret::{SecretStore, StoreChoice, lifecycle};
use entra_extract::session::wizard::LiveServices;
use entra_extract::tui::screens::ScreenKind;
use entra_extract::tui::testing::flat;
use entra_extract::tui::{Action, App, Step, WizardOptions};
use entra_sim::DemoAppKind;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use tokio::sync::mpsc::{self, UnboundedReceiver};

/// Long enough for a debug build on a busy machine; a hang still fails.
const WAIT: Duration = Duration::from_secs(120);

/// The wizard on a test terminal, fed keys, ticks and its services' answers.
struct Wizard {
    app: App,
    rx: UnboundedReceiver<Action>,
    terminal: Terminal<TestBackend>,
}

impl Wizard {
    /// The wizard over `dirs` with the `keyring` store (`Memory`: the process's memory
    /// keyring; `Unreachable`: a machine without one).
    fn with_keyring(dirs: &Dirs, keyring: StoreChoice) -> Self {
        let services = Arc::new(LiveServices::new(dirs.clone(), keyring));
        let (tx, rx) = mpsc::unbounded_channel();
        let app = App::new(services, WizardOptions::default(), tx);
        Wizard {
            app,
            rx,
            terminal: Terminal::new(TestBackend::new(100, 30)).unwrap(),
        }
    }

    fn press(&mut self, code: KeyCode) -> &mut Self {
        self.app.update(Action::key(code));
        self
    }

    fn screen(&mut self) -> String {
        self.terminal
            .draw(|f| entra_extract::tui::ui::render(f, &self.app))
            .unwrap();
        self.terminal.backend().to_string()
    }

    /// Applies the services' answers (and redraw ticks) until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) -> &mut Self {
        let deadline = Instant::now() + WAIT;
        while !done(&self.app) {
            if Instant::now() > deadline {
                let screen = self.screen();
                panic!("waited {WAIT:?} for {what}; the wizard shows:\n{screen}");
            }
            match tokio::time::timeout(Duration::from_millis(100), self.rx.recv()).await {
                Ok(Some(action)) => self.app.update(action),
                Ok(None) => panic!("the wizard's channel closed"),
                Err(_) => self.app.update(Action::Tick),
            }
        }
        self
    }

    /// Until the home screen lists `name`.
    async fn home_lists(&mut self, name: &str) -> &mut Self {
        self.until(&format!("{name} on the home screen"), |app| {
            app.screen() == ScreenKind::Home && app.profiles().iter().any(|p| p.name == name)
        })
        .await
    }

    /// From home, `e` on the selected profile and Enter through the cloud, tenant and
    /// client id as saved, to the secret step.
    async fn edit_to_credential_step(&mut self) -> &mut Self {
        self.press(KeyCode::Char('e'));
        self.until("the edit form", |app| {
            app.screen() == ScreenKind::Setup(Step::Cloud)
        })
        .await;
        self.press(KeyCode::Enter)
            .press(KeyCode::Enter)
            .press(KeyCode::Enter);
        assert_eq!(self.app.screen(), ScreenKind::Setup(Step::Credential));
        self
    }

    /// On the secret step: Enter, and the sign-in must succeed (the permission check
    /// follows).
    async fn signs_in(&mut self) -> &mut Self {
        self.press(KeyCode::Enter);
        let screen = self.answered().await;
        assert_eq!(
            self.app.screen(),
            ScreenKind::Setup(Step::Permissions),
            "{screen}"
        );
        self
    }

    /// From home, `e` on the selected profile and Enter through every step to the save
    /// step, the sign-in and the permission check answered on the way.
    async fn edit_to_save_step(&mut self) -> &mut Self {
        self.edit_to_credential_step().await;
        // The kept secret signs in; then the permissions are checked.
        self.press(KeyCode::Enter);
        self.until("the permission check", |app| {
            app.screen() == ScreenKind::Setup(Step::Permissions) && !app.is_waiting()
        })
        .await;
        self.press(KeyCode::Enter);
        assert_eq!(self.app.screen(), ScreenKind::Setup(Step::Output));
        self.press(KeyCode::Enter);
        assert_eq!(self.app.screen(), ScreenKind::Setup(Step::Save));
        self
    }

    /// On the save step (the name field has the keyboard): the name replaced by `name`.
    fn rename_to(&mut self, name: &str) -> &mut Self {
        for _ in 0..64 {
            self.press(KeyCode::Backspace);
        }
        for c in name.chars() {
            self.press(KeyCode::Char(c));
        }
        self
    }

    /// From home, the profile `edited` edited and saved under `taken`, another saved
    /// profile's name, and the question whether to replace it answered yes, on a machine
    /// without a keyring: returns the screen once the save has answered.
    // Its one test needs Unix file modes (until issue 25's access control lists).
    #[cfg_attr(not(unix), expect(dead_code, reason = "used on Unix only"))]
    async fn replace_without_a_keyring(&mut self, edited: &str, taken: &str) -> String {
        self.home_lists(edited).await;
        self.edit_to_save_step().await;
        self.rename_to(taken).press(KeyCode::Enter);
        self.answered().await;
        self.press(KeyCode::Char('y'));
        self.answered().await
    }

    /// Until the service the wizard waits for has answered; returns the screen as one line.
    async fn answered(&mut self) -> String {
        self.until("the answer", |app| !app.is_waiting()).await;
        flat(&self.screen())
    }

    /// Until the run on screen has ended; returns the summary screen.
    async fn finished(&mut self) -> String {
        self.until("the end of the extraction", |app| {
            app.screen() == ScreenKind::Finished
        })
        .await;
        let screen = self.screen();
        assert!(
            screen.contains("complete"),
            "the run did not complete:\n{screen}"
        );
        screen
    }
}

/// One test's simulated tenant, private directories and runtime.
struct Case {
    sim: Sim,
    env: TestEnv,
    rt: tokio::runtime::Runtime,
}

impl Case {
    fn new() -> Case {
        Case::with(Sim::small())
    }

    /// A case against `sim` (e.g. one with faults).
    fn with(sim: Sim) -> Case {
        Case {
            sim,
            env: TestEnv::new(),
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn dirs(&self) -> Dirs {
        Dirs::new(self.env.config_dir(), self.env.data_dir())
    }

    fn store(&self) -> ProfileStore {
        ProfileStore::new(self.dirs())
    }

    fn secret(&self) -> String {
        self.sim.app(DemoAppKind::Full).client_secret
    }

    /// A profile of the sim's fully consented app writing to `<root>/<name>`, with its
    /// secret in the memory keyring the wizard reads (`extra`: more `profile create` flags);
    /// returns the output directory.
    fn profile(&self, name: &str, extra: &[&str]) -> PathBuf {
        let out = self.env.out(name);
        create_profile(&self.sim, &self.env, name, &out, extra);
        let profile = self.store().load(&profile_name(name)).unwrap();
        self.rt
            .block_on(lifecycle::set_secret(
                &self.store(),
                &profile,
                &self.secret().into(),
                SecretStore::open(StoreChoice::Memory),
            ))
            .unwrap();
        out
    }

    /// `run --profile NAME --json` as a scheduled run does it (the secret from the
    /// environment); asserts success and returns the report.
    fn headless(&self, name: &str) -> Value {
        run_profile_ok(&self.sim, &self.env, name)
    }

    /// The wizard over this case's directories, driven by `script`.
    fn wizard(&self, script: impl AsyncFnOnce(&mut Wizard)) {
        self.wizard_with(StoreChoice::Memory, script)
    }

    /// [`Case::wizard`] with the `keyring` store.
    fn wizard_with(&self, keyring: StoreChoice, script: impl AsyncFnOnce(&mut Wizard)) {
        self.rt.block_on(async {
            let mut w = Wizard::with_keyring(&self.dirs(), keyring);
            script(&mut w).await;
        })
    }

    /// A profile as [`Case::profile`] makes it, with its secret in the plain-text file
    /// `<config>/secrets/<name>` instead (readable on a machine without a keyring); returns
    /// that file.
    fn plaintext_profile(&self, name: &str) -> PathBuf {
        create_profile(
            &self.sim,
            &self.env,
            name,
            &self.env.out(name),
            &["--plaintext-secret-file"],
        );
        let o = self
            .env
            .command()
            .args(["profile", "set-secret", name, "--stdin"])
            .write_stdin(self.secret())
            .output()
            .unwrap();
        assert_exit(&o, 0);
        let file = self.env.config_dir().join("secrets").join(name);
        assert!(file.exists());
        file
    }

    /// Each of `names`' profile file and run history, as they are now.
    #[cfg_attr(not(unix), expect(dead_code, reason = "used on Unix only"))]
    fn records<const N: usize>(&self, names: [&str; N]) -> [(String, Vec<Value>); N] {
        names.map(|n| (self.profile_text(n), self.history(n)))
    }

    /// The binary with `args`, as a user runs it here (no keyring, nothing in the
    /// environment), which must succeed.
    fn succeeds(&self, args: &[&str]) -> std::process::Output {
        let o = self.env.command().args(args).output().unwrap();
        assert_exit(&o, 0);
        o
    }

    /// The text of the profile file of `name` (panics when there is none).
    fn profile_text(&self, name: &str) -> String {
        let path = self.store().path(&profile_name(name));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn history(&self, name: &str) -> Vec<Value> {
        let path = self
            .env
            .data_dir()
            .join("history")
            .join(format!("{name}.jsonl"));
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn state_file(&self, name: &str) -> PathBuf {
        self.env
            .data_dir()
            .join("state")
            .join(name)
            .join("state.json")
    }

    fn users_header(&self, out: &Path) -> String {
        let text = std::fs::read_to_string(csv_path(out, &self.sim.domain(), "users")).unwrap();
        text.lines().next().unwrap().to_string()
    }

    /// The storage the profile file records.
    fn storage(&self, name: &str) -> SecretStorage {
        self.store()
            .load(&profile_name(name))
            .unwrap()
            .secret_storage
    }

    fn in_memory_keyring(&self, name: &str) -> Option<String> {
        let store = self
            .rt
            .block_on(SecretStore::open(StoreChoice::Memory))
            .unwrap();
        self.rt
            .block_on(store.load(&profile_name(name)))
            .ok()
            .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_string())
    }
}

fn profile_name(name: &str) -> ProfileName {
    ProfileName::new(name).unwrap()
}

/// "Continue without saving: extract once" on the form of a saved profile (the draft has
/// that profile's name) is a one-off: it writes its files, and the profile's history and
/// incremental state stay as the profile's own runs left them.
#[test]
fn a_one_off_run_under_a_saved_profiles_name_leaves_that_profile_alone() {
    let case = Case::new();
    let name = "oneoff";
    let out = case.profile(name, &["--extra-user-attribute", "mobilePhone"]);
    case.headless(name);
    let history_before = case.history(name);
    let state_before = std::fs::read(case.state_file(name)).unwrap();
    let users = csv_path(&out, &case.sim.domain(), "users");
    let written_before = std::fs::metadata(&users).unwrap().modified().unwrap();

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        // The second choice: continue without saving.
        w.press(KeyCode::Down).press(KeyCode::Enter);
        w.finished().await;
    });

    let written_after = std::fs::metadata(&users).unwrap().modified().unwrap();
    assert!(
        written_after > written_before,
        "the one-off run wrote no files"
    );
    assert_eq!(
        case.history(name),
        history_before,
        "a one-off run was recorded in the history of profile {name}"
    );
    assert_eq!(
        std::fs::read(case.state_file(name)).unwrap(),
        state_before,
        "a one-off run replaced the incremental state of profile {name}"
    );
    // So the profile's next run still starts from its own previous run.
    let next = case.headless(name);
    assert_eq!(next["mode"], "incremental", "{next}");
}

/// A saved profile with an extra attribute, edited and saved in the wizard: the run right
/// after saving writes the attribute's column and records the run under the profile, and
/// the next scheduled run (`run --profile`) reads only the changes; a run started from the
/// home screen does the same.
#[test]
fn an_edited_profile_runs_in_the_wizard_as_run_profile_runs_it() {
    let case = Case::new();
    let name = "edited";
    let out = case.profile(name, &["--extra-user-attribute", "mobilePhone"]);

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        // The first choice: save (secret to the keyring) and extract.
        w.press(KeyCode::Enter);
        w.finished().await;
    });
    let header = case.users_header(&out);
    assert!(
        header.ends_with(",mobilePhone"),
        "the wizard's run lost the profile's extra attribute: {header}"
    );
    assert_eq!(case.history(name).len(), 1);
    assert!(case.state_file(name).exists(), "no incremental state saved");

    let next = case.headless(name);
    assert_eq!(
        next["mode"], "incremental",
        "the scheduled run after the wizard's read everything: {next}"
    );
    assert!(case.users_header(&out).ends_with(",mobilePhone"));

    // From the home screen: Enter runs the selected profile.
    case.wizard(async |w| {
        w.home_lists(name).await;
        w.press(KeyCode::Enter);
        let summary = w.finished().await;
        assert!(summary.contains("only the changes"), "{summary}");
    });
    assert_eq!(case.history(name).len(), 3);
    assert!(case.users_header(&out).ends_with(",mobilePhone"));
}

/// A wizard run whose history cannot be written (`<data>/history` is a file) says so on
/// its summary: the home screen will not show that run.
#[test]
fn a_run_the_history_cannot_record_says_so_on_the_wizards_summary() {
    let case = Case::new();
    let name = "unrecorded";
    case.profile(name, &[]);
    std::fs::write(case.env.data_dir().join("history"), "not a directory").unwrap();

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.press(KeyCode::Enter);
        let summary = w.finished().await;
        assert!(summary.contains("history not saved"), "{summary}");
    });
}

/// A run whose plan fell back to plain reads (a service without `groups/delta`) says so on
/// the wizard's summary, as the manifest and `run`'s summary do.
#[test]
fn a_fallback_is_said_on_the_wizards_summary() {
    let case = Case::with(Sim::start(common::no_throttle(entra_sim::SimConfig {
        faults: vec!["404@always;path=/groups/delta".parse().unwrap()],
        ..Default::default()
    })));
    let name = "fellback";
    let out = case.profile(name, &[]);

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.press(KeyCode::Enter);
        let summary = flat(&w.finished().await);
        assert!(
            summary.contains("groups/delta") && summary.contains("group by group"),
            "{summary}"
        );
    });
    let manifest = common::check_manifest(&out, &case.sim.domain());
    assert!(
        manifest["notes"].as_array().is_some_and(|n| !n.is_empty()),
        "{manifest}"
    );
}

/// `d` then `y` on the home screen deletes the profile with its incremental state (a copy of
/// the whole tenant's last files), not only its history, and says so, as `profile remove`
/// does.
#[test]
fn deleting_a_profile_in_the_wizard_deletes_its_incremental_state() {
    let case = Case::new();
    let name = "deleted";
    case.profile(name, &[]);
    case.headless(name);
    let state = case.env.data_dir().join("state").join(name);
    assert!(state.join("state.json").exists());

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.press(KeyCode::Char('d')).press(KeyCode::Char('y'));
        w.until("the profile gone from the home screen", |app| {
            !app.is_waiting() && app.profiles().iter().all(|p| p.name != name)
        })
        .await;
        let screen = flat(&w.screen());
        for said in [
            "deleted its secret from the OS keyring",
            "deleted its run history",
            "deleted its incremental state (the copy of its last run's files)",
        ] {
            assert!(screen.contains(said), "not said: {said}\n{screen}");
        }
    });
    assert!(!state.exists(), "left behind: {}", state.display());
    assert!(case.history(name).is_empty());
}

/// Renaming a profile on the wizard's save step moves its incremental state with it: the run
/// right after saving reads only the changes, and nothing stays under the old name.
#[test]
fn renaming_a_profile_in_the_wizard_moves_its_incremental_state() {
    let case = Case::new();
    let (old, new) = ("before-rename", "after-rename");
    case.profile(old, &[]);
    case.headless(old);

    case.wizard(async |w| {
        w.home_lists(old).await;
        w.edit_to_save_step().await;
        for _ in 0..old.len() {
            w.press(KeyCode::Backspace);
        }
        for c in new.chars() {
            w.press(KeyCode::Char(c));
        }
        w.press(KeyCode::Enter);
        let summary = w.finished().await;
        assert!(summary.contains("only the changes"), "{summary}");
    });
    assert!(!case.env.data_dir().join("state").join(old).exists());
    assert!(case.state_file(new).exists());
    assert_eq!(case.history(new).len(), 2);
    let next = case.headless(new);
    assert_eq!(next["mode"], "incremental", "{next}");
}

/// `s` on the home screen moves the selected profile's secret: out of the keyring into a
/// plain-text file (nothing to type; the keyring's copy is deleted), and, for a profile whose
/// secret came from the environment, into the keyring once its value is pasted.
#[test]
fn s_on_home_changes_where_a_profile_keeps_its_secret() {
    let case = Case::new();
    let name = "moving";
    case.profile(name, &[]);

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.press(KeyCode::Char('s'));
        assert_eq!(w.app.screen(), ScreenKind::SecretStorage);
        // The plain-text file is the last choice; it asks first.
        w.press(KeyCode::Down)
            .press(KeyCode::Down)
            .press(KeyCode::Down)
            .press(KeyCode::Enter)
            .press(KeyCode::Char('y'));
        w.until("the move", |app| app.screen() == ScreenKind::Home)
            .await;
        let screen = w.screen();
        assert!(screen.contains("now keeps its secret"), "{screen}");
    });
    assert_eq!(case.storage(name), SecretStorage::PlaintextFile);
    assert_eq!(case.in_memory_keyring(name), None);
    let file = case.env.config_dir().join("secrets").join(name);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), case.secret());
    // A scheduled run finds it there, with nothing in its environment.
    case.succeeds(&["run", "--profile", name, "-q"]);

    // From the environment (nothing stored) to the keyring: the value is asked for.
    let other = "from-env";
    create_profile(&case.sim, &case.env, other, &case.env.out(other), &[]);
    let mut p = case.store().load(&profile_name(other)).unwrap();
    p.secret_storage = SecretStorage::Environment;
    case.store().save(&p).unwrap();
    case.wizard(async |w| {
        w.home_lists(other).await;
        // "from-env" is listed first, so it is selected.
        w.press(KeyCode::Char('s')).press(KeyCode::Enter);
        w.until("the question for the secret", |app| !app.is_waiting())
            .await;
        let screen = w.screen();
        assert!(screen.contains("Secret value"), "{screen}");
        w.app.update(Action::Paste(format!("{}\n", case.secret())));
        w.press(KeyCode::Enter);
        w.until("the move", |app| app.screen() == ScreenKind::Home)
            .await;
    });
    assert_eq!(case.storage(other), SecretStorage::Keyring);
    assert_eq!(case.in_memory_keyring(other), Some(case.secret()));
}

/// Saving an edited profile with its secret in another place (the save step's keyring,
/// for a profile that kept it in a plain-text file) leaves no copy in the old place.
#[test]
fn saving_an_edited_profile_elsewhere_leaves_no_copy_of_its_secret_behind() {
    let case = Case::new();
    let name = "was-plain";
    let file = case.plaintext_profile(name);

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        // Save (secret to the keyring) and extract.
        w.press(KeyCode::Enter);
        w.finished().await;
    });
    assert_eq!(case.storage(name), SecretStorage::Keyring);
    assert_eq!(case.in_memory_keyring(name), Some(case.secret()));
    assert!(!file.exists(), "the plain-text copy stayed behind");
}

/// Editing a profile whose secret entra-extract added (`app create`, rotation: the profile
/// records the secret's key id) and saving it with the same secret keeps the key id, so a
/// later rotation still removes exactly that secret (the wizard used to drop it).
#[test]
fn editing_a_profile_keeps_the_key_id_of_its_secret() {
    let case = Case::new();
    let name = "rotatable";
    case.profile(name, &[]);
    let key_id = "3f2c0d1e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
    let mut p = case.store().load(&profile_name(name)).unwrap();
    p.secret_key_id = Some(key_id.into());
    case.store().save(&p).unwrap();

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        w.press(KeyCode::Enter);
        w.finished().await;
    });
    let saved = case.store().load(&profile_name(name)).unwrap();
    assert_eq!(saved.secret_key_id.as_deref(), Some(key_id));
}

/// What the user can see of a saved profile: its file, its history and its stored secret.
fn belongings(case: &Case, name: &str) -> (String, Vec<Value>, Option<String>) {
    (
        case.profile_text(name),
        case.history(name),
        case.in_memory_keyring(name),
    )
}

/// Renaming a scheduled profile onto another profile's name is refused (its timer runs it
/// by name) before anything else: before the question whether to replace the other
/// profile, so nothing of either is deleted (it used to delete the other profile on the
/// user's yes, then refuse the rename).
#[test]
fn a_refused_rename_onto_a_taken_name_deletes_nothing() {
    let case = Case::new();
    let (scheduled, taken) = ("a-scheduled", "b-taken");
    case.profile(scheduled, &[]);
    let mut p = case.store().load(&profile_name(scheduled)).unwrap();
    p.schedule = Some("daily 02:00".parse().unwrap());
    case.store().save(&p).unwrap();
    case.profile(taken, &[]);
    case.headless(taken);
    let before = (belongings(&case, scheduled), belongings(&case, taken));

    case.wizard(async |w| {
        w.home_lists(scheduled).await;
        w.edit_to_save_step().await;
        w.rename_to(taken).press(KeyCode::Enter);
        let refused = w.answered().await;
        assert!(
            refused.contains("not saved") && refused.contains("has a schedule"),
            "{refused}"
        );
    });
    assert_eq!(
        (belongings(&case, scheduled), belongings(&case, taken)),
        before
    );
}

/// Replacing a profile on a machine without a keyring: the new secret has nowhere to go,
/// and the profile that was to be replaced is still all there when the user leaves. Saved to
/// a plain-text file instead, it would overwrite the replaced profile's file, which cannot be
/// read (others can read it: the program refuses it), so a save that then failed could not
/// put it back: that save is refused before anything changes too, and says what to do.
// Unix file modes make the secret file unreadable; on Windows its access control list will
// (issue 25).
#[cfg(unix)]
#[test]
fn a_replace_whose_secret_cannot_be_stored_deletes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let case = Case::new();
    let (edited, taken) = ("a-edited", "b-taken");
    let edited_file = case.plaintext_profile(edited);
    let taken_file = case.plaintext_profile(taken);
    case.headless(taken);
    std::fs::write(&taken_file, "b's own secret").unwrap();
    std::fs::set_permissions(&taken_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = case.records([edited, taken]);

    case.wizard_with(StoreChoice::Unreachable, async |w| {
        let problem = w.replace_without_a_keyring(edited, taken).await;
        assert!(
            problem.contains("not saved") && problem.contains("keyring"),
            "{problem}"
        );
        save_to_a_plaintext_file(w);
        let asked = w.answered().await;
        assert!(asked.contains("Replace it?"), "{asked}");
        w.press(KeyCode::Char('y'));
        let refused = w.answered().await;
        assert!(
            refused.contains("not saved")
                && refused.contains("cannot be read")
                && refused.contains("chmod 600"),
            "{refused}"
        );
    });
    assert_eq!(case.records([edited, taken]), before);
    assert_eq!(
        std::fs::read_to_string(&taken_file).unwrap(),
        "b's own secret"
    );
    assert_eq!(
        std::fs::read_to_string(&edited_file).unwrap(),
        case.secret()
    );
}

/// The profile being edited is deleted meanwhile (`profile remove` in another terminal):
/// saving the form under another saved profile's name still asks before replacing it.
#[test]
fn a_profile_deleted_while_edited_is_not_saved_over_another_without_asking() {
    let case = Case::new();
    let (edited, taken) = ("a-edited", "b-taken");
    case.profile(edited, &[]);
    case.profile(taken, &[]);
    let before = belongings(&case, taken);

    case.wizard(async |w| {
        w.home_lists(edited).await;
        w.edit_to_save_step().await;
        case.succeeds(&["profile", "remove", edited]);
        w.rename_to(taken).press(KeyCode::Enter);
        let asked = w.answered().await;
        assert!(asked.contains("Replace it?"), "{asked}");
    });
    assert_eq!(belongings(&case, taken), before);
}

/// Editing a profile whose secret is in a plain-text file on a machine without a keyring,
/// and saving it with "environment variable": the file holds the only copy of a value the
/// user never saw (the form filled it in, masked), so it is not deleted until the user
/// types the secret; then it is.
#[test]
fn the_only_copy_of_a_secret_goes_only_once_the_user_typed_it() {
    let case = Case::new();
    let name = "a-plain";
    let file = case.plaintext_profile(name);
    // The save step's alternatives after the keyring failed: environment is the first.
    let save_to_the_environment = async |w: &mut Wizard| {
        w.press(KeyCode::Enter);
        let problem = w.answered().await;
        assert!(problem.contains("keyring"), "{problem}");
        w.press(KeyCode::Enter);
        w.answered().await
    };

    case.wizard_with(StoreChoice::Unreachable, async |w| {
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        let refused = save_to_the_environment(w).await;
        assert!(
            refused.contains("not saved") && refused.contains(&file.display().to_string()),
            "{refused}"
        );
        assert_eq!(w.app.screen(), ScreenKind::Setup(Step::Save));
        assert!(file.exists(), "the only copy was deleted");

        // Back to the secret, typed again.
        w.press(KeyCode::Esc)
            .press(KeyCode::Esc)
            .press(KeyCode::Esc);
        assert_eq!(w.app.screen(), ScreenKind::Setup(Step::Credential));
        w.app.update(Action::ctrl('u'));
        w.app.update(Action::Paste(case.secret()));
        w.press(KeyCode::Enter);
        w.until("the permission check", |app| {
            app.screen() == ScreenKind::Setup(Step::Permissions) && !app.is_waiting()
        })
        .await;
        w.press(KeyCode::Enter).press(KeyCode::Enter);
        save_to_the_environment(w).await;
        w.finished().await;
    });
    assert_eq!(case.storage(name), SecretStorage::Environment);
    assert!(!file.exists(), "the old copy stayed behind");
}

/// Set for a test run again as a child process, with an environment of its own.
const CHILD_ENV: &str = "ENTRA_EXTRACT_WIZARD_LIVE_CHILD";

/// `test`, run again as a child process of this test binary with `vars` set; asserts it
/// passed.
fn in_child(test: &str, vars: &[(&str, &str)]) {
    let o = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &common::test_name(module_path!(), test)])
        .args(["--ignored", "--nocapture"])
        .env(CHILD_ENV, "1")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("1 passed"),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Editing a profile fills in the secret the profile keeps (here in the keyring), not the
/// one `ENTRA_EXTRACT_CLIENT_SECRET` holds (which wins at run time only): the form signs in
/// with the profile's own secret, and saving it keeps that secret.
#[test]
fn editing_fills_in_the_profiles_own_secret_not_the_environments() {
    in_child(
        "child_editing_fills_in_the_profiles_own_secret",
        &[(
            "ENTRA_EXTRACT_CLIENT_SECRET",
            "Zz9~another.value.from.the.environment",
        )],
    );
}

#[test]
#[ignore = "run by editing_fills_in_the_profiles_own_secret_not_the_environments"]
fn child_editing_fills_in_the_profiles_own_secret() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let case = Case::new();
    let name = "own-secret";
    case.profile(name, &[]);
    case.wizard(async |w| {
        w.home_lists(name).await;
        w.press(KeyCode::Char('e'));
        w.until("the edit form", |app| {
            app.screen() == ScreenKind::Setup(Step::Cloud)
        })
        .await;
        for _ in 0..3 {
            w.press(KeyCode::Enter);
        }
        w.signs_in().await;
        w.until("the permission check", |app| !app.is_waiting())
            .await;
        w.press(KeyCode::Enter)
            .press(KeyCode::Enter)
            .press(KeyCode::Enter);
        w.finished().await;
    });
    assert_eq!(case.in_memory_keyring(name), Some(case.secret()));
}

/// Renaming a profile onto another's name with the user's yes: the renamed profile takes
/// the name with its own run history and incremental state (the next run reads only the
/// changes), the replaced one's history is gone, and nothing stays under the old name.
#[test]
fn renaming_onto_a_taken_name_replaces_that_profile_with_the_renamed_one() {
    let case = Case::new();
    let (renamed, taken) = ("a-renamed", "b-taken");
    let out = case.profile(renamed, &[]);
    case.profile(taken, &["--extra-user-attribute", "mobilePhone"]);
    case.headless(renamed);
    for _ in 0..2 {
        case.headless(taken);
    }

    case.wizard(async |w| {
        w.home_lists(renamed).await;
        w.edit_to_save_step().await;
        w.rename_to(taken).press(KeyCode::Enter);
        w.answered().await;
        w.press(KeyCode::Char('y'));
        let summary = w.finished().await;
        assert!(summary.contains("only the changes"), "{summary}");
    });
    assert!(!case.store().exists(&profile_name(renamed)));
    assert_eq!(case.in_memory_keyring(renamed), None);
    assert_eq!(case.in_memory_keyring(taken), Some(case.secret()));
    let saved = case.store().load(&profile_name(taken)).unwrap();
    assert_eq!(saved.output_dir, out);
    assert!(saved.extra_user_attributes.is_empty(), "{saved:?}");
    // The renamed profile's run and the wizard's, none of the replaced one's two.
    assert_eq!(case.history(taken).len(), 2);
    assert!(case.history(renamed).is_empty());
    assert!(!case.env.data_dir().join("state").join(renamed).exists());
    let next = case.headless(taken);
    assert_eq!(next["mode"], "incremental", "{next}");
}

/// On the save step after the keyring failed (a machine without one): "Save with: plain-text
/// file", the last alternative, and its question answered yes.
fn save_to_a_plaintext_file(w: &mut Wizard) {
    w.press(KeyCode::Down)
        .press(KeyCode::Down)
        .press(KeyCode::Enter)
        .press(KeyCode::Char('y'));
}

/// A profile edited to sign in with a certificate keeps the secret it had (Entra shows a
/// secret's value only once, and the certificate may not work after all) and says how to
/// delete it; `profile delete-secret` then deletes it, and the profile still runs with its
/// certificate.
#[test]
fn a_profile_edited_to_a_certificate_keeps_its_secret_until_it_is_deleted() {
    let case = Case::new();
    let name = "to-cert";
    let file = case.plaintext_profile(name);
    let app = case.sim.app(DemoAppKind::Certificate);
    let cert = app.certificate.expect("the cert app has a certificate");
    let pem = case.env.root.path().join("cert.pem");
    std::fs::write(&pem, format!("{}\n{}", cert.cert_pem, cert.key_pem)).unwrap();

    case.wizard_with(StoreChoice::Unreachable, async |w| {
        w.home_lists(name).await;
        // Back from the secret step to the client id: the certificate app's.
        w.edit_to_credential_step().await.press(KeyCode::Esc);
        for _ in 0..64 {
            w.press(KeyCode::Backspace);
        }
        for c in app.client_id.chars() {
            w.press(KeyCode::Char(c));
        }
        w.press(KeyCode::Enter).press(KeyCode::Tab);
        w.app.update(Action::Paste(pem.display().to_string()));
        w.signs_in().await;
        w.press(KeyCode::Enter).press(KeyCode::Enter);
        // A certificate profile keeps no secret: the keyring is not asked.
        w.press(KeyCode::Enter);
        w.until("the save's notice", |app| {
            app.context()
                .notice
                .as_ref()
                .is_some_and(|n| n.text.contains("saved"))
        })
        .await;
        let notice = w.app.context().notice.clone().unwrap().text;
        assert!(
            notice.contains(&format!("entra-extract profile delete-secret {name}"))
                && notice.contains(&file.display().to_string()),
            "{notice}"
        );
        w.finished().await;
    });
    assert!(file.exists(), "the only copy of the secret was deleted");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), case.secret());

    let o = case.succeeds(&["profile", "delete-secret", name]);
    assert!(!file.exists(), "delete-secret left {}", file.display());
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains(&file.display().to_string()), "{said}");
    // The commands here run without a keyring: one a copy may be in is said.
    let warned = String::from_utf8_lossy(&o.stderr);
    assert!(warned.contains("user \"profile:to-cert\""), "{warned}");
    case.succeeds(&["run", "--profile", name, "-q"]);
}

/// Editing only the output directory of a profile whose secret is in a plain-text file,
/// saved to that file again: the secret is not written again (a keyring that refuses
/// writes or asks to be unlocked would make a settings-only edit fail).
#[test]
fn a_settings_only_edit_writes_no_secret() {
    let case = Case::new();
    let name = "settings-only";
    let file = case.plaintext_profile(name);
    // A write replaces the file (a new inode, on Unix) and stamps it.
    let written = || {
        let m = std::fs::metadata(&file).unwrap();
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        (inode, m.modified().unwrap())
    };
    let before = written();
    let elsewhere = case.env.out("elsewhere");

    case.wizard_with(StoreChoice::Unreachable, async |w| {
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        // Back to the output step: another directory.
        w.press(KeyCode::Esc);
        assert_eq!(w.app.screen(), ScreenKind::Setup(Step::Output));
        w.press(KeyCode::Tab);
        for _ in 0..256 {
            w.press(KeyCode::Backspace);
        }
        w.app.update(Action::Paste(elsewhere.display().to_string()));
        w.press(KeyCode::Enter);
        assert_eq!(w.app.screen(), ScreenKind::Setup(Step::Save));
        w.press(KeyCode::Enter);
        let problem = w.answered().await;
        assert!(problem.contains("keyring"), "{problem}");
        save_to_a_plaintext_file(w);
        w.finished().await;
    });
    let saved = case.store().load(&profile_name(name)).unwrap();
    assert_eq!(saved.output_dir, elsewhere);
    assert_eq!(written(), before, "the secret file was written again");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), case.secret());
}

/// The secret field of an edited profile is filled in with the stored secret, masked; the
/// secret pasted into it replaces that value (it is not appended to what the user cannot
/// see), the sign-in uses it, and saving stores it.
#[test]
fn a_secret_pasted_over_the_filled_in_one_replaces_it() {
    let case = Case::new();
    let name = "stale-secret";
    case.profile(name, &[]);
    let store = ProfileStore::new(case.dirs());
    let profile = store.load(&profile_name(name)).unwrap();
    case.rt
        .block_on(lifecycle::set_secret(
            &store,
            &profile,
            &"Ab1Q~an.old.secret.since.rotated".to_string().into(),
            SecretStore::open(StoreChoice::Memory),
        ))
        .unwrap();

    case.wizard(async |w| {
        w.home_lists(name).await;
        w.edit_to_credential_step().await;
        w.app.update(Action::Paste(case.secret()));
        w.signs_in().await;
        w.press(KeyCode::Enter)
            .press(KeyCode::Enter)
            .press(KeyCode::Enter);
        w.finished().await;
    });
    assert_eq!(case.in_memory_keyring(name), Some(case.secret()));
}
