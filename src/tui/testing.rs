//! A scripted [`Services`] for tests and for working on screens without a tenant. Answers
//! come from queues the test fills; calls can be held at a gate to show spinners and to
//! prove stale answers are dropped; every call is recorded (secrets only by length).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::ExposeSecret;
use tokio::sync::{Semaphore, oneshot};
use tokio_util::sync::CancellationToken;

use super::services::{
    CheckTarget, CommitHold, CreatedApp, CredentialInput, CredentialProblem, CredentialsInput,
    ErrorKind, ExtractionError, ExtractionHandle, ExtractionSummary, ExtractionTarget, Field,
    IfNameTaken, NewAppFailure, NewAppInput, NewAppUpdate, NewAppUpdates, ProfileDraft,
    ProfileSummary, SaveOutcome, SaveProblem, SaveProblemKind, SecretStorage, ServiceError,
    Services, StorageProblem, TenantInfo,
};
use crate::extract::progress::ProgressSnapshot;
use crate::permissions::report::PermissionReport;

type Outcome = Result<ExtractionSummary, ExtractionError>;

/// Scripted answers. Queues pop one answer per call and repeat their last answer.
#[derive(Default)]
pub struct Script {
    pub profiles: Vec<ProfileSummary>,
    pub drafts: HashMap<String, ProfileDraft>,
    pub validations: VecDeque<Result<TenantInfo, CredentialProblem>>,
    pub reports: VecDeque<Result<PermissionReport, ServiceError>>,
    pub saves: VecDeque<Result<SaveOutcome, SaveProblem>>,
    /// When set, `start_extraction` fails with this error.
    pub start_error: Option<ServiceError>,
    /// `create_app`: the updates it sends, then its answer.
    pub new_apps: VecDeque<(Vec<NewAppUpdate>, Result<CreatedApp, NewAppFailure>)>,
    pub removals: VecDeque<Result<String, ServiceError>>,
    pub rotations: VecDeque<Result<String, ServiceError>>,
    /// `change_secret_storage` answers.
    pub storage_changes: VecDeque<Result<String, StorageProblem>>,
    /// `delete_profile` answers; without one it deletes and says what went with it.
    pub deletions: VecDeque<Result<String, ServiceError>>,
    pub ru_budget_per_10s: Option<u64>,
}

/// The fake services.
pub struct FakeServices {
    script: Mutex<Script>,
    calls: Mutex<Vec<String>>,
    gate: Semaphore,
    gated: Mutex<bool>,
    progress: Arc<Mutex<ProgressSnapshot>>,
    outcome: Arc<Mutex<Option<oneshot::Sender<Outcome>>>>,
    cancel: Mutex<Option<CancellationToken>>,
    /// The running extraction's commit hold.
    commit_hold: Mutex<CommitHold>,
    /// The cancellation handed to the latest `create_app`.
    task_cancel: Mutex<Option<CancellationToken>>,
}

