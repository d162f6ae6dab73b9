//! Canonicalization of noun phrases, scored as CESI scores it
//! (`kgx eval --format cesi`).
//!
//! Takes: a CESI file (one JSON object a line: `triple` [subject, relation,
//! object] and the gold Freebase id of its subject, `true_link.subject`).
//! Gives: the clusters kgx's entity index ([`crate::canon::index`], the one
//! `kgx extract` writes) makes of the subject phrases, one element per
//! triple, each triple recorded as a document of its own ([`cluster`]); and
//! CESI's macro, micro and pairwise precision/recall/F1 and their average
//! ([`score`]) next to two baselines from the same scorer: every phrase
//! alone, and exact normalised strings.
//! Invariants: only the subject phrase is a feature (`true_link` is read
//! for scoring alone; `entity_linking`, `kbp_info` and the sentences are
//! never read); the index is filled in file order and again in a shuffled
//! order, and the two clusterings must be identical (an error otherwise).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::Path;

use rusqlite::Connection;

use super::files::EvalError;
use super::Prf;
use crate::canon::index::{self, NameMention};
use crate::canon::name;

/// One element: a triple's subject phrase and its gold entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CesiElement {
    /// The line it came from (1-based), its identity.
    pub line: usize,
    pub phrase: String,
    pub gold: String,
}

/// Reads a CESI file's elements, in file order.
pub fn read_cesi(path: &Path) -> Result<Vec<CesiElement>, EvalError> {
    let io = |source| EvalError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let problem = |problem: String| EvalError::Format { path: path.to_path_buf(), line: i as u64 + 1, problem };
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| problem(format!("not a JSON object: {e}")))?;
        let phrase = value.pointer("/triple/0").and_then(|v| v.as_str());
        let gold = value.pointer("/true_link/subject").and_then(|v| v.as_str());
        let (Some(phrase), Some(gold)) = (phrase, gold) else {
            return Err(problem("a CESI line needs `triple` (a list of 3 strings) and `true_link.subject` (a string)".into()));
        };
        out.push(CesiElement { line: i + 1, phrase: phrase.to_string(), gold: gold.to_string() });
    }
    if out.is_empty() {
        return Err(EvalError::Format { path: path.to_path_buf(), line: 0, problem: "no CESI lines".into() });
    }
    Ok(out)
}

/// Each element's cluster, as a cluster id.
pub type Clustering = Vec<String>;

/// The entity index's clusters: each element recorded (as one document)
/// in `order`, the link pass run, each element's cluster its name's
/// canonical key (an element whose phrase has no letter or digit is alone).
pub fn cluster(elements: &[CesiElement], order: &[usize]) -> rusqlite::Result<Clustering> {
    let mut conn = Connection::open_in_memory()?;
    conn.execute_batch(index::SCHEMA)?;
    let tx = conn.transaction()?;
    for &i in order {
        let e = &elements[i];
        index::record_document(&tx, &e.line.to_string(), &[NameMention { label: e.phrase.clone(), mentions: 1, entity: None }])?;
    }
    tx.commit()?;
    let clusters = index::link(&conn)?;
    Ok(elements
        .iter()
        .map(|e| match name::key(&e.phrase) {
            Some(key) => format!("key:{}", clusters.canonical(&key)),
            None => format!("line:{}", e.line),
        })
        .collect())
}

/// Every phrase alone.
pub fn singletons(elements: &[CesiElement]) -> Clustering {
    elements.iter().map(|e| e.line.to_string()).collect()
}

/// One cluster per exact normalised string (case, spaces, edge punctuation).
pub fn exact_strings(elements: &[CesiElement]) -> Clustering {
    elements.iter().map(|e| crate::iri::normalise(&e.phrase)).collect()
}

/// A fixed permutation of `0..n` (xorshift-driven Fisher-Yates), so the
/// order test is the same on every run.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed | 1;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// CESI's three measures and their F1s' mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CesiScore {
    pub macro_: Prf,
    pub micro: Prf,
    pub pairwise: Prf,
    pub average: f64,
}

/// Scores a clustering against the gold one, as CESI's `evaluate` does:
/// precision over the predicted clusters, recall over the gold clusters
/// (the same measure with the roles swapped).
pub fn score(predicted: &[String], gold: &[String]) -> CesiScore {
    let clusters = |labels: &[String]| {
        let mut by: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, l) in labels.iter().enumerate() {
            by.entry(l.as_str()).or_default().push(i);
        }
        by.into_values().collect::<Vec<_>>()
    };
    let (pc, gc) = (clusters(predicted), clusters(gold));
    let macro_ = Prf::new(macro_precision(&pc, gold), macro_precision(&gc, predicted));
    let micro = Prf::new(micro_precision(&pc, gold), micro_precision(&gc, predicted));
    let pairwise = Prf::new(pair_precision(&pc, gold), pair_precision(&gc, predicted));
    CesiScore { macro_, micro, pairwise, average: (macro_.f1 + micro.f1 + pairwise.f1) / 3.0 }
}

