//! Headless progress on stderr: live bars on a terminal, a plain line every few seconds
//! otherwise (cron mail and journald stay readable). Reads snapshots; never slows the run.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::extract::progress::ProgressSnapshot;

/// A source of snapshots, e.g. `move || progress.snapshot()`.
pub type SnapshotFn = Arc<dyn Fn() -> ProgressSnapshot + Send + Sync>;

/// How often a plain (non-TTY) progress line is printed.
const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

/// Prints progress until `stop` is cancelled; returns the task so the caller can await the
/// final redraw.
pub fn spawn(source: SnapshotFn, stop: CancellationToken, quiet: bool) -> JoinHandle<()> {
    tokio::spawn(async move {
        if quiet {
            stop.cancelled().await;
        } else if std::io::stderr().is_terminal() {
            bars(source, stop).await;
        } else {
            plain(source, stop).await;
        }
    })
}

async fn plain(source: SnapshotFn, stop: CancellationToken) {
    let mut tick = tokio::time::interval(PLAIN_INTERVAL);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => crate::errln!("{}", plain_line(&source())),
        }
    }
}

/// One line summarising progress, for logs and non-terminal stderr.
pub fn plain_line(s: &ProgressSnapshot) -> String {
    format!(
        "[{:>5}s] {:?}: users {}, groups {}, member lists {}/{} ({} edges), owner lists {}/{} ({} edges), requests {}, retries {}, throttled {}, warnings {}",
        s.elapsed.as_secs(),
        s.phase,
        of(s.users_done, s.users_total),
        of(s.groups_done, s.groups_total),
        s.member_lists_done,
        total(s.groups_total),
        s.member_edges,
        s.owner_lists_done,
        total(s.groups_total),
        s.owner_edges,
        s.stats.requests,
        s.stats.retries,
        s.stats.throttled,
        s.warnings.len(),
    )
}

fn of(done: u64, total_count: Option<u64>) -> String {
    format!("{done}/{}", total(total_count))
}

fn total(t: Option<u64>) -> String {
    t.map_or_else(|| "?".to_string(), |t| t.to_string())
}

async fn bars(source: SnapshotFn, stop: CancellationToken) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
    let style = ProgressStyle::with_template("{prefix:>13} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = |name: &str| {
        let b = multi.add(ProgressBar::new(0));
        b.set_style(style.clone());
        b.set_prefix(name.to_string());
        b
    };
    let users = bar("users");
    let groups = bar("groups");
    let members = bar("member lists");
    let owners = bar("owner lists");
    let status = multi.add(ProgressBar::new_spinner());
    let mut tick = tokio::time::interval(Duration::from_millis(125));
    loop {
        let s = source();
        let gt = s.groups_total.unwrap_or(s.groups_done);
        users.set_length(s.users_total.unwrap_or(s.users_done));
        users.set_position(s.users_done);
        groups.set_length(gt);
        groups.set_position(s.groups_done);
        members.set_length(gt);
        members.set_position(s.member_lists_done);
        members.set_message(format!("{} edges", s.member_edges));
        owners.set_length(gt);
        owners.set_position(s.owner_lists_done);
        owners.set_message(format!("{} edges", s.owner_edges));
        status.set_message(format!(
            "{:?} · {} requests · {} retries · {} throttled · {} warnings",
            s.phase,
            s.stats.requests,
            s.stats.retries,
            s.stats.throttled,
            s.warnings.len()
        ));
        status.tick();
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
    }
    let _ = multi.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::progress::Phase;

    #[test]
    fn plain_line_shows_unknown_totals_as_question_marks() {
        let s = ProgressSnapshot {
            users_done: 5,
            users_total: Some(10),
            groups_done: 2,
            member_lists_done: 1,
            member_edges: 7,
            phase: Phase::Memberships,
            elapsed: Duration::from_secs(3),
            ..Default::default()
        };
        let line = plain_line(&s);
        assert!(line.contains("users 5/10"), "{line}");
        assert!(line.contains("groups 2/?"), "{line}");
        assert!(line.contains("member lists 1/? (7 edges)"), "{line}");
        assert!(line.starts_with("[    3s] Memberships"), "{line}");
    }
}
