//! From a `Route` to the handler that answers it, after the permission check for its area.

use uuid::Uuid;

use super::access::{READ_APPS, READ_GROUPS, READ_ORG, READ_USERS, has_any};
use super::collections::{list_objects, matching, open_page, single_object};
use super::query::resolve_select;
use super::relationships::{Rel, Relation, related, relationship, write_typed_objects};
use super::routes::{Route, SpKey};
use super::{Ctx, GraphCall, GraphReply, JSON_CT, TEXT_CT};
use crate::config::HiddenMembers;
use crate::fault::FaultPlan;
use crate::model::{ObjKind, ObjRef};
use crate::odata::QueryOptions;
use crate::token::Caller;
use crate::{delta, tenant_routes};

pub(super) fn dispatch(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    route: &Route,
    q: &QueryOptions,
    plan: &FaultPlan,
    caller: &Caller,
) -> GraphReply {
    if denied(route, caller) {
        return cx.denied();
    }
    let dir = cx.dir();
    match route {
        Route::GetByIds => get_by_ids(cx, call, q, caller),
        Route::Users => list_objects(cx, call, q, plan, caller, ObjKind::User),
        Route::Groups => list_objects(cx, call, q, plan, caller, ObjKind::Group),
        Route::GroupsDelta => delta::groups_delta(cx, call, q, plan, caller),
        Route::UsersDelta => delta::users_delta(cx, call, q, plan),
        Route::UsersCount => count_matching(cx, call, q, ObjKind::User),
        Route::GroupsCount => count_matching(cx, call, q, ObjKind::Group),
        Route::User(key) => {
            let found = match Uuid::parse_str(key) {
                Ok(id) => dir
                    .index
                    .get(&id)
                    .copied()
                    .filter(|r| r.kind == ObjKind::User),
                Err(_) => dir
                    .users
                    .iter()
                    .position(|u| u.user_principal_name.eq_ignore_ascii_case(key))
                    .map(|i| ObjRef {
                        kind: ObjKind::User,
                        idx: i as u32,
                    }),
            };
            match found {
                Some(r) => single_object(cx, q, r, "users", caller),
                None => cx.not_found(key),
            }
        }
        Route::Group(key) => match find_group(cx, key) {
            Ok(r) => single_object(cx, q, r, "groups", caller),
            Err(e) => e,
        },
        Route::Members(key)
        | Route::MembersCast(key, _)
        | Route::Owners(key)
        | Route::TransitiveMembers(key)
        | Route::MembersCastCount(key, _)
        | Route::RelationCount(key, _) => match find_group(cx, key) {
            Err(e) => e,
            Ok(_) if plan.deleted_group => cx.not_found(key),
            Ok(group) => group_relation(cx, call, route, q, plan, group, caller),
        },
        Route::Organization => tenant_routes::organization(cx),
        Route::Applications => tenant_routes::applications(cx, call, q, plan),
        Route::Application(id) => match Uuid::parse_str(id) {
            Ok(uid) => match dir.applications.iter().position(|a| a.id == uid) {
                Some(i) => tenant_routes::single_application(cx, q, i),
                None => cx.not_found(id),
            },
            Err(_) => cx.bad(&format!("Invalid object identifier '{id}'.")),
        },
        Route::ApplicationByAppId(app_id) => {
            match dir
                .applications
                .iter()
                .position(|a| a.app_id.to_string().eq_ignore_ascii_case(app_id))
            {
                Some(i) => tenant_routes::single_application(cx, q, i),
                None => cx.not_found(app_id),
            }
        }
        Route::ServicePrincipals => {
            list_objects(cx, call, q, plan, caller, ObjKind::ServicePrincipal)
        }
        Route::ServicePrincipal(id) | Route::ServicePrincipalByAppId(id) => {
            match find_sp(cx, route, id) {
                Ok(r) => single_object(cx, q, r, "servicePrincipals", caller),
                Err(e) => e,
            }
        }
        Route::AppRoleAssignments(key) => {
            let (route2, id) = match key {
                SpKey::Id(id) => (Route::ServicePrincipal(id.clone()), id),
                SpKey::AppId(id) => (Route::ServicePrincipalByAppId(id.clone()), id),
            };
            match find_sp(cx, &route2, id) {
                Ok(r) => tenant_routes::app_role_assignments(cx, q, r),
                Err(e) => e,
            }
        }
        Route::AddPassword(_) | Route::RemovePassword(_) => cx.error(
            405,
            "Request_BadRequest",
            "addPassword and removePassword are actions: they take POST with a delegated token.",
        ),
        Route::Me => cx.bad("/me request is only valid with delegated authentication flow."),
        Route::Batch => cx.bad("Nested $batch is not supported."),
        Route::Unknown(seg) => cx.error(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{seg}'."),
        ),
    }
}

/// Whether the caller lacks every permission the route's area takes (Graph answers 403).
fn denied(route: &Route, caller: &Caller) -> bool {
    match route {
        Route::Users | Route::UsersCount | Route::UsersDelta | Route::User(_) => {
            !has_any(caller, READ_USERS)
        }
        Route::Groups
        | Route::GroupsCount
        | Route::GroupsDelta
        | Route::Group(_)
        | Route::Members(_)
        | Route::MembersCast(..)
        | Route::MembersCastCount(..)
        | Route::Owners(_) => !has_any(caller, READ_GROUPS),
        Route::Applications
        | Route::Application(_)
        | Route::ApplicationByAppId(_)
        | Route::ServicePrincipals
        | Route::ServicePrincipal(_)
        | Route::ServicePrincipalByAppId(_)
        | Route::AppRoleAssignments(_) => !has_any(caller, READ_APPS),
        Route::Organization => !has_any(caller, READ_ORG),
        // getByIds documents Directory.Read.All as its only application permission.
        Route::GetByIds => !has_any(caller, &["Directory.Read.All", "Directory.ReadWrite.All"]),
        _ => false,
    }
}

