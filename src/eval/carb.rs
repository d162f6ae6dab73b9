//! CaRB scoring (pure), as the CaRB benchmark scores (Bhardwaj et al.,
//! "CaRB: A Crowdsourced Benchmark for Open IE", EMNLP 2019, and the
//! scorer published with it).
//!
//! Takes: gold tuples and predicted tuples (with confidences) keyed by
//! sentence. Gives: precision, recall and F1 at every confidence threshold,
//! the best F1 over thresholds, and the area under the precision/recall
//! curve.
//! Matching ([`tuple_match`]): both tuples are made binary first (arguments
//! after the first joined into one); parts are compared as whitespace
//! tokens, case-sensitively, by multiset overlap. The relations must share a
//! token (a predicted `be` also matches any form of *be*); a gold tuple with
//! two arguments needs a predicted tuple with two, but the arguments need
//! not overlap. Tuple precision = matched tokens / predicted tokens, tuple
//! recall = matched tokens / gold tokens, over relation and arguments. For a
//! gold relation of saying (`said`, `told`, `adds`, ...) the predicted
//! arguments are also tried swapped and the better pair kept.
//! Aggregation ([`score`]), at each threshold over the predictions with at
//! least that confidence: recall = sum over gold tuples of their best recall
//! against any kept prediction of the sentence / all gold tuples;
//! precision = sum of the tuple precisions of a greedy one-to-one matching
//! of kept predictions to gold tuples (best precision first) / kept
//! predictions (1 when none is kept). So a second prediction that matches
//! an already-matched gold tuple adds nothing to precision.
//! Sentences are matched by text with spaces and ASCII punctuation removed.
//! Invariants: every number is in [0, 1]; sentences without predictions
//! still count their gold tuples; predictions for sentences without gold
//! are not scored.

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

const BE_FORMS: [&str; 8] = ["be", "is", "am", "are", "was", "were", "been", "being"];
const SAYING: [&str; 5] = ["said", "told", "added", "adds", "says"];

/// Matched count of the multiset overlap; `predicted` loses the matched tokens.
fn take_overlap<'a>(gold: &[&'a str], predicted: &mut Vec<&'a str>) -> usize {
    let mut matched = 0;
    for g in gold {
        if let Some(i) = predicted.iter().position(|p| p == g) {
            predicted.remove(i);
            matched += 1;
        }
    }
    matched
}

/// Arguments after the first joined into one.
fn binary_args(args: &[String]) -> Vec<String> {
    match args {
        [first, second, rest @ ..] if !rest.is_empty() => {
            vec![first.clone(), std::iter::once(second).chain(rest).map(String::as_str).collect::<Vec<_>>().join(" ")]
        }
        _ => args.to_vec(),
    }
}

/// (precision, recall) of binary `predicted` args against binary `gold` args; (0, 0) when no match.
fn lenient_match(gold_rel: &str, gold_args: &[String], pred_rel: &str, pred_args: &[String]) -> (f64, f64) {
    let gold_words: Vec<&str> = gold_rel.split_whitespace().collect();
    let mut pred_words: Vec<&str> = pred_rel.split_whitespace().collect();
    let (mut p_den, mut r_den) = (pred_words.len(), gold_words.len());
    let mut matched = take_overlap(&gold_words, &mut pred_words);
    if let Some(i) = pred_words.iter().position(|w| *w == "be") {
        if gold_words.iter().any(|w| BE_FORMS.contains(w)) {
            pred_words.remove(i);
            matched += 1;
        }
    }
    if matched == 0 {
        return (0.0, 0.0);
    }
    let (mut p_num, mut r_num) = (matched, matched);
    for (i, gold_arg) in gold_args.iter().enumerate() {
        let g: Vec<&str> = gold_arg.split_whitespace().collect();
        r_den += g.len();
        let Some(pred_arg) = pred_args.get(i) else {
            if i < 2 {
                return (0.0, 0.0);
            }
            continue;
        };
        let mut p: Vec<&str> = pred_arg.split_whitespace().collect();
        p_den += p.len();
        let m = take_overlap(&g, &mut p);
        p_num += m;
        r_num += m;
    }
    let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    (ratio(p_num, p_den), ratio(r_num, r_den))
}

