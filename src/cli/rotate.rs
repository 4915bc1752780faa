//! `entra-extract profile rotate-secret NAME`: an administrator signs in, the program adds a
//! new client secret, proves it signs in, stores it, and only then removes the old one — so
//! the profile has a working secret at every step.

use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::Exit;
use super::app::show_prompt;
use super::connect::{Failure, cancel_on_signals, graph_failure};
use crate::graph::{AdminSignInError, ClientId, DEFAULT_ADMIN_CLIENT_ID};
use crate::profile::{ProfileName, ProfileStore};
use crate::registration::SecretLifetime;
use crate::registration::replication::WaitNotice;
use crate::registration::rotate::OldSecret;
use crate::secret::StoreChoice;
use crate::session::rotate::{
    RotateEvent, RotateProblem, RotateRequest, RotatedProfile, old_secret_warning,
    rotate_profile_secret,
};

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
    let keyring = StoreChoice::from_env().map_err(|e| bad(e.to_string()))?;
    let request = RotateRequest {
        name: args.name.clone(),
        lifetime: args.secret_expiry,
        admin_client_id: args.admin_client_id.clone(),
        replication_timeout: args.replication_timeout,
    };
    let cancel = CancellationToken::new();
    cancel_on_signals(cancel.clone());
    let mut notice = WaitNotice::default();
    let rotated = rotate_profile_secret(profiles, keyring, &request, cancel, |event| match event {
        RotateEvent::SignIn(prompt) => show_prompt(prompt),
        RotateEvent::SignedIn(who) => crate::errln!("Signed in as {}.", who.label()),
        RotateEvent::Step(step) => crate::errln!("{} …", step.describe()),
        RotateEvent::Waiting(w) => notice.due(w).iter().for_each(|l| crate::errln!("{l}")),
    })
    .await;
    let RotatedProfile { rotated, warnings } = match rotated {
        Ok(r) => r,
        Err(RotateProblem::Refused(m)) => return Err(bad(m)),
        Err(RotateProblem::SignIn(AdminSignInError::Graph(e))) => return Err(graph_failure(&e)),
        Err(RotateProblem::SignIn(e)) => return Err(Failure::new(Exit::AuthFailed, e.to_string())),
        Err(e @ RotateProblem::Failed(..)) => {
            return Err(Failure::new(Exit::Failure, e.to_string()));
        }
    };
    let name = &args.name;
    crate::outln!(
        "Profile {name} now uses a new secret (keyId {}, valid until {}).",
        rotated.new_key_id,
        rotated.new_end
    );
    let mut exit = Exit::Success;
    match old_secret_warning(&rotated.old) {
        None => {
            if let OldSecret::Removed { key_id } = &rotated.old {
                crate::outln!("The old secret (keyId {key_id}) was removed.");
            }
        }
        Some(w) => {
            crate::errln!("warning: {w}");
            exit = Exit::CompletedWithWarnings;
        }
    }
    for w in warnings {
        crate::errln!("warning: {w}");
    }
    Ok(exit)
}
