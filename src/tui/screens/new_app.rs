//! "I don't have an app registration yet": an administrator signs in with a device code and
//! the program creates the registration, its consent and its secret (straight into the
//! keyring) as a new profile, then offers to extract. A failure lists what exists and offers
//! to delete it.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;

use super::home::Home;
use super::setup::error_message;
use super::{Component, Screen, ScreenKind, extract};
use crate::graph::FormatError;
use crate::graph::cloud::Cloud;
use crate::tui::action::{Action, Generation};
use crate::tui::app::{Context, DemoChoice, Notice, WizardOptions};
use crate::tui::services::{
    CreatedApp, ExtractionTarget, NewAppFailure, NewAppInput, NewAppUpdate,
};
use crate::tui::validate;
use tokio_util::sync::CancellationToken;

use crate::tui::widgets::{
    FieldMessage, FieldValue, clock, edit_input, field, hang, paste_into, spinner,
};

/// Which field keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NewAppFocus {
    #[default]
    Tenant,
    Profile,
}

/// Where the creation is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NewAppPhase {
    #[default]
    Form,
    /// Signing in and creating; the sign-in code once Entra gave it, then each step.
    Working {
        sign_in: Option<(String, String, std::time::Duration)>,
        lines: Vec<String>,
    },
    /// It failed; what exists is listed.
    Failed(NewAppFailure),
    /// Deleting what the failure left.
    Removing(NewAppFailure),
    /// The user kept what the failure left: the screen says how to delete it later.
    Kept(NewAppFailure),
    /// The profile is saved and its permissions are granted.
    Ready(CreatedApp),
    /// A rotation ended: what the screen says, and whether it failed.
    Rotated(String, bool),
}

/// The screen's state.
#[derive(Debug, Clone, Default)]
pub struct NewApp {
    pub tenant: Input,
    pub profile: Input,
    pub focus: NewAppFocus,
    pub message: Option<(NewAppFocus, FieldMessage)>,
    pub phase: NewAppPhase,
    pub cloud: Cloud,
    pub authority_url: Option<String>,
    pub graph_url: Option<String>,
    pub output_dir: PathBuf,
    /// The creation whose progress this screen shows.
    generation: Option<Generation>,
    /// Rotating this saved profile's secret instead of creating a registration.
    pub rotating: Option<String>,
    /// Stops the running task at its next step.
    cancel: Option<CancellationToken>,
    /// Nobody can answer any more (SIGINT, input closed): quit once the task has ended.
    quit_when_done: bool,
}

impl NewApp {
    pub fn new(output_dir: &std::path::Path) -> Self {
        NewApp {
            profile: Input::new("entra-extract".into()),
            output_dir: output_dir.to_path_buf(),
            ..NewApp::default()
        }
    }

    /// The form `a` opens: in the demo always on the simulated tenant (it must never sign
    /// in against Microsoft's real endpoints), else empty.
    pub(crate) fn open(options: &WizardOptions) -> Self {
        match options.simulated_tenant() {
            Some(demo) => NewApp::for_demo(&options.default_output_dir, demo),
            None => NewApp::new(&options.default_output_dir),
        }
    }

    /// The demo's simulated tenant, whose administrator approves every sign-in.
    fn for_demo(output_dir: &std::path::Path, demo: &DemoChoice) -> Self {
        NewApp {
            tenant: Input::new(demo.tenant.clone()),
            profile: Input::new("demo-created".into()),
            focus: NewAppFocus::Profile,
            cloud: Cloud::Custom,
            authority_url: Some(demo.authority_url.clone()),
            graph_url: Some(demo.graph_url.clone()),
            ..NewApp::new(output_dir)
        }
    }

    /// Rotate saved profile `name`'s secret: the administrator's sign-in starts at once.
    pub(crate) fn rotate(cx: &mut Context, name: String) {
        let mut screen = NewApp {
            rotating: Some(name.clone()),
            ..NewApp::default()
        };
        let generation = screen.begin_work(cx);
        let updates = progress_sender(cx, generation);
        let cancel = screen.cancel.clone().unwrap_or_default();
        cx.spawn(move |s| async move {
            Action::SecretRotated(generation, s.rotate_secret(name, updates, cancel).await)
        });
        cx.go(Screen::NewApp(screen));
    }

    /// Waits for a background task's progress and answer.
    fn begin_work(&mut self, cx: &mut Context) -> Generation {
        let generation = cx.begin();
        self.generation = Some(generation);
        self.cancel = Some(CancellationToken::new());
        self.phase = NewAppPhase::Working {
            sign_in: None,
            lines: Vec::new(),
        };
        generation
    }

    fn input(&mut self) -> &mut Input {
        match self.focus {
            NewAppFocus::Tenant => &mut self.tenant,
            NewAppFocus::Profile => &mut self.profile,
        }
    }

