//! OData query options as Graph parses them, opaque `$skiptoken`s and nextLink building.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Default and maximum page sizes for directory collections (graph-reference §4).
pub const DEFAULT_TOP: usize = 100;
pub const MAX_TOP: usize = 999;

/// The parsed query options of one request.
#[derive(Debug, Default, Clone)]
pub struct QueryOptions {
    /// Raw (decoded) key/value pairs in their original order, for nextLink re-encoding.
    pub pairs: Vec<(String, String)>,
    pub select: Option<Vec<String>>,
    pub top: Option<String>,
    pub skiptoken: Option<String>,
    pub filter: Option<String>,
    pub count: Option<String>,
    pub expand: Option<String>,
    pub skip: bool,
    pub orderby: Option<String>,
    pub search: Option<String>,
}

impl QueryOptions {
    /// Parses a raw query string. Graph accepts the system options with or without `$`.
    pub fn parse(raw: &str) -> QueryOptions {
        let mut q = QueryOptions::default();
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let (k, v) = (k.into_owned(), v.into_owned());
            let key = k.trim_start_matches('$').to_ascii_lowercase();
            match key.as_str() {
                "select" => {
                    q.select = Some(
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    )
                }
                "top" => q.top = Some(v.clone()),
                "skiptoken" => q.skiptoken = Some(v.clone()),
                "filter" => q.filter = Some(v.clone()),
                "count" => q.count = Some(v.clone()),
                "expand" => q.expand = Some(v.clone()),
                "skip" => q.skip = true,
                "orderby" => q.orderby = Some(v.clone()),
                "search" => q.search = Some(v.clone()),
                _ => {}
            }
            q.pairs.push((k, v));
        }
        q
    }

    /// `$count=true` was asked.
    pub fn wants_count(&self) -> bool {
        self.count
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("true"))
    }

    /// The options as `key=value&…`, decoded: what a fault's `query=TEXT` looks in.
    pub fn decoded(&self) -> String {
        self.pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The query string for the next page: every option but `$skiptoken`, re-encoded
    /// (Graph writes `%2c` for commas), then the new token.
    pub fn next_query(&self, token: &str) -> String {
        let mut s = String::new();
        for (k, v) in &self.pairs {
            if k.trim_start_matches('$').eq_ignore_ascii_case("skiptoken") {
                continue;
            }
            if !s.is_empty() {
                s.push('&');
            }
            s.push_str(&encode(k, true));
            s.push('=');
            s.push_str(&encode(v, false));
        }
        if !s.is_empty() {
            s.push('&');
        }
        s.push_str("$skiptoken=");
        s.push_str(token);
        s
    }
}

fn encode(s: &str, key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (key && b == b'$')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// What an opaque skiptoken carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken {
    pub offset: usize,
    /// Fingerprint of the collection and filter, so a token can't be replayed elsewhere.
    pub list: u64,
    /// Unix milliseconds when issued (for the expired-skiptoken fault).
    pub issued_ms: i64,
}

const TOKEN_MAGIC: &[u8; 4] = b"DSpt";

impl PageToken {
    /// Encodes as URL-safe base64 of magic + fields (looks like Graph's `RFNwdAIA…`).
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(4 + 8 * 3);
        raw.extend_from_slice(TOKEN_MAGIC);
        raw.extend_from_slice(&(self.offset as u64).to_le_bytes());
        raw.extend_from_slice(&self.list.to_le_bytes());
        raw.extend_from_slice(&self.issued_ms.to_le_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes a token; `None` if it isn't one of ours.
    pub fn decode(s: &str) -> Option<PageToken> {
        let raw = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?;
        if raw.len() != 28 || &raw[..4] != TOKEN_MAGIC {
            return None;
        }
        let word =
            |i: usize| -> Option<[u8; 8]> { raw.get(4 + i * 8..12 + i * 8)?.try_into().ok() };
        Some(PageToken {
            offset: usize::try_from(u64::from_le_bytes(word(0)?)).ok()?,
            list: u64::from_le_bytes(word(1)?),
            issued_ms: i64::from_le_bytes(word(2)?),
        })
    }
}

/// FNV-1a: a stable fingerprint for the list a token belongs to.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b.to_ascii_lowercase());
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// One comparison in a `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Clause {
    /// `prop eq 'text'` / `prop eq true` / `prop eq null`
    Eq(String, Literal),
    /// `startswith(prop,'text')`
    StartsWith(String, String),
    /// `prop in ('a','b')`
    In(String, Vec<String>),
}

