//! Tag stage: padded batches -> per-token label logits, behind [`Tagger`].
//!
//! Takes: a [`ModelBatch`]. Gives: logits `[rows, width, labels]` as f32
//! (and the hidden state of a layered model's first graph, see [`TaggerOutput`]).
//! The ONNX Runtime implementation lives in [`super::onnx`];
//! [`super::runtime`] finds and loads the ONNX Runtime library and builds
//! sessions (providers, threads, optimisation level) in one place.
//! Invariants: a tagger may run batches from several threads at once
//! (`&self`; ONNX Runtime's `Run` is thread-safe); the output shape is
//! checked on every batch (ONNX Runtime writes into an array of the batch's
//! logits shape).

use std::sync::Arc;

use super::input::ModelBatch;
use super::io::HiddenState;

/// ONNX Runtime itself could not be found or started. Said the same way
/// (and cheaply cloned) every time a session asks for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LibraryError {
    #[error("ONNX Runtime library not found: {0}")]
    NotFound(String),
    #[error("cannot load ONNX Runtime from {path}")]
    Load { path: String, source: Arc<dyn std::error::Error + Send + Sync> },
}

#[derive(Debug, thiserror::Error)]
pub enum TaggerError {
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("CUDA was requested (--device cuda) but ONNX Runtime's CUDA provider is unavailable")]
    CudaUnavailable(#[source] ort::Error),
    #[error("cannot load model {path}")]
    Session { path: String, source: ort::Error },
    #[error("model {path} does not fit kgx: {problem}")]
    Interface { path: String, problem: String },
    #[error("inference failed")]
    Inference(#[source] ort::Error),
    /// A batch the model cannot run (a pipeline bug, not a model fault).
    #[error("inference failed: {0}")]
    Batch(&'static str),
    #[error("a model worker panicked: {0}")]
    Panicked(String),
    #[error("cannot allocate the provider's memory for the model's inputs and outputs")]
    ProviderMemory(#[source] ort::Error),
}

/// What a model gives for a batch.
#[derive(Debug)]
pub struct TaggerOutput {
    /// Logits `[rows, width, labels]`.
    pub logits: ndarray::Array3<f32>,
    /// The first graph of a layered model also gives its hidden state
    /// `[rows, width, hidden width]`, which its marked passes start from.
    pub hidden: Option<HiddenState>,
}

/// A model that tags token sequences.
pub trait Tagger: Send + Sync {
    /// Logits (and a layered model's hidden state) for a batch.
    fn tag(&self, batch: &ModelBatch) -> Result<TaggerOutput, TaggerError>;
    /// The execution provider that runs the model, e.g. `CPUExecutionProvider`.
    fn provider(&self) -> &str;
}
