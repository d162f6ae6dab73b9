//! Assemble stage (pure): labelled spans of a sentence -> [`Triple`]s.
//!
//! Takes: the sentence text, its [`LabelledSpan`]s and which label ids are
//! SRC, REL and TGT (for predicate-indexed models: the spans of one marked
//! pass and its [`Head`]). Gives: at most one (source, relation, target)
//! triple a pass: the most confident span of each role, with the surface
//! text, char offsets and a confidence (mean of the three spans'
//! confidences; times the head's for a marked pass).
//! A preposition that opens the target right after the relation moves into
//! the relation ("relocates to" + "Florida"); then the relation is
//! normalised ([`super::relation`]).
//! Invariants: a triple has all three roles, each with a non-empty
//! normalised form (see [`crate::iri::normalise`]); offsets index the
//! sentence in chars.

use super::decode::LabelledSpan;
use super::predicates::Head;
use super::relation::{normalise_relation, text_before, RelationForm};
use super::resolve::ArgumentEntity;
use crate::model::Roles;

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
    /// The relation the relation mention names (lemma, voice, negation, modality).
    pub form: RelationForm,
    /// What the source and target stand for in the graph (set by the
    /// resolve stage; until then, a node named by their text).
    pub source_entity: ArgumentEntity,
    pub target_entity: ArgumentEntity,
}

impl Triple {
    /// The triple of three mentions of `chars`: a preposition opening the
    /// target joins the relation, then the relation is normalised.
    fn new(chars: &[char], source: Mention, relation: Mention, target: Mention, confidence: f32) -> Self {
        let (source_entity, target_entity) = (ArgumentEntity::Shared(source.text.clone()), ArgumentEntity::Shared(target.text.clone()));
        let mut triple = Triple { source, relation, target, confidence, form: RelationForm::default(), source_entity, target_entity };
        attach_preposition(chars, &mut triple);
        triple.form = normalise_relation(&text_before(chars, triple.relation.start), &triple.relation.text);
        // A passive's roles are inverted only as they stand in the sentence
        // (subject, then "was directed by", then the agent): a tagger that
        // already tagged the agent SRC gave the active roles.
        let (source, relation, target) = (&triple.source, &triple.relation, &triple.target);
        triple.form.inverted &= source.end <= relation.start && relation.end <= target.start;
        triple
    }
}

/// Prepositions that move from the start of a target into the relation.
const PREPOSITIONS: [&str; 41] = [
    "about",
    "above",
    "across",
    "after",
    "against",
    "along",
    "among",
    "around",
    "as",
    "at",
    "before",
    "behind",
    "below",
    "beneath",
    "beside",
    "between",
    "beyond",
    "by",
    "during",
    "for",
    "from",
    "in",
    "into",
    "near",
    "of",
    "off",
    "on",
    "onto",
    "over",
    "since",
    "through",
    "throughout",
    "to",
    "toward",
    "towards",
    "under",
    "until",
    "upon",
    "with",
    "within",
    "without",
];

/// (she, relocates, to Florida) -> (she, relocates to, Florida): a
/// preposition opening the target right after the relation joins the
/// relation, the way Open IE relations are written ("lives in", "born on")
/// and so that the target is the entity. Only when nothing but whitespace
/// separates them (the relation stays one span of the sentence) and the
/// target keeps a usable rest.
fn attach_preposition(chars: &[char], t: &mut Triple) {
    let (rel_end, tgt_start, tgt_end) = (t.relation.end, t.target.start, t.target.end.min(chars.len()));
    if tgt_start < rel_end || !chars[rel_end..tgt_start].iter().all(|c| c.is_whitespace()) {
        return;
    }
    let word_end = (tgt_start..tgt_end).find(|&i| chars[i].is_whitespace()).unwrap_or(tgt_end);
    let word: String = chars[tgt_start..word_end].iter().collect::<String>().to_lowercase();
    let rest_start = (word_end..tgt_end).find(|&i| !chars[i].is_whitespace()).unwrap_or(tgt_end);
    let rest: String = chars[rest_start..tgt_end].iter().collect();
    if !PREPOSITIONS.contains(&word.as_str()) || crate::iri::normalise(&rest).is_empty() {
        return;
    }
    t.relation.end = word_end;
    t.relation.text = chars[t.relation.start..word_end].iter().collect();
    t.target.start = rest_start;
    t.target.text = rest;
}

