//! Deterministic tenant generator: the same seed and size always give the same directory
//! (ids, names, memberships, secrets). Only credential dates depend on the start time.
//!
//! Each phase draws from one random stream in a fixed order, so the phases run in that order.

mod demo_apps;
mod groups;
mod memberships;
mod names;
mod objects;
mod users;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::apps::DemoAppKind;
use super::config::SizeSpec;
use super::model::{Directory, Domain, Group, OnPrem, User};

/// 2019-01-01T00:00:00Z: objects are created after this, so dates don't depend on "now".
const EPOCH_2019: i64 = 1_546_300_800;
const SIX_YEARS: i64 = 6 * 365 * 86_400;

/// Microsoft Graph's service principal comes first.
const GRAPH_SP_IDX: usize = 0;

/// One demo app as generated (the certificate credential is attached at start).
#[derive(Debug, Clone)]
pub struct GeneratedApp {
    pub kind: DemoAppKind,
    pub display_name: String,
    pub app_id: Uuid,
    pub secret: Option<String>,
    /// Index into `Directory::applications`.
    pub application_idx: usize,
    /// Index into `Directory::service_principals`.
    pub sp_idx: usize,
}

/// A generated tenant.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dir: Directory,
    pub apps: Vec<GeneratedApp>,
    /// Index of Microsoft Graph's service principal.
    pub graph_sp_idx: usize,
}

fn uuid(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// The random stream and the tenant-wide names every phase draws on.
struct Ctx {
    rng: ChaCha8Rng,
    tenant_id: Uuid,
    domain: String,
    initial_domain: String,
    sid_prefix: String,
    next_rid: u64,
}

impl Ctx {
    /// The tenant id and the on-premises domain SID are the stream's first draws.
    fn new(seed: u64) -> Ctx {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let tenant_id = uuid(&mut rng);
        let sid_prefix = format!(
            "S-1-5-21-{}-{}-{}",
            rng.random_range(1_000_000_000u64..4_000_000_000),
            rng.random_range(1_000_000_000u64..4_000_000_000),
            rng.random_range(1_000_000_000u64..4_000_000_000)
        );
        Ctx {
            rng,
            tenant_id,
            domain: "contoso.example".to_string(),
            initial_domain: "contososim.onmicrosoft.com".to_string(),
            sid_prefix,
            next_rid: 1100,
        }
    }

    fn created(&mut self) -> i64 {
        EPOCH_2019 + self.rng.random_range(0..SIX_YEARS)
    }

    fn sid(&mut self) -> String {
        self.next_rid += 1;
        format!("{}-{}", self.sid_prefix, self.next_rid)
    }

    fn on_prem(&mut self, sam: &str, cn: &str, upn: Option<&str>, ou: &str, user: bool) -> OnPrem {
        let immutable = if user {
            let bytes: [u8; 16] = self.rng.random();
            Some(base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                bytes,
            ))
        } else {
            None
        };
        // RFC 4514: commas (and a few others) inside an RDN value are escaped.
        let cn_escaped = cn
            .replace('\\', "\\\\")
            .replace(',', "\\,")
            .replace('"', "\\\"")
            .replace('\n', " ");
        OnPrem {
            sam_account_name: sam.to_string(),
            user_principal_name: upn.map(str::to_string),
            domain_name: "corp.contoso.example".to_string(),
            distinguished_name: format!(
                "CN={cn_escaped},OU={ou},OU=Corp,DC=corp,DC=contoso,DC=example"
            ),
            immutable_id: immutable,
            security_identifier: self.sid(),
            last_sync: EPOCH_2019 + SIX_YEARS + self.rng.random_range(0..86_400 * 30),
        }
    }
}