/// A test terminal's screen (`TestBackend`'s text, each row quoted) as one line: rows trimmed
/// and joined by a space, so a wrapped sentence can be found.
pub fn flat(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.trim_matches('"').trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the fake answers for a call the test did not script.
fn unscripted(message: &str) -> ServiceError {
    ServiceError::new(ErrorKind::Unavailable, message)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn pop<T: Clone>(q: &mut VecDeque<T>) -> Option<T> {
    if q.len() > 1 {
        q.pop_front()
    } else {
        q.front().cloned()
    }
}

impl FakeServices {
    /// Fake answering from `script`.
    pub fn new(script: Script) -> Arc<Self> {
        Arc::new(FakeServices {
            script: Mutex::new(script),
            calls: Mutex::new(Vec::new()),
            gate: Semaphore::new(0),
            gated: Mutex::new(false),
            progress: Arc::new(Mutex::new(ProgressSnapshot::default())),
            outcome: Arc::new(Mutex::new(None)),
            cancel: Mutex::new(None),
            commit_hold: Mutex::new(CommitHold::default()),
            task_cancel: Mutex::new(None),
        })
    }

    /// Change the script (e.g. grant a permission before a re-check).
    pub fn script(&self) -> MutexGuard<'_, Script> {
        lock(&self.script)
    }

    /// Hold validation, permission, save, delete and secret-storage calls until
    /// [`FakeServices::open_gate`].
    pub fn close_gate(&self) {
        *lock(&self.gated) = true;
    }

    /// Let held calls finish.
    pub fn open_gate(&self) {
        *lock(&self.gated) = false;
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    /// Calls so far, e.g. `validate tenant=contoso.com secret=(12 chars)`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    /// Set the progress the running extraction reports.
    pub fn set_progress(&self, snapshot: ProgressSnapshot) {
        *lock(&self.progress) = snapshot;
    }

    /// End the running extraction with `outcome`; false when none is running, or when it
    /// would write files while the wizard holds its commit (the real run waits then).
    pub fn finish_extraction(&self, outcome: Outcome) -> bool {
        if outcome.is_ok() && !self.commit_extraction() {
            return false;
        }
        lock(&self.outcome)
            .take()
            .is_some_and(|tx| tx.send(outcome).is_ok())
    }

    /// The running extraction reaches its commit point: true when it passes (its files are
    /// written from then on), false while the wizard holds the commit (the run then waits
    /// there, as the real one does) or once it cancelled the run.
    pub fn commit_extraction(&self) -> bool {
        let cancel = lock(&self.cancel).clone().unwrap_or_default();
        let hold = lock(&self.commit_hold).clone();
        matches!(hold.pass(&cancel).now_or_never(), Some(Ok(())))
    }

    /// True while the wizard holds the running extraction's commit.
    pub fn commit_held(&self) -> bool {
        lock(&self.commit_hold).is_held()
    }

    /// True once the wizard cancelled the latest `create_app`.
    pub fn task_cancelled(&self) -> bool {
        lock(&self.task_cancel)
            .as_ref()
            .is_some_and(|c| c.is_cancelled())
    }

    /// True once the wizard cancelled the running extraction.
    pub fn extraction_cancelled(&self) -> bool {
        lock(&self.cancel)
            .as_ref()
            .is_some_and(|c| c.is_cancelled())
    }

    fn record(&self, call: String) {
        lock(&self.calls).push(call);
    }

    async fn wait_gate(&self) {
        if *lock(&self.gated) {
            let _ = self.gate.acquire().await;
        }
    }
}

fn describe(input: &CredentialsInput) -> String {
    let credential = match &input.credential {
        CredentialInput::Secret(s) => {
            format!("secret=({} chars)", s.expose_secret().chars().count())
        }
        CredentialInput::Certificate { path } => format!("certificate={}", path.display()),
    };
    let mut text = format!(
        "cloud={:?} tenant={} client={} {credential}",
        input.cloud, input.tenant, input.client_id
    );
    for (name, url) in [
        ("authority", &input.authority_url),
        ("graph", &input.graph_url),
    ] {
        if let Some(url) = url {
            text.push_str(&format!(" {name}={url}"));
        }
    }
    text
}

impl Services for FakeServices {
    fn list_profiles(&self) -> BoxFuture<'_, Result<Vec<ProfileSummary>, ServiceError>> {
        self.record("list_profiles".into());
        let list = self.script().profiles.clone();
        async move { Ok(list) }.boxed()
    }

    fn load_profile(&self, name: String) -> BoxFuture<'_, Result<ProfileDraft, ServiceError>> {
        self.record(format!("load_profile {name}"));
        let draft = self.script().drafts.get(&name).cloned();
        async move {
            draft.ok_or_else(|| {
                ServiceError::new(ErrorKind::Profile, format!("Profile {name} was not found."))
            })
        }
        .boxed()
    }

    fn validate_credentials(
        &self,
        input: CredentialsInput,
    ) -> BoxFuture<'_, Result<TenantInfo, CredentialProblem>> {
        self.record(format!("validate {}", describe(&input)));
        let answer = pop(&mut self.script().validations);
        async move {
            self.wait_gate().await;
            answer.unwrap_or_else(|| {
                Err(CredentialProblem {
                    field: Field::None,
                    message: "The fake has no validation answer.".into(),
                    remedy: "Script one.".into(),
                })
            })
        }
        .boxed()
    }

    fn check_permissions(
        &self,
        target: CheckTarget,
    ) -> BoxFuture<'_, Result<PermissionReport, ServiceError>> {
        self.record(match &target {
            CheckTarget::Saved(name) => format!("check saved {name}"),
            CheckTarget::Credentials(c) => format!("check {}", describe(c)),
        });
        let answer = pop(&mut self.script().reports);
        async move {
            self.wait_gate().await;
            answer.unwrap_or_else(|| Err(unscripted("The fake has no permission report.")))
        }
        .boxed()
    }

    fn save_profile(
        &self,
        draft: ProfileDraft,
        storage: SecretStorage,
    ) -> BoxFuture<'_, Result<SaveOutcome, SaveProblem>> {
        self.record(
            format!(
                "save {} storage={storage:?} prefix={} dir={} bom={} schedule={}",
                draft.name,
                draft.output.domain_prefix,
                draft.output.directory.display(),
                draft.output.bom,
                draft.schedule.map_or("none".into(), |s| s.to_string())
            ) + &draft
                .credential_file
                .as_ref()
                .map(|f| format!(" file={}", f.display()))
                .unwrap_or_default()
                + match draft.if_name_taken {
                    IfNameTaken::Refuse => "",
                    IfNameTaken::Replace => " replace",
                },
        );
        let schedule = draft
            .schedule
            .map(|s| format!("Reruns {} (systemd user timer).", s.describe()));
        // Like the live services: another saved profile's name needs the user's yes.
        let taken = draft.replaces.as_deref() != Some(draft.name.as_str())
            && self.script().profiles.iter().any(|p| p.name == draft.name);
        if taken && draft.if_name_taken == IfNameTaken::Refuse {
            let problem = SaveProblem {
                kind: SaveProblemKind::NameTaken,
                message: format!("A saved profile is named {} already.", draft.name),
                alternatives: Vec::new(),
            };
            return async move { Err(problem) }.boxed();
        }
        let answer = pop(&mut self.script().saves).unwrap_or_else(|| {
            Ok(SaveOutcome {
                secret_stored_in: format!(
                    "secret stored in {}",
                    crate::tui::services::storage_label(storage)
                ),
                schedule,
            })
        });
        async move {
            self.wait_gate().await;
            answer
        }
        .boxed()
    }

    fn delete_profile(&self, name: String) -> BoxFuture<'_, Result<String, ServiceError>> {
        self.record(format!("delete {name}"));
        let answer = pop(&mut self.script().deletions).unwrap_or_else(|| {
            Ok("deleted its secret from the OS keyring (in-memory), deleted its run history, deleted its incremental state (the copy of its last run's files)".into())
        });
        if answer.is_ok() {
            self.script().profiles.retain(|p| p.name != name);
        }
        async move {
            self.wait_gate().await;
            answer
        }
        .boxed()
    }

    fn create_app(
        &self,
        input: NewAppInput,
        updates: NewAppUpdates,
    ) -> BoxFuture<'_, Result<CreatedApp, NewAppFailure>> {
        self.record(format!(
            "create_app profile={} tenant={} cloud={:?} dir={}",
            input.profile,
            input.tenant,
            input.cloud,
            input.output_dir.display()
        ));
        let answer = pop(&mut self.script().new_apps);
        *lock(&self.task_cancel) = Some(input.cancel.clone());
        async move {
            let Some((sent, result)) = answer else {
                return Err(NewAppFailure::nothing("The fake has no create_app answer."));
            };
            for u in sent {
                updates(u);
            }
            self.wait_gate().await;
            result
        }
        .boxed()
    }

    fn rotate_secret(
        &self,
        profile: String,
        updates: NewAppUpdates,
        _cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<String, ServiceError>> {
        self.record(format!("rotate_secret {profile}"));
        let answer = pop(&mut self.script().rotations);
        async move {
            updates(NewAppUpdate::Line("Adding a new client secret…".into()));
            answer.unwrap_or_else(|| Err(unscripted("The fake has no rotation answer.")))
        }
        .boxed()
    }

    fn change_secret_storage(
        &self,
        profile: String,
        storage: SecretStorage,
        secret: Option<secrecy::SecretString>,
    ) -> BoxFuture<'_, Result<String, StorageProblem>> {
        let given = secret.map_or("none".to_string(), |s| {
            format!("({} chars)", s.expose_secret().chars().count())
        });
        self.record(format!(
            "change_secret_storage {profile} storage={storage:?} secret={given}"
        ));
        let answer = pop(&mut self.script().storage_changes);
        async move {
            self.wait_gate().await;
            answer.unwrap_or_else(|| {
                Err(StorageProblem {
                    message: "The fake has no storage answer.".into(),
                    needs_secret: false,
                })
            })
        }
        .boxed()
    }

    fn save_copy(
        &self,
        file_name: String,
        text: String,
    ) -> BoxFuture<'_, Result<std::path::PathBuf, ServiceError>> {
        self.record(format!("save_copy {file_name} {text}"));
        let path = std::path::PathBuf::from(format!("/data/copied/{file_name}"));
        async move { Ok(path) }.boxed()
    }

    fn remove_created_app(&self) -> BoxFuture<'_, Result<String, ServiceError>> {
        self.record("remove_created_app".into());
        let answer = pop(&mut self.script().removals);
        async move { answer.unwrap_or_else(|| Err(unscripted("The fake has no removal answer."))) }
            .boxed()
    }

    fn start_extraction(
        &self,
        target: ExtractionTarget,
    ) -> BoxFuture<'_, Result<ExtractionHandle, ServiceError>> {
        self.record(match &target {
            ExtractionTarget::Saved(name) => format!("extract saved {name}"),
            ExtractionTarget::JustSaved(d) => {
                format!("extract just saved {} {}", d.name, describe(&d.credentials))
            }
            ExtractionTarget::Draft(d) => format!("extract draft {}", describe(&d.credentials)),
        });
        let (error, budget) = {
            let s = self.script();
            (s.start_error.clone(), s.ru_budget_per_10s)
        };
        if let Some(e) = error {
            return async move { Err(e) }.boxed();
        }
        let (tx, rx) = oneshot::channel();
        *lock(&self.outcome) = Some(tx);
        let cancel = CancellationToken::new();
        *lock(&self.cancel) = Some(cancel.clone());
        // A cancelled fake run "cleans up" and reports Cancelled, like the real one must.
        let slot = Arc::clone(&self.outcome);
        let watched = cancel.clone();
        tokio::spawn(async move {
            watched.cancelled().await;
            if let Some(tx) = lock(&slot).take() {
                let _ = tx.send(Err(ExtractionError::Cancelled));
            }
        });
        let commit_hold = CommitHold::default();
        *lock(&self.commit_hold) = commit_hold.clone();
        let progress = Arc::clone(&self.progress);
        let handle = ExtractionHandle {
            progress: Arc::new(move || lock(&progress).clone()),
            cancel,
            commit_hold,
            outcome: rx,
            ru_budget_per_10s: budget,
        };
        async move { Ok(handle) }.boxed()
    }
}
