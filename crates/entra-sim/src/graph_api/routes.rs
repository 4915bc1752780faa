//! Parsing a Graph path into the `Route` it names.

use crate::model::ObjKind;

/// Which route a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    Users,
    UsersCount,
    User(String),
    Groups,
    GroupsCount,
    GroupsDelta,
    UsersDelta,
    Group(String),
    Members(String),
    Owners(String),
    TransitiveMembers(String),
    /// `/groups/{id}/members/$count` (false) or `/owners/$count` (true).
    RelationCount(String, bool),
    /// `/groups/{id}/members/microsoft.graph.{type}`: the members of one type (an OData cast).
    MembersCast(String, ObjKind),
    /// `/groups/{id}/members/microsoft.graph.{type}/$count`.
    MembersCastCount(String, ObjKind),
    /// `POST /directoryObjects/getByIds`.
    GetByIds,
    Organization,
    Applications,
    Application(String),
    ApplicationByAppId(String),
    ServicePrincipals,
    ServicePrincipal(String),
    ServicePrincipalByAppId(String),
    AppRoleAssignments(SpKey),
    /// `POST /applications/{id}/addPassword` (or `applications(appId='…')/addPassword`).
    AddPassword(SpKey),
    /// `POST /applications/{id}/removePassword`.
    RemovePassword(SpKey),
    Batch,
    Me,
    Unknown(String),
}

/// An application or service principal named by its object id or its appId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SpKey {
    Id(String),
    AppId(String),
}

fn key_in_parens<'a>(seg: &'a str, name: &str) -> Option<&'a str> {
    seg.get(..name.len())
        .filter(|p| p.eq_ignore_ascii_case(name))?;
    let inner = seg[name.len()..].strip_prefix('(')?.strip_suffix(')')?;
    let (k, v) = inner.split_once('=')?;
    if !k.trim().eq_ignore_ascii_case("appId") {
        return None;
    }
    Some(v.trim().trim_matches('\''))
}

/// The type an OData cast segment names (`microsoft.graph.user`, case-insensitive).
fn cast_kind(seg: &str) -> Option<ObjKind> {
    let name = seg
        .get(..16)
        .filter(|p| p.eq_ignore_ascii_case("microsoft.graph."))?;
    let rest = &seg[name.len()..];
    [
        ObjKind::User,
        ObjKind::Group,
        ObjKind::Device,
        ObjKind::ServicePrincipal,
        ObjKind::OrgContact,
    ]
    .into_iter()
    .find(|k| k.truth_name().eq_ignore_ascii_case(rest))
}

