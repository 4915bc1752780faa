//! Extraction progress (per-object counts, request and resource-unit rates, throttling,
//! ETA, warnings, cancel with confirmation) and the summary afterwards.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tokio_util::sync::CancellationToken;

use crate::extract::progress::{Phase, ProgressSnapshot, Warning, WarningKind};
use crate::tui::action::{Action, Generation};
use crate::tui::app::{App, Screen};
use crate::tui::services::{ExtractionError, ExtractionHandle, ExtractionSummary, ProgressSource};
use crate::tui::theme::Theme;
use crate::tui::widgets::spinner;

/// Rates are averaged over this window of progress samples: Graph's own resource-unit
/// accounting window, so "used in the window" compares directly with the budget.
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// A running extraction as the progress screen sees it.
pub struct ExtractionView {
    generation: Generation,
    progress: ProgressSource,
    cancel: CancellationToken,
    /// Resource units allowed per 10 s for this tenant, when known.
    pub budget_per_10s: Option<u64>,
    /// Latest progress sample.
    pub snapshot: ProgressSnapshot,
    samples: VecDeque<(Duration, u64, u64)>,
    /// Requests per second over the last few seconds.
    pub request_rate: Option<f64>,
    /// Resource units per second over the last few seconds.
    pub ru_rate: Option<f64>,
    /// Resource units spent within the last [`RATE_WINDOW`], to set against the budget.
    pub ru_in_window: Option<u64>,
    /// Asking "cancel the extraction?".
    pub confirm_cancel: bool,
    /// The question came from Ctrl-C: confirming also quits the wizard.
    pub quit_when_confirmed: bool,
    /// Cancel requested; waiting for the clean-up.
    pub cancelling: bool,
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
    fn new(generation: Generation, handle: &ExtractionHandle) -> Self {
        let mut view = ExtractionView {
            generation,
            progress: handle.progress.clone(),
            cancel: handle.cancel.clone(),
            budget_per_10s: handle.ru_budget_per_10s,
            snapshot: ProgressSnapshot::default(),
            samples: VecDeque::new(),
            request_rate: None,
            ru_rate: None,
            ru_in_window: None,
            confirm_cancel: false,
            quit_when_confirmed: false,
            cancelling: false,
        };
        view.sample();
        view
    }

    /// Take a progress snapshot and update the rates.
    pub fn sample(&mut self) {
        self.snapshot = (self.progress)();
        let s = &self.snapshot;
        if self.samples.back().is_some_and(|b| b.0 > s.elapsed) {
            self.samples.clear(); // a new clock: start the window again
        }
        self.samples
            .push_back((s.elapsed, s.stats.requests, s.stats.resource_units));
        while self
            .samples
            .front()
            .is_some_and(|f| s.elapsed.saturating_sub(f.0) > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return;
        };
        let dt = last.0.saturating_sub(first.0).as_secs_f64();
        if dt > 0.0 {
            self.request_rate = Some(last.1.saturating_sub(first.1) as f64 / dt);
            self.ru_rate = Some(last.2.saturating_sub(first.2) as f64 / dt);
        }
        // Until a whole window has passed, everything spent so far counts; after that the
        // recent rate over a full window (the view may have started mid-run).
        self.ru_in_window = if s.elapsed <= RATE_WINDOW {
            Some(last.2)
        } else {
            self.ru_rate
                .map(|r| (r * RATE_WINDOW.as_secs_f64()).round() as u64)
        };
    }

    /// Ask the extraction to stop; it removes its partial files before finishing.
    pub fn request_cancel(&mut self) {
        self.confirm_cancel = false;
        self.cancelling = true;
        self.cancel.cancel();
    }
}

/// How an extraction ended, for the summary screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub label: String,
    pub result: Result<ExtractionSummary, ExtractionError>,
    /// First warning shown in the summary's list.
    pub warnings_scroll: usize,
}

