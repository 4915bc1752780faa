//! Configuration of a simulated tenant: size, behaviour switches, latency, throttling, faults.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::apps::DemoAppKind;
use super::fault::FaultSpec;

/// Predefined tenant sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preset {
    /// Test-sized (~150 users) with every kind of object and edge case.
    #[default]
    Small,
    /// 2,500 users, 500 groups: what `entra-extract demo` shows, big enough that its
    /// live progress can be watched behind realistic latency.
    Demo,
    /// 10,000 users, 2,500 groups, ~100,000 member edges: `l` scaled down by 10.
    M,
    /// 100,000 users, 25,000 groups, ~1,000,000 member edges, ~40,000 owner edges; an
    /// all-staff group of every user and five groups of 5,000–50,000 members.
    L,
    /// 1,000,000 users, 250,000 groups, ~10,000,000 member edges: `l` scaled up by 10, the
    /// size of a large university or retailer.
    Xl,
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "small" | "s" => Ok(Preset::Small),
            "demo" => Ok(Preset::Demo),
            "m" | "medium" => Ok(Preset::M),
            "l" | "large" => Ok(Preset::L),
            "xl" => Ok(Preset::Xl),
            other => Err(format!(
                "unknown scenario '{other}': use small, demo, m, l or xl"
            )),
        }
    }
}

impl Preset {
    /// The object counts of this preset.
    pub fn size(self) -> SizeSpec {
        match self {
            Preset::Small => SizeSpec {
                users: 150,
                groups: 40,
                devices: 12,
                service_principals: 6,
                contacts: 6,
                member_edges: 900,
                owner_edges: 50,
            },
            Preset::Demo => SizeSpec {
                users: 2_500,
                groups: 500,
                devices: 100,
                service_principals: 20,
                contacts: 30,
                member_edges: 12_000,
                owner_edges: 700,
            },
            Preset::M => SizeSpec {
                users: 10_000,
                groups: 2_500,
                devices: 1_000,
                service_principals: 100,
                contacts: 200,
                member_edges: 100_000,
                owner_edges: 4_000,
            },
            Preset::L => SizeSpec {
                users: 100_000,
                groups: 25_000,
                devices: 10_000,
                service_principals: 500,
                contacts: 2_000,
                member_edges: 1_000_000,
                owner_edges: 40_000,
            },
            Preset::Xl => SizeSpec::shaped_like_l(1_000_000),
        }
    }
}

/// Object counts of a generated tenant (approximate for edges: the distribution is long-tailed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeSpec {
    pub users: usize,
    pub groups: usize,
    pub devices: usize,
    pub service_principals: usize,
    pub contacts: usize,
    pub member_edges: usize,
    pub owner_edges: usize,
}

/// Tenants of this many users or more get big groups besides All Staff, as real ones do.
const BIG_GROUPS_FROM_USERS: usize = 10_000;

/// Sizes of the big groups as shares of the users: 50,000 down to 5,000 members in `l`.
const BIG_GROUP_SHARES: [f64; 5] = [0.5, 0.3, 0.2, 0.1, 0.05];

/// Users of `l`, the shape custom sizes scale from.
const L_USERS: usize = 100_000;

impl SizeSpec {
    /// `l`'s shape scaled to `users`: a group for every four users, ten member edges and
    /// 0.4 owner edges a user, a device for every ten, a contact for every fifty, a service
    /// principal for every two hundred (at least one of each when there are users).
    pub fn shaped_like_l(users: usize) -> SizeSpec {
        let l = Preset::L.size();
        let scaled = |n: usize| {
            if users == 0 {
                0
            } else {
                // u128: no overflow for any count a machine could hold.
                ((n as u128 * users as u128).div_ceil(L_USERS as u128)) as usize
            }
        };
        SizeSpec {
            users,
            groups: scaled(l.groups),
            devices: scaled(l.devices),
            service_principals: scaled(l.service_principals),
            contacts: scaled(l.contacts),
            member_edges: scaled(l.member_edges),
            owner_edges: scaled(l.owner_edges),
        }
    }

    /// Member counts of the generated groups that are big (5–50 % of the users), beside the
    /// long tail; none below 10,000 users, so `small` and `demo` keep their shape.
    pub fn big_group_sizes(&self) -> Vec<usize> {
        if self.users < BIG_GROUPS_FROM_USERS {
            return Vec::new();
        }
        BIG_GROUP_SHARES
            .iter()
            .map(|share| (self.users as f64 * share).round() as usize)
            .collect()
    }

