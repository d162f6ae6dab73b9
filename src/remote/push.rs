//! Pushing a store's named graphs into a SPARQL server (`kgx push`).
//!
//! Takes: an open store, the push log's rows for the server
//! ([`crate::store::pushlog`]), an [`Endpoint`] and [`PushOptions`]. Gives:
//! each named graph of the store on the server, replaced whole, never added
//! to; graphs the log lists that the store no longer holds deleted; counts.
//! Invariants: a graph is identified by the SHA-256 of its N-Triples in
//! store order; one whose hash the server acknowledged last time is not
//! sent (unless `resend_all`); a graph is marked in flight, committed,
//! before its request leaves, and acknowledged only after the server
//! answered 2xx, so a push killed at any point and run again leaves the
//! server holding exactly the store's graphs.
//! Threads: the calling thread reads the store, hashes, batches and owns
//! the push log; `jobs` worker threads send requests. A graph larger than
//! `part_bytes` (with Update, over [`UPDATE_PART_TRIPLES`] triples) is not
//! sent whole: its worker reads it from the store again in parts (the first
//! replaces the graph, the others add to it).

use std::io::Write;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use oxigraph::model::{GraphNameRef, NamedNode, NamedNodeRef, TripleRef};
use oxigraph::store::{StorageError, Store};
use sha2::{Digest, Sha256};

use super::endpoint::Endpoint;
use super::RemoteError;
use crate::store::pushlog::PushLog;
use crate::store::StoreError;

/// The most triples one `INSERT DATA` carries: Virtuoso 7's SPARQL
/// compiler runs out of memory (SP030, answered 400) at about 5,000.
pub const UPDATE_PART_TRIPLES: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMethod {
    /// The faster one measured for the server (bench/push.sh): gsp for
    /// Virtuoso's URL layout, update for any other.
    Auto,
    GraphStore,
    Update,
}

crate::choice::choices!(PushMethod {
    Auto => "auto", "gsp for Virtuoso's .../sparql[-auth] (measured 1.7x faster there), else update (faster on Oxigraph)";
    Update => "update", "SPARQL 1.1 Update: DROP SILENT GRAPH + INSERT DATA pairs, several graphs a request";
    GraphStore => "gsp", "Graph Store HTTP Protocol: a PUT per graph (DELETE for a gone one)";
});

/// Which of the store's graphs a push is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphSelection {
    All,
    Documents,
    Entities,
}

crate::choice::choices!(GraphSelection {
    All => "all", "every named graph";
    Documents => "documents", "all but the entity graph (a shard's own part, pushed side by side with the others)";
    Entities => "entities", "only the entity graph (from the store `kgx merge` made of the shards)";
});

#[derive(Debug, Clone)]
pub struct PushOptions {
    pub method: PushMethod,
    /// Requests in flight.
    pub jobs: usize,
    /// Update: N-Triples bytes gathered into one request.
    pub batch_bytes: usize,
    /// A graph larger than this is sent in parts of about this size.
    pub part_bytes: usize,
    /// Send every graph, whatever the push log says.
    pub resend_all: bool,
    /// Count what would be sent and deleted; send nothing, log nothing.
    pub dry_run: bool,
    /// The graphs pushed (and deleted when gone); others are left alone.
    pub graphs: GraphSelection,
    /// The store's entity graph (see [`crate::store::vocab::Iris::entity_graph`]).
    pub entity_graph: String,
}

impl PushOptions {
    /// A part's limits: (bytes, triples).
    fn part_limits(&self) -> (usize, usize) {
        match self.method {
            PushMethod::Update => (self.part_bytes, UPDATE_PART_TRIPLES),
            PushMethod::GraphStore | PushMethod::Auto => (self.part_bytes, usize::MAX),
        }
    }

    /// Whether `graph` is one of the graphs this push is about.
    pub fn selects(&self, graph: &str) -> bool {
        match self.graphs {
            GraphSelection::All => true,
            GraphSelection::Documents => graph != self.entity_graph,
            GraphSelection::Entities => graph == self.entity_graph,
        }
    }
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            method: PushMethod::Auto,
            jobs: 4,
            batch_bytes: 1 << 20,
            part_bytes: 32 << 20,
            resend_all: false,
            dry_run: false,
            graphs: GraphSelection::All,
            entity_graph: crate::store::vocab::Iris::new(crate::store::vocab::DEFAULT_BASE).entity_graph(),
        }
    }
}

