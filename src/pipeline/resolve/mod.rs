//! Resolve stage: a document's text -> its entities, and what each triple
//! argument stands for.
//!
//! Takes: a document's text, its sentences' offsets and, when one is
//! loaded, a [`CorefScorer`]. Gives: the document's [`DocumentEntities`]
//! (its names grouped into entities, pronouns linked to the name they refer
//! to), which say the [`ArgumentEntity`] of any span of the text
//! ([`DocumentEntities::argument`]; the chunk stage sets it on every triple).
//! How: [`mentions`] finds names and pronouns in the text; the model scores
//! every name of a window as the antecedent of each he/she pronoun in it
//! (windows of the model's token budget overlapping by a quarter; a
//! pronoun is scored in the first window that holds it, so with the most
//! text before it), and a pronoun links to the best name when that beats
//! the window's `[CLS]` ("none of these"); a name that starts with a first
//! name of the other gender is not scored ([`name_genders`]); [`entities`]
//! groups the rest.
//! Invariants: pure given the model's vectors (same document, same
//! result, whatever else is in the run); it, they and I/we/you are never
//! linked (the model was trained on he/she only), so they stay unresolved;
//! without a model no pronoun is linked.

pub mod entities;
pub mod mentions;

pub use entities::{group_names, ArgumentEntity, DocumentEntities, Entity};
pub use mentions::{find_mentions, Gender, Mention, MentionKind, PronounKind, TITLES};

use crate::model::{CorefScorer, EncodeError, TaggerError};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("the coreference model failed")]
    Model(#[from] TaggerError),
}

/// A document's mentions grouped into entities, pronouns linked by `scorer`
/// (none without one); `sentence_starts` are the char offsets of its sentences.
pub fn resolve(text: &str, sentence_starts: &[usize], scorer: Option<&dyn CorefScorer>) -> Result<DocumentEntities, ResolveError> {
    let chars: Vec<char> = text.chars().collect();
    let mentions = find_mentions(&chars, sentence_starts);
    let groups = group_names(&mentions);
    let links = match scorer {
        Some(scorer) => link_pronouns(text, &mentions, &groups, scorer)?,
        None => vec![None; mentions.len()],
    };
    Ok(DocumentEntities::new(mentions, &groups, &links))
}

/// log(e^a + e^b), for scores that may be -inf.
fn log_add(a: f32, b: f32) -> f32 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f32::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

/// Token indices (into `offsets`) overlapping chars [start, end).
fn tokens_of(offsets: &[(usize, usize)], start: usize, end: usize) -> std::ops::Range<usize> {
    let first = offsets.partition_point(|&(_, e)| e <= start);
    let last = offsets.partition_point(|&(s, _)| s < end);
    first..last.max(first)
}

/// Each mention's gender where it is a name of two or more words whose
/// first word `gender_of` knows ("Anna Berg"); a single word ("Berg",
/// "Lee") tells none, since a surname is shared by a family.
pub fn name_genders(mentions: &[Mention], gender_of: impl Fn(&str) -> Option<Gender>) -> Vec<Option<Gender>> {
    mentions
        .iter()
        .map(|m| {
            let mut words = m.text.split_whitespace();
            match (m.kind, words.next(), words.next()) {
                (MentionKind::Name, Some(first), Some(_)) => gender_of(first),
                _ => None,
            }
        })
        .collect()
}

/// The gender of a he/she pronoun (None for any other mention).
fn personal_gender(m: &Mention) -> Option<Gender> {
    match m.kind {
        MentionKind::Pronoun(PronounKind::Personal(gender)) => Some(gender),
        _ => None,
    }
}

