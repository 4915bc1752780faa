//! Per-object progress counters. The extraction updates them with relaxed atomics; any
//! front end (headless bars, the TUI) takes a [`ProgressSnapshot`] whenever it redraws,
//! so progress never floods an event queue or slows the run.

use std::time::Duration;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::manifest::RunInfo;
use super::plan::PAGE_SIZE;
pub use crate::graph::RequestStats;

/// A point-in-time copy of the extraction's progress, cheap to take and to render.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProgressSnapshot {
    /// Users written so far, and the `/users/$count` total when known.
    pub users_done: u64,
    pub users_total: Option<u64>,
    /// Groups written so far, and the `/groups/$count` total when known.
    pub groups_done: u64,
    pub groups_total: Option<u64>,
    /// Groups whose member list is complete, and member rows written.
    pub member_lists_done: u64,
    pub member_edges: u64,
    /// Groups whose owner list is complete, and owner rows written.
    pub owner_lists_done: u64,
    pub owner_edges: u64,
    /// What the Graph client counted: requests, retries, 429s, resource units.
    pub stats: RequestStats,
    /// Time since the extraction started.
    pub elapsed: Duration,
    /// Warnings so far (unreadable hidden memberships, groups deleted mid-run, ...).
    pub warnings: Vec<Warning>,
    /// The current phase, for status lines.
    pub phase: Phase,
}

/// What the extraction is doing now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Starting,
    Counting,
    Users,
    Groups,
    Memberships,
    Finishing,
    Done,
    Failed,
    Cancelled,
}

/// Something the user must know about, that did not stop the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// The group concerned, when there is one.
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    /// One line for humans.
    pub detail: String,
}

impl Warning {
    /// The members of a HiddenMembership group could not be read.
    pub fn hidden_membership_unreadable(group_id: &str, group_name: &str) -> Self {
        Self {
            kind: WarningKind::HiddenMembershipUnreadable,
            group_id: Some(group_id.to_owned()),
            group_name: Some(group_name.to_owned()),
            detail: format!(
                "members of hidden-membership group \"{group_name}\" could not be read; grant the application permission Member.Read.Hidden with admin consent and run again"
            ),
        }
    }

    /// The extra `noun` (user or group) attribute `name` was in no object Graph returned.
    pub fn attribute_not_returned(noun: &str, name: &str, objects: u64) -> Self {
        Self {
            kind: WarningKind::AttributeNotReturned,
            group_id: None,
            group_name: None,
            detail: format!(
                "extra {noun} attribute `{name}` came back from none of the {objects} {noun}s, so its column is empty: Graph leaves out property names it does not know; check the spelling (e.g. `employeeType`, or `extension_<app id>_<name>` for directory extensions)"
            ),
        }
    }

    /// The group disappeared between listing and fetching its members or owners.
    pub fn group_deleted(group_id: &str, group_name: &str) -> Self {
        Self {
            kind: WarningKind::GroupDeleted,
            group_id: Some(group_id.to_owned()),
            group_name: Some(group_name.to_owned()),
            detail: format!(
                "group \"{group_name}\" was deleted during the extraction; its members and owners are not in the files"
            ),
        }
    }
}

impl Warning {
    /// The files were committed, but the state the next run of the profile starts from
    /// could not be saved in `dir` (a full data directory): that run reads everything.
    pub fn state_not_saved(dir: &std::path::Path, error: &dyn std::fmt::Display) -> Self {
        Self {
            kind: WarningKind::StateNotSaved,
            group_id: None,
            group_name: None,
            detail: format!(
                "the files are complete, but the state for the next run could not be saved in {} ({error}); free space there or fix its permissions: the next run of this profile reads everything",
                dir.display()
            ),
        }
    }
}

impl Warning {
    /// The run could not be appended to the profile's history (`error` names the file):
    /// `profile list` and the wizard's home screen will not show it.
    pub fn history_not_saved(error: &dyn std::fmt::Display) -> Self {
        Self {
            kind: WarningKind::HistoryNotSaved,
            group_id: None,
            group_name: None,
            detail: format!(
                "this run is not recorded in the profile's history, so `profile list` and the wizard's home screen do not show it ({error}); free space there or fix its permissions"
            ),
        }
    }
}

/// Kinds of warnings, so summaries can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Members of a HiddenMembership group could not be read (Member.Read.Hidden missing).
    HiddenMembershipUnreadable,
    /// The group was deleted between listing and member/owner fetch.
    GroupDeleted,
    /// An extra attribute came back from no object: Graph leaves out names it does not
    /// know, so this is almost always a misspelt attribute and its column is empty.
    AttributeNotReturned,
    /// The state the next run of a profile starts from could not be saved: that run reads
    /// everything. About this machine, not the tenant: also said on stderr.
    StateNotSaved,
    /// The run could not be recorded in the profile's history. About this machine too.
    HistoryNotSaved,
    /// Anything else worth a line in the summary.
    Other,
}