/// A group's members, owners or transitive members, listed or counted; the group exists.
fn group_relation(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    route: &Route,
    q: &QueryOptions,
    plan: &FaultPlan,
    group: ObjRef,
    caller: &Caller,
) -> GraphReply {
    let dir = cx.dir();
    match route {
        Route::MembersCastCount(_, kind) => {
            match related(cx, call, q, group, Rel::Members, Some(*kind), caller) {
                Ok(items) => count(cx, call, items.len()),
                Err(e) => e,
            }
        }
        Route::RelationCount(_, owners) => {
            let g = &dir.groups[group.idx as usize];
            let n = if *owners {
                g.owners.len()
            } else if g.is_hidden_membership() && !has_any(caller, &["Member.Read.Hidden"]) {
                match cx.state.config.hidden_members {
                    HiddenMembers::Forbidden => return cx.denied(),
                    HiddenMembers::Empty => 0,
                }
            } else {
                g.members.len()
            };
            count(cx, call, n)
        }
        _ => {
            let rel = match route {
                Route::Owners(_) => Rel::Owners,
                Route::TransitiveMembers(_) => Rel::TransitiveMembers,
                _ => Rel::Members,
            };
            let cast = match route {
                Route::MembersCast(_, k) => Some(*k),
                _ => None,
            };
            let relation = Relation { group, rel, cast };
            relationship(cx, call, q, plan, relation, caller)
        }
    }
}

fn find_group(cx: &Ctx<'_>, key: &str) -> Result<ObjRef, GraphReply> {
    let id =
        Uuid::parse_str(key).map_err(|_| cx.bad(&format!("Invalid object identifier '{key}'.")))?;
    cx.dir()
        .index
        .get(&id)
        .copied()
        .filter(|r| r.kind == ObjKind::Group)
        .ok_or_else(|| cx.not_found(key))
}

fn find_sp(cx: &Ctx<'_>, route: &Route, key: &str) -> Result<ObjRef, GraphReply> {
    let dir = cx.dir();
    let idx = match route {
        Route::ServicePrincipalByAppId(_) => dir
            .service_principals
            .iter()
            .position(|s| s.app_id.to_string().eq_ignore_ascii_case(key)),
        _ => {
            let id = Uuid::parse_str(key)
                .map_err(|_| cx.bad(&format!("Invalid object identifier '{key}'.")))?;
            dir.service_principals.iter().position(|s| s.id == id)
        }
    };
    idx.map(|i| ObjRef {
        kind: ObjKind::ServicePrincipal,
        idx: i as u32,
    })
    .ok_or_else(|| cx.not_found(key))
}

/// `/users/$count` and `/groups/$count`, with an optional `$filter` (advanced query).
fn count_matching(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    kind: ObjKind,
) -> GraphReply {
    match matching(cx, q, kind) {
        Ok(refs) => count(
            cx,
            call,
            refs.map_or_else(|| cx.dir().len_of(kind), |r| r.len()),
        ),
        Err(e) => e,
    }
}

/// Most ids one getByIds call takes [GDC api/directoryobject-getbyids.md].
const MAX_GET_BY_IDS: usize = 1000;

/// `POST /directoryObjects/getByIds` with `{"ids": […], "types": […]}`: the objects found, in
/// the order asked, each with `@odata.type` and its type's default properties (or `$select`);
/// unknown ids and other types are left out.
fn get_by_ids(cx: &Ctx<'_>, call: &GraphCall<'_>, q: &QueryOptions, caller: &Caller) -> GraphReply {
    let body: serde_json::Value = match serde_json::from_slice(call.body) {
        Ok(v) => v,
        Err(_) => return cx.bad("Invalid JSON in the request body."),
    };
    let strings = |key: &str| -> Option<Vec<String>> {
        body.get(key)?
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let Some(ids) = strings("ids") else {
        return cx.bad("The request body must contain 'ids', a collection of strings.");
    };
    if ids.len() > MAX_GET_BY_IDS {
        return cx.bad(&format!(
            "Too many ids ({}): at most {MAX_GET_BY_IDS} are allowed.",
            ids.len()
        ));
    }
    let types = strings("types").unwrap_or_default();
    let wanted = |k: ObjKind| {
        types.is_empty()
            || types.iter().any(|t| {
                t.eq_ignore_ascii_case(k.truth_name()) || t.eq_ignore_ascii_case("directoryObject")
            })
    };
    let dir = cx.dir();
    let found: Vec<ObjRef> = ids
        .iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .filter_map(|id| dir.index.get(&id).copied())
        .filter(|r| wanted(r.kind))
        .collect();
    let sel = resolve_select(q);
    let mut out = String::with_capacity(64 + found.len() * 300);
    open_page(&mut out, cx, "directoryObjects", None, None);
    write_typed_objects(
        cx,
        &found,
        sel.as_ref().map(|s| s.0.as_slice()),
        caller,
        &mut out,
    );
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, found.len())
}

/// `$count` requires `ConsistencyLevel: eventual` (advanced query).
fn count(cx: &Ctx<'_>, call: &GraphCall<'_>, n: usize) -> GraphReply {
    if !call.consistency_eventual {
        return cx.bad("$count is not currently supported.");
    }
    cx.reply(200, n.to_string(), TEXT_CT, 0)
}
