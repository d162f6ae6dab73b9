//! The extraction pipeline: the only module that knows about threads.
//!
//! Takes: input files, a [`SentenceEncoder`], a [`Tagger`] and a [`Sink`].
//! Gives: [`PipelineStats`] after every document was stored, skipped
//! (already stored with the same content) or reported as failed.
//! Threads: a *prepare* thread reads, checks the store, splits, encodes
//! (rayon) and builds padded batches for a chunk of documents; a *tagger*
//! thread queues each chunk's batches as a pass for the model workers
//! ([`passes`]: one worker thread per tagger for the whole run, each taking
//! the next batch not yet taken; on CPU one single-threaded worker a core,
//! so no operator ever waits for a preempted thread of its own), keeping the
//! next chunk queued while it finishes the oldest, so the workers never wait
//! at a chunk's end; for predicate-indexed models it reads the heads off the
//! unmarked pass and queues one marked pass per head ahead of the rest (see
//! [`crate::predicates`]; a layered model's marked passes start from the
//! hidden state its unmarked pass gave, kept for the chunk and copied into
//! each marked batch only when a worker takes it); the calling thread
//! decodes, assembles and writes to the sink. Bounded channels (2 chunks)
//! between them give backpressure, so memory stays flat in corpus size while
//! reading, inference and storage overlap.
//! Invariants: a document reaches the sink whole (all its sentences tagged)
//! or not at all; a stop request ends reading, and chunks already read are
//! still stored.

mod passes;

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Select, Sender};
use rayon::prelude::*;

use passes::{Graph, HiddenStart, OutputShape, PassResults, PassSpec, Ticket, Workers};

use crate::assemble::{assemble, assemble_for_head, distinct_triples, Roles, Triple};
use crate::batch::{plan_batches, BatchPolicy, ModelBatch};
use crate::decode::{merge_windows, spans, word_tags};
use crate::encode::{EncodedSentence, SentenceEncoder, Window};
use crate::model::Scheme;
use crate::predicates::{heads, spread, window_for, Head};
use crate::progress::Progress;
use crate::read::{read_files, Document, DocumentError, InputFormat, ReadOptions};
use crate::split::{split_sentences, whole_text_sentence, Sentence};
use crate::store::{content_hash, ExtractedDocument, ExtractedSentence, Sink, StoreError};
use crate::tagger::{Tagger, TaggerError};

/// How documents are grouped and batched.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub read: ReadOptions,
    pub batch: BatchPolicy,
    /// A chunk (one store commit) closes at this many sentences...
    pub chunk_sentences: usize,
    /// ...or this many documents.
    pub chunk_documents: usize,
}

impl PipelineOptions {
    /// The batching and commit sizes for the device that runs the model.
    /// CPU: batches of 512 padded tokens / 32 sentences, cut where a model
    /// call costs 8 padded tokens' worth (bench/RESULTS.md, steps 2 and 21),
    /// and commits of 512 sentences, since a commit's transient memory (its
    /// quads and the bulk loader's sort buffers) sets the peak and smaller
    /// commits cost no time (step 23). GPU: full batches, and commits big
    /// enough to fill them.
    pub fn for_device(on_gpu: bool) -> Self {
        let (batch, chunk_sentences) = if on_gpu {
            (BatchPolicy { token_budget: 65536, max_sequences: 2048, batch_cost: 65536 }, 2048)
        } else {
            (BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 8 }, 512)
        };
        Self { read: ReadOptions::default(), batch, chunk_sentences, chunk_documents: 1024 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Tagger(#[from] TaggerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("pipeline thread failed: {0}")]
    Thread(String),
}

/// Counts of a pipeline run.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineStats {
    pub stored: usize,
    pub replaced: usize,
    pub skipped: usize,
    pub failed: usize,
    pub sentences: usize,
    pub tokens: usize,
    pub triples: usize,
    pub new_entities: usize,
}

struct PendingDocument {
    document: Document,
    content_hash: String,
    sentences: Vec<Sentence>,
}

/// A chunk ready for the model.
struct PreparedChunk {
    documents: Vec<PendingDocument>,
    failures: Vec<DocumentError>,
    skipped: usize,
    /// Encoded sentences, in document then sentence order.
    encoded: Vec<EncodedSentence>,
    /// Model sequences: (index into `encoded`, window).
    sequences: Vec<(usize, Window)>,
    batches: Vec<ModelBatch>,
}

/// A chunk with per-token probabilities for every sequence.
struct TaggedChunk {
    chunk: PreparedChunk,
    probabilities: Vec<Vec<f32>>,
    /// Predicate-indexed models: one marked pass per head.
    passes: Vec<MarkedPass>,
}

/// One marked pass of a predicate-indexed model.
struct MarkedPass {
    /// Index into the chunk's `encoded`.
    sentence: usize,
    /// The unmarked model sequence (index into the chunk's `sequences`) it marks.
    sequence: usize,
    head: Head,
    window: Window,
    /// `window.len() x labels` probabilities.
    probabilities: Vec<f32>,
}

/// Everything the pipeline needs besides the inputs.
pub struct Stages<'a> {
    pub encoder: Arc<SentenceEncoder>,
    /// Taggers run side by side, each on its own batches (at least one).
    pub taggers: Vec<Box<dyn Tagger>>,
    /// Layered models: the marked graph's taggers, run side by side on the
    /// unmarked pass's hidden state. Empty: marked passes run on `taggers`
    /// with the marker in the token types.
    pub marked_taggers: Vec<Box<dyn Tagger>>,
    pub roles: Roles,
    pub labels: usize,
    pub scheme: Scheme,
    /// Predicate-indexed models: the REL probability that makes a head (None: the most probable label).
    pub head_threshold: Option<f32>,
    pub sink: &'a mut dyn Sink,
    pub progress: &'a Progress,
    pub stop: &'a AtomicBool,
}

