//! The IRIs kgx writes: its own vocabulary plus RDF, RDFS, XSD and PROV-O.
//!
//! Gives: constants and the IRI builders for documents, sentences,
//! extractions, runs and models under a base IRI.
//! Invariants: kgx's vocabulary namespace is fixed (queries work on any
//! store), data IRIs live under the configurable base.

use crate::iri::encode_id;

pub const KGX: &str = "https://kgx.invalid/ns#";
pub const DEFAULT_BASE: &str = "https://kgx.invalid/";
pub const PROV: &str = "http://www.w3.org/ns/prov#";
pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// Prefixes predeclared in `kgx query` and written in Turtle exports.
pub const PREFIXES: [(&str, &str); 5] = [("kgx", KGX), ("prov", PROV), ("rdf", RDF), ("rdfs", RDFS), ("xsd", XSD)];

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
    pub fn run(&self, run_id: &str) -> String {
        format!("{}run/{}", self.base, encode_id(run_id))
    }
    pub fn model(&self, name: &str, precision: &str) -> String {
        format!("{}model/{}/{}", self.base, encode_id(name), encode_id(precision))
    }
}

pub fn kgx(local: &str) -> String {
    format!("{KGX}{local}")
}
