//! A file replaced by a FIFO that holds the program where it reads the file, until the test
//! hands over the file's bytes: a deterministic point in a run.

use std::fs::File;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// A file replaced by a FIFO; see the module documentation.
pub struct Fifo {
    bytes: Vec<u8>,
    opened: Receiver<std::io::Result<File>>,
}

impl Fifo {
    /// Replaces `file` by a FIFO; the bytes it held are written into it by [`Fifo::release`].
    pub fn replace(file: &Path) -> Fifo {
        let bytes = std::fs::read(file).unwrap();
        std::fs::remove_file(file).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(file)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo");
        // Opening a FIFO for writing returns once the program opens it for reading.
        let (opened_tx, opened) = std::sync::mpsc::channel();
        let fifo = file.to_owned();
        std::thread::spawn(move || {
            let writer = std::fs::OpenOptions::new().write(true).open(fifo);
            let _ = opened_tx.send(writer);
        });
        Fifo { bytes, opened }
    }

    /// Waits (up to two minutes) until the program opens the file to read it, and then waits
    /// there; `None` when it never does. Hand the writer to [`Fifo::release`].
    pub fn wait_read(&self) -> Option<File> {
        let writer = self.opened.recv_timeout(Duration::from_secs(120)).ok()?;
        Some(writer.unwrap())
    }

    /// Lets the program go on: it reads the file's bytes.
    pub fn release(&self, mut writer: File) {
        std::io::Write::write_all(&mut writer, &self.bytes).unwrap();
    }
}
