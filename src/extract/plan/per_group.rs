//! The per-group request plan (`--plan per-group`): users and groups paged in one chain
//! each, while a pool of workers asks for the first page of up to [`GROUPS_PER_BATCH`]
//! groups' members and owners in one `$batch` (most groups are small, so one round trip
//! finishes ten of them); longer lists continue through their `@odata.nextLink`.
//!
//! It is the plain plan every Graph client can follow, kept for diagnosis, and the fast
//! plan's fallback for a group whose list it cannot read otherwise.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;

use super::{AttributePresence, LISTING_RESTARTS, PAGE_SIZE, note_restarts};
use crate::extract::access::Access;
use crate::extract::error::ExtractError;
use crate::extract::listed::Listed;
use crate::extract::progress::{Phase, Progress, Warning};
use crate::extract::rows::EdgeObject;
use crate::extract::schema::{EDGE_SELECT, GroupCounts, GroupRecord, MemberCount, Schema};
use crate::extract::writer::{ListKind, WriteOp, join_all, send};
use crate::graph::{BatchRequest, GraphClient, GraphError};

/// Groups whose first member and owner pages share one `$batch` (2 requests each, ≤ 20).
pub const GROUPS_PER_BATCH: usize = 10;

/// Lists users and groups and fetches every group's members and owners.
pub(crate) async fn fetch_all(
    client: &GraphClient,
    schema: &Arc<Schema>,
    access: Access,
    workers: usize,
    tx: mpsc::Sender<WriteOp>,
    progress: &Arc<Progress>,
) -> Result<(), ExtractError> {
    progress.set_phase(Phase::Users);
    let (group_tx, group_rx) = mpsc::channel::<Arc<GroupRecord>>(GROUPS_PER_BATCH * workers * 2);
    let group_rx = Arc::new(Mutex::new(group_rx));
    let mut tasks: JoinSet<Result<(), ExtractError>> = JoinSet::new();

    {
        let (client, tx, schema) = (client.clone(), tx.clone(), schema.clone());
        let progress = progress.clone();
        let mut presence = AttributePresence::new(schema.user_extras());
        tasks.spawn(async move {
            let mut pager = client
                .pager_of::<Listed>(&format!(
                    "/users?$select={}&$top={PAGE_SIZE}",
                    schema.user_select()
                ))
                .restart_on_expired_page_token(LISTING_RESTARTS);
            while let Some(page) = pager.next_page().await {
                let page = page.map_err(|e| ExtractError::from_graph(e, "users"))?;
                presence.observe(&page.items);
                let rows = page.items.iter().map(|u| schema.user_row(u)).collect();
                send(&tx, WriteOp::Users(rows)).await?;
            }
            note_restarts(&progress, &pager, "the user listing");
            presence.warn(&progress, "user");
            progress.set_phase(Phase::Memberships);
            Ok(())
        });
    }
    {
        let (client, schema, progress) = (client.clone(), schema.clone(), progress.clone());
        tasks.spawn(async move {
            let select = schema.group_select();
            let mut presence = AttributePresence::new(schema.group_extras());
            let mut pager = client
                .pager_of::<Listed>(&format!("/groups?$select={select}&$top={PAGE_SIZE}"))
                .restart_on_expired_page_token(LISTING_RESTARTS);
            while let Some(page) = pager.next_page().await {
                let page = page.map_err(|e| ExtractError::from_graph(e, "groups"))?;
                presence.observe(&page.items);
                for group in &page.items {
                    let record = Arc::new(GroupRecord::from_value(&schema, group)?);
                    progress.add_groups(1);
                    if group_tx.send(record).await.is_err() {
                        return Ok(()); // the workers stopped on an error reported elsewhere
                    }
                }
            }
            note_restarts(&progress, &pager, "the group listing");
            presence.warn(&progress, "group");
            Ok(())
        });
    }
    for _ in 0..workers.max(1) {
        let worker = GroupWorker {
            client: client.clone(),
            tx: tx.clone(),
            progress: progress.clone(),
            access,
        };
        let group_rx = group_rx.clone();
        tasks.spawn(async move {
            let mut batch = Vec::with_capacity(GROUPS_PER_BATCH);
            loop {
                batch.clear();
                if group_rx
                    .lock()
                    .await
                    .recv_many(&mut batch, GROUPS_PER_BATCH)
                    .await
                    == 0
                {
                    return Ok(());
                }
                worker.fetch_lists(&batch).await?;
            }
        });
    }
    drop(tx);

    join_all(tasks).await
}

