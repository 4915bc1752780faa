//! Demo picker: the simulated tenant's app registrations, one of which works and the others
//! show the failure paths (missing Member.Read.Hidden, no grants, expired secret).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::app::{App, Screen, Step};
use crate::tui::widgets::hang;

/// Index of the "enter my own app" entry after the demo apps.
fn own_app_index(app: &App) -> usize {
    app.options.demo_apps.len()
}

pub(crate) fn on_key(app: &mut App, key: KeyEvent) {
    let last = own_app_index(app);
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => app.demo_selected = app.demo_selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => app.demo_selected = (app.demo_selected + 1).min(last),
        KeyCode::Enter => {
            app.form.reset(&app.options.default_output_dir);
            app.save = Default::default();
            if let Some(choice) = app.options.demo_apps.get(app.demo_selected).cloned() {
                app.form.prefill_demo(&choice);
            }
            app.go(Screen::Setup(Step::Cloud));
        }
        KeyCode::Esc => app.go(Screen::Home),
        KeyCode::Char('q') => app.should_quit = true,
        _ => {}
    }
}

/// Draw the picker.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut lines = vec![
        Line::raw("Demo mode: a simulated tenant on this machine. Choose an app registration;"),
        Line::raw("the wizard is filled in with it and you can follow every step."),
        Line::raw(""),
    ];
    let entries = app
        .options
        .demo_apps
        .iter()
        .map(|d| (d.label.as_str(), d.description.as_str()))
        .chain([("Enter my own app registration", "Start with an empty form.")]);
    for (i, (label, description)) in entries.enumerate() {
        let selected = i == app.demo_selected;
        let marker = if selected { "> " } else { "  " };
        let style = if selected { t.selected } else { t.accent };
        lines.push(Line::from(vec![
            Span::styled(marker, t.accent),
            Span::styled(label.to_string(), style),
        ]));
        // Hanging indent: a long description wraps under itself, not under the marker.
        lines.extend(hang(description, area.width, "    ", "    ", t.dim));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// Key hints for the help bar.
pub fn help() -> &'static str {
    "↑↓ select · Enter use · Esc home · q quit"
}
