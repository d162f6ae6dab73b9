//! Tag stage: padded batches -> per-token label logits, behind [`Tagger`].
//!
//! Takes: a [`ModelBatch`]. Gives: logits `[rows, width, labels]` as f32
//! (and the hidden state of a layered model's first graph, see [`TaggerOutput`]).
//! The ONNX Runtime implementation lives in [`onnx`]; [`runtime`] finds and
//! loads the ONNX Runtime library and builds sessions (providers, threads,
//! optimisation level) in one place.
//! Invariants: a tagger is used by one thread at a time; clones of an
//! [`onnx::OnnxTagger`] share its session and run at once; the output
//! shape is checked on every batch (ONNX Runtime writes into an array of
//! the batch's logits shape).

pub mod onnx;
pub mod runtime;

use crate::batch::ModelBatch;

/// Where inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Device {
    /// CUDA when ONNX Runtime's CUDA provider loads, else CPU (says which on stderr).
    Auto,
    /// CPU only; never tries CUDA.
    Cpu,
    /// CUDA or a clear error; never falls back.
    Cuda,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum TaggerError {
    #[error("ONNX Runtime library not found: {0}")]
    LibraryNotFound(String),
    #[error("cannot load ONNX Runtime from {path}: {message}")]
    LibraryLoad { path: String, message: String },
    #[error("CUDA was requested (--device cuda) but ONNX Runtime's CUDA provider is unavailable: {0}")]
    CudaUnavailable(String),
    #[error("cannot load model {path}: {message}")]
    Session { path: String, message: String },
    #[error("model {path} does not fit kgx: {problem}")]
    Interface { path: String, problem: String },
    #[error("inference failed: {0}")]
    Run(String),
}

/// What a model gives for a batch.
#[derive(Debug)]
pub struct TaggerOutput {
    /// Logits `[rows, width, labels]`.
    pub logits: ndarray::Array3<f32>,
    /// The first graph of a layered model also gives its hidden state
    /// `[rows, width, hidden width]`, which its marked passes start from.
    pub hidden: Option<ndarray::Array3<f32>>,
}

/// A model that tags token sequences.
pub trait Tagger: Send {
    /// Logits (and a layered model's hidden state) for a batch.
    fn tag(&mut self, batch: &ModelBatch) -> Result<TaggerOutput, TaggerError>;
    /// The execution provider that runs the model, e.g. `CPUExecutionProvider`.
    fn provider(&self) -> &str;
}
