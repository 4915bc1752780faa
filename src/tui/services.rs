//! The boundary between the wizard and the rest of the program.
//!
//! The wizard never talks to Microsoft Graph, the keyring or the file system itself: it asks
//! a [`Services`] implementation. The integrator provides the real one (Graph client,
//! permission check, profile store, extraction engine); tests use [`super::testing`]'s fake.
//!
//! # Contract for implementors
//! - Every call is made from a spawned tokio task, never from the render loop, so a call may
//!   take as long as the network needs. Do blocking work (keyring, fsync) in
//!   `spawn_blocking` inside the future.
//! - The wizard may abandon a call (the user pressed Esc, or started another attempt). The
//!   future is then still driven to completion but its result is dropped, so calls must not
//!   leave half-done state behind when their result is ignored.
//! - Errors are [`ServiceError`]s (or a call's own problem type), built from the library's
//!   typed errors: their text is shown verbatim on screen, one or two sentences that say
//!   what to do next. They must never contain a secret.
//! - [`Services::start_extraction`] returns as soon as the run has started. The wizard polls
//!   [`ExtractionHandle::progress`] on every redraw (about four times a second), cancels
//!   through [`ExtractionHandle::commit_hold`]'s gate ([`CommitHold::interrupt`] with
//!   [`ExtractionHandle::cancel`]) and waits for [`ExtractionHandle::outcome`]. After
//!   a cancel the implementation must remove every partial output file before resolving the
//!   outcome with [`ExtractionError::Cancelled`]. While the wizard holds
//!   [`ExtractionHandle::commit_hold`] (it asks whether to cancel) the run must not replace
//!   any output file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::extract::progress::{ProgressSnapshot, Warning};
use crate::extract::run::ExtractSummary;
use crate::graph::cloud::Cloud;
use crate::graph::{AuthError, CredentialField};
use crate::permissions::report::PermissionReport;

/// What the wizard needs from the rest of the program. Object safe: held as `Arc<dyn Services>`.
pub trait Services: Send + Sync {
    /// Saved profiles with their last run, for the home screen.
    fn list_profiles(&self) -> BoxFuture<'_, Result<Vec<ProfileSummary>, ServiceError>>;

    /// A saved profile, including its secret, so the wizard can edit it. When the secret is
    /// not readable (kept in an environment variable, say) return it empty: the wizard then
    /// asks for it again.
    fn load_profile(&self, name: String) -> BoxFuture<'_, Result<ProfileDraft, ServiceError>>;

    /// Live check of cloud, tenant, client id and credential: acquire a token and read the
    /// organization. A failure names the field it concerns and the remedy.
    fn validate_credentials(
        &self,
        input: CredentialsInput,
    ) -> BoxFuture<'_, Result<TenantInfo, CredentialProblem>>;

    /// Which required permissions are granted. Re-checking after consent is the same call.
    fn check_permissions(
        &self,
        target: CheckTarget,
    ) -> BoxFuture<'_, Result<PermissionReport, ServiceError>>;

    /// Save the profile, its secret going to `storage`.
    fn save_profile(
        &self,
        draft: ProfileDraft,
        storage: SecretStorage,
    ) -> BoxFuture<'_, Result<SaveOutcome, SaveProblem>>;

    /// Delete a saved profile with its stored secret, run history and incremental state;
    /// answers what was deleted besides the profile, in `profile remove`'s words.
    fn delete_profile(&self, name: String) -> BoxFuture<'_, Result<String, ServiceError>>;

    /// Start an extraction; returns once it runs.
    fn start_extraction(
        &self,
        target: ExtractionTarget,
    ) -> BoxFuture<'_, Result<ExtractionHandle, ServiceError>>;

