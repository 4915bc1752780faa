//! Ground truth: what a correct extraction of the tenant must contain, straight from the
//! data model (`GET /_sim/truth`, `entra-extract sim --truth-out FILE`).

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::json::{json_text, push_opt_str, push_str, push_uuid};
use super::model::{Directory, GROUP_PROPS, ObjKind, ObjRef, USER_PROPS};

/// Writes the truth JSON: `tenantId`, `defaultDomain`, `users` and `groups` (full Graph
/// objects with every modelled property), `members` and `owners` edges,
/// `hiddenMembershipGroups`.
pub fn write_truth(dir: &Directory, out: &mut String) {
    out.reserve(dir.users.len() * 1500 + dir.groups.len() * 1200);
    out.push_str("{\"tenantId\":");
    push_uuid(out, &dir.tenant_id);
    out.push_str(",\"defaultDomain\":");
    push_str(out, dir.default_domain());
    out.push_str(",\"users\":[");
    for i in 0..dir.users.len() {
        if i > 0 {
            out.push(',');
        }
        let r = ObjRef {
            kind: ObjKind::User,
            idx: i as u32,
        };
        dir.write_object(r, Some(USER_PROPS), false, false, out);
    }
    out.push_str("],\"groups\":[");
    for i in 0..dir.groups.len() {
        if i > 0 {
            out.push(',');
        }
        let r = ObjRef {
            kind: ObjKind::Group,
            idx: i as u32,
        };
        dir.write_object(r, Some(GROUP_PROPS), false, false, out);
    }
    for (name, prefix) in [("members", "member"), ("owners", "owner")] {
        out.push_str("],\"");
        out.push_str(name);
        out.push_str("\":[");
        let mut first = true;
        for g in &dir.groups {
            let list = if name == "members" {
                &g.members
            } else {
                &g.owners
            };
            for r in list {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str("{\"groupId\":");
                push_uuid(out, &g.id);
                out.push_str(&format!(",\"{prefix}Id\":"));
                push_uuid(out, &dir.id_of(*r));
                out.push_str(&format!(",\"{prefix}Type\":"));
                push_str(out, r.kind.truth_name());
                out.push_str(&format!(",\"{prefix}DisplayName\":"));
                push_str(out, dir.display_name_of(*r));
                out.push_str(&format!(",\"{prefix}UserPrincipalName\":"));
                let upn = (r.kind == ObjKind::User)
                    .then(|| dir.users[r.idx as usize].user_principal_name.as_str());
                push_opt_str(out, upn);
                out.push('}');
            }
        }
    }
    out.push_str("],\"hiddenMembershipGroups\":[");
    let mut first = true;
    for g in dir.groups.iter().filter(|g| g.is_hidden_membership()) {
        if !first {
            out.push(',');
        }
        first = false;
        push_uuid(out, &g.id);
    }
    out.push_str("]}");
}

/// The users file's columns (docs/csv.md).
pub const USER_COLUMNS: &[&str] = &[
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
    "proxyAddresses",
];

/// The groups file's columns from Graph (docs/csv.md); `membersReadable`, `memberCount` and
/// `ownerCount` follow.
pub const GROUP_COLUMNS: &[&str] = &[
    "id",
    "displayName",
    "description",
    "mail",
    "mailNickname",
    "mailEnabled",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "visibility",
    "isAssignableToRole",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
];

/// What one CSV file of a correct extraction holds, without holding it: its row count and
/// the sum (mod 2^128) of its rows' hashes, so that any order of the same rows gives the same
/// digest and a harness can check a file of millions of rows while streaming it.
///
/// A row's hash: SHA-256 over each cell as `<length in UTF-8 bytes>:<cell>`, the first 16
/// bytes read as a big-endian number. Cells are the CSV's text: null empty, booleans
/// `true`/`false`, collections joined with `|`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    pub rows: u64,
    pub sum: u128,
}

impl FileDigest {
    pub fn add_row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let mut h = Sha256::new();
        for c in cells {
            let c = c.as_ref();
            h.update(c.len().to_string().as_bytes());
            h.update(b":");
            h.update(c.as_bytes());
        }
        let d = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&d[..16]);
        self.rows += 1;
        self.sum = self.sum.wrapping_add(u128::from_be_bytes(first));
    }
}

