//! Home: the saved profiles with their last run, and what can be done with them.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use super::demo::DemoPicker;
use super::new_app::NewApp;
use super::permissions::SavedCheck;
use super::secret_storage::SecretStorageScreen;
use super::setup::{Form, Setup};
use super::{Component, Screen, ScreenKind, extract};
use crate::tui::action::Action;
use crate::tui::app::{Context, Loadable, Notice};
use crate::tui::services::{ExtractionTarget, ProfileSummary, ServiceError};
use crate::tui::widgets::count;
use crate::tui::widgets::spinner;

/// The saved profiles and the one selected. Shared by all screens: any of them may reload
/// the list, and the selection outlives a visit to another screen.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedProfiles {
    pub list: Loadable<Vec<ProfileSummary>>,
    pub selected: usize,
}

impl Default for SavedProfiles {
    fn default() -> Self {
        SavedProfiles {
            list: Loadable::Loading,
            selected: 0,
        }
    }
}

impl SavedProfiles {
    /// The profiles, once loaded.
    pub fn ready(&self) -> &[ProfileSummary] {
        match &self.list {
            Loadable::Ready(p) => p,
            _ => &[],
        }
    }

    /// The profile under the cursor.
    pub fn selected(&self) -> Option<&ProfileSummary> {
        self.ready().get(self.selected)
    }

    fn selected_name(&self) -> Option<String> {
        self.selected().map(|p| p.name.clone())
    }

    /// A reloaded list; the cursor stays on the list.
    pub(crate) fn set(&mut self, result: Result<Vec<ProfileSummary>, ServiceError>) {
        self.list = match result {
            Ok(list) => {
                self.selected = self.selected.min(list.len().saturating_sub(1));
                Loadable::Ready(list)
            }
            Err(e) => Loadable::Failed(e),
        };
    }
}

/// Home screen state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Home {
    /// Waiting for y/n before deleting the selected profile.
    pub confirm_delete: bool,
    /// The profile being deleted. A delete runs to its end once started (its secret, run
    /// history, state and timer go one after the other): the screen waits for it and says
    /// what came of it.
    pub deleting: Option<String>,
    /// Ctrl-C (or an interrupt) came while deleting: the wizard quits once the delete is done.
    pub quit_when_deleted: bool,
}

impl Home {
    /// A new profile: the demo picker first in demo mode.
    fn new_profile(cx: &mut Context) {
        if cx.options.demo_apps.is_empty() {
            cx.go(Screen::Setup(Setup::new(Form::new(
                &cx.options.default_output_dir,
            ))));
        } else {
            cx.go(Screen::DemoPicker(DemoPicker));
        }
    }
}

impl Component for Home {
    fn kind(&self) -> ScreenKind {
        ScreenKind::Home
    }

