//! Model workers that live for the whole run, and the passes they run.
//!
//! Takes: the taggers (one worker thread each, with the marked graph's
//! tagger beside it for layered models; workers may share a tagger) and [`Pass`]es, each a set of padded
//! batches of one chunk. Gives: each pass's per-sequence probabilities (and
//! a layered model's hidden state per batch) once all its batches ran.
//! Every worker takes the next batch of the oldest pass not yet taken, and
//! moves on to the next pass as soon as none is left, so no worker waits
//! for the others at the end of a chunk while there is work queued. Passes
//! published as urgent (a chunk's marked passes) are taken first.
//! Invariants: every batch of a pass is run once or the pass reports an
//! error (a worker's error or panic stops its pass and never hangs it);
//! results are keyed by sequence, so their order is the batches', whoever ran
//! them; workers exit when the [`Workers`] handle is dropped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_channel::{bounded, select_biased, unbounded, Receiver, Sender};
use ndarray::{s, Array3};

use super::decode::softmax_rows;
use super::timing::{StageClock, Timed};
use crate::model::{HiddenInput, HiddenState, ModelBatch, Tagger, TaggerError, Window};

/// Which of a worker's graphs runs a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graph {
    /// The model (a layered model's first graph).
    First,
    /// A layered model's marked graph, from the first graph's hidden state.
    Marked,
}

/// What a finished pass gives.
#[derive(Default)]
pub struct PassResults {
    /// Each sequence's content rows as probabilities (`content_lengths[q] x labels`).
    pub probabilities: Vec<Vec<f32>>,
    /// Each batch's hidden state (a layered model's first graph; else None).
    pub hidden: Vec<Option<HiddenState>>,
}

/// Where a model's output rows are read: the same for every pass of a run.
#[derive(Debug, Clone, Copy)]
pub struct OutputShape {
    /// Where content starts in a model sequence (after `[CLS]`).
    pub offset: usize,
    pub labels: usize,
}

/// Batches of one chunk for the workers, and how far the workers got.
pub struct Pass {
    spec: PassSpec,
    shape: OutputShape,
    next: AtomicUsize,
    /// Batches not yet finished, taken or not.
    unfinished: AtomicUsize,
    /// Results so far, each written in place as its batch finishes.
    done: Mutex<Done>,
    finished: Sender<()>,
}

/// One batch's results: each row's probabilities keyed by sequence, and the hidden state.
struct BatchDone {
    rows: Vec<(usize, Vec<f32>)>,
    hidden: Option<HiddenState>,
}

struct Done {
    results: PassResults,
    error: Option<TaggerError>,
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => s.to_string(),
        (_, Some(s)) => s.clone(),
        _ => "(no message)".into(),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pass {
    /// Runs batches of this pass on `tagger` until none is left to take.
    fn work(&self, tagger: &dyn Tagger, cancelled: &AtomicBool, clock: &StageClock) {
        while !cancelled.load(Ordering::Relaxed) {
            let b = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(batch) = self.spec.batches.get(b) else { return };
            let ran = catch_unwind(AssertUnwindSafe(|| self.run(tagger, batch, clock)))
                .unwrap_or_else(|panic| Err(TaggerError::Panicked(panic_message(panic.as_ref()))));
            match ran {
                Ok(BatchDone { rows, hidden }) => {
                    let mut done = lock(&self.done);
                    for (q, p) in rows {
                        done.results.probabilities[q] = p;
                    }
                    done.results.hidden[b] = hidden;
                    drop(done);
                    self.finish(1);
                }
                Err(e) => self.fail(e, 1),
            }
        }
    }

    /// Ends the pass with `error`: `taken` batches of the caller's end
    /// here, and the batches nobody took yet will not run.
    fn fail(&self, error: TaggerError, taken: usize) {
        let batches = self.spec.batches.len();
        let untaken = batches.saturating_sub(self.next.swap(batches, Ordering::Relaxed));
        lock(&self.done).error.get_or_insert(error);
        if taken + untaken > 0 {
            self.finish(taken + untaken);
        }
    }

    /// One batch: each row's content probabilities keyed by sequence, and the hidden state.
    fn run(&self, tagger: &dyn Tagger, batch: &ModelBatch, clock: &StageClock) -> Result<BatchDone, TaggerError> {
        let output = match &self.spec.start {
            Some(start) => {
                let filled = clock.time(Timed::HostCopy, || start.fill(batch))?;
                clock.time(Timed::Model, || tagger.tag(&filled))
            }
            None => clock.time(Timed::Model, || tagger.tag(batch)),
        }?;
        let started = std::time::Instant::now();
        let rows = batch
            .rows
            .iter()
            .enumerate()
            .map(|(r, &q)| {
                let OutputShape { offset, labels } = self.shape;
                let rows = output.logits.slice(s![r, offset..offset + self.spec.content_lengths[q], ..]);
                let mut p: Vec<f32> = rows.iter().copied().collect();
                softmax_rows(&mut p, labels);
                (q, p)
            })
            .collect();
        clock.add(Timed::HostCopy, started.elapsed());
        Ok(BatchDone { rows, hidden: output.hidden })
    }

    fn finish(&self, batches: usize) {
        if self.unfinished.fetch_sub(batches, Ordering::AcqRel) == batches {
            let _ = self.finished.try_send(());
        }
    }
}

/// A published pass: wait for it with [`Ticket::wait`].
pub struct Ticket {
    pass: Arc<Pass>,
    finished: Receiver<()>,
}

impl Ticket {
    /// Ready when the pass finished: select on it, then [`Ticket::wait`].
    pub fn finished(&self) -> &Receiver<()> {
        &self.finished
    }

