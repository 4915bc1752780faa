//! `/groups/delta` and `/users/delta` [GDC api/group-delta.md, api/user-delta.md,
//! concepts/delta-query-groups.md, concepts/delta-query-overview.md; graph-reference §7].
//!
//! Initial sync: pages of objects; for groups `members@delta` / `owners@delta` (only
//! `@odata.type` and `id`), large groups split across pages (the same group repeats with the next chunk,
//! as observed in msgraph-sdk-dotnet#574: merge by id), and a final `@odata.deltaLink`.
//!
//! Tracked sync (a `$deltatoken`): what changed since the token's tenant version, from the
//! snapshot's history (`evolve`). Users carry `id` and the changed selected properties only
//! ("at least the properties that have been updated"); groups carry every selected property
//! and only the member and owner changes, removals marked `@removed: {"reason":"deleted"}`;
//! removed objects are `id` + `@removed` with reason `changed` (restorable: users, Microsoft
//! 365 groups) or `deleted`. A change to a property that wasn't selected doesn't show [DQ].
//! Tokens expire after `delta_token_ttl` (seven days for directory objects [DQ]) or when
//! `/_sim/expire-delta-tokens` says so: 400 `syncStateNotFound`, as Graph answers.

use std::fmt::Write as _;

use super::fault::FaultPlan;
use super::graph_api::{
    Ctx, GraphCall, GraphReply, JSON_CT, has_any, next_link, page_offset, resolve_select,
};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use uuid::Uuid;

use super::evolve::{Action, Object};
use super::json::{push_key, push_str, push_uuid};
use super::model::{GROUP_PROPS, ObjKind, ObjRef, USER_DEFAULT};
use super::odata::{PageToken, QueryOptions, fingerprint, parse_id_disjunction};
use super::token::Caller;

/// Groups per delta page.
const GROUPS_PER_PAGE: usize = 100;
/// Users per delta page (not documented; "the number of objects in each page can vary").
const USERS_PER_PAGE: usize = 200;
/// Member and owner references per delta page (≈500 observed, graph-reference §7).
const REFS_PER_PAGE: usize = 500;
/// "There is a limit of 50 filtered objects" [GDC api/group-delta.md].
const MAX_FILTERED_IDS: usize = 50;

/// Handles `GET /groups/delta`.
pub(super) fn groups_delta(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    caller: &Caller,
) -> GraphReply {
    if q.top.is_some() || q.orderby.is_some() || q.wants_count() {
        return cx.error(
            400,
            "Request_UnsupportedQuery",
            "Unsupported query option for delta: only $select, $filter=id eq, $expand=members and $deltatoken/$skiptoken are supported by the simulated tenant.",
        );
    }
    let only = match tracked_group_indexes(cx, q) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let raw_select: Vec<String> = q
        .select
        .iter()
        .flatten()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    let expand = q.expand.as_deref().unwrap_or("").to_ascii_lowercase();
    let sel = resolve_select(q);
    let props: Vec<&'static str> = match &sel {
        Some((p, _)) => p.clone(),
        None => GROUP_PROPS.to_vec(),
    };
    let wants = Wants {
        kind: ObjKind::Group,
        props: &props,
        selected: sel.is_some(),
        members: q.select.is_none()
            || raw_select.iter().any(|p| p == "members")
            || expand == "members",
        owners: raw_select.iter().any(|p| p == "owners"),
        hidden_ok: has_any(caller, &["Member.Read.Hidden"]),
    };
    if let Some(tok) = delta_token(q) {
        return tracked(cx, call, q, plan, tok, &wants);
    }
    let list = listing(q, &["groups/delta"]);
    let cursor = match page_offset(cx, q, plan, list) {
        Ok(c) => c as u64,
        Err(e) => return e,
    };
    let page = groups_page(cx, only.as_deref(), &wants, cursor);
    let mut out = String::with_capacity(64 * 1024);
    let ctx = match &sel {
        Some((_, raw)) => format!("groups({raw})"),
        None => "groups".to_string(),
    };
    open_page(cx, &ctx, &mut out);
    match page.next {
        Some(c) => {
            out.push_str(",\"@odata.nextLink\":");
            push_str(&mut out, &next_link(cx, call, q, list, c as usize));
        }
        None => {
            out.push_str(",\"@odata.deltaLink\":");
            push_str(&mut out, &delta_link(cx, call, q, ObjKind::Group));
        }
    }
    let _ = write!(out, ",\"value\":[{}]}}", page.value);
    cx.reply(200, out, JSON_CT, page.items)
}