/// A property's JSON value as its CSV cell.
fn cell(json: &str) -> String {
    if let Some(text) = json_text(json) {
        return text.into_owned();
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v) => value_cell(&v),
        Err(_) => json.to_string(),
    }
}

fn value_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => {
            items.iter().map(value_cell).collect::<Vec<_>>().join("|")
        }
        other => other.to_string(),
    }
}

/// The cells of object `r`'s `columns`.
fn object_cells(dir: &Directory, r: ObjRef, columns: &[&str], json: &mut String) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            json.clear();
            if dir.write_prop(r, c, json) {
                cell(json)
            } else {
                String::new()
            }
        })
        .collect()
}

/// Digests of the four files (`users`, `groups`, `groups_members`, `groups_owners`) a full
/// extraction with every permission writes, as JSON with `defaultDomain` (the files' prefix):
/// `{"defaultDomain":…,"files":{"users":{"rows":N,"sum":"<32 hex digits>"},…}}`. Memory stays
/// that of the directory, at any size (`entra-extract sim --truth-digest-out`).
pub fn write_truth_digest(dir: &Directory, out: &mut String) {
    let mut json = String::new();
    let mut users = FileDigest::default();
    for i in 0..dir.users.len() {
        let r = ObjRef {
            kind: ObjKind::User,
            idx: i as u32,
        };
        users.add_row(&object_cells(dir, r, USER_COLUMNS, &mut json));
    }
    let mut edges = [FileDigest::default(), FileDigest::default()];
    for g in &dir.groups {
        let gid = g.id.to_string();
        for (k, list) in [&g.members, &g.owners].into_iter().enumerate() {
            for r in list {
                let upn = match r.kind {
                    ObjKind::User => dir.users[r.idx as usize].user_principal_name.as_str(),
                    _ => "",
                };
                edges[k].add_row(&[
                    gid.as_str(),
                    g.display_name.as_str(),
                    &dir.id_of(*r).to_string(),
                    r.kind.truth_name(),
                    dir.display_name_of(*r),
                    upn,
                ]);
            }
        }
    }
    let mut groups = FileDigest::default();
    for i in 0..dir.groups.len() {
        let r = ObjRef {
            kind: ObjKind::Group,
            idx: i as u32,
        };
        let mut cells = object_cells(dir, r, GROUP_COLUMNS, &mut json);
        let g = &dir.groups[i];
        cells.extend([
            "true".to_string(),
            g.members.len().to_string(),
            g.owners.len().to_string(),
        ]);
        groups.add_row(&cells);
    }
    out.push_str("{\"defaultDomain\":");
    push_str(out, dir.default_domain());
    out.push_str(",\"files\":{");
    let files = [
        ("users", users),
        ("groups", groups),
        ("groups_members", edges[0]),
        ("groups_owners", edges[1]),
    ];
    for (k, (name, d)) in files.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "\"{name}\":{{\"rows\":{},\"sum\":\"{:032x}\"}}",
            d.rows, d.sum
        );
    }
    out.push_str("}}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;
    use crate::generate::generate;

    #[test]
    fn truth_is_valid_json_and_complete() {
        let g = generate(3, Preset::Small.size(), 0);
        let mut s = String::new();
        write_truth(&g.dir, &mut s);
        let v: serde_json::Value = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(v["users"].as_array().map(Vec::len), Some(g.dir.users.len()));
        let edges: usize = g.dir.groups.iter().map(|g| g.members.len()).sum();
        assert_eq!(v["members"].as_array().map(Vec::len), Some(edges));
        let u = &v["users"][0];
        for p in USER_PROPS {
            assert!(u.get(*p).is_some(), "user property {p} missing");
        }
        assert!(!v["hiddenMembershipGroups"].as_array().unwrap().is_empty());
        let m = v["members"].as_array().unwrap();
        assert!(
            m.iter()
                .any(|e| e["memberType"] == "device" && e["memberUserPrincipalName"].is_null())
        );
    }
}
