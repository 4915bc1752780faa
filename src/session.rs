//! From "which tenant and app" to a ready [`GraphClient`]: the one place that validates the
//! registration's identifiers and endpoints and resolves a saved profile's credential, shared
//! by the headless commands and the wizard.

use std::path::PathBuf;

use crate::graph::{Cloud, Credential, Endpoints, GraphClient, GraphConfig};
use crate::profile::{CredentialKind, Dirs, Profile};

/// An app registration on a cloud, as the user gave it.
#[derive(Debug, Clone)]
pub struct AppTarget {
    pub cloud: Cloud,
    pub authority_url: Option<String>,
    pub graph_url: Option<String>,
    pub tenant: String,
    pub client_id: String,
    pub credential: Credential,
    pub extra_ca_pem: Option<PathBuf>,
}

/// Why no client could be built; nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("tenant {value:?}: {source}")]
    Tenant {
        value: String,
        #[source]
        source: crate::graph::FormatError,
    },
    #[error("client id {value:?}: {source}")]
    ClientId {
        value: String,
        #[source]
        source: crate::graph::FormatError,
    },
    #[error(transparent)]
    Endpoint(#[from] crate::graph::EndpointError),
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    #[error(transparent)]
    Client(#[from] crate::graph::GraphError),
}

impl AppTarget {
    /// The target a saved profile describes, with its credential resolved (environment,
    /// systemd credential, keyring, or the plaintext opt-in). The second value is a warning
    /// the caller must show (the plaintext opt-in warns on every use).
    pub async fn from_profile(
        profile: &Profile,
        dirs: &Dirs,
    ) -> Result<(Self, Option<String>), SessionError> {
        let (credential, warning) = match &profile.credential {
            CredentialKind::Certificate { path } => (
                Credential::Certificate {
                    cert_pem: path.clone(),
                    key_pem: path.clone(),
                },
                None,
            ),
            CredentialKind::Secret => {
                let resolved = crate::secret::resolve(profile, dirs).await?;
                tracing::info!(source = %resolved.source, "client secret resolved");
                (Credential::Secret(resolved.secret), resolved.warning)
            }
        };
        Ok((
            AppTarget {
                cloud: profile.cloud,
                authority_url: profile.authority_url.clone(),
                graph_url: profile.graph_url.clone(),
                tenant: profile.tenant.clone(),
                client_id: profile.client_id.clone(),
                credential,
                extra_ca_pem: profile.extra_ca_pem.clone(),
            },
            warning,
        ))
    }

    /// Validates the identifiers and endpoints and builds the client. Nothing is sent yet.
    pub fn client(self) -> Result<GraphClient, SessionError> {
        crate::graph::tenant(&self.tenant).map_err(|source| SessionError::Tenant {
            value: self.tenant.clone(),
            source,
        })?;
        crate::graph::client_id(&self.client_id).map_err(|source| SessionError::ClientId {
            value: self.client_id.clone(),
            source,
        })?;
        let endpoints = Endpoints::resolve(
            self.cloud,
            self.authority_url.as_deref(),
            self.graph_url.as_deref(),
        )?;
        let mut config = GraphConfig::new(endpoints, self.tenant, self.client_id, self.credential);
        config.extra_ca_pem = self.extra_ca_pem;
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