/// `hh:mm:ss`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// 1234567 → `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn on_started(
    app: &mut App,
    generation: Generation,
    result: Result<ExtractionHandle, String>,
) {
    match result {
        Ok(handle) => {
            tracing::info!("extraction started");
            let mut view = ExtractionView::new(generation, &handle);
            if app.quit_after_cancel {
                view.request_cancel();
            }
            app.extraction = Some(view);
            let tx = app.sender();
            let outcome = handle.outcome;
            tokio::spawn(async move {
                let result = outcome.await.unwrap_or_else(|_| {
                    Err(ExtractionError::Failed(
                        "The extraction stopped without reporting a result; see the log file."
                            .into(),
                    ))
                });
                let _ = tx.send(Action::ExtractionFinished(generation, result));
            });
        }
        Err(e) => {
            tracing::warn!("extraction did not start");
            finish(app, Err(ExtractionError::Failed(e)));
        }
    }
}

pub(crate) fn on_finished(
    app: &mut App,
    generation: Generation,
    result: Result<ExtractionSummary, ExtractionError>,
) {
    if app.extraction.as_ref().map(|v| v.generation) != Some(generation) {
        return;
    }
    finish(app, result);
}

fn finish(app: &mut App, result: Result<ExtractionSummary, ExtractionError>) {
    match &result {
        Ok(s) => tracing::info!(rows = s.counts.users, "extraction finished"),
        Err(e) => tracing::info!(error = %e, "extraction ended without files"),
    }
    app.extraction = None;
    app.finished = Some(Finished {
        warnings_scroll: 0,
        label: app.extraction_label.clone(),
        result,
    });
    let notice = app.notice.take();
    app.go(Screen::Finished);
    app.notice = notice;
    app.reload_profiles();
    if app.quit_after_cancel {
        app.should_quit = true;
    }
}

