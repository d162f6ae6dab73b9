//! Read stage: inputs (files, directories, stdin, `.gz`) -> [`Document`]s.
//!
//! Takes: input paths and an [`InputFormat`]. Gives: documents in a stable
//! order (directories walked in sorted order), one callback call each, with
//! a [`DocumentError`] in place of any document that cannot be used.
//! Invariants: a bad document never stops the stream; document text is valid
//! UTF-8 without NUL bytes; ids are unique within one input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// How an input is cut into documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// By file extension: .jsonl/.ndjson -> jsonl, .csv/.tsv -> csv, else text.
    Auto,
    /// A file is one document, split into sentences.
    Text,
    /// One sentence a line, each line its own document (`path:LINE`).
    Lines,
    /// One JSON object a line with `id` and `text`.
    Jsonl,
    /// One document a row, text in `--text-column`.
    Csv,
}

/// One unit of provenance: what a triple will point back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    /// The input it came from (path, or `-` for stdin).
    pub source: String,
    pub text: String,
}

/// A document (or a whole input) that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct DocumentError {
    /// Path, `path:line` or `path:row`.
    pub location: String,
    pub problem: String,
}

/// Options of the read stage.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub format: InputFormat,
    /// CSV column holding the text; default: `text`, `sentence`, or the only column.
    pub text_column: Option<String>,
    /// Documents longer than this many bytes are rejected (not cut).
    pub max_document_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { format: InputFormat::Auto, text_column: None, max_document_bytes: 64 << 20 }
    }
}

pub type ReadItem = Result<Document, DocumentError>;

/// Expands directories (recursively, sorted) into files; `-` stays stdin.
/// Fails when an input does not exist.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, DocumentError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            files.push(input.clone());
        } else if input.is_dir() {
            walk_dir(input, &mut files)?;
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(DocumentError { location: display_path(input), problem: "no such file or directory".into() });
        }
    }
    Ok(files)
}

fn walk_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DocumentError> {
    let err = |e: io::Error| DocumentError { location: display_path(dir), problem: e.to_string() };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).map_err(err)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk_dir(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// The path as a user wrote it, without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Total size in bytes of the plain (not compressed, not stdin) files, for progress.
pub fn known_size(files: &[PathBuf]) -> Option<u64> {
    let mut total = 0;
    for f in files {
        if f.as_os_str() == "-" || f.extension().is_some_and(|e| e == "gz") {
            return None;
        }
        total += std::fs::metadata(f).ok()?.len();
    }
    Some(total)
}

/// Reads every file, calling `emit` for each document or error, with the
/// number of input bytes it covered. Stops early when `emit` breaks.
pub fn read_files(files: &[PathBuf], opts: &ReadOptions, emit: &mut dyn FnMut(ReadItem, u64) -> ControlFlow<()>) {
    for file in files {
        if read_file(file, opts, emit).is_break() {
            return;
        }
    }
}

fn read_file(path: &Path, opts: &ReadOptions, emit: &mut dyn FnMut(ReadItem, u64) -> ControlFlow<()>) -> ControlFlow<()> {
    let name = if path.as_os_str() == "-" { "-".to_string() } else { display_path(path) };
    let reader = match open(path) {
        Ok(r) => r,
        Err(e) => return emit(Err(DocumentError { location: name, problem: format!("cannot open: {e}") }), 0),
    };
    let format = match opts.format {
        InputFormat::Auto => format_from_name(&name),
        f => f,
    };
    match format {
        InputFormat::Text | InputFormat::Auto => read_text(reader, &name, opts, emit),
        InputFormat::Lines => crate::read_formats::read_lines(reader, &name, emit),
        InputFormat::Jsonl => crate::read_formats::read_jsonl(reader, &name, emit),
        InputFormat::Csv => crate::read_formats::read_csv(reader, &name, opts, emit),
    }
}

fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = if path.as_os_str() == "-" { Box::new(io::stdin()) } else { Box::new(File::open(path)?) };
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

fn read_text(mut reader: Box<dyn BufRead>, name: &str, opts: &ReadOptions, emit: &mut dyn FnMut(ReadItem, u64) -> ControlFlow<()>) -> ControlFlow<()> {
    let mut bytes = Vec::new();
    let limit = opts.max_document_bytes as u64 + 1;
    if let Err(e) = reader.by_ref().take(limit).read_to_end(&mut bytes) {
        return emit(Err(DocumentError { location: name.to_string(), problem: format!("read failed: {e}") }), 0);
    }
    let size = bytes.len() as u64;
    if size >= limit {
        let problem = format!("document is larger than {} bytes (use --input-format lines for line-per-sentence corpora)", opts.max_document_bytes);
        return emit(Err(DocumentError { location: name.to_string(), problem }), size);
    }
    let item = decode_text(bytes, name).map(|text| Document { id: name.to_string(), source: name.to_string(), text });
    emit(item, size)
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
