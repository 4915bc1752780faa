//! End-to-end runs of the wizard's event loop on a `TestBackend`, through the library's
//! public API, with scripted input and the scripted fake services; and the live services'
//! save path where the fakes cannot reach (a profile renamed on a machine without a keyring).

use crate::common;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{typed_secret, wizard_draft as draft};
use crossterm::event::KeyCode;
use entra_extract::extract::progress::{Phase, ProgressSnapshot};
use entra_extract::permissions::report::{
    DIRECTORY_READ_ALL, GrantState, MEMBER_READ_HIDDEN, PermissionReport, PermissionStatus,
};
use entra_extract::tui::services::{
    ExtractionCounts, ExtractionError, ExtractionSummary, TenantInfo,
};
use entra_extract::tui::testing::{FakeServices, Script};
use entra_extract::tui::{Action, App, WizardOptions, run_loop};
use futures::Stream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

/// One scripted input, or something the test does between inputs.
enum Input {
    Act(Action),
    Do(Box<dyn FnOnce() + Send>),
}

fn key(code: KeyCode) -> Input {
    Input::Act(Action::key(code))
}

fn text(s: &str) -> Vec<Input> {
    s.chars().map(|c| key(KeyCode::Char(c))).collect()
}

/// Yields each input after letting spawned service calls run, so the loop sees their
/// results first (it prefers results over input).
fn scripted(inputs: Vec<Input>) -> impl Stream<Item = Action> + Unpin {
    Box::pin(futures::stream::unfold(
        VecDeque::from(inputs),
        |mut queue| async move {
            loop {
                for _ in 0..20 {
                    tokio::task::yield_now().await;
                }
                match queue.pop_front()? {
                    Input::Act(action) => return Some((action, queue)),
                    Input::Do(f) => f(),
                }
            }
        },
    ))
}

fn perm(name: &str, id: &str) -> PermissionStatus {
    PermissionStatus {
        name: name.into(),
        app_role_id: id.into(),
        state: GrantState::Granted,
        evidence: "token roles".into(),
    }
}

fn script() -> Script {
    Script {
        validations: [Ok(TenantInfo {
            tenant_id: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee".into(),
            default_domain: "fabrikam.onmicrosoft.com".into(),
            display_name: "Fabrikam".into(),
        })]
        .into(),
        reports: [Ok(PermissionReport {
            required: vec![
                perm("Directory.Read.All", DIRECTORY_READ_ALL),
                perm("Member.Read.Hidden", MEMBER_READ_HIDDEN),
            ],
            over_privileged: vec![],
            secret_expiry: vec![],
            remediation: vec![],
            grant_commands: vec![],
            secret_in_use: None,
        })]
        .into(),
        ..Script::default()
    }
}

/// Walks from home to the running extraction.
fn setup_inputs() -> Vec<Input> {
    let mut inputs = vec![key(KeyCode::Char('n')), key(KeyCode::Enter)];
    inputs.extend(text("fabrikam.onmicrosoft.com"));
    inputs.push(key(KeyCode::Enter));
    inputs.extend(text("11111111-2222-3333-4444-555555555555"));
    inputs.push(key(KeyCode::Enter));
    inputs.push(Input::Act(Action::Paste("Xy7~not.a.real.secret\n".into())));
    inputs.push(key(KeyCode::Enter)); // validate, then permissions are checked
    inputs.push(key(KeyCode::Enter)); // permissions → output
    inputs.push(key(KeyCode::Enter)); // output → save
    inputs.push(key(KeyCode::Enter)); // save to keyring and extract
    inputs
}

async fn run(fake: Arc<FakeServices>, inputs: Vec<Input>) -> (App, String) {
    let (tx, rx) = mpsc::unbounded_channel();
    let options = WizardOptions {
        default_output_dir: PathBuf::from("/exports"),
        ..WizardOptions::default()
    };
    let mut app = App::new(fake, options, tx);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        run_loop(&mut terminal, &mut app, scripted(inputs), rx),
    )
    .await
    .expect("the wizard loop must finish")
    .expect("the wizard loop must not fail");
    let screen = terminal.backend().to_string();
    (app, screen)
}

