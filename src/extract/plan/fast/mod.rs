//! The fast request plan (the default): the same rows as the per-group plan, from far fewer
//! requests, resource units and sequential round trips (BENCHMARKS.md has the figures).
//!
//! - Users and groups are read in parallel chains split by the first characters of
//!   `userPrincipalName` and `mailNickname` ([`partition`]), deduplicated by id and checked
//!   against `/$count`; whatever the split missed is read again in one chain.
//! - Members and owners come from `groups/delta` filtered by up to 50 ids a chain ([`delta`]),
//!   1 RU a page instead of 3 RU per group; the rows' names are joined from the users and
//!   groups just read, and other objects are looked up with getByIds ([`names`]).
//! - A group whose membership is hidden, or that turned out large, is read on its own: in
//!   parallel chains by member type and UPN prefix (the prefixes chosen from how the listed
//!   users' names start), checked against its `/members/$count`, or, when small, with the
//!   per-group plan's worker; so is a group that delta did not return.
//!
//! Each shortcut falls back to the plain reads when it fails, and the manifest notes it: a
//! split listing (or a large group's parts) is read whole, and once `groups/delta` or
//! getByIds has failed the groups left are read per group. Only the plain reads failing
//! fails the run.

mod delta;
mod names;
mod partition;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use foldhash::{HashSet, HashSetExt};
use futures::future::try_join_all;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use self::delta::{ChainEnd, IDS_PER_CHAIN, Lists};
use self::names::{Names, Ref};
use self::partition::{Histogram, NICKNAME_FIRST, Partition, UPN_FIRST};
use super::per_group::{GROUPS_PER_BATCH, GroupWorker, ListOutcome};
use super::{AttributePresence, LISTING_RESTARTS, PAGE_SIZE, note_restarts};
use crate::extract::access::Access;
use crate::extract::error::ExtractError;
use crate::extract::listed::Listed;
use crate::extract::progress::{Phase, Progress};
use crate::extract::rows::EdgeObject;
use crate::extract::schema::{EDGE_SELECT, GroupCounts, GroupRecord, MemberCount, Schema};
use crate::extract::writer::{ListKind, WriteOp, send};
use crate::graph::{GraphClient, GraphError, ObjectKey, PageItem};

/// Members one part of a large group's split is expected to hold: a page of 999, about
/// 0.9 s at 0.8 ms an item, so that no group's members hold up the end of the run.
const PART_MEMBERS: u64 = 1_000;
/// Member types besides users that a large group's split reads by type cast.
const OTHER_MEMBER_TYPES: [&str; 4] = ["group", "device", "servicePrincipal", "orgContact"];
/// The fewest groups a chain takes while enough wait: about a page of references for
/// typical groups, so that a chain begun late ends soon.
const MIN_CHAIN: usize = 10;
/// See [`guided_chain`].
const ROUNDS: usize = 4;
/// Pages in flight from the listing chains to their reader: a page of users is a few MB
/// parsed, so few, to keep memory flat however many chains run.
const PAGE_QUEUE: usize = 4;
/// Pages one listing's chains may be requesting or holding at once, however many chains it
/// has: this bounds its memory (~2.5 MB a parsed page of users; tenant L's users split
/// into ~40 chains), and still fills a third of the in-flight slots.
const PAGES_IN_HAND: usize = 12;

/// What the plan needs from the run.
pub(crate) struct FastRun<'a> {
    pub client: &'a GraphClient,
    pub schema: &'a Arc<Schema>,
    pub access: Access,
    pub users_total: Option<u64>,
    pub groups_total: Option<u64>,
    pub tx: mpsc::Sender<WriteOp>,
    pub progress: &'a Arc<Progress>,
}

/// Lists users and groups and fetches every group's members and owners.
pub(crate) async fn fetch_all(run: FastRun<'_>) -> Result<(), ExtractError> {
    let FastRun {
        client,
        schema,
        access,
        users_total,
        groups_total,
        tx,
        progress,
    } = run;
    progress.set_phase(Phase::Users);
    let names = Arc::new(Names::default());
    let (users_read, users_done) = watch::channel(false);
    let users = async {
        list_users(client, schema, users_total, &names, &tx, progress).await?;
        let _ = users_read.send(true);
        Ok::<_, ExtractError>(())
    };
    // Groups go to their delta chains while the listing goes on, so that no slot idles.
    let (listed, groups) = mpsc::channel(IDS_PER_CHAIN);
    let listing = list_groups(client, schema, groups_total, &names, listed, progress);
    let worker = Arc::new(GroupWorker {
        client: client.clone(),
        tx: tx.clone(),
        progress: progress.clone(),
        access,
    });
    let large = delta::large_group(users_total);
    let memberships = read_memberships(worker, groups, names.clone(), users_done, large);
    tokio::try_join!(users, listing, memberships)?;
    Ok(())
}

