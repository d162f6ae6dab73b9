//! Mention finding (pure): a document's text -> names and pronouns.
//!
//! Takes: the document's text as chars and its sentences' start offsets.
//! Gives: [`Mention`]s in text order: names (runs of capitalised words,
//! with lower-case particles such as "van" or "de" inside, titles and a
//! possessive "'s" left out) and personal pronouns with their person,
//! gender and number.
//! Invariants: offsets are char offsets into the document; mentions do not
//! overlap; a capitalised function word ("The", "However") or a verb form
//! opening a sentence ("Dumped by ...") is not a name on its own.

use super::super::relation::is_verb_form;
pub use crate::model::Gender;

/// What a pronoun can refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PronounKind {
    /// he, him, his, himself; she, her, hers, herself: a person, resolved by the model.
    Personal(Gender),
    /// it, its, itself, they, them, their, theirs, themselves.
    ThirdNeuterOrPlural,
    /// I, me, we, us, you and their possessives: the writer or the reader.
    Speaker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionKind {
    Name,
    Pronoun(PronounKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub kind: MentionKind,
}

/// The kind of pronoun `word` is, if it is one (any case).
pub fn pronoun_kind(word: &str) -> Option<PronounKind> {
    use Gender::*;
    use PronounKind::*;
    Some(match word.to_lowercase().as_str() {
        "he" | "him" | "his" | "himself" => Personal(Masculine),
        "she" | "her" | "hers" | "herself" => Personal(Feminine),
        "it" | "its" | "itself" | "they" | "them" | "their" | "theirs" | "themselves" | "themself" => ThirdNeuterOrPlural,
        "i" | "me" | "my" | "mine" | "myself" | "we" | "us" | "our" | "ours" | "ourselves" | "you" | "your" | "yours" | "yourself"
        | "yourselves" => Speaker,
        _ => return None,
    })
}

/// Capitalised words that are not names (nor start one) when they stand alone.
const FUNCTION_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "also",
    "although",
    "an",
    "and",
    "another",
    "any",
    "as",
    "at",
    "because",
    "before",
    "both",
    "but",
    "by",
    "despite",
    "during",
    "each",
    "early",
    "either",
    "every",
    "following",
    "for",
    "from",
    "further",
    "however",
    "if",
    "in",
    "into",
    "later",
    "many",
    "meanwhile",
    "most",
    "neither",
    "no",
    "nor",
    "not",
    "of",
    "on",
    "once",
    "one",
    "or",
    "other",
    "over",
    "several",
    "since",
    "so",
    "some",
    "such",
    "that",
    "the",
    "then",
    "there",
    "these",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "two",
    "under",
    "unlike",
    "until",
    "upon",
    "when",
    "where",
    "whereas",
    "which",
    "while",
    "who",
    "whose",
    "with",
    "within",
    "without",
    "yet",
    "what",
    "how",
    "why",
    "all",
    "among",
    "around",
    "born",
    "like",
    "according",
];

/// Titles dropped from the front of a name ("Dr. Jane Roe" -> "Jane Roe").
pub const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "professor",
    "sir",
    "dame",
    "lord",
    "lady",
    "king",
    "queen",
    "prince",
    "princess",
    "president",
    "senator",
    "judge",
    "saint",
    "st",
    "rev",
    "captain",
    "general",
    "colonel",
];

/// Lower-case words that stay inside a name between capitalised words.
const PARTICLES: &[&str] = &["de", "da", "del", "della", "der", "di", "du", "la", "le", "van", "von", "bin", "ibn", "al", "y"];

/// A word of the text: char range, and whether it starts a sentence.
#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    sentence_initial: bool,
}

/// Words: runs of letters and digits with inner apostrophes, hyphens and
/// (for initials like "J.") a dot after a single capital.
fn words(chars: &[char], sentence_starts: &[usize]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut next_sentence = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_alphanumeric()
                || (matches!(chars[i], '\'' | '’' | '-') && chars.get(i + 1).is_some_and(|c| c.is_alphanumeric())))
        {
            i += 1;
        }
        if i - start == 1 && chars[start].is_uppercase() && chars.get(i) == Some(&'.') {
            i += 1;
        }
        while next_sentence + 1 < sentence_starts.len() && sentence_starts[next_sentence + 1] <= start {
            next_sentence += 1;
        }
        // Initial when no word stands between the sentence's start and this one.
        let sentence_start = sentence_starts.get(next_sentence).copied().unwrap_or(0);
        let sentence_initial = out.last().is_none_or(|w: &Word| w.end <= sentence_start) && sentence_start <= start;
        out.push(Word { start, end: i, sentence_initial });
    }
    out
}