#[tokio::test]
async fn new_profile_to_summary_through_the_event_loop() {
    let fake = FakeServices::new(script());
    let mut inputs = setup_inputs();
    let f = fake.clone();
    inputs.push(Input::Do(Box::new(move || {
        f.set_progress(ProgressSnapshot {
            users_done: 10,
            users_total: Some(10),
            phase: Phase::Done,
            ..ProgressSnapshot::default()
        });
        let dir = PathBuf::from("/exports");
        assert!(f.finish_extraction(Ok(ExtractionSummary {
            files: vec![(dir.join("fabrikam_users.csv"), Some(10))],
            duration: Duration::from_secs(3),
            counts: ExtractionCounts {
                users: 10,
                ..ExtractionCounts::default()
            },
            warnings: vec![],
            notes: vec![],
            changes: None,
        })));
    })));
    inputs.push(key(KeyCode::Char('q')));
    let (app, screen) = run(fake.clone(), inputs).await;
    assert!(app.should_quit());
    assert!(
        screen.contains("Extraction of fabrikam complete in 00:00:03"),
        "{screen}"
    );
    assert!(
        screen.contains("Files in /exports:") && screen.contains("  fabrikam_users.csv (10 rows)"),
        "{screen}"
    );
    let calls = fake.calls();
    let expected = [
        "validate cloud=Global tenant=fabrikam.onmicrosoft.com client=11111111-2222-3333-4444-555555555555 secret=(21 chars)",
        "save fabrikam storage=Keyring prefix=fabrikam.onmicrosoft.com dir=/exports bom=false schedule=none",
        "extract just saved fabrikam cloud=Global tenant=fabrikam.onmicrosoft.com client=11111111-2222-3333-4444-555555555555 secret=(21 chars)",
    ];
    for call in expected {
        assert!(
            calls.iter().any(|c| c == call),
            "missing {call:?} in {calls:?}"
        );
    }
    assert!(
        calls.iter().all(|c| !c.contains("Xy7~")),
        "a secret leaked: {calls:?}"
    );
}

#[tokio::test]
async fn input_closing_mid_extraction_cancels_cleans_up_and_quits() {
    let fake = FakeServices::new(script());
    let (app, screen) = run(fake.clone(), setup_inputs()).await;
    assert!(fake.extraction_cancelled(), "the run must be cancelled");
    assert_eq!(app.last_error(), Some(&ExtractionError::Cancelled));
    assert!(
        screen.contains("no partial files were left behind."),
        "{screen}"
    );
}

#[tokio::test]
async fn quitting_from_home() {
    let fake = FakeServices::new(Script::default());
    let (app, screen) = run(fake, vec![key(KeyCode::Char('q'))]).await;
    assert!(app.should_quit());
    assert!(screen.contains("No saved profiles yet."), "{screen}");
}

/// The wizard's live services, editing a saved profile on a machine without a keyring:
/// renaming it and saving fails on the keyring, changes nothing (the profile keeps its old
/// name) and offers alternatives; saving again with one of them completes the rename.
#[tokio::test]
async fn renaming_a_profile_then_choosing_another_storage_after_the_keyring_fails_saves_it() {
    use entra_extract::profile::{Dirs, Profile, ProfileName, ProfileStore, SecretStorage};
    use entra_extract::secret::StoreChoice;
    use entra_extract::session::wizard::LiveServices;
    use entra_extract::tui::services::Services;

    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::new(root.path().join("config"), root.path().join("data"));
    let store = ProfileStore::new(dirs.clone());
    let tenant = "contoso.onmicrosoft.com";
    let client = "11111111-2222-3333-4444-555555555555";
    let old = ProfileName::new("old").unwrap();
    let mut saved = Profile::new(
        old.clone(),
        tenant.parse().unwrap(),
        client.parse().unwrap(),
    );
    saved.secret_storage = SecretStorage::Environment;
    store.create(&saved).unwrap();

    let services = LiveServices::new(dirs, StoreChoice::Unreachable);
    let draft = || {
        draft(
            "new",
            tenant,
            &root.path().join("out"),
            typed_secret(),
            Some("old"),
        )
    };
    let problem = services
        .save_profile(draft(), SecretStorage::Keyring)
        .await
        .expect_err("no keyring here");
    assert!(problem.alternatives.contains(&SecretStorage::Environment));
    let new = ProfileName::new("new").unwrap();
    assert!(store.exists(&old) && !store.exists(&new));
    let saved = services
        .save_profile(draft(), SecretStorage::Environment)
        .await
        .expect("saving with another storage completes the rename");
    assert!(saved.secret_stored_in.contains("not stored"), "{saved:?}");
    assert!(!store.exists(&old));
    assert_eq!(
        store.load(&new).unwrap().secret_storage,
        SecretStorage::Environment
    );
}

