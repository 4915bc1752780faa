//! Requests to stop that come from outside the program, as one stream: SIGINT, SIGTERM and
//! SIGHUP on Unix; Ctrl-C, Ctrl-Break and the console's close, logoff and shutdown events on
//! Windows. The wizard and the headless commands both listen here, so they stop for the same
//! signals. Each signal is registered once, for as long as its [`Signals`] lives: one that
//! arrives while the previous one is still being handled waits for the next
//! [`Signals::recv`] instead of being lost.

use futures::StreamExt;
use futures::stream::{BoxStream, SelectAll};

/// Which request came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C outside raw mode, `kill -INT`); Ctrl-C or Ctrl-Break on Windows.
    Interrupt,
    /// SIGTERM (`kill`, systemd stopping the unit, shutdown); logoff or shutdown on Windows.
    Terminate,
    /// The terminal went away: SIGHUP (a closed terminal window or SSH session), or the
    /// Windows console window closed. Nobody is left to answer a question.
    HangUp,
}

/// The signals listened for; see the module documentation.
pub struct Signals(SelectAll<BoxStream<'static, Signal>>);

impl Signals {
    /// Starts listening: from now on these signals no longer end the process, they wait
    /// here. A signal ignored by whoever started the program (`nohup` ignores SIGHUP, a
    /// script's background job SIGINT) stays ignored. Call inside a tokio runtime with its
    /// I/O driver enabled (`enable_io`, as HTTP needs anyway).
    pub fn listen() -> Signals {
        Signals(listeners().into_iter().flatten().collect())
    }

    /// The next signal (those that came meanwhile first); never returns when none can come.
    pub async fn recv(&mut self) -> Signal {
        match self.0.next().await {
            Some(signal) => signal,
            None => std::future::pending().await,
        }
    }
}

/// `what` each time the tokio listener `$listener` (or the error creating it) receives.
macro_rules! stream {
    ($what:expr, $listener:expr) => {
        match $listener {
            Ok(listener) => {
                let what: Signal = $what;
                Some(
                    futures::stream::unfold(listener, move |mut l| async move {
                        l.recv().await.map(|()| (what, l))
                    })
                    .boxed(),
                )
            }
            Err(e) => {
                tracing::warn!(signal = ?$what, error = %e, "cannot listen for this signal");
                None
            }
        }
    };
}

#[cfg(unix)]
fn listeners() -> Vec<Option<BoxStream<'static, Signal>>> {
    use tokio::signal::unix::{SignalKind, signal};
    [
        (SignalKind::interrupt(), Signal::Interrupt),
        (SignalKind::terminate(), Signal::Terminate),
        (SignalKind::hangup(), Signal::HangUp),
    ]
    .into_iter()
    .filter(|(kind, _)| !ignored(kind.as_raw_value()))
    .map(|(kind, what)| stream!(what, signal(kind)))
    .collect()
}

/// Whether `signal` is ignored now; asked before tokio installs its handler, which would
/// replace the ignoring.
#[cfg(unix)]
fn ignored(signal: libc::c_int) -> bool {
    // SAFETY: with a null new action, sigaction only copies the current one into `old`,
    // a plain C struct for which all zeroes is a valid value.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Console events, and logoff and shutdown as Windows tells a process that has loaded
/// user32.dll (this one does): a hidden window's `WM_ENDSESSION` ([`session_end`]).
#[cfg(windows)]
fn listeners() -> Vec<Option<BoxStream<'static, Signal>>> {
    use tokio::signal::windows;
    vec![
        stream!(Signal::Interrupt, windows::ctrl_c()),
        stream!(Signal::Interrupt, windows::ctrl_break()),
        stream!(Signal::HangUp, windows::ctrl_close()),
        stream!(Signal::Terminate, windows::ctrl_logoff()),
        stream!(Signal::Terminate, windows::ctrl_shutdown()),
        stream!(Signal::Terminate, session_end::listen()),
    ]
}

#[cfg(windows)] // logoff and shutdown reach windowed processes through a window
pub mod session_end;
