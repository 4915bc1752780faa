//! Which app roles allow reading what.

use crate::model::ObjKind;
use crate::token::Caller;

/// Roles that allow reading each area (any one suffices), per the Graph permission docs.
pub(super) const READ_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
pub(super) const READ_GROUPS: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
pub(super) const READ_APPS: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
pub(super) const READ_ORG: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_DEVICES: &[&str] = &[
    "Device.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_CONTACTS: &[&str] = &[
    "OrgContact.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

pub(crate) fn has_any(caller: &Caller, roles: &[&str]) -> bool {
    caller.roles.iter().any(|r| roles.contains(&r.as_str()))
}

/// Can the caller see full properties of this kind of member? Otherwise Graph returns
/// limited information: `@odata.type` + `id` (graph-reference §3).
pub(super) fn can_read_kind(caller: &Caller, kind: ObjKind) -> bool {
    match kind {
        ObjKind::User => has_any(caller, READ_USERS),
        ObjKind::Group => has_any(caller, READ_GROUPS),
        ObjKind::Device => has_any(caller, READ_DEVICES),
        ObjKind::ServicePrincipal => has_any(caller, READ_APPS),
        ObjKind::OrgContact => has_any(caller, READ_CONTACTS),
    }
}
