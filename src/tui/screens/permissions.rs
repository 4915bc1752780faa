//! Setup step 5 (and "check" from home): which permissions are granted, how to grant the
//! missing ones, and warnings for over-privilege and expiring secrets.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::permissions::report::{DIRECTORY_READ_ALL, GrantState, PermissionReport};
use crate::tui::app::{App, Loadable, Notice, Screen, Step};
use crate::tui::services::CheckTarget;
use crate::tui::widgets::{hang, spinner};

/// Secrets expiring within this many days get a warning.
const EXPIRY_WARNING_DAYS: i64 = 30;

const RECHECKING: &str = "Checking again…";

/// State of the permission screen.
#[derive(Debug, Clone)]
pub struct PermissionView {
    /// What is being checked, for re-checks.
    pub target: Option<CheckTarget>,
    /// Set when checking a saved profile from home (Enter then goes back home).
    pub saved_profile: Option<String>,
    pub report: Loadable<PermissionReport>,
    /// First line shown, for long reports on short terminals.
    pub scroll: u16,
}

impl Default for PermissionView {
    fn default() -> Self {
        PermissionView {
            target: None,
            saved_profile: None,
            report: Loadable::Loading,
            scroll: 0,
        }
    }
}

/// True when the extraction can run: Directory.Read.All is granted.
pub fn can_extract(report: &PermissionReport) -> bool {
    report
        .required
        .iter()
        .any(|p| p.app_role_id == DIRECTORY_READ_ALL && p.state == GrantState::Granted)
}

pub(crate) fn on_key(app: &mut App, key: KeyEvent) {
    let from_home = app.check.saved_profile.is_some();
    match key.code {
        KeyCode::Char('r') if !app.is_waiting() => {
            if let Some(target) = app.check.target.clone() {
                app.start_check(target);
                app.notice = Some(Notice::info(RECHECKING));
            }
        }
        KeyCode::Up | KeyCode::Char('k') => app.check.scroll = app.check.scroll.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => app.check.scroll = (app.check.scroll + 1).min(200),
        KeyCode::Esc => {
            app.abandon();
            if from_home {
                app.go(Screen::Home);
            } else {
                app.go(Screen::Setup(Step::Credential));
            }
        }
        KeyCode::Enter if from_home => {
            app.abandon();
            app.go(Screen::Home);
        }
        KeyCode::Enter => match &app.check.report {
            Loadable::Ready(report) if can_extract(report) => {
                app.form.output_focus = crate::tui::screens::setup::OutputFocus::Prefix;
                app.go(Screen::Setup(Step::Output));
            }
            Loadable::Ready(_) => {
                app.notice = Some(Notice::error(
                    "Directory.Read.All is required to extract. Grant it (steps above), then press r.",
                ))
            }
            Loadable::Failed(_) => {
                app.notice = Some(Notice::error("The check failed; press r to try again."))
            }
            Loadable::Loading => {}
        },
        _ => {}
    }
}

pub(crate) fn on_checked(app: &mut App, result: Result<PermissionReport, String>) {
    app.check.scroll = 0;
    let all_granted = matches!(&result, Ok(r) if r.all_granted());
    let rechecking = app.notice.as_ref().is_some_and(|n| n.text == RECHECKING);
    if all_granted || rechecking {
        app.notice = None;
    }
    app.check.report = match result {
        Ok(r) => Loadable::Ready(r),
        Err(e) => Loadable::Failed(e),
    };
}

