//! CaRB scoring (pure), written from the definitions of Bhardwaj et al.,
//! "CaRB: A Crowdsourced Benchmark for Open IE", EMNLP 2019.
//!
//! Takes: gold tuples and predicted tuples (with confidences) grouped by
//! sentence. Gives: precision, recall and F1 at every confidence threshold,
//! the best F1 over thresholds, and the area under the precision/recall
//! curve.
//! Definitions: parts are compared as lower-cased whitespace tokens
//! (multiset overlap). A predicted tuple *matches* a gold tuple when the
//! relations share a token and so do the first two arguments (an argument
//! the gold tuple lacks is not required). For a matching pair, the tuple
//! precision is matched tokens / predicted tokens and the tuple recall is
//! matched tokens / gold tokens, summed over the parts. Precision of a set
//! of predictions = mean over predicted tuples of their best precision
//! against any gold tuple of the sentence (several predictions may match
//! one gold tuple); recall = mean over *all* gold tuples of their best
//! recall against any prediction. Invariants: every number is in [0, 1];
//! sentences without predictions still count their gold tuples.

use std::collections::HashMap;

/// An Open IE tuple: relation, then arguments (arg1, arg2, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct OieTuple {
    pub relation: String,
    pub args: Vec<String>,
}

/// A predicted tuple with its confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub tuple: OieTuple,
    pub confidence: f64,
}

fn tokens(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_lowercase).collect()
}

