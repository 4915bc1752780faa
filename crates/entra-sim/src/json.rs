//! Hand-rolled JSON writing for the hot path: directory objects are serialised straight from
//! the compact data model into a `String`, one selected property at a time, so a 999-item page
//! costs no intermediate `serde_json::Value` tree.

use std::fmt::Write as _;

use uuid::Uuid;

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    // Fast path: most directory strings need no escaping. A fold without early exit
    // compiles to a vector loop; this runs for every property of every object served.
    let needs_escape = s.bytes().fold(false, |acc, b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends an optional string: the literal, or `null`.
pub fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends a GUID in Graph's lowercase hyphenated form.
pub fn push_uuid(out: &mut String, id: &Uuid) {
    out.push('"');
    let mut buf = Uuid::encode_buffer();
    out.push_str(id.hyphenated().encode_lower(&mut buf));
    out.push('"');
}

/// Appends a boolean.
pub fn push_bool(out: &mut String, b: bool) {
    out.push_str(if b { "true" } else { "false" });
}

/// Appends an array of strings (never `null`: Graph returns `[]` for empty collections).
pub fn push_str_array<S: AsRef<str>>(out: &mut String, items: &[S]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, s.as_ref());
    }
    out.push(']');
}

/// Appends a Unix timestamp as a directory date: whole seconds with `Z`
/// (graph-reference §10: "2018-12-22T02:21:05Z").
pub fn push_date(out: &mut String, unix_secs: i64) {
    out.push('"');
    out.push_str(&format_date(unix_secs));
    out.push('"');
}

/// Formats a Unix timestamp as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_date(unix_secs: i64) -> String {
    match chrono::DateTime::from_timestamp(unix_secs, 0) {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => "1970-01-01T00:00:00Z".to_string(),
    }
}

/// Writes `"key":` with a leading comma unless this is the first member of the object.
pub fn push_key(out: &mut String, first: &mut bool, key: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    push_str(out, key);
    out.push(':');
}

/// The text of a JSON string literal (`None` for other JSON values), borrowed unless it
/// holds escapes.
pub fn json_text(literal: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(literal)
            .ok()
            .map(std::borrow::Cow::Owned)
    } else {
        Some(std::borrow::Cow::Borrowed(inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_match_serde_json() {
        for s in [
            "plain",
            "quote\"back\\slash",
            "new\nline\r\ttab",
            "ctl\u{1}x",
            "ünï, 山田",
        ] {
            let mut out = String::new();
            push_str(&mut out, s);
            let back: String = serde_json::from_str(&out).expect("valid JSON string");
            assert_eq!(back, s);
        }
    }

    #[test]
    fn dates_are_whole_seconds_with_z() {
        assert_eq!(format_date(1_545_445_265), "2018-12-22T02:21:05Z");
    }
}
