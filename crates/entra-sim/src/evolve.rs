//! A tenant that changes between runs (`POST /_sim/evolve?changes=N&seed=S`): N changes
//! drawn from a seed — joiners, leavers, renames, attribute changes, guests accepting,
//! accounts disabled, groups created and deleted, members and owners added and removed, a
//! group turned hidden-membership — applied to a copy of the directory, which then becomes
//! current.
//!
//! What changed is found by comparing the two directories, not by trusting the operations,
//! and kept as [`Applied`] rows in the terms of the four CSVs: users and groups added,
//! removed or updated (with the Graph properties that differ) and member and owner edges
//! added or removed. The rows are the expected changes report for tests, and the history
//! `users/delta` and `groups/delta` answer tracked requests from.

use std::collections::{BTreeSet, HashMap, HashSet};

use rand::Rng;
use uuid::Uuid;

use super::generate::{Newcomers, SPECIAL_GROUPS};
use super::json::{push_str, push_uuid};
use super::model::{Directory, GROUP_PROPS, GroupKind, ObjKind, ObjRef, USER_PROPS, is_valid_upn};
use super::state::Snapshot;

/// What a change row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    User,
    Group,
    Member,
    Owner,
}

impl Object {
    pub fn name(self) -> &'static str {
        match self {
            Object::User => "user",
            Object::Group => "group",
            Object::Member => "member",
            Object::Owner => "owner",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Added,
    Removed,
    Updated,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Added => "added",
            Action::Removed => "removed",
            Action::Updated => "updated",
        }
    }
}

/// One change between two versions of the tenant.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The tenant version this change produced.
    pub version: u64,
    pub object: Object,
    pub action: Action,
    /// The user or group; for an edge, the member or owner.
    pub id: Uuid,
    pub kind: ObjKind,
    pub display_name: String,
    /// For an edge: the group.
    pub group: Option<(Uuid, String)>,
    /// For an update: the Graph properties whose values differ.
    pub attributes: Vec<&'static str>,
    /// For a removed group: Microsoft 365 groups go to deleted items (`@removed` reason
    /// `changed`), the others are gone for good (`deleted`) [DQ].
    pub restorable: bool,
}

impl Applied {
    /// The row as JSON, for `/_sim/evolve` and `/_sim/changes`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"version\":");
        out.push_str(&self.version.to_string());
        out.push_str(",\"object\":");
        push_str(out, self.object.name());
        out.push_str(",\"change\":");
        push_str(out, self.action.name());
        out.push_str(",\"id\":");
        push_uuid(out, &self.id);
        out.push_str(",\"type\":");
        push_str(out, self.kind.truth_name());
        out.push_str(",\"displayName\":");
        push_str(out, &self.display_name);
        if let Some((gid, gname)) = &self.group {
            out.push_str(",\"groupId\":");
            push_uuid(out, gid);
            out.push_str(",\"groupDisplayName\":");
            push_str(out, gname);
        }
        out.push_str(",\"attributes\":[");
        for (i, a) in self.attributes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(out, a);
        }
        out.push_str("]}");
    }
}

/// The kinds of operation, with their weights out of 100.
const OPERATIONS: [(Op, u32); 13] = [
    (Op::Joiner, 10),
    (Op::Leaver, 8),
    (Op::Rename, 8),
    (Op::Attribute, 14),
    (Op::GuestAccepted, 3),
    (Op::Disable, 5),
    (Op::GroupCreated, 4),
    (Op::GroupDeleted, 3),
    (Op::MemberAdded, 22),
    (Op::MemberRemoved, 14),
    (Op::OwnerAdded, 4),
    (Op::OwnerRemoved, 4),
    (Op::Hidden, 1),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Joiner,
    Leaver,
    Rename,
    Attribute,
    GuestAccepted,
    Disable,
    GroupCreated,
    GroupDeleted,
    MemberAdded,
    MemberRemoved,
    OwnerAdded,
    OwnerRemoved,
    Hidden,
}

/// Draws for a random live object before an operation gives up on this tenant.
const TRIES: usize = 64;

