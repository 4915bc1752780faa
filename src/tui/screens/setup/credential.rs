//! Setup step 4: the client secret or certificate, then live validation (signing in and
//! reading the organization) while a spinner shows.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;

use super::{CredentialKind, Setup, SetupStep, Step, below, draw_intro, message_block};
use crate::tui::action::Action;
use crate::tui::app::Context;
use crate::tui::services::{CheckTarget, CredentialProblem, Field, TenantInfo};
use crate::tui::validate;
use crate::tui::widgets::{
    FieldMessage, FieldValue, Severity, edit_input, field, paste_into, spinner,
};

/// Step 4.
pub struct CredentialStep;

impl SetupStep for CredentialStep {
    fn title(&self) -> &'static str {
        "Credential"
    }

    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
        let f = &mut setup.form;
        match key.code {
            KeyCode::Tab | KeyCode::BackTab => {
                f.credential_kind = match f.credential_kind {
                    CredentialKind::Secret => CredentialKind::Certificate,
                    CredentialKind::Certificate => CredentialKind::Secret,
                };
            }
            KeyCode::Esc => setup.go(cx, Step::ClientId),
            KeyCode::Enter => submit(setup, cx),
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

    fn on_paste(&self, setup: &mut Setup, text: &str) {
        let f = &mut setup.form;
        match f.credential_kind {
            CredentialKind::Secret => {
                f.secret.paste(text);
                f.messages.remove(&Field::Secret);
                f.secret_id_confirmed = false;
            }
            CredentialKind::Certificate => {
                paste_into(&mut f.certificate_path, text.trim());
                f.messages.remove(&Field::Certificate);
            }
        }
    }

    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
        let t = &cx.theme;
        let f = &setup.form;
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
        if f.credential_kind == CredentialKind::Secret && !f.messages.contains_key(&Field::Secret) {
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
        message_block(frame, rest, t, f.messages.get(&Field::None));
    }

    fn help(&self, _setup: &Setup, _cx: &Context) -> &'static str {
        "Tab secret/certificate · Ctrl-U clear · Enter sign in · Esc back"
    }
}

/// Step 4 while signing in.
pub struct ValidatingStep;

impl SetupStep for ValidatingStep {
    fn title(&self) -> &'static str {
        "Signing in"
    }

    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
        if key.code == KeyCode::Esc {
            cx.abandon();
            setup.go(cx, Step::Credential);
        }
    }

    fn on_result(&self, setup: &mut Setup, cx: &mut Context, result: Action) {
        if let Action::Validated(_, result) = result {
            on_validated(setup, cx, result);
        }
    }

    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
        let t = &cx.theme;
        let f = &setup.form;
        let who = f.tenant.value().trim();
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled(spinner(cx.tick), t.accent),
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

    fn help(&self, _setup: &Setup, _cx: &Context) -> &'static str {
        "Esc stop waiting · Ctrl-C quit"
    }
}

/// Format checks, then live validation in the background.
fn submit(setup: &mut Setup, cx: &mut Context) {
    let f = &mut setup.form;
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
    f.messages.clear();
    let input = f.credentials_input();
    let generation = cx.begin();
    setup.go(cx, Step::Validating);
    cx.spawn(
        move |s| async move { Action::Validated(generation, s.validate_credentials(input).await) },
    );
}

/// The sign-in answered: on to the permission check, or back to the field at fault.
fn on_validated(
    setup: &mut Setup,
    cx: &mut Context,
    result: Result<TenantInfo, CredentialProblem>,
) {
    match result {
        Ok(tenant) => {
            tracing::info!(tenant_id = %tenant.tenant_id, "credentials validated");
            if setup.form.domain_prefix.value().trim().is_empty() {
                setup.form.domain_prefix =
                    Input::new(validate::default_prefix(&tenant.default_domain));
            }
            if setup.save.name.value().trim().is_empty() {
                setup.save.name =
                    Input::new(validate::default_profile_name(&tenant.default_domain));
            }
            setup.form.validated = Some(tenant);
            let input = setup.form.credentials_input();
            setup.check.start(cx, CheckTarget::Credentials(input));
            setup.go(cx, Step::Permissions);
        }
        Err(problem) => {
            tracing::info!(field = ?problem.field, "credential validation failed");
            let step = match problem.field {
                Field::Cloud | Field::Endpoint => Step::Cloud,
                Field::Tenant => Step::Tenant,
                Field::ClientId => Step::ClientId,
                Field::Secret | Field::Certificate | Field::None => Step::Credential,
            };
            setup.form.messages.insert(
                problem.field,
                FieldMessage {
                    severity: Severity::Error,
                    message: problem.message,
                    remedy: problem.remedy,
                },
            );
            setup.go(cx, step);
        }
    }
}
