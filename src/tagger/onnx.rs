//! [`Tagger`] on an ONNX Runtime session.
//!
//! Takes: an ONNX token classifier whose inputs are probed from the session
//! (`input_ids`, and `attention_mask` / `token_type_ids` when the model has
//! them; all int64) and whose output is `logits` `[batch, seq, labels]`
//! (f32, or f16 from half-precision exports). Gives: f32 logits.
//! Invariants: a model with other inputs, another output layout or another
//! label count than the manifest is refused at load time, not at run time.
//! Clones of a tagger share its session and run at once (CPU workers side
//! by side): ONNX Runtime's `Run` is thread-safe, so every call goes
//! through the C API with a shared reference (the `ort` wrapper's `run`
//! takes `&mut self`) and writes the logits straight into an array of its
//! own.

use std::ffi::CString;
use std::path::Path;
use std::sync::Arc;

use ndarray::Array3;
use ort::session::Session;
use ort::value::{PrimitiveTensorElementType, TensorElementType, TensorRef, TensorRefMut};
use ort::AsPointer;

use super::runtime::{build_session, SessionOptions};
use super::{Tagger, TaggerError};
use crate::batch::ModelBatch;

/// A tagger on an ONNX Runtime session; clones share the session (and its
/// weights) and may run at the same time.
#[derive(Clone)]
pub struct OnnxTagger(Arc<LoadedSession>);

/// A session and the interface probed from it.
struct LoadedSession {
    session: Session,
    /// The inputs the model reads, in the order `tag` feeds them.
    inputs: Vec<ModelInput>,
    output_name: CString,
    /// The logits are f16 (half-precision exports), else f32.
    half_output: bool,
    labels: usize,
    provider: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ModelInput {
    InputIds,
    AttentionMask,
    TokenTypeIds,
}

impl ModelInput {
    const ALL: [ModelInput; 3] = [ModelInput::InputIds, ModelInput::AttentionMask, ModelInput::TokenTypeIds];

    fn name(self) -> &'static std::ffi::CStr {
        match self {
            ModelInput::InputIds => c"input_ids",
            ModelInput::AttentionMask => c"attention_mask",
            ModelInput::TokenTypeIds => c"token_type_ids",
        }
    }

    fn of(self, batch: &ModelBatch) -> &ndarray::Array2<i64> {
        match self {
            ModelInput::InputIds => &batch.input_ids,
            ModelInput::AttentionMask => &batch.attention_mask,
            ModelInput::TokenTypeIds => &batch.token_type_ids,
        }
    }
}

impl OnnxTagger {
    /// Whether the model reads `token_type_ids` (predicate-indexed models mark their predicate there).
    pub fn reads_token_types(&self) -> bool {
        self.0.inputs.contains(&ModelInput::TokenTypeIds)
    }

    /// Loads `model` and checks its interface against `labels` outputs.
    pub fn load(model: &Path, labels: usize, opts: &SessionOptions) -> Result<Self, TaggerError> {
        let (session, provider) = build_session(model, opts)?;
        let interface = |problem: String| TaggerError::Interface { path: model.display().to_string(), problem };
        let mut names = Vec::new();
        for input in session.inputs() {
            let name = input.name().to_string();
            if !ModelInput::ALL.iter().any(|i| i.name().to_bytes() == name.as_bytes()) {
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
        let half_output = match output.dtype().tensor_type() {
            Some(TensorElementType::Float32) => false,
            Some(TensorElementType::Float16) => true,
            _ => return Err(interface(format!("output {:?} must be float32 or float16, is {:?}", output.name(), output.dtype()))),
        };
        let shape = output.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
        if shape.len() != 3 {
            return Err(interface(format!("output {:?} must be [batch, seq, labels], has shape {shape:?}", output.name())));
        }
        if shape[2] > 0 && shape[2] as usize != labels {
            return Err(interface(format!("output has {} labels, the model manifest lists {labels}", shape[2])));
        }
        let output_name = CString::new(output.name()).map_err(|_| interface(format!("output name {:?} holds a NUL byte", output.name())))?;
        let inputs = ModelInput::ALL.into_iter().filter(|i| names.iter().any(|n| n.as_bytes() == i.name().to_bytes())).collect();
        Ok(Self(Arc::new(LoadedSession { session, inputs, output_name, half_output, labels, provider })))
    }

    /// Runs the session on `batch` into `logits` (shaped `[rows, width, labels]`).
    fn run_into<T: PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static>(&self, batch: &ModelBatch, logits: &mut Array3<T>) -> Result<(), TaggerError> {
        let run_err = |e: ort::Error| TaggerError::Run(e.to_string());
        let model = &*self.0;
        let values = model.inputs.iter().map(|i| TensorRef::from_array_view(i.of(batch))).collect::<Result<Vec<_>, _>>().map_err(run_err)?;
        let value_ptrs: Vec<*const ort::sys::OrtValue> = values.iter().map(|v| v.ptr()).collect();
        let names: Vec<*const std::ffi::c_char> = model.inputs.iter().map(|i| i.name().as_ptr()).collect();
        let output = TensorRefMut::from_array_view_mut(logits.view_mut()).map_err(run_err)?;
        let mut outputs = [output.ptr().cast_mut()];
        // SAFETY: the session, the input values (views of the batch's
        // arrays, alive for this call) and the output value (a view of
        // `logits`, shaped for this batch's logits) are valid for the call.
        // ONNX Runtime documents `Run` as safe to call from several threads
        // on one session; it writes the logits into the given output value
        // (and fails if the model's output has another shape).
        let status = unsafe {
            (ort::api().Run)(model.session.ptr().cast_mut(), std::ptr::null(), names.as_ptr(), value_ptrs.as_ptr(), value_ptrs.len(), &model.output_name.as_ptr(), 1, outputs.as_mut_ptr())
        };
        // SAFETY: `status` comes straight from the C API call above.
        unsafe { ort::Error::result_from_status(status) }.map_err(run_err)
    }
}

impl Tagger for OnnxTagger {
    fn tag(&mut self, batch: &ModelBatch) -> Result<Array3<f32>, TaggerError> {
        let (rows, width) = batch.input_ids.dim();
        let shape = (rows, width, self.0.labels);
        if self.0.half_output {
            let mut logits = Array3::from_elem(shape, half::f16::ZERO);
            self.run_into(batch, &mut logits)?;
            Ok(logits.mapv(f32::from))
        } else {
            let mut logits = Array3::<f32>::zeros(shape);
            self.run_into(batch, &mut logits)?;
            Ok(logits)
        }
    }

    fn provider(&self) -> &str {
        &self.0.provider
    }
}
