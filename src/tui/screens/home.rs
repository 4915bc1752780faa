//! Home: the saved profiles with their last run, and what can be done with them.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState, Wrap};

use crate::tui::action::Action;
use crate::tui::app::{App, Loadable, Notice, Screen, Step};
use crate::tui::services::{CheckTarget, ExtractionTarget, ProfileDraft, ProfileSummary};
use crate::tui::widgets::count;
use crate::tui::widgets::spinner;

/// Home screen state.
#[derive(Debug, Clone, PartialEq)]
pub struct HomeState {
    pub profiles: Loadable<Vec<ProfileSummary>>,
    pub selected: usize,
    /// Waiting for y/n before deleting the selected profile.
    pub confirm_delete: bool,
}

impl Default for HomeState {
    fn default() -> Self {
        HomeState {
            profiles: Loadable::Loading,
            selected: 0,
            confirm_delete: false,
        }
    }
}

fn selected_name(app: &App) -> Option<String> {
    app.profiles()
        .get(app.home.selected)
        .map(|p| p.name.clone())
}

pub(crate) fn on_key(app: &mut App, key: KeyEvent) {
    if app.is_waiting() {
        if key.code == KeyCode::Esc {
            app.abandon();
            app.notice = None;
        }
        return;
    }
    if app.home.confirm_delete {
        app.home.confirm_delete = false;
        if let (KeyCode::Char('y' | 'Y'), Some(name)) = (key.code, selected_name(app)) {
            let generation = app.begin();
            app.notice = Some(Notice::info(format!("Deleting {name}…")));
            app.spawn(move |s| async move {
                let result = s.delete_profile(name.clone()).await.map(|()| name);
                Action::ProfileDeleted(generation, result)
            });
        }
        return;
    }
    let count = app.profiles().len();
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => app.home.selected = app.home.selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') if app.home.selected + 1 < count => {
            app.home.selected += 1;
        }
        KeyCode::Char('n') => {
            app.form.reset(&app.options.default_output_dir);
            app.save = Default::default();
            if app.options.demo_apps.is_empty() {
                app.go(Screen::Setup(Step::Cloud));
            } else {
                app.go(Screen::DemoPicker);
            }
        }
        KeyCode::Char('e') => {
            if let Some(name) = selected_name(app) {
                let generation = app.begin();
                app.notice = Some(Notice::info(format!("Loading {name}…")));
                app.spawn(move |s| async move {
                    Action::ProfileLoaded(generation, s.load_profile(name).await.map(Box::new))
                });
            }
        }
        KeyCode::Char('c') => {
            if let Some(name) = selected_name(app) {
                app.start_check(CheckTarget::Saved(name));
            }
        }
        KeyCode::Char('r') | KeyCode::Enter => {
            if let Some(name) = selected_name(app) {
                app.start_extraction(ExtractionTarget::Saved(name.clone()), name);
            } else if key.code == KeyCode::Enter {
                on_key(app, KeyEvent::from(KeyCode::Char('n')));
            }
        }
        KeyCode::Char('d') | KeyCode::Delete if selected_name(app).is_some() => {
            app.home.confirm_delete = true;
        }
        KeyCode::Char('q') | KeyCode::Esc => app.should_quit = true,
        _ => {}
    }
}

pub(crate) fn on_profiles(app: &mut App, result: Result<Vec<ProfileSummary>, String>) {
    app.home.profiles = match result {
        Ok(list) => {
            app.home.selected = app.home.selected.min(list.len().saturating_sub(1));
            Loadable::Ready(list)
        }
        Err(e) => Loadable::Failed(e),
    };
}

pub(crate) fn on_profile_loaded(app: &mut App, result: Result<Box<ProfileDraft>, String>) {
    match result {
        Ok(draft) => {
            app.form.load(&draft);
            app.save = Default::default();
            app.save.name = tui_input::Input::new(draft.name.clone());
            app.go(Screen::Setup(Step::Cloud));
        }
        Err(e) => app.notice = Some(Notice::error(e)),
    }
}

pub(crate) fn on_deleted(app: &mut App, result: Result<String, String>) {
    match result {
        Ok(name) => {
            app.notice = Some(Notice::info(format!("Deleted profile {name}.")));
            app.reload_profiles();
        }
        Err(e) => app.notice = Some(Notice::error(e)),
    }
}

/// Draw the home screen.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    match &app.home.profiles {
        Loadable::Loading => {
            frame.render_widget(
                Paragraph::new(format!("{} Loading saved profiles…", spinner(app.tick))),
                list_area,
            );
        }
        Loadable::Failed(e) => {
            frame.render_widget(
                Paragraph::new(vec![
                    Line::styled("The saved profiles could not be read.", t.error),
                    Line::raw(e.as_str()),
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
                        Span::raw(" to set up an app registration and extract a tenant."),
                    ]),
                ])
                .wrap(Wrap { trim: false }),
                list_area,
            );
        }
        Loadable::Ready(list) => {
            let narrow = area.width < 70;
            let rows = list.iter().map(|p| {
                let (when, outcome) = match &p.last_run {
                    Some(r) => (
                        r.when.format("%Y-%m-%d %H:%M").to_string(),
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
                        Constraint::Length(9),
                    ],
                )
            } else {
                (
                    Row::new(["Profile", "Tenant", "Last run (UTC)", "Outcome"]),
                    vec![
                        Constraint::Min(12),
                        Constraint::Length(36),
                        Constraint::Length(16),
                        Constraint::Length(9),
                    ],
                )
            };
            // A fresh state each frame: ratatui scrolls so the selected row is visible.
            let mut state = TableState::default().with_selected(Some(app.home.selected));
            frame.render_stateful_widget(
                Table::new(rows, widths)
                    .header(header.style(t.title))
                    .row_highlight_style(t.selected),
                list_area,
                &mut state,
            );
        }
    }
    let mut detail = Vec::new();
    if app.home.confirm_delete {
        if let Some(name) = selected_name(app) {
            detail.push(Line::styled(
                format!(
                    "Delete profile {name} and its stored secret? y = delete, any other key = keep"
                ),
                t.warn,
            ));
        }
    } else if let Some(p) = app.profiles().get(app.home.selected) {
        detail.push(Line::from(vec![
            Span::styled(p.name.as_str(), t.accent),
            Span::raw(format!(" · {} · {}", p.tenant, p.cloud.label())),
        ]));
        if let Some(r) = &p.last_run {
            detail.push(Line::raw(format!(
                "Last run {}: {} users, {} groups, {} member and {} owner rows, {} warnings",
                r.outcome.label(),
                count(r.users),
                count(r.groups),
                count(r.member_edges),
                count(r.owner_edges),
                count(r.warnings)
            )));
        }
    }
    frame.render_widget(
        Paragraph::new(detail).wrap(Wrap { trim: false }),
        detail_area,
    );
}

/// Key hints for the help bar.
pub fn help(app: &App) -> &'static str {
    if app.home.confirm_delete {
        "y delete · any key keep"
    } else if app.is_waiting() {
        "Esc stop waiting · Ctrl-C quit"
    } else if app.profiles().is_empty() {
        "n new · q quit"
    } else {
        "↑↓ select · Enter run · n new · e edit · c check · d delete · q quit"
    }
}
