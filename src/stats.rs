//! What a store holds (`kgx stats`).
//!
//! Takes: an opened store (or a SPARQL endpoint holding a pushed one) and
//! its run log. Gives: counts (documents,
//! sentences, extractions, entities, document-local descriptions,
//! relations), the top entities by degree and by PageRank (`page_rank`,
//! linear in the edges), the weakly connected components (number and
//! sizes) of the graph (petgraph), and the runs from the run log.
//! Invariants: read-only; the same data gives the same report whatever
//! order the rows come in; the graph has one edge per distinct (source,
//! target) pair of the asserted (not negated) extractions, its nodes are
//! entities (an alias's node counted as the entity it is `owl:sameAs`) and
//! descriptions; the top lists rank entities only.

use std::collections::HashMap;
use std::io::Write;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::unionfind::UnionFind;

use crate::query::{QueryError, SelectSource};
use crate::store::runlog::RunRow;
use crate::store::vocab::canonical_entity;

#[derive(Debug, thiserror::Error)]
#[error("stats: querying the store failed")]
pub struct StatsError(#[from] QueryError);

/// Everything `kgx stats` prints.
#[derive(Debug, Default)]
pub struct StoreStats {
    pub documents: u64,
    pub sentences: u64,
    pub extractions: u64,
    pub entities: u64,
    /// Names whose node is `owl:sameAs` another name's entity (entity graph).
    pub linked_names: u64,
    /// Document-local descriptions ("the film" in one document).
    pub descriptions: u64,
    pub relations: u64,
    pub top_degree: Vec<(String, usize)>,
    pub top_pagerank: Vec<(String, f64)>,
    /// Component sizes, largest first.
    pub components: Vec<usize>,
}

fn rows(store: &dyn SelectSource, query: &str) -> Result<Vec<Vec<String>>, StatsError> {
    Ok(store.select_values(query)?)
}

fn number(store: &dyn SelectSource, query: &str) -> Result<u64, StatsError> {
    Ok(rows(store, query)?.first().map(|r| r[0].parse().unwrap_or(0)).unwrap_or(0))
}

/// `store`: a local store or an endpoint holding a pushed one.
pub fn compute(store: &dyn SelectSource, top: usize) -> Result<StoreStats, StatsError> {
    let mut s = StoreStats {
        documents: number(store, "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a kgx:Document }")?,
        sentences: number(store, "SELECT (SUM(?c) AS ?n) WHERE { ?d a kgx:Document ; kgx:sentenceCount ?c }")?,
        extractions: number(store, "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a kgx:Extraction }")?,
        entities: number(store, "SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e a kgx:Entity FILTER NOT EXISTS { ?e owl:sameAs ?c } }")?,
        linked_names: number(store, "SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE { ?a owl:sameAs ?e }")?,
        descriptions: number(store, "SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e a kgx:Description }")?,
        relations: number(store, "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a kgx:Relation }")?,
        ..StoreStats::default()
    };
    let labels: HashMap<String, String> = rows(
        store,
        "SELECT ?e (MIN(?l) AS ?label) WHERE { ?e a kgx:Entity ; rdfs:label ?l FILTER NOT EXISTS { ?e owl:sameAs ?c } } GROUP BY ?e",
    )?
    .into_iter()
    .map(|mut r| (std::mem::take(&mut r[0]), std::mem::take(&mut r[1])))
    .collect();
    let mut edges = rows(
        store,
        &format!(
            "SELECT DISTINCT ?s ?t WHERE {{ ?x a kgx:Extraction ; rdf:subject ?ms ; rdf:object ?mt
               FILTER NOT EXISTS {{ ?x kgx:negated true }} {} {} }}",
            canonical_entity("?ms", "?s"),
            canonical_entity("?mt", "?t")
        ),
    )?;
    // PageRank's sums depend on the order edges are added: sorted, the
    // ranks (and their ties) are the same whichever engine listed the rows.
    edges.sort_unstable();
    let mut graph: DiGraph<String, ()> = DiGraph::new();
    let mut index: HashMap<String, NodeIndex> = HashMap::new();
    let mut node = |g: &mut DiGraph<String, ()>, iri: String| *index.entry(iri.clone()).or_insert_with(|| g.add_node(iri));
    for e in &edges {
        let (a, b) = (node(&mut graph, e[0].clone()), node(&mut graph, e[1].clone()));
        graph.add_edge(a, b, ());
    }
    let label = |i: NodeIndex| labels.get(&graph[i]).cloned().unwrap_or_else(|| graph[i].clone());
    let entities: Vec<NodeIndex> = graph.node_indices().filter(|n| labels.contains_key(&graph[*n])).collect();
    let mut degree: Vec<(NodeIndex, usize)> = entities.iter().map(|&n| (n, graph.neighbors_undirected(n).count())).collect();
    degree.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| label(a.0).cmp(&label(b.0))));
    s.top_degree = degree.iter().take(top).map(|(n, d)| (label(*n), *d)).collect();
    if graph.node_count() > 0 {
        let ranks = page_rank(&graph, 0.85, 50);
        let mut ranked: Vec<(NodeIndex, f64)> = entities.iter().map(|&n| (n, ranks[n.index()])).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| label(a.0).cmp(&label(b.0))));
        s.top_pagerank = ranked.iter().take(top).map(|(n, r)| (label(*n), *r)).collect();
    }
    let mut uf = UnionFind::<usize>::new(graph.node_count());
    for e in graph.edge_indices() {
        if let Some((a, b)) = graph.edge_endpoints(e) {
            uf.union(a.index(), b.index());
        }
    }
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for root in uf.into_labeling() {
        *sizes.entry(root).or_default() += 1;
    }
    s.components = sizes.into_values().collect();
    s.components.sort_unstable_by(|a, b| b.cmp(a));
    Ok(s)
}

