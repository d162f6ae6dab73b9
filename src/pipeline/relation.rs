//! Relation normalisation (pure): a relation's surface text -> the relation
//! it names, its voice, negation and modality.
//!
//! Takes: the relation span's text (as assembled: "was directed by",
//! "decides to", "did not help", "would owe") and the sentence before it,
//! whose last words may hold the relation's auxiliaries, modal or negation
//! when the tagger left them out of the span ("The studio did not |release|
//! the film"). Gives: a [`RelationForm`]: the
//! words of the relation with the head verb lemmatised and auxiliaries,
//! modals, negation and adverbs before the head dropped ("direct",
//! "decide to", "help", "owe"); `inverted` for a passive with its agent
//! ("was directed by": the surface target is the agent, so the relation
//! runs target -> source); `negated` and the modal ("would").
//! So does a reduced passive ("directed by", a participle first). A passive
//! without an agent keeps its voice in the words ("was born in" -> "be born
//! in"). Text without a verb keeps its words, lower-cased.
//! Verbs and their forms come from `models/lexicon/verbs.tsv` (LemmInflect,
//! MIT; built by `make lexicon`), compiled into the binary; be, have, do,
//! the modals and negations are closed classes listed here.
//! Invariants: the same text always gives the same form; the words are
//! never empty when the text has a letter or digit.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The relation a surface text names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelationForm {
    /// Lower-case words, the head verb as its lemma ("relocate", "to").
    pub words: Vec<String>,
    /// The relation runs from the surface target to the surface source (a
    /// passive with its agent).
    pub inverted: bool,
    /// "not", "n't", "never": the relation is denied, not asserted.
    pub negated: bool,
    /// The modal verb, as its plain form ("would", "can", "will").
    pub modality: Option<&'static str>,
}

impl RelationForm {
    /// The relation as one phrase: "decide to", "be born in".
    pub fn phrase(&self) -> String {
        self.words.join(" ")
    }
}

/// What a verb form can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Base,
    Past,
    Participle,
    Gerund,
    ThirdPerson,
}

/// The verbs kgx knows: every form with the lemmas (and form) it can be.
struct Lexicon {
    forms: HashMap<&'static str, Vec<(&'static str, Form)>>,
}

const VERBS: &str = include_str!("../../models/lexicon/verbs.tsv");

/// The closed classes: (form, lemma) of be, have and do.
/// (The tokenizer may split "it's" so that the relation starts at a bare "s".)
const BE: [&str; 14] = ["am", "is", "are", "was", "were", "be", "been", "being", "'s", "'re", "'m", "s", "re", "m"];
const HAVE: [&str; 6] = ["has", "have", "had", "having", "'ve", "ve"];
const DO: [&str; 5] = ["do", "does", "did", "doing", "done"];

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut forms: HashMap<&'static str, Vec<(&'static str, Form)>> = HashMap::new();
        let mut add = |form: &'static str, lemma: &'static str, tag: Form| forms.entry(form).or_default().push((lemma, tag));
        for line in VERBS.lines() {
            let mut cols = line.split('\t');
            let Some(lemma) = cols.next() else { continue };
            add(lemma, lemma, Form::Base);
            for (tag, spellings) in [Form::Past, Form::Participle, Form::Gerund, Form::ThirdPerson].into_iter().zip(cols) {
                for form in spellings.split('/').filter(|f| !f.is_empty()) {
                    add(form, lemma, tag);
                }
            }
        }
        for (lemma, closed) in [("be", &BE[..]), ("have", &HAVE[..]), ("do", &DO[..])] {
            for &form in closed {
                let tag = if matches!(form, "been" | "had" | "done") { Form::Participle } else { Form::Base };
                add(form, lemma, tag);
            }
        }
        Lexicon { forms }
    })
}

/// Whether `word` (lower case) is a form of a verb kgx knows ("dumped", "studied").
pub fn is_verb_form(word: &str) -> bool {
    lexicon().forms.contains_key(word)
}

/// A modal's plain form, for the modals and their contracted or split spellings.
fn modal(word: &str) -> Option<&'static str> {
    Some(match word {
        "can" | "ca" => "can",
        "could" => "could",
        "may" => "may",
        "might" => "might",
        "must" => "must",
        "shall" | "sha" => "shall",
        "should" => "should",
        "will" | "'ll" | "ll" | "wo" => "will",
        "would" | "'d" | "d" => "would",
        "ought" => "ought",
        _ => return None,
    })
}

fn is_negation(word: &str) -> bool {
    matches!(word, "not" | "n't" | "'t" | "never")
}

