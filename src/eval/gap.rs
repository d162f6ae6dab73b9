//! GAP coreference, scored as GAP's own scorer does (`kgx eval --format gap`).
//!
//! Takes: a GAP TSV (header; ID, Text, Pronoun, Pronoun-offset, A,
//! A-offset, A-coref, B, B-offset, B-coref, URL; offsets in chars) and a
//! [`Model`]. Gives: for each row, whether the entity kgx resolved the
//! pronoun to has a mention overlapping A's span, and B's ([`predict`]),
//! their F1 overall, for masculine and feminine pronouns and the bias F/M
//! ([`score`]), and the predictions as GAP's scorer reads them
//! (`ID \t A-coref \t B-coref`).
//! Invariants: only the Text goes into the pipeline, split into sentences
//! like any document; the labelled offsets, names and the URL are used
//! only to report (a pronoun kgx did not find, or left unresolved, says
//! FALSE for both).

use std::io::Write;
use std::path::Path;

use super::files::EvalError;
use super::Prf;
use crate::model::Model;
use crate::pipeline::resolve::{DocumentEntities, MentionKind};
use crate::pipeline::{self, Document, ExtractedDocument, PipelineError, PipelineOptions, Sink, WriteStats};

/// One GAP example.
#[derive(Debug, Clone)]
pub struct GapRow {
    pub id: String,
    pub text: String,
    /// Char spans of the pronoun, A and B.
    pub pronoun: (usize, usize),
    pub a: (usize, usize),
    pub b: (usize, usize),
    pub a_coref: bool,
    pub b_coref: bool,
    pub feminine: bool,
}

/// kgx's decisions for one row: A-coref, B-coref.
pub type GapDecision = (bool, bool);

pub fn read_gap(path: &Path) -> Result<Vec<GapRow>, EvalError> {
    let read_error = |source| EvalError::Read { path: path.to_path_buf(), source };
    let mut reader = csv::ReaderBuilder::new().delimiter(b'\t').quoting(false).has_headers(true).from_path(path).map_err(read_error)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(read_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let problem = |problem: String| EvalError::Format { path: path.to_path_buf(), line, problem };
        if record.len() < 10 {
            return Err(problem(format!(
                "{} columns, GAP has 11 (ID, Text, Pronoun, Pronoun-offset, A, A-offset, A-coref, B, ...)",
                record.len()
            )));
        }
        let offset = |col: usize| {
            record[col].trim().parse::<usize>().map_err(|_| problem(format!("column {} is not an offset: {:?}", col + 1, &record[col])))
        };
        let flag = |col: usize| match record[col].trim().to_ascii_uppercase().as_str() {
            "TRUE" => Ok(true),
            "FALSE" => Ok(false),
            other => Err(problem(format!("column {} is not TRUE or FALSE: {other:?}", col + 1))),
        };
        let span = |text_col: usize, offset_col: usize| -> Result<(usize, usize), EvalError> {
            let start = offset(offset_col)?;
            Ok((start, start + record[text_col].chars().count()))
        };
        let pronoun = record[2].trim().to_lowercase();
        rows.push(GapRow {
            id: record[0].to_string(),
            text: record[1].to_string(),
            pronoun: span(2, 3)?,
            a: span(4, 5)?,
            b: span(7, 8)?,
            a_coref: flag(6)?,
            b_coref: flag(9)?,
            feminine: matches!(pronoun.as_str(), "she" | "her" | "hers" | "herself"),
        });
    }
    Ok(rows)
}

/// A sink that keeps each document's entities, by document id (the row index).
#[derive(Default)]
struct EntitiesSink {
    documents: Vec<(usize, DocumentEntities)>,
}

impl Sink for EntitiesSink {
    type Error = std::convert::Infallible;

    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, Self::Error> {
        for doc in chunk {
            if let Ok(i) = doc.document.id.parse() {
                self.documents.push((i, doc.entities.clone()));
            }
        }
        Ok(WriteStats { documents: chunk.len(), ..WriteStats::default() })
    }
}

