//! The IRIs kgx writes: its own vocabulary plus RDF, RDFS, XSD (Oxigraph's
//! [`oxigraph::model::vocab`]) and PROV-O.
//!
//! Gives: the terms as constants, the prefixes queries and exports
//! predeclare, and [`Iris`], the builders of data IRIs (documents,
//! sentences, extractions, runs, models) under a base.
//! Invariants: kgx's vocabulary namespace is fixed (queries work on any
//! store), data IRIs live under the configurable base.

use oxigraph::model::NamedNodeRef;

use crate::iri::encode_id;

pub use oxigraph::model::vocab::{rdf, rdfs, xsd};

/// A term of kgx's own vocabulary, from its local name.
macro_rules! kgx_term {
    ($local:literal) => {
        NamedNodeRef::new_unchecked(concat!("https://kgx.invalid/ns#", $local))
    };
}

/// A PROV-O term, from its local name.
macro_rules! prov_term {
    ($local:literal) => {
        NamedNodeRef::new_unchecked(concat!("http://www.w3.org/ns/prov#", $local))
    };
}

pub const KGX: &str = kgx_term!("").as_str();
pub const PROV: &str = prov_term!("").as_str();
pub const DEFAULT_BASE: &str = "https://kgx.invalid/";

/// Prefixes predeclared in `kgx query` and written in Turtle exports.
pub const PREFIXES: [(&str, &str); 7] = [
    ("kgx", KGX),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("prov", PROV),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// SPARQL that binds `entity` to the entity a mention-level node names:
/// the node an alias's node is `owl:sameAs` (entity graph), else the node
/// itself. `mention` and `entity` are variables (`?m`, `?e`). Put it
/// after the query's triple patterns: Oxigraph 0.5 joins a pattern that
/// follows the BIND without using its bindings (the GraphML edge query
/// took 27 s on the sample store with its `?r rdfs:label` last, 0.2 s with
/// it first).
pub fn canonical_entity(mention: &str, entity: &str) -> String {
    let via = format!("{}_canonical", entity.trim_start_matches('?'));
    format!("OPTIONAL {{ {mention} owl:sameAs ?{via} }} BIND(COALESCE(?{via}, {mention}) AS {entity})")
}

/// PROV-O terms kgx writes.
pub mod prov {
    use super::NamedNodeRef;

    pub const ACTIVITY: NamedNodeRef<'_> = prov_term!("Activity");
    pub const ENTITY: NamedNodeRef<'_> = prov_term!("Entity");
    pub const WAS_GENERATED_BY: NamedNodeRef<'_> = prov_term!("wasGeneratedBy");
    pub const GENERATED_AT_TIME: NamedNodeRef<'_> = prov_term!("generatedAtTime");
    pub const STARTED_AT_TIME: NamedNodeRef<'_> = prov_term!("startedAtTime");
    pub const USED: NamedNodeRef<'_> = prov_term!("used");
}

/// OWL terms kgx writes.
pub mod owl {
    use super::NamedNodeRef;

    /// A name's node is the node of the entity it is another name of (entity graph).
    pub const SAME_AS: NamedNodeRef<'_> = NamedNodeRef::new_unchecked("http://www.w3.org/2002/07/owl#sameAs");
}

/// SKOS terms kgx writes.
pub mod skos {
    use super::NamedNodeRef;

    /// Another name of an entity, in the documents that name it so.
    pub const ALT_LABEL: NamedNodeRef<'_> = NamedNodeRef::new_unchecked("http://www.w3.org/2004/02/skos/core#altLabel");
}

/// kgx's own classes and properties (`kgx:` in queries).
pub mod kgx {
    use super::NamedNodeRef;

    pub const DOCUMENT_CLASS: NamedNodeRef<'_> = kgx_term!("Document");
    pub const SENTENCE_CLASS: NamedNodeRef<'_> = kgx_term!("Sentence");
    pub const ENTITY: NamedNodeRef<'_> = kgx_term!("Entity");
    /// A description ("the film", "his wife") that names no entity: a node of one document only.
    pub const DESCRIPTION: NamedNodeRef<'_> = kgx_term!("Description");
    pub const RELATION: NamedNodeRef<'_> = kgx_term!("Relation");
    pub const EXTRACTION: NamedNodeRef<'_> = kgx_term!("Extraction");
    pub const RUN: NamedNodeRef<'_> = kgx_term!("Run");
    pub const MODEL: NamedNodeRef<'_> = kgx_term!("Model");
    pub const DOCUMENT_ID: NamedNodeRef<'_> = kgx_term!("documentId");
    pub const SOURCE: NamedNodeRef<'_> = kgx_term!("source");
    pub const CONTENT_HASH: NamedNodeRef<'_> = kgx_term!("contentHash");
    pub const SENTENCE_COUNT: NamedNodeRef<'_> = kgx_term!("sentenceCount");
    pub const DOCUMENT: NamedNodeRef<'_> = kgx_term!("document");
    pub const INDEX: NamedNodeRef<'_> = kgx_term!("index");
    pub const TEXT: NamedNodeRef<'_> = kgx_term!("text");
    pub const START: NamedNodeRef<'_> = kgx_term!("start");
    pub const END: NamedNodeRef<'_> = kgx_term!("end");
    pub const SENTENCE: NamedNodeRef<'_> = kgx_term!("sentence");
    pub const CONFIDENCE: NamedNodeRef<'_> = kgx_term!("confidence");
    /// An extraction whose relation is denied ("did not help"): not asserted.
    pub const NEGATED: NamedNodeRef<'_> = kgx_term!("negated");
    /// An extraction whose relation runs from the surface target (a passive with its agent).
    pub const INVERTED: NamedNodeRef<'_> = kgx_term!("inverted");
    /// An extraction with a pronoun that was not resolved: it asserts no triple.
    pub const UNRESOLVED: NamedNodeRef<'_> = kgx_term!("unresolved");
    /// The surface text of an extraction's source, relation and target spans.
    pub const SPAN_TEXTS: [NamedNodeRef<'_>; 3] = [kgx_term!("sourceText"), kgx_term!("relationText"), kgx_term!("targetText")];
    /// The modal verb of an extraction's relation ("would", "can").
    pub const MODALITY: NamedNodeRef<'_> = kgx_term!("modality");
    pub const DEVICE: NamedNodeRef<'_> = kgx_term!("device");
    pub const PROVIDER: NamedNodeRef<'_> = kgx_term!("provider");
    pub const PRECISION: NamedNodeRef<'_> = kgx_term!("precision");
    /// The coreference model a run linked pronouns with (its tagger is `prov:used`).
    pub const COREFERENCE_MODEL: NamedNodeRef<'_> = kgx_term!("coreferenceModel");
    /// Extraction arguments, over every document, that name an entity.
    pub const MENTION_COUNT: NamedNodeRef<'_> = kgx_term!("mentionCount");
    /// (start, end) of the source, relation and target spans of an extraction.
    pub const SPAN_OFFSETS: [(NamedNodeRef<'_>, NamedNodeRef<'_>); 3] = [
        (kgx_term!("sourceStart"), kgx_term!("sourceEnd")),
        (kgx_term!("relationStart"), kgx_term!("relationEnd")),
        (kgx_term!("targetStart"), kgx_term!("targetEnd")),
    ];
}

/// Builds data IRIs under one base.
#[derive(Debug, Clone)]
pub struct Iris {
    pub base: String,
}

impl Iris {
    pub fn new(base: &str) -> Self {
        Self { base: base.to_string() }
    }
    /// A document; also the name of the graph holding all it gave.
    pub fn document(&self, id: &str) -> String {
        format!("{}document/{}", self.base, encode_id(id))
    }
    pub fn sentence(&self, document: &str, index: usize) -> String {
        format!("{document}/sentence/{index}")
    }
    pub fn extraction(&self, sentence: &str, k: usize) -> String {
        format!("{sentence}/extraction/{k}")
    }
    /// The node of a name key (`crate::canon::name`), shared by every document.
    pub fn entity(&self, key: &str) -> String {
        format!("{}entity/{}", self.base, crate::iri::key(key))
    }
    /// The graph of entity-level facts, rebuilt from the entity index.
    pub fn entity_graph(&self) -> String {
        format!("{}graph/entities", self.base)
    }
    pub fn run(&self, run_id: &str) -> String {
        format!("{}run/{}", self.base, encode_id(run_id))
    }
    pub fn model(&self, name: &str, precision: &str) -> String {
        format!("{}model/{}/{}", self.base, encode_id(name), encode_id(precision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_name_the_namespaces_the_terms_use() {
        assert_eq!(kgx::ENTITY.as_str(), format!("{KGX}Entity"));
        assert_eq!(prov::USED.as_str(), format!("{PROV}used"));
        let namespace = |p: &str| PREFIXES.iter().find(|(q, _)| *q == p).unwrap().1;
        assert_eq!(rdf::TYPE.as_str(), format!("{}type", namespace("rdf")));
        assert_eq!(rdfs::LABEL.as_str(), format!("{}label", namespace("rdfs")));
        assert_eq!(xsd::INTEGER.as_str(), format!("{}integer", namespace("xsd")));
    }
}
