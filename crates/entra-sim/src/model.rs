//! The simulated tenant's directory: compact structs, one per object type, that know how to
//! write each of their Graph properties as JSON. Relationships are `ObjRef` indices (8 bytes
//! each) so tenant L's million member edges stay small.

use std::collections::HashMap;

use uuid::Uuid;

use super::json::{
    push_bool, push_date, push_key, push_opt_str, push_str, push_str_array, push_uuid,
};

/// Kind of a directory object that can be a member or owner of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjKind {
    User,
    Group,
    Device,
    ServicePrincipal,
    OrgContact,
}

impl ObjKind {
    /// The `@odata.type` Graph puts on directoryObject collection items.
    pub fn odata_type(self) -> &'static str {
        match self {
            ObjKind::User => "#microsoft.graph.user",
            ObjKind::Group => "#microsoft.graph.group",
            ObjKind::Device => "#microsoft.graph.device",
            ObjKind::ServicePrincipal => "#microsoft.graph.servicePrincipal",
            ObjKind::OrgContact => "#microsoft.graph.orgContact",
        }
    }

    /// The short name used in the ground truth (`memberType`).
    pub fn truth_name(self) -> &'static str {
        match self {
            ObjKind::User => "user",
            ObjKind::Group => "group",
            ObjKind::Device => "device",
            ObjKind::ServicePrincipal => "servicePrincipal",
            ObjKind::OrgContact => "orgContact",
        }
    }
}

/// A reference to one object in the tenant's per-kind vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjRef {
    pub kind: ObjKind,
    pub idx: u32,
}

/// On-premises attributes of an object synced by Entra Connect.
#[derive(Debug, Clone)]
pub struct OnPrem {
    pub sam_account_name: String,
    pub user_principal_name: Option<String>,
    pub domain_name: String,
    pub distinguished_name: String,
    pub immutable_id: Option<String>,
    pub security_identifier: String,
    pub last_sync: i64,
}

/// Whether `upn` is a user principal name Graph would store: `alias@domain`, the alias made
/// only of "A - Z, a - z, 0 - 9, ' . - _ ! # ^ ~" [GDC api-reference/v1.0/resources/user.md,
/// userPrincipalName: "This property can't contain accent characters. Only the following
/// characters are allowed"], the domain a DNS name. Generated and evolved users keep to it,
/// as a client splitting users by UPN prefix may rely on.
pub fn is_valid_upn(upn: &str) -> bool {
    let Some((alias, domain)) = upn.rsplit_once('@') else {
        return false;
    };
    let alias_ok = !alias.is_empty()
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c));
    let domain_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    alias_ok && domain_ok
}

/// A user (member or guest).
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub account_enabled: bool,
    pub guest: bool,
    pub external_user_state: Option<&'static str>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub company_name: Option<String>,
    pub employee_id: Option<String>,
    pub office_location: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub usage_location: Option<&'static str>,
    pub preferred_language: Option<&'static str>,
    pub mobile_phone: Option<String>,
    pub business_phones: Vec<String>,
    pub proxy_addresses: Vec<String>,
    pub created: i64,
    pub on_prem: Option<OnPrem>,
}

/// Kind of group, which decides groupTypes, mailEnabled, securityEnabled and visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Security,
    Microsoft365,
    DynamicSecurity,
    DynamicMicrosoft365,
    MailEnabledSecurity,
    Distribution,
    RoleAssignable,
    HiddenMembership,
}

/// A group with its direct members and owners.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: Uuid,
    pub kind: GroupKind,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
    pub mail: Option<String>,
    pub membership_rule: Option<String>,
    pub created: i64,
    pub on_prem: Option<OnPrem>,
    pub proxy_addresses: Vec<String>,
    pub security_identifier: String,
    pub members: Vec<ObjRef>,
    pub owners: Vec<ObjRef>,
}