/// Counts of the other labelling's labels inside one cluster.
fn label_counts<'a>(cluster: &[usize], other: &'a [String]) -> HashMap<&'a str, usize> {
    let mut counts = HashMap::new();
    for &i in cluster {
        *counts.entry(other[i].as_str()).or_insert(0) += 1;
    }
    counts
}

/// Share of clusters whose elements all carry one label of the other side.
fn macro_precision(clusters: &[Vec<usize>], other: &[String]) -> f64 {
    let pure = clusters.iter().filter(|c| c.iter().map(|&i| other[i].as_str()).collect::<HashSet<_>>().len() == 1).count();
    pure as f64 / clusters.len().max(1) as f64
}

/// Share of elements that carry their cluster's most common label.
fn micro_precision(clusters: &[Vec<usize>], other: &[String]) -> f64 {
    let hits: usize = clusters.iter().map(|c| label_counts(c, other).into_values().max().unwrap_or(0)).sum();
    let total: usize = clusters.iter().map(Vec::len).sum();
    hits as f64 / total.max(1) as f64
}

/// Share of same-cluster pairs that share a label (0 when no cluster has a pair).
fn pair_precision(clusters: &[Vec<usize>], other: &[String]) -> f64 {
    let pairs = |k: usize| k * k.saturating_sub(1) / 2;
    let all: usize = clusters.iter().map(|c| pairs(c.len())).sum();
    let hits: usize = clusters.iter().flat_map(|c| label_counts(c, other).into_values()).map(pairs).sum();
    if all == 0 {
        0.0
    } else {
        hits as f64 / all as f64
    }
}

/// The report: the file's sizes, then one row per system.
pub fn print_report(name: &str, elements: &[CesiElement], rows: &[(&str, CesiScore)], out: &mut dyn Write) -> std::io::Result<()> {
    let phrases: HashSet<&str> = elements.iter().map(|e| e.phrase.as_str()).collect();
    let gold: BTreeMap<&str, ()> = elements.iter().map(|e| (e.gold.as_str(), ())).collect();
    writeln!(
        out,
        "CESI canonicalization of {name}: {} elements, {} distinct phrases, {} gold entities",
        elements.len(),
        phrases.len(),
        gold.len()
    )?;
    writeln!(out, "{:<20} {:>23} {:>23} {:>23} {:>9}", "", "macro P / R / F1", "micro P / R / F1", "pairwise P / R / F1", "average")?;
    for (system, s) in rows {
        let prf = |p: Prf| format!("{:.3} / {:.3} / {:.3}", p.precision, p.recall, p.f1);
        writeln!(out, "{system:<20} {:>23} {:>23} {:>23} {:>9.3}", prf(s.macro_), prf(s.micro), prf(s.pairwise), s.average)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_perfect_clustering_scores_one_and_singletons_score_low() {
        let gold = labels(&["a", "a", "b", "c", "c", "c"]);
        let s = score(&gold, &gold);
        assert_eq!((s.macro_.f1, s.micro.f1, s.pairwise.f1), (1.0, 1.0, 1.0));
        let alone = labels(&["1", "2", "3", "4", "5", "6"]);
        let s = score(&alone, &gold);
        // Macro: every singleton pure (P 1), 1 of 3 gold clusters is one cluster (R 1/3).
        assert!((s.macro_.recall - 1.0 / 3.0).abs() < 1e-9 && s.macro_.precision == 1.0);
        // Micro recall: each gold cluster's best predicted cluster holds one element: 3/6.
        assert!((s.micro.recall - 0.5).abs() < 1e-9);
        assert_eq!(s.pairwise.precision, 0.0, "no predicted pairs");
    }

    #[test]
    fn merging_two_entities_costs_precision_not_recall() {
        let gold = labels(&["a", "a", "b"]);
        let s = score(&labels(&["x", "x", "x"]), &gold);
        assert_eq!(s.macro_.precision, 0.0);
        assert!((s.micro.precision - 2.0 / 3.0).abs() < 1e-9);
        assert!((s.pairwise.precision - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!((s.macro_.recall, s.micro.recall, s.pairwise.recall), (1.0, 1.0, 1.0));
    }

    fn element(line: usize, phrase: &str) -> CesiElement {
        CesiElement { line, phrase: phrase.into(), gold: String::new() }
    }

    #[test]
    fn the_index_links_a_surname_to_its_one_full_name_in_any_order() {
        let elements: Vec<_> = ["Bill Gates", "Gates", "the Gates", "IBM", "International Business Machines", "Paris"]
            .iter()
            .enumerate()
            .map(|(i, p)| element(i + 1, p))
            .collect();
        let forward = cluster(&elements, &(0..elements.len()).collect::<Vec<_>>()).unwrap();
        assert_eq!(forward[0], forward[1]);
        assert_eq!(forward[1], forward[2]);
        assert_eq!(forward[3], forward[4]);
        assert_ne!(forward[0], forward[5]);
        for seed in 1..20 {
            assert_eq!(cluster(&elements, &shuffled(elements.len(), seed)).unwrap(), forward);
        }
    }

    #[test]
    fn shuffled_is_a_permutation() {
        let mut s = shuffled(100, 7);
        assert_ne!(s, (0..100).collect::<Vec<_>>());
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
    }
}