    /// The pass's batches (as published).
    pub fn batches(&self) -> &[ModelBatch] {
        &self.pass.spec.batches
    }

    /// Blocks until every batch ran (or the pass failed); its results.
    /// Call once.
    pub fn wait(&self) -> Result<PassResults, TaggerError> {
        // The pass holds the sender, so this returns once finish() sends.
        let _ = self.finished.recv();
        let mut done = lock(&self.pass.done);
        match done.error.take() {
            Some(e) => Err(e),
            None => Ok(std::mem::take(&mut done.results)),
        }
    }
}

/// The queues the model workers take passes from.
pub struct Workers {
    count: usize,
    shape: OutputShape,
    /// Set when the handle is dropped: workers stop taking batches.
    cancelled: Arc<AtomicBool>,
    passes: Sender<Arc<Pass>>,
    urgent: Sender<Arc<Pass>>,
}

/// What a pass is: padded batches of one chunk.
pub struct PassSpec {
    pub batches: Vec<ModelBatch>,
    /// Content tokens of each sequence (the rows the batches name).
    pub content_lengths: Vec<usize>,
    pub graph: Graph,
    pub start: Option<HiddenStart>,
}

impl Workers {
    /// Starts one worker a `(tagger, marked tagger)` pair on `scope`; the
    /// marked tagger, where given, runs that worker's marked passes; every
    /// pass's output is read as `shape`.
    pub fn start<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        workers: Vec<(&'env dyn Tagger, Option<&'env dyn Tagger>)>,
        shape: OutputShape,
        clock: &'env StageClock,
    ) -> Self {
        let (passes, passes_rx) = unbounded::<Arc<Pass>>();
        let (urgent, urgent_rx) = unbounded::<Arc<Pass>>();
        let count = workers.len();
        let cancelled = Arc::new(AtomicBool::new(false));
        for (tagger, marked) in workers {
            let (passes_rx, urgent_rx, cancelled) = (passes_rx.clone(), urgent_rx.clone(), cancelled.clone());
            scope.spawn(move || work_passes(tagger, marked, &urgent_rx, &passes_rx, &cancelled, clock));
        }
        Self { count, shape, cancelled, passes, urgent }
    }

