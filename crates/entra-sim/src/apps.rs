//! Microsoft Graph's app roles and the demo app registrations every simulated tenant has, so
//! each branch of a permission check can be exercised.

use uuid::Uuid;

/// appId of Microsoft Graph's service principal in every tenant.
pub const GRAPH_APP_ID: Uuid = Uuid::from_u128(0x00000003_0000_0000_c000_000000000000);

/// Tenant that owns Microsoft's first-party apps (appOwnerOrganizationId of Graph's SP).
pub const MICROSOFT_SERVICES_TENANT: Uuid = Uuid::from_u128(0xf8cdef31_a31e_4b4a_93e4_5f571e91255a);

/// A Microsoft Graph application permission (app role) the simulator knows.
#[derive(Debug, Clone, Copy)]
pub struct GraphRole {
    pub value: &'static str,
    pub id: Uuid,
    pub display_name: &'static str,
    pub description: &'static str,
}

const fn role(
    value: &'static str,
    id: u128,
    display_name: &'static str,
    description: &'static str,
) -> GraphRole {
    GraphRole {
        value,
        id: Uuid::from_u128(id),
        display_name,
        description,
    }
}

/// Graph's app roles. GUIDs from graph-reference §2 (Directory.Read.All, Member.Read.Hidden)
/// and public permission dumps (ReadWrite, Group*, User.Read.All, Application.Read.All,
/// Device.Read.All, OrgContact.Read.All, Organization.Read.All).
pub const GRAPH_ROLES: &[GraphRole] = &[
    role(
        "Directory.Read.All",
        0x7ab1d382_f21e_4acd_a863_ba3e13f7da61,
        "Read directory data",
        "Allows the app to read data in your organization's directory, such as users, groups and apps, without a signed-in user.",
    ),
    role(
        "Member.Read.Hidden",
        0x658aa5d8_239f_45c4_aa12_864f4fc7e490,
        "Read all hidden memberships",
        "Allows the app to read the memberships of hidden groups and administrative units without a signed-in user.",
    ),
    role(
        "Directory.ReadWrite.All",
        0x19dbc75e_c2e2_444c_a770_ec69d8559fc7,
        "Read and write directory data",
        "Allows the app to read and write data in your organization's directory, such as users, and groups, without a signed-in user.",
    ),
    role(
        "Group.ReadWrite.All",
        0x62a82d76_70ea_41e2_9197_370581804d09,
        "Read and write all groups",
        "Allows the app to create groups, read all group properties and memberships, update group properties and memberships, and delete groups.",
    ),
    role(
        "Group.Read.All",
        0x5b567255_7703_4780_807c_7be8301ae99b,
        "Read all groups",
        "Allows the app to read group properties and memberships, and read conversations for all groups, without a signed-in user.",
    ),
    role(
        "GroupMember.Read.All",
        0x98830695_27a2_44f7_8c18_0c3ebc9698f6,
        "Read all group memberships",
        "Allows the app to read memberships and basic group properties for all groups without a signed-in user.",
    ),
    role(
        "User.Read.All",
        0xdf021288_bdef_4463_88db_98f22de89214,
        "Read all users' full profiles",
        "Allows the app to read user profiles without a signed in user.",
    ),
    role(
        "Device.Read.All",
        0x7438b122_aefc_4978_80ed_43db9fcc7715,
        "Read all devices",
        "Allows the app to read your organization's devices' configuration information without a signed-in user.",
    ),
    role(
        "OrgContact.Read.All",
        0xe1a88a34_94c4_4418_be12_c87b00e26bea,
        "Read organizational contacts",
        "Allows the app to read all organizational contacts without a signed-in user.",
    ),
    role(
        "Organization.Read.All",
        0x498476ce_e0fe_48b0_b801_37ba7e2685c6,
        "Read organization information",
        "Allows the app to read the organization and related resources, without a signed-in user.",
    ),
    role(
        "Application.Read.All",
        0x9a5d68dd_52b0_4cc2_bd40_abcf44ac3a30,
        "Read all applications",
        "Allows the app to read all applications and service principals without a signed-in user.",
    ),
];

/// Looks a Graph role up by its value.
pub fn graph_role(value: &str) -> Option<&'static GraphRole> {
    GRAPH_ROLES.iter().find(|r| r.value == value)
}

