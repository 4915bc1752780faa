//! `entra-extract sim`: serve the simulated tenant.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use color_eyre::eyre::{WrapErr, bail};

use super::Exit;
use entra_sim::{
    DemoAppKind, DeviceApproval, FaultSpec, HiddenMembers, LatencyModel, LatencyProfile, Preset,
    SimConfig, SizeSpec, TlsOptions,
};

const FAULT_HELP: &str = "\
Inject a fault (repeatable). Syntax: KIND[=ARG]@TRIGGER[;path=PREFIX][;method=METHOD][;query=TEXT]
  KIND:    404 | 500 | 503[=RETRY_AFTER] | 504[=RETRY_AFTER] | 429[=RETRY_AFTER]
           (RETRY_AFTER: seconds like 2.5, or date:SECS for an HTTP-date SECS ahead)
           reset (connection reset mid-body) | slow=MILLIS | malformed (truncated JSON)
           deleted-group (member/owner fetch answers 404)
           token-expiry (all tokens issued so far become invalid)
           expired-skiptoken (400 Directory_ExpiredPageToken on a paged request)
  TRIGGER: every=N | at=N,M,... | rate=P (0..1, deterministic from --seed) | always
           counted over the requests the fault can apply to (1-based)
  path=PREFIX limits it to Graph paths (after /v1.0) starting with PREFIX
           (* matches within one segment: /applications/*/removePassword)
  method=METHOD limits it to requests of that method (POST, DELETE, ...)
  query=TEXT limits it to requests whose query string (percent-decoded) contains TEXT,
           ignoring case; repeat it to require several (query=startswith;query=$select)
Examples: 503=2.5@every=10   reset@at=3   deleted-group@at=2   429=1@rate=0.05;path=/groups
          503=0@always;path=/users/$count;query=startswith (the probes of a split listing)";

/// Arguments of `entra-extract sim`.
#[derive(Debug, Args)]
#[command(after_long_help = FAULT_HELP)]
pub struct SimArgs {
    /// Tenant size: small (~150 users, every edge case), demo (2,500 users, what `demo` shows),
    /// m (10k users), l (100k users), xl (1M users, 250k groups, ~10M member edges).
    #[arg(long, default_value = "small", value_parser = clap::value_parser!(Preset))]
    pub scenario: Preset,
    /// Generate this many users instead of the scenario's; the counts not given follow l's
    /// shape scaled to them (a group for every 4 users, 10 member edges a user, a device for
    /// every 10, a contact for every 50, a service principal for every 200).
    #[arg(long, value_name = "N")]
    pub users: Option<usize>,
    /// Generate this many groups (the first twelve are the hand-made edge cases).
    #[arg(long, value_name = "N")]
    pub groups: Option<usize>,
    /// About this many member edges in all (long-tailed: All Staff holds every user and,
    /// from 10,000 users, five groups hold 5–50 % of them; the rest share what is left).
    #[arg(long, value_name = "N")]
    pub member_edges: Option<usize>,
    /// Seed for the generated data, secrets and rate-based faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Serve HTTPS with a generated certificate (write its CA with --cert-out).
    #[arg(long)]
    pub tls: bool,
    /// Where to write the CA certificate (PEM) clients must trust in --tls mode.
    #[arg(long, requires = "tls")]
    pub cert_out: Option<PathBuf>,
    /// In --tls mode, serve one self-signed certificate marked CA:TRUE (as `openssl req
    /// -x509` makes) instead of a leaf signed by a separate CA.
    #[arg(long, requires = "tls")]
    pub tls_self_signed: bool,
    /// Write the certificate demo app's certificate and private key (PEM) here.
    #[arg(long)]
    pub cert_app_out: Option<PathBuf>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3599)]
    pub token_lifetime: u64,
    /// Latency, concurrency and throttling preset: `bench` = 120 ms a response + 0.8 ms a
    /// returned object, 32 requests in flight per app, the documented RU budget (throttling
    /// on). The flags below override its parts.
    #[arg(long, default_value = "none", value_parser = clap::value_parser!(LatencyProfile))]
    pub latency_profile: LatencyProfile,
    /// Simulated base latency per Graph response, in milliseconds [default: 0, 120 under
    /// --latency-profile bench].
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Simulated extra latency per returned object, in microseconds [default: 0, 800 under
    /// --latency-profile bench].
    #[arg(long)]
    pub per_item_us: Option<u64>,
    /// Graph requests one app may have in flight; more queue in arrival order (token
    /// requests are not limited) [default: no limit, 32 under --latency-profile bench].
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Speed-up of the simulated clock: latency and the throttling window shrink together.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Disable resource-unit throttling.
    #[arg(long)]
    pub no_throttle: bool,
    /// Resource-unit budget per app per 10 s (default by tenant size: 3,500 / 5,000 / 8,000).
    #[arg(long)]
    pub ru_budget: Option<u32>,
    /// Members of HiddenMembership groups without Member.Read.Hidden: 403 or an empty list.
    #[arg(long, default_value = "forbidden", value_parser = clap::value_parser!(HiddenMembers))]
    pub hidden_members: HiddenMembers,
    /// Inject a fault (repeatable); see --help for the syntax.
    #[arg(long = "fault", value_name = "SPEC", value_parser = clap::value_parser!(FaultSpec))]
    pub faults: Vec<FaultSpec>,
    /// Replace a demo app's Graph app roles, e.g. `no-grants=GroupMember.Read.All,User.Read.All`
    /// (an empty list after `=` grants nothing). Repeatable.
    #[arg(long = "grant", value_name = "APP=ROLES", value_parser = parse_grant)]
    pub grants: Vec<(DemoAppKind, Vec<String>)>,
    /// Write the ground truth (what a correct extraction contains) as JSON and keep serving.
    #[arg(long)]
    pub truth_out: Option<PathBuf>,
    /// Write digests of the files a correct extraction writes (rows and an order-independent
    /// hash per file, JSON) and keep serving: the ground truth of a tenant too big for
    /// --truth-out to be read whole (scripts/bench checks xl with it).
    #[arg(long, value_name = "FILE")]
    pub truth_digest_out: Option<PathBuf>,
    /// Answer every device code sign-in as this person (global-admin, app-admin, user) or
    /// decline it; without it sign-ins wait for POST /_sim/device/approve or /decline.
    #[arg(long, value_name = "WHO", value_parser = clap::value_parser!(DeviceApproval))]
    pub device_approve: Option<DeviceApproval>,
    /// How long a device sign-in code stays valid, in seconds.
    #[arg(long, default_value_t = 900)]
    pub device_code_lifetime_secs: u64,
    /// Polling interval a device code response asks for, in seconds (at least 1).
    #[arg(long, default_value_t = 5)]
    pub device_poll_interval_secs: u64,
    /// How long a newly added client secret is refused (AADSTS7000215) before it has
    /// replicated, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub replication_delay_ms: u64,
}

/// Parses `APP=ROLE,ROLE`.
fn parse_grant(s: &str) -> Result<(DemoAppKind, Vec<String>), String> {
    let (app, roles) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected APP=ROLE,ROLE (e.g. no-grants=User.Read.All)"))?;
    let kind: DemoAppKind = app.trim().parse()?;
    let roles = roles
        .split(',')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    Ok((kind, roles))
}

impl SimArgs {
    /// The counts `--users`, `--groups` and `--member-edges` ask for (`None`: the scenario's).
    fn size(&self) -> Option<SizeSpec> {
        if self.users.is_none() && self.groups.is_none() && self.member_edges.is_none() {
            return None;
        }
        let mut size = self
            .users
            .map_or_else(|| self.scenario.size(), SizeSpec::shaped_like_l);
        size.groups = self.groups.unwrap_or(size.groups);
        size.member_edges = self.member_edges.unwrap_or(size.member_edges);
        Some(size)
    }

    /// The simulator configuration these arguments describe.
    pub fn to_config(&self) -> color_eyre::Result<SimConfig> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            bail!("--time-scale must be a positive number");
        }
        let base = self.latency_profile.apply(SimConfig::default());
        let mut c = SimConfig {
            preset: self.scenario,
            size: self.size(),
            seed: self.seed,
            port: self.port,
            tls: self.tls.then(|| TlsOptions {
                cert_out: self.cert_out.clone(),
                self_signed: self.tls_self_signed,
            }),
            token_lifetime: Duration::from_secs(self.token_lifetime.max(1)),
            latency: LatencyModel {
                base: self
                    .latency_ms
                    .map_or(base.latency.base, Duration::from_millis),
                per_item: self
                    .per_item_us
                    .map_or(base.latency.per_item, Duration::from_micros),
            },
            max_in_flight: self.max_in_flight.or(base.max_in_flight),
            time_scale: self.time_scale,
            hidden_members: self.hidden_members,
            faults: self.faults.clone(),
            cert_app_out: self.cert_app_out.clone(),
            grants: self.grants.clone(),
            device_approval: self.device_approve,
            device_code_lifetime: Duration::from_secs(self.device_code_lifetime_secs),
            device_poll_interval: Duration::from_secs(self.device_poll_interval_secs.max(1)),
            replication_delay: Duration::from_millis(self.replication_delay_ms),
            ..base
        };
        c.throttle.enabled = !self.no_throttle;
        c.throttle.budget = self.ru_budget;
        Ok(c)
    }
}

/// Runs the simulator until Ctrl-C.
pub async fn run(args: SimArgs) -> color_eyre::Result<Exit> {
    let config = args.to_config()?;
    let handle = entra_sim::start(config.clone())
        .await
        .wrap_err("could not start the simulated tenant")?;
    if let Some(path) = &args.truth_out {
        std::fs::write(path, handle.truth_json())
            .wrap_err_with(|| format!("could not write the ground truth to {}", path.display()))?;
    }
    if let Some(path) = &args.truth_digest_out {
        std::fs::write(path, handle.truth_digest_json()).wrap_err_with(|| {
            format!(
                "could not write the ground truth digests to {}",
                path.display()
            )
        })?;
    }
    let base = handle.base_url();
    crate::outln!("Simulated Entra tenant (fake data and fake secrets, for tests and demos)");
    crate::outln!("  base URL (authority and Graph root): {base}");
    crate::outln!(
        "  token endpoint:  {base}/{}/oauth2/v2.0/token",
        handle.tenant_id()
    );
    crate::outln!("  Graph:           {base}/v1.0/users");
    crate::outln!("  tenant id:       {}", handle.tenant_id());
    crate::outln!("  default domain:  {}", handle.default_domain());
    if let Some(p) = &args.cert_out {
        crate::outln!("  CA certificate:  {}", p.display());
    }
    if let Some(p) = &args.truth_out {
        crate::outln!("  ground truth:    {}", p.display());
    }
    if let Some(p) = &args.truth_digest_out {
        crate::outln!("  truth digests:   {}", p.display());
    }
    crate::outln!("  admin:           {base}/_sim/truth  {base}/_sim/stats");
    crate::outln!(
        "  latency:         {} ms + {} µs per object, in flight per app: {}, throttling {}",
        config.latency.base.as_millis(),
        config.latency.per_item.as_micros(),
        config
            .max_in_flight
            .filter(|&n| n > 0)
            .map_or("no limit".to_string(), |n| n.to_string()),
        if config.throttle.enabled { "on" } else { "off" }
    );
    crate::outln!("Demo apps:");
    for app in handle.apps() {
        let credential = match &app.certificate {
            Some(_) => match &args.cert_app_out {
                Some(p) => format!("certificate in {}", p.display()),
                None => "certificate (write it with --cert-app-out FILE)".to_string(),
            },
            None => format!("secret {}", app.client_secret),
        };
        crate::outln!(
            "  {:<16} client id {}  {}",
            app.kind.slug(),
            app.client_id,
            credential
        );
    }
    crate::outln!(
        "  device sign-in:  {}",
        match config.device_approval {
            Some(DeviceApproval::Approve(who)) => format!("approved at once as {}", who.slug()),
            Some(DeviceApproval::Decline) => "declined at once".to_string(),
            None => format!("waits for {base}/_sim/device/approve?user_code=CODE&as=global-admin"),
        }
    );
    crate::outln!("Serving until Ctrl-C (or SIGTERM, as a service manager stops it).");
    // The same signals as every other command: `kill` or systemd stopping a simulated tenant
    // shuts it down cleanly, as Ctrl-C does.
    crate::signals::Signals::listen().recv().await;
    handle.shutdown().await;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn config(args: &[&str]) -> SimConfig {
        let cli = Cli::try_parse_from(std::iter::once("sim").chain(args.iter().copied()))
            .expect("arguments parse");
        cli.sim.to_config().expect("a configuration")
    }

    #[test]
    fn bench_profile_sets_latency_in_flight_limit_and_throttling() {
        let c = config(&["--latency-profile", "bench", "--no-throttle"]);
        assert_eq!(c.latency.base, Duration::from_millis(120));
        assert_eq!(c.latency.per_item, Duration::from_micros(800));
        assert_eq!(c.max_in_flight, Some(32));
        assert!(!c.throttle.enabled, "--no-throttle still wins");
        assert!(config(&["--latency-profile", "bench"]).throttle.enabled);
    }

    #[test]
    fn flags_override_the_profile_and_the_default_is_no_latency_no_limit() {
        let c = config(&[
            "--latency-profile",
            "bench",
            "--max-in-flight",
            "4",
            "--latency-ms",
            "5",
        ]);
        assert_eq!(
            (c.latency.base, c.latency.per_item, c.max_in_flight),
            (
                Duration::from_millis(5),
                Duration::from_micros(800),
                Some(4)
            )
        );
        let d = config(&[]);
        assert_eq!(
            (d.latency, d.max_in_flight),
            (LatencyModel::default(), None)
        );
        assert!(Cli::try_parse_from(["sim", "--latency-profile", "fast"]).is_err());
    }

    #[test]
    fn size_flags_override_the_scenario_and_follow_ls_shape() {
        assert_eq!(config(&[]).size, None);
        assert_eq!(config(&["--scenario", "xl"]).preset, Preset::Xl);
        let c = config(&["--users", "200000"]);
        assert_eq!(c.size, Some(SizeSpec::shaped_like_l(200_000)));
        assert_eq!(
            c.size.map(|s| (s.groups, s.member_edges)),
            Some((50_000, 2_000_000))
        );
        let c = config(&[
            "--users",
            "3000",
            "--groups",
            "700",
            "--member-edges",
            "25000",
        ]);
        assert_eq!(
            c.size.map(|s| (s.users, s.groups, s.member_edges)),
            Some((3_000, 700, 25_000))
        );
        // Without --users, the scenario's counts with the ones given.
        let c = config(&["--scenario", "m", "--groups", "10"]);
        assert_eq!(
            c.size,
            Some(SizeSpec {
                groups: 10,
                ..Preset::M.size()
            })
        );
    }
}
