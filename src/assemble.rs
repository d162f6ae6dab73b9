//! Assemble stage (pure): labelled spans of a sentence -> [`Triple`]s.
//!
//! Takes: the sentence text, its [`LabelledSpan`]s and which label ids are
//! SRC, REL and TGT. Gives: at most one (source, relation, target) triple
//! (the model tags one triple a sentence): the most confident span of each
//! role, with the surface text, char offsets and a confidence (mean of the
//! three spans' confidences).
//! Invariants: a triple has all three roles, each with a non-empty
//! normalised form (see [`crate::iri::normalise`]); offsets index the
//! sentence in chars.

use crate::decode::LabelledSpan;

/// Label ids of the three roles in the model's label list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub outside: usize,
    pub source: usize,
    pub relation: usize,
    pub target: usize,
}

impl Roles {
    /// Finds O, SRC, REL and TGT in a label list.
    pub fn from_labels(labels: &[String]) -> Result<Self, String> {
        let find = |name: &str| {
            labels.iter().position(|l| l == name).ok_or_else(|| format!("label {name} missing from model labels {labels:?}"))
        };
        Ok(Self { outside: find("O")?, source: find("SRC")?, relation: find("REL")?, target: find("TGT")? })
    }
}

/// A span of a sentence playing one role.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Triple {
    pub source: Mention,
    pub relation: Mention,
    pub target: Mention,
    pub confidence: f32,
}

/// The triple of a sentence, if all three roles were tagged.
pub fn assemble(sentence: &str, spans: &[LabelledSpan], roles: Roles) -> Vec<Triple> {
    let chars: Vec<char> = sentence.chars().collect();
    let best = |label: usize| -> Option<Mention> {
        spans
            .iter()
            .filter(|s| s.label == label)
            .filter_map(|s| {
                let text: String = chars.get(s.start..s.end.min(chars.len()))?.iter().collect();
                (!crate::iri::normalise(&text).is_empty()).then_some(Mention { text, start: s.start, end: s.end, confidence: s.confidence })
            })
            .fold(None, |best: Option<Mention>, m| match best {
                Some(b) if b.confidence >= m.confidence => Some(b),
                _ => Some(m),
            })
    };
    match (best(roles.source), best(roles.relation), best(roles.target)) {
        (Some(source), Some(relation), Some(target)) => {
            let confidence = (source.confidence + relation.confidence + target.confidence) / 3.0;
            vec![Triple { source, relation, target, confidence }]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: Roles = Roles { outside: 0, source: 1, relation: 2, target: 3 };

    fn span(label: usize, start: usize, end: usize, confidence: f32) -> LabelledSpan {
        LabelledSpan { label, start, end, confidence, words: 1 }
    }

    #[test]
    fn one_triple_from_the_most_confident_spans() {
        let s = "Marie Curie discovered polonium in Paris";
        let spans = [span(1, 0, 11, 0.9), span(2, 12, 22, 0.8), span(3, 23, 31, 0.7), span(3, 35, 40, 0.6)];
        let t = assemble(s, &spans, ROLES);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].source.text.as_str(), t[0].relation.text.as_str(), t[0].target.text.as_str()), ("Marie Curie", "discovered", "polonium"));
        assert!((t[0].confidence - 0.8).abs() < 1e-6);
    }

    #[test]
    fn missing_role_or_punctuation_only_span_gives_nothing() {
        let s = "It rains , ok";
        assert!(assemble(s, &[span(1, 0, 2, 0.9), span(2, 3, 8, 0.9)], ROLES).is_empty());
        assert!(assemble(s, &[span(1, 0, 2, 0.9), span(2, 3, 8, 0.9), span(3, 9, 10, 0.9)], ROLES).is_empty());
    }

    #[test]
    fn offsets_are_chars_not_bytes() {
        let s = "Zoë likes crème brûlée";
        let t = assemble(s, &[span(1, 0, 3, 0.9), span(2, 4, 9, 0.9), span(3, 10, 22, 0.9)], ROLES);
        assert_eq!(t[0].target.text, "crème brûlée");
    }
}
