//! Who is in and who owns each group: fixed lists for the hand-made groups, long-tailed
//! random ones for the generated groups.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::Ctx;
use super::groups::HAND_MADE_GROUPS;
use crate::model::{Directory, Group, GroupKind, ObjKind, ObjRef, User};

/// Fills the hand-made groups (by index, see `groups::SPECIAL`); returns the member edges used.
pub(super) fn hand_made(dir: &mut Directory, member_edges: usize) -> usize {
    let Directory {
        users,
        groups,
        devices,
        service_principals: sps,
        contacts,
        ..
    } = dir;
    let nu = users.len();
    if nu == 0 {
        return 0;
    }
    // Every user, as in real tenants (bounded by the edge budget for odd custom sizes).
    let all_staff = nu.min(member_edges.max(120));
    let owners = member_users(users);
    fill_user_groups(groups, users, all_staff, &owners);
    fill_nested_groups(groups, nu, &owners);
    fill_other_kinds_groups(
        groups,
        nu,
        (devices.len(), sps.len(), contacts.len()),
        &owners,
    );
    fill_mail_and_synced_groups(groups, nu, &owners);
    for g in groups.iter_mut().take(HAND_MADE_GROUPS) {
        g.members = dedup(std::mem::take(&mut g.members));
    }
    groups
        .iter()
        .take(HAND_MADE_GROUPS)
        .map(|g| g.members.len())
        .sum::<usize>()
}

/// The `k`-th owner of the hand-made groups: a user who isn't a guest (the first user when
/// there are too few).
fn owner(owners: &[usize], k: usize) -> ObjRef {
    user_ref(owners.get(k).copied().unwrap_or(0))
}

/// All Staff, Project Falcon (hidden), Empty Group, Tier-0 Admins and the Sales group: users
/// only.
fn fill_user_groups(groups: &mut [Group], users: &[User], all_staff: usize, owners: &[usize]) {
    let nu = users.len();
    let staff: Vec<ObjRef> = (0..all_staff).map(user_ref).collect();
    set(groups, 0, staff, vec![owner(owners, 0)]);
    let hidden: Vec<ObjRef> = (0..nu.min(8)).map(|i| user_ref((i * 7) % nu)).collect();
    set(groups, 1, dedup(hidden), vec![owner(owners, 1)]);
    set(groups, 2, Vec::new(), Vec::new());
    set(
        groups,
        3,
        (0..nu.min(3)).map(user_ref).collect(),
        Vec::new(),
    );
    let sales: Vec<ObjRef> = (0..nu)
        .filter(|&i| users[i].department.as_deref() == Some("Sales"))
        .map(user_ref)
        .collect();
    set(groups, 4, sales, vec![owner(owners, 2)]);
}

/// Nested Parent (some users, Nested Child and the Unicode group) and Nested Child.
fn fill_nested_groups(groups: &mut [Group], nu: usize, owners: &[usize]) {
    let ng = groups.len();
    let mut parent: Vec<ObjRef> = (0..nu.min(4)).map(|i| user_ref(nu - 1 - i)).collect();
    if ng > 6 {
        parent.push(ObjRef {
            kind: ObjKind::Group,
            idx: 6,
        });
    }
    if ng > 11 {
        parent.push(ObjRef {
            kind: ObjKind::Group,
            idx: 11,
        });
    }
    set(
        groups,
        5,
        dedup(parent),
        vec![owner(owners, 0), owner(owners, 3)],
    );
    set(
        groups,
        6,
        (0..nu.min(5))
            .map(|i| user_ref(i + nu / 2))
            .collect::<Vec<_>>(),
        vec![owner(owners, 4)],
    );
}

/// The groups with members other than users: devices, service principals and contacts (one
/// owned by a service principal), and the distribution list with contacts. `others` is how
/// many devices, service principals and contacts the tenant has.
fn fill_other_kinds_groups(
    groups: &mut [Group],
    nu: usize,
    others: (usize, usize, usize),
    owners: &[usize],
) {
    let (devices, sps, contacts) = others;
    let mut mixed: Vec<ObjRef> = Vec::new();
    mixed.extend((0..devices.min(3)).map(|i| ObjRef {
        kind: ObjKind::Device,
        idx: i as u32,
    }));
    mixed.extend((1..sps.min(3)).map(|i| ObjRef {
        kind: ObjKind::ServicePrincipal,
        idx: i as u32,
    }));
    mixed.extend((0..contacts.min(2)).map(|i| ObjRef {
        kind: ObjKind::OrgContact,
        idx: i as u32,
    }));
    mixed.push(user_ref(1 % nu));
    let sp_owner = ObjRef {
        kind: ObjKind::ServicePrincipal,
        idx: 1.min(sps as u32 - 1),
    };
    set(groups, 7, mixed, vec![owner(owners, 0), sp_owner]);
    let mut dl: Vec<ObjRef> = (0..contacts)
        .map(|i| ObjRef {
            kind: ObjKind::OrgContact,
            idx: i as u32,
        })
        .collect();
    dl.extend((0..nu.min(10)).map(|i| user_ref(i * 3 % nu)));
    set(groups, 8, dedup(dl), Vec::new());
}

