//! `kgx query`: SPARQL over a store, results streamed to a writer.
//!
//! Takes: a store directory, a SPARQL query (kgx's prefixes predeclared)
//! and an output format. Gives: SELECT/ASK results as an aligned table or
//! the W3C formats (CSV, TSV, JSON, XML); CONSTRUCT/DESCRIBE results as
//! Turtle, N-Triples or N-Quads.
//! Invariants: the default graph is the union of all named graphs (each
//! document's graph), so queries need no GRAPH clause; syntax errors are
//! reported with the parser's line and column (prefixes do not shift them).

use std::io::Write;
use std::path::{Path, PathBuf};

use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::{GraphNameRef, QuadRef, Term};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};

use crate::store::lock::StoreLock;
use crate::store::vocab::PREFIXES;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QueryFormat {
    /// Aligned columns for people (SELECT/ASK).
    Table,
    Csv,
    Tsv,
    Json,
    Xml,
    /// CONSTRUCT/DESCRIBE (default for them).
    Turtle,
    Ntriples,
    Nquads,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("SPARQL syntax error in {source_name}: {message}")]
    Syntax { source_name: String, message: String },
    #[error("query evaluation failed: {0}")]
    Evaluation(String),
    #[error("format {format:?} does not fit a {kind} query (use {hint})")]
    Format { format: QueryFormat, kind: &'static str, hint: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write results: {0}")]
    Write(#[from] std::io::Error),
}


/// An opened, locked, existing store for reading.
pub struct ReadStore {
    pub store: oxigraph::store::Store,
    pub dir: PathBuf,
    _lock: StoreLock,
}

impl ReadStore {
    pub fn open(dir: &Path, command: &str) -> Result<Self, StoreError> {
        if !dir.join("oxigraph").is_dir() {
            return Err(StoreError::Missing { dir: dir.to_path_buf() });
        }
        let lock = StoreLock::acquire(dir, command)?;
        let store = oxigraph::store::Store::open(dir.join("oxigraph")).map_err(|e| StoreError::Rdf { dir: dir.to_path_buf(), message: e.to_string() })?;
        Ok(Self { store, dir: dir.to_path_buf(), _lock: lock })
    }
}

/// Runs `query` and writes its results in `format` (None: the kind's default).
/// A SPARQL evaluator with kgx's prefixes predeclared.
pub fn evaluator() -> SparqlEvaluator {
    PREFIXES.iter().fold(SparqlEvaluator::new(), |e, (p, iri)| e.with_prefix(*p, *iri).expect("kgx's prefix IRIs are valid"))
}

/// Runs a SELECT over the union of all graphs (for kgx's own reports);
/// each value as plain text: IRIs bare, literals' lexical form, "" unbound.
pub fn select_values(store: &oxigraph::store::Store, query: &str) -> Result<Vec<Vec<String>>, QueryError> {
    let mut prepared = evaluator().parse_query(query).map_err(|e| QueryError::Syntax { source_name: "kgx".into(), message: e.to_string() })?;
    prepared.dataset_mut().set_default_graph_as_union();
    let QueryResults::Solutions(solutions) = prepared.on_store(store).execute().map_err(|e| QueryError::Evaluation(e.to_string()))? else {
        return Err(QueryError::Evaluation("expected a SELECT query".into()));
    };
    let variables = solutions.variables().to_vec();
    solutions
        .map(|s| {
            let s = s.map_err(|e| QueryError::Evaluation(e.to_string()))?;
            Ok(variables.iter().map(|v| s.get(v).map(plain_value).unwrap_or_default()).collect())
        })
        .collect()
}

fn plain_value(term: &Term) -> String {
    match term {
        Term::NamedNode(n) => n.as_str().to_string(),
        Term::Literal(l) => l.value().to_string(),
        other => other.to_string(),
    }
}

/// With `explain`, the evaluation plan (JSON, with row counts) goes to stderr after the results.
pub fn run_query(store: &ReadStore, query: &str, source_name: &str, format: Option<QueryFormat>, explain: bool, out: &mut dyn Write) -> Result<(), QueryError> {
    let mut prepared = evaluator()
        .parse_query(query)
        .map_err(|e| QueryError::Syntax { source_name: source_name.to_string(), message: syntax_message(&e.to_string()) })?;
    prepared.dataset_mut().set_default_graph_as_union();
    let bound = prepared.on_store(&store.store);
    let (results, explanation) = if explain {
        let (results, explanation) = bound.compute_statistics().explain();
        (results, Some(explanation))
    } else {
        (bound.execute(), None)
    };
    let results = results.map_err(|e| QueryError::Evaluation(e.to_string()))?;
    write_results(results, format, out)?;
    if let Some(explanation) = explanation {
        let mut err = std::io::stderr().lock();
        explanation.write_in_json(&mut err)?;
        writeln!(err)?;
    }
    Ok(())
}

fn write_results(results: QueryResults<'_>, format: Option<QueryFormat>, out: &mut dyn Write) -> Result<(), QueryError> {
    match results {
        QueryResults::Solutions(solutions) => {
            let variables = solutions.variables().to_vec();
            let w3c = match format.unwrap_or_else(default_table_format) {
                QueryFormat::Table => return write_table(solutions, &variables, out),
                QueryFormat::Csv => QueryResultsFormat::Csv,
                QueryFormat::Tsv => QueryResultsFormat::Tsv,
                QueryFormat::Json => QueryResultsFormat::Json,
                QueryFormat::Xml => QueryResultsFormat::Xml,
                f => return Err(QueryError::Format { format: f, kind: "SELECT", hint: "table, csv, tsv, json or xml" }),
            };
            let mut ser = QueryResultsSerializer::from_format(w3c).serialize_solutions_to_writer(out, variables)?;
            for solution in solutions {
                let solution = solution.map_err(|e| QueryError::Evaluation(e.to_string()))?;
                ser.serialize(&solution)?;
            }
            ser.finish()?;
        }
        QueryResults::Boolean(value) => {
            let w3c = match format.unwrap_or_else(default_table_format) {
                QueryFormat::Table => {
                    writeln!(out, "{value}")?;
                    return Ok(());
                }
                QueryFormat::Csv => QueryResultsFormat::Csv,
                QueryFormat::Tsv => QueryResultsFormat::Tsv,
                QueryFormat::Json => QueryResultsFormat::Json,
                QueryFormat::Xml => QueryResultsFormat::Xml,
                f => return Err(QueryError::Format { format: f, kind: "ASK", hint: "table, csv, tsv, json or xml" }),
            };
            QueryResultsSerializer::from_format(w3c).serialize_boolean_to_writer(out, value)?;
        }
        QueryResults::Graph(triples) => {
            let rdf = match format.unwrap_or(QueryFormat::Turtle) {
                QueryFormat::Turtle => RdfFormat::Turtle,
                QueryFormat::Ntriples => RdfFormat::NTriples,
                QueryFormat::Nquads => RdfFormat::NQuads,
                f => return Err(QueryError::Format { format: f, kind: "CONSTRUCT/DESCRIBE", hint: "turtle, ntriples or nquads" }),
            };
            let mut serializer = RdfSerializer::from_format(rdf);
            if rdf == RdfFormat::Turtle {
                for (p, iri) in PREFIXES {
                    serializer = serializer.with_prefix(p, iri).map_err(|e| QueryError::Evaluation(e.to_string()))?;
                }
            }
            let mut writer = serializer.for_writer(out);
            for triple in triples {
                let t = triple.map_err(|e| QueryError::Evaluation(e.to_string()))?;
                writer.serialize_quad(QuadRef::new(&t.subject, &t.predicate, &t.object, GraphNameRef::DefaultGraph))?;
            }
            writer.finish()?;
        }
    }
    Ok(())
}

/// `error at L:C: expected one of <200 alternatives>` -> `line L, column C: expected one of <a few> ...`.
fn syntax_message(raw: &str) -> String {
    let (position, rest) = match raw.strip_prefix("error at ").and_then(|r| r.split_once(": ")) {
        Some((pos, rest)) => match pos.split_once(':') {
            Some((line, column)) => (format!("line {line}, column {column}: "), rest),
            None => (String::new(), raw),
        },
        None => (String::new(), raw),
    };
    let mut detail: String = rest.chars().take(160).collect();
    if rest.chars().count() > 160 {
        detail.push_str(" ...");
    }
    format!("{position}{}", detail.replace('\n', " "))
}

/// SELECT/ASK default: a table for people on a terminal, W3C TSV for programs.
fn default_table_format() -> QueryFormat {
    if is_terminal::is_terminal(std::io::stdout()) { QueryFormat::Table } else { QueryFormat::Tsv }
}

/// A term as people read it: prefixed names, plain literal values.
pub fn display_term(term: &Term) -> String {
    match term {
        Term::NamedNode(n) => shorten(n.as_str()),
        Term::Literal(l) => l.value().to_string(),
        other => other.to_string(),
    }
}

fn shorten(iri: &str) -> String {
    for (p, ns) in PREFIXES {
        if let Some(local) = iri.strip_prefix(ns) {
            return format!("{p}:{local}");
        }
    }
    format!("<{iri}>")
}

fn write_table(solutions: oxigraph::sparql::QuerySolutionIter<'_>, variables: &[oxigraph::sparql::Variable], out: &mut dyn Write) -> Result<(), QueryError> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for solution in solutions {
        let solution = solution.map_err(|e| QueryError::Evaluation(e.to_string()))?;
        rows.push(variables.iter().map(|v| solution.get(v).map(display_term).unwrap_or_default().replace(['\n', '\t'], " ")).collect());
    }
    let headers: Vec<String> = variables.iter().map(|v| v.as_str().to_string()).collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).chain([headers[i].chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join(" | ").trim_end().to_string()
    };
    writeln!(out, "{}", line(&headers))?;
    writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    writeln!(out, "({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn syntax_errors_name_line_and_column() {
        let m = super::syntax_message("error at 3:1: expected one of \"$\", \"(\"");
        assert_eq!(m, "line 3, column 1: expected one of \"$\", \"(\"");
    }
}
