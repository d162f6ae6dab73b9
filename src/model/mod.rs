//! The model: a [`Model`] value that every command and the pipeline use.
//!
//! - [`manifest`]: `model.json` (labels, scheme, files per precision) and
//!   where the shipped model lives;
//! - [`tokenizer`]: text -> token ids with offsets and windows;
//! - [`input`]: padded batches as the model reads them; [`io`]: where the
//!   values a model reads and gives live (host arrays or provider memory);
//! - [`tagger`]: the [`Tagger`] trait and its errors; [`onnx`] runs it on
//!   ONNX Runtime, whose library and sessions [`runtime`] provides;
//! - [`labels`]: which label is SRC, REL, TGT and O;
//! - `load`: [`Model`] and [`ModelOptions`], loaded by one function.

pub mod coref;
pub mod input;
pub mod io;
pub mod labels;
mod load;
pub mod manifest;
pub mod onnx;
pub mod runtime;
pub mod tagger;
pub mod tokenizer;

pub use coref::{CorefScorer, CorefVectors, Gender, OnnxCoref, DEFAULT_COREF_MODEL};
pub use input::ModelBatch;
pub use io::{HiddenInput, HiddenState, ModelIo};
pub use labels::Roles;
pub use load::{CpuLayout, LoadError, Model, ModelOptions};
pub use manifest::{ModelError, ModelManifest, Precision, Scheme, DEFAULT_MODEL};
pub use runtime::Device;
pub use tagger::{LibraryError, Tagger, TaggerError, TaggerOutput};
pub use tokenizer::{EncodeError, EncodedSentence, SentenceEncoder, Window};