/// A span's text as a mention, unless it normalises to nothing (punctuation only).
fn mention(chars: &[char], s: &LabelledSpan) -> Option<Mention> {
    let text: String = chars.get(s.start..s.end.min(chars.len()))?.iter().collect();
    (!crate::iri::normalise(&text).is_empty()).then_some(Mention { text, start: s.start, end: s.end, confidence: s.confidence })
}

/// The most confident usable span with `label` (the first on ties).
fn best(chars: &[char], spans: &[LabelledSpan], label: usize) -> Option<Mention> {
    spans.iter().filter(|s| s.label == label).filter_map(|s| mention(chars, s)).fold(None, |best: Option<Mention>, m| match best {
        Some(b) if b.confidence >= m.confidence => Some(b),
        _ => Some(m),
    })
}

/// The triple of a sentence, if all three roles were tagged.
pub fn assemble(sentence: &str, spans: &[LabelledSpan], roles: Roles) -> Vec<Triple> {
    let chars: Vec<char> = sentence.chars().collect();
    match (best(&chars, spans, roles.source), best(&chars, spans, roles.relation), best(&chars, spans, roles.target)) {
        (Some(source), Some(relation), Some(target)) => {
            let confidence = (source.confidence + relation.confidence + target.confidence) / 3.0;
            vec![Triple::new(&chars, source, relation, target, confidence)]
        }
        _ => Vec::new(),
    }
}

/// The triple of one predicate (predicate-indexed models, see
/// [`super::predicates`]): the relation is the REL span holding the head
/// word (the head word alone when the marked pass did not tag it REL), the
/// source and target the most confident SRC and TGT spans. Its confidence is
/// the mean of the three spans' confidences times the head's.
pub fn assemble_for_head(sentence: &str, spans: &[LabelledSpan], roles: Roles, head: &Head) -> Option<Triple> {
    let chars: Vec<char> = sentence.chars().collect();
    let holding = spans.iter().find(|s| s.label == roles.relation && s.start <= head.start && head.start < s.end);
    let head_span = LabelledSpan { label: roles.relation, start: head.start, end: head.end, confidence: head.confidence, words: 1 };
    let relation = mention(&chars, holding.unwrap_or(&head_span))?;
    let (source, target) = (best(&chars, spans, roles.source)?, best(&chars, spans, roles.target)?);
    let confidence = head.confidence * (source.confidence + relation.confidence + target.confidence) / 3.0;
    Some(Triple::new(&chars, source, relation, target, confidence))
}

