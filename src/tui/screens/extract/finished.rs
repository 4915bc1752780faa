//! The summary after an extraction: counts, files, warnings (scrollable), or why no file
//! was written, with "run again" for a failed run.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::warnings::{Window, warnings_pane};
use crate::extract::progress::Warning;
use crate::tui::action::Generation;
use crate::tui::app::{App, Screen};
use crate::tui::services::{ExtractionError, ExtractionSummary};
use crate::tui::widgets::{clock, count};

/// How an extraction ended, for the summary screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub label: String,
    pub result: Result<ExtractionSummary, ExtractionError>,
    /// First warning shown in the summary's list.
    pub warnings_scroll: usize,
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

pub(super) fn finish(app: &mut App, result: Result<ExtractionSummary, ExtractionError>) {
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

/// Keys on the summary: home, quit, scroll the warnings, run a failed extraction again.
pub(super) fn on_key(app: &mut App, key: KeyEvent) {
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

pub(super) fn summary_has_warnings(app: &App) -> bool {
    app.finished
        .as_ref()
        .and_then(|f| f.result.as_ref().ok())
        .is_some_and(|s| !s.warnings.is_empty())
}

/// A run that produced no files can be started again.
pub(super) fn can_retry(app: &App) -> bool {
    app.last_target.is_some() && app.finished.as_ref().is_some_and(|f| f.result.is_err())
}
