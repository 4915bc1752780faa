//! Replacing a client secret without downtime: add the new one, prove it signs in, store it,
//! and only then remove the old one, so a failure at any step leaves a working secret stored.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::replication::{self, ReplicationError};
use super::{SecretLifetime, add_secret, remove_secret};
use crate::graph::{GraphClient, GraphConfig};

/// One step of [`rotate`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateStep {
    /// Read the application and its secrets.
    FindApplication,
    /// `addPassword`.
    AddSecret,
    /// Sign in with the new secret until Entra accepts it.
    WaitForSignIn,
    /// Put the new secret where the profile keeps it.
    StoreSecret,
    /// `removePassword` of the old secret.
    RemoveOldSecret,
}

impl RotateStep {
    /// What the step does, for progress lines.
    pub fn describe(self) -> &'static str {
        match self {
            RotateStep::FindApplication => "Reading the app registration's secrets",
            RotateStep::AddSecret => "Adding a new client secret",
            RotateStep::WaitForSignIn => "Signing in with the new secret",
            RotateStep::StoreSecret => "Storing the new secret",
            RotateStep::RemoveOldSecret => "Removing the old secret",
        }
    }
}

/// What the rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// keyId of the new secret (now stored).
    pub new_key_id: String,
    /// When the new secret ends.
    pub new_end: String,
    /// What became of the old secret.
    pub old: OldSecret,
}

/// What became of the old secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldSecret {
    /// Removed from the app registration.
    Removed { key_id: String },
    /// Still valid: removing it failed (the profile already uses the new one).
    RemoveFailed { key_id: String, error: String },
    /// Not removed because it could not be told apart from the app's other secrets.
    Unidentified { candidates: usize },
}

/// Why a rotation stopped; the stored secret is still the old, working one.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// A step failed before the new secret was stored.
    #[error("{} failed: {error}{}", .step.describe(), cleanup_note(.new_secret_left))]
    Failed {
        step: RotateStep,
        error: String,
        /// keyId of a new secret that could not be removed again (it is unused).
        new_secret_left: Option<String>,
    },
}

fn cleanup_note(left: &Option<String>) -> String {
    match left {
        Some(k) => format!(
            "; the new, unused secret (keyId {k}) could not be removed again: delete it under Certificates & secrets"
        ),
        None => String::new(),
    }
}

/// The secret the profile uses now: its keyId if entra-extract recorded it, and its value (to
/// recognise it by the hint Graph keeps: its first three characters).
pub struct CurrentSecret<'a> {
    pub key_id: Option<&'a str>,
    pub value: &'a SecretString,
}

/// What to rotate, and how.
pub struct Rotation<'a> {
    /// Signed in as an administrator who may manage the app's secrets.
    pub admin: &'a GraphClient,
    /// appId (client id) of the app registration.
    pub app_id: &'a str,
    pub current: CurrentSecret<'a>,
    pub lifetime: SecretLifetime,
    /// How long to wait for Entra to accept the new secret.
    pub replication_timeout: Duration,
}