    fn start(&mut self, cx: &mut Context) {
        let checks = [
            (NewAppFocus::Tenant, tenant(self.tenant.value())),
            (
                NewAppFocus::Profile,
                validate::profile_name(self.profile.value()),
            ),
        ];
        for (focus, check) in checks {
            if let Err(e) = check {
                self.focus = focus;
                self.message = Some((focus, error_message(e)));
                return;
            }
        }
        self.message = None;
        let input = NewAppInput {
            profile: self.profile.value().trim().to_string(),
            tenant: self.tenant.value().trim().to_string(),
            cloud: self.cloud,
            authority_url: self.authority_url.clone(),
            graph_url: self.graph_url.clone(),
            output_dir: self.output_dir.clone(),
            cancel: CancellationToken::new(),
        };
        let generation = self.begin_work(cx);
        let input = NewAppInput {
            cancel: self.cancel.clone().unwrap_or_default(),
            ..input
        };
        let updates = progress_sender(cx, generation);
        cx.spawn(move |s| async move {
            Action::NewAppCreated(generation, s.create_app(input, updates).await)
        });
    }
}

/// The tenant check, with a hint that needs no app registration: it does not exist yet.
fn tenant(raw: &str) -> Result<(), FormatError> {
    crate::graph::tenant(raw).map_err(|e| FormatError {
        remedy: "Use the Tenant ID from the Microsoft Entra admin center (Entra ID > Overview), or a domain such as contoso.onmicrosoft.com.".into(),
        ..e
    })
}

/// Where a task's [`NewAppUpdate`]s go: back to this screen, tagged with its generation.
fn progress_sender(cx: &Context, generation: Generation) -> crate::tui::services::NewAppUpdates {
    let tx = cx.sender();
    Arc::new(move |u| {
        let _ = tx.send(Action::NewAppProgress(generation, u));
    })
}

impl NewApp {
    fn working(&self) -> bool {
        matches!(
            self.phase,
            NewAppPhase::Working { .. } | NewAppPhase::Removing(_)
        )
    }
}

impl Component for NewApp {
    fn kind(&self) -> ScreenKind {
        ScreenKind::NewApp
    }

    fn title(&self, _cx: &Context) -> String {
        match &self.rotating {
            Some(name) => format!("Rotate the secret of {name}"),
            None => "Create an app registration".into(),
        }
    }

