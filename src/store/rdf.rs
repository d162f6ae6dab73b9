//! The Oxigraph side of the store: documents -> quads -> committed graphs.
//!
//! Takes: extracted documents and the run that made them. Gives: one named
//! graph per document (named by the document's IRI) holding the document
//! record, the sentences that gave triples, the asserted triples
//! `<source> <relation> <target>`, labels and types of their nodes, and one
//! reified extraction record per triple (`rdf:Statement` + PROV-O); plus
//! one graph per run describing the run and the model.
//! Invariants: a chunk is one transaction; a stored document is recognised
//! by `<doc> kgx:contentHash "<hash>"` in its own graph.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oxigraph::model::{GraphNameRef, Literal, LiteralRef, NamedNode, NamedNodeRef, Quad, QuadRef, TermRef};
use oxigraph::store::Store;
use rayon::prelude::*;

use super::vocab::{kgx, prov, rdf, rdfs, xsd, Iris};
use super::{RunInfo, StoreError};
use crate::pipeline::resolve::ArgumentEntity;
use crate::pipeline::{ExtractedDocument, StoredCheck, WriteStats};

pub struct RdfStore {
    store: Store,
    dir: PathBuf,
    iris: Iris,
    /// Entities known to be typed `kgx:Entity` in the store, so that one
    /// seen in an earlier chunk is not looked up again (each lookup pulls
    /// RocksDB blocks into its cache). Bounded by [`KNOWN_ENTITIES_CAP`].
    known_entities: HashSet<String>,
    /// The most threads the bulk loader may sort and write with (the cores).
    loader_threads: usize,
}

/// Quads a bulk-loader thread takes at the least: below this a chunk's
/// quads are one batch (each batch is one set of files RocksDB ingests and
/// then compacts, so small batches cost more than their threads save).
const LOADER_QUADS_PER_THREAD: usize = 40_000;

/// (threads, memory in MB) for the bulk loader on `quads` quads: one thread
/// a [`LOADER_QUADS_PER_THREAD`] quads, at most `max_threads`, each thread
/// one batch (Oxigraph cuts batches of memory x 1,000 / threads quads).
pub fn loader_layout(quads: usize, max_threads: usize) -> (usize, usize) {
    let threads = (quads / LOADER_QUADS_PER_THREAD).clamp(1, max_threads.max(1));
    let per_thread = quads.div_ceil(threads).max(1_000);
    (threads, (per_thread * threads).div_ceil(1_000))
}

/// At most this many known entities are remembered (a few MiB); past it,
/// entities not yet remembered are looked up in the store every chunk.
const KNOWN_ENTITIES_CAP: usize = 50_000;

fn node(iri: String) -> NamedNode {
    NamedNode::new_unchecked(iri)
}

fn typed(value: impl ToString, datatype: NamedNodeRef<'_>) -> Literal {
    Literal::new_typed_literal(value.to_string(), datatype)
}

impl RdfStore {
    /// Opens (creating if needed) the Oxigraph store under `dir/oxigraph`.
    pub fn open(dir: &Path, base: &str) -> Result<Self, StoreError> {
        lower_compaction_priority();
        let path = dir.join("oxigraph");
        let store = Store::open(&path).map_err(|e| StoreError::rdf(dir, e))?;
        let loader_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self { store, dir: dir.to_path_buf(), iris: Iris::new(base), known_entities: HashSet::new(), loader_threads })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn iris(&self) -> &Iris {
        &self.iris
    }

    /// Rebuilds the entity graph from `runlog`'s entity index
    /// ([`super::entities`]); returns (entities, names linked to another's entity).
    pub fn rebuild_entity_graph(&self, runlog: &super::runlog::RunLog) -> Result<(usize, usize), StoreError> {
        super::entities::rebuild(&self.store, runlog.connection(), &self.iris)
            .map_err(|source| StoreError::Rdf { dir: self.dir.clone(), source })
    }

    fn err(&self, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::rdf(&self.dir, e)
    }

    /// A thread-safe check of whether a document with this hash is stored.
    pub fn stored_check(&self) -> StoredCheck<StoreError> {
        let store = self.store.clone();
        let iris = self.iris.clone();
        let dir = self.dir.clone();
        Box::new(move |id, hash| {
            let doc = node(iris.document(id));
            let literal = Literal::new_simple_literal(hash);
            store
                .contains(QuadRef::new(&doc, kgx::CONTENT_HASH, &literal, GraphNameRef::NamedNode(doc.as_ref())))
                .map_err(|e| StoreError::rdf(&dir, e))
        })
    }

