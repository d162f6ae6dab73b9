//! One SPARQL server: its query, update and graph-store URLs, and the
//! operations kgx performs on them.
//!
//! Takes: the query endpoint's URL (and, where the server's layout is not
//! one kgx knows, the update and graph-store URLs). Gives: query results as
//! Oxigraph's [`QueryResults`] (streamed from the response), updates, and
//! Graph Store Protocol PUT (replace), POST (add) and DELETE of a named graph.
//! Invariants: URLs are http(s); the update and graph-store URLs follow
//! from the query URL for the layouts in [`derived_urls`]; deleting a graph
//! the server lacks succeeds (404 is the state wanted).

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::Triple;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsParser};
use oxigraph::sparql::{QueryEvaluationError, QueryResults, QueryTripleIter};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::auth::Credentials;
use super::http::{Exchange, HttpClient, HttpOptions};
use super::RemoteError;

/// What a SPARQL text asks for, so the right results format is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryForm {
    /// SELECT or ASK: SPARQL JSON results.
    Solutions,
    /// CONSTRUCT or DESCRIBE: N-Triples.
    Graph,
}

/// How to reach a server.
#[derive(Debug, Clone, Default)]
pub struct EndpointOptions {
    /// The SPARQL 1.1 Protocol query URL.
    pub query_url: String,
    /// The update URL; default: derived from `query_url` ([`derived_urls`]).
    pub update_url: Option<String>,
    /// The Graph Store Protocol URL; default: derived from `query_url`.
    pub graph_store_url: Option<String>,
    pub credentials: Option<Credentials>,
    pub http: HttpOptions,
}

pub struct Endpoint {
    pub query_url: String,
    pub update_url: String,
    pub graph_store_url: String,
    http: HttpClient,
}

/// The update and graph-store URLs of the server layouts kgx knows:
/// `.../query` (Oxigraph, Fuseki): `.../update` and `.../store`;
/// `.../sparql` (Virtuoso): the same URL and `.../sparql-graph-crud`;
/// `.../sparql-auth` (Virtuoso with Digest): the same and
/// `.../sparql-graph-crud-auth`; any other: the query URL for both.
pub fn derived_urls(query_url: &str) -> (String, String) {
    let base = query_url.split(['?', '#']).next().unwrap_or(query_url).trim_end_matches('/');
    if let Some(root) = base.strip_suffix("/query") {
        (format!("{root}/update"), format!("{root}/store"))
    } else if base.ends_with("/sparql") || base.ends_with("/sparql-auth") {
        let crud = if base.ends_with("-auth") { "sparql-graph-crud-auth" } else { "sparql-graph-crud" };
        let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(base);
        (base.to_string(), format!("{root}/{crud}"))
    } else {
        (base.to_string(), base.to_string())
    }
}

/// Characters kept as they are in a form value or a query parameter.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn check_url(url: &str, what: &str) -> Result<String, RemoteError> {
    match url.parse::<ureq::http::Uri>() {
        Ok(u) if matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some() => Ok(url.to_string()),
        _ => Err(RemoteError::Url(format!("{what} {url:?} is not an http:// or https:// URL"))),
    }
}

impl Endpoint {
    pub fn new(options: EndpointOptions) -> Result<Self, RemoteError> {
        let query_url = check_url(&options.query_url, "endpoint")?;
        let (update, store) = derived_urls(&query_url);
        let update_url = check_url(options.update_url.as_deref().unwrap_or(&update), "update endpoint")?;
        let graph_store_url = check_url(options.graph_store_url.as_deref().unwrap_or(&store), "graph store")?;
        Ok(Self { query_url, update_url, graph_store_url, http: HttpClient::new(options.credentials, options.http) })
    }

    /// Whether the query URL is Virtuoso's (`.../sparql` or `.../sparql-auth`).
    pub fn is_virtuoso_layout(&self) -> bool {
        let base = self.query_url.split(['?', '#']).next().unwrap_or("").trim_end_matches('/');
        base.ends_with("/sparql") || base.ends_with("/sparql-auth")
    }