/// The live services refuse to save a new profile under a saved profile's name (a typed
/// problem the save step turns into a question) and change nothing; with the user's yes
/// the new profile replaces it, its stored secret and run history included. Editing a
/// saved profile and saving it under its own name just saves; renaming one onto another's
/// name is refused the same way.
#[tokio::test]
async fn a_taken_profile_name_is_never_overwritten_without_the_users_yes() {
    use entra_extract::profile::history::History;
    use entra_extract::profile::{Dirs, ProfileName, ProfileStore, SecretStorage};
    use entra_extract::secret::StoreChoice;
    use entra_extract::session::wizard::LiveServices;
    use entra_extract::tui::services::{IfNameTaken, ProfileDraft, SaveProblemKind, Services};

    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::new(root.path().join("config"), root.path().join("data"));
    let store = ProfileStore::new(dirs.clone());
    let services = LiveServices::new(dirs.clone(), StoreChoice::Memory);
    let draft = |name: &str, tenant: &str, replaces: Option<&str>| ProfileDraft {
        if_name_taken: IfNameTaken::Refuse,
        ..draft(
            name,
            tenant,
            &root.path().join(tenant),
            typed_secret(),
            replaces,
        )
    };
    let contoso = ProfileName::new("contoso").unwrap();
    let tenant_of = |name: &ProfileName| store.load(name).unwrap().tenant.to_string();
    services
        .save_profile(
            draft("contoso", "contoso.com", None),
            SecretStorage::Keyring,
        )
        .await
        .expect("a new name saves");
    let history = History::new(&dirs).path(&contoso);
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    std::fs::write(&history, "").unwrap();
    let state = dirs.state(&contoso);
    std::fs::create_dir_all(&state).unwrap();

    // A new profile under the taken name: refused, nothing changed.
    let problem = services
        .save_profile(
            draft("contoso", "fabrikam.com", None),
            SecretStorage::Keyring,
        )
        .await
        .expect_err("the name is taken");
    assert_eq!(problem.kind, SaveProblemKind::NameTaken, "{problem:?}");
    assert!(problem.message.contains("contoso"), "{problem:?}");
    assert_eq!(tenant_of(&contoso), "contoso.com");
    assert!(history.exists());

    // Renaming another profile onto it: refused the same way, both kept.
    services
        .save_profile(draft("other", "other.com", None), SecretStorage::Keyring)
        .await
        .expect("a new name saves");
    let problem = services
        .save_profile(
            draft("contoso", "other.com", Some("other")),
            SecretStorage::Keyring,
        )
        .await
        .expect_err("the name is taken");
    assert_eq!(problem.kind, SaveProblemKind::NameTaken, "{problem:?}");
    assert_eq!(tenant_of(&contoso), "contoso.com");
    assert_eq!(tenant_of(&ProfileName::new("other").unwrap()), "other.com");

    // Editing it under its own name just saves.
    services
        .save_profile(
            draft("contoso", "contoso.com", Some("contoso")),
            SecretStorage::Keyring,
        )
        .await
        .expect("editing a profile saves it");
    assert!(
        history.exists() && state.exists(),
        "an edit keeps history and state"
    );

    // The user said yes: the new profile replaces it, history and all.
    let replace = ProfileDraft {
        if_name_taken: IfNameTaken::Replace,
        ..draft("contoso", "fabrikam.com", None)
    };
    services
        .save_profile(replace, SecretStorage::Environment)
        .await
        .expect("replaced with the user's yes");
    let saved = store.load(&contoso).unwrap();
    assert_eq!(saved.tenant.to_string(), "fabrikam.com");
    assert_eq!(saved.secret_storage, SecretStorage::Environment);
    assert!(!history.exists(), "the replaced profile's history is gone");
    assert!(!state.exists(), "and its incremental state");
    let keyring = entra_extract::secret::SecretStore::open(StoreChoice::Memory)
        .await
        .unwrap();
    assert!(
        keyring.load(&contoso).await.is_err(),
        "the replaced profile's stored secret is gone"
    );
}

