//! The real [`Services`]: the wizard's calls answered by the Graph client, the permission
//! check, the profile store and keyring, and the extraction engine. It lives beside the
//! headless commands' wiring, not in `tui/`, so the wizard depends on its service trait and
//! the progress model only.

use std::path::PathBuf;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::SecretString;
use tokio::sync::oneshot;

use super::admin::{AdminTarget, NewProfile};
use super::new_app::{NewAppError, NewAppEvent, NewAppRequest, create_new_app, writable_keyring};
use super::rotate::{RotateEvent, RotateRequest, old_secret_warning, rotate_profile_secret};
use super::save::{Saving, absolute};
use super::{AppTarget, SessionError};
use crate::extract::DomainPrefix;
use crate::extract::progress::Progress;
use crate::extract::run::{ExtractError, ExtractOptions, run as extract, tenant_info};
use crate::graph::DEFAULT_ADMIN_CLIENT_ID;
use crate::graph::{ClientId, Credential, GraphClient, GraphError, TenantRef};
use crate::permissions::report::{GrantState, PermissionReport};
use crate::profile::{CredentialKind, Dirs, Profile, ProfileName, ProfileStore};
use crate::registration::{Blueprint, Created, DEFAULT_DISPLAY_NAME, SecretLifetime, replication};
use crate::secret::lifecycle::{self, LifecycleError};
use crate::secret::{SecretInputs, SecretStore, StoreChoice};
use crate::tui::services::{
    CheckTarget, CreatedApp, CredentialInput, CredentialProblem, CredentialsInput, ErrorKind,
    ExtractionError, ExtractionHandle, ExtractionSummary, ExtractionTarget, Field, IfNameTaken,
    NewAppFailure, NewAppInput, NewAppUpdate, NewAppUpdates, OutputSettings, ProfileDraft,
    ProfileSummary, SaveOutcome, SaveProblem, SecretStorage, ServiceError, Services,
    StorageProblem, TenantInfo,
};

/// Services backed by the real program, with profiles under `dirs`.
pub struct LiveServices {
    dirs: Dirs,
    keyring: StoreChoice,
    /// Whether saving installs the profile's schedule (not for the demo's temporary
    /// profiles: a timer would outlive them).
    schedules: bool,
    /// What failed app registrations left, latest last, each with the administrator's client
    /// that can delete it; what is still here when the wizard ends is printed.
    leftovers: std::sync::Mutex<Vec<(GraphClient, Created)>>,
}