/// Adverbs that may stand between an auxiliary and its verb ("has not yet
/// released"); with any word in -ly.
fn is_adverb(word: &str) -> bool {
    word.ends_with("ly")
        || matches!(word, "yet" | "also" | "still" | "even" | "just" | "already" | "now" | "then" | "often" | "ever" | "once" | "well")
}

fn is_closed_class(word: &str) -> bool {
    BE.contains(&word) || HAVE.contains(&word) || DO.contains(&word) || modal(word).is_some() || is_negation(word)
}

/// The words right before a relation that belong to it: its auxiliaries,
/// modal, negation and the adverbs among them, up to the first other word.
fn auxiliaries_before(before: &str) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    for raw in before.split_whitespace().rev() {
        let split = words(raw);
        if split.is_empty() || !split.iter().all(|w| is_closed_class(w) || is_adverb(w)) {
            break;
        }
        taken.splice(0..0, split);
    }
    taken
}

/// Lower-case words of a relation text: whitespace-separated, edge
/// punctuation dropped, "didn't" split into "did" + "n't" and "cannot"
/// into "can" + "not".
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split_whitespace() {
        let word = raw.to_lowercase().replace('’', "'");
        let word = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'');
        if !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        match (word.strip_suffix("n't"), word) {
            (Some(stem), _) if !stem.is_empty() => out.extend([stem.to_string(), "n't".to_string()]),
            (_, "cannot") => out.extend(["can".to_string(), "not".to_string()]),
            _ => out.push(word.to_string()),
        }
    }
    out
}

/// How far before a relation its auxiliaries may start ("would not have
/// been", adverbs among them), in chars.
const BEFORE_CHARS: usize = 80;

/// The text before char `end` of a sentence that [`normalise_relation`]
/// reads: at most [`BEFORE_CHARS`] chars, from a word's start, so that a
/// long sentence is not copied for every triple.
pub fn text_before(chars: &[char], end: usize) -> String {
    let end = end.min(chars.len());
    let mut start = end.saturating_sub(BEFORE_CHARS);
    if start > 0 {
        // Past the word the cut may have split.
        start = (start..end).find(|&i| chars[i].is_whitespace()).unwrap_or(end);
    }
    chars[start..end].iter().collect()
}

