//! The progress screen of a running extraction: per-object counts, request and
//! resource-unit rates, throttling, ETA, warnings, cancel with confirmation.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tokio_util::sync::CancellationToken;

use super::finished::Finished;
use super::rates::Rates;
use super::warnings::{Window, warnings_pane};
use crate::extract::progress::{Phase, ProgressSnapshot};
use crate::tui::action::{Action, Generation};
use crate::tui::app::{Context, Notice};
use crate::tui::screens::{Component, Screen, ScreenKind};
use crate::tui::services::{
    CommitHold, ErrorKind, ExtractionError, ExtractionHandle, ExtractionSummary, ExtractionTarget,
    Hold, Interruption, ProgressSource, ServiceError,
};
use crate::tui::theme::Theme;
use crate::tui::widgets::{clock, count, hang, spinner};

/// Said when cancelling comes too late to keep the previous files.
const ALREADY_WRITTEN: &str =
    "Too late to cancel: the run has already replaced the files; it is finishing.";

/// Said when a further interrupt comes while a committed run finishes.
const FINISHING_THEN_QUIT: &str = "The run has replaced the files and is recording its state and history; the wizard quits as soon as it is done.";

/// A running extraction as the progress screen sees it.
pub struct ExtractionView {
    pub(super) generation: Generation,
    progress: ProgressSource,
    cancel: CancellationToken,
    /// Held while the cancel question is open, so no file is replaced before the answer.
    commit_hold: CommitHold,
    /// Resource units allowed per 10 s for this tenant, when known.
    pub budget_per_10s: Option<u64>,
    /// Latest progress sample.
    pub snapshot: ProgressSnapshot,
    /// Request and resource-unit rates over the last samples.
    pub rates: Rates,
    /// Asking "cancel the extraction?".
    pub confirm_cancel: bool,
    /// The question came from Ctrl-C: confirming also quits the wizard.
    pub quit_when_confirmed: bool,
    /// Cancel requested; waiting for the clean-up.
    pub cancelling: bool,
    /// Asked too late: the run had already replaced the files, nothing is left to cancel.
    pub committed: bool,
}

impl fmt::Debug for ExtractionView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtractionView")
            .field("generation", &self.generation)
            .field("snapshot", &self.snapshot)
            .field("cancelling", &self.cancelling)
            .finish_non_exhaustive()
    }
}

impl ExtractionView {
    pub(super) fn new(generation: Generation, handle: &ExtractionHandle) -> Self {
        let mut view = ExtractionView {
            generation,
            progress: handle.progress.clone(),
            cancel: handle.cancel.clone(),
            commit_hold: handle.commit_hold.clone(),
            budget_per_10s: handle.ru_budget_per_10s,
            snapshot: ProgressSnapshot::default(),
            rates: Rates::default(),
            confirm_cancel: false,
            quit_when_confirmed: false,
            cancelling: false,
            committed: false,
        };
        view.sample();
        view
    }

    /// Take a progress snapshot and update the rates.
    pub fn sample(&mut self) {
        self.snapshot = (self.progress)();
        self.rates.observe(&self.snapshot);
    }

    /// Stop the run through its commit point's gate: before the commit point it is
    /// cancelled and removes its partial files (an open question's hold stays, so it
    /// cannot commit meanwhile); past it, it completes, and the notice says so.
    pub fn interrupt(&mut self, cx: &mut Context) {
        self.confirm_cancel = false;
        match self.commit_hold.interrupt(&self.cancel) {
            Interruption::Stopping => self.cancelling = true,
            Interruption::Committing => self.too_late(cx),
        }
    }

    /// Open the cancel question, holding the run before its commit while it is open; false
    /// (nothing to ask, the notice says why) when the run has already replaced the files.
    fn ask_to_cancel(&mut self, cx: &mut Context, quit_when_confirmed: bool) -> bool {
        match self.commit_hold.hold() {
            Hold::Held => {
                self.confirm_cancel = true;
                self.quit_when_confirmed = quit_when_confirmed;
                true
            }
            Hold::AlreadyCommitted => {
                self.too_late(cx);
                false
            }
        }
    }

    /// Cancelling came too late: nothing is left to cancel, the run is finishing.
    fn too_late(&mut self, cx: &mut Context) {
        self.committed = true;
        cx.notice = Some(Notice::info(ALREADY_WRITTEN));
    }