pub(crate) fn on_key(app: &mut App, key: KeyEvent) {
    if app.screen == Screen::Finished {
        match key.code {
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('h') => {
                app.go(Screen::Home);
                app.reload_profiles();
            }
            KeyCode::Char('q') => app.should_quit = true,
            KeyCode::Up | KeyCode::Char('k') => {
                if let Some(f) = &mut app.finished {
                    f.warnings_scroll = f.warnings_scroll.saturating_sub(1);
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                if let Some(f) = &mut app.finished {
                    let count = f.result.as_ref().map_or(0, |s| s.warnings.len());
                    f.warnings_scroll = (f.warnings_scroll + 1).min(count.saturating_sub(1));
                }
            }
            KeyCode::Char('r') if can_retry(app) => {
                if let Some(target) = app.last_target.clone() {
                    let label = app.extraction_label.clone();
                    app.start_extraction(target, label);
                }
            }
            _ => {}
        }
        return;
    }
    let Some(view) = &mut app.extraction else {
        return;
    };
    if view.cancelling {
        return;
    }
    if view.confirm_cancel {
        if matches!(key.code, KeyCode::Char('y' | 'Y')) {
            app.quit_after_cancel |= view.quit_when_confirmed;
            view.request_cancel();
        } else {
            view.confirm_cancel = false;
            view.quit_when_confirmed = false;
        }
        return;
    }
    if matches!(key.code, KeyCode::Esc | KeyCode::Char('c' | 'q')) {
        view.confirm_cancel = true;
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

fn warning_line(w: &Warning) -> String {
    let what = match w.kind {
        WarningKind::HiddenMembershipUnreadable => "hidden members unreadable",
        WarningKind::GroupDeleted => "group deleted",
        WarningKind::AttributeNotReturned => "attribute not returned",
        WarningKind::Other => "note",
    };
    match (&w.group_name, &w.group_id) {
        (Some(n), _) | (None, Some(n)) => format!("{what}: {n} — {}", w.detail),
        (None, None) => format!("{what}: {}", w.detail),
    }
}

fn warnings_title(ws: &[Warning]) -> String {
    let hidden = ws
        .iter()
        .filter(|w| w.kind == WarningKind::HiddenMembershipUnreadable)
        .count();
    let deleted = ws
        .iter()
        .filter(|w| w.kind == WarningKind::GroupDeleted)
        .count();
    let other = ws.len() - hidden - deleted;
    let mut parts = Vec::new();
    if hidden > 0 {
        parts.push(format!("{hidden} hidden unreadable"));
    }
    if deleted > 0 {
        parts.push(format!("{deleted} deleted"));
    }
    if other > 0 {
        parts.push(format!("{other} other"));
    }
    if parts.is_empty() {
        " Warnings: none ".into()
    } else {
        format!(" Warnings ({}): {} ", ws.len(), parts.join(", "))
    }
}

/// Which warnings a pane shows when they do not all fit.
#[derive(Clone, Copy)]
enum Window {
    /// The newest (live progress).
    Tail,
    /// From this index on (the summary, scrolled by the user).
    From(usize),
}

fn warnings_pane(frame: &mut Frame, area: Rect, t: &Theme, ws: &[Warning], window: Window) {
    let block = Block::new().borders(Borders::TOP).title(Span::styled(
        warnings_title(ws),
        if ws.is_empty() { t.dim } else { t.warn },
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let fit = inner.height as usize;
    let last_start = ws.len().saturating_sub(fit);
    let skip = match window {
        Window::Tail => last_start,
        Window::From(i) => i.min(last_start),
    };
    let lines: Vec<Line> = ws[skip..]
        .iter()
        .take(fit)
        .map(|w| Line::styled(warning_line(w), t.warn))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if matches!(window, Window::From(_)) && skip < last_start && inner.height > 0 {
        let more = "↓ more";
        let width = (more.chars().count() as u16).min(inner.width);
        frame.render_widget(
            Paragraph::new(Line::styled(more, t.key)),
            Rect {
                x: inner.right().saturating_sub(width),
                y: inner.bottom() - 1,
                width,
                height: 1,
            },
        );
    }
}

/// Draw the progress screen.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let Some(view) = &app.extraction else {
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(spinner(app.tick), t.accent),
                Span::raw(" Starting the extraction…"),
            ])),
            area,
        );
        return;
    };
    let s = &view.snapshot;
    let [top, bars, stats, pane, confirm] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Length(3),
        Constraint::Min(2),
        Constraint::Length(if view.confirm_cancel || view.cancelling {
            2
        } else {
            0
        }),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(spinner(app.tick), t.accent),
            Span::raw(format!(
                " {} · {}",
                app.extraction_label,
                phase_label(s.phase)
            )),
        ])),
        top,
    );
    let w = bars.width;
    let lines = vec![
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
    ];
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            y: bars.y + 1,
            height: 4,
            ..bars
        },
    );
    let rate = |r: Option<f64>| r.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into());
    let budget = match (view.budget_per_10s, view.ru_in_window) {
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
    let stat_lines = vec![
        Line::raw(format!(
            "Requests {} ({}/s) · RU/s {}{}",
            count(s.stats.requests),
            rate(view.request_rate),
            rate(view.ru_rate),
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
    ];
    frame.render_widget(Paragraph::new(stat_lines).wrap(Wrap { trim: false }), stats);
    warnings_pane(frame, pane, t, &s.warnings, Window::Tail);
    let confirm_text = if view.cancelling {
        Some(Line::from(vec![
            Span::styled(spinner(app.tick), t.warn),
            Span::styled(" Cancelling; removing partial files…", t.warn),
        ]))
    } else if view.confirm_cancel && view.quit_when_confirmed {
        Some(Line::styled(
            "Cancel the extraction and quit? No partial files are left behind. y or Ctrl-C = cancel and quit, any other key = continue",
            t.warn,
        ))
    } else if view.confirm_cancel {
        Some(Line::styled(
            "Cancel the extraction? No partial files are left behind. y = cancel, any other key = continue",
            t.warn,
        ))
    } else {
        None
    };
    if let Some(line) = confirm_text {
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), confirm);
    }
}