async fn list_users(
    client: &GraphClient,
    schema: &Schema,
    total: Option<u64>,
    names: &Names,
    tx: &mpsc::Sender<WriteOp>,
    progress: &Arc<Progress>,
) -> Result<(), ExtractError> {
    let split = Partition {
        path: "/users".into(),
        property: "userPrincipalName",
        alphabet: UPN_FIRST,
    };
    let query = format!("$select={}&$top={PAGE_SIZE}", schema.user_select());
    let mut presence = AttributePresence::new(schema.user_extras());
    let mut pages = Listing::start(client, &split, total, &query, "users", progress).await?;
    while let Some(users) = pages.next().await? {
        presence.observe(&users);
        names.learn(&users);
        let rows = users.iter().map(|u| schema.user_row(u)).collect();
        send(tx, WriteOp::Users(rows)).await?;
    }
    presence.warn(progress, "user");
    tracing::info!(elapsed = ?progress.elapsed(), "users listed");
    progress.set_phase(Phase::Memberships);
    Ok(())
}

async fn list_groups(
    client: &GraphClient,
    schema: &Schema,
    total: Option<u64>,
    names: &Names,
    listed: mpsc::Sender<Arc<GroupRecord>>,
    progress: &Arc<Progress>,
) -> Result<(), ExtractError> {
    let split = Partition {
        path: "/groups".into(),
        property: "mailNickname",
        alphabet: NICKNAME_FIRST,
    };
    let query = format!("$select={}&$top={PAGE_SIZE}", schema.group_select());
    let mut presence = AttributePresence::new(schema.group_extras());
    let mut count = 0u64;
    let mut pages = Listing::start(client, &split, total, &query, "groups", progress).await?;
    while let Some(groups) = pages.next().await? {
        presence.observe(&groups);
        names.learn(&groups);
        for g in &groups {
            let record = Arc::new(GroupRecord::from_value(schema, g)?);
            progress.add_groups(1);
            count += 1;
            if listed.send(record).await.is_err() {
                // The membership phase ended early: its error is the one to report.
                return Ok(());
            }
        }
    }
    presence.warn(progress, "group");
    tracing::info!(groups = count, elapsed = ?progress.elapsed(), "groups listed");
    Ok(())
}

/// Ids already returned, so an object read by two chains is written once.
#[derive(Default)]
struct Seen(HashSet<ObjectKey>);

impl Seen {
    fn keep_new(&mut self, items: Vec<Listed>) -> Vec<Listed> {
        items
            .into_iter()
            .filter(|o| o.id().is_none_or(|id| self.0.insert(ObjectKey::of(id))))
            .collect()
    }

    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

/// Pages of one collection read in parallel chains, each object once; when the chains
/// together returned fewer objects than the collection's count, the rest come from one
/// more chain over the whole collection (and the manifest says so).
struct Listing<'a> {
    client: &'a GraphClient,
    progress: &'a Arc<Progress>,
    what: &'a str,
    whole: String,
    total: Option<u64>,
    split: bool,
    seen: Seen,
    chains: Chains,
    filled_in: bool,
}

impl<'a> Listing<'a> {
    async fn start(
        client: &'a GraphClient,
        partition: &Partition,
        total: Option<u64>,
        query: &str,
        what: &'a str,
        progress: &'a Arc<Progress>,
    ) -> Result<Listing<'a>, ExtractError> {
        let whole = format!("{}?{query}", partition.path);
        let prefixes = match total {
            Some(t) => match partition.plan(client, t).await {
                Ok(p) => p,
                Err(GraphError::Cancelled) => return Err(ExtractError::Cancelled),
                Err(e) => {
                    // Only a cheaper way to read it failed: read it in one chain instead.
                    tracing::warn!(error = %e, what, "cannot split the listing by prefix");
                    progress.note(format!(
                        "the {what} could not be counted for reading in parallel parts ({e}); they were read in one listing"
                    ));
                    None
                }
            },
            None => None,
        };
        let split = prefixes.is_some();
        let urls = match prefixes {
            Some(p) => partition.chains(&p, query),
            None => vec![whole.clone()],
        };
        Ok(Listing {
            client,
            progress,
            what,
            whole,
            total,
            split,
            seen: Seen::default(),
            chains: Chains::spawn(client, urls, progress, what),
            filled_in: false,
        })
    }

    /// The next page's objects not returned before; `None` when the listing is complete.
    async fn next(&mut self) -> Result<Option<Vec<Listed>>, ExtractError> {
        loop {
            match self.chains.next().await {
                Some(Ok(items)) => {
                    let fresh = self.seen.keep_new(items);
                    if !fresh.is_empty() {
                        return Ok(Some(fresh));
                    }
                }
                // A part the service keeps refusing: only the split failed.
                Some(Err(e))
                    if self.split && !self.filled_in && !matches!(e, GraphError::Cancelled) =>
                {
                    self.fill_in(&format!("could not all be read ({e})"));
                }
                Some(Err(e)) => return Err(ExtractError::from_graph(e, self.what)),
                None => {
                    let short = self.total.is_some_and(|t| self.seen.len() < t);
                    if !self.split || self.filled_in || !short {
                        return Ok(None);
                    }
                    self.fill_in(&format!(
                        "returned {} of {} objects",
                        self.seen.len(),
                        self.total.unwrap_or_default()
                    ));
                }
            }
        }
    }
}

