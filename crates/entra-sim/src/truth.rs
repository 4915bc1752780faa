//! Ground truth: what a correct extraction of the tenant must contain, straight from the
//! data model (`GET /_sim/truth`, `entra-extract sim --truth-out FILE`).

use super::json::{push_opt_str, push_str, push_uuid};
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
