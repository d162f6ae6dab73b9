//! The persistent store: extracted documents -> a kgx store directory.
//!
//! Takes: [`crate::pipeline::ExtractedDocument`]s, a chunk at a time,
//! through [`sink::StoreSink`], the pipeline's [`crate::pipeline::Sink`]
//! for a store. Gives: the chunk committed atomically to the Oxigraph store
//! ([`rdf`]) and then recorded in the SQLite run log ([`runlog`]); [`lock`]
//! keeps one process on a store at a time; [`vocab`] names what is written;
//! [`entities`] rebuilds the entity graph; [`merge`] joins shard stores;
//! [`pushlog`] remembers what each SPARQL server last acknowledged;
//! [`snapshot`] publishes committed states that readers use while a run writes.
//! The writer's own parallelism lives here and nowhere else in the store:
//! a chunk's quads are made on rayon's threads and sorted and written by
//! the bulk loader on one thread a 40,000 quads ([`rdf`]), while the run
//! log writes its rows on a thread beside them ([`sink`]).
//! Invariants: a chunk is all-or-nothing in the RDF store; a document's
//! quads all live in its own named graph, so replacing a changed document
//! is clearing one graph; a document is skipped as already stored only when
//! the run log lists it with the same content hash *and* its graph holds
//! that hash (the log is asked first, so new documents never read RocksDB).

pub mod entities;
pub mod lock;
pub mod merge;
pub mod pushlog;
pub mod rdf;
pub mod runlog;
pub mod sink;
pub mod snapshot;
pub mod vocab;

use std::error::Error;
use std::path::{Path, PathBuf};

/// What a run is, as recorded in the store and the run log.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub id: String,
    pub started_at: String,
    pub model_name: String,
    pub precision: String,
    pub device: String,
    pub provider: String,
    /// The coreference model's name and precision, when one ran.
    pub coreference: Option<(String, String)>,
}

/// What went wrong with a store, naming it; the cause is the error's source.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {dir} is in use by another kgx process ({holder}); wait for it to finish")]
    Locked { dir: PathBuf, holder: String },
    #[error("store {dir} does not exist (create it with `kgx extract --store {dir} ...`)")]
    Missing { dir: PathBuf },
    #[error("store {dir}: {action}")]
    Io { dir: PathBuf, action: String, source: std::io::Error },
    #[error("RDF store {dir}")]
    Rdf { dir: PathBuf, source: Box<dyn Error + Send + Sync> },
    #[error("run log {path}")]
    RunLog { path: PathBuf, source: rusqlite::Error },
}

impl StoreError {
    pub fn io(dir: &Path, action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { dir: dir.to_path_buf(), action: action.into(), source }
    }

    /// An error of the Oxigraph store under `dir`.
    pub fn rdf(dir: &Path, source: impl Error + Send + Sync + 'static) -> Self {
        Self::Rdf { dir: dir.to_path_buf(), source: Box::new(source) }
    }
}
