//! The event loop and the real terminal. The loop is generic over ratatui's `Backend` and
//! over the source of input actions, so tests run it on a `TestBackend` with scripted keys.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste, Event, EventStream};
use crossterm::execute;
use futures::{Stream, StreamExt, future};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::{self, UnboundedReceiver};

use super::action::Action;
use super::app::{App, NoticeKind, WizardOptions};
use super::services::Services;
use super::theme::Theme;
use super::ui;
use crate::signals::{Signal, Signals};

/// Redraw and progress-sampling period.
const TICK: Duration = Duration::from_millis(250);

/// Open the wizard on the real terminal and run it until the user quits.
///
/// Restores the terminal on every exit path: normal return, error (guard), panic
/// (ratatui's hook, plus ours for bracketed paste), Ctrl-C (handled as a key in raw mode) and
/// a signal from outside (SIGINT, SIGTERM, SIGHUP: [`Action::Interrupt`], see [`run_loop`]).
/// What the wizard could not show before it quit (a save that ended after Ctrl-C) is printed
/// on stderr once the terminal is restored. Install color-eyre's hooks before calling this so
/// a panic report is printed after the terminal is restored.
pub async fn run(
    services: Arc<dyn Services>,
    mut options: WizardOptions,
) -> color_eyre::Result<()> {
    options.no_color |= Theme::no_color_requested();
    let mut terminal = ratatui::try_init()?;
    let guard = TerminalGuard::new();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut app = App::new(services, options, tx);
    // A read error means the terminal is gone: end the input (the loop then cancels any
    // run and quits) instead of spinning on the same error.
    let events = EventStream::new()
        .take_while(|e| {
            if let Err(err) = e {
                tracing::warn!(error = %err, "terminal input failed; closing the wizard");
            }
            future::ready(e.is_ok())
        })
        .filter_map(|e| future::ready(e.ok().and_then(translate)));
    let result = drive(&mut terminal, &mut app, Box::pin(events), rx, &mut |text| {
        if let Err(e) = io::stdout()
            .write_all(osc52(text).as_bytes())
            .and_then(|()| io::stdout().flush())
        {
            tracing::warn!(error = %e, "could not send the copied text to the terminal");
        }
    })
    .await;
    drop(guard);
    for notice in app.exit_notices() {
        // Not eprintln!: after a hang-up the terminal is gone and writing to it fails.
        let _ = match notice.kind {
            NoticeKind::Info => writeln!(io::stderr(), "{}", notice.text),
            NoticeKind::Error => writeln!(io::stderr(), "error: {}", notice.text),
        };
    }
    result
}

/// The escape sequence that puts `text` on the terminal's clipboard (OSC 52; terminals that
/// do not support it ignore it).
fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// Whether the wizard can run here: its screen goes to a terminal and keys can be read from
/// one (standard input, or the controlling terminal crossterm falls back to). Checked before
/// [`run`] touches anything, so cron, a pipe or `setsid … </dev/null` get a plain message.
pub fn has_terminal() -> bool {
    use std::io::IsTerminal;
    io::stdout().is_terminal() && (io::stdin().is_terminal() || controlling_terminal())
}

#[cfg(unix)]
fn controlling_terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Elsewhere crossterm reads the console itself, whatever standard input is.
#[cfg(not(unix))]
fn controlling_terminal() -> bool {
    true
}

/// Terminal input as an action; `None` for events the wizard ignores (mouse, focus).
pub fn translate(event: Event) -> Option<Action> {
    match event {
        Event::Key(key) => Some(Action::Key(key)),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

/// Draw, wait for the next input, background result or tick, update; until the app quits.
/// Background results are applied before input so input never acts on a stale screen.
///
/// A signal from outside ([`Signals`]) is an [`Action::Interrupt`]: the wizard stops without
/// asking, once what must not be left half done is done (a running extraction is cancelled
/// and cleaned up, a save, a move of a secret or a delete ends). So is the terminal going
/// away: its input ending, a frame that cannot be drawn or a hang-up (SIGHUP), which may
/// come in any order and count as one interrupt. Without a terminal the loop goes on undrawn
/// until the app quits, then returns the drawing error.
pub async fn run_loop<B, E>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: E,
    actions: UnboundedReceiver<Action>,
) -> color_eyre::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    E: Stream<Item = Action> + Unpin,
{
    drive(terminal, app, events, actions, &mut |_| {}).await
}

/// [`run_loop`], handing what the screens copy to `copy` between two draws (so the escape
/// sequence never lands inside a frame).
async fn drive<B, E>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut events: E,
    mut actions: UnboundedReceiver<Action>,
    copy: &mut dyn FnMut(&str),
) -> color_eyre::Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    E: Stream<Item = Action> + Unpin,
{
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut input_open = true;
    let mut signals = Signals::listen();
    let mut terminal_gone = false;
    let mut draw_error = None;
    let mut lost_terminal = |app: &mut App| {
        if !std::mem::replace(&mut terminal_gone, true) {
            app.update(Action::Interrupt);
        }
    };
    loop {
        if draw_error.is_none()
            && let Err(e) = terminal.draw(|frame| ui::render(frame, app))
        {
            tracing::warn!(error = %e, "cannot draw on the terminal; stopping the wizard");
            draw_error = Some(e);
            lost_terminal(app);
        }
        if app.should_quit() {
            return draw_error.map_or(Ok(()), |e| Err(e.into()));
        }
        tokio::select! {
            biased;
            Some(action) = actions.recv() => app.update(action),
            next = events.next(), if input_open => match next {
                Some(action) => app.update(action),
                None => {
                    input_open = false;
                    lost_terminal(app);
                }
            },
            signal = signals.recv() => {
                tracing::info!(?signal, "signal received");
                match signal {
                    Signal::HangUp => lost_terminal(app),
                    Signal::Interrupt | Signal::Terminate => app.update(Action::Interrupt),
                }
            }
            _ = tick.tick() => app.update(Action::Tick),
        }
        while let Ok(action) = actions.try_recv() {
            app.update(action);
        }
        if let Some(text) = app.take_clipboard() {
            copy(&text);
        }
    }
}

/// Enables bracketed paste and undoes everything on drop (and on panic).
struct TerminalGuard;

impl TerminalGuard {
    fn new() -> Self {
        if let Err(e) = execute!(io::stdout(), EnableBracketedPaste) {
            tracing::warn!(error = %e, "bracketed paste not available");
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(io::stdout(), DisableBracketedPaste);
            previous(info);
        }));
        TerminalGuard
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // On panic the hooks have already restored the terminal and printed the report;
        // leaving the alternate screen a second time would move the cursor back over it.
        if std::thread::panicking() {
            return;
        }
        let _ = execute!(io::stdout(), DisableBracketedPaste);
        // Not ratatui::restore, which reports a failure with eprintln! and so panics when
        // the terminal is gone (a hang-up).
        if let Err(e) = ratatui::try_restore() {
            tracing::warn!(error = %e, "could not restore the terminal");
        }
        let _ = io::stdout().flush();
    }
}
