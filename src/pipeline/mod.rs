//! The extraction pipeline: documents -> triples with provenance -> a sink.
//!
//! ```text
//! read -> split -> encode -> batch -> tag -> decode -> assemble -> Sink
//! ```
//!
//! [`run`] takes any iterator of [`Document`]s (the [`read`] stage makes one
//! from files; `kgx eval` one from memory), a loaded [`crate::model::Model`],
//! [`PipelineOptions`] and a [`Sink`]. One module a stage:
//! [`read`] (inputs -> documents), [`split`] (sentences with char offsets),
//! the encode stage (the model's tokenizer, on worker threads), [`batch`]
//! (padded batches within a token budget), tagging (the model's workers,
//! [`passes`]), [`decode`] (logits -> labelled spans), [`predicates`]
//! (predicate-indexed models' heads and windows), [`assemble`] (spans ->
//! triples) and [`relation`] (a relation's lemma, voice, negation and
//! modality). [`chunk`] carries a chunk of documents through them; `run`
//! holds the threads, the only ones in kgx; [`timing`] adds up where their
//! time goes.

pub mod assemble;
pub mod batch;
pub mod chunk;
pub mod decode;
pub mod document;
pub mod passes;
pub mod predicates;
pub mod read;
pub mod relation;
pub mod resolve;
mod run;
pub mod sink;
pub mod split;
pub mod timing;

pub use document::{content_hash, Document, DocumentError, DocumentItem};
pub use run::{run, PipelineError, PipelineOptions, SplitMode, Stage};
pub use sink::{ExtractedDocument, ExtractedSentence, NullSink, PipelineStats, Sink, StoredCheck, WriteStats};
