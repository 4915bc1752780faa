//! Setup step 1: which Microsoft cloud, and the endpoints of a custom one.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{CLOUDS, CloudFocus, Setup, SetupStep, Step, below, draw_intro, intro, message_block};
use crate::graph::cloud::Cloud;
use crate::tui::app::{Context, DemoChoice};
use crate::tui::screens::Screen;
use crate::tui::screens::demo::DemoPicker;
use crate::tui::screens::home::Home;
use crate::tui::services::Field;
use crate::tui::validate;
use crate::tui::widgets::{FieldValue, edit_input, field, hang, paste_into};

/// Step 1.
pub struct CloudStep;

impl SetupStep for CloudStep {
    fn title(&self) -> &'static str {
        "Cloud"
    }

    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
        // The demo signs in on its simulated tenant only, whatever the form was filled from.
        if let Some(tenant) = cx.options.simulated_tenant().cloned() {
            return on_key_simulated(&tenant, setup, cx, key);
        }
        let f = &mut setup.form;
        let custom = f.cloud == Cloud::Custom;
        match (key.code, f.cloud_focus) {
            (KeyCode::Esc, _) => cx.go(Screen::Home(Home::default())),
            (KeyCode::Enter, _) => {
                // Only the custom cloud uses the typed URLs; leftovers from it must not block.
                let (authority, graph) = if custom {
                    (f.authority_url.value(), f.graph_url.value())
                } else {
                    ("", "")
                };
                match validate::endpoints(f.cloud, authority, graph) {
                    Ok(()) => {
                        f.messages.remove(&Field::Endpoint);
                        f.messages.remove(&Field::Cloud);
                        setup.go(cx, Step::Tenant);
                    }
                    Err(e) => f.set_error(Field::Endpoint, e),
                }
            }
            (KeyCode::Tab | KeyCode::Down, CloudFocus::Authority) if custom => {
                f.cloud_focus = CloudFocus::Graph
            }
            (KeyCode::Tab, CloudFocus::Graph) | (KeyCode::BackTab, CloudFocus::Authority) => {
                f.cloud_focus = CloudFocus::List
            }
            (KeyCode::Up, CloudFocus::Graph) | (KeyCode::BackTab, CloudFocus::Graph) => {
                f.cloud_focus = CloudFocus::Authority
            }
            (KeyCode::Up, CloudFocus::Authority) => f.cloud_focus = CloudFocus::List,
            (KeyCode::Tab, CloudFocus::List) if custom => f.cloud_focus = CloudFocus::Authority,
            (KeyCode::Up | KeyCode::Char('k'), CloudFocus::List) => {
                let i = CLOUDS.iter().position(|c| *c == f.cloud).unwrap_or(0);
                f.cloud = CLOUDS[i.saturating_sub(1)];
                f.messages.remove(&Field::Endpoint);
                f.messages.remove(&Field::Cloud);
                f.validated = None;
            }
            (KeyCode::Down | KeyCode::Char('j'), CloudFocus::List) => {
                let i = CLOUDS.iter().position(|c| *c == f.cloud).unwrap_or(0);
                if i + 1 < CLOUDS.len() {
                    f.cloud = CLOUDS[i + 1];
                } else if custom {
                    f.cloud_focus = CloudFocus::Authority;
                }
                f.messages.remove(&Field::Endpoint);
                f.messages.remove(&Field::Cloud);
                f.validated = None;
            }
            (_, CloudFocus::Authority) if edit_input(&mut f.authority_url, key) => {
                f.messages.remove(&Field::Endpoint);
            }
            (_, CloudFocus::Graph) if edit_input(&mut f.graph_url, key) => {
                f.messages.remove(&Field::Endpoint);
            }
            _ => {}
        }
    }

    fn on_paste(&self, setup: &mut Setup, text: &str) {
        // (In the demo the focus stays on the list: nothing is pasted.)
        let f = &mut setup.form;
        match f.cloud_focus {
            CloudFocus::Authority => paste_into(&mut f.authority_url, text),
            CloudFocus::Graph => paste_into(&mut f.graph_url, text),
            CloudFocus::List => {}
        }
    }

    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
        if let Some(tenant) = cx.options.simulated_tenant() {
            return render_simulated(tenant, frame, area, cx);
        }
        let t = &cx.theme;
        let f = &setup.form;
        let mut rest = draw_intro(
            frame,
            area,
            intro(&["Which Microsoft cloud is the tenant in?"]),
        );
        let lines: Vec<Line> = CLOUDS
            .iter()
            .map(|c| {
                let selected = *c == f.cloud;
                let marker = if selected { "(•) " } else { "( ) " };
                let style = if selected && f.cloud_focus == CloudFocus::List {
                    t.selected
                } else {
                    Style::new()
                };
                Line::from(vec![
                    Span::raw("  "),
                    Span::raw(marker),
                    Span::styled(c.label(), style),
                ])
            })
            .collect();
        let n = lines.len() as u16;
        frame.render_widget(
            Paragraph::new(lines),
            Rect {
                height: n.min(rest.height),
                ..rest
            },
        );
        rest = below(rest, n + 1);
        if f.cloud == Cloud::Custom {
            let used = field(
                frame,
                rest,
                t,
                "Authority URL",
                FieldValue::Text(&f.authority_url),
                f.cloud_focus == CloudFocus::Authority,
                None,
            );
            rest = below(rest, used);
            let used = field(
                frame,
                rest,
                t,
                "Graph URL    ",
                FieldValue::Text(&f.graph_url),
                f.cloud_focus == CloudFocus::Graph,
                None,
            );
            rest = below(rest, used);
        } else if let Some((auth, graph)) = f.cloud.known_roots() {
            frame.render_widget(
                Paragraph::new(vec![
                    Line::styled(format!("  Token endpoint: {auth}"), t.dim),
                    Line::styled(format!("  Graph:          {graph}"), t.dim),
                ]),
                rest,
            );
            rest = below(rest, 2);
        }
        let msg = f
            .messages
            .get(&Field::Endpoint)
            .or(f.messages.get(&Field::Cloud));
        message_block(frame, rest, t, msg);
    }

    fn help(&self, setup: &Setup, cx: &Context) -> &'static str {
        if cx.options.simulated_tenant().is_some() {
            "Enter next · Esc back"
        } else if setup.form.cloud == Cloud::Custom {
            "↑↓ choose · Tab URLs · Enter next · Esc back"
        } else {
            "↑↓ choose · Enter next · Esc back"
        }
    }
}