    /// The user keeps the run: close the question and let the run commit.
    fn keep_running(&mut self) {
        self.confirm_cancel = false;
        self.quit_when_confirmed = false;
        self.commit_hold.release();
    }
}

/// The progress screen's state.
#[derive(Debug)]
pub struct Extracting {
    /// What is being extracted (profile name or tenant), for the header.
    pub label: String,
    /// What this run extracts, so a failed or cancelled run can be retried.
    pub target: ExtractionTarget,
    /// The run, once it has started.
    pub view: Option<ExtractionView>,
    /// Ctrl-C or an interrupt: quit once the cancelled run has cleaned up.
    quit_after_cancel: bool,
}

impl Extracting {
    pub(super) fn new(label: String, target: ExtractionTarget) -> Self {
        Extracting {
            label,
            target,
            view: None,
            quit_after_cancel: false,
        }
    }

    fn on_started(
        &mut self,
        cx: &mut Context,
        generation: Generation,
        result: Result<ExtractionHandle, ServiceError>,
    ) {
        match result {
            Ok(handle) => {
                tracing::info!("extraction started");
                let mut view = ExtractionView::new(generation, &handle);
                if self.quit_after_cancel {
                    view.interrupt(cx);
                }
                self.view = Some(view);
                let tx = cx.sender();
                let outcome = handle.outcome;
                tokio::spawn(async move {
                    let result = outcome.await.unwrap_or_else(|_| {
                        Err(ExtractionError::Failed(ServiceError::new(
                            ErrorKind::Internal,
                            "The extraction stopped without reporting a result; see the log file.",
                        )))
                    });
                    let _ = tx.send(Action::ExtractionFinished(generation, result));
                });
            }
            Err(e) => {
                tracing::warn!("extraction did not start");
                self.finish(cx, Err(ExtractionError::Failed(e)));
            }
        }
    }

    /// Show the summary (keeping the notice) and refresh the profiles' last runs.
    fn finish(&mut self, cx: &mut Context, result: Result<ExtractionSummary, ExtractionError>) {
        match &result {
            Ok(s) => tracing::info!(rows = s.counts.users, "extraction finished"),
            Err(e) => tracing::info!(error = %e, "extraction ended without files"),
        }
        self.view = None;
        // The summary screen is never seen when quitting: what came of the run is said once
        // the terminal is restored.
        let quitting = self
            .quit_after_cancel
            .then(|| outcome_notice(&self.label, &result));
        cx.go_with_notice(Screen::Finished(Finished {
            label: self.label.clone(),
            target: self.target.clone(),
            result,
            warnings_scroll: 0,
        }));
        cx.reload_profiles();
        if let Some(notice) = quitting {
            cx.quit_saying(notice);
        }
    }
}

/// One line for the terminal after the wizard quit: what the run came to.
fn outcome_notice(label: &str, result: &Result<ExtractionSummary, ExtractionError>) -> Notice {
    let s = match result {
        Ok(s) => s,
        Err(ExtractionError::Cancelled) => {
            return Notice::info(format!(
                "The extraction of {label} was cancelled; no files were left behind and the previous files are unchanged."
            ));
        }
        Err(ExtractionError::Failed(e)) => {
            return Notice::error(format!("the extraction of {label} failed: {e}"));
        }
    };
    let c = &s.counts;
    let dir = s
        .files
        .first()
        .and_then(|(p, _)| p.parent())
        .map(|d| format!(" in {}", d.display()))
        .unwrap_or_default();
    let warnings = match s.warnings.len() {
        0 => String::new(),
        n => {
            let manifest = s.files.iter().find(|(_, rows)| rows.is_none());
            format!(
                " It has {n} warning{}{}.",
                if n == 1 { "" } else { "s" },
                manifest.map_or(String::new(), |(p, _)| format!(": see {}", p.display()))
            )
        }
    };
    Notice::info(format!(
        "The extraction of {label} completed: {} users, {} groups, {} member and {} owner rows{dir}.{warnings}",
        c.users, c.groups, c.member_edges, c.owner_edges
    ))
}

impl Component for Extracting {
    fn kind(&self) -> ScreenKind {
        ScreenKind::Extracting
    }

    fn title(&self, _cx: &Context) -> String {
        "Extracting".into()
    }

