//! Deterministic fault injection. A fault is a kind plus a trigger; the trigger counts only
//! the requests the fault can apply to (e.g. member/owner fetches for `deleted-group`), so
//! "the 3rd member fetch" means the same thing on every run.
//!
//! Syntax (also in `entra-extract sim --help` and docs/simulator.md):
//! `KIND[=ARG]@TRIGGER[;path=PREFIX][;method=METHOD][;query=TEXT]...`
//! - KIND: `404`, `500`, `503[=RETRY_AFTER]`, `504[=RETRY_AFTER]`, `429[=RETRY_AFTER]` where RETRY_AFTER
//!   is seconds (`2.5`) or `date:SECS` for an HTTP-date that many seconds ahead,
//!   `reset`, `slow=MILLIS`, `malformed`, `deleted-group`, `token-expiry`,
//!   `expired-skiptoken`
//! - TRIGGER: `every=N` (N-th, 2N-th, … eligible request), `at=3,7,9` (those eligible request
//!   numbers, 1-based), `rate=0.05` (pseudo-random from the seed), `always`
//! - `path=PREFIX` limits the fault to Graph paths (after `/v1.0`) starting with PREFIX, where
//!   `*` stands for one path segment or part of one (`/applications/*/removePassword`);
//!   `method=POST` to requests of that method; `query=TEXT` to requests whose query string,
//!   percent-decoded, contains TEXT (case-insensitive; repeat it to require several), so that
//!   a `$filter=startswith(…)` listing and the plain listing of the same path can be told
//!   apart.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A `Retry-After` value: Graph sends (possibly fractional) seconds; RFC 9110 also allows an
/// HTTP-date, which clients must handle too.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryAfter {
    Seconds(f64),
    /// An HTTP-date this many whole seconds after the response.
    HttpDate(u64),
}

impl RetryAfter {
    /// The header value.
    pub fn header_value(self) -> String {
        match self {
            RetryAfter::Seconds(s) => crate::graph_api::format_secs(s),
            RetryAfter::HttpDate(secs) => (chrono::Utc::now()
                + chrono::Duration::seconds(secs as i64))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
        }
    }
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// 404 Not Found: an endpoint this Graph-shaped service does not serve (e.g. a cloud
    /// without `groups/delta`).
    NotFound,
    /// 500 Internal Server Error (`generalException`).
    InternalError,
    /// 503 Service Unavailable, with `Retry-After` when given.
    ServiceUnavailable { retry_after: Option<RetryAfter> },
    /// 504 Gateway Timeout, with `Retry-After` when given.
    GatewayTimeout { retry_after: Option<RetryAfter> },
    /// A forced 429 regardless of the resource-unit budget.
    TooManyRequests { retry_after: Option<RetryAfter> },
    /// The connection is reset after part of the body was sent.
    ConnectionReset,
    /// The response is delayed (by real time; `time_scale` doesn't apply).
    Slow { delay: Duration },
    /// 200 with a truncated JSON body.
    MalformedJson,
    /// Member/owner fetch of a group answers 404 as if it was deleted after listing.
    DeletedGroup,
    /// Every token issued so far becomes invalid (401 "expired") from this request on.
    TokenExpiry,
    /// A request carrying `$skiptoken` gets 400 Directory_ExpiredPageToken.
    ExpiredSkiptoken,
}

/// When a fault fires, counted over the requests it is eligible for.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Every(u64),
    At(Vec<u64>),
    Rate(f64),
    Always,
}