/// For each mention, the name mention a he/she pronoun refers to.
fn link_pronouns(text: &str, mentions: &[Mention], groups: &[usize], scorer: &dyn CorefScorer) -> Result<Vec<Option<usize>>, ResolveError> {
    let mut links = vec![None; mentions.len()];
    let is_personal = |m: &Mention| personal_gender(m).is_some();
    if !mentions.iter().any(is_personal) || !mentions.iter().any(|m| m.kind == MentionKind::Name) {
        return Ok(links);
    }
    let encoder = scorer.encoder();
    let encoded = encoder.encode(text)?;
    let spans: Vec<std::ops::Range<usize>> = mentions.iter().map(|m| tokens_of(&encoded.offsets, m.start, m.end)).collect();
    let genders = name_genders(mentions, |first| scorer.first_name_gender(first));
    let mut done = vec![false; mentions.len()];
    let mut ids = Vec::new();
    for window in encoder.windows(encoded.len()) {
        let inside = |r: &std::ops::Range<usize>| !r.is_empty() && r.start >= window.start && r.end <= window.end;
        let pronouns: Vec<usize> = (0..mentions.len()).filter(|&i| !done[i] && is_personal(&mentions[i]) && inside(&spans[i])).collect();
        let names: Vec<usize> = (0..mentions.len()).filter(|&i| mentions[i].kind == MentionKind::Name && inside(&spans[i])).collect();
        if pronouns.is_empty() || names.is_empty() {
            continue;
        }
        encoder.model_input(&encoded, window, &mut ids);
        let vectors = scorer.vectors(&ids)?;
        let column = |token: usize| token - window.start + encoder.content_offset();
        for p in pronouns {
            done[p] = true;
            let gender = personal_gender(&mentions[p]);
            let at = column(spans[p].start);
            // An entity's score sums over the tokens of all its names in the
            // window (the model was trained so: any token of any mention of
            // the antecedent counts).
            let mut by_group: Vec<(usize, f32, usize)> = Vec::new();
            // A name of the other gender ("Anna Berg" for "he") is no antecedent; its entity
            // still is through its other names (a surname alone tells no gender).
            for &n in names.iter().filter(|&&n| genders[n].is_none() || genders[n] == gender) {
                let total = spans[n].clone().map(|t| vectors.score(at, column(t))).fold(f32::NEG_INFINITY, log_add);
                match by_group.iter_mut().find(|(g, ..)| *g == groups[n]) {
                    Some(entry) => entry.1 = log_add(entry.1, total),
                    None => by_group.push((groups[n], total, n)),
                }
            }
            let none = vectors.score(at, 0) + scorer.none_margin();
            links[p] = by_group.iter().filter(|(_, score, _)| *score > none).max_by(|a, b| a.1.total_cmp(&b.1)).map(|(.., n)| *n);
        }
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_span_are_those_overlapping_it() {
        let offsets = [(0, 3), (4, 7), (7, 9), (10, 12)];
        assert_eq!(tokens_of(&offsets, 4, 9), 1..3);
        assert_eq!(tokens_of(&offsets, 5, 6), 1..2);
        assert_eq!(tokens_of(&offsets, 9, 10), 3..3);
    }

    #[test]
    fn a_full_name_tells_its_first_names_gender_and_a_single_word_none() {
        let chars: Vec<char> = "Anna Berg met Tom Lee. Berg said he left. Max Weber ran.".chars().collect();
        let mentions = find_mentions(&chars, &[0, 22, 41]);
        let gender_of = |first: &str| match first {
            "Anna" => Some(Gender::Feminine),
            "Tom" | "Max" => Some(Gender::Masculine),
            _ => None,
        };
        let genders = name_genders(&mentions, gender_of);
        let of = |text: &str| genders[mentions.iter().position(|m| m.text == text).unwrap()];
        assert_eq!(of("Anna Berg"), Some(Gender::Feminine));
        assert_eq!(of("Tom Lee"), Some(Gender::Masculine));
        assert_eq!(of("Max Weber"), Some(Gender::Masculine));
        assert_eq!(of("Berg"), None, "a surname alone tells no gender");
        assert_eq!(of("he"), None, "a pronoun is no name");
    }
}
