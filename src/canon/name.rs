//! Name keys (pure): an entity's surface name -> the key every spelling of
//! that name shares, and the alias blocks it can be found under.
//!
//! Takes: a name as a document wrote it ("The Beatles'", "HD DVDs",
//! "Dr. B. F. Skinner"). Gives: a [`Name`]: its words lower-cased (Unicode
//! NFC; possessives, leading determiners and titles dropped; the last word
//! singular when `models/lexicon/nouns.tsv` lists it as a common noun's
//! plural and the name is not written as a proper name, or when it is an
//! acronym's plural: "DVDs"), the key they make ("beatles", "hd dvd",
//! "b f skinner"), and its alias blocks: every shorter run of
//! words that opens or closes the name, and its initials ("International
//! Business Machines": "ibm"), when the name is written as a proper name
//! (every word that counts capitalised: "HD DVDs", "B. F. Skinner").
//! Invariants: the key depends on the text alone; it is empty (no [`Name`])
//! only when the text has no letter or digit; blocks are proper parts of
//! the key, never the key itself.

use std::collections::HashMap;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::pipeline::resolve::TITLES;

/// Words dropped from the start of a name.
const DETERMINERS: &[&str] = &["the", "a", "an", "this", "that", "these", "those"];

/// Words an acronym skips ("Bank of England": "boe").
const ACRONYM_SKIPS: &[&str] = &["of", "and", "the", "for", "in", "on", "at", "de", "du", "la", "von", "van"];

/// Words that join two names into one phrase (and `&`).
const COORDINATORS: &[&str] = &["and", "or"];

/// The block prefix of initials, so that they never meet a word.
const ACRONYM: &str = "acronym:";

const NOUNS: &str = include_str!("../../models/lexicon/nouns.tsv");

fn plurals() -> &'static HashMap<&'static str, &'static str> {
    static PLURALS: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    PLURALS.get_or_init(|| NOUNS.lines().filter_map(|l| l.split_once('\t')).collect())
}

/// A name as kgx keys it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// Lower-case words, the key's parts.
    pub words: Vec<String>,
    /// For each word, whether the text wrote it with a capital.
    pub capitalised: Vec<bool>,
    /// The text is one word of 2 to 6 capitals ("IBM", "NASA").
    pub acronym: bool,
    /// It joins names with "and", "or" or "&" ("Procter & Gamble").
    pub coordination: bool,
    /// For a proper name ending in a common noun's plural, the key it would
    /// have as a common noun ("content management system", "fuel").
    pub singular: Option<String>,
}

impl Name {
    /// The key: the words joined by single spaces.
    pub fn key(&self) -> String {
        self.words.join(" ")
    }

    /// Whether it is written as a proper name: its first and last words and
    /// every word an acronym counts are capitalised ("Bank of England",
    /// not "true love with Maria Herrera" or "Greg Kot of").
    pub fn is_proper(&self) -> bool {
        let counted = self.words.iter().zip(&self.capitalised).filter(|(w, _)| !ACRONYM_SKIPS.contains(&w.as_str()));
        self.capitalised.first() == Some(&true) && self.capitalised.last() == Some(&true) && counted.into_iter().all(|(_, c)| *c)
    }

    /// The blocks a longer name is found under by a shorter one (see the
    /// module header); none unless it [`is_proper`](Self::is_proper).
    pub fn blocks(&self) -> Vec<String> {
        let n = self.words.len();
        let mut out = Vec::new();
        if !self.is_proper() {
            return out;
        }
        // "Fantaghirò and Esmeralda" names two things: neither is an alias of it.
        for k in (1..n).filter(|_| !self.coordination) {
            if self.capitalised[..k].iter().all(|c| *c) {
                out.push(self.words[..k].join(" "));
            }
            if self.capitalised[n - k..].iter().all(|c| *c) {
                out.push(self.words[n - k..].join(" "));
            }
        }
        let counted: Vec<usize> = (0..n).filter(|&i| !ACRONYM_SKIPS.contains(&self.words[i].as_str())).collect();
        if counted.len() >= 2 {
            let initials: String = counted.iter().filter_map(|&i| self.words[i].chars().next()).collect();
            out.push(format!("{ACRONYM}{initials}"));
        }
        out.sort();
        out.dedup();
        out
    }

    /// The blocks under which this name looks for a longer one: its key,
    /// and its initials' block when it is an acronym.
    pub fn lookups(&self) -> Vec<String> {
        let key = self.key();
        let mut out = vec![key.clone()];
        if self.acronym {
            out.push(format!("{ACRONYM}{key}"));
        }
        out
    }
}

