//! Query options every listing shares: `$select`, `$top`, `$skiptoken` paging and `$filter`.

use std::sync::Arc;

use super::{Ctx, GraphCall, GraphReply};
use crate::fault::FaultPlan;
use crate::json::json_text;
use crate::model::{ObjKind, ObjRef, canonical_prop};
use crate::odata::{Clause, DEFAULT_TOP, Literal, MAX_TOP, PageToken, QueryOptions, parse_filter};
use crate::state::{Column, Snapshot};

/// Resolved `$select`: canonical names of known properties, and the raw text for the context.
pub(crate) fn resolve_select(q: &QueryOptions) -> Option<(Vec<&'static str>, String)> {
    q.select.as_ref().map(|s| {
        (
            s.iter().filter_map(|p| canonical_prop(p)).collect(),
            s.join(","),
        )
    })
}

/// Parses `$top` with Graph's limits (1..=999, else 400).
pub(crate) fn page_size(cx: &Ctx<'_>, q: &QueryOptions, cap: usize) -> Result<usize, GraphReply> {
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
pub(crate) fn page_offset(
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

pub(crate) fn next_link(
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
pub(crate) struct Filter {
    clauses: Vec<(&'static str, Clause)>,
}

impl Filter {
    pub(crate) fn compile(
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

    /// The objects of `kind` that may match, in directory order, from the first clause an
    /// index answers (`startswith`, `id eq`, `id in`): a superset of the matches, which
    /// [`FilterScan`] then checks. `None` when no clause has an index (scan them all).
    pub(crate) fn candidates(&self, snap: &Snapshot, kind: ObjKind) -> Option<Vec<u32>> {
        let dir = &snap.dir;
        let by_id = |ids: &[String]| {
            let mut found: Vec<u32> = ids
                .iter()
                .filter_map(|id| uuid::Uuid::parse_str(id).ok())
                .filter_map(|id| dir.index.get(&id))
                .filter(|r| r.kind == kind)
                .map(|r| r.idx)
                .collect();
            found.sort_unstable();
            found.dedup();
            found
        };
        self.clauses.iter().find_map(|(prop, clause)| match clause {
            Clause::StartsWith(_, prefix) => {
                let column = snap.columns.of(dir, kind, prop);
                let index = snap.prefixes.of(dir, kind, prop, &column);
                Some(index.starting_with(prefix))
            }
            Clause::Eq(_, Literal::Str(id)) if *prop == "id" => {
                Some(by_id(std::slice::from_ref(id)))
            }
            Clause::In(_, ids) if *prop == "id" => Some(by_id(ids)),
            _ => None,
        })
    }

    /// True if the object matches, reading each property through `write`.
    pub(crate) fn matches(&self, write: &dyn Fn(&str, &mut String) -> bool) -> bool {
        let mut scratch = String::new();
        self.clauses.iter().all(|(prop, clause)| {
            scratch.clear();
            write(prop, &mut scratch) && holds(clause, &scratch)
        })
    }

    /// A scan of directory objects against this filter. A benchmark's `$count`s scan
    /// 100,000 users per filter, so the properties are read from cached columns
    /// ([`Columns`](crate::state::Columns)) rather than from each object's own
    /// allocations.
    pub(crate) fn scan<'a>(&'a self, snap: &'a Snapshot) -> FilterScan<'a> {
        FilterScan {
            filter: self,
            snap,
            columns: Vec::new(),
        }
    }
}

/// See [`Filter::scan`].
pub(crate) struct FilterScan<'a> {
    filter: &'a Filter,
    snap: &'a Snapshot,
    /// The filter's columns, per object type met so far.
    columns: Vec<(ObjKind, Vec<Arc<Column>>)>,
}

impl FilterScan<'_> {
    pub(crate) fn matches(&mut self, r: ObjRef) -> bool {
        let i = match self.columns.iter().position(|(k, _)| *k == r.kind) {
            Some(i) => i,
            None => {
                let cols = self
                    .filter
                    .clauses
                    .iter()
                    .map(|(p, _)| self.snap.columns.of(&self.snap.dir, r.kind, p))
                    .collect();
                self.columns.push((r.kind, cols));
                self.columns.len() - 1
            }
        };
        let cols = &self.columns[i].1;
        self.filter
            .clauses
            .iter()
            .zip(cols)
            .all(|((_, clause), col)| col.get(r.idx).is_some_and(|v| holds(clause, v)))
    }
}

/// Whether one clause holds for a property's value, given as JSON (strings are compared in
/// place: no parse unless the value was escaped, no lower-cased copies).
fn holds(clause: &Clause, json: &str) -> bool {
    match clause {
        Clause::Eq(_, Literal::Bool(b)) => json == if *b { "true" } else { "false" },
        Clause::Eq(_, Literal::Null) => json == "null",
        Clause::Eq(_, Literal::Str(s)) => {
            json_text(json).is_some_and(|v| v.eq_ignore_ascii_case(s))
        }
        Clause::StartsWith(_, s) => {
            json_text(json).is_some_and(|v| starts_with_ignoring_case(&v, s))
        }
        Clause::In(_, list) => {
            json_text(json).is_some_and(|v| list.iter().any(|s| s.eq_ignore_ascii_case(&v)))
        }
    }
}

/// `startswith` as Graph applies it to directory strings: case-insensitive.
fn starts_with_ignoring_case(value: &str, prefix: &str) -> bool {
    let mut value = value.chars().flat_map(char::to_lowercase);
    prefix
        .chars()
        .flat_map(char::to_lowercase)
        .all(|c| value.next() == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `startswith` answered from the sorted index selects exactly what a scan of every
    /// object selects, in directory order, for prefixes of real values in any case, the empty
    /// prefix, and arbitrary text (other scripts, `İ` whose lower case is longer).
    #[test]
    fn the_prefix_index_agrees_with_a_scan() {
        use crate::config::SizeSpec;
        use crate::generate::generate;
        use rand::SeedableRng;
        let snap = Snapshot::new(generate(5, SizeSpec::shaped_like_l(3_000), 0).dir);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(27);
        let fields = [
            (ObjKind::User, "userPrincipalName"),
            (ObjKind::User, "displayName"),
            (ObjKind::User, "mail"),
            (ObjKind::Group, "mailNickname"),
            (ObjKind::Group, "displayName"),
        ];
        for (kind, prop) in fields {
            let n = snap.dir.len_of(kind) as u32;
            let column = snap.columns.of(&snap.dir, kind, prop);
            let index = snap.prefixes.of(&snap.dir, kind, prop, &column);
            let mut prefixes = vec![String::new(), "zz".to_string(), "'".to_string()];
            for i in (0..n).step_by(97) {
                let Some(v) = column.get(i).and_then(json_text) else {
                    continue;
                };
                let chars: Vec<char> = v.chars().collect();
                for len in [1, 2, 3, 5] {
                    let p: String = chars.iter().take(len).collect();
                    prefixes.push(p.to_uppercase());
                    prefixes.push(p);
                }
            }
            prefixes.extend((0..200).map(|_| crate::odata::tests::arbitrary_text(&mut rng)));
            for p in prefixes {
                let clause = Clause::StartsWith(prop.to_string(), p.clone());
                let scan: Vec<u32> = (0..n)
                    .filter(|i| column.get(*i).is_some_and(|v| holds(&clause, v)))
                    .collect();
                assert_eq!(index.starting_with(&p), scan, "{kind:?} {prop} '{p}'");
            }
        }
    }

    #[test]
    fn strings_compare_in_place_and_escaped_ones_are_decoded() {
        assert_eq!(json_text("\"Ann\"").as_deref(), Some("Ann"));
        assert_eq!(json_text(r#""a\"b""#).as_deref(), Some("a\"b"));
        assert_eq!(json_text("true"), None);
        assert!(starts_with_ignoring_case("Ärger@x", "äR"));
        assert!(starts_with_ignoring_case("abc", ""));
        assert!(!starts_with_ignoring_case("ab", "abc"));
        assert!(!starts_with_ignoring_case("xbc", "a"));
    }

    /// `startswith` with any literal against any value answers (case-insensitively, as the
    /// lower case of both) and never panics; so do `eq` and `in`.
    #[test]
    fn any_literal_against_any_value_answers_without_panicking() {
        use crate::odata::tests::arbitrary_text;
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(24);
        let mut matched = 0;
        for _ in 0..20_000 {
            let value = arbitrary_text(&mut rng);
            let literal = if rand::Rng::random_bool(&mut rng, 0.3) {
                value.chars().take(2).collect()
            } else {
                arbitrary_text(&mut rng)
            };
            let json = serde_json::to_string(&value).unwrap();
            let p = String::from("p");
            let starts = holds(&Clause::StartsWith(p.clone(), literal.clone()), &json);
            // The reference: lower-case each character (as Graph's case-insensitive
            // comparison; no word-final sigma in the text) and compare.
            let lower = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
            assert_eq!(
                starts,
                lower(&value).starts_with(&lower(&literal)),
                "{value:?} {literal:?}"
            );
            matched += usize::from(starts);
            holds(&Clause::Eq(p.clone(), Literal::Str(literal.clone())), &json);
            holds(&Clause::In(p, vec![literal]), &json);
        }
        assert!(matched > 1_000, "the literals match some values: {matched}");
    }
}