/// Generates a tenant. `now` only affects credential start/end dates.
pub fn generate(seed: u64, size: SizeSpec, now: i64) -> Generated {
    let mut cx = Ctx::new(seed);
    let users = users::users(&mut cx, size.users);
    let devices = objects::devices(&mut cx, size.devices);
    let contacts = objects::contacts(&mut cx, size.contacts);
    let mut sps = objects::service_principals(&mut cx, size.service_principals);
    let (applications, apps) = demo_apps::demo_apps(&mut cx, now, &mut sps);
    let groups = groups::groups(&mut cx, size.groups);
    let mut dir = Directory {
        tenant_id: cx.tenant_id,
        display_name: "Contoso (simulated)".to_string(),
        domains: domains(&cx),
        created: EPOCH_2019,
        users,
        groups,
        devices,
        service_principals: sps,
        contacts,
        applications,
        index: Default::default(),
    };
    let used_edges = memberships::hand_made(&mut dir, size.member_edges);
    let budget = size.member_edges.saturating_sub(used_edges);
    memberships::long_tail(
        &mut cx,
        &mut dir,
        budget,
        &size.big_group_sizes(),
        size.tail_group_cap(),
        size.owner_edges,
    );
    dir.rebuild_index();
    Generated {
        dir,
        apps,
        graph_sp_idx: GRAPH_SP_IDX,
    }
}

/// The hand-made groups come first in every tenant; an evolving tenant leaves them alone.
pub const SPECIAL_GROUPS: usize = groups::SPECIAL.len();

/// Objects an evolving tenant gains: the same generators on a stream of their own, numbered
/// from the caller's `n` so UPNs and names stay unique.
pub struct Newcomers(Ctx);

impl Newcomers {
    pub fn new(seed: u64) -> Newcomers {
        Newcomers(Ctx::new(seed))
    }
    pub fn user(&mut self, n: usize) -> User {
        users::generated_user(&mut self.0, n)
    }
    pub fn group(&mut self, n: usize) -> Group {
        groups::generated_group(&mut self.0, n)
    }
    /// The stream itself, for the choices the caller makes.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.0.rng
    }
}