pub(super) fn parse_route(path: &str) -> Route {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let eq = |a: &str, b: &str| {
        // A function may be called with its parentheses (`delta()`, as Microsoft's SDKs
        // do) or without (as the docs' HTTP examples do); Graph answers both.
        a.eq_ignore_ascii_case(b) || (b == "delta" && a.eq_ignore_ascii_case("delta()"))
    };
    match s.as_slice() {
        [u] if eq(u, "users") => Route::Users,
        [u, c] if eq(u, "users") && eq(c, "$count") => Route::UsersCount,
        [u, d] if eq(u, "users") && eq(d, "delta") => Route::UsersDelta,
        [u, id] if eq(u, "users") => Route::User(id.to_string()),
        [g] if eq(g, "groups") => Route::Groups,
        [g, c] if eq(g, "groups") && eq(c, "$count") => Route::GroupsCount,
        [g, d] if eq(g, "groups") && eq(d, "delta") => Route::GroupsDelta,
        [g, id] if eq(g, "groups") => Route::Group(id.to_string()),
        [g, id, m] if eq(g, "groups") && eq(m, "members") => Route::Members(id.to_string()),
        [g, id, o] if eq(g, "groups") && eq(o, "owners") => Route::Owners(id.to_string()),
        [g, id, t] if eq(g, "groups") && eq(t, "transitiveMembers") => {
            Route::TransitiveMembers(id.to_string())
        }
        [g, id, m, c] if eq(g, "groups") && eq(m, "members") && eq(c, "$count") => {
            Route::RelationCount(id.to_string(), false)
        }
        [g, id, o, c] if eq(g, "groups") && eq(o, "owners") && eq(c, "$count") => {
            Route::RelationCount(id.to_string(), true)
        }
        [g, id, m, t] if eq(g, "groups") && eq(m, "members") && cast_kind(t).is_some() => {
            Route::MembersCast(id.to_string(), cast_kind(t).unwrap_or(ObjKind::User))
        }
        [g, id, m, t, c]
            if eq(g, "groups") && eq(m, "members") && eq(c, "$count") && cast_kind(t).is_some() =>
        {
            Route::MembersCastCount(id.to_string(), cast_kind(t).unwrap_or(ObjKind::User))
        }
        [d, f] if eq(d, "directoryObjects") && eq(f, "getByIds") => Route::GetByIds,
        [o] if eq(o, "organization") => Route::Organization,
        [a] if eq(a, "applications") => Route::Applications,
        [a, id] if eq(a, "applications") => Route::Application(id.to_string()),
        [sp] if eq(sp, "servicePrincipals") => Route::ServicePrincipals,
        [sp, id] if eq(sp, "servicePrincipals") => Route::ServicePrincipal(id.to_string()),
        [sp, id, a] if eq(sp, "servicePrincipals") && eq(a, "appRoleAssignments") => {
            Route::AppRoleAssignments(SpKey::Id(id.to_string()))
        }
        [a, id, p] if eq(a, "applications") && eq(p, "addPassword") => {
            Route::AddPassword(SpKey::Id(id.to_string()))
        }
        [a, id, p] if eq(a, "applications") && eq(p, "removePassword") => {
            Route::RemovePassword(SpKey::Id(id.to_string()))
        }
        [b] if eq(b, "$batch") => Route::Batch,
        [m] if eq(m, "me") => Route::Me,
        [one] => {
            if let Some(k) = key_in_parens(one, "applications") {
                Route::ApplicationByAppId(k.to_string())
            } else if let Some(k) = key_in_parens(one, "servicePrincipals") {
                Route::ServicePrincipalByAppId(k.to_string())
            } else {
                Route::Unknown(one.to_string())
            }
        }
        [one, a] if eq(a, "appRoleAssignments") => match key_in_parens(one, "servicePrincipals") {
            Some(k) => Route::AppRoleAssignments(SpKey::AppId(k.to_string())),
            None => Route::Unknown(a.to_string()),
        },
        [one, p] if eq(p, "addPassword") || eq(p, "removePassword") => {
            match key_in_parens(one, "applications") {
                Some(k) if eq(p, "addPassword") => Route::AddPassword(SpKey::AppId(k.to_string())),
                Some(k) => Route::RemovePassword(SpKey::AppId(k.to_string())),
                None => Route::Unknown(p.to_string()),
            }
        }
        segs => Route::Unknown(segs.last().map(|s| s.to_string()).unwrap_or_default()),
    }
}

impl Route {
    /// Base resource-unit cost of a GET (graph-reference §6).
    pub(super) fn base_cost(&self) -> u32 {
        match self {
            Route::Users => 2,
            Route::Members(_) | Route::MembersCast(..) => 3,
            Route::TransitiveMembers(_) => 5,
            Route::Applications | Route::Application(_) | Route::ApplicationByAppId(_) => 2,
            Route::AppRoleAssignments(_) => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_case_insensitively() {
        assert_eq!(parse_route("/Users"), Route::Users);
        assert_eq!(parse_route("/users/$count"), Route::UsersCount);
        // The SDKs call functions with parentheses.
        assert_eq!(parse_route("/users/delta()"), Route::UsersDelta);
        assert_eq!(parse_route("/groups/Delta()"), Route::GroupsDelta);
        assert_eq!(parse_route("/groups/delta"), Route::GroupsDelta);
        assert_eq!(
            parse_route("/groups/abc/members"),
            Route::Members("abc".into())
        );
        assert_eq!(
            parse_route("/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"),
            Route::ServicePrincipalByAppId("00000003-0000-0000-c000-000000000000".into())
        );
        assert_eq!(
            parse_route("/servicePrincipals(appId='x')/appRoleAssignments"),
            Route::AppRoleAssignments(SpKey::AppId("x".into()))
        );
        assert_eq!(
            parse_route("/groups/g/members/Microsoft.Graph.User"),
            Route::MembersCast("g".into(), ObjKind::User)
        );
        assert_eq!(
            parse_route("/groups/g/members/microsoft.graph.orgContact/$count"),
            Route::MembersCastCount("g".into(), ObjKind::OrgContact)
        );
        assert_eq!(
            parse_route("/groups/g/members/microsoft.graph.nope"),
            Route::Unknown("microsoft.graph.nope".into())
        );
        assert_eq!(parse_route("/directoryObjects/getByIds"), Route::GetByIds);
        assert_eq!(
            parse_route("/applications/a1/addPassword"),
            Route::AddPassword(SpKey::Id("a1".into()))
        );
        assert_eq!(
            parse_route("/applications(appId='x')/removePassword"),
            Route::RemovePassword(SpKey::AppId("x".into()))
        );
        assert_eq!(parse_route("/nope"), Route::Unknown("nope".into()));
    }
}