pub fn run(files: &[PathBuf], opts: &PipelineOptions, stages: Stages<'_>) -> Result<PipelineStats, PipelineError> {
    let Stages { encoder, mut taggers, mut marked_taggers, roles, labels, scheme, head_threshold, sink, progress, stop } = stages;
    if taggers.is_empty() {
        return Err(TaggerError::Run("no tagger to run the model".into()).into());
    }
    let pad_id = encoder.pad_id();
    let (prepared_tx, prepared_rx) = bounded::<Result<PreparedChunk, PipelineError>>(2);
    let (tagged_tx, tagged_rx) = bounded::<Result<TaggedChunk, PipelineError>>(2);
    let stored_check = sink.stored_check();
    std::thread::scope(|scope| {
        let prepare_encoder = encoder.clone();
        scope.spawn(move || prepare(files, opts, &prepare_encoder, pad_id, stored_check, progress, stop, prepared_tx));
        let model = ModelShape { encoder: &encoder, labels, roles, scheme, head_threshold, policy: opts.batch, pad_id, layered: !marked_taggers.is_empty() };
        scope.spawn(move || tag_chunks(&mut taggers, &mut marked_taggers, &model, prepared_rx, tagged_tx));
        let result = store_chunks(&tagged_rx, roles, labels, scheme, sink, progress);
        drop(tagged_rx);
        result
    })
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    files: &[PathBuf],
    opts: &PipelineOptions,
    encoder: &SentenceEncoder,
    pad_id: u32,
    stored_check: crate::store::StoredCheck,
    progress: &Progress,
    stop: &AtomicBool,
    tx: Sender<Result<PreparedChunk, PipelineError>>,
) {
    let whole_lines = opts.read.format == InputFormat::Lines;
    let mut pending: Vec<PendingDocument> = Vec::new();
    let mut failures = Vec::new();
    let mut skipped = 0usize;
    let mut sentences = 0usize;
    let send = |pending: &mut Vec<PendingDocument>, failures: &mut Vec<DocumentError>, skipped: &mut usize| -> ControlFlow<()> {
        let chunk = prepare_chunk(std::mem::take(pending), std::mem::take(failures), std::mem::take(skipped), encoder, opts.batch, pad_id);
        if tx.send(Ok(chunk)).is_err() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    read_files(files, &opts.read, &mut |item, bytes| {
        progress.add_bytes(bytes);
        if stop.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        match item {
            Err(e) => failures.push(e),
            Ok(document) => {
                let hash = content_hash(&document.text);
                match stored_check(&document.id, &hash) {
                    Ok(true) => skipped += 1,
                    Ok(false) => {
                        let split = if whole_lines { whole_text_sentence(&document.text) } else { split_sentences(&document.text) };
                        sentences += split.len();
                        pending.push(PendingDocument { document, content_hash: hash, sentences: split });
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        if sentences >= opts.chunk_sentences || pending.len() + failures.len() + skipped >= opts.chunk_documents {
            sentences = 0;
            return send(&mut pending, &mut failures, &mut skipped);
        }
        ControlFlow::Continue(())
    });
    if !pending.is_empty() || !failures.is_empty() || skipped > 0 {
        let _ = send(&mut pending, &mut failures, &mut skipped);
    }
}

fn prepare_chunk(documents: Vec<PendingDocument>, mut failures: Vec<DocumentError>, skipped: usize, encoder: &SentenceEncoder, policy: BatchPolicy, pad_id: u32) -> PreparedChunk {
    let texts: Vec<&str> = documents.iter().flat_map(|d| d.sentences.iter().map(|s| s.text.as_str())).collect();
    let results: Vec<_> = texts.par_iter().map(|t| encoder.encode(t)).collect();
    // A document whose sentence the tokenizer rejects fails whole; the rest stay aligned.
    let mut results = results.into_iter();
    let mut kept = Vec::with_capacity(documents.len());
    let mut encoded = Vec::with_capacity(texts.len());
    for doc in documents {
        let mine: Vec<_> = results.by_ref().take(doc.sentences.len()).collect();
        match mine.into_iter().collect::<Result<Vec<_>, _>>() {
            Ok(e) => {
                encoded.extend(e);
                kept.push(doc);
            }
            Err(e) => failures.push(DocumentError { location: doc.document.id.clone(), problem: e.to_string() }),
        }
    }
    let documents = kept;
    let mut sequences = Vec::new();
    for (s, e) in encoded.iter().enumerate() {
        if !e.is_empty() {
            sequences.extend(encoder.windows(e.len()).into_iter().map(|w| (s, w)));
        }
    }
    let batches = build_batches(encoder, &encoded, &sequences, policy, pad_id);
    PreparedChunk { documents, failures, skipped, encoded, sequences, batches }
}

/// Padded batches of model sequences `(index into encoded, window)`.
fn build_batches(encoder: &SentenceEncoder, encoded: &[EncodedSentence], sequences: &[(usize, Window)], policy: BatchPolicy, pad_id: u32) -> Vec<ModelBatch> {
    let special = encoder.special_len();
    let lengths: Vec<usize> = sequences.iter().map(|(_, w)| w.len() + special).collect();
    let mut ids_buf = Vec::new();
    plan_batches(&lengths, policy)
        .into_iter()
        .map(|rows| {
            let seqs: Vec<Vec<u32>> = rows
                .iter()
                .map(|&q| {
                    let (s, w) = sequences[q];
                    encoder.model_input(&encoded[s], w, &mut ids_buf);
                    ids_buf.clone()
                })
                .collect();
            let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
            ModelBatch::from_sequences(rows, &refs, pad_id)
        })
        .collect()
}

/// What the tagger thread needs to know about the model besides its session.
struct ModelShape<'a> {
    encoder: &'a SentenceEncoder,
    labels: usize,
    roles: Roles,
    scheme: Scheme,
    head_threshold: Option<f32>,
    policy: BatchPolicy,
    pad_id: u32,
    /// Marked passes run on the marked graph from the unmarked pass's hidden state.
    layered: bool,
}

/// Each encoded sentence's windows with their rows of `probabilities` (one
/// entry per model sequence of the chunk), in window order.
fn windows_per_sentence<'p>(chunk: &PreparedChunk, probabilities: &'p [Vec<f32>]) -> Vec<Vec<(Window, &'p [f32])>> {
    let mut windows_of: Vec<Vec<(Window, &[f32])>> = vec![Vec::new(); chunk.encoded.len()];
    for (q, &(s, w)) in chunk.sequences.iter().enumerate() {
        windows_of[s].push((w, probabilities[q].as_slice()));
    }
    windows_of
}

/// Predicate-indexed models: the heads of every sentence from the unmarked
/// pass, then one marked pass per head, run as an urgent pass (on the
/// marked graph from the unmarked pass's hidden state when the model is
/// layered, else on the model with the marker in the token types).
fn run_marked_passes(workers: &Workers, model: &ModelShape<'_>, chunk: &PreparedChunk, unmarked_batches: &[ModelBatch], unmarked: &mut PassResults) -> Result<Vec<MarkedPass>, TaggerError> {
    let mut first_sequence = vec![0; chunk.encoded.len()];
    for (q, &(s, _)) in chunk.sequences.iter().enumerate().rev() {
        first_sequence[s] = q;
    }
    let mut passes = Vec::new();
    for (s, windows) in windows_per_sentence(chunk, &unmarked.probabilities).iter().enumerate().filter(|(_, w)| !w.is_empty()) {
        let encoded = &chunk.encoded[s];
        let probs = merge_windows(encoded.len(), model.labels, windows);
        let spans: Vec<Window> = windows.iter().map(|(w, _)| *w).collect();
        for head in heads(encoded, &probs, model.labels, model.roles.relation, model.head_threshold) {
            if let Some(window) = window_for(&spans, &head.tokens) {
                // windows_per_sentence keeps a sentence's windows in sequence order.
                let sequence = first_sequence[s] + spans.iter().position(|w| *w == window).unwrap_or(0);
                passes.push(MarkedPass { sentence: s, sequence, head, window, probabilities: Vec::new() });
            }
        }
    }
    let sequences: Vec<(usize, Window)> = passes.iter().map(|p| (p.sentence, p.window)).collect();
    let mut batches = build_batches(model.encoder, &chunk.encoded, &sequences, model.policy, model.pad_id);
    let offset = model.encoder.content_offset();
    for batch in &mut batches {
        for r in 0..batch.rows.len() {
            let MarkedPass { head, window, .. } = &passes[batch.rows[r]];
            batch.mark(r, offset + head.tokens.start - window.start..offset + head.tokens.end - window.start);
        }
    }
    let (graph, start) = if model.layered {
        let start = HiddenStart::new(unmarked_batches, std::mem::take(&mut unmarked.hidden), chunk.sequences.len(), passes.iter().map(|p| p.sequence).collect());
        (Graph::Marked, Some(start))
    } else {
        (Graph::First, None)
    };
    let content_lengths = passes.iter().map(|p| p.window.len()).collect();
    let marked = workers.publish(PassSpec { batches, content_lengths, graph, start }, true).wait()?;
    for (pass, probabilities) in passes.iter_mut().zip(marked.probabilities) {
        pass.probabilities = probabilities;
    }
    Ok(passes)
}

/// Runs every chunk's passes on the model workers, one chunk queued ahead
/// of the one being finished so the workers never wait at a chunk's end;
/// sends the tagged chunks on in order.
fn tag_chunks(taggers: &mut [Box<dyn Tagger>], marked_taggers: &mut [Box<dyn Tagger>], model: &ModelShape<'_>, rx: Receiver<Result<PreparedChunk, PipelineError>>, tx: Sender<Result<TaggedChunk, PipelineError>>) {
    std::thread::scope(|scope| {
        let workers = Workers::start(scope, taggers, marked_taggers, OutputShape { offset: model.encoder.content_offset(), labels: model.labels });
        let mut queued: VecDeque<(PreparedChunk, Ticket)> = VecDeque::new();
        let mut input_open = true;
        let mut input_error = None;
        loop {
            let take_input = input_open && queued.len() < 2;
            let input_ready = match queued.front() {
                None if take_input => true,
                None => break,
                Some(_) if !take_input => false,
                Some((_, oldest)) => {
                    let mut ready = Select::new();
                    let input = ready.recv(&rx);
                    ready.recv(oldest.finished());
                    ready.ready() == input
                }
            };
            if input_ready {
                match rx.recv() {
                    Ok(Ok(mut chunk)) => {
                        let batches = std::mem::take(&mut chunk.batches);
                        let content_lengths = chunk.sequences.iter().map(|(_, w)| w.len()).collect();
                        let ticket = workers.publish(PassSpec { batches, content_lengths, graph: Graph::First, start: None }, false);
                        queued.push_back((chunk, ticket));
                    }
                    // Chunks read before the error are still tagged and stored.
                    Ok(Err(e)) => (input_open, input_error) = (false, Some(e)),
                    Err(_) => input_open = false,
                }
                continue;
            }
            let Some((chunk, unmarked)) = queued.pop_front() else { break };
            let result = finish_chunk(&workers, model, chunk, &unmarked);
            let failed = result.is_err();
            if tx.send(result).is_err() || failed {
                return;
            }
        }
        if let Some(e) = input_error {
            let _ = tx.send(Err(e));
        }
    });
}

/// A chunk whose unmarked pass was queued, tagged: its probabilities and,
/// for predicate-indexed models, its marked passes.
fn finish_chunk(workers: &Workers, model: &ModelShape<'_>, chunk: PreparedChunk, unmarked: &Ticket) -> Result<TaggedChunk, PipelineError> {
    let mut results = unmarked.wait()?;
    let passes = match model.scheme {
        Scheme::Single => Vec::new(),
        // The marked passes take the unmarked pass's hidden state (layered models).
        Scheme::Predicate => run_marked_passes(workers, model, &chunk, unmarked.batches(), &mut results)?,
    };
    Ok(TaggedChunk { chunk, probabilities: results.probabilities, passes })
}

fn store_chunks(rx: &Receiver<Result<TaggedChunk, PipelineError>>, roles: Roles, labels: usize, scheme: Scheme, sink: &mut dyn Sink, progress: &Progress) -> Result<PipelineStats, PipelineError> {
    let mut stats = PipelineStats::default();
    for item in rx {
        let TaggedChunk { chunk, probabilities, passes } = item?;
        let triples = match scheme {
            Scheme::Single => single_pass_triples(&chunk, &probabilities, roles, labels),
            Scheme::Predicate => marked_pass_triples(&chunk, &passes, roles, labels),
        };
        let extracted = documents_of(&chunk, triples);
        let sentences: usize = extracted.iter().map(|d| d.sentence_count).sum();
        let written = sink.write(&extracted)?;
        if !chunk.failures.is_empty() {
            for f in &chunk.failures {
                progress.println(&format!("kgx: skipped {f}"));
            }
            sink.record_failures(&chunk.failures)?;
        }
        stats.stored += written.documents;
        stats.replaced += written.replaced;
        stats.triples += written.triples;
        stats.new_entities += written.new_entities;
        stats.skipped += chunk.skipped;
        stats.failed += chunk.failures.len();
        stats.sentences += sentences;
        stats.tokens += chunk.encoded.iter().map(EncodedSentence::len).sum::<usize>();
        progress.update(stats.stored + stats.skipped + stats.failed, stats.sentences, stats.triples);
    }
    Ok(stats)
}

/// The triple of every encoded sentence of a chunk, one-triple models.
fn single_pass_triples(chunk: &PreparedChunk, probabilities: &[Vec<f32>], roles: Roles, labels: usize) -> Vec<Vec<Triple>> {
    let windows_of = windows_per_sentence(chunk, probabilities);
    let mut sentences = chunk.documents.iter().flat_map(|d| &d.sentences);
    chunk
        .encoded
        .iter()
        .zip(&windows_of)
        .map(|(encoded, windows)| {
            let sentence = sentences.next().expect("one encoding per sentence");
            if windows.is_empty() {
                return Vec::new();
            }
            let words = word_tags(encoded, &merge_windows(encoded.len(), labels, windows), labels);
            assemble(&sentence.text, &spans(&words, roles.outside), roles)
        })
        .collect()
}

/// The triples of every encoded sentence of a chunk, predicate-indexed models.
fn marked_pass_triples(chunk: &PreparedChunk, passes: &[MarkedPass], roles: Roles, labels: usize) -> Vec<Vec<Triple>> {
    let sentences: Vec<&Sentence> = chunk.documents.iter().flat_map(|d| &d.sentences).collect();
    let mut triples: Vec<Vec<Triple>> = vec![Vec::new(); chunk.encoded.len()];
    for pass in passes {
        let encoded = &chunk.encoded[pass.sentence];
        let probs = spread(encoded.len(), labels, roles.outside, pass.window, &pass.probabilities);
        let words = word_tags(encoded, &probs, labels);
        if let Some(t) = assemble_for_head(&sentences[pass.sentence].text, &spans(&words, roles.outside), roles, &pass.head) {
            triples[pass.sentence].push(t);
        }
    }
    triples.into_iter().map(distinct_triples).collect()
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
            ExtractedDocument { document: doc.document.clone(), content_hash: doc.content_hash.clone(), sentences, sentence_count: doc.sentences.len() }
        })
        .collect()
}