    /// Commits a chunk of documents (and, with `run`, the run's graph)
    /// atomically: through the bulk loader when every graph is new (its
    /// batches sorted and written on up to one thread a core, see
    /// [`loader_layout`]), else in one transaction that also drops the
    /// graphs being replaced.
    pub fn write(&mut self, chunk: &[ExtractedDocument], run: Option<&RunInfo>, run_id: &str) -> Result<WriteStats, StoreError> {
        let now = typed(crate::timestamp::now_rfc3339(), xsd::DATE_TIME);
        let mut stats = WriteStats { documents: chunk.len(), ..WriteStats::default() };
        let graphs: Vec<NamedNode> = chunk.iter().map(|d| node(self.iris.document(&d.document.id))).collect();
        for g in &graphs {
            if self.store.contains_named_graph(g.as_ref()).map_err(|e| self.err(e))? {
                stats.replaced += 1;
            }
        }
        let iris = &self.iris;
        // Each document's quads made on the worker threads, then in chunk order.
        let made: Vec<(Vec<Quad>, HashSet<String>, usize)> = chunk
            .par_iter()
            .map(|doc| {
                let (mut quads, mut named) = (Vec::new(), HashSet::new());
                let triples = document_quads(doc, iris, run_id, &now, &mut quads, &mut named);
                (quads, named, triples)
            })
            .collect();
        let mut entities: HashSet<String> = HashSet::new();
        let mut quads: Vec<Quad> = Vec::with_capacity(made.iter().map(|(q, ..)| q.len()).sum());
        for (document_quads, named, triples) in made {
            quads.extend(document_quads);
            entities.extend(named);
            stats.triples += triples;
        }
        quads.extend(run.map(|run| run_quads(run, iris)).into_iter().flatten());
        if stats.replaced == 0 {
            // Only new graphs: the bulk loader writes sorted files and ingests
            // them at commit, atomically, far faster than a transaction.
            let (threads, megabytes) = loader_layout(quads.len(), self.loader_threads);
            let mut loader = self.store.bulk_loader().with_num_threads(threads).with_max_memory_size_in_megabytes(megabytes);
            loader.load_quads(quads).map_err(|e| self.err(e))?;
            stats.new_entities = self.count_new_entities(&mut entities)?;
            loader.commit().map_err(|e| self.err(e))?;
        } else {
            stats.new_entities = self.count_new_entities(&mut entities)?;
            let mut tx = self.store.start_transaction().map_err(|e| self.err(e))?;
            for g in &graphs {
                tx.remove_named_graph(g.as_ref()).map_err(|e| self.err(e))?;
            }
            tx.extend(quads.iter());
            tx.commit().map_err(|e| self.err(e))?;
            // Dropped graphs may have held the only mention of a known entity.
            self.known_entities.clear();
        }
        let room = KNOWN_ENTITIES_CAP.saturating_sub(self.known_entities.len());
        self.known_entities.extend(entities.into_iter().take(room));
        Ok(stats)
    }

    /// How many of `entities` are not yet typed `kgx:Entity` in the store
    /// (before this chunk's commit); drops those remembered as known.
    fn count_new_entities(&self, entities: &mut HashSet<String>) -> Result<usize, StoreError> {
        entities.retain(|e| !self.known_entities.contains(e));
        let mut new = 0;
        for e in entities.iter() {
            let e = node(e.clone());
            match self.store.quads_for_pattern(Some(e.as_ref().into()), Some(rdf::TYPE), Some(kgx::ENTITY.into()), None).next() {
                None => new += 1,
                Some(Err(err)) => return Err(self.err(err)),
                Some(Ok(_)) => {}
            }
        }
        Ok(new)
    }
}

/// Runs RocksDB's compaction threads at the lowest CPU priority (nice 19).
///
/// Every chunk the bulk loader ingests overlaps what is stored (keys are
/// term hashes), so RocksDB compacts in the background throughout a run:
/// measured at ~10% of a run's CPU samples. On a machine the model keeps
/// busy, compaction should take idle time, not time from tagging; this is
/// RocksDB's own `Env::LowerThreadPoolCPUPriority` on the default Env, the
/// one Oxigraph opens its database with. Compaction still runs (and must:
/// ingestion stalls past RocksDB's L0 file limits until it catches up).
fn lower_compaction_priority() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: the default Env is a process-wide singleton; the wrapper
        // returned here is freed without freeing the Env (`is_default`).
        unsafe {
            let env = oxrocksdb_sys::rocksdb_create_default_env();
            if !env.is_null() {
                oxrocksdb_sys::rocksdb_env_lower_thread_pool_cpu_priority(env);
                oxrocksdb_sys::rocksdb_env_destroy(env);
            }
        }
    });
}

