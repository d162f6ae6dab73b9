//! kgx: English text -> knowledge graph.
//!
//! Pipeline stages, one module each: [`read`] -> [`split`] -> [`encode`] ->
//! [`batch`] -> [`tagger`] -> [`decode`] -> [`assemble`] -> [`store`].
//! [`pipeline`] is the only module with threads; [`extract`] and [`query`]
//! are the commands; `main.rs` maps errors to exit codes.

pub mod assemble;
pub mod batch;
pub mod cli;
pub mod decode;
pub mod encode;
pub mod eval;
pub mod export;
pub mod extract;
pub mod iri;
pub mod memory;
pub mod model;
pub mod pipeline;
pub mod predicates;
pub mod progress;
pub mod query;
pub mod read;
pub mod read_formats;
pub mod split;
pub mod stats;
pub mod store;
pub mod tagger;
pub mod timestamp;

/// Process exit codes (documented in README.md).
pub mod exit {
    pub const OK: i32 = 0;
    /// Any other error (bad input path, I/O, ...).
    pub const ERROR: i32 = 1;
    /// Bad command line (clap).
    pub const USAGE: i32 = 2;
    /// The run finished, but some documents could not be used.
    pub const DOCUMENTS_FAILED: i32 = 3;
    /// The model or ONNX Runtime could not be loaded or run (CUDA too).
    pub const MODEL: i32 = 4;
    /// The store is missing, locked by another process, or broken.
    pub const STORE: i32 = 5;
    /// The SPARQL query does not parse.
    pub const QUERY_SYNTAX: i32 = 6;
    /// Stopped by SIGINT/SIGTERM after the last commit.
    pub const INTERRUPTED: i32 = 130;
}

/// The exit code for an error, from the first typed error in its chain.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if cause.downcast_ref::<store::StoreError>().is_some() {
            return exit::STORE;
        }
        if cause.downcast_ref::<tagger::TaggerError>().is_some()
            || cause.downcast_ref::<model::ModelError>().is_some()
            || cause.downcast_ref::<encode::EncodeError>().is_some()
        {
            return exit::MODEL;
        }
        if let Some(q) = cause.downcast_ref::<query::QueryError>() {
            return match q {
                query::QueryError::Syntax { .. } => exit::QUERY_SYNTAX,
                query::QueryError::Store(_) => exit::STORE,
                _ => exit::ERROR,
            };
        }
        if let Some(p) = cause.downcast_ref::<pipeline::PipelineError>() {
            return match p {
                pipeline::PipelineError::Tagger(_) => exit::MODEL,
                pipeline::PipelineError::Store(_) => exit::STORE,
                pipeline::PipelineError::Thread(_) => exit::ERROR,
            };
        }
    }
    exit::ERROR
}
