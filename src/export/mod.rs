//! `kgx export`: the store as files graph tools open.
//!
//! Takes: an opened store. Gives: Turtle / N-Triples (the union of all
//! graphs, as triples), N-Quads (every quad, graphs kept) streamed from the
//! store with bounded memory; the entity graph ([`graph`], all of it or a
//! [`Selection`]) as GraphML ([`graphml`]) or a self-contained HTML page
//! ([`html`], laid out by [`layout`]); CaRB's TSV.
//! Invariants: RDF output is written to a writer as it is read; Turtle
//! carries kgx's prefixes; GraphML and HTML of one selection hold the same
//! nodes and edges.

pub mod graph;
pub mod graphml;
pub mod html;
pub mod layout;

use std::io::Write;

use oxigraph::io::RdfFormat;
use oxigraph::model::{GraphNameRef, QuadRef};
use oxigraph::store::{StorageError, Store};

pub use self::graph::{EntityGraph, Selection};
use crate::query::{serializer, QueryError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Turtle,
    Ntriples,
    Nquads,
    Graphml,
    Html,
    Carb,
}

crate::choice::choices!(ExportFormat {
    Turtle => "turtle", "";
    Ntriples => "ntriples", "";
    Nquads => "nquads", "";
    Graphml => "graphml", "";
    Html => "html", "A self-contained page drawing the entity graph (Cytoscape.js inside; opens offline)";
    Carb => "carb", "CaRB's input TSV: sentence, confidence, relation, arg1, arg2";
});

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the store failed")]
    Read(#[from] StorageError),
    #[error("querying the store failed")]
    Query(#[from] QueryError),
    #[error("cannot write the export")]
    Write(#[from] std::io::Error),
}

/// What to export and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// carb, graphml and html: only extractions whose confidence is at least this.
    pub min_confidence: f64,
    /// graphml and html: which part of the entity graph.
    pub selection: Selection,
    /// html: the page's title.
    pub title: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { format: ExportFormat::Nquads, min_confidence: 0.0, selection: Selection::All, title: "kgx graph".into() }
    }
}

/// Streams the store as `options` say; returns the number of statements
/// (or rows, or nodes + edges) written.
pub fn write_export(store: &Store, options: &ExportOptions, out: &mut dyn Write) -> Result<usize, ExportError> {
    let min_confidence = options.min_confidence;
    let (rdf, keep_graphs) = match options.format {
        ExportFormat::Turtle => (RdfFormat::Turtle, false),
        ExportFormat::Ntriples => (RdfFormat::NTriples, false),
        ExportFormat::Nquads => (RdfFormat::NQuads, true),
        ExportFormat::Graphml => {
            return graphml::write_graphml(&EntityGraph::read(store, min_confidence, &options.selection)?, out);
        }
        ExportFormat::Html => {
            let graph = EntityGraph::read(store, min_confidence, &options.selection)?;
            return html::write_html(store, &graph, min_confidence, &options.title, out);
        }
        ExportFormat::Carb => {
            let mut rows = crate::eval::store_rows(store)?;
            rows.retain(|r| r[1].parse::<f64>().map_or(true, |c| c >= min_confidence));
            crate::eval::write_carb_rows(&rows, out)?;
            return Ok(rows.len());
        }
    };
    let mut writer = serializer(rdf).for_writer(out);
    let mut n = 0;
    for quad in store.iter() {
        let quad = quad?;
        let graph = if keep_graphs { quad.graph_name.as_ref() } else { GraphNameRef::DefaultGraph };
        writer.serialize_quad(QuadRef::new(&quad.subject, &quad.predicate, &quad.object, graph))?;
        n += 1;
    }
    writer.finish()?;
    Ok(n)
}
