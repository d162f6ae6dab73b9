//! GraphML of the entity graph, for Gephi, Cytoscape, yEd, networkx, igraph.
//!
//! Takes: an [`EntityGraph`] (all of it or a selection). Gives: a directed
//! GraphML document: nodes with `label`, `mentions` (extractions naming
//! the node), `iri`, `kind` (entity or description); edges with `label`
//! (the normalised relation), `weight` (number of extractions as a
//! double), `confidence` (the mean). Keys are declared per domain with scalar types; edge ids are
//! unique; text is XML-escaped and characters XML 1.0 forbids are dropped.
//! Invariants: node ids are `n0..`, edge ids `e0..`, deterministic order.

use std::io::Write;

use super::graph::EntityGraph;
use super::ExportError;

/// Writes `graph` as GraphML; returns nodes + edges written.
pub fn write_graphml(graph: &EntityGraph, out: &mut dyn Write) -> Result<usize, ExportError> {
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
    for (i, node) in graph.nodes.iter().enumerate() {
        writeln!(
            out,
            "    <node id=\"n{i}\"><data key=\"d0\">{}</data><data key=\"d1\">{}</data><data key=\"d2\">{}</data><data \
                key=\"d6\">{}</data></node>",
            xml_escape(&node.label),
            node.mentions,
            xml_escape(&node.iri),
            xml_escape(&node.kind)
        )?;
    }
    for (i, e) in graph.edges.iter().enumerate() {
        writeln!(
            out,
            "    <edge id=\"e{i}\" source=\"n{}\" target=\"n{}\"><data key=\"d3\">{}</data><data key=\"d4\">{:.1}</data><data \
                key=\"d5\">{:.6}</data></edge>",
            e.source,
            e.target,
            xml_escape(&e.relation_label),
            e.count as f64,
            e.confidence
        )?;
    }
    writeln!(out, "  </graph>\n</graphml>")?;
    Ok(graph.nodes.len() + graph.edges.len())
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
