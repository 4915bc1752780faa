//! Setup steps 2 and 3: the tenant, and the app registration's client id. Each is one text
//! field that checks its format before moving on; live validation errors come back to it.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use tui_input::Input;

use super::{Form, Setup, SetupStep, Step, draw_intro, intro};
use crate::tui::app::Context;
use crate::tui::services::Field;
use crate::tui::validate::{self, FormatError};
use crate::tui::widgets::{FieldValue, edit_input, field, paste_into};

/// A step that asks for one id.
pub struct IdStep {
    title: &'static str,
    intro: [&'static str; 2],
    label: &'static str,
    field: Field,
    input: fn(&Form) -> &Input,
    input_mut: fn(&mut Form) -> &mut Input,
    check: fn(&str) -> Result<(), FormatError>,
    back: Step,
    next: Step,
    /// Editing the value makes the tenant read at the last sign-in stale.
    forgets_tenant: bool,
}

/// Step 2.
pub static TENANT: IdStep = IdStep {
    title: "Tenant",
    intro: [
        "Which tenant? The Directory (tenant) ID or a domain name.",
        "Portal: Entra ID > App registrations > your app > Overview.",
    ],
    label: "Tenant",
    field: Field::Tenant,
    input: |f| &f.tenant,
    input_mut: |f| &mut f.tenant,
    check: validate::tenant,
    back: Step::Cloud,
    next: Step::ClientId,
    forgets_tenant: true,
};

/// Step 3.
pub static CLIENT_ID: IdStep = IdStep {
    title: "Client id",
    intro: [
        "The app registration's Application (client) ID.",
        "Portal: Entra ID > App registrations > your app > Overview.",
    ],
    label: "Client id",
    field: Field::ClientId,
    input: |f| &f.client_id,
    input_mut: |f| &mut f.client_id,
    check: validate::client_id,
    back: Step::Tenant,
    next: Step::Credential,
    forgets_tenant: false,
};

impl SetupStep for IdStep {
    fn title(&self) -> &'static str {
        self.title
    }

    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent) {
        let f = &mut setup.form;
        match key.code {
            KeyCode::Esc => setup.go(cx, self.back),
            KeyCode::Enter => match (self.check)((self.input)(f).value()) {
                Ok(()) => {
                    f.messages.remove(&self.field);
                    setup.go(cx, self.next);
                }
                Err(e) => f.set_error(self.field, e),
            },
            _ => {
                if edit_input((self.input_mut)(f), key) {
                    f.messages.remove(&self.field);
                    if self.forgets_tenant {
                        f.validated = None;
                    }
                }
            }
        }
    }

    fn on_paste(&self, setup: &mut Setup, text: &str) {
        let f = &mut setup.form;
        paste_into((self.input_mut)(f), text.trim());
        f.messages.remove(&self.field);
    }

    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context) {
        let f = &setup.form;
        let rest = draw_intro(frame, area, intro(&self.intro));
        field(
            frame,
            rest,
            &cx.theme,
            self.label,
            FieldValue::Text((self.input)(f)),
            true,
            f.messages.get(&self.field),
        );
    }

    fn help(&self, _setup: &Setup, _cx: &Context) -> &'static str {
        "Enter next · Esc back · Ctrl-C quit"
    }
}