impl Group {
    /// The `groupTypes` collection.
    pub fn group_types(&self) -> &'static [&'static str] {
        match self.kind {
            GroupKind::Microsoft365 | GroupKind::HiddenMembership => &["Unified"],
            GroupKind::DynamicSecurity => &["DynamicMembership"],
            GroupKind::DynamicMicrosoft365 => &["Unified", "DynamicMembership"],
            _ => &[],
        }
    }
    pub fn mail_enabled(&self) -> bool {
        !matches!(
            self.kind,
            GroupKind::Security | GroupKind::DynamicSecurity | GroupKind::RoleAssignable
        )
    }
    pub fn security_enabled(&self) -> bool {
        !matches!(self.kind, GroupKind::Distribution)
    }
    /// `visibility`: only Microsoft 365 groups carry one; role-assignable groups are always
    /// Private (graph-reference §3).
    pub fn visibility(&self) -> Option<&'static str> {
        match self.kind {
            GroupKind::HiddenMembership => Some("HiddenMembership"),
            GroupKind::RoleAssignable => Some("Private"),
            GroupKind::Microsoft365 | GroupKind::DynamicMicrosoft365 => Some("Public"),
            _ => None,
        }
    }
    pub fn is_hidden_membership(&self) -> bool {
        self.kind == GroupKind::HiddenMembership
    }
}

/// A registered or joined device.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: Uuid,
    pub device_id: Uuid,
    pub display_name: String,
    pub operating_system: &'static str,
    pub operating_system_version: &'static str,
    pub trust_type: &'static str,
    pub account_enabled: bool,
    pub created: i64,
}

/// An app role published by a service principal (only Microsoft Graph's matter here).
#[derive(Debug, Clone)]
pub struct AppRole {
    pub id: Uuid,
    pub value: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
}

/// An application permission granted to a service principal.
#[derive(Debug, Clone)]
pub struct AppRoleAssignment {
    pub id: String,
    pub app_role_id: Uuid,
    pub resource_id: Uuid,
    pub resource_display_name: String,
    pub created: i64,
}

/// A service principal (enterprise application).
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    pub id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub app_owner_organization_id: Option<Uuid>,
    pub account_enabled: bool,
    pub app_roles: Vec<AppRole>,
    pub app_role_assignments: Vec<AppRoleAssignment>,
    pub created: i64,
}

/// An organizational contact (mail contact).
#[derive(Debug, Clone)]
pub struct OrgContact {
    pub id: Uuid,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub company_name: Option<String>,
    pub proxy_addresses: Vec<String>,
}

/// A client secret on an application object.
#[derive(Debug, Clone)]
pub struct PasswordCredential {
    pub key_id: Uuid,
    pub display_name: String,
    pub secret: String,
    pub start: i64,
    pub end: i64,
}

/// A certificate on an application object.
#[derive(Debug, Clone)]
pub struct KeyCredential {
    pub key_id: Uuid,
    pub display_name: String,
    /// SHA-1 of the certificate DER (`customKeyIdentifier`, and `x5t` in assertions).
    pub thumbprint_sha1: Vec<u8>,
    pub thumbprint_sha256: Vec<u8>,
    /// PKCS#1 RSAPublicKey DER used to verify client assertions.
    pub public_key_pkcs1: Vec<u8>,
    pub start: i64,
    pub end: i64,
}

/// An application object (app registration).
#[derive(Debug, Clone)]
pub struct Application {
    pub id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub created: i64,
    pub password_credentials: Vec<PasswordCredential>,
    pub key_credentials: Vec<KeyCredential>,
    /// `requiredResourceAccess` as created through Graph; `None` for the demo apps, whose
    /// list is derived from their grants.
    pub required_resource_access: Option<serde_json::Value>,
    pub sign_in_audience: String,
}

/// A domain of the tenant.
#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub is_default: bool,
    pub is_initial: bool,
}

