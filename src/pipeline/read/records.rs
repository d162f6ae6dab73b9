//! Record formats of the read stage: lines, JSON Lines, CSV.
//!
//! Takes: a buffered reader over one input and its display name. Gives: an
//! iterator of one document per line / object / row, each with the input
//! bytes it covered. Invariants: a bad record is reported with its line or
//! row number and skipped; reading goes on (a failing reader ends its input
//! with one error).

use super::{decode_text, Reader, Record};
use crate::pipeline::document::{Document, DocumentError, DocumentItem};

/// What a line becomes: `(text, input name, line number)` -> a document,
/// an error, or nothing (a blank line).
type LineParser = fn(String, &str, usize) -> Option<DocumentItem>;

/// The records of a line-based input. Splits on `\n` without requiring
/// UTF-8, so one bad line is one bad document.
pub struct LineRecords {
    reader: Reader,
    name: String,
    line_no: usize,
    parse: LineParser,
    done: bool,
}

impl LineRecords {
    pub fn new(reader: Reader, name: String, parse: LineParser) -> Self {
        Self { reader, name, line_no: 0, parse, done: false }
    }
}

impl Iterator for LineRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let mut buf = Vec::new();
        while !self.done {
            buf.clear();
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => self.done = true,
                Ok(n) => {
                    self.line_no += 1;
                    let location = format!("{}:{}", self.name, self.line_no);
                    let item = match decode_text(std::mem::take(&mut buf), &location) {
                        Ok(text) => (self.parse)(text, &self.name, self.line_no),
                        Err(e) => Some(Err(e)),
                    };
                    if let Some(item) = item {
                        return Some((item, n as u64));
                    }
                }
                Err(e) => {
                    self.done = true;
                    let problem = format!("read failed after line {}: {e}", self.line_no);
                    return Some((Err(DocumentError { location: self.name.clone(), problem }), 0));
                }
            }
        }
        None
    }
}

/// `--input-format lines`: a non-blank line is a document `NAME:LINE`.
pub fn line_document(text: String, name: &str, line_no: usize) -> Option<DocumentItem> {
    let text = text.trim_end_matches('\n').to_string();
    if text.trim().is_empty() {
        return None;
    }
    Some(Ok(Document { id: format!("{name}:{line_no}"), source: name.to_string(), text }))
}

/// JSON Lines: `{"id": ..., "text": ...}` a line.
pub fn jsonl_document(text: String, name: &str, line_no: usize) -> Option<DocumentItem> {
    if text.trim().is_empty() {
        return None;
    }
    let fail = |problem: String| Some(Err(DocumentError { location: format!("{name}:{line_no}"), problem }));
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return fail(format!("not a JSON object: {e}")),
    };
    let id = match value.get("id") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => return fail("missing \"id\" (a non-empty string or a number)".into()),
    };
    match value.get("text") {
        Some(serde_json::Value::String(t)) => Some(Ok(Document { id, source: name.to_string(), text: t.clone() })),
        _ => fail("missing \"text\" string".into()),
    }
}

/// The rows of a CSV (`.tsv`: tab-separated) input, one document each.
pub struct CsvRecords {
    csv: csv::Reader<Reader>,
    name: String,
    /// The text and id columns, or why the header is unusable (said once).
    columns: Result<(usize, Option<usize>), Option<DocumentError>>,
    record: csv::ByteRecord,
    row: usize,
    last_pos: u64,
}

impl CsvRecords {
    pub fn new(reader: Reader, name: String, wanted_column: Option<&str>) -> Self {
        let delimiter = if name.trim_end_matches(".gz").ends_with(".tsv") { b'\t' } else { b',' };
        let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(reader);
        let header_error = |problem: String| Err(Some(DocumentError { location: name.clone(), problem }));
        let columns = match csv.byte_headers() {
            Err(e) => header_error(format!("bad CSV header: {e}")),
            Ok(headers) => {
                let names: Vec<String> =
                    headers.iter().map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').to_string()).collect();
                match text_column(&names, wanted_column) {
                    Some(text) => Ok((text, names.iter().position(|h| h == "id"))),
                    None => header_error(format!("no text column: pass --text-column (columns: {})", names.join(", "))),
                }
            }
        };
        let last_pos = csv.position().byte();
        Self { csv, name, columns, record: csv::ByteRecord::new(), row: 0, last_pos }
    }

