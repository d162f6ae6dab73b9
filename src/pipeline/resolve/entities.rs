//! Entities of one document (pure): mentions + pronoun links -> entities,
//! and the entity each triple argument stands for.
//!
//! Takes: a document's [`Mention`]s and, for each, the name mention a
//! pronoun was linked to (if any). Gives: [`DocumentEntities`]: names
//! grouped into entities (the same normalised name; a shorter name whose
//! words open or close exactly one longer name of the document, "Johnson"
//! after "Marc Alan Johnson"), pronouns joined to their antecedent's
//! entity; and [`ArgumentEntity`] for a triple argument's span.
//! Invariants: a pronoun is never an entity: it belongs to one only through
//! an antecedent; an entity's label is its longest name (most words, then
//! first seen); everything depends on the document alone.

use super::mentions::{pronoun_kind, Mention, MentionKind, TITLES};
use crate::iri::normalise;

/// A named entity of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Preferred name: the longest name among its mentions.
    pub label: String,
    /// Every other surface form of its names in the document.
    pub aliases: Vec<String>,
    /// Mentions (names and resolved pronouns) in the document.
    pub mentions: usize,
}

/// Mentions, entities and which entity each mention belongs to.
#[derive(Debug, Clone, Default)]
pub struct DocumentEntities {
    pub mentions: Vec<Mention>,
    pub entities: Vec<Entity>,
    /// For each mention, its entity (None: an unresolved pronoun).
    pub entity_of: Vec<Option<usize>>,
}

/// What a triple argument stands for in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgumentEntity {
    /// A named entity or a phrase without a determiner ("films", "1993"):
    /// one node in every document, from this text.
    Shared(String),
    /// A description ("the film", "his wife"): a node of its document only.
    Local(String),
    /// A pronoun without antecedent: no node, so no asserted triple.
    Unresolved,
}

/// Words that make a phrase a description rather than a name.
const DETERMINERS: &[&str] = &[
    "the", "this", "that", "these", "those", "a", "an", "another", "his", "her", "its", "their", "my", "our", "your", "such", "whose",
    "both", "all", "some", "many", "several", "each", "every", "most", "few", "any", "other", "no",
];

/// Prepositions that open a phrase after a name without making it another thing.
const PREPOSITIONS: &[&str] = &[
    "in", "on", "at", "for", "from", "with", "by", "during", "since", "until", "after", "before", "to", "into", "as", "about", "over",
    "under", "near", "between", "against",
];

/// Words that stand for something said elsewhere, like a pronoun, when an
/// argument is just one of them ("which", "those", "others").
const PRO_FORMS: &[&str] = &[
    "this",
    "that",
    "these",
    "those",
    "which",
    "who",
    "whom",
    "whose",
    "what",
    "there",
    "here",
    "one",
    "ones",
    "others",
    "another",
    "both",
    "all",
    "some",
    "many",
    "each",
    "someone",
    "something",
    "anyone",
    "anything",
    "everyone",
    "everything",
    "nobody",
    "none",
    "somebody",
    "everybody",
];

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.0[root] != root {
            root = self.0[root];
        }
        let mut x = x;
        while self.0[x] != root {
            let next = self.0[x];
            self.0[x] = root;
            x = next;
        }
        root
    }
    /// Joins two sets under the smaller root (so the result does not depend on call order).
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        let (lo, hi) = (a.min(b), a.max(b));
        self.0[hi] = lo;
    }
}

fn name_words(text: &str) -> Vec<String> {
    normalise(text).split(' ').map(str::to_string).collect()
}

/// Whether `short` opens or closes `long` (whole words, fewer of them).
fn part_of(short: &[String], long: &[String]) -> bool {
    short.len() < long.len() && (long.starts_with(short) || long.ends_with(short))
}

