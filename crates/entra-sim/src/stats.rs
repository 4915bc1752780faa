//! Counters for `GET /_sim/stats`: what was asked (requests by kind), what was returned
//! (items, statuses), what it cost (resource units, 429s) and how many requests were in flight.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::state::SimState;

/// What a Graph request asks for, as benchmarks count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    UsersList,
    User,
    GroupsList,
    Group,
    Members,
    Owners,
    TransitiveMembers,
    /// `/…/$count` of a collection or a relationship.
    Count,
    Delta,
    GetByIds,
    /// A `$batch` envelope (its items are counted by their own kind and as `BatchItem`).
    Batch,
    BatchItem,
    Other,
}

impl RequestKind {
    const ALL: [RequestKind; 13] = [
        RequestKind::UsersList,
        RequestKind::User,
        RequestKind::GroupsList,
        RequestKind::Group,
        RequestKind::Members,
        RequestKind::Owners,
        RequestKind::TransitiveMembers,
        RequestKind::Count,
        RequestKind::Delta,
        RequestKind::GetByIds,
        RequestKind::Batch,
        RequestKind::BatchItem,
        RequestKind::Other,
    ];

    /// The key in `requestsByKind`.
    pub fn key(self) -> &'static str {
        match self {
            RequestKind::UsersList => "usersList",
            RequestKind::User => "user",
            RequestKind::GroupsList => "groupsList",
            RequestKind::Group => "group",
            RequestKind::Members => "members",
            RequestKind::Owners => "owners",
            RequestKind::TransitiveMembers => "transitiveMembers",
            RequestKind::Count => "count",
            RequestKind::Delta => "delta",
            RequestKind::GetByIds => "getByIds",
            RequestKind::Batch => "batch",
            RequestKind::BatchItem => "batchItems",
            RequestKind::Other => "other",
        }
    }

    /// The kind of a Graph path (after `/v1.0`, without the query). Type casts such as
    /// `/groups/{id}/members/microsoft.graph.user` count as members.
    pub fn of_path(path: &str) -> RequestKind {
        let segs: Vec<String> = path
            .trim_matches('/')
            .split('/')
            .map(str::to_ascii_lowercase)
            .collect();
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        match s.as_slice() {
            [.., "$count"] => RequestKind::Count,
            ["users" | "groups", "delta" | "delta()"] => RequestKind::Delta,
            ["users"] => RequestKind::UsersList,
            ["users", _] => RequestKind::User,
            ["groups"] => RequestKind::GroupsList,
            ["groups", _] => RequestKind::Group,
            ["groups", _, "members", ..] => RequestKind::Members,
            ["groups", _, "owners", ..] => RequestKind::Owners,
            ["groups", _, "transitivemembers", ..] => RequestKind::TransitiveMembers,
            ["directoryobjects", "getbyids"] => RequestKind::GetByIds,
            ["$batch"] => RequestKind::Batch,
            _ => RequestKind::Other,
        }
    }

    /// The Graph paths of a `$batch` body's items (`requests[].url`, relative to `/v1.0`).
    pub fn batch_item_paths(body: &[u8]) -> Vec<String> {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return Vec::new();
        };
        v["requests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["url"].as_str())
            .map(|url| {
                let rel = url.trim_start_matches('/');
                let rel = rel.strip_prefix("v1.0/").unwrap_or(rel);
                let path = rel.split_once('?').map_or(rel, |(p, _)| p);
                format!("/{path}")
            })
            .collect()
    }
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct Stats {
    pub http_requests: AtomicU64,
    pub graph_requests: AtomicU64,
    pub token_requests: AtomicU64,
    pub throttled: AtomicU64,
    by_kind: [AtomicU64; RequestKind::ALL.len()],
    items_returned: AtomicU64,
    responses_429: AtomicU64,
    /// Graph requests being served (holding a slot when there is a limit).
    pub in_flight: Gauge,
    /// Graph requests waiting for a slot.
    pub queued: Gauge,
    /// Modelled latency served, summed over requests, in µs: the time requests held a
    /// slot, so ÷ the in-flight limit it is the plan's own lower bound on wall time.
    slot_micros: AtomicU64,
}

/// A count of requests in some state now, and the most there ever were at once.
#[derive(Debug, Default)]
pub struct Gauge {
    now: AtomicU64,
    peak: AtomicU64,
}

/// One request counted by a `Gauge` until dropped.
#[derive(Debug)]
pub struct GaugeEntry<'a>(&'a Gauge);

