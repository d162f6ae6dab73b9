//! The entity graph as nodes and edges: what GraphML and the HTML view draw.
//!
//! Takes: the store, a confidence floor and a [`Selection`]. Gives: an
//! [`EntityGraph`] whose nodes are the entities (an alias's node folded
//! into the entity it is `owl:sameAs`) and the document-local descriptions,
//! and whose edges are relation instances aggregated per (source,
//! relation, target) of the asserted (not negated) extractions.
//! Invariants: nodes are ordered by IRI and edges by (source, target,
//! relation label), whatever order the store gives rows in; a node's
//! `mentions` counts every extraction naming it, selected or not; a
//! selection keeps the edges whose two ends it keeps, so the same
//! selection gives the same graph to every format.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use oxigraph::store::Store;

use crate::query::{result_iris, select_values, QueryError};

/// Which part of the entity graph to draw.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// Every node and edge.
    #[default]
    All,
    /// The N most connected nodes (distinct neighbours, then mentions,
    /// then IRI) and the edges among them.
    Top(usize),
    /// The nodes a query's results name (SELECT: every IRI bound;
    /// CONSTRUCT: subjects and objects; an alias's IRI stands for its
    /// entity) and the edges among them.
    Query { text: String, source_name: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub iri: String,
    pub label: String,
    /// Extractions (asserted, above the floor) naming the node.
    pub mentions: u64,
    /// `entity` or `description`.
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// Indices into [`EntityGraph::nodes`].
    pub source: usize,
    pub target: usize,
    pub relation: String,
    pub relation_label: String,
    /// Extractions aggregated into the edge.
    pub count: u64,
    /// Their mean confidence.
    pub confidence: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityGraph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Each alias node's entity (`?alias owl:sameAs ?entity`), as read.
    pub aliases: HashMap<String, String>,
}

