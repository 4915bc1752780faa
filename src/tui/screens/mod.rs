//! One module per screen: its state, its key handling, its pure render function and its help
//! text, side by side (gitui's components are the model). [`Screen`] is the screen showing,
//! carrying that screen's state; adding a screen is one module implementing [`Component`]
//! and one line in the `screens!` list below.

pub mod demo;
pub mod extract;
pub mod home;
pub mod new_app;
pub mod output;
pub mod permissions;
pub mod save;
pub mod secret_storage;
pub mod setup;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::Action;
use super::app::Context;
use setup::Step;

/// What a screen does while it shows. The [`super::app::App`] hands it every input; it
/// changes its own state and the shared [`Context`], and asks for another screen with
/// [`Context::go`].
pub trait Component {
    /// Which screen this is.
    fn kind(&self) -> ScreenKind;
    /// Header text after the program name.
    fn title(&self, cx: &Context) -> String;
    /// Key hints for the help bar.
    fn help(&self, cx: &Context) -> &'static str;
    /// Draw the body. Pure: reads only `self` and `cx`.
    fn render(&self, frame: &mut Frame, area: Rect, cx: &Context);
    fn on_key(&mut self, cx: &mut Context, key: KeyEvent);
    /// Bracketed paste: the whole pasted text at once.
    fn on_paste(&mut self, _cx: &mut Context, _text: &str) {}
    /// A background result for this screen; stale answers never get here.
    fn on_result(&mut self, _cx: &mut Context, _result: Action) {}
    /// The redraw timer.
    fn on_tick(&mut self) {}
    /// The Ctrl-C key: quit, unless the screen must ask first.
    fn on_ctrl_c(&mut self, cx: &mut Context) {
        self.on_interrupt(cx)
    }
    /// Stop without asking (SIGINT, input closed): quit, unless the screen must clean up.
    fn on_interrupt(&mut self, cx: &mut Context) {
        cx.should_quit = true;
    }
}

/// Which screen is showing, for callers and tests that check where the wizard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenKind {
    Home,
    DemoPicker,
    Setup(Step),
    /// The permission check of a saved profile, from home.
    Check,
    /// Creating an app registration with an administrator's sign-in.
    NewApp,
    /// Where a saved profile keeps its secret, from home.
    SecretStorage,
    Extracting,
    Finished,
}

/// Declares [`Screen`] and the one place that maps each variant to its [`Component`].
macro_rules! screens {
    ($($(#[doc = $doc:literal])* $variant:ident($state:ty),)+) => {
        /// The screen showing, with its state.
        #[allow(clippy::large_enum_variant, reason = "one screen exists at a time")]
        pub enum Screen {
            $($(#[doc = $doc])* $variant($state),)+
        }

        impl Screen {
            /// The showing screen's behaviour.
            pub fn component(&self) -> &dyn Component {
                match self {
                    $(Screen::$variant(s) => s,)+
                }
            }

            /// The showing screen's behaviour, to change its state.
            pub fn component_mut(&mut self) -> &mut dyn Component {
                match self {
                    $(Screen::$variant(s) => s,)+
                }
            }
        }
    };
}

screens! {
    /// The saved profiles.
    Home(home::Home),
    /// `entra-extract demo`: the simulated tenant's app registrations.
    DemoPicker(demo::DemoPicker),
    /// A new or edited profile, step by step.
    Setup(setup::Setup),
    /// Checking a saved profile's permissions.
    Check(permissions::SavedCheck),
    /// Creating an app registration (an administrator signs in).
    NewApp(new_app::NewApp),
    /// Moving a saved profile's secret to another storage.
    SecretStorage(secret_storage::SecretStorageScreen),
    /// An extraction running.
    Extracting(extract::Extracting),
    /// How the last extraction ended.
    Finished(extract::Finished),
}
