//! Setup steps 1–4: cloud, tenant, client id, credential, then live validation.
//! Each step checks its format before moving on; live validation errors come back to the
//! field they concern.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;

use crate::graph::cloud::Cloud;
use crate::tui::action::Action;
use crate::tui::app::{App, Screen, Step};
use crate::tui::services::{CheckTarget, CredentialProblem, Field, TenantInfo};
use crate::tui::validate;
use crate::tui::widgets::{
    FieldMessage, FieldValue, Severity, edit_input, field, paste_into, spinner,
};

pub mod form;

pub use form::{CLOUDS, CloudFocus, CredentialKind, Form, OutputFocus, error_message};

pub(crate) fn on_key(app: &mut App, step: Step, key: KeyEvent) {
    if key.code == KeyCode::Esc {
        let back = match step {
            Step::Cloud => {
                app.go(if app.options.demo_apps.is_empty() {
                    Screen::Home
                } else {
                    Screen::DemoPicker
                });
                return;
            }
            Step::Tenant => Step::Cloud,
            Step::ClientId => Step::Tenant,
            Step::Credential => Step::ClientId,
            Step::Validating => {
                app.abandon();
                Step::Credential
            }
            _ => return,
        };
        app.go(Screen::Setup(back));
        return;
    }
    match step {
        Step::Cloud => cloud_key(app, key),
        Step::Tenant => {
            if key.code == KeyCode::Enter {
                match validate::tenant(app.form.tenant.value()) {
                    Ok(()) => {
                        app.form.messages.remove(&Field::Tenant);
                        app.go(Screen::Setup(Step::ClientId));
                    }
                    Err(e) => app.form.set_error(Field::Tenant, e),
                }
            } else if edit_input(&mut app.form.tenant, key) {
                app.form.messages.remove(&Field::Tenant);
                app.form.validated = None;
            }
        }
        Step::ClientId => {
            if key.code == KeyCode::Enter {
                match validate::client_id(app.form.client_id.value()) {
                    Ok(()) => {
                        app.form.messages.remove(&Field::ClientId);
                        app.go(Screen::Setup(Step::Credential));
                    }
                    Err(e) => app.form.set_error(Field::ClientId, e),
                }
            } else if edit_input(&mut app.form.client_id, key) {
                app.form.messages.remove(&Field::ClientId);
            }
        }
        Step::Credential => credential_key(app, key),
        Step::Validating => {}
        _ => {}
    }
}

