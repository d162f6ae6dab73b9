//! `kgx export --format html`: one self-contained page that draws the
//! entity graph.
//!
//! Takes: the store and an [`EntityGraph`] (a selection of it). Gives: an
//! HTML page holding the graph (nodes with their names, positions from
//! [`super::layout`]; edges with their most confident extractions, each
//! with its sentence, spans, confidence and document), Cytoscape.js
//! (vendored in `src/export/html/`, its checksum checked by `build.rs`) and
//! the page's script (`html/app.js`).
//! Invariants: the page fetches nothing (its Content-Security-Policy allows
//! no network source); store text is embedded only as JSON inside a
//! `<script type="application/json">` with `<`, `>`, `&`, U+2028 and
//! U+2029 escaped, so no label or sentence can end the script or become
//! markup; the same store and selection give the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use oxigraph::store::Store;
use serde::Serialize;

use super::graph::EntityGraph;
use super::layout::layout;
use super::ExportError;
use crate::query::{select_each, select_values};

const PAGE: &str = include_str!("html/page.html");
const LIBRARY: &str = include_str!("html/cytoscape.min.js");
const APP: &str = include_str!("html/app.js");
/// Extractions listed per edge (the most confident).
pub const EXTRACTIONS_PER_EDGE: usize = 20;

#[derive(Serialize)]
struct PageNode<'a> {
    id: String,
    label: &'a str,
    iri: &'a str,
    kind: &'a str,
    mentions: u64,
    names: Vec<String>,
    x: f64,
    y: f64,
}

/// (sentence index, confidence, document id, source start, end, relation
/// start, end, target start, end): offsets in the sentence's characters.
type PageExtraction = (usize, f64, String, u64, u64, u64, u64, u64, u64);

#[derive(Serialize)]
struct PageEdge<'a> {
    id: String,
    source: String,
    target: String,
    label: &'a str,
    relation: &'a str,
    weight: u64,
    confidence: f64,
    extractions: Vec<PageExtraction>,
}

#[derive(Serialize)]
struct PageData<'a> {
    title: &'a str,
    nodes: Vec<PageNode<'a>>,
    edges: Vec<PageEdge<'a>>,
    sentences: Vec<String>,
}

/// Writes the page for `graph` (read from `store` with the same
/// `min_confidence`); returns nodes + edges drawn.
pub fn write_html(store: &Store, graph: &EntityGraph, min_confidence: f64, title: &str, out: &mut dyn Write) -> Result<usize, ExportError> {
    let positions = layout(graph.nodes.len(), &graph.edges.iter().map(|e| (e.source, e.target)).collect::<Vec<_>>());
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    for mut row in select_values(store, "SELECT ?e ?name WHERE { ?e skos:altLabel ?name }")? {
        let name = row.pop().unwrap_or_default();
        names.entry(row.pop().unwrap_or_default()).or_default().push(name);
    }
    let nodes = graph
        .nodes
        .iter()
        .zip(&positions)
        .enumerate()
        .map(|(i, (n, &(x, y)))| {
            let mut other: Vec<String> = names.remove(&n.iri).unwrap_or_default().into_iter().filter(|name| *name != n.label).collect();
            other.sort();
            other.dedup();
            PageNode { id: format!("n{i}"), label: &n.label, iri: &n.iri, kind: &n.kind, mentions: n.mentions, names: other, x, y }
        })
        .collect();
    let (per_edge, sentences) = edge_extractions(store, graph, min_confidence)?;
    let edges = graph
        .edges
        .iter()
        .zip(per_edge)
        .enumerate()
        .map(|(i, (e, extractions))| PageEdge {
            id: format!("e{i}"),
            source: format!("n{}", e.source),
            target: format!("n{}", e.target),
            label: &e.relation_label,
            relation: &e.relation,
            weight: e.count,
            confidence: e.confidence,
            extractions,
        })
        .collect();
    let data = PageData { title, nodes, edges, sentences };
    let json = serde_json::to_string(&data).map_err(std::io::Error::other)?;
    let (head, rest) = PAGE.split_once("/*KGX-DATA*/").expect("page.html has the data marker");
    let (middle, rest) = rest.split_once("/*KGX-LIBRARY*/").expect("page.html has the library marker");
    let (before_app, tail) = rest.split_once("/*KGX-APP*/").expect("page.html has the app marker");
    out.write_all(head.as_bytes())?;
    out.write_all(script_safe_json(&json).as_bytes())?;
    out.write_all(middle.as_bytes())?;
    out.write_all(LIBRARY.as_bytes())?;
    out.write_all(before_app.as_bytes())?;
    out.write_all(APP.as_bytes())?;
    out.write_all(tail.as_bytes())?;
    Ok(graph.nodes.len() + graph.edges.len())
}

