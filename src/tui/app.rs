//! The wizard's state machine. [`App::update`] is the only place state changes; screens
//! render from `&App` alone. Network calls run in spawned tasks that send an [`Action`] back.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
use secrecy::SecretString;
use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, Generation};
use super::screens::extract::{ExtractionView, Finished};
use super::screens::home::HomeState;
use super::screens::permissions::PermissionView;
use super::screens::save::SaveView;
use super::screens::setup::Form;
use super::screens::{demo, extract, home, output, permissions, save, setup};
use super::services::{
    CheckTarget, CredentialsInput, ExtractionError, ExtractionTarget, ProfileDraft, ProfileSummary,
    Services,
};
use super::theme::Theme;

/// How the wizard starts.
#[derive(Debug, Clone)]
pub struct WizardOptions {
    /// Demo app registrations of the simulated tenant; when not empty the wizard opens on a
    /// picker with the first one selected.
    pub demo_apps: Vec<DemoChoice>,
    /// Output directory proposed for new profiles.
    pub default_output_dir: PathBuf,
    /// Draw without colours (modifiers only). [`super::run`] also honours NO_COLOR.
    pub no_color: bool,
}

impl Default for WizardOptions {
    fn default() -> Self {
        WizardOptions {
            demo_apps: Vec::new(),
            default_output_dir: PathBuf::from("."),
            no_color: false,
        }
    }
}

/// A ready-made app registration the demo offers.
#[derive(Debug, Clone)]
pub struct DemoChoice {
    pub label: String,
    /// What this app shows (e.g. "missing Member.Read.Hidden: hidden memberships unreadable").
    pub description: String,
    pub tenant: String,
    pub client_id: String,
    pub secret: SecretString,
    pub authority_url: String,
    pub graph_url: String,
}

/// Which screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Home,
    DemoPicker,
    Setup(Step),
    Extracting,
    Finished,
}

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
        match self {
            Step::Cloud => "Cloud",
            Step::Tenant => "Tenant",
            Step::ClientId => "Client id",
            Step::Credential => "Credential",
            Step::Validating => "Signing in",
            Step::Permissions => "Permissions",
            Step::Output => "Output",
            Step::Save => "Save",
        }
    }
}

/// Something loaded in the background.
#[derive(Debug, Clone, PartialEq)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// A one-line message on the current screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

/// Tone of a [`Notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Error,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Self {
        Notice {
            kind: NoticeKind::Info,
            text: text.into(),
        }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Notice {
            kind: NoticeKind::Error,
            text: text.into(),
        }
    }
}

/// The whole wizard.
pub struct App {
    pub screen: Screen,
    pub theme: Theme,
    pub options: WizardOptions,
    /// Redraw ticks so far; drives the spinner.
    pub tick: u64,
    pub home: HomeState,
    pub demo_selected: usize,
    pub form: Form,
    pub check: PermissionView,
    pub save: SaveView,
    pub extraction: Option<ExtractionView>,
    /// What is being extracted (profile name or tenant), for the progress header.
    pub extraction_label: String,
    /// What the last extraction ran, so a failed or cancelled run can be retried.
    pub last_target: Option<ExtractionTarget>,
    pub finished: Option<Finished>,
    /// Message for the current screen (cleared when the screen changes).
    pub notice: Option<Notice>,
    pub should_quit: bool,
    /// Ctrl-C during an extraction: quit once the cancelled run has cleaned up.
    pub quit_after_cancel: bool,
    pending: Option<Generation>,
    /// The profile-list reload whose answer is awaited (reloads run beside other requests).
    profiles_generation: Generation,
    last_generation: Generation,
    services: Arc<dyn Services>,
    tx: UnboundedSender<Action>,
}

