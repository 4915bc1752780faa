//! `entra-extract app create|delete`: an administrator signs in with a device code and the
//! program creates its own app registration, grants admin consent, adds a secret straight into
//! a new profile's keyring entry, waits for Entra to replicate it and checks the permissions.
//! `--print-script` prints the same as an Azure CLI or PowerShell script instead.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use super::Exit;
use super::connect::{Failure, cancel_on_signals, graph_failure};
use crate::graph::{
    AdminSignInError, ClientId, Cloud, DEFAULT_ADMIN_CLIENT_ID, DeviceCodePrompt, GraphClient,
    TenantRef,
};
use crate::profile::{Dirs, ProfileName, ProfileStore, SecretStorage};
use crate::registration::replication::WaitNotice;
use crate::registration::script::{ScriptKind, ScriptPlan, render};
use crate::registration::{self as reg, Blueprint, Created, DEFAULT_DISPLAY_NAME, SecretLifetime};
use crate::secret::StoreChoice;
use crate::session::admin::{AdminTarget, NewProfile};
use crate::session::new_app::{
    NewAppError, NewAppEvent, NewAppRequest, create_new_app, writable_keyring,
};

/// Arguments of `entra-extract app`.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(subcommand)]
    pub command: AppCommand,
}

/// `app` subcommands.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Sign in as an administrator (device code) and create the app registration, its admin
    /// consent and a client secret, saved as a new profile (the secret goes straight into the
    /// keyring and is never shown).
    Create(Box<CreateAppArgs>),
    /// Delete an app registration (and its service principal, consent and secrets), e.g. one
    /// a failed `app create` left behind.
    Delete(DeleteAppArgs),
}

/// Where the administrator signs in.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// Directory (tenant) ID or a verified domain of the tenant.
    #[arg(long)]
    pub tenant: TenantRef,
    /// Public client used for the administrator's device code sign-in (default: Microsoft
    /// Graph Command Line Tools).
    #[arg(long, value_name = "GUID", default_value = DEFAULT_ADMIN_CLIENT_ID)]
    pub admin_client_id: ClientId,
    /// Microsoft cloud.
    #[arg(long, value_enum, default_value_t = Cloud::Global)]
    pub cloud: Cloud,
    /// Authority root URL (required with --cloud custom).
    #[arg(long, value_name = "URL")]
    pub authority_url: Option<String>,
    /// Microsoft Graph root URL (required with --cloud custom).
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// Extra CA certificates to trust ([`EXTRA_CA_HELP`](super::connect::EXTRA_CA_HELP)).
    #[arg(long = "extra-ca", alias = "extra-ca-pem", value_name = "PEM", help = super::connect::EXTRA_CA_HELP)]
    pub extra_ca_pem: Option<PathBuf>,
}

impl AdminArgs {
    fn target(&self) -> AdminTarget {
        AdminTarget {
            cloud: self.cloud,
            authority_url: self.authority_url.clone(),
            graph_url: self.graph_url.clone(),
            tenant: self.tenant.clone(),
            admin_client_id: self.admin_client_id.clone(),
            extra_ca_pem: self.extra_ca_pem.clone(),
        }
    }
}

/// What to do with what was created when a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnFailure {
    /// Ask on a terminal; keep (and say how to delete it) otherwise.
    Ask,
    /// Delete it at once.
    Remove,
    /// Keep it and print how to delete it.
    Keep,
}

