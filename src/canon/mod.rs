//! Canonical entities across documents: the names documents use -> one
//! node per real-world entity, however it is named.
//!
//! Takes: stored documents (their triples' arguments, already resolved
//! inside each document by [`crate::pipeline::resolve`]). Gives: [`name`],
//! the key a name is stored under (its node, `entity/<key>`, in the
//! document's graph); [`index`], the on-disk index of the names each
//! document used and the pass that links aliases ("Gates" -> "Bill Gates",
//! "IBM" -> "International Business Machines") into clusters; and
//! [`names_of`], what a document gives the index.
//! Invariants: a document's graph holds only its own names' nodes, a
//! function of the text; which names are one entity is decided by the pass
//! over the whole index, so document order, reruns, resumes and sharding
//! give the same entities; the store writes the result as the entity graph
//! (`owl:sameAs` from each alias's node to its entity's node).

pub mod index;
pub mod name;

use std::collections::BTreeMap;

use crate::pipeline::resolve::ArgumentEntity;
use crate::pipeline::ExtractedDocument;
use index::NameMention;

/// The names a document's triples used for shared entities, with how many
/// arguments used each, plus the other names the document gave those
/// entities (as surface forms of the entity's key, with no mentions).
pub fn names_of(doc: &ExtractedDocument) -> Vec<NameMention> {
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    for t in doc.sentences.iter().flat_map(|s| &s.triples) {
        for a in [&t.source_entity, &t.target_entity] {
            if let ArgumentEntity::Shared(label) = a {
                *used.entry(label.as_str()).or_default() += 1;
            }
        }
    }
    let mut out: Vec<NameMention> =
        used.iter().map(|(label, n)| NameMention { label: (*label).to_string(), mentions: *n, entity: None }).collect();
    for e in doc.entities.entities.iter().filter(|e| used.contains_key(e.label.as_str())) {
        let Some(key) = name::key(&e.label) else { continue };
        for alias in &e.aliases {
            out.push(NameMention { label: alias.clone(), mentions: 0, entity: Some(key.clone()) });
        }
    }
    out
}
