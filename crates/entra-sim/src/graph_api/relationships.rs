//! A group's `/members`, `/owners` and `/transitiveMembers`.

use std::sync::Arc;

use super::access::{can_read_kind, has_any};
use super::collections::open_page;
use super::query::{Filter, next_link, page_offset, page_size, resolve_select};
use super::{Ctx, GraphCall, GraphReply, JSON_CT};
use crate::config::HiddenMembers;
use crate::fault::FaultPlan;
use crate::index::POSITIONS_FROM_MEMBERS;
use crate::model::{Directory, ObjKind, ObjRef, all_props};
use crate::odata::{MAX_TOP, QueryOptions, fingerprint};
use crate::token::Caller;

/// Which relationship of a group is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rel {
    Members,
    Owners,
    TransitiveMembers,
}

impl Rel {
    fn name(self) -> &'static str {
        match self {
            Rel::Members => "members",
            Rel::Owners => "owners",
            Rel::TransitiveMembers => "transitiveMembers",
        }
    }
}

/// Every member reachable through nested groups (the nested groups included), each once, in
/// breadth-first order. Members of nested hidden-membership groups need Member.Read.Hidden.
fn transitive_members(dir: &Directory, root: ObjRef, can_read_hidden: bool) -> Vec<ObjRef> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([root]);
    seen.insert(root);
    while let Some(g) = queue.pop_front() {
        let group = &dir.groups[g.idx as usize];
        if g != root && group.is_hidden_membership() && !can_read_hidden {
            continue;
        }
        for m in &group.members {
            if seen.insert(*m) {
                out.push(*m);
                if m.kind == ObjKind::Group {
                    queue.push_back(*m);
                }
            }
        }
    }
    out
}

/// The objects a relationship of group `g` lists for this caller: the HiddenMembership rule,
/// then an OData cast (`/members/microsoft.graph.user`) and a `$filter`, which on members
/// need `ConsistencyLevel: eventual` [GDC api/group-list-members.md; aad-advanced-queries.md].
pub(super) fn related(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    g: ObjRef,
    rel: Rel,
    cast: Option<ObjKind>,
    caller: &Caller,
) -> Result<Arc<Vec<ObjRef>>, GraphReply> {
    let dir = cx.dir();
    let group = &dir.groups[g.idx as usize];
    if q.expand.is_some() || (q.filter.is_some() && rel != Rel::Members) {
        return Err(cx.error(
            400,
            "Request_UnsupportedQuery",
            "The simulated tenant supports $filter only on members, and no $expand on members/owners.",
        ));
    }
    if (q.filter.is_some() || cast.is_some()) && !call.consistency_eventual {
        return Err(cx.error(
            400,
            "Request_UnsupportedQuery",
            "Unsupported Query. $filter and OData casts on members need the ConsistencyLevel: eventual header.",
        ));
    }
    let kind = cast.unwrap_or(ObjKind::User);
    let filter = Filter::compile(cx, q, all_props(kind), kind.truth_name())?;
    let hidden = rel != Rel::Owners
        && group.is_hidden_membership()
        && !has_any(caller, &["Member.Read.Hidden"]);
    if hidden && cx.state.config.hidden_members == HiddenMembers::Forbidden {
        return Err(cx.denied());
    }
    let gid = group.id.to_string();
    let key = fingerprint(&[
        "related",
        &gid,
        rel.name(),
        cast.map_or("", ObjKind::truth_name),
        q.filter.as_deref().unwrap_or(""),
        if hidden { "hidden" } else { "" },
    ]);
    Ok(cx.snap.lists.get_or_make(key, || {
        let items: Vec<ObjRef> = match rel {
            _ if hidden => Vec::new(),
            Rel::Owners => group.owners.clone(),
            Rel::TransitiveMembers => {
                transitive_members(dir, g, has_any(caller, &["Member.Read.Hidden"]))
            }
            Rel::Members => match (&filter, cast) {
                (Some(f), Some(kind)) => {
                    indexed_members(cx, g, f, kind).unwrap_or_else(|| group.members.clone())
                }
                _ => group.members.clone(),
            },
        };
        let mut scan = filter.as_ref().map(|f| f.scan(&cx.snap));
        items
            .into_iter()
            .filter(|r| cast.is_none_or(|k| r.kind == k))
            .filter(|r| scan.as_mut().is_none_or(|s| s.matches(*r)))
            .collect()
    }))
}

