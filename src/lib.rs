//! kgx: English text -> knowledge graph, as a library under thin commands.
//!
//! - [`pipeline`]: documents -> triples with provenance -> a [`pipeline::Sink`];
//!   its stages (read, split, encode, batch, tag, decode, assemble) each in a
//!   module of their own, and the only code with threads.
//! - [`model`]: the [`model::Model`] value (manifest, tokenizer, ONNX
//!   Runtime sessions, provider, precision, labels) and what loads it.
//! - [`canon`]: canonical entities across documents (name keys, the entity
//!   index and the pass that links aliases into one entity).
//! - [`store`]: the persistent store (Oxigraph + SQLite run log) and its
//!   sink; [`query`], [`export`], [`stats`] and [`eval`] read it.
//! - [`remote`]: SPARQL 1.1 servers: queries, updates, the Graph Store
//!   Protocol, and pushing a store's graphs into a server.
//! - The `kgx` binary (`src/main.rs`, `src/commands/`) turns flags into the
//!   options structs of these modules and calls them; the library never sees
//!   a flag type (the commands are not part of it, so it cannot).
//!
//! Errors are typed per stage and keep their cause; [`exit_code`] maps a
//! failure to the documented exit code from the first typed error in its
//! chain.

pub mod canon;
pub mod choice;
pub mod eval;
pub mod export;
pub mod iri;
pub mod memory;
pub mod model;
pub mod pipeline;
pub mod query;
pub mod remote;
pub mod stats;
pub mod store;
pub mod timestamp;

use std::error::Error;

/// Process exit codes (documented in README.md).
pub mod exit {
    pub const OK: i32 = 0;
    /// Any other error (bad input path, I/O, ...).
    pub const ERROR: i32 = 1;
    /// Bad command line.
    pub const USAGE: i32 = 2;
    /// The run finished, but some documents could not be used.
    pub const DOCUMENTS_FAILED: i32 = 3;
    /// The model or ONNX Runtime could not be loaded or run (CUDA too).
    pub const MODEL: i32 = 4;
    /// The store is missing, locked by another process, or broken.
    pub const STORE: i32 = 5;
    /// The SPARQL query does not parse.
    pub const QUERY_SYNTAX: i32 = 6;
    /// A SPARQL server could not be reached, refused a request, or gave an
    /// answer kgx cannot read (after the retries).
    pub const ENDPOINT: i32 = 7;
    /// A stage of kgx failed in a way it should not (a bug: a thread
    /// panicked); nothing partial was committed (sysexits' EX_SOFTWARE).
    pub const INTERNAL: i32 = 70;
    /// Stopped by SIGINT/SIGTERM after the last commit.
    pub const INTERRUPTED: i32 = 130;
}

/// The exit code for an error, from the first typed error in its chain.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    error.chain().find_map(code_of).unwrap_or(exit::ERROR)
}

/// The exit code one error in a chain stands for, if it is a typed one.
fn code_of(cause: &(dyn Error + 'static)) -> Option<i32> {
    use pipeline::PipelineError;
    if cause.is::<store::StoreError>() {
        return Some(exit::STORE);
    }
    if cause.is::<model::LoadError>()
        || cause.is::<model::TaggerError>()
        || cause.is::<model::ModelError>()
        || cause.is::<model::LibraryError>()
    {
        return Some(exit::MODEL);
    }
    if let Some(q) = cause.downcast_ref::<query::QueryError>() {
        return match q {
            query::QueryError::Syntax { .. } => Some(exit::QUERY_SYNTAX),
            query::QueryError::Store(_) => Some(exit::STORE),
            query::QueryError::Remote(_) => Some(exit::ENDPOINT),
            _ => None,
        };
    }
    if cause.is::<remote::RemoteError>() {
        return Some(exit::ENDPOINT);
    }
    if let Some(p) = cause.downcast_ref::<remote::push::PushError>() {
        return match p {
            remote::push::PushError::Send { .. } => Some(exit::ENDPOINT),
            remote::push::PushError::Store(_) | remote::push::PushError::Read(_) => Some(exit::STORE),
            remote::push::PushError::Panicked => Some(exit::INTERNAL),
        };
    }
    match cause.downcast_ref::<PipelineError>()? {
        PipelineError::Tagger(_) | PipelineError::Resolve(_) => Some(exit::MODEL),
        PipelineError::Sink(inner) => code_of(inner.as_ref()).or(Some(exit::ERROR)),
        PipelineError::Panicked { .. } => Some(exit::INTERNAL),
    }
}