/// Size of the multiset intersection of two token lists.
fn overlap(a: &[String], b: &[String]) -> usize {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in b {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    a.iter()
        .filter(|t| match counts.get_mut(t.as_str()) {
            Some(c) if *c > 0 => {
                *c -= 1;
                true
            }
            _ => false,
        })
        .count()
}

/// (precision, recall) of a predicted tuple against a gold tuple, or None when they do not match.
pub fn tuple_match(gold: &OieTuple, predicted: &OieTuple) -> Option<(f64, f64)> {
    let (gr, pr) = (tokens(&gold.relation), tokens(&predicted.relation));
    let mut matched = overlap(&pr, &gr);
    if matched == 0 {
        return None;
    }
    let (mut predicted_tokens, mut gold_tokens) = (pr.len(), gr.len());
    for (i, gold_arg) in gold.args.iter().enumerate() {
        let g = tokens(gold_arg);
        gold_tokens += g.len();
        let Some(pred_arg) = predicted.args.get(i) else {
            if i < 2 {
                return None;
            }
            continue;
        };
        let p = tokens(pred_arg);
        predicted_tokens += p.len();
        let m = overlap(&p, &g);
        if m == 0 && i < 2 {
            return None;
        }
        matched += m;
    }
    for extra in predicted.args.iter().skip(gold.args.len()) {
        predicted_tokens += tokens(extra).len();
    }
    Some((matched as f64 / predicted_tokens.max(1) as f64, matched as f64 / gold_tokens.max(1) as f64))
}

/// Scores at one operating point.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// The CaRB report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CarbScore {
    /// All predictions kept (the lowest threshold).
    pub all: Point,
    /// The threshold with the best F1.
    pub best: Point,
    /// Area under the precision/recall curve (trapezoids over recall, from recall 0).
    pub auc: f64,
    pub gold_tuples: usize,
    pub predicted_tuples: usize,
    pub sentences: usize,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// Scores predictions against gold, both keyed by sentence.
pub fn score(gold: &HashMap<String, Vec<OieTuple>>, predicted: &HashMap<String, Vec<Prediction>>) -> CarbScore {
    let gold_total: usize = gold.values().map(Vec::len).sum();
    // Per prediction: (confidence, best precision); per gold tuple: its recall against each prediction.
    let mut preds: Vec<(f64, f64)> = Vec::new();
    let mut gold_recalls: Vec<Vec<(f64, f64)>> = Vec::new(); // per gold tuple: (confidence, recall) of matching predictions
    for (sentence, golds) in gold {
        let ps = predicted.get(sentence).map(Vec::as_slice).unwrap_or(&[]);
        let mut per_gold: Vec<Vec<(f64, f64)>> = vec![Vec::new(); golds.len()];
        for p in ps {
            let mut best_precision = 0.0f64;
            for (gi, g) in golds.iter().enumerate() {
                if let Some((prec, rec)) = tuple_match(g, &p.tuple) {
                    best_precision = best_precision.max(prec);
                    per_gold[gi].push((p.confidence, rec));
                }
            }
            preds.push((p.confidence, best_precision));
        }
        gold_recalls.extend(per_gold);
    }
    // Predictions for sentences without gold count as wrong.
    for (sentence, ps) in predicted {
        if !gold.contains_key(sentence) {
            preds.extend(ps.iter().map(|p| (p.confidence, 0.0)));
        }
    }
    let mut thresholds: Vec<f64> = preds.iter().map(|p| p.0).collect();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let point = |t: f64| -> Point {
        let kept: Vec<&(f64, f64)> = preds.iter().filter(|p| p.0 >= t).collect();
        let precision = if kept.is_empty() { 0.0 } else { kept.iter().map(|p| p.1).sum::<f64>() / kept.len() as f64 };
        let recall_sum: f64 = gold_recalls.iter().map(|rs| rs.iter().filter(|r| r.0 >= t).map(|r| r.1).fold(0.0, f64::max)).sum();
        let recall = if gold_total == 0 { 0.0 } else { recall_sum / gold_total as f64 };
        Point { threshold: t, precision, recall, f1: f1(precision, recall) }
    };
    let curve: Vec<Point> = thresholds.iter().map(|&t| point(t)).collect();
    let best = curve.iter().copied().fold(Point::default(), |b, p| if p.f1 > b.f1 { p } else { b });
    let all = curve.last().copied().unwrap_or_default();
    let mut auc = 0.0;
    let (mut last_r, mut last_p) = (0.0, curve.first().map_or(0.0, |p| p.precision));
    for p in &curve {
        auc += (p.recall - last_r) * (p.precision + last_p) / 2.0;
        last_r = p.recall;
        last_p = p.precision;
    }
    CarbScore { all, best, auc, gold_tuples: gold_total, predicted_tuples: preds.len(), sentences: gold.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rel: &str, args: &[&str]) -> OieTuple {
        OieTuple { relation: rel.into(), args: args.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn exact_match_is_one_one() {
        let g = t("discovered", &["Marie Curie", "polonium"]);
        assert_eq!(tuple_match(&g, &g), Some((1.0, 1.0)));
    }

    #[test]
    fn partial_match_counts_tokens() {
        // gold: 1 + 2 + 3 = 6 tokens; predicted: 2 + 1 + 2 = 5 tokens; matched 1 + 1 + 2 = 4.
        let g = t("discovered", &["Marie Curie", "the element polonium"]);
        let p = t("discovered in", &["Curie", "element polonium"]);
        let (prec, rec) = tuple_match(&g, &p).unwrap();
        assert!((prec - 4.0 / 5.0).abs() < 1e-12 && (rec - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn no_shared_token_in_relation_or_first_args_is_no_match() {
        let g = t("discovered", &["Marie Curie", "polonium"]);
        assert_eq!(tuple_match(&g, &t("found", &["Marie Curie", "polonium"])), None);
        assert_eq!(tuple_match(&g, &t("discovered", &["Pierre", "polonium"])), None);
        assert_eq!(tuple_match(&g, &t("discovered", &["Marie"])), None, "arg2 missing");
    }

    #[test]
    fn extra_gold_arguments_lower_recall_only() {
        let g = t("born", &["He", "in Paris", "in 1900"]);
        let (prec, rec) = tuple_match(&g, &t("born", &["He", "in Paris"])).unwrap();
        assert_eq!((prec, rec), (1.0, 4.0 / 6.0));
    }

    #[test]
    fn corpus_scores_by_hand() {
        // Sentence s1: two gold tuples; predictions: one exact (0.9), one wrong (0.4).
        // Sentence s2: one gold tuple, no prediction.
        let gold = HashMap::from([
            ("s1".to_string(), vec![t("likes", &["A", "B"]), t("hates", &["A", "C"])]),
            ("s2".to_string(), vec![t("eats", &["X", "Y"])]),
        ]);
        let predicted = HashMap::from([(
            "s1".to_string(),
            vec![
                Prediction { tuple: t("likes", &["A", "B"]), confidence: 0.9 },
                Prediction { tuple: t("sees", &["A", "D"]), confidence: 0.4 },
            ],
        )]);
        let s = score(&gold, &predicted);
        // Threshold 0.9: P = 1/1, R = 1/3. Threshold 0.4: P = (1 + 0)/2, R = 1/3.
        assert_eq!(s.best, Point { threshold: 0.9, precision: 1.0, recall: 1.0 / 3.0, f1: 0.5 });
        assert_eq!((s.all.precision, s.all.recall), (0.5, 1.0 / 3.0));
        // Curve: (R 0, P 1) -> (1/3, 1) -> (1/3, 0.5): area 1/3.
        assert!((s.auc - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((s.gold_tuples, s.predicted_tuples), (3, 2));
    }

    #[test]
    fn multiset_overlap_does_not_double_count() {
        let g = t("is", &["the the", "x"]);
        let (prec, _) = tuple_match(&g, &t("is", &["the the the", "x"])).unwrap();
        // predicted 1 + 3 + 1 = 5 tokens, matched 1 + 2 + 1 = 4
        assert!((prec - 0.8).abs() < 1e-12);
    }
}