    /// Create an app registration (an administrator signs in with a device code) and save it
    /// as a new profile with its secret in the keyring. `updates` receives the sign-in code
    /// and each step as it happens; the answer names the profile and the new app.
    fn create_app(
        &self,
        input: NewAppInput,
        updates: NewAppUpdates,
    ) -> BoxFuture<'_, Result<CreatedApp, NewAppFailure>> {
        let _ = (input, updates);
        async {
            Err(NewAppFailure::nothing(
                "Creating an app registration is not available here.",
            ))
        }
        .boxed()
    }

    /// Replace a saved profile's client secret (an administrator signs in): add a new one,
    /// prove it, store it, remove the old one. `updates` as for [`Services::create_app`];
    /// the answer says what became of the old secret.
    fn rotate_secret(
        &self,
        profile: String,
        updates: NewAppUpdates,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<String, ServiceError>> {
        let _ = (profile, updates, cancel);
        async {
            Err(ServiceError::new(
                ErrorKind::Unavailable,
                "Rotating a secret is not available here.",
            ))
        }
        .boxed()
    }

    /// Change where the saved profile keeps its secret: it moves to `storage` (or, when it
    /// cannot be read where it is, `secret` is stored there), then the copy in the old place
    /// is deleted. The answer says what happened.
    fn change_secret_storage(
        &self,
        profile: String,
        storage: SecretStorage,
        secret: Option<SecretString>,
    ) -> BoxFuture<'_, Result<String, StorageProblem>> {
        let _ = (profile, storage, secret);
        async {
            Err(StorageProblem {
                message: "Changing where a secret is kept is not available here.".into(),
                needs_secret: false,
            })
        }
        .boxed()
    }

    /// Write `text` to the owner-only file `file_name` in the program's data directory and
    /// answer its path: what the user copies (a grant command) kept whole, for terminals
    /// whose clipboard the wizard cannot reach.
    fn save_copy(
        &self,
        file_name: String,
        text: String,
    ) -> BoxFuture<'_, Result<PathBuf, ServiceError>> {
        let _ = (file_name, text);
        async {
            Err(ServiceError::new(
                ErrorKind::Unavailable,
                "Keeping it in a file is not available here.",
            ))
        }
        .boxed()
    }

    /// Delete what the latest failed [`Services::create_app`] left behind.
    fn remove_created_app(&self) -> BoxFuture<'_, Result<String, ServiceError>> {
        async {
            Err(ServiceError::new(
                ErrorKind::Unavailable,
                "Nothing to delete.",
            ))
        }
        .boxed()
    }
}

/// Why a service call failed, as the wizard shows it: what failed ([`ErrorKind`]), what
/// happened, and what to do next. Built by the implementation from the library's typed
/// errors; its text (message, then remedy) is shown verbatim and never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.text())]
pub struct ServiceError {
    pub kind: ErrorKind,
    /// What happened, as a sentence.
    pub message: String,
    /// What to do about it, as a sentence; empty when the message says it already.
    pub remedy: String,
}

/// What a [`ServiceError`] concerns, for a screen to decide what to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// This implementation does not offer the call.
    Unavailable,
    /// A saved profile: its name, its file, or it is gone.
    Profile,
    /// A profile's secret: it cannot be read or stored.
    Secret,
    /// Signing in: tenant, client id, endpoint or credential.
    SignIn,
    /// Microsoft Graph or the network.
    Graph,
    /// A permission the app needs is not granted.
    Permission,
    /// A local file or directory.
    File,
    /// A profile's schedule: its systemd timer, scheduled task or launchd agent.
    Schedule,
    /// An administrator task (rotation, deleting an app registration).
    Admin,
    /// Done only in part: the message says what was done and what was not.
    Partial,
    /// The program itself (a background task that stopped).
    Internal,
}

impl ServiceError {
    /// An error whose message says what to do.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
            remedy: String::new(),
        }
    }

    /// The same error with `remedy`.
    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = remedy.into();
        self
    }

    /// Message and remedy, as one paragraph.
    pub fn text(&self) -> String {
        match self.remedy.is_empty() {
            true => self.message.clone(),
            false => format!("{} {}", self.message, self.remedy),
        }
    }
}

impl From<CredentialProblem> for ServiceError {
    /// A credential problem where no field can show it (a check or a run of the inputs).
    fn from(p: CredentialProblem) -> Self {
        ServiceError {
            kind: ErrorKind::SignIn,
            message: p.message,
            remedy: p.remedy,
        }
    }
}