impl EntityGraph {
    /// Reads the store's entity graph and keeps `selection` of it.
    pub fn read(store: &Store, min_confidence: f64, selection: &Selection) -> Result<Self, QueryError> {
        // Grouped by the mention-level nodes; aliases are folded here, not
        // in SPARQL: Oxigraph 0.5 evaluates `OPTIONAL { ?m owl:sameAs ?e }`
        // row by row (8.6 s instead of 1.1 s on 4,652 extractions).
        let edge_rows = select_values(
            store,
            &format!(
                "SELECT ?ms ?mt ?r (MIN(?rl) AS ?label) (COUNT(DISTINCT ?x) AS ?n) (AVG(?c) AS ?mean) WHERE {{
                   ?x a kgx:Extraction ; rdf:subject ?ms ; rdf:predicate ?r ; rdf:object ?mt ; kgx:confidence ?c .
                   ?r rdfs:label ?rl .
                   FILTER NOT EXISTS {{ ?x kgx:negated true }} FILTER(?c >= {min_confidence:?}) }} GROUP BY ?ms ?r ?mt"
            ),
        )?;
        let node_rows = select_values(
            store,
            "SELECT ?e (MIN(?l) AS ?label) (SAMPLE(?k) AS ?kind) WHERE {
               { ?e a kgx:Entity . BIND(\"entity\" AS ?k) FILTER NOT EXISTS { ?e owl:sameAs ?c } }
               UNION { ?e a kgx:Description . BIND(\"description\" AS ?k) }
               ?e rdfs:label ?l } GROUP BY ?e",
        )?;
        let aliases: HashMap<String, String> =
            select_values(store, "SELECT ?a ?e WHERE { ?a owl:sameAs ?e }")?.into_iter().map(|mut r| (r.remove(0), r.remove(0))).collect();
        let graph = Self::from_rows(node_rows, edge_rows, aliases);
        Ok(match selection {
            Selection::All => graph,
            Selection::Top(n) => graph.top(*n),
            Selection::Query { text, source_name } => {
                let named: BTreeSet<String> =
                    result_iris(store, text, source_name)?.iter().map(|iri| graph.entity_of(iri).to_string()).collect();
                graph.keep(|_, node| named.contains(&node.iri))
            }
        })
    }

    /// The entity node a mention node stands for: its alias's entity, else itself.
    pub fn entity_of<'a>(&'a self, mention: &'a str) -> &'a str {
        self.aliases.get(mention).map_or(mention, String::as_str)
    }

    /// Nodes from (IRI, label, kind) rows and edges from (source mention,
    /// target mention, relation, relation label, count, mean confidence)
    /// rows (a mean, not a sum: the union of the graphs gives an
    /// extraction's row once for each graph holding the relation's label,
    /// the same number of times for every row of one relation, so the mean
    /// is exact), each mention node replaced by its entity (`aliases`) and rows
    /// that then meet summed; an edge's end that no node row names becomes
    /// an entity labelled by its IRI.
    fn from_rows(node_rows: Vec<Vec<String>>, edge_rows: Vec<Vec<String>>, aliases: HashMap<String, String>) -> Self {
        let mut nodes: BTreeMap<String, Node> = node_rows
            .into_iter()
            .map(|mut r| {
                let iri = std::mem::take(&mut r[0]);
                let node = Node { iri: iri.clone(), label: std::mem::take(&mut r[1]), mentions: 0, kind: std::mem::take(&mut r[2]) };
                (iri, node)
            })
            .collect();
        // (source, target, relation label, relation) -> (count, confidence sum)
        let mut grouped: BTreeMap<(String, String, String, String), (u64, f64)> = BTreeMap::new();
        for mut r in edge_rows {
            let entity = |iri: String| aliases.get(&iri).cloned().unwrap_or(iri);
            let key = (
                entity(std::mem::take(&mut r[0])),
                entity(std::mem::take(&mut r[1])),
                std::mem::take(&mut r[3]),
                std::mem::take(&mut r[2]),
            );
            let group = grouped.entry(key).or_default();
            let count = r[4].parse::<u64>().unwrap_or(0);
            group.0 += count;
            group.1 += count as f64 * r[5].parse::<f64>().unwrap_or(0.0);
        }
        for ((source, target, ..), (count, _)) in &grouped {
            for end in [source, target] {
                nodes
                    .entry(end.clone())
                    .or_insert_with(|| Node { iri: end.clone(), label: end.clone(), mentions: 0, kind: "entity".into() })
                    .mentions += count;
            }
        }
        let index: HashMap<String, usize> = nodes.keys().enumerate().map(|(i, k)| (k.clone(), i)).collect();
        let edges = grouped
            .into_iter()
            .map(|((source, target, relation_label, relation), (count, sum))| Edge {
                source: index[&source],
                target: index[&target],
                relation,
                relation_label,
                count,
                confidence: if count == 0 { 0.0 } else { sum / count as f64 },
            })
            .collect();
        Self { nodes: nodes.into_values().collect(), edges, aliases }
    }

    /// The `n` most connected nodes and the edges among them.
    pub fn top(self, n: usize) -> Self {
        let mut neighbours: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.nodes.len()];
        for e in &self.edges {
            if e.source != e.target {
                neighbours[e.source].insert(e.target);
                neighbours[e.target].insert(e.source);
            }
        }
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        order.sort_by(|&a, &b| {
            (neighbours[b].len(), self.nodes[b].mentions)
                .cmp(&(neighbours[a].len(), self.nodes[a].mentions))
                .then_with(|| self.nodes[a].iri.cmp(&self.nodes[b].iri))
        });
        let chosen: BTreeSet<usize> = order.into_iter().take(n).collect();
        self.keep(|i, _| chosen.contains(&i))
    }

    /// The nodes `wanted(index, node)` keeps and the edges among them.
    pub fn keep(self, wanted: impl Fn(usize, &Node) -> bool) -> Self {
        let mut new_index = vec![None; self.nodes.len()];
        let mut nodes = Vec::new();
        for (i, node) in self.nodes.into_iter().enumerate() {
            if wanted(i, &node) {
                new_index[i] = Some(nodes.len());
                nodes.push(node);
            }
        }
        let edges =
            self.edges.into_iter().filter_map(|e| Some(Edge { source: new_index[e.source]?, target: new_index[e.target]?, ..e })).collect();
        Self { nodes, edges, aliases: self.aliases }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn sample() -> EntityGraph {
        let nodes = vec![row(&["e:a", "A", "entity"]), row(&["e:b", "B", "entity"]), row(&["d:film", "the film", "description"])];
        let edges = vec![
            row(&["e:a", "e:b", "r:meet", "meet", "2", "0.9"]),
            row(&["e:a", "e:c", "r:meet", "meet", "1", "0.5"]),
            row(&["e:b", "e:c", "r:know", "know", "1", "0.7"]),
            row(&["e:a", "d:film", "r:direct", "direct", "3", "0.8"]),
        ];
        EntityGraph::from_rows(nodes, edges, HashMap::new())
    }

    #[test]
    fn an_edge_end_without_a_node_row_becomes_an_entity_and_mentions_add_up() {
        let g = sample();
        let iris: Vec<&str> = g.nodes.iter().map(|n| n.iri.as_str()).collect();
        assert_eq!(iris, ["d:film", "e:a", "e:b", "e:c"]);
        let c = &g.nodes[3];
        assert_eq!((c.label.as_str(), c.kind.as_str(), c.mentions), ("e:c", "entity", 2));
        assert_eq!(g.nodes[1].mentions, 6);
    }

    #[test]
    fn rows_in_another_order_give_the_same_graph() {
        let nodes = vec![row(&["d:film", "the film", "description"]), row(&["e:b", "B", "entity"]), row(&["e:a", "A", "entity"])];
        let edges = vec![
            row(&["e:a", "d:film", "r:direct", "direct", "3", "0.8"]),
            row(&["e:b", "e:c", "r:know", "know", "1", "0.7"]),
            row(&["e:a", "e:c", "r:meet", "meet", "1", "0.5"]),
            row(&["e:a", "e:b", "r:meet", "meet", "2", "0.9"]),
        ];
        assert_eq!(EntityGraph::from_rows(nodes, edges, HashMap::new()), sample());
    }

    #[test]
    fn an_alias_mention_joins_its_entity_and_their_rows_add_up() {
        let nodes = vec![row(&["e:ann_lee", "Ann Lee", "entity"]), row(&["e:bo", "Bo", "entity"])];
        let edges = vec![row(&["e:ann_lee", "e:bo", "r:meet", "meet", "1", "0.9"]), row(&["e:lee", "e:bo", "r:meet", "meet", "3", "0.5"])];
        let aliases = HashMap::from([("e:lee".to_string(), "e:ann_lee".to_string())]);
        let g = EntityGraph::from_rows(nodes, edges, aliases);
        assert_eq!(g.nodes.iter().map(|n| (n.iri.as_str(), n.mentions)).collect::<Vec<_>>(), [("e:ann_lee", 4), ("e:bo", 4)]);
        assert_eq!(g.edges.len(), 1);
        assert_eq!(g.edges[0].count, 4);
        assert!((g.edges[0].confidence - 0.6).abs() < 1e-12, "the mean weighted by count: {}", g.edges[0].confidence);
    }

    #[test]
    fn top_keeps_the_most_connected_nodes_and_only_the_edges_among_them() {
        let g = sample().top(2);
        let iris: Vec<&str> = g.nodes.iter().map(|n| n.iri.as_str()).collect();
        // a has 3 neighbours; b and c have 2 each, b has more mentions (3 vs 2).
        assert_eq!(iris, ["e:a", "e:b"]);
        assert_eq!(g.edges.len(), 1);
        assert_eq!((g.edges[0].source, g.edges[0].target, g.edges[0].count), (0, 1, 2));
        assert_eq!(sample().top(10), sample());
        assert_eq!(sample().top(0), EntityGraph::default());
    }
}
