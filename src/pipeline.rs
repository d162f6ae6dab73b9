//! The extraction pipeline: the only module that knows about threads.
//!
//! Takes: input files, a [`SentenceEncoder`], a [`Tagger`] and a [`Sink`].
//! Gives: [`PipelineStats`] after every document was stored, skipped
//! (already stored with the same content) or reported as failed.
//! Threads: a *prepare* thread reads, checks the store, splits, encodes
//! (rayon) and builds padded batches for a chunk of documents; a *tagger*
//! thread runs each chunk's batches on the taggers, one worker thread per
//! tagger taking the next batch not yet taken (on CPU: one single-threaded
//! worker a core, so no operator ever waits for a preempted thread of its
//! own), and for predicate-indexed models reads the
//! heads off the unmarked pass and runs one marked pass per head (see
//! [`crate::predicates`]; a layered model's marked passes start from the
//! hidden state its unmarked pass gave, kept for the chunk and copied into
//! each marked batch only when a worker takes it); the calling thread decodes, assembles and writes
//! to the sink. Bounded channels (2 chunks) between them give backpressure,
//! so memory stays flat in corpus size while reading, inference and storage
//! overlap.
//! Invariants: a document reaches the sink whole (all its sentences tagged)
//! or not at all; a stop request ends reading, and chunks already read are
//! still stored.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};
use ndarray::{s, Array3};
use rayon::prelude::*;

use crate::assemble::{assemble, assemble_for_head, distinct_triples, Roles, Triple};
use crate::batch::{plan_batches, BatchPolicy, ModelBatch};
use crate::decode::{merge_windows, softmax_rows, spans, word_tags};
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

impl Default for PipelineOptions {
    fn default() -> Self {
        Self { read: ReadOptions::default(), batch: BatchPolicy::default(), chunk_sentences: 2048, chunk_documents: 1024 }
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
        let model = ModelShape { encoder: &encoder, labels, roles, scheme, head_threshold, policy: opts.batch, pad_id };
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
}

/// What [`run_batches`] gives.
struct BatchResults {
    /// Each sequence's content rows as probabilities.
    probabilities: Vec<Vec<f32>>,
    /// Each batch's hidden state (the first graph of a layered model; else None).
    hidden: Vec<Option<Array3<f32>>>,
}

/// Runs `batches` on all `taggers` at once, each worker taking the next
/// batch not yet taken (batches are length-sorted, so this balances them);
/// with `start`, a layered model's marked passes, each batch gets its hidden
/// state from the unmarked pass as the worker takes it. The first error
/// stops every worker.
fn run_batches(taggers: &mut [Box<dyn Tagger>], model: &ModelShape<'_>, batches: &[ModelBatch], windows: &[Window], start: Option<&HiddenStart<'_>>) -> Result<BatchResults, TaggerError> {
    let offset = model.encoder.content_offset();
    let next = AtomicUsize::new(0);
    type Done = (Vec<(usize, Vec<f32>)>, Vec<(usize, Array3<f32>)>);
    let work = |tagger: &mut dyn Tagger| -> Result<Done, TaggerError> {
        let (mut rows_done, mut hidden_done) = (Vec::new(), Vec::new());
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            let Some(batch) = batches.get(b) else { break };
            let output = match start {
                Some(start) => start.fill(batch).and_then(|filled| tagger.tag(&filled)),
                None => tagger.tag(batch),
            }
            .inspect_err(|_| next.store(batches.len(), Ordering::Relaxed))?;
            for (r, &q) in batch.rows.iter().enumerate() {
                let rows = output.logits.slice(s![r, offset..offset + windows[q].len(), ..]);
                let mut p: Vec<f32> = rows.iter().copied().collect();
                softmax_rows(&mut p, model.labels);
                rows_done.push((q, p));
            }
            hidden_done.extend(output.hidden.map(|h| (b, h)));
        }
        Ok((rows_done, hidden_done))
    };
    let results = match taggers {
        [only] => vec![work(only.as_mut())],
        _ => std::thread::scope(|scope| {
            let workers: Vec<_> = taggers.iter_mut().map(|t| scope.spawn(|| work(t.as_mut()))).collect();
            workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Err(TaggerError::Run("a model worker thread panicked".into())))).collect::<Vec<_>>()
        }),
    };
    let mut out = BatchResults { probabilities: vec![Vec::new(); windows.len()], hidden: vec![None; batches.len()] };
    for result in results {
        let (rows, hidden) = result?;
        for (q, p) in rows {
            out.probabilities[q] = p;
        }
        for (b, h) in hidden {
            out.hidden[b] = Some(h);
        }
    }
    Ok(out)
}

/// Where a layered model's marked passes start: the hidden state of the
/// unmarked pass over the same model sequence.
struct HiddenStart<'a> {
    /// Each unmarked batch's hidden state.
    hidden: &'a [Option<Array3<f32>>],
    /// Its width (None: the first graph gave no hidden state).
    width: Option<usize>,
    /// (batch, row) of each unmarked sequence.
    location: Vec<(usize, usize)>,
    /// The unmarked sequence of each marked pass.
    sequence_of_pass: Vec<usize>,
}