/// The whole directory.
#[derive(Debug, Clone)]
pub struct Directory {
    pub tenant_id: Uuid,
    pub display_name: String,
    pub domains: Vec<Domain>,
    pub created: i64,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub devices: Vec<Device>,
    pub service_principals: Vec<ServicePrincipal>,
    pub contacts: Vec<OrgContact>,
    pub applications: Vec<Application>,
    /// Object id → reference, for every member-capable object.
    pub index: HashMap<Uuid, ObjRef>,
}

impl Directory {
    /// The domain marked `isDefault`.
    pub fn default_domain(&self) -> &str {
        self.domains
            .iter()
            .find(|d| d.is_default)
            .or(self.domains.first())
            .map(|d| d.name.as_str())
            .unwrap_or("")
    }

    /// Rebuilds the id index after objects were added.
    pub fn rebuild_index(&mut self) {
        let mut index = HashMap::with_capacity(
            self.users.len()
                + self.groups.len()
                + self.devices.len()
                + self.service_principals.len()
                + self.contacts.len(),
        );
        let kinds: [(ObjKind, Vec<Uuid>); 5] = [
            (ObjKind::User, self.users.iter().map(|o| o.id).collect()),
            (ObjKind::Group, self.groups.iter().map(|o| o.id).collect()),
            (ObjKind::Device, self.devices.iter().map(|o| o.id).collect()),
            (
                ObjKind::ServicePrincipal,
                self.service_principals.iter().map(|o| o.id).collect(),
            ),
            (
                ObjKind::OrgContact,
                self.contacts.iter().map(|o| o.id).collect(),
            ),
        ];
        for (kind, ids) in kinds {
            for (i, id) in ids.into_iter().enumerate() {
                index.insert(
                    id,
                    ObjRef {
                        kind,
                        idx: i as u32,
                    },
                );
            }
        }
        self.index = index;
    }

    /// Looks up an object's id and display name.
    pub fn id_of(&self, r: ObjRef) -> Uuid {
        match r.kind {
            ObjKind::User => self.users[r.idx as usize].id,
            ObjKind::Group => self.groups[r.idx as usize].id,
            ObjKind::Device => self.devices[r.idx as usize].id,
            ObjKind::ServicePrincipal => self.service_principals[r.idx as usize].id,
            ObjKind::OrgContact => self.contacts[r.idx as usize].id,
        }
    }

    /// How many objects of a kind the directory holds.
    pub fn len_of(&self, kind: ObjKind) -> usize {
        match kind {
            ObjKind::User => self.users.len(),
            ObjKind::Group => self.groups.len(),
            ObjKind::Device => self.devices.len(),
            ObjKind::ServicePrincipal => self.service_principals.len(),
            ObjKind::OrgContact => self.contacts.len(),
        }
    }

    /// Display name of any member-capable object.
    pub fn display_name_of(&self, r: ObjRef) -> &str {
        match r.kind {
            ObjKind::User => &self.users[r.idx as usize].display_name,
            ObjKind::Group => &self.groups[r.idx as usize].display_name,
            ObjKind::Device => &self.devices[r.idx as usize].display_name,
            ObjKind::ServicePrincipal => &self.service_principals[r.idx as usize].display_name,
            ObjKind::OrgContact => &self.contacts[r.idx as usize].display_name,
        }
    }

    /// Writes one property of any object; returns false if the type has no such property.
    pub fn write_prop(&self, r: ObjRef, prop: &str, out: &mut String) -> bool {
        match r.kind {
            ObjKind::User => self.users[r.idx as usize].write_prop(prop, out),
            ObjKind::Group => self.groups[r.idx as usize].write_prop(prop, out),
            ObjKind::Device => self.devices[r.idx as usize].write_prop(prop, out),
            ObjKind::ServicePrincipal => {
                self.service_principals[r.idx as usize].write_prop(prop, out)
            }
            ObjKind::OrgContact => self.contacts[r.idx as usize].write_prop(prop, out),
        }
    }