    /// Hands `spec` to every worker (after the urgent passes, and before
    /// ordinary ones when `urgent`).
    pub fn publish(&self, spec: PassSpec, urgent: bool) -> Ticket {
        let (finished_tx, finished) = bounded(1);
        let unfinished = AtomicUsize::new(spec.batches.len());
        let results = PassResults { probabilities: vec![Vec::new(); spec.content_lengths.len()], hidden: vec![None; spec.batches.len()] };
        let done = Mutex::new(Done { results, error: None });
        let pass = Arc::new(Pass { spec, shape: self.shape, next: AtomicUsize::new(0), unfinished, done, finished: finished_tx });
        if pass.spec.batches.is_empty() {
            let _ = pass.finished.try_send(());
        } else {
            let queue = if urgent { &self.urgent } else { &self.passes };
            for _ in 0..self.count {
                // Each worker takes a copy: a worker that finds it exhausted moves on.
                if queue.send(pass.clone()).is_err() {
                    break;
                }
            }
        }
        Ticket { pass, finished }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

fn work_passes(
    tagger: &dyn Tagger,
    marked: Option<&dyn Tagger>,
    urgent: &Receiver<Arc<Pass>>,
    passes: &Receiver<Arc<Pass>>,
    cancelled: &AtomicBool,
    clock: &StageClock,
) {
    loop {
        let pass = select_biased! {
            recv(urgent) -> pass => pass,
            recv(passes) -> pass => pass,
        };
        // A closed queue: the run is over; cancelled: nobody waits for the rest.
        let Ok(pass) = pass else { return };
        match (pass.spec.graph, marked) {
            (Graph::First, _) => pass.work(tagger, cancelled, clock),
            (Graph::Marked, Some(marked)) => pass.work(marked, cancelled, clock),
            (Graph::Marked, None) => pass.fail(TaggerError::Batch("a model worker has no marked graph to run"), 0),
        }
    }
}

/// Where a layered model's marked passes start: the hidden state of the
/// unmarked pass over the same model sequence.
pub struct HiddenStart {
    /// Each unmarked batch's hidden state.
    hidden: Vec<Option<HiddenState>>,
    /// Its width (None: the first graph gave no hidden state).
    width: Option<usize>,
    /// (batch, row) of each unmarked sequence.
    location: Vec<(usize, usize)>,
    /// Where each marked pass reads the unmarked sequence.
    sources: Vec<PassSource>,
    /// Special tokens before and after the content of a model sequence.
    prefix: usize,
    suffix: usize,
}

/// The unmarked sequence a marked pass reads, and which of its content
/// rows: a marked pass over part of the unmarked window (centred on its
/// head) skips `shift` content rows, reads its own, and drops `dropped`
/// rows in all before the suffix's special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassSource {
    pub sequence: usize,
    pub shift: usize,
    pub dropped: usize,
}

impl PassSource {
    /// The pass over `window`, part of the unmarked sequence's `outer`.
    pub fn new(sequence: usize, outer: Window, window: Window) -> Self {
        Self { sequence, shift: window.start - outer.start, dropped: outer.len() - window.len() }
    }
}

impl HiddenStart {
    /// `location`: each unmarked sequence's (batch, row), from [`sequence_locations`].
    pub fn new(
        location: Vec<(usize, usize)>,
        hidden: Vec<Option<HiddenState>>,
        sources: Vec<PassSource>,
        (prefix, suffix): (usize, usize),
    ) -> Self {
        let width = hidden.iter().flatten().next().map(|h| h.dim().2);
        Self { hidden, width, location, sources, prefix, suffix }
    }

    /// What marked pass `pass` (a row of `len` tokens) reads: the prefix
    /// specials, the pass's own content rows, then the suffix specials
    /// (after the rows it drops).
    fn reads(&self, pass: usize, len: usize) -> Result<Read, TaggerError> {
        let source = self.sources[pass];
        let (b, row) = self.location[source.sequence];
        let source_width = self.hidden[b].as_ref().ok_or_else(no_hidden)?.dim().1;
        let (prefix, suffix) = (self.prefix, self.suffix);
        let Some(own) = len.checked_sub(prefix + suffix).filter(|own| prefix + own + source.dropped + suffix <= source_width) else {
            return Err(TaggerError::Batch("a marked pass reads past its unmarked sequence's hidden state"));
        };
        let spans = [(0, 0, prefix), (prefix, prefix + source.shift, own), (prefix + own, prefix + own + source.dropped, suffix)];
        Ok(Read { batch: b, row, spans })
    }