    /// Cancel, with confirmation; the run replaces no file while the question is open.
    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        let Some(view) = &mut self.view else {
            return;
        };
        if view.cancelling {
            return;
        }
        if view.confirm_cancel {
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                self.quit_after_cancel |= view.quit_when_confirmed;
                view.interrupt(cx);
            } else {
                view.keep_running();
            }
            return;
        }
        if matches!(key.code, KeyCode::Esc | KeyCode::Char('c' | 'q')) {
            view.ask_to_cancel(cx, false);
        }
    }

    fn on_result(&mut self, cx: &mut Context, result: Action) {
        match result {
            Action::ExtractionStarted(generation, result) => {
                self.on_started(cx, generation, result)
            }
            Action::ExtractionFinished(generation, result)
                if self.view.as_ref().map(|v| v.generation) == Some(generation) =>
            {
                self.finish(cx, result)
            }
            _ => {}
        }
    }

    fn on_tick(&mut self) {
        if let Some(view) = &mut self.view {
            view.sample();
        }
    }

    /// One stray Ctrl-C must not throw away a long run: ask first. Pressing it again (or y)
    /// confirms: the run is cancelled and cleaned up, then the wizard quits. Once
    /// cancelling, a further Ctrl-C quits at once.
    fn on_ctrl_c(&mut self, cx: &mut Context) {
        if !self.quit_after_cancel
            && let Some(view) = &mut self.view
            && !view.confirm_cancel
            && !view.cancelling
        {
            if !view.ask_to_cancel(cx, true) {
                // Nothing left to cancel: quit once the run has finished.
                self.quit_after_cancel = true;
            }
            return;
        }
        self.on_interrupt(cx);
    }

    /// Let the run cancel and clean up first (or, past its commit point, complete); a
    /// second interrupt quits at once, unless the run is past its commit point: then it
    /// quits once the run has recorded its state and history.
    fn on_interrupt(&mut self, cx: &mut Context) {
        if self.quit_after_cancel {
            // Past its commit point the run is replacing the files and then records its
            // state and history: quitting now would leave the next run reading everything.
            if self.view.as_ref().is_some_and(|v| v.committed) {
                cx.notice = Some(Notice::info(FINISHING_THEN_QUIT));
                return;
            }
            cx.should_quit = true;
            return;
        }
        self.quit_after_cancel = true;
        match &mut self.view {
            Some(view) => view.interrupt(cx),
            None if cx.is_waiting() => {} // cancelled as soon as it starts
            None => cx.should_quit = true,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        render(self, frame, area, cx)
    }

    fn help(&self, _cx: &Context) -> &'static str {
        match &self.view {
            Some(v) if v.cancelling => "Ctrl-C quit now",
            Some(v) if v.confirm_cancel && v.quit_when_confirmed => {
                "y cancel and quit · any key continue"
            }
            Some(v) if v.confirm_cancel => "y cancel · any key continue",
            Some(v) if v.committed => "Ctrl-C quit once finished",
            Some(_) => "Esc cancel · Ctrl-C cancel and quit",
            None => "Ctrl-C quit",
        }
    }
}

fn phase_label(p: Phase) -> &'static str {
    match p {
        Phase::Starting => "starting",
        Phase::Counting => "counting objects",
        Phase::Users => "reading users",
        Phase::Groups => "reading groups",
        Phase::Memberships => "reading members and owners",
        Phase::Finishing => "finishing files",
        Phase::Done => "done",
        Phase::Failed => "failed",
        Phase::Cancelled => "cancelled",
    }
}

fn bar_line(
    t: &Theme,
    width: u16,
    label: &str,
    done: u64,
    total: Option<u64>,
    extra: Option<String>,
) -> Line<'static> {
    let total_txt = total.map(count).unwrap_or_else(|| "?".into());
    let mut spans = vec![
        Span::styled(format!("{label:<13}"), t.title),
        Span::raw(format!("{:>9} / {:<9}", count(done), total_txt)),
    ];
    let extra_txt = extra.map(|e| format!(" {e}")).unwrap_or_default();
    let used = 13 + 21 + extra_txt.chars().count() as u16 + 1;
    let bar_width = width.saturating_sub(used).min(30) as usize;
    if bar_width >= 5 {
        let ratio = match total {
            Some(0) => 1.0,
            Some(n) => (done as f64 / n as f64).min(1.0),
            None => 0.0,
        };
        let filled = (ratio * bar_width as f64).round() as usize;
        spans.push(Span::raw(" "));
        spans.push(Span::styled("━".repeat(filled), t.accent));
        spans.push(Span::styled("─".repeat(bar_width - filled), t.dim));
    }
    spans.push(Span::raw(extra_txt));
    Line::from(spans)
}

