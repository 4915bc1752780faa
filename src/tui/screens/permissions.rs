//! Setup step 5 (and "check" from home): which permissions are granted, how to grant the
//! missing ones, and warnings for over-privilege and expiring secrets.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::home::Home;
use super::new_app::NewApp;
use super::setup::{OutputFocus, Setup, SetupStep, Step};
use super::{Component, Screen, ScreenKind};
use crate::permissions::report::{DIRECTORY_READ_ALL, GrantCommand, GrantState, PermissionReport};
use crate::tui::action::Action;
use crate::tui::app::{Context, Loadable, Notice};
use crate::tui::services::CheckTarget;
use crate::tui::widgets::{hang, spinner};

const RECHECKING: &str = "Checking again…";

const WAITING_HELP: &str = "Esc stop waiting · Ctrl-C quit";

/// A permission report, its re-check and its scrolling: shared by setup step 5 and the
/// check of a saved profile from home.
#[derive(Debug, Clone)]
pub struct PermissionView {
    /// What is being checked, for re-checks.
    pub target: Option<CheckTarget>,
    pub report: Loadable<PermissionReport>,
    /// First line shown, for long reports on short terminals.
    pub scroll: u16,
}

impl Default for PermissionView {
    fn default() -> Self {
        PermissionView {
            target: None,
            report: Loadable::Loading,
            scroll: 0,
        }
    }
}

/// `Microsoft Graph PowerShell` → `microsoft-graph-powershell`, for file names.
fn slug(tool: &str) -> String {
    tool.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// True when the extraction can run: Directory.Read.All is granted.
pub fn can_extract(report: &PermissionReport) -> bool {
    report
        .required
        .iter()
        .any(|p| p.app_role_id == DIRECTORY_READ_ALL && p.state == GrantState::Granted)
}

impl PermissionView {
    /// Start checking `target` in the background.
    pub(crate) fn start(&mut self, cx: &mut Context, target: CheckTarget) {
        let generation = cx.begin();
        self.report = Loadable::Loading;
        self.target = Some(target.clone());
        cx.spawn(move |s| async move {
            Action::PermissionsChecked(generation, s.check_permissions(target).await)
        });
    }

    /// The grant commands of the report showing, once it has some.
    fn grant_commands(&self) -> &[GrantCommand] {
        match &self.report {
            Loadable::Ready(r) => &r.grant_commands,
            _ => &[],
        }
    }

    /// Copy the grant command labelled `key` whole: a terminal copy of the wrapped lines on
    /// screen would break it. To the clipboard (OSC 52), and into a file for terminals
    /// without.
    fn copy_command(&self, cx: &mut Context, key: char) {
        let index = (key as usize).wrapping_sub('a' as usize);
        let Some(c) = self.grant_commands().get(index) else {
            return;
        };
        cx.copy(c.command.clone());
        let app = match &self.target {
            Some(CheckTarget::Credentials(input)) => input.client_id.trim().to_owned(),
            Some(CheckTarget::Saved(name)) => name.clone(),
            None => "app".to_owned(),
        };
        let file_name = format!("grant-{app}-{}.txt", slug(&c.tool));
        let (what, text) = (format!("the {} command", c.tool), c.command.clone());
        cx.spawn(move |s| async move {
            let result = s.save_copy(file_name, text).await;
            Action::CopySaved { what, result }
        });
    }

    /// Re-check and scroll; other keys are the owner's.
    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        match key.code {
            KeyCode::Char(c @ 'a'..='b') => self.copy_command(cx, c),
            KeyCode::Char('r') if !cx.is_waiting() => {
                if let Some(target) = self.target.clone() {
                    self.start(cx, target);
                    cx.notice = Some(Notice::info(RECHECKING));
                }
            }
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.scroll = (self.scroll + 1).min(200),
            _ => {}
        }
    }

    fn on_result(&mut self, cx: &mut Context, result: Action) {
        let result = match result {
            Action::PermissionsChecked(_, result) => result,
            Action::CopySaved { what, result } => {
                cx.notice = Some(match result {
                    Ok(path) => Notice::info(format!(
                        "Copied {what} to the clipboard (if the terminal allows it: OSC 52) and wrote it, on one line, to {}",
                        path.display()
                    )),
                    Err(e) => Notice::error(format!(
                        "Copied {what} to the clipboard (if the terminal allows it: OSC 52); it could not be kept in a file: {e}"
                    )),
                });
                return;
            }
            _ => return,
        };
        self.scroll = 0;
        let all_granted = matches!(&result, Ok(r) if r.all_granted());
        let rechecking = cx.notice.as_ref().is_some_and(|n| n.text == RECHECKING);
        if all_granted || rechecking {
            cx.notice = None;
        }
        self.report = match result {
            Ok(r) => Loadable::Ready(r),
            Err(e) => Loadable::Failed(e),
        };
    }
}