/// The groups a `$filter=id eq …` tracks, as indexes in the directory (in its order); `None`
/// tracks every group.
fn tracked_group_indexes(cx: &Ctx<'_>, q: &QueryOptions) -> Result<Option<Vec<usize>>, GraphReply> {
    let dir = cx.dir();
    Ok(tracked_ids(cx, q)?.map(|ids| {
        let mut idx: Vec<usize> = ids
            .iter()
            .filter_map(|id| dir.index.get(id))
            .filter(|r| r.kind == ObjKind::Group)
            .map(|r| r.idx as usize)
            .collect();
        idx.sort_unstable();
        idx
    }))
}

/// One page of an initial group sync.
struct GroupsPage {
    /// The groups, comma-separated.
    value: String,
    items: usize,
    /// Where the next page starts: group (high 32 bits) and member offset (low 32 bits).
    next: Option<u64>,
}

/// The page of an initial group sync that starts at `cursor`: whole groups, a large one split
/// across pages by its members.
fn groups_page(cx: &Ctx<'_>, only: Option<&[usize]>, w: &Wants<'_>, cursor: u64) -> GroupsPage {
    let dir = cx.dir();
    let group_at = |i: usize| only.map_or(i, |o| o[i]);
    let groups_listed = only.map_or(dir.groups.len(), <[usize]>::len);
    let mut gi = (cursor >> 32) as usize;
    let mut member_off = (cursor & 0xFFFF_FFFF) as usize;
    let mut value = String::with_capacity(64 * 1024);
    let mut groups_on_page = 0;
    let mut refs_on_page = 0;
    let mut items = 0;
    let mut next: Option<u64> = None;
    while gi < groups_listed {
        if groups_on_page == GROUPS_PER_PAGE || refs_on_page >= REFS_PER_PAGE {
            next = Some((gi as u64) << 32);
            break;
        }
        let group = &dir.groups[group_at(gi)];
        if cx.state.faults.deletes_group(&group.id.to_string()) {
            gi += 1;
            member_off = 0;
            continue;
        }
        let r = ObjRef {
            kind: ObjKind::Group,
            idx: group_at(gi) as u32,
        };
        if groups_on_page > 0 {
            value.push(',');
        }
        dir.write_object(r, Some(w.props), false, false, &mut value);
        value.pop();
        let mut first = value.ends_with('{');
        let mut split_at = None;
        if w.members {
            // Hidden memberships stay hidden without Member.Read.Hidden (an assumption: the
            // docs don't say what delta does there).
            let members: &[ObjRef] = if group.is_hidden_membership() && !w.hidden_ok {
                &[]
            } else {
                &group.members
            };
            let room = REFS_PER_PAGE.saturating_sub(refs_on_page).max(1);
            let start = member_off.min(members.len());
            let end = (start + room).min(members.len());
            push_key(&mut value, &mut first, "members@delta");
            write_refs(cx, &members[start..end], &mut value);
            refs_on_page += end - start;
            items += end - start;
            if end < members.len() {
                split_at = Some(end);
            }
        }
        if w.owners && member_off == 0 {
            push_key(&mut value, &mut first, "owners@delta");
            write_refs(cx, &group.owners, &mut value);
            refs_on_page += group.owners.len();
            items += group.owners.len();
        }
        value.push('}');
        groups_on_page += 1;
        items += 1;
        match split_at {
            Some(m) => {
                next = Some(((gi as u64) << 32) | m as u64);
                break;
            }
            None => {
                gi += 1;
                member_off = 0;
            }
        }
    }
    GroupsPage { value, items, next }
}

