//! Standard output of the headless commands. A reader that goes away (`| head`, `| true`)
//! or a full disk must not turn a finished run into a panic after its files were committed:
//! every write goes through [`write()`], the first failure is remembered and later writes are
//! skipped, and [`settle`] turns it into the documented exit code once the command is done.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Exit;

/// Why standard output lost what was written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    /// It was closed when the program started (`>&-`).
    Closed,
    /// A write failed.
    Failed(io::ErrorKind),
}

/// The first loss, if any.
static LOST: Mutex<Option<Lost>> = Mutex::new(None);

/// Writes to standard output unless an earlier write failed. Use through `outln!`.
pub fn write(args: fmt::Arguments<'_>) {
    let mut lost = LOST.lock().unwrap_or_else(|p| p.into_inner());
    if lost.is_some() {
        return;
    }
    if closed_at_start() {
        *lost = Some(Lost::Closed);
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        *lost = Some(Lost::Failed(e.kind()));
    }
}

/// Whether standard output was closed when the program started (`cmd >&-`): set by the
/// binary (see `src/main.rs`) before Rust's runtime starts, because on Unix the runtime then
/// reopens a closed standard stream on `/dev/null`; on Windows writes to a missing handle
/// succeed. Either way writing to it vanishes without an error.
static CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Records that standard output was closed at start. Called before `main` (on Windows,
/// first thing in it), so it does nothing but store.
pub fn note_closed_at_start() {
    CLOSED_AT_START.store(true, Ordering::Relaxed);
}

fn closed_at_start() -> bool {
    CLOSED_AT_START.load(Ordering::Relaxed)
}

/// `println!` that never panics: see the module documentation.
#[macro_export]
macro_rules! outln {
    () => { $crate::cli::stdout::write(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to standard error, ignoring a failure: a message that cannot be shown (the
/// terminal hung up, `2>/dev/full`) must not turn into a panic and exit code 134 in place of
/// the command's own. Use through `errln!`.
pub fn write_err(args: fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// `eprintln!` that never panics (clippy.toml disallows `eprintln!` for that reason).
#[macro_export]
macro_rules! errln {
    () => { $crate::cli::stdout::write_err(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that never panics.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::stdout::write(format_args!($($arg)*)) };
}

/// The exit code once the command is done, given what standard output did:
/// - a closed pipe keeps the command's own code: the reader chose to stop reading, and the
///   work (files, history) is complete;
/// - any other write error (a full disk, an I/O error) means the summary was lost: a
///   success becomes 1 (I/O error), a failure keeps its own, more specific, code.
///
/// Either way a line on stderr says what happened.
pub fn settle(exit: Exit) -> Exit {
    let lost = *LOST.lock().unwrap_or_else(|p| p.into_inner());
    let (settled, note) = settle_with(exit, lost);
    if let Some(note) = note {
        let _ = writeln!(io::stderr(), "{note}");
    }
    settled
}

/// The settled exit code and the line for stderr.
fn settle_with(exit: Exit, lost: Option<Lost>) -> (Exit, Option<String>) {
    let kind = match lost {
        None => return (exit, None),
        // Closed by whoever started the command: as a reader gone away, its choice.
        Some(Lost::Closed) => {
            let note = format!(
                "note: standard output is closed, so nothing was written to it; the command itself ended with exit code {}",
                exit.code()
            );
            return (exit, Some(note));
        }
        Some(Lost::Failed(kind)) => kind,
    };
    let done = matches!(exit, Exit::Success | Exit::CompletedWithWarnings);
    let settled = match kind {
        io::ErrorKind::BrokenPipe => exit,
        _ if done => Exit::Failure,
        _ => exit,
    };
    let error = io::Error::from(kind);
    let note = format!(
        "{}: standard output could not be written ({error}); the command itself ended with exit code {}{}",
        if kind == io::ErrorKind::BrokenPipe {
            "note"
        } else {
            "error"
        },
        exit.code(),
        if settled == exit {
            String::new()
        } else {
            format!(", reported as {} (I/O error)", settled.code())
        }
    );
    (settled, Some(note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_keeps_the_exit_code_and_a_full_disk_fails_a_success() {
        const BROKEN_PIPE: Lost = Lost::Failed(io::ErrorKind::BrokenPipe);
        const STORAGE_FULL: Lost = Lost::Failed(io::ErrorKind::StorageFull);
        let code = |exit, failed| settle_with(exit, failed).0;
        assert_eq!(settle_with(Exit::Success, None), (Exit::Success, None));
        assert_eq!(code(Exit::Success, Some(BROKEN_PIPE)), Exit::Success);
        assert_eq!(
            code(Exit::CompletedWithWarnings, Some(BROKEN_PIPE)),
            Exit::CompletedWithWarnings
        );
        assert_eq!(code(Exit::Success, Some(STORAGE_FULL)), Exit::Failure);
        assert_eq!(
            code(Exit::CompletedWithWarnings, Some(STORAGE_FULL)),
            Exit::Failure
        );
        assert_eq!(code(Exit::AuthFailed, Some(STORAGE_FULL)), Exit::AuthFailed);
        let note = settle_with(Exit::Success, Some(STORAGE_FULL)).1.unwrap();
        assert!(note.contains("reported as 1"), "{note}");
        let (exit, note) = settle_with(Exit::AuthFailed, Some(Lost::Closed));
        assert_eq!(exit, Exit::AuthFailed);
        assert!(note.unwrap().contains("exit code 3"));
    }
}