/// Mail-enabled Security, GG-Finance (synced) and the Unicode group: users spread over the
/// list.
fn fill_mail_and_synced_groups(groups: &mut [Group], nu: usize, owners: &[usize]) {
    set(
        groups,
        9,
        (0..nu.min(6))
            .map(|i| user_ref(i * 5 % nu))
            .collect::<Vec<_>>(),
        vec![owner(owners, 5)],
    );
    set(
        groups,
        10,
        (0..nu.min(12))
            .map(|i| user_ref(i * 11 % nu))
            .collect::<Vec<_>>(),
        Vec::new(),
    );
    set(
        groups,
        11,
        (0..nu.min(9))
            .map(|i| user_ref(i * 13 % nu))
            .collect::<Vec<_>>(),
        vec![owner(owners, 1), owner(owners, 2)],
    );
}

fn set(groups: &mut [Group], i: usize, members: Vec<ObjRef>, owners: Vec<ObjRef>) {
    if let Some(x) = groups.get_mut(i) {
        x.members = members;
        x.owners = owners;
    }
}

/// Indices of the users that aren't guests (owners are drawn from them).
fn member_users(users: &[User]) -> Vec<usize> {
    (0..users.len()).filter(|&i| !users[i].guest).collect()
}

/// Sizes for the generated groups: the `big` ones (spread over the list), the rest
/// long-tailed (Lomax weights scaled to what is left of `budget` member edges, at most
/// `cap` each); about `owner_edges` owners in all.
pub(super) fn long_tail(
    cx: &mut Ctx,
    dir: &mut Directory,
    budget: usize,
    big: &[usize],
    cap: Option<usize>,
    owner_edges: usize,
) {
    let ng = dir.groups.len();
    let rest = HAND_MADE_GROUPS.min(ng)..ng;
    let weights: Vec<f64> = rest
        .clone()
        .map(|_| {
            let u: f64 = cx.rng.random_range(0.0..1.0);
            (1.0 - u).powf(-1.0 / 1.2) - 1.0
        })
        .collect();
    let big_at = big_positions(weights.len(), big.len());
    let tail_weights: Vec<f64> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| if big_at.contains(&i) { 0.0 } else { *w })
        .collect();
    let tail = tail_sizes(&tail_weights, budget.saturating_sub(big.iter().sum()), cap);
    let owner_avg = owner_edges as f64 / ng.max(1) as f64;
    // Synced and distribution groups (about a fifth) get none, so the others carry the rest.
    let owner_max = (2.0 * owner_avg / 0.8).round().max(1.0) as usize;
    let member_pool = member_users(&dir.users);
    for (i, gi) in rest.enumerate() {
        let k = match big_at.iter().position(|&p| p == i) {
            Some(b) => big[b],
            None => tail[i],
        };
        let members = generated_members(cx, dir, gi, k);
        let owners = generated_owners(cx, dir, gi, owner_max, &member_pool);
        dir.groups[gi].members = members;
        dir.groups[gi].owners = owners;
    }
}

/// `budget` shared out in proportion to `weights`, no share above `cap`: what a capped
/// share gives up goes to the others, in proportion again.
fn tail_sizes(weights: &[f64], budget: usize, cap: Option<usize>) -> Vec<usize> {
    let cap = cap.map_or(f64::INFINITY, |c| c as f64);
    let mut capped = vec![false; weights.len()];
    let mut left = budget as f64;
    // Each round caps at least one more share or ends; a few rounds settle it in practice.
    for _ in 0..weights.len().min(64) {
        let wsum: f64 = weights
            .iter()
            .zip(&capped)
            .filter(|(_, c)| !**c)
            .map(|(w, _)| w)
            .sum();
        if wsum <= 0.0 {
            break;
        }
        let mut newly = false;
        for (w, c) in weights.iter().zip(capped.iter_mut()) {
            if !*c && w / wsum * left > cap {
                *c = true;
                newly = true;
            }
        }
        if !newly {
            break;
        }
        left = budget as f64 - cap * capped.iter().filter(|c| **c).count() as f64;
        left = left.max(0.0);
    }
    let wsum: f64 = weights
        .iter()
        .zip(&capped)
        .filter(|(_, c)| !**c)
        .map(|(w, _)| w)
        .sum::<f64>()
        .max(1e-9);
    weights
        .iter()
        .zip(&capped)
        .map(|(w, c)| {
            if *c {
                cap as usize
            } else {
                ((w / wsum) * left).round() as usize
            }
        })
        .collect()
}