fn write_refs(cx: &Ctx<'_>, refs: &[ObjRef], out: &mut String) {
    out.push('[');
    for (i, r) in refs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"@odata.type\":");
        push_str(out, r.kind.odata_type());
        out.push_str(",\"id\":");
        push_uuid(out, &cx.dir().id_of(*r));
        out.push('}');
    }
    out.push(']');
}

/// The fingerprint every delta token of a kind carries.
fn token_list(kind: ObjKind) -> u64 {
    match kind {
        ObjKind::User => fingerprint(&["users/delta-token"]),
        _ => fingerprint(&["groups/delta-token"]),
    }
}

/// A deltaLink for the tenant as this request saw it: the token holds its version.
fn delta_link(cx: &Ctx<'_>, call: &GraphCall<'_>, q: &QueryOptions, kind: ObjKind) -> String {
    let tok = PageToken {
        offset: cx.snap.version as usize,
        list: token_list(kind),
        issued_ms: chrono::Utc::now().timestamp_millis(),
    }
    .encode();
    let mut query = String::new();
    for (k, v) in &q.pairs {
        let key = k.trim_start_matches('$').to_ascii_lowercase();
        if key == "skiptoken" || key == "deltatoken" {
            continue;
        }
        let _ = write!(
            query,
            "{}={}&",
            k,
            url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
        );
    }
    format!(
        "{}/v1.0{}?{query}$deltatoken={tok}",
        cx.state.base_url, call.path
    )
}

/// `$filter=id eq '…' or id eq '…'` tracks only those objects (≤ 50); unknown ids are simply
/// absent.
fn tracked_ids(cx: &Ctx<'_>, q: &QueryOptions) -> Result<Option<HashSet<Uuid>>, GraphReply> {
    match q.filter.as_deref().map(parse_id_disjunction) {
        None => Ok(None),
        Some(Err(m)) => Err(cx.error(400, "Request_UnsupportedQuery", &m)),
        Some(Ok(ids)) if ids.len() > MAX_FILTERED_IDS => Err(cx.error(
            400,
            "Request_UnsupportedQuery",
            &format!(
                "The number of filtered objects ({}) exceeds the limit of {MAX_FILTERED_IDS}.",
                ids.len()
            ),
        )),
        Some(Ok(ids)) => Ok(Some(
            ids.iter()
                .filter_map(|id| Uuid::parse_str(id).ok())
                .collect(),
        )),
    }
}

fn delta_token(q: &QueryOptions) -> Option<&str> {
    q.pairs
        .iter()
        .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case("deltatoken"))
        .map(|(_, v)| v.as_str())
}

/// What a delta request tracks.
struct Wants<'a> {
    kind: ObjKind,
    props: &'a [&'static str],
    /// `$select` was given: only changes to those properties show.
    selected: bool,
    members: bool,
    owners: bool,
    hidden_ok: bool,
}

/// How one object changed since a version, folded from the history.
#[derive(Default)]
struct Folded {
    added: bool,
    attributes: Vec<&'static str>,
    /// Member or owner id → (type, added); the last change wins.
    members: Vec<(Uuid, ObjKind, bool)>,
    owners: Vec<(Uuid, ObjKind, bool)>,
    restorable: bool,
}

