//! `kgx export`: the store as files graph tools open.
//!
//! Takes: an opened store. Gives: Turtle / N-Triples (the union of all
//! graphs, as triples), N-Quads (every quad, graphs kept) streamed from the
//! store with bounded memory, or GraphML ([`graphml`]) of the entity graph.
//! Invariants: output is written to a writer as it is read; Turtle carries
//! kgx's prefixes.

pub mod graphml;

use std::io::Write;

use oxigraph::io::RdfFormat;
use oxigraph::model::{GraphNameRef, QuadRef};
use oxigraph::store::{StorageError, Store};

use crate::query::{serializer, QueryError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Turtle,
    Ntriples,
    Nquads,
    Graphml,
    Carb,
}

crate::choice::choices!(ExportFormat {
    Turtle => "turtle", "";
    Ntriples => "ntriples", "";
    Nquads => "nquads", "";
    Graphml => "graphml", "";
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

/// Streams the store in `format`; returns the number of statements (or
/// rows, or edges) written. `min_confidence` filters the extractions of the
/// CaRB and GraphML exports.
pub fn write_rdf(store: &Store, format: ExportFormat, min_confidence: f64, out: &mut dyn Write) -> Result<usize, ExportError> {
    let (rdf, keep_graphs) = match format {
        ExportFormat::Turtle => (RdfFormat::Turtle, false),
        ExportFormat::Ntriples => (RdfFormat::NTriples, false),
        ExportFormat::Nquads => (RdfFormat::NQuads, true),
        ExportFormat::Graphml => return graphml::write_graphml(store, min_confidence, out),
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
