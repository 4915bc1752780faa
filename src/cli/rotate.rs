//! `entra-extract profile rotate-secret NAME`: an administrator signs in, the program adds a
//! new client secret, proves it signs in, stores it, and only then removes the old one — so
//! the profile has a working secret at every step.

use std::time::Duration;

use clap::Args;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::Exit;
use super::app::{WaitNotice, sign_in_admin};
use super::connect::{Failure, cancel_on_signals};
use crate::graph::{ClientId, DEFAULT_ADMIN_CLIENT_ID};
use crate::profile::{CredentialKind, ProfileName, ProfileStore, SecretStorage};
use crate::registration::SecretLifetime;
use crate::registration::rotate::{CurrentSecret, OldSecret, RotateError, Rotation, rotate};
use crate::secret::{self, SecretSource, SecretStore, lifecycle};
use crate::session::admin::AdminTarget;

/// Arguments of `entra-extract profile rotate-secret`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Profile whose client secret to replace.
    pub name: ProfileName,
    /// How long the new secret stays valid: 90, 180 (default), 365, 545 or 730 days.
    #[arg(long, value_name = "DAYS", default_value = "180")]
    pub secret_expiry: SecretLifetime,
    /// Public client used for the administrator's device code sign-in (default: Microsoft
    /// Graph Command Line Tools).
    #[arg(long, value_name = "GUID", default_value = DEFAULT_ADMIN_CLIENT_ID)]
    pub admin_client_id: ClientId,
    /// How long to wait for Entra to accept the new secret (e.g. 90s, 5m); the old secret is
    /// kept when it does not.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = super::connect::parse_duration)]
    pub replication_timeout: Duration,
}

fn bad(m: impl Into<String>) -> Failure {
    Failure::new(Exit::BadConfig, m)
}

/// Runs the rotation and reports it; the exit code says how it ended.
pub async fn run(profiles: &ProfileStore, args: RotateArgs) -> Exit {
    rotate_secret(profiles, args)
        .await
        .unwrap_or_else(Failure::report)
}

async fn rotate_secret(profiles: &ProfileStore, args: RotateArgs) -> Result<Exit, Failure> {
    let profile = profiles.load(&args.name).map_err(|e| bad(e.to_string()))?;
    let name = profile.name.clone();
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(bad(format!(
            "profile {name} signs in with a certificate, not a client secret: there is no secret to rotate"
        )));
    }
    if !profile.secret_storage.is_stored() {
        return Err(bad(format!(
            "profile {name} takes its secret from each run's environment, which entra-extract cannot write: rotate it where it is kept, or store it in the keyring first (`entra-extract profile set-secret {name}`)"
        )));
    }
    let current = secret::resolve(&profile, profiles.dirs())
        .await
        .map_err(|e| bad(format!("cannot read profile {name}'s current secret: {e}")))?;
    if matches!(
        current.source,
        SecretSource::Env | SecretSource::SystemdCredential
    ) {
        return Err(bad(format!(
            "profile {name}'s secret is overridden by the {}: unset it first, so the rotation replaces the secret the profile actually uses",
            current.source
        )));
    }
    // The new secret must be storable before anything changes: store the current one again.
    if profile.secret_storage == SecretStorage::Keyring {
        let store = SecretStore::open_default().await;
        let rewritten = match store {
            Ok(s) => s.save(&name, &current.secret).await,
            Err(e) => Err(e),
        };
        rewritten.map_err(|e| {
            bad(format!(
                "{e}\n  nothing was changed: the new secret would have nowhere to go"
            ))
        })?;
    }

    let cancel = CancellationToken::new();
    cancel_on_signals(cancel.clone());
    let target = AdminTarget::for_profile(&profile, args.admin_client_id.clone());
    let admin = sign_in_admin(&target, cancel.clone()).await?;
    let app_id = profile.client_id.clone();
    let app_config = |secret: SecretString| {
        target
            .app_config(app_id.clone(), secret, cancel.clone())
            .map_err(|e| e.to_string())
    };
    let store = async |secret: &SecretString, key_id: &str| {
        lifecycle::set_secret(profiles, &profile, secret, SecretStore::open_default())
            .await
            .map_err(|e| e.to_string())?;
        let mut updated = profile.clone();
        updated.secret_key_id = Some(key_id.to_string());
        profiles.save(&updated).map_err(|e| {
            format!("the new secret is stored, but recording its keyId in the profile failed: {e}")
        })
    };
    let mut notice = WaitNotice::default();
    let rotated = rotate(
        Rotation {
            admin: &admin,
            app_id: app_id.as_str(),
            current: CurrentSecret {
                key_id: profile.secret_key_id.as_deref(),
                value: &current.secret,
            },
            lifetime: args.secret_expiry,
            replication_timeout: args.replication_timeout,
        },
        app_config,
        store,
        |step| eprintln!("{} …", step.describe()),
        |waited| notice.show(waited),
    )
    .await;
    let rotated = match rotated {
        Ok(r) => r,
        Err(e @ RotateError::Failed { .. }) => {
            eprintln!("error: {e}");
            eprintln!("Profile {name} still uses its old secret, which still works.");
            return Ok(Exit::Failure);
        }
    };
    crate::outln!(
        "Profile {name} now uses a new secret (keyId {}, valid until {}).",
        rotated.new_key_id,
        rotated.new_end
    );
    Ok(match rotated.old {
        OldSecret::Removed { key_id } => {
            crate::outln!("The old secret (keyId {key_id}) was removed.");
            Exit::Success
        }
        OldSecret::RemoveFailed { key_id, error } => {
            eprintln!(
                "warning: removing the old secret (keyId {key_id}) failed: {error}; it stays valid until it expires — remove it under Certificates & secrets, or run rotate-secret again later"
            );
            Exit::CompletedWithWarnings
        }
        OldSecret::Unidentified { candidates } => {
            eprintln!(
                "warning: the old secret was not removed: {candidates} of the app's secrets could be it (matched by their first three characters); remove the old one under Certificates & secrets"
            );
            Exit::CompletedWithWarnings
        }
    })
}