/// Answers a request with a `$deltatoken`: the changes since the token's version.
fn tracked(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    tok: &str,
    w: &Wants<'_>,
) -> GraphReply {
    if tok.eq_ignore_ascii_case("latest") {
        let mut out = String::new();
        push_context(cx, w.kind, &mut out);
        out.push_str(",\"@odata.deltaLink\":");
        push_str(&mut out, &delta_link(cx, call, q, w.kind));
        out.push_str(",\"value\":[]}");
        return cx.reply(200, out, JSON_CT, 0);
    }
    let since = match token_version(cx, tok, w.kind) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let only = match tracked_ids(cx, q) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let (order, folded) = fold_history(cx, since, w.kind, only.as_ref());
    // Render each changed object the request can see.
    let entries: Vec<(String, usize)> = order
        .iter()
        .filter_map(|id| change_entry(cx, id, &folded[id], w))
        .collect();
    changes_page(cx, call, q, plan, w, since, &entries)
}

/// Opens a tracked sync's page: `{"@odata.context":…` for the kind's collection.
fn push_context(cx: &Ctx<'_>, kind: ObjKind, out: &mut String) {
    let name = if kind == ObjKind::User {
        "users"
    } else {
        "groups"
    };
    open_page(cx, name, out);
}

/// Opens a delta page: `{"@odata.context":…` for `collection` (`users`, `groups(id,…)`).
fn open_page(cx: &Ctx<'_>, collection: &str, out: &mut String) {
    out.push_str("{\"@odata.context\":");
    push_str(out, &cx.context(collection));
}