/// An app registration to create, saved as a new profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppInput {
    pub profile: String,
    /// Tenant GUID or domain name.
    pub tenant: String,
    pub cloud: Cloud,
    pub authority_url: Option<String>,
    pub graph_url: Option<String>,
    pub output_dir: PathBuf,
    /// Stops the sign-in or the creation at its next step (what exists is then reported).
    pub cancel: CancellationToken,
}

/// What a creation shows while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewAppUpdate {
    /// The administrator opens `url` and enters `code`.
    SignIn {
        url: String,
        code: String,
        expires: Duration,
    },
    /// A step starts, or something to say ("waiting for Entra to replicate …").
    Line(String),
}

/// An app registration [`Services::create_app`] created and saved as a ready profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedApp {
    /// The new profile's name.
    pub profile: String,
    /// The new application (client) id.
    pub client_id: String,
    /// When its client secret ends (Graph's `endDateTime`).
    pub secret_valid_until: String,
}

/// Where [`Services::create_app`] sends its [`NewAppUpdate`]s.
pub type NewAppUpdates = Arc<dyn Fn(NewAppUpdate) + Send + Sync>;

/// Why no ready profile came of a creation, and what it left behind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NewAppFailure {
    pub message: String,
    /// What exists ("the app registration …", "its service principal", …).
    pub created: Vec<String>,
    /// [`Services::remove_created_app`] can delete it.
    pub removable: bool,
    /// The application (client) id of what exists, for `app delete --app-id`.
    pub app_id: Option<String>,
    /// The profile was saved after all (its check failed or found a permission missing).
    pub saved_profile: Option<String>,
}

impl NewAppFailure {
    /// A failure before anything was created.
    pub fn nothing(message: impl Into<String>) -> Self {
        NewAppFailure {
            message: message.into(),
            created: Vec::new(),
            removable: false,
            app_id: None,
            saved_profile: None,
        }
    }
}

/// One saved profile as the home screen lists it: the view of the library's
/// [`crate::profile::ProfileSummary`] (built by its `From`), which holds the whole profile
/// or why its file is unreadable.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSummary {
    pub name: String,
    /// Tenant as the user typed it (GUID or domain), or why the profile is unreadable.
    pub tenant: String,
    pub cloud: Cloud,
    /// The most recent run, from the run history (none: never run, or the history is
    /// unreadable).
    pub last_run: Option<RunRecord>,
}

impl From<crate::profile::ProfileSummary> for ProfileSummary {
    fn from(row: crate::profile::ProfileSummary) -> Self {
        let (tenant, cloud) = match &row.profile {
            Ok(p) => (p.tenant.to_string(), p.cloud),
            Err(e) => (format!("unreadable: {e}"), Default::default()),
        };
        ProfileSummary {
            name: row.name.as_str().to_string(),
            tenant,
            cloud,
            last_run: row.last_run.ok().flatten(),
        }
    }
}

/// One run of a profile: the run history's own record.
pub use crate::profile::RunRecord;

/// How a run ended: the run history's own type, with the words `profile list` uses.
pub use crate::profile::history::Outcome as RunOutcome;

/// Everything needed to get a token.
#[derive(Debug, Clone)]
pub struct CredentialsInput {
    pub cloud: Cloud,
    /// Authority root override; required when `cloud` is [`Cloud::Custom`].
    pub authority_url: Option<String>,
    /// Graph root override; required when `cloud` is [`Cloud::Custom`].
    pub graph_url: Option<String>,
    /// Tenant GUID or domain name.
    pub tenant: String,
    /// Application (client) id GUID.
    pub client_id: String,
    pub credential: CredentialInput,
}

/// How the app proves its identity.
#[derive(Debug, Clone)]
pub enum CredentialInput {
    /// A client secret value (not its Secret ID).
    Secret(SecretString),
    /// A PEM file holding the certificate and its private key.
    Certificate { path: PathBuf },
}

/// What the live validation learned about the tenant (the engine's own type: the output
/// file prefix defaults from its `default_domain`).
pub use crate::extract::run::TenantInfo;