/// What a push did (or, dry, would do).
#[derive(Debug, Clone, Copy, Default)]
pub struct PushStats {
    /// Named graphs in the store.
    pub graphs: u64,
    pub sent: u64,
    pub unchanged: u64,
    pub deleted: u64,
    /// Quads (as triples of their graphs) and N-Triples bytes sent.
    pub quads: u64,
    pub bytes: u64,
    pub requests: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("pushing {what} to the server")]
    Send { what: String, source: Box<RemoteError> },
    #[error("reading the store")]
    Read(#[from] StorageError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a push worker thread panicked")]
    Panicked,
}

/// What a worker does.
enum Work {
    /// A graph held whole: replace it with these N-Triples.
    Graph {
        graph: String,
        ntriples: Vec<u8>,
    },
    /// An Update request of several graphs.
    Update {
        body: Vec<u8>,
    },
    /// A graph over `part_bytes`: the worker reads it in parts.
    Parts {
        graph: String,
    },
    Delete {
        graph: String,
    },
}

struct Job {
    work: Work,
    /// graph -> hash sent (None: deleted), recorded when the job succeeds.
    acks: Vec<(String, Option<String>)>,
    quads: u64,
}

struct Done {
    acks: Vec<(String, Option<String>)>,
    quads: u64,
    bytes: u64,
    requests: u64,
}

/// The N-Triples of one graph, hashed, and held while under a limit.
struct GraphText {
    hasher: Sha256,
    held: Vec<u8>,
    limit: usize,
    over: bool,
}