    fn title(&self, _cx: &Context) -> String {
        "Saved profiles".into()
    }

    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        if self.deleting.is_some() {
            return;
        }
        if cx.is_waiting() {
            if key.code == KeyCode::Esc {
                cx.abandon();
                cx.notice = None;
            }
            return;
        }
        let selected = cx.profiles.selected_name();
        if self.confirm_delete {
            self.confirm_delete = false;
            if let (KeyCode::Char('y' | 'Y'), Some(name)) = (key.code, selected) {
                let generation = cx.begin();
                cx.notice = Some(Notice::info(format!("Deleting {name}…")));
                self.deleting = Some(name.clone());
                cx.spawn(move |s| async move {
                    let result = s
                        .delete_profile(name.clone())
                        .await
                        .map(|what| (name, what));
                    Action::ProfileDeleted(generation, result)
                });
            }
            return;
        }
        let count = cx.profiles.ready().len();
        let cursor = &mut cx.profiles.selected;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => *cursor = cursor.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') if *cursor + 1 < count => *cursor += 1,
            KeyCode::Char('n') => Home::new_profile(cx),
            KeyCode::Char('a') => cx.go(Screen::NewApp(NewApp::open(&cx.options))),
            KeyCode::Char('e') => {
                if let Some(name) = selected {
                    let generation = cx.begin();
                    cx.notice = Some(Notice::info(format!("Loading {name}…")));
                    cx.spawn(move |s| async move {
                        Action::ProfileLoaded(generation, s.load_profile(name).await.map(Box::new))
                    });
                }
            }
            KeyCode::Char('c') => {
                if let Some(name) = selected {
                    SavedCheck::start(cx, name);
                }
            }
            KeyCode::Char('s') => {
                if let Some(name) = selected {
                    SecretStorageScreen::open(cx, name);
                }
            }
            KeyCode::Char('r') | KeyCode::Enter => match selected {
                Some(name) => extract::start(cx, ExtractionTarget::Saved(name.clone()), name),
                None if key.code == KeyCode::Enter => Home::new_profile(cx),
                None => {}
            },
            KeyCode::Char('d') | KeyCode::Delete if selected.is_some() => {
                self.confirm_delete = true;
            }
            KeyCode::Char('q') | KeyCode::Esc => cx.should_quit = true,
            _ => {}
        }
    }

    fn on_result(&mut self, cx: &mut Context, result: Action) {
        match result {
            Action::ProfileLoaded(_, Ok(draft)) => {
                cx.go(Screen::Setup(Setup::edit(&draft)));
            }
            Action::ProfileDeleted(_, result) => {
                self.deleting = None;
                let said = match result {
                    Ok((name, what)) => Notice::info(format!("Deleted profile {name} ({what}).")),
                    Err(e) => Notice::error(e.text()),
                };
                if self.quit_when_deleted {
                    cx.quit_saying(said);
                } else {
                    cx.notice = Some(said);
                    cx.reload_profiles();
                }
            }
            Action::ProfileLoaded(_, Err(e)) => cx.notice = Some(Notice::error(e.text())),
            _ => {}
        }
    }

    fn on_interrupt(&mut self, cx: &mut Context) {
        match self.deleting {
            // Not half done: the wizard quits once the delete is.
            Some(_) => self.quit_when_deleted = true,
            None => cx.should_quit = true,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        render(self, frame, area, cx)
    }

    fn help(&self, cx: &Context) -> &'static str {
        if self.confirm_delete {
            "y delete · any key keep"
        } else if self.deleting.is_some() {
            "Deleting… · Ctrl-C quit once it is deleted"
        } else if cx.is_waiting() {
            "Esc stop waiting · Ctrl-C quit"
        } else if cx.profiles.ready().is_empty() {
            "n new · a create an app registration · q quit"
        } else {
            "↑↓ · Enter run · n new · a create app · e edit · c check · s secret · d delete · q quit"
        }
    }
}

/// Draw the home screen.
fn render(home: &Home, frame: &mut Frame, area: Rect, cx: &Context) {
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    render_list(frame, list_area, area.width < 70, cx);
    frame.render_widget(
        Paragraph::new(detail_lines(home, cx)).wrap(Wrap { trim: false }),
        detail_area,
    );
}

/// The saved profiles: loading, unreadable, none yet, or their table (fewer columns when
/// `narrow`).
fn render_list(frame: &mut Frame, list_area: Rect, narrow: bool, cx: &Context) {
    let t = &cx.theme;
    match &cx.profiles.list {
        Loadable::Loading => {
            frame.render_widget(
                Paragraph::new(format!("{} Loading saved profiles…", spinner(cx.tick))),
                list_area,
            );
        }
        Loadable::Failed(e) => {
            frame.render_widget(
                Paragraph::new(vec![
                    Line::styled("The saved profiles could not be read.", t.error),
                    Line::raw(e.text()),
                ])
                .wrap(Wrap { trim: false }),
                list_area,
            );
        }
        Loadable::Ready(list) if list.is_empty() => {
            frame.render_widget(
                Paragraph::new(vec![
                    Line::raw("No saved profiles yet."),
                    Line::raw(""),
                    Line::from(vec![
                        Span::raw("Press "),
                        Span::styled("n", t.key),
                        Span::raw(" to set up an app registration you have and extract a tenant,"),
                    ]),
                    Line::from(vec![
                        Span::raw("or "),
                        Span::styled("a", t.key),
                        Span::raw(" if you don't have one yet: an administrator signs in and it is created for you."),
                    ]),
                ])
                .wrap(Wrap { trim: false }),
                list_area,
            );
        }
        Loadable::Ready(list) => render_table(frame, list_area, list, narrow, cx),
    }
}

