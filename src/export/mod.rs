//! `kgx export`: the store as files graph tools open.
//!
//! Takes: an opened store. Gives: Turtle / N-Triples (the union of all
//! graphs, as triples), N-Quads (every quad, graphs kept) streamed from the
//! store with bounded memory, or GraphML ([`graphml`]) of the entity graph.
//! Invariants: output is written to a writer as it is read; Turtle carries
//! kgx's prefixes.

pub mod graphml;

use std::io::Write;

use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::{GraphNameRef, QuadRef};
use oxigraph::store::Store;

use crate::store::vocab::PREFIXES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Turtle,
    Ntriples,
    Nquads,
    Graphml,
    /// CaRB's input TSV: sentence, confidence, relation, arg1, arg2.
    Carb,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the store failed: {0}")]
    Read(String),
    #[error("cannot write the export: {0}")]
    Write(#[from] std::io::Error),
}

/// Streams the store in an RDF format; returns the number of statements written.
pub fn write_rdf(store: &Store, format: ExportFormat, out: &mut dyn Write) -> Result<usize, ExportError> {
    let (rdf, keep_graphs) = match format {
        ExportFormat::Turtle => (RdfFormat::Turtle, false),
        ExportFormat::Ntriples => (RdfFormat::NTriples, false),
        ExportFormat::Nquads => (RdfFormat::NQuads, true),
        ExportFormat::Graphml => return graphml::write_graphml(store, out),
        ExportFormat::Carb => {
            let rows = crate::eval::store_rows(store).map_err(|e| ExportError::Read(e.to_string()))?;
            crate::eval::write_carb_rows(&rows, out)?;
            return Ok(rows.len());
        }
    };
    let mut serializer = RdfSerializer::from_format(rdf);
    if rdf == RdfFormat::Turtle {
        for (p, iri) in PREFIXES {
            serializer = serializer.with_prefix(p, iri).map_err(|e| ExportError::Read(e.to_string()))?;
        }
    }
    let mut writer = serializer.for_writer(out);
    let mut n = 0;
    for quad in store.iter() {
        let quad = quad.map_err(|e| ExportError::Read(e.to_string()))?;
        let graph = if keep_graphs { quad.graph_name.as_ref() } else { GraphNameRef::DefaultGraph };
        writer.serialize_quad(QuadRef::new(&quad.subject, &quad.predicate, &quad.object, graph))?;
        n += 1;
    }
    writer.finish()?;
    Ok(n)
}