fn cloud_key(app: &mut App, key: KeyEvent) {
    let f = &mut app.form;
    let custom = f.cloud == Cloud::Custom;
    match (key.code, f.cloud_focus) {
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
                    app.go(Screen::Setup(Step::Tenant));
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

fn credential_key(app: &mut App, key: KeyEvent) {
    let f = &mut app.form;
    match key.code {
        KeyCode::Tab | KeyCode::BackTab => {
            f.credential_kind = match f.credential_kind {
                CredentialKind::Secret => CredentialKind::Certificate,
                CredentialKind::Certificate => CredentialKind::Secret,
            };
        }
        KeyCode::Enter => submit_credential(app),
        _ => match f.credential_kind {
            CredentialKind::Secret => {
                if f.secret.handle_key(key) {
                    f.messages.remove(&Field::Secret);
                    f.secret_id_confirmed = false;
                }
            }
            CredentialKind::Certificate => {
                if edit_input(&mut f.certificate_path, key) {
                    f.messages.remove(&Field::Certificate);
                }
            }
        },
    }
}

/// Format checks, then live validation in the background.
fn submit_credential(app: &mut App) {
    let f = &mut app.form;
    f.messages.remove(&Field::None);
    match f.credential_kind {
        CredentialKind::Secret => match validate::secret(f.secret.expose()) {
            Err(e) => return f.set_error(Field::Secret, e),
            Ok(Some(warning)) if !f.secret_id_confirmed => {
                f.secret_id_confirmed = true;
                f.messages.insert(
                    Field::Secret,
                    FieldMessage {
                        severity: Severity::Warning,
                        message: warning,
                        remedy: "Press Enter again to try it anyway.".into(),
                    },
                );
                return;
            }
            Ok(_) => {
                f.messages.remove(&Field::Secret);
            }
        },
        CredentialKind::Certificate => {
            if let Err(e) = validate::certificate_path(f.certificate_path.value()) {
                return f.set_error(Field::Certificate, e);
            }
            f.messages.remove(&Field::Certificate);
        }
    }
    // Every field passed its format check; answers from the last sign-in are now stale.
    app.form.messages.clear();
    let input = app.credentials_input();
    let generation = app.begin();
    app.go(Screen::Setup(Step::Validating));
    app.spawn(move |s| async move {
        Action::Validated(generation, s.validate_credentials(input).await)
    });
}

pub(crate) fn on_validated(app: &mut App, result: Result<TenantInfo, CredentialProblem>) {
    match result {
        Ok(tenant) => {
            tracing::info!(tenant_id = %tenant.tenant_id, "credentials validated");
            if app.form.domain_prefix.value().trim().is_empty() {
                app.form.domain_prefix =
                    Input::new(validate::default_prefix(&tenant.default_domain));
            }
            if app.save.name.value().trim().is_empty() {
                app.save.name = Input::new(validate::default_profile_name(&tenant.default_domain));
            }
            app.form.validated = Some(tenant);
            let input = app.credentials_input();
            app.start_check(CheckTarget::Credentials(input));
        }
        Err(problem) => {
            tracing::info!(field = ?problem.field, "credential validation failed");
            let step = match problem.field {
                Field::Cloud | Field::Endpoint => Step::Cloud,
                Field::Tenant => Step::Tenant,
                Field::ClientId => Step::ClientId,
                Field::Secret | Field::Certificate | Field::None => Step::Credential,
            };
            app.form.messages.insert(
                problem.field,
                FieldMessage {
                    severity: Severity::Error,
                    message: problem.message,
                    remedy: problem.remedy,
                },
            );
            app.go(Screen::Setup(step));
        }
    }
}

pub(crate) fn on_paste(app: &mut App, step: Step, text: &str) {
    let f = &mut app.form;
    match step {
        Step::Cloud => match f.cloud_focus {
            CloudFocus::Authority => paste_into(&mut f.authority_url, text),
            CloudFocus::Graph => paste_into(&mut f.graph_url, text),
            CloudFocus::List => {}
        },
        Step::Tenant => {
            paste_into(&mut f.tenant, text.trim());
            f.messages.remove(&Field::Tenant);
        }
        Step::ClientId => {
            paste_into(&mut f.client_id, text.trim());
            f.messages.remove(&Field::ClientId);
        }
        Step::Credential => match f.credential_kind {
            CredentialKind::Secret => {
                f.secret.paste(text);
                f.messages.remove(&Field::Secret);
                f.secret_id_confirmed = false;
            }
            CredentialKind::Certificate => {
                paste_into(&mut f.certificate_path, text.trim());
                f.messages.remove(&Field::Certificate);
            }
        },
        _ => {}
    }
}

fn intro(lines: &[&str]) -> Vec<Line<'static>> {
    lines.iter().map(|l| Line::raw(l.to_string())).collect()
}

/// Draw intro text, then return the area below it.
fn draw_intro(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) -> Rect {
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let h = (para.line_count(area.width) as u16).min(area.height);
    frame.render_widget(para, Rect { height: h, ..area });
    Rect {
        y: area.y + h + 1,
        height: area.height.saturating_sub(h + 1),
        ..area
    }
}

fn below(area: Rect, used: u16) -> Rect {
    Rect {
        y: area.y + used.min(area.height),
        height: area.height.saturating_sub(used),
        ..area
    }
}

/// Draw setup steps 1–4 and the validation spinner.
pub fn render(frame: &mut Frame, area: Rect, app: &App, step: Step) {
    let t = &app.theme;
    let f = &app.form;
    match step {
        Step::Cloud => {
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
                        ratatui::style::Style::new()
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
            message_block(frame, rest, app, msg);
        }
        Step::Tenant => {
            let rest = draw_intro(
                frame,
                area,
                intro(&[
                    "Which tenant? The Directory (tenant) ID or a domain name.",
                    "Portal: Entra ID > App registrations > your app > Overview.",
                ]),
            );
            field(
                frame,
                rest,
                t,
                "Tenant",
                FieldValue::Text(&f.tenant),
                true,
                f.messages.get(&Field::Tenant),
            );
        }
        Step::ClientId => {
            let rest = draw_intro(
                frame,
                area,
                intro(&[
                    "The app registration's Application (client) ID.",
                    "Portal: Entra ID > App registrations > your app > Overview.",
                ]),
            );
            field(
                frame,
                rest,
                t,
                "Client id",
                FieldValue::Text(&f.client_id),
                true,
                f.messages.get(&Field::ClientId),
            );
        }
        Step::Credential => {
            let (secret_mark, cert_mark) = match f.credential_kind {
                CredentialKind::Secret => ("(•)", "( )"),
                CredentialKind::Certificate => ("( )", "(•)"),
            };
            let mut rest = draw_intro(
                frame,
                area,
                vec![
                    Line::raw("How does the app sign in? Tab switches."),
                    Line::raw(format!(
                        "  {secret_mark} Client secret   {cert_mark} Certificate (PEM with private key)"
                    )),
                ],
            );
            let used = match f.credential_kind {
                CredentialKind::Secret => field(
                    frame,
                    rest,
                    t,
                    "Secret value",
                    FieldValue::Masked(f.secret.len()),
                    true,
                    f.messages.get(&Field::Secret),
                ),
                CredentialKind::Certificate => field(
                    frame,
                    rest,
                    t,
                    "Certificate file",
                    FieldValue::Text(&f.certificate_path),
                    true,
                    f.messages.get(&Field::Certificate),
                ),
            };
            rest = below(rest, used + 1);
            if f.credential_kind == CredentialKind::Secret
                && !f.messages.contains_key(&Field::Secret)
            {
                frame.render_widget(
                    Paragraph::new(Line::styled(
                        "  Paste the Value column of Certificates & secrets, not the Secret ID.",
                        t.dim,
                    ))
                    .wrap(Wrap { trim: false }),
                    Rect {
                        height: 2.min(rest.height),
                        ..rest
                    },
                );
                rest = below(rest, 3);
            }
            message_block(frame, rest, app, f.messages.get(&Field::None));
        }
        Step::Validating => {
            let who = f.tenant.value().trim();
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(vec![
                        Span::styled(spinner(app.tick), t.accent),
                        Span::raw(format!(
                            " Signing in to {who} and reading the organization…"
                        )),
                    ]),
                    Line::raw(""),
                    Line::styled("Esc stops waiting and goes back to the credential.", t.dim),
                ])
                .wrap(Wrap { trim: false }),
                area,
            );
        }
        _ => {}
    }
}

fn message_block(frame: &mut Frame, area: Rect, app: &App, msg: Option<&FieldMessage>) {
    if let Some(m) = msg {
        let style = match m.severity {
            Severity::Error => app.theme.error,
            Severity::Warning => app.theme.warn,
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::styled(m.message.clone(), style),
                Line::raw(m.remedy.clone()),
            ])
            .wrap(Wrap { trim: false }),
            area,
        );
    }
}

/// Key hints for the help bar.
pub fn help(app: &App, step: Step) -> &'static str {
    match step {
        Step::Cloud if app.form.cloud == Cloud::Custom => {
            "↑↓ choose · Tab URLs · Enter next · Esc back"
        }
        Step::Cloud => "↑↓ choose · Enter next · Esc back",
        Step::Credential => "Tab secret/certificate · Ctrl-U clear · Enter sign in · Esc back",
        Step::Validating => "Esc stop waiting · Ctrl-C quit",
        _ => "Enter next · Esc back · Ctrl-C quit",
    }
}