/// Which demo app registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DemoAppKind {
    /// Directory.Read.All + Member.Read.Hidden: everything readable.
    Full,
    /// Directory.Read.All only: hidden memberships unreadable.
    NoHidden,
    /// No application permissions: token without `roles`, Graph answers 403.
    NoGrants,
    /// The two needed plus Directory.ReadWrite.All and Group.ReadWrite.All.
    OverPrivileged,
    /// Its only secret is past its endDateTime (AADSTS7000222).
    ExpiredSecret,
    /// Authenticates with a certificate (client assertion); same grants as `Full`.
    Certificate,
}

impl DemoAppKind {
    /// Every kind, in the order the simulator lists them.
    pub const ALL: [DemoAppKind; 6] = [
        DemoAppKind::Full,
        DemoAppKind::NoHidden,
        DemoAppKind::NoGrants,
        DemoAppKind::OverPrivileged,
        DemoAppKind::ExpiredSecret,
        DemoAppKind::Certificate,
    ];

    /// Short name used on the command line and in display names.
    pub fn slug(self) -> &'static str {
        match self {
            DemoAppKind::Full => "full",
            DemoAppKind::NoHidden => "no-hidden",
            DemoAppKind::NoGrants => "no-grants",
            DemoAppKind::OverPrivileged => "over-privileged",
            DemoAppKind::ExpiredSecret => "expired-secret",
            DemoAppKind::Certificate => "cert",
        }
    }

    /// The Graph app roles granted (admin-consented) to this app.
    pub fn granted_roles(self) -> &'static [&'static str] {
        match self {
            DemoAppKind::Full | DemoAppKind::Certificate | DemoAppKind::ExpiredSecret => {
                &["Directory.Read.All", "Member.Read.Hidden"]
            }
            DemoAppKind::NoHidden => &["Directory.Read.All"],
            DemoAppKind::NoGrants => &[],
            DemoAppKind::OverPrivileged => &[
                "Directory.Read.All",
                "Member.Read.Hidden",
                "Directory.ReadWrite.All",
                "Group.ReadWrite.All",
            ],
        }
    }

    /// Days from now until the app's secret ends (negative = already expired).
    pub fn secret_days_left(self) -> Option<i64> {
        match self {
            DemoAppKind::ExpiredSecret => Some(-30),
            // One app whose secret is about to expire, to exercise "expiring soon" warnings.
            DemoAppKind::NoHidden => Some(20),
            DemoAppKind::Certificate => None,
            _ => Some(365),
        }
    }
}

impl std::str::FromStr for DemoAppKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DemoAppKind::ALL
            .into_iter()
            .find(|k| k.slug().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let all: Vec<&str> = DemoAppKind::ALL.iter().map(|k| k.slug()).collect();
                format!("unknown demo app '{s}': use one of {}", all.join(", "))
            })
    }
}

/// A certificate credential of the certificate demo app.
#[derive(Debug, Clone)]
pub struct DemoCertificate {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A demo app registration as handed to callers (tests, the `sim` command's banner).
#[derive(Debug, Clone)]
pub struct DemoApp {
    pub kind: DemoAppKind,
    pub display_name: String,
    pub client_id: String,
    /// The secret (for the certificate app: empty, it has none).
    pub client_secret: String,
    pub certificate: Option<DemoCertificate>,
}

const SECRET_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A client secret shaped like Entra's: 40 characters, three random ones, a digit, `Q~`,
/// then 34 from Entra's alphabet (which includes `~ . _ -`).
pub fn make_secret(rng: &mut impl rand::Rng) -> String {
    let mut s = String::with_capacity(40);
    for _ in 0..3 {
        s.push(ALNUM[rng.random_range(0..ALNUM.len())] as char);
    }
    s.push(char::from(b'0' + rng.random_range(0..10u8)));
    s.push_str("Q~");
    for _ in 0..34 {
        s.push(SECRET_CHARS[rng.random_range(0..SECRET_CHARS.len())] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn secrets_have_entra_shape_and_are_deterministic() {
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let s = make_secret(&mut a);
        assert_eq!(s, make_secret(&mut b));
        assert_eq!(s.len(), 40);
        assert_eq!(&s[4..6], "Q~");
        assert_ne!(s, make_secret(&mut a));
    }

    #[test]
    fn role_catalogue_has_the_documented_guids() {
        assert_eq!(
            graph_role("Directory.Read.All").map(|r| r.id.to_string()),
            Some("7ab1d382-f21e-4acd-a863-ba3e13f7da61".to_string())
        );
        assert_eq!(
            graph_role("Member.Read.Hidden").map(|r| r.id.to_string()),
            Some("658aa5d8-239f-45c4-aa12-864f4fc7e490".to_string())
        );
    }
}
