//! Rotating a saved profile's client secret: the checks before anything changes, the
//! administrator's sign-in, then [`crate::registration::rotate`] with the profile's own
//! storage. One sequence for `profile rotate-secret` and the wizard, which present its events.

use std::time::Duration;

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::admin::AdminTarget;
use crate::graph::{AdminSignInError, ClientId, DeviceCodePrompt, SignedInAdmin};
use crate::profile::{CredentialKind, ProfileName, ProfileStore, SecretStorage};
use crate::registration::SecretLifetime;
use crate::registration::rotate::{
    CurrentSecret, OldSecret, RotateError, RotateStep, Rotated, Rotation, rotate,
};
use crate::secret::{self, SecretSource, SecretStore, StoreChoice, lifecycle};

/// Which profile, and the new secret's lifetime.
#[derive(Debug, Clone)]
pub struct RotateRequest {
    pub name: ProfileName,
    pub lifetime: SecretLifetime,
    pub admin_client_id: ClientId,
    pub replication_timeout: Duration,
}

/// What happens, in order.
#[derive(Debug)]
pub enum RotateEvent<'a> {
    SignIn(&'a DeviceCodePrompt),
    SignedIn(&'a SignedInAdmin),
    Step(RotateStep),
    Waiting(Duration),
}

/// Why the profile still has its old secret.
#[derive(Debug, thiserror::Error)]
pub enum RotateProblem {
    /// Refused before anything changed (certificate profile, unwritable storage, …).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    SignIn(#[from] AdminSignInError),
    #[error("{0}; profile {1} still uses its old secret, which still works")]
    Failed(RotateError, ProfileName),
}

/// Rotates the secret of profile `req.name`, kept in its storage (the keyring store
/// `keyring`, or its file).
pub async fn rotate_profile_secret(
    profiles: &ProfileStore,
    keyring: StoreChoice,
    req: &RotateRequest,
    cancel: CancellationToken,
    mut on_event: impl FnMut(RotateEvent<'_>),
) -> Result<RotatedProfile, RotateProblem> {
    let refused = |m: String| RotateProblem::Refused(m);
    let profile = profiles
        .load(&req.name)
        .map_err(|e| refused(e.to_string()))?;
    let name = profile.name.clone();
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(refused(format!(
            "profile {name} signs in with a certificate, not a client secret: there is no secret to rotate"
        )));
    }
    if !profile.secret_storage.is_stored() {
        return Err(refused(format!(
            "profile {name} takes its secret from each run's environment, which entra-extract cannot write: rotate it where it is kept, or store it in the keyring first (`entra-extract profile set-secret {name}`)"
        )));
    }
    let current = secret::resolve_in(&profile, profiles.dirs(), keyring)
        .await
        .map_err(|e| refused(format!("cannot read profile {name}'s current secret: {e}")))?;
    if matches!(
        current.source,
        SecretSource::Env | SecretSource::SystemdCredential
    ) {
        return Err(refused(format!(
            "profile {name}'s secret is overridden by the {}: unset it first, so the rotation replaces the secret the profile actually uses",
            current.source
        )));
    }
    // The new secret must be storable before anything changes: store the current one again.
    if profile.secret_storage == SecretStorage::Keyring {
        let rewritten = match SecretStore::open(keyring).await {
            Ok(s) => s.save(&name, &current.secret).await,
            Err(e) => Err(e),
        };
        rewritten.map_err(|e| {
            refused(format!(
                "{e}\n  nothing was changed: the new secret would have nowhere to go"
            ))
        })?;
    }

    let target = AdminTarget::for_profile(&profile, req.admin_client_id.clone());
    let admin = target
        .client(cancel.clone())
        .map_err(|e| refused(e.to_string()))?;
    let who = admin
        .sign_in_admin(|prompt| on_event(RotateEvent::SignIn(prompt)))
        .await?;
    on_event(RotateEvent::SignedIn(&who));

    let app_id = profile.client_id.clone();
    let app_config = |secret: SecretString| {
        target
            .app_config(app_id.clone(), secret, cancel.clone())
            .map_err(|e| e.to_string())
    };
    let warnings = std::sync::Mutex::new(Vec::new());
    let store = async |secret: &SecretString, key_id: &str| {
        let stored = lifecycle::set_secret(profiles, &profile, secret, SecretStore::open(keyring))
            .await
            .map_err(|e| e.to_string())?;
        let mut notes = warnings.lock().unwrap_or_else(|e| e.into_inner());
        notes.extend(stored.warnings);
        // The new secret is stored: from here nothing may undo it. A keyId not recorded only
        // means the next rotation finds the old secret by its first characters.
        let mut updated = profiles.load(&name).unwrap_or_else(|_| profile.clone());
        updated.secret_key_id = Some(key_id.to_string());
        if let Err(e) = profiles.save(&updated) {
            notes.push(format!(
                "the new secret is stored, but its keyId could not be recorded in the profile ({e})"
            ));
        }
        Ok(())
    };
    // One closure takes both kinds of event: the two callbacks below share it (a Mutex,
    // not a RefCell, so the future stays Send for the wizard's spawned task).
    let on_event = std::sync::Mutex::new(on_event);
    let emit = |e: RotateEvent<'_>| (on_event.lock().unwrap_or_else(|p| p.into_inner()))(e);
    rotate(
        Rotation {
            admin: &admin,
            app_id: app_id.as_str(),
            current: CurrentSecret {
                key_id: profile.secret_key_id.as_deref(),
                value: &current.secret,
            },
            lifetime: req.lifetime,
            replication_timeout: req.replication_timeout,
        },
        app_config,
        store,
        |step| emit(RotateEvent::Step(step)),
        |waited| emit(RotateEvent::Waiting(waited)),
    )
    .await
    .map(|rotated| RotatedProfile {
        rotated,
        warnings: warnings.into_inner().unwrap_or_else(|e| e.into_inner()),
    })
    .map_err(|e| RotateProblem::Failed(e, name.clone()))
}

/// A finished rotation, and what to warn about (the plaintext opt-in, a keyId not recorded).
#[derive(Debug)]
pub struct RotatedProfile {
    pub rotated: Rotated,
    pub warnings: Vec<String>,
}

/// What became of the old secret, as a sentence; `None` when it was removed.
pub fn old_secret_warning(old: &OldSecret) -> Option<String> {
    match old {
        OldSecret::Removed { .. } => None,
        OldSecret::RemoveFailed { key_id, error } => Some(format!(
            "removing the old secret (keyId {key_id}) failed: {error}; it stays valid until it expires — remove it under Certificates & secrets, or run rotate-secret again later"
        )),
        OldSecret::Unidentified { candidates } => Some(format!(
            "the old secret was not removed: {candidates} of the app's secrets could be it (matched by their first three characters); remove the old one under Certificates & secrets"
        )),
    }
}
