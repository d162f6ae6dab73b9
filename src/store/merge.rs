//! Merging shard stores (`kgx merge`): the stores of `kgx extract --shard
//! I/N` processes -> one store, as one run over the whole corpus makes it.
//!
//! Takes: a target store directory (created if missing) and shard store
//! directories. Gives: every shard's document and run graphs in the target
//! (a document graph the target already holds is replaced), the shards'
//! run-log rows (runs, documents, and the entity index's names), then the
//! entity graph rebuilt from the merged index ([`super::entities`]).
//! Invariants: holds the target's writer lock and each shard's lock while
//! reading it; a shard's own entity graph is never copied (the merged
//! index decides the entities), so the merged store is the same whatever
//! the number of shards and the order they are given in.

use std::path::{Path, PathBuf};

use oxigraph::model::{GraphName, NamedNode, Quad};
use oxigraph::store::{StorageError, Store};

use super::lock::StoreLock;
use super::rdf::RdfStore;
use super::runlog::RunLog;
use super::StoreError;

/// What a merge did.
#[derive(Debug, Default, Clone, Copy)]
pub struct MergeStats {
    pub shards: usize,
    pub documents: usize,
    pub quads: usize,
    pub entities: usize,
    pub linked: usize,
}

/// Merges `shards` into `target` (see the module header).
pub fn merge(target: &Path, base: &str, shards: &[PathBuf]) -> Result<MergeStats, StoreError> {
    std::fs::create_dir_all(target).map_err(|e| StoreError::io(target, "cannot create", e))?;
    let _lock = StoreLock::acquire(target, "merge")?;
    let rdf = RdfStore::open(target, base)?;
    let runlog = RunLog::open(target)?;
    let entity_graph = NamedNode::new_unchecked(rdf.iris().entity_graph());
    let mut stats = MergeStats::default();
    for shard in shards {
        if !shard.join("oxigraph").is_dir() || !shard.join("runlog.sqlite").is_file() {
            return Err(StoreError::Missing { dir: shard.clone() });
        }
        let _shard_lock = StoreLock::acquire(shard, "merge")?;
        let from = Store::open(shard.join("oxigraph")).map_err(|e| StoreError::rdf(shard, e))?;
        // A document graph the target holds is replaced, as a rerun replaces it.
        for graph in from.named_graphs() {
            let graph = graph.map_err(|e| StoreError::rdf(shard, e))?;
            if graph.as_ref() != entity_graph.as_ref().into() {
                rdf.store().remove_named_graph(graph.as_ref()).map_err(|e| StoreError::rdf(target, e))?;
            }
        }
        let mut loader = rdf.store().bulk_loader().with_num_threads(1).with_max_memory_size_in_megabytes(256);
        let mut quads = 0;
        let keep = |q: &Result<Quad, _>| !matches!(q, Ok(q) if q.graph_name == GraphName::NamedNode(entity_graph.clone()));
        loader
            .load_ok_quads::<StorageError, StorageError>(from.iter().filter(keep).inspect(|_| quads += 1))
            .map_err(|e| StoreError::rdf(shard, e))?;
        loader.commit().map_err(|e| StoreError::rdf(target, e))?;
        stats.quads += quads;
        stats.documents += runlog.absorb(&shard.join("runlog.sqlite"))?;
        stats.shards += 1;
    }
    let (entities, linked) = rdf.rebuild_entity_graph(&runlog)?;
    stats.entities = entities;
    stats.linked = linked;
    Ok(stats)
}