    /// Writes an object as JSON with the given properties (or its type's defaults),
    /// optionally prefixed by `@odata.type`. Limited-information objects carry only
    /// `@odata.type` and `id`, every other property null (graph-reference §3, §10).
    pub fn write_object(
        &self,
        r: ObjRef,
        select: Option<&[&str]>,
        with_type: bool,
        limited: bool,
        out: &mut String,
    ) {
        let props = select.unwrap_or_else(|| default_props(r.kind));
        out.push('{');
        let mut first = true;
        if with_type {
            push_key(out, &mut first, "@odata.type");
            push_str(out, r.kind.odata_type());
        }
        for p in props {
            if limited {
                if !all_props(r.kind).contains(p) {
                    continue;
                }
                push_key(out, &mut first, p);
                if *p == "id" {
                    push_uuid(out, &self.id_of(r));
                } else if is_collection_prop(p) {
                    out.push_str("[]");
                } else {
                    out.push_str("null");
                }
                continue;
            }
            let mark = out.len();
            let was_first = first;
            push_key(out, &mut first, p);
            if !self.write_prop(r, p, out) {
                out.truncate(mark);
                first = was_first;
            }
        }
        out.push('}');
    }
}

fn is_collection_prop(p: &str) -> bool {
    matches!(
        p,
        "businessPhones"
            | "proxyAddresses"
            | "groupTypes"
            | "imAddresses"
            | "otherMails"
            | "resourceBehaviorOptions"
            | "resourceProvisioningOptions"
            | "onPremisesProvisioningErrors"
            | "serviceProvisioningErrors"
            | "assignedLicenses"
            | "assignedPlans"
            | "provisionedPlans"
            | "identities"
            | "alternativeSecurityIds"
            | "physicalIds"
            | "systemLabels"
            | "extensionAttributes"
            | "appRoles"
            | "servicePrincipalNames"
            | "tags"
            | "phones"
            | "addresses"
            | "creationOptions"
            | "infoCatalogs"
    )
}

/// The properties a type returns without `$select`.
pub fn default_props(kind: ObjKind) -> &'static [&'static str] {
    match kind {
        ObjKind::User => USER_DEFAULT,
        ObjKind::Group => GROUP_PROPS,
        ObjKind::Device => DEVICE_PROPS,
        ObjKind::ServicePrincipal => SP_PROPS,
        ObjKind::OrgContact => CONTACT_PROPS,
    }
}

/// Every property a type can return when selected.
pub fn all_props(kind: ObjKind) -> &'static [&'static str] {
    match kind {
        ObjKind::User => USER_PROPS,
        ObjKind::Group => GROUP_PROPS,
        ObjKind::Device => DEVICE_PROPS,
        ObjKind::ServicePrincipal => SP_PROPS,
        ObjKind::OrgContact => CONTACT_PROPS,
    }
}

/// Maps a `$select` name (case-insensitive, as Graph accepts) to its canonical spelling.
pub fn canonical_prop(name: &str) -> Option<&'static str> {
    [
        USER_PROPS,
        GROUP_PROPS,
        DEVICE_PROPS,
        SP_PROPS,
        CONTACT_PROPS,
    ]
    .iter()
    .flat_map(|l| l.iter())
    .find(|p| p.eq_ignore_ascii_case(name))
    .copied()
}

/// Default user properties [GDC api-reference/v1.0/api/user-list.md].
pub const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Every user property the simulator models.
pub const USER_PROPS: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "accountEnabled",
    "userType",
    "externalUserState",
    "jobTitle",
    "department",
    "companyName",
    "employeeId",
    "officeLocation",
    "city",
    "country",
    "usageLocation",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "onPremisesUserPrincipalName",
    "onPremisesDomainName",
    "onPremisesDistinguishedName",
    "onPremisesImmutableId",
    "onPremisesSecurityIdentifier",
    "onPremisesLastSyncDateTime",
    "proxyAddresses",
    "businessPhones",
    "mobilePhone",
    "preferredLanguage",
    "deletedDateTime",
];

