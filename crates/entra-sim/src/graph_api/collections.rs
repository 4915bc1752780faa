//! Rendering directory objects: collection pages, single entities, and `$expand` of a
//! group's members and owners.

use std::fmt::Write as _;
use std::sync::Arc;

use super::access::{can_read_kind, has_any};
use super::query::{Filter, next_link, page_offset, page_size, resolve_select};
use super::{Ctx, GraphCall, GraphReply, JSON_CT};
use crate::fault::FaultPlan;
use crate::json::{push_key, push_str};
use crate::model::{ObjKind, ObjRef, all_props};
use crate::odata::{MAX_TOP, QueryOptions, fingerprint};
use crate::token::Caller;

/// Which relationships `$expand` asks for.
#[derive(Default, Clone, Copy)]
struct Expand {
    members: bool,
    owners: bool,
}

fn parse_expand(cx: &Ctx<'_>, q: &QueryOptions, kind: ObjKind) -> Result<Expand, GraphReply> {
    let mut e = Expand::default();
    let Some(raw) = &q.expand else { return Ok(e) };
    for part in raw.split(',') {
        let p = part.trim();
        if p.contains('(') {
            return Err(cx.bad(
                "Nested query options in $expand are not supported for directory relationships.",
            ));
        }
        match (kind, p.to_ascii_lowercase().as_str()) {
            (ObjKind::Group, "members") => e.members = true,
            (ObjKind::Group, "owners") => e.owners = true,
            _ => {
                return Err(cx.bad(&format!(
                    "Could not find a property named '{p}' on type 'microsoft.graph.{}'.",
                    kind.truth_name()
                )));
            }
        }
    }
    Ok(e)
}

/// `$expand` on directory relationships returns at most 20 items, no nextLink
/// (graph-reference §4).
const EXPAND_CAP: usize = 20;
/// With `$expand`, the outer page is capped at 100 even with `$top=999` (observed).
const EXPAND_OUTER_CAP: usize = 100;

fn write_expanded(
    cx: &Ctx<'_>,
    g: ObjRef,
    e: Expand,
    caller: &Caller,
    out: &mut String,
    first: &mut bool,
) {
    let dir = cx.dir();
    let group = &dir.groups[g.idx as usize];
    for (on, name, list) in [
        (e.members, "members", &group.members),
        (e.owners, "owners", &group.owners),
    ] {
        if !on {
            continue;
        }
        push_key(out, first, name);
        out.push('[');
        let hidden = name == "members"
            && group.is_hidden_membership()
            && !has_any(caller, &["Member.Read.Hidden"]);
        if !hidden {
            for (i, r) in list.iter().take(EXPAND_CAP).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dir.write_object(*r, None, true, !can_read_kind(caller, r.kind), out);
            }
        }
        out.push(']');
    }
}