fn domains(cx: &Ctx) -> Vec<Domain> {
    vec![
        Domain {
            name: cx.domain.clone(),
            is_default: true,
            is_initial: false,
        },
        Domain {
            name: cx.initial_domain.clone(),
            is_default: false,
            is_initial: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::model::ObjKind;

    #[test]
    fn same_seed_same_tenant_other_seed_other_tenant() {
        let a = generate(42, Preset::Small.size(), 0);
        let b = generate(42, Preset::Small.size(), 1_000);
        let c = generate(43, Preset::Small.size(), 0);
        assert_eq!(a.dir.tenant_id, b.dir.tenant_id);
        assert_eq!(a.dir.users[20].display_name, b.dir.users[20].display_name);
        assert_eq!(a.dir.groups[20].members, b.dir.groups[20].members);
        assert_eq!(a.apps[0].secret, b.apps[0].secret);
        assert_ne!(a.dir.tenant_id, c.dir.tenant_id);
    }

    /// docs/simulator.md's preset table says what the default seed generates: exact
    /// numbers exactly, `~N` within 10 %.
    #[test]
    fn the_documented_preset_sizes_are_the_generated_ones() {
        let doc = include_str!("../../../../docs/simulator.md");
        let number = |cell: &str| -> (bool, usize) {
            let cell = cell.trim();
            let approximate = cell.starts_with('~');
            let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
            (
                approximate,
                digits.parse().unwrap_or_else(|_| panic!("{cell:?}")),
            )
        };
        let mut seen = 0;
        for row in doc.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let Ok(preset) = cells[1].trim_matches('`').parse::<Preset>() else {
                continue;
            };
            let d = generate(1, preset.size(), 0).dir;
            let members = d.groups.iter().map(|g| g.members.len()).sum::<usize>();
            let owners = d.groups.iter().map(|g| g.owners.len()).sum::<usize>();
            let actual = [d.users.len(), d.groups.len(), members, owners];
            for (cell, actual) in cells[2..6].iter().zip(actual) {
                let (approximate, documented) = number(cell);
                let close = actual.abs_diff(documented) * 10 <= documented;
                assert!(
                    actual == documented || (approximate && close),
                    "{row}: {cell} documented, {actual} generated"
                );
            }
            seen += 1;
        }
        assert_eq!(seen, 5, "a row for each preset");
    }

    #[test]
    fn small_preset_has_every_edge_case() {
        let g = generate(1, Preset::Small.size(), 0);
        let d = &g.dir;
        assert_eq!(d.users.len(), 150);
        assert!(
            d.users
                .iter()
                .any(|u| u.guest && u.user_principal_name.contains("#EXT#"))
        );
        assert!(d.users.iter().any(|u| !u.account_enabled));
        assert!(d.users.iter().any(|u| u.on_prem.is_some()));
        assert!(d.users.iter().any(|u| u.display_name.contains('\n')));
        assert!(d.users.iter().any(|u| u.display_name.contains(',')));
        assert!(d.users.iter().any(|u| u.display_name.contains('"')));
        assert!(
            d.groups
                .iter()
                .any(|g| g.is_hidden_membership() && !g.members.is_empty())
        );
        assert!(d.groups.iter().any(|g| g.members.len() > 100));
        assert!(d.groups.iter().any(|g| g.members.is_empty()));
        assert!(d.groups.iter().any(|g| g.owners.is_empty()));
        for kind in [
            ObjKind::Group,
            ObjKind::Device,
            ObjKind::ServicePrincipal,
            ObjKind::OrgContact,
        ] {
            assert!(
                d.groups
                    .iter()
                    .any(|g| g.members.iter().any(|m| m.kind == kind)),
                "{kind:?}"
            );
        }
        // Members are distinct within a group.
        for g in &d.groups {
            let set: std::collections::HashSet<_> = g.members.iter().collect();
            assert_eq!(set.len(), g.members.len(), "{}", g.display_name);
        }
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        for (users, groups) in [(0, 0), (1, 1), (3, 13), (0, 30)] {
            let size = SizeSpec {
                users,
                groups,
                devices: 0,
                service_principals: 0,
                contacts: 0,
                member_edges: 5,
                owner_edges: 0,
            };
            let g = generate(9, size, 0);
            assert_eq!((g.dir.users.len(), g.dir.groups.len()), (users, groups));
        }
    }

    /// Member counts of all groups, largest first.
    fn sizes_desc(g: &Generated) -> Vec<usize> {
        let mut s: Vec<usize> = g.dir.groups.iter().map(|g| g.members.len()).collect();
        s.sort_unstable_by(|a, b| b.cmp(a));
        s
    }

    /// What m and l share, `scale` being l's size over this preset's: All Staff holds every
    /// user, five groups hold 5–50 % of the users, the long tail fills the edge budget.
    fn assert_realistic_shape(preset: Preset, scale: usize) {
        let g = generate(1, preset.size(), 0);
        let users = g.dir.users.len();
        assert_eq!(users, 100_000 / scale);
        assert_eq!(g.dir.groups[0].display_name, "All Staff");
        assert_eq!(
            g.dir.groups[0].members.len(),
            users,
            "All Staff is every user"
        );
        let sizes = sizes_desc(&g);
        assert_eq!(sizes[0], users);
        let big: Vec<usize> = sizes[1..]
            .iter()
            .copied()
            .filter(|&n| n >= 5_000 / scale)
            .collect();
        assert!(
            (4..=6).contains(&big.len()) && big[0] <= 50_000 / scale,
            "big groups {big:?}"
        );
        let edges: usize = sizes.iter().sum();
        let owners: usize = g.dir.groups.iter().map(|g| g.owners.len()).sum();
        let (e, o) = (1_000_000 / scale, 40_000 / scale);
        assert!(
            edges.abs_diff(e) * 20 < e,
            "{edges} member edges, want ~{e}"
        );
        assert!(
            owners.abs_diff(o) * 5 < o,
            "{owners} owner edges, want ~{o}"
        );
        let median = sizes[sizes.len() / 2];
        assert!(
            sizes[6] > 20 * median.max(1),
            "a long tail: 7th {} median {median}",
            sizes[6]
        );
    }

    #[test]
    fn medium_preset_is_large_scaled_down_by_ten() {
        assert_realistic_shape(Preset::M, 10);
    }

    #[test]
    fn large_preset_has_all_staff_big_groups_and_a_long_tail() {
        assert_realistic_shape(Preset::L, 1);
    }

    #[test]
    fn small_and_demo_have_no_big_groups() {
        assert!(Preset::Small.size().big_group_sizes().is_empty());
        assert!(Preset::Demo.size().big_group_sizes().is_empty());
    }
}
