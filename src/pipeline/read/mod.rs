//! Read stage: inputs (files, directories, stdin, `.gz`) -> [`Document`]s.
//!
//! Takes: input paths and [`ReadOptions`]. Gives: [`expand_inputs`], the
//! files to read (directories walked in sorted order; an entry that cannot
//! be walked, such as a symlink loop, in its place as a [`DocumentError`]),
//! then [`FileDocuments`], an iterator of documents over those files with a
//! [`DocumentError`] in place of any document that cannot be used.
//! Invariants: a bad document never stops the stream; document text is
//! valid UTF-8 without NUL bytes; ids are unique within one input; with
//! `id_root`, a path-based id is the same wherever the corpus is mounted.
//! [`shard`] says which documents one of N processes takes.

mod records;
pub mod shard;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::document::{Document, DocumentError, DocumentItem};
use records::{CsvRecords, LineRecords};

/// How an input is cut into documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Auto,
    Text,
    Lines,
    Jsonl,
    Csv,
}

crate::choice::choices!(InputFormat {
    Auto => "auto", "By file extension: .jsonl/.ndjson -> jsonl, .csv/.tsv -> csv, else text";
    Text => "text", "A file is one document, split into sentences";
    Lines => "lines", "One sentence a line, each line its own document (`path:LINE`)";
    Jsonl => "jsonl", "One JSON object a line with `id` and `text`";
    Csv => "csv", "One document a row, text in `--text-column`";
});

/// Options of the read stage.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub format: InputFormat,
    /// CSV column holding the text; default: `text`, `sentence`, or the only column.
    pub text_column: Option<String>,
    /// Documents longer than this many bytes are rejected (not cut).
    pub max_document_bytes: usize,
    /// Path-based ids (text, lines, csv) are relative to this directory, so
    /// they do not depend on where a machine mounts the corpus.
    pub id_root: Option<PathBuf>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { format: InputFormat::Auto, text_column: None, max_document_bytes: 64 << 20, id_root: None }
    }
}

/// One input to read, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputEntry {
    /// A file, or `-` for stdin.
    File(PathBuf),
    /// Something under a directory that cannot be read (said once, skipped).
    Unusable(DocumentError),
}

/// Expands directories (recursively, in sorted order, following links)
/// into files; `-` stays stdin. Fails when a named input does not exist;
/// a symlink loop or an unreadable entry under a directory becomes an
/// [`InputEntry::Unusable`] in its place, once.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<InputEntry>, DocumentError> {
    let mut entries = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" || input.is_file() {
            entries.push(InputEntry::File(input.clone()));
        } else if input.is_dir() {
            for entry in walkdir::WalkDir::new(input).follow_links(true).sort_by_file_name() {
                match entry {
                    Ok(e) if e.file_type().is_file() => entries.push(InputEntry::File(e.into_path())),
                    Ok(_) => {}
                    Err(e) => entries.push(InputEntry::Unusable(walk_error(input, &e))),
                }
            }
        } else {
            return Err(DocumentError { location: display_path(input), problem: "no such file or directory".into() });
        }
    }
    Ok(entries)
}

fn walk_error(root: &Path, e: &walkdir::Error) -> DocumentError {
    let location = display_path(e.path().unwrap_or(root));
    let problem = match (e.loop_ancestor(), e.io_error()) {
        (Some(ancestor), _) => format!("symbolic link loop back to {}", display_path(ancestor)),
        (None, Some(io)) => format!("cannot read: {io}"),
        (None, None) => e.to_string(),
    };
    DocumentError { location, problem }
}

/// The path as a user wrote it, without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Total size in bytes of the plain (not compressed, not stdin) files, for progress.
pub fn known_size(entries: &[InputEntry]) -> Option<u64> {
    let mut total = 0;
    for entry in entries {
        if let InputEntry::File(f) = entry {
            if f.as_os_str() == "-" || f.extension().is_some_and(|e| e == "gz") {
                return None;
            }
            total += std::fs::metadata(f).ok()?.len();
        }
    }
    Some(total)
}

/// A document (or the reason there is none) and the input bytes it covered.
type Record = (DocumentItem, u64);

