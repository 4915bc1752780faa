//! Terminal UI wizard: app state machine, one module per screen, pure render functions.
//!
//! Shape (the gitui / television pattern): [`App`] holds the screen showing — a
//! [`screens::Screen`] carrying that screen's own state — and the [`app::Context`] the
//! screens share. State changes only in [`App::update`], fed [`Action`]s (key presses,
//! pastes, redraw ticks and the results of background [`Services`] calls), which hands each
//! to the showing screen's [`screens::Component`]; [`ui::render`] draws from `&App` alone;
//! [`run_loop`] is generic over ratatui's `Backend`, so tests drive it with a `TestBackend`.
//!
//! Wiring (in `main.rs`): install color-eyre, then
//! `crate::logging::init` and
//! `tui::run(Arc::new(real_services), WizardOptions { .. }).await`. `entra-extract demo`
//! passes the simulator's app registrations as [`WizardOptions::demo_apps`].

pub mod action;
pub mod app;
mod runner;
pub mod screens;
pub mod services;
pub mod testing;
pub mod theme;
pub mod ui;
pub mod validate;
pub mod widgets;

#[cfg(test)]
mod tests;

pub use action::Action;
pub use app::{App, DemoChoice, WizardOptions};
pub use runner::{has_terminal, run, run_loop};
pub use screens::setup::Step;
pub use screens::{Screen, ScreenKind};
pub use services::Services;
