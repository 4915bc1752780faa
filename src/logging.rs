//! Logging goes to a file in the data directory, never to the terminal: under the TUI a
//! stray line would corrupt the screen, and headless output is reserved for progress and
//! results. Secrets are never passed to `tracing` macros.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Environment variable with a `tracing` filter, e.g. `entra_extract=debug`.
pub const LOG_ENV: &str = "ENTRA_EXTRACT_LOG";

/// Starts file logging into `<dir>/entra-extract.log` (rotated daily). Keep the returned
/// guard alive until exit so buffered lines are flushed.
pub fn init(dir: &Path) -> std::io::Result<(WorkerGuard, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("entra-extract")
        .filename_suffix("log")
        .max_log_files(14)
        .build(dir)
        .map_err(std::io::Error::other)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    // A second init (tests calling into the library twice) is harmless: keep the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init();
    Ok((guard, dir.to_path_buf()))
}
