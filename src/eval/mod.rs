//! Extractions against gold Open IE tuples, scored the CaRB way (`kgx eval`).
//!
//! Takes: a gold file (CaRB or OIE2016 layout, [`files`]) and predictions
//! from one of: the model run on the gold sentences ([`predict`]), a store
//! ([`store_rows`]), or a CaRB TSV file. Gives: a [`carb::CarbScore`] (P/R/F1
//! with all predictions and at the best confidence threshold, and the
//! PR-curve area) and its report. Coreference (GAP) and entity
//! canonicalization (CESI) are scored by [`gap`] and [`cesi`], sharing [`Prf`].
//! Invariants: the model sees each gold sentence exactly as written in the
//! gold file, one sentence a document, from memory; predictions are matched
//! to gold by sentence text.

pub mod carb;
pub mod cesi;
pub mod files;
pub mod gap;

use std::collections::HashMap;
use std::io::Write;

use carb::{OieTuple, Prediction};

use crate::model::Model;
use crate::pipeline::{self, Document, ExtractedDocument, PipelineError, PipelineOptions, Sink, SplitMode, WriteStats};
use crate::query::{select_values, QueryError};

pub use files::{read_extractions, read_gold, write_carb_rows, EvalError, Gold, GoldFormat};

/// Precision, recall and F1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    /// F1 from precision and recall (0 when both are 0).
    pub fn new(precision: f64, recall: f64) -> Self {
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        Self { precision, recall, f1 }
    }
}

/// Tags every sentence (one a document, exactly as written) and returns
/// the extractions as CaRB rows (sentence, confidence, relation, arg1, arg2),
/// in sentence order.
pub fn predict(model: &Model, sentences: &[String]) -> Result<Vec<[String; 5]>, PipelineError> {
    let documents =
        sentences.iter().enumerate().map(|(i, text)| Ok(Document { id: i.to_string(), source: "gold".into(), text: text.clone() }));
    let opts = PipelineOptions { split: SplitMode::WholeDocument, ..PipelineOptions::for_device(model.on_gpu()) };
    let mut sink = CollectSink::default();
    pipeline::run(documents, model, &opts, &mut sink)?;
    Ok(sink
        .rows
        .into_iter()
        .filter_map(|(document, mut row)| {
            // Key each row by the sentence as written (its index is the document id), not as the pipeline trimmed it.
            row[0] = sentences.get(document.parse::<usize>().ok()?)?.clone();
            Some(row)
        })
        .collect())
}

/// A [`Sink`] that keeps extractions in memory, as CaRB rows by document id.
#[derive(Default)]
struct CollectSink {
    rows: Vec<(String, [String; 5])>,
}

impl Sink for CollectSink {
    type Error = std::convert::Infallible;

    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, Self::Error> {
        let stats = WriteStats {
            documents: chunk.len(),
            triples: chunk.iter().map(ExtractedDocument::triple_count).sum(),
            ..WriteStats::default()
        };
        for doc in chunk {
            for s in &doc.sentences {
                for t in &s.triples {
                    let row = [
                        s.sentence.text.clone(),
                        format!("{:.6}", t.confidence),
                        t.relation.text.clone(),
                        t.source.text.clone(),
                        t.target.text.clone(),
                    ];
                    self.rows.push((doc.document.id.clone(), row));
                }
            }
        }
        Ok(stats)
    }
}

/// Every extraction in a store as CaRB rows: (sentence, confidence, relation, arg1, arg2).
pub fn store_rows(store: &oxigraph::store::Store) -> Result<Vec<[String; 5]>, QueryError> {
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

/// CaRB rows as predictions by sentence.
pub fn predictions_from_rows(rows: &[[String; 5]]) -> HashMap<String, Vec<Prediction>> {
    let mut out: HashMap<String, Vec<Prediction>> = HashMap::new();
    for [sentence, confidence, relation, arg1, arg2] in rows {
        let tuple = OieTuple { relation: relation.clone(), args: vec![arg1.clone(), arg2.clone()] };
        out.entry(sentence.clone()).or_default().push(Prediction { tuple, confidence: confidence.parse().unwrap_or(0.0) });
    }
    out
}

/// The shape of a set of tuples: how many a sentence and how long their
/// parts, in words (CaRB's token overlap rewards long arguments, so F1 is
/// read next to these). `arg2` is every argument after the first, joined.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TupleShape {
    pub per_sentence: f64,
    pub arg1_words: f64,
    pub relation_words: f64,
    pub arg2_words: f64,
}

impl TupleShape {
    /// The shape of `tuples` found in `sentences` sentences.
    pub fn of<'a>(sentences: usize, tuples: impl Iterator<Item = &'a OieTuple>) -> Self {
        let words = |s: &str| s.split_whitespace().count() as f64;
        let (mut n, mut arg1, mut relation, mut arg2) = (0.0, 0.0, 0.0, 0.0);
        for t in tuples {
            n += 1.0;
            arg1 += t.args.first().map_or(0.0, |a| words(a));
            relation += words(&t.relation);
            arg2 += t.args.iter().skip(1).map(|a| words(a)).sum::<f64>();
        }
        let mean = |x: f64| if n > 0.0 { x / n } else { 0.0 };
        Self {
            per_sentence: if sentences > 0 { n / sentences as f64 } else { 0.0 },
            arg1_words: mean(arg1),
            relation_words: mean(relation),
            arg2_words: mean(arg2),
        }
    }
}

/// The CaRB report: scores, then the shape of the predicted and gold tuples.
pub fn print_report(name: &str, s: &carb::CarbScore, shapes: &[(&str, TupleShape)], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "CaRB scoring of {name}: {} sentences, {} gold tuples, {} predicted tuples",
        s.sentences, s.gold_tuples, s.predicted_tuples
    )?;
    writeln!(out, "all predictions      P {:.3}  R {:.3}  F1 {:.3}", s.all.precision, s.all.recall, s.all.f1)?;
    writeln!(out, "best F1 (conf >= {:.3})  P {:.3}  R {:.3}  F1 {:.3}", s.best.threshold, s.best.precision, s.best.recall, s.best.f1)?;
    writeln!(out, "AUC (precision/recall curve)  {:.3}", s.auc)?;
    for (what, t) in shapes {
        writeln!(
            out,
            "{what:<9} {:.2} tuples a sentence; mean words: arg1 {:.2}, relation {:.2}, arg2+ {:.2}",
            t.per_sentence, t.arg1_words, t.relation_words, t.arg2_words
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuple_shape_counts_words_and_joins_the_arguments_after_the_first() {
        let t = |rel: &str, args: &[&str]| OieTuple { relation: rel.into(), args: args.iter().map(|a| a.to_string()).collect() };
        let tuples = [t("was born in", &["Carol Smith", "Paris", "in 1990"]), t("met", &["Dave", ""])];
        let shape = TupleShape::of(4, tuples.iter());
        assert_eq!(shape, TupleShape { per_sentence: 0.5, arg1_words: 1.5, relation_words: 2.0, arg2_words: 1.5 });
        assert_eq!(TupleShape::of(0, std::iter::empty()), TupleShape::default());
    }
}