/// The working copy: deletions are marked while operations run and swept at the end, so
/// indices stay valid meanwhile.
struct Work {
    dir: Directory,
    gone_users: HashSet<u32>,
    gone_groups: HashSet<u32>,
    touched_users: BTreeSet<Uuid>,
    touched_groups: BTreeSet<Uuid>,
    new: Newcomers,
    /// Numbers new users and groups so their names can't collide with the tenant's.
    serial: usize,
    now: i64,
}

/// What one round of [`evolve`] did.
#[derive(Debug)]
pub struct Evolved {
    /// The next version of the tenant.
    pub next: Snapshot,
    /// The differences it holds in the terms of the CSV files (also appended to its
    /// history): one operation often makes several (a leaver's memberships), and two may
    /// cancel out (a member added, then removed).
    pub changes: Vec<Applied>,
    /// The operations applied, of the `changes` asked for (an operation with nothing to
    /// act on, e.g. removing an owner from a tenant without owners, is given up on).
    pub operations: usize,
}

/// Applies `changes` operations drawn from `seed` to `snap`: the next snapshot, the
/// differences it holds and how many operations were applied.
pub fn evolve(snap: &Snapshot, changes: usize, seed: u64, now: i64) -> Evolved {
    let mut w = Work {
        dir: snap.dir.clone(),
        gone_users: HashSet::new(),
        gone_groups: HashSet::new(),
        touched_users: BTreeSet::new(),
        touched_groups: BTreeSet::new(),
        new: Newcomers::new(seed ^ 0x6576_6f6c_7665),
        serial: 1_000_000 + (snap.version as usize % 1_000) * 10_000,
        now,
    };
    let mut operations = 0;
    for _ in 0..changes {
        for _ in 0..TRIES {
            let op = w.pick_op();
            if w.apply(op) {
                operations += 1;
                break;
            }
        }
    }
    let touched_users = std::mem::take(&mut w.touched_users);
    let touched_groups = std::mem::take(&mut w.touched_groups);
    let next_dir = w.sweep();
    let version = snap.version + 1;
    let applied = diff(
        &snap.dir,
        &next_dir,
        &touched_users,
        &touched_groups,
        version,
    );
    let mut next = Snapshot::new(next_dir);
    next.version = version;
    next.history = snap.history.clone();
    next.history.extend(applied.iter().cloned());
    Evolved {
        next,
        changes: applied,
        operations,
    }
}

impl Work {
    fn pick_op(&mut self) -> Op {
        let mut roll = self.new.rng().random_range(0..100);
        for (op, w) in OPERATIONS {
            if roll < w {
                return op;
            }
            roll -= w;
        }
        Op::MemberAdded
    }

