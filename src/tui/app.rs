//! The wizard's state machine. [`App::update`] is the only place state changes: it hands
//! each input to the screen showing (a [`Screen`], which carries that screen's state) together
//! with the [`Context`] every screen shares. Network calls run in spawned tasks that send an
//! [`Action`] back.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
use secrecy::SecretString;
use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, Generation};
use super::screens::extract::Finished;
use super::screens::home::{Home, SavedProfiles};
use super::screens::{Screen, ScreenKind, demo::DemoPicker};
use super::services::{ExtractionError, ProfileSummary, ServiceError, Services};
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

impl WizardOptions {
    /// In the demo: the simulated tenant (its demo apps all live there), which every form
    /// signs in to; the demo never reaches Microsoft's endpoints.
    pub fn simulated_tenant(&self) -> Option<&DemoChoice> {
        self.demo_apps.first()
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

/// Something loaded in the background.
#[derive(Debug, Clone, PartialEq)]
pub enum Loadable<T> {
    Loading,
    Ready(T),
    Failed(ServiceError),
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

/// What every screen shares: the frame around it (theme, spinner clock, notice line), the
/// saved profiles, the background services and the one foreground request being waited for.
/// A screen asks for another screen with [`Context::go`]; the [`App`] switches once the
/// screen's handler has returned.
pub struct Context {
    pub theme: Theme,
    pub options: WizardOptions,
    /// Redraw ticks so far; drives the spinner.
    pub tick: u64,
    /// Message for the current screen (cleared when the screen changes).
    pub notice: Option<Notice>,
    pub should_quit: bool,
    /// What came after the user asked to quit and the wizard could not show any more (a
    /// save that ended after Ctrl-C): printed once the terminal is restored.
    exit_notices: Vec<Notice>,
    pub profiles: SavedProfiles,
    /// The demo picker's selection; kept while the user visits other screens.
    pub demo_selected: usize,
    /// Text to put on the terminal's clipboard; the event loop sends it (OSC 52).
    clipboard: Option<String>,
    pending: Option<Generation>,
    /// The profile-list reload whose answer is awaited (reloads run beside other requests).
    profiles_generation: Generation,
    last_generation: Generation,
    services: Arc<dyn Services>,
    tx: UnboundedSender<Action>,
    next: Option<Screen>,
}

impl Context {
    /// True while a foreground request (validation, check, save, ...) is in flight.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Quit, and say `notice` once the terminal is restored: the result of work that ran to
    /// its end after the user asked to quit is never dropped unseen.
    pub fn quit_saying(&mut self, notice: Notice) {
        self.exit_notices.push(notice);
        self.should_quit = true;
    }

    /// Show `screen` once the current handler returns, and clear the notice.
    pub fn go(&mut self, screen: Screen) {
        self.notice = None;
        self.go_with_notice(screen);
    }

    /// Show `screen` once the current handler returns, keeping the notice (e.g. "saved").
    pub fn go_with_notice(&mut self, screen: Screen) {
        self.next = Some(screen);
    }

    /// Start a foreground request; earlier ones become stale.
    pub fn begin(&mut self) -> Generation {
        self.last_generation += 1;
        self.pending = Some(self.last_generation);
        self.last_generation
    }

    /// Forget the foreground request, so its result will be dropped.
    pub fn abandon(&mut self) {
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
    pub fn spawn<F, Fut>(&self, work: F)
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

    /// Copy `text` to the clipboard of the terminal the wizard runs in (after this update).
    pub fn copy(&mut self, text: String) {
        self.clipboard = Some(text);
    }

    /// Send an action from a task that is not a services call.
    pub fn sender(&self) -> UnboundedSender<Action> {
        self.tx.clone()
    }

    /// Refresh the saved profiles.
    pub fn reload_profiles(&mut self) {
        self.profiles.list = Loadable::Loading;
        self.last_generation += 1;
        let generation = self.last_generation;
        self.profiles_generation = generation;
        self.spawn(
            move |s| async move { Action::ProfilesLoaded(generation, s.list_profiles().await) },
        );
    }
}

/// The whole wizard: the screen showing and what the screens share.
pub struct App {
    screen: Screen,
    cx: Context,
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
            Screen::Home(Home::default())
        } else {
            Screen::DemoPicker(DemoPicker)
        };
        let mut cx = Context {
            theme: Theme::new(options.no_color),
            options,
            tick: 0,
            notice: None,
            should_quit: false,
            exit_notices: Vec::new(),
            profiles: SavedProfiles::default(),
            demo_selected: 0,
            clipboard: None,
            pending: None,
            profiles_generation: 0,
            last_generation: 0,
            services,
            tx,
            next: None,
        };
        cx.reload_profiles();
        App { screen, cx }
    }

    /// Which screen is showing.
    pub fn screen(&self) -> ScreenKind {
        self.screen.component().kind()
    }

    /// The screen showing, with its state.
    pub fn current(&self) -> &Screen {
        &self.screen
    }

    /// What the screens share.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// True once the wizard is done.
    pub fn should_quit(&self) -> bool {
        self.cx.should_quit
    }

    /// True while a foreground request (validation, check, save, ...) is in flight.
    pub fn is_waiting(&self) -> bool {
        self.cx.is_waiting()
    }

    /// What to tell the user once the wizard has quit and the terminal is restored.
    pub fn exit_notices(&self) -> &[Notice] {
        &self.cx.exit_notices
    }

    /// Apply one action. Never blocks: anything slow is spawned.
    pub fn update(&mut self, action: Action) {
        let screen = self.screen.component_mut();
        let cx = &mut self.cx;
        match action {
            Action::Key(key) if key.kind == KeyEventKind::Release => {}
            Action::Key(key)
                if key.modifiers.contains(KeyModifiers::CONTROL)
                    && key.code == KeyCode::Char('c') =>
            {
                screen.on_ctrl_c(cx)
            }
            Action::Key(key) => screen.on_key(cx, key),
            Action::Paste(text) => screen.on_paste(cx, &text),
            Action::Resize(..) => {}
            Action::Tick => {
                cx.tick = cx.tick.wrapping_add(1);
                screen.on_tick();
            }
            Action::Quit => cx.should_quit = true,
            Action::Interrupt => screen.on_interrupt(cx),
            Action::ProfilesLoaded(generation, result) => {
                if generation == cx.profiles_generation {
                    cx.profiles.set(result)
                }
            }
            result => match result.awaited_generation() {
                // Only the screen that asked still shows while its answer is awaited.
                Some(generation) if cx.accept(generation) => screen.on_result(cx, result),
                Some(_) => {
                    if let Action::ExtractionStarted(_, Ok(handle)) = result {
                        // Nobody watches this run any more: stop it so it cleans up.
                        handle.cancel.cancel();
                    }
                }
                None => screen.on_result(cx, result),
            },
        }
        if let Some(next) = self.cx.next.take() {
            self.screen = next;
        }
    }

    /// Text a screen copied, for the event loop to put on the terminal's clipboard.
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.cx.clipboard.take()
    }

    /// Saved profiles, once loaded.
    pub fn profiles(&self) -> &[ProfileSummary] {
        self.cx.profiles.ready()
    }

    /// Why the run on the summary screen produced no files, for headless callers and tests.
    pub fn last_error(&self) -> Option<&ExtractionError> {
        match &self.screen {
            Screen::Finished(Finished { result, .. }) => result.as_ref().err(),
            _ => None,
        }
    }
}