/// Appends the quads of one document; returns the number of triples.
fn document_quads(
    doc: &ExtractedDocument,
    iris: &Iris,
    run_id: &str,
    now: &Literal,
    out: &mut Vec<Quad>,
    entities: &mut HashSet<String>,
) -> usize {
    let doc_iri = iris.document(&doc.document.id);
    let g = node(doc_iri.clone());
    let run = node(iris.run(run_id));
    let mut add = |s: NamedNodeRef<'_>, p: NamedNodeRef<'_>, o: TermRef<'_>| out.push(QuadRef::new(s, p, o, &g).into_owned());
    let d = g.as_ref();
    add(d, rdf::TYPE, kgx::DOCUMENT_CLASS.into());
    add(d, kgx::DOCUMENT_ID, Literal::new_simple_literal(&doc.document.id).as_ref().into());
    add(d, kgx::SOURCE, Literal::new_simple_literal(&doc.document.source).as_ref().into());
    add(d, kgx::CONTENT_HASH, Literal::new_simple_literal(&doc.content_hash).as_ref().into());
    add(d, kgx::SENTENCE_COUNT, typed(doc.sentence_count, xsd::INTEGER).as_ref().into());
    add(d, prov::WAS_GENERATED_BY, run.as_ref().into());
    let mut triples = 0;
    // The entities this document's triples name.
    let mut named: HashSet<String> = HashSet::new();
    for es in doc.sentences.iter().filter(|s| !s.triples.is_empty()) {
        let s = &es.sentence;
        let sent = node(iris.sentence(&doc_iri, s.index));
        let sent = sent.as_ref();
        add(sent, rdf::TYPE, kgx::SENTENCE_CLASS.into());
        add(sent, kgx::DOCUMENT, d.into());
        add(sent, kgx::INDEX, typed(s.index, xsd::INTEGER).as_ref().into());
        add(sent, kgx::TEXT, Literal::new_simple_literal(&s.text).as_ref().into());
        add(sent, kgx::START, typed(s.start, xsd::INTEGER).as_ref().into());
        add(sent, kgx::END, typed(s.end, xsd::INTEGER).as_ref().into());
        for (k, triple) in es.triples.iter().enumerate() {
            let mint = |kind: &str, text: &str| crate::iri::mint(&iris.base, kind, text).and_then(|i| NamedNode::new(i).ok());
            let relation = if triple.form.words.is_empty() { triple.relation.text.clone() } else { triple.form.phrase() };
            let Some(rel) = mint("relation", &relation) else { continue };
            let (Some(src), Some(tgt)) =
                (entity_node(iris, &doc_iri, &triple.source_entity), entity_node(iris, &doc_iri, &triple.target_entity))
            else {
                continue;
            };
            triples += 1;
            for (n, label, local) in [&src, &tgt].into_iter().flatten() {
                if *local {
                    add(n.as_ref(), rdf::TYPE, kgx::DESCRIPTION.into());
                    add(n.as_ref(), kgx::DOCUMENT, d.into());
                    add(n.as_ref(), rdfs::LABEL, Literal::new_simple_literal(*label).as_ref().into());
                } else {
                    // Its labels and aliases are entity-level facts: the entity graph holds them.
                    named.insert(n.as_str().to_string());
                    add(n.as_ref(), rdf::TYPE, kgx::ENTITY.into());
                }
            }
            let rel = rel.as_ref();
            add(rel, rdf::TYPE, kgx::RELATION.into());
            add(rel, rdfs::LABEL, Literal::new_simple_literal(crate::iri::normalise(&relation)).as_ref().into());
            // A passive with its agent runs from the surface target; a denied relation is never asserted.
            let (src, tgt) = (src.as_ref().map(|(n, ..)| n.as_ref()), tgt.as_ref().map(|(n, ..)| n.as_ref()));
            let (subject, object) = if triple.form.inverted { (tgt, src) } else { (src, tgt) };
            if let (false, Some(subject), Some(object)) = (triple.form.negated, subject, object) {
                add(subject, rel, object.into());
            }
            let x = node(iris.extraction(sent.as_str(), k));
            let x = x.as_ref();
            add(x, rdf::TYPE, kgx::EXTRACTION.into());
            add(x, rdf::TYPE, rdf::STATEMENT.into());
            if let Some(subject) = subject {
                add(x, rdf::SUBJECT, subject.into());
            }
            add(x, rdf::PREDICATE, rel.into());
            if let Some(object) = object {
                add(x, rdf::OBJECT, object.into());
            }
            if subject.is_none() || object.is_none() {
                add(x, kgx::UNRESOLVED, LiteralRef::new_typed_literal("true", xsd::BOOLEAN).into());
            }
            for (property, m) in kgx::SPAN_TEXTS.iter().zip([&triple.source, &triple.relation, &triple.target]) {
                add(x, *property, Literal::new_simple_literal(&m.text).as_ref().into());
            }
            if triple.form.negated {
                add(x, kgx::NEGATED, LiteralRef::new_typed_literal("true", xsd::BOOLEAN).into());
            }
            if triple.form.inverted {
                add(x, kgx::INVERTED, LiteralRef::new_typed_literal("true", xsd::BOOLEAN).into());
            }
            if let Some(modal) = triple.form.modality {
                add(x, kgx::MODALITY, Literal::new_simple_literal(modal).as_ref().into());
            }
            add(x, kgx::SENTENCE, sent.into());
            add(x, kgx::CONFIDENCE, typed(format!("{:.6}", triple.confidence), xsd::DOUBLE).as_ref().into());
            for ((start, end), m) in kgx::SPAN_OFFSETS.iter().zip([&triple.source, &triple.relation, &triple.target]) {
                add(x, *start, typed(m.start, xsd::INTEGER).as_ref().into());
                add(x, *end, typed(m.end, xsd::INTEGER).as_ref().into());
            }
            add(x, prov::WAS_GENERATED_BY, run.as_ref().into());
            add(x, prov::GENERATED_AT_TIME, now.as_ref().into());
        }
    }
    entities.extend(named);
    triples
}

