//! What `check` and `run` share: which tenant and app to use (a saved profile or flags),
//! where the credential comes from, and how a failure maps to an exit code and a message
//! that says what to do.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::extract::hold::Interruption;
use crate::graph::{
    ClientId, Cloud, Credential, CredentialField, GraphClient, GraphError, TenantRef,
};
use crate::profile::{CredentialKind, Dirs, Profile, ProfileName, ProfileStore};
use crate::secret::{ResolvedSecret, SYSTEMD_CREDENTIAL, SecretInputs, SecretNotes, StoreChoice};
use crate::session::AppTarget;
use crate::signals::Signals;

pub use crate::secret::SECRET_ENV;

/// The help of `--extra-ca`, one flag wherever an endpoint is reached (`run`, `check`,
/// `profile create`, `app create`; `--extra-ca-pem` is its old, unlisted name).
pub const EXTRA_CA_HELP: &str =
    "Extra CA certificates (PEM) to trust, e.g. behind a TLS-inspecting proxy";

/// Which tenant and app registration to use.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// A saved profile (see `entra-extract profile list`); the flags below override it.
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// Directory (tenant) ID or a verified domain, e.g. contoso.onmicrosoft.com.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Application (client) ID of the app registration.
    #[arg(long, value_name = "GUID")]
    pub client_id: Option<String>,
    /// Microsoft cloud.
    #[arg(long, value_enum)]
    pub cloud: Option<Cloud>,
    /// Token endpoint root for a custom cloud (https, or http to loopback only).
    #[arg(long, value_name = "URL")]
    pub authority_url: Option<String>,
    /// Microsoft Graph root for a custom cloud (https, or http to loopback only).
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// Authenticate with this certificate (PEM with certificate and private key) instead of
    /// a client secret.
    #[arg(long, value_name = "PEM")]
    pub certificate: Option<PathBuf>,
    /// Extra CA certificates to trust ([`EXTRA_CA_HELP`]).
    #[arg(long = "extra-ca", alias = "extra-ca-pem", value_name = "PEM", help = EXTRA_CA_HELP)]
    pub extra_ca: Option<PathBuf>,
    /// Graph resource units this app may spend per 10 seconds (default 8000, Graph's budget
    /// for large tenants; small tenants get 3500, medium 5000). Lower it to leave room for
    /// other apps; 0 turns pacing off (429s are still honoured).
    #[arg(long, value_name = "RU", allow_hyphen_values = true, value_parser = parse_ru_budget)]
    pub ru_budget: Option<u32>,
    /// How long into the run throttled requests may keep waiting for Graph (e.g. 90s, 30m,
    /// 2h; default 1h). A 429 is retried for as long as Graph's Retry-After asks, never by
    /// a count of attempts, until a wait would end past this; then the run fails (exit 5).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = parse_duration)]
    pub throttle_deadline: Option<std::time::Duration>,
}

/// A headless command's failure: the exit code and what to tell the user.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
        }
    }

    /// Prints the message to stderr and returns the exit code.
    pub fn report(self) -> Exit {
        crate::errln!("error: {}", self.message);
        self.exit
    }
}

/// Everything needed to talk to the tenant.
#[derive(Debug)]
pub struct Connection {
    pub client: GraphClient,
    pub profile: Option<Profile>,
    pub dirs: Option<Dirs>,
    pub cloud: Cloud,
    /// What to say about the secret should Entra refuse it.
    pub secret_notes: SecretNotes,
}

impl Connection {
    /// [`graph_failure`], naming what may be wrong with the secret when Entra refused it.
    pub fn graph_failure(&self, e: &GraphError) -> Failure {
        let mut f = graph_failure(e);
        f.message = self.explain(e, f.message);
        f
    }

    /// `message` about `e`, with the secret's note when `e` is Entra refusing the secret.
    pub fn explain(&self, e: &GraphError, message: String) -> String {
        let refused = e
            .auth()
            .is_some_and(|a| a.field() == Some(CredentialField::Secret));
        match &self.secret_notes.if_refused {
            Some(note) if refused => format!("{message}\n  note: {note}"),
            _ => message,
        }
    }
}