/// The [`Name`] of a text, or None when it has no letter or digit.
pub fn name(text: &str) -> Option<Name> {
    let nfc: String = text.nfc().collect::<String>().replace(['’', '`'], "'");
    // Words: runs of letters and digits, joined by inner hyphens or apostrophes.
    let mut raw: Vec<String> = Vec::new();
    for piece in nfc.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'')) {
        let piece = piece.trim_matches(|c: char| c == '-' || c == '\'');
        let piece = piece.strip_suffix("'s").or_else(|| piece.strip_suffix("'S")).unwrap_or(piece);
        let piece = piece.trim_end_matches('\'');
        if piece.chars().any(char::is_alphanumeric) {
            raw.push(piece.to_string());
        }
    }
    let coordination = nfc.contains('&') || raw.iter().any(|w| COORDINATORS.contains(&w.to_lowercase().as_str()));
    let acronym = raw.len() == 1 && (2..=6).contains(&raw[0].chars().count()) && raw[0].chars().all(|c| c.is_uppercase());
    let mut words: Vec<String> = raw.iter().map(|w| w.to_lowercase()).collect();
    let mut capitalised: Vec<bool> = raw.iter().map(|w| w.chars().next().is_some_and(char::is_uppercase)).collect();
    let lead = words
        .iter()
        .take_while(|w| DETERMINERS.contains(&w.as_str()) || TITLES.contains(&w.as_str()))
        .count()
        .min(words.len().saturating_sub(1));
    words.drain(..lead);
    capitalised.drain(..lead);
    raw.drain(..lead);
    // A common noun's plural ("Gantt charts") keys as its singular; a proper
    // name keeps it ("Walt Disney Studios", "Gates"), but may still be the
    // plural of another capitalised name ("Content Management Systems", a
    // sentence-initial "Fuels"), which the link pass looks up.
    let proper = capitalised.iter().all(|c| *c);
    let mut singular = None;
    let n = words.len();
    let last = words.last_mut()?;
    if let Some(one) = plurals().get(last.as_str()) {
        if proper {
            singular = Some(words[..n - 1].iter().map(String::as_str).chain([*one]).collect::<Vec<_>>().join(" "));
        } else {
            *last = (*one).to_string();
        }
    } else if let Some(stem) = raw.last().and_then(|w| w.strip_suffix('s')) {
        // An acronym's plural: "DVDs", "CDs".
        if stem.chars().count() >= 2 && stem.chars().all(|c| c.is_uppercase()) {
            *last = stem.to_lowercase();
        }
    }
    Some(Name { words, capitalised, acronym, coordination, singular })
}

/// The key of a text's name, or None when it has no letter or digit.
pub fn key(text: &str) -> Option<String> {
    name(text).map(|n| n.key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_drop_case_determiners_possessives_titles_and_plurals() {
        assert_eq!(key("The Beatles'").as_deref(), Some("beatles"), "not a listed plural");
        assert_eq!(key("Gates").as_deref(), Some("gates"), "a proper name keeps its plural");
        assert_eq!(key("the gates").as_deref(), Some("gate"));
        assert_eq!(key("Walt Disney Studios").as_deref(), Some("walt disney studios"));
        assert_eq!(name("Walt Disney Studios").unwrap().singular.as_deref(), Some("walt disney studio"));
        assert_eq!(key("Diesel fuels").as_deref(), Some("diesel fuel"));
        assert_eq!(key("Bill Gates's").as_deref(), Some("bill gates"));
        assert_eq!(key("Dr. B. F. Skinner").as_deref(), Some("b f skinner"));
        assert_eq!(key("HD DVDs").as_deref(), Some("hd dvd"));
        assert_eq!(key("Gantt charts").as_deref(), Some("gantt chart"));
        assert_eq!(key("two-factor authentication").as_deref(), Some("two-factor authentication"));
        assert_eq!(key("the").as_deref(), Some("the"), "a name never loses its last word");
        assert_eq!(key("?!"), None);
    }

    #[test]
    fn proper_names_ending_in_s_keep_it() {
        assert_eq!(key("Charles Williams").as_deref(), Some("charles williams"));
        assert_eq!(key("James").as_deref(), Some("james"));
        assert_eq!(key("news").as_deref(), Some("news"));
    }

    #[test]
    fn blocks_are_capitalised_openings_and_closings_and_initials() {
        let n = name("Bill Gates").unwrap();
        assert_eq!(n.blocks(), vec!["acronym:bg", "bill", "gates"]);
        assert_eq!(name("Cellulosic ethanol").unwrap().blocks(), Vec::<String>::new(), "not a proper name");
        assert_eq!(name("true love with Maria Herrera").unwrap().blocks(), Vec::<String>::new());
        assert_eq!(name("Greg Kot of").unwrap().blocks(), Vec::<String>::new());
        assert_eq!(name("Procter and Gamble").unwrap().blocks(), vec!["acronym:pg"], "a coordination is not an alias's home");
        assert_eq!(name("Procter & Gamble").unwrap().blocks(), vec!["acronym:pg"]);
        let n = name("Bank of England").unwrap();
        assert_eq!(n.blocks(), vec!["acronym:be", "bank", "england"]);
        assert_eq!(name("Paris").unwrap().blocks(), Vec::<String>::new());
    }

    #[test]
    fn acronyms_look_up_initials() {
        assert_eq!(name("IBM").unwrap().lookups(), vec!["ibm", "acronym:ibm"]);
        assert_eq!(name("Ibm").unwrap().lookups(), vec!["ibm"]);
    }
}