impl User {
    /// Writes one property value; false if users have no such property.
    pub fn write_prop(&self, p: &str, out: &mut String) -> bool {
        let op = self.on_prem.as_ref();
        match p {
            "id" => push_uuid(out, &self.id),
            "userPrincipalName" => push_str(out, &self.user_principal_name),
            "displayName" => push_str(out, &self.display_name),
            "givenName" => push_opt_str(out, self.given_name.as_deref()),
            "surname" => push_opt_str(out, self.surname.as_deref()),
            "mail" => push_opt_str(out, self.mail.as_deref()),
            "mailNickname" => push_str(out, &self.mail_nickname),
            "accountEnabled" => push_bool(out, self.account_enabled),
            "userType" => push_str(out, if self.guest { "Guest" } else { "Member" }),
            "externalUserState" => push_opt_str(out, self.external_user_state),
            "jobTitle" => push_opt_str(out, self.job_title.as_deref()),
            "department" => push_opt_str(out, self.department.as_deref()),
            "companyName" => push_opt_str(out, self.company_name.as_deref()),
            "employeeId" => push_opt_str(out, self.employee_id.as_deref()),
            "officeLocation" => push_opt_str(out, self.office_location.as_deref()),
            "city" => push_opt_str(out, self.city.as_deref()),
            "country" => push_opt_str(out, self.country.as_deref()),
            "usageLocation" => push_opt_str(out, self.usage_location),
            "createdDateTime" => push_date(out, self.created),
            "onPremisesSyncEnabled" => match op {
                Some(_) => push_bool(out, true),
                None => out.push_str("null"),
            },
            "onPremisesSamAccountName" => {
                push_opt_str(out, op.map(|o| o.sam_account_name.as_str()))
            }
            "onPremisesUserPrincipalName" => {
                push_opt_str(out, op.and_then(|o| o.user_principal_name.as_deref()))
            }
            "onPremisesDomainName" => push_opt_str(out, op.map(|o| o.domain_name.as_str())),
            "onPremisesDistinguishedName" => {
                push_opt_str(out, op.map(|o| o.distinguished_name.as_str()))
            }
            "onPremisesImmutableId" => {
                push_opt_str(out, op.and_then(|o| o.immutable_id.as_deref()))
            }
            "onPremisesSecurityIdentifier" => {
                push_opt_str(out, op.map(|o| o.security_identifier.as_str()))
            }
            "onPremisesLastSyncDateTime" => match op {
                Some(o) => push_date(out, o.last_sync),
                None => out.push_str("null"),
            },
            "proxyAddresses" => push_str_array(out, &self.proxy_addresses),
            "businessPhones" => push_str_array(out, &self.business_phones),
            "mobilePhone" => push_opt_str(out, self.mobile_phone.as_deref()),
            "preferredLanguage" => push_opt_str(out, self.preferred_language),
            "deletedDateTime" => out.push_str("null"),
            _ => return false,
        }
        true
    }
}

/// Group properties; also the default set (graph-reference §4: ~28 default properties).
pub const GROUP_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

