//! The state every route shares: the directory, the demo apps, signing key, throttle, faults
//! and counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use uuid::Uuid;

use super::apps::{DemoAppKind, GRAPH_ROLES};
use super::config::SimConfig;
use super::crypto::SigningKey;
use super::device::DeviceFlows;
use super::evolve::Applied;
use super::fault::FaultEngine;
use super::index::{MemberPositions, PrefixIndexes};
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

/// Everything the routes share. Read-only after start except for atomics, per-app throttle
/// buckets and the tenant snapshot (swapped whole), so there's no global lock on the hot path.
#[derive(Debug)]
pub struct SimState {
    pub config: SimConfig,
    pub apps: Vec<AppRecord>,
    pub app_stats: Vec<AppStats>,
    pub graph_sp_idx: usize,
    pub signing: SigningKey,
    pub base_url: String,
    pub tenant_id_str: String,
    pub default_domain: String,
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
    /// The directory as it is now; `evolve` replaces it.
    pub tenant: Tenant,
    /// Delta tokens issued before this instant (Unix ms) are expired (`POST
    /// /_sim/expire-delta-tokens`); 0 until then.
    pub delta_expired_before_ms: AtomicI64,
    /// Device code sign-ins and refresh tokens.
    pub devices: DeviceFlows,
    /// appIds of the applications created through Graph, by counter slot (after the demo
    /// apps and the public clients' slot); a deleted app keeps its slot.
    pub created_apps: Mutex<Vec<Uuid>>,
    /// keyId of a new client secret → when it has replicated and may sign in.
    pub secret_ready: Mutex<HashMap<Uuid, Instant>>,
}

/// Applications one simulator run may create through Graph (each needs counters and a
/// throttle bucket, sized at start).
pub const MAX_CREATED_APPS: usize = 64;

/// Counter slots for `demo` demo apps: theirs, one for delegated sign-ins, the created apps'.
pub fn app_slots(demo: usize) -> usize {
    demo + 1 + MAX_CREATED_APPS
}

/// One version of the directory and the caches built over it. A request takes the current
/// one when it starts, so a change applied meanwhile never shows it a half-changed tenant.
#[derive(Debug)]
pub struct Snapshot {
    /// 0 at start, +1 for each `evolve`.
    pub version: u64,
    pub dir: Directory,
    pub lists: ListCache,
    pub columns: Columns,
    /// Sorted values a `startswith` selects a range of.
    pub prefixes: PrefixIndexes,
    /// Big groups' members by position.
    pub positions: MemberPositions,
    /// Every change applied since start, oldest first: delta queries answer from it.
    pub history: Vec<Applied>,
}

impl Snapshot {
    pub fn new(dir: Directory) -> Snapshot {
        Snapshot {
            version: 0,
            dir,
            lists: ListCache::default(),
            columns: Columns::default(),
            prefixes: PrefixIndexes::default(),
            positions: MemberPositions::default(),
            history: Vec::new(),
        }
    }
}

/// The current [`Snapshot`], swapped whole by `evolve` (one writer at a time).
#[derive(Debug)]
pub struct Tenant {
    current: RwLock<Arc<Snapshot>>,
    writer: Mutex<()>,
}

impl Tenant {
    pub fn new(dir: Directory) -> Tenant {
        Tenant {
            current: RwLock::new(Arc::new(Snapshot::new(dir))),
            writer: Mutex::new(()),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Like [`Tenant::update`], but `next` may refuse (`Err`): the current snapshot stays.
    pub fn try_update<T>(&self, next: impl FnOnce(&Snapshot) -> Result<(Snapshot, T), T>) -> T {
        let _one_writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        match next(&self.snapshot()) {
            Ok((snap, out)) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
                out
            }
            Err(out) => out,
        }
    }

    /// Builds the next snapshot from the current one and makes it current.
    pub fn update<T>(&self, next: impl FnOnce(&Snapshot) -> (Snapshot, T)) -> T {
        let _one_writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (snap, out) = next(&self.snapshot());
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snap);
        out
    }
}

/// Object lists a `$filter` or a cast selects, by a fingerprint of what selected them. A
/// snapshot never changes, so each page and `$count` of a filtered listing need not scan
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

/// [`Column`]s by object type and property, built on first use (a snapshot never changes).
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
    /// The directory as it is now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.tenant.snapshot()
    }

    /// The counter slot every delegated (public client) caller shares.
    pub fn public_client_slot(&self) -> usize {
        self.apps.len()
    }

    /// The counter slot of an application created through Graph.
    pub fn created_slot(&self, app_id: Uuid) -> Option<usize> {
        let created = self.created_apps.lock().unwrap_or_else(|e| e.into_inner());
        let pos = created.iter().position(|a| *a == app_id)?;
        Some(self.public_client_slot() + 1 + pos)
    }

    /// Whether a client secret may sign in yet (see [`SimConfig::replication_delay`]).
    pub fn replicated(&self, key_id: Uuid) -> bool {
        let mut ready = self.secret_ready.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Secrets that have replicated need no entry any more.
        ready.retain(|_, at| *at > now);
        !ready.contains_key(&key_id)
    }

    /// The Graph app-role values granted to a service principal (its appRoleAssignments).
    pub fn roles_of(&self, snap: &Snapshot, sp_idx: usize) -> Vec<&'static str> {
        let sp = &snap.dir.service_principals[sp_idx];
        let graph_sp = snap.dir.service_principals[self.graph_sp_idx].id;
        sp.app_role_assignments
            .iter()
            .filter(|a| a.resource_id == graph_sp)
            .filter_map(|a| GRAPH_ROLES.iter().find(|r| r.id == a.app_role_id))
            .map(|r| r.value)
            .collect()
    }
}
