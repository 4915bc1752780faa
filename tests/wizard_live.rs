//! The wizard driven by the keys a user presses, through its real services (`LiveServices`)
//! against the simulated tenant: which runs belong to a saved profile (its history, its
//! incremental state) and which to none; that a profile's run is built the same way in the
//! wizard and by `run --profile`; and the wizard's delete, rename and secret-storage actions.
//!
//! Each test uses its own profile names: the in-memory keyring is shared by the process.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Sim, TestEnv, assert_exit, create_profile, csv_path, json_stdout};
use crossterm::event::KeyCode;
use entra_extract::profile::{Dirs, ProfileName, ProfileStore};
use entra_extract::secret::{SecretStore, StoreChoice, lifecycle};
use entra_extract::session::wizard::LiveServices;
use entra_extract::sim::DemoAppKind;
use entra_extract::tui::screens::ScreenKind;
use entra_extract::tui::{Action, App, Step, WizardOptions};
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
    /// The wizard over `dirs`, secrets in the process's memory keyring.
    fn new(dirs: &Dirs) -> Self {
        let services = Arc::new(LiveServices::new(dirs.clone(), StoreChoice::Memory));
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

    /// From home, `e` on the selected profile and Enter through every step to the save
    /// step, the sign-in and the permission check answered on the way.
    async fn edit_to_save_step(&mut self) -> &mut Self {
        self.press(KeyCode::Char('e'));
        self.until("the edit form", |app| {
            app.screen() == ScreenKind::Setup(Step::Cloud)
        })
        .await;
        // Cloud, tenant, client id: as saved.
        self.press(KeyCode::Enter)
            .press(KeyCode::Enter)
            .press(KeyCode::Enter);
        assert_eq!(self.app.screen(), ScreenKind::Setup(Step::Credential));
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn dirs(env: &TestEnv) -> Dirs {
    Dirs::new(env.config_dir(), env.data_dir())
}

/// A profile of the sim's fully consented app writing to `out`, with its secret in the
/// memory keyring the wizard reads (`extra`: more `profile create` flags).
fn saved_profile(
    sim: &Sim,
    env: &TestEnv,
    rt: &tokio::runtime::Runtime,
    name: &str,
    out: &Path,
    extra: &[&str],
) {
    create_profile(sim, env, name, out, extra);
    let store = ProfileStore::new(dirs(env));
    let profile = store.load(&ProfileName::new(name).unwrap()).unwrap();
    let secret = sim.app(DemoAppKind::Full).client_secret.into();
    rt.block_on(lifecycle::set_secret(
        &store,
        &profile,
        &secret,
        SecretStore::open(StoreChoice::Memory),
    ))
    .unwrap();
}

/// `run --profile NAME --json` as a scheduled run does it (the secret from the
/// environment); asserts success and returns the report.
fn headless(sim: &Sim, env: &TestEnv, name: &str) -> Value {
    let o = env
        .command()
        .args(["run", "--profile", name, "--json", "-q"])
        .env(
            "ENTRA_EXTRACT_CLIENT_SECRET",
            sim.app(DemoAppKind::Full).client_secret,
        )
        .output()
        .unwrap();
    assert_exit(&o, 0);
    json_stdout(&o)
}

fn history(env: &TestEnv, name: &str) -> Vec<Value> {
    let path = env.data_dir().join("history").join(format!("{name}.jsonl"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn state_file(env: &TestEnv, name: &str) -> PathBuf {
    env.data_dir().join("state").join(name).join("state.json")
}

fn users_header(out: &Path, sim: &Sim) -> String {
    let text = std::fs::read_to_string(csv_path(out, &sim.domain(), "users")).unwrap();
    text.lines().next().unwrap().to_string()
}

/// "Continue without saving: extract once" on the form of a saved profile (the draft has
/// that profile's name) is a one-off: it writes its files, and the profile's history and
/// incremental state stay as the profile's own runs left them.
#[test]
fn a_one_off_run_under_a_saved_profiles_name_leaves_that_profile_alone() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let rt = runtime();
    let name = "oneoff";
    let out = env.out("out");
    saved_profile(
        &sim,
        &env,
        &rt,
        name,
        &out,
        &["--extra-user-attribute", "mobilePhone"],
    );
    headless(&sim, &env, name);
    let history_before = history(&env, name);
    let state_before = std::fs::read(state_file(&env, name)).unwrap();
    let manifest = csv_path(&out, &sim.domain(), "users");
    let written_before = std::fs::metadata(&manifest).unwrap().modified().unwrap();

    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        // The second choice: continue without saving.
        w.press(KeyCode::Down).press(KeyCode::Enter);
        w.finished().await;
    });

    let written_after = std::fs::metadata(&manifest).unwrap().modified().unwrap();
    assert!(
        written_after > written_before,
        "the one-off run wrote no files"
    );
    assert_eq!(
        history(&env, name),
        history_before,
        "a one-off run was recorded in the history of profile {name}"
    );
    assert_eq!(
        std::fs::read(state_file(&env, name)).unwrap(),
        state_before,
        "a one-off run replaced the incremental state of profile {name}"
    );
    // So the profile's next run still starts from its own previous run.
    let next = headless(&sim, &env, name);
    assert_eq!(next["mode"], "incremental", "{next}");
}

/// A saved profile with an extra attribute, edited and saved in the wizard: the run right
/// after saving writes the attribute's column and records the run under the profile, and
/// the next scheduled run (`run --profile`) reads only the changes; a run started from the
/// home screen does the same.
#[test]
fn an_edited_profile_runs_in_the_wizard_as_run_profile_runs_it() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let rt = runtime();
    let name = "edited";
    let out = env.out("out");
    saved_profile(
        &sim,
        &env,
        &rt,
        name,
        &out,
        &["--extra-user-attribute", "mobilePhone"],
    );

    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        // The first choice: save (secret to the keyring) and extract.
        w.press(KeyCode::Enter);
        w.finished().await;
    });
    assert!(
        users_header(&out, &sim).ends_with(",mobilePhone"),
        "the wizard's run lost the profile's extra attribute: {}",
        users_header(&out, &sim)
    );
    let recorded = history(&env, name);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(
        state_file(&env, name).exists(),
        "no incremental state saved"
    );

    let next = headless(&sim, &env, name);
    assert_eq!(
        next["mode"], "incremental",
        "the scheduled run after the wizard's read everything: {next}"
    );
    assert!(users_header(&out, &sim).ends_with(",mobilePhone"));

    // From the home screen: Enter runs the selected profile.
    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
        w.home_lists(name).await;
        w.press(KeyCode::Enter);
        let summary = w.finished().await;
        assert!(summary.contains("only the changes"), "{summary}");
    });
    assert_eq!(history(&env, name).len(), 3);
    assert!(users_header(&out, &sim).ends_with(",mobilePhone"));
}