impl Group {
    /// Writes one property value; false if groups have no such property.
    pub fn write_prop(&self, p: &str, out: &mut String) -> bool {
        let op = self.on_prem.as_ref();
        let dynamic = matches!(
            self.kind,
            GroupKind::DynamicSecurity | GroupKind::DynamicMicrosoft365
        );
        match p {
            "id" => push_uuid(out, &self.id),
            "deletedDateTime"
            | "classification"
            | "expirationDateTime"
            | "preferredDataLocation"
            | "preferredLanguage"
            | "theme" => out.push_str("null"),
            "createdDateTime" | "renewedDateTime" => push_date(out, self.created),
            "creationOptions"
            | "resourceBehaviorOptions"
            | "resourceProvisioningOptions"
            | "onPremisesProvisioningErrors"
            | "serviceProvisioningErrors" => out.push_str("[]"),
            "description" => push_opt_str(out, self.description.as_deref()),
            "displayName" => push_str(out, &self.display_name),
            "groupTypes" => push_str_array(out, self.group_types()),
            "isAssignableToRole" => {
                if self.kind == GroupKind::RoleAssignable {
                    push_bool(out, true)
                } else {
                    out.push_str("null")
                }
            }
            "mail" => push_opt_str(out, self.mail.as_deref()),
            "mailEnabled" => push_bool(out, self.mail_enabled()),
            "mailNickname" => push_str(out, &self.mail_nickname),
            "membershipRule" => push_opt_str(out, self.membership_rule.as_deref()),
            "membershipRuleProcessingState" => {
                push_opt_str(out, if dynamic { Some("On") } else { None })
            }
            "onPremisesDomainName" => push_opt_str(out, op.map(|o| o.domain_name.as_str())),
            "onPremisesLastSyncDateTime" => match op {
                Some(o) => push_date(out, o.last_sync),
                None => out.push_str("null"),
            },
            "onPremisesNetBiosName" => push_opt_str(out, op.map(|_| "CONTOSO")),
            "onPremisesSamAccountName" => {
                push_opt_str(out, op.map(|o| o.sam_account_name.as_str()))
            }
            "onPremisesSecurityIdentifier" => {
                push_opt_str(out, op.map(|o| o.security_identifier.as_str()))
            }
            "onPremisesSyncEnabled" => match op {
                Some(_) => push_bool(out, true),
                None => out.push_str("null"),
            },
            "proxyAddresses" => push_str_array(out, &self.proxy_addresses),
            "securityEnabled" => push_bool(out, self.security_enabled()),
            "securityIdentifier" => push_str(out, &self.security_identifier),
            "visibility" => push_opt_str(out, self.visibility()),
            _ => return false,
        }
        true
    }
}

/// Device properties (default set).
pub const DEVICE_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "accountEnabled",
    "approximateLastSignInDateTime",
    "createdDateTime",
    "deviceId",
    "displayName",
    "operatingSystem",
    "operatingSystemVersion",
    "trustType",
    "physicalIds",
];

impl Device {
    /// Writes one property value; false if devices have no such property.
    pub fn write_prop(&self, p: &str, out: &mut String) -> bool {
        match p {
            "id" => push_uuid(out, &self.id),
            "deletedDateTime" | "approximateLastSignInDateTime" => out.push_str("null"),
            "accountEnabled" => push_bool(out, self.account_enabled),
            "createdDateTime" => push_date(out, self.created),
            "deviceId" => push_uuid(out, &self.device_id),
            "displayName" => push_str(out, &self.display_name),
            "operatingSystem" => push_str(out, self.operating_system),
            "operatingSystemVersion" => push_str(out, self.operating_system_version),
            "trustType" => push_str(out, self.trust_type),
            "physicalIds" => out.push_str("[]"),
            _ => return false,
        }
        true
    }
}

/// Service principal properties (default set, abridged).
pub const SP_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "accountEnabled",
    "appDisplayName",
    "appId",
    "appOwnerOrganizationId",
    "appRoles",
    "createdDateTime",
    "displayName",
    "servicePrincipalNames",
    "servicePrincipalType",
    "signInAudience",
    "tags",
];

