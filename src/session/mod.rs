//! From "which tenant and app" to a ready [`GraphClient`]: the one place that validates the
//! registration's identifiers and endpoints and resolves a saved profile's credential, shared
//! by the headless commands and the wizard.

pub mod admin;
pub mod new_app;
pub mod rotate;
pub mod save;
pub mod schedule;
mod service_error;
pub mod wizard;

use std::path::PathBuf;

use crate::graph::{ClientId, Cloud, Credential, Endpoints, GraphClient, GraphConfig, TenantRef};
use crate::profile::{CredentialKind, Dirs, Profile};
use crate::secret::SecretNotes;

/// An app registration on a cloud, as the user gave it.
#[derive(Debug, Clone)]
pub struct AppTarget {
    pub cloud: Cloud,
    pub authority_url: Option<String>,
    pub graph_url: Option<String>,
    pub tenant: TenantRef,
    pub client_id: ClientId,
    pub credential: Credential,
    pub extra_ca_pem: Option<PathBuf>,
}

/// Why no client could be built; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Endpoint(#[from] crate::graph::EndpointError),
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    #[error(transparent)]
    Client(#[from] crate::graph::GraphError),
}

impl AppTarget {
    /// The target a saved profile describes, with its credential resolved (environment,
    /// systemd credential, the `keyring` store, or the plaintext opt-in), and what the caller
    /// must say about the secret (a warning now, a hint should Entra refuse it).
    pub async fn from_profile(
        profile: &Profile,
        dirs: &Dirs,
        keyring: crate::secret::StoreChoice,
    ) -> Result<(Self, SecretNotes), SessionError> {
        let (credential, notes) = match &profile.credential {
            CredentialKind::Certificate { path } => (
                Credential::Certificate {
                    cert_pem: path.clone(),
                    key_pem: path.clone(),
                },
                SecretNotes::default(),
            ),
            CredentialKind::Secret => {
                let resolved = crate::secret::resolve_in(profile, dirs, keyring).await?;
                tracing::info!(source = %resolved.source, "client secret resolved");
                let (secret, notes) = resolved.split();
                (Credential::Secret(secret), notes)
            }
        };
        Ok((AppTarget::of_profile(profile, credential), notes))
    }

    /// The target a saved profile describes, signing in with `credential` (the wizard's run
    /// right after saving uses the secret just typed, wherever it was stored).
    pub fn of_profile(profile: &Profile, credential: Credential) -> Self {
        AppTarget {
            cloud: profile.cloud,
            authority_url: profile.authority_url.clone(),
            graph_url: profile.graph_url.clone(),
            tenant: profile.tenant.clone(),
            client_id: profile.client_id.clone(),
            credential,
            extra_ca_pem: profile.extra_ca_pem.clone(),
        }
    }

    /// Validates the identifiers and endpoints and builds the client. Nothing is sent yet.
    pub fn client(self) -> Result<GraphClient, SessionError> {
        self.client_with(|_| {})
    }

    /// [`AppTarget::client`] with the connection settings adjusted first (pacing, timeouts).
    pub fn client_with(
        self,
        adjust: impl FnOnce(&mut GraphConfig),
    ) -> Result<GraphClient, SessionError> {
        let endpoints = Endpoints::resolve(
            self.cloud,
            self.authority_url.as_deref(),
            self.graph_url.as_deref(),
        )?;
        let mut config = GraphConfig::new(endpoints, self.tenant, self.client_id, self.credential);
        config.extra_ca_pem = self.extra_ca_pem;
        adjust(&mut config);
        Ok(GraphClient::new(config)?)
    }
}