/// An extraction as read: confidence, document id, sentence text, offsets.
type Found = (f64, String, String, [u64; 6]);

/// Each edge's most confident extractions (at most [`EXTRACTIONS_PER_EDGE`])
/// and the sentences they point into, each sentence once.
fn edge_extractions(
    store: &Store,
    graph: &EntityGraph,
    min_confidence: f64,
) -> Result<(Vec<Vec<PageExtraction>>, Vec<String>), ExportError> {
    let mut edge_of: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (i, e) in graph.edges.iter().enumerate() {
        edge_of.insert((&graph.nodes[e.source].iri, &e.relation, &graph.nodes[e.target].iri), i);
    }
    // Per edge, trimmed as rows come.
    let mut kept: Vec<Vec<Found>> = vec![Vec::new(); graph.edges.len()];
    let order = |a: &Found, b: &Found| b.0.total_cmp(&a.0).then_with(|| (&a.1, &a.2, a.3).cmp(&(&b.1, &b.2, b.3)));
    select_each(
        store,
        &format!(
            "SELECT ?ms ?r ?mt ?c ?doc ?text ?ss ?se ?rs ?re ?ts ?te WHERE {{
               ?x a kgx:Extraction ; rdf:subject ?ms ; rdf:predicate ?r ; rdf:object ?mt ; kgx:confidence ?c ; kgx:sentence ?sentence ;
                  kgx:sourceStart ?ss ; kgx:sourceEnd ?se ; kgx:relationStart ?rs ; kgx:relationEnd ?re ;
                  kgx:targetStart ?ts ; kgx:targetEnd ?te .
               ?sentence kgx:text ?text ; kgx:document ?d . ?d kgx:documentId ?doc .
               FILTER NOT EXISTS {{ ?x kgx:negated true }} FILTER(?c >= {min_confidence:?}) }}"
        ),
        |row| {
            let Some(&edge) = edge_of.get(&(graph.entity_of(&row[0]), row[1].as_str(), graph.entity_of(&row[2]))) else { return };
            let offset = |i: usize| row[i].parse().unwrap_or(0);
            let offsets = [offset(6), offset(7), offset(8), offset(9), offset(10), offset(11)];
            let list = &mut kept[edge];
            list.push((row[3].parse().unwrap_or(0.0), row[4].clone(), row[5].clone(), offsets));
            if list.len() >= 4 * EXTRACTIONS_PER_EDGE {
                list.sort_by(order);
                list.truncate(EXTRACTIONS_PER_EDGE);
            }
        },
    )?;
    let mut sentence_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut sentences = Vec::new();
    let per_edge = kept
        .into_iter()
        .map(|mut list| {
            list.sort_by(order);
            list.truncate(EXTRACTIONS_PER_EDGE);
            list.into_iter()
                .map(|(confidence, document, text, o)| {
                    let s = *sentence_index.entry(text).or_insert_with_key(|text| {
                        sentences.push(text.clone());
                        sentences.len() - 1
                    });
                    (s, confidence, document, o[0], o[1], o[2], o[3], o[4], o[5])
                })
                .collect()
        })
        .collect();
    Ok((per_edge, sentences))
}

/// JSON made safe inside an HTML `<script>`: `<`, `>` and `&` (which JSON
/// only has inside strings) and the line separators as `\u` escapes.
fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 50);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_text_cannot_end_the_script_and_reads_back_the_same() {
        let label = "</script><script>alert(1)</script> \"q\" 'a' & \u{202e}RTL \u{1f600} \u{2028}";
        let json = serde_json::to_string(&serde_json::json!({ "label": label })).unwrap();
        let safe = script_safe_json(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('\u{2028}'), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["label"], label);
    }

    #[test]
    fn the_page_template_has_each_marker_once_and_the_library_is_inline() {
        for marker in ["/*KGX-DATA*/", "/*KGX-LIBRARY*/", "/*KGX-APP*/"] {
            assert_eq!(PAGE.matches(marker).count(), 1, "{marker}");
        }
        assert!(!LIBRARY.to_ascii_lowercase().contains("</script") && !APP.to_ascii_lowercase().contains("</script"));
        assert!(PAGE.contains("default-src 'none'"), "the page must forbid network sources");
    }
}