/// Arguments of `entra-extract app create`.
#[derive(Debug, Args)]
pub struct CreateAppArgs {
    /// Name of the profile to create for the new app registration.
    #[arg(long, value_name = "NAME", required_unless_present = "print_script")]
    pub profile: Option<ProfileName>,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Display name of the app registration.
    #[arg(long, default_value = DEFAULT_DISPLAY_NAME)]
    pub name: String,
    /// How long the client secret stays valid: 90, 180 (default, the portal's
    /// recommendation), 365, 545 or 730 days; also 6m, 12 months …
    #[arg(long, value_name = "DAYS", default_value = "180")]
    pub secret_expiry: SecretLifetime,
    /// Directory for the profile's CSV files (stored as an absolute path).
    #[arg(long, default_value = ".")]
    pub output_dir: PathBuf,
    /// DISCOURAGED: keep the secret in an owner-only plain text file instead of the OS keyring.
    #[arg(long)]
    pub plaintext_secret_file: bool,
    /// Print an equivalent script (bash + Azure CLI, or Microsoft Graph PowerShell) and
    /// change nothing.
    #[arg(long, value_enum, value_name = "KIND")]
    pub print_script: Option<ScriptKind>,
    /// When a step fails: ask, remove what was created, or keep it.
    #[arg(long, value_enum, default_value_t = OnFailure::Ask)]
    pub on_failure: OnFailure,
    /// How long to wait for Entra to accept the new secret (e.g. 90s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = super::connect::parse_duration)]
    pub replication_timeout: Duration,
}

/// Arguments of `entra-extract app delete`.
#[derive(Debug, Args)]
pub struct DeleteAppArgs {
    /// Application (client) id of the app registration to delete.
    #[arg(long, value_name = "GUID")]
    pub app_id: ClientId,
    #[command(flatten)]
    pub admin: AdminArgs,
}

/// Runs an `app` subcommand.
pub async fn run(args: AppArgs) -> color_eyre::Result<Exit> {
    Ok(match args.command {
        AppCommand::Create(a) => create(*a).await.unwrap_or_else(Failure::report),
        AppCommand::Delete(a) => delete(a).await.unwrap_or_else(Failure::report),
    })
}

fn bad(m: impl Into<String>) -> Failure {
    Failure::new(Exit::BadConfig, m)
}

fn status(line: &str) {
    crate::errln!("{line}");
}

/// Signs the administrator in: shows Entra's instruction, waits for the approval.
pub async fn sign_in_admin(
    admin: &AdminTarget,
    cancel: CancellationToken,
) -> Result<GraphClient, Failure> {
    let client = admin.client(cancel).map_err(|e| bad(e.to_string()))?;
    match client.sign_in_admin(show_prompt).await {
        Ok(who) => {
            status(&format!("Signed in as {}.", who.label()));
            Ok(client)
        }
        Err(AdminSignInError::Graph(e)) => Err(graph_failure(&e)),
        Err(e) => Err(Failure::new(Exit::AuthFailed, e.to_string())),
    }
}

