//! CSV sinks: RFC 4180 writers over a temporary file that hash and count while they write,
//! so finishing a file never has to read it back.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::output::OutputError;
use super::rows::{EdgeRow, Row};
use super::schema::{GroupCounts, GroupRecord, MemberCount};

/// The UTF-8 byte order mark some Excel versions need to read UTF-8 CSV.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Buffer between the CSV encoder and the file; large enough to keep syscalls rare.
const WRITE_BUFFER: usize = 128 * 1024;

/// A writer that feeds every byte it passes on into SHA-256 and counts them.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`; nothing is hashed yet.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The inner writer, the lowercase hex SHA-256 and the byte count of all bytes written.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Hash only what the inner writer accepted, so a short write is never hashed twice.
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What a finished CSV file holds, for the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedCsv {
    /// Data rows, header excluded.
    pub rows: u64,
    /// File size in bytes, BOM and header included.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the whole file.
    pub sha256: String,
}

/// One CSV file being written: header first, then rows, CRLF line ends, fields quoted only
/// when they hold a comma, quote, CR or LF.
#[derive(Debug)]
pub struct CsvSink {
    writer: csv::Writer<HashingWriter<File>>,
    path: PathBuf,
    columns: Vec<String>,
    rows: u64,
}

impl CsvSink {
    /// Starts a CSV file on an already created, empty `file` at `path` (used in errors).
    pub fn new(file: File, path: &Path, columns: &[&str], bom: bool) -> Result<Self, OutputError> {
        let mut out = HashingWriter::new(file);
        if bom {
            out.write_all(UTF8_BOM)
                .map_err(|e| OutputError::write(path, e))?;
        }
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .buffer_capacity(WRITE_BUFFER)
            .from_writer(out);
        let mut sink = Self {
            writer,
            path: path.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: 0,
        };
        sink.writer
            .write_record(columns)
            .map_err(|e| OutputError::write(&sink.path, csv_to_io(e)))?;
        Ok(sink)
    }

    /// Appends one row. Its length must match the header; a mismatch is a bug, reported as
    /// an error before anything is written rather than as a misaligned file.
    pub fn write_row<T: AsRef<str>>(&mut self, row: &[T]) -> Result<(), OutputError> {
        self.write_cells(row.iter().map(AsRef::as_ref), row.len())
    }

    /// [`write_row`](Self::write_row) of the `len` cells `cells` yields.
    fn write_cells<'a>(
        &mut self,
        cells: impl Iterator<Item = &'a str>,
        len: usize,
    ) -> Result<(), OutputError> {
        if len != self.columns.len() {
            return Err(OutputError::write(
                &self.path,
                io::Error::other(format!(
                    "internal error: a row has {len} fields, the header {}",
                    self.columns.len()
                )),
            ));
        }
        self.writer
            .write_record(cells.map(str::as_bytes))
            .map_err(|e| OutputError::write(&self.path, csv_to_io(e)))?;
        self.rows += 1;
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes what is buffered to the file (not fsynced), so it can be read back.
    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.writer
            .flush()
            .map_err(|e| OutputError::write(&self.path, e))
    }

    /// The header.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Flushes, fsyncs and closes the file, and returns its row count and hash.
    pub fn finish(self) -> Result<FinishedCsv, OutputError> {
        let Self {
            writer, path, rows, ..
        } = self;
        let hashing = writer.into_inner().map_err(|e| {
            OutputError::write(&path, io::Error::new(e.error().kind(), e.to_string()))
        })?;
        let (file, sha256, bytes) = hashing.finish();
        file.sync_all().map_err(|e| OutputError::write(&path, e))?;
        Ok(FinishedCsv {
            rows,
            bytes,
            sha256,
        })
    }
}

fn csv_to_io(e: csv::Error) -> io::Error {
    if e.is_io_error() {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => io::Error::other(format!("{other:?}")),
        }
    } else {
        io::Error::other(e.to_string())
    }
}

/// `<domain>_users.csv`: one row per Graph `user` object.
#[derive(Debug)]
pub struct UserSink {
    csv: CsvSink,
}

impl UserSink {
    /// The file underneath, to flush it.
    pub(super) fn csv_mut(&mut self) -> &mut CsvSink {
        &mut self.csv
    }

    pub(super) fn new(csv: CsvSink) -> Self {
        Self { csv }
    }

    /// Writes one user's row: [`Schema::user_row`](super::schema::Schema::user_row) of a
    /// Graph `user`, or a previous run's row (an incremental rerun's).
    pub fn write(&mut self, row: &Row) -> Result<(), OutputError> {
        self.csv.write_cells(row.iter(), row.len())
    }

    /// Users written so far.
    pub fn rows(&self) -> u64 {
        self.csv.rows()
    }

    pub(super) fn into_csv(self) -> CsvSink {
        self.csv
    }
}

/// `<domain>_groups.csv`: one row per group, written once its member and owner lists are
/// done so the counts are known.
#[derive(Debug)]
pub struct GroupSink {
    csv: CsvSink,
    unreadable_members: u64,
}

impl GroupSink {
    /// The file underneath, to flush it.
    pub(super) fn csv_mut(&mut self) -> &mut CsvSink {
        &mut self.csv
    }

    pub(super) fn new(csv: CsvSink) -> Self {
        Self {
            csv,
            unreadable_members: 0,
        }
    }