/// The demo's step 1: Enter goes on with the form on the simulated tenant, Esc back to the
/// picker; nothing else changes the cloud.
fn on_key_simulated(tenant: &DemoChoice, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => cx.go(Screen::DemoPicker(DemoPicker)),
        KeyCode::Enter => {
            let f = &mut setup.form;
            f.pin_to(tenant);
            f.messages.remove(&Field::Endpoint);
            f.messages.remove(&Field::Cloud);
            setup.go(cx, Step::Tenant);
        }
        _ => {}
    }
}

/// The demo's step 1: the simulated tenant's endpoints, which no demo form can change.
fn render_simulated(tenant: &DemoChoice, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let rest = draw_intro(
        frame,
        area,
        intro(&[
            "Which Microsoft cloud is the tenant in? In the demo: the simulated tenant on this \
             machine, fixed, so that no demo form signs in at Microsoft.",
        ]),
    );
    let lines = [
        ("Cloud:         ", "Custom authority and Graph URLs"),
        ("Authority URL: ", tenant.authority_url.as_str()),
        ("Graph URL:     ", tenant.graph_url.as_str()),
    ]
    .into_iter()
    .flat_map(|(label, value)| {
        hang(
            value,
            rest.width,
            &format!("  {label}"),
            "                 ",
            t.dim,
        )
    })
    .collect::<Vec<_>>();
    frame.render_widget(Paragraph::new(lines), rest);
}
