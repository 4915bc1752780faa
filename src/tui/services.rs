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
//! - Error texts are shown verbatim on screen: one or two sentences that say what to do next.
//!   They must never contain a secret.
//! - [`Services::start_extraction`] returns as soon as the run has started. The wizard polls
//!   [`ExtractionHandle::progress`] on every redraw (about four times a second), cancels
//!   through [`ExtractionHandle::cancel`] and waits for [`ExtractionHandle::outcome`]. After
//!   a cancel the implementation must remove every partial output file before resolving the
//!   outcome with [`ExtractionError::Cancelled`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::extract::progress::{ProgressSnapshot, Warning};
use crate::graph::cloud::Cloud;
use crate::permissions::report::PermissionReport;

/// What the wizard needs from the rest of the program. Object safe: held as `Arc<dyn Services>`.
pub trait Services: Send + Sync {
    /// Saved profiles with their last run, for the home screen.
    fn list_profiles(&self) -> BoxFuture<'_, Result<Vec<ProfileSummary>, String>>;

    /// A saved profile, including its secret, so the wizard can edit it. When the secret is
    /// not readable (kept in an environment variable, say) return it empty: the wizard then
    /// asks for it again.
    fn load_profile(&self, name: String) -> BoxFuture<'_, Result<ProfileDraft, String>>;

    /// Live check of cloud, tenant, client id and credential: acquire a token and read the
    /// organization. A failure names the field it concerns and the remedy.
    fn validate_credentials(
        &self,
        input: CredentialsInput,
    ) -> BoxFuture<'_, Result<ValidatedTenant, CredentialProblem>>;

    /// Which required permissions are granted. Re-checking after consent is the same call.
    fn check_permissions(
        &self,
        target: CheckTarget,
    ) -> BoxFuture<'_, Result<PermissionReport, String>>;

    /// Save the profile, its secret going to `storage`.
    fn save_profile(
        &self,
        draft: ProfileDraft,
        storage: SecretStorage,
    ) -> BoxFuture<'_, Result<SaveOutcome, SaveProblem>>;

    /// Delete a saved profile and its stored secret.
    fn delete_profile(&self, name: String) -> BoxFuture<'_, Result<(), String>>;

    /// Start an extraction; returns once it runs.
    fn start_extraction(
        &self,
        target: ExtractionTarget,
    ) -> BoxFuture<'_, Result<ExtractionHandle, String>>;
}

/// One saved profile as the home screen lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSummary {
    pub name: String,
    /// Tenant as the user typed it (GUID or domain).
    pub tenant: String,
    pub cloud: Cloud,
    pub last_run: Option<LastRun>,
}

/// The most recent extraction of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    pub when: DateTime<Utc>,
    pub outcome: RunOutcome,
    pub users: u64,
    pub groups: u64,
    pub member_edges: u64,
    pub owner_edges: u64,
    pub warnings: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Completed,
    Failed,
    Cancelled,
}

impl RunOutcome {
    /// Word for tables.
    pub fn label(self) -> &'static str {
        match self {
            RunOutcome::Completed => "completed",
            RunOutcome::Failed => "failed",
            RunOutcome::Cancelled => "cancelled",
        }
    }
}

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

/// What the live validation learned about the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedTenant {
    pub tenant_id: String,
    /// e.g. `contoso.onmicrosoft.com`; the output file prefix defaults from it.
    pub default_domain: String,
    pub tenant_display_name: String,
}

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

