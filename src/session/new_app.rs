//! Creating an app registration as a new profile, from the administrator's device code
//! sign-in to the permission check: one sequence for `app create` and the wizard, which only
//! present its events and decide what to do with what a failure left behind.

use std::time::Duration;

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::admin::{AdminTarget, NewProfile, SaveError, save_profile};
use crate::graph::{
    AdminSignInError, ClientId, DeviceCodePrompt, GraphClient, GraphError, SignedInAdmin,
};
use crate::permissions::check::check;
use crate::permissions::report::PermissionReport;
use crate::profile::{ProfileName, ProfileStore};
use crate::registration::replication::{self, ReplicationError};
use crate::registration::{self as reg, Blueprint, CreateFailure, Created, Step};
use crate::secret::{SecretError, SecretStore, StoreChoice};

/// What to create.
#[derive(Debug, Clone)]
pub struct NewAppRequest {
    pub admin: AdminTarget,
    pub profile: NewProfile,
    pub blueprint: Blueprint,
    /// How long to wait for Entra to accept the new secret.
    pub replication_timeout: Duration,
}

/// What happens, in order, for the caller to show.
#[derive(Debug)]
pub enum NewAppEvent<'a> {
    /// Show Entra's instruction (URL and code) and wait.
    SignIn(&'a DeviceCodePrompt),
    SignedIn(&'a SignedInAdmin),
    /// A registration step starts.
    Step(Step),
    Storing,
    /// Waiting for the new secret to replicate, this long so far.
    Waiting(Duration),
    Checking,
}

/// A saved, consented profile.
#[derive(Debug)]
pub struct NewApp {
    pub app_id: String,
    pub secret_end: String,
    /// Where the secret went ("the OS keyring (Secret Service)", …).
    pub stored: String,
    /// The permission check; `None` when the new secret never signed in within the timeout
    /// (the profile is saved; `check` later).
    pub report: Option<PermissionReport>,
    /// Why the check did not run, when it did not.
    pub unchecked: Option<String>,
}

/// Why no ready profile came of it.
#[derive(Debug, thiserror::Error)]
pub enum NewAppError {
    /// Before anything was created: the sign-in did not succeed.
    #[error(transparent)]
    SignIn(#[from] AdminSignInError),
    /// A registration step failed; `created` exists. `admin` can remove it.
    #[error("{failure}")]
    Create {
        failure: CreateFailure,
        admin: Box<GraphClient>,
    },
    /// Everything was created but the secret could not be stored (the profile was not saved).
    #[error("storing the new secret failed: {error}")]
    Store {
        error: SaveError,
        created: Created,
        admin: Box<GraphClient>,
    },
    /// The profile is saved, but the permission check could not run.
    #[error("the profile is saved, but the permission check failed: {0}")]
    Check(GraphError),
}

impl NewAppError {
    /// What exists because of this attempt, and the administrator's client to remove it.
    pub fn leftovers(&self) -> Option<(&Created, &GraphClient)> {
        match self {
            NewAppError::Create { failure, admin } => Some((&failure.created, admin)),
            NewAppError::Store { created, admin, .. } => Some((created, admin)),
            _ => None,
        }
    }

    /// The Graph refusal was 403: the administrator lacks a role.
    pub fn is_access_denied(&self) -> bool {
        matches!(self, NewAppError::Create { failure, .. } if failure.error.is_access_denied())
    }
}

/// The keyring `choice`, once it has taken and given up a placeholder secret: a store that
/// opens may still refuse writes (a kernel keyring of another session), and the secret must
/// have somewhere to go before anything is created. The placeholder has a name of its own, so
/// no profile's entry (of this or another configuration directory) is touched.
pub async fn writable_keyring(choice: StoreChoice) -> Result<SecretStore, SecretError> {
    let store = SecretStore::open(choice).await?;
    let probe =
        ProfileName::new(&format!("keyring-probe-{:08x}", rand::random::<u32>())).map_err(|e| {
            SecretError::KeyringFailure {
                detail: e.to_string(),
            }
        })?;
    store
        .save(&probe, &SecretString::from("entra-extract keyring probe"))
        .await?;
    store.delete(&probe).await?;
    Ok(store)
}

/// Signs the administrator in, creates the registration, saves the profile with its secret
/// (into `keyring` when the profile keeps it there), waits for the secret to replicate and
/// checks the permissions.
pub async fn create_new_app(
    req: &NewAppRequest,
    profiles: &ProfileStore,
    keyring: Option<SecretStore>,
    cancel: CancellationToken,
    mut on_event: impl FnMut(NewAppEvent<'_>),
) -> Result<NewApp, NewAppError> {
    let client = req
        .admin
        .client(cancel.clone())
        .map_err(|e| AdminSignInError::Graph(session_graph_error(e)))?;
    let who = client
        .sign_in_admin(|prompt| on_event(NewAppEvent::SignIn(prompt)))
        .await?;
    on_event(NewAppEvent::SignedIn(&who));

    let registration =
        match reg::create(&client, &req.blueprint, |s| on_event(NewAppEvent::Step(s))).await {
            Ok(r) => r,
            Err(failure) => {
                return Err(NewAppError::Create {
                    failure,
                    admin: Box::new(client),
                });
            }
        };
    on_event(NewAppEvent::Storing);
    let stored =
        match save_profile(profiles, &req.admin, &req.profile, &registration, keyring).await {
            Ok(location) => location,
            Err(error) => {
                return Err(NewAppError::Store {
                    error,
                    created: registration.created,
                    admin: Box::new(client),
                });
            }
        };
    let app_id = ClientId::parse(&registration.app_id).map_err(|e| {
        NewAppError::Check(GraphError::Config(format!(
            "Graph returned an unusable appId: {e}"
        )))
    })?;
    let config = req
        .admin
        .app_config(app_id, registration.secret, cancel)
        .map_err(|e| NewAppError::Check(session_graph_error(e)))?;
    let mut done = NewApp {
        app_id: registration.app_id,
        secret_end: registration.secret_end,
        stored,
        report: None,
        unchecked: None,
    };
    let signed_in = replication::wait_for_sign_in(config, req.replication_timeout, |w| {
        on_event(NewAppEvent::Waiting(w))
    })
    .await;
    let app = match signed_in {
        Ok(c) => c,
        Err(e @ ReplicationError::StillRefused { .. }) => {
            done.unchecked = Some(e.to_string());
            return Ok(done);
        }
        Err(ReplicationError::Graph(e)) => return Err(NewAppError::Check(e)),
    };
    on_event(NewAppEvent::Checking);
    done.report = Some(check(&app).await.map_err(NewAppError::Check)?);
    Ok(done)
}

fn session_graph_error(e: super::SessionError) -> GraphError {
    match e {
        super::SessionError::Client(g) => g,
        other => GraphError::Config(other.to_string()),
    }
}