/// The input field a problem concerns, so the wizard shows the error on that field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Cloud,
    Tenant,
    ClientId,
    Secret,
    Certificate,
    /// Custom authority or Graph URL.
    Endpoint,
    /// Not tied to one field (network down, service error).
    None,
}

/// Why live validation failed, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} {remedy}")]
pub struct CredentialProblem {
    pub field: Field,
    pub message: String,
    pub remedy: String,
}

impl From<&AuthError> for CredentialProblem {
    /// The token endpoint's refusal on the field it concerns, with the Graph client's remedy
    /// for its AADSTS code: one mapping, shared with the headless commands.
    fn from(auth: &AuthError) -> Self {
        let field = match auth.field() {
            Some(CredentialField::Tenant) => Field::Tenant,
            Some(CredentialField::ClientId) => Field::ClientId,
            Some(CredentialField::Secret) => Field::Secret,
            Some(CredentialField::Certificate) => Field::Certificate,
            Some(CredentialField::Scope | CredentialField::Endpoint) => Field::Endpoint,
            None => Field::None,
        };
        CredentialProblem {
            field,
            message: short_description(&auth.description, auth.code()),
            remedy: sentence(&auth.remedy()),
        }
    }
}

/// The first sentence of an Entra error description, without its leading `AADSTSnnn:` and
/// with the code once at the end. Entra's full text (links, advice) runs to five lines at
/// 80 columns and would push the remedy out of the field's message area.
fn short_description(description: &str, code: Option<u32>) -> String {
    let first = description.lines().next().unwrap_or_default().trim();
    let text = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("AADSTS") => rest,
        _ => first,
    };
    let text = match text.find(". ") {
        Some(end) => &text[..=end],
        None => text,
    };
    let text = if text.is_empty() {
        "Sign-in failed."
    } else {
        text
    };
    match code {
        Some(c) => format!("{text} (AADSTS{c})"),
        None => text.to_string(),
    }
}

/// `remedy` as a sentence: capitalised, ending with a full stop.
fn sentence(remedy: &str) -> String {
    let mut chars = remedy.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Which credentials a permission check uses.
#[derive(Debug, Clone)]
pub enum CheckTarget {
    /// A saved profile (home screen "check").
    Saved(String),
    /// The credentials being set up in the wizard.
    Credentials(CredentialsInput),
}

/// Where the CSV files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSettings {
    /// File name prefix: `<prefix>_users.csv` and so on.
    pub domain_prefix: String,
    pub directory: PathBuf,
    /// Write a UTF-8 byte order mark (for Excel).
    pub bom: bool,
}

/// A profile as the wizard builds it.
#[derive(Debug, Clone)]
pub struct ProfileDraft {
    pub name: String,
    pub credentials: CredentialsInput,
    pub output: OutputSettings,
    /// Filled in once live validation succeeded.
    pub tenant: Option<TenantInfo>,
    /// The saved profile this draft was loaded from, when editing; if `name` differs the
    /// save renames it (the old profile and its stored secret go away).
    pub replaces: Option<String>,
    /// The user typed or pasted the secret in this session, rather than keeping the one
    /// [`Services::load_profile`] filled in: only then does it show the user holds its
    /// value (Entra shows it once), which deleting the only stored copy needs.
    pub secret_given: bool,
    /// When the saved profile reruns by itself (none: it does not).
    pub schedule: Option<Schedule>,
    /// For the schedule: an owner-only file holding the secret, handed to the timer's runs
    /// as a systemd credential (when the secret is not in a keyring the timer can read).
    pub credential_file: Option<PathBuf>,
    /// What saving does when another saved profile (not [`ProfileDraft::replaces`]) has
    /// this name already.
    pub if_name_taken: IfNameTaken,
}

/// What saving a draft does when another saved profile has its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfNameTaken {
    /// Change nothing and answer [`SaveProblemKind::NameTaken`], so the user is asked.
    #[default]
    Refuse,
    /// The user agreed: the other profile, its stored secret and run history are deleted,
    /// and the draft is saved under the name.
    Replace,
}

