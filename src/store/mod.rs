//! Store stage: extracted documents -> the persistent store, behind [`Sink`].
//!
//! Takes: [`ExtractedDocument`]s, a chunk at a time. Gives: the chunk
//! committed atomically to the Oxigraph store ([`rdf`]) and then recorded in
//! the SQLite run log ([`runlog`]); [`lock`] keeps one writer per store.
//! Invariants: a chunk is all-or-nothing in the RDF store; a document's
//! quads all live in its own named graph, so replacing a changed document
//! is clearing one graph; a document is skipped as already stored only when
//! the run log lists it with the same content hash *and* its graph holds
//! that hash (the log is asked first, so new documents never read RocksDB).

pub mod lock;
pub mod rdf;
pub mod runlog;
pub mod sink;
pub mod vocab;

use std::path::{Path, PathBuf};

use crate::assemble::Triple;
use crate::read::Document;
use crate::split::Sentence;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {dir} is in use by another kgx process ({holder}); wait for it to finish")]
    Locked { dir: PathBuf, holder: String },
    #[error("store {dir} does not exist (create it with `kgx extract --store {dir} ...`)")]
    Missing { dir: PathBuf },
    #[error("store {dir}: {message}")]
    Io { dir: PathBuf, message: String },
    #[error("RDF store {dir}: {message}")]
    Rdf { dir: PathBuf, message: String },
    #[error("run log {path}: {message}")]
    RunLog { path: PathBuf, message: String },
}

impl StoreError {
    pub fn io(dir: &Path, e: impl std::fmt::Display) -> Self {
        Self::Io { dir: dir.to_path_buf(), message: e.to_string() }
    }
}

/// A sentence with the triples found in it.
#[derive(Debug, Clone)]
pub struct ExtractedSentence {
    pub sentence: Sentence,
    pub triples: Vec<Triple>,
}

/// A document with its content hash and extractions.
#[derive(Debug, Clone)]
pub struct ExtractedDocument {
    pub document: Document,
    /// `sha256:` + hex digest of the text.
    pub content_hash: String,
    pub sentences: Vec<ExtractedSentence>,
    /// Number of sentences the document was split into (with or without triples).
    pub sentence_count: usize,
}

impl ExtractedDocument {
    pub fn triple_count(&self) -> usize {
        self.sentences.iter().map(|s| s.triples.len()).sum()
    }
}

/// What one committed chunk added.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteStats {
    pub documents: usize,
    pub replaced: usize,
    pub triples: usize,
    pub new_entities: usize,
}

/// Where extracted documents go.
pub trait Sink {
    /// Writes a chunk of documents atomically.
    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, StoreError>;
    /// A check, usable from another thread, of whether a document with this
    /// id and content hash is already stored.
    fn stored_check(&self) -> StoredCheck;
    /// Records documents that could not be read or processed.
    fn record_failures(&mut self, failures: &[crate::read::DocumentError]) -> Result<(), StoreError>;
}

pub type StoredCheck = Box<dyn Fn(&str, &str) -> Result<bool, StoreError> + Send>;

/// A sink that stores nothing (`--dry-run`: tagging only).
pub struct NullSink;

impl Sink for NullSink {
    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, StoreError> {
        let triples = chunk.iter().map(ExtractedDocument::triple_count).sum();
        Ok(WriteStats { documents: chunk.len(), triples, ..WriteStats::default() })
    }
    fn stored_check(&self) -> StoredCheck {
        Box::new(|_, _| Ok(false))
    }
    fn record_failures(&mut self, _: &[crate::read::DocumentError]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// `sha256:<hex>` of a text.
pub fn content_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