impl ConnectArgs {
    /// Loads the profile (if any), merges the flags over it, resolves the credential and
    /// builds the client. Nothing is sent yet.
    pub async fn connect(&self) -> Result<Connection, Failure> {
        let bad = |m: String| Failure::new(Exit::BadConfig, m);
        // The identifiers given as flags, parsed here once; a profile's were parsed when
        // its file was read (a bad one is reported with the file, line and key).
        let tenant = self
            .tenant
            .as_deref()
            .map(|raw| TenantRef::parse(raw).map_err(|e| bad(format!("--tenant {raw:?}: {e}"))))
            .transpose()?;
        let client_id = self
            .client_id
            .as_deref()
            .map(|raw| ClientId::parse(raw).map_err(|e| bad(format!("--client-id {raw:?}: {e}"))))
            .transpose()?;
        let (profile, dirs) = match &self.profile {
            Some(name) => {
                let name = ProfileName::new(name).map_err(|e| bad(e.to_string()))?;
                let dirs = Dirs::from_env().map_err(|e| bad(e.to_string()))?;
                let profile = ProfileStore::new(dirs.clone())
                    .load(&name)
                    .map_err(|e| bad(e.to_string()))?;
                (Some(profile), Some(dirs))
            }
            None => (None, None),
        };
        let (mut target, secret_notes) = match (&profile, &dirs) {
            (Some(profile), Some(dirs)) => {
                // Flags that replace the credential make the profile's secret irrelevant.
                let mut p = profile.clone();
                if let Some(pem) = &self.certificate {
                    p.credential = CredentialKind::Certificate { path: pem.clone() };
                }
                let keyring = StoreChoice::from_env().map_err(|e| bad(e.to_string()))?;
                AppTarget::from_profile(&p, dirs, keyring)
                    .await
                    .map_err(|e| bad(e.to_string()))?
            }
            _ => self.flags_target(tenant.clone(), client_id.clone())?,
        };
        if let Some(w) = &secret_notes.warning {
            crate::errln!("warning: {w}");
        }
        if let Some(t) = tenant {
            target.tenant = t;
        }
        if let Some(c) = client_id {
            target.client_id = c;
        }
        if let Some(c) = self.cloud {
            target.cloud = c;
        }
        if self.authority_url.is_some() {
            target.authority_url = self.authority_url.clone();
        }
        if self.graph_url.is_some() {
            target.graph_url = self.graph_url.clone();
        }
        if self.extra_ca.is_some() {
            target.extra_ca_pem = self.extra_ca.clone();
        }
        let cloud = target.cloud;
        let (ru_budget, throttle_deadline) = (self.ru_budget, self.throttle_deadline);
        let client = target
            .client_with(|c| {
                if let Some(b) = ru_budget {
                    c.pacing.ru_budget = b;
                }
                if let Some(d) = throttle_deadline {
                    c.retry.throttle_deadline = d;
                }
            })
            .map_err(|e| bad(e.to_string()))?;
        Ok(Connection {
            client,
            profile,
            dirs,
            cloud,
            secret_notes,
        })
    }

    /// The app registration the flags alone describe (no profile): its secret from the
    /// environment or a systemd credential, unless a certificate is given.
    fn flags_target(
        &self,
        tenant: Option<TenantRef>,
        client_id: Option<ClientId>,
    ) -> Result<(AppTarget, SecretNotes), Failure> {
        let bad = |m: String| Failure::new(Exit::BadConfig, m);
        let tenant = tenant.ok_or_else(|| bad("give --tenant (or --profile NAME)".into()))?;
        let client_id =
            client_id.ok_or_else(|| bad("give --client-id (or --profile NAME)".into()))?;
        let (credential, notes) = match &self.certificate {
            Some(pem) => (
                Credential::Certificate {
                    cert_pem: pem.clone(),
                    key_pem: pem.clone(),
                },
                SecretNotes::default(),
            ),
            None => {
                let (secret, notes) = supplied_secret()?.split();
                (Credential::Secret(secret), notes)
            }
        };
        let target = AppTarget {
            cloud: Cloud::default(),
            authority_url: None,
            graph_url: None,
            tenant,
            client_id,
            credential,
            extra_ca_pem: None,
        };
        Ok((target, notes))
    }
}

