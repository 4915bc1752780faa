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
    std::fs::create_dir_all(dir).map_err(|source| LogInitError::Dir {
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
