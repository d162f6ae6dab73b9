//! The model's tokenizer: sentence text -> token ids with char offsets and
//! word ids, cut into overlapping windows when longer than the model's input
//! (the pipeline's encode stage runs it on worker threads).
//!
//! Takes: a `tokenizer.json` (HF tokenizers) and the model's `max_tokens`.
//! Gives: [`EncodedSentence`] (content tokens, no special tokens) and the
//! [`Window`]s that cover it; [`SentenceEncoder::model_input`] wraps a
//! window in the tokenizer's own special tokens (probed, not assumed).
//! Invariants: windows cover every token; consecutive windows overlap by a
//! quarter of a window, so no token is tagged without context; offsets are
//! char offsets into the sentence text.

use std::path::Path;

use tokenizers::Tokenizer;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot load tokenizer {path}")]
    Load { path: String, source: tokenizers::Error },
    #[error("tokenizer {path}: {problem}")]
    Unsupported { path: String, problem: String },
    #[error("tokenization failed")]
    Tokenize(#[source] tokenizers::Error),
}

/// A sentence as model tokens, special tokens excluded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodedSentence {
    pub ids: Vec<u32>,
    /// Char offsets (start, end) of each token in the sentence text.
    pub offsets: Vec<(usize, usize)>,
    /// Word index of each token (words as the tokenizer's pre-tokenizer cuts them).
    pub word_ids: Vec<u32>,
}

impl EncodedSentence {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A token range `[start, end)` of an [`EncodedSentence`] run as one model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
}

impl Window {
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Tokenizer wrapper; cheap to share across threads (`&self` only).
pub struct SentenceEncoder {
    tokenizer: Tokenizer,
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    /// Content tokens per window (max_tokens minus special tokens).
    window_len: usize,
}

impl SentenceEncoder {
    pub fn load(path: &Path, max_tokens: usize) -> Result<Self, EncodeError> {
        let name = path.display().to_string();
        let load_error = |source| EncodeError::Load { path: name.clone(), source };
        let mut tokenizer = Tokenizer::from_file(path).map_err(load_error)?;
        // kgx pads per batch and windows long inputs itself.
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(load_error)?;
        let (prefix, suffix) = probe_special_tokens(&tokenizer).map_err(load_error)?.ok_or_else(|| EncodeError::Unsupported {
            path: name,
            problem: "cannot find the content tokens inside the post-processed sequence".into(),
        })?;
        let specials = prefix.len() + suffix.len();
        let window_len = max_tokens.saturating_sub(specials).max(4);
        Ok(Self { tokenizer, prefix, suffix, window_len })
    }

    /// Number of special tokens added around every window.
    pub fn special_len(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }

    pub fn window_len(&self) -> usize {
        self.window_len
    }

    pub fn encode(&self, text: &str) -> Result<EncodedSentence, EncodeError> {
        let enc = self.tokenizer.encode_char_offsets(text, false).map_err(EncodeError::Tokenize)?;
        let mut word_ids = Vec::with_capacity(enc.len());
        let mut next_free = enc.get_word_ids().iter().flatten().max().map_or(0, |m| m + 1);
        for w in enc.get_word_ids() {
            word_ids.push(w.unwrap_or_else(|| {
                next_free += 1;
                next_free - 1
            }));
        }
        Ok(EncodedSentence { ids: enc.get_ids().to_vec(), offsets: enc.get_offsets().to_vec(), word_ids })
    }

    /// Windows covering `len` tokens (one window when it fits).
    pub fn windows(&self, len: usize) -> Vec<Window> {
        windows(len, self.window_len)
    }

    /// The model input ids of a window: prefix specials + tokens + suffix specials.
    pub fn model_input(&self, sentence: &EncodedSentence, window: Window, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&sentence.ids[window.start..window.end]);
        out.extend_from_slice(&self.suffix);
    }

    /// The padding token id (`[PAD]`/`<pad>`, else 0; masked out either way).
    pub fn pad_id(&self) -> u32 {
        ["[PAD]", "<pad>"].iter().find_map(|t| self.tokenizer.token_to_id(t)).unwrap_or(0)
    }

    /// Index of the first content token in a model input.
    pub fn content_offset(&self) -> usize {
        self.prefix.len()
    }
}

/// Windows of at most `window_len` tokens, overlapping by a quarter window.
pub fn windows(len: usize, window_len: usize) -> Vec<Window> {
    if len <= window_len {
        return vec![Window { start: 0, end: len }];
    }
    let stride = window_len - window_len / 4;
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + window_len).min(len);
        out.push(Window { start, end });
        if end == len {
            return out;
        }
        start += stride;
    }
}

/// The special token ids before and after a sequence's content.
type SpecialTokens = (Vec<u32>, Vec<u32>);

/// Finds the special tokens the tokenizer's post-processor puts around a
/// single sequence by encoding one word with and without them (None: the
/// word's tokens are not inside the post-processed sequence).
fn probe_special_tokens(tokenizer: &Tokenizer) -> Result<Option<SpecialTokens>, tokenizers::Error> {
    let plain = tokenizer.encode("a", false)?;
    let full = tokenizer.encode("a", true)?;
    let (p, f) = (plain.get_ids(), full.get_ids());
    let at = (0..=f.len().saturating_sub(p.len())).find(|&i| f[i..].starts_with(p));
    Ok(at.filter(|_| !p.is_empty()).map(|i| (f[..i].to_vec(), f[i + p.len()..].to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_one_window() {
        assert_eq!(windows(5, 10), vec![Window { start: 0, end: 5 }]);
        assert_eq!(windows(0, 10), vec![Window { start: 0, end: 0 }]);
    }

    #[test]
    fn long_input_windows_overlap_and_cover_everything() {
        let ws = windows(100, 16);
        assert_eq!(ws.first().unwrap().start, 0);
        assert_eq!(ws.last().unwrap().end, 100);
        for pair in ws.windows(2) {
            assert!(pair[1].start < pair[0].end, "windows must overlap: {pair:?}");
            assert!(pair[0].len() <= 16);
        }
    }
}