/// One configured fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub trigger: Trigger,
    /// Only Graph paths (after `/v1.0`) starting with this, case-insensitive; `*` matches
    /// within one segment.
    pub path_prefix: Option<String>,
    /// Only requests of this method (upper case).
    pub method: Option<String>,
    /// Only requests whose decoded query string contains each of these (lower case).
    pub query: Vec<String>,
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (main, opts) = match s.split_once(';') {
            Some((m, o)) => (m, Some(o)),
            None => (s, None),
        };
        let (kind_s, trig_s) = main.split_once('@').ok_or_else(|| {
            format!("fault '{s}': expected KIND[=ARG]@TRIGGER, e.g. 503@every=10")
        })?;
        let (kname, arg) = match kind_s.split_once('=') {
            Some((k, a)) => (k.trim(), Some(a.trim())),
            None => (kind_s.trim(), None),
        };
        let kind = parse_kind(s, kname, arg)?;
        let trigger = parse_trigger(s, trig_s.trim())?;
        let mut spec = FaultSpec {
            kind,
            trigger,
            path_prefix: None,
            method: None,
            query: Vec::new(),
        };
        if let Some(o) = opts {
            parse_options(s, o, &mut spec)?;
        }
        Ok(spec)
    }
}

/// A fault's kind from its name and argument (`503=2`: a Retry-After of two seconds);
/// errors quote the whole spec `s`.
fn parse_kind(s: &str, kname: &str, arg: Option<&str>) -> Result<FaultKind, String> {
    let secs = |a| parse_retry_after(s, a);
    Ok(match kname.to_ascii_lowercase().as_str() {
        "404" => FaultKind::NotFound,
        "500" => FaultKind::InternalError,
        "503" => FaultKind::ServiceUnavailable {
            retry_after: secs(arg)?,
        },
        "504" => FaultKind::GatewayTimeout {
            retry_after: secs(arg)?,
        },
        "429" => FaultKind::TooManyRequests {
            retry_after: secs(arg)?,
        },
        "reset" => FaultKind::ConnectionReset,
        "slow" => {
            let ms = arg.and_then(|a| a.parse::<u64>().ok()).ok_or_else(|| {
                format!("fault '{s}': slow needs milliseconds, e.g. slow=2000@every=50")
            })?;
            FaultKind::Slow {
                delay: Duration::from_millis(ms),
            }
        }
        "malformed" => FaultKind::MalformedJson,
        "deleted-group" => FaultKind::DeletedGroup,
        "token-expiry" => FaultKind::TokenExpiry,
        "expired-skiptoken" => FaultKind::ExpiredSkiptoken,
        other => {
            return Err(format!(
                "fault '{s}': unknown kind '{other}' (404, 500, 503, 504, 429, reset, slow, malformed, deleted-group, token-expiry, expired-skiptoken)"
            ));
        }
    })
}

/// A Retry-After argument: seconds (`2.5`) or an HTTP date that many seconds ahead
/// (`date:2`).
fn parse_retry_after(s: &str, a: Option<&str>) -> Result<Option<RetryAfter>, String> {
    a.map(|v| {
        if let Some(d) = v.strip_prefix("date:") {
            return d
                .parse::<u64>()
                .map(RetryAfter::HttpDate)
                .map_err(|_| format!("fault '{s}': 'date:{d}' needs whole seconds"));
        }
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(RetryAfter::Seconds)
            .ok_or_else(|| format!("fault '{s}': '{v}' is not a number of seconds"))
    })
    .transpose()
}

/// When a fault fires: `every=N`, `at=N,M,…`, `rate=P` or `always`.
fn parse_trigger(s: &str, trig_s: &str) -> Result<Trigger, String> {
    Ok(if trig_s.eq_ignore_ascii_case("always") {
        Trigger::Always
    } else {
        let (tk, tv) = trig_s.split_once('=').ok_or_else(|| {
            format!("fault '{s}': trigger must be every=N, at=N,M,…, rate=P or always")
        })?;
        match tk.trim().to_ascii_lowercase().as_str() {
            "every" => Trigger::Every(
                tv.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("fault '{s}': every needs a positive integer"))?,
            ),
            "at" => Trigger::At(
                tv.split(',')
                    .map(|n| n.trim().parse::<u64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| format!("fault '{s}': at needs request numbers like at=3,7"))?,
            ),
            "rate" => Trigger::Rate(
                tv.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| format!("fault '{s}': rate needs a probability 0..1"))?,
            ),
            other => return Err(format!("fault '{s}': unknown trigger '{other}'")),
        }
    })
}