/// `d` then `y` on the home screen deletes the profile with its incremental state (a copy of
/// the whole tenant's last files), not only its history.
#[test]
fn deleting_a_profile_in_the_wizard_deletes_its_incremental_state() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let rt = runtime();
    let name = "deleted";
    saved_profile(&sim, &env, &rt, name, &env.out("out"), &[]);
    headless(&sim, &env, name);
    let state = env.data_dir().join("state").join(name);
    assert!(state.join("state.json").exists());

    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
        w.home_lists(name).await;
        w.press(KeyCode::Char('d')).press(KeyCode::Char('y'));
        w.until("the profile gone from the home screen", |app| {
            !app.is_waiting() && app.profiles().iter().all(|p| p.name != name)
        })
        .await;
    });
    assert!(!state.exists(), "left behind: {}", state.display());
    assert!(history(&env, name).is_empty());
}

/// Renaming a profile on the wizard's save step moves its incremental state with it: the run
/// right after saving reads only the changes, and nothing stays under the old name.
#[test]
fn renaming_a_profile_in_the_wizard_moves_its_incremental_state() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let rt = runtime();
    let (old, new) = ("before-rename", "after-rename");
    saved_profile(&sim, &env, &rt, old, &env.out("out"), &[]);
    headless(&sim, &env, old);

    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
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
    assert!(!env.data_dir().join("state").join(old).exists());
    assert!(state_file(&env, new).exists());
    assert_eq!(history(&env, new).len(), 2);
    let next = headless(&sim, &env, new);
    assert_eq!(next["mode"], "incremental", "{next}");
}

