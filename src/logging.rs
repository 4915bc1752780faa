//! Logging goes to a file in the data directory, never to the terminal: under the TUI a
//! stray line would corrupt the screen, and headless output is reserved for progress and
//! results. Secrets are never passed to `tracing` macros.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Environment variable with a `tracing` filter, e.g. `entra_extract=debug`.
pub const LOG_ENV: &str = "ENTRA_EXTRACT_LOG";

/// File name prefix of the daily log files (`entra-extract.<date>.log`).
pub const LOG_FILE_PREFIX: &str = "entra-extract";

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogInitError {
    #[error("cannot create the log directory {dir}: {source}")]
    Dir {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the log file: {0}")]
    Appender(String),
    #[error("logging was already set up in this process")]
    AlreadySet,
}

/// Starts file logging into `dir` (rotated daily, 14 files kept). Keep the returned guard
/// alive until exit so buffered lines are flushed.
pub fn init(dir: &Path) -> Result<WorkerGuard, LogInitError> {
    // Logs name tenants, apps and paths: owner-only, like every file the program writes.
    crate::private_fs::create_dir(dir).map_err(|source| LogInitError::Dir {
        dir: dir.display().to_string(),
        source,
    })?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(14)
        .build(dir)
        .map_err(|e| LogInitError::Appender(e.to_string()))?;
    restrict_existing(dir);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|_| LogInitError::AlreadySet)?;
    Ok(guard)
}

/// Makes the log directory and its files owner-only: the appender creates files with the
/// process umask (Unix) or the directory's inherited ACL (Windows), and earlier versions
/// left them readable by others. Best effort: a log file others can read is no reason not to
/// run.
fn restrict_existing(dir: &Path) {
    let _ = crate::private_fs::restrict(dir);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = crate::private_fs::restrict(&entry.path());
        }
    }
}