async fn create(args: CreateAppArgs) -> Result<Exit, Failure> {
    let admin = args.admin.target();
    if let Some(kind) = args.print_script {
        return print_script(kind, &args, &admin);
    }
    let Some(name) = args.profile.clone() else {
        return Err(bad("give --profile NAME for the new app registration"));
    };
    if args.name.trim().is_empty() {
        return Err(bad("--name must not be empty"));
    }
    // Everything that can be checked before anything is created is checked first.
    let dirs = Dirs::from_env().map_err(|e| bad(e.to_string()))?;
    let profiles = ProfileStore::new(dirs);
    if profiles.exists(&name) {
        return Err(bad(format!(
            "profile {name} already exists: choose another --profile name, or remove it first (`entra-extract profile remove {name}`)"
        )));
    }
    crate::secret::lifecycle::refuse_leftovers(&profiles, &name).map_err(|e| bad(e.to_string()))?;
    let output_dir = std::path::absolute(&args.output_dir)
        .map_err(|e| bad(format!("cannot resolve {}: {e}", args.output_dir.display())))?;
    let secret_storage = if args.plaintext_secret_file {
        SecretStorage::PlaintextFile
    } else {
        SecretStorage::Keyring
    };
    let keyring = new_app_keyring(secret_storage).await?;
    let request = NewAppRequest {
        admin,
        profile: NewProfile {
            name: name.clone(),
            output_dir,
            secret_storage,
        },
        blueprint: Blueprint {
            display_name: args.name.trim().to_string(),
            secret_lifetime: args.secret_expiry,
        },
        replication_timeout: args.replication_timeout,
    };
    let cancel = CancellationToken::new();
    cancel_on_signals(cancel.clone());
    let mut notice = WaitNotice::default();
    let created = create_new_app(&request, &profiles, keyring, cancel, |event| match event {
        NewAppEvent::SignIn(prompt) => show_prompt(prompt),
        NewAppEvent::SignedIn(who) => status(&format!("Signed in as {}.", who.label())),
        NewAppEvent::Step(step) => status(&format!("{} …", step.describe())),
        NewAppEvent::Storing => status("Storing the secret …"),
        NewAppEvent::Waiting(w) => notice.due(w).iter().for_each(|l| status(l)),
        NewAppEvent::Checking => {
            status("Signed in with the new secret; checking the permissions …")
        }
    })
    .await;
    let done = match created {
        Ok(done) => done,
        Err(e) => {
            let exit = failure_exit(&e);
            crate::errln!("error: {e}");
            return Ok(match e.leftovers() {
                Some((created, client)) => {
                    clean_up(client, created, &args.admin, args.on_failure, exit).await
                }
                None => exit,
            });
        }
    };
    status(&format!(
        "Created app registration {:?} (client id {}); its secret (valid until {}) is in {}.",
        request.blueprint.display_name, done.app_id, done.secret_end, done.stored
    ));
    let Some(report) = done.report else {
        crate::errln!("error: {}", done.unchecked.unwrap_or_default());
        crate::errln!(
            "The profile {name} is saved with its secret; run `entra-extract check --profile {name}` later."
        );
        return Ok(Exit::AuthFailed);
    };
    crate::out!("{}", super::check::render(&report));
    if !report.all_granted() {
        return Ok(Exit::PermissionMissing);
    }
    crate::outln!(
        "Profile {name} is ready: `entra-extract run --profile {name}` (or open `entra-extract` and choose it)."
    );
    Ok(Exit::Success)
}

/// The keyring a new app's secret goes to, checked writable before anything is created
/// (`None`: it goes to a plaintext file).
async fn new_app_keyring(
    secret_storage: SecretStorage,
) -> Result<Option<crate::secret::SecretStore>, Failure> {
    match secret_storage {
        SecretStorage::Keyring => {
            let choice = StoreChoice::from_env().map_err(|e| bad(e.to_string()))?;
            Ok(Some(writable_keyring(choice).await.map_err(|e| {
                bad(format!(
                    "{}\n  nothing was created: the new secret would have nowhere to go. A created \
                     secret cannot come from the environment: on Linux choose the kernel keyring \
                     (ENTRA_EXTRACT_KEYRING_STORE=keyutils, emptied at reboot), or, as a last \
                     resort, add --plaintext-secret-file (an owner-only file)",
                    keyring_problem(&e)
                ))
            })?))
        }
        _ => Ok(None),
    }
}

/// The exit code of a new app that failed: what it concerns.
fn failure_exit(e: &NewAppError) -> Exit {
    match e {
        NewAppError::SignIn(AdminSignInError::Graph(g)) | NewAppError::Check(g) => {
            graph_failure(g).exit
        }
        NewAppError::SignIn(_) => Exit::AuthFailed,
        _ if e.is_access_denied() => Exit::PermissionMissing,
        NewAppError::Create { failure, .. } => graph_failure(&failure.error).exit,
        _ => Exit::Failure,
    }
}

/// A keyring error without the advice on supplying an existing secret (which does not apply
/// to one the program creates).
fn keyring_problem(e: &crate::secret::SecretError) -> String {
    let text = e.to_string();
    match text.split_once(". On a server without a keyring") {
        Some((problem, _)) => format!("{problem}."),
        None => text,
    }
}

/// Entra's sign-in instruction, and how long the code lasts.
pub fn show_prompt(prompt: &DeviceCodePrompt) {
    status(&format!(
        "\n{}\n(The code is valid for {}; waiting for the approval …)\n",
        prompt.message,
        crate::graph::human_duration(prompt.expires_in)
    ));
}