    /// `batch` (rows: marked passes) with the hidden state of each row's
    /// unmarked sequence: its rows copied together (zeros over padding)
    /// where the first graph gave host arrays; where it left its hidden
    /// state in the provider's memory, that of the one first-graph batch
    /// every row reads and the index of each position in it (padding reads
    /// the row's first token; the attention mask hides it).
    fn fill(&self, batch: &ModelBatch) -> Result<ModelBatch, TaggerError> {
        let (rows, width) = batch.input_ids.dim();
        let hidden_width = self.width.ok_or_else(no_hidden)?;
        let reads = batch.rows.iter().zip(&batch.lengths).map(|(&pass, &len)| self.reads(pass, len)).collect::<Result<Vec<_>, _>>()?;
        let Some(first_batch) = reads.first().map(|read| read.batch) else { return Ok(batch.clone()) };
        let hidden = match self.hidden[first_batch].as_ref().ok_or_else(no_hidden)? {
            HiddenState::Provider(source) => {
                if reads.iter().any(|read| read.batch != first_batch) {
                    return Err(TaggerError::Batch("a marked batch reads the hidden states of several batches in provider memory"));
                }
                HiddenInput::Gather { source: source.clone(), index: gather_index((rows, width), &reads) }
            }
            HiddenState::Host(_) => {
                let mut hidden = Array3::<f32>::zeros((rows, width, hidden_width));
                for (r, read) in reads.iter().enumerate() {
                    let Some(HiddenState::Host(from)) = self.hidden[read.batch].as_ref() else {
                        return Err(TaggerError::Batch("a marked batch reads hidden states both in host and in provider memory"));
                    };
                    for &(to, token, len) in &read.spans {
                        hidden.slice_mut(s![r, to..to + len, ..]).assign(&from.slice(s![read.row, token..token + len, ..]));
                    }
                }
                HiddenInput::Rows(hidden)
            }
        };
        Ok(ModelBatch { hidden: Some(hidden), ..batch.clone() })
    }
}

/// The (batch, row) of each of `sequences` sequences in `batches`.
pub fn sequence_locations(batches: &[ModelBatch], sequences: usize) -> Vec<(usize, usize)> {
    let mut location = vec![(0, 0); sequences];
    for (b, batch) in batches.iter().enumerate() {
        for (r, &q) in batch.rows.iter().enumerate() {
            location[q] = (b, r);
        }
    }
    location
}

/// What a marked row reads of its unmarked sequence's hidden state: that
/// sequence's first-graph batch and row, and `(position, token, length)`
/// spans (positions `position..position + length` read tokens
/// `token..token + length`).
struct Read {
    batch: usize,
    row: usize,
    spans: [(usize, usize, usize); 3],
}

/// The gather variant's `hidden_index` `[rows, width, 2]`: the `(row,
/// token)` each position of each marked row reads (padding: the row's first token).
fn gather_index((rows, width): (usize, usize), reads: &[Read]) -> Array3<i64> {
    let mut index = Array3::<i64>::zeros((rows, width, 2));
    for (r, read) in reads.iter().enumerate() {
        index.slice_mut(s![r, .., 0]).fill(read.row as i64);
        for &(to, token, len) in &read.spans {
            for t in 0..len {
                index[[r, to + t, 1]] = (token + t) as i64;
            }
        }
    }
    index
}

fn no_hidden() -> TaggerError {
    TaggerError::Batch("the model's first graph gave no hidden state for a marked pass")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaggerOutput;

    fn rows_of(batch: ModelBatch) -> Array3<f32> {
        match batch.hidden {
            Some(HiddenInput::Rows(h)) => h,
            other => panic!("expected host rows, got {other:?}"),
        }
    }

    #[test]
    fn the_gather_index_reads_what_the_host_copy_copies() {
        // Two unmarked sequences in one batch, [CLS] content [SEP], hidden = 10 * row + token.
        let b0 = ModelBatch::from_sequences(vec![0, 1], &[&[9, 1, 2, 3, 4, 5, 6, 8], &[9, 1, 2, 8]], 0);
        let from = Array3::from_shape_fn((2, 8, 1), |(r, t, _)| (10 * r + t) as f32);
        // Pass 0 marks sequence 1 whole; pass 1 reads content 2..5 of sequence 0's window 0..6; pass 2 all of sequence 0.
        let sources = vec![
            PassSource { sequence: 1, shift: 0, dropped: 0 },
            PassSource::new(0, Window { start: 0, end: 6 }, Window { start: 2, end: 5 }),
            PassSource { sequence: 0, shift: 0, dropped: 0 },
        ];
        let start = HiddenStart::new(
            sequence_locations(std::slice::from_ref(&b0), 2),
            vec![Some(HiddenState::Host(from.clone()))],
            sources,
            (1, 1),
        );
        let marked = ModelBatch::from_sequences(vec![0, 1, 2], &[&[9, 1, 2, 8], &[9, 3, 4, 5, 8], &[9, 1, 2, 3, 4, 5, 6, 8]], 0);
        let copied = rows_of(start.fill(&marked).unwrap());
        let reads: Vec<_> = marked.rows.iter().zip(&marked.lengths).map(|(&p, &len)| start.reads(p, len).unwrap()).collect();
        let index = gather_index(marked.input_ids.dim(), &reads);
        assert_eq!(index.dim(), (3, 8, 2));
        for r in 0..3 {
            for t in 0..marked.lengths[r] {
                let (row, token) = (index[[r, t, 0]] as usize, index[[r, t, 1]] as usize);
                assert_eq!(from[[row, token, 0]], copied[[r, t, 0]], "row {r}, position {t}");
            }
            // Padding reads a token of the row's own sequence (in bounds; the mask hides it).
            assert!((marked.lengths[r]..8).all(|t| index[[r, t, 0]] == index[[r, 0, 0]] && index[[r, t, 1]] == 0));
        }
        assert_eq!(copied.slice(s![1, ..5, 0]).to_vec(), vec![0.0, 3.0, 4.0, 5.0, 7.0]);
    }

    #[test]
    fn a_marked_batch_gets_the_hidden_rows_of_its_own_sequences_and_zeros_over_padding() {
        // Unmarked pass: sequences 0 (len 3) and 2 (len 2) in batch 0, sequence 1 (len 4) in batch 1.
        let b0 = ModelBatch::from_sequences(vec![2, 0], &[&[1, 2], &[1, 2, 3]], 0);
        let b1 = ModelBatch::from_sequences(vec![1], &[&[1, 2, 3, 4]], 0);
        // hidden[b][r, t, :] = 100 * sequence + t, width 2.
        let hidden_of = |batch: &ModelBatch| {
            Array3::from_shape_fn((batch.rows.len(), batch.input_ids.dim().1, 2), |(r, t, _)| (100 * batch.rows[r] + t) as f32)
        };
        let hidden = vec![Some(HiddenState::Host(hidden_of(&b0))), Some(HiddenState::Host(hidden_of(&b1)))];
        // Marked passes 0..3 mark sequences 1, 0 and 1 again (whole windows; no specials here).
        let whole = |sequence| PassSource { sequence, shift: 0, dropped: 0 };
        let start = HiddenStart::new(sequence_locations(&[b0, b1], 3), hidden, vec![whole(1), whole(0), whole(1)], (0, 0));
        let marked = ModelBatch::from_sequences(vec![1, 2], &[&[1, 2, 3], &[1, 2, 3, 4]], 0);
        let filled = start.fill(&marked).unwrap();
        assert_eq!(filled.input_ids, marked.input_ids);
        let h = rows_of(filled);
        assert_eq!(h.dim(), (2, 4, 2));
        assert_eq!(h.slice(s![0, .., 0]).to_vec(), vec![0.0, 1.0, 2.0, 0.0]); // sequence 0, padded
        assert_eq!(h.slice(s![1, .., 1]).to_vec(), vec![100.0, 101.0, 102.0, 103.0]);
        // sequence 1
    }

    #[test]
    fn a_pass_over_part_of_a_window_reads_its_own_rows_between_the_specials() {
        // One unmarked sequence: [CLS] content 0..6 [SEP] -> rows 0..8, hidden = row index.
        let b0 = ModelBatch::from_sequences(vec![0], &[&[9, 1, 2, 3, 4, 5, 6, 8]], 0);
        let hidden = vec![Some(HiddenState::Host(Array3::from_shape_fn((1, 8, 1), |(_, t, _)| t as f32)))];
        // A marked pass over content 2..5 of the window 0..6.
        let source = PassSource::new(0, Window { start: 0, end: 6 }, Window { start: 2, end: 5 });
        assert_eq!(source, PassSource { sequence: 0, shift: 2, dropped: 3 });
        let start = HiddenStart::new(sequence_locations(std::slice::from_ref(&b0), 1), hidden, vec![source], (1, 1));
        let marked = ModelBatch::from_sequences(vec![0], &[&[9, 3, 4, 5, 8]], 0);
        let h = rows_of(start.fill(&marked).unwrap());
        assert_eq!(h.slice(s![0, .., 0]).to_vec(), vec![0.0, 3.0, 4.0, 5.0, 7.0], "[CLS], content 2..5, [SEP]");
    }

    #[test]
    fn a_missing_hidden_state_is_an_error_not_a_panic() {
        let b0 = ModelBatch::from_sequences(vec![0], &[&[1, 2]], 0);
        let start = HiddenStart::new(
            sequence_locations(std::slice::from_ref(&b0), 1),
            vec![None],
            vec![PassSource { sequence: 0, shift: 0, dropped: 0 }],
            (0, 0),
        );
        assert!(matches!(start.fill(&b0), Err(TaggerError::Batch(_))));
    }

    /// Logits whose label-0 score at each position is the batch's first input id.
    struct Echo {
        fail_on: Option<i64>,
        panic_on: Option<i64>,
    }

    impl Tagger for Echo {
        fn tag(&self, batch: &ModelBatch) -> Result<TaggerOutput, TaggerError> {
            let first = batch.input_ids[[0, 0]];
            if self.fail_on == Some(first) {
                return Err(TaggerError::Batch("this batch fails"));
            }
            if self.panic_on == Some(first) {
                panic!("batch {first}");
            }
            if first % 3 == 0 {
                // Batches finish out of the order they were taken in.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            let (rows, width) = batch.input_ids.dim();
            Ok(TaggerOutput {
                logits: Array3::from_shape_fn((rows, width, 2), |(r, t, l)| if l == 0 { batch.input_ids[[r, t]] as f32 } else { 0.0 }),
                hidden: None,
            })
        }
        fn provider(&self) -> &str {
            "test"
        }
    }

    const SHAPE: OutputShape = OutputShape { offset: 0, labels: 2 };

    /// `n` one-row batches; sequence q is [q, q] (content: both tokens, offset 0).
    fn spec(n: usize) -> PassSpec {
        let batches = (0..n).map(|q| ModelBatch::from_sequences(vec![q], &[&[q as u32, q as u32]], 0)).collect();
        PassSpec { batches, content_lengths: vec![2; n], graph: Graph::First, start: None }
    }

    /// For the tests that do not read the times.
    static CLOCK: StageClock = StageClock::new();

    /// `n` workers sharing one tagger, without a marked graph.
    fn workers(tagger: &Echo, n: usize) -> Vec<(&dyn Tagger, Option<&dyn Tagger>)> {
        vec![(tagger as &dyn Tagger, None); n]
    }

    #[test]
    fn passes_queued_back_to_back_each_get_every_sequence_once() {
        let echo = Echo { fail_on: None, panic_on: None };
        let clock = StageClock::new();
        std::thread::scope(|scope| {
            let workers = Workers::start(scope, workers(&echo, 3), SHAPE, &clock);
            let tickets: Vec<Ticket> = (1..6).map(|n| workers.publish(spec(n * 7), n % 2 == 0)).collect();
            for (n, ticket) in (1..6).zip(tickets) {
                let results = ticket.wait().unwrap();
                assert_eq!(results.probabilities.len(), n * 7);
                for (q, p) in results.probabilities.iter().enumerate() {
                    // softmax over (q, 0): label 0 wins for q > 0, a tie for q = 0.
                    assert_eq!(p.len(), 4);
                    assert!((p[0] - 1.0 / (1.0 + (-(q as f32)).exp())).abs() < 1e-6, "sequence {q}: {p:?}");
                }
            }
        });
        // Every batch's model call and its output copy were timed, nothing else.
        let busy = clock.times();
        assert!(busy.get(Timed::Model) > std::time::Duration::ZERO && busy.get(Timed::HostCopy) > std::time::Duration::ZERO);
        assert_eq!(busy.get(Timed::Store), std::time::Duration::ZERO);
    }

    #[test]
    fn a_failing_batch_fails_its_pass_and_later_passes_still_run() {
        for (fail, panic) in [(Some(5), None), (None, Some(5))] {
            let echo = Echo { fail_on: fail, panic_on: panic };
            std::thread::scope(|scope| {
                let workers = Workers::start(scope, workers(&echo, 2), SHAPE, &CLOCK);
                let failing = workers.publish(spec(20), false);
                let empty = workers.publish(spec(0), false);
                let after = workers.publish(spec(3), false);
                match failing.wait() {
                    Err(TaggerError::Batch(_)) => assert!(fail.is_some()),
                    Err(TaggerError::Panicked(message)) => assert_eq!((panic, message.as_str()), (Some(5), "batch 5")),
                    other => panic!("expected the pass to fail, got {:?}", other.map(|r| r.probabilities.len())),
                }
                assert!(empty.wait().unwrap().probabilities.is_empty());
                assert_eq!(after.wait().unwrap().probabilities.len(), 3);
            });
        }
    }

    #[test]
    fn a_marked_pass_without_a_marked_graph_is_an_error_not_a_hang() {
        let echo = Echo { fail_on: None, panic_on: None };
        std::thread::scope(|scope| {
            let workers = Workers::start(scope, workers(&echo, 2), SHAPE, &CLOCK);
            let ticket = workers.publish(PassSpec { graph: Graph::Marked, ..spec(4) }, true);
            assert!(matches!(ticket.wait(), Err(TaggerError::Batch(_))));
        });
    }
}