/// One group's relationship a request lists, optionally cast to one type.
#[derive(Debug, Clone, Copy)]
pub(super) struct Relation {
    pub group: ObjRef,
    pub rel: Rel,
    pub cast: Option<ObjKind>,
}

/// The members of `kind` of big group `g` the filter's index proposes, in member order (a
/// superset of the matches, which the caller's scan checks); `None` when the group is small or
/// the index proposes more objects than the group has members, so that walking the group
/// costs less.
fn indexed_members(cx: &Ctx<'_>, g: ObjRef, filter: &Filter, kind: ObjKind) -> Option<Vec<ObjRef>> {
    let members = &cx.dir().groups[g.idx as usize].members;
    if members.len() < POSITIONS_FROM_MEMBERS {
        return None;
    }
    let candidates = filter.candidates(&cx.snap, kind)?;
    if candidates.len() >= members.len() {
        return None;
    }
    let positions = cx.snap.positions.of(cx.dir(), g.idx);
    let mut at: Vec<u32> = candidates
        .into_iter()
        .filter_map(|idx| positions.get(&ObjRef { kind, idx }).copied())
        .collect();
    at.sort_unstable();
    Some(at.into_iter().map(|k| members[k as usize]).collect())
}

/// `/groups/{id}/members`, `/owners` and `/transitiveMembers` (optionally cast to one type):
/// directoryObject collections with `@odata.type`, limited information for types the caller
/// can't read, and the HiddenMembership rule.
pub(super) fn relationship(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    relation: Relation,
    caller: &Caller,
) -> GraphReply {
    let Relation {
        group: g,
        rel,
        cast,
    } = relation;
    let dir = cx.dir();
    let group = &dir.groups[g.idx as usize];
    let top = match page_size(cx, q, MAX_TOP) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if q.wants_count() && !call.consistency_eventual {
        return cx.bad("$count is not currently supported.");
    }
    let gid = group.id.to_string();
    let cast_name = cast.map_or("", ObjKind::truth_name);
    let list = fingerprint(&[
        rel.name(),
        &gid,
        cast_name,
        q.filter.as_deref().unwrap_or(""),
    ]);
    let offset = match page_offset(cx, q, plan, list) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let items = match related(cx, call, q, g, rel, cast, caller) {
        Ok(items) => items,
        Err(e) => return e,
    };
    let n = items.len();
    let end = offset.saturating_add(top).min(n);
    let sel = resolve_select(q);
    let mut out = String::with_capacity(64 + end.saturating_sub(offset) * 600);
    let set = match cast {
        Some(k) => format!("{}s", k.truth_name()),
        None => "directoryObjects".to_string(),
    };
    let ctx = match &sel {
        Some((_, raw)) => format!("{set}({raw})"),
        None => set,
    };
    let count = (q.wants_count() && offset == 0).then_some(n);
    let next = (end < n).then(|| next_link(cx, call, q, list, end));
    open_page(&mut out, cx, &ctx, count, next);
    write_typed_objects(
        cx,
        &items[offset.min(end)..end],
        sel.as_ref().map(|s| s.0.as_slice()),
        caller,
        &mut out,
    );
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, end.saturating_sub(offset))
}

/// Writes directory objects, comma-separated, each with `@odata.type`; types the caller
/// can't read come with limited information.
pub(super) fn write_typed_objects(
    cx: &Ctx<'_>,
    items: &[ObjRef],
    select: Option<&[&'static str]>,
    caller: &Caller,
    out: &mut String,
) {
    for (k, r) in items.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let limited = !can_read_kind(caller, r.kind);
        cx.dir().write_object(*r, select, true, limited, out);
    }
}
