//! `entra-extract profile …`: manage saved profiles and their secrets without the wizard.
//!
//! No secret is ever accepted as a flag value: argv is visible to every user of the machine.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use secrecy::SecretString;
use serde_json::json;

use super::Exit;
use crate::graph::cloud::Cloud;
use crate::graph::{ClientId, TenantRef};
use crate::profile::history::{History, RunRecord};
use crate::profile::{
    CredentialKind, Dirs, Profile, ProfileError, ProfileName, ProfileStore, SecretStorage,
};
use crate::secret::lifecycle::{self, LifecycleError, Presence, SecretRemoval};
use crate::secret::{self, SecretError, SecretInputs, SecretStore};

/// Arguments of `entra-extract profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub command: ProfileCommand,
}

/// Profile subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List saved profiles with their last run (and what is left of removed ones).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one profile and where its secret is stored (never the secret).
    Show {
        /// Profile name.
        name: ProfileName,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a profile (then store its secret with `profile set-secret`).
    Create(Box<CreateArgs>),
    /// Remove a profile, its stored secret, run history and incremental state (or, for a
    /// profile that no longer exists, what was left of it).
    Remove {
        /// Profile name.
        name: ProfileName,
        /// Remove the profile even if the keyring cannot be reached (its entry may remain).
        #[arg(long)]
        force: bool,
    },
    /// Rename a profile, moving its stored secret, run history and incremental state.
    Rename {
        /// Current name.
        old: ProfileName,
        /// New name.
        new: ProfileName,
    },
    /// Replace the client secret without downtime: an administrator signs in (device code),
    /// a new secret is added, proven to sign in and stored, then the old one is removed.
    RotateSecret(Box<super::rotate::RotateArgs>),
    /// Set the client secret: typed without echo, or read from stdin. With --storage, change
    /// where the profile keeps it: the secret moves there (or is given), and the copy in the
    /// old place is deleted once the new place holds it.
    SetSecret {
        /// Profile name.
        name: ProfileName,
        /// Read the secret from standard input (e.g. a pipe from a password manager).
        #[arg(long)]
        stdin: bool,
        /// Keep the secret here from now on: the OS keyring (the store
        /// ENTRA_EXTRACT_KEYRING_STORE chooses), an owner-only plaintext file, or nowhere —
        /// ENTRA_EXTRACT_CLIENT_SECRET or the systemd credential entra-extract-client-secret
        /// supplies it to each run.
        #[arg(long, value_enum, value_name = "STORAGE")]
        storage: Option<SecretStorage>,
    },
    /// Delete the copies of a profile's client secret it does not sign in with: the one a
    /// profile switched to a certificate kept, or one a move had to leave behind (also for
    /// the name of a profile that is gone). The secret it signs in with stays.
    DeleteSecret {
        /// Profile name.
        name: ProfileName,
    },
}

/// Arguments of `entra-extract profile create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Profile name: letters, digits, '.', '_', '-'.
    pub name: ProfileName,
    /// Tenant id (GUID) or verified domain.
    #[arg(long)]
    pub tenant: TenantRef,
    /// Application (client) id of the app registration.
    #[arg(long)]
    pub client_id: ClientId,
    /// Microsoft cloud.
    #[arg(long, value_enum, default_value_t = Cloud::Global)]
    pub cloud: Cloud,
    /// Authority root URL (required with --cloud custom).
    #[arg(long)]
    pub authority_url: Option<String>,
    /// Microsoft Graph root URL (required with --cloud custom).
    #[arg(long)]
    pub graph_url: Option<String>,
    /// Directory for the CSV files (stored as an absolute path).
    #[arg(long, default_value = ".")]
    pub output_dir: PathBuf,
    /// Prefix of the CSV file names (default: the tenant's default domain).
    #[arg(long)]
    pub domain_prefix: Option<String>,
    /// Authenticate with this certificate (PEM with private key) instead of a secret.
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<PathBuf>,
    /// Extra user property to extract (repeatable).
    #[arg(long = "extra-user-attribute", value_name = "ATTRIBUTE")]
    pub extra_user_attributes: Vec<String>,
    /// Extra group property to extract (repeatable).
    #[arg(long = "extra-group-attribute", value_name = "ATTRIBUTE")]
    pub extra_group_attributes: Vec<String>,
    /// Start CSV files with a UTF-8 byte order mark (for Excel).
    #[arg(long)]
    pub bom: bool,
    /// Extra CA certificates to trust ([`EXTRA_CA_HELP`](super::connect::EXTRA_CA_HELP)).
    #[arg(long = "extra-ca", alias = "extra-ca-pem", value_name = "PEM", help = super::connect::EXTRA_CA_HELP)]
    pub extra_ca_pem: Option<PathBuf>,
    /// DISCOURAGED: keep the secret in an owner-only plain text file instead of the OS
    /// keyring (for servers with neither a keyring nor systemd credentials).
    #[arg(long)]
    pub plaintext_secret_file: bool,
}