/// Setup step 5.
pub struct PermissionsStep;

impl SetupStep for PermissionsStep {
    fn title(&self) -> &'static str {
        "Permissions"
    }

    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
        match key.code {
            KeyCode::Esc => {
                cx.abandon();
                setup.go(cx, Step::Credential);
            }
            KeyCode::Enter => match &setup.check.report {
                Loadable::Ready(report) if can_extract(report) => {
                    setup.form.output_focus = OutputFocus::Prefix;
                    setup.go(cx, Step::Output);
                }
                Loadable::Ready(_) => {
                    cx.notice = Some(Notice::error(
                        "Directory.Read.All is required to extract. Grant it (steps above), then press r.",
                    ))
                }
                Loadable::Failed(_) => {
                    cx.notice = Some(Notice::error("The check failed; press r to try again."))
                }
                Loadable::Loading => {}
            },
            _ => setup.check.on_key(cx, key),
        }
    }

    fn on_result(&self, setup: &mut Setup, cx: &mut Context, result: Action) {
        setup.check.on_result(cx, result)
    }

    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
        render(&setup.check, frame, area, cx)
    }

    fn help(&self, setup: &Setup, cx: &Context) -> &'static str {
        let copy = !setup.check.grant_commands().is_empty();
        match &setup.check.report {
            _ if cx.is_waiting() => WAITING_HELP,
            Loadable::Ready(report) if can_extract(report) => {
                if copy {
                    "a/b copy a command · r re-check · ↑↓ scroll · Enter next · Esc back"
                } else {
                    "r re-check · ↑↓ scroll · Enter next · Esc back"
                }
            }
            // Enter is refused until Directory.Read.All is granted or the check succeeds.
            Loadable::Ready(_) if copy => {
                "a/b copy a command · r re-check after granting · ↑↓ scroll · Esc back"
            }
            Loadable::Ready(_) => "r re-check after granting · ↑↓ scroll · Esc back",
            Loadable::Failed(_) | Loadable::Loading => "r try again · Esc back",
        }
    }
}

/// The check of a saved profile, from home.
#[derive(Debug, Clone)]
pub struct SavedCheck {
    pub name: String,
    pub view: PermissionView,
}

impl SavedCheck {
    /// Check the saved profile `name` and show its report.
    pub(crate) fn start(cx: &mut Context, name: String) {
        let mut view = PermissionView::default();
        view.start(cx, CheckTarget::Saved(name.clone()));
        cx.go(Screen::Check(SavedCheck { name, view }));
    }
}

impl SavedCheck {
    /// A secret of the app expired or ends within 30 days.
    fn secret_expires_soon(&self) -> bool {
        matches!(&self.view.report, Loadable::Ready(r) if r.secret_in_use_expires_soon())
    }
}

impl Component for SavedCheck {
    fn kind(&self) -> ScreenKind {
        ScreenKind::Check
    }

    fn title(&self, _cx: &Context) -> String {
        format!("Check {}", self.name)
    }

    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        match key.code {
            KeyCode::Esc | KeyCode::Enter => {
                cx.abandon();
                cx.go(Screen::Home(Home::default()));
            }
            KeyCode::Char('s') if self.secret_expires_soon() && !cx.is_waiting() => {
                NewApp::rotate(cx, self.name.clone());
            }
            _ => self.view.on_key(cx, key),
        }
    }

    fn on_result(&mut self, cx: &mut Context, result: Action) {
        self.view.on_result(cx, result)
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        render(&self.view, frame, area, cx)
    }

    fn help(&self, cx: &Context) -> &'static str {
        let copy = !self.view.grant_commands().is_empty();
        if cx.is_waiting() {
            WAITING_HELP
        } else if self.secret_expires_soon() && copy {
            "s rotate the secret now · a/b copy a command · r re-check · ↑↓ scroll · Enter/Esc home"
        } else if self.secret_expires_soon() {
            "s rotate the secret now · r re-check · ↑↓ scroll · Enter/Esc home"
        } else if copy {
            "a/b copy a command · r re-check · ↑↓ scroll · Enter/Esc home"
        } else {
            "r re-check · ↑↓ scroll · Enter/Esc home"
        }
    }
}