impl ServicePrincipal {
    /// Writes one property value; false if service principals have no such property.
    pub fn write_prop(&self, p: &str, out: &mut String) -> bool {
        match p {
            "id" => push_uuid(out, &self.id),
            "deletedDateTime" => out.push_str("null"),
            "accountEnabled" => push_bool(out, self.account_enabled),
            "appDisplayName" | "displayName" => push_str(out, &self.display_name),
            "appId" => push_uuid(out, &self.app_id),
            "appOwnerOrganizationId" => match &self.app_owner_organization_id {
                Some(t) => push_uuid(out, t),
                None => out.push_str("null"),
            },
            "appRoles" => {
                out.push('[');
                for (i, r) in self.app_roles.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"allowedMemberTypes\":[\"Application\"],\"description\":");
                    push_str(out, r.description);
                    out.push_str(",\"displayName\":");
                    push_str(out, r.display_name);
                    out.push_str(",\"id\":");
                    push_uuid(out, &r.id);
                    out.push_str(",\"isEnabled\":true,\"origin\":\"Application\",\"value\":");
                    push_str(out, r.value);
                    out.push('}');
                }
                out.push(']');
            }
            "createdDateTime" => push_date(out, self.created),
            "servicePrincipalNames" => {
                let mut buf = Uuid::encode_buffer();
                push_str_array(out, &[self.app_id.hyphenated().encode_lower(&mut buf)])
            }
            "servicePrincipalType" => push_str(out, "Application"),
            "signInAudience" => push_str(out, "AzureADMyOrg"),
            "tags" => out.push_str("[]"),
            _ => return false,
        }
        true
    }
}

/// Org contact properties (default set, abridged).
pub const CONTACT_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "companyName",
    "displayName",
    "givenName",
    "mail",
    "mailNickname",
    "surname",
    "proxyAddresses",
    "phones",
    "addresses",
];

impl OrgContact {
    /// Writes one property value; false if contacts have no such property.
    pub fn write_prop(&self, p: &str, out: &mut String) -> bool {
        match p {
            "id" => push_uuid(out, &self.id),
            "deletedDateTime" => out.push_str("null"),
            "companyName" => push_opt_str(out, self.company_name.as_deref()),
            "displayName" => push_str(out, &self.display_name),
            "givenName" => push_opt_str(out, self.given_name.as_deref()),
            "surname" => push_opt_str(out, self.surname.as_deref()),
            "mail" => push_opt_str(out, self.mail.as_deref()),
            "mailNickname" => push_str(out, &self.mail_nickname),
            "proxyAddresses" => push_str_array(out, &self.proxy_addresses),
            "phones" | "addresses" => out.push_str("[]"),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::generate::generate;

    #[test]
    fn the_upn_rule_is_the_documented_character_set() {
        for ok in [
            "adele.vance@contoso.example",
            "svc-backup@contoso.example",
            "o'brien_x!#^~@contoso.example",
            "ann_fabrikam.example#EXT#@contoso.onmicrosoft.example",
        ] {
            assert!(is_valid_upn(ok), "{ok}");
        }
        for bad in [
            "Łukasz.renamed1@contoso.example",
            "zoë@contoso.example",
            "a b@contoso.example",
            "@contoso.example",
            "ann@",
            "ann@localhost",
            "ann",
        ] {
            assert!(!is_valid_upn(bad), "{bad}");
        }
    }

    #[test]
    fn limited_information_objects_keep_only_type_and_id() {
        let g = generate(1, Preset::Small.size(), 0);
        let r = ObjRef {
            kind: ObjKind::Device,
            idx: 0,
        };
        let mut out = String::new();
        g.dir.write_object(r, None, true, true, &mut out);
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(v["@odata.type"], "#microsoft.graph.device");
        assert_eq!(v["id"], g.dir.devices[0].id.to_string());
        assert!(v["displayName"].is_null() && v.get("displayName").is_some());
        assert_eq!(v["physicalIds"], serde_json::json!([]));
    }

    #[test]
    fn select_is_case_insensitive_and_canonical() {
        assert_eq!(canonical_prop("DISPLAYNAME"), Some("displayName"));
        assert_eq!(
            canonical_prop("onpremisessamaccountname"),
            Some("onPremisesSamAccountName")
        );
        assert_eq!(canonical_prop("nope"), None);
    }
}