/// PageRank as petgraph's `algo::page_rank` defines it (a node that links
/// to v gives v `d r / out-degree` instead of its random jump `(1 - d) r / n`;
/// a node without out-edges spreads `d r / n` to every node; ranks
/// normalised each iteration), in O(iterations x (nodes + edges)):
/// petgraph's loops over every pair of nodes, which took 5 s of `kgx
/// stats` on 5,600 nodes and would never end on a corpus's millions.
fn page_rank(graph: &DiGraph<String, ()>, damping: f64, iterations: usize) -> Vec<f64> {
    let n = graph.node_count();
    if n == 0 {
        return Vec::new();
    }
    let nf = n as f64;
    let mut out_degree = vec![0.0_f64; n];
    let mut linked_from: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in graph.raw_edges() {
        out_degree[e.source().index()] += 1.0;
        linked_from[e.target().index()].push(e.source().index());
    }
    for sources in &mut linked_from {
        sources.sort_unstable();
        sources.dedup();
    }
    let mut ranks = vec![1.0 / nf; n];
    for _ in 0..iterations {
        let jump = |w: usize, r: f64| if out_degree[w] == 0.0 { damping * r / nf } else { (1.0 - damping) * r / nf };
        let everyone: f64 = ranks.iter().enumerate().map(|(w, &r)| jump(w, r)).sum();
        let next: Vec<f64> = linked_from
            .iter()
            .map(|sources| everyone + sources.iter().map(|&w| damping * ranks[w] / out_degree[w] - jump(w, ranks[w])).sum::<f64>())
            .collect();
        let total: f64 = next.iter().sum();
        ranks = next.into_iter().map(|r| r / total).collect();
    }
    ranks
}

