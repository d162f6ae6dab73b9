//! Where the pipeline's results go: the [`Sink`] trait and what it is given.
//!
//! Takes: each chunk's [`ExtractedDocument`]s (every sentence tagged), the
//! documents that could not be used, and the run's totals after each chunk.
//! Gives: whatever the sink does with them (a store, a list in memory,
//! nothing for a dry run), and a check the pipeline asks before it tags a
//! document again.
//! Invariants: `write` sees a document whole (all its sentences) or not at
//! all; chunks arrive in input order.

use super::assemble::Triple;
use super::document::{Document, DocumentError};
use super::resolve::DocumentEntities;
use super::split::Sentence;

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
    /// Its names and pronouns grouped into entities (the resolve stage).
    pub entities: DocumentEntities,
}

impl ExtractedDocument {
    pub fn triple_count(&self) -> usize {
        self.sentences.iter().map(|s| s.triples.len()).sum()
    }
}

/// Counts of a pipeline run, so far or in all.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineStats {
    pub stored: usize,
    pub replaced: usize,
    pub skipped: usize,
    pub failed: usize,
    pub sentences: usize,
    pub tokens: usize,
    /// Content tokens the marked passes read (predicate-indexed models): the work a sentence's predicates cost.
    pub marked_tokens: usize,
    pub triples: usize,
    pub new_entities: usize,
    /// Busy time of each stage so far.
    pub busy: super::timing::StageTimes,
}

/// What one written chunk added.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteStats {
    pub documents: usize,
    pub replaced: usize,
    pub triples: usize,
    pub new_entities: usize,
}

/// Whether a document with this id and content hash is already stored; it
/// runs on the pipeline's reading thread.
pub type StoredCheck<E> = Box<dyn Fn(&str, &str) -> Result<bool, E> + Send>;

/// Where extracted documents go.
pub trait Sink {
    type Error: std::error::Error + Send + Sync + 'static;
    /// Writes a chunk of documents atomically.
    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, Self::Error>;
    /// A check, usable from another thread, of whether a document with this
    /// id and content hash is already stored (and need not be tagged).
    fn stored_check(&self) -> Result<StoredCheck<Self::Error>, Self::Error> {
        Ok(Box::new(|_, _| Ok(false)))
    }
    /// Records documents that could not be read or processed.
    fn record_failures(&mut self, failures: &[DocumentError]) -> Result<(), Self::Error> {
        let _ = failures;
        Ok(())
    }
    /// The run's totals after each chunk (for progress reports).
    fn progress(&mut self, totals: &PipelineStats) {
        let _ = totals;
    }
}

/// A sink that stores nothing (`--dry-run`: tagging only).
pub struct NullSink;

impl Sink for NullSink {
    type Error = std::convert::Infallible;

    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, Self::Error> {
        let triples = chunk.iter().map(ExtractedDocument::triple_count).sum();
        Ok(WriteStats { documents: chunk.len(), triples, ..WriteStats::default() })
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    type Error = S::Error;

    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, Self::Error> {
        (**self).write(chunk)
    }
    fn stored_check(&self) -> Result<StoredCheck<Self::Error>, Self::Error> {
        (**self).stored_check()
    }
    fn record_failures(&mut self, failures: &[DocumentError]) -> Result<(), Self::Error> {
        (**self).record_failures(failures)
    }
    fn progress(&mut self, totals: &PipelineStats) {
        (**self).progress(totals)
    }
}