/// The cloud's name as profiles and manifests spell it (`global`, `us-gov`, ...).
pub fn cloud_name(cloud: Cloud) -> String {
    serde_json::to_value(cloud)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// How an extraction ended, in the run history's terms.
pub fn run_outcome(
    result: &Result<crate::extract::run::ExtractSummary, crate::extract::run::ExtractError>,
) -> crate::profile::Outcome {
    use crate::extract::run::ExtractError;
    use crate::profile::Outcome;
    match result {
        Ok(s) if s.warnings.is_empty() => Outcome::Success,
        Ok(_) => Outcome::Warnings,
        Err(ExtractError::Cancelled) => Outcome::Interrupted,
        Err(ExtractError::PermissionDenied { .. }) => Outcome::PermissionMissing,
        Err(ExtractError::Graph(g)) if g.auth().is_some() => Outcome::AuthFailed,
        Err(ExtractError::Graph(g)) if g.is_access_denied() => Outcome::PermissionMissing,
        Err(_) => Outcome::Failed,
    }
}

/// Whether an extraction was refused before it read any data: extra attributes or a prefix
/// that are not valid, an output directory that could not be claimed. Such a run ends with
/// exit 2 (bad configuration) and is no run of the profile, as a refusal before signing in
/// is not: the history keeps the runs that happened.
pub fn refused_before_reading(e: &crate::extract::run::ExtractError) -> bool {
    use crate::extract::run::ExtractError;
    match e {
        ExtractError::Schema(_) | ExtractError::Prefix { .. } => true,
        ExtractError::Output(o) => o.is_setup(),
        _ => false,
    }
}

/// Appends a run of `profile` to its history: counts from the committed files when the run
/// succeeded, else from the progress counters at the end; a run
/// [refused before reading](refused_before_reading) is not appended. The history never
/// fails a run, but a run it could not record is not passed off as a clean one: a
/// `history_not_saved` warning goes to `progress` and, for a completed run, to its summary
/// and manifest, so the caller reports it with the run's other warnings (exit 6). Called
/// before the caller decides the run's outcome.
pub fn record_run(
    dirs: &Dirs,
    profile: &Profile,
    started: chrono::DateTime<chrono::Utc>,
    result: &mut Result<crate::extract::run::ExtractSummary, crate::extract::run::ExtractError>,
    progress: &crate::extract::progress::Progress,
) {
    use crate::extract::FileKind;
    if result.as_ref().is_err_and(refused_before_reading) {
        return;
    }
    let snap = progress.snapshot();
    let ok = result.as_ref().ok();
    let rows = |kind: FileKind, fallback: u64| {
        ok.and_then(|s| s.output.files.iter().find(|f| f.kind == kind))
            .map_or(fallback, |f| f.rows)
    };
    let record = crate::profile::RunRecord {
        started,
        duration_secs: (chrono::Utc::now() - started).num_milliseconds() as f64 / 1000.0,
        outcome: run_outcome(result),
        users: rows(FileKind::Users, snap.users_done),
        groups: rows(FileKind::Groups, snap.groups_done),
        member_edges: rows(FileKind::GroupsMembers, snap.member_edges),
        owner_edges: rows(FileKind::GroupsOwners, snap.owner_edges),
        warnings: snap.warnings.len() as u64,
        output_dir: ok
            .and_then(|s| s.output.manifest_path.parent().map(PathBuf::from))
            .unwrap_or_else(|| profile.output_dir.clone()),
        mode: ok.and_then(|s| s.output.manifest.run.as_ref().map(|r| r.mode)),
        changes: ok.and_then(|s| s.output.manifest.changes),
    };
    let Err(e) = crate::profile::history::History::new(dirs).append(&profile.name, &record) else {
        return;
    };
    tracing::warn!(error = %e, "could not record the run in the history");
    let mut warning = crate::extract::progress::Warning::history_not_saved(&e);
    if let Ok(summary) = result {
        warning = summary.output.report_warning(warning);
        summary.warnings.push(warning.clone());
    }
    progress.warn(warning);
}

/// How a saved profile runs: its settings (output directory, prefix, BOM, extra attributes,
/// cloud) and its incremental state. The one place that builds a profile's run, for
/// `run --profile`, `run --all` and the wizard alike: whichever starts a run, it writes the
/// same columns and starts from, and saves, the same state. Callers layer their overrides
/// on top (`run`'s flags, `--full`).
pub fn profile_run(
    profile: &Profile,
    dirs: &Dirs,
) -> Result<crate::extract::run::ExtractOptions, crate::extract::PrefixError> {
    let mut options = crate::extract::run::ExtractOptions::new(profile.output_dir.clone());
    options.prefix = profile
        .domain_prefix
        .as_deref()
        .map(crate::extract::DomainPrefix::parse)
        .transpose()?;
    options.bom = profile.bom;
    options.extra_user_attributes = profile.extra_user_attributes.clone();
    options.extra_group_attributes = profile.extra_group_attributes.clone();
    options.cloud = cloud_name(profile.cloud);
    options.state = Some(crate::extract::incremental::StateOptions {
        dir: dirs.state(&profile.name),
        full: false,
    });
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::OutputError;
    use crate::extract::run::ExtractError;
    use crate::extract::schema::{ObjectKind, SchemaError};

    /// The history leaves out exactly the runs `run` reports as bad configuration (exit 2).
    #[test]
    fn runs_refused_before_reading_are_the_ones_run_reports_as_bad_configuration() {
        let errors = [
            ExtractError::Schema(SchemaError::Empty {
                kind: ObjectKind::User,
            }),
            ExtractError::Output(OutputError::Busy { dir: "o".into() }),
            ExtractError::Output(OutputError::Write {
                path: "o/x".into(),
                source: std::io::Error::other("disk full"),
            }),
            ExtractError::Cancelled,
            ExtractError::Internal {
                what: "w".into(),
                detail: "d".into(),
            },
            ExtractError::Unexpected {
                what: "w".into(),
                detail: "d".into(),
            },
        ];
        for e in &errors {
            let exit = crate::cli::run::failure(e).exit;
            assert_eq!(
                refused_before_reading(e),
                exit == crate::cli::Exit::BadConfig,
                "{e}"
            );
        }
    }
}