pub fn print(stats: &StoreStats, runs: &[RunRow], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "documents    {}", stats.documents)?;
    writeln!(out, "sentences    {}", stats.sentences)?;
    writeln!(out, "extractions  {}", stats.extractions)?;
    writeln!(out, "entities     {} ({} other names linked to them)", stats.entities, stats.linked_names)?;
    writeln!(out, "descriptions {} (document-local)", stats.descriptions)?;
    writeln!(out, "relations    {}", stats.relations)?;
    let largest: Vec<String> = stats.components.iter().take(5).map(|c| c.to_string()).collect();
    writeln!(out, "components   {} weakly connected (largest: {})", stats.components.len(), largest.join(", "))?;
    writeln!(out, "\ntop entities by degree")?;
    for (label, d) in &stats.top_degree {
        writeln!(out, "  {d:>6}  {label}")?;
    }
    writeln!(out, "\ntop entities by PageRank")?;
    for (label, r) in &stats.top_pagerank {
        writeln!(out, "  {r:>8.5}  {label}")?;
    }
    writeln!(out, "\nruns")?;
    for r in runs {
        writeln!(
            out,
            "  {}  {:<11} {} ({}) on {}: {} stored, {} skipped, {} failed, {} sentences, {} triples; {} -> {}",
            r.id,
            r.status,
            r.model,
            r.precision,
            r.provider,
            r.counts.documents,
            r.counts.skipped,
            r.counts.failed,
            r.counts.sentences,
            r.counts.triples,
            r.started_at,
            r.ended_at.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::store::Store;

    /// The rows of a store, in reverse order (as another engine may list them).
    struct Reversed(Store);

    impl SelectSource for Reversed {
        fn select_values(&self, query: &str) -> Result<Vec<Vec<String>>, QueryError> {
            let mut rows = self.0.select_values(query)?;
            rows.reverse();
            Ok(rows)
        }
    }

    #[test]
    fn page_rank_is_petgraphs_without_its_quadratic_loop() {
        let mut state = 7_u64;
        let mut next = |m: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % m) as usize
        };
        for size in [1, 2, 5, 40, 120] {
            let mut graph: DiGraph<String, ()> = DiGraph::new();
            let nodes: Vec<NodeIndex> = (0..size).map(|i| graph.add_node(format!("n{i}"))).collect();
            let mut pairs: Vec<(usize, usize)> = (0..size * 2).map(|_| (next(size as u64), next(size as u64))).collect();
            pairs.sort_unstable();
            pairs.dedup();
            for (a, b) in pairs {
                graph.add_edge(nodes[a], nodes[b], ());
            }
            let theirs = petgraph::algo::page_rank(&graph, 0.85_f64, 50);
            let ours = page_rank(&graph, 0.85, 50);
            for (a, b) in theirs.iter().zip(&ours) {
                assert!((a - b).abs() <= 1e-12 * a.abs().max(1e-12), "{size} nodes: petgraph {a}, kgx {b}");
            }
        }
    }

    /// Regression: PageRank summed edges in the order the engine listed
    /// them, so Virtuoso's top list of tied entities differed from the store's.
    #[test]
    fn top_lists_do_not_depend_on_the_order_rows_come_in() {
        let store = Store::new().unwrap();
        let mut data = String::new();
        for i in 0..12 {
            let (s, t) = (format!("urn:e{i}"), format!("urn:e{}", (i * 7 + 3) % 12));
            data.push_str(&format!(
                "GRAPH <urn:g> {{ <{s}> a kgx:Entity ; rdfs:label \"entity {i}\" . <urn:x{i}> a kgx:Extraction ; \
                 rdf:subject <{s}> ; rdf:object <{t}> . }}\n"
            ));
        }
        let prefixes: String = crate::store::vocab::PREFIXES.iter().map(|(p, iri)| format!("PREFIX {p}: <{iri}>\n")).collect();
        store.update(format!("{prefixes} INSERT DATA {{ {data} }}").as_str()).unwrap();
        let forward = compute(&store, 5).unwrap();
        let backward = compute(&Reversed(store), 5).unwrap();
        assert_eq!(format!("{:?}", forward.top_pagerank), format!("{:?}", backward.top_pagerank));
        assert_eq!(forward.top_degree, backward.top_degree);
    }
}