    /// Writes one finished group.
    pub fn write(&mut self, group: &GroupRecord, counts: GroupCounts) -> Result<(), OutputError> {
        let row = group.row(counts);
        self.csv.write_row(&row)?;
        if counts.members == MemberCount::Unreadable {
            self.unreadable_members += 1;
        }
        Ok(())
    }

    /// Groups written so far.
    pub fn rows(&self) -> u64 {
        self.csv.rows()
    }

    /// Groups written with `membersReadable=false`.
    pub fn unreadable_members(&self) -> u64 {
        self.unreadable_members
    }

    pub(super) fn into_csv(self) -> CsvSink {
        self.csv
    }
}

/// `<domain>_groups_members.csv` or `_groups_owners.csv`: one row per (group, object) edge,
/// streamed straight to disk.
#[derive(Debug)]
pub struct EdgeSink {
    csv: CsvSink,
}

impl EdgeSink {
    /// The file underneath, to flush it.
    pub(super) fn csv_mut(&mut self) -> &mut CsvSink {
        &mut self.csv
    }

    pub(super) fn new(csv: CsvSink) -> Self {
        Self { csv }
    }

    /// Writes one member or owner row.
    pub fn write(&mut self, row: &EdgeRow<'_>) -> Result<(), OutputError> {
        self.csv.write_row(&row.cells())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.csv.rows()
    }

    pub(super) fn into_csv(self) -> CsvSink {
        self.csv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::rows::EdgeObject;
    use crate::extract::schema::{MEMBER_COLUMNS, Schema};
    use serde_json::json;

    fn sink_in(dir: &Path, header: &[&str], bom: bool) -> (CsvSink, PathBuf) {
        let path = dir.join("t.csv");
        let file = File::create(&path).unwrap();
        (CsvSink::new(file, &path, header, bom).unwrap(), path)
    }

    #[test]
    fn rows_are_rfc4180_and_hashed_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let (mut sink, path) = sink_in(dir.path(), &["a", "b", "c"], false);
        sink.write_row(&["plain", "with,comma", "with \"quote\""])
            .unwrap();
        sink.write_row(&["line\nbreak", "crlf\r\nx", "Zoë 日本 🎉"])
            .unwrap();
        sink.write_row(&["", " lead", "x|y"]).unwrap();
        assert_eq!(sink.rows(), 3);
        let done = sink.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            "a,b,c\r\n\
             plain,\"with,comma\",\"with \"\"quote\"\"\"\r\n\
             \"line\nbreak\",\"crlf\r\nx\",Zoë 日本 🎉\r\n\
             , lead,x|y\r\n"
        );
        assert_eq!(done.rows, 3);
        assert_eq!(done.bytes, bytes.len() as u64);
        assert_eq!(done.sha256, hex::encode(Sha256::digest(&bytes)));
        // Read back with a CSV parser: every field survives the round trip.
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[1][1], "crlf\r\nx");
        assert_eq!(&rows[0][2], "with \"quote\"");
    }

    #[test]
    fn awkward_values_survive_a_round_trip() {
        use rand::{Rng, SeedableRng};
        let alphabet: Vec<char> = "a,\"\r\n |;\t#=é日🎉 '".chars().collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let rows: Vec<Vec<String>> = (0..500)
            .map(|_| {
                (0..4)
                    .map(|_| {
                        let len = rng.random_range(0..12);
                        (0..len)
                            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (mut sink, path) = sink_in(dir.path(), &["a", "b", "c", "d"], true);
        for row in &rows {
            sink.write_row(row).unwrap();
        }
        sink.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[UTF8_BOM.len()..]);
        let read: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(read, rows);
    }

    #[test]
    fn bom_is_written_first_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let (sink, path) = sink_in(dir.path(), &["id"], true);
        let done = sink.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, b"\xEF\xBB\xBFid\r\n");
        assert_eq!(done.rows, 0);
        assert_eq!(done.sha256, hex::encode(Sha256::digest(&bytes)));
    }

    #[test]
    fn misaligned_rows_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut sink, _) = sink_in(dir.path(), &["a", "b"], false);
        assert!(sink.write_row(&["only one"]).is_err());
    }

    #[test]
    fn edge_sink_writes_member_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (csv, path) = sink_in(dir.path(), MEMBER_COLUMNS, false);
        let mut sink = EdgeSink::new(csv);
        let schema = Schema::default();
        let group =
            GroupRecord::from_value(&schema, &json!({"id": "g1", "displayName": "Sales, EMEA"}))
                .unwrap();
        let page = [
            json!({"@odata.type": "#microsoft.graph.user", "id": "u1", "displayName": "Ann", "userPrincipalName": "ann@contoso.com"}),
            json!({"@odata.type": "#microsoft.graph.orgContact", "id": "c1", "displayName": "Bob"}),
        ];
        for object in &page {
            let object = EdgeObject::from_graph(object);
            sink.write(&EdgeRow::of(group.id(), group.display_name(), &object))
                .unwrap();
        }
        assert_eq!(sink.rows(), 2);
        sink.into_csv().finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "groupId,groupDisplayName,memberId,memberType,memberDisplayName,memberUserPrincipalName\r\n\
             g1,\"Sales, EMEA\",u1,user,Ann,ann@contoso.com\r\n\
             g1,\"Sales, EMEA\",c1,orgContact,Bob,\r\n"
        );
    }
}