/// A rerun schedule: the library's own type (`hourly`, `daily 02:00`, `weekly mon 02:00`).
pub use crate::schedule::Schedule;

/// Where a profile's secret is kept: the library's own type, with the words the save
/// screen shows for it.
pub use crate::profile::SecretStorage;

/// One line for the save screen.
pub fn storage_label(storage: SecretStorage) -> &'static str {
    match storage {
        SecretStorage::Keyring => "OS keyring",
        SecretStorage::Environment => {
            "Environment variable (the secret is not saved; set it before each run)"
        }
        SecretStorage::SystemdCredential => {
            "systemd credential (the secret is not saved; pass it with LoadCredential=)"
        }
        SecretStorage::PlaintextFile => {
            "Plain-text file readable only by you (explicit opt-in, not recommended)"
        }
    }
}

/// A successful save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveOutcome {
    /// Where the secret went, as the end of a sentence ("secret stored in the OS keyring
    /// (Secret Service)", "the secret is not stored: set … before each later run").
    pub secret_stored_in: String,
    /// What became of the schedule, as a sentence ("Reruns daily at 02:00 …", or why it
    /// was not installed); none when the profile has no schedule.
    pub schedule: Option<String>,
}

/// Why saving failed, and which other storages the user may choose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SaveProblem {
    pub kind: SaveProblemKind,
    pub message: String,
    /// Storages that would work here; the wizard always adds "continue without saving".
    pub alternatives: Vec<SecretStorage>,
}

/// What kind of [`SaveProblem`] it is, for the save step to decide what to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaveProblemKind {
    /// The message says what to fix.
    #[default]
    Failed,
    /// The secret's storage cannot be reached; the alternatives would work.
    StorageUnreachable,
    /// Another saved profile has the draft's name; nothing was changed. Saving again with
    /// [`IfNameTaken::Replace`] replaces it.
    NameTaken,
}

impl SaveProblem {
    /// A problem with nothing to choose: the message says what to fix.
    pub fn failed(message: impl Into<String>) -> Self {
        SaveProblem {
            kind: SaveProblemKind::Failed,
            message: message.into(),
            alternatives: Vec::new(),
        }
    }
}

/// Why a profile's secret stayed where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StorageProblem {
    pub message: String,
    /// Giving the secret's value would let it go ahead (it cannot be read where it is, or
    /// the only copy is deleted only once the same secret is given).
    pub needs_secret: bool,
}

/// What to extract, and whose run it is.
#[derive(Debug, Clone)]
pub enum ExtractionTarget {
    /// A saved profile, signing in with the secret from where the profile keeps it. The run
    /// is the profile's: recorded in its history, reading only the changes since its
    /// previous run.
    Saved(String),
    /// The profile just saved from this draft (under `draft.name`), signing in with the
    /// secret just typed (the profile may keep none). Otherwise as [`Self::Saved`].
    JustSaved(Box<ProfileDraft>),
    /// A one-off run of the wizard's inputs ("continue without saving"): it belongs to no
    /// profile, even one with the draft's name — no history, no incremental state.
    Draft(Box<ProfileDraft>),
}

/// The run's commit point hold: the extraction engine's own type.
pub use crate::extract::hold::{CommitHold, Hold, Interruption};

/// Reads the live progress of a running extraction.
pub type ProgressSource = Arc<dyn Fn() -> ProgressSnapshot + Send + Sync>;

/// A running extraction.
pub struct ExtractionHandle {
    /// Cheap snapshot of the counters; called on every redraw.
    pub progress: ProgressSource,
    /// Cancels the run; partial files are removed before `outcome` resolves.
    pub cancel: CancellationToken,
    /// Held while the wizard asks "cancel?": the run then waits before replacing any file.
    pub commit_hold: CommitHold,
    /// Resolves once when the run ends.
    pub outcome: oneshot::Receiver<Result<ExtractionSummary, ExtractionError>>,
    /// The tenant's resource-unit budget per 10 seconds (S 3,500 / M 5,000 / L 8,000), when known.
    pub ru_budget_per_10s: Option<u64>,
}