/// A `$filter` literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Bool(bool),
    Null,
}

/// Parses the `$filter` subset a directory client needs: clauses joined by `and`.
pub fn parse_filter(f: &str) -> Result<Vec<Clause>, String> {
    let mut out = Vec::new();
    for part in split_and(f) {
        let part = part.trim();
        let lower = part.to_ascii_lowercase();
        if lower.starts_with("startswith(") && part.ends_with(')') {
            let inner = &part["startswith(".len()..part.len() - 1];
            let (prop, lit) = inner
                .split_once(',')
                .ok_or_else(|| format!("Invalid filter clause: {part}"))?;
            out.push(Clause::StartsWith(
                prop.trim().to_string(),
                parse_str(lit.trim()).ok_or_else(|| format!("Invalid filter clause: {part}"))?,
            ));
            continue;
        }
        let mut it = part.splitn(3, ' ');
        let (Some(prop), Some(op), Some(rest)) = (it.next(), it.next(), it.next()) else {
            return Err(format!("Invalid filter clause: {part}"));
        };
        match op.to_ascii_lowercase().as_str() {
            "eq" => {
                let rest = rest.trim();
                let lit = if rest.eq_ignore_ascii_case("true") {
                    Literal::Bool(true)
                } else if rest.eq_ignore_ascii_case("false") {
                    Literal::Bool(false)
                } else if rest.eq_ignore_ascii_case("null") {
                    Literal::Null
                } else {
                    Literal::Str(
                        parse_str(rest).ok_or_else(|| format!("Invalid filter clause: {part}"))?,
                    )
                };
                out.push(Clause::Eq(prop.to_string(), lit));
            }
            "in" => {
                let rest = rest.trim();
                let inner = rest
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("Invalid filter clause: {part}"))?;
                let vals = inner
                    .split(',')
                    .map(|v| parse_str(v.trim()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("Invalid filter clause: {part}"))?;
                out.push(Clause::In(prop.to_string(), vals));
            }
            other => {
                return Err(format!(
                    "Unsupported or invalid query filter clause specified for property '{prop}' of resource: operator '{other}'."
                ));
            }
        }
    }
    Ok(out)
}

/// Parses the one `$filter` `groups/delta` accepts: `id eq '…'` clauses joined by `or`
/// [GDC api/group-delta.md: "a limit of 50 filtered objects"].
pub fn parse_id_disjunction(f: &str) -> Result<Vec<String>, String> {
    split_keyword(f, " or ")
        .into_iter()
        .map(|part| match parse_filter(part.trim())?.as_slice() {
            [Clause::Eq(p, Literal::Str(id))] if p.eq_ignore_ascii_case("id") => Ok(id.clone()),
            _ => Err(format!(
                "Unsupported filter for delta: '{}'. Only 'id eq' clauses joined by 'or' are supported.",
                part.trim()
            )),
        })
        .collect()
}

fn split_and(f: &str) -> Vec<&str> {
    split_keyword(f, " and ")
}

/// Splits at an ASCII keyword (with its surrounding spaces) outside string literals.
/// Compares bytes: a match of ASCII bytes starts and ends on character boundaries, where a
/// `str` slice `f[i..i + n]` could end inside a multi-byte character and panic.
fn split_keyword<'a>(f: &'a str, keyword: &str) -> Vec<&'a str> {
    debug_assert!(keyword.is_ascii());
    let n = keyword.len();
    let mut parts = Vec::new();
    let bytes = f.as_bytes();
    let mut in_str = false;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            in_str = !in_str;
        } else if !in_str
            && bytes
                .get(i..i + n)
                .is_some_and(|w| w.eq_ignore_ascii_case(keyword.as_bytes()))
        {
            parts.push(&f[start..i]);
            start = i + n;
            i += n;
            continue;
        }
        i += 1;
    }
    parts.push(&f[start..]);
    parts
}