/// The options after `;` narrowing which requests `spec` hits: the path prefix, the method
/// and the texts the query must contain.
fn parse_options(s: &str, opts: &str, spec: &mut FaultSpec) -> Result<(), String> {
    for kv in opts.split(';') {
        match kv.split_once('=') {
            Some(("path", p)) => spec.path_prefix = Some(p.trim().to_string()),
            Some(("method", m)) => spec.method = Some(m.trim().to_ascii_uppercase()),
            Some(("query", q)) if q.trim().is_empty() => {
                return Err(format!(
                    "fault '{s}': query needs the text to look for, e.g. query=startswith"
                ));
            }
            Some(("query", q)) => spec.query.push(q.trim().to_lowercase()),
            _ => {
                return Err(format!(
                    "fault '{s}': unknown option '{kv}' (path=PREFIX, method=METHOD or query=TEXT)"
                ));
            }
        }
    }
    Ok(())
}

/// What a request looks like, for deciding which faults may hit it.
#[derive(Debug, Clone, Copy)]
pub struct RequestShape<'a> {
    /// Graph path after `/v1.0`.
    pub path: &'a str,
    /// HTTP method, upper case.
    pub method: &'a str,
    /// The query string, percent-decoded (`$filter=startswith(userPrincipalName,'a')&…`).
    pub query: &'a str,
    pub is_member_or_owner_fetch: bool,
    pub has_skiptoken: bool,
    /// Inside a `$batch`: transport faults (reset, slow, malformed) don't apply.
    pub inner: bool,
}

/// The faults that fire for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultPlan {
    /// Status code and Retry-After to answer with instead of the real response.
    pub status: Option<(u16, Option<RetryAfter>)>,
    pub reset: bool,
    pub slow: Option<Duration>,
    pub malformed: bool,
    pub deleted_group: bool,
    pub expire_tokens: bool,
    pub expired_skiptoken: bool,
}

/// Fault specs with their per-fault counters.
#[derive(Debug)]
pub struct FaultEngine {
    seed: u64,
    faults: Vec<(FaultSpec, AtomicU64)>,
    /// How many times any fault fired.
    pub injected: AtomicU64,
}

impl FaultEngine {
    pub fn new(seed: u64, specs: &[FaultSpec]) -> FaultEngine {
        FaultEngine {
            seed,
            faults: specs
                .iter()
                .cloned()
                .map(|s| (s, AtomicU64::new(0)))
                .collect(),
            injected: AtomicU64::new(0),
        }
    }

    /// Decides which faults hit this request (advancing their counters).
    /// Whether a `deleted-group@always` fault names this group (its path prefix covers
    /// `/groups/{id}/`): the group is gone for good, so `groups/delta` leaves it out too.
    /// Asking does not count as a request.
    pub fn deletes_group(&self, group_id: &str) -> bool {
        let path = format!("/groups/{group_id}/").to_ascii_lowercase();
        self.faults.iter().any(|(spec, _)| {
            spec.kind == FaultKind::DeletedGroup
                && spec.trigger == Trigger::Always
                && spec
                    .path_prefix
                    .as_ref()
                    .is_some_and(|p| path.starts_with(&p.to_ascii_lowercase()))
        })
    }

