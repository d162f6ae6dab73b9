//! SPARQL over a store (`kgx query` and kgx's own reports), results
//! streamed to a writer.
//!
//! Takes: a store directory or a SPARQL endpoint, a SPARQL query (kgx's
//! prefixes predeclared) and an output format. Gives: SELECT/ASK results as
//! an aligned table or the W3C formats (CSV, TSV, JSON, XML);
//! CONSTRUCT/DESCRIBE results as Turtle, N-Triples or N-Quads; the same
//! writers whichever side evaluated the query.
//! Invariants: the default graph is the union of all named graphs (each
//! document's graph), so queries need no GRAPH clause (an endpoint must be
//! set up so: Virtuoso is, Oxigraph with `--union-default-graph`); syntax
//! errors are reported, before anything is sent, with the parser's line and
//! column (prefixes do not shift them).

use std::io::Write;
use std::path::{Path, PathBuf};

use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::{GraphNameRef, QuadRef, Term};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{PreparedSparqlQuery, QueryEvaluationError, QueryResults, SparqlEvaluator};
use unicode_width::UnicodeWidthStr;

use crate::choice::Choice;
use crate::remote::endpoint::QueryForm;
use crate::remote::{Endpoint, RemoteError};
use crate::store::lock::{holder_pid, StoreLock};
use crate::store::snapshot::{open_newest, OpenSnapshot};
use crate::store::vocab::PREFIXES;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryFormat {
    Table,
    Csv,
    Tsv,
    Json,
    Xml,
    Turtle,
    Ntriples,
    Nquads,
}

crate::choice::choices!(QueryFormat {
    Table => "table", "Aligned columns for people (SELECT/ASK)";
    Csv => "csv", "";
    Tsv => "tsv", "";
    Json => "json", "";
    Xml => "xml", "";
    Turtle => "turtle", "CONSTRUCT/DESCRIBE (default for them)";
    Ntriples => "ntriples", "";
    Nquads => "nquads", "";
});

/// How results are written.
#[derive(Debug, Clone, Copy)]
pub struct QueryOptions {
    /// The output format; None: `select_default` for SELECT/ASK, Turtle for CONSTRUCT/DESCRIBE.
    pub format: Option<QueryFormat>,
    /// SELECT/ASK's format when none is given (a table for people, TSV for programs).
    pub select_default: QueryFormat,
    /// Also write the evaluation plan with row counts (JSON) to stderr.
    pub explain: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("SPARQL syntax error in {source_name}: {message}")]
    Syntax { source_name: String, message: String },
    #[error("query evaluation failed")]
    Evaluation(#[from] QueryEvaluationError),
    #[error("format {} does not fit a {kind} query (use {hint})", .format.name())]
    Format { format: QueryFormat, kind: &'static str, hint: &'static str },
    #[error("kgx's own query is not a SELECT query")]
    NotSelect,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write results")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("{source_name} is an ASK query; a selection needs a SELECT or CONSTRUCT whose results name the nodes")]
    NamesNoNodes { source_name: String },
    #[error("--explain needs a local store (an endpoint does not return its plan)")]
    ExplainRemote,
}

/// An opened, existing store for reading: the store itself under its
/// lock, or, while `kgx extract` holds the lock, the newest state that run
/// published ([`crate::store::snapshot`]).
pub struct ReadStore {
    pub store: oxigraph::store::Store,
    pub dir: PathBuf,
    _guard: ReadGuard,
}