impl<'a> HiddenStart<'a> {
    fn new(unmarked_batches: &[ModelBatch], hidden: &'a [Option<Array3<f32>>], sequences: usize, sequence_of_pass: Vec<usize>) -> Self {
        let mut location = vec![(0, 0); sequences];
        for (b, batch) in unmarked_batches.iter().enumerate() {
            for (r, &q) in batch.rows.iter().enumerate() {
                location[q] = (b, r);
            }
        }
        let width = hidden.iter().flatten().next().map(|h| h.dim().2);
        Self { hidden, width, location, sequence_of_pass }
    }

    /// `batch` (rows: marked passes) with the hidden state of each row's
    /// unmarked sequence (zeros over padding).
    fn fill(&self, batch: &ModelBatch) -> Result<ModelBatch, TaggerError> {
        let (rows, width) = batch.input_ids.dim();
        let missing = || TaggerError::Run("the model's first graph gave no hidden state for a marked pass".into());
        let hidden_width = self.width.ok_or_else(missing)?;
        let mut hidden = Array3::<f32>::zeros((rows, width, hidden_width));
        for (r, &pass) in batch.rows.iter().enumerate() {
            let (b, row) = self.location[self.sequence_of_pass[pass]];
            let from = self.hidden[b].as_ref().ok_or_else(missing)?;
            let len = batch.lengths[r].min(from.dim().1);
            hidden.slice_mut(s![r, ..len, ..]).assign(&from.slice(s![row, ..len, ..]));
        }
        Ok(ModelBatch { hidden: Some(hidden), ..batch.clone() })
    }
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
/// pass, then one marked pass per head (on `marked_taggers` from the
/// unmarked pass's hidden state when the model is layered, else on
/// `taggers` with the marker in the token types).
fn run_marked_passes(taggers: &mut [Box<dyn Tagger>], marked_taggers: &mut [Box<dyn Tagger>], model: &ModelShape<'_>, chunk: &PreparedChunk, unmarked: &BatchResults) -> Result<Vec<MarkedPass>, TaggerError> {
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
    let windows: Vec<Window> = passes.iter().map(|p| p.window).collect();
    let marked = if marked_taggers.is_empty() {
        run_batches(taggers, model, &batches, &windows, None)?
    } else {
        let start = HiddenStart::new(&chunk.batches, &unmarked.hidden, chunk.sequences.len(), passes.iter().map(|p| p.sequence).collect());
        run_batches(marked_taggers, model, &batches, &windows, Some(&start))?
    };
    for (pass, probabilities) in passes.iter_mut().zip(marked.probabilities) {
        pass.probabilities = probabilities;
    }
    Ok(passes)
}

fn tag_chunks(taggers: &mut [Box<dyn Tagger>], marked_taggers: &mut [Box<dyn Tagger>], model: &ModelShape<'_>, rx: Receiver<Result<PreparedChunk, PipelineError>>, tx: Sender<Result<TaggedChunk, PipelineError>>) {
    for item in rx {
        let result = item.and_then(|chunk| {
            let windows: Vec<Window> = chunk.sequences.iter().map(|&(_, w)| w).collect();
            let unmarked = run_batches(taggers, model, &chunk.batches, &windows, None)?;
            let passes = match model.scheme {
                Scheme::Single => Vec::new(),
                Scheme::Predicate => run_marked_passes(taggers, marked_taggers, model, &chunk, &unmarked)?,
            };
            Ok(TaggedChunk { chunk, probabilities: unmarked.probabilities, passes })
        });
        let failed = result.is_err();
        if tx.send(result).is_err() || failed {
            return;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_batch_gets_the_hidden_rows_of_its_own_sequences_and_zeros_over_padding() {
        // Unmarked pass: sequences 0 (len 3) and 2 (len 2) in batch 0, sequence 1 (len 4) in batch 1.
        let b0 = ModelBatch::from_sequences(vec![2, 0], &[&[1, 2], &[1, 2, 3]], 0);
        let b1 = ModelBatch::from_sequences(vec![1], &[&[1, 2, 3, 4]], 0);
        // hidden[b][r, t, :] = 100 * sequence + t, width 2.
        let hidden_of = |batch: &ModelBatch| Array3::from_shape_fn((batch.rows.len(), batch.input_ids.dim().1, 2), |(r, t, _)| (100 * batch.rows[r] + t) as f32);
        let hidden = vec![Some(hidden_of(&b0)), Some(hidden_of(&b1))];
        // Marked passes 0..3 mark sequences 1, 0 and 1 again.
        let start = HiddenStart::new(&[b0, b1], &hidden, 3, vec![1, 0, 1]);
        let marked = ModelBatch::from_sequences(vec![1, 2], &[&[1, 2, 3], &[1, 2, 3, 4]], 0);
        let filled = start.fill(&marked).unwrap();
        let h = filled.hidden.unwrap();
        assert_eq!(h.dim(), (2, 4, 2));
        assert_eq!(h.slice(s![0, .., 0]).to_vec(), vec![0.0, 1.0, 2.0, 0.0]); // sequence 0, padded
        assert_eq!(h.slice(s![1, .., 1]).to_vec(), vec![100.0, 101.0, 102.0, 103.0]); // sequence 1
        assert_eq!(filled.input_ids, marked.input_ids);
    }

    #[test]
    fn a_missing_hidden_state_is_an_error_not_a_panic() {
        let b0 = ModelBatch::from_sequences(vec![0], &[&[1, 2]], 0);
        let hidden = vec![None];
        let start = HiddenStart::new(std::slice::from_ref(&b0), &hidden, 1, vec![0]);
        assert!(matches!(start.fill(&b0), Err(TaggerError::Run(_))));
    }
}
