//! `/groups/delta` [GDC api/group-delta.md, concepts/delta-query-groups.md; graph-reference §7]:
//! pages of groups with `members@delta` / `owners@delta` (`@odata.type` + `id` only), large
//! groups split across pages (the same group repeats with the next chunk, as observed in
//! msgraph-sdk-dotnet#574: merge by id), a final `@odata.deltaLink`, and a delta token that
//! reports no changes (the simulated tenant never changes).

use std::fmt::Write as _;

use super::fault::FaultPlan;
use super::graph_api::{
    Ctx, GraphCall, GraphReply, JSON_CT, has_any, next_link, page_offset, resolve_select,
};
use super::json::{push_key, push_str, push_uuid};
use super::model::{GROUP_PROPS, ObjKind, ObjRef};
use super::odata::{PageToken, QueryOptions, fingerprint, parse_id_disjunction};
use super::token::Caller;

/// Groups per delta page.
const GROUPS_PER_PAGE: usize = 100;
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
    let dir = &cx.state.dir;
    if q.top.is_some() || q.orderby.is_some() || q.wants_count() {
        return cx.error(
            400,
            "Request_UnsupportedQuery",
            "Unsupported query option for delta: only $select, $filter=id eq, $expand=members and $deltatoken/$skiptoken are supported by the simulated tenant.",
        );
    }
    // `$filter=id eq '…' or id eq '…'` tracks only those groups (≤ 50); unknown ids are
    // simply absent, in directory order like the unfiltered listing.
    let only: Option<Vec<usize>> = match q.filter.as_deref().map(parse_id_disjunction) {
        None => None,
        Some(Err(m)) => return cx.error(400, "Request_UnsupportedQuery", &m),
        Some(Ok(ids)) if ids.len() > MAX_FILTERED_IDS => {
            return cx.error(
                400,
                "Request_UnsupportedQuery",
                &format!(
                    "The number of filtered objects ({}) exceeds the limit of {MAX_FILTERED_IDS}.",
                    ids.len()
                ),
            );
        }
        Some(Ok(ids)) => {
            let mut idx: Vec<usize> = ids
                .iter()
                .filter_map(|id| uuid::Uuid::parse_str(id).ok())
                .filter_map(|id| dir.index.get(&id))
                .filter(|r| r.kind == ObjKind::Group)
                .map(|r| r.idx as usize)
                .collect();
            idx.sort_unstable();
            idx.dedup();
            Some(idx)
        }
    };
    let group_at = |i: usize| only.as_ref().map_or(i, |o| o[i]);
    let groups_listed = only.as_ref().map_or(dir.groups.len(), Vec::len);
    let delta_list = fingerprint(&["groups/delta-token"]);
    if let Some((_, tok)) = q
        .pairs
        .iter()
        .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case("deltatoken"))
    {
        let valid = tok == "latest" || PageToken::decode(tok).is_some_and(|t| t.list == delta_list);
        if !valid {
            return cx.bad("Invalid delta token.");
        }
        // Nothing ever changes in the simulated tenant: no data, a fresh deltaLink.
        let mut out = String::from("{\"@odata.context\":");
        push_str(&mut out, &cx.context("groups"));
        out.push_str(",\"@odata.deltaLink\":");
        push_str(&mut out, &delta_link(cx, call, q, delta_list));
        out.push_str(",\"value\":[]}");
        return cx.reply(200, out, JSON_CT, 0);
    }
    let raw_select: Vec<String> = q
        .select
        .iter()
        .flatten()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    let expand = q.expand.as_deref().unwrap_or("").to_ascii_lowercase();
    let want_members =
        q.select.is_none() || raw_select.iter().any(|p| p == "members") || expand == "members";
    let want_owners = raw_select.iter().any(|p| p == "owners");
    let sel = resolve_select(q);
    let props: Vec<&'static str> = match &sel {
        Some((p, _)) => p.clone(),
        None => GROUP_PROPS.to_vec(),
    };
    let list = fingerprint(&[
        "groups/delta",
        q.filter.as_deref().unwrap_or(""),
        q.select
            .as_ref()
            .map(|s| s.join(","))
            .as_deref()
            .unwrap_or(""),
    ]);
    let cursor = match page_offset(cx, q, plan, list) {
        Ok(c) => c as u64,
        Err(e) => return e,
    };
    let mut gi = (cursor >> 32) as usize;
    let mut member_off = (cursor & 0xFFFF_FFFF) as usize;
    let hidden_ok = has_any(caller, &["Member.Read.Hidden"]);

    let mut out = String::with_capacity(64 * 1024);
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
        dir.write_object(r, Some(&props), false, false, &mut value);
        value.pop();
        let mut first = value.ends_with('{');
        let mut split_at = None;
        if want_members {
            // Hidden memberships stay hidden without Member.Read.Hidden (an assumption: the
            // docs don't say what delta does there).
            let members: &[ObjRef] = if group.is_hidden_membership() && !hidden_ok {
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
        if want_owners && member_off == 0 {
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
    out.push_str("{\"@odata.context\":");
    let ctx = match &sel {
        Some((_, raw)) => format!("groups({raw})"),
        None => "groups".to_string(),
    };
    push_str(&mut out, &cx.context(&ctx));
    match next {
        Some(c) => {
            out.push_str(",\"@odata.nextLink\":");
            push_str(&mut out, &next_link(cx, call, q, list, c as usize));
        }
        None => {
            out.push_str(",\"@odata.deltaLink\":");
            push_str(&mut out, &delta_link(cx, call, q, delta_list));
        }
    }
    let _ = write!(out, ",\"value\":[{value}]}}");
    cx.reply(200, out, JSON_CT, items)
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
        push_uuid(out, &cx.state.dir.id_of(*r));
        out.push('}');
    }
    out.push(']');
}

fn delta_link(cx: &Ctx<'_>, call: &GraphCall<'_>, q: &QueryOptions, list: u64) -> String {
    let tok = PageToken {
        offset: 0,
        list,
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