fn text(chars: &[char], start: usize, end: usize) -> String {
    chars[start..end].iter().collect()
}

fn is_capitalised(chars: &[char], w: &Word) -> bool {
    chars[w.start].is_uppercase()
}

/// The names and pronouns of a document, in text order.
pub fn find_mentions(chars: &[char], sentence_starts: &[usize]) -> Vec<Mention> {
    let words = words(chars, sentence_starts);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let word = text(chars, w.start, w.end);
        // A pronoun, maybe with a contraction ("It's", "he'd").
        let bare = word.split(['\'', '’']).next().unwrap_or(&word);
        if let Some(kind) = pronoun_kind(bare) {
            let end = w.start + bare.chars().count();
            out.push(Mention { start: w.start, end, text: bare.to_string(), kind: MentionKind::Pronoun(kind) });
            i += 1;
            continue;
        }
        if !is_capitalised(chars, &w) {
            i += 1;
            continue;
        }
        // A run of capitalised words (particles inside), only spaces between them.
        let mut j = i + 1;
        let mut last = i;
        while j < words.len() && only_spaces(chars, words[j - 1].end, words[j].start) {
            let next = text(chars, words[j].start, words[j].end);
            if is_capitalised(chars, &words[j]) && pronoun_kind(&next).is_none() && !words[j].sentence_initial {
                last = j;
            } else if !PARTICLES.contains(&next.as_str()) {
                break;
            }
            j += 1;
        }
        let run: Vec<Word> = words[i..=last].to_vec();
        i = last + 1;
        if let Some(m) = name_of(chars, &run) {
            out.push(m);
        }
    }
    out
}

fn only_spaces(chars: &[char], from: usize, to: usize) -> bool {
    from < to && to - from <= 2 && chars[from..to].iter().all(|c| *c == ' ')
}

/// The name a run of capitalised words makes, if any: function words and
/// titles dropped from its front, a possessive from its end; a lone word
/// opening a sentence must not be a function word or a verb form.
fn name_of(chars: &[char], run: &[Word]) -> Option<Mention> {
    let lower = |w: &Word| text(chars, w.start, w.end).to_lowercase().trim_end_matches('.').to_string();
    let mut first = 0;
    while first < run.len() && (FUNCTION_WORDS.contains(&lower(&run[first]).as_str()) || TITLES.contains(&lower(&run[first]).as_str())) {
        first += 1;
    }
    let run = &run[first..];
    let (head, last) = (run.first()?, run.last()?);
    if run.len() == 1 && head.sentence_initial && first == 0 {
        let word = lower(head);
        if is_verb_form(&word) || word.ends_with("ly") {
            return None;
        }
    }
    let mut end = last.end;
    let name = text(chars, head.start, end);
    for possessive in ["'s", "’s", "'", "’"] {
        if name.len() > possessive.len() + 1 && name.ends_with(possessive) {
            end -= possessive.chars().count();
            break;
        }
    }
    let name = text(chars, head.start, end);
    name.chars().any(char::is_alphabetic).then_some(Mention { start: head.start, end, text: name, kind: MentionKind::Name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str, starts: &[usize]) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        find_mentions(&chars, starts).into_iter().filter(|m| m.kind == MentionKind::Name).map(|m| m.text).collect()
    }

    #[test]
    fn names_are_runs_of_capitalised_words_with_particles() {
        let text = "Zoe Telford played the girlfriend of Simon. Dumped by Simon, she met Ludwig van Beethoven's heir.";
        assert_eq!(names(text, &[0, 44]), ["Zoe Telford", "Simon", "Simon", "Ludwig van Beethoven"]);
    }

    #[test]
    fn sentence_openers_are_not_names_but_a_name_opening_a_sentence_is() {
        let text = "His pottery is famous. MacKenzie studied with Dr. Bernard Leach. However, The Beatles split.";
        assert_eq!(names(text, &[0, 23, 64]), ["MacKenzie", "Bernard Leach", "Beatles"]);
    }

    #[test]
    fn pronouns_carry_gender_and_person() {
        let chars: Vec<char> = "She told him that I liked it's end.".chars().collect();
        let kinds: Vec<MentionKind> = find_mentions(&chars, &[0]).into_iter().map(|m| m.kind).collect();
        use PronounKind::*;
        assert_eq!(
            kinds,
            [
                MentionKind::Pronoun(Personal(Gender::Feminine)),
                MentionKind::Pronoun(Personal(Gender::Masculine)),
                MentionKind::Pronoun(Speaker),
                MentionKind::Pronoun(ThirdNeuterOrPlural)
            ]
        );
    }
}