impl fmt::Debug for ExtractionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtractionHandle")
            .field("cancelled", &self.cancel.is_cancelled())
            .field("ru_budget_per_10s", &self.ru_budget_per_10s)
            .finish_non_exhaustive()
    }
}

/// Rows written, per file kind: the manifest's own totals.
pub use crate::extract::manifest::ManifestCounts as ExtractionCounts;

/// What a finished extraction wrote: the summary screen's view of the engine's
/// [`ExtractSummary`], built by its `From`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractionSummary {
    /// Each file written and its data rows (`None` for the manifest, which has no rows).
    pub files: Vec<(PathBuf, Option<u64>)>,
    pub duration: Duration,
    pub counts: ExtractionCounts,
    pub warnings: Vec<Warning>,
    /// What happened without making the files incomplete (a plan that fell back to plainer
    /// reads, a listing read again): the manifest's notes.
    pub notes: Vec<String>,
    /// For a saved profile's run: what it read ("Read only the changes since the previous
    /// run: 3 joiners, …" or "Read everything: `<why>`").
    pub changes: Option<String>,
}

impl From<ExtractSummary> for ExtractionSummary {
    fn from(s: ExtractSummary) -> Self {
        let mut files: Vec<(PathBuf, Option<u64>)> = s
            .output
            .files
            .iter()
            .map(|f| (f.path.clone(), Some(f.rows)))
            .collect();
        files.push((s.output.manifest_path.clone(), None));
        let manifest = s.output.manifest;
        ExtractionSummary {
            files,
            duration: s.duration,
            counts: manifest.counts,
            changes: manifest.run.as_ref().map(|run| {
                run.mode
                    .describe(run.full_reason.as_deref(), manifest.changes.as_ref())
            }),
            notes: manifest.notes,
            warnings: s.warnings,
        }
    }
}

/// Why an extraction produced no files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractionError {
    #[error("the extraction was cancelled; no files were left behind")]
    Cancelled,
    #[error("{0}")]
    Failed(ServiceError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: u16, error: &str, code: u32, description: &str) -> AuthError {
        let body = serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-11-27 00:00:00Z"),
            "error_codes": [code],
        });
        AuthError::from_body(status, body.to_string().as_bytes())
    }

    #[test]
    fn aadsts_refusals_land_on_their_field_with_the_clients_remedy() {
        for (status, error, code, field) in [
            (401, "invalid_client", 7000215, Field::Secret),
            (401, "invalid_client", 7000222, Field::Secret),
            (400, "unauthorized_client", 700016, Field::ClientId),
            (400, "invalid_tenant", 90002, Field::Tenant),
            (400, "invalid_request", 900023, Field::Tenant),
        ] {
            let auth = refusal(status, error, code, "Something is wrong. More text here.");
            let p = CredentialProblem::from(&auth);
            assert_eq!(p.field, field, "{code}");
            assert_eq!(p.message, format!("Something is wrong. (AADSTS{code})"));
            assert_eq!(p.remedy, sentence(&auth.remedy()));
            assert!(!p.remedy.is_empty());
        }
    }

    #[test]
    fn entra_description_shortened_to_its_first_sentence_with_the_code_once() {
        let d = "AADSTS7000222: The provided client secret keys for app 'abc' are expired. \
                 Visit the Azure portal to create new keys: https://aka.ms/NewClientSecret.\r\n\
                 Trace ID: 1";
        assert_eq!(
            short_description(d, Some(7000222)),
            "The provided client secret keys for app 'abc' are expired. (AADSTS7000222)"
        );
        assert_eq!(short_description("Bad request", None), "Bad request");
        assert_eq!(short_description("", Some(1)), "Sign-in failed. (AADSTS1)");
    }

    #[test]
    fn remedy_becomes_a_sentence() {
        assert_eq!(
            sentence("the client secret has expired: create a new one"),
            "The client secret has expired: create a new one."
        );
        assert_eq!(sentence("Wait."), "Wait.");
        assert_eq!(sentence("  "), "");
    }
}
