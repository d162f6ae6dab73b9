//! Split stage: document text -> [`Sentence`]s with character offsets.
//!
//! Takes: a document's text. Gives: its sentences in order, each with the
//! char (Unicode scalar) span it covers in the document and its trimmed text.
//! Boundaries come from Unicode's sentence rules (UAX #29, the
//! `unicode-segmentation` crate), which already keep decimals ("3.14"),
//! inner dots ("U.S.") and a dot followed by a lower-case word ("e.g. the")
//! together; on top of that a boundary after a known abbreviation ("Dr.",
//! "Mr.", "U.S.") or a single initial ("J.") is removed, and a single line
//! break (hard-wrapped text) is not a boundary, while a blank line is.
//! Invariants: sentences are non-empty, do not overlap, and
//! `text == doc[start..end]` in chars.

use unicode_segmentation::UnicodeSegmentation;

/// A sentence of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// 0-based position among the document's sentences.
    pub index: usize,
    /// Char offset of the first char in the document.
    pub start: usize,
    /// Char offset one past the last char.
    pub end: usize,
    pub text: String,
}

/// Abbreviations that end with a dot but rarely end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "gen", "col", "lt", "sgt", "capt", "cmdr", "gov", "sen", "rep", "pres",
    "rev", "hon", "messrs", "inc", "ltd", "co", "corp", "bros", "no", "nos", "vol", "vols", "fig", "figs", "eq", "p", "pp", "ch", "sec",
    "art", "vs", "v", "cf", "al", "approx", "dept", "univ", "assn", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "e.g", "i.e", "u.s", "u.k", "u.n", "u.s.a", "a.m", "p.m", "ph.d", "d.c", "n.y",
];

/// Splits a document into sentences (see the module docs for the rules).
pub fn split_sentences(text: &str) -> Vec<Sentence> {
    let segmentation_text = join_wrapped_lines(text);
    let mut pieces: Vec<(usize, usize)> = Vec::new(); // byte ranges
    for (start, piece) in segmentation_text.split_sentence_bound_indices() {
        let end = start + piece.len();
        match pieces.last_mut() {
            Some(last)
                if ends_with_abbreviation(&text[last.0..last.1])
                    && !text[last.1..end].trim().is_empty()
                    && !ends_paragraph(&segmentation_text[last.0..last.1]) =>
            {
                last.1 = end
            }
            _ => pieces.push((start, end)),
        }
    }
    let mut sentences = Vec::new();
    let mut char_pos = 0usize;
    let mut byte_pos = 0usize;
    for (start, end) in pieces {
        char_pos += text[byte_pos..start].chars().count();
        byte_pos = start;
        let piece = &text[start..end];
        let trimmed_start = piece.len() - piece.trim_start().len();
        let trimmed = piece.trim();
        if trimmed.is_empty() {
            continue;
        }
        let s = char_pos + piece[..trimmed_start].chars().count();
        let e = s + trimmed.chars().count();
        sentences.push(Sentence { index: sentences.len(), start: s, end: e, text: trimmed.to_string() });
    }
    sentences
}

/// A single `\n` between two non-blank lines becomes a space (same byte
/// length), so hard-wrapped lines do not end sentences; blank lines stay.
fn join_wrapped_lines(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    for i in 0..bytes.len() {
        if bytes[i] == b'\n' {
            let prev_nl = i > 0 && bytes[i - 1] == b'\n';
            let next_nl = i + 1 < bytes.len() && bytes[i + 1] == b'\n';
            let next_blank = text[i + 1..].lines().next().is_none_or(|l| l.trim().is_empty());
            let prev_blank = text[..i].lines().next_back().is_none_or(|l| l.trim().is_empty());
            if !prev_nl && !next_nl && !next_blank && !prev_blank {
                out[i] = b' ';
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// After line joining, any remaining line break ends a paragraph.
fn ends_paragraph(piece: &str) -> bool {
    piece.trim_end_matches([' ', '\t']).ends_with('\n')
}

/// Whether a sentence piece ends with an abbreviation or a single initial.
fn ends_with_abbreviation(piece: &str) -> bool {
    let trimmed = piece.trim_end();
    let Some(without_dot) = trimmed.strip_suffix('.') else { return false };
    let last_word = without_dot.rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"').next().unwrap_or("");
    if last_word.is_empty() {
        return false;
    }
    let mut chars = last_word.chars();
    let single_initial = matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase());
    single_initial || ABBREVIATIONS.contains(&last_word.to_lowercase().as_str())
}

/// The whole text as one sentence (for line-per-sentence input), trimmed.
pub fn whole_text_sentence(text: &str) -> Vec<Sentence> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    let lead = text[..text.len() - text.trim_start().len()].chars().count();
    vec![Sentence { index: 0, start: lead, end: lead + trimmed.chars().count(), text: trimmed.to_string() }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split_sentences(s).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn keeps_abbreviations_decimals_and_initials_together() {
        assert_eq!(
            texts("Dr. Smith moved to the U.S. Army in 1990. He paid 3.5 dollars, e.g. for tea. J. K. Rowling wrote it."),
            vec!["Dr. Smith moved to the U.S. Army in 1990.", "He paid 3.5 dollars, e.g. for tea.", "J. K. Rowling wrote it."]
        );
    }

    #[test]
    fn offsets_are_char_offsets_into_the_document() {
        let doc = "  Ünïcödé text here. Second one!\n\nThird?";
        for s in split_sentences(doc) {
            let slice: String = doc.chars().skip(s.start).take(s.end - s.start).collect();
            assert_eq!(slice, s.text);
        }
        assert_eq!(split_sentences(doc).len(), 3);
    }

    #[test]
    fn wrapped_lines_join_but_blank_lines_split() {
        assert_eq!(
            texts("A sentence that\nwraps here.\n\nHeading\n\nNext one."),
            vec!["A sentence that\nwraps here.", "Heading", "Next one."]
        );
    }

    #[test]
    fn empty_and_punctuation_only_inputs() {
        assert!(split_sentences("").is_empty());
        assert!(split_sentences(" \n\t ").is_empty());
        assert_eq!(split_sentences("?!...").len(), 1);
    }
}
