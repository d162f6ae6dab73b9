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

use oxigraph::model::{GraphNameRef, Literal, NamedNode, NamedNodeRef, Quad, QuadRef, TermRef};
use oxigraph::store::Store;

use super::vocab::{kgx, Iris, PROV, RDF, RDFS, XSD};
use super::{ExtractedDocument, StoreError, WriteStats};

/// What a run is, as recorded in the store and the run log.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub id: String,
    pub started_at: String,
    pub model_name: String,
    pub precision: String,
    pub device: String,
    pub provider: String,
}

pub struct RdfStore {
    store: Store,
    dir: PathBuf,
    iris: Iris,
    /// Entities known to be typed `kgx:Entity` in the store, so that one
    /// seen in an earlier chunk is not looked up again (each lookup pulls
    /// RocksDB blocks into its cache). Bounded by [`KNOWN_ENTITIES_CAP`].
    known_entities: HashSet<String>,
}

/// At most this many known entities are remembered (a few MiB); past it,
/// entities not yet remembered are looked up in the store every chunk.
const KNOWN_ENTITIES_CAP: usize = 50_000;

fn node(iri: String) -> NamedNode {
    NamedNode::new_unchecked(iri)
}

fn typed(value: impl ToString, datatype: &NamedNode) -> Literal {
    Literal::new_typed_literal(value.to_string(), datatype.clone())
}

/// Every predicate, class and datatype kgx writes, built once per chunk
/// rather than once per quad.
struct Terms {
    rdf_type: NamedNode,
    label: NamedNode,
    subject: NamedNode,
    predicate: NamedNode,
    object: NamedNode,
    statement: NamedNode,
    generated_by: NamedNode,
    generated_at: NamedNode,
    content_hash: NamedNode,
    integer: NamedNode,
    double: NamedNode,
    date_time: NamedNode,
    document_class: NamedNode,
    document_id: NamedNode,
    source: NamedNode,
    sentence_count: NamedNode,
    sentence_class: NamedNode,
    document: NamedNode,
    index: NamedNode,
    text: NamedNode,
    start: NamedNode,
    end: NamedNode,
    entity_class: NamedNode,
    relation_class: NamedNode,
    extraction_class: NamedNode,
    sentence: NamedNode,
    confidence: NamedNode,
    /// (start, end) predicates for source, relation and target.
    span_offsets: [(NamedNode, NamedNode); 3],
}

impl Terms {
    fn new() -> Self {
        let k = |local: &str| node(kgx(local));
        let span = |role: &str| (k(&format!("{role}Start")), k(&format!("{role}End")));
        Self {
            rdf_type: node(format!("{RDF}type")),
            label: node(format!("{RDFS}label")),
            subject: node(format!("{RDF}subject")),
            predicate: node(format!("{RDF}predicate")),
            object: node(format!("{RDF}object")),
            statement: node(format!("{RDF}Statement")),
            generated_by: node(format!("{PROV}wasGeneratedBy")),
            generated_at: node(format!("{PROV}generatedAtTime")),
            content_hash: k("contentHash"),
            integer: node(format!("{XSD}integer")),
            double: node(format!("{XSD}double")),
            date_time: node(format!("{XSD}dateTime")),
            document_class: k("Document"),
            document_id: k("documentId"),
            source: k("source"),
            sentence_count: k("sentenceCount"),
            sentence_class: k("Sentence"),
            document: k("document"),
            index: k("index"),
            text: k("text"),
            start: k("start"),
            end: k("end"),
            entity_class: k("Entity"),
            relation_class: k("Relation"),
            extraction_class: k("Extraction"),
            sentence: k("sentence"),
            confidence: k("confidence"),
            span_offsets: [span("source"), span("relation"), span("target")],
        }
    }
}

impl RdfStore {
    /// Opens (creating if needed) the Oxigraph store under `dir/oxigraph`.
    pub fn open(dir: &Path, base: &str) -> Result<Self, StoreError> {
        lower_compaction_priority();
        let path = dir.join("oxigraph");
        let store = Store::open(&path).map_err(|e| StoreError::Rdf { dir: dir.to_path_buf(), message: e.to_string() })?;
        Ok(Self { store, dir: dir.to_path_buf(), iris: Iris::new(base), known_entities: HashSet::new() })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Rdf { dir: self.dir.clone(), message: e.to_string() }
    }