/// Runs a `profile` subcommand.
pub async fn run(args: ProfileArgs) -> color_eyre::Result<Exit> {
    let dirs = match Dirs::from_env() {
        Ok(d) => d,
        Err(e) => return Ok(report(&e.to_string(), Exit::BadConfig)),
    };
    let profiles = ProfileStore::new(dirs);
    let result = match args.command {
        ProfileCommand::RotateSecret(a) => return Ok(super::rotate::run(&profiles, *a).await),
        ProfileCommand::List { json } => list(&profiles, json),
        ProfileCommand::Show { name, json } => show(&profiles, &name, json).await,
        ProfileCommand::Create(args) => create(&profiles, *args),
        ProfileCommand::Remove { name, force } => remove(&profiles, &name, force).await,
        ProfileCommand::Rename { old, new } => rename(&profiles, &old, &new).await,
        ProfileCommand::SetSecret {
            name,
            stdin,
            storage: None,
        } => set_secret(&profiles, &name, stdin).await,
        ProfileCommand::SetSecret {
            name,
            stdin,
            storage: Some(storage),
        } => change_storage(&profiles, &name, storage, stdin).await,
        ProfileCommand::DeleteSecret { name } => delete_secret(&profiles, &name).await,
    };
    Ok(match result {
        Ok(()) => Exit::Success,
        Err(e) => report(&e.to_string(), exit_for(&e)),
    })
}

/// Why a profile command failed.
#[derive(Debug, thiserror::Error)]
enum CommandError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error("{0}")]
    Usage(String),
    #[error("could not read the secret: {0}")]
    Input(std::io::Error),
    #[error("{0}")]
    Unfinished(String),
}

impl From<ProfileError> for CommandError {
    fn from(e: ProfileError) -> Self {
        CommandError::Lifecycle(e.into())
    }
}

impl From<SecretError> for CommandError {
    fn from(e: SecretError) -> Self {
        CommandError::Lifecycle(e.into())
    }
}

fn exit_for(e: &CommandError) -> Exit {
    match e {
        CommandError::Usage(_) => Exit::BadConfig,
        CommandError::Input(_) | CommandError::Unfinished(_) => Exit::Failure,
        CommandError::Lifecycle(LifecycleError::Profile(p)) if p.is_config_error() => {
            Exit::BadConfig
        }
        CommandError::Lifecycle(
            LifecycleError::Unchanged { .. }
            | LifecycleError::NothingToMove { .. }
            | LifecycleError::ProofNeeded { .. }
            | LifecycleError::Unrestorable { .. }
            | LifecycleError::Leftovers(_),
        ) => Exit::BadConfig,
        CommandError::Lifecycle(LifecycleError::Secret(s)) => match s {
            SecretError::KeyringFailure { .. } | SecretError::File { .. } => Exit::Failure,
            _ => Exit::BadConfig,
        },
        CommandError::Lifecycle(_) => Exit::Failure,
    }
}

fn report(message: &str, exit: Exit) -> Exit {
    crate::errln!("error: {message}");
    exit
}

fn warn(message: &str) {
    crate::errln!("warning: {message}");
}