    /// The most members a long-tail group gets when there are big groups (4 % of the users,
    /// so the big ones stay a handful); no cap otherwise.
    pub fn tail_group_cap(&self) -> Option<usize> {
        (!self.big_group_sizes().is_empty()).then_some(self.users / 25)
    }
}

/// What `/groups/{id}/members` of a HiddenMembership group returns to an app without
/// Member.Read.Hidden. The docs don't say (graph-reference §3), so both are available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HiddenMembers {
    /// 403 Authorization_RequestDenied.
    #[default]
    Forbidden,
    /// 200 with an empty `value`.
    Empty,
}

impl FromStr for HiddenMembers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "forbidden" | "403" => Ok(HiddenMembers::Forbidden),
            "empty" | "200" => Ok(HiddenMembers::Empty),
            other => Err(format!(
                "unknown hidden-members mode '{other}': use forbidden or empty"
            )),
        }
    }
}

/// HTTPS settings.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Where to write the self-signed certificate (PEM) clients must trust.
    pub cert_out: Option<PathBuf>,
    /// Serve one self-signed certificate marked `CA:TRUE` (what `openssl req -x509` makes)
    /// instead of a leaf signed by a separate CA.
    pub self_signed: bool,
}

/// Simulated network latency: `base + per_item × items returned`, divided by `time_scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencyModel {
    pub base: Duration,
    pub per_item: Duration,
}

/// Resource-unit throttling settings (graph-reference §6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleConfig {
    pub enabled: bool,
    /// Resource units per app+tenant per window; `None` = by tenant size (S 3,500 / M 5,000 /
    /// L 8,000).
    pub budget: Option<u32>,
    /// The window the budget refills over (10 s in Graph), before `time_scale`.
    pub window: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            enabled: true,
            budget: None,
            window: Duration::from_secs(10),
        }
    }
}

/// Everything that shapes one simulated tenant.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub preset: Preset,
    /// Overrides the preset's counts.
    pub size: Option<SizeSpec>,
    /// Seed for data, secrets and rate-based faults.
    pub seed: u64,
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub tls: Option<TlsOptions>,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_lifetime: Duration,
    pub latency: LatencyModel,
    /// Speed-up of the simulated clock (greater than 1 = faster): latency and the throttling
    /// window shrink together, so benchmarks keep their ratios.
    pub time_scale: f64,
    pub throttle: ThrottleConfig,
    pub hidden_members: HiddenMembers,
    pub faults: Vec<FaultSpec>,
    /// Write the certificate app's certificate and key (PEM) here on start.
    pub cert_app_out: Option<PathBuf>,
    /// Replace the Graph app roles granted to a demo app (role values such as
    /// "GroupMember.Read.All"), e.g. to show limited-information members.
    pub grants: Vec<(DemoAppKind, Vec<String>)>,
    /// Graph requests one app may have in flight; the rest queue in arrival order (token
    /// requests are not limited). `None` = no limit. Graph documents none for the identity
    /// service, so this is an assumption of the benchmark profile.
    pub max_in_flight: Option<usize>,
    /// How long a delta token stays usable: seven days for directory objects \[DQ\].
    pub delta_token_ttl: Duration,
    /// Who answers a device code sign-in without a test driving `/_sim/device/approve`:
    /// `None` leaves every sign-in pending until a test approves or declines it.
    pub device_approval: Option<DeviceApproval>,
    /// How long a device code stays valid (`expires_in`; Entra: 15 minutes).
    pub device_code_lifetime: Duration,
    /// Polling interval a device code response asks for (`interval`; Entra: 5 s).
    pub device_poll_interval: Duration,
    /// How long a newly added client secret is refused (AADSTS7000215) before it has
    /// "replicated": Entra documents a delay without a figure, so this is an assumption.
    pub replication_delay: Duration,
}

/// A simulated person who can sign in with a device code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimAdmin {
    /// Global Administrator: may create apps and grant consent to application permissions.
    GlobalAdmin,
    /// Application Administrator: may create apps and secrets, not grant application
    /// permissions on Microsoft Graph (that needs Privileged Role Administrator).
    AppAdmin,
    /// A member without a directory role, in a tenant where users may not register apps.
    User,
}

impl SimAdmin {
    pub const ALL: [SimAdmin; 3] = [SimAdmin::GlobalAdmin, SimAdmin::AppAdmin, SimAdmin::User];

