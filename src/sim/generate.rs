//! Deterministic tenant generator: the same seed and size always give the same directory
//! (ids, names, memberships, secrets). Only credential dates depend on the start time.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::apps::{
    DemoAppKind, GRAPH_APP_ID, GRAPH_ROLES, MICROSOFT_SERVICES_TENANT, graph_role, make_secret,
};
use super::config::SizeSpec;
use super::model::{
    AppRole, AppRoleAssignment, Application, Device, Directory, Domain, Group, GroupKind, ObjKind,
    ObjRef, OnPrem, OrgContact, PasswordCredential, ServicePrincipal, User,
};

/// 2019-01-01T00:00:00Z: objects are created after this, so dates don't depend on "now".
const EPOCH_2019: i64 = 1_546_300_800;
const SIX_YEARS: i64 = 6 * 365 * 86_400;

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

/// (display, ascii) first names; a few carry diacritics or non-Latin scripts on purpose.
const FIRST: &[(&str, &str)] = &[
    ("Adele", "adele"),
    ("Alex", "alex"),
    ("Allan", "allan"),
    ("Diego", "diego"),
    ("Grady", "grady"),
    ("Henrietta", "henrietta"),
    ("Isaiah", "isaiah"),
    ("Johanna", "johanna"),
    ("Joni", "joni"),
    ("Lee", "lee"),
    ("Lidia", "lidia"),
    ("Lynne", "lynne"),
    ("Megan", "megan"),
    ("Miriam", "miriam"),
    ("Nestor", "nestor"),
    ("Patti", "patti"),
    ("Pradeep", "pradeep"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Aoife", "aoife"),
    ("Chidi", "chidi"),
    ("Mei", "mei"),
    ("Olumide", "olumide"),
    ("Ingrid", "ingrid"),
    ("Rafael", "rafael"),
    ("Yuki", "yuki"),
    ("Fatima", "fatima"),
    ("Noah", "noah"),
];

const LAST: &[(&str, &str)] = &[
    ("Vance", "vance"),
    ("Wilber", "wilber"),
    ("Deyoung", "deyoung"),
    ("Zárate", "zarate"),
    ("Archie", "archie"),
    ("Cane", "cane"),
    ("Henderson", "henderson"),
    ("Lauer", "lauer"),
    ("Sherman", "sherman"),
    ("Gu", "gu"),
    ("Holloway", "holloway"),
    ("Robbins", "robbins"),
    ("Bowen", "bowen"),
    ("Graham", "graham"),
    ("Wilke", "wilke"),
    ("Fernandez", "fernandez"),
    ("Gupta", "gupta"),
    ("Müller", "mueller"),
    ("Ñúñez", "nunez"),
    ("O'Connor", "oconnor"),
    ("Kowalski", "kowalski"),
    ("Nakamura", "nakamura"),
    ("Okafor", "okafor"),
    ("Lindqvist", "lindqvist"),
    ("Haddad", "haddad"),
    ("Chen", "chen"),
    ("Dubois", "dubois"),
    ("Rossi", "rossi"),
];

const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Finance",
    "Engineering",
    "Research & Development",
    "Legal, Risk and Compliance",
    "Human Resources",
    "Marketing",
    "Operations",
    "IT",
    "Customer Success",
];

const TITLES: &[&str] = &[
    "Account Manager",
    "Analyst",
    "Software Engineer",
    "Senior Software Engineer",
    "Director",
    "VP, Sales",
    "Consultant",
    "Support Engineer",
    "Product Manager",
    "Accountant",
];

const PLACES: &[(&str, &str, &str)] = &[
    ("Seattle", "United States", "US"),
    ("London", "United Kingdom", "GB"),
    ("Zürich", "Switzerland", "CH"),
    ("Paris", "France", "FR"),
    ("São Paulo", "Brazil", "BR"),
    ("Tokyo", "Japan", "JP"),
    ("Lagos", "Nigeria", "NG"),
    ("Kraków", "Poland", "PL"),
];

const LANGS: &[&str] = &[
    "en-US", "en-GB", "de-CH", "fr-FR", "pt-BR", "ja-JP", "pl-PL",
];