/// Rotates the secret of `r.app_id`. `app_config` builds the app's own sign-in settings for a
/// secret; `store` keeps the new secret (and its keyId) for the profile. The caller's
/// `on_step` sees each step start, `on_wait` the time spent waiting for replication.
pub async fn rotate(
    r: Rotation<'_>,
    app_config: impl Fn(SecretString) -> Result<GraphConfig, String>,
    store: impl AsyncFnOnce(&SecretString, &str) -> Result<(), String>,
    mut on_step: impl FnMut(RotateStep),
    on_wait: impl FnMut(Duration),
) -> Result<Rotated, RotateError> {
    let Rotation {
        admin,
        app_id,
        current,
        lifetime,
        replication_timeout,
    } = r;
    let failed = |step, error: &dyn std::fmt::Display| RotateError::Failed {
        step,
        error: error.to_string(),
        new_secret_left: None,
    };
    on_step(RotateStep::FindApplication);
    let app = admin
        .get_json(&format!(
            "/applications(appId='{app_id}')?$select=id,passwordCredentials"
        ))
        .await
        .map_err(|e| failed(RotateStep::FindApplication, &e))?;
    let application_id = app["id"].as_str().unwrap_or_default().to_string();
    if application_id.is_empty() {
        return Err(failed(
            RotateStep::FindApplication,
            &"Graph's answer holds no application id",
        ));
    }
    let old = old_key_id(&app, &current);

    on_step(RotateStep::AddSecret);
    let added = add_secret(admin, &application_id, lifetime)
        .await
        .map_err(|e| failed(RotateStep::AddSecret, &e))?;
    // From here on a failure removes the new secret again: the profile keeps the old one.
    // (Not stopped by a Ctrl-C that stopped the step: a detached client removes it.)
    let undo = async |step, error: String| {
        let detached = admin.detached();
        let left = remove_secret(
            detached.as_ref().unwrap_or(admin),
            &application_id,
            &added.key_id,
        )
        .await
        .err()
        .map(|_| added.key_id.clone());
        RotateError::Failed {
            step,
            error,
            new_secret_left: left,
        }
    };

    on_step(RotateStep::WaitForSignIn);
    let config = match app_config(added.secret.clone()) {
        Ok(c) => c,
        Err(e) => return Err(undo(RotateStep::WaitForSignIn, e).await),
    };
    if let Err(e) = replication::wait_for_sign_in(config, replication_timeout, on_wait).await {
        let text = match &e {
            ReplicationError::StillRefused { .. } => format!("{e}; the old secret is kept"),
            ReplicationError::Graph(_) => e.to_string(),
        };
        return Err(undo(RotateStep::WaitForSignIn, text).await);
    }

    on_step(RotateStep::StoreSecret);
    if let Err(e) = store(&added.secret, &added.key_id).await {
        return Err(undo(RotateStep::StoreSecret, e).await);
    }

    let old = match old {
        Ok(key_id) => {
            on_step(RotateStep::RemoveOldSecret);
            match remove_secret(admin, &application_id, &key_id).await {
                Ok(()) => OldSecret::Removed { key_id },
                Err(e) => OldSecret::RemoveFailed {
                    key_id,
                    error: e.to_string(),
                },
            }
        }
        Err(candidates) => OldSecret::Unidentified { candidates },
    };
    Ok(Rotated {
        new_key_id: added.key_id,
        new_end: added.end,
        old,
    })
}

/// The keyId of the secret in use: the recorded one if its hint still matches the value,
/// else the only secret with that hint. `Err(n)`: `n` secrets could be it (0 or several).
fn old_key_id(app: &Value, current: &CurrentSecret<'_>) -> Result<String, usize> {
    let hint: String = current.value.expose_secret().chars().take(3).collect();
    let creds = app["passwordCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let matching: Vec<&Value> = creds
        .iter()
        .filter(|c| c["hint"].as_str() == Some(hint.as_str()))
        .collect();
    let key = |c: &Value| c["keyId"].as_str().map(str::to_string);
    if let Some(known) = current.key_id
        && let Some(c) = matching.iter().find(|c| c["keyId"].as_str() == Some(known))
    {
        return key(c).ok_or(1);
    }
    match matching.as_slice() {
        [only] => key(only).ok_or(1),
        many => Err(many.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_old_secret_is_found_by_its_recorded_key_id_or_its_unique_hint() {
        let app = json!({"passwordCredentials": [
            {"keyId": "k1", "hint": "abc"},
            {"keyId": "k2", "hint": "abc"},
            {"keyId": "k3", "hint": "xyz"},
        ]});
        let value = SecretString::from("abc8Q~rest");
        let with = |key_id| CurrentSecret {
            key_id,
            value: &value,
        };
        assert_eq!(old_key_id(&app, &with(Some("k2"))), Ok("k2".into()));
        // Two secrets share the hint and the recorded keyId is gone: do not guess.
        assert_eq!(old_key_id(&app, &with(Some("gone"))), Err(2));
        assert_eq!(old_key_id(&app, &with(None)), Err(2));
        // A recorded keyId whose hint no longer matches the value (set-secret since) is ignored.
        let other = SecretString::from("xyz1Q~rest");
        let cur = CurrentSecret {
            key_id: Some("k1"),
            value: &other,
        };
        assert_eq!(old_key_id(&app, &cur), Ok("k3".into()));
        assert_eq!(old_key_id(&json!({}), &with(None)), Err(0));
    }
}