/// The home screen's last run says "warnings" for a run that wrote its files with warnings,
/// as `profile list` does: the live services pass the history's outcome on as it is.
#[tokio::test]
async fn a_last_run_with_warnings_is_listed_as_warnings() {
    use entra_extract::profile::history::{History, Outcome, RunRecord};
    use entra_extract::profile::{Dirs, Profile, ProfileName, ProfileStore};
    use entra_extract::secret::StoreChoice;
    use entra_extract::session::wizard::LiveServices;
    use entra_extract::tui::services::Services;

    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::new(root.path().join("config"), root.path().join("data"));
    let name = ProfileName::new("contoso").unwrap();
    ProfileStore::new(dirs.clone())
        .create(&Profile::new(
            name.clone(),
            "contoso.com".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
        ))
        .unwrap();
    History::new(&dirs)
        .append(
            &name,
            &RunRecord {
                started: chrono::Utc::now(),
                duration_secs: 1.0,
                outcome: Outcome::Warnings,
                users: 10,
                groups: 2,
                member_edges: 5,
                owner_edges: 1,
                warnings: 3,
                output_dir: root.path().join("out"),
                mode: None,
                changes: None,
            },
        )
        .unwrap();
    let listed = LiveServices::new(dirs, StoreChoice::Memory)
        .list_profiles()
        .await
        .unwrap();
    let last = listed[0].last_run.as_ref().expect("its last run");
    assert_eq!(last.outcome.label(), "warnings");
}

/// A profile edited to sign in with a certificate (the wizard signed in with it first)
/// keeps the secret it had in the keyring, unused (Entra shows its value only once, and
/// the certificate may not work after all), and says where it is and how to delete it.
#[tokio::test]
async fn a_profile_edited_to_a_certificate_keeps_its_stored_secret() {
    use entra_extract::profile::{Dirs, ProfileName, ProfileStore};
    use entra_extract::secret::{SecretStore, StoreChoice};
    use entra_extract::session::wizard::LiveServices;
    use entra_extract::tui::services::{CredentialInput, SecretStorage, Services};

    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs::new(root.path().join("config"), root.path().join("data"));
    let services = LiveServices::new(dirs.clone(), StoreChoice::Memory);
    let name = "to-certificate";
    let draft = |credential, replaces: Option<&str>| {
        draft(
            name,
            "contoso.com",
            &root.path().join("out"),
            credential,
            replaces,
        )
    };
    services
        .save_profile(draft(typed_secret(), None), SecretStorage::Keyring)
        .await
        .expect("saved with a secret");
    let keyring = SecretStore::open(StoreChoice::Memory).await.unwrap();
    let profile = ProfileName::new(name).unwrap();
    assert!(keyring.contains(&profile).await.unwrap());

    let certificate = CredentialInput::Certificate {
        path: root.path().join("cert.pem"),
    };
    let saved = services
        .save_profile(draft(certificate, Some(name)), SecretStorage::Keyring)
        .await
        .expect("saved with a certificate");
    assert!(
        saved
            .secret_stored_in
            .contains("user \"profile:to-certificate\"")
            && saved
                .secret_stored_in
                .contains("`entra-extract profile delete-secret to-certificate`"),
        "{saved:?}"
    );
    assert!(keyring.contains(&profile).await.unwrap());
    let store = ProfileStore::new(dirs);
    assert!(matches!(
        store.load(&profile).unwrap().credential,
        entra_extract::profile::CredentialKind::Certificate { .. }
    ));
}
