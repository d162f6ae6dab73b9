//! Record formats of the read stage: lines, JSON Lines, CSV.
//!
//! Takes: a buffered reader over one input and its display name. Gives: one
//! document per line / object / row through the same callback as
//! [`crate::read`]. Invariants: a bad record is reported with its line or
//! row number and skipped; reading goes on.

use std::io::BufRead;
use std::ops::ControlFlow;

use crate::read::{decode_text, Document, DocumentError, ReadItem, ReadOptions};

type Emit<'a> = &'a mut dyn FnMut(ReadItem, u64) -> ControlFlow<()>;

/// Splits on `\n` without requiring UTF-8, so one bad line is one bad document.
fn for_each_line(mut reader: Box<dyn BufRead>, name: &str, emit: Emit, mut on_line: impl FnMut(String, usize) -> Option<ReadItem>) -> ControlFlow<()> {
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return ControlFlow::Continue(()),
            Ok(n) => {
                line_no += 1;
                let location = format!("{name}:{line_no}");
                let item = match decode_text(std::mem::take(&mut buf), &location) {
                    Ok(text) => on_line(text, line_no),
                    Err(e) => Some(Err(e)),
                };
                if let Some(item) = item {
                    emit(item, n as u64)?;
                }
            }
            Err(e) => {
                let problem = format!("read failed after line {line_no}: {e}");
                return emit(Err(DocumentError { location: name.to_string(), problem }), 0);
            }
        }
    }
}

pub fn read_lines(reader: Box<dyn BufRead>, name: &str, emit: Emit) -> ControlFlow<()> {
    for_each_line(reader, name, emit, |text, line_no| {
        let text = text.trim_end_matches('\n').to_string();
        if text.trim().is_empty() {
            return None;
        }
        Some(Ok(Document { id: format!("{name}:{line_no}"), source: name.to_string(), text }))
    })
}

pub fn read_jsonl(reader: Box<dyn BufRead>, name: &str, emit: Emit) -> ControlFlow<()> {
    for_each_line(reader, name, emit, |text, line_no| {
        if text.trim().is_empty() {
            return None;
        }
        let location = format!("{name}:{line_no}");
        let fail = |problem: String| Some(Err(DocumentError { location: location.clone(), problem }));
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
    })
}

pub fn read_csv(reader: Box<dyn BufRead>, name: &str, opts: &ReadOptions, emit: Emit) -> ControlFlow<()> {
    let delimiter = if name.trim_end_matches(".gz").ends_with(".tsv") { b'\t' } else { b',' };
    let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(reader);
    let headers = match csv.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return emit(Err(DocumentError { location: name.to_string(), problem: format!("bad CSV header: {e}") }), 0),
    };
    let header_names: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').to_string()).collect();
    let Some(text_col) = text_column(&header_names, opts.text_column.as_deref()) else {
        let problem = format!(
            "no text column: pass --text-column (columns: {})",
            header_names.join(", ")
        );
        return emit(Err(DocumentError { location: name.to_string(), problem }), 0);
    };
    let id_col = header_names.iter().position(|h| h == "id");
    let mut record = csv::ByteRecord::new();
    let mut row = 0usize;
    let mut last_pos = csv.position().byte();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => return ControlFlow::Continue(()),
            Ok(true) => {
                row += 1;
                let pos = csv.position().byte();
                let size = pos - last_pos;
                last_pos = pos;
                let location = format!("{name}:row {row}");
                let item = record_to_document(&record, text_col, id_col, name, row, &location);
                if let Some(item) = item {
                    emit(item, size)?;
                }
            }
            Err(e) => {
                row += 1;
                emit(Err(DocumentError { location: format!("{name}:row {row}"), problem: format!("bad CSV record: {e}") }), 0)?;
            }
        }
    }
}

fn record_to_document(record: &csv::ByteRecord, text_col: usize, id_col: Option<usize>, name: &str, row: usize, location: &str) -> Option<ReadItem> {
    let field = |i: usize| record.get(i).map(|b| decode_text(b.to_vec(), location));
    let text = match field(text_col) {
        Some(Ok(t)) if t.trim().is_empty() => return None,
        Some(Ok(t)) => t,
        Some(Err(e)) => return Some(Err(e)),
        None => return Some(Err(DocumentError { location: location.to_string(), problem: "row has no text column".into() })),
    };
    let id = match id_col.and_then(field) {
        Some(Ok(id)) if !id.trim().is_empty() => id,
        Some(Err(e)) => return Some(Err(e)),
        _ => format!("{name}:{row}"),
    };
    Some(Ok(Document { id, source: name.to_string(), text }))
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

    fn collect(f: impl FnOnce(Box<dyn BufRead>, &str, Emit) -> ControlFlow<()>, input: &'static [u8]) -> Vec<ReadItem> {
        let mut out = Vec::new();
        let _ = f(Box::new(input), "in", &mut |item, _| {
            out.push(item);
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn lines_skip_blank_and_report_bad_utf8_by_line() {
        let items = collect(read_lines, b"first\n\n\xff\xfe\r\nlast");
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap().id, "in:1");
        assert_eq!(items[1].as_ref().unwrap_err().location, "in:3");
        assert_eq!(items[2].as_ref().unwrap().text, "last");
    }

    #[test]
    fn jsonl_needs_id_and_text() {
        let items = collect(read_jsonl, b"{\"id\":7,\"text\":\"a b\"}\n{\"text\":\"x\"}\nnot json\n");
        assert_eq!(items[0].as_ref().unwrap().id, "7");
        assert!(items[1].as_ref().unwrap_err().problem.contains("id"));
        assert!(items[2].as_ref().unwrap_err().problem.contains("JSON"));
    }

    #[test]
    fn csv_uses_sentence_column_and_row_ids() {
        let mut out = Vec::new();
        let opts = ReadOptions::default();
        let _ = read_csv(Box::new(&b"sentence\n\"a, b.\"\nc\n"[..]), "w.csv", &opts, &mut |item, _| {
            out.push(item);
            ControlFlow::Continue(())
        });
        let docs: Vec<_> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!(docs[0].text, "a, b.");
        assert_eq!(docs[1].id, "w.csv:2");
    }
}