    fn document(&self, text_col: usize, id_col: Option<usize>) -> Option<DocumentItem> {
        let location = format!("{}:row {}", self.name, self.row);
        let field = |i: usize| self.record.get(i).map(|b| decode_text(b.to_vec(), &location));
        let text = match field(text_col) {
            Some(Ok(t)) if t.trim().is_empty() => return None,
            Some(Ok(t)) => t,
            Some(Err(e)) => return Some(Err(e)),
            None => return Some(Err(DocumentError { location, problem: "row has no text column".into() })),
        };
        let id = match id_col.and_then(field) {
            Some(Ok(id)) if !id.trim().is_empty() => id,
            Some(Err(e)) => return Some(Err(e)),
            _ => format!("{}:{}", self.name, self.row),
        };
        Some(Ok(Document { id, source: self.name.clone(), text }))
    }
}

impl Iterator for CsvRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let (text_col, id_col) = match &mut self.columns {
            Ok(columns) => *columns,
            Err(header_error) => return header_error.take().map(|e| (Err(e), 0)),
        };
        loop {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {
                    self.row += 1;
                    let pos = self.csv.position().byte();
                    let size = pos - self.last_pos;
                    self.last_pos = pos;
                    if let Some(item) = self.document(text_col, id_col) {
                        return Some((item, size));
                    }
                }
                Err(e) => {
                    self.row += 1;
                    let location = format!("{}:row {}", self.name, self.row);
                    return Some((Err(DocumentError { location, problem: format!("bad CSV record: {e}") }), 0));
                }
            }
        }
    }
}

fn text_column(headers: &[String], wanted: Option<&str>) -> Option<usize> {
    match wanted {
        Some(w) => headers.iter().position(|h| h == w),
        None => headers
            .iter()
            .position(|h| h == "text")
            .or_else(|| headers.iter().position(|h| h == "sentence"))
            .or(if headers.len() == 1 { Some(0) } else { None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(records: impl Iterator<Item = Record>) -> Vec<DocumentItem> {
        records.map(|(item, _)| item).collect()
    }

    fn reader(input: &'static [u8]) -> Reader {
        Box::new(input)
    }

    #[test]
    fn lines_skip_blank_and_report_bad_utf8_by_line() {
        let items = items(LineRecords::new(reader(b"first\n\n\xff\xfe\r\nlast"), "in".into(), line_document));
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap().id, "in:1");
        assert_eq!(items[1].as_ref().unwrap_err().location, "in:3");
        assert_eq!(items[2].as_ref().unwrap().text, "last");
    }

    #[test]
    fn jsonl_needs_id_and_text() {
        let items =
            items(LineRecords::new(reader(b"{\"id\":7,\"text\":\"a b\"}\n{\"text\":\"x\"}\nnot json\n"), "in".into(), jsonl_document));
        assert_eq!(items[0].as_ref().unwrap().id, "7");
        assert!(items[1].as_ref().unwrap_err().problem.contains("id"));
        assert!(items[2].as_ref().unwrap_err().problem.contains("JSON"));
    }

    #[test]
    fn csv_uses_sentence_column_and_row_ids() {
        let docs: Vec<Document> =
            items(CsvRecords::new(reader(b"sentence\n\"a, b.\"\nc\n"), "w.csv".into(), None)).into_iter().map(Result::unwrap).collect();
        assert_eq!(docs[0].text, "a, b.");
        assert_eq!(docs[1].id, "w.csv:2");
    }

    #[test]
    fn csv_without_a_text_column_is_one_error_naming_the_columns() {
        let items = items(CsvRecords::new(reader(b"a,b\n1,2\n3,4\n"), "w.csv".into(), None));
        assert_eq!(items.len(), 1);
        assert!(items[0].as_ref().unwrap_err().problem.contains("columns: a, b"));
    }
}