/// Where among `n` generated groups the `big` ones sit: evenly spread, so they are not all
/// on the first page of `/groups`.
fn big_positions(n: usize, big: usize) -> Vec<usize> {
    if big == 0 || n == 0 {
        return Vec::new();
    }
    let big = big.min(n);
    (0..big).map(|b| b * n / big).collect()
}

/// `k` users, and now and then a few devices, contacts or one nested group.
fn generated_members(cx: &mut Ctx, dir: &Directory, gi: usize, k: usize) -> Vec<ObjRef> {
    let Directory {
        users,
        groups,
        devices,
        contacts,
        ..
    } = dir;
    let (nu, ng) = (users.len(), groups.len());
    let kind = groups[gi].kind;
    let mut members: Vec<ObjRef> = spread(&mut cx.rng, nu, k).map(user_ref).collect();
    if kind == GroupKind::Security && !devices.is_empty() && cx.rng.random_range(0..100) < 5 {
        let d = cx.rng.random_range(1..=devices.len().min(5));
        members.extend(spread(&mut cx.rng, devices.len(), d).map(|i| ObjRef {
            kind: ObjKind::Device,
            idx: i as u32,
        }));
    }
    if kind == GroupKind::Distribution && !contacts.is_empty() && cx.rng.random_range(0..100) < 30 {
        let c = cx.rng.random_range(1..=contacts.len().min(3));
        members.extend(spread(&mut cx.rng, contacts.len(), c).map(|i| ObjRef {
            kind: ObjKind::OrgContact,
            idx: i as u32,
        }));
    }
    if gi + 1 < ng && cx.rng.random_range(0..100) < 4 {
        // Nesting only points "forward", so the membership graph has no cycles.
        let child = cx.rng.random_range(gi + 1..ng);
        members.push(ObjRef {
            kind: ObjKind::Group,
            idx: child as u32,
        });
    }
    members
}

/// Up to `owner_max` member users (none for synced and distribution groups), rarely a
/// service principal too.
fn generated_owners(
    cx: &mut Ctx,
    dir: &Directory,
    gi: usize,
    owner_max: usize,
    member_pool: &[usize],
) -> Vec<ObjRef> {
    let group = &dir.groups[gi];
    let sps = &dir.service_principals;
    let synced = group.on_prem.is_some();
    let n_owners = if synced || group.kind == GroupKind::Distribution {
        0
    } else {
        cx.rng.random_range(0..=owner_max)
    };
    let mut owners: Vec<ObjRef> = spread(&mut cx.rng, member_pool.len(), n_owners)
        .map(|i| user_ref(member_pool[i]))
        .collect();
    if n_owners > 0 && sps.len() > 1 && cx.rng.random_range(0..100) < 1 {
        owners.push(ObjRef {
            kind: ObjKind::ServicePrincipal,
            idx: cx.rng.random_range(1..sps.len()) as u32,
        });
    }
    owners
}

/// Picks `k` distinct indices out of `0..n` cheaply: a random start and a stride coprime to `n`.
fn spread(rng: &mut ChaCha8Rng, n: usize, k: usize) -> impl Iterator<Item = usize> + use<> {
    let k = k.min(n);
    let start = if n > 0 { rng.random_range(0..n) } else { 0 };
    let mut stride = if n > 1 { rng.random_range(1..n) } else { 1 };
    while n > 1 && gcd(stride, n) != 1 {
        stride += 1;
        if stride >= n {
            stride = 1;
        }
    }
    (0..k).map(move |i| (start + i * stride) % n.max(1))
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn user_ref(i: usize) -> ObjRef {
    ObjRef {
        kind: ObjKind::User,
        idx: i as u32,
    }
}

fn dedup(v: Vec<ObjRef>) -> Vec<ObjRef> {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    v.into_iter().filter(|r| seen.insert(*r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_sizes_share_the_budget_in_proportion_and_respect_the_cap() {
        assert_eq!(tail_sizes(&[1.0, 1.0, 2.0], 400, None), vec![100, 100, 200]);
        let capped = tail_sizes(&[1.0, 1.0, 8.0], 400, Some(150));
        assert_eq!(capped, vec![125, 125, 150]);
        assert_eq!(tail_sizes(&[0.0, 1.0], 10, Some(100)), vec![0, 10]);
    }
}