impl App {
    /// A wizard that sends background results to `tx`. Starts loading the profile list, so
    /// it must be called inside a tokio runtime.
    pub fn new(
        services: Arc<dyn Services>,
        options: WizardOptions,
        tx: UnboundedSender<Action>,
    ) -> Self {
        let screen = if options.demo_apps.is_empty() {
            Screen::Home
        } else {
            Screen::DemoPicker
        };
        let form = Form::new(&options.default_output_dir);
        let mut app = App {
            screen,
            theme: Theme::new(options.no_color),
            options,
            tick: 0,
            home: HomeState::default(),
            demo_selected: 0,
            form,
            check: PermissionView::default(),
            save: SaveView::default(),
            extraction: None,
            extraction_label: String::new(),
            last_target: None,
            finished: None,
            notice: None,
            should_quit: false,
            quit_after_cancel: false,
            pending: None,
            profiles_generation: 0,
            last_generation: 0,
            services,
            tx,
        };
        app.reload_profiles();
        app
    }

    /// True while a foreground request (validation, check, save, ...) is in flight.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Apply one action. Never blocks: anything slow is spawned.
    pub fn update(&mut self, action: Action) {
        match action {
            Action::Key(key) if key.kind == KeyEventKind::Release => {}
            Action::Key(key)
                if key.modifiers.contains(KeyModifiers::CONTROL)
                    && key.code == KeyCode::Char('c') =>
            {
                self.on_ctrl_c()
            }
            Action::Key(key) => match self.screen {
                Screen::Home => home::on_key(self, key),
                Screen::DemoPicker => demo::on_key(self, key),
                Screen::Setup(Step::Output) => output::on_key(self, key),
                Screen::Setup(Step::Save) => save::on_key(self, key),
                Screen::Setup(Step::Permissions) => permissions::on_key(self, key),
                Screen::Setup(step) => setup::on_key(self, step, key),
                Screen::Extracting | Screen::Finished => extract::on_key(self, key),
            },
            Action::Paste(text) => match self.screen {
                Screen::Setup(Step::Output) => output::on_paste(self, &text),
                Screen::Setup(Step::Save) => save::on_paste(self, &text),
                Screen::Setup(step) => setup::on_paste(self, step, &text),
                _ => {}
            },
            Action::Resize(..) => {}
            Action::Tick => {
                self.tick = self.tick.wrapping_add(1);
                if let Some(view) = &mut self.extraction {
                    view.sample();
                }
            }
            Action::Quit => self.should_quit = true,
            Action::Interrupt => self.on_interrupt(),
            Action::ProfilesLoaded(generation, result) => {
                if generation == self.profiles_generation {
                    home::on_profiles(self, result)
                }
            }
            Action::ProfileLoaded(generation, result) => {
                if self.accept(generation) {
                    home::on_profile_loaded(self, result)
                }
            }
            Action::ProfileDeleted(generation, result) => {
                if self.accept(generation) {
                    home::on_deleted(self, result)
                }
            }
            Action::Validated(generation, result) => {
                if self.accept(generation) {
                    setup::on_validated(self, result)
                }
            }
            Action::PermissionsChecked(generation, result) => {
                if self.accept(generation) {
                    permissions::on_checked(self, result)
                }
            }
            Action::Saved(generation, result) => {
                if self.accept(generation) {
                    save::on_saved(self, result)
                }
            }
            Action::ExtractionStarted(generation, result) => {
                if self.accept(generation) {
                    extract::on_started(self, generation, result)
                } else if let Ok(handle) = result {
                    // Nobody watches this run any more: stop it so it cleans up.
                    handle.cancel.cancel();
                }
            }
            Action::ExtractionFinished(generation, result) => {
                extract::on_finished(self, generation, result)
            }
        }
    }

    /// Ctrl-C key: quit; during an extraction ask first, because one stray Ctrl-C must not
    /// throw away a long run. Pressing it again (or y) confirms: the run is cancelled and
    /// cleaned up, then the wizard quits. Once cancelling, a further Ctrl-C quits at once.
    fn on_ctrl_c(&mut self) {
        if self.screen == Screen::Extracting
            && !self.quit_after_cancel
            && let Some(view) = &mut self.extraction
            && !view.confirm_cancel
            && !view.cancelling
        {
            view.confirm_cancel = true;
            view.quit_when_confirmed = true;
            return;
        }
        self.on_interrupt();
    }

