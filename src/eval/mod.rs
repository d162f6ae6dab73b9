//! `kgx eval`: extractions against gold Open IE tuples, scored the CaRB way.
//!
//! Takes: a gold file (CaRB or OIE2016 layout) and predictions from one of:
//! the model run on the gold sentences, a store, or a CaRB TSV file. Gives:
//! a [`carb::CarbScore`] (P/R/F1 with all predictions and at the best
//! confidence threshold, and the PR-curve area).
//! Invariants: the model sees each gold sentence exactly as written in the
//! gold file, one sentence a document; predictions are matched to gold by
//! sentence text.

pub mod carb;
pub mod command;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use carb::{OieTuple, Prediction};

use crate::query::select_values;
use crate::store::{ExtractedDocument, Sink, StoreError, StoredCheck, WriteStats};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GoldFormat {
    /// `SENTENCE \t RELATION \t ARG1 \t ARG2 ...`
    Carb,
    /// `SENTENCE \t PREDICATE-HEAD \t FULL-PREDICATE \t ARG1 \t ARG2 ...`
    Oie2016,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}:{line}: {problem}")]
    Format { path: PathBuf, line: usize, problem: String },
}

/// Gold tuples by sentence, and the sentences in file order.
pub struct Gold {
    pub sentences: Vec<String>,
    pub tuples: HashMap<String, Vec<OieTuple>>,
}

fn read_lines(path: &Path) -> Result<Vec<String>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Read { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(text.lines().map(str::to_string).collect())
}

pub fn read_gold(path: &Path, format: GoldFormat) -> Result<Gold, EvalError> {
    let mut gold = Gold { sentences: Vec::new(), tuples: HashMap::new() };
    for (i, line) in read_lines(path)?.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (relation, args) = match (format, cols.len()) {
            (GoldFormat::Carb, n) if n >= 3 => (cols[1], &cols[2..]),
            (GoldFormat::Oie2016, n) if n >= 4 => (cols[2], &cols[3..]),
            _ => return Err(EvalError::Format { path: path.to_path_buf(), line: i + 1, problem: format!("expected a sentence, a relation and arguments, found {} columns", cols.len()) }),
        };
        let sentence = cols[0].to_string();
        if !gold.tuples.contains_key(&sentence) {
            gold.sentences.push(sentence.clone());
        }
        let args = args.iter().map(|a| a.to_string()).filter(|a| !a.trim().is_empty()).collect();
        gold.tuples.entry(sentence).or_default().push(OieTuple { relation: relation.to_string(), args });
    }
    Ok(gold)
}

/// Reads CaRB's input TSV: `SENTENCE \t CONFIDENCE \t RELATION \t ARG1 \t ARG2 ...`.
pub fn read_extractions(path: &Path) -> Result<HashMap<String, Vec<Prediction>>, EvalError> {
    let mut out: HashMap<String, Vec<Prediction>> = HashMap::new();
    for (i, line) in read_lines(path)?.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let bad = |problem: String| EvalError::Format { path: path.to_path_buf(), line: i + 1, problem };
        if cols.len() < 4 {
            return Err(bad(format!("expected sentence, confidence, relation, arguments; found {} columns", cols.len())));
        }
        let confidence: f64 = cols[1].trim().parse().map_err(|_| bad(format!("confidence {:?} is not a number", cols[1])))?;
        let tuple = OieTuple { relation: cols[2].to_string(), args: cols[3..].iter().map(|a| a.to_string()).collect() };
        out.entry(cols[0].to_string()).or_default().push(Prediction { tuple, confidence });
    }
    Ok(out)
}

/// Every extraction in a store as CaRB rows: (sentence, confidence, relation, arg1, arg2).
pub fn store_rows(store: &oxigraph::store::Store) -> Result<Vec<[String; 5]>, crate::query::QueryError> {
    let rows = select_values(
        store,
        "SELECT DISTINCT ?x ?text ?c ?ss ?se ?rs ?re ?ts ?te WHERE {
           ?x a kgx:Extraction ; kgx:sentence ?s ; kgx:confidence ?c ;
              kgx:sourceStart ?ss ; kgx:sourceEnd ?se ; kgx:relationStart ?rs ; kgx:relationEnd ?re ;
              kgx:targetStart ?ts ; kgx:targetEnd ?te .
           ?s kgx:text ?text } ORDER BY ?x",
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            let chars: Vec<char> = r[1].chars().collect();
            let span = |a: &str, b: &str| -> String {
                let (a, b): (usize, usize) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
                chars.get(a.min(b)..b.min(chars.len())).map(|c| c.iter().collect()).unwrap_or_default()
            };
            [r[1].clone(), r[2].clone(), span(&r[5], &r[6]), span(&r[3], &r[4]), span(&r[7], &r[8])]
        })
        .collect())
}

/// Writes CaRB's input TSV, one extraction a line; tabs and newlines inside fields become spaces.
pub fn write_carb_rows(rows: &[[String; 5]], out: &mut dyn Write) -> std::io::Result<()> {
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace(['\t', '\n', '\r'], " ")).collect();
        writeln!(out, "{}", cells.join("\t"))?;
    }
    Ok(())
}

pub fn predictions_from_rows(rows: &[[String; 5]]) -> HashMap<String, Vec<Prediction>> {
    let mut out: HashMap<String, Vec<Prediction>> = HashMap::new();
    for [sentence, confidence, relation, arg1, arg2] in rows {
        let tuple = OieTuple { relation: relation.clone(), args: vec![arg1.clone(), arg2.clone()] };
        out.entry(sentence.clone()).or_default().push(Prediction { tuple, confidence: confidence.parse().unwrap_or(0.0) });
    }
    out
}

/// A [`Sink`] that keeps extractions in memory, as CaRB rows, for scoring.
#[derive(Default)]
pub struct CollectSink {
    pub rows: Vec<(String, [String; 5])>,
}

impl Sink for CollectSink {
    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, StoreError> {
        let stats = WriteStats { documents: chunk.len(), triples: chunk.iter().map(ExtractedDocument::triple_count).sum(), ..WriteStats::default() };
        for doc in chunk {
            for s in &doc.sentences {
                for t in &s.triples {
                    let row = [s.sentence.text.clone(), format!("{:.6}", t.confidence), t.relation.text.clone(), t.source.text.clone(), t.target.text.clone()];
                    self.rows.push((doc.document.id.clone(), row));
                }
            }
        }
        Ok(stats)
    }
    fn stored_check(&self) -> StoredCheck {
        Box::new(|_, _| Ok(false))
    }
    fn record_failures(&mut self, _: &[crate::read::DocumentError]) -> Result<(), StoreError> {
        Ok(())
    }
}

pub fn print_report(name: &str, s: &carb::CarbScore, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "CaRB scoring of {name}: {} sentences, {} gold tuples, {} predicted tuples", s.sentences, s.gold_tuples, s.predicted_tuples)?;
    writeln!(out, "all predictions      P {:.3}  R {:.3}  F1 {:.3}", s.all.precision, s.all.recall, s.all.f1)?;
    writeln!(out, "best F1 (conf >= {:.3})  P {:.3}  R {:.3}  F1 {:.3}", s.best.threshold, s.best.precision, s.best.recall, s.best.f1)?;
    writeln!(out, "AUC (precision/recall curve)  {:.3}", s.auc)
}