/// For each mention, the first mention of its group: names grouped (the
/// same name; a shorter name that opens or closes exactly one longer name
/// of the document), every other mention alone.
pub fn group_names(mentions: &[Mention]) -> Vec<usize> {
    let names: Vec<usize> = (0..mentions.len()).filter(|&i| mentions[i].kind == MentionKind::Name).collect();
    let words: Vec<Vec<String>> = mentions.iter().map(|m| name_words(&m.text)).collect();
    let mut sets = UnionFind((0..mentions.len()).collect());
    for (x, &i) in names.iter().enumerate() {
        for &j in &names[x + 1..] {
            if words[i] == words[j] {
                sets.union(i, j);
            }
        }
    }
    // A shorter name joins the one longer name (up to spelling) it is part of.
    for &i in &names {
        let mut longer: Vec<usize> = names.iter().copied().filter(|&j| part_of(&words[i], &words[j])).map(|j| sets.find(j)).collect();
        longer.sort_unstable();
        longer.dedup();
        if let [only] = longer[..] {
            sets.union(i, only);
        }
    }
    (0..mentions.len()).map(|i| sets.find(i)).collect()
}

impl DocumentEntities {
    /// The entities of `mentions`, named as [`group_names`] grouped them
    /// (`groups`), each linked pronoun joined to its antecedent's:
    /// `antecedent[i]` is the index of the name mention pronoun `i` refers to.
    pub fn new(mentions: Vec<Mention>, groups: &[usize], antecedent: &[Option<usize>]) -> Self {
        let mut sets = UnionFind(groups.to_vec());
        for (i, a) in antecedent.iter().enumerate() {
            if let Some(a) = *a {
                if mentions.get(a).is_some_and(|m| m.kind == MentionKind::Name) {
                    sets.union(i, a);
                }
            }
        }
        // Each entity's name mentions, in text order.
        let mut entity_of = vec![None; mentions.len()];
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut index_of_root = std::collections::HashMap::new();
        for i in (0..mentions.len()).filter(|&i| mentions[i].kind == MentionKind::Name) {
            let e = *index_of_root.entry(sets.find(i)).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            });
            entity_of[i] = Some(e);
            members[e].push(i);
        }
        let mut entities: Vec<Entity> = members
            .iter()
            .map(|names| {
                // The label: the name with the most words, the first seen among them.
                let best = names.iter().copied().max_by_key(|&i| (name_words(&mentions[i].text).len(), std::cmp::Reverse(i)));
                let label = best.map(|i| mentions[i].text.clone()).unwrap_or_default();
                let mut aliases: Vec<String> = names.iter().map(|&i| mentions[i].text.clone()).filter(|t| *t != label).collect();
                aliases.sort();
                aliases.dedup();
                Entity { label, aliases, mentions: 0 }
            })
            .collect();
        for (i, m) in mentions.iter().enumerate() {
            if entity_of[i].is_none() && matches!(m.kind, MentionKind::Pronoun(_)) {
                entity_of[i] = index_of_root.get(&sets.find(i)).copied();
            }
        }
        for e in entity_of.iter().flatten() {
            entities[*e].mentions += 1;
        }
        Self { mentions, entities, entity_of }
    }

    /// The first mention (index) that lies within chars [start, end) of the
    /// document and is what `want` wants (mentions are in text order).
    fn mention_within(&self, start: usize, end: usize, want: impl Fn(&Mention) -> bool) -> Option<usize> {
        let first = self.mentions.partition_point(|m| m.start < start);
        (first..self.mentions.len())
            .take_while(|&i| self.mentions[i].start < end)
            .find(|&i| self.mentions[i].end <= end && want(&self.mentions[i]))
    }

    /// What the argument with this text at chars [start, end) of the document stands for.
    pub fn argument(&self, text: &str, start: usize, end: usize) -> ArgumentEntity {
        let trimmed = text.trim();
        // "It'" and "he," are pronouns too (the tagger may cut a contraction).
        let key = normalise(trimmed);
        if PRO_FORMS.contains(&key.as_str()) {
            return ArgumentEntity::Unresolved;
        }
        if pronoun_kind(&key).is_some() {
            return match self.mention_within(start, end, |m| matches!(m.kind, MentionKind::Pronoun(_))) {
                Some(i) => self.entity_of[i].map_or(ArgumentEntity::Unresolved, |e| ArgumentEntity::Shared(self.entities[e].label.clone())),
                None => ArgumentEntity::Unresolved,
            };
        }
        // The argument is a name, maybe behind "the" or a title: its entity.
        if let Some(i) = self.mention_within(start, end, |m| m.kind == MentionKind::Name) {
            let m = &self.mentions[i];
            let before = normalise(&text.chars().take(m.start.saturating_sub(start)).collect::<String>());
            let after: String = text.chars().skip(m.end.saturating_sub(start)).collect();
            let after = after.trim_start_matches(['\'', '’']).trim_start_matches('s').trim_start();
            // What follows the name may be an apposition or a prepositional
            // phrase ("Tom Lee in May", "Mary Jones, a baker"): the argument
            // still names the entity (the extraction keeps the whole text).
            let first_after = normalise(after).split(' ').next().unwrap_or("").to_string();
            let after_is_modifier = after.is_empty()
                || after.starts_with([',', '('])
                || (PREPOSITIONS.contains(&first_after.as_str()) && !after.starts_with("of "));
            let before_is_determiner = before.is_empty() || before.split(' ').all(|w| w == "the" || TITLES.contains(&w));
            if before_is_determiner && after_is_modifier {
                if let Some(e) = self.entity_of[i] {
                    return ArgumentEntity::Shared(self.entities[e].label.clone());
                }
            }
        }
        let first = key.split(' ').next().unwrap_or("").to_string();
        if DETERMINERS.contains(&first.as_str()) {
            ArgumentEntity::Local(trimmed.to_string())
        } else {
            ArgumentEntity::Shared(trimmed.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::mentions::find_mentions;
    use super::*;

    fn entities(text: &str, antecedent: &[(usize, usize)]) -> DocumentEntities {
        let chars: Vec<char> = text.chars().collect();
        let mentions = find_mentions(&chars, &[0]);
        let mut links = vec![None; mentions.len()];
        for &(p, a) in antecedent {
            links[p] = Some(a);
        }
        DocumentEntities::new(mentions.clone(), &group_names(&mentions), &links)
    }

    #[test]
    fn a_surname_after_the_full_name_is_the_same_entity_and_the_full_name_is_its_label() {
        let d = entities("Johnson met Marc Alan Johnson and Johnson left", &[]);
        assert_eq!(d.entities.len(), 1);
        assert_eq!(d.entities[0].label, "Marc Alan Johnson");
        assert_eq!(d.entities[0].aliases, ["Johnson"]);
        assert_eq!(d.entities[0].mentions, 3);
    }

    #[test]
    fn a_short_name_shared_by_two_full_names_joins_neither() {
        let d = entities("Anna Smith and John Smith met Smith", &[]);
        assert_eq!(d.entities.len(), 3);
    }

    #[test]
    fn pronouns_are_entities_only_through_their_antecedent() {
        // Mentions: Anna Smith(0) she(1) it(2)
        let d = entities("Anna Smith said she liked it", &[(1, 0)]);
        assert_eq!(d.entity_of, [Some(0), Some(0), None]);
        assert_eq!(d.argument("she", 16, 19), ArgumentEntity::Shared("Anna Smith".into()));
        assert_eq!(d.argument("it", 26, 28), ArgumentEntity::Unresolved);
        assert_eq!(d.argument("It'", 26, 29), ArgumentEntity::Unresolved);
        assert_eq!(d.argument("which", 0, 5), ArgumentEntity::Unresolved);
    }

    #[test]
    fn descriptions_are_local_and_names_behind_the_are_shared() {
        let d = entities("The Beatles made the film with his wife in films", &[]);
        assert_eq!(d.argument("The Beatles", 0, 11), ArgumentEntity::Shared("Beatles".into()));
        let d = entities("Anna Berg hired Tom Lee in May", &[]);
        assert_eq!(d.argument("Tom Lee in May", 16, 30), ArgumentEntity::Shared("Tom Lee".into()));
        let d = entities("Ms. Waleson wrote", &[]);
        assert_eq!(d.argument("Ms. Waleson", 0, 11), ArgumentEntity::Shared("Waleson".into()));
        assert_eq!(d.argument("the film", 17, 25), ArgumentEntity::Local("the film".into()));
        assert_eq!(d.argument("his wife", 31, 39), ArgumentEntity::Local("his wife".into()));
        assert_eq!(d.argument("films", 43, 48), ArgumentEntity::Shared("films".into()));
    }
}
