//! Extraction: the progress screen while it runs ([`progress`]), the summary afterwards
//! ([`finished`]), their shared warnings pane and the rate model behind the numbers.

pub mod finished;
pub mod progress;
pub mod rates;
mod warnings;

use crossterm::event::KeyEvent;

pub(crate) use finished::on_finished;
pub use finished::{Finished, render_finished};
pub(crate) use progress::on_started;
pub use progress::{ExtractionView, render};

use crate::tui::app::{App, Screen};
use finished::{can_retry, summary_has_warnings};

/// Keys on the progress screen or the summary.
pub(crate) fn on_key(app: &mut App, key: KeyEvent) {
    if app.screen == Screen::Finished {
        finished::on_key(app, key);
    } else {
        progress::on_key(app, key);
    }
}

/// Key hints for the help bar.
pub fn help(app: &App) -> &'static str {
    match (&app.screen, &app.extraction) {
        (Screen::Finished, _) if can_retry(app) => "r run again · Enter home · q quit",
        (Screen::Finished, _) if summary_has_warnings(app) => {
            "↑↓ scroll warnings · Enter home · q quit"
        }
        (Screen::Finished, _) => "Enter home · q quit",
        (_, Some(v)) if v.cancelling => "Ctrl-C quit now",
        (_, Some(v)) if v.confirm_cancel && v.quit_when_confirmed => {
            "y cancel and quit · any key continue"
        }
        (_, Some(v)) if v.confirm_cancel => "y cancel · any key continue",
        (_, Some(_)) => "Esc cancel · Ctrl-C cancel and quit",
        (_, None) => "Ctrl-C quit",
    }
}