const SAAS: &[&str] = &[
    "Salesforce",
    "ServiceNow",
    "Zoom",
    "Workday",
    "GitHub Enterprise",
    "Slack",
    "Atlassian Cloud",
    "Box",
    "Dropbox Business",
    "DocuSign",
];

struct Ctx {
    rng: ChaCha8Rng,
    domain: String,
    initial_domain: String,
    sid_prefix: String,
    next_rid: u64,
}

impl Ctx {
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

struct UserSeed<'a> {
    display: &'a str,
    given: Option<&'a str>,
    surname: Option<&'a str>,
    local: &'a str,
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

/// Generates a tenant. `now` only affects credential start/end dates.
pub fn generate(seed: u64, size: SizeSpec, now: i64) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let tenant_id = uuid(&mut rng);
    let sid_prefix = format!(
        "S-1-5-21-{}-{}-{}",
        rng.random_range(1_000_000_000u64..4_000_000_000),
        rng.random_range(1_000_000_000u64..4_000_000_000),
        rng.random_range(1_000_000_000u64..4_000_000_000)
    );
    let mut cx = Ctx {
        rng,
        domain: "contoso.example".to_string(),
        initial_domain: "contososim.onmicrosoft.com".to_string(),
        sid_prefix,
        next_rid: 1100,
    };
    let domains = vec![
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
    ];