    fn help(&self, _cx: &Context) -> &'static str {
        match &self.phase {
            NewAppPhase::Form => "Tab next field · Enter sign in and create · Esc back",
            NewAppPhase::Working { .. } | NewAppPhase::Removing(_) => {
                "working: it reports what it created when it ends"
            }
            NewAppPhase::Failed(f) if f.removable => "d delete what was created · k keep it",
            NewAppPhase::Failed(f) if f.saved_profile.is_some() => "Esc home",
            NewAppPhase::Failed(_) => "Enter try again · Esc back",
            NewAppPhase::Kept(_) => "Enter start over · Esc home",
            NewAppPhase::Ready(_) => "Enter extract now · Esc home",
            NewAppPhase::Rotated(..) => "Enter/Esc home",
        }
    }

    fn on_key(&mut self, cx: &mut Context, key: KeyEvent) {
        if self.phase == NewAppPhase::Form {
            match key.code {
                KeyCode::Esc => cx.go(Screen::Home(Home::default())),
                KeyCode::Tab | KeyCode::Down | KeyCode::Up | KeyCode::BackTab => {
                    self.focus = match self.focus {
                        NewAppFocus::Tenant => NewAppFocus::Profile,
                        NewAppFocus::Profile => NewAppFocus::Tenant,
                    };
                }
                KeyCode::Enter => self.start(cx),
                _ => {
                    if edit_input(self.input(), key) {
                        self.message = None;
                    }
                }
            }
            return;
        }
        match (&self.phase, key.code) {
            (NewAppPhase::Failed(f), KeyCode::Char('d')) if f.removable => {
                let failure = f.clone();
                let generation = cx.begin();
                self.phase = NewAppPhase::Removing(failure);
                cx.spawn(move |s| async move {
                    Action::NewAppRemoved(generation, s.remove_created_app().await)
                });
            }
            (NewAppPhase::Failed(f), KeyCode::Char('k') | KeyCode::Esc) if f.removable => {
                self.phase = NewAppPhase::Kept(f.clone());
            }
            (NewAppPhase::Failed(f), KeyCode::Enter | KeyCode::Esc)
                if f.saved_profile.is_some() =>
            {
                cx.go(Screen::Home(Home::default()))
            }
            (NewAppPhase::Failed(_) | NewAppPhase::Kept(_), KeyCode::Enter) => {
                self.phase = NewAppPhase::Form
            }
            (NewAppPhase::Failed(_) | NewAppPhase::Kept(_), KeyCode::Esc) => {
                cx.go(Screen::Home(Home::default()))
            }
            (NewAppPhase::Ready(created), KeyCode::Enter) => {
                let name = created.profile.clone();
                extract::start(cx, ExtractionTarget::Saved(name.clone()), name);
            }
            (NewAppPhase::Rotated(..), KeyCode::Enter | KeyCode::Esc) => {
                cx.reload_profiles();
                cx.go(Screen::Home(Home::default()));
            }
            (NewAppPhase::Ready(_), KeyCode::Esc) => {
                cx.reload_profiles();
                cx.go(Screen::Home(Home::default()));
            }
            _ => {}
        }
    }

    fn on_paste(&mut self, _cx: &mut Context, text: &str) {
        if self.phase == NewAppPhase::Form {
            paste_into(self.input(), text);
        }
    }

    fn on_result(&mut self, cx: &mut Context, result: Action) {
        match result {
            Action::NewAppProgress(g, update) if Some(g) == self.generation => {
                if let NewAppPhase::Working { sign_in, lines } = &mut self.phase {
                    match update {
                        NewAppUpdate::SignIn { url, code, expires } => {
                            *sign_in = Some((url, code, expires))
                        }
                        NewAppUpdate::Line(l) => lines.push(l),
                    }
                }
            }
            Action::NewAppCreated(_, Ok(created)) => {
                cx.notice = None;
                cx.reload_profiles();
                self.phase = NewAppPhase::Ready(created);
            }
            Action::NewAppCreated(_, Err(failure)) => {
                cx.notice = None;
                if failure.saved_profile.is_some() {
                    cx.reload_profiles();
                }
                self.phase = NewAppPhase::Failed(failure);
            }
            Action::SecretRotated(_, result) => {
                cx.notice = None;
                self.phase = match result {
                    Ok(m) => NewAppPhase::Rotated(m, false),
                    Err(e) => NewAppPhase::Rotated(e.text(), true),
                };
            }
            Action::NewAppRemoved(_, Ok(m)) => {
                cx.notice = Some(Notice::info(m));
                self.phase = NewAppPhase::Form;
            }
            Action::NewAppRemoved(_, Err(e)) => {
                // Still there: the list stays, and `d` can be pressed again.
                cx.notice = Some(Notice::error(e.text()));
                if let NewAppPhase::Removing(f) = std::mem::take(&mut self.phase) {
                    self.phase = NewAppPhase::Failed(f);
                }
            }
            _ => {}
        }
        if self.quit_when_done && !self.working() {
            cx.should_quit = true;
        }
    }

    /// A task half done must report what it made: Ctrl-C stops it at its next step and the
    /// screen then lists what exists; on a failure that left something, Ctrl-C keeps it and
    /// shows how to delete it (a second Ctrl-C quits).
    fn on_ctrl_c(&mut self, cx: &mut Context) {
        match &self.phase {
            NewAppPhase::Working { .. } | NewAppPhase::Removing(_) => {
                if let Some(c) = &self.cancel {
                    c.cancel();
                }
                cx.notice = Some(Notice::info(
                    "Stopping at the next step; what exists by then is listed.",
                ));
            }
            NewAppPhase::Failed(f) if f.removable => self.phase = NewAppPhase::Kept(f.clone()),
            _ => cx.should_quit = true,
        }
    }

    /// Nobody can answer: stop the task, and quit once it has ended (the wizard's caller
    /// prints whatever it left).
    fn on_interrupt(&mut self, cx: &mut Context) {
        if self.working() {
            if let Some(c) = &self.cancel {
                c.cancel();
            }
            self.quit_when_done = true;
        } else {
            cx.should_quit = true;
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context) {
        render(self, frame, area, cx)
    }
}