/// `s` on the home screen moves the selected profile's secret: out of the keyring into a
/// plain-text file (nothing to type; the keyring's copy is deleted), and, for a profile whose
/// secret came from the environment, into the keyring once its value is pasted.
#[test]
fn s_on_home_changes_where_a_profile_keeps_its_secret() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let rt = runtime();
    let name = "moving";
    let secret = sim.app(DemoAppKind::Full).client_secret;
    saved_profile(&sim, &env, &rt, name, &env.out("out"), &[]);
    let profile_name = ProfileName::new(name).unwrap();
    let store = ProfileStore::new(dirs(&env));
    let memory = || rt.block_on(SecretStore::open(StoreChoice::Memory)).unwrap();

    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
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
    assert_eq!(
        store.load(&profile_name).unwrap().secret_storage,
        entra_extract::profile::SecretStorage::PlaintextFile
    );
    assert!(!rt.block_on(memory().contains(&profile_name)).unwrap());
    let file = env.config_dir().join("secrets").join(name);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), secret);
    // A scheduled run finds it there, with nothing in its environment.
    let run = env
        .command()
        .args(["run", "--profile", name, "-q"])
        .output()
        .unwrap();
    assert_exit(&run, 0);

    // From the environment (nothing stored) to the keyring: the value is asked for.
    let other = "from-env";
    create_profile(&sim, &env, other, &env.out("other"), &[]);
    let mut p = store.load(&ProfileName::new(other).unwrap()).unwrap();
    p.secret_storage = entra_extract::profile::SecretStorage::Environment;
    store.save(&p).unwrap();
    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
        w.home_lists(other).await;
        // "from-env" is listed first, so it is selected.
        w.press(KeyCode::Char('s')).press(KeyCode::Enter);
        w.until("the question for the secret", |app| !app.is_waiting())
            .await;
        let screen = w.screen();
        assert!(screen.contains("Secret value"), "{screen}");
        w.app.update(Action::Paste(format!("{secret}\n")));
        w.press(KeyCode::Enter);
        w.until("the move", |app| app.screen() == ScreenKind::Home)
            .await;
    });
    assert_eq!(
        store.load(&p.name).unwrap().secret_storage,
        entra_extract::profile::SecretStorage::Keyring
    );
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&rt.block_on(memory().load(&p.name)).unwrap()),
        secret
    );
}

/// Saving an edited profile with its secret in another place (the save step's keyring,
/// for a profile that kept it in a plain-text file) leaves no copy in the old place.
#[test]
fn saving_an_edited_profile_elsewhere_leaves_no_copy_of_its_secret_behind() {
    let sim = Sim::small();
    let env = TestEnv::new();
    let rt = runtime();
    let name = "was-plain";
    let secret = sim.app(DemoAppKind::Full).client_secret;
    create_profile(
        &sim,
        &env,
        name,
        &env.out("out"),
        &["--plaintext-secret-file"],
    );
    let o = env
        .command()
        .args(["profile", "set-secret", name, "--stdin"])
        .write_stdin(secret.clone())
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let file = env.config_dir().join("secrets").join(name);
    assert!(file.exists());

    rt.block_on(async {
        let mut w = Wizard::new(&dirs(&env));
        w.home_lists(name).await;
        w.edit_to_save_step().await;
        // Save (secret to the keyring) and extract.
        w.press(KeyCode::Enter);
        w.finished().await;
    });
    let profile_name = ProfileName::new(name).unwrap();
    assert_eq!(
        ProfileStore::new(dirs(&env))
            .load(&profile_name)
            .unwrap()
            .secret_storage,
        entra_extract::profile::SecretStorage::Keyring
    );
    assert!(!file.exists(), "the plain-text copy stayed behind");
}