    /// Runs a query (form-encoded POST, so long queries fit) and parses
    /// the results as they stream in.
    pub fn query(&self, query: &str, form: QueryForm) -> Result<QueryResults<'static>, RemoteError> {
        let accept = match form {
            QueryForm::Solutions => "application/sparql-results+json, application/sparql-results+xml;q=0.9",
            QueryForm::Graph => "application/n-triples, text/turtle;q=0.9",
        };
        let body = format!("query={}", utf8_percent_encode(query, ENCODE));
        let exchange = Exchange {
            method: "POST",
            url: &self.query_url,
            content_type: Some("application/x-www-form-urlencoded"),
            accept: Some(accept),
            body: Some(body.as_bytes()),
        };
        let response = self.http.send(exchange)?;
        let media_type = response.body().mime_type().unwrap_or("").to_string();
        let answer = |problem: String| RemoteError::Answer { url: self.query_url.clone(), problem };
        let reader = response.into_body().into_reader();
        match form {
            QueryForm::Solutions => {
                let format = QueryResultsFormat::from_media_type(&media_type)
                    .ok_or_else(|| answer(format!("results in {media_type:?}, not a SPARQL results format")))?;
                let parsed = QueryResultsParser::from_format(format).for_reader(reader).map_err(|e| answer(e.to_string()))?;
                Ok(parsed.into())
            }
            QueryForm::Graph => {
                let format = RdfFormat::from_media_type(&media_type)
                    .ok_or_else(|| answer(format!("a graph in {media_type:?}, not an RDF format")))?;
                let triples = RdfParser::from_format(format)
                    .for_reader(reader)
                    .map(|q| q.map(Triple::from).map_err(|e| QueryEvaluationError::Service(Box::new(e))));
                Ok(QueryResults::Graph(QueryTripleIter::new(triples)))
            }
        }
    }

    /// Runs a SPARQL 1.1 Update (one request; the server decides whether it is atomic).
    pub fn update(&self, update: &[u8]) -> Result<(), RemoteError> {
        let exchange = Exchange {
            method: "POST",
            url: &self.update_url,
            content_type: Some("application/sparql-update"),
            accept: None,
            body: Some(update),
        };
        self.http.send(exchange).map(drop)
    }

    fn graph_url(&self, graph: &str) -> String {
        let joiner = if self.graph_store_url.contains('?') { '&' } else { '?' };
        format!("{}{joiner}graph={}", self.graph_store_url, utf8_percent_encode(graph, ENCODE))
    }

    /// Graph Store Protocol: `graph` becomes exactly `ntriples` (PUT), or
    /// gains them (`replace` false: POST).
    pub fn send_graph(&self, graph: &str, ntriples: &[u8], replace: bool) -> Result<(), RemoteError> {
        let url = self.graph_url(graph);
        let exchange = Exchange {
            method: if replace { "PUT" } else { "POST" },
            url: &url,
            // N-Triples is Turtle; every server takes Turtle (Virtuoso 7 no N-Triples media type).
            content_type: Some("text/turtle; charset=utf-8"),
            accept: None,
            body: Some(ntriples),
        };
        self.http.send(exchange).map(drop)
    }

    /// Graph Store Protocol DELETE; a graph the server lacks is not an error.
    pub fn delete_graph(&self, graph: &str) -> Result<(), RemoteError> {
        let url = self.graph_url(graph);
        let exchange = Exchange { method: "DELETE", url: &url, content_type: None, accept: None, body: None };
        match self.http.send(exchange) {
            Ok(_) | Err(RemoteError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_and_graph_store_urls_follow_the_known_layouts() {
        let d = |u: &str| derived_urls(u);
        assert_eq!(d("http://h:7878/query"), ("http://h:7878/update".into(), "http://h:7878/store".into()));
        assert_eq!(d("http://h/ds/query/"), ("http://h/ds/update".into(), "http://h/ds/store".into()));
        assert_eq!(d("http://h:8890/sparql"), ("http://h:8890/sparql".into(), "http://h:8890/sparql-graph-crud".into()));
        assert_eq!(d("http://h:8890/sparql-auth"), ("http://h:8890/sparql-auth".into(), "http://h:8890/sparql-graph-crud-auth".into()));
        assert_eq!(d("https://h/kg"), ("https://h/kg".into(), "https://h/kg".into()));
    }

    #[test]
    fn graph_iris_are_percent_encoded_into_the_graph_parameter() {
        let e = Endpoint::new(EndpointOptions { query_url: "http://h:7878/query".into(), ..Default::default() }).unwrap();
        assert_eq!(e.graph_url("urn:kgx:doc/a b#1"), "http://h:7878/store?graph=urn%3Akgx%3Adoc%2Fa%20b%231");
        let e = Endpoint::new(EndpointOptions {
            query_url: "http://h/q".into(),
            graph_store_url: Some("http://h/gs?x=1".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(e.graph_url("urn:g"), "http://h/gs?x=1&graph=urn%3Ag");
    }

    #[test]
    fn urls_that_are_not_http_are_refused_by_name() {
        let err = Endpoint::new(EndpointOptions { query_url: "ftp://h/q".into(), ..Default::default() }).err().unwrap();
        assert!(err.to_string().contains("endpoint \"ftp://h/q\" is not an http"), "{err}");
        let err =
            Endpoint::new(EndpointOptions { query_url: "http://h/q".into(), graph_store_url: Some("store".into()), ..Default::default() })
                .err()
                .unwrap();
        assert!(err.to_string().starts_with("graph store \"store\""), "{err}");
    }
}