/// How one member or owner list ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListOutcome {
    Complete(u64),
    /// Hidden membership without Member.Read.Hidden: 403, or an empty answer we can't trust.
    Unreadable,
    /// 404: the group was deleted after it was listed; `partial` rows of this list were
    /// already written (earlier pages, or the members before the owners 404'd).
    Deleted {
        partial: u64,
    },
}

/// The lists a group's batch asks for, in this order.
const LIST_KINDS: [ListKind; 2] = [ListKind::Members, ListKind::Owners];

/// The answers to a group's first members page and first owners page.
pub(super) type FirstPages = [Result<Value, GraphError>; 2];

pub(super) struct GroupWorker {
    pub(super) client: GraphClient,
    pub(super) tx: mpsc::Sender<WriteOp>,
    pub(super) progress: Arc<Progress>,
    pub(super) access: Access,
}

impl GroupWorker {
    /// Fetches members and owners of up to ten groups: first pages in one batch, the rest
    /// by paging.
    pub(super) async fn fetch_lists(
        &self,
        groups: &[Arc<GroupRecord>],
    ) -> Result<(), ExtractError> {
        for (group, first) in groups.iter().zip(self.first_pages(groups).await) {
            self.finish_lists(group, first).await?;
        }
        Ok(())
    }

    /// The first page of the members and of the owners of each group, in one batch.
    pub(super) async fn first_pages(&self, groups: &[Arc<GroupRecord>]) -> Vec<FirstPages> {
        let requests = groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| {
                LIST_KINDS.iter().map(move |k| {
                    BatchRequest::get(format!("{i}{}", &k.segment()[..1]), list_url(g.id(), *k))
                })
            })
            .collect();
        let mut responses = self.client.batch(requests).await.into_iter();
        let mut next = || {
            responses
                .next()
                .map(|r| r.into_json())
                .unwrap_or(Err(GraphError::Decode {
                    what: "a batch".into(),
                    message: "fewer responses than requests".into(),
                }))
        };
        groups.iter().map(|_| [next(), next()]).collect()
    }

    /// Writes a group's members and owners from their first pages on, then its row.
    pub(super) async fn finish_lists(
        &self,
        group: &Arc<GroupRecord>,
        first: FirstPages,
    ) -> Result<(), ExtractError> {
        let mut outcomes = [ListOutcome::Deleted { partial: 0 }; 2];
        for ((slot, kind), first) in outcomes.iter_mut().zip(LIST_KINDS).zip(first) {
            *slot = self.finish_list(group, kind, first).await?;
        }
        self.finish_group(group, outcomes[0], outcomes[1]).await
    }

    /// Writes the first page (from the batch) and the rest of the list through a pager.
    pub(super) async fn finish_list(
        &self,
        group: &Arc<GroupRecord>,
        kind: ListKind,
        first: Result<Value, GraphError>,
    ) -> Result<ListOutcome, ExtractError> {
        let mut total = 0u64;
        let body = match first {
            Ok(body) => body,
            Err(e) => return self.classify(group, kind, e, total),
        };
        let mut pager = self
            .client
            .pager_from::<Listed>(&list_url(group.id(), kind), body)
            .restart_on_expired_page_token(LISTING_RESTARTS);
        while let Some(page) = pager.next_page().await {
            let items = match page {
                Ok(page) => page.items,
                Err(e) => return self.classify(group, kind, e, total),
            };
            total += items.len() as u64;
            if !items.is_empty() {
                let op = WriteOp::Edges {
                    kind,
                    group: group.clone(),
                    items: items.iter().map(EdgeObject::from_graph).collect(),
                };
                send(&self.tx, op).await?;
            }
        }
        let what = format!("the {} of group {}", kind.segment(), group.id());
        note_restarts(&self.progress, &pager, &what);
        let hidden_unreadable = kind == ListKind::Members
            && total == 0
            && !self.access.reads_members(group.is_hidden_membership());
        Ok(if hidden_unreadable {
            ListOutcome::Unreadable
        } else {
            ListOutcome::Complete(total)
        })
    }

    /// Maps a list error to an outcome, or to a fatal error; `written` rows of the list are
    /// already in the file.
    pub(super) fn classify(
        &self,
        group: &GroupRecord,
        kind: ListKind,
        e: GraphError,
        written: u64,
    ) -> Result<ListOutcome, ExtractError> {
        match e {
            GraphError::Cancelled => Err(ExtractError::Cancelled),
            e if e.status() == Some(404) => Ok(ListOutcome::Deleted { partial: written }),
            e if e.is_access_denied()
                && kind == ListKind::Members
                && group.is_hidden_membership() =>
            {
                Ok(ListOutcome::Unreadable)
            }
            e => Err(ExtractError::from_graph(
                e,
                &format!("the {} of group {}", kind.segment(), group.id()),
            )),
        }
    }

    pub(super) async fn finish_group(
        &self,
        group: &Arc<GroupRecord>,
        members: ListOutcome,
        owners: ListOutcome,
    ) -> Result<(), ExtractError> {
        let (id, name) = (group.id(), group.display_name());
        let gone = |o: ListOutcome| matches!(o, ListOutcome::Deleted { .. });
        if gone(members) || gone(owners) {
            let mut warning = Warning::group_deleted(id, name);
            let nothing_written = |o: ListOutcome| o == ListOutcome::Deleted { partial: 0 };
            if !(nothing_written(members) && nothing_written(owners)) {
                // Some rows made it into the files: say which, rather than "none".
                warning.detail = format!(
                    "group \"{name}\" was deleted during the extraction; {}; {}",
                    deleted_list_note("members", members),
                    deleted_list_note("owners", owners)
                );
            }
            self.progress.warn(warning);
        } else if members == ListOutcome::Unreadable {
            self.progress
                .warn(Warning::hidden_membership_unreadable(id, name));
        }
        let counts = GroupCounts {
            members: match members {
                ListOutcome::Complete(n) => MemberCount::Known(n),
                ListOutcome::Unreadable | ListOutcome::Deleted { .. } => MemberCount::Unreadable,
            },
            owners: match owners {
                ListOutcome::Complete(n) => Some(n),
                ListOutcome::Unreadable | ListOutcome::Deleted { .. } => None,
            },
        };
        let op = WriteOp::Group {
            group: group.clone(),
            counts,
        };
        send(&self.tx, op).await
    }
}

