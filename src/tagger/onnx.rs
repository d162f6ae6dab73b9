//! [`Tagger`] on an ONNX Runtime session.
//!
//! Takes: an ONNX token classifier whose inputs are probed from the session
//! (`input_ids`, and `attention_mask` / `token_type_ids` when the model has
//! them; all int64) and whose output is `logits` `[batch, seq, labels]`
//! (f32, or f16 from half-precision exports). Gives: f32 logits.
//! Invariants: a model with other inputs, another output layout or another
//! label count than the manifest is refused at load time, not at run time.

use std::borrow::Cow;
use std::path::Path;

use ndarray::Array3;
use ort::session::{Session, SessionInputValue};
use ort::value::{TensorElementType, TensorRef};

use super::runtime::{build_session, SessionOptions};
use super::{Tagger, TaggerError};
use crate::batch::ModelBatch;

pub struct OnnxTagger {
    session: Session,
    has_attention_mask: bool,
    has_token_type_ids: bool,
    output: String,
    labels: usize,
    provider: String,
}

impl OnnxTagger {
    /// Loads `model` and checks its interface against `labels` outputs.
    /// Whether the model reads `token_type_ids` (predicate-indexed models mark their predicate there).
    pub fn reads_token_types(&self) -> bool {
        self.has_token_type_ids
    }

    pub fn load(model: &Path, labels: usize, opts: &SessionOptions) -> Result<Self, TaggerError> {
        let (session, provider) = build_session(model, opts)?;
        let interface = |problem: String| TaggerError::Interface { path: model.display().to_string(), problem };
        let mut names = Vec::new();
        for input in session.inputs() {
            let name = input.name().to_string();
            if !matches!(name.as_str(), "input_ids" | "attention_mask" | "token_type_ids") {
                return Err(interface(format!("unexpected input {name:?} (kgx feeds input_ids, attention_mask, token_type_ids)")));
            }
            if input.dtype().tensor_type() != Some(TensorElementType::Int64) {
                return Err(interface(format!("input {name:?} must be int64, is {:?}", input.dtype())));
            }
            names.push(name);
        }
        if !names.iter().any(|n| n == "input_ids") {
            return Err(interface(format!("no input_ids input (inputs: {names:?})")));
        }
        let output = session
            .outputs()
            .iter()
            .find(|o| o.name() == "logits")
            .or_else(|| session.outputs().first())
            .ok_or_else(|| interface("model has no outputs".into()))?;
        let shape = output.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
        if shape.len() != 3 {
            return Err(interface(format!("output {:?} must be [batch, seq, labels], has shape {shape:?}", output.name())));
        }
        if shape[2] > 0 && shape[2] as usize != labels {
            return Err(interface(format!("output has {} labels, the model manifest lists {labels}", shape[2])));
        }
        Ok(Self {
            has_attention_mask: names.iter().any(|n| n == "attention_mask"),
            has_token_type_ids: names.iter().any(|n| n == "token_type_ids"),
            output: output.name().to_string(),
            labels,
            provider,
            session,
        })
    }
}

impl Tagger for OnnxTagger {
    fn tag(&mut self, batch: &ModelBatch) -> Result<Array3<f32>, TaggerError> {
        let run_err = |e: ort::Error| TaggerError::Run(e.to_string());
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::with_capacity(3);
        inputs.push(("input_ids".into(), TensorRef::from_array_view(&batch.input_ids).map_err(run_err)?.into()));
        if self.has_attention_mask {
            inputs.push(("attention_mask".into(), TensorRef::from_array_view(&batch.attention_mask).map_err(run_err)?.into()));
        }
        if self.has_token_type_ids {
            inputs.push(("token_type_ids".into(), TensorRef::from_array_view(&batch.token_type_ids).map_err(run_err)?.into()));
        }
        let outputs = self.session.run(inputs).map_err(run_err)?;
        let value = &outputs[self.output.as_str()];
        let logits = match value.try_extract_array::<f32>() {
            Ok(view) => view.to_owned(),
            Err(_) => value.try_extract_array::<half::f16>().map_err(run_err)?.mapv(f32::from),
        };
        let (rows, width) = batch.input_ids.dim();
        logits
            .into_dimensionality::<ndarray::Ix3>()
            .ok()
            .filter(|l| l.dim() == (rows, width, self.labels))
            .ok_or_else(|| TaggerError::Run(format!("model returned logits of an unexpected shape (expected [{rows}, {width}, {}])", self.labels)))
    }

    fn provider(&self) -> &str {
        &self.provider
    }
}