/// Draw the screen.
fn render(s: &NewApp, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let lines = match &s.phase {
        NewAppPhase::Form => return render_form(s, frame, area, cx),
        NewAppPhase::Working {
            sign_in,
            lines: steps,
        } => working_lines(sign_in.as_ref(), steps, cx),
        NewAppPhase::Failed(f) | NewAppPhase::Removing(f) | NewAppPhase::Kept(f) => {
            failure_lines(s, f, area.width, cx)
        }
        NewAppPhase::Rotated(message, failed) => {
            let style = if *failed { t.error } else { t.ok };
            hang(message, area.width, "", "", style)
        }
        NewAppPhase::Ready(created) => ready_lines(created, area.width, cx),
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// The form: what will happen, then the tenant and profile name fields.
fn render_form(s: &NewApp, frame: &mut Frame, area: Rect, cx: &Context) {
    let t = &cx.theme;
    let mut lines: Vec<Line> = Vec::new();
    lines.extend(hang(
        "An administrator of the tenant signs in with a code (no password is typed here). \
         The program then creates the app registration with Directory.Read.All and \
         Member.Read.Hidden, grants admin consent, and stores a new client secret in \
         the OS keyring: you never see or copy it.",
        area.width,
        "",
        "",
        t.dim,
    ));
    lines.push(Line::raw(""));
    frame.render_widget(Paragraph::new(lines.clone()), area);
    let mut y = area.y + lines.len() as u16;
    for (focus, label, input) in [
        (NewAppFocus::Tenant, "Tenant      ", &s.tenant),
        (NewAppFocus::Profile, "Profile name", &s.profile),
    ] {
        let message = s
            .message
            .as_ref()
            .filter(|(f, _)| *f == focus)
            .map(|(_, m)| m);
        let rect = Rect {
            y,
            height: area.bottom().saturating_sub(y),
            ..area
        };
        y += field(
            frame,
            rect,
            t,
            label,
            FieldValue::Text(input),
            s.focus == focus,
            message,
        );
    }
}

/// While signing in and creating: the sign-in code once Entra gave it, then each step.
fn working_lines<'a>(
    sign_in: Option<&(String, String, std::time::Duration)>,
    steps: &[String],
    cx: &'a Context,
) -> Vec<Line<'a>> {
    let t = &cx.theme;
    let mut lines: Vec<Line> = Vec::new();
    match sign_in {
        None => lines.push(Line::raw(format!(
            "{} Asking Entra for a sign-in code…",
            spinner(cx.tick)
        ))),
        Some((url, code, expires)) => {
            lines.push(Line::raw("An administrator of the tenant opens"));
            lines.push(Line::styled(format!("    {url}"), t.accent));
            lines.push(Line::from(vec![
                Span::raw("and enters the code  "),
                Span::styled(code.clone(), t.title),
                Span::raw(format!("  (valid for {}).", clock(*expires))),
            ]));
            lines.push(Line::raw(""));
        }
    }
    for l in steps {
        lines.push(Line::raw(format!("  {l}")));
    }
    if sign_in.is_some() {
        lines.push(Line::raw(format!("{} …", spinner(cx.tick))));
    }
    lines
}

/// After a failure: what it was, what it left, and what can be done with that (deleting it,
/// how to delete it later, or the keys to choose).
fn failure_lines<'a>(s: &NewApp, f: &NewAppFailure, width: u16, cx: &'a Context) -> Vec<Line<'a>> {
    let t = &cx.theme;
    let mut lines: Vec<Line> = Vec::new();
    lines.extend(hang(&f.message, width, "", "", t.error));
    if let Some(name) = &f.saved_profile {
        lines.push(Line::raw(format!(
            "Profile {name} is saved: it is on the home screen."
        )));
    } else if f.created.is_empty() {
        lines.push(Line::raw("Nothing was created."));
    } else {
        lines.push(Line::raw(""));
        lines.push(Line::raw("These were created before the failure:"));
        for c in &f.created {
            lines.extend(hang(c, width, "  - ", "    ", t.dim));
        }
    }
    if matches!(s.phase, NewAppPhase::Removing(_)) {
        lines.push(Line::raw(format!("{} Deleting them…", spinner(cx.tick))));
    } else if matches!(s.phase, NewAppPhase::Kept(_)) {
        lines.push(Line::raw(""));
        let command = format!(
            "Kept. To delete it later: entra-extract app delete --app-id {} --tenant {}",
            f.app_id.as_deref().unwrap_or("<app id>"),
            s.tenant.value().trim()
        );
        lines.extend(hang(&command, width, "", "", t.warn));
    } else if f.removable {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("d", t.key),
            Span::raw(" delete them now · "),
            Span::styled("k", t.key),
            Span::raw(" keep them"),
        ]));
    }
    lines
}

/// The profile is ready: its app id, how long its secret lasts, and how to extract now.
fn ready_lines<'a>(created: &CreatedApp, width: u16, cx: &'a Context) -> Vec<Line<'a>> {
    let t = &cx.theme;
    let mut lines: Vec<Line> = Vec::new();
    lines.extend(hang(
        &format!(
            "Profile {} is ready: both permissions are granted and its secret is in the keyring.",
            created.profile
        ),
        width,
        "",
        "",
        t.ok,
    ));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw("Application (client) id: "),
        Span::styled(created.client_id.clone(), t.accent),
    ]));
    lines.push(Line::raw(format!(
        "Its secret is valid until {}.",
        created.secret_valid_until
    )));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw("Press "),
        Span::styled("Enter", t.key),
        Span::raw(" to extract the tenant now."),
    ]));
    lines
}