/// The tenant version a delta token was issued at, or the answer to a token that is not
/// one of this kind's, is from the future, or has expired.
fn token_version(cx: &Ctx<'_>, tok: &str, kind: ObjKind) -> Result<u64, GraphReply> {
    let Some(t) = PageToken::decode(tok).filter(|t| t.list == token_list(kind)) else {
        return Err(cx.bad("Invalid delta token."));
    };
    let since = t.offset as u64;
    if since > cx.snap.version {
        return Err(cx.bad("Invalid delta token."));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let ttl = i64::try_from(cx.state.config.delta_token_ttl.as_millis()).unwrap_or(i64::MAX);
    if now.saturating_sub(t.issued_ms) > ttl
        || t.issued_ms < cx.state.delta_expired_before_ms.load(Ordering::Relaxed)
    {
        return Err(cx.error(
            400,
            "syncStateNotFound",
            "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        ));
    }
    Ok(since)
}

/// Folds the history after `since` into one entry per object of `kind` (tracked by `only`
/// when given), in order of first change.
fn fold_history(
    cx: &Ctx<'_>,
    since: u64,
    kind: ObjKind,
    only: Option<&HashSet<Uuid>>,
) -> (Vec<Uuid>, HashMap<Uuid, Folded>) {
    let mut order: Vec<Uuid> = Vec::new();
    let mut folded: HashMap<Uuid, Folded> = HashMap::new();
    let object = if kind == ObjKind::User {
        Object::User
    } else {
        Object::Group
    };
    for c in cx.snap.history.iter().filter(|c| c.version > since) {
        let (id, edge) = match (c.object, &c.group) {
            (o, _) if o == object => (c.id, None),
            (Object::Member | Object::Owner, Some((gid, _))) if object == Object::Group => {
                (*gid, Some(c.object))
            }
            _ => continue,
        };
        if only.is_some_and(|o| !o.contains(&id)) {
            continue;
        }
        let f = folded.entry(id).or_insert_with(|| {
            order.push(id);
            Folded::default()
        });
        let list = match edge {
            Some(Object::Member) => &mut f.members,
            Some(_) => &mut f.owners,
            None => {
                match c.action {
                    Action::Added => f.added = true,
                    Action::Removed => f.restorable = c.restorable,
                    Action::Updated => {
                        for a in &c.attributes {
                            if !f.attributes.contains(a) {
                                f.attributes.push(a);
                            }
                        }
                    }
                }
                continue;
            }
        };
        list.retain(|(m, _, _)| *m != c.id);
        list.push((c.id, c.kind, c.action == Action::Added));
    }
    (order, folded)
}

/// How one changed object shows in a tracked sync, with the references it carries; `None`
/// when nothing the request can see changed.
fn change_entry(cx: &Ctx<'_>, id: &Uuid, f: &Folded, w: &Wants<'_>) -> Option<(String, usize)> {
    let dir = cx.dir();
    let here = dir.index.get(id).copied().filter(|r| r.kind == w.kind);
    let mut o = String::new();
    let Some(r) = here else {
        if f.added {
            return None;
        }
        o.push_str("{\"id\":");
        push_uuid(&mut o, id);
        o.push_str(",\"@removed\":{\"reason\":");
        push_str(&mut o, if f.restorable { "changed" } else { "deleted" });
        o.push_str("}}");
        return Some((o, 0));
    };
    let hidden = w.kind == ObjKind::Group
        && dir.groups[r.idx as usize].is_hidden_membership()
        && !w.hidden_ok;
    if f.added {
        let refs = write_whole(cx, r, w, hidden, &mut o);
        return Some((o, refs));
    }
    let attrs: Vec<&'static str> = f
        .attributes
        .iter()
        .copied()
        .filter(|a| !w.selected || w.props.contains(a))
        .collect();
    let members: &[(Uuid, ObjKind, bool)] = if w.members && !hidden {
        &f.members
    } else {
        &[]
    };
    let owners: &[(Uuid, ObjKind, bool)] = if w.owners { &f.owners } else { &[] };
    if attrs.is_empty() && members.is_empty() && owners.is_empty() {
        return None;
    }
    if w.kind == ObjKind::User {
        // "Updated instances are represented by their id with at least the properties
        // that have been updated" [DQ].
        let mut props = vec!["id"];
        props.extend(attrs.iter().filter(|a| **a != "id"));
        dir.write_object(r, Some(&props), false, false, &mut o);
        return Some((o, 0));
    }
    dir.write_object(r, Some(w.props), false, false, &mut o);
    o.pop();
    let mut first = o.ends_with('{');
    for (key, list) in [("members@delta", members), ("owners@delta", owners)] {
        if list.is_empty() {
            continue;
        }
        push_key(&mut o, &mut first, key);
        write_edge_changes(list, &mut o);
    }
    o.push('}');
    Some((o, members.len() + owners.len()))
}

/// A group's member or owner changes: `[{"@odata.type":…,"id":…}, …]`, a removal marked.
fn write_edge_changes(list: &[(Uuid, ObjKind, bool)], o: &mut String) {
    o.push('[');
    for (i, (m, kind, added)) in list.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"@odata.type\":");
        push_str(o, kind.odata_type());
        o.push_str(",\"id\":");
        push_uuid(o, m);
        if !added {
            o.push_str(",\"@removed\":{\"reason\":\"deleted\"}");
        }
        o.push('}');
    }
    o.push(']');
}

/// The page of a tracked sync's changes the request's skip token points at, paged like the
/// initial sync; an object is never split here.
fn changes_page(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    w: &Wants<'_>,
    since: u64,
    entries: &[(String, usize)],
) -> GraphReply {
    let list = listing(
        q,
        &["delta-changes", w.kind.truth_name(), &since.to_string()],
    );
    let start = match page_offset(cx, q, plan, list) {
        Ok(c) => c.min(entries.len()),
        Err(e) => return e,
    };
    let per_page = if w.kind == ObjKind::User {
        USERS_PER_PAGE
    } else {
        GROUPS_PER_PAGE
    };
    let (mut end, mut refs) = (start, 0);
    while end < entries.len() && end - start < per_page && refs < REFS_PER_PAGE {
        refs += entries[end].1;
        end += 1;
    }
    let mut out = String::with_capacity(1024);
    push_context(cx, w.kind, &mut out);
    if end < entries.len() {
        out.push_str(",\"@odata.nextLink\":");
        push_str(&mut out, &next_link(cx, call, q, list, end));
    } else {
        out.push_str(",\"@odata.deltaLink\":");
        push_str(&mut out, &delta_link(cx, call, q, w.kind));
    }
    out.push_str(",\"value\":[");
    for (i, (e, _)) in entries[start..end].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e);
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, (end - start) + refs)
}

