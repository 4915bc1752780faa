//! Demo picker: the simulated tenant's app registrations, one of which works and the others
//! show the failure paths (missing Member.Read.Hidden, no grants, expired secret).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::home::Home;
use super::new_app::NewApp;
use super::setup::{Form, Setup};
use super::{Component, Screen, ScreenKind};
use crate::tui::app::Context;
use crate::tui::widgets::hang;

/// The picker. Its selection is [`Context::demo_selected`], kept while the user visits the
/// wizard and comes back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoPicker;

impl Component for DemoPicker {
    fn kind(&self) -> ScreenKind {
        ScreenKind::DemoPicker
    }

    fn title(&self, _cx: &Context) -> String {
        "Demo".into()
    }

    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        // The last entry, after the demo apps, is "enter my own app".
        let last = cx.options.demo_apps.len();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                cx.demo_selected = cx.demo_selected.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                cx.demo_selected = (cx.demo_selected + 1).min(last)
            }
            KeyCode::Enter => {
                let dir = &cx.options.default_output_dir;
                let form = match cx.options.demo_apps.get(cx.demo_selected) {
                    Some(choice) => Form::for_demo_app(dir, choice),
                    // "Enter my own app registration": on the simulated tenant too.
                    None => match cx.options.simulated_tenant() {
                        Some(tenant) => Form::on_simulated_tenant(dir, tenant),
                        None => Form::new(dir),
                    },
                };
                cx.go(Screen::Setup(Setup::new(form)));
            }
            KeyCode::Char('a') => cx.go(Screen::NewApp(NewApp::open(&cx.options))),
            KeyCode::Esc => cx.go(Screen::Home(Home::default())),
            KeyCode::Char('q') => cx.should_quit = true,
            _ => {}
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        render(frame, area, cx)
    }

    fn help(&self, _cx: &Context) -> &'static str {
        "↑↓ select · Enter use · a create a new app registration · Esc home · q quit"
    }
}

/// Draw the picker.
fn render(frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let mut lines = vec![
        Line::raw("Demo mode: a simulated tenant on this machine. Choose an app registration;"),
        Line::raw("the wizard is filled in with it and you can follow every step."),
        Line::raw("Or press a to create a new app registration, as an administrator would."),
        Line::raw(""),
    ];
    let entries = cx
        .options
        .demo_apps
        .iter()
        .map(|d| (d.label.as_str(), d.description.as_str()))
        .chain([(
            "Enter my own app registration",
            "An empty form on the simulated tenant: type an app's client id and secret.",
        )]);
    for (i, (label, description)) in entries.enumerate() {
        let selected = i == cx.demo_selected;
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
