//! The extraction pipeline's threads: the only code that knows about them.
//!
//! Takes: an iterator of [`DocumentItem`]s, a [`Model`], [`PipelineOptions`]
//! and a [`Sink`]. Gives: [`PipelineStats`] after every document was
//! written, skipped (the sink already holds it with the same content) or
//! reported as failed.
//! Threads: a *prepare* thread reads documents, asks the sink which are
//! stored, splits, encodes (rayon) and builds padded batches for a chunk of
//! documents; a *tagger* thread queues each chunk's batches as a pass for
//! the model workers ([`super::passes`]: one worker thread per model worker
//! for the whole run, each taking the next batch not yet taken; on CPU one
//! single-threaded worker a core, so no operator ever waits for a preempted
//! thread of its own), keeping the next chunk queued while it finishes the
//! oldest, so the workers never wait at a chunk's end; for predicate-indexed
//! models it reads the heads off the unmarked pass and queues one marked
//! pass per head ahead of the rest (see [`super::predicates`]; a layered
//! model's marked passes start from the hidden state its unmarked pass gave,
//! kept for the chunk and copied into each marked batch only when a worker
//! takes it); the calling thread decodes, assembles and writes to the sink.
//! Bounded channels (2 chunks) between them give backpressure, so memory
//! stays flat in corpus size while reading, inference and storage overlap.
//! Invariants: a document reaches the sink whole (all its sentences tagged)
//! or not at all; when the documents end (a caller stops reading, e.g. on
//! SIGINT), chunks already read are still written; a panic on any thread
//! becomes [`PipelineError::Panicked`] naming the stage, after the chunks
//! before it were written.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crossbeam_channel::{bounded, Receiver, Select, Sender};
use rayon::prelude::*;

use super::batch::BatchPolicy;
use super::chunk::{plan_marked_passes, PendingDocument, PreparedChunk, TaggedChunk};
use super::document::{content_hash, DocumentError, DocumentItem};
use super::passes::{panic_message, sequence_locations, Graph, HiddenStart, OutputShape, PassSource, PassSpec, Ticket, Workers};
use super::resolve::ResolveError;
use super::sink::{PipelineStats, Sink, StoredCheck};
use super::split::{split_sentences, whole_text_sentence};
use super::timing::{StageClock, Timed};
use crate::choice::Choice;
use crate::model::{Model, Scheme, TaggerError};

/// How documents become sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitMode {
    /// Split each document into sentences (UAX #29 and abbreviations).
    #[default]
    Sentences,
    /// Each document is one sentence, exactly as given (trimmed).
    WholeDocument,
}

/// The pipeline's stages, as errors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading documents, asking the sink, splitting sentences.
    Read,
    /// Tokenizing a chunk's sentences and batching them.
    Encode,
    /// Running the model's passes.
    Tag,
    /// Decoding, assembling and writing a chunk.
    Store,
}

crate::choice::choices!(Stage {
    Read => "read", "reading, splitting";
    Encode => "encode", "tokenizer, batching";
    Tag => "tag", "model passes";
    Store => "store", "decoding, assembling, writing";
});

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.help())
    }
}

/// How documents are grouped and batched.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub split: SplitMode,
    pub batch: BatchPolicy,
    /// A chunk (one sink write) closes at this many sentences...
    pub chunk_sentences: usize,
    /// ...or this many documents.
    pub chunk_documents: usize,
    /// Triples below this confidence are dropped before the sink sees them.
    pub min_confidence: f32,
    /// For tests of the panic guards only: this stage panics on its first chunk.
    pub inject_panic: Option<Stage>,
}

impl PipelineOptions {
    /// The batching and commit sizes for the device that runs the model.
    /// CPU: batches of 512 padded tokens / 32 sentences, cut where a model
    /// call costs 8 padded tokens' worth (bench/RESULTS.md, steps 2 and 21),
    /// and commits of 512 sentences, since a commit's transient memory (its
    /// quads and the bulk loader's sort buffers) sets the peak and smaller
    /// commits cost no time (step 23). GPU: full batches, and commits of
    /// 8,192 sentences (or documents), so that the store's bulk loader,
    /// which sorts and writes a commit's quads on one thread a 40,000
    /// (`src/store/rdf.rs`), keeps up on a machine with many cores.
    pub fn for_device(on_gpu: bool) -> Self {
        let (batch, chunk_sentences, chunk_documents) = if on_gpu {
            (BatchPolicy { token_budget: 65536, max_sequences: 2048, batch_cost: 65536 }, 8192, 8192)
        } else {
            (BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 8 }, 512, 1024)
        };
        Self { split: SplitMode::Sentences, batch, chunk_sentences, chunk_documents, min_confidence: 0.0, inject_panic: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Tagger(#[from] TaggerError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// The sink failed (writing, or checking what it holds).
    #[error(transparent)]
    Sink(Box<dyn std::error::Error + Send + Sync>),
    #[error("the {stage} stage panicked: {message} (a bug in kgx or a library it uses)")]
    Panicked { stage: Stage, message: String },
}

impl PipelineError {
    fn sink(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Sink(Box::new(e))
    }
}

/// Runs `f`, turning a panic into [`PipelineError::Panicked`] for `stage`.
fn guarded<T>(stage: Stage, f: impl FnOnce() -> Result<T, PipelineError>) -> Result<T, PipelineError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| Err(PipelineError::Panicked { stage, message: panic_message(panic.as_ref()) }))
}