/// Normalises a relation's surface text, given the sentence before it
/// (see the module docs).
pub fn normalise_relation(before: &str, text: &str) -> RelationForm {
    let lexicon = lexicon();
    let mut form = RelationForm { words: Vec::new(), inverted: false, negated: false, modality: None };
    let outside = auxiliaries_before(before);
    let mut content: Vec<String> = Vec::new();
    for (word, inside) in outside.into_iter().map(|w| (w, false)).chain(words(text).into_iter().map(|w| (w, true))) {
        if is_negation(&word) {
            form.negated = true;
        } else if let Some(m) = modal(&word) {
            form.modality.get_or_insert(m);
        } else if inside || is_closed_class(&word) {
            content.push(word);
        }
    }
    let is_verb = |w: &str| lexicon.forms.contains_key(w);
    let is_be = |w: &str| BE.contains(&w);
    let is_auxiliary = |w: &str| is_be(w) || HAVE.contains(&w) || DO.contains(&w);
    // The head: the first verb that is not an auxiliary before another verb.
    let head =
        (0..content.len()).find(|&i| is_verb(&content[i]) && !(is_auxiliary(&content[i]) && content[i + 1..].iter().any(|w| is_verb(w))));
    let Some(head) = head else {
        form.words = content;
        return form;
    };
    let readings = &lexicon.forms[content[head].as_str()];
    let passive = content[..head].iter().any(|w| is_be(w)) && readings.iter().any(|(_, f)| *f == Form::Participle);
    // An inflected reading over a base one ("found": find, not found); a participle after "be".
    let rank = |f: Form| match f {
        Form::Participle if passive => 0,
        Form::Base => 2,
        _ => 1,
    };
    let lemma = readings.iter().min_by_key(|(lemma, f)| (rank(*f), *lemma)).map_or("", |(lemma, _)| *lemma);
    let rest = &content[head + 1..];
    // "was directed by", and the reduced passive "written by" (no auxiliary,
    // a form that is only a participle: "directed by" may be active).
    let participle_only = readings.iter().all(|(_, f)| *f == Form::Participle);
    let agent = rest.last().is_some_and(|w| w == "by") && (passive || (head == 0 && participle_only));
    match rest.split_last() {
        Some((_, between)) if agent => {
            form.inverted = true;
            form.words = std::iter::once(lemma.to_string()).chain(between.iter().cloned()).collect();
        }
        _ if passive => form.words = ["be".to_string(), content[head].clone()].into_iter().chain(rest.iter().cloned()).collect(),
        _ => form.words = std::iter::once(lemma.to_string()).chain(rest.iter().cloned()).collect(),
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(text: &str) -> String {
        normalise_relation("", text).phrase()
    }

    #[test]
    fn tense_and_agreement_fold_into_the_lemma() {
        for text in ["directed", "directs", "has directed", "is directing", "will direct", "direct"] {
            assert_eq!(phrase(text), "direct", "{text}");
        }
        assert_eq!(phrase("relocates to"), "relocate to");
        assert_eq!(phrase("decides to"), "decide to");
        assert_eq!(phrase("left"), "leave");
        assert_eq!(phrase("found"), "find");
        assert_eq!(phrase("is"), "be");
        assert_eq!(phrase("have been at"), "be at");
        assert_eq!(phrase("s"), "be");
    }

    #[test]
    fn a_passive_with_its_agent_is_the_active_relation_inverted() {
        let passive = normalise_relation("", "was directed by");
        assert_eq!((passive.phrase(), passive.inverted), ("direct".to_string(), true));
        assert_eq!(normalise_relation("", "has been taken over by").phrase(), "take over");
        assert!(!normalise_relation("", "directed").inverted);
        let reduced = normalise_relation("", "written by");
        assert_eq!((reduced.phrase(), reduced.inverted), ("write".to_string(), true));
        // "directed" may be active, and "had begun by December" is a perfect.
        assert!(!normalise_relation("", "directed by").inverted);
        assert!(!normalise_relation("pre-production had", "begun by").inverted);
        assert!(normalise_relation("the film is", "distributed by").inverted);
        assert!(normalise_relation("the film was generally well", "received by").inverted);
        assert_eq!(phrase("begin by"), "begin by");
        // Without an agent the voice stays in the words.
        let born = normalise_relation("", "was born in");
        assert_eq!((born.phrase(), born.inverted), ("be born in".to_string(), false));
        assert_eq!(phrase("were born in"), "be born in");
    }

    #[test]
    fn negation_and_modality_are_kept_apart_from_the_words() {
        let denied = normalise_relation("", "did not help");
        assert_eq!((denied.phrase(), denied.negated), ("help".to_string(), true));
        assert!(normalise_relation("", "didn't help").negated);
        assert!(normalise_relation("", "'t believe in").negated);
        assert_eq!(phrase("'t believe in"), "believe in");
        let can_not = normalise_relation("", "cannot afford");
        assert_eq!((can_not.phrase(), can_not.negated, can_not.modality), ("afford".to_string(), true, Some("can")));
        let hedged = normalise_relation("", "would owe");
        assert_eq!((hedged.phrase(), hedged.negated, hedged.modality), ("owe".to_string(), false, Some("would")));
        assert_eq!(normalise_relation("", "won't sign").modality, Some("will"));
    }

    #[test]
    fn auxiliaries_left_out_of_the_span_still_count() {
        let denied = normalise_relation("The studio did not", "release");
        assert_eq!((denied.phrase(), denied.negated), ("release".to_string(), true));
        assert_eq!(normalise_relation("The studio would", "release").modality, Some("would"));
        // Only the words right before the relation: not another verb's negation.
        assert!(!normalise_relation("The studio, which did not exist,", "released").negated);
        assert_eq!(normalise_relation("It has not yet", "been released").phrase(), "be released");
    }

    #[test]
    fn only_the_end_of_a_long_sentence_before_the_relation_is_read() {
        let sentence: Vec<char> = format!("{} the studio did not", "word ".repeat(10_000)).chars().collect();
        let before = text_before(&sentence, sentence.len());
        assert!(before.chars().count() <= BEFORE_CHARS && before.ends_with("the studio did not"), "{before:?}");
        assert!(normalise_relation(&before, "release").negated);
        // A cut inside a word drops the piece ("cannot" must not read as "not").
        let cut: Vec<char> = format!("{}cannot", "x".repeat(BEFORE_CHARS)).chars().collect();
        assert_eq!(text_before(&cut, cut.len()), "");
    }

    #[test]
    fn adverbs_before_the_head_go_and_words_after_it_stay() {
        assert_eq!(phrase("are jealously guarding"), "guard");
        assert_eq!(phrase("took part in"), "take part in");
        assert_eq!(phrase("is a member of"), "be a member of");
    }

    #[test]
    fn text_without_a_verb_keeps_its_words() {
        assert_eq!(phrase("Mixte in"), "mixte in");
        assert_eq!(phrase("-- of ,"), "of");
        assert!(normalise_relation("", "?!").words.is_empty());
    }
}
