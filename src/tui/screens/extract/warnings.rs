//! The warnings pane shared by the progress screen and the summary.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::extract::progress::{Warning, WarningKind};
use crate::tui::theme::Theme;
use crate::tui::widgets::hang;

fn warning_line(w: &Warning) -> String {
    let what = match w.kind {
        WarningKind::HiddenMembershipUnreadable => "hidden members unreadable",
        WarningKind::GroupDeleted => "group deleted",
        WarningKind::AttributeNotReturned => "attribute not returned",
        WarningKind::StateNotSaved => "state not saved",
        WarningKind::HistoryNotSaved => "history not saved",
        WarningKind::Other => "note",
    };
    match (&w.group_name, &w.group_id) {
        // The detail names the group already ("members of … group "Board" could not …").
        (Some(n), _) if w.detail.contains(n.as_str()) => format!("{what}: {}", w.detail),
        (Some(n), _) | (None, Some(n)) => format!("{what}: {n} — {}", w.detail),
        (None, None) => format!("{what}: {}", w.detail),
    }
}

/// One warning wrapped by words to `width`, its later lines indented under its first: the
/// end of a warning says what to do, so it is never cut at the edge.
fn warning_lines(w: &Warning, width: u16, t: &Theme) -> Vec<Line<'static>> {
    hang(&warning_line(w), width, "", "  ", t.warn)
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
    // Warnings are wrapped, so a screenful holds a varying number of them: count rows from
    // the end to find the last first warning that still fills the pane.
    let mut rows = 0;
    let mut last_start = ws.len();
    while last_start > 0 {
        let h = warning_lines(&ws[last_start - 1], inner.width, t).len();
        if rows + h > fit && rows > 0 {
            break;
        }
        rows += h;
        last_start -= 1;
    }
    let skip = match window {
        Window::Tail => last_start,
        Window::From(i) => i.min(last_start),
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut shown = skip;
    for w in &ws[skip..] {
        if lines.len() >= fit {
            break;
        }
        lines.extend(warning_lines(w, inner.width, t));
        shown += 1;
    }
    let more_below = shown < ws.len() || lines.len() > fit;
    let marker = matches!(window, Window::From(_)) && more_below && inner.height > 1;
    if marker {
        // Its own row, so it hides no warning's end.
        lines.truncate(fit - 1);
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if marker {
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