fn inject(opts: &PipelineOptions, stage: Stage) {
    if opts.inject_panic == Some(stage) {
        panic!("injected by PipelineOptions::inject_panic ({})", stage.name());
    }
}

/// Runs the pipeline over `documents` into `sink` (see the module docs).
pub fn run<D, S>(documents: D, model: &Model, opts: &PipelineOptions, sink: &mut S) -> Result<PipelineStats, PipelineError>
where
    D: IntoIterator<Item = DocumentItem>,
    D::IntoIter: Send,
    S: Sink + ?Sized,
{
    let documents = documents.into_iter();
    let (prepared_tx, prepared_rx) = bounded::<Result<PreparedChunk, PipelineError>>(2);
    let (tagged_tx, tagged_rx) = bounded::<Result<TaggedChunk, PipelineError>>(2);
    let stored_check = sink.stored_check().map_err(PipelineError::sink)?;
    let clock = StageClock::default();
    let clock = &clock;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            pass_on_error(&prepared_tx, guarded(Stage::Read, || prepare(documents, model, opts, stored_check, &prepared_tx, clock)))
        });
        scope.spawn(move || pass_on_error(&tagged_tx, guarded(Stage::Tag, || tag_chunks(model, opts, prepared_rx, &tagged_tx, clock))));
        let result = guarded(Stage::Store, || store_chunks(&tagged_rx, model, opts, sink, clock));
        drop(tagged_rx);
        result
    })
}

/// A thread's error goes to the next stage, after what it sent before.
fn pass_on_error<T>(tx: &Sender<Result<T, PipelineError>>, result: Result<(), PipelineError>) {
    if let Err(e) = result {
        let _ = tx.send(Err(e));
    }
}

/// The prepare thread: documents -> chunks of split, encoded, batched
/// sentences. Stops early when nobody takes its chunks.
fn prepare<S: std::error::Error + Send + Sync + 'static>(
    documents: impl Iterator<Item = DocumentItem>,
    model: &Model,
    opts: &PipelineOptions,
    stored_check: StoredCheck<S>,
    tx: &Sender<Result<PreparedChunk, PipelineError>>,
    clock: &StageClock,
) -> Result<(), PipelineError> {
    inject(opts, Stage::Read);
    let mut pending: Vec<PendingDocument> = Vec::new();
    let mut failures: Vec<DocumentError> = Vec::new();
    let mut skipped = 0usize;
    let mut sentences = 0usize;
    let send =
        |pending: &mut Vec<PendingDocument>, failures: &mut Vec<DocumentError>, skipped: &mut usize| -> Result<bool, PipelineError> {
            let chunk = guarded(Stage::Encode, || {
                let (pending, failures, skipped) = (std::mem::take(pending), std::mem::take(failures), std::mem::take(skipped));
                Ok(clock.time(Timed::Encode, || encode_chunk(pending, failures, skipped, model, opts)))
            })?;
            Ok(tx.send(Ok(chunk)).is_ok())
        };
    let mut documents = documents;
    loop {
        let started = std::time::Instant::now();
        let Some(item) = documents.next() else { break };
        match item {
            Err(e) => failures.push(e),
            Ok(document) => {
                let hash = content_hash(&document.text);
                if stored_check(&document.id, &hash).map_err(PipelineError::sink)? {
                    skipped += 1;
                } else {
                    let split = match opts.split {
                        SplitMode::Sentences => split_sentences(&document.text),
                        SplitMode::WholeDocument => whole_text_sentence(&document.text),
                    };
                    sentences += split.len();
                    pending.push(PendingDocument { document, content_hash: hash, sentences: split });
                }
            }
        }
        clock.add(Timed::Read, started.elapsed());
        if sentences >= opts.chunk_sentences || pending.len() + failures.len() + skipped >= opts.chunk_documents {
            sentences = 0;
            if !send(&mut pending, &mut failures, &mut skipped)? {
                return Ok(());
            }
        }
    }
    if !pending.is_empty() || !failures.is_empty() || skipped > 0 {
        send(&mut pending, &mut failures, &mut skipped)?;
    }
    Ok(())
}

/// Encode stage: tokenizes a chunk's sentences on rayon's threads, then
/// cuts windows and builds the padded batches.
fn encode_chunk(
    documents: Vec<PendingDocument>,
    failures: Vec<DocumentError>,
    skipped: usize,
    model: &Model,
    opts: &PipelineOptions,
) -> PreparedChunk {
    inject(opts, Stage::Encode);
    let tokenizer = model.tokenizer();
    let tokenized: Vec<_> = PreparedChunk::sentence_texts(&documents).par_iter().map(|t| tokenizer.encode(t)).collect();
    PreparedChunk::new(documents, failures, skipped, tokenized, model, opts.batch)
}

