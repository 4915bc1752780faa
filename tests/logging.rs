//! Logs go to a file in the data directory, never to the terminal. In a test binary of its
//! own: `init` sets the process's global logger, and any other test's events would then go
//! through it.

use entra_extract::logging::{LOG_FILE_PREFIX, init};

#[test]
fn events_land_in_the_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let guard = init(&logs).unwrap();
    tracing::info!(profile = "contoso", "wizard started");
    drop(guard); // flushes
    let mut text = String::new();
    for entry in std::fs::read_dir(&logs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(LOG_FILE_PREFIX), "{name}");
        text.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    assert!(text.contains("wizard started"), "{text:?}");
    assert!(text.contains("profile=\"contoso\""), "{text:?}");
    assert!(init(&logs).is_err(), "a second init must be refused");
}
