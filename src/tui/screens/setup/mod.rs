//! The setup wizard for a new or edited profile: seven steps over one [`Form`]. Each step
//! is a [`SetupStep`] in its own module (steps 1–4 here: [`cloud`], [`ids`], [`credential`];
//! 5–7 beside the other screens: permissions, output, save), with its keys, its drawing and
//! its help text; [`Setup`] holds what they share and hands input to the current step.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;

use super::permissions::{PermissionView, PermissionsStep};
use super::save::{SaveStep, SaveView};
use super::{Component, ScreenKind, output::OutputStep};
use crate::tui::action::Action;
use crate::tui::app::Context;
use crate::tui::services::ProfileDraft;
use crate::tui::theme::Theme;
use crate::tui::widgets::{FieldMessage, Severity};

pub mod cloud;
pub mod credential;
pub mod form;
pub mod ids;

pub use form::{CLOUDS, CloudFocus, CredentialKind, Form, OutputFocus, error_message};

/// The setup steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Cloud,
    Tenant,
    ClientId,
    Credential,
    Validating,
    Permissions,
    Output,
    Save,
}

impl Step {
    /// Position shown as "Step n of [`Step::COUNT`]".
    pub fn number(self) -> u8 {
        match self {
            Step::Cloud => 1,
            Step::Tenant => 2,
            Step::ClientId => 3,
            Step::Credential | Step::Validating => 4,
            Step::Permissions => 5,
            Step::Output => 6,
            Step::Save => 7,
        }
    }

    /// Steps a user walks through.
    pub const COUNT: u8 = 7;

    /// Title for the header.
    pub fn title(self) -> &'static str {
        self.component().title()
    }

    /// The step's behaviour: the one place that maps a step to its module.
    fn component(self) -> &'static dyn SetupStep {
        match self {
            Step::Cloud => &cloud::CloudStep,
            Step::Tenant => &ids::TENANT,
            Step::ClientId => &ids::CLIENT_ID,
            Step::Credential => &credential::CredentialStep,
            Step::Validating => &credential::ValidatingStep,
            Step::Permissions => &PermissionsStep,
            Step::Output => &OutputStep,
            Step::Save => &SaveStep,
        }
    }
}

/// What one setup step does. A step keeps what outlives it (the typed values, the permission
/// report, the profile name) in the [`Setup`] it is given, so going back and forth loses
/// nothing.
pub trait SetupStep {
    /// Title for the header.
    fn title(&self) -> &'static str;
    fn on_key(&self, setup: &mut Setup, cx: &mut Context, key: KeyEvent);
    /// Bracketed paste into the focused field.
    fn on_paste(&self, _setup: &mut Setup, _text: &str) {}
    /// A background result this step asked for.
    fn on_result(&self, _setup: &mut Setup, _cx: &mut Context, _result: Action) {}
    /// Stop without asking (Ctrl-C, SIGINT, input closed): quit, unless the step must
    /// finish first.
    fn on_interrupt(&self, _setup: &mut Setup, cx: &mut Context) {
        cx.should_quit = true;
    }
    /// Draw the step. Pure: reads only `setup` and `cx`.
    fn render(&self, setup: &Setup, frame: &mut Frame, area: Rect, cx: &Context);
    /// Key hints for the help bar.
    fn help(&self, setup: &Setup, cx: &Context) -> &'static str;
}

/// The setup screen: the current step and what the steps share.
#[derive(Debug)]
pub struct Setup {
    pub step: Step,
    /// Everything typed so far.
    pub form: Form,
    /// Step 5's report, kept when the user goes on to step 6 and comes back.
    pub check: PermissionView,
    /// Step 7: the profile name and how to store the secret.
    pub save: SaveView,
}

impl Setup {
    /// Step 1 of a profile described by `form` (empty, or filled from a demo app).
    pub fn new(form: Form) -> Self {
        Setup {
            step: Step::Cloud,
            form,
            check: PermissionView::default(),
            save: SaveView::default(),
        }
    }

    /// Step 1 of editing a saved profile.
    pub fn edit(draft: &ProfileDraft) -> Self {
        let mut setup = Setup::new(Form::from_draft(draft));
        setup.save.name = Input::new(draft.name.clone());
        setup.save.schedule = Input::new(draft.schedule.map(|s| s.to_string()).unwrap_or_default());
        setup
    }

    /// Show `step`; its notice goes with the old step.
    pub(crate) fn go(&mut self, cx: &mut Context, step: Step) {
        self.step = step;
        cx.notice = None;
    }

    /// The profile the form describes, under the name typed on the save step.
    pub(crate) fn draft(&self) -> ProfileDraft {
        let mut draft = self.form.draft(self.save.name.value().trim());
        // Checked by the save step before it saves; a draft for a one-off run has none.
        draft.schedule = super::save::parse_schedule(self.save.schedule.value())
            .ok()
            .flatten();
        let file = self.save.credential_file.value().trim();
        draft.credential_file = (!file.is_empty()).then(|| std::path::PathBuf::from(file));
        draft
    }
}

impl Component for Setup {
    fn kind(&self) -> ScreenKind {
        ScreenKind::Setup(self.step)
    }

    fn title(&self, _cx: &Context) -> String {
        let what = match (&self.form.editing, &self.form.demo_label) {
            (Some(name), _) => format!("Edit {name}"),
            (None, Some(demo)) => format!("Demo: {demo}"),
            (None, None) => "New profile".into(),
        };
        format!(
            "{what} · Step {} of {}: {}",
            self.step.number(),
            Step::COUNT,
            self.step.title()
        )
    }

    fn help(&self, cx: &Context) -> &'static str {
        self.step.component().help(self, cx)
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        self.step.component().render(self, frame, area, cx)
    }

    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        self.step.component().on_key(self, cx, key)
    }

    fn on_paste(&mut self, _cx: &mut Context, text: &str) {
        self.step.component().on_paste(self, text)
    }

    fn on_result(&mut self, cx: &mut Context, result: Action) {
        self.step.component().on_result(self, cx, result)
    }

    fn on_interrupt(&mut self, cx: &mut Context) {
        self.step.component().on_interrupt(self, cx)
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

fn message_block(frame: &mut Frame, area: Rect, theme: &Theme, msg: Option<&FieldMessage>) {
    if let Some(m) = msg {
        let style = match m.severity {
            Severity::Error => theme.error,
            Severity::Warning => theme.warn,
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
