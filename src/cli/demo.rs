//! `entra-extract demo`: the whole product against the built-in simulated tenant. Starts the
//! simulator in-process on loopback and opens the wizard with its demo app registrations;
//! `--headless` runs the extraction straight away instead (scripts, CI).
//!
//! The demo never touches the user's real profiles or keyring: profiles live in a temporary
//! directory and secrets in an in-memory store, both gone when the demo exits.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use color_eyre::eyre::WrapErr;

use super::Exit;
use super::connect::{ConnectArgs, Connection};
use super::run::{RunArgs, run_connected};
use crate::graph::Cloud;
use crate::profile::Dirs;
use crate::secret::StoreChoice;
use crate::session::AppTarget;
use crate::tui::{DemoChoice, WizardOptions};
use entra_sim::{DemoApp, DemoAppKind, Preset, SimConfig};

/// Arguments of `entra-extract demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Size of the simulated tenant: demo (2,500 users), small (150), m (10,000) or l
    /// (100,000).
    #[arg(long, default_value = "demo")]
    pub scenario: Preset,
    /// Simulated network latency per request, in milliseconds (default: 120 for the wizard,
    /// so its live progress can be watched for a few seconds; 0 with --headless).
    #[arg(long, value_name = "MS")]
    pub latency_ms: Option<u64>,
    /// Extra simulated latency per object returned, in microseconds (default: 800 for the
    /// wizard, 0 with --headless).
    #[arg(long, value_name = "US")]
    pub per_item_us: Option<u64>,
    /// Where the CSV files go.
    #[arg(long, short = 'o', default_value = "entra-extract-demo")]
    pub output_dir: PathBuf,
    /// Skip the wizard: extract with the fully consented demo app and print the summary.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: print the run summary as JSON.
    #[arg(long, requires = "headless")]
    pub json: bool,
    /// Behave as on a machine without an OS keyring (an SSH jump host): the save step says
    /// so and offers the other ways to supply the secret.
    #[arg(long)]
    pub no_keyring: bool,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> color_eyre::Result<Exit> {
    if !args.headless
        && let Some(refused) = super::refuse_without_terminal()
    {
        return Ok(refused);
    }
    // The wizard runs behind realistic latency (the benchmark profile: 120 ms a request
    // plus 0.8 ms an object) so its per-object progress is visible; headless stays quick.
    let (base_ms, item_us) = if args.headless { (0, 0) } else { (120, 800) };
    let sim = entra_sim::start(SimConfig {
        preset: args.scenario,
        latency: entra_sim::LatencyModel {
            base: std::time::Duration::from_millis(args.latency_ms.unwrap_or(base_ms)),
            per_item: std::time::Duration::from_micros(args.per_item_us.unwrap_or(item_us)),
        },
        // "Create an app registration": the simulated Global Administrator approves each
        // sign-in at once, and the wizard polls every second.
        device_approval: Some(entra_sim::DeviceApproval::Approve(
            entra_sim::SimAdmin::GlobalAdmin,
        )),
        device_poll_interval: std::time::Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await
    .wrap_err("could not start the simulated tenant")?;
    let exit = if args.headless {
        headless(&sim, &args).await
    } else {
        wizard(&sim, &args).await
    };
    sim.shutdown().await;
    exit
}

fn choice(sim: &entra_sim::SimHandle, app: &DemoApp) -> Option<DemoChoice> {
    let (label, description) = match app.kind {
        DemoAppKind::Full => (
            "Fully consented",
            "Directory.Read.All and Member.Read.Hidden granted: everything is extracted.",
        ),
        DemoAppKind::NoHidden => (
            "Missing Member.Read.Hidden",
            "Hidden-membership groups are flagged as unreadable; the permission step shows the fix.",
        ),
        DemoAppKind::NoGrants => (
            "No permissions granted",
            "Sign-in works, but both permissions are missing: see the exact remediation.",
        ),
        DemoAppKind::OverPrivileged => (
            "Over-privileged",
            "Also holds write permissions it does not need: a least-privilege warning.",
        ),
        DemoAppKind::ExpiredSecret => (
            "Expired secret",
            "The secret expired: validation points at the secret field (AADSTS7000222).",
        ),
        DemoAppKind::Certificate => return None,
    };
    Some(DemoChoice {
        label: label.into(),
        description: description.into(),
        tenant: sim.tenant_id().to_string(),
        client_id: app.client_id.clone(),
        secret: crate::secret::into_secret(app.client_secret.clone()),
        authority_url: sim.base_url().to_string(),
        graph_url: sim.base_url().to_string(),
    })
}

async fn wizard(sim: &entra_sim::SimHandle, args: &DemoArgs) -> color_eyre::Result<Exit> {
    let home = tempfile::Builder::new()
        .prefix("entra-extract-demo-")
        .tempdir()
        .wrap_err("could not create the demo's temporary profile directory")?;
    let dirs = Dirs::new(home.path().join("config"), home.path().join("data"));
    let keyring = if args.no_keyring {
        StoreChoice::Unreachable
    } else {
        StoreChoice::Memory
    };
    let services =
        Arc::new(crate::session::wizard::LiveServices::new(dirs, keyring).without_schedules());
    let options = WizardOptions {
        demo_apps: sim.apps().iter().filter_map(|a| choice(sim, a)).collect(),
        default_output_dir: args.output_dir.clone(),
        ..WizardOptions::default()
    };
    let ran = crate::tui::run(services.clone(), options).await;
    for line in services.leftover_report() {
        crate::errln!("warning: {line}");
    }
    ran?;
    Ok(Exit::Success)
}

async fn headless(sim: &entra_sim::SimHandle, args: &DemoArgs) -> color_eyre::Result<Exit> {
    let app = sim.app(DemoAppKind::Full);
    crate::errln!(
        "Simulated tenant {} ({}) at {}",
        sim.default_domain(),
        sim.tenant_id(),
        sim.base_url()
    );
    let target = AppTarget {
        cloud: Cloud::Custom,
        authority_url: Some(sim.base_url().to_string()),
        graph_url: Some(sim.base_url().to_string()),
        tenant: crate::graph::TenantRef::parse(sim.tenant_id())?,
        client_id: crate::graph::ClientId::parse(&app.client_id)?,
        credential: crate::graph::Credential::Secret(crate::secret::into_secret(
            app.client_secret.clone(),
        )),
        extra_ca_pem: None,
    };
    let client = target.client()?;
    let conn = Connection {
        client,
        profile: None,
        dirs: None,
        cloud: Cloud::Custom,
        secret_notes: Default::default(),
    };
    let run_args = RunArgs {
        connect: ConnectArgs::default(),
        all: false,
        jobs: 2,
        output_dir: Some(args.output_dir.clone()),
        domain_prefix: None,
        bom: false,
        extra_user_attributes: Vec::new(),
        extra_group_attributes: Vec::new(),
        workers: 4,
        plan: Default::default(),
        full: false,
        json: args.json,
        quiet: false,
    };
    run_connected(conn, &run_args).await
}