impl CredentialProblem {
    /// Map an AADSTS error code from the token endpoint to the field and remedy the wizard
    /// shows. `description` is used only for codes this table does not know; callers must
    /// strip trace and correlation lines first if they do not want them on screen.
    pub fn from_aadsts(code: u32, description: &str) -> Self {
        let (field, message, remedy) = match code {
            7000215 => (
                Field::Secret,
                "The client secret was rejected (AADSTS7000215).",
                "Paste the secret's Value, not its Secret ID; if it was lost, create a new secret under Certificates & secrets.",
            ),
            7000222 => (
                Field::Secret,
                "The client secret has expired (AADSTS7000222).",
                "Create a new secret in the portal: App registrations > your app > Certificates & secrets > New client secret.",
            ),
            7000218 => (
                Field::Secret,
                "No client secret or certificate was sent (AADSTS7000218).",
                "Enter the secret's Value or choose a certificate.",
            ),
            700016 => (
                Field::ClientId,
                "No application with this client id exists in the tenant (AADSTS700016).",
                "Copy the Application (client) ID from the app's Overview page, and check that the tenant is the one the app is registered in.",
            ),
            700027 => (
                Field::Certificate,
                "The certificate's signature was rejected (AADSTS700027).",
                "Upload this certificate's public part under Certificates & secrets, or choose the matching PEM file.",
            ),
            7000112 => (
                Field::ClientId,
                "The application is disabled (AADSTS7000112).",
                "Ask an administrator to enable the app's service principal (Enterprise applications > Properties > Enabled for users to sign in).",
            ),
            90002 | 90023 => (
                Field::Tenant,
                "The tenant was not found (AADSTS90002).",
                "Check the tenant id or domain; the Directory (tenant) ID is on the app registration's Overview page.",
            ),
            900023 => (
                Field::Tenant,
                "The tenant is not a valid GUID or domain name (AADSTS900023).",
                "Enter the Directory (tenant) ID GUID or a verified domain such as contoso.onmicrosoft.com.",
            ),
            50059 | 90019 => (
                Field::Tenant,
                "No tenant information was found in the request.",
                "Enter the Directory (tenant) ID instead of a domain.",
            ),
            90038 => (
                Field::Cloud,
                "The tenant lives in a different national cloud (AADSTS90038).",
                "Choose the cloud the tenant belongs to (e.g. US Government or China).",
            ),
            70011 => (
                Field::Endpoint,
                "The scope was refused (AADSTS70011).",
                "Check the Graph URL: it must be the Graph root of the tenant's cloud.",
            ),
            90055 => (
                Field::None,
                "The tenant's token endpoint is throttling requests (AADSTS90055).",
                "Wait a minute and try again.",
            ),
            _ => {
                return CredentialProblem {
                    field: Field::None,
                    message: format!("Sign-in failed (AADSTS{code}): {}", first_line(description)),
                    remedy: "Look the code up at https://login.microsoftonline.com/error and fix the app registration.".into(),
                };
            }
        };
        CredentialProblem {
            field,
            message: message.into(),
            remedy: remedy.into(),
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
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
    pub tenant: Option<ValidatedTenant>,
    /// The saved profile this draft was loaded from, when editing; if `name` differs the
    /// save renames it (the old profile and its stored secret go away).
    pub replaces: Option<String>,
}

/// Where a profile's secret can be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStorage {
    /// The OS keyring (Keychain, Windows Credential Manager, Secret Service, keyutils).
    Keyring,
    /// Not stored: read from an environment variable at run time.
    EnvironmentVariable,
    /// Not stored: read from a systemd credential (`$CREDENTIALS_DIRECTORY`) at run time.
    SystemdCredential,
    /// Stored in a plain-text file readable only by the user, after explicit opt-in.
    PlaintextFile,
}

impl SecretStorage {
    /// One line for the save screen.
    pub fn label(self) -> &'static str {
        match self {
            SecretStorage::Keyring => "OS keyring",
            SecretStorage::EnvironmentVariable => {
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
}

/// A successful save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveOutcome {
    /// Where the secret went, in words (e.g. "OS keyring", "environment variable X").
    pub secret_stored_in: String,
}

/// Why saving failed, and which other storages the user may choose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SaveProblem {
    pub message: String,
    /// Storages that would work here; the wizard always adds "continue without saving".
    pub alternatives: Vec<SecretStorage>,
}

/// What to extract.
#[derive(Debug, Clone)]
pub enum ExtractionTarget {
    Saved(String),
    Draft(Box<ProfileDraft>),
}

/// Reads the live progress of a running extraction.
pub type ProgressSource = Arc<dyn Fn() -> ProgressSnapshot + Send + Sync>;

/// A running extraction.
pub struct ExtractionHandle {
    /// Cheap snapshot of the counters; called on every redraw.
    pub progress: ProgressSource,
    /// Cancels the run; partial files are removed before `outcome` resolves.
    pub cancel: CancellationToken,
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

/// Rows written, per file kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractionCounts {
    pub users: u64,
    pub groups: u64,
    pub member_edges: u64,
    pub owner_edges: u64,
}

/// What a finished extraction wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractionSummary {
    /// Each file written and its data rows (`None` for the manifest, which has no rows).
    pub files: Vec<(PathBuf, Option<u64>)>,
    pub duration: Duration,
    pub counts: ExtractionCounts,
    pub warnings: Vec<Warning>,
}

/// Why an extraction produced no files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractionError {
    #[error("the extraction was cancelled; no files were left behind")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_land_on_their_field() {
        assert_eq!(
            CredentialProblem::from_aadsts(7000215, "").field,
            Field::Secret
        );
        assert_eq!(
            CredentialProblem::from_aadsts(7000222, "").field,
            Field::Secret
        );
        assert_eq!(
            CredentialProblem::from_aadsts(700016, "").field,
            Field::ClientId
        );
        assert_eq!(
            CredentialProblem::from_aadsts(90002, "").field,
            Field::Tenant
        );
        assert_eq!(
            CredentialProblem::from_aadsts(90038, "").field,
            Field::Cloud
        );
        let secret = CredentialProblem::from_aadsts(7000215, "");
        assert!(secret.remedy.contains("Value"), "{}", secret.remedy);
    }

    #[test]
    fn unknown_code_keeps_first_line_of_description_only() {
        let p = CredentialProblem::from_aadsts(
            12345,
            "AADSTS12345: Something odd.\r\nTrace ID: abc\r\nCorrelation ID: def",
        );
        assert_eq!(p.field, Field::None);
        assert!(p.message.contains("Something odd."));
        assert!(!p.message.contains("Trace ID"));
    }
}