impl Listing<'_> {
    /// Reads the whole collection in one more chain (the parts' chains stop), keeping only
    /// objects not returned before; the manifest says `why`.
    fn fill_in(&mut self, why: &str) {
        self.progress.note(format!(
            "the {} read in parts by prefix {why}; the rest were read in one more listing",
            self.what
        ));
        self.filled_in = true;
        self.chains = Chains::spawn(
            self.client,
            vec![self.whole.clone()],
            self.progress,
            self.what,
        );
    }
}

/// Listing chains running as tasks, their pages arriving through one channel.
struct Chains {
    pages: mpsc::Receiver<Result<Vec<Listed>, GraphError>>,
    _tasks: JoinSet<()>,
}

impl Chains {
    /// Starts one task per first URL; `what` names the listing in the manifest's notes.
    fn spawn(
        client: &GraphClient,
        urls: Vec<String>,
        progress: &Arc<Progress>,
        what: &str,
    ) -> Chains {
        let (tx, pages) = mpsc::channel(PAGE_QUEUE);
        let in_hand = Arc::new(Semaphore::new(PAGES_IN_HAND));
        let mut tasks = JoinSet::new();
        for url in urls {
            let (client, tx, progress) = (client.clone(), tx.clone(), progress.clone());
            let in_hand = in_hand.clone();
            let what = format!("a part of the {what} listing");
            tasks.spawn(async move {
                let cast = cast_type(&url);
                let mut pager = client
                    .pager_of::<Listed>(&url)
                    .restart_on_expired_page_token(LISTING_RESTARTS);
                loop {
                    // Held from the request until the page is handed over.
                    let Ok(_turn) = in_hand.acquire().await else {
                        return;
                    };
                    let Some(page) = pager.next_page().await else {
                        break;
                    };
                    let failed = page.is_err();
                    let page = page.map(|p| typed(p.items, cast.as_deref()));
                    if tx.send(page).await.is_err() || failed {
                        return;
                    }
                }
                note_restarts(&progress, &pager, &what);
            });
        }
        Chains {
            pages,
            _tasks: tasks,
        }
    }

    async fn next(&mut self) -> Option<Result<Vec<Listed>, GraphError>> {
        self.pages.recv().await
    }
}

/// The `@odata.type` an OData cast in `url` implies (`…/members/microsoft.graph.user?…`).
fn cast_type(url: &str) -> Option<String> {
    let path = url.split('?').next()?;
    let last = path.rsplit('/').next()?;
    last.starts_with("microsoft.graph.")
        .then(|| format!("#{last}"))
}

/// Items of a cast collection may leave out the type their collection implies; the CSV's
/// `memberType` needs it, as the uncast listing would have given it.
fn typed(mut items: Vec<Listed>, cast: Option<&str>) -> Vec<Listed> {
    if let Some(t) = cast {
        for item in &mut items {
            item.or_insert_text("@odata.type", t);
        }
    }
    items
}

/// Set once `groups/delta`, or getByIds that names what its references leave unnamed, has
/// failed: the groups not read yet are then read with the per-group plan's plain requests
/// (the same rows), and the manifest says so once. Only those plain reads failing fails
/// the run.
#[derive(Default)]
struct PlainMemberships(AtomicBool);

