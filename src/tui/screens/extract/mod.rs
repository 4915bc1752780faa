//! Extraction: the progress screen while it runs ([`progress`]), the summary afterwards
//! ([`finished`]), their shared warnings pane and the rate model behind the numbers.

pub mod finished;
pub mod progress;
pub mod rates;
mod warnings;

pub use finished::Finished;
pub use progress::{Extracting, ExtractionView};

use super::Screen;
use crate::tui::action::Action;
use crate::tui::app::Context;
use crate::tui::services::ExtractionTarget;

/// Start extracting `target` and show the progress screen, headed `label` (a profile name
/// or a tenant). The notice (e.g. "profile saved") stays.
pub(crate) fn start(cx: &mut Context, target: ExtractionTarget, label: String) {
    let generation = cx.begin();
    cx.go_with_notice(Screen::Extracting(Extracting::new(label, target.clone())));
    cx.spawn(move |s| async move {
        Action::ExtractionStarted(generation, s.start_extraction(target).await)
    });
}
