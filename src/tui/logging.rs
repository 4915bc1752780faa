//! Log file for the wizard. While the TUI owns the terminal nothing may be printed to it, so
//! `tracing` output goes to a daily file instead. Secrets are never logged: only their length.

use std::path::Path;

use color_eyre::eyre::{WrapErr, eyre};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Environment variable holding the log filter (e.g. `debug`, `entra_extract=trace`).
pub const LOG_FILTER_ENV: &str = "ENTRA_EXTRACT_LOG";

/// File name prefix of the daily log files.
pub const LOG_FILE_PREFIX: &str = "entra-extract.log";

/// Send `tracing` events to a daily log file in `dir` (created if missing). Keep the guard
/// alive until exit: dropping it flushes the file.
pub fn init_file_logging(dir: &Path) -> color_eyre::Result<WorkerGuard> {
    std::fs::create_dir_all(dir)
        .wrap_err_with(|| format!("cannot create the log directory {}", dir.display()))?;
    let appender = tracing_appender::rolling::daily(dir, LOG_FILE_PREFIX);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env(LOG_FILTER_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| eyre!("logging was already set up: {e}"))?;
    Ok(guard)
}
