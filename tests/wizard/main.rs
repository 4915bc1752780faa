//! The wizard: on a `TestBackend` with fake and live services, in a real terminal (tmux), and
//! the Windows binary in a Wine console. One test binary (one link, one Wine start); each
//! module is one subject.

#[path = "../common/mod.rs"]
mod common;
mod demo_tui;
mod tui_terminal;
mod tui_wizard;
mod wine_console;
mod wizard_extraction;
mod wizard_live;
mod wizard_no_terminal;
mod wizard_schedule;