/// A newly seen object as the initial sync shows it; returns the references written.
fn write_whole(cx: &Ctx<'_>, r: ObjRef, w: &Wants<'_>, hidden: bool, out: &mut String) -> usize {
    let dir = cx.dir();
    dir.write_object(r, Some(w.props), false, false, out);
    if w.kind != ObjKind::Group {
        return 0;
    }
    out.pop();
    let mut first = out.ends_with('{');
    let g = &dir.groups[r.idx as usize];
    let mut refs = 0;
    if w.members {
        let members: &[ObjRef] = if hidden { &[] } else { &g.members };
        push_key(out, &mut first, "members@delta");
        write_refs(cx, members, out);
        refs += members.len();
    }
    if w.owners {
        push_key(out, &mut first, "owners@delta");
        write_refs(cx, &g.owners, out);
        refs += g.owners.len();
    }
    out.push('}');
    refs
}

/// Handles `GET /users/delta`: the initial sync pages through every user, then tracked
/// requests answer from the history.
pub(super) fn users_delta(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
) -> GraphReply {
    let dir = cx.dir();
    if q.top.is_some() || q.orderby.is_some() || q.wants_count() || q.expand.is_some() {
        return cx.error(
            400,
            "Request_UnsupportedQuery",
            "Unsupported query option for delta: only $select, $filter=id eq and $deltatoken/$skiptoken are supported by the simulated tenant.",
        );
    }
    let sel = resolve_select(q);
    let props: Vec<&'static str> = match &sel {
        Some((p, _)) => p.clone(),
        None => USER_DEFAULT.to_vec(),
    };
    let wants = Wants {
        kind: ObjKind::User,
        props: &props,
        selected: sel.is_some(),
        members: false,
        owners: false,
        hidden_ok: false,
    };
    if let Some(tok) = delta_token(q) {
        return tracked(cx, call, q, plan, tok, &wants);
    }
    let only = match tracked_ids(cx, q) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let listed: Vec<u32> = (0..dir.users.len() as u32)
        .filter(|&i| {
            only.as_ref()
                .is_none_or(|o| o.contains(&dir.users[i as usize].id))
        })
        .collect();
    let list = listing(q, &["users/delta"]);
    let start = match page_offset(cx, q, plan, list) {
        Ok(c) => c.min(listed.len()),
        Err(e) => return e,
    };
    let end = (start + USERS_PER_PAGE).min(listed.len());
    let mut out = String::with_capacity(64 * 1024);
    let ctx = match &sel {
        Some((_, raw)) => format!("users({raw})"),
        None => "users".to_string(),
    };
    open_page(cx, &ctx, &mut out);
    if end < listed.len() {
        out.push_str(",\"@odata.nextLink\":");
        push_str(&mut out, &next_link(cx, call, q, list, end));
    } else {
        out.push_str(",\"@odata.deltaLink\":");
        push_str(&mut out, &delta_link(cx, call, q, ObjKind::User));
    }
    out.push_str(",\"value\":[");
    for (n, i) in listed[start..end].iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let r = ObjRef {
            kind: ObjKind::User,
            idx: *i,
        };
        dir.write_object(r, Some(&props), false, false, &mut out);
    }
    out.push_str("]}");
    cx.reply(200, out, JSON_CT, end - start)
}

/// The fingerprint of a listing's page tokens: what it is, its filter and its selection.
fn listing(q: &QueryOptions, what: &[&str]) -> u64 {
    let select = q.select.as_ref().map(|s| s.join(","));
    let mut parts = what.to_vec();
    parts.push(q.filter.as_deref().unwrap_or(""));
    parts.push(select.as_deref().unwrap_or(""));
    fingerprint(&parts)
}