impl LiveServices {
    /// Profiles and history live under `dirs`; secrets in the `keyring` store.
    pub fn new(dirs: Dirs, keyring: StoreChoice) -> Self {
        LiveServices {
            dirs,
            keyring,
            schedules: true,
            leftovers: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Services whose saved profiles are temporary: schedules are refused, not installed.
    pub fn without_schedules(mut self) -> Self {
        self.schedules = false;
        self
    }

    fn store(&self) -> ProfileStore {
        ProfileStore::new(self.dirs.clone())
    }

    /// Where the wizard's saves and deletions go.
    fn saving(&self) -> Saving {
        Saving {
            store: self.store(),
            keyring: self.keyring,
            schedules: self.schedules,
        }
    }

    fn load(&self, name: &str) -> Result<Profile, ServiceError> {
        let name = ProfileName::new(name)?;
        Ok(self.store().load(&name)?)
    }

    /// The new app's request from the wizard's inputs, and the keyring its secret goes to:
    /// every refusal before anything is created.
    async fn new_app_request(
        &self,
        input: &NewAppInput,
        profiles: &ProfileStore,
    ) -> Result<(NewAppRequest, SecretStore), NewAppFailure> {
        let nothing = |m: String| NewAppFailure::nothing(m);
        let name = ProfileName::new(&input.profile).map_err(|e| nothing(e.to_string()))?;
        let tenant = TenantRef::parse(&input.tenant).map_err(|e| nothing(e.to_string()))?;
        if profiles.exists(&name) {
            return Err(nothing(format!(
                "A profile named {name} exists already: choose another name."
            )));
        }
        lifecycle::refuse_leftovers(profiles, &name).map_err(|e| nothing(e.to_string()))?;
        let output_dir = std::path::absolute(&input.output_dir)
            .map_err(|e| nothing(format!("Cannot resolve the output directory: {e}")))?;
        let keyring = writable_keyring(self.keyring).await.map_err(|e| {
        nothing(format!(
            "{e} Nothing was created: the new secret would have nowhere to go. In a terminal, `entra-extract app create --plaintext-secret-file` keeps it in an owner-only file instead."
        ))
    })?;
        let request = NewAppRequest {
            admin: AdminTarget {
                cloud: input.cloud,
                authority_url: input.authority_url.clone(),
                graph_url: input.graph_url.clone(),
                tenant,
                admin_client_id: ClientId::parse(DEFAULT_ADMIN_CLIENT_ID)
                    .map_err(|e| nothing(e.to_string()))?,
                extra_ca_pem: None,
            },
            profile: NewProfile {
                name: name.clone(),
                output_dir,
                secret_storage: SecretStorage::Keyring,
            },
            blueprint: Blueprint {
                display_name: DEFAULT_DISPLAY_NAME.to_string(),
                secret_lifetime: SecretLifetime::default(),
            },
            replication_timeout: replication::DEFAULT_TIMEOUT,
        };
        Ok((request, keyring))
    }

    /// What the wizard shows of a new app: created and granted, saved but not granted or
    /// not checked, or failed (what a failure left is kept to be removed).
    fn new_app_outcome(
        &self,
        name: &ProfileName,
        created: Result<crate::session::new_app::NewApp, NewAppError>,
    ) -> Result<CreatedApp, NewAppFailure> {
        let nothing = |m: String| NewAppFailure::nothing(m);
        let saved = |message: String| NewAppFailure {
            saved_profile: Some(name.to_string()),
            ..nothing(message)
        };
        match created {
            Ok(done) => match done.report {
                Some(r) if r.all_granted() => Ok(CreatedApp {
                    profile: name.to_string(),
                    client_id: done.app_id,
                    secret_valid_until: done.secret_end,
                }),
                Some(r) => {
                    let missing: Vec<&str> = r
                        .required
                        .iter()
                        .filter(|p| p.state != GrantState::Granted)
                        .map(|p| p.name.as_str())
                        .collect();
                    Err(saved(format!(
                        "Profile {name} is saved, but not granted yet: {}. Check it again from the home screen (c).",
                        missing.join(", ")
                    )))
                }
                None => Err(saved(format!(
                    "Profile {name} is saved with its secret, but {} Check it again later from the home screen.",
                    done.unchecked.unwrap_or_default()
                ))),
            },
            Err(e @ NewAppError::Check(_)) => Err(saved(e.to_string())),
            Err(e) => {
                let message = e.to_string();
                let kept = match e {
                    NewAppError::Create { failure, admin } => Some((*admin, failure.created)),
                    NewAppError::Store { created, admin, .. } => Some((*admin, created)),
                    _ => None,
                };
                match kept {
                    Some((admin, created)) if !created.is_empty() => {
                        let failure = NewAppFailure {
                            message,
                            created: created.lines(),
                            removable: true,
                            app_id: created.app_id.clone(),
                            saved_profile: None,
                        };
                        lock(&self.leftovers).push((admin, created));
                        Err(failure)
                    }
                    _ => Err(nothing(message)),
                }
            }
        }
    }

    /// A client for a saved profile (its secret resolved) or for the wizard's inputs.
    async fn client_for_profile(&self, name: &str) -> Result<(GraphClient, Profile), ServiceError> {
        let profile = self.load(name)?;
        let (target, notes) = AppTarget::from_profile(&profile, &self.dirs, self.keyring).await?;
        if let Some(w) = notes.warning {
            tracing::warn!("{w}");
        }
        let client = target.client()?;
        Ok((client, profile))
    }
}

/// The wizard's credential inputs as a target: the identifiers are parsed here, once, and
/// a bad one is reported on its field.
fn target_of(input: &CredentialsInput) -> Result<AppTarget, CredentialProblem> {
    let tenant =
        TenantRef::parse(&input.tenant).map_err(|e| problem(Field::Tenant, e.message, e.remedy))?;
    let client_id = ClientId::parse(&input.client_id)
        .map_err(|e| problem(Field::ClientId, e.message, e.remedy))?;
    Ok(AppTarget {
        cloud: input.cloud,
        authority_url: input.authority_url.clone(),
        graph_url: input.graph_url.clone(),
        tenant,
        client_id,
        credential: credential_of(&input.credential),
        extra_ca_pem: None,
    })
}

fn credential_of(input: &CredentialInput) -> Credential {
    match input {
        CredentialInput::Secret(s) => Credential::Secret(s.clone()),
        CredentialInput::Certificate { path } => Credential::Certificate {
            cert_pem: path.clone(),
            key_pem: path.clone(),
        },
    }
}

fn problem(
    field: Field,
    message: impl Into<String>,
    remedy: impl Into<String>,
) -> CredentialProblem {
    CredentialProblem {
        field,
        message: message.into(),
        remedy: remedy.into(),
    }
}

/// Which field a sign-in failure concerns, and what to do.
fn credential_problem(e: &GraphError, certificate: bool) -> CredentialProblem {
    if let Some(auth) = e.auth() {
        return CredentialProblem::from(auth);
    }
    match e {
        GraphError::Config(m) if certificate => problem(
            Field::Certificate,
            m.clone(),
            "Choose a PEM file with the certificate and its unencrypted private key.",
        ),
        GraphError::Network { .. } => problem(
            Field::Endpoint,
            e.to_string(),
            "Check the cloud and URLs, the network and any proxy (HTTPS_PROXY).",
        ),
        _ => problem(
            Field::None,
            e.to_string(),
            "Try again; if it repeats, check the logs.",
        ),
    }
}

fn session_problem(e: SessionError, certificate: bool) -> CredentialProblem {
    match e {
        SessionError::Endpoint(e) => problem(
            Field::Endpoint,
            e.to_string(),
            "Enter absolute https URLs (http only for 127.0.0.1 or localhost).",
        ),
        SessionError::Client(g) => credential_problem(&g, certificate),
        SessionError::Secret(s) => problem(Field::Secret, s.to_string(), ""),
    }
}

fn is_certificate(input: &CredentialsInput) -> bool {
    matches!(input.credential, CredentialInput::Certificate { .. })
}

impl Services for LiveServices {
    fn list_profiles(&self) -> BoxFuture<'_, Result<Vec<ProfileSummary>, ServiceError>> {
        let store = self.store();
        async move {
            let rows =
                tokio::task::spawn_blocking(move || crate::profile::summaries(&store)).await??;
            Ok(rows.into_iter().map(ProfileSummary::from).collect())
        }
        .boxed()
    }

    fn load_profile(&self, name: String) -> BoxFuture<'_, Result<ProfileDraft, ServiceError>> {
        async move {
            let profile = self.load(&name)?;
            let credential = match &profile.credential {
                CredentialKind::Certificate { path } => {
                    CredentialInput::Certificate { path: path.clone() }
                }
                // The profile's own secret, not one that only wins at run time (saving would
                // store it); an unreadable one comes back empty: the wizard asks for it again.
                CredentialKind::Secret => CredentialInput::Secret(
                    lifecycle::own_secret(
                        &self.store(),
                        &profile,
                        SecretInputs::from_env(),
                        SecretStore::open(self.keyring),
                    )
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| SecretString::from(String::new())),
                ),
            };
            Ok(ProfileDraft {
                name: profile.name.as_str().to_string(),
                credentials: CredentialsInput {
                    cloud: profile.cloud,
                    authority_url: profile.authority_url.clone(),
                    graph_url: profile.graph_url.clone(),
                    tenant: profile.tenant.to_string(),
                    client_id: profile.client_id.to_string(),
                    credential,
                },
                output: OutputSettings {
                    domain_prefix: profile.domain_prefix.clone().unwrap_or_default(),
                    directory: profile.output_dir.clone(),
                    bom: profile.bom,
                },
                tenant: None,
                replaces: Some(name),
                secret_given: false,
                schedule: profile.schedule,
                credential_file: None,
                if_name_taken: IfNameTaken::Refuse,
            })
        }
        .boxed()
    }

    fn validate_credentials(
        &self,
        input: CredentialsInput,
    ) -> BoxFuture<'_, Result<TenantInfo, CredentialProblem>> {
        async move {
            let cert = is_certificate(&input);
            let client = target_of(&input)?
                .client()
                .map_err(|e| session_problem(e, cert))?;
            let token = client
                .token()
                .await
                .map_err(|e| credential_problem(&e, cert))?;
            match tenant_info(&client).await {
                Ok(t) => Ok(t),
                // Signed in, but the organization is unreadable (no Directory.Read.All yet):
                // the credentials are right; the permission step says what is missing.
                Err(e) => {
                    tracing::info!(error = %e, "organization unreadable after sign-in");
                    let tid = token.claims().and_then(|c| c.tid.clone());
                    let tenant = input.tenant.trim().to_string();
                    Ok(TenantInfo {
                        tenant_id: tid.unwrap_or_else(|| tenant.clone()),
                        default_domain: tenant,
                        display_name: String::new(),
                    })
                }
            }
        }
        .boxed()
    }

    fn check_permissions(
        &self,
        target: CheckTarget,
    ) -> BoxFuture<'_, Result<PermissionReport, ServiceError>> {
        async move {
            let client = match target {
                CheckTarget::Saved(name) => self.client_for_profile(&name).await?.0,
                CheckTarget::Credentials(input) => target_of(&input)?.client()?,
            };
            Ok(crate::permissions::check::check(&client).await?)
        }
        .boxed()
    }

    fn save_profile(
        &self,
        draft: ProfileDraft,
        storage: SecretStorage,
    ) -> BoxFuture<'_, Result<SaveOutcome, SaveProblem>> {
        async move { self.saving().save(draft, storage).await }.boxed()
    }

    fn delete_profile(&self, name: String) -> BoxFuture<'_, Result<String, ServiceError>> {
        async move {
            let name = ProfileName::new(&name)?;
            let saving = self.saving();
            let store = &saving.store;
            let removed = async { saving.removal(&name).await?.finish(store, None).await }.await?;
            let warnings = removed.warnings(store, &name);
            match warnings.is_empty() {
                true => Ok(removed.describe()),
                false => Err(ServiceError::new(
                    ErrorKind::Partial,
                    format!(
                        "Deleted profile {name} ({}), but {}.",
                        removed.describe(),
                        warnings.join("; ")
                    ),
                )),
            }
        }
        .boxed()
    }

    fn start_extraction(
        &self,
        target: ExtractionTarget,
    ) -> BoxFuture<'_, Result<ExtractionHandle, ServiceError>> {
        async move {
            match target {
                ExtractionTarget::Saved(name) => {
                    let (client, profile) = self.client_for_profile(&name).await?;
                    self.spawn_profile_run(client, profile)
                }
                ExtractionTarget::JustSaved(draft) => {
                    let profile = self.load(&draft.name)?;
                    let credential = credential_of(&draft.credentials.credential);
                    let client = AppTarget::of_profile(&profile, credential).client()?;
                    self.spawn_profile_run(client, profile)
                }
                ExtractionTarget::Draft(draft) => {
                    let client = target_of(&draft.credentials)?.client()?;
                    let mut options = options_of(&draft.output)?;
                    options.cloud = crate::session::cloud_name(draft.credentials.cloud);
                    Ok(self.spawn_run(client, options, None))
                }
            }
        }
        .boxed()
    }

    fn save_copy(
        &self,
        file_name: String,
        text: String,
    ) -> BoxFuture<'_, Result<PathBuf, ServiceError>> {
        let dir = self.dirs.data.join("copied");
        async move {
            // A file name, never a path: the screen builds it from a tool and an id.
            let name = std::path::Path::new(&file_name)
                .file_name()
                .filter(|n| *n == file_name.as_str())
                .ok_or_else(|| {
                    ServiceError::new(ErrorKind::File, format!("{file_name:?} is not a file name"))
                })?
                .to_owned();
            let path = dir.join(name);
            let written = path.clone();
            tokio::task::spawn_blocking(move || {
                crate::private_fs::write_atomic(&written, format!("{text}\n").as_bytes())
            })
            .await?
            .map_err(|e| {
                ServiceError::new(
                    ErrorKind::File,
                    format!("Could not write {}: {e}.", path.display()),
                )
            })?;
            Ok(path)
        }
        .boxed()
    }

    fn create_app(
        &self,
        input: NewAppInput,
        updates: NewAppUpdates,
    ) -> BoxFuture<'_, Result<CreatedApp, NewAppFailure>> {
        async move {
            let profiles = self.store();
            let (request, keyring) = self.new_app_request(&input, &profiles).await?;
            let name = request.profile.name.clone();
            let mut relay = Relay::new(&updates);
            let created = create_new_app(
                &request,
                &profiles,
                Some(keyring),
                input.cancel.clone(),
                |event| match event {
                    NewAppEvent::SignIn(p) => relay.sign_in(p),
                    NewAppEvent::SignedIn(who) => relay.signed_in(who),
                    NewAppEvent::Step(step) => relay.line(format!("{}…", step.describe())),
                    NewAppEvent::Storing => relay.line("Storing the secret in the keyring…".into()),
                    NewAppEvent::Waiting(w) => relay.waiting(w),
                    NewAppEvent::Checking => relay.line("Checking the permissions…".into()),
                },
            )
            .await;
            self.new_app_outcome(&name, created)
        }
        .boxed()
    }

    fn rotate_secret(
        &self,
        profile: String,
        updates: NewAppUpdates,
        cancel: tokio_util::sync::CancellationToken,
    ) -> BoxFuture<'_, Result<String, ServiceError>> {
        async move {
            let name = ProfileName::new(&profile)?;
            let request = RotateRequest {
                name: name.clone(),
                lifetime: SecretLifetime::default(),
                admin_client_id: admin_client_id()?,
                replication_timeout: replication::DEFAULT_TIMEOUT,
            };
            let mut relay = Relay::new(&updates);
            let rotated =
                rotate_profile_secret(&self.store(), self.keyring, &request, cancel, |event| {
                    match event {
                        RotateEvent::SignIn(p) => relay.sign_in(p),
                        RotateEvent::SignedIn(who) => relay.signed_in(who),
                        RotateEvent::Step(step) => relay.line(format!("{}…", step.describe())),
                        RotateEvent::Waiting(w) => relay.waiting(w),
                    }
                })
                .await?;
            let rotated_secret = &rotated.rotated;
            let mut message = format!(
                "Profile {name} now uses a new secret (valid until {}).",
                rotated_secret.new_end
            );
            match old_secret_warning(&rotated_secret.old) {
                None => message.push_str(" The old secret was removed."),
                Some(w) => message.push_str(&format!(" But {w}.")),
            }
            for w in &rotated.warnings {
                message.push_str(&format!(" Note: {w}."));
            }
            Ok(message)
        }
        .boxed()
    }

    fn change_secret_storage(
        &self,
        profile: String,
        storage: SecretStorage,
        secret: Option<SecretString>,
    ) -> BoxFuture<'_, Result<String, StorageProblem>> {
        async move {
            let problem = |message: String, needs_secret| StorageProblem {
                message,
                needs_secret,
            };
            let name = ProfileName::new(&profile).map_err(|e| problem(e.to_string(), false))?;
            let store = self.store();
            let changed = lifecycle::change_storage(
                &store,
                &name,
                storage,
                secret,
                crate::secret::SecretInputs::from_env(),
                SecretStore::open(self.keyring),
            )
            .await
            .map_err(|e| match e {
                // The screen asks for the value: say why in its words, not the CLI's.
                LifecycleError::NothingToMove { why, .. } => problem(
                    format!("The secret of {name} cannot be read where it is kept now ({why})."),
                    true,
                ),
                LifecycleError::ProofNeeded {
                    kept_in,
                    differs: false,
                    ..
                } => problem(
                    format!(
                        "{kept_in} holds the secret of {name}, and Entra shows a secret's value only once: that copy is deleted only once the same secret is given here."
                    ),
                    true,
                ),
                LifecycleError::ProofNeeded { kept_in, .. } => problem(
                    format!(
                        "The secret given differs from the one in {kept_in}, which is kept. Give the secret {name} uses now."
                    ),
                    true,
                ),
                e => problem(e.to_string(), false),
            })?;
            let mut message = format!(
                "Profile {name} now keeps its secret in {}.",
                changed.now.unwrap_or_default()
            );
            if let lifecycle::SecretRemoval::Deleted(place) = &changed.old_copy {
                message.push_str(&format!(" The old copy was deleted from {place}."));
            }
            if let Some(w) = changed.old_copy.warning(&store, &name) {
                message.push_str(&format!(" But {w}."));
            }
            for w in &changed.warnings {
                message.push_str(&format!(" Note: {w}."));
            }
            Ok(message)
        }
        .boxed()
    }

    fn remove_created_app(&self) -> BoxFuture<'_, Result<String, ServiceError>> {
        async move {
            let Some((admin, created)) = lock(&self.leftovers).pop() else {
                return Err(ServiceError::new(ErrorKind::Admin, "Nothing to delete."));
            };
            // The attempt may have been stopped with Ctrl-C; the deletion must still run.
            let detached = admin.detached();
            let client = detached.as_ref().unwrap_or(&admin);
            let app_id = created.app_id.clone().unwrap_or_default();
            match crate::registration::remove(client, &created).await {
                Ok(()) => Ok(format!(
                    "Deleted the app registration {app_id} and everything it came with."
                )),
                Err(e) => {
                    let error = ServiceError::new(
                        ErrorKind::Admin,
                        format!("Deleting the app registration {app_id} failed: {e}."),
                    )
                    .with_remedy(format!(
                        "Delete it in the portal (App registrations > {app_id} > Delete) or with `entra-extract app delete --app-id {app_id} --tenant …`."
                    ));
                    lock(&self.leftovers).push((admin, created));
                    Err(error)
                }
            }
        }
        .boxed()
    }
}