fn write_one(
    cx: &Ctx<'_>,
    r: ObjRef,
    select: Option<&[&'static str]>,
    expand: Expand,
    caller: &Caller,
    out: &mut String,
) {
    let dir = cx.dir();
    if !expand.members && !expand.owners {
        dir.write_object(r, select, false, false, out);
        return;
    }
    dir.write_object(r, select, false, false, out);
    out.pop(); // reopen the object to append the expanded relationships
    let mut first = out.ends_with('{');
    write_expanded(cx, r, expand, caller, out, &mut first);
    out.push('}');
}

pub(super) fn list_objects(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    caller: &Caller,
    kind: ObjKind,
) -> GraphReply {
    let dir = cx.dir();
    let total = dir.len_of(kind);
    let set = match kind {
        ObjKind::User => "users",
        ObjKind::Group => "groups",
        ObjKind::Device => "devices",
        ObjKind::ServicePrincipal => "servicePrincipals",
        ObjKind::OrgContact => "contacts",
    };
    let expand = match parse_expand(cx, q, kind) {
        Ok(e) => e,
        Err(e) => return e,
    };
    let cap = if expand.members || expand.owners {
        EXPAND_OUTER_CAP
    } else {
        MAX_TOP
    };
    let top = match page_size(cx, q, cap) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if q.wants_count() && !call.consistency_eventual {
        return cx.bad("$count is not currently supported.");
    }
    let refs = match matching(cx, q, kind) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let list = fingerprint(&[set, q.filter.as_deref().unwrap_or("")]);
    let offset = match page_offset(cx, q, plan, list) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let n = refs.as_ref().map_or(total, |r| r.len());
    let at = |i: usize| match &refs {
        Some(r) => r[i],
        None => ObjRef {
            kind,
            idx: i as u32,
        },
    };
    let sel = resolve_select(q);
    let end = offset.saturating_add(top).min(n);
    let mut out = String::with_capacity(64 + (end.saturating_sub(offset)) * 600);
    let ctx = match &sel {
        Some((_, raw)) => format!("{set}({raw})"),
        None => set.to_string(),
    };
    let count = (q.wants_count() && offset == 0).then_some(n);
    let next = (end < n).then(|| next_link(cx, call, q, list, end));
    open_page(&mut out, cx, &ctx, count, next);
    for i in offset.min(end)..end {
        if i > offset {
            out.push(',');
        }
        write_one(
            cx,
            at(i),
            sel.as_ref().map(|s| s.0.as_slice()),
            expand,
            caller,
            &mut out,
        );
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, end.saturating_sub(offset))
}

/// The objects of `kind` that `$filter` selects, in directory order; `None` without a filter.
pub(super) fn matching(
    cx: &Ctx<'_>,
    q: &QueryOptions,
    kind: ObjKind,
) -> Result<Option<Arc<Vec<ObjRef>>>, GraphReply> {
    let dir = cx.dir();
    let Some(f) = Filter::compile(cx, q, all_props(kind), kind.truth_name())? else {
        return Ok(None);
    };
    let key = fingerprint(&[
        "matching",
        kind.truth_name(),
        q.filter.as_deref().unwrap_or(""),
    ]);
    Ok(Some(cx.snap.lists.get_or_make(key, || {
        let mut scan = f.scan(&cx.snap);
        let check = |idx: u32| {
            let r = ObjRef { kind, idx };
            scan.matches(r).then_some(r)
        };
        match f.candidates(&cx.snap, kind) {
            Some(candidates) => candidates.into_iter().filter_map(check).collect(),
            None => (0..dir.len_of(kind) as u32).filter_map(check).collect(),
        }
    })))
}

pub(super) fn single_object(
    cx: &Ctx<'_>,
    q: &QueryOptions,
    r: ObjRef,
    set: &str,
    caller: &Caller,
) -> GraphReply {
    let expand = match parse_expand(cx, q, r.kind) {
        Ok(e) => e,
        Err(e) => return e,
    };
    let sel = resolve_select(q);
    let mut obj = String::new();
    write_one(
        cx,
        r,
        sel.as_ref().map(|s| s.0.as_slice()),
        expand,
        caller,
        &mut obj,
    );
    let ctx = match &sel {
        Some((_, raw)) => format!("{set}({raw})/$entity"),
        None => format!("{set}/$entity"),
    };
    cx.reply(200, entity_body(cx, &ctx, &obj), JSON_CT, 1)
}

/// A single entity's body: `@odata.context` followed by the object's own properties
/// (`obj` is a serialised JSON object).
pub(crate) fn entity_body(cx: &Ctx<'_>, ctx: &str, obj: &str) -> String {
    let mut out = String::with_capacity(obj.len() + 100);
    out.push_str("{\"@odata.context\":");
    push_str(&mut out, &cx.context(ctx));
    if obj.len() > 2 {
        out.push(',');
        out.push_str(&obj[1..]);
    } else {
        out.push('}');
    }
    out
}

/// Opens a collection page: `@odata.context`, `@odata.count` (first page, when asked for),
/// `@odata.nextLink` (when more follow) and the start of the `value` array.
pub(crate) fn open_page(
    out: &mut String,
    cx: &Ctx<'_>,
    ctx: &str,
    count: Option<usize>,
    next_link: Option<String>,
) {
    out.push_str("{\"@odata.context\":");
    push_str(out, &cx.context(ctx));
    if let Some(n) = count {
        let _ = write!(out, ",\"@odata.count\":{n}");
    }
    if let Some(link) = next_link {
        out.push_str(",\"@odata.nextLink\":");
        push_str(out, &link);
    }
    out.push_str(",\"value\":[");
}
