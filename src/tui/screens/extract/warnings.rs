//! The warnings pane shared by the progress screen and the summary.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::extract::progress::{Warning, WarningKind};
use crate::tui::theme::Theme;

fn warning_line(w: &Warning) -> String {
    let what = match w.kind {
        WarningKind::HiddenMembershipUnreadable => "hidden members unreadable",
        WarningKind::GroupDeleted => "group deleted",
        WarningKind::AttributeNotReturned => "attribute not returned",
        WarningKind::StateNotSaved => "state not saved",
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
pub(super) enum Window {
    /// The newest (live progress).
    Tail,
    /// From this index on (the summary, scrolled by the user).
    From(usize),
}

pub(super) fn warnings_pane(
    frame: &mut Frame,
    area: Rect,
    t: &Theme,
    ws: &[Warning],
    window: Window,
) {
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