impl Gauge {
    /// Counts one more until the entry drops.
    pub fn enter(&self) -> GaugeEntry<'_> {
        let now = self.now.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        GaugeEntry(self)
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    fn now(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
}

impl Drop for GaugeEntry<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    /// Counts a request of this kind.
    pub fn count(&self, kind: RequestKind) {
        let i = RequestKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(RequestKind::ALL.len() - 1);
        self.by_kind[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts the objects and 429s of one top-level answer (`$batch` items answered 429
    /// included).
    pub fn answered(&self, items: usize, status: u16, batch_429s: usize) {
        self.items_returned
            .fetch_add(items as u64, Ordering::Relaxed);
        let n = usize::from(status == 429) + batch_429s;
        self.responses_429.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Adds the modelled latency one request was held for.
    pub fn held(&self, latency: std::time::Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.slot_micros.fetch_add(us, Ordering::Relaxed);
    }

    fn requests_by_kind(&self) -> Value {
        let mut m = serde_json::Map::new();
        for (k, n) in RequestKind::ALL.iter().zip(&self.by_kind) {
            m.insert(k.key().into(), n.load(Ordering::Relaxed).into());
        }
        m.insert(
            "token".into(),
            self.token_requests.load(Ordering::Relaxed).into(),
        );
        Value::Object(m)
    }
}

/// How many `$batch` response items answered 429.
pub fn batch_429s(body: &str) -> usize {
    if !body.contains("429") {
        return 0;
    }
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v["responses"]
                .as_array()
                .map(|r| r.iter().filter(|i| i["status"] == 429).count())
        })
        .unwrap_or(0)
}

/// The body of `GET /_sim/stats`.
pub fn stats_json(state: &SimState) -> Value {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let s = &state.stats;
    let apps: Vec<Value> = state
        .apps
        .iter()
        .zip(&state.app_stats)
        .map(|(a, st)| {
            json!({
                "kind": a.kind.slug(),
                "displayName": a.display_name,
                "clientId": a.app_id.to_string(),
                "requests": load(&st.requests),
                "resourceUnits": load(&st.ru_spent),
                "throttled": load(&st.throttled),
            })
        })
        .collect();
    let cfg = &state.config;
    json!({
        "httpRequests": load(&s.http_requests),
        "graphRequests": load(&s.graph_requests),
        "tokenRequests": load(&s.token_requests),
        "throttled": load(&s.throttled),
        "faultsInjected": state.faults.injected.load(Ordering::Relaxed),
        "resourceUnitBudget": state.throttle.capacity(),
        "resourceUnitWindowSeconds": cfg.throttle.window.as_secs_f64() / cfg.time_scale(),
        "resourceUnits": state.app_stats.iter().map(|a| load(&a.ru_spent)).sum::<u64>(),
        "requestsByKind": s.requests_by_kind(),
        "itemsReturned": load(&s.items_returned),
        "responses429": load(&s.responses_429),
        "inFlight": s.in_flight.now(),
        "queued": s.queued.now(),
        "slotSeconds": load(&s.slot_micros) as f64 / 1e6,
        "peakInFlight": s.in_flight.peak(),
        "peakQueued": s.queued.peak(),
        "maxInFlight": cfg.max_in_flight,
        "latency": {
            "baseMs": cfg.latency.base.as_secs_f64() * 1e3 / cfg.time_scale(),
            "perItemUs": cfg.latency.per_item.as_secs_f64() * 1e6 / cfg.time_scale(),
            "timeScale": cfg.time_scale(),
        },
        "apps": apps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_counted_by_what_they_ask_for() {
        let cases = [
            ("/users", RequestKind::UsersList),
            ("/users/$count", RequestKind::Count),
            ("/users/abc", RequestKind::User),
            ("/groups", RequestKind::GroupsList),
            ("/groups/delta", RequestKind::Delta),
            ("/groups/g1", RequestKind::Group),
            ("/groups/g1/members", RequestKind::Members),
            (
                "/groups/g1/members/microsoft.graph.user",
                RequestKind::Members,
            ),
            ("/groups/g1/members/$count", RequestKind::Count),
            (
                "/groups/g1/members/microsoft.graph.user/$count",
                RequestKind::Count,
            ),
            ("/groups/g1/owners", RequestKind::Owners),
            (
                "/groups/g1/transitiveMembers",
                RequestKind::TransitiveMembers,
            ),
            ("/directoryObjects/getByIds", RequestKind::GetByIds),
            ("/$batch", RequestKind::Batch),
            ("/organization", RequestKind::Other),
        ];
        for (path, kind) in cases {
            assert_eq!(RequestKind::of_path(path), kind, "{path}");
        }
    }

    #[test]
    fn batch_items_are_read_from_the_body() {
        let body = br#"{"requests":[{"id":"1","method":"GET","url":"/groups/a/members?$top=999"},
            {"id":"2","method":"GET","url":"v1.0/users"}]}"#;
        assert_eq!(
            RequestKind::batch_item_paths(body),
            vec!["/groups/a/members".to_string(), "/users".to_string()]
        );
        assert!(RequestKind::batch_item_paths(b"not json").is_empty());
        let reply = r#"{"responses":[{"id":"1","status":429},{"id":"2","status":200}]}"#;
        assert_eq!(batch_429s(reply), 1);
    }

    #[test]
    fn a_gauge_remembers_its_peak() {
        let g = Gauge::default();
        let a = g.enter();
        let b = g.enter();
        drop(a);
        let c = g.enter();
        drop((b, c));
        assert_eq!((g.now(), g.peak()), (0, 2));
    }
}