/// What the files hold of one list of a group deleted during the run.
fn deleted_list_note(list: &str, outcome: ListOutcome) -> String {
    match outcome {
        ListOutcome::Complete(n) => format!("its {n} {list} were read before it disappeared"),
        ListOutcome::Deleted { partial: 0 } => format!("its {list} are not in the files"),
        ListOutcome::Deleted { partial } => {
            format!("only the first {partial} of its {list} are in the files")
        }
        ListOutcome::Unreadable => format!("its {list} could not be read"),
    }
}

/// First page of a group's members or owners, with only the columns the CSV needs.
pub(super) fn list_url(group_id: &str, kind: ListKind) -> String {
    format!(
        "/groups/{group_id}/{}?$select={EDGE_SELECT}&$top={PAGE_SIZE}",
        kind.segment()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_list_notes_say_what_is_in_the_files() {
        assert_eq!(
            deleted_list_note("members", ListOutcome::Complete(3)),
            "its 3 members were read before it disappeared"
        );
        assert_eq!(
            deleted_list_note("owners", ListOutcome::Deleted { partial: 0 }),
            "its owners are not in the files"
        );
        assert_eq!(
            deleted_list_note("members", ListOutcome::Deleted { partial: 999 }),
            "only the first 999 of its members are in the files"
        );
    }

    #[test]
    fn list_urls_select_edge_columns_with_full_pages() {
        assert_eq!(
            list_url("g1", ListKind::Owners),
            "/groups/g1/owners?$select=id,displayName,userPrincipalName&$top=999"
        );
    }
}
