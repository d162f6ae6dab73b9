//! Predicate-indexed tagging (pure): the second pass of models whose
//! manifest says `"scheme": "predicate"`, which yield several triples a
//! sentence.
//!
//! Such a model is run twice. Unmarked (every token type 0), it tags the
//! head word of every predicate REL. Then once per head with that head's
//! sub-tokens marked (token type 1), it tags the SRC, REL and TGT of that
//! predicate alone.
//! Takes: a sentence's [`EncodedSentence`], its windows and the per-token
//! probabilities of the unmarked pass; later, those of each marked pass.
//! Gives: [`Head`]s, the window each head is run in, and the per-token
//! probabilities of a marked pass spread over the whole sentence.
//! Invariants: a head's token range lies inside its window; tokens outside
//! a marked pass's window read as O.

use std::ops::Range;

use crate::model::{EncodedSentence, Window};

/// A predicate head found by the unmarked pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// Token range of the head word in the encoded sentence.
    pub tokens: Range<usize>,
    /// Char span of the head word in the sentence.
    pub start: usize,
    pub end: usize,
    /// Probability of REL on the head word in the unmarked pass.
    pub confidence: f32,
}

/// Token range of every word, in word order (as [`super::decode::word_tags`] groups them).
fn word_token_ranges(sentence: &EncodedSentence) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (t, &word) in sentence.word_ids.iter().enumerate() {
        match out.last_mut() {
            Some(r) if t > 0 && sentence.word_ids[t - 1] == word => r.end = t + 1,
            _ => out.push(t..t + 1),
        }
    }
    out
}

/// The head words of the unmarked pass, in sentence order: words whose
/// first sub-token has `relation` as its most probable label, or, with
/// `threshold`, a `relation` probability of at least `threshold`.
pub fn heads(sentence: &EncodedSentence, probs: &[f32], labels: usize, relation: usize, threshold: Option<f32>) -> Vec<Head> {
    word_token_ranges(sentence)
        .into_iter()
        .filter_map(|tokens| {
            let row = &probs[tokens.start * labels..(tokens.start + 1) * labels];
            let p = row[relation];
            let is_head = match threshold {
                Some(t) => p >= t,
                None => row.iter().enumerate().all(|(l, &q)| l == relation || q < p),
            };
            let start = sentence.offsets[tokens.start].0;
            let end = tokens.clone().map(|t| sentence.offsets[t].1).max().unwrap_or(start);
            is_head.then_some(Head { tokens, start, end, confidence: p })
        })
        .collect()
}

/// The window that holds all of `tokens` furthest from its edges.
pub fn window_for(windows: &[Window], tokens: &Range<usize>) -> Option<Window> {
    windows
        .iter()
        .filter(|w| w.start <= tokens.start && tokens.end <= w.end)
        .max_by_key(|w| (tokens.start - w.start).min(w.end - tokens.end))
        .copied()
}

/// Per-token probabilities of the whole sentence from one marked pass
/// (`window.len() x labels` rows); tokens outside the window read as `outside`.
pub fn spread(tokens: usize, labels: usize, outside: usize, window: Window, rows: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; tokens * labels];
    for t in 0..tokens {
        let row = &mut out[t * labels..(t + 1) * labels];
        if (window.start..window.end).contains(&t) {
            let r = t - window.start;
            row.copy_from_slice(&rows[r * labels..(r + 1) * labels]);
        } else {
            row[outside] = 1.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(word_ids: &[u32]) -> EncodedSentence {
        let offsets = word_ids.iter().map(|&w| (w as usize * 4, w as usize * 4 + 3)).collect();
        EncodedSentence { ids: vec![5; word_ids.len()], offsets, word_ids: word_ids.to_vec() }
    }

    #[test]
    fn heads_are_the_rel_words_with_all_their_sub_tokens() {
        // words: 0 | 1 (two sub-tokens) | 2 ; labels O, SRC, REL, TGT
        let s = sentence(&[0, 1, 1, 2]);
        let probs = [0.6, 0.0, 0.4, 0.0, 0.1, 0.0, 0.8, 0.1, 0.0, 0.0, 0.0, 1.0, 0.2, 0.0, 0.7, 0.1];
        let h = heads(&s, &probs, 4, 2, None);
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].tokens.clone(), h[0].start, h[0].end, h[0].confidence), (1..3, 4, 7, 0.8));
        assert_eq!(h[1].tokens, 3..4);
        // A threshold below the argmax also takes word 0 (REL 0.4 < O 0.6).
        let h = heads(&s, &probs, 4, 2, Some(0.3));
        assert_eq!(h.iter().map(|h| h.start).collect::<Vec<_>>(), vec![0, 4, 8]);
    }

    #[test]
    fn the_window_with_most_context_holds_the_head() {
        let windows = [Window { start: 0, end: 10 }, Window { start: 5, end: 15 }, Window { start: 10, end: 20 }];
        assert_eq!(window_for(&windows, &(8..9)), Some(Window { start: 5, end: 15 }));
        assert_eq!(window_for(&windows, &(2..3)), Some(Window { start: 0, end: 10 }));
        assert_eq!(window_for(&windows, &(25..26)), None);
    }

    #[test]
    fn tokens_outside_the_window_read_as_outside() {
        let p = spread(3, 2, 0, Window { start: 1, end: 2 }, &[0.3, 0.7]);
        assert_eq!(p, vec![1.0, 0.0, 0.3, 0.7, 1.0, 0.0]);
    }
}