/// Draw the summary after the run.
pub fn render_finished(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let Some(done) = &app.finished else {
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut warnings: &[Warning] = &[];
    match &done.result {
        Ok(s) => {
            lines.push(Line::styled(
                format!(
                    "Extraction of {} complete in {}.",
                    done.label,
                    clock(s.duration)
                ),
                t.ok,
            ));
            lines.push(Line::raw(format!(
                "{} users · {} groups · {} member rows · {} owner rows",
                count(s.counts.users),
                count(s.counts.groups),
                count(s.counts.member_edges),
                count(s.counts.owner_edges)
            )));
            lines.push(Line::raw(""));
            lines.push(Line::styled("Files:", t.title));
            for (path, rows) in &s.files {
                lines.push(Line::raw(match rows {
                    Some(rows) => format!("  {}  ({} rows)", path.display(), count(*rows)),
                    None => format!("  {}", path.display()),
                }));
            }
            warnings = &s.warnings;
        }
        Err(ExtractionError::Cancelled) => {
            lines.push(Line::styled("The extraction was cancelled.", t.warn));
            lines.push(Line::raw("No partial files were left behind."));
        }
        Err(ExtractionError::Failed(msg)) => {
            lines.push(Line::styled("The extraction failed.", t.error));
            lines.push(Line::raw(msg.clone()));
        }
    }
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let h = (para.line_count(area.width) as u16).min(area.height);
    frame.render_widget(para, Rect { height: h, ..area });
    if !warnings.is_empty() {
        let pane = Rect {
            y: area.y + h + 1,
            height: area.height.saturating_sub(h + 1),
            ..area
        };
        warnings_pane(frame, pane, t, warnings, Window::From(done.warnings_scroll));
    }
}

fn summary_has_warnings(app: &App) -> bool {
    app.finished
        .as_ref()
        .and_then(|f| f.result.as_ref().ok())
        .is_some_and(|s| !s.warnings.is_empty())
}

/// A run that produced no files can be started again.
fn can_retry(app: &App) -> bool {
    app.last_target.is_some() && app.finished.as_ref().is_some_and(|f| f.result.is_err())
}

/// Key hints for the help bar.
pub fn help(app: &App) -> &'static str {
    match (&app.screen, &app.extraction) {
        (Screen::Finished, _) if can_retry(app) => "r run again · Enter home · q quit",
        (Screen::Finished, _) if summary_has_warnings(app) => {
            "↑↓ scroll warnings · Enter home · q quit"
        }
        (Screen::Finished, _) => "Enter home · q quit",
        (_, Some(v)) if v.cancelling => "Ctrl-C quit now",
        (_, Some(v)) if v.confirm_cancel && v.quit_when_confirmed => {
            "y cancel and quit · any key continue"
        }
        (_, Some(v)) if v.confirm_cancel => "y cancel · any key continue",
        (_, Some(_)) => "Esc cancel · Ctrl-C cancel and quit",
        (_, None) => "Ctrl-C quit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn counts_and_clock_format() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(clock(Duration::from_secs(3723)), "01:02:03");
    }

    #[test]
    fn rates_come_from_the_sample_window() {
        use std::sync::{Arc, Mutex};
        let cell = Arc::new(Mutex::new(ProgressSnapshot::default()));
        let source = cell.clone();
        let (_tx, rx) = tokio::sync::oneshot::channel();
        let handle = ExtractionHandle {
            progress: Arc::new(move || source.lock().map(|s| s.clone()).unwrap_or_default()),
            cancel: CancellationToken::new(),
            outcome: rx,
            ru_budget_per_10s: Some(5000),
        };
        let mut view = ExtractionView::new(1, &handle);
        assert_eq!(view.request_rate, None);
        {
            let mut s = cell.lock().unwrap();
            s.elapsed = Duration::from_secs(2);
            s.stats.requests = 20;
            s.stats.resource_units = 60;
        }
        view.sample();
        assert_eq!(view.request_rate, Some(10.0));
        assert_eq!(view.ru_rate, Some(30.0));
        view.request_cancel();
        assert!(handle.cancel.is_cancelled());
    }
}
