//! Query options every listing shares: `$select`, `$top`, `$skiptoken` paging and `$filter`.

use super::{Ctx, GraphCall, GraphReply};
use crate::sim::fault::FaultPlan;
use crate::sim::model::canonical_prop;
use crate::sim::odata::{
    Clause, DEFAULT_TOP, Literal, MAX_TOP, PageToken, QueryOptions, parse_filter,
};

/// Resolved `$select`: canonical names of known properties, and the raw text for the context.
pub(in crate::sim) fn resolve_select(q: &QueryOptions) -> Option<(Vec<&'static str>, String)> {
    q.select.as_ref().map(|s| {
        (
            s.iter().filter_map(|p| canonical_prop(p)).collect(),
            s.join(","),
        )
    })
}

/// Parses `$top` with Graph's limits (1..=999, else 400).
pub(in crate::sim) fn page_size(
    cx: &Ctx<'_>,
    q: &QueryOptions,
    cap: usize,
) -> Result<usize, GraphReply> {
    match &q.top {
        None => Ok(DEFAULT_TOP.min(cap)),
        Some(t) => match t.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n.min(cap)),
            _ => Err(cx.bad(&format!(
                "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
            ))),
        },
    }
}

/// Decodes `$skiptoken` for a list, or answers 400.
pub(in crate::sim) fn page_offset(
    cx: &Ctx<'_>,
    q: &QueryOptions,
    plan: &FaultPlan,
    list: u64,
) -> Result<usize, GraphReply> {
    let Some(tok) = &q.skiptoken else {
        return Ok(0);
    };
    if plan.expired_skiptoken {
        return Err(cx.error(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ));
    }
    match PageToken::decode(tok) {
        Some(t) if t.list == list => Ok(t.offset),
        _ => Err(cx.bad("Invalid paging token (skiptoken) specified.")),
    }
}

pub(in crate::sim) fn next_link(
    cx: &Ctx<'_>,
    call: &GraphCall<'_>,
    q: &QueryOptions,
    list: u64,
    offset: usize,
) -> String {
    let tok = PageToken {
        offset,
        list,
        issued_ms: chrono::Utc::now().timestamp_millis(),
    }
    .encode();
    format!(
        "{}/v1.0{}?{}",
        cx.state.base_url,
        call.path,
        q.next_query(&tok)
    )
}

/// A compiled `$filter` over one object type.
pub(in crate::sim) struct Filter {
    clauses: Vec<(&'static str, Clause)>,
}

impl Filter {
    pub(in crate::sim) fn compile(
        cx: &Ctx<'_>,
        q: &QueryOptions,
        props: &[&'static str],
        type_name: &str,
    ) -> Result<Option<Filter>, GraphReply> {
        let Some(f) = &q.filter else { return Ok(None) };
        let clauses = parse_filter(f).map_err(|m| cx.bad(&m))?;
        let mut out = Vec::new();
        for c in clauses {
            let name = match &c {
                Clause::Eq(p, _) | Clause::StartsWith(p, _) | Clause::In(p, _) => p.clone(),
            };
            let canon = props
                .iter()
                .find(|p| p.eq_ignore_ascii_case(&name))
                .copied()
                .ok_or_else(|| cx.bad(&format!("Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")))?;
            out.push((canon, c));
        }
        Ok(Some(Filter { clauses: out }))
    }

    /// True if the object matches, reading each property through `write`.
    pub(in crate::sim) fn matches(&self, write: &dyn Fn(&str, &mut String) -> bool) -> bool {
        let mut scratch = String::new();
        self.clauses.iter().all(|(prop, clause)| {
            scratch.clear();
            if !write(prop, &mut scratch) {
                return false;
            }
            let as_str = || serde_json::from_str::<String>(&scratch).ok();
            match clause {
                Clause::Eq(_, Literal::Bool(b)) => scratch == if *b { "true" } else { "false" },
                Clause::Eq(_, Literal::Null) => scratch == "null",
                Clause::Eq(_, Literal::Str(s)) => {
                    as_str().is_some_and(|v| v.eq_ignore_ascii_case(s))
                }
                Clause::StartsWith(_, s) => {
                    as_str().is_some_and(|v| v.to_lowercase().starts_with(&s.to_lowercase()))
                }
                Clause::In(_, list) => {
                    as_str().is_some_and(|v| list.iter().any(|s| s.eq_ignore_ascii_case(&v)))
                }
            }
        })
    }
}