/// Held, never read: the lock, or the snapshot's shared lock, lasts as long as the reader.
enum ReadGuard {
    Lock(#[allow(dead_code)] StoreLock),
    Snapshot(#[allow(dead_code)] OpenSnapshot),
}

impl ReadStore {
    /// Opens the store, or the running extraction's newest snapshot when
    /// an extraction holds it (saying so on stderr). A holder that
    /// publishes none (another command, or an extraction still starting
    /// or ending) is waited for up to three seconds, then refused.
    pub fn open(dir: &Path, command: &str) -> Result<Self, StoreError> {
        let mut waited = 0;
        loop {
            match Self::open_exclusive(dir, command) {
                Err(StoreError::Locked { dir: locked, holder }) => {
                    if let Some(snapshot) = holder_pid(&holder).map(|pid| open_newest(dir, pid)).transpose()?.flatten() {
                        eprintln!(
                            "kgx: {} is being written ({holder}); reading the state it committed at {} ({} documents of this run)",
                            dir.display(),
                            snapshot.info.published_at,
                            snapshot.info.documents
                        );
                        let store = snapshot.store.clone();
                        return Ok(Self { store, dir: dir.to_path_buf(), _guard: ReadGuard::Snapshot(snapshot) });
                    }
                    if waited >= 30 {
                        return Err(StoreError::Locked { dir: locked, holder });
                    }
                    waited += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    /// Opens the store under its lock, refusing at once while another
    /// process holds it (for commands that write beside the store: push).
    pub fn open_exclusive(dir: &Path, command: &str) -> Result<Self, StoreError> {
        if !dir.join("oxigraph").is_dir() {
            return Err(StoreError::Missing { dir: dir.to_path_buf() });
        }
        let lock = StoreLock::acquire(dir, command)?;
        let store = oxigraph::store::Store::open(dir.join("oxigraph")).map_err(|e| StoreError::rdf(dir, e))?;
        Ok(Self { store, dir: dir.to_path_buf(), _guard: ReadGuard::Lock(lock) })
    }
}

/// `query` (read from `source_name`) parsed with kgx's prefixes, to run
/// over the union of all graphs; a syntax error names the source, line
/// and column.
fn prepare(query: &str, source_name: &str) -> Result<PreparedSparqlQuery, QueryError> {
    let mut prepared = evaluator()
        .parse_query(query)
        .map_err(|e| QueryError::Syntax { source_name: source_name.to_string(), message: syntax_message(&e.to_string()) })?;
    prepared.dataset_mut().set_default_graph_as_union();
    Ok(prepared)
}

/// A SPARQL evaluator with kgx's prefixes predeclared.
pub fn evaluator() -> SparqlEvaluator {
    PREFIXES.iter().fold(SparqlEvaluator::new(), |e, (p, iri)| e.with_prefix(*p, *iri).expect("kgx's prefix IRIs are valid"))
}

/// Where kgx's own SELECT queries (stats, exports, evaluation) run: a
/// local store, or a SPARQL endpoint holding a pushed store.
pub trait SelectSource {
    /// Runs a SELECT over the union of all graphs; each value as plain
    /// text: IRIs bare, literals' lexical form, "" unbound.
    fn select_values(&self, query: &str) -> Result<Vec<Vec<String>>, QueryError>;
}

impl SelectSource for oxigraph::store::Store {
    fn select_values(&self, query: &str) -> Result<Vec<Vec<String>>, QueryError> {
        let mut rows = Vec::new();
        select_each(self, query, |row| rows.push(row))?;
        Ok(rows)
    }
}

impl SelectSource for Endpoint {
    fn select_values(&self, query: &str) -> Result<Vec<Vec<String>>, QueryError> {
        solution_values(self.query(&with_prefixes(query), QueryForm::Solutions)?)
    }
}

/// [`SelectSource::select_values`] on a local store.
pub fn select_values(store: &oxigraph::store::Store, query: &str) -> Result<Vec<Vec<String>>, QueryError> {
    store.select_values(query)
}

/// Runs kgx's own SELECT on a local store and hands each row's values (as
/// [`SelectSource::select_values`] gives them) to `row` as they come, so
/// that a caller keeping few of them holds few.
pub fn select_each(store: &oxigraph::store::Store, query: &str, row: impl FnMut(Vec<String>)) -> Result<(), QueryError> {
    each_solution(prepare(query, "kgx")?.on_store(store).execute()?, row)
}

fn solution_values(results: QueryResults<'_>) -> Result<Vec<Vec<String>>, QueryError> {
    let mut rows = Vec::new();
    each_solution(results, |row| rows.push(row))?;
    Ok(rows)
}

fn each_solution(results: QueryResults<'_>, mut row: impl FnMut(Vec<String>)) -> Result<(), QueryError> {
    let QueryResults::Solutions(solutions) = results else {
        return Err(QueryError::NotSelect);
    };
    let variables = solutions.variables().to_vec();
    for solution in solutions {
        let solution = solution?;
        row(variables.iter().map(|v| solution.get(v).map(plain_value).unwrap_or_default()).collect());
    }
    Ok(())
}

/// The query with a PREFIX line for each of kgx's prefixes it does not
/// declare itself (an endpoint knows none of them).
fn with_prefixes(query: &str) -> String {
    let declared = |p: &str| {
        query.lines().any(|l| {
            let mut words = l.split_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("PREFIX")) && words.next() == Some(&format!("{p}:"))
        })
    };
    let mut text: String = PREFIXES.iter().filter(|(p, _)| !declared(p)).map(|(p, iri)| format!("PREFIX {p}: <{iri}>\n")).collect();
    text.push_str(query);
    text
}

/// Runs `query` (read from `source_name`) on a SPARQL endpoint and writes
/// its results as [`run_query`] writes a store's. The query is parsed here
/// first: a syntax error is reported as for a local query, and the form
/// decides which results format is asked for.
pub fn run_endpoint_query(
    endpoint: &Endpoint,
    query: &str,
    source_name: &str,
    opts: QueryOptions,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    if opts.explain {
        return Err(QueryError::ExplainRemote);
    }
    let parser = PREFIXES
        .iter()
        .fold(spargebra::SparqlParser::new(), |p, (prefix, iri)| p.with_prefix(*prefix, *iri).expect("kgx's prefix IRIs are valid"));
    let parsed = parser
        .parse_query(query)
        .map_err(|e| QueryError::Syntax { source_name: source_name.to_string(), message: syntax_message(&e.to_string()) })?;
    let form = match parsed {
        spargebra::Query::Select { .. } | spargebra::Query::Ask { .. } => QueryForm::Solutions,
        spargebra::Query::Construct { .. } | spargebra::Query::Describe { .. } => QueryForm::Graph,
    };
    write_results(endpoint.query(&with_prefixes(query), form)?, opts, out)
}

fn plain_value(term: &Term) -> String {
    match term {
        Term::NamedNode(n) => n.as_str().to_string(),
        Term::Literal(l) => l.value().to_string(),
        other => other.to_string(),
    }
}

/// Runs `query` (read from `source_name`) and writes its results to `out`;
/// with `explain`, the evaluation plan (JSON, with row counts) goes to
/// stderr after the results.
pub fn run_query(store: &ReadStore, query: &str, source_name: &str, opts: QueryOptions, out: &mut dyn Write) -> Result<(), QueryError> {
    let bound = prepare(query, source_name)?.on_store(&store.store);
    let (results, explanation) = if opts.explain {
        let (results, explanation) = bound.compute_statistics().explain();
        (results, Some(explanation))
    } else {
        (bound.execute(), None)
    };
    write_results(results?, opts, out)?;
    if let Some(explanation) = explanation {
        let mut err = std::io::stderr().lock();
        explanation.write_in_json(&mut err)?;
        writeln!(err)?;
    }
    Ok(())
}

/// The IRIs a query's results name, in the order they come: every IRI
/// bound in a SELECT's rows, the subjects and objects of a CONSTRUCT's or
/// DESCRIBE's triples (what `kgx export --query` draws). An ASK names none.
pub fn result_iris(store: &oxigraph::store::Store, query: &str, source_name: &str) -> Result<Vec<String>, QueryError> {
    let mut iris = Vec::new();
    match prepare(query, source_name)?.on_store(store).execute()? {
        QueryResults::Solutions(solutions) => {
            for solution in solutions {
                iris.extend(solution?.iter().filter_map(|(_, t)| match t {
                    Term::NamedNode(n) => Some(n.as_str().to_string()),
                    _ => None,
                }));
            }
        }
        QueryResults::Graph(triples) => {
            for triple in triples {
                let t = triple?;
                if let oxigraph::model::NamedOrBlankNode::NamedNode(n) = &t.subject {
                    iris.push(n.as_str().to_string());
                }
                if let Term::NamedNode(n) = &t.object {
                    iris.push(n.as_str().to_string());
                }
            }
        }
        QueryResults::Boolean(_) => return Err(QueryError::NamesNoNodes { source_name: source_name.to_string() }),
    }
    Ok(iris)
}

fn write_results(results: QueryResults<'_>, opts: QueryOptions, out: &mut dyn Write) -> Result<(), QueryError> {
    match results {
        QueryResults::Solutions(solutions) => {
            let variables = solutions.variables().to_vec();
            let w3c = match opts.format.unwrap_or(opts.select_default) {
                QueryFormat::Table => return write_table(solutions, &variables, out),
                QueryFormat::Csv => QueryResultsFormat::Csv,
                QueryFormat::Tsv => QueryResultsFormat::Tsv,
                QueryFormat::Json => QueryResultsFormat::Json,
                QueryFormat::Xml => QueryResultsFormat::Xml,
                f => return Err(QueryError::Format { format: f, kind: "SELECT", hint: "table, csv, tsv, json or xml" }),
            };
            let mut ser = QueryResultsSerializer::from_format(w3c).serialize_solutions_to_writer(out, variables)?;
            for solution in solutions {
                ser.serialize(&solution?)?;
            }
            ser.finish()?;
        }
        QueryResults::Boolean(value) => {
            let w3c = match opts.format.unwrap_or(opts.select_default) {
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
            let rdf = match opts.format.unwrap_or(QueryFormat::Turtle) {
                QueryFormat::Turtle => RdfFormat::Turtle,
                QueryFormat::Ntriples => RdfFormat::NTriples,
                QueryFormat::Nquads => RdfFormat::NQuads,
                f => return Err(QueryError::Format { format: f, kind: "CONSTRUCT/DESCRIBE", hint: "turtle, ntriples or nquads" }),
            };
            let mut writer = serializer(rdf).for_writer(out);
            for triple in triples {
                let t = triple?;
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

/// A serializer for `format`, with kgx's prefixes in Turtle.
pub fn serializer(format: RdfFormat) -> RdfSerializer {
    let mut serializer = RdfSerializer::from_format(format);
    if format == RdfFormat::Turtle {
        for (p, iri) in PREFIXES {
            serializer = serializer.with_prefix(p, iri).expect("kgx's prefix IRIs are valid");
        }
    }
    serializer
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

fn write_table(
    solutions: oxigraph::sparql::QuerySolutionIter<'_>,
    variables: &[oxigraph::sparql::Variable],
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for solution in solutions {
        let solution = solution?;
        rows.push(variables.iter().map(|v| solution.get(v).map(display_term).unwrap_or_default().replace(['\n', '\t'], " ")).collect());
    }
    let headers: Vec<String> = variables.iter().map(|v| v.as_str().to_string()).collect();
    // Columns are as wide as their widest cell on a terminal (CJK and emoji take two columns).
    let width = |i: usize| rows.iter().map(|r| r[i].width()).chain([headers[i].width()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.width())))).collect();
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
    use super::*;

    #[test]
    fn endpoint_queries_get_the_prefixes_they_do_not_declare() {
        let text = with_prefixes("prefix kgx: <urn:mine#>\nSELECT * WHERE { ?s rdfs:label ?l }");
        assert!(!text.contains("PREFIX kgx:"), "{text}");
        assert!(text.contains("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"), "{text}");
        assert!(text.ends_with("prefix kgx: <urn:mine#>\nSELECT * WHERE { ?s rdfs:label ?l }"));
        spargebra::SparqlParser::new().parse_query(&text).unwrap();
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let m = syntax_message("error at 3:1: expected one of \"$\", \"(\"");
        assert_eq!(m, "line 3, column 1: expected one of \"$\", \"(\"");
    }

    /// Regression: the table counted chars, so a column holding CJK or
    /// emoji (two terminal columns a char) came out ragged.
    #[test]
    fn table_columns_line_up_by_display_width_not_chars() {
        let store = oxigraph::store::Store::new().unwrap();
        let query = "SELECT ?name ?n WHERE { VALUES (?name ?n) { (\"東京\" 1) (\"Paris\" 2) (\"👍🏽 ok\" 3) } }";
        let mut prepared = evaluator().parse_query(query).unwrap();
        prepared.dataset_mut().set_default_graph_as_union();
        let QueryResults::Solutions(solutions) = prepared.on_store(&store).execute().unwrap() else { panic!("a SELECT") };
        let variables = solutions.variables().to_vec();
        let mut out = Vec::new();
        write_table(solutions, &variables, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let bars: Vec<usize> = text.lines().filter(|l| l.contains('|')).map(|l| l.split('|').next().unwrap().width()).collect();
        assert_eq!(bars.len(), 4, "{text}");
        assert!(bars.windows(2).all(|w| w[0] == w[1]), "{text}");
    }
}
