//! Standard output of the headless commands. A reader that goes away (`| head`, `| true`)
//! or a full disk must not turn a finished run into a panic after its files were committed:
//! every write goes through [`write`], the first failure is remembered and later writes are
//! skipped, and [`settle`] turns it into the documented exit code once the command is done.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

use super::Exit;

/// The first error standard output gave, if any.
static FAILED: Mutex<Option<io::ErrorKind>> = Mutex::new(None);

/// Writes to standard output unless an earlier write failed. Use through [`outln!`].
pub fn write(args: fmt::Arguments<'_>) {
    let mut failed = FAILED.lock().unwrap_or_else(|p| p.into_inner());
    if failed.is_some() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        *failed = Some(e.kind());
    }
}

/// `println!` that never panics: see the module documentation.
#[macro_export]
macro_rules! outln {
    () => { $crate::cli::stdout::write(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
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
    let failed = *FAILED.lock().unwrap_or_else(|p| p.into_inner());
    let (settled, note) = settle_with(exit, failed);
    if let Some(note) = note {
        let _ = writeln!(io::stderr(), "{note}");
    }
    settled
}

/// The settled exit code and the line for stderr.
fn settle_with(exit: Exit, failed: Option<io::ErrorKind>) -> (Exit, Option<String>) {
    let Some(kind) = failed else {
        return (exit, None);
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
        use io::ErrorKind::{BrokenPipe, StorageFull};
        let code = |exit, failed| settle_with(exit, failed).0;
        assert_eq!(settle_with(Exit::Success, None), (Exit::Success, None));
        assert_eq!(code(Exit::Success, Some(BrokenPipe)), Exit::Success);
        assert_eq!(
            code(Exit::CompletedWithWarnings, Some(BrokenPipe)),
            Exit::CompletedWithWarnings
        );
        assert_eq!(code(Exit::Success, Some(StorageFull)), Exit::Failure);
        assert_eq!(
            code(Exit::CompletedWithWarnings, Some(StorageFull)),
            Exit::Failure
        );
        assert_eq!(code(Exit::AuthFailed, Some(StorageFull)), Exit::AuthFailed);
        let note = settle_with(Exit::Success, Some(StorageFull)).1.unwrap();
        assert!(note.contains("reported as 1"), "{note}");
    }
}