/// Whether the pronoun at `pronoun` resolved to an entity with a mention overlapping `a`, and `b`.
pub fn decide(entities: &DocumentEntities, row: &GapRow) -> GapDecision {
    let overlaps = |(s, e): (usize, usize), start: usize, end: usize| s < end && start < e;
    let pronoun = entities.mentions.iter().position(|m| matches!(m.kind, MentionKind::Pronoun(_)) && overlaps(row.pronoun, m.start, m.end));
    let Some(entity) = pronoun.and_then(|p| entities.entity_of[p]) else {
        return (false, false);
    };
    let has_mention_in = |span: (usize, usize)| {
        entities.mentions.iter().zip(&entities.entity_of).any(|(m, e)| *e == Some(entity) && overlaps(span, m.start, m.end))
    };
    (has_mention_in(row.a), has_mention_in(row.b))
}

/// Runs the pipeline on every row's text and decides A and B.
pub fn predict(model: &Model, rows: &[GapRow]) -> Result<Vec<GapDecision>, PipelineError> {
    let documents = rows.iter().enumerate().map(|(i, r)| Ok(Document { id: i.to_string(), source: r.id.clone(), text: r.text.clone() }));
    let mut sink = EntitiesSink::default();
    pipeline::run(documents, model, &PipelineOptions::for_device(model.on_gpu()), &mut sink)?;
    let mut decisions = vec![(false, false); rows.len()];
    for (i, entities) in &sink.documents {
        if let Some(row) = rows.get(*i) {
            decisions[*i] = decide(entities, row);
        }
    }
    Ok(decisions)
}

impl Prf {
    /// Precision, recall and F1 of TRUE decisions (predicted, gold).
    fn of(pairs: impl Iterator<Item = (bool, bool)>) -> Self {
        let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
        for (predicted, gold) in pairs {
            match (predicted, gold) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fn_ += 1.0,
                _ => {}
            }
        }
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
        Self::new(precision, recall)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GapScore {
    pub overall: Prf,
    pub masculine: Prf,
    pub feminine: Prf,
    /// Feminine F1 / masculine F1.
    pub bias: f64,
    pub rows: usize,
}

pub fn score(rows: &[GapRow], decisions: &[GapDecision]) -> GapScore {
    let pairs = |feminine: Option<bool>| {
        rows.iter()
            .zip(decisions)
            .filter(move |(r, _)| feminine.is_none_or(|f| r.feminine == f))
            .flat_map(|(r, d)| [(d.0, r.a_coref), (d.1, r.b_coref)])
    };
    let (masculine, feminine) = (Prf::of(pairs(Some(false))), Prf::of(pairs(Some(true))));
    let bias = if masculine.f1 > 0.0 { feminine.f1 / masculine.f1 } else { 0.0 };
    GapScore { overall: Prf::of(pairs(None)), masculine, feminine, bias, rows: rows.len() }
}

/// `ID \t A-coref \t B-coref` a row, as GAP's scorer reads system output.
pub fn write_predictions(rows: &[GapRow], decisions: &[GapDecision], out: &mut dyn Write) -> std::io::Result<()> {
    let word = |b: bool| if b { "TRUE" } else { "FALSE" };
    for (r, d) in rows.iter().zip(decisions) {
        writeln!(out, "{}\t{}\t{}", r.id, word(d.0), word(d.1))?;
    }
    Ok(())
}

pub fn print_report(name: &str, s: &GapScore, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "GAP scoring of {name}: {} examples", s.rows)?;
    for (label, p) in [("overall", s.overall), ("masculine", s.masculine), ("feminine", s.feminine)] {
        writeln!(out, "{label:<10} P {:.1}  R {:.1}  F1 {:.1}", 100.0 * p.precision, 100.0 * p.recall, 100.0 * p.f1)?;
    }
    writeln!(out, "bias (F/M) {:.3}", s.bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(feminine: bool, a: bool, b: bool) -> GapRow {
        GapRow { id: String::new(), text: String::new(), pronoun: (0, 1), a: (0, 1), b: (0, 1), a_coref: a, b_coref: b, feminine }
    }

    #[test]
    fn f1_counts_true_decisions_and_bias_is_feminine_over_masculine() {
        let rows = [row(false, true, false), row(false, false, true), row(true, true, false), row(true, false, false)];
        let decisions = [(true, false), (true, false), (true, false), (true, false)];
        let s = score(&rows, &decisions);
        // Masculine: tp 1, fp 1, fn 1 -> F1 0.5. Feminine: tp 1, fp 1 -> P 0.5 R 1 -> F1 2/3.
        assert!((s.masculine.f1 - 0.5).abs() < 1e-9);
        assert!((s.feminine.f1 - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.bias - 4.0 / 3.0).abs() < 1e-9);
    }
}