/// Draw the permission report.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let w = area.width;
    let plain = Style::new();
    let mut lines: Vec<Line> = Vec::new();
    match &app.check.report {
        Loadable::Loading => lines.push(Line::from(vec![
            Span::styled(spinner(app.tick), t.accent),
            Span::raw(" Checking the app's Microsoft Graph permissions…"),
        ])),
        Loadable::Failed(e) => {
            lines.push(Line::styled("The permission check failed.", t.error));
            lines.extend(hang(e, w, "", "", plain));
            lines.push(Line::raw("Press r to try again."));
        }
        Loadable::Ready(report) => {
            lines.push(Line::styled(
                "Required application permissions (Microsoft Graph):",
                t.title,
            ));
            for p in &report.required {
                let (mark, word, style) = match p.state {
                    GrantState::Granted => ("✓", "granted", t.ok),
                    GrantState::Missing => ("✗", "MISSING", t.error),
                    GrantState::Unknown => ("?", "unknown", t.warn),
                };
                // The evidence wraps under its own column: it can say what to do next
                // (e.g. re-check shortly), so it must never be cut at the screen edge.
                let head = format!("  {mark} {:<20} {word:<8} ", p.name);
                let indent = " ".repeat(head.chars().count());
                let mut evidence = hang(&p.evidence, w, &indent, &indent, t.dim);
                if let Some(first) = evidence.first_mut() {
                    let text: String = first.spans.iter().map(|s| s.content.as_ref()).collect();
                    *first = Line::from(vec![
                        Span::styled(head, style),
                        Span::styled(text.trim_start().to_owned(), t.dim),
                    ]);
                }
                lines.extend(evidence);
            }
            if report.all_granted() {
                lines.push(Line::styled("All required permissions are granted.", t.ok));
            } else if can_extract(report) {
                lines.extend(hang(
                    "You can extract now, but members of hidden-membership groups will be listed as warnings.",
                    w,
                    "",
                    "",
                    t.warn,
                ));
            }
            if !report.remediation.is_empty() {
                lines.push(Line::raw(""));
                lines.extend(hang(
                    "To grant them (an administrator must consent), then press r to re-check:",
                    w,
                    "",
                    "",
                    t.title,
                ));
                // The report's steps are unnumbered; number them like `check` does.
                for (i, step) in report.remediation.iter().enumerate() {
                    let number = format!("  {}. ", i + 1);
                    let indent = " ".repeat(number.len());
                    lines.extend(hang(step, w, &number, &indent, plain));
                }
            }
            let mut warnings: Vec<Line> = Vec::new();
            for perm in &report.over_privileged {
                let text = format!(
                    "{perm} is granted but this tool only reads; remove it (least privilege)."
                );
                warnings.extend(hang(&text, w, "  ! ", "    ", t.warn));
            }
            for s in &report.secret_expiry {
                let hint = s
                    .hint
                    .as_deref()
                    .map(|h| format!(" {h}…"))
                    .unwrap_or_default();
                let (mark, text, style) = if s.days_left < 0 {
                    let text = format!(
                        "Secret{hint} expired {} days ago ({}); create a new one.",
                        -s.days_left, s.end_date_time
                    );
                    ("  ! ", text, t.warn)
                } else if s.days_left < EXPIRY_WARNING_DAYS {
                    let text = format!(
                        "Secret{hint} expires in {} days ({}); create a new one soon.",
                        s.days_left, s.end_date_time
                    );
                    ("  ! ", text, t.warn)
                } else {
                    let text = format!(
                        "Secret{hint} expires in {} days ({}).",
                        s.days_left, s.end_date_time
                    );
                    ("  · ", text, t.dim)
                };
                warnings.extend(hang(&text, w, mark, "    ", style));
            }
            if !warnings.is_empty() {
                lines.push(Line::raw(""));
                lines.push(Line::styled("Warnings:", t.title));
                lines.extend(warnings);
            }
        }
    }
    // Keep the last screenful reachable, and say when more is below.
    let total = lines.len() as u16;
    let scroll = app.check.scroll.min(total.saturating_sub(area.height));
    let hidden_below = total > scroll + area.height;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), area);
    if hidden_below && area.height > 0 {
        let more = "↓ more";
        let width = (more.chars().count() as u16).min(area.width);
        frame.render_widget(
            Paragraph::new(Line::styled(more, t.key)),
            Rect {
                x: area.right().saturating_sub(width),
                y: area.bottom() - 1,
                width,
                height: 1,
            },
        );
    }
}

/// Key hints for the help bar.
pub fn help(app: &App) -> &'static str {
    if app.is_waiting() {
        "Esc stop waiting · Ctrl-C quit"
    } else if app.check.saved_profile.is_some() {
        "r re-check · ↑↓ scroll · Enter/Esc home"
    } else {
        "r re-check · ↑↓ scroll · Enter next · Esc back"
    }
}