/// The node an argument stands for, its label and whether it is local to
/// the document: Some(None) for an unresolved pronoun (no node: the
/// extraction keeps its text, asserts nothing), None for text that names
/// nothing (no letter or digit).
fn entity_node<'e>(iris: &Iris, doc_iri: &str, entity: &'e ArgumentEntity) -> Option<Option<(NamedNode, &'e str, bool)>> {
    let (iri, text, local) = match entity {
        // A name's node is that of its key: every spelling of the name, in every document, meets there.
        ArgumentEntity::Shared(text) => (iris.entity(&crate::canon::name::key(text)?), text, false),
        // A description is a node of its document only.
        ArgumentEntity::Local(text) => (crate::iri::mint(&format!("{doc_iri}/"), "entity", text)?, text, true),
        ArgumentEntity::Unresolved => return Some(None),
    };
    NamedNode::new(iri).ok().map(|n| Some((n, text.as_str(), local)))
}

fn run_quads(run: &RunInfo, iris: &Iris) -> Vec<Quad> {
    let mut out = Vec::new();
    let r = node(iris.run(&run.id));
    let r = r.as_ref();
    let mut add = |s: NamedNodeRef<'_>, p: NamedNodeRef<'_>, o: TermRef<'_>| out.push(QuadRef::new(s, p, o, r).into_owned());
    add(r, rdf::TYPE, prov::ACTIVITY.into());
    add(r, rdf::TYPE, kgx::RUN.into());
    add(r, prov::STARTED_AT_TIME, typed(&run.started_at, xsd::DATE_TIME).as_ref().into());
    add(r, kgx::DEVICE, Literal::new_simple_literal(&run.device).as_ref().into());
    add(r, kgx::PROVIDER, Literal::new_simple_literal(&run.provider).as_ref().into());
    // The tagger (prov:used) and, when one ran, the coreference model.
    let coreference = run.coreference.as_ref().map(|(name, precision)| (kgx::COREFERENCE_MODEL, name, precision));
    for (link, name, precision) in std::iter::once((prov::USED, &run.model_name, &run.precision)).chain(coreference) {
        let model = node(iris.model(name, precision));
        let model = model.as_ref();
        add(r, link, model.into());
        add(model, rdf::TYPE, kgx::MODEL.into());
        add(model, rdf::TYPE, prov::ENTITY.into());
        add(model, rdfs::LABEL, Literal::new_simple_literal(name).as_ref().into());
        add(model, kgx::PRECISION, Literal::new_simple_literal(precision).as_ref().into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_takes_one_thread_a_batch_of_enough_quads_up_to_the_cores() {
        // A CPU chunk (~20k quads) is one batch on one thread, whatever the cores.
        assert_eq!(loader_layout(20_000, 16), (1, 20));
        // A CUDA chunk (~80k quads): two threads of 40k, each one batch (memory x 1,000 / threads).
        assert_eq!(loader_layout(80_000, 2), (2, 80));
        assert_eq!(loader_layout(330_000, 16), (8, 330));
        assert_eq!(loader_layout(330_000, 2), (2, 330));
        for (quads, cores) in [(0, 1), (1, 0), (999, 4), (1_234_567, 3)] {
            let (threads, megabytes) = loader_layout(quads, cores);
            assert!(threads >= 1 && threads <= cores.max(1));
            assert!(megabytes * 1_000 / threads >= quads.div_ceil(threads), "{quads} quads: one batch a thread");
        }
    }
}