/// The documents of some files, read one file after another.
pub struct FileDocuments {
    entries: std::vec::IntoIter<InputEntry>,
    opts: ReadOptions,
    current: Option<Box<dyn Iterator<Item = Record> + Send>>,
    on_bytes: Option<Box<dyn Fn(u64) + Send>>,
}

impl FileDocuments {
    pub fn new(entries: Vec<InputEntry>, opts: ReadOptions) -> Self {
        Self { entries: entries.into_iter(), opts, current: None, on_bytes: None }
    }

    /// Calls `f` with the number of input bytes each document covered (for progress).
    pub fn on_bytes(mut self, f: impl Fn(u64) + Send + 'static) -> Self {
        self.on_bytes = Some(Box::new(f));
        self
    }

    /// The records of the next entry.
    fn open_next(&mut self) -> Option<Box<dyn Iterator<Item = Record> + Send>> {
        match self.entries.next()? {
            InputEntry::File(path) => Some(records_of(&path, &self.opts)),
            InputEntry::Unusable(e) => Some(Box::new(std::iter::once((Err(e), 0)))),
        }
    }
}

impl Iterator for FileDocuments {
    type Item = DocumentItem;

    fn next(&mut self) -> Option<DocumentItem> {
        loop {
            if let Some((item, bytes)) = self.current.as_mut().and_then(Iterator::next) {
                if let Some(f) = &self.on_bytes {
                    f(bytes);
                }
                return Some(item);
            }
            self.current = Some(self.open_next()?);
        }
    }
}

/// The records of one file in its format, path-based ids made relative
/// to `opts.id_root` when it is set.
fn records_of(path: &Path, opts: &ReadOptions) -> Box<dyn Iterator<Item = Record> + Send> {
    let records = file_records(path, opts);
    let Some(root) = opts.id_root.as_deref().filter(|_| path.as_os_str() != "-") else { return records };
    let format = match opts.format {
        InputFormat::Auto => format_from_name(&display_path(path)),
        f => f,
    };
    if format == InputFormat::Jsonl {
        return records;
    }
    let name = display_path(path);
    let relative = match relative_to(path, root) {
        Ok(r) => r,
        Err(problem) => return Box::new(std::iter::once((Err(DocumentError { location: name, problem }), 0))),
    };
    Box::new(records.map(move |(item, bytes)| {
        let item = item.map(|mut d| {
            if let Some(rest) = d.id.strip_prefix(name.as_str()) {
                d.id = format!("{relative}{rest}");
            }
            d
        });
        (item, bytes)
    }))
}

/// `path` relative to `root` (both resolved), with `/` separators.
fn relative_to(path: &Path, root: &Path) -> Result<String, String> {
    let resolve = |p: &Path| p.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", display_path(p)));
    let (path, root_abs) = (resolve(path)?, resolve(root)?);
    let rest = path.strip_prefix(&root_abs).map_err(|_| format!("not under --id-root {}", display_path(root)))?;
    Ok(rest.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

/// The records of one file in its format.
fn file_records(path: &Path, opts: &ReadOptions) -> Box<dyn Iterator<Item = Record> + Send> {
    let name = if path.as_os_str() == "-" { "-".to_string() } else { display_path(path) };
    let reader = match open(path) {
        Ok(r) => r,
        Err(e) => return Box::new(std::iter::once((Err(DocumentError { location: name, problem: format!("cannot open: {e}") }), 0))),
    };
    let format = match opts.format {
        InputFormat::Auto => format_from_name(&name),
        f => f,
    };
    match format {
        InputFormat::Text | InputFormat::Auto => Box::new(std::iter::once(read_text(reader, &name, opts))),
        InputFormat::Lines => Box::new(LineRecords::new(reader, name, records::line_document)),
        InputFormat::Jsonl => Box::new(LineRecords::new(reader, name, records::jsonl_document)),
        InputFormat::Csv => Box::new(CsvRecords::new(reader, name, opts.text_column.as_deref())),
    }
}

type Reader = Box<dyn BufRead + Send>;

fn open(path: &Path) -> io::Result<Reader> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" { Box::new(io::stdin()) } else { Box::new(File::open(path)?) };
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(raw))))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, raw)))
    }
}