/// The question a cancel asks (or the notice that it is under way), wrapped to `width`;
/// nothing while the run goes on.
fn cancel_question(view: &ExtractionView, width: u16, cx: &Context) -> Vec<Line<'static>> {
    let t = &cx.theme;
    if view.cancelling {
        vec![Line::from(vec![
            Span::styled(spinner(cx.tick), t.warn),
            Span::styled(" Cancelling; removing partial files…", t.warn),
        ])]
    } else if view.confirm_cancel {
        let text = if view.quit_when_confirmed {
            "Cancel the extraction and quit? Until you answer, the run replaces no file. y or Ctrl-C = cancel and quit (the previous files stay as they are), any other key = continue"
        } else {
            "Cancel the extraction? Until you answer, the run replaces no file. y = cancel (the previous files stay as they are), any other key = continue"
        };
        hang(text, width, "", "", t.warn)
    } else {
        Vec::new()
    }
}

/// One progress bar per kind of list, `w` columns wide.
fn bar_lines(t: &Theme, w: u16, s: &ProgressSnapshot) -> Vec<Line<'static>> {
    vec![
        bar_line(t, w, "Users", s.users_done, s.users_total, None),
        bar_line(t, w, "Groups", s.groups_done, s.groups_total, None),
        bar_line(
            t,
            w,
            "Member lists",
            s.member_lists_done,
            s.groups_total,
            Some(format!("{} rows", count(s.member_edges))),
        ),
        bar_line(
            t,
            w,
            "Owner lists",
            s.owner_lists_done,
            s.groups_total,
            Some(format!("{} rows", count(s.owner_edges))),
        ),
    ]
}

/// Requests, rates and the budget, throttling, elapsed time and the estimate.
fn stat_lines(view: &ExtractionView, t: &Theme) -> Vec<Line<'static>> {
    let s = &view.snapshot;
    let rate = |r: Option<f64>| r.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
    let budget = match (view.budget_per_10s, view.rates.ru_in_window) {
        (Some(b), Some(used)) if b > 0 => format!(
            " · {} of {} per 10 s ({:.0}%)",
            count(used),
            count(b),
            100.0 * used as f64 / b as f64
        ),
        (Some(b), _) => format!(" · budget {} per 10 s", count(b)),
        (None, _) => String::new(),
    };
    let eta_txt = s.eta().map(clock).unwrap_or_else(|| "–".into());
    let throttle_style = if s.stats.throttled > 0 {
        t.warn
    } else {
        Style::new()
    };
    vec![
        Line::raw(format!(
            "Requests {} ({}/s) · RU/s {}{}",
            count(s.stats.requests),
            rate(view.rates.request_rate),
            rate(view.rates.ru_rate),
            budget
        )),
        Line::from(vec![
            Span::styled(
                format!("Throttled {}", count(s.stats.throttled)),
                throttle_style,
            ),
            Span::raw(format!(" · retries {}", count(s.stats.retries))),
        ]),
        Line::raw(format!("Elapsed {} · ETA {}", clock(s.elapsed), eta_txt)),
    ]
}

/// Draw the progress screen.
fn render(screen: &Extracting, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let Some(view) = &screen.view else {
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(spinner(cx.tick), t.accent),
                Span::raw(" Starting the extraction…"),
            ])),
            area,
        );
        return;
    };
    let s = &view.snapshot;
    // The question wraps by words, all of it shown: it says what the answer does.
    let question = cancel_question(view, area.width, cx);
    let [top, bars, stats, pane, confirm] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Length(3),
        Constraint::Min(2),
        Constraint::Length(question.len() as u16),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(spinner(cx.tick), t.accent),
            Span::raw(format!(" {} · {}", screen.label, phase_label(s.phase))),
        ])),
        top,
    );
    let lines = bar_lines(t, bars.width, s);
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            y: bars.y + 1,
            height: 4,
            ..bars
        },
    );
    let stat_lines = stat_lines(view, t);
    frame.render_widget(Paragraph::new(stat_lines).wrap(Wrap { trim: false }), stats);
    warnings_pane(frame, pane, t, &s.warnings, Window::Tail);
    frame.render_widget(Paragraph::new(question), confirm);
}
