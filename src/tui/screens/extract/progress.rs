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

use super::finished::finish;
use super::rates::Rates;
use super::warnings::{Window, warnings_pane};
use crate::extract::progress::{Phase, ProgressSnapshot};
use crate::tui::action::{Action, Generation};
use crate::tui::app::App;
use crate::tui::services::{ExtractionError, ExtractionHandle, ProgressSource};
use crate::tui::theme::Theme;
use crate::tui::widgets::{clock, count, spinner};

/// A running extraction as the progress screen sees it.
pub struct ExtractionView {
    pub(super) generation: Generation,
    progress: ProgressSource,
    cancel: CancellationToken,
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
            budget_per_10s: handle.ru_budget_per_10s,
            snapshot: ProgressSnapshot::default(),
            rates: Rates::default(),
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
        self.rates.observe(&self.snapshot);
    }

    /// Ask the extraction to stop; it removes its partial files before finishing.
    pub fn request_cancel(&mut self) {
        self.confirm_cancel = false;
        self.cancelling = true;
        self.cancel.cancel();
    }
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

/// Keys while the extraction runs: cancel, with confirmation.
pub(super) fn on_key(app: &mut App, key: KeyEvent) {
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
    let stat_lines = vec![
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