    // --- users: hand-made edge cases first, then generated ones.
    let mut users: Vec<User> = Vec::with_capacity(size.users);
    let edge: [(UserSeed<'_>, bool, bool); 10] = [
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
    for (i, (seed_u, guest, synced)) in edge.into_iter().enumerate() {
        if users.len() >= size.users {
            break;
        }
        let mut u = make_user(&mut cx, seed_u, i, guest, synced);
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
        users.push(u);
    }
    while users.len() < size.users {
        let n = users.len();
        let (fd, fa) = *FIRST.choose(&mut cx.rng).unwrap_or(&FIRST[0]);
        let (ld, la) = *LAST.choose(&mut cx.rng).unwrap_or(&LAST[0]);
        let display = format!("{fd} {ld}");
        let local = format!("{fa}.{la}{n}");
        let roll = cx.rng.random_range(0..100);
        let guest = roll < 8;
        let synced = !guest && roll >= 60;
        let mut u = make_user(
            &mut cx,
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
        users.push(u);
    }

    // --- devices, contacts, service principals.
    let os = [
        ("Windows", "10.0.22631.4460", "AzureAd"),
        ("Windows", "10.0.19045.5131", "ServerAd"),
        ("iOS", "18.1", "Workplace"),
        ("Android", "15.0", "Workplace"),
        ("MacMDM", "15.1", "Workplace"),
    ];
    let mut devices = Vec::with_capacity(size.devices);
    for n in 0..size.devices {
        let (o, v, t) = os[n % os.len()];
        let id = uuid(&mut cx.rng);
        let device_id = uuid(&mut cx.rng);
        let created = cx.created();
        devices.push(Device {
            id,
            device_id,
            display_name: format!("DESKTOP-{:07X}", cx.rng.random_range(0..0x0FFF_FFFFu32)),
            operating_system: o,
            operating_system_version: v,
            trust_type: t,
            account_enabled: n % 17 != 5,
            created,
        });
    }
    let mut contacts = Vec::with_capacity(size.contacts);
    for n in 0..size.contacts {
        let (fd, fa) = *FIRST.choose(&mut cx.rng).unwrap_or(&FIRST[0]);
        let (ld, la) = *LAST.choose(&mut cx.rng).unwrap_or(&LAST[0]);
        let mail = format!("{fa}.{la}{n}@partner.example");
        contacts.push(OrgContact {
            id: uuid(&mut cx.rng),
            display_name: format!("{ld}, {fd} (Partner)"),
            given_name: Some(fd.to_string()),
            surname: Some(ld.to_string()),
            mail: Some(mail.clone()),
            mail_nickname: format!("{fa}.{la}{n}"),
            company_name: Some("Partner Co.".to_string()),
            proxy_addresses: vec![format!("SMTP:{mail}")],
        });
    }
    let mut sps: Vec<ServicePrincipal> = Vec::new();
    let graph_sp_id = uuid(&mut cx.rng);
    let created = cx.created();
    sps.push(ServicePrincipal {
        id: graph_sp_id,
        app_id: GRAPH_APP_ID,
        display_name: "Microsoft Graph".to_string(),
        app_owner_organization_id: Some(MICROSOFT_SERVICES_TENANT),
        account_enabled: true,
        app_roles: GRAPH_ROLES
            .iter()
            .map(|r| AppRole {
                id: r.id,
                value: r.value,
                display_name: r.display_name,
                description: r.description,
            })
            .collect(),
        app_role_assignments: Vec::new(),
        created,
    });
    for n in 0..size.service_principals {
        let name = if n < SAAS.len() {
            SAAS[n].to_string()
        } else {
            format!("{} {}", SAAS[n % SAAS.len()], n / SAAS.len() + 1)
        };
        let id = uuid(&mut cx.rng);
        let app_id = uuid(&mut cx.rng);
        let created = cx.created();
        sps.push(ServicePrincipal {
            id,
            app_id,
            display_name: name,
            app_owner_organization_id: Some(uuid(&mut cx.rng)),
            account_enabled: true,
            app_roles: Vec::new(),
            app_role_assignments: Vec::new(),
            created,
        });
    }

    // --- demo apps: application object + service principal + grants.
    let mut applications = Vec::new();
    let mut apps = Vec::new();
    for kind in DemoAppKind::ALL {
        let display_name = format!("entra-extract demo ({})", kind.slug());
        let app_id = uuid(&mut cx.rng);
        let secret = make_secret(&mut cx.rng);
        let app_obj_id = uuid(&mut cx.rng);
        let key_id = uuid(&mut cx.rng);
        let sp_id = uuid(&mut cx.rng);
        let created = cx.created();
        let password_credentials = match kind.secret_days_left() {
            Some(days) => {
                let end = now + days * 86_400;
                vec![PasswordCredential {
                    key_id,
                    display_name: "entra-extract".to_string(),
                    secret: secret.clone(),
                    start: end - 2 * 365 * 86_400,
                    end,
                }]
            }
            None => Vec::new(),
        };
        let has_secret = !password_credentials.is_empty();
        applications.push(Application {
            id: app_obj_id,
            app_id,
            display_name: display_name.clone(),
            created,
            password_credentials,
            key_credentials: Vec::new(),
        });
        let assignments = kind
            .granted_roles()
            .iter()
            .filter_map(|v| graph_role(v))
            .map(|r| {
                let mut raw = [0u8; 24];
                cx.rng.fill(&mut raw[..]);
                AppRoleAssignment {
                    id: base64::Engine::encode(
                        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                        raw,
                    ),
                    app_role_id: r.id,
                    resource_id: graph_sp_id,
                    resource_display_name: "Microsoft Graph".to_string(),
                    created,
                }
            })
            .collect();
        sps.push(ServicePrincipal {
            id: sp_id,
            app_id,
            display_name: display_name.clone(),
            app_owner_organization_id: Some(tenant_id),
            account_enabled: true,
            app_roles: Vec::new(),
            app_role_assignments: assignments,
            created,
        });
        apps.push(GeneratedApp {
            kind,
            display_name,
            app_id,
            secret: has_secret.then_some(secret),
            application_idx: applications.len() - 1,
            sp_idx: sps.len() - 1,
        });
    }

    // --- groups: hand-made edge cases first.
    let nu = users.len();
    let mut groups: Vec<Group> = Vec::with_capacity(size.groups);
    let special: [(GroupKind, &str, Option<&str>); 12] = [
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
    for (kind, name, desc) in special {
        if groups.len() >= size.groups {
            break;
        }
        groups.push(make_group(&mut cx, kind, name, desc));
    }
    let kinds = [
        (GroupKind::Security, 45),
        (GroupKind::Microsoft365, 30),
        (GroupKind::DynamicSecurity, 3),
        (GroupKind::DynamicMicrosoft365, 2),
        (GroupKind::MailEnabledSecurity, 5),
        (GroupKind::Distribution, 10),
        (GroupKind::RoleAssignable, 2),
        (GroupKind::HiddenMembership, 3),
    ];
    let topics = [
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
    while groups.len() < size.groups {
        let n = groups.len();
        let mut roll = cx.rng.random_range(0..100);
        let mut kind = GroupKind::Security;
        for (k, w) in kinds {
            if roll < w {
                kind = k;
                break;
            }
            roll -= w;
        }
        let topic = topics.choose(&mut cx.rng).unwrap_or(&"Team");
        let name = format!("{topic} {n:05}");
        let mut g = make_group(&mut cx, kind, &name, Some("Generated group"));
        if kind == GroupKind::Security && cx.rng.random_range(0..100) < 20 {
            let sam = format!("GG-{topic}-{n}");
            g.on_prem = Some(cx.on_prem(&sam, &sam, None, "Groups", false));
        }
        groups.push(g);
    }
    if let Some(g) = groups.get_mut(4) {
        g.membership_rule = Some("(user.department -eq \"Sales\")".to_string());
    }
    if let Some(g) = groups.get_mut(10) {
        let op = cx.on_prem("GG-Finance", "GG-Finance", None, "Groups", false);
        g.on_prem = Some(op);
    }

    // --- memberships of the hand-made groups.
    let mut used_edges = 0usize;
    let ng = groups.len();
    let all_staff = nu.min(30_000).min(size.member_edges.max(120));
    let set = |g: &mut Vec<Group>, i: usize, m: Vec<ObjRef>, o: Vec<ObjRef>| {
        if let Some(x) = g.get_mut(i) {
            x.members = m;
            x.owners = o;
        }
    };
    let member_users: Vec<usize> = (0..nu).filter(|&i| !users[i].guest).collect();
    let owner = |k: usize| user_ref(member_users.get(k).copied().unwrap_or(0));
    if nu > 0 {
        let staff: Vec<ObjRef> = (0..all_staff).map(user_ref).collect();
        set(&mut groups, 0, staff, vec![owner(0)]);
        let hidden: Vec<ObjRef> = (0..nu.min(8)).map(|i| user_ref((i * 7) % nu)).collect();
        set(&mut groups, 1, dedup(hidden), vec![owner(1)]);
        set(&mut groups, 2, Vec::new(), Vec::new());
        set(
            &mut groups,
            3,
            (0..nu.min(3)).map(user_ref).collect(),
            Vec::new(),
        );
        let sales: Vec<ObjRef> = (0..nu)
            .filter(|&i| users[i].department.as_deref() == Some("Sales"))
            .map(user_ref)
            .collect();
        set(&mut groups, 4, sales, vec![owner(2)]);
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
        set(&mut groups, 5, dedup(parent), vec![owner(0), owner(3)]);
        set(
            &mut groups,
            6,
            (0..nu.min(5))
                .map(|i| user_ref(i + nu / 2))
                .collect::<Vec<_>>(),
            vec![owner(4)],
        );
        let mut mixed: Vec<ObjRef> = Vec::new();
        mixed.extend((0..devices.len().min(3)).map(|i| ObjRef {
            kind: ObjKind::Device,
            idx: i as u32,
        }));
        mixed.extend((1..sps.len().min(3)).map(|i| ObjRef {
            kind: ObjKind::ServicePrincipal,
            idx: i as u32,
        }));
        mixed.extend((0..contacts.len().min(2)).map(|i| ObjRef {
            kind: ObjKind::OrgContact,
            idx: i as u32,
        }));
        mixed.push(user_ref(1 % nu));
        let sp_owner = ObjRef {
            kind: ObjKind::ServicePrincipal,
            idx: 1.min(sps.len() as u32 - 1),
        };
        set(&mut groups, 7, mixed, vec![owner(0), sp_owner]);
        let mut dl: Vec<ObjRef> = (0..contacts.len())
            .map(|i| ObjRef {
                kind: ObjKind::OrgContact,
                idx: i as u32,
            })
            .collect();
        dl.extend((0..nu.min(10)).map(|i| user_ref(i * 3 % nu)));
        set(&mut groups, 8, dedup(dl), Vec::new());
        set(
            &mut groups,
            9,
            (0..nu.min(6))
                .map(|i| user_ref(i * 5 % nu))
                .collect::<Vec<_>>(),
            vec![owner(5)],
        );
        set(
            &mut groups,
            10,
            (0..nu.min(12))
                .map(|i| user_ref(i * 11 % nu))
                .collect::<Vec<_>>(),
            Vec::new(),
        );
        set(
            &mut groups,
            11,
            (0..nu.min(9))
                .map(|i| user_ref(i * 13 % nu))
                .collect::<Vec<_>>(),
            vec![owner(1), owner(2)],
        );
        for g in groups.iter_mut().take(12) {
            g.members = dedup(std::mem::take(&mut g.members));
        }
        used_edges = groups
            .iter()
            .take(12)
            .map(|g| g.members.len())
            .sum::<usize>();
    }

    // --- long-tailed sizes for the generated groups: Lomax weights scaled to the edge budget.
    let rest = 12.min(ng)..ng;
    let budget = size.member_edges.saturating_sub(used_edges);
    let weights: Vec<f64> = rest
        .clone()
        .map(|_| {
            let u: f64 = cx.rng.random_range(0.0..1.0);
            (1.0 - u).powf(-1.0 / 1.2) - 1.0
        })
        .collect();
    let wsum: f64 = weights.iter().sum::<f64>().max(1e-9);
    let owner_avg = size.owner_edges as f64 / ng.max(1) as f64;
    // Synced and distribution groups (about a fifth) get none, so the others carry the rest.
    let owner_max = (2.0 * owner_avg / 0.8).round().max(1.0) as usize;
    let member_pool: Vec<usize> = member_users.clone();
    for (w, gi) in weights.iter().zip(rest) {
        let k = ((w / wsum) * budget as f64).round() as usize;
        let kind = groups[gi].kind;
        let mut members: Vec<ObjRef> = spread(&mut cx.rng, nu, k).map(user_ref).collect();
        if kind == GroupKind::Security && !devices.is_empty() && cx.rng.random_range(0..100) < 5 {
            let d = cx.rng.random_range(1..=devices.len().min(5));
            members.extend(spread(&mut cx.rng, devices.len(), d).map(|i| ObjRef {
                kind: ObjKind::Device,
                idx: i as u32,
            }));
        }
        if kind == GroupKind::Distribution
            && !contacts.is_empty()
            && cx.rng.random_range(0..100) < 30
        {
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
        let synced = groups[gi].on_prem.is_some();
        let n_owners = if synced || kind == GroupKind::Distribution {
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
        groups[gi].members = members;
        groups[gi].owners = owners;
    }

    let mut dir = Directory {
        tenant_id,
        display_name: "Contoso (simulated)".to_string(),
        domains,
        created: EPOCH_2019,
        users,
        groups,
        devices,
        service_principals: sps,
        contacts,
        applications,
        index: Default::default(),
    };
    dir.rebuild_index();
    Generated {
        dir,
        apps,
        graph_sp_idx: 0,
    }
}

fn dedup(v: Vec<ObjRef>) -> Vec<ObjRef> {
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    v.into_iter().filter(|r| seen.insert(*r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::Preset;

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

    #[test]
    fn medium_preset_hits_its_edge_budget_with_a_long_tail() {
        let g = generate(1, Preset::M.size(), 0);
        let edges: usize = g.dir.groups.iter().map(|g| g.members.len()).sum();
        let owners: usize = g.dir.groups.iter().map(|g| g.owners.len()).sum();
        assert!((80_000..130_000).contains(&edges), "{edges}");
        assert!((2_500..6_000).contains(&owners), "{owners}");
        let max = g
            .dir
            .groups
            .iter()
            .map(|g| g.members.len())
            .max()
            .unwrap_or(0);
        let median = {
            let mut s: Vec<usize> = g.dir.groups.iter().map(|g| g.members.len()).collect();
            s.sort_unstable();
            s[s.len() / 2]
        };
        assert!(max > 20 * median.max(1), "max {max} median {median}");
    }
}