    /// A thread-safe check of whether a document with this hash is stored.
    pub fn stored_check(&self) -> super::StoredCheck {
        let store = self.store.clone();
        let iris = self.iris.clone();
        let dir = self.dir.clone();
        let content_hash = Terms::new().content_hash;
        Box::new(move |id, hash| {
            let doc = node(iris.document(id));
            let literal = Literal::new_simple_literal(hash);
            store
                .contains(QuadRef::new(&doc, &content_hash, &literal, GraphNameRef::NamedNode(doc.as_ref())))
                .map_err(|e| StoreError::Rdf { dir: dir.clone(), message: e.to_string() })
        })
    }

    /// Commits a chunk of documents (and, with `run`, the run's graph)
    /// atomically: through the bulk loader when every graph is new, else in
    /// one transaction that also drops the graphs being replaced.
    pub fn write(&mut self, chunk: &[ExtractedDocument], run: Option<&RunInfo>, run_id: &str) -> Result<WriteStats, StoreError> {
        let terms = Terms::new();
        let now = typed(crate::timestamp::now_rfc3339(), &terms.date_time);
        let mut stats = WriteStats { documents: chunk.len(), ..WriteStats::default() };
        let graphs: Vec<NamedNode> = chunk.iter().map(|d| node(self.iris.document(&d.document.id))).collect();
        for g in &graphs {
            if self.store.contains_named_graph(g.as_ref()).map_err(|e| self.err(e))? {
                stats.replaced += 1;
            }
        }
        let mut entities: HashSet<String> = HashSet::new();
        // Quads are made a document at a time as the store takes them, so a
        // chunk's quads exist once (in the loader), not also in a list here.
        let iris = &self.iris;
        let quads = chunk
            .iter()
            .flat_map(|doc| {
                let mut quads = Vec::new();
                stats.triples += document_quads(doc, iris, &terms, run_id, &now, &mut quads, &mut entities);
                quads
            })
            .chain(run.map(|run| run_quads(run, iris, &terms)).into_iter().flatten());
        if stats.replaced == 0 {
            // Only new graphs: the bulk loader writes sorted files and ingests
            // them at commit, atomically, far faster than a transaction.
            let mut loader = self.store.bulk_loader().with_num_threads(1).with_max_memory_size_in_megabytes(256);
            loader.load_quads(quads).map_err(|e| self.err(e))?;
            stats.new_entities = self.count_new_entities(&mut entities, &terms)?;
            loader.commit().map_err(|e| self.err(e))?;
        } else {
            let quads: Vec<Quad> = quads.collect();
            stats.new_entities = self.count_new_entities(&mut entities, &terms)?;
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
    fn count_new_entities(&self, entities: &mut HashSet<String>, terms: &Terms) -> Result<usize, StoreError> {
        entities.retain(|e| !self.known_entities.contains(e));
        let mut new = 0;
        for e in entities.iter() {
            let e = node(e.clone());
            match self.store.quads_for_pattern(Some(e.as_ref().into()), Some(terms.rdf_type.as_ref()), Some(terms.entity_class.as_ref().into()), None).next() {
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
fn document_quads(doc: &ExtractedDocument, iris: &Iris, t: &Terms, run_id: &str, now: &Literal, out: &mut Vec<Quad>, entities: &mut HashSet<String>) -> usize {
    let doc_iri = iris.document(&doc.document.id);
    let g = node(doc_iri.clone());
    let run = node(iris.run(run_id));
    let mut add = |s: &NamedNode, p: &NamedNode, o: TermRef<'_>| out.push(QuadRef::new(s, p, o, &g).into_owned());
    let d = &g;
    add(d, &t.rdf_type, t.document_class.as_ref().into());
    add(d, &t.document_id, Literal::new_simple_literal(&doc.document.id).as_ref().into());
    add(d, &t.source, Literal::new_simple_literal(&doc.document.source).as_ref().into());
    add(d, &t.content_hash, Literal::new_simple_literal(&doc.content_hash).as_ref().into());
    add(d, &t.sentence_count, typed(doc.sentence_count, &t.integer).as_ref().into());
    add(d, &t.generated_by, run.as_ref().into());
    let mut triples = 0;
    for es in doc.sentences.iter().filter(|s| !s.triples.is_empty()) {
        let s = &es.sentence;
        let sent = node(iris.sentence(&doc_iri, s.index));
        add(&sent, &t.rdf_type, t.sentence_class.as_ref().into());
        add(&sent, &t.document, d.as_ref().into());
        add(&sent, &t.index, typed(s.index, &t.integer).as_ref().into());
        add(&sent, &t.text, Literal::new_simple_literal(&s.text).as_ref().into());
        add(&sent, &t.start, typed(s.start, &t.integer).as_ref().into());
        add(&sent, &t.end, typed(s.end, &t.integer).as_ref().into());
        for (k, triple) in es.triples.iter().enumerate() {
            let mint = |kind: &str, text: &str| crate::iri::mint(&iris.base, kind, text).and_then(|i| NamedNode::new(i).ok());
            let (Some(src), Some(rel), Some(tgt)) = (mint("entity", &triple.source.text), mint("relation", &triple.relation.text), mint("entity", &triple.target.text)) else {
                continue;
            };
            triples += 1;
            entities.insert(src.as_str().to_string());
            entities.insert(tgt.as_str().to_string());
            add(&src, &t.rdf_type, t.entity_class.as_ref().into());
            add(&src, &t.label, Literal::new_simple_literal(&triple.source.text).as_ref().into());
            add(&tgt, &t.rdf_type, t.entity_class.as_ref().into());
            add(&tgt, &t.label, Literal::new_simple_literal(&triple.target.text).as_ref().into());
            add(&rel, &t.rdf_type, t.relation_class.as_ref().into());
            add(&rel, &t.label, Literal::new_simple_literal(&triple.relation.text).as_ref().into());
            add(&src, &rel, tgt.as_ref().into());
            let x = node(iris.extraction(sent.as_str(), k));
            add(&x, &t.rdf_type, t.extraction_class.as_ref().into());
            add(&x, &t.rdf_type, t.statement.as_ref().into());
            add(&x, &t.subject, src.as_ref().into());
            add(&x, &t.predicate, rel.as_ref().into());
            add(&x, &t.object, tgt.as_ref().into());
            add(&x, &t.sentence, sent.as_ref().into());
            add(&x, &t.confidence, typed(format!("{:.6}", triple.confidence), &t.double).as_ref().into());
            for ((start, end), m) in t.span_offsets.iter().zip([&triple.source, &triple.relation, &triple.target]) {
                add(&x, start, typed(m.start, &t.integer).as_ref().into());
                add(&x, end, typed(m.end, &t.integer).as_ref().into());
            }
            add(&x, &t.generated_by, run.as_ref().into());
            add(&x, &t.generated_at, now.as_ref().into());
        }
    }
    triples
}

fn run_quads(run: &RunInfo, iris: &Iris, t: &Terms) -> Vec<Quad> {
    let mut out = Vec::new();
    let r = node(iris.run(&run.id));
    let model = node(iris.model(&run.model_name, &run.precision));
    let g = r.clone();
    let mut add = |s: &NamedNode, p: NamedNodeRef<'_>, o: TermRef<'_>| out.push(QuadRef::new(s, p, o, &g).into_owned());
    add(&r, t.rdf_type.as_ref(), node(format!("{PROV}Activity")).as_ref().into());
    add(&r, t.rdf_type.as_ref(), node(kgx("Run")).as_ref().into());
    add(&r, node(format!("{PROV}startedAtTime")).as_ref(), typed(&run.started_at, &t.date_time).as_ref().into());
    add(&r, node(format!("{PROV}used")).as_ref(), model.as_ref().into());
    add(&r, node(kgx("device")).as_ref(), Literal::new_simple_literal(&run.device).as_ref().into());
    add(&r, node(kgx("provider")).as_ref(), Literal::new_simple_literal(&run.provider).as_ref().into());
    add(&model, t.rdf_type.as_ref(), node(kgx("Model")).as_ref().into());
    add(&model, t.rdf_type.as_ref(), node(format!("{PROV}Entity")).as_ref().into());
    add(&model, t.label.as_ref(), Literal::new_simple_literal(&run.model_name).as_ref().into());
    add(&model, node(kgx("precision")).as_ref(), Literal::new_simple_literal(&run.precision).as_ref().into());
    out
}