impl Write for GraphText {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(bytes);
        if !self.over {
            if self.held.len() + bytes.len() > self.limit {
                self.over = true;
                self.held = Vec::new();
            } else {
                self.held.extend_from_slice(bytes);
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `graph`'s triples as N-Triples lines, in store order.
fn graph_lines<'a>(store: &'a Store, graph: NamedNodeRef<'a>) -> impl Iterator<Item = Result<String, StorageError>> + 'a {
    store
        .quads_for_pattern(None, None, None, Some(GraphNameRef::NamedNode(graph)))
        .map(|q| q.map(|q| format!("{} .\n", TripleRef::new(&q.subject, &q.predicate, &q.object))))
}

/// Hands `graph`'s N-Triples to `send` in parts of a little over
/// `part_bytes` or of `part_triples` triples, whichever comes first
/// (`first` true for the first part; an empty graph is one empty part);
/// returns the parts sent.
fn send_in_parts<E: From<StorageError>>(
    store: &Store,
    graph: NamedNodeRef<'_>,
    (part_bytes, part_triples): (usize, usize),
    mut send: impl FnMut(&[u8], bool) -> Result<(), E>,
) -> Result<u64, E> {
    let (mut part, mut triples, mut sent) = (Vec::new(), 0, 0);
    for line in graph_lines(store, graph) {
        part.extend_from_slice(line?.as_bytes());
        triples += 1;
        if part.len() >= part_bytes || triples >= part_triples {
            send(&part, sent == 0)?;
            part.clear();
            triples = 0;
            sent += 1;
        }
    }
    if sent == 0 || !part.is_empty() {
        send(&part, sent == 0)?;
        sent += 1;
    }
    Ok(sent)
}

/// `DROP SILENT GRAPH <g> ; INSERT DATA { GRAPH <g> { ... } }` (without the DROP when adding a part).
fn update_pair(graph: &str, ntriples: &[u8], replace: bool, out: &mut Vec<u8>) {
    if !out.is_empty() {
        out.extend_from_slice(b" ;\n");
    }
    if replace {
        out.extend_from_slice(format!("DROP SILENT GRAPH <{graph}> ;\n").as_bytes());
    }
    out.extend_from_slice(format!("INSERT DATA {{ GRAPH <{graph}> {{\n").as_bytes());
    out.extend_from_slice(ntriples);
    out.extend_from_slice(b"} }");
}

struct Worker<'a> {
    store: &'a Store,
    endpoint: &'a Endpoint,
    options: &'a PushOptions,
}

impl Worker<'_> {
    /// One request: `graph` replaced by (`replace`) or given these N-Triples.
    fn send_graph_text(&self, graph: &str, ntriples: &[u8], replace: bool) -> Result<(), RemoteError> {
        match self.options.method {
            PushMethod::Update => {
                let mut body = Vec::with_capacity(ntriples.len() + 200);
                update_pair(graph, ntriples, replace, &mut body);
                self.endpoint.update(&body)
            }
            PushMethod::GraphStore | PushMethod::Auto => self.endpoint.send_graph(graph, ntriples, replace),
        }
    }

    fn run(&self, job: Job) -> Result<Done, PushError> {
        let mut done = Done { acks: Vec::new(), quads: job.quads, bytes: 0, requests: 0 };
        let send = |e: RemoteError, what: &str| PushError::Send { what: what.to_string(), source: Box::new(e) };
        match &job.work {
            Work::Graph { graph, ntriples } => {
                done.bytes = ntriples.len() as u64;
                self.send_graph_text(graph, ntriples, true).map_err(|e| send(e, &format!("graph <{graph}>")))?;
                done.requests = 1;
            }
            Work::Update { body } => {
                done.bytes = body.len() as u64;
                let what = match job.acks.as_slice() {
                    [(only, _)] => format!("graph <{only}>"),
                    [(first, _), rest @ ..] => format!("graph <{first}> and {} more in one request", rest.len()),
                    [] => "an empty request".to_string(),
                };
                self.endpoint.update(body).map_err(|e| send(e, &what))?;
                done.requests = 1;
            }
            Work::Delete { graph } => {
                match self.options.method {
                    PushMethod::Update => self.endpoint.update(format!("DROP SILENT GRAPH <{graph}>").as_bytes()),
                    PushMethod::GraphStore | PushMethod::Auto => self.endpoint.delete_graph(graph),
                }
                .map_err(|e| send(e, &format!("the deletion of graph <{graph}>")))?;
                done.requests = 1;
            }
            Work::Parts { graph } => {
                let node = NamedNode::new_unchecked(graph.clone());
                let mut part_number = 0;
                send_in_parts(self.store, node.as_ref(), self.options.part_limits(), |part, first| {
                    part_number += 1;
                    self.send_graph_text(graph, part, first).map_err(|e| send(e, &format!("part {part_number} of graph <{graph}>")))?;
                    done.bytes += part.len() as u64;
                    Ok::<(), PushError>(())
                })?;
                done.requests = part_number;
            }
        }
        done.acks = job.acks;
        Ok(done)
    }
}

/// Pushes `store` to `endpoint` (see the module header); `progress` hears
/// of each acknowledged job.
pub fn push(
    store: &Store,
    log: &PushLog<'_>,
    endpoint: &Endpoint,
    options: &PushOptions,
    progress: &mut dyn FnMut(&PushStats),
) -> Result<PushStats, PushError> {
    let mut options = options.clone();
    if options.method == PushMethod::Auto {
        options.method = if endpoint.is_virtuoso_layout() { PushMethod::GraphStore } else { PushMethod::Update };
    }
    let options = &options;
    let mut stats = PushStats::default();
    let worker = Worker { store, endpoint, options };
    std::thread::scope(|scope| {
        let (job_tx, job_rx) = bounded::<Job>(options.jobs.max(1) * 2);
        let (done_tx, done_rx) = unbounded::<Result<Done, PushError>>();
        for _ in 0..options.jobs.max(1) {
            let (job_rx, done_tx, worker) = (job_rx.clone(), done_tx.clone(), &worker);
            scope.spawn(move || {
                for job in job_rx {
                    if done_tx.send(worker.run(job)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((job_rx, done_tx));
        let mut dispatch = Dispatch { log, stats: &mut stats, progress, job_tx: Some(job_tx), done_rx, failure: None };
        let planned = plan(store, log, options, &mut dispatch);
        dispatch.finish(planned)
    })?;
    Ok(stats)
}

/// The calling thread's side: sends jobs, records what comes back.
struct Dispatch<'a, 'p> {
    log: &'a PushLog<'a>,
    stats: &'a mut PushStats,
    progress: &'p mut dyn FnMut(&PushStats),
    job_tx: Option<Sender<Job>>,
    done_rx: Receiver<Result<Done, PushError>>,
    failure: Option<PushError>,
}

impl Dispatch<'_, '_> {
    /// Marks the job's graphs in flight, then hands it to a worker; false
    /// once a job has failed (nothing more is sent).
    fn send(&mut self, job: Job) -> Result<bool, PushError> {
        self.collect(false)?;
        if self.failure.is_some() {
            return Ok(false);
        }
        self.log.mark_in_flight(job.acks.iter().map(|(g, _)| g.as_str()))?;
        match &self.job_tx {
            Some(tx) => Ok(tx.send(job).is_ok()),
            None => Ok(false),
        }
    }

    /// Records finished jobs; with `wait`, until every worker has stopped.
    fn collect(&mut self, wait: bool) -> Result<(), PushError> {
        loop {
            let next = if wait { self.done_rx.recv().ok() } else { self.done_rx.try_recv().ok() };
            let Some(result) = next else { return Ok(()) };
            match result {
                Ok(done) => {
                    self.log.acknowledge(done.acks.iter().map(|(g, h)| (g.as_str(), h.as_deref())))?;
                    for (_, hash) in &done.acks {
                        if hash.is_some() {
                            self.stats.sent += 1;
                        } else {
                            self.stats.deleted += 1;
                        }
                    }
                    self.stats.quads += done.quads;
                    self.stats.bytes += done.bytes;
                    self.stats.requests += done.requests;
                    (self.progress)(self.stats);
                }
                Err(e) => {
                    self.failure.get_or_insert(e);
                }
            }
        }
    }

    fn finish(mut self, planned: Result<(), PushError>) -> Result<(), PushError> {
        self.job_tx = None;
        let collected = self.collect(true);
        match (planned, self.failure.take(), collected) {
            (Err(e), _, _) | (Ok(()), Some(e), _) | (Ok(()), None, Err(e)) => Err(e),
            (Ok(()), None, Ok(())) => Ok(()),
        }
    }
}

/// Reads the store graph by graph, deciding what to send, then what to delete.
fn plan(store: &Store, log: &PushLog<'_>, options: &PushOptions, dispatch: &mut Dispatch<'_, '_>) -> Result<(), PushError> {
    let mut batch = Batch::default();
    for graph in store.named_graphs() {
        let oxigraph::model::NamedOrBlankNode::NamedNode(graph) = graph? else { continue };
        if !options.selects(graph.as_str()) {
            continue;
        }
        dispatch.stats.graphs += 1;
        let mut text = GraphText { hasher: Sha256::new(), held: Vec::new(), limit: options.part_bytes, over: false };
        let mut quads = 0;
        for line in graph_lines(store, graph.as_ref()) {
            text.write_all(line?.as_bytes()).map_err(StorageError::Io)?;
            quads += 1;
        }
        let hash = format!("sha256:{:x}", text.hasher.finalize_reset());
        if !options.resend_all && log.acknowledged(graph.as_str())?.as_deref() == Some(hash.as_str()) {
            dispatch.stats.unchanged += 1;
            (dispatch.progress)(dispatch.stats);
            continue;
        }
        if options.dry_run {
            dispatch.stats.sent += 1;
            dispatch.stats.quads += quads;
            continue;
        }
        let acks = vec![(graph.as_str().to_string(), Some(hash))];
        let job = if text.over || quads as usize > options.part_limits().1 {
            Job { work: Work::Parts { graph: graph.into_string() }, acks, quads }
        } else if options.method == PushMethod::Update {
            update_pair(graph.as_str(), &text.held, true, &mut batch.body);
            batch.acks.extend(acks);
            batch.quads += quads;
            if batch.body.len() < options.batch_bytes {
                continue;
            }
            batch.take()
        } else {
            Job { work: Work::Graph { graph: graph.into_string(), ntriples: text.held }, acks, quads }
        };
        if !dispatch.send(job)? {
            return Ok(());
        }
    }
    if !batch.acks.is_empty() && !dispatch.send(batch.take())? {
        return Ok(());
    }
    // Graphs the server may hold that the store does not.
    let mut after = String::new();
    loop {
        let page = log.graphs_after(&after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.clone();
        for graph in page {
            if !options.selects(&graph) || store.contains_named_graph(NamedNodeRef::new_unchecked(&graph))? {
                continue;
            }
            if options.dry_run {
                dispatch.stats.deleted += 1;
                continue;
            }
            let job = Job { work: Work::Delete { graph: graph.clone() }, acks: vec![(graph, None)], quads: 0 };
            if !dispatch.send(job)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Update pairs gathered into one request.
#[derive(Default)]
struct Batch {
    body: Vec<u8>,
    acks: Vec<(String, Option<String>)>,
    quads: u64,
}

impl Batch {
    fn take(&mut self) -> Job {
        let batch = std::mem::take(self);
        Job { work: Work::Update { body: batch.body }, acks: batch.acks, quads: batch.quads }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::io::RdfFormat;
    use oxigraph::model::{Literal, QuadRef};

    fn store_with(graph: &str, n: usize) -> Store {
        let store = Store::new().unwrap();
        let g = NamedNode::new(graph).unwrap();
        for i in 0..n {
            let s = NamedNode::new(format!("urn:s{i}")).unwrap();
            let o = Literal::new_simple_literal(format!("value {i} \"quoted\"\n"));
            store.insert(QuadRef::new(&s, &s, &o, &g)).unwrap();
        }
        store
    }

    #[test]
    fn a_graph_sent_in_parts_is_the_graph_sent_whole() {
        let store = store_with("urn:g", 50);
        let g = NamedNodeRef::new("urn:g").unwrap();
        let collect = |limits| {
            let mut parts: Vec<(Vec<u8>, bool)> = Vec::new();
            let n = send_in_parts::<StorageError>(&store, g, limits, |p, first| {
                parts.push((p.to_vec(), first));
                Ok(())
            })
            .unwrap();
            assert_eq!(n as usize, parts.len());
            parts
        };
        let whole = collect((usize::MAX, usize::MAX));
        assert_eq!(whole.len(), 1);
        let by_triples = collect((usize::MAX, 7));
        assert_eq!(by_triples.iter().map(|p| p.0.iter().filter(|&&b| b == b'\n').count()).collect::<Vec<_>>(), [7, 7, 7, 7, 7, 7, 7, 1]);
        let parts = collect((300, usize::MAX));
        assert!(parts.len() > 5, "{}", parts.len());
        assert!(parts[0].1 && parts[1..].iter().all(|p| !p.1), "only the first part replaces");
        assert!(parts.iter().all(|p| p.0.len() < 300 + 100), "a part stops at the line that passes the limit");
        assert_eq!(parts.iter().flat_map(|p| p.0.clone()).collect::<Vec<u8>>(), whole[0].0);
        // The lines are N-Triples.
        let parsed = oxigraph::io::RdfParser::from_format(RdfFormat::NTriples).for_slice(&whole[0].0).count();
        assert_eq!(parsed, 50);
        let empty = Store::new().unwrap();
        let mut calls = Vec::new();
        send_in_parts::<StorageError>(&empty, g, (300, 10), |p, first| {
            calls.push((p.len(), first));
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, [(0, true)], "an empty graph is still replaced");
    }

    #[test]
    fn update_pairs_replace_then_add_and_parse_as_sparql_update() {
        let mut body = Vec::new();
        update_pair("urn:g1", b"<urn:a> <urn:b> \"x\\n\" .\n", true, &mut body);
        update_pair("urn:g1", b"<urn:a> <urn:b> \"y\" .\n", false, &mut body);
        let text = String::from_utf8(body).unwrap();
        assert_eq!(text.matches("DROP SILENT GRAPH <urn:g1>").count(), 1, "{text}");
        spargebra::SparqlParser::new().parse_update(&text).unwrap();
        let store = Store::new().unwrap();
        store.update(text.as_str()).unwrap();
        assert_eq!(store.len().unwrap(), 2);
    }
}
