//! [`StoreSink`]: the pipeline's [`Sink`] that writes to a kgx store directory.
//!
//! Takes: a store directory (created if missing) and the run being made.
//! Gives: commits to the RDF store, then to the run log, per chunk (the run
//! log's rows are written on a thread of their own while the RDF store
//! loads the chunk, and committed after it); then hands the chunk's freed
//! memory back to the system ([`crate::memory`]).
//! At the end of a run (also a stopped or failed one), rebuilds the entity
//! graph ([`super::entities`]). Publishes the committed state for readers
//! ([`super::snapshot`]) when it opens and then, after a commit, at most
//! every `publish_every`.
//! Invariants: holds the store's writer lock for its whole life; the run's
//! graph is written with the first chunk that stores anything, so a run
//! that stores nothing leaves the RDF store untouched; snapshots are taken
//! only between commits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::lock::StoreLock;
use super::rdf::RdfStore;
use super::runlog::{RunCounts, RunLog};
use super::snapshot::Publisher;
use super::RunInfo;
use super::StoreError;
use crate::pipeline::{DocumentError, ExtractedDocument, Sink, StoredCheck, WriteStats};

/// How a [`StoreSink`] writes.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The least time between two snapshots for readers (zero: none).
    pub publish_every: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { publish_every: Duration::from_secs(10) }
    }
}

pub struct StoreSink {
    pub dir: PathBuf,
    _lock: StoreLock,
    rdf: RdfStore,
    runlog: RunLog,
    run: RunInfo,
    run_written: bool,
    counts: RunCounts,
    publisher: Publisher,
}

impl StoreSink {
    /// Opens the store for writing and registers the run. Returns the sink
    /// and how many stale runs (of killed processes) were marked.
    pub fn open(dir: &Path, base: &str, run: RunInfo, command: &str, options: StoreOptions) -> Result<(Self, usize), StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, "cannot create", e))?;
        let lock = StoreLock::acquire(dir, "extract")?;
        let rdf = RdfStore::open(dir, base)?;
        let runlog = RunLog::open(dir)?;
        let stale = runlog.mark_stale_runs()?;
        runlog.start_run(&run, command)?;
        let mut publisher = Publisher::new(dir, options.publish_every)?;
        publisher.maybe_publish(rdf.store(), 0)?;
        let counts = RunCounts::default();
        Ok((Self { dir: dir.to_path_buf(), _lock: lock, rdf, runlog, run, run_written: false, counts, publisher }, stale))
    }

    /// Rebuilds the entity graph from the entity index, then ends the run
    /// in the log with its final status. Returns (entities, names linked to
    /// another name's entity).
    pub fn finish(&mut self, status: &str, skipped: usize) -> Result<(usize, usize), StoreError> {
        self.counts.skipped = skipped;
        let finished = self.rdf.rebuild_entity_graph(&self.runlog).and_then(|linked| {
            self.runlog.finish_run(&self.run.id, status, self.counts)?;
            Ok(linked)
        });
        let retired = self.publisher.retire();
        let linked = finished?;
        retired?;
        Ok(linked)
    }

    /// Quads in the store (all graphs).
    pub fn quad_count(&self) -> Result<usize, StoreError> {
        self.rdf.store().len().map_err(|e| StoreError::rdf(&self.dir, e))
    }
}

impl Sink for StoreSink {
    type Error = StoreError;

    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, StoreError> {
        if chunk.is_empty() {
            return Ok(WriteStats::default());
        }
        let run = (!self.run_written).then_some(&self.run);
        let (rdf, runlog, counts, run_id) = (&mut self.rdf, &mut self.runlog, &mut self.counts, self.run.id.as_str());
        // The run log writes its rows while the RDF store loads the chunk,
        // and commits them only after the RDF commit (see the module docs).
        let (written, logged) = std::thread::scope(|scope| {
            let (committed_tx, committed_rx) = std::sync::mpsc::channel::<Option<RunCounts>>();
            let log = scope.spawn(move || runlog.record_chunk(run_id, chunk, || committed_rx.recv().ok().flatten()));
            let written = rdf.write(chunk, run, run_id);
            if let Ok(stats) = &written {
                counts.documents += stats.documents;
                counts.triples += stats.triples;
                counts.sentences += chunk.iter().map(|d| d.sentence_count).sum::<usize>();
            }
            let _ = committed_tx.send(written.as_ref().ok().map(|_| *counts));
            (written, log.join())
        });
        let stats = written?;
        self.run_written = true;
        match logged {
            Ok(logged) => logged?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        self.publisher.maybe_publish(self.rdf.store(), self.counts.documents)?;
        crate::memory::release_free_memory();
        Ok(stats)
    }

    /// Skips a document only when both the run log and the RDF store hold
    /// it with the same hash. The log is asked first: it is written after
    /// the RDF commit, so a document it does not list is new (or was
    /// committed by a run killed between the two commits, and then
    /// [`RdfStore::write`] finds its graph and replaces it with the same
    /// content), and new documents never touch RocksDB here.
    fn stored_check(&self) -> Result<StoredCheck<StoreError>, StoreError> {
        let listed = self.runlog.listed_check()?;
        let in_rdf = self.rdf.stored_check();
        Ok(Box::new(move |id, hash| Ok(listed(id, hash)? && in_rdf(id, hash)?)))
    }

    fn record_failures(&mut self, failures: &[DocumentError]) -> Result<(), StoreError> {
        self.counts.failed += failures.len();
        self.runlog.record_failures(&self.run.id, failures)
    }
}