fn parse_str(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn page_token_round_trips_and_rejects_garbage() {
        let t = PageToken {
            offset: 999,
            list: 42,
            issued_ms: 1_700_000_000_000,
        };
        let s = t.encode();
        assert!(s.starts_with("RFNwd"));
        assert_eq!(PageToken::decode(&s), Some(t));
        assert_eq!(PageToken::decode("nonsense"), None);
    }

    #[test]
    fn next_query_reencodes_and_replaces_token() {
        let q = QueryOptions::parse("$select=id,displayName&$top=5&$skiptoken=old");
        assert_eq!(
            q.next_query("NEW"),
            "$select=id%2cdisplayName&$top=5&$skiptoken=NEW"
        );
    }

    #[test]
    fn filter_subset_parses() {
        let c = parse_filter(
            "appId eq 'a''b' and startswith(displayName,'X') and accountEnabled eq false",
        )
        .unwrap();
        assert_eq!(c[0], Clause::Eq("appId".into(), Literal::Str("a'b".into())));
        assert_eq!(c[1], Clause::StartsWith("displayName".into(), "X".into()));
        assert_eq!(
            c[2],
            Clause::Eq("accountEnabled".into(), Literal::Bool(false))
        );
        assert!(parse_filter("id gt 'x'").is_err());
        let ids = parse_id_disjunction("id eq 'a' or ID eq 'b''c'").unwrap();
        assert_eq!(ids, vec!["a".to_string(), "b'c".to_string()]);
        assert!(parse_id_disjunction("id eq 'a' or displayName eq 'x'").is_err());
        assert_eq!(
            parse_id_disjunction("id eq 'x or y'").unwrap(),
            vec!["x or y"]
        );
        let c = parse_filter("id in ('1','2')").unwrap();
        assert_eq!(c[0], Clause::In("id".into(), vec!["1".into(), "2".into()]));
    }

    /// Text a client might put in a query: the filter grammar's words and punctuation,
    /// characters of several bytes or whose lower case is longer (`İ`), and any code point.
    pub(crate) fn arbitrary_text(rng: &mut impl rand::Rng) -> String {
        const PIECES: &[&str] = &[
            "startswith(",
            "userPrincipalName",
            "displayName",
            ",",
            "'",
            "''",
            "(",
            ")",
            " and ",
            " or ",
            " eq ",
            " in ",
            "id",
            "true",
            "null",
            " ",
            "ł",
            "Ł",
            "ø",
            "山田",
            "😀",
            "e\u{301}",
            "İ",
            "ß",
            "a",
            "Z",
            "0",
        ];
        let mut text = String::new();
        for _ in 0..rng.random_range(0..12) {
            if rng.random_bool(0.2) {
                text.extend(char::from_u32(rng.random_range(0..0x11_0000)));
            } else {
                text.push_str(PIECES[rng.random_range(0..PIECES.len())]);
            }
        }
        text
    }

    /// Any UTF-8 is parsed or refused with a message, never a panic (the `startswith`
    /// literal `'ł'` once cut a character in two).
    #[test]
    fn any_filter_text_is_parsed_or_refused_without_panicking() {
        use rand::SeedableRng;
        for f in [
            "startswith(userPrincipalName,'ł')",
            "startswith(userPrincipalName,'sø') and id eq 'ł'",
            "ł and ø",
            "id eq 'ł' or id eq '山'",
        ] {
            assert!(parse_filter(f).is_ok() || f == "ł and ø", "{f}");
            let _ = parse_id_disjunction(f);
        }
        assert_eq!(
            parse_filter("startswith(userPrincipalName,'ł')").unwrap(),
            vec![Clause::StartsWith("userPrincipalName".into(), "ł".into())]
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(24);
        for _ in 0..20_000 {
            let f = arbitrary_text(&mut rng);
            if let Err(message) = parse_filter(&f) {
                assert!(!message.is_empty());
            }
            let _ = parse_id_disjunction(&f);
            let raw: String = url::form_urlencoded::byte_serialize(f.as_bytes()).collect();
            let q = QueryOptions::parse(&format!("$filter={raw}&$select={f}&{f}={f}"));
            assert_eq!(q.filter.as_deref(), Some(f.as_str()));
            let _ = q.next_query("t");
        }
    }
}