    fn rand(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.new.rng().random_range(0..n)
        }
    }

    /// A random user still in the tenant that `ok` accepts.
    fn some_user(&mut self, ok: impl Fn(&super::model::User) -> bool) -> Option<u32> {
        (0..TRIES).find_map(|_| {
            let i = self.rand(self.dir.users.len()) as u32;
            (!self.gone_users.contains(&i) && ok(&self.dir.users[i as usize])).then_some(i)
        })
    }

    /// A random group still in the tenant that `ok` accepts; the hand-made ones only when
    /// `special` allows.
    fn some_group(
        &mut self,
        special: bool,
        ok: impl Fn(&super::model::Group) -> bool,
    ) -> Option<u32> {
        let from = if special { 0 } else { SPECIAL_GROUPS };
        let n = self.dir.groups.len();
        if n <= from {
            return None;
        }
        (0..TRIES).find_map(|_| {
            let i = (from + self.rand(n - from)) as u32;
            (!self.gone_groups.contains(&i) && ok(&self.dir.groups[i as usize])).then_some(i)
        })
    }

    fn touch_user(&mut self, i: u32) {
        self.touched_users.insert(self.dir.users[i as usize].id);
    }

    fn touch_group(&mut self, i: u32) {
        self.touched_groups.insert(self.dir.groups[i as usize].id);
    }

    /// Whether members can be added or removed by hand (not a dynamic group).
    fn assigned(g: &super::model::Group) -> bool {
        !matches!(
            g.kind,
            GroupKind::DynamicSecurity | GroupKind::DynamicMicrosoft365
        )
    }

    /// Carries out one change; `false` when the tenant had nothing it applies to.
    fn apply(&mut self, op: Op) -> bool {
        match op {
            Op::Joiner => self.join(),
            Op::Leaver => {
                let Some(i) = self.some_user(|_| true) else {
                    return false;
                };
                self.gone_users.insert(i);
                self.touch_user(i);
                self.touch_groups_holding(ObjRef {
                    kind: ObjKind::User,
                    idx: i,
                });
                true
            }
            Op::Rename => self.rename(),
            Op::Attribute => self.change_attribute(),
            Op::GuestAccepted => {
                let Some(i) = self
                    .some_user(|u| u.guest && u.external_user_state == Some("PendingAcceptance"))
                else {
                    return false;
                };
                self.dir.users[i as usize].external_user_state = Some("Accepted");
                self.touch_user(i);
                true
            }
            Op::Disable => {
                let Some(i) = self.some_user(|u| u.account_enabled) else {
                    return false;
                };
                self.dir.users[i as usize].account_enabled = false;
                self.touch_user(i);
                true
            }
            Op::GroupCreated => self.create_group(),
            Op::GroupDeleted => {
                let Some(g) = self.some_group(false, |_| true) else {
                    return false;
                };
                self.gone_groups.insert(g);
                self.touch_group(g);
                self.touch_groups_holding(ObjRef {
                    kind: ObjKind::Group,
                    idx: g,
                });
                true
            }
            Op::MemberAdded => self.add_edge(false),
            Op::OwnerAdded => self.add_edge(true),
            Op::MemberRemoved => self.remove_edge(false),
            Op::OwnerRemoved => self.remove_edge(true),
            Op::Hidden => {
                let Some(g) = self.some_group(false, |g| g.kind == GroupKind::Microsoft365) else {
                    return false;
                };
                self.dir.groups[g as usize].kind = GroupKind::HiddenMembership;
                self.touch_group(g);
                true
            }
        }
    }

    /// A new user, in All Staff and a few other assigned groups.
    fn join(&mut self) -> bool {
        let mut u = self.new.user(self.serial);
        self.serial += 1;
        u.created = self.now;
        self.dir.users.push(u);
        let i = (self.dir.users.len() - 1) as u32;
        self.touch_user(i);
        let me = ObjRef {
            kind: ObjKind::User,
            idx: i,
        };
        if self
            .dir
            .groups
            .first()
            .is_some_and(|g| g.display_name == "All Staff")
        {
            self.dir.groups[0].members.push(me);
            self.touch_group(0);
        }
        for _ in 0..self.rand(4) {
            if let Some(g) = self.some_group(false, Self::assigned)
                && !self.dir.groups[g as usize].members.contains(&me)
            {
                self.dir.groups[g as usize].members.push(me);
                self.touch_group(g);
            }
        }
        true
    }

    /// A user's new surname, with the sign-in name and addresses it brings.
    fn rename(&mut self) -> bool {
        let Some(i) = self.some_user(|u| !u.guest && u.on_prem.is_none()) else {
            return false;
        };
        let serial = self.serial;
        self.serial += 1;
        let u = &mut self.dir.users[i as usize];
        let surname = format!("Renamed{serial}");
        let given = u.given_name.clone().unwrap_or_else(|| "Alex".into());
        u.display_name = format!("{given} {surname}");
        u.surname = Some(surname.clone());
        // A new surname usually brings a new sign-in name and address.
        // It keeps the old one's first part (the given name as generation spelled
        // it in a UPN, `lukasz` for Łukasz): the given name itself may hold
        // characters a UPN can't.
        let (old_local, domain) = u
            .user_principal_name
            .rsplit_once('@')
            .unwrap_or((&u.user_principal_name, ""));
        let first = old_local.split('.').next().unwrap_or(old_local);
        let local = format!("{first}.{}", surname.to_ascii_lowercase());
        u.user_principal_name = format!("{local}@{domain}");
        debug_assert!(is_valid_upn(&u.user_principal_name));
        u.mail = Some(u.user_principal_name.clone());
        u.mail_nickname = local;
        u.proxy_addresses = vec![format!("SMTP:{}", u.user_principal_name)];
        self.touch_user(i);
        true
    }

    /// A member's job title, department or office changes.
    fn change_attribute(&mut self) -> bool {
        let Some(i) = self.some_user(|u| !u.guest) else {
            return false;
        };
        let pick = self.rand(3);
        let n = self.rand(90) + 10;
        let u = &mut self.dir.users[i as usize];
        match pick {
            0 => u.job_title = Some(format!("Specialist {n}")),
            1 => u.department = Some(format!("Department {n}")),
            _ => {
                u.city = Some("Lisbon".into());
                u.office_location = Some(format!("Lisbon {n}"));
            }
        }
        self.touch_user(i);
        true
    }

    /// A new group with a few members (unless dynamic) and an owner.
    fn create_group(&mut self) -> bool {
        let mut g = self.new.group(self.serial);
        self.serial += 1;
        g.created = self.now;
        let dynamic = !Self::assigned(&g);
        self.dir.groups.push(g);
        let gi = (self.dir.groups.len() - 1) as u32;
        if !dynamic {
            for _ in 0..=self.rand(20) {
                if let Some(u) = self.some_user(|_| true) {
                    let r = ObjRef {
                        kind: ObjKind::User,
                        idx: u,
                    };
                    if !self.dir.groups[gi as usize].members.contains(&r) {
                        self.dir.groups[gi as usize].members.push(r);
                    }
                }
            }
        }
        if let Some(u) = self.some_user(|u| !u.guest) {
            self.dir.groups[gi as usize].owners.push(ObjRef {
                kind: ObjKind::User,
                idx: u,
            });
        }
        self.touch_group(gi);
        true
    }

    /// A user added as a member or (not a guest) an owner of an assigned group.
    fn add_edge(&mut self, owners: bool) -> bool {
        let Some(g) = self.some_group(false, Self::assigned) else {
            return false;
        };
        let Some(u) = self.some_user(|u| !owners || !u.guest) else {
            return false;
        };
        let r = ObjRef {
            kind: ObjKind::User,
            idx: u,
        };
        let group = &mut self.dir.groups[g as usize];
        let list = if owners {
            &mut group.owners
        } else {
            &mut group.members
        };
        if list.contains(&r) {
            return false;
        }
        list.push(r);
        self.touch_group(g);
        true
    }

    /// A member or owner removed from an assigned group.
    fn remove_edge(&mut self, owners: bool) -> bool {
        let Some(g) = self.some_group(false, |g| {
            Self::assigned(g)
                && !if owners {
                    g.owners.is_empty()
                } else {
                    g.members.is_empty()
                }
        }) else {
            return false;
        };
        let len = {
            let group = &self.dir.groups[g as usize];
            if owners {
                group.owners.len()
            } else {
                group.members.len()
            }
        };
        let at = self.rand(len);
        let group = &mut self.dir.groups[g as usize];
        if owners {
            group.owners.remove(at);
        } else {
            group.members.remove(at);
        }
        self.touch_group(g);
        true
    }

    /// Marks every group that has `r` as a member or owner (its edges go when `r` goes).
    fn touch_groups_holding(&mut self, r: ObjRef) {
        let holding: Vec<u32> = (0..self.dir.groups.len() as u32)
            .filter(|&g| {
                let g = &self.dir.groups[g as usize];
                g.members.contains(&r) || g.owners.contains(&r)
            })
            .collect();
        for g in holding {
            self.touch_group(g);
        }
    }

    /// Drops the deleted users and groups and renumbers every reference to the rest.
    fn sweep(self) -> Directory {
        let mut dir = self.dir;
        let renumber = |len: usize, gone: &HashSet<u32>| -> Vec<Option<u32>> {
            let mut next = 0;
            (0..len as u32)
                .map(|i| {
                    (!gone.contains(&i)).then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect()
        };
        let users = renumber(dir.users.len(), &self.gone_users);
        let groups = renumber(dir.groups.len(), &self.gone_groups);
        let mut i = 0;
        dir.users.retain(|_| {
            i += 1;
            users[i - 1].is_some()
        });
        let mut i = 0;
        dir.groups.retain(|_| {
            i += 1;
            groups[i - 1].is_some()
        });
        let map = |r: &mut ObjRef| -> bool {
            let table = match r.kind {
                ObjKind::User => &users,
                ObjKind::Group => &groups,
                _ => return true,
            };
            match table[r.idx as usize] {
                Some(n) => {
                    r.idx = n;
                    true
                }
                None => false,
            }
        };
        for g in &mut dir.groups {
            g.members.retain_mut(|r| map(r));
            g.owners.retain_mut(|r| map(r));
        }
        dir.rebuild_index();
        dir
    }
}

/// The changes between `old` and `new` among the touched objects, users first, then groups,
/// members and owners.
fn diff(
    old: &Directory,
    new: &Directory,
    users: &BTreeSet<Uuid>,
    groups: &BTreeSet<Uuid>,
    version: u64,
) -> Vec<Applied> {
    let mut out = Vec::new();
    let row = |object, action, id, kind, name: &str| Applied {
        version,
        object,
        action,
        id,
        kind,
        display_name: name.to_string(),
        group: None,
        attributes: Vec::new(),
        restorable: false,
    };
    for (kind, touched, props, object) in [
        (ObjKind::User, users, USER_PROPS, Object::User),
        (ObjKind::Group, groups, GROUP_PROPS, Object::Group),
    ] {
        for id in touched {
            match (lookup(old, id, kind), lookup(new, id, kind)) {
                (None, Some(r)) => out.push(row(
                    object,
                    Action::Added,
                    *id,
                    kind,
                    new.display_name_of(r),
                )),
                (Some(r), None) => {
                    let mut a = row(object, Action::Removed, *id, kind, old.display_name_of(r));
                    a.restorable = kind == ObjKind::User
                        || old.groups[r.idx as usize]
                            .group_types()
                            .contains(&"Unified");
                    out.push(a);
                }
                (Some(a), Some(b)) => {
                    let changed = changed_props(old, a, new, b, props);
                    if !changed.is_empty() {
                        let mut u = row(object, Action::Updated, *id, kind, new.display_name_of(b));
                        u.attributes = changed;
                        out.push(u);
                    }
                }
                (None, None) => {}
            }
        }
    }
    for object in [Object::Member, Object::Owner] {
        for gid in groups {
            let edges = |dir: &Directory| -> HashMap<Uuid, (ObjKind, String)> {
                lookup(dir, gid, ObjKind::Group)
                    .map(|g| {
                        let g = &dir.groups[g.idx as usize];
                        let list = if object == Object::Member {
                            &g.members
                        } else {
                            &g.owners
                        };
                        list.iter()
                            .map(|r| (dir.id_of(*r), (r.kind, dir.display_name_of(*r).to_string())))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (before, after) = (edges(old), edges(new));
            let group_name = lookup(new, gid, ObjKind::Group)
                .map(|r| new.display_name_of(r))
                .or_else(|| lookup(old, gid, ObjKind::Group).map(|r| old.display_name_of(r)))
                .unwrap_or("")
                .to_string();
            let mut edge_rows: Vec<Applied> = Vec::new();
            for (set, other, action) in [
                (&before, &after, Action::Removed),
                (&after, &before, Action::Added),
            ] {
                for (id, (kind, name)) in set {
                    if !other.contains_key(id) {
                        let mut a = row(object, action, *id, *kind, name);
                        a.group = Some((*gid, group_name.clone()));
                        edge_rows.push(a);
                    }
                }
            }
            edge_rows.sort_by_key(|a| (a.action == Action::Added, a.id));
            out.extend(edge_rows);
        }
    }
    out
}

fn lookup(dir: &Directory, id: &Uuid, kind: ObjKind) -> Option<ObjRef> {
    dir.index.get(id).copied().filter(|r| r.kind == kind)
}

fn changed_props(
    old: &Directory,
    a: ObjRef,
    new: &Directory,
    b: ObjRef,
    props: &'static [&'static str],
) -> Vec<&'static str> {
    let (mut x, mut y) = (String::new(), String::new());
    props
        .iter()
        .copied()
        .filter(|p| {
            x.clear();
            y.clear();
            old.write_prop(a, p, &mut x);
            new.write_prop(b, p, &mut y);
            x != y
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::generate::generate;

    fn start() -> Snapshot {
        Snapshot::new(generate(7, Preset::Small.size(), 0).dir)
    }

    #[test]
    fn same_seed_same_changes_and_every_kind_appears_over_rounds() {
        let s0 = start();
        let Evolved {
            next: a,
            changes: ra,
            operations,
        } = evolve(&s0, 40, 3, 100);
        assert_eq!(operations, 40);
        let rb = evolve(&s0, 40, 3, 100).changes;
        let key = |r: &[Applied]| -> Vec<String> {
            r.iter()
                .map(|c| format!("{:?}{:?}{}{:?}", c.object, c.action, c.id, c.attributes))
                .collect()
        };
        assert_eq!(key(&ra), key(&rb));
        assert_eq!(a.version, 1);
        assert_eq!(a.history.len(), ra.len());
        let mut snap = a;
        let mut all = ra;
        for seed in 4..12 {
            let Evolved {
                next,
                changes: more,
                ..
            } = evolve(&snap, 40, seed, 200);
            all.extend(more);
            snap = next;
        }
        for object in [Object::User, Object::Group, Object::Member, Object::Owner] {
            for action in [Action::Added, Action::Removed] {
                assert!(
                    all.iter().any(|c| c.object == object && c.action == action),
                    "{object:?} {action:?} never happened"
                );
            }
        }
        for attr in ["displayName", "accountEnabled", "jobTitle", "visibility"] {
            assert!(
                all.iter().any(|c| c.attributes.contains(&attr)),
                "{attr} never changed"
            );
        }
    }

    /// Renames give every user a UPN of the documented characters, also those whose given
    /// name is not ASCII (Łukasz, Zoë, Søren, José), so a `startswith` by UPN prefix finds
    /// each of them.
    #[test]
    fn every_user_keeps_a_documented_upn_through_renames() {
        let mut snap = start();
        for u in &snap.dir.users {
            assert!(
                is_valid_upn(&u.user_principal_name),
                "{}",
                u.user_principal_name
            );
        }
        let mut renamed_with_accent = 0;
        for seed in 0..20 {
            let Evolved {
                next,
                changes: rows,
                ..
            } = evolve(&snap, 200, seed, 100);
            snap = next;
            renamed_with_accent += rows
                .iter()
                .filter(|c| c.attributes.contains(&"userPrincipalName"))
                .filter(|c| !c.display_name.is_ascii())
                .count();
        }
        assert!(
            renamed_with_accent > 0,
            "no user with an accented name was renamed"
        );
        for u in &snap.dir.users {
            assert!(
                is_valid_upn(&u.user_principal_name),
                "{}",
                u.user_principal_name
            );
        }
    }

    #[test]
    fn a_leaver_leaves_every_group_and_the_index_stays_whole() {
        let s0 = start();
        let Evolved {
            next: s1,
            changes: rows,
            ..
        } = evolve(&s0, 60, 9, 100);
        let dir = &s1.dir;
        for g in &dir.groups {
            for r in g.members.iter().chain(&g.owners) {
                assert!((r.idx as usize) < dir.len_of(r.kind));
                assert_eq!(dir.index.get(&dir.id_of(*r)), Some(r));
            }
        }
        for left in rows
            .iter()
            .filter(|c| c.object == Object::User && c.action == Action::Removed)
        {
            assert!(!dir.index.contains_key(&left.id));
            let was_member = s0
                .dir
                .groups
                .iter()
                .any(|g| g.members.iter().any(|r| s0.dir.id_of(*r) == left.id));
            if was_member {
                assert!(rows.iter().any(|c| c.object == Object::Member
                    && c.action == Action::Removed
                    && c.id == left.id));
            }
        }
    }
}
