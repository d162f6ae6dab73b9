//! SPARQL 1.1 servers: queries, updates and the Graph Store HTTP Protocol
//! over HTTP, and pushing a store's graphs into a server.
//!
//! - [`auth`]: credentials from an environment variable (Basic, Bearer, Digest).
//! - [`http`]: the HTTP client (retries with back-off, Content-Length bodies).
//! - [`endpoint`]: one server's query, update and graph-store URLs and the
//!   operations on them; query results parsed into Oxigraph's
//!   [`oxigraph::sparql::QueryResults`], so remote and local results are
//!   written by the same code ([`crate::query`]).
//! - [`push`]: a store's named graphs -> a server, only what changed since
//!   the last acknowledged push (the push log, [`crate::store::pushlog`]).

pub mod auth;
pub mod endpoint;
pub mod http;
pub mod push;

pub use endpoint::{Endpoint, EndpointOptions};

/// What went wrong talking to a server; names the request.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    Url(String),
    #[error(transparent)]
    Credentials(#[from] auth::CredentialsError),
    #[error("{method} {url} failed")]
    Transport {
        method: String,
        url: String,
        #[source]
        source: ureq::Error,
    },
    #[error("{method} {url}: the server answered {status}{}{}", if message.is_empty() { String::new() } else { format!(": {message}") },
        auth_hint(*status, *credentials))]
    Status { method: String, url: String, status: u16, message: String, credentials: bool },
    #[error("gave up after {attempts} tries")]
    GaveUp {
        attempts: u32,
        #[source]
        last: Box<RemoteError>,
    },
    #[error("{url}: cannot read the server's answer ({problem})")]
    Answer { url: String, problem: String },
}

/// What to do about a 401 sent without credentials.
fn auth_hint(status: u16, credentials: bool) -> &'static str {
    if status == 401 && !credentials {
        " (no credentials: set KGX_ENDPOINT_AUTH, or the variable --auth-env names, to digest:USER:PASSWORD, basic:... or bearer:...)"
    } else {
        ""
    }
}