/// `--ru-budget`: a whole number of resource units, 0 for no pacing. Negative and other
/// values get a message that says what is expected (clap alone would call `-1` a flag).
fn parse_ru_budget(raw: &str) -> Result<u32, String> {
    raw.trim().parse::<u32>().map_err(|_| {
        format!(
            "{raw:?} is not a resource-unit budget: give a whole number of resource units per 10 seconds, from 0 (no pacing) up, e.g. 8000 (Graph's budget for large tenants) or 4000 to leave half to other apps"
        )
    })
}

/// A duration as people write it: `90s`, `30m`, `2h`, `1h30m`, or plain seconds (`600`).
pub(crate) fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let bad = || {
        format!(
            "{raw:?} is not a duration: give a number with a unit, e.g. 90s, 30m, 2h or 1h30m (plain numbers are seconds)"
        )
    };
    let text = raw.trim().to_ascii_lowercase();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

/// The secret of a run without a profile: from the environment, as every run takes it.
fn supplied_secret() -> Result<ResolvedSecret, Failure> {
    SecretInputs::from_env()
        .supplied(None)
        .map_err(|e| Failure::new(Exit::BadConfig, e.to_string()))?
        .ok_or_else(|| {
            Failure::new(
                Exit::BadConfig,
                format!(
                    "no client secret: set {SECRET_ENV} in the environment (never pass it as a flag), pass it as a systemd credential (LoadCredential={SYSTEMD_CREDENTIAL}:/path/to/file in the unit), use --certificate, or save a profile with `entra-extract profile create` and `profile set-secret`"
                ),
            )
        })
}

/// Maps a Graph failure to an exit code and a message naming the input to fix.
pub fn graph_failure(e: &GraphError) -> Failure {
    if let Some(auth) = e.auth() {
        let field = match auth.field() {
            Some(CredentialField::Tenant) => "tenant",
            Some(CredentialField::ClientId) => "client id",
            Some(CredentialField::Secret) => "client secret",
            Some(CredentialField::Certificate) => "certificate",
            Some(CredentialField::Scope) => "scope",
            Some(CredentialField::Endpoint) => "cloud / endpoint",
            None => "sign-in",
        };
        return Failure::new(
            Exit::AuthFailed,
            format!(
                "sign-in failed ({field}): {}\n  fix: {}",
                auth.description,
                auth.remedy()
            ),
        );
    }
    match e {
        GraphError::Cancelled => Failure::new(Exit::Interrupted, "cancelled"),
        GraphError::Config(_) | GraphError::UntrustedCertificate { .. } => {
            Failure::new(Exit::BadConfig, e.to_string())
        }
        e if e.is_access_denied() => Failure::new(
            Exit::PermissionMissing,
            format!(
                "{e}\n  fix: run `entra-extract check` for the missing permission and the portal steps"
            ),
        ),
        e => Failure::new(Exit::ExtractFailed, e.to_string()),
    }
}

/// Cancels `token` on Ctrl-C, SIGTERM or a hang-up, so runs stop cleanly under cron and
/// systemd and when their terminal closes.
pub fn cancel_on_signals(token: tokio_util::sync::CancellationToken) {
    on_signals(move || {
        token.cancel();
        Interruption::Stopping.describe()
    });
}

/// Calls `interrupt` on every signal from outside ([`Signals`]: Ctrl-C, SIGTERM, SIGHUP) and
/// prints what it says happens next: a run that cannot stop any more (its files are being
/// committed) says so again on the next signal instead of swallowing it. Listening starts
/// before this returns and never pauses, so a signal that comes while the previous one is
/// handled is handled next. Call inside a tokio runtime.
pub fn on_signals(mut interrupt: impl FnMut() -> &'static str + Send + 'static) {
    let mut signals = Signals::listen();
    tokio::spawn(async move {
        loop {
            let signal = signals.recv().await;
            tracing::info!(?signal, "interrupted");
            let next = interrupt();
            // Not eprintln!: after a hang-up the terminal is gone and writing to it fails.
            let _ = writeln!(std::io::stderr(), "\ninterrupted: {next}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_are_read_with_units_or_as_seconds() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 2H "), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("600"), Ok(Duration::from_secs(600)));
        for bad in ["", "-1", "5x", "m", "1.5h", "10 m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
