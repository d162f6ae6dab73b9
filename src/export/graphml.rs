//! GraphML of the entity graph, for Gephi, Cytoscape, yEd, networkx, igraph.
//!
//! Takes: the store. Gives: a directed GraphML document whose nodes are the
//! entities (an alias's node folded into the entity it is `owl:sameAs`)
//! and the document-local descriptions (`label`, `mentions`:
//! extractions naming the node, `kind`: entity or description) and whose
//! edges are relation instances aggregated per (source, relation, target)
//! of the asserted (not negated) extractions
//! (`label`, `weight`: number of extractions as a double, `confidence`: the
//! mean). Keys are declared per domain with scalar types; edge ids are
//! unique; text is XML-escaped and characters XML 1.0 forbids are dropped.
//! Invariants: node ids are `n0..`, edge ids `e0..`, deterministic order.

use std::collections::BTreeMap;
use std::io::Write;

use oxigraph::store::Store;

use super::ExportError;
use crate::query::select_values;
use crate::store::vocab::canonical_entity;

struct Edge {
    source: String,
    relation_label: String,
    target: String,
    count: u64,
    confidence: f64,
}

pub fn write_graphml(store: &Store, min_confidence: f64, out: &mut dyn Write) -> Result<usize, ExportError> {
    let select = |q: &str| select_values(store, q).map_err(ExportError::Query);
    let edge_rows = select(&format!(
        "SELECT ?s ?t (MIN(?rl) AS ?label) (COUNT(DISTINCT ?x) AS ?n) (AVG(?c) AS ?conf) WHERE {{
           ?x a kgx:Extraction ; rdf:subject ?ms ; rdf:predicate ?r ; rdf:object ?mt ; kgx:confidence ?c .
           FILTER NOT EXISTS {{ ?x kgx:negated true }} FILTER(?c >= {min_confidence:?})
           {} {}
           ?r rdfs:label ?rl }} GROUP BY ?s ?r ?t",
        canonical_entity("?ms", "?s"),
        canonical_entity("?mt", "?t")
    ))?;
    let node_rows = select(
        "SELECT ?e (MIN(?l) AS ?label) (SAMPLE(?k) AS ?kind) WHERE {
           { ?e a kgx:Entity . BIND(\"entity\" AS ?k) FILTER NOT EXISTS { ?e owl:sameAs ?c } }
           UNION { ?e a kgx:Description . BIND(\"description\" AS ?k) }
           ?e rdfs:label ?l } GROUP BY ?e",
    )?;
    let mut nodes: BTreeMap<String, (String, u64, String)> =
        node_rows.into_iter().map(|mut r| (std::mem::take(&mut r[0]), (std::mem::take(&mut r[1]), 0, std::mem::take(&mut r[2])))).collect();
    let mut edges: Vec<Edge> = edge_rows
        .iter()
        .map(|r| Edge {
            source: r[0].clone(),
            target: r[1].clone(),
            relation_label: r[2].clone(),
            count: r[3].parse().unwrap_or(0),
            confidence: r[4].parse().unwrap_or(0.0),
        })
        .collect();
    edges.sort_by(|a, b| (&a.source, &a.target, &a.relation_label).cmp(&(&b.source, &b.target, &b.relation_label)));
    for e in &edges {
        for end in [&e.source, &e.target] {
            nodes.entry(end.clone()).or_insert_with(|| (end.clone(), 0, "entity".into())).1 += e.count;
        }
    }
    let ids: BTreeMap<&str, usize> = nodes.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
        xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns \
        http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">"
    )?;
    writeln!(out, "  <key id=\"d0\" for=\"node\" attr.name=\"label\" attr.type=\"string\"/>")?;
    writeln!(out, "  <key id=\"d1\" for=\"node\" attr.name=\"mentions\" attr.type=\"long\"/>")?;
    writeln!(out, "  <key id=\"d2\" for=\"node\" attr.name=\"iri\" attr.type=\"string\"/>")?;
    writeln!(out, "  <key id=\"d3\" for=\"edge\" attr.name=\"label\" attr.type=\"string\"/>")?;
    writeln!(out, "  <key id=\"d4\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>")?;
    writeln!(out, "  <key id=\"d5\" for=\"edge\" attr.name=\"confidence\" attr.type=\"double\"/>")?;
    writeln!(out, "  <key id=\"d6\" for=\"node\" attr.name=\"kind\" attr.type=\"string\"/>")?;
    writeln!(out, "  <graph id=\"kgx\" edgedefault=\"directed\">")?;
    for (i, (iri, (label, mentions, kind))) in nodes.iter().enumerate() {
        writeln!(
            out,
            "    <node id=\"n{i}\"><data key=\"d0\">{}</data><data key=\"d1\">{mentions}</data><data key=\"d2\">{}</data><data \
                key=\"d6\">{kind}</data></node>",
            xml_escape(label),
            xml_escape(iri)
        )?;
    }
    for (i, e) in edges.iter().enumerate() {
        writeln!(
            out,
            "    <edge id=\"e{i}\" source=\"n{}\" target=\"n{}\"><data key=\"d3\">{}</data><data key=\"d4\">{:.1}</data><data \
                key=\"d5\">{:.6}</data></edge>",
            ids[e.source.as_str()],
            ids[e.target.as_str()],
            xml_escape(&e.relation_label),
            e.count as f64,
            e.confidence
        )?;
    }
    writeln!(out, "  </graph>\n</graphml>")?;
    Ok(nodes.len() + edges.len())
}

/// Escapes XML specials and drops characters XML 1.0 does not allow.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c as u32, 0xFFFE | 0xFFFF) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::xml_escape;

    #[test]
    fn escapes_markup_and_drops_forbidden_chars() {
        assert_eq!(xml_escape("a<b>&\"c\" ]]> \u{0}\u{1b}ok'"), "a&lt;b&gt;&amp;&quot;c&quot; ]]&gt; ok&apos;");
    }
}
