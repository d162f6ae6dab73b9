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
//! Gives: [`Head`]s and the window each head is run in (a marked pass is
//! decoded in its window: [`super::decode::window_word_tags`]).
//! Invariants: a head's token range lies inside its window; tokens outside
//! a marked pass's window read as O; in a sentence of one model window a
//! marked pass covers the whole sentence, in a longer one the
//! [`MARKED_WINDOW`] tokens centred on its head ([`centred`]), so a run-on
//! line costs per word what ordinary sentences cost.

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

/// Content tokens of a marked pass in a sentence longer than one model
/// window: the head with about this much context, centred on it. Measured
/// on the bench: a marked pass costs its length (and attention its square),
/// so over a whole 256-token window a run-on line cost 30 times what
/// ordinary sentences cost a word.
pub const MARKED_WINDOW: usize = 48;

/// The window of at most `len` tokens inside `outer` centred on `head`
/// (shifted to stay inside `outer`; never cutting the head).
pub fn centred(outer: Window, head: &Range<usize>, len: usize) -> Window {
    if outer.len() <= len {
        return outer;
    }
    let len = len.max(head.len());
    let middle = (head.start + head.end) / 2;
    let start = middle.saturating_sub(len / 2).clamp(outer.start, outer.end - len);
    let start = start.min(head.start).max(head.end.saturating_sub(len));
    Window { start, end: start + len }
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
    fn a_centred_window_holds_the_head_and_stays_inside_its_window() {
        let outer = Window { start: 100, end: 356 };
        assert_eq!(centred(outer, &(200..201), 64), Window { start: 168, end: 232 });
        assert_eq!(centred(outer, &(200..201), MARKED_WINDOW).len(), MARKED_WINDOW);
        assert_eq!(centred(outer, &(102..104), 64), Window { start: 100, end: 164 }, "near the start");
        assert_eq!(centred(outer, &(354..356), 64), Window { start: 292, end: 356 }, "near the end");
        assert_eq!(centred(Window { start: 0, end: 40 }, &(5..6), 64), Window { start: 0, end: 40 }, "short: unchanged");
        let w = centred(outer, &(150..230), 64);
        assert!(w.start <= 150 && 230 <= w.end, "a head longer than the window is kept whole: {w:?}");
    }
}
