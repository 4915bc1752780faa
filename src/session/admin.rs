//! The administrator's side: a client that signs in with the device code flow, and the
//! profile a new app registration becomes. Shared by `app create`, `profile rotate-secret`
//! and the wizard.

use std::path::PathBuf;

use secrecy::SecretString;

use super::{AppTarget, SessionError};
use crate::graph::{
    ClientId, Cloud, Credential, DelegatedGrant, Endpoints, GraphClient, GraphConfig, TenantRef,
};
use crate::profile::{Profile, ProfileError, ProfileName, ProfileStore, SecretStorage};
use crate::registration::NewRegistration;
use crate::secret::SecretStore;
use crate::secret::lifecycle::{self, LifecycleError};

/// Where an administrator signs in, and with which public client.
#[derive(Debug, Clone)]
pub struct AdminTarget {
    pub cloud: Cloud,
    pub authority_url: Option<String>,
    pub graph_url: Option<String>,
    pub tenant: TenantRef,
    /// The public client of the device code sign-in (`--admin-client-id`).
    pub admin_client_id: ClientId,
    pub extra_ca_pem: Option<PathBuf>,
}

impl AdminTarget {
    /// The administrator's target for a saved profile's tenant and cloud.
    pub fn for_profile(profile: &Profile, admin_client_id: ClientId) -> Self {
        AdminTarget {
            cloud: profile.cloud,
            authority_url: profile.authority_url.clone(),
            graph_url: profile.graph_url.clone(),
            tenant: profile.tenant.clone(),
            admin_client_id,
            extra_ca_pem: profile.extra_ca_pem.clone(),
        }
    }

    /// A client for the device code sign-in (nothing is sent yet).
    pub fn client(
        &self,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Result<GraphClient, SessionError> {
        let endpoints = self.endpoints()?;
        let mut config = GraphConfig::new(
            endpoints,
            self.tenant.clone(),
            self.admin_client_id.clone(),
            Credential::Delegated(DelegatedGrant::new()),
        );
        config.extra_ca_pem = self.extra_ca_pem.clone();
        config.cancel = cancel;
        Ok(GraphClient::new(config)?)
    }

    /// The app's own sign-in settings with `secret` (client credentials).
    pub fn app_config(
        &self,
        client_id: ClientId,
        secret: SecretString,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Result<GraphConfig, SessionError> {
        let mut config = GraphConfig::new(
            self.endpoints()?,
            self.tenant.clone(),
            client_id,
            Credential::Secret(secret),
        );
        config.extra_ca_pem = self.extra_ca_pem.clone();
        config.cancel = cancel;
        Ok(config)
    }

    /// The same cloud and tenant as an [`AppTarget`] for `client_id`.
    pub fn app_target(&self, client_id: ClientId, secret: SecretString) -> AppTarget {
        AppTarget {
            cloud: self.cloud,
            authority_url: self.authority_url.clone(),
            graph_url: self.graph_url.clone(),
            tenant: self.tenant.clone(),
            client_id,
            credential: Credential::Secret(secret),
            extra_ca_pem: self.extra_ca_pem.clone(),
        }
    }

    fn endpoints(&self) -> Result<Endpoints, SessionError> {
        Ok(Endpoints::resolve(
            self.cloud,
            self.authority_url.as_deref(),
            self.graph_url.as_deref(),
        )?)
    }
}

/// A profile for a registration about to be created: everything but the client id.
#[derive(Debug, Clone)]
pub struct NewProfile {
    pub name: ProfileName,
    pub output_dir: PathBuf,
    pub secret_storage: SecretStorage,
}

/// Why the new registration could not be saved as a profile.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Lifecycle(#[from] crate::secret::lifecycle::LifecycleError),
}

/// Saves `registration` as the new profile `new`, with its secret ([`lifecycle::set_secret`]:
/// the secret first, read back, then the file; a failure leaves neither). Where the secret
/// went.
pub async fn save_profile(
    profiles: &ProfileStore,
    admin: &AdminTarget,
    new: &NewProfile,
    registration: &NewRegistration,
    keyring: Option<SecretStore>,
) -> Result<String, SaveError> {
    let client_id = ClientId::parse(&registration.app_id)
        .map_err(|e| SaveError::Invalid(format!("Graph returned an unusable appId: {e}")))?;
    let mut profile = Profile::new(new.name.clone(), admin.tenant.clone(), client_id);
    profile.cloud = admin.cloud;
    profile.authority_url = admin.authority_url.clone();
    profile.graph_url = admin.graph_url.clone();
    profile.extra_ca_pem = admin.extra_ca_pem.clone();
    profile.output_dir = new.output_dir.clone();
    profile.secret_storage = new.secret_storage;
    profile.secret_key_id = Some(registration.secret_key_id.clone());
    if profiles.exists(&profile.name) {
        return Err(LifecycleError::from(ProfileError::AlreadyExists {
            name: profile.name.clone(),
        })
        .into());
    }
    let keyring = async move {
        match keyring {
            Some(k) => Ok(k),
            None => SecretStore::open_default().await,
        }
    };
    let saved = lifecycle::set_secret(profiles, &profile, &registration.secret, keyring).await?;
    Ok(saved.now.unwrap_or_default())
}