impl WarningKind {
    /// Whether the warning is about this machine (its data directory), not the tenant:
    /// `run` says it on stderr too, where an operator looks, even with `--json`.
    pub fn is_about_this_machine(self) -> bool {
        matches!(
            self,
            WarningKind::StateNotSaved | WarningKind::HistoryNotSaved
        )
    }
}

impl Phase {
    /// Every phase, indexed by its discriminant (for the atomic in [`Progress`]).
    const ALL: [Phase; 9] = [
        Phase::Starting,
        Phase::Counting,
        Phase::Users,
        Phase::Groups,
        Phase::Memberships,
        Phase::Finishing,
        Phase::Done,
        Phase::Failed,
        Phase::Cancelled,
    ];

    /// Whether the run is over; the clock stops when such a phase is set.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Done | Phase::Failed | Phase::Cancelled)
    }
}

/// A function that reads the Graph client's own running totals.
type StatsSource = Box<dyn Fn() -> RequestStats + Send + Sync>;

/// Sentinel for "unknown" totals and "still running" in the atomics.
const NONE: u64 = u64::MAX;

/// Live progress of one extraction, shared as `Arc<Progress>` between the tasks that do the
/// work (writers) and the front end (reader, via [`Progress::snapshot`]).
///
/// Counters are relaxed atomics: a snapshot may mix values from a few microseconds apart,
/// which no progress bar can show anyway, and writers never wait on a reader.
pub struct Progress {
    started: Instant,
    finished_after_ns: AtomicU64,
    users_done: AtomicU64,
    users_total: AtomicU64,
    groups_done: AtomicU64,
    groups_total: AtomicU64,
    member_lists_done: AtomicU64,
    member_edges: AtomicU64,
    owner_lists_done: AtomicU64,
    owner_edges: AtomicU64,
    phase: AtomicU8,
    warnings: Mutex<Vec<Warning>>,
    notes: Mutex<Vec<String>>,
    stats_source: Mutex<Option<StatsSource>>,
    /// How a profile's run reads the tenant, once decided.
    run: Mutex<Option<RunInfo>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("snapshot", &self.snapshot())
            .finish()
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Starts the clock; every counter at zero, totals unknown, phase `Starting`.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            finished_after_ns: AtomicU64::new(NONE),
            users_done: AtomicU64::new(0),
            users_total: AtomicU64::new(NONE),
            groups_done: AtomicU64::new(0),
            groups_total: AtomicU64::new(NONE),
            member_lists_done: AtomicU64::new(0),
            member_edges: AtomicU64::new(0),
            owner_lists_done: AtomicU64::new(0),
            owner_edges: AtomicU64::new(0),
            phase: AtomicU8::new(Phase::Starting as u8),
            warnings: Mutex::new(Vec::new()),
            notes: Mutex::new(Vec::new()),
            stats_source: Mutex::new(None),
            run: Mutex::new(None),
        }
    }

    /// Records how a profile's run reads the tenant (only the changes, or everything and
    /// why), as soon as that is decided: a run that fails later still says it.
    pub fn set_run_info(&self, run: RunInfo) {
        *lock(&self.run) = Some(run);
    }

    /// How a profile's run reads the tenant, once decided (`None` without a profile).
    pub fn run_info(&self) -> Option<RunInfo> {
        lock(&self.run).clone()
    }

    /// Sets the phase; a terminal phase (done, failed, cancelled) stops the clock.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
        if phase.is_terminal() {
            let ns = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(NONE - 1);
            // Keep the first end time if the phase is set twice.
            let _ = self.finished_after_ns.compare_exchange(
                NONE,
                ns,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        let i = usize::from(self.phase.load(Ordering::Relaxed));
        Phase::ALL.get(i).copied().unwrap_or_default()
    }

    /// Time since [`Progress::new`], frozen once a terminal phase is set.
    pub fn elapsed(&self) -> Duration {
        match self.finished_after_ns.load(Ordering::Relaxed) {
            NONE => self.started.elapsed(),
            ns => Duration::from_nanos(ns),
        }
    }

    /// Records the `/users/$count` and `/groups/$count` totals (`None`: unknown).
    pub fn set_totals(&self, users: Option<u64>, groups: Option<u64>) {
        store_option(&self.users_total, users);
        store_option(&self.groups_total, groups);
    }

    /// `n` more users written.
    pub fn add_users(&self, n: u64) {
        self.users_done.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more groups written.
    pub fn add_groups(&self, n: u64) {
        self.groups_done.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` more member rows written (call per page, so big groups move the bar).
    pub fn add_member_edges(&self, n: u64) {
        self.member_edges.fetch_add(n, Ordering::Relaxed);
    }

    /// One more group's member list is complete (or known unreadable).
    pub fn member_list_done(&self) {
        self.member_lists_done.fetch_add(1, Ordering::Relaxed);
    }

    /// `n` more owner rows written.
    pub fn add_owner_edges(&self, n: u64) {
        self.owner_edges.fetch_add(n, Ordering::Relaxed);
    }

    /// One more group's owner list is complete.
    pub fn owner_list_done(&self) {
        self.owner_lists_done.fetch_add(1, Ordering::Relaxed);
    }

    /// Lets every snapshot read the Graph client's running totals through `source` (the
    /// client counts; this model only reads). `source` must be cheap and must not call back
    /// into this `Progress`.
    pub fn set_request_stats_source<F>(&self, source: F)
    where
        F: Fn() -> RequestStats + Send + Sync + 'static,
    {
        *lock(&self.stats_source) = Some(Box::new(source));
    }

    /// The client's request statistics so far (zero before a source is set).
    pub fn request_stats(&self) -> RequestStats {
        lock(&self.stats_source)
            .as_ref()
            .map(|source| source())
            .unwrap_or_default()
    }

    /// Records a warning.
    pub fn warn(&self, warning: Warning) {
        lock(&self.warnings).push(warning);
    }

    /// Records something worth knowing that did not make the files incomplete (a listing
    /// restarted after its page token expired): it goes into the manifest's `notes`.
    pub fn note(&self, note: String) {
        lock(&self.notes).push(note);
    }

    /// All notes so far, in the order they were recorded.
    pub fn notes(&self) -> Vec<String> {
        lock(&self.notes).clone()
    }

    /// All warnings so far, in the order they were recorded.
    pub fn warnings(&self) -> Vec<Warning> {
        lock(&self.warnings).clone()
    }

    /// A consistent-enough copy of everything, for one redraw.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let stats = self.request_stats();
        ProgressSnapshot {
            users_done: self.users_done.load(Ordering::Relaxed),
            users_total: load_option(&self.users_total),
            groups_done: self.groups_done.load(Ordering::Relaxed),
            groups_total: load_option(&self.groups_total),
            member_lists_done: self.member_lists_done.load(Ordering::Relaxed),
            member_edges: self.member_edges.load(Ordering::Relaxed),
            owner_lists_done: self.owner_lists_done.load(Ordering::Relaxed),
            owner_edges: self.owner_edges.load(Ordering::Relaxed),
            stats,
            elapsed: self.elapsed(),
            warnings: self.warnings(),
            phase: self.phase(),
        }
    }
}

impl ProgressSnapshot {
    /// Warnings of one kind.
    pub fn warning_count(&self, kind: WarningKind) -> usize {
        self.warnings.iter().filter(|w| w.kind == kind).count()
    }

    /// Estimated time left, from the share of requests done so far. Users and groups are
    /// listed `PAGE_SIZE` to a request while every group needs its own member and owner
    /// requests, so counting objects instead would call a run nearly done once the users
    /// are in. `None` until the totals are known and some work is done, and while users
    /// are still being listed: the fast plan writes a group's lists only once the users
    /// (whose names its rows carry) are in, so until then the share of lists done says
    /// nothing (on tenant L it made the ETA 30 times too long).
    pub fn eta(&self) -> Option<Duration> {
        if self.users_total.is_none_or(|total| self.users_done < total) {
            return None;
        }
        let page = f64::from(PAGE_SIZE);
        let groups = self.groups_total? as f64;
        let total = self.users_total? as f64 / page + groups / page + 2.0 * groups;
        let done = (self.users_done as f64 / page
            + self.groups_done as f64 / page
            + (self.member_lists_done + self.owner_lists_done) as f64)
            .min(total);
        if done <= 0.0 || total <= 0.0 {
            return None;
        }
        let left = (total - done) / done;
        Duration::try_from_secs_f64(self.elapsed.as_secs_f64() * left).ok()
    }
}

fn store_option(cell: &AtomicU64, value: Option<u64>) {
    // u64::MAX is the "unknown" sentinel; no tenant has that many objects.
    cell.store(value.unwrap_or(NONE), Ordering::Relaxed);
}

fn load_option(cell: &AtomicU64) -> Option<u64> {
    match cell.load(Ordering::Relaxed) {
        NONE => None,
        n => Some(n),
    }
}

/// Locks a mutex, recovering from poisoning: progress data stays usable after a panic
/// elsewhere.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn counters_add_up_across_threads() {
        let progress = Arc::new(Progress::new());
        progress.set_totals(Some(4000), None);
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let p = Arc::clone(&progress);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        p.add_users(1);
                        p.add_member_edges(3);
                        p.member_list_done();
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let s = progress.snapshot();
        assert_eq!(s.users_done, 4000);
        assert_eq!(s.users_total, Some(4000));
        assert_eq!(s.groups_total, None);
        assert_eq!(s.member_edges, 12_000);
        assert_eq!(s.member_lists_done, 4000);
        assert_eq!(s.owner_edges, 0);
    }

    #[test]
    fn snapshots_read_the_clients_counters_live() {
        let progress = Progress::new();
        assert_eq!(progress.snapshot().stats, RequestStats::default());
        let client_requests = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&client_requests);
        progress.set_request_stats_source(move || RequestStats {
            requests: seen.load(Ordering::Relaxed),
            retries: 1,
            throttled: 2,
            ..RequestStats::default()
        });
        client_requests.store(10, Ordering::Relaxed);
        let s = progress.snapshot().stats;
        assert_eq!((s.requests, s.retries, s.throttled), (10, 1, 2));
        client_requests.store(20, Ordering::Relaxed);
        assert_eq!(progress.snapshot().stats.requests, 20);
    }

    #[test]
    fn phases_round_trip_and_terminal_phase_stops_the_clock() {
        let progress = Progress::new();
        assert_eq!(progress.phase(), Phase::Starting);
        for phase in Phase::ALL {
            let p = Progress::new();
            p.set_phase(phase);
            assert_eq!(p.phase(), phase);
        }
        progress.set_phase(Phase::Memberships);
        progress.set_phase(Phase::Cancelled);
        let frozen = progress.elapsed();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(progress.elapsed(), frozen);
        assert_eq!(progress.snapshot().elapsed, frozen);
        let running = Progress::new();
        let a = running.elapsed();
        std::thread::sleep(Duration::from_millis(2));
        assert!(running.elapsed() > a);
    }

    #[test]
    fn warnings_are_kept_in_order_and_counted() {
        let progress = Progress::new();
        for (i, kind) in [
            WarningKind::HiddenMembershipUnreadable,
            WarningKind::GroupDeleted,
            WarningKind::HiddenMembershipUnreadable,
        ]
        .into_iter()
        .enumerate()
        {
            progress.warn(Warning {
                kind,
                group_id: Some(format!("g{i}")),
                group_name: None,
                detail: format!("w{i}"),
            });
        }
        progress.warn(Warning::hidden_membership_unreadable("g9", "Board"));
        progress.warn(Warning::group_deleted("g8", "Old"));
        let s = progress.snapshot();
        assert_eq!(s.warnings.len(), 5);
        assert!(s.warnings[3].detail.contains("Member.Read.Hidden"));
        assert_eq!(s.warnings[3].group_id.as_deref(), Some("g9"));
        assert_eq!(s.warnings[4].kind, WarningKind::GroupDeleted);
        assert_eq!(s.warnings[2].detail, "w2");
        assert_eq!(s.warning_count(WarningKind::HiddenMembershipUnreadable), 3);
        assert_eq!(s.warning_count(WarningKind::Other), 0);
    }

    #[test]
    fn eta_from_share_of_requests_done() {
        let mut s = ProgressSnapshot {
            // 10 user pages + 1 group page + 999 of 1,998 member/owner lists: 1,010 of 2,009.
            users_total: Some(9990),
            groups_total: Some(999),
            users_done: 9990,
            groups_done: 999,
            member_lists_done: 499,
            owner_lists_done: 500,
            elapsed: Duration::from_secs(1010),
            ..Default::default()
        };
        let secs = |s: &ProgressSnapshot| s.eta().map(|d| d.as_secs_f64().round() as u64);
        assert_eq!(secs(&s), Some(999));
        s.groups_total = None;
        assert_eq!(s.eta(), None);
        s.groups_total = Some(999);
        // Users still listing: lists may be read but not yet written.
        s.users_done = 9989;
        assert_eq!(s.eta(), None);
        s.users_done = 0;
        s.groups_done = 0;
        s.member_lists_done = 0;
        s.owner_lists_done = 0;
        assert_eq!(s.eta(), None);
    }

    #[test]
    fn users_done_alone_leaves_most_of_the_run() {
        // Seen in the demo: all 10,000 users read in the first second, no group lists yet.
        let s = ProgressSnapshot {
            users_total: Some(10_000),
            groups_total: Some(2_500),
            users_done: 10_000,
            elapsed: Duration::from_secs(1),
            ..Default::default()
        };
        let left = s.eta().expect("an estimate");
        assert!(left > Duration::from_secs(100), "{left:?}");
    }
}
