//! A chunk of documents on its way through the pipeline.
//!
//! Takes: documents split into sentences and their tokenizations; later the
//! probabilities of its model passes. Gives: a [`PreparedChunk`] (encoded
//! sentences, model sequences, padded batches), the marked passes of a
//! predicate-indexed model ([`plan_marked_passes`]), and finally each
//! document with its triples and entities ([`extracted_documents`]:
//! decoding and assembly are pure; resolution runs the coreference model).
//! Invariants: a document whose sentence the tokenizer rejects fails whole
//! and the rest stay aligned; encoded sentences, sequences and results are
//! indexed in document-then-sentence order.

use super::assemble::{assemble, assemble_for_head, distinct_triples, Triple};
use super::batch::{build_batches, BatchPolicy};
use super::decode::{merge_windows, spans, window_word_tags, word_tags};
use super::document::{Document, DocumentError};
use super::predicates::{centred, heads, window_for, Head, MARKED_WINDOW};
use super::resolve::{resolve, ResolveError};
use super::sink::{ExtractedDocument, ExtractedSentence};
use super::split::Sentence;
use crate::model::{CorefScorer, EncodeError, EncodedSentence, Model, ModelBatch, Scheme, Window};

/// A document read, not yet stored, split into sentences.
pub struct PendingDocument {
    pub document: Document,
    pub content_hash: String,
    pub sentences: Vec<Sentence>,
}

/// A chunk ready for the model.
pub struct PreparedChunk {
    pub documents: Vec<PendingDocument>,
    pub failures: Vec<DocumentError>,
    pub skipped: usize,
    /// Encoded sentences, in document then sentence order.
    pub encoded: Vec<EncodedSentence>,
    /// Model sequences: (index into `encoded`, window).
    pub sequences: Vec<(usize, Window)>,
    pub batches: Vec<ModelBatch>,
}

impl PreparedChunk {
    /// The chunk of `documents`, given each of their sentences' tokenization
    /// in order; the documents a tokenization failed for move to `failures`.
    pub fn new(
        documents: Vec<PendingDocument>,
        mut failures: Vec<DocumentError>,
        skipped: usize,
        tokenized: Vec<Result<EncodedSentence, EncodeError>>,
        model: &Model,
        policy: BatchPolicy,
    ) -> Self {
        let mut tokenized = tokenized.into_iter();
        let mut kept = Vec::with_capacity(documents.len());
        let mut encoded = Vec::with_capacity(tokenized.len());
        for doc in documents {
            let mine: Vec<_> = tokenized.by_ref().take(doc.sentences.len()).collect();
            match mine.into_iter().collect::<Result<Vec<_>, _>>() {
                Ok(e) => {
                    encoded.extend(e);
                    kept.push(doc);
                }
                Err(e) => failures.push(DocumentError::caused_by(doc.document.id.clone(), &e)),
            }
        }
        let tokenizer = model.tokenizer();
        let mut sequences = Vec::new();
        for (s, e) in encoded.iter().enumerate() {
            if !e.is_empty() {
                sequences.extend(tokenizer.windows(e.len()).into_iter().map(|w| (s, w)));
            }
        }
        let batches = build_batches(tokenizer, &encoded, &sequences, None, policy);
        Self { documents: kept, failures, skipped, encoded, sequences, batches }
    }

    /// The texts to tokenize for `documents`, in order.
    pub fn sentence_texts(documents: &[PendingDocument]) -> Vec<&str> {
        documents.iter().flat_map(|d| d.sentences.iter().map(|s| s.text.as_str())).collect()
    }

    /// Content tokens of each model sequence.
    pub fn content_lengths(&self) -> Vec<usize> {
        self.sequences.iter().map(|(_, w)| w.len()).collect()
    }

    /// Each encoded sentence's windows with their rows of `probabilities`
    /// (one entry per model sequence), in window order.
    fn windows_per_sentence<'p>(&self, probabilities: &'p [Vec<f32>]) -> Vec<Vec<(Window, &'p [f32])>> {
        let mut windows_of: Vec<Vec<(Window, &[f32])>> = vec![Vec::new(); self.encoded.len()];
        for (q, &(s, w)) in self.sequences.iter().enumerate() {
            windows_of[s].push((w, probabilities[q].as_slice()));
        }
        windows_of
    }
}

/// One marked pass of a predicate-indexed model.
pub struct MarkedPass {
    /// Index into the chunk's `encoded`.
    pub sentence: usize,
    /// The unmarked model sequence (index into the chunk's `sequences`) it marks.
    pub sequence: usize,
    pub head: Head,
    /// The tokens the pass reads: `outer`, or part of it centred on the head.
    pub window: Window,
    /// The window of the unmarked sequence it marks.
    pub outer: Window,
    /// `window.len() x labels` probabilities.
    pub probabilities: Vec<f32>,
}

