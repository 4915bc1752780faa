//! The writer stage: the request plans hand rows ([`WriteOp`]) through a bounded channel to
//! one blocking task that owns the CSV files, so memory stays flat however large the tenant
//! and disk I/O never runs on the async workers.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::error::ExtractError;
use super::output::{OutputError, OutputSet};
use super::progress::Progress;
use super::rows::{EdgeObject, EdgeRow, Row};
use super::schema::{GroupCounts, GroupRecord};

/// Pages buffered between the fetchers and the writer: bounds memory, applies backpressure.
const WRITE_QUEUE: usize = 64;

/// Which list of a group an edge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Members,
    Owners,
}

impl ListKind {
    pub(crate) fn segment(self) -> &'static str {
        match self {
            ListKind::Members => "members",
            ListKind::Owners => "owners",
        }
    }
}

/// What the fetchers hand to the writer.
pub(crate) enum WriteOp {
    Users(Vec<Row>),
    Edges {
        kind: ListKind,
        group: Arc<GroupRecord>,
        items: Vec<EdgeObject>,
    },
    Group {
        group: Arc<GroupRecord>,
        counts: GroupCounts,
    },
}

/// Starts the writer task on `set`: the plans send into the channel; the task returns the
/// set once every sender is dropped.
pub(super) fn spawn(
    set: OutputSet,
    progress: &Arc<Progress>,
) -> (
    mpsc::Sender<WriteOp>,
    JoinHandle<Result<OutputSet, OutputError>>,
) {
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    let progress = progress.clone();
    let task = tokio::task::spawn_blocking(move || write_all(set, rx, &progress));
    (tx, task)
}

/// The writer task: owns the files until the channel closes, then hands the set back for
/// commit or abort. On a write error it aborts at once and returns the error; the closed
/// channel then stops the fetchers.
fn write_all(
    mut set: OutputSet,
    mut rx: mpsc::Receiver<WriteOp>,
    progress: &Progress,
) -> Result<OutputSet, OutputError> {
    while let Some(op) = rx.blocking_recv() {
        let written = match op {
            WriteOp::Users(users) => users
                .iter()
                .try_for_each(|u| set.users().write(u))
                .map(|()| progress.add_users(users.len() as u64)),
            WriteOp::Edges { kind, group, items } => {
                let (sink, add): (_, fn(&Progress, u64)) = match kind {
                    ListKind::Members => (set.members(), Progress::add_member_edges),
                    ListKind::Owners => (set.owners(), Progress::add_owner_edges),
                };
                let (id, name) = (group.id(), group.display_name());
                items
                    .iter()
                    .try_for_each(|o| sink.write(&EdgeRow::of(id, name, o)))
                    .map(|()| add(progress, items.len() as u64))
            }
            WriteOp::Group { group, counts } => set.groups().write(&group, counts).map(|()| {
                progress.member_list_done();
                progress.owner_list_done();
            }),
        };
        if let Err(e) = written {
            let _ = set.abort();
            return Err(e);
        }
    }
    Ok(set)
}

pub(crate) async fn send(tx: &mpsc::Sender<WriteOp>, op: WriteOp) -> Result<(), ExtractError> {
    // The writer only hangs up after a write error, which it reports itself.
    tx.send(op).await.map_err(|_| ExtractError::Internal {
        what: "the CSV writer".into(),
        detail: "stopped early".into(),
    })
}

/// Waits for every task; the first error (or a task that panicked) stops the others.
pub(crate) async fn join_all(
    mut tasks: JoinSet<Result<(), ExtractError>>,
) -> Result<(), ExtractError> {
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined.unwrap_or_else(|e| {
            Err(ExtractError::Internal {
                what: "an extraction task".into(),
                detail: e.to_string(),
            })
        });
        if let Err(e) = outcome {
            tasks.shutdown().await;
            return Err(e);
        }
    }
    Ok(())
}
