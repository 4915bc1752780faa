//! The summary after an extraction: counts, files, warnings (scrollable), or why no file
//! was written, with "run again" for a failed run.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::warnings::{Window, warnings_pane};
use crate::extract::progress::Warning;
use crate::tui::app::Context;
use crate::tui::screens::home::Home;
use crate::tui::screens::{Component, Screen, ScreenKind};
use crate::tui::services::{ExtractionError, ExtractionSummary, ExtractionTarget};
use crate::tui::widgets::{clock, count, hang};

/// How an extraction ended, for the summary screen.
#[derive(Debug, Clone)]
pub struct Finished {
    pub label: String,
    /// What the run extracted, to run it again.
    pub target: ExtractionTarget,
    pub result: Result<ExtractionSummary, ExtractionError>,
    /// First warning shown in the summary's list.
    pub warnings_scroll: usize,
}

impl Finished {
    fn has_warnings(&self) -> bool {
        self.result.as_ref().is_ok_and(|s| !s.warnings.is_empty())
    }

    /// A run that produced no files can be started again.
    fn can_retry(&self) -> bool {
        self.result.is_err()
    }
}

impl Component for Finished {
    fn kind(&self) -> ScreenKind {
        ScreenKind::Finished
    }

    fn title(&self, _cx: &Context) -> String {
        "Summary".into()
    }

    /// Home, quit, scroll the warnings, run a failed extraction again.
    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        match key.code {
            KeyCode::Enter | KeyCode::Esc | KeyCode::Char('h') => {
                cx.go(Screen::Home(Home::default()));
                cx.reload_profiles();
            }
            KeyCode::Char('q') => cx.should_quit = true,
            KeyCode::Up | KeyCode::Char('k') => {
                self.warnings_scroll = self.warnings_scroll.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') => {
                let count = self.result.as_ref().map_or(0, |s| s.warnings.len());
                self.warnings_scroll = (self.warnings_scroll + 1).min(count.saturating_sub(1));
            }
            KeyCode::Char('r') if self.can_retry() => {
                super::start(cx, self.target.clone(), self.label.clone());
            }
            _ => {}
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        render(self, frame, area, cx)
    }

    fn help(&self, _cx: &Context) -> &'static str {
        if self.can_retry() {
            "r run again · Enter home · q quit"
        } else if self.has_warnings() {
            "↑↓ scroll warnings · Enter home · q quit"
        } else {
            "Enter home · q quit"
        }
    }
}

/// Draw the summary after the run.
fn render(done: &Finished, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let (w, plain) = (area.width, Style::new());
    let mut lines: Vec<Line> = Vec::new();
    let mut warnings: &[Warning] = &[];
    match &done.result {
        Ok(s) => {
            lines.extend(hang(
                &format!(
                    "Extraction of {} complete in {}.",
                    done.label,
                    clock(s.duration)
                ),
                w,
                "",
                "",
                t.ok,
            ));
            lines.extend(hang(
                &format!(
                    "{} users · {} groups · {} member rows · {} owner rows",
                    count(s.counts.users),
                    count(s.counts.groups),
                    count(s.counts.member_edges),
                    count(s.counts.owner_edges)
                ),
                w,
                "",
                "",
                plain,
            ));
            if let Some(changes) = &s.changes {
                lines.extend(hang(changes, w, "", "", plain));
            }
            lines.push(Line::raw(""));
            // The directory once, then the short file names: a long path on each line would
            // wrap them all. A directory longer than the screen breaks after a `/`.
            let mut dir = None;
            for (path, rows) in &s.files {
                let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
                if dir != Some(parent) {
                    dir = Some(parent);
                    let heading = match parent {
                        Some(p) => format!("Files in {}:", p.display()),
                        None => "Files:".to_owned(),
                    };
                    lines.extend(hang(&heading, w, "", "    ", t.title));
                }
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                let entry = match rows {
                    Some(rows) => format!("{name}  ({} rows)", count(*rows)),
                    None => name,
                };
                lines.extend(hang(&entry, w, "  ", "    ", plain));
            }
            // As `run`'s summary and the manifest say them: a plan that fell back to plainer
            // reads is no warning (the files are complete), but the user should know.
            if !s.notes.is_empty() {
                lines.push(Line::raw(""));
                lines.push(Line::styled("Notes:", t.title));
                for note in &s.notes {
                    lines.extend(hang(note, w, "  - ", "    ", plain));
                }
            }
            warnings = &s.warnings;
        }
        Err(ExtractionError::Cancelled) => {
            lines.push(Line::styled("The extraction was cancelled.", t.warn));
            lines.extend(hang(
                "No file was replaced and no partial files were left behind.",
                w,
                "",
                "",
                plain,
            ));
        }
        Err(ExtractionError::Failed(msg)) => {
            lines.push(Line::styled("The extraction failed.", t.error));
            lines.extend(hang(&msg.text(), w, "", "", plain));
        }
    }
    let h = (lines.len() as u16).min(area.height);
    frame.render_widget(Paragraph::new(lines), Rect { height: h, ..area });
    if !warnings.is_empty() {
        let pane = Rect {
            y: area.y + h + 1,
            height: area.height.saturating_sub(h + 1),
            ..area
        };
        warnings_pane(frame, pane, t, warnings, Window::From(done.warnings_scroll));
    }
}
