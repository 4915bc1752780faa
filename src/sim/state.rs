//! The state every route shares: the directory, the demo apps, signing key, throttle, faults
//! and counters.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::apps::{DemoAppKind, GRAPH_ROLES};
use super::config::SimConfig;
use super::crypto::SigningKey;
use super::fault::FaultEngine;
use super::model::{Directory, ObjKind, ObjRef};
use super::stats::Stats;
use super::throttle::{InFlightLimit, Throttle};
use super::token::TokenCache;

/// Per-app counters.
#[derive(Debug, Default)]
pub struct AppStats {
    pub requests: AtomicU64,
    pub ru_spent: AtomicU64,
    pub throttled: AtomicU64,
}

/// A demo app as the server sees it.
#[derive(Debug, Clone)]
pub struct AppRecord {
    pub kind: DemoAppKind,
    pub display_name: String,
    pub app_id: Uuid,
    pub application_idx: usize,
    pub sp_idx: usize,
}

/// Everything the routes share. Read-only after start except for atomics and per-app
/// throttle buckets, so there's no global lock on the hot path.
#[derive(Debug)]
pub struct SimState {
    pub config: SimConfig,
    pub dir: Directory,
    pub apps: Vec<AppRecord>,
    pub app_stats: Vec<AppStats>,
    pub graph_sp_idx: usize,
    pub signing: SigningKey,
    pub base_url: String,
    pub tenant_id_str: String,
    /// Token generation: each token carries the generation it was issued in, and the
    /// token-expiry fault bumps it, revoking every token issued so far (a counter, not a
    /// clock, so a refresh within the same millisecond still gets a valid token).
    pub token_generation: AtomicU64,
    pub stats: Stats,
    pub throttle: Throttle,
    pub in_flight: InFlightLimit,
    pub faults: FaultEngine,
    /// Bearer tokens that already passed validation.
    pub token_cache: TokenCache,
    pub lists: ListCache,
    pub columns: Columns,
}

/// Object lists a `$filter` or a cast selects, by a fingerprint of what selected them. The
/// tenant never changes, so each page and `$count` of a filtered listing need not scan
/// 100,000 users again: without this the simulator's CPU, not the modelled latency, would
/// set the pace of a benchmark.
#[derive(Debug, Default)]
pub struct ListCache(Mutex<HashMap<u64, Arc<Vec<ObjRef>>>>);

/// Entries kept before the cache starts over (a tenant-L benchmark needs a few thousand).
const LIST_CACHE_MAX: usize = 20_000;

impl ListCache {
    /// The list for `key`, computed by `make` the first time.
    pub fn get_or_make(&self, key: u64, make: impl FnOnce() -> Vec<ObjRef>) -> Arc<Vec<ObjRef>> {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = lock().get(&key) {
            return found.clone();
        }
        let made = Arc::new(make());
        let mut map = lock();
        if map.len() >= LIST_CACHE_MAX {
            map.clear();
        }
        map.insert(key, made.clone());
        made
    }
}

/// One property of every object of a type, rendered as JSON once and stored contiguously:
/// a filter's scan then reads one buffer instead of 100,000 scattered strings.
#[derive(Debug, Default)]
pub struct Column {
    text: String,
    /// Object `i`'s value is `text[bounds[i]..bounds[i + 1]]`.
    bounds: Vec<u32>,
    /// Whether object `i`'s type has the property at all.
    present: Vec<bool>,
}

impl Column {
    fn build(dir: &Directory, kind: ObjKind, prop: &str) -> Column {
        let n = dir.len_of(kind);
        let mut col = Column {
            text: String::new(),
            bounds: Vec::with_capacity(n + 1),
            present: Vec::with_capacity(n),
        };
        col.bounds.push(0);
        for idx in 0..n {
            let r = ObjRef {
                kind,
                idx: idx as u32,
            };
            let before = col.text.len();
            let has = dir.write_prop(r, prop, &mut col.text);
            if !has {
                col.text.truncate(before);
            }
            col.present.push(has);
            col.bounds
                .push(u32::try_from(col.text.len()).unwrap_or(u32::MAX));
        }
        col
    }

    /// The JSON value of object `idx`, if its type has the property.
    pub fn get(&self, idx: u32) -> Option<&str> {
        let i = idx as usize;
        if !*self.present.get(i)? {
            return None;
        }
        self.text
            .get(self.bounds[i] as usize..self.bounds[i + 1] as usize)
    }
}

/// [`Column`]s by object type and property, built on first use (the tenant never changes).
#[derive(Debug, Default)]
pub struct Columns(Mutex<HashMap<(ObjKind, String), Arc<Column>>>);

impl Columns {
    pub fn of(&self, dir: &Directory, kind: ObjKind, prop: &str) -> Arc<Column> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((kind, prop.to_string()))
            .or_insert_with(|| Arc::new(Column::build(dir, kind, prop)))
            .clone()
    }
}

impl SimState {
    /// The Graph app-role values granted to an app (from its appRoleAssignments).
    pub fn roles_of(&self, app_idx: usize) -> Vec<&'static str> {
        let sp = &self.dir.service_principals[self.apps[app_idx].sp_idx];
        let graph_sp = self.dir.service_principals[self.graph_sp_idx].id;
        sp.app_role_assignments
            .iter()
            .filter(|a| a.resource_id == graph_sp)
            .filter_map(|a| GRAPH_ROLES.iter().find(|r| r.id == a.app_role_id))
            .map(|r| r.value)
            .collect()
    }
}