/// The table of saved profiles with their last run, the selected one highlighted.
fn render_table(
    frame: &mut Frame,
    list_area: Rect,
    list: &[ProfileSummary],
    narrow: bool,
    cx: &Context,
) {
    let t = &cx.theme;
    // As wide as the longest outcome ("permission missing"), so none is cut.
    let outcome_width = list
        .iter()
        .filter_map(|p| p.last_run.as_ref())
        .map(|r| r.outcome.label().chars().count())
        .max()
        .unwrap_or(0)
        .max("Outcome".len()) as u16;
    let rows = list.iter().map(|p| {
        let (when, outcome) = match &p.last_run {
            Some(r) => (
                r.started.format("%Y-%m-%d %H:%M").to_string(),
                r.outcome.label().to_string(),
            ),
            None => ("never run".into(), String::new()),
        };
        let cells = if narrow {
            vec![p.name.clone(), when, outcome]
        } else {
            vec![p.name.clone(), p.tenant.clone(), when, outcome]
        };
        Row::new(cells)
    });
    let (header, widths) = if narrow {
        (
            Row::new(["Profile", "Last run (UTC)", "Outcome"]),
            vec![
                Constraint::Fill(1),
                Constraint::Length(16),
                Constraint::Length(outcome_width),
            ],
        )
    } else {
        (
            Row::new(["Profile", "Tenant", "Last run (UTC)", "Outcome"]),
            vec![
                Constraint::Min(12),
                Constraint::Length(36),
                Constraint::Length(16),
                Constraint::Length(outcome_width),
            ],
        )
    };
    // A fresh state each frame: ratatui scrolls so the selected row is visible.
    let mut state = TableState::default().with_selected(Some(cx.profiles.selected));
    frame.render_stateful_widget(
        Table::new(rows, widths)
            .header(header.style(t.title))
            .row_highlight_style(t.selected),
        list_area,
        &mut state,
    );
}

/// Under the list: what the wizard waits for, a deletion to confirm, or the selected
/// profile and its last run.
fn detail_lines<'a>(home: &Home, cx: &'a Context) -> Vec<Line<'a>> {
    let t = &cx.theme;
    let mut detail = Vec::new();
    if let (Some(name), true) = (&home.deleting, home.quit_when_deleted) {
        detail.push(Line::styled(
            format!("The wizard quits once profile {name} is deleted."),
            t.warn,
        ));
    } else if home.confirm_delete {
        if let Some(name) = cx.profiles.selected_name() {
            detail.push(Line::styled(
                format!(
                    "Delete profile {name} and its stored secret? y = delete, any other key = keep"
                ),
                t.warn,
            ));
        }
    } else if let Some(p) = cx.profiles.selected() {
        detail.push(Line::from(vec![
            Span::styled(p.name.as_str(), t.accent),
            Span::raw(format!(" · {} · {}", p.tenant, p.cloud.label())),
        ]));
        if let Some(r) = &p.last_run {
            detail.push(Line::raw(format!(
                "Last run: {}; {} users, {} groups, {} member and {} owner rows, {} warnings",
                r.outcome.label(),
                count(r.users),
                count(r.groups),
                count(r.member_edges),
                count(r.owner_edges),
                count(r.warnings)
            )));
        }
    }
    detail
}
