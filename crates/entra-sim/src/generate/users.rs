//! Users: hand-made edge cases first, then generated ones.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::names::{DEPARTMENTS, FIRST, LANGS, LAST, PLACES, TITLES};
use super::{Ctx, uuid};
use crate::model::User;

struct UserSeed<'a> {
    display: &'a str,
    given: Option<&'a str>,
    surname: Option<&'a str>,
    local: &'a str,
}

/// (seed, guest, synced): names with quotes, commas, a line break and other scripts, guests,
/// a service account without mail; index 7 is disabled, 8 is bare, 9 is a pending guest.
const EDGE_CASES: [(UserSeed<'static>, bool, bool); 10] = [
    (
        UserSeed {
            display: "Adele Vance",
            given: Some("Adele"),
            surname: Some("Vance"),
            local: "adele.vance",
        },
        false,
        true,
    ),
    (
        UserSeed {
            display: "O'Brien, Seán",
            given: Some("Seán"),
            surname: Some("O'Brien"),
            local: "sean.obrien",
        },
        false,
        false,
    ),
    (
        UserSeed {
            display: "Robert \"Bob\" Tables",
            given: Some("Robert"),
            surname: Some("Tables"),
            local: "bob.tables",
        },
        false,
        false,
    ),
    (
        UserSeed {
            display: "Line\nBreak User",
            given: Some("Line"),
            surname: Some("Break"),
            local: "line.break",
        },
        false,
        false,
    ),
    (
        UserSeed {
            display: "山田 太郎",
            given: Some("太郎"),
            surname: Some("山田"),
            local: "taro.yamada",
        },
        false,
        true,
    ),
    (
        UserSeed {
            display: "Zoë Åkesson-Øster",
            given: Some("Zoë"),
            surname: Some("Åkesson-Øster"),
            local: "zoe.akesson",
        },
        false,
        false,
    ),
    (
        UserSeed {
            display: "Guest, External (Fabrikam)",
            given: Some("External"),
            surname: Some("Guest"),
            local: "external.guest",
        },
        true,
        false,
    ),
    (
        UserSeed {
            display: "Disabled Former Employee",
            given: Some("Former"),
            surname: Some("Employee"),
            local: "former.employee",
        },
        false,
        true,
    ),
    (
        UserSeed {
            display: "svc-backup",
            given: None,
            surname: None,
            local: "svc-backup",
        },
        false,
        false,
    ),
    (
        UserSeed {
            display: "Pending Guest",
            given: None,
            surname: None,
            local: "pending.guest",
        },
        true,
        false,
    ),
];

/// `count` users: as many edge cases as fit, then generated ones.
pub(super) fn users(cx: &mut Ctx, count: usize) -> Vec<User> {
    let mut users: Vec<User> = Vec::with_capacity(count);
    for (i, (seed_u, guest, synced)) in EDGE_CASES.into_iter().enumerate() {
        if users.len() >= count {
            break;
        }
        users.push(edge_case_user(cx, i, seed_u, guest, synced));
    }
    while users.len() < count {
        let n = users.len();
        users.push(generated_user(cx, n));
    }
    users
}

/// One of the edge cases, with the attributes generation can't give it.
fn edge_case_user(cx: &mut Ctx, i: usize, seed: UserSeed<'_>, guest: bool, synced: bool) -> User {
    let mut u = make_user(cx, seed, i, guest, synced);
    if i == 7 {
        u.account_enabled = false;
    }
    if i == 8 {
        u.mail = None;
        u.job_title = None;
        u.department = None;
        u.proxy_addresses.clear();
        u.business_phones.clear();
        u.mobile_phone = None;
    }
    if i == 9 {
        u.external_user_state = Some("PendingAcceptance");
    }
    u
}

/// The `n`th user: about 8% guests, 40% synced from on-premises, 5% disabled.
pub(super) fn generated_user(cx: &mut Ctx, n: usize) -> User {
    let (fd, fa) = *FIRST.choose(&mut cx.rng).unwrap_or(&FIRST[0]);
    let (ld, la) = *LAST.choose(&mut cx.rng).unwrap_or(&LAST[0]);
    let display = format!("{fd} {ld}");
    let local = format!("{fa}.{la}{n}");
    let roll = cx.rng.random_range(0..100);
    let guest = roll < 8;
    let synced = !guest && roll >= 60;
    let mut u = make_user(
        cx,
        UserSeed {
            display: &display,
            given: Some(fd),
            surname: Some(ld),
            local: &local,
        },
        n,
        guest,
        synced,
    );
    if cx.rng.random_range(0..100) < 5 {
        u.account_enabled = false;
    }
    u
}

fn make_user(cx: &mut Ctx, seed: UserSeed<'_>, n: usize, guest: bool, synced: bool) -> User {
    let id = uuid(&mut cx.rng);
    let created = cx.created();
    let (city, country, usage) = *PLACES.choose(&mut cx.rng).unwrap_or(&PLACES[0]);
    let department = DEPARTMENTS.choose(&mut cx.rng).map(|s| s.to_string());
    let nick = seed.local.replace(['\'', ' '], "");
    if guest {
        let ext_domains = ["fabrikam.example", "gmail.example", "northwind.example"];
        let ext = ext_domains[n % ext_domains.len()];
        let mail = format!("{nick}@{ext}");
        let upn = format!("{}_{}#EXT#@{}", nick, ext, cx.initial_domain);
        return User {
            id,
            user_principal_name: upn,
            display_name: seed.display.to_string(),
            given_name: seed.given.map(str::to_string),
            surname: seed.surname.map(str::to_string),
            mail: Some(mail.clone()),
            mail_nickname: format!("{nick}_{ext}#EXT#"),
            account_enabled: true,
            guest: true,
            external_user_state: Some(if n.is_multiple_of(3) {
                "PendingAcceptance"
            } else {
                "Accepted"
            }),
            job_title: None,
            department: None,
            company_name: Some("Fabrikam, Inc.".to_string()),
            employee_id: None,
            office_location: None,
            city: None,
            country: None,
            usage_location: Some(usage),
            preferred_language: None,
            mobile_phone: None,
            business_phones: Vec::new(),
            proxy_addresses: vec![format!("SMTP:{mail}")],
            created,
            on_prem: None,
        };
    }
    let upn = format!("{nick}@{}", cx.domain);
    let on_prem = if synced {
        let sam: String = nick.chars().filter(|c| *c != '.').take(20).collect();
        let op = cx.on_prem(&sam, seed.display, Some(&upn), "Users", true);
        Some(op)
    } else {
        None
    };
    let phone = format!("+1 425 555 {:04}", n % 10_000);
    User {
        id,
        user_principal_name: upn.clone(),
        display_name: seed.display.to_string(),
        given_name: seed.given.map(str::to_string),
        surname: seed.surname.map(str::to_string),
        mail: Some(upn.clone()),
        mail_nickname: nick.clone(),
        account_enabled: true,
        guest: false,
        external_user_state: None,
        job_title: TITLES.choose(&mut cx.rng).map(|s| s.to_string()),
        department,
        company_name: Some("Contoso, Ltd.".to_string()),
        employee_id: Some(format!("E{:06}", 100_000 + n)),
        office_location: Some(format!("{city} {}", 1 + n % 40)),
        city: Some(city.to_string()),
        country: Some(country.to_string()),
        usage_location: Some(usage),
        preferred_language: LANGS.choose(&mut cx.rng).copied(),
        mobile_phone: if n.is_multiple_of(4) {
            None
        } else {
            Some(phone.clone())
        },
        business_phones: if n.is_multiple_of(5) {
            Vec::new()
        } else {
            vec![phone]
        },
        proxy_addresses: vec![
            format!("SMTP:{upn}"),
            format!("smtp:{nick}@{}", cx.initial_domain),
        ],
        created,
        on_prem,
    }
}