fn list(profiles: &ProfileStore, json: bool) -> Result<(), CommandError> {
    let listed = crate::profile::summaries(profiles)?;
    // Only a hint: not finding it must not keep the profiles from being listed.
    let leftovers = lifecycle::leftovers(profiles).unwrap_or_else(|e| {
        warn(&format!(
            "could not look for what removed profiles left: {e}"
        ));
        Vec::new()
    });
    if json {
        // stdout stays the rows of the profiles; the leftovers are for the user to act on.
        for left in &leftovers {
            crate::errln!(
                "note: left of a profile that no longer exists: {}",
                left.describe()
            );
        }
        let rows: Vec<_> = listed
            .iter()
            .map(|row| {
                let last_run = row.last_run.as_ref().ok().cloned().flatten();
                match &row.profile {
                    Ok(p) => json!({
                        "name": row.name,
                        "tenant": p.tenant,
                        "client_id": p.client_id,
                        "cloud": p.cloud,
                        "last_run": last_run,
                    }),
                    Err(e) => json!({
                        "name": row.name,
                        "error": e.to_string(),
                        "last_run": last_run,
                    }),
                }
            })
            .collect();
        crate::outln!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    if listed.is_empty() {
        crate::outln!(
            "No saved profiles in {}. Create one with `entra-extract profile create` or the wizard.",
            profiles.dirs().profiles().display()
        );
    } else {
        print_profiles(&listed);
    }
    if !leftovers.is_empty() {
        crate::outln!("\nLeft of profiles that no longer exist:");
        for left in &leftovers {
            crate::outln!("  {}", left.describe());
        }
    }
    Ok(())
}

/// The table of `profile list`.
fn print_profiles(listed: &[crate::profile::ProfileSummary]) {
    let mut table = vec![[
        "NAME".to_string(),
        "TENANT".to_string(),
        "CLOUD".to_string(),
        "LAST RUN".to_string(),
    ]];
    for row in listed {
        let last = match &row.last_run {
            Ok(Some(run)) => describe_run(run),
            Ok(None) => "never".to_string(),
            Err(e) => format!("unreadable history: {e}"),
        };
        match &row.profile {
            Ok(p) => table.push([
                row.name.to_string(),
                p.tenant.to_string(),
                cloud_name(p.cloud),
                last,
            ]),
            Err(e) => table.push([
                row.name.to_string(),
                "(unreadable)".into(),
                "-".into(),
                e.to_string(),
            ]),
        }
    }
    print_table(&table);
}

fn print_table(rows: &[[String; 4]]) {
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        crate::outln!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
}

fn describe_run(run: &RunRecord) -> String {
    format!(
        "{}  {}  {} users, {} groups, {} members, {} owners{}",
        run.started.format("%Y-%m-%d %H:%M UTC"),
        run.outcome.label(),
        run.users,
        run.groups,
        run.member_edges,
        run.owner_edges,
        if run.warnings > 0 {
            format!(", {} warnings", run.warnings)
        } else {
            String::new()
        }
    )
}

fn cloud_name(cloud: Cloud) -> String {
    serde_json::to_value(cloud)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

async fn show(profiles: &ProfileStore, name: &ProfileName, json: bool) -> Result<(), CommandError> {
    let profile = profiles.load(name)?;
    let inputs = SecretInputs::from_env();
    let status = lifecycle::status(profiles, &profile, &inputs, SecretStore::open_default()).await;
    let last_run = History::new(profiles.dirs()).last_run(name).ok().flatten();
    let (presence, detail) = match &status.presence {
        Presence::Present => ("present", None),
        Presence::Absent => ("absent", None),
        Presence::Unknown(why) => ("unknown", Some(why.clone())),
        Presence::NotApplicable => ("not-applicable", None),
    };
    let overridden = status.overridden_by.map(|s| s.to_string());
    if json {
        let mut value = serde_json::to_value(&profile).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("file".into(), json!(profiles.path(name)));
            obj.insert(
                "secret".into(),
                json!({
                    "storage": status.storage,
                    "presence": presence,
                    "detail": detail,
                    "overridden_by": overridden,
                }),
            );
            obj.insert("last_run".into(), json!(last_run));
        }
        crate::outln!("{value}");
        return Ok(());
    }
    let endpoints = profile
        .endpoints()
        .map(|e| (e.authority.to_string(), e.graph.to_string()))
        .unwrap_or_else(|e| (format!("invalid: {e}"), String::new()));
    let line = |k: &str, v: &str| crate::outln!("{k:<24}{v}");
    line("Profile", profile.name.as_str());
    line("File", &profiles.path(name).display().to_string());
    line("Cloud", profile.cloud.label());
    line("Authority", &endpoints.0);
    line("Graph", &endpoints.1);
    line("Tenant", &profile.tenant);
    line("Client id", &profile.client_id);
    match &profile.credential {
        CredentialKind::Secret => line("Credential", "client secret"),
        CredentialKind::Certificate { path } => {
            line("Credential", &format!("certificate {}", path.display()))
        }
    }
    if profile.credential == CredentialKind::Secret {
        let mut s = format!("{} — {presence}", status.storage);
        if let Some(d) = &detail {
            s.push_str(&format!(" ({d})"));
        }
        line("Secret", &s);
        if let Some(o) = &overridden {
            line(
                "",
                &format!("note: the {o} is set and takes precedence at run time"),
            );
        }
    }
    line(
        "Domain prefix",
        profile
            .domain_prefix
            .as_deref()
            .unwrap_or("(the tenant's default domain)"),
    );
    line(
        "Output directory",
        &profile.output_dir.display().to_string(),
    );
    line(
        "Extra user attributes",
        &profile.extra_user_attributes.join(", "),
    );
    line(
        "Extra group attributes",
        &profile.extra_group_attributes.join(", "),
    );
    line("Byte order mark", if profile.bom { "yes" } else { "no" });
    if let Some(ca) = &profile.extra_ca_pem {
        line("Extra CA certificates", &ca.display().to_string());
    }
    line(
        "Last run",
        &last_run.map_or_else(|| "never".to_string(), |r| describe_run(&r)),
    );
    Ok(())
}

fn create(profiles: &ProfileStore, args: CreateArgs) -> Result<(), CommandError> {
    // Scheduled runs start elsewhere: store absolute paths.
    let absolute = |p: &PathBuf| {
        std::path::absolute(p)
            .map_err(|e| CommandError::Usage(format!("cannot resolve path {}: {e}", p.display())))
    };
    let output_dir = absolute(&args.output_dir)?;
    let certificate = args.certificate.as_ref().map(absolute).transpose()?;
    let extra_ca_pem = args.extra_ca_pem.as_ref().map(absolute).transpose()?;
    let mut profile = Profile::new(args.name, args.tenant, args.client_id);
    profile.cloud = args.cloud;
    profile.authority_url = args.authority_url;
    profile.graph_url = args.graph_url;
    profile.output_dir = output_dir;
    profile.domain_prefix = args.domain_prefix;
    profile.extra_user_attributes = args.extra_user_attributes;
    profile.extra_group_attributes = args.extra_group_attributes;
    profile.bom = args.bom;
    profile.extra_ca_pem = extra_ca_pem;
    if let Some(path) = certificate {
        if args.plaintext_secret_file {
            return Err(CommandError::Usage(
                "--plaintext-secret-file makes no sense with --certificate".into(),
            ));
        }
        profile.credential = CredentialKind::Certificate { path };
    }
    if args.plaintext_secret_file {
        profile.secret_storage = SecretStorage::PlaintextFile;
    }
    lifecycle::refuse_leftovers(profiles, &profile.name)?;
    profiles.create(&profile)?;
    crate::outln!(
        "Created profile {} in {}.",
        profile.name,
        profiles.path(&profile.name).display()
    );
    if profile.secret_storage == SecretStorage::PlaintextFile {
        warn(&format!(
            "profile {} will keep its client secret in a plain text file ({}), not in the OS keyring; \
             anyone who can read that file can read the whole directory",
            profile.name,
            secret::plaintext::path(profiles.dirs(), &profile.name).display()
        ));
    }
    if profile.credential == CredentialKind::Secret {
        crate::outln!(
            "Next: store its client secret with `entra-extract profile set-secret {}`.",
            profile.name
        );
    }
    Ok(())
}

async fn remove(
    profiles: &ProfileStore,
    name: &ProfileName,
    force: bool,
) -> Result<(), CommandError> {
    let removed = lifecycle::remove(profiles, name, force, SecretStore::open_default()).await?;
    crate::outln!("{}", removed.summary(profiles, name));
    for w in removed.warnings(profiles, name) {
        warn(&w);
    }
    Ok(())
}

async fn rename(
    profiles: &ProfileStore,
    old: &ProfileName,
    new: &ProfileName,
) -> Result<(), CommandError> {
    if let Some(why) = crate::schedule::rename_blocker(profiles, old, new) {
        return Err(CommandError::Usage(why));
    }
    let renamed = lifecycle::rename(profiles, old, new, SecretStore::open_default()).await?;
    let moved = match renamed.old_copy {
        SecretRemoval::Deleted(_) => "stored secret, run history",
        _ => "run history",
    };
    crate::outln!(
        "Renamed profile {old} to {new}; its {moved} and incremental state moved with it."
    );
    for w in renamed
        .warnings
        .iter()
        .cloned()
        .chain(renamed.old_copy.warning(profiles, old))
        .chain(renamed.unfinished)
    {
        warn(&w);
    }
    Ok(())
}

async fn set_secret(
    profiles: &ProfileStore,
    name: &ProfileName,
    from_stdin: bool,
) -> Result<(), CommandError> {
    let profile = profiles.load(name)?;
    if let CredentialKind::Certificate { .. } = profile.credential {
        return Err(SecretError::CertificateProfile {
            profile: name.clone(),
        }
        .into());
    }
    let value = read_secret(name, from_stdin)?;
    let stored =
        lifecycle::set_secret(profiles, &profile, &value, SecretStore::open_default()).await?;
    drop(value);
    for w in &stored.warnings {
        warn(w);
    }
    crate::outln!(
        "Stored the client secret of profile {name} in {}.",
        stored.now.unwrap_or_default()
    );
    if let Some(source) = SecretInputs::from_env().override_source(Some(name)) {
        warn(&format!(
            "the {source} is set here and takes precedence over the stored secret at run time"
        ));
    }
    Ok(())
}

/// `delete-secret NAME`: the copies of the secret the profile does not sign in with go.
async fn delete_secret(profiles: &ProfileStore, name: &ProfileName) -> Result<(), CommandError> {
    let unused = lifecycle::delete_unused(profiles, name, SecretStore::open_default()).await?;
    let mut deleted = false;
    let mut failed = Vec::new();
    for copy in &unused.copies {
        if let SecretRemoval::Deleted(place) = copy {
            crate::outln!("Deleted the secret of {name} from {place}.");
            deleted = true;
        }
        failed.extend(copy.warning(profiles, name));
    }
    if !deleted && failed.is_empty() {
        crate::outln!("There was no copy of the secret of {name} to delete.");
    }
    if let Some(why) = &unused.keyring_unreached {
        warn(&format!(
            "the OS keyring could not be reached ({why}): a copy of the secret may remain there, under service \"{}\", user \"{}\"; run this again where the keyring can be reached",
            secret::KEYRING_SERVICE,
            secret::keyring_user(name)
        ));
    }
    if let Some(place) = &unused.in_use {
        crate::outln!(
            "Profile {name} signs in with its secret in {place}, which stays (`entra-extract profile remove {name}` removes the profile with it)."
        );
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(CommandError::Unfinished(failed.join("; "))),
    }
}

/// `set-secret NAME --storage S`: the secret moves (or, with --stdin or when it cannot be
/// read, is given), then the old copy goes.
async fn change_storage(
    profiles: &ProfileStore,
    name: &ProfileName,
    storage: SecretStorage,
    from_stdin: bool,
) -> Result<(), CommandError> {
    let change = |given: Option<SecretString>| {
        lifecycle::change_storage(
            profiles,
            name,
            storage,
            given,
            SecretInputs::from_env(),
            SecretStore::open_default(),
        )
    };
    let given = from_stdin.then(|| read_secret(name, true)).transpose()?;
    let changed = match change(given).await {
        // Nothing readable to move, or the only copy to prove: ask, on a terminal.
        Err(LifecycleError::NothingToMove { .. } | LifecycleError::ProofNeeded { .. })
            if !from_stdin && std::io::stdin().is_terminal() =>
        {
            change(Some(read_secret(name, false)?)).await?
        }
        other => other?,
    };
    for w in &changed.warnings {
        warn(w);
    }
    crate::outln!(
        "Profile {name} now keeps its client secret in {}.",
        changed.now.unwrap_or_default()
    );
    if let SecretRemoval::Deleted(place) = &changed.old_copy {
        crate::outln!("Deleted the old copy from {place}.");
    }
    for w in changed
        .old_copy
        .warning(profiles, name)
        .into_iter()
        .chain(changed.unfinished)
    {
        warn(&w);
    }
    if !storage.is_stored() {
        crate::outln!(
            "Each run now needs it: {}.",
            match storage {
                SecretStorage::SystemdCredential => format!(
                    "LoadCredential={}:/path/to/file in the unit (`entra-extract schedule add --credential-file FILE` writes it), or {}",
                    secret::SYSTEMD_CREDENTIAL,
                    secret::SECRET_ENV
                ),
                _ => format!("{} in its environment", secret::SECRET_ENV),
            }
        );
    }
    Ok(())
}

/// Reads the secret from stdin, or from the terminal without echo.
fn read_secret(name: &ProfileName, from_stdin: bool) -> Result<SecretString, CommandError> {
    let raw = if from_stdin {
        // Room for any real secret up front, so growing never leaves copies in freed memory.
        let mut buf = String::with_capacity(8192);
        std::io::stdin()
            .read_to_string(&mut buf)
            .map_err(CommandError::Input)?;
        buf
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!(
            "Client secret VALUE for profile {name} (input hidden): "
        ))
        .map_err(CommandError::Input)?
    } else {
        return Err(CommandError::Usage(
            "standard input is not a terminal; pass --stdin to read the secret from it".into(),
        ));
    };
    let value = secret::trim_line_end(raw);
    Ok(secret::into_secret(value))
}