    pub fn plan(&self, req: RequestShape<'_>) -> FaultPlan {
        let mut plan = FaultPlan::default();
        for (i, (spec, counter)) in self.faults.iter().enumerate() {
            if let Some(p) = &spec.path_prefix
                && !prefix_matches(&p.to_ascii_lowercase(), &req.path.to_ascii_lowercase())
            {
                continue;
            }
            if spec.method.as_deref().is_some_and(|m| m != req.method) {
                continue;
            }
            if !spec.query.is_empty() {
                let query = req.query.to_lowercase();
                if !spec.query.iter().all(|t| query.contains(t.as_str())) {
                    continue;
                }
            }
            let eligible = match spec.kind {
                FaultKind::DeletedGroup => req.is_member_or_owner_fetch,
                FaultKind::ExpiredSkiptoken => req.has_skiptoken,
                FaultKind::ConnectionReset | FaultKind::Slow { .. } | FaultKind::MalformedJson => {
                    !req.inner
                }
                _ => true,
            };
            if !eligible {
                continue;
            }
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            let fire = match &spec.trigger {
                Trigger::Every(k) => n % k == 0,
                Trigger::At(list) => list.contains(&n),
                Trigger::Rate(p) => unit(self.seed, i as u64, n) < *p,
                Trigger::Always => true,
            };
            if !fire {
                continue;
            }
            self.injected.fetch_add(1, Ordering::Relaxed);
            match spec.kind {
                FaultKind::NotFound => {
                    plan.status.get_or_insert((404, None));
                }
                FaultKind::InternalError => {
                    plan.status.get_or_insert((500, None));
                }
                FaultKind::ServiceUnavailable { retry_after } => {
                    plan.status.get_or_insert((503, retry_after));
                }
                FaultKind::GatewayTimeout { retry_after } => {
                    plan.status.get_or_insert((504, retry_after));
                }
                FaultKind::TooManyRequests { retry_after } => {
                    plan.status.get_or_insert((429, retry_after));
                }
                FaultKind::ConnectionReset => plan.reset = true,
                FaultKind::Slow { delay } => plan.slow = Some(delay),
                FaultKind::MalformedJson => plan.malformed = true,
                FaultKind::DeletedGroup => plan.deleted_group = true,
                FaultKind::TokenExpiry => plan.expire_tokens = true,
                FaultKind::ExpiredSkiptoken => plan.expired_skiptoken = true,
            }
        }
        plan
    }
}

/// Whether `path` starts with `pattern`, where `*` matches any run of characters but `/`.
fn prefix_matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once('*') {
        None => path.starts_with(pattern),
        Some((head, rest)) => {
            let Some(tail) = path.strip_prefix(head) else {
                return false;
            };
            let seg_end = tail.find('/').unwrap_or(tail.len());
            // Character boundaries only: a path may hold any UTF-8.
            tail[..seg_end]
                .char_indices()
                .map(|(i, _)| i)
                .chain([seg_end])
                .any(|i| prefix_matches(rest, &tail[i..]))
        }
    }
}