/// The format an input's name implies (`.gz` looked through).
pub fn format_from_name(name: &str) -> InputFormat {
    let name = name.strip_suffix(".gz").unwrap_or(name).to_ascii_lowercase();
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jsonl" | "ndjson") => InputFormat::Jsonl,
        Some("csv" | "tsv") => InputFormat::Csv,
        _ => InputFormat::Text,
    }
}

fn read_text(mut reader: Reader, name: &str, opts: &ReadOptions) -> Record {
    let mut bytes = Vec::new();
    let limit = opts.max_document_bytes as u64 + 1;
    if let Err(e) = reader.by_ref().take(limit).read_to_end(&mut bytes) {
        return (Err(DocumentError { location: name.to_string(), problem: format!("read failed: {e}") }), 0);
    }
    let size = bytes.len() as u64;
    if size >= limit {
        let problem =
            format!("document is larger than {} bytes (use --input-format lines for line-per-sentence corpora)", opts.max_document_bytes);
        return (Err(DocumentError { location: name.to_string(), problem }), size);
    }
    let item = decode_text(bytes, name).map(|text| Document { id: name.to_string(), source: name.to_string(), text });
    (item, size)
}

/// Bytes -> usable text: UTF-8, no NUL bytes, BOM removed, CRLF -> LF.
pub fn decode_text(bytes: Vec<u8>, location: &str) -> Result<String, DocumentError> {
    let fail = |problem: String| DocumentError { location: location.to_string(), problem };
    if bytes.contains(&0) {
        return Err(fail("contains NUL bytes (binary file?)".into()));
    }
    let mut text = String::from_utf8(bytes).map_err(|e| fail(format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to())))?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    if text.contains('\r') {
        text = text.replace("\r\n", "\n").replace('\r', "\n");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_loop_is_one_unusable_entry_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        std::fs::create_dir_all(corpus.join("sub")).unwrap();
        std::fs::write(corpus.join("a.txt"), "A.").unwrap();
        std::fs::write(corpus.join("sub/b.txt"), "B.").unwrap();
        std::os::unix::fs::symlink(&corpus, corpus.join("sub/back")).unwrap();
        let entries = expand_inputs(std::slice::from_ref(&corpus)).unwrap();
        let files: Vec<&PathBuf> = entries.iter().filter_map(|e| if let InputEntry::File(f) = e { Some(f) } else { None }).collect();
        assert_eq!(files, vec![&corpus.join("a.txt"), &corpus.join("sub/b.txt")]);
        let unusable: Vec<&DocumentError> =
            entries.iter().filter_map(|e| if let InputEntry::Unusable(u) = e { Some(u) } else { None }).collect();
        assert_eq!(unusable.len(), 1, "{unusable:?}");
        assert!(unusable[0].location.ends_with("sub/back") && unusable[0].problem.contains("loop"), "{:?}", unusable[0]);
    }

    #[test]
    fn documents_follow_the_entries_with_errors_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.jsonl"));
        std::fs::write(&a, "One. Two.").unwrap();
        std::fs::write(&b, "{\"id\":\"x\",\"text\":\"X.\"}\n{\"id\":\"y\"}\n").unwrap();
        let loop_error = DocumentError { location: "l".into(), problem: "loop".into() };
        let entries = vec![InputEntry::File(a), InputEntry::Unusable(loop_error.clone()), InputEntry::File(b)];
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = bytes.clone();
        let items: Vec<DocumentItem> = FileDocuments::new(entries, ReadOptions::default())
            .on_bytes(move |n| _ = counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed))
            .collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].as_ref().unwrap().text, "One. Two.");
        assert_eq!(items[1], Err(loop_error));
        assert_eq!(items[2].as_ref().unwrap().id, "x");
        assert!(items[3].as_ref().unwrap_err().problem.contains("text"));
        assert_eq!(bytes.load(std::sync::atomic::Ordering::Relaxed), 9 + 23 + 11);
    }
}