/// (precision, recall) of a predicted tuple against a gold tuple; (0, 0) when they do not match.
pub fn tuple_match(gold: &OieTuple, predicted: &OieTuple) -> (f64, f64) {
    let (g, p) = (binary_args(&gold.args), binary_args(&predicted.args));
    let straight = lenient_match(&gold.relation, &g, &predicted.relation, &p);
    if !SAYING.iter().any(|s| gold.relation.contains(s)) || p.len() < 2 {
        return straight;
    }
    let swapped = [p[1].clone(), p[0].clone()];
    let reverse = lenient_match(&gold.relation, &g, &predicted.relation, &swapped);
    if reverse.0 > straight.0 || (reverse.0 == straight.0 && reverse.1 > straight.1) {
        reverse
    } else {
        straight
    }
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
    /// The threshold with the best F1 (the lowest such threshold on ties).
    pub best: Point,
    /// Area under the precision/recall curve (trapezoids over recall, from
    /// the point recall 0, precision 1).
    pub auc: f64,
    pub gold_tuples: usize,
    /// Predictions for gold sentences (the scored ones).
    pub predicted_tuples: usize,
    pub sentences: usize,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// A sentence key as CaRB compares them: no spaces, no ASCII punctuation,
/// Penn Treebank bracket escapes undone.
pub fn sentence_key(sentence: &str) -> String {
    let mut s = sentence.replace(' ', "");
    for (bracket, escape) in [("(", "-LRB-"), (")", "-RRB-"), ("[", "-LSB-"), ("]", "-RSB-"), ("{", "-LCB-"), ("}", "-RCB-")] {
        s = s.replace(escape, bracket);
    }
    s.chars().filter(|c| !c.is_ascii_punctuation()).collect()
}

/// Sum of tuple precisions of the greedy one-to-one matching of the `kept`
/// predictions (columns) to gold tuples (rows), best precision first.
fn greedy_precision(scores: &[Vec<(f64, f64)>], kept: &[usize]) -> f64 {
    let (mut rows, mut cols) = (vec![false; scores.len()], Vec::new());
    let mut total = 0.0;
    for _ in 0..scores.len().min(kept.len()) {
        let mut best: Option<(usize, usize, f64)> = None;
        for (i, row) in scores.iter().enumerate().filter(|(i, _)| !rows[*i]) {
            for &j in kept.iter().filter(|j| !cols.contains(*j)) {
                if best.is_none_or(|b| row[j].0 > b.2) {
                    best = Some((i, j, row[j].0));
                }
            }
        }
        let Some((i, j, p)) = best else { break };
        rows[i] = true;
        cols.push(j);
        total += p;
    }
    total
}

/// Scores predictions against gold, both keyed by sentence.
pub fn score(gold: &HashMap<String, Vec<OieTuple>>, predicted: &HashMap<String, Vec<Prediction>>) -> CarbScore {
    let gold_total: usize = gold.values().map(Vec::len).sum();
    let mut by_key: HashMap<String, Vec<&Prediction>> = HashMap::new();
    for (sentence, ps) in predicted {
        by_key.entry(sentence_key(sentence)).or_default().extend(ps);
    }
    let sentences: Vec<(&Vec<OieTuple>, Vec<&Prediction>)> =
        gold.iter().map(|(s, g)| (g, by_key.get(&sentence_key(s)).cloned().unwrap_or_default())).collect();
    // Thresholds, descending; per threshold: precision numerator, kept count, recall numerator.
    let mut thresholds: Vec<f64> = sentences.iter().flat_map(|(_, ps)| ps.iter().map(|p| p.confidence)).collect();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let n = thresholds.len();
    let (mut p_num, mut p_den, mut r_num) = (vec![0.0; n + 1], vec![0usize; n + 1], vec![0.0; n + 1]);
    let index_of = |c: f64| thresholds.partition_point(|t| *t > c);
    for (golds, ps) in &sentences {
        let scores: Vec<Vec<(f64, f64)>> = golds.iter().map(|g| ps.iter().map(|p| tuple_match(g, &p.tuple)).collect()).collect();
        let mut levels: Vec<f64> = ps.iter().map(|p| p.confidence).collect();
        levels.sort_by(|a, b| b.total_cmp(a));
        levels.dedup();
        for (k, &level) in levels.iter().enumerate() {
            let kept: Vec<usize> = (0..ps.len()).filter(|&j| ps[j].confidence >= level).collect();
            let precision = greedy_precision(&scores, &kept);
            let recall: f64 = scores.iter().map(|row| kept.iter().map(|&j| row[j].1).fold(0.0, f64::max)).sum();
            // Thresholds in (next lower level, level] keep exactly these predictions.
            let (from, to) = (index_of(level), levels.get(k + 1).map_or(n, |&next| index_of(next)));
            for (a, b) in [(from, 1.0), (to, -1.0)] {
                p_num[a] += b * precision;
                r_num[a] += b * recall;
            }
            p_den[from] += kept.len();
            p_den[to] -= kept.len();
        }
    }
    let mut curve = Vec::with_capacity(n);
    let (mut pn, mut pd, mut rn) = (0.0, 0usize, 0.0);
    for (i, &threshold) in thresholds.iter().enumerate() {
        (pn, pd, rn) = (pn + p_num[i], pd + p_den[i], rn + r_num[i]);
        let precision = if pd == 0 { 1.0 } else { (pn / pd as f64).clamp(0.0, 1.0) };
        let recall = if gold_total == 0 { 0.0 } else { (rn / gold_total as f64).clamp(0.0, 1.0) };
        curve.push(Point { threshold, precision, recall, f1: f1(precision, recall) });
    }
    let best = curve.iter().copied().fold(Point::default(), |b, p| if p.f1 >= b.f1 && p.f1 > 0.0 { p } else { b });
    let all = curve.last().copied().unwrap_or_default();
    let mut auc = 0.0;
    let (mut last_r, mut last_p) = (0.0, 1.0);
    for p in &curve {
        auc += (p.recall - last_r) * (p.precision + last_p) / 2.0;
        last_r = p.recall;
        last_p = p.precision;
    }
    let predicted_tuples = sentences.iter().map(|(_, ps)| ps.len()).sum();
    CarbScore { all, best, auc, gold_tuples: gold_total, predicted_tuples, sentences: gold.len() }
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
        assert_eq!(tuple_match(&g, &g), (1.0, 1.0));
    }

    #[test]
    fn partial_match_counts_tokens() {
        // gold: 1 + 2 + 3 = 6 tokens; predicted: 2 + 1 + 2 = 5 tokens; matched 1 + 1 + 2 = 4.
        let g = t("discovered", &["Marie Curie", "the element polonium"]);
        let p = t("discovered in", &["Curie", "element polonium"]);
        let (prec, rec) = tuple_match(&g, &p);
        assert!((prec - 4.0 / 5.0).abs() < 1e-12 && (rec - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn no_shared_relation_token_or_missing_arg2_is_no_match() {
        let g = t("discovered", &["Marie Curie", "polonium"]);
        assert_eq!(tuple_match(&g, &t("found", &["Marie Curie", "polonium"])), (0.0, 0.0));
        assert_eq!(tuple_match(&g, &t("discovered", &["Marie"])), (0.0, 0.0), "arg2 missing");
        // Arguments need not overlap: relation 1/1, arg1 0 of 1 (gold 2), arg2 1/1.
        assert_eq!(tuple_match(&g, &t("discovered", &["Pierre", "polonium"])), (2.0 / 3.0, 2.0 / 4.0));
    }

    #[test]
    fn matching_is_case_sensitive_and_be_matches_its_forms() {
        let g = t("was", &["Paris", "the capital"]);
        assert_eq!(tuple_match(&g, &t("be", &["Paris", "the capital"])), (1.0, 1.0));
        assert_eq!(tuple_match(&g, &t("Was", &["Paris", "the capital"])), (0.0, 0.0));
    }

    #[test]
    fn arguments_of_saying_relations_are_also_tried_swapped() {
        let g = t("said", &["the minister", "taxes will rise"]);
        assert_eq!(tuple_match(&g, &t("said", &["taxes will rise", "the minister"])), (1.0, 1.0));
        let g = t("ate", &["the minister", "lunch"]);
        assert_eq!(tuple_match(&g, &t("ate", &["lunch", "the minister"])), (1.0 / 4.0, 1.0 / 4.0));
    }

    #[test]
    fn extra_gold_arguments_lower_recall_only() {
        // Arguments after the first are joined: gold arg2 is "in Paris in 1900".
        let g = t("born", &["He", "in Paris", "in 1900"]);
        assert_eq!(tuple_match(&g, &t("born", &["He", "in Paris"])), (1.0, 4.0 / 6.0));
        assert_eq!(tuple_match(&g, &t("born", &["He", "in Paris", "in 1900"])), (1.0, 1.0));
    }

    #[test]
    fn a_second_prediction_of_the_same_gold_tuple_adds_no_precision() {
        let gold = HashMap::from([("s".to_string(), vec![t("likes", &["A", "B"])])]);
        let p = |c| Prediction { tuple: t("likes", &["A", "B"]), confidence: c };
        let s = score(&gold, &HashMap::from([("s".to_string(), vec![p(0.9), p(0.5)])]));
        assert_eq!((s.best.precision, s.best.recall, s.best.threshold), (1.0, 1.0, 0.9));
        assert_eq!((s.all.precision, s.all.recall), (0.5, 1.0));
    }

    #[test]
    fn sentences_match_without_spaces_punctuation_or_bracket_escapes() {
        assert_eq!(sentence_key("He ( 1900 ) said , `` yes ''."), sentence_key("He -LRB- 1900 -RRB- said, yes"));
        let gold = HashMap::from([("He said , yes .".to_string(), vec![t("said", &["He", "yes"])])]);
        let p = Prediction { tuple: t("said", &["He", "yes"]), confidence: 1.0 };
        let s = score(&gold, &HashMap::from([("He said, yes.".to_string(), vec![p])]));
        assert_eq!(s.all.f1, 1.0);
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
        let (prec, _) = tuple_match(&g, &t("is", &["the the the", "x"]));
        // predicted 1 + 3 + 1 = 5 tokens, matched 1 + 2 + 1 = 4
        assert!((prec - 0.8).abs() < 1e-12);
    }
}