/// Draw the permission report.
fn render(view: &PermissionView, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let w = area.width;
    let lines = match &view.report {
        Loadable::Loading => vec![Line::from(vec![
            Span::styled(spinner(cx.tick), t.accent),
            Span::raw(" Checking the app's Microsoft Graph permissions…"),
        ])],
        Loadable::Failed(e) => {
            let mut lines = vec![Line::styled("The permission check failed.", t.error)];
            lines.extend(hang(&e.text(), w, "", "", Style::new()));
            lines.push(Line::raw("Press r to try again."));
            lines
        }
        Loadable::Ready(report) => {
            let mut lines = grant_lines(report, w, cx);
            lines.extend(remedy_lines(report, w, cx));
            lines.extend(warning_lines(report, w, cx));
            lines
        }
    };
    render_scrolled(view, frame, area, lines, cx);
}

/// Each required permission with its state and evidence, and whether extracting can start.
fn grant_lines(report: &PermissionReport, w: u16, cx: &Context) -> Vec<Line<'static>> {
    let t = &cx.theme;
    let mut lines: Vec<Line> = Vec::new();
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
    lines
}

/// How to grant what is missing: the steps, numbered, and the commands to copy.
fn remedy_lines(report: &PermissionReport, w: u16, cx: &Context) -> Vec<Line<'static>> {
    let t = &cx.theme;
    let plain = Style::new();
    let mut lines: Vec<Line> = Vec::new();
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
        if !report.grant_commands.is_empty() {
            lines.extend(hang(
                "Or run one of these as an administrator; press its letter to copy it whole (the lines below wrap):",
                w,
                "",
                "",
                plain,
            ));
            for (key, c) in ('a'..='b').zip(&report.grant_commands) {
                lines.push(Line::from(vec![
                    Span::raw("  "),
                    Span::styled(key.to_string(), t.key),
                    Span::raw(format!(") {}:", c.tool)),
                ]));
                lines.extend(hang(&c.command, w, "    ", "    ", t.dim));
            }
        }
    }
    lines
}

/// Permissions granted beyond what is read, and the secrets' expiry: the warnings first,
/// then the secrets that last.
fn warning_lines(report: &PermissionReport, w: u16, cx: &Context) -> Vec<Line<'static>> {
    let t = &cx.theme;
    let mut lines: Vec<Line> = Vec::new();
    let mut warnings: Vec<Line> = Vec::new();
    for perm in &report.over_privileged {
        let text =
            format!("{perm} is granted but this tool only reads; remove it (least privilege).");
        warnings.extend(hang(&text, w, "  ! ", "    ", t.warn));
    }
    // Only what `run` warns about is a warning: expired, or within 30 days.
    let mut later: Vec<Line> = Vec::new();
    for s in &report.secret_expiry {
        let hint = s
            .hint
            .as_deref()
            .map(|h| format!(" {h}…"))
            .unwrap_or_default();
        if s.days_left < 0 {
            let text = format!(
                "Secret{hint} expired {} days ago ({}); create a new one.",
                -s.days_left, s.end_date_time
            );
            warnings.extend(hang(&text, w, "  ! ", "    ", t.warn));
        } else if s.is_soon() {
            let text = format!(
                "Secret{hint} expires in {} days ({}); create a new one soon.",
                s.days_left, s.end_date_time
            );
            warnings.extend(hang(&text, w, "  ! ", "    ", t.warn));
        } else {
            let text = format!(
                "Secret{hint} expires in {} days ({}).",
                s.days_left, s.end_date_time
            );
            later.extend(hang(&text, w, "", "    ", t.dim));
        }
    }
    if !warnings.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Warnings:", t.title));
        lines.extend(warnings);
    }
    if !later.is_empty() {
        lines.push(Line::raw(""));
        lines.extend(later);
    }
    lines
}

/// Draws `lines` from the view's scroll position, keeping the last screenful reachable.
fn render_scrolled(
    view: &PermissionView,
    frame: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    cx: &Context,
) {
    let t = &cx.theme;
    // Keep the last screenful reachable, and say when more is below (on a row of its own,
    // so it hides no line's end).
    let total = lines.len() as u16;
    let rows = if total > area.height {
        area.height.saturating_sub(1)
    } else {
        area.height
    };
    let scroll = view.scroll.min(total.saturating_sub(rows));
    let hidden_below = total > scroll + rows;
    frame.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)),
        Rect {
            height: rows,
            ..area
        },
    );
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