/// Reports what exists after a failure and removes it or says how.
async fn clean_up(
    client: &GraphClient,
    created: &Created,
    admin: &AdminArgs,
    on_failure: OnFailure,
    exit: Exit,
) -> Exit {
    if created.is_empty() {
        crate::errln!("Nothing was created.");
        return exit;
    }
    crate::errln!("These were created before the failure:");
    for line in created.lines() {
        crate::errln!("  - {line}");
    }
    let remove = match on_failure {
        OnFailure::Remove => true,
        OnFailure::Keep => false,
        OnFailure::Ask => {
            std::io::stdin().is_terminal()
                && std::io::stderr().is_terminal()
                && ask("Delete them now? [y/N] ")
        }
    };
    let app_id = created.app_id.clone().unwrap_or_default();
    // Ctrl-C may have stopped the step that failed; the deletion must still run.
    let detached = client.detached();
    let client = detached.as_ref().unwrap_or(client);
    if remove {
        match reg::remove(client, created).await {
            Ok(()) => {
                crate::errln!("Deleted the app registration {app_id} and everything above with it.")
            }
            Err(e) => crate::errln!(
                "error: deleting it failed: {e}\n  delete it with `entra-extract app delete --app-id {app_id} {}`, or in the portal (App registrations > {app_id} > Delete)",
                admin_flags(admin)
            ),
        }
    } else {
        crate::errln!(
            "Kept. To delete it: `entra-extract app delete --app-id {app_id} {}`.",
            admin_flags(admin)
        );
    }
    exit
}

fn admin_flags(a: &AdminArgs) -> String {
    let mut s = format!("--tenant {}", a.tenant);
    if a.cloud != Cloud::Global {
        s += &format!(" --cloud {}", crate::session::cloud_name(a.cloud));
    }
    for (flag, v) in [
        ("--authority-url", &a.authority_url),
        ("--graph-url", &a.graph_url),
    ] {
        if let Some(v) = v {
            s += &format!(" {flag} {v}");
        }
    }
    if a.admin_client_id.as_str() != DEFAULT_ADMIN_CLIENT_ID {
        s += &format!(" --admin-client-id {}", a.admin_client_id);
    }
    s
}

fn ask(question: &str) -> bool {
    crate::cli::stdout::write_err(format_args!("{question}"));
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).is_ok() && line.trim().eq_ignore_ascii_case("y")
}

fn print_script(
    kind: ScriptKind,
    args: &CreateAppArgs,
    admin: &AdminTarget,
) -> Result<Exit, Failure> {
    let endpoints = crate::graph::Endpoints::resolve(
        admin.cloud,
        admin.authority_url.as_deref(),
        admin.graph_url.as_deref(),
    )
    .map_err(|e| bad(e.to_string()))?;
    let profile = args
        .profile
        .as_ref()
        .map_or("entra-extract".to_string(), ToString::to_string);
    let tenant = admin.tenant.to_string();
    let plan = ScriptPlan {
        tenant: &tenant,
        display_name: args.name.trim(),
        lifetime: args.secret_expiry,
        profile: &profile,
        cloud: admin.cloud,
        graph_root: endpoints.graph.as_str(),
    };
    crate::out!("{}", render(kind, &plan));
    Ok(Exit::Success)
}

async fn delete(args: DeleteAppArgs) -> Result<Exit, Failure> {
    let cancel = CancellationToken::new();
    cancel_on_signals(cancel.clone());
    let client = sign_in_admin(&args.admin.target(), cancel).await?;
    let app = client
        .get_json(&format!(
            "/applications(appId='{}')?$select=id,displayName",
            args.app_id
        ))
        .await
        .map_err(|e| graph_failure(&e))?;
    let created = Created {
        application_id: app["id"].as_str().map(str::to_string),
        app_id: Some(args.app_id.to_string()),
        ..Created::default()
    };
    reg::remove(&client, &created)
        .await
        .map_err(|e| graph_failure(&e))?;
    crate::outln!(
        "Deleted the app registration {:?} ({}) with its service principal, consent and secrets.",
        app["displayName"].as_str().unwrap_or_default(),
        args.app_id
    );
    Ok(Exit::Success)
}
