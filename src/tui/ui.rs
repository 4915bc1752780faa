//! The frame around every screen: header, body, notice line and help bar; the screen showing
//! draws its body and names its header and keys. Pure: draws from `&App` only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, NoticeKind};
use super::widgets::hang;

/// Below this size the wizard asks for a bigger terminal instead of drawing garbage.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

/// Draw the whole wizard.
pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let cx = app.context();
    let screen = app.current().component();
    let t = &cx.theme;
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
    // The notice wraps by words and gets the rows it needs (up to a third of the screen):
    // it often ends with what to do next.
    let notice_lines = cx.notice.as_ref().map_or_else(Vec::new, |n| {
        let style = match n.kind {
            NoticeKind::Info => t.accent,
            NoticeKind::Error => t.error,
        };
        hang(&n.text, area.width.saturating_sub(2), "", "", style)
    });
    let notice_height = (notice_lines.len() as u16).min(area.height / 3);
    // The help bar wraps rather than losing keys on narrow terminals.
    let help_lines = hang(screen.help(cx), area.width, "", "", t.dim);
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
            Span::styled(screen.title(cx), t.accent),
        ])),
        header,
    );
    let body = Rect {
        x: body.x + 1,
        width: body.width.saturating_sub(2),
        ..body
    };
    screen.render(frame, body, cx);
    frame.render_widget(
        Paragraph::new(notice_lines),
        Rect {
            x: notice.x + 1,
            width: notice.width.saturating_sub(2),
            ..notice
        },
    );
    frame.render_widget(Paragraph::new(help_lines), help);
}