/// An administrator task's events as the wizard's [`NewAppUpdate`]s.
struct Relay<'a> {
    updates: &'a NewAppUpdates,
    notice: replication::WaitNotice,
}

impl<'a> Relay<'a> {
    fn new(updates: &'a NewAppUpdates) -> Self {
        Relay {
            updates,
            notice: replication::WaitNotice::default(),
        }
    }

    fn line(&self, l: String) {
        (self.updates)(NewAppUpdate::Line(l));
    }

    fn sign_in(&self, p: &crate::graph::DeviceCodePrompt) {
        (self.updates)(NewAppUpdate::SignIn {
            url: p.verification_uri.clone(),
            code: p.user_code.clone(),
            expires: p.expires_in,
        });
    }

    fn signed_in(&self, who: &crate::graph::SignedInAdmin) {
        self.line(format!("Signed in as {}.", who.label()));
    }

    fn waiting(&mut self, w: std::time::Duration) {
        if let Some(l) = self.notice.due(w) {
            self.line(l);
        }
    }
}

impl LiveServices {
    /// What failed app registrations left and nobody deleted: printed when the wizard ends,
    /// so nothing created is left unreported.
    pub fn leftover_report(&self) -> Vec<String> {
        lock(&self.leftovers)
            .iter()
            .map(|(_, created)| {
                let app_id = created.app_id.clone().unwrap_or_default();
                format!(
                    "kept from a failed app registration: {}; delete it with `entra-extract app delete --app-id {app_id} --tenant …`",
                    created.lines().join(", ")
                )
            })
            .collect()
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A one-off run's settings: the wizard's output step only (no profile's extra attributes,
/// no profile's state).
fn options_of(output: &OutputSettings) -> Result<ExtractOptions, ServiceError> {
    // Absolute, as a saved profile keeps it: the summary then names the files wherever the
    // wizard was started from.
    let mut options = ExtractOptions::new(absolute(&output.directory));
    let prefix = output.domain_prefix.trim();
    options.prefix = (!prefix.is_empty())
        .then(|| DomainPrefix::parse(prefix))
        .transpose()
        .map_err(|e| ServiceError::new(ErrorKind::File, e.to_string()))?;
    options.bom = output.bom;
    Ok(options)
}

impl LiveServices {
    /// A saved profile's run, built as `run --profile` builds it.
    fn spawn_profile_run(
        &self,
        client: GraphClient,
        profile: Profile,
    ) -> Result<ExtractionHandle, ServiceError> {
        let options = crate::session::profile_run(&profile, &self.dirs)
            .map_err(|e| ServiceError::new(ErrorKind::Profile, e.to_string()))?;
        Ok(self.spawn_run(client, options, Some(profile)))
    }

    /// Starts the run in the background and returns the handle the wizard polls; the run
    /// of a `profile` is recorded in its history.
    fn spawn_run(
        &self,
        client: GraphClient,
        options: ExtractOptions,
        profile: Option<Profile>,
    ) -> ExtractionHandle {
        // The wizard holds the commit while it asks whether to cancel.
        let commit_hold = options.commit_hold.clone();
        let progress = Arc::new(Progress::new());
        let (tx, rx) = oneshot::channel();
        let cancel = client.cancellation().clone();
        let ru_budget = u64::from(client.config().pacing.ru_budget);
        let dirs = self.dirs.clone();
        let run_progress = progress.clone();
        tokio::spawn(async move {
            let started = chrono::Utc::now();
            let mut result = extract(&client, options, run_progress.clone()).await;
            if let Some(profile) = &profile {
                crate::session::record_run(&dirs, profile, started, &mut result, &run_progress);
            }
            let _ = tx.send(summary_of(result));
        });
        ExtractionHandle {
            progress: Arc::new(move || progress.snapshot()),
            cancel,
            commit_hold,
            outcome: rx,
            ru_budget_per_10s: Some(ru_budget),
        }
    }
}

/// What a failed extraction concerns.
fn extraction_kind(e: &ExtractError) -> ErrorKind {
    match e {
        ExtractError::Graph(g) if g.auth().is_some() => ErrorKind::SignIn,
        ExtractError::Graph(_) => ErrorKind::Graph,
        ExtractError::PermissionDenied { .. } => ErrorKind::Permission,
        ExtractError::Output(_) | ExtractError::Prefix { .. } => ErrorKind::File,
        _ => ErrorKind::Internal,
    }
}

/// The administrator sign-in's public client.
fn admin_client_id() -> Result<ClientId, ServiceError> {
    ClientId::parse(DEFAULT_ADMIN_CLIENT_ID)
        .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))
}

fn summary_of(
    result: Result<crate::extract::run::ExtractSummary, ExtractError>,
) -> Result<ExtractionSummary, ExtractionError> {
    match result {
        Ok(s) => Ok(ExtractionSummary::from(s)),
        Err(ExtractError::Cancelled) => Err(ExtractionError::Cancelled),
        Err(e) => Err(ExtractionError::Failed(ServiceError::new(
            extraction_kind(&e),
            format!("{e}. No output file was changed."),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the home screen shows when a listed profile is gone, or its name is bad: typed
    /// by what it concerns, in the profile store's words.
    #[tokio::test]
    async fn a_missing_profile_reaches_the_wizard_as_a_profile_error() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(dir.path().join("config"), dir.path().join("data"));
        let live = LiveServices::new(dirs.clone(), StoreChoice::Disabled);
        let missing = ProfileName::new("gone").unwrap();
        let expected = ProfileStore::new(dirs)
            .load(&missing)
            .unwrap_err()
            .to_string();

        let e = live.load_profile("gone".into()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Profile);
        assert_eq!(e.to_string(), expected);
        let e = live
            .start_extraction(ExtractionTarget::Saved("gone".into()))
            .await
            .unwrap_err();
        assert_eq!((e.kind, e.to_string()), (ErrorKind::Profile, expected));

        let e = live.delete_profile("not a name!".into()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Profile);
        assert!(e.remedy.is_empty(), "{e:?}");
    }

    #[test]
    fn the_wizards_run_writes_to_the_absolute_directory_a_profile_would_keep() {
        let output = OutputSettings {
            domain_prefix: String::new(),
            directory: PathBuf::from("entra-extract-demo"),
            bom: false,
        };
        let options = options_of(&output).unwrap();
        assert!(options.output_dir.is_absolute(), "{options:?}");
        assert_eq!(
            options.output_dir,
            std::env::current_dir().unwrap().join("entra-extract-demo")
        );
    }
}