/// The marked passes of a chunk from its unmarked pass: one per predicate
/// head, each in the window that holds its head with the most context (in
/// a sentence of several windows, the part of it centred on the head), and
/// their padded batches with the head's tokens marked (token type 1).
/// With `unmarked_batch` (the unmarked pass's batch of each sequence), no
/// batch holds passes over sequences of two unmarked batches.
pub fn plan_marked_passes(
    chunk: &PreparedChunk,
    unmarked: &[Vec<f32>],
    model: &Model,
    unmarked_batch: Option<&[usize]>,
    policy: BatchPolicy,
) -> (Vec<MarkedPass>, Vec<ModelBatch>) {
    let labels = model.labels();
    let mut first_sequence = vec![0; chunk.encoded.len()];
    for (q, &(s, _)) in chunk.sequences.iter().enumerate().rev() {
        first_sequence[s] = q;
    }
    let mut passes = Vec::new();
    for (s, windows) in chunk.windows_per_sentence(unmarked).iter().enumerate().filter(|(_, w)| !w.is_empty()) {
        let encoded = &chunk.encoded[s];
        let probs = merge_windows(encoded.len(), labels, windows);
        let spans: Vec<Window> = windows.iter().map(|(w, _)| *w).collect();
        for head in heads(encoded, &probs, labels, model.roles().relation, model.head_threshold()) {
            if let Some(outer) = window_for(&spans, &head.tokens) {
                // windows_per_sentence keeps a sentence's windows in sequence order.
                let sequence = first_sequence[s] + spans.iter().position(|w| *w == outer).unwrap_or(0);
                let window = if spans.len() > 1 { centred(outer, &head.tokens, MARKED_WINDOW) } else { outer };
                passes.push(MarkedPass { sentence: s, sequence, head, window, outer, probabilities: Vec::new() });
            }
        }
    }
    let sequences: Vec<(usize, Window)> = passes.iter().map(|p| (p.sentence, p.window)).collect();
    let group: Option<Vec<usize>> = unmarked_batch.map(|batch_of| passes.iter().map(|p| batch_of[p.sequence]).collect());
    let mut batches = build_batches(model.tokenizer(), &chunk.encoded, &sequences, group.as_deref(), policy);
    let offset = model.tokenizer().content_offset();
    for batch in &mut batches {
        for r in 0..batch.rows.len() {
            let MarkedPass { head, window, .. } = &passes[batch.rows[r]];
            batch.mark(r, offset + head.tokens.start - window.start..offset + head.tokens.end - window.start);
        }
    }
    (passes, batches)
}

/// A chunk with per-token probabilities for every sequence.
pub struct TaggedChunk {
    pub chunk: PreparedChunk,
    pub probabilities: Vec<Vec<f32>>,
    /// Predicate-indexed models: one marked pass per head.
    pub passes: Vec<MarkedPass>,
}

impl TaggedChunk {
    /// Decode, assemble and resolve: each document of the chunk with its
    /// triples, its entities and the entity of every triple argument.
    pub fn extracted_documents(&self, model: &Model) -> Result<Vec<ExtractedDocument>, ResolveError> {
        let triples = match model.scheme() {
            Scheme::Single => self.single_pass_triples(model),
            Scheme::Predicate => self.marked_pass_triples(model),
        };
        let mut documents = documents_of(&self.chunk, triples);
        for doc in &mut documents {
            resolve_arguments(doc, model.coref().map(|c| c as &dyn CorefScorer))?;
        }
        Ok(documents)
    }

    /// The triple of every encoded sentence, one-triple models.
    fn single_pass_triples(&self, model: &Model) -> Vec<Vec<Triple>> {
        let (roles, labels) = (model.roles(), model.labels());
        let windows_of = self.chunk.windows_per_sentence(&self.probabilities);
        let sentences = self.chunk.documents.iter().flat_map(|d| &d.sentences);
        self.chunk
            .encoded
            .iter()
            .zip(&windows_of)
            .zip(sentences)
            .map(|((encoded, windows), sentence)| {
                if windows.is_empty() {
                    return Vec::new();
                }
                let words = word_tags(encoded, &merge_windows(encoded.len(), labels, windows), labels);
                assemble(&sentence.text, &spans(&words, roles.outside), roles)
            })
            .collect()
    }

    /// The triples of every encoded sentence, predicate-indexed models.
    fn marked_pass_triples(&self, model: &Model) -> Vec<Vec<Triple>> {
        let (roles, labels) = (model.roles(), model.labels());
        let sentences: Vec<&Sentence> = self.chunk.documents.iter().flat_map(|d| &d.sentences).collect();
        let mut triples: Vec<Vec<Triple>> = vec![Vec::new(); self.chunk.encoded.len()];
        for pass in &self.passes {
            let encoded = &self.chunk.encoded[pass.sentence];
            let words = window_word_tags(encoded, pass.window, &pass.probabilities, labels);
            if let Some(t) = assemble_for_head(&sentences[pass.sentence].text, &spans(&words, roles.outside), roles, &pass.head) {
                triples[pass.sentence].push(t);
            }
        }
        triples.into_iter().map(distinct_triples).collect()
    }
}

/// Resolves a document's mentions and sets the entity of each triple's source and target.
fn resolve_arguments(doc: &mut ExtractedDocument, scorer: Option<&dyn CorefScorer>) -> Result<(), ResolveError> {
    let starts: Vec<usize> = doc.sentences.iter().map(|s| s.sentence.start).collect();
    let entities = resolve(&doc.document.text, &starts, scorer)?;
    for es in &mut doc.sentences {
        let base = es.sentence.start;
        for t in &mut es.triples {
            t.source_entity = entities.argument(&t.source.text, base + t.source.start, base + t.source.end);
            t.target_entity = entities.argument(&t.target.text, base + t.target.start, base + t.target.end);
        }
    }
    doc.entities = entities;
    Ok(())
}

/// Regroups per-sentence triples into documents.
fn documents_of(chunk: &PreparedChunk, triples: Vec<Vec<Triple>>) -> Vec<ExtractedDocument> {
    let mut triples = triples.into_iter();
    chunk
        .documents
        .iter()
        .map(|doc| {
            let sentences = doc
                .sentences
                .iter()
                .map(|sentence| ExtractedSentence { sentence: sentence.clone(), triples: triples.next().unwrap_or_default() })
                .collect();
            ExtractedDocument {
                document: doc.document.clone(),
                content_hash: doc.content_hash.clone(),
                sentences,
                sentence_count: doc.sentences.len(),
                entities: Default::default(),
            }
        })
        .collect()
}
