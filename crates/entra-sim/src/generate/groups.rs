//! Groups: hand-made edge cases first, then generated ones of every kind.

use rand::Rng;
use rand::seq::IndexedRandom;
use uuid::Uuid;

use super::names::DEPARTMENTS;
use super::{Ctx, uuid};
use crate::model::{Group, GroupKind};

/// The edge cases, in an order `memberships` relies on (it fills them by index).
pub(super) const SPECIAL: [(GroupKind, &str, Option<&str>); 12] = [
    (
        GroupKind::Security,
        "All Staff",
        Some("Every employee; more than 100 members so member paging is exercised."),
    ),
    (
        GroupKind::HiddenMembership,
        "Project Falcon (hidden)",
        Some("Membership hidden: needs Member.Read.Hidden"),
    ),
    (GroupKind::Security, "Empty Group", None),
    (
        GroupKind::RoleAssignable,
        "Tier-0 Admins",
        Some("Role-assignable, no owners"),
    ),
    (
        GroupKind::DynamicSecurity,
        "Dynamic: Sales, \"EMEA\"",
        Some("Dynamic membership"),
    ),
    (
        GroupKind::Security,
        "Nested Parent",
        Some("Has groups as members"),
    ),
    (
        GroupKind::Security,
        "Nested Child",
        Some("Member of Nested Parent"),
    ),
    (
        GroupKind::Security,
        "Devices & Service Principals",
        Some("Non-user members"),
    ),
    (
        GroupKind::Distribution,
        "Newsletter; Partners",
        Some("Distribution list with contacts"),
    ),
    (
        GroupKind::MailEnabledSecurity,
        "Mail-enabled Security",
        None,
    ),
    (
        GroupKind::Security,
        "GG-Finance (synced)",
        Some("Synced from on-premises AD"),
    ),
    (
        GroupKind::Microsoft365,
        "Unicode Ωmega 群組",
        Some("Line one\nline two, with a comma"),
    ),
];

/// How many groups are hand-made; the rest get long-tailed memberships.
pub(super) const HAND_MADE_GROUPS: usize = SPECIAL.len();

/// Kinds of generated groups, weighted in percent.
const KINDS: [(GroupKind, i32); 8] = [
    (GroupKind::Security, 45),
    (GroupKind::Microsoft365, 30),
    (GroupKind::DynamicSecurity, 3),
    (GroupKind::DynamicMicrosoft365, 2),
    (GroupKind::MailEnabledSecurity, 5),
    (GroupKind::Distribution, 10),
    (GroupKind::RoleAssignable, 2),
    (GroupKind::HiddenMembership, 3),
];

const TOPICS: [&str; 10] = [
    "Project",
    "Team",
    "Sales",
    "Finance",
    "Engineering",
    "Site",
    "Committee",
    "Alumni",
    "Partners",
    "Apps",
];

/// `count` groups without members: as many edge cases as fit, then generated ones.
pub(super) fn groups(cx: &mut Ctx, count: usize) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::with_capacity(count);
    for (kind, name, desc) in SPECIAL {
        if groups.len() >= count {
            break;
        }
        groups.push(make_group(cx, kind, name, desc));
    }
    while groups.len() < count {
        let n = groups.len();
        groups.push(generated_group(cx, n));
    }
    // The dynamic group's rule names the department its members are taken from.
    if let Some(g) = groups.get_mut(4) {
        g.membership_rule = Some("(user.department -eq \"Sales\")".to_string());
    }
    // The synced edge case gets its on-premises identity after all groups are drawn.
    if let Some(g) = groups.get_mut(10) {
        let op = cx.on_prem("GG-Finance", "GG-Finance", None, "Groups", false);
        g.on_prem = Some(op);
    }
    groups
}

/// The `n`th group: a weighted kind, a topic name; a fifth of security groups are synced.
pub(super) fn generated_group(cx: &mut Ctx, n: usize) -> Group {
    let mut roll = cx.rng.random_range(0..100);
    let mut kind = GroupKind::Security;
    for (k, w) in KINDS {
        if roll < w {
            kind = k;
            break;
        }
        roll -= w;
    }
    let topic = TOPICS.choose(&mut cx.rng).unwrap_or(&"Team");
    let name = format!("{topic} {n:05}");
    let mut g = make_group(cx, kind, &name, Some("Generated group"));
    if kind == GroupKind::Security && cx.rng.random_range(0..100) < 20 {
        let sam = format!("GG-{topic}-{n}");
        g.on_prem = Some(cx.on_prem(&sam, &sam, None, "Groups", false));
    }
    g
}

fn make_group(cx: &mut Ctx, kind: GroupKind, name: &str, description: Option<&str>) -> Group {
    let nick: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    let nick = if nick.is_empty() {
        format!("group{}", cx.rng.random_range(1000..9999))
    } else {
        nick
    };
    let probe = Group {
        id: Uuid::nil(),
        kind,
        display_name: String::new(),
        description: None,
        mail_nickname: String::new(),
        mail: None,
        membership_rule: None,
        created: 0,
        on_prem: None,
        proxy_addresses: Vec::new(),
        security_identifier: String::new(),
        members: Vec::new(),
        owners: Vec::new(),
    };
    let mail = probe
        .mail_enabled()
        .then(|| format!("{nick}@{}", cx.domain));
    let proxy = mail
        .iter()
        .map(|m| format!("SMTP:{m}"))
        .chain(
            mail.iter()
                .map(|_| format!("smtp:{nick}@{}", cx.initial_domain)),
        )
        .collect();
    let rule = matches!(
        kind,
        GroupKind::DynamicSecurity | GroupKind::DynamicMicrosoft365
    )
    .then(|| {
        let dept = DEPARTMENTS.choose(&mut cx.rng).unwrap_or(&"Sales");
        format!("(user.department -eq \"{dept}\")")
    });
    let id = uuid(&mut cx.rng);
    let created = cx.created();
    Group {
        id,
        kind,
        display_name: name.to_string(),
        description: description.map(str::to_string),
        mail_nickname: nick,
        mail,
        membership_rule: rule,
        created,
        on_prem: None,
        proxy_addresses: proxy,
        security_identifier: cx.sid(),
        members: Vec::new(),
        owners: Vec::new(),
    }
}
