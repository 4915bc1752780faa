//! The frame around every screen: header, body, notice line and help bar. Pure: draws
//! from `&App` only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, NoticeKind, Screen, Step};
use super::screens::{demo, extract, home, output, permissions, save, setup};
use super::widgets::hang;

/// Below this size the wizard asks for a bigger terminal instead of drawing garbage.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

/// Draw the whole wizard.
pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let t = &app.theme;
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        frame.render_widget(
            Paragraph::new(format!(
                "The terminal is too small ({}×{}). Make it at least {MIN_WIDTH}×{MIN_HEIGHT}; Ctrl-C quits.",
                area.width, area.height
            ))
            .wrap(Wrap { trim: false }),
            area,
        );
        return;
    }
    let notice_height = if app.notice.is_some() { 2 } else { 0 };
    // The help bar wraps rather than losing keys on narrow terminals.
    let help_lines = hang(help_text(app), area.width, "", "", t.dim);
    let [header, body, notice, help] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(notice_height),
        Constraint::Length(help_lines.len().min(2) as u16),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("entra-extract", t.title),
            Span::raw(" · "),
            Span::styled(context(app), t.accent),
        ])),
        header,
    );
    let body = Rect {
        x: body.x + 1,
        width: body.width.saturating_sub(2),
        ..body
    };
    match app.screen {
        Screen::Home => home::render(frame, body, app),
        Screen::DemoPicker => demo::render(frame, body, app),
        Screen::Setup(Step::Permissions) => permissions::render(frame, body, app),
        Screen::Setup(Step::Output) => output::render(frame, body, app),
        Screen::Setup(Step::Save) => save::render(frame, body, app),
        Screen::Setup(step) => setup::render(frame, body, app, step),
        Screen::Extracting => extract::render(frame, body, app),
        Screen::Finished => extract::render_finished(frame, body, app),
    }
    if let Some(n) = &app.notice {
        let style = match n.kind {
            NoticeKind::Info => t.accent,
            NoticeKind::Error => t.error,
        };
        frame.render_widget(
            Paragraph::new(Line::styled(n.text.clone(), style)).wrap(Wrap { trim: false }),
            Rect {
                x: notice.x + 1,
                width: notice.width.saturating_sub(2),
                ..notice
            },
        );
    }
    frame.render_widget(Paragraph::new(help_lines), help);
}

fn context(app: &App) -> String {
    match app.screen {
        Screen::Home => "Saved profiles".into(),
        Screen::DemoPicker => "Demo".into(),
        Screen::Setup(Step::Permissions) if app.check.saved_profile.is_some() => format!(
            "Check {}",
            app.check.saved_profile.as_deref().unwrap_or_default()
        ),
        Screen::Setup(step) => {
            let what = match (&app.form.editing, &app.form.demo_label) {
                (Some(name), _) => format!("Edit {name}"),
                (None, Some(demo)) => format!("Demo: {demo}"),
                (None, None) => "New profile".into(),
            };
            format!(
                "{what} · Step {} of {}: {}",
                step.number(),
                Step::COUNT,
                step.title()
            )
        }
        Screen::Extracting => "Extracting".into(),
        Screen::Finished => "Summary".into(),
    }
}

fn help_text(app: &App) -> &'static str {
    match app.screen {
        Screen::Home => home::help(app),
        Screen::DemoPicker => demo::help(),
        Screen::Setup(Step::Permissions) => permissions::help(app),
        Screen::Setup(Step::Output) => output::help(app),
        Screen::Setup(Step::Save) => save::help(app),
        Screen::Setup(step) => setup::help(app, step),
        Screen::Extracting | Screen::Finished => extract::help(app),
    }
}