/// The tagger thread: runs every chunk's passes on the model workers, one
/// chunk queued ahead of the one being finished so the workers never wait
/// at a chunk's end; sends the tagged chunks on in order.
fn tag_chunks(
    model: &Model,
    opts: &PipelineOptions,
    rx: Receiver<Result<PreparedChunk, PipelineError>>,
    tx: &Sender<Result<TaggedChunk, PipelineError>>,
    clock: &StageClock,
) -> Result<(), PipelineError> {
    inject(opts, Stage::Tag);
    std::thread::scope(|scope| {
        let shape = OutputShape { offset: model.tokenizer().content_offset(), labels: model.labels() };
        let workers = Workers::start(scope, model.workers(), shape, clock);
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
                        let content_lengths = chunk.content_lengths();
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
            let result = finish_chunk(&workers, model, opts.batch, chunk, &unmarked);
            let failed = result.is_err();
            if tx.send(result).is_err() || failed {
                return Ok(());
            }
        }
        input_error.map_or(Ok(()), Err)
    })
}

/// A chunk whose unmarked pass was queued, tagged: its probabilities and,
/// for predicate-indexed models, its marked passes, run as an urgent pass
/// (on the marked graph from the unmarked pass's hidden state when the
/// model is layered, else on the model with the marker in the token types).
fn finish_chunk(
    workers: &Workers,
    model: &Model,
    policy: BatchPolicy,
    chunk: PreparedChunk,
    unmarked: &Ticket,
) -> Result<TaggedChunk, PipelineError> {
    let mut results = unmarked.wait()?;
    if model.scheme() == Scheme::Single {
        return Ok(TaggedChunk { chunk, probabilities: results.probabilities, passes: Vec::new() });
    }
    let location = sequence_locations(unmarked.batches(), chunk.sequences.len());
    // A marked batch that gathers its hidden state reads one unmarked batch's.
    let unmarked_batch: Option<Vec<usize>> = model.gathers_hidden().then(|| location.iter().map(|&(b, _)| b).collect());
    let (mut passes, batches) = plan_marked_passes(&chunk, &results.probabilities, model, unmarked_batch.as_deref(), policy);
    let (graph, start) = if model.is_layered() {
        let hidden = std::mem::take(&mut results.hidden);
        let sources = passes.iter().map(|p| PassSource::new(p.sequence, p.outer, p.window)).collect();
        let tokenizer = model.tokenizer();
        let specials = (tokenizer.content_offset(), tokenizer.special_len() - tokenizer.content_offset());
        let start = HiddenStart::new(location, hidden, sources, specials);
        (Graph::Marked, Some(start))
    } else {
        (Graph::First, None)
    };
    let content_lengths = passes.iter().map(|p| p.window.len()).collect();
    let marked = workers.publish(PassSpec { batches, content_lengths, graph, start }, true).wait()?;
    for (pass, probabilities) in passes.iter_mut().zip(marked.probabilities) {
        pass.probabilities = probabilities;
    }
    Ok(TaggedChunk { chunk, probabilities: results.probabilities, passes })
}

/// The calling thread: decodes and assembles each tagged chunk and writes
/// it to the sink, in order.
fn store_chunks<S: Sink + ?Sized>(
    rx: &Receiver<Result<TaggedChunk, PipelineError>>,
    model: &Model,
    opts: &PipelineOptions,
    sink: &mut S,
    clock: &StageClock,
) -> Result<PipelineStats, PipelineError> {
    let mut stats = PipelineStats::default();
    for item in rx {
        let tagged = item?;
        inject(opts, Stage::Store);
        let mut extracted = clock.time(Timed::Decode, || tagged.extracted_documents(model))?;
        if opts.min_confidence > 0.0 {
            for s in extracted.iter_mut().flat_map(|d| &mut d.sentences) {
                s.triples.retain(|t| t.confidence >= opts.min_confidence);
            }
        }
        let chunk = &tagged.chunk;
        let written = clock.time(Timed::Store, || -> Result<_, PipelineError> {
            let written = sink.write(&extracted).map_err(PipelineError::sink)?;
            if !chunk.failures.is_empty() {
                sink.record_failures(&chunk.failures).map_err(PipelineError::sink)?;
            }
            Ok(written)
        })?;
        stats.stored += written.documents;
        stats.replaced += written.replaced;
        stats.triples += written.triples;
        stats.new_entities += written.new_entities;
        stats.skipped += chunk.skipped;
        stats.failed += chunk.failures.len();
        stats.sentences += extracted.iter().map(|d| d.sentence_count).sum::<usize>();
        stats.tokens += chunk.encoded.iter().map(|e| e.len()).sum::<usize>();
        stats.marked_tokens += tagged.passes.iter().map(|p| p.window.len()).sum::<usize>();
        stats.busy = clock.times();
        sink.progress(&stats);
    }
    Ok(stats)
}
