//! Per-object progress counters. The extraction updates them with relaxed atomics; any
//! front end (headless bars, the TUI) takes a [`ProgressSnapshot`] whenever it redraws,
//! so progress never floods an event queue or slows the run.

use std::time::Duration;

use serde::Serialize;

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
    /// HTTP requests sent (batch items count individually), retries, and 429 answers.
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    /// Graph resource units spent, from `x-ms-resource-unit`.
    pub resource_units: u64,
    /// Time since the extraction started.
    pub elapsed: Duration,
    /// Warnings so far (unreadable hidden memberships, groups deleted mid-run, ...).
    pub warnings: Vec<Warning>,
    /// The current phase, for status lines.
    pub phase: Phase,
}

/// What the extraction is doing now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// The group concerned, when there is one.
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    /// One line for humans.
    pub detail: String,
}

/// Kinds of warnings, so summaries can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Members of a HiddenMembership group could not be read (Member.Read.Hidden missing).
    HiddenMembershipUnreadable,
    /// The group was deleted between listing and member/owner fetch.
    GroupDeleted,
    /// Anything else worth a line in the summary.
    Other,
}
