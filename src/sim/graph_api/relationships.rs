//! A group's `/members`, `/owners` and `/transitiveMembers`.

use super::access::{can_read_kind, has_any};
use super::collections::open_page;
use super::query::{next_link, page_offset, page_size, resolve_select};
use super::{Ctx, GraphCall, GraphReply, JSON_CT};
use crate::sim::config::HiddenMembers;
use crate::sim::fault::FaultPlan;
use crate::sim::model::{Directory, ObjKind, ObjRef};
use crate::sim::odata::{MAX_TOP, QueryOptions, fingerprint};
use crate::sim::token::Caller;

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

/// `/groups/{id}/members`, `/owners` and `/transitiveMembers`: directoryObject collections with `@odata.type`,
/// limited information for types the caller can't read, and the HiddenMembership rule.
pub(super) fn relationship(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    g: ObjRef,
    rel: Rel,
    caller: &Caller,
) -> GraphReply {
    let dir = &cx.state.dir;
    let group = &dir.groups[g.idx as usize];
    let top = match page_size(cx, q, MAX_TOP) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if q.filter.is_some() || q.expand.is_some() {
        return cx.error(
            400,
            "Request_UnsupportedQuery",
            "The simulated tenant does not support $filter or $expand on members/owners.",
        );
    }
    if q.wants_count() && !call.consistency_eventual {
        return cx.bad("$count is not currently supported.");
    }
    let owners = rel == Rel::Owners;
    let gid = group.id.to_string();
    let list = fingerprint(&[rel.name(), &gid]);
    let offset = match page_offset(cx, q, plan, list) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let hidden =
        !owners && group.is_hidden_membership() && !has_any(caller, &["Member.Read.Hidden"]);
    let transitive;
    let items: &[ObjRef] = if hidden {
        match cx.state.config.hidden_members {
            HiddenMembers::Forbidden => return cx.denied(),
            HiddenMembers::Empty => &[],
        }
    } else if owners {
        &group.owners
    } else if rel == Rel::TransitiveMembers {
        transitive = transitive_members(dir, g, has_any(caller, &["Member.Read.Hidden"]));
        &transitive
    } else {
        &group.members
    };
    let n = items.len();
    let end = offset.saturating_add(top).min(n);
    let sel = resolve_select(q);
    let mut out = String::with_capacity(64 + end.saturating_sub(offset) * 600);
    let ctx = match &sel {
        Some((_, raw)) => format!("directoryObjects({raw})"),
        None => "directoryObjects".to_string(),
    };
    let count = (q.wants_count() && offset == 0).then_some(n);
    let next = (end < n).then(|| next_link(cx, call, q, list, end));
    open_page(&mut out, cx, &ctx, count, next);
    for (k, r) in items[offset.min(end)..end].iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let limited = !can_read_kind(caller, r.kind);
        dir.write_object(
            *r,
            sel.as_ref().map(|s| s.0.as_slice()),
            true,
            limited,
            &mut out,
        );
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, end.saturating_sub(offset))
}