impl PlainMemberships {
    fn fall_back(&self, progress: &Progress, what: &str, e: &GraphError) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(error = %e, what, "memberships read group by group from here on");
            progress.note(format!(
                "{what} failed ({e}); the members and owners of the groups not read yet were read group by group instead"
            ));
        }
    }

    fn active(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Work for the membership phase.
enum Job {
    /// A `groups/delta` chain over up to 50 groups.
    Chain(Vec<Arc<GroupRecord>>),
    /// Up to ten groups read with the per-group plan.
    PerGroup(Vec<Arc<GroupRecord>>),
    /// A group with many members.
    Large(Arc<GroupRecord>),
    /// Chains' lists, written once the users are listed (the rows' names come from them).
    Write(Vec<(Arc<GroupRecord>, Lists)>),
}

/// Reads the members and owners of the groups arriving from the listing: up to 50 a delta
/// chain, those with hidden membership 10 a per-group job.
///
/// Chains take turns for the in-flight slots (bounding the references held in memory).
/// Once the listing is done, each new chain takes a share of the groups still waiting
/// (guided self-scheduling): the last chains are small, so they end together instead of a
/// few chains of 50 groups, begun late, holding up the end of the run. A large group a chain
/// leaves behind starts at once, the chain's other groups go back to the front of the queue,
/// and its lists wait to be written with other chains' ([`Held`]).
async fn read_memberships(
    worker: Arc<GroupWorker>,
    mut groups: mpsc::Receiver<Arc<GroupRecord>>,
    names: Arc<Names>,
    users_done: watch::Receiver<bool>,
    large: usize,
) -> Result<(), ExtractError> {
    let turns = worker.client.config().max_in_flight.max(1);
    let slots = Arc::new(Semaphore::new(turns));
    let plain = Arc::new(PlainMemberships::default());
    let mut tasks: JoinSet<Result<Vec<Job>, ExtractError>> = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<_>, job: Job, turn: Option<OwnedSemaphorePermit>| {
        let (worker, names, plain) = (worker.clone(), names.clone(), plain.clone());
        let users_done = users_done.clone();
        tasks.spawn(async move {
            let _turn = turn;
            run_job(&worker, &names, &plain, users_done, large, job).await
        });
    };
    let mut queue = Queue::new(plain.clone());
    let mut held = Held::default();
    // `users_told` turns false when the users listing is gone without saying it is done
    // (it failed, and the run with it): there is nothing more to wait for.
    let (mut users, mut users_told) = (users_done.clone(), true);
    let mut listing = true;
    loop {
        let (last, users_listed) = (!listing && queue.is_empty(), *users.borrow());
        if held.due(last, tasks.is_empty(), users_listed) {
            spawn(&mut tasks, Job::Write(held.take()), None);
        }
        let wanted = queue.ready(listing);
        let event = tokio::select! {
            group = groups.recv(), if listing => Event::Listed(group),
            told = users.changed(), if !users_listed && users_told => Event::UsersListed(told.is_ok()),
            turn = slots.clone().acquire_owned(), if wanted => Event::Turn(turn),
            joined = tasks.join_next(), if !tasks.is_empty() => Event::Joined(joined),
            else => return Ok(()),
        };
        match event {
            Event::Listed(Some(g)) => queue.push(g),
            Event::Listed(None) => listing = false,
            Event::UsersListed(told) => users_told = told,
            Event::Turn(turn) => {
                let turn = turn.map_err(|_| ExtractError::Cancelled)?;
                if let Some(job) = queue.take(listing, turns) {
                    spawn(&mut tasks, job, Some(turn));
                }
            }
            Event::Joined(joined) => {
                let Some(joined) = joined else { continue };
                for job in finished(joined, &mut tasks).await? {
                    match job {
                        Job::Chain(rest) => queue.put_back(rest),
                        Job::Write(lists) => held.add(lists),
                        job => spawn(&mut tasks, job, None),
                    }
                }
            }
        }
    }
}

/// References of finished chains held before they are written once the users are listed
/// (~3 MB, about ten chains on tenant l); until then every finished chain's lists wait, as
/// they must for the rows' names.
const HELD_REFS: usize = 25_000;

/// Finished chains' lists, written together so that one getByIds call names the objects
/// nobody listed for many chains: a chain names few of them, and a call per chain was ~430
/// requests on tenant l (BENCHMARKS.md).
#[derive(Default)]
struct Held {
    lists: Vec<(Arc<GroupRecord>, Lists)>,
    refs: usize,
}

impl Held {
    fn add(&mut self, lists: Vec<(Arc<GroupRecord>, Lists)>) {
        self.refs += lists
            .iter()
            .map(|(_, l)| l.members.len() + l.owners.len())
            .sum::<usize>();
        self.lists.extend(lists);
    }

    /// Whether to write what is held now: once the users are listed, when enough is held
    /// or no chain is left to start (the chains still running then write their own); and
    /// whenever nothing else runs, so the run cannot end with lists held.
    fn due(&self, last: bool, idle: bool, users_listed: bool) -> bool {
        !self.lists.is_empty() && (idle || (users_listed && (last || self.refs >= HELD_REFS)))
    }

    fn take(&mut self) -> Vec<(Arc<GroupRecord>, Lists)> {
        self.refs = 0;
        std::mem::take(&mut self.lists)
    }
}

enum Event {
    Listed(Option<Arc<GroupRecord>>),
    UsersListed(bool),
    Turn(Result<OwnedSemaphorePermit, tokio::sync::AcquireError>),
    Joined(Option<Result<Result<Vec<Job>, ExtractError>, tokio::task::JoinError>>),
}

/// Groups waiting for a turn.
struct Queue {
    plain: VecDeque<Arc<GroupRecord>>,
    /// Hidden membership is read per group: delta's handling of it is undocumented.
    hidden: Vec<Arc<GroupRecord>>,
    /// Once it has fallen back, every group is read per group.
    fallback: Arc<PlainMemberships>,
}

impl Queue {
    fn new(fallback: Arc<PlainMemberships>) -> Self {
        Queue {
            plain: VecDeque::new(),
            hidden: Vec::new(),
            fallback,
        }
    }

    fn push(&mut self, group: Arc<GroupRecord>) {
        match group.is_hidden_membership() {
            true => self.hidden.push(group),
            false => self.plain.push_back(group),
        }
    }

    fn put_back(&mut self, groups: Vec<Arc<GroupRecord>>) {
        for g in groups.into_iter().rev() {
            self.plain.push_front(g);
        }
    }

    fn is_empty(&self) -> bool {
        self.hidden.is_empty() && self.plain.is_empty()
    }

    /// Whether a job is ready for the next turn: while the listing goes on only full jobs
    /// are.
    fn ready(&self, listing: bool) -> bool {
        let chain = match self.fallback.active() {
            true => GROUPS_PER_BATCH,
            false => IDS_PER_CHAIN,
        };
        match listing {
            true => self.hidden.len() >= GROUPS_PER_BATCH || self.plain.len() >= chain,
            false => !self.hidden.is_empty() || !self.plain.is_empty(),
        }
    }

    /// The job for a turn. Hidden groups go first: one `$batch` each, and the large groups
    /// among them are found early.
    fn take(&mut self, listing: bool, turns: usize) -> Option<Job> {
        if !self.ready(listing) {
            return None;
        }
        if self.hidden.len() >= GROUPS_PER_BATCH || (!listing && !self.hidden.is_empty()) {
            let n = self.hidden.len().min(GROUPS_PER_BATCH);
            return Some(Job::PerGroup(self.hidden.drain(..n).collect()));
        }
        if self.fallback.active() {
            let n = self.plain.len().min(GROUPS_PER_BATCH);
            return Some(Job::PerGroup(self.plain.drain(..n).collect()));
        }
        let n = match listing {
            true => IDS_PER_CHAIN,
            false => guided_chain(self.plain.len(), turns),
        };
        Some(Job::Chain(self.plain.drain(..n).collect()))
    }
}

/// Groups the next chain takes when `waiting` groups wait and the listing is done: a
/// share that leaves about [`ROUNDS`] more rounds of chains on every turn, between
/// [`MIN_CHAIN`] (about one page of references) and 50. (Chains share the in-flight slots with large
/// groups' parts, so one round takes longer than a chain alone would.)
fn guided_chain(waiting: usize, turns: usize) -> usize {
    waiting
        .div_ceil(turns * ROUNDS)
        .clamp(MIN_CHAIN, IDS_PER_CHAIN)
        .min(waiting)
}

/// The jobs a finished task left behind; on its failure, every other task is stopped.
async fn finished(
    joined: Result<Result<Vec<Job>, ExtractError>, tokio::task::JoinError>,
    tasks: &mut JoinSet<Result<Vec<Job>, ExtractError>>,
) -> Result<Vec<Job>, ExtractError> {
    let failure = match joined {
        Ok(Ok(next)) => return Ok(next),
        Ok(Err(e)) => e,
        Err(e) => ExtractError::Internal {
            what: "a membership task".into(),
            detail: e.to_string(),
        },
    };
    tasks.shutdown().await;
    Err(failure)
}

async fn wait_for_users(users_done: &mut watch::Receiver<bool>) -> Result<(), ExtractError> {
    match users_done.wait_for(|done| *done).await {
        Ok(_) => Ok(()),
        Err(_) => Err(ExtractError::Cancelled),
    }
}

/// Runs one job; returns the jobs it leaves behind.
async fn run_job(
    worker: &GroupWorker,
    names: &Names,
    plain: &PlainMemberships,
    mut users_done: watch::Receiver<bool>,
    large: usize,
    job: Job,
) -> Result<Vec<Job>, ExtractError> {
    match job {
        Job::PerGroup(groups) => {
            // A list longer than a page would be one long chain: read it in parts instead.
            let mut large = Vec::new();
            for (group, first) in groups.iter().zip(worker.first_pages(&groups).await) {
                let long = first[0]
                    .as_ref()
                    .is_ok_and(|page| page.get("@odata.nextLink").is_some());
                match long {
                    true => large.push(Job::Large(group.clone())),
                    false => worker.finish_lists(group, first).await?,
                }
            }
            Ok(large)
        }
        Job::Large(group) => {
            // The split follows how the listed users' principal names start.
            wait_for_users(&mut users_done).await?;
            read_large(worker, names, &group).await.map(|()| Vec::new())
        }
        Job::Write(lists) => {
            wait_for_users(&mut users_done).await?;
            write_chain(worker, names, plain, lists).await
        }
        Job::Chain(groups) if plain.active() => Ok(vec![Job::Chain(groups)]),
        Job::Chain(groups) => {
            let (started, n) = (std::time::Instant::now(), groups.len());
            let end = match delta::read_chain(&worker.client, groups.clone(), large).await {
                Ok(end) => end,
                Err(GraphError::Cancelled) => return Err(ExtractError::Cancelled),
                Err(e) => {
                    plain.fall_back(&worker.progress, "groups/delta", &e);
                    // Back to the queue, which now hands them out per group.
                    return Ok(vec![Job::Chain(groups)]);
                }
            };
            if started.elapsed() > std::time::Duration::from_secs(5) {
                // What holds up the end of a run, for BENCHMARKS.md's analyses.
                tracing::info!(groups = n, took = ?started.elapsed(), at = ?worker.progress.elapsed(), "slow delta chain");
            }
            match end {
                ChainEnd::Split {
                    large,
                    rest,
                    restarts,
                } => {
                    note_chain_restarts(&worker.progress, restarts);
                    tracing::info!(group = large.id(), at = ?worker.progress.elapsed(), "large group left its delta chain");
                    let mut next = vec![Job::Large(large)];
                    if !rest.is_empty() {
                        next.push(Job::Chain(rest));
                    }
                    Ok(next)
                }
                ChainEnd::Complete {
                    lists,
                    missing,
                    restarts,
                } => {
                    note_chain_restarts(&worker.progress, restarts);
                    // The lists wait, without holding a chain's turn, to be written with
                    // other chains' (see `Held`).
                    let mut next: Vec<Job> = missing
                        .chunks(GROUPS_PER_BATCH)
                        .map(|c| Job::PerGroup(c.to_vec()))
                        .collect();
                    next.push(Job::Write(lists));
                    Ok(next)
                }
            }
        }
    }
}

/// Looks up the names nobody listed, then writes each group's members, owners and row.
/// When the lookup fails the groups go back to be read per group.
async fn write_chain(
    worker: &GroupWorker,
    names: &Names,
    plain: &PlainMemberships,
    lists: Vec<(Arc<GroupRecord>, Lists)>,
) -> Result<Vec<Job>, ExtractError> {
    let refs: Vec<&Ref> = lists
        .iter()
        .flat_map(|(_, l)| l.members.iter().chain(&l.owners))
        .collect();
    match names.look_up(&worker.client, &refs).await {
        Ok(()) => {}
        Err(GraphError::Cancelled) => return Err(ExtractError::Cancelled),
        Err(e) => {
            plain.fall_back(
                &worker.progress,
                "getByIds (the names of members that are neither users nor groups)",
                &e,
            );
            return Ok(vec![Job::Chain(
                lists.into_iter().map(|(g, _)| g).collect(),
            )]);
        }
    }
    for (group, lists) in lists {
        write_lists(worker, names, &group, lists).await?;
    }
    Ok(Vec::new())
}

fn note_chain_restarts(progress: &Progress, restarts: u32) {
    if restarts > 0 {
        progress.note(format!(
            "a groups/delta chain restarted from its first page {restarts} time(s) after Graph expired its page token (400 Directory_ExpiredPageToken)"
        ));
    }
}

/// Writes one group's members and owners from its delta references, then its row.
async fn write_lists(
    worker: &GroupWorker,
    names: &Names,
    group: &Arc<GroupRecord>,
    lists: Lists,
) -> Result<(), ExtractError> {
    let mut counts = [0u64; 2];
    for (slot, (kind, refs)) in counts.iter_mut().zip([
        (ListKind::Members, lists.members),
        (ListKind::Owners, lists.owners),
    ]) {
        let (items, unresolved) = names.objects(&dedup(&refs));
        if unresolved > 0 {
            worker.progress.note(format!(
                "{unresolved} {} of group {} could not be looked up (deleted during the run?); their rows carry only the id and type",
                kind.segment(),
                group.id()
            ));
        }
        *slot = items.len() as u64;
        if !items.is_empty() {
            let op = WriteOp::Edges {
                kind,
                group: group.clone(),
                items,
            };
            send(&worker.tx, op).await?;
        }
    }
    let op = WriteOp::Group {
        group: group.clone(),
        counts: GroupCounts {
            members: MemberCount::Known(counts[0]),
            owners: Some(counts[1]),
        },
    };
    send(&worker.tx, op).await
}

/// A reference repeated across delta pages counts once. Borrowed: a run dedups every one
/// of its million references, and cloning each id was a visible share of its CPU.
fn dedup(refs: &[Ref]) -> Vec<&Ref> {
    let mut seen = HashSet::with_capacity(refs.len());
    refs.iter().filter(|r| seen.insert(&r.id)).collect()
}

/// A group too large for a delta chain: parallel chains by member type and UPN prefix whose
/// `$count`s must add up to the group's (or per-group pages of 999 when they do not).
async fn read_large(
    worker: &GroupWorker,
    names: &Names,
    group: &Arc<GroupRecord>,
) -> Result<(), ExtractError> {
    let client = &worker.client;
    let members_path = format!("/groups/{}/members", group.id());
    let plan = match split_plan(client, &members_path, names.upn_histogram()).await {
        Ok(plan) => plan,
        Err(GraphError::Cancelled) => return Err(ExtractError::Cancelled),
        Err(e) => {
            tracing::warn!(error = %e, group = group.id(), "cannot split the member list");
            worker.progress.note(format!(
                "the members of group {} could not be counted for reading in parallel parts ({e}); they were read in one listing",
                group.id()
            ));
            None
        }
    };
    let started = std::time::Instant::now();
    let Some((total, urls)) = plan else {
        worker.fetch_lists(std::slice::from_ref(group)).await?;
        tracing::info!(group = group.id(), took = ?started.elapsed(), "large group read per group");
        return Ok(());
    };
    tracing::info!(
        group = group.id(),
        total,
        chains = urls.len(),
        "large group split"
    );
    let mut seen = Seen::default();
    let chains = Chains::spawn(client, urls, &worker.progress, "members");
    let short = match copy_members(worker, group, chains, &mut seen).await? {
        Ok(()) => (seen.len() < total).then(|| {
            // The group changed meanwhile.
            format!("came to {} of {total}", seen.len())
        }),
        Err(GraphError::Cancelled) => return Err(ExtractError::Cancelled),
        // A part the service keeps refusing (or the group is gone, which the whole list
        // then says): only the split failed.
        Err(e) => Some(format!("could not all be read ({e})")),
    };
    let mut members = Ok(());
    if let Some(why) = short {
        // Read the whole list once more, keeping only members not written yet.
        worker.progress.note(format!(
            "the members of group {} read in parallel parts {why}; the rest were read in one listing",
            group.id()
        ));
        let whole = vec![format!(
            "{members_path}?$select={EDGE_SELECT}&$top={PAGE_SIZE}"
        )];
        let chains = Chains::spawn(client, whole, &worker.progress, "members");
        members = copy_members(worker, group, chains, &mut seen).await?;
    }
    let members = match members {
        Ok(()) => ListOutcome::Complete(seen.len()),
        Err(e) => worker.classify(group, ListKind::Members, e, seen.len())?,
    };
    let owners_url = super::per_group::list_url(group.id(), ListKind::Owners);
    let first = client.get_json(&owners_url).await;
    let owners = worker.finish_list(group, ListKind::Owners, first).await?;
    worker.finish_group(group, members, owners).await?;
    tracing::info!(group = group.id(), total, took = ?started.elapsed(), at = ?worker.progress.elapsed(), "large group read");
    Ok(())
}

/// Writes the members the chains return that were not written before, until every chain
/// ended or one failed: its error is the inner one, for the caller to judge.
async fn copy_members(
    worker: &GroupWorker,
    group: &Arc<GroupRecord>,
    mut chains: Chains,
    seen: &mut Seen,
) -> Result<Result<(), GraphError>, ExtractError> {
    while let Some(page) = chains.next().await {
        let items = match page {
            Ok(items) => seen.keep_new(items),
            Err(e) => return Ok(Err(e)),
        };
        if !items.is_empty() {
            let op = WriteOp::Edges {
                kind: ListKind::Members,
                group: group.clone(),
                items: items.iter().map(EdgeObject::from_graph).collect(),
            };
            send(&worker.tx, op).await?;
        }
    }
    Ok(Ok(()))
}

/// For a group above [`PART_MEMBERS`] members: its member count and the first URLs of
/// chains that together list every member once (users by the UPN prefixes `upns` foresees,
/// other types by cast), or `None` when the group is smaller or the casts' counts do not add
/// up to the group's.
async fn split_plan(
    client: &GraphClient,
    members_path: &str,
    upns: &Histogram,
) -> Result<Option<(u64, Vec<String>)>, GraphError> {
    let cast_path = |t: &str| format!("{members_path}/microsoft.graph.{t}");
    let casts = std::iter::once("user").chain(OTHER_MEMBER_TYPES);
    let (total, parts) = futures::future::try_join(
        client.count_query(&format!("{members_path}/$count")),
        try_join_all(casts.map(|t| {
            let path = format!("{}/$count", cast_path(t));
            async move { client.count_query(&path).await }
        })),
    )
    .await?;
    if total <= PART_MEMBERS || parts.iter().sum::<u64>() != total {
        return Ok(None);
    }
    let query = format!("$select={EDGE_SELECT}&$top={PAGE_SIZE}&$count=true");
    let users = Partition {
        path: cast_path("user"),
        property: "userPrincipalName",
        alphabet: UPN_FIRST,
    };
    let mut urls = users.chains(&upns.prefixes(parts[0], PART_MEMBERS), &query);
    for (t, n) in OTHER_MEMBER_TYPES.iter().zip(&parts[1..]) {
        if *n > 0 {
            urls.push(format!("{}?{query}", cast_path(t)));
        }
    }
    Ok(Some((total, urls)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(id: &str, hidden: bool) -> Arc<GroupRecord> {
        let schema = Schema::default();
        let visibility = if hidden {
            "HiddenMembership"
        } else {
            "Private"
        };
        let g = json!({"id": id, "displayName": id, "visibility": visibility});
        Arc::new(GroupRecord::from_value(&schema, &g).unwrap())
    }

    fn ids(job: &Job) -> (&'static str, Vec<String>) {
        let (kind, groups) = match job {
            Job::Chain(g) => ("chain", g),
            Job::PerGroup(g) => ("per-group", g),
            _ => panic!("not a queued job"),
        };
        (kind, groups.iter().map(|g| g.id().to_string()).collect())
    }

    fn lists(refs: usize) -> Vec<(Arc<GroupRecord>, Lists)> {
        let members = (0..refs)
            .map(|i| Ref {
                id: crate::graph::ObjectKey::of(&format!("m{i}")),
                object_type: std::borrow::Cow::Borrowed("user"),
            })
            .collect();
        let lists = Lists {
            members,
            owners: Vec::new(),
        };
        vec![(group("g", false), lists)]
    }

    #[test]
    fn chains_lists_are_held_until_enough_or_the_last_chains() {
        let mut held = Held::default();
        assert!(
            !held.due(true, true, true),
            "nothing held, nothing to write"
        );
        held.add(lists(HELD_REFS - 1));
        assert!(!held.due(false, false, true), "chains go on: hold");
        assert!(held.due(true, false, true), "no chain left to start: write");
        assert!(
            !held.due(true, false, false),
            "the names are not listed yet"
        );
        assert!(
            held.due(false, true, false),
            "nothing else runs: write (and wait there)"
        );
        held.add(lists(1));
        assert!(held.due(false, false, true), "enough held");
        assert_eq!(held.take().len(), 2);
        assert!(!held.due(false, true, true));
        held.add(lists(1));
        assert!(
            !held.due(false, false, true),
            "take() starts the count again"
        );
    }

    #[test]
    fn chains_shrink_as_the_waiting_groups_run_out_after_the_listing() {
        // 32 turns, four rounds: a full chain while more than 6,272 (49 × 128) wait.
        assert_eq!(guided_chain(20_000, 32), 50);
        assert_eq!(guided_chain(3_200, 32), 25);
        assert_eq!(guided_chain(200, 32), 10);
        assert_eq!(guided_chain(7, 32), 7);
    }

    #[test]
    fn while_listing_only_full_jobs_are_ready_then_every_group_goes() {
        let mut q = Queue::new(Arc::default());
        for i in 0..IDS_PER_CHAIN - 1 {
            q.push(group(&format!("p{i}"), false));
        }
        for i in 0..GROUPS_PER_BATCH - 1 {
            q.push(group(&format!("h{i}"), true));
        }
        assert!(!q.ready(true));
        assert!(q.take(true, 32).is_none());
        q.push(group("p49", false));
        let (kind, chain) = ids(&q.take(true, 32).unwrap());
        assert_eq!((kind, chain.len()), ("chain", IDS_PER_CHAIN));
        // The listing is done: the hidden groups go first, then the rest in small chains.
        q.put_back(vec![group("back1", false), group("back2", false)]);
        for i in 0..30 {
            q.push(group(&format!("late{i}"), false));
        }
        let (kind, hidden) = ids(&q.take(false, 32).unwrap());
        assert_eq!((kind, hidden.len()), ("per-group", GROUPS_PER_BATCH - 1));
        let (kind, chain) = ids(&q.take(false, 32).unwrap());
        assert_eq!(kind, "chain");
        assert_eq!(chain.len(), MIN_CHAIN);
        assert_eq!(&chain[..2], ["back1", "back2"], "a split's groups go first");
        let mut rest = 0;
        while let Some(job) = q.take(false, 32) {
            rest += ids(&job).1.len();
        }
        assert_eq!(rest, 32 - MIN_CHAIN);
        assert!(!q.ready(false));
    }

    #[test]
    fn once_memberships_fall_back_the_queue_hands_out_per_group_jobs() {
        let fallback = Arc::new(PlainMemberships::default());
        let mut q = Queue::new(fallback.clone());
        for i in 0..GROUPS_PER_BATCH {
            q.push(group(&format!("p{i}"), false));
        }
        assert!(!q.ready(true), "a chain waits for 50 groups");
        fallback.0.store(true, Ordering::Relaxed);
        let (kind, groups) = ids(&q.take(true, 32).unwrap());
        assert_eq!((kind, groups.len()), ("per-group", GROUPS_PER_BATCH));
    }
}