/// A deterministic number in [0, 1) from (seed, fault, request number): SplitMix64.
fn unit(seed: u64, fault: u64, n: u64) -> f64 {
    let mut z = seed
        .wrapping_add(fault.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(n.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(path: &str) -> RequestShape<'_> {
        RequestShape {
            path,
            method: "GET",
            query: "",
            is_member_or_owner_fetch: path.ends_with("/members"),
            has_skiptoken: false,
            inner: false,
        }
    }

    #[test]
    fn a_method_and_a_wildcard_path_narrow_a_fault() {
        let engine = FaultEngine::new(
            1,
            &["500@always;path=/applications/*/removePassword;method=POST"
                .parse::<FaultSpec>()
                .unwrap()],
        );
        let at = |path: &str, method: &str| {
            engine
                .plan(RequestShape {
                    method,
                    ..shape(path)
                })
                .status
        };
        assert_eq!(
            at("/applications/ab-12/removePassword", "POST"),
            Some((500, None))
        );
        assert_eq!(at("/Applications(appId='x')/removePassword", "POST"), None);
        assert_eq!(at("/applications/ab-12/removePassword", "GET"), None);
        assert_eq!(at("/applications/ab-12/addPassword", "POST"), None);
        assert_eq!(
            at("/applications/a/b/removePassword", "POST"),
            None,
            "* stays in one segment"
        );
        assert!(prefix_matches("/a*(x)", "/applications(x)/p"));
        assert!(
            !prefix_matches("/a/*/z", "/a/é€/y"),
            "no panic inside a character"
        );
        assert!(prefix_matches("/a/*/z", "/a/é€/z"));
    }

    #[test]
    fn a_query_condition_tells_a_filtered_listing_from_the_plain_one() {
        let engine = FaultEngine::new(
            1,
            &["503=0@always;path=/users;query=StartsWith;query=$select"
                .parse::<FaultSpec>()
                .unwrap()],
        );
        let at = |path: &str, raw: &str| {
            let query = crate::odata::QueryOptions::parse(raw).decoded();
            engine
                .plan(RequestShape {
                    query: &query,
                    ..shape(path)
                })
                .status
        };
        let chain = "$filter=startswith(userPrincipalName,%27a%27)&$select=id&$top=999";
        assert_eq!(
            at("/users", chain),
            Some((503, Some(RetryAfter::Seconds(0.0))))
        );
        // Matched decoded and case-insensitively, each text required.
        assert!(at("/users", &chain.replace("startswith", "STARTSWITH")).is_some());
        assert_eq!(
            at("/users", "$select=id&$top=999"),
            None,
            "the plain listing"
        );
        assert_eq!(
            at("/users/$count", "$filter=startswith(userPrincipalName,'a')"),
            None,
            "a probe has no $select"
        );
        assert_eq!(at("/groups", chain), None, "the path still applies");
        let f: FaultSpec = "404@always;query=$filter=startswith".parse().unwrap();
        assert_eq!(f.query, ["$filter=startswith"]);
        assert!("404@always;query=".parse::<FaultSpec>().is_err());
        assert!("404@always;queries=x".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn parses_the_documented_syntax() {
        let f: FaultSpec = "503=2.5@every=10;path=/groups".parse().unwrap();
        assert_eq!(
            f.kind,
            FaultKind::ServiceUnavailable {
                retry_after: Some(RetryAfter::Seconds(2.5))
            }
        );
        assert_eq!(f.trigger, Trigger::Every(10));
        assert_eq!(f.path_prefix.as_deref(), Some("/groups"));
        let f: FaultSpec = "slow=200@at=1,3".parse().unwrap();
        assert_eq!(
            f.kind,
            FaultKind::Slow {
                delay: Duration::from_millis(200)
            }
        );
        assert_eq!(f.trigger, Trigger::At(vec![1, 3]));
        let f: FaultSpec = "429=date:3@always".parse().unwrap();
        assert_eq!(
            f.kind,
            FaultKind::TooManyRequests {
                retry_after: Some(RetryAfter::HttpDate(3))
            }
        );
        assert!(RetryAfter::HttpDate(3).header_value().ends_with(" GMT"));
        assert!("bogus@every=1".parse::<FaultSpec>().is_err());
        assert!("503@every=0".parse::<FaultSpec>().is_err());
        assert!("503".parse::<FaultSpec>().is_err());
        assert!("reset@rate=2".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn triggers_count_only_eligible_requests() {
        let e = FaultEngine::new(
            1,
            &[
                "deleted-group@at=2".parse().unwrap(),
                "504@every=3".parse().unwrap(),
            ],
        );
        let fired: Vec<FaultPlan> = ["/users", "/groups/x/members", "/users", "/groups/y/members"]
            .iter()
            .map(|p| e.plan(shape(p)))
            .collect();
        assert!(!fired[1].deleted_group);
        assert!(fired[3].deleted_group);
        assert_eq!(fired[2].status, Some((504, None)));
        assert_eq!(fired[0].status, None);
    }

    #[test]
    fn rate_is_deterministic_per_seed() {
        let run = |seed| {
            let e = FaultEngine::new(seed, &["503@rate=0.3".parse().unwrap()]);
            (0..200)
                .map(|_| e.plan(shape("/users")).status.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        let hits = run(5).iter().filter(|x| **x).count();
        assert!((30..90).contains(&hits), "{hits}");
    }
}