    pub fn slug(self) -> &'static str {
        match self {
            SimAdmin::GlobalAdmin => "global-admin",
            SimAdmin::AppAdmin => "app-admin",
            SimAdmin::User => "user",
        }
    }
}

impl std::str::FromStr for SimAdmin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimAdmin::ALL
            .into_iter()
            .find(|a| a.slug().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown person '{s}': use global-admin, app-admin or user"))
    }
}

/// How device code sign-ins end when nobody drives them through the admin endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceApproval {
    /// This person enters the code and approves.
    Approve(SimAdmin),
    /// The person declines on the sign-in page.
    Decline,
}

impl std::str::FromStr for DeviceApproval {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("decline") {
            return Ok(DeviceApproval::Decline);
        }
        s.parse()
            .map(DeviceApproval::Approve)
            .map_err(|_| format!("'{s}': use global-admin, app-admin, user or decline"))
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            preset: Preset::Small,
            size: None,
            seed: 1,
            port: 0,
            tls: None,
            token_lifetime: Duration::from_secs(3599),
            latency: LatencyModel::default(),
            time_scale: 1.0,
            throttle: ThrottleConfig::default(),
            hidden_members: HiddenMembers::default(),
            faults: Vec::new(),
            cert_app_out: None,
            grants: Vec::new(),
            max_in_flight: None,
            delta_token_ttl: Duration::from_secs(7 * 86_400),
            device_approval: None,
            device_code_lifetime: Duration::from_secs(900),
            device_poll_interval: Duration::from_secs(5),
            replication_delay: Duration::ZERO,
        }
    }
}

/// Named sets of latency, concurrency and throttling settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencyProfile {
    /// No latency, no in-flight limit (what tests use).
    #[default]
    None,
    /// What benchmarks assume: 120 ms a response plus 0.8 ms a returned object, 32 requests
    /// in flight per app, the documented resource-unit budget.
    Bench,
}

impl FromStr for LatencyProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(LatencyProfile::None),
            "bench" | "benchmark" => Ok(LatencyProfile::Bench),
            other => Err(format!(
                "unknown latency profile '{other}': use bench or none"
            )),
        }
    }
}

impl LatencyProfile {
    /// The latency model of this profile.
    pub fn latency(self) -> LatencyModel {
        match self {
            LatencyProfile::None => LatencyModel::default(),
            LatencyProfile::Bench => LatencyModel {
                base: Duration::from_millis(120),
                per_item: Duration::from_micros(800),
            },
        }
    }

    /// Requests in flight per app.
    pub fn max_in_flight(self) -> Option<usize> {
        match self {
            LatencyProfile::None => None,
            LatencyProfile::Bench => Some(32),
        }
    }

    /// This profile's latency, in-flight limit and throttling applied to `config`.
    pub fn apply(self, mut config: SimConfig) -> SimConfig {
        config.latency = self.latency();
        config.max_in_flight = self.max_in_flight();
        if self == LatencyProfile::Bench {
            config.throttle = ThrottleConfig::default();
        }
        config
    }
}

impl SimConfig {
    /// The speed-up of the simulated clock (1 when the configured one is unusable).
    pub fn time_scale(&self) -> f64 {
        let f = self.time_scale;
        if f.is_finite() && f > 0.0 { f } else { 1.0 }
    }

    /// The counts that will be generated.
    pub fn size_spec(&self) -> SizeSpec {
        self.size.unwrap_or_else(|| self.preset.size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xl_is_l_scaled_up_by_ten_and_l_is_its_own_shape() {
        assert_eq!(SizeSpec::shaped_like_l(100_000), Preset::L.size());
        let xl = Preset::Xl.size();
        let l = Preset::L.size();
        assert_eq!(
            (xl.users, xl.groups, xl.member_edges),
            (1_000_000, 250_000, 10_000_000)
        );
        assert_eq!(xl.owner_edges, 10 * l.owner_edges);
        assert_eq!("XL".parse::<Preset>(), Ok(Preset::Xl));
        // Small custom sizes keep one object of each kind.
        let tiny = SizeSpec::shaped_like_l(7);
        assert_eq!(
            (tiny.groups, tiny.service_principals, tiny.devices),
            (2, 1, 1)
        );
        assert_eq!(SizeSpec::shaped_like_l(0).groups, 0);
    }
}
