//! Decode stage (pure): model logits -> labelled word spans with confidence.
//!
//! Takes: one sentence's [`EncodedSentence`], the logits of each window it
//! was run in, and the number of labels. Gives: [`LabelledSpan`]s: maximal
//! runs of consecutive words with the same non-O label, with char offsets
//! in the sentence and a confidence (mean softmax probability of the label
//! over the span's words).
//! Invariants: a word's label is read from its first sub-token (as the model
//! was trained); where windows overlap, a token takes the window in which it
//! is furthest from an edge; spans never overlap.

use crate::model::{EncodedSentence, Window};

/// Softmax over each row of `labels` values, in place.
pub fn softmax_rows(values: &mut [f32], labels: usize) {
    for row in values.chunks_mut(labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

/// Per-token rows of a sentence from its windows' rows (`window.len() x labels` each).
pub fn merge_windows(tokens: usize, labels: usize, windows: &[(Window, &[f32])]) -> Vec<f32> {
    if let [(w, rows)] = windows {
        if w.start == 0 && w.end == tokens {
            return rows.to_vec();
        }
    }
    let mut out = vec![0.0; tokens * labels];
    let mut best_margin = vec![-1i64; tokens];
    for (w, rows) in windows {
        for t in w.start..w.end {
            let margin = (t - w.start).min(w.end - 1 - t) as i64;
            if margin > best_margin[t] {
                best_margin[t] = margin;
                let r = t - w.start;
                out[t * labels..(t + 1) * labels].copy_from_slice(&rows[r * labels..(r + 1) * labels]);
            }
        }
    }
    out
}

/// The label of one word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordTag {
    pub label: usize,
    pub probability: f32,
    /// Char span of the whole word in the sentence.
    pub start: usize,
    pub end: usize,
}

/// Word tags from per-token probabilities (first sub-token of each word).
pub fn word_tags(sentence: &EncodedSentence, probs: &[f32], labels: usize) -> Vec<WordTag> {
    window_word_tags(sentence, Window { start: 0, end: sentence.len() }, probs, labels)
}

/// Word tags of a window from its rows (`window.len() x labels`; a marked
/// pass's, or the whole sentence's): the words whose first sub-token lies in the window, each with
/// its whole char span. Outside the window every token reads as O, so these
/// are, in order, the non-O words [`word_tags`] would give over the whole
/// sentence, and their spans are the same; the cost is the window's, not
/// the sentence's.
pub fn window_word_tags(sentence: &EncodedSentence, window: Window, rows: &[f32], labels: usize) -> Vec<WordTag> {
    let word_ids = &sentence.word_ids;
    // A word that began before the window is not one of its words.
    let first = (window.start..window.end).find(|&t| t == 0 || word_ids[t] != word_ids[t - 1]).unwrap_or(window.end);
    let mut words: Vec<WordTag> = Vec::new();
    for t in first..window.end {
        let (start, end) = sentence.offsets[t];
        if t > first && word_ids[t] == word_ids[t - 1] {
            if let Some(w) = words.last_mut() {
                w.end = w.end.max(end);
            }
            continue;
        }
        let row = &rows[(t - window.start) * labels..(t - window.start + 1) * labels];
        let (label, &probability) = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap_or((0, &0.0));
        words.push(WordTag { label, probability, start, end });
    }
    // The last word keeps its sub-tokens past the window.
    if let (Some(w), true) = (words.last_mut(), window.end > first) {
        let mut t = window.end;
        while t < word_ids.len() && word_ids[t] == word_ids[window.end - 1] {
            w.end = w.end.max(sentence.offsets[t].1);
            t += 1;
        }
    }
    words
}

/// A run of words with one label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelledSpan {
    pub label: usize,
    /// Char offsets in the sentence, end exclusive.
    pub start: usize,
    pub end: usize,
    /// Mean probability of `label` over the span's words.
    pub confidence: f32,
    pub words: usize,
}

/// Maximal runs of equal non-`outside` labels.
pub fn spans(words: &[WordTag], outside: usize) -> Vec<LabelledSpan> {
    let mut out: Vec<LabelledSpan> = Vec::new();
    let mut prev_label = outside;
    for w in words {
        if w.label == outside {
            prev_label = outside;
            continue;
        }
        match out.last_mut() {
            Some(s) if prev_label == w.label => {
                s.end = w.end;
                s.confidence += w.probability;
                s.words += 1;
            }
            _ => out.push(LabelledSpan { label: w.label, start: w.start, end: w.end, confidence: w.probability, words: 1 }),
        }
        prev_label = w.label;
    }
    for s in &mut out {
        s.confidence /= s.words as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(word_ids: &[u32]) -> EncodedSentence {
        let offsets = (0..word_ids.len()).map(|i| (i * 2, i * 2 + 1)).collect();
        EncodedSentence { ids: vec![0; word_ids.len()], offsets, word_ids: word_ids.to_vec() }
    }

    #[test]
    fn a_windows_words_span_like_the_whole_sentences_with_o_outside() {
        // Words 0 | 1 1 | 2 | 3 3 3 | 4, window over tokens 2..6 (starts inside word 1, ends inside word 3).
        let s = sentence(&[0, 1, 1, 2, 3, 3, 3, 4]);
        let window = Window { start: 2, end: 6 };
        let labels = 2;
        let rows = [0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4];
        // The whole sentence's probabilities with O (label 0) outside the window.
        let mut whole = [1.0, 0.0].repeat(s.len());
        whole[window.start * labels..window.end * labels].copy_from_slice(&rows);
        let expected = spans(&word_tags(&s, &whole, labels), 0);
        let got = spans(&window_word_tags(&s, window, &rows, labels), 0);
        assert_eq!(got, expected);
        assert_eq!(window_word_tags(&s, window, &rows, labels).last().map(|w| w.end), Some(13), "word 3 keeps its last sub-token");
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut v = vec![1.0, 2.0, 3.0, 1000.0, 0.0, -1000.0];
        softmax_rows(&mut v, 3);
        assert!((v[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((v[3] - 1.0).abs() < 1e-6 && v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn word_label_comes_from_first_subtoken() {
        // Two words; word 0 has two sub-tokens whose labels disagree.
        let s = sentence(&[0, 0, 1]);
        let probs = [0.1, 0.9, 0.9, 0.1, 0.8, 0.2];
        let tags = word_tags(&s, &probs, 2);
        assert_eq!(tags.len(), 2);
        assert_eq!((tags[0].label, tags[0].start, tags[0].end), (1, 0, 3));
        assert_eq!(tags[1].label, 0);
    }

    #[test]
    fn spans_are_maximal_runs_with_mean_confidence() {
        let w = |label, p, start| WordTag { label, probability: p, start, end: start + 1 };
        let words = [w(1, 0.8, 0), w(1, 0.6, 2), w(2, 0.9, 4), w(0, 0.9, 6), w(1, 0.5, 8)];
        let s = spans(&words, 0);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].start, s[0].end, s[0].words), (0, 3, 2));
        assert!((s[0].confidence - 0.7).abs() < 1e-6);
        assert_eq!(s[2].start, 8);
    }

    #[test]
    fn overlapping_windows_prefer_central_tokens() {
        let a = [1.0, 1.0, 1.0, 1.0];
        let b = [2.0, 2.0, 2.0, 2.0];
        let ws = [(Window { start: 0, end: 4 }, &a[..]), (Window { start: 2, end: 6 }, &b[..])];
        let merged = merge_windows(6, 1, &ws);
        assert_eq!(merged, vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    }
}