    /// Quit, but let a running extraction cancel and clean up first. A second interrupt
    /// quits at once.
    fn on_interrupt(&mut self) {
        let running = self.screen == Screen::Extracting;
        if running && !self.quit_after_cancel {
            self.quit_after_cancel = true;
            match &mut self.extraction {
                Some(view) => view.request_cancel(),
                None if self.pending.is_some() => {} // cancelled as soon as it starts
                None => self.should_quit = true,
            }
        } else {
            self.should_quit = true;
        }
    }

    /// Switch screen and clear the screen's notice.
    pub(super) fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.notice = None;
    }

    /// Start a foreground request; earlier ones become stale.
    pub(super) fn begin(&mut self) -> Generation {
        self.last_generation += 1;
        self.pending = Some(self.last_generation);
        self.last_generation
    }

    /// Forget the foreground request, so its result will be dropped.
    pub(super) fn abandon(&mut self) {
        self.pending = None;
    }

    /// True (and clears the wait) when `generation` is the request being waited for.
    fn accept(&mut self, generation: Generation) -> bool {
        if self.pending == Some(generation) {
            self.pending = None;
            true
        } else {
            tracing::debug!(generation, "dropping a stale background result");
            false
        }
    }

    /// Run `work` with the services in a task and feed its action back.
    pub(super) fn spawn<F, Fut>(&self, work: F)
    where
        F: FnOnce(Arc<dyn Services>) -> Fut + Send + 'static,
        Fut: Future<Output = Action> + Send + 'static,
    {
        let services = Arc::clone(&self.services);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let action = work(services).await;
            // The receiver is gone only when the wizard has exited.
            let _ = tx.send(action);
        });
    }

    /// Send an action from a task that is not a services call.
    pub(super) fn sender(&self) -> UnboundedSender<Action> {
        self.tx.clone()
    }

    /// Refresh the home screen's list.
    pub(super) fn reload_profiles(&mut self) {
        self.home.profiles = Loadable::Loading;
        self.last_generation += 1;
        let generation = self.last_generation;
        self.profiles_generation = generation;
        self.spawn(
            move |s| async move { Action::ProfilesLoaded(generation, s.list_profiles().await) },
        );
    }

    /// Start checking permissions for `target` and show the permission screen.
    pub(super) fn start_check(&mut self, target: CheckTarget) {
        let generation = self.begin();
        self.check.report = Loadable::Loading;
        self.check.saved_profile = match &target {
            CheckTarget::Saved(name) => Some(name.clone()),
            CheckTarget::Credentials(_) => None,
        };
        self.check.target = Some(target.clone());
        self.go(Screen::Setup(Step::Permissions));
        self.spawn(move |s| async move {
            Action::PermissionsChecked(generation, s.check_permissions(target).await)
        });
    }

    /// Start an extraction and show the progress screen.
    pub(super) fn start_extraction(&mut self, target: ExtractionTarget, label: String) {
        let generation = self.begin();
        self.extraction = None;
        self.finished = None;
        self.quit_after_cancel = false;
        self.extraction_label = label;
        self.last_target = Some(target.clone());
        let notice = self.notice.take();
        self.go(Screen::Extracting);
        self.notice = notice;
        self.spawn(move |s| async move {
            Action::ExtractionStarted(generation, s.start_extraction(target).await)
        });
    }

    /// The credentials typed into the form.
    pub(super) fn credentials_input(&self) -> CredentialsInput {
        self.form.credentials_input()
    }

    /// The profile the form describes.
    pub(super) fn draft(&self) -> ProfileDraft {
        self.form.draft(self.save.name.value().trim())
    }

    /// Saved profiles, once loaded.
    pub fn profiles(&self) -> &[ProfileSummary] {
        match &self.home.profiles {
            Loadable::Ready(p) => p,
            _ => &[],
        }
    }

    /// Result of a cancelled or failed run, for headless callers and tests.
    pub fn last_error(&self) -> Option<&ExtractionError> {
        self.finished.as_ref().and_then(|f| f.result.as_ref().err())
    }
}