/// The triples of a sentence's predicates, in relation order; of triples
/// with the same spans only the most confident is kept.
pub fn distinct_triples(mut triples: Vec<Triple>) -> Vec<Triple> {
    let key = |t: &Triple| [t.relation.start, t.relation.end, t.source.start, t.source.end, t.target.start, t.target.end];
    triples.sort_by(|a, b| key(a).cmp(&key(b)).then(b.confidence.total_cmp(&a.confidence)));
    triples.dedup_by(|later, kept| key(later) == key(kept));
    triples
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
        assert_eq!(
            (t[0].source.text.as_str(), t[0].relation.text.as_str(), t[0].target.text.as_str()),
            ("Marie Curie", "discovered", "polonium")
        );
        assert!((t[0].confidence - 0.8).abs() < 1e-6);
    }

    #[test]
    fn missing_role_or_punctuation_only_span_gives_nothing() {
        let s = "It rains , ok";
        assert!(assemble(s, &[span(1, 0, 2, 0.9), span(2, 3, 8, 0.9)], ROLES).is_empty());
        assert!(assemble(s, &[span(1, 0, 2, 0.9), span(2, 3, 8, 0.9), span(3, 9, 10, 0.9)], ROLES).is_empty());
    }

    fn head(start: usize, end: usize, confidence: f32) -> Head {
        Head { tokens: 0..1, start, end, confidence }
    }

    #[test]
    fn a_marked_pass_takes_the_rel_span_holding_its_head() {
        let s = "Connie decides to leave the town";
        // REL spans "decides" and "leave"; the head is "leave".
        let spans = [span(1, 0, 6, 0.9), span(2, 7, 14, 0.9), span(2, 18, 23, 0.6), span(3, 24, 32, 0.8)];
        let t = assemble_for_head(s, &spans, ROLES, &head(18, 23, 0.5)).unwrap();
        assert_eq!((t.source.text.as_str(), t.relation.text.as_str(), t.target.text.as_str()), ("Connie", "leave", "the town"));
        assert!((t.confidence - 0.5 * (0.9 + 0.6 + 0.8) / 3.0).abs() < 1e-6);
        // Head not tagged REL in its own pass: the head word is the relation.
        let t = assemble_for_head(s, &[span(1, 0, 6, 0.9), span(3, 24, 32, 0.8)], ROLES, &head(18, 23, 0.5)).unwrap();
        assert_eq!((t.relation.text.as_str(), t.relation.confidence), ("leave", 0.5));
        // No target: no triple.
        assert!(assemble_for_head(s, &[span(1, 0, 6, 0.9)], ROLES, &head(7, 14, 0.9)).is_none());
    }

    #[test]
    fn the_same_triple_from_two_heads_is_kept_once_most_confident() {
        let s = "Zoe has been promoted to manager";
        let t = |head_start, c| {
            assemble_for_head(
                s,
                &[span(1, 0, 3, 1.0), span(2, 4, 21, 1.0), span(3, 22, 32, 1.0)],
                ROLES,
                &head(head_start, head_start + 3, c),
            )
            .unwrap()
        };
        let kept = distinct_triples(vec![t(4, 0.5), t(8, 0.9)]);
        assert_eq!(kept.len(), 1);
        assert!((kept[0].confidence - 0.9).abs() < 1e-6);
    }

    #[test]
    fn a_preposition_opening_the_target_joins_the_relation() {
        let s = "She relocates to Florida";
        let t = assemble(s, &[span(1, 0, 3, 0.9), span(2, 4, 13, 0.9), span(3, 14, 24, 0.9)], ROLES);
        assert_eq!((t[0].relation.text.as_str(), t[0].relation.start, t[0].relation.end), ("relocates to", 4, 16));
        assert_eq!((t[0].target.text.as_str(), t[0].target.start, t[0].target.end), ("Florida", 17, 24));
        // Not adjacent to the relation, or nothing left after it: unchanged.
        let s = "She relocates soon to Florida";
        let t = assemble(s, &[span(1, 0, 3, 0.9), span(2, 4, 13, 0.9), span(3, 19, 29, 0.9)], ROLES);
        assert_eq!((t[0].relation.text.as_str(), t[0].target.text.as_str()), ("relocates", "to Florida"));
        let s = "He came in .";
        let t = assemble(s, &[span(1, 0, 2, 0.9), span(2, 3, 7, 0.9), span(3, 8, 12, 0.9)], ROLES);
        assert_eq!((t[0].relation.text.as_str(), t[0].target.text.as_str()), ("came", "in ."));
    }

    #[test]
    fn a_passive_is_inverted_only_when_its_agent_is_the_surface_target() {
        let s = "All tracks are written by Bear McCreary";
        // Subject SRC, agent TGT: the asserted relation runs from the agent.
        let t = assemble(s, &[span(1, 0, 10, 0.9), span(2, 15, 22, 0.9), span(3, 23, 39, 0.9)], ROLES);
        assert_eq!((t[0].relation.text.as_str(), t[0].form.phrase(), t[0].form.inverted), ("written by", "write".to_string(), true));
        // Agent tagged SRC already: the roles are the active ones.
        let t = assemble(s, &[span(3, 0, 10, 0.9), span(2, 15, 25, 0.9), span(1, 26, 39, 0.9)], ROLES);
        assert_eq!((t[0].form.phrase(), t[0].form.inverted), ("write".to_string(), false));
    }

    #[test]
    fn offsets_are_chars_not_bytes() {
        let s = "Zoë likes crème brûlée";
        let t = assemble(s, &[span(1, 0, 3, 0.9), span(2, 4, 9, 0.9), span(3, 10, 22, 0.9)], ROLES);
        assert_eq!(t[0].target.text, "crème brûlée");
    }
}
