//! [`Tagger`] on an ONNX Runtime session.
//!
//! Takes: an ONNX token classifier whose inputs are probed from the session
//! (`input_ids`, and `attention_mask` / `token_type_ids` when the model has
//! them; all int64) and whose output is `logits` `[batch, seq, labels]`
//! (f32, or f16 from half-precision exports). Gives: f32 logits.
//! Invariants: a model with other inputs, another output layout or another
//! label count than the manifest is refused at load time, not at run time.
//! Several taggers may share one CPU session ([`OnnxTagger::share`]) and
//! run at once: ONNX Runtime's `Run` is thread-safe, and they call it
//! through the C API with a shared reference (the `ort` wrapper's `run`
//! takes `&mut self`), each into an output tensor of its own.

use std::borrow::Cow;
use std::ffi::CString;
use std::path::Path;
use std::sync::Arc;

use ndarray::Array3;
use ort::memory::Allocator;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynTensor, TensorElementType, TensorRef};
use ort::AsPointer;

use super::runtime::{build_session, SessionOptions};
use super::{Tagger, TaggerError};
use crate::batch::ModelBatch;

pub struct OnnxTagger {
    session: Arc<Session>,
    /// C names of the inputs the model reads, in the order `tag` feeds them.
    input_names: Arc<[CString]>,
    output_name: CString,
    /// Element type of the logits (f32, or f16 from half-precision exports).
    output_type: TensorElementType,
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
        let output_type = output.dtype().tensor_type().filter(|t| matches!(t, TensorElementType::Float32 | TensorElementType::Float16));
        let Some(output_type) = output_type else {
            return Err(interface(format!("output {:?} must be float32 or float16, is {:?}", output.name(), output.dtype())));
        };
        let shape = output.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
        if shape.len() != 3 {
            return Err(interface(format!("output {:?} must be [batch, seq, labels], has shape {shape:?}", output.name())));
        }
        if shape[2] > 0 && shape[2] as usize != labels {
            return Err(interface(format!("output has {} labels, the model manifest lists {labels}", shape[2])));
        }
        let has_attention_mask = names.iter().any(|n| n == "attention_mask");
        let has_token_type_ids = names.iter().any(|n| n == "token_type_ids");
        let fed = ["input_ids", "attention_mask", "token_type_ids"].into_iter().filter(|n| names.iter().any(|m| m == n));
        let c_name = |n: &str| CString::new(n).map_err(|_| interface(format!("name {n:?} holds a NUL byte")));
        Ok(Self {
            input_names: fed.map(c_name).collect::<Result<Vec<_>, _>>()?.into(),
            output_name: c_name(output.name())?,
            output_type,
            has_attention_mask,
            has_token_type_ids,
            output: output.name().to_string(),
            labels,
            provider,
            session: Arc::new(session),
        })
    }

    /// Another tagger on the same session, to run batches side by side
    /// with this one (CPU sessions; the weights are held once).
    pub fn share(&self) -> Self {
        Self {
            session: Arc::clone(&self.session),
            input_names: Arc::clone(&self.input_names),
            output_name: self.output_name.clone(),
            output_type: self.output_type,
            has_attention_mask: self.has_attention_mask,
            has_token_type_ids: self.has_token_type_ids,
            output: self.output.clone(),
            labels: self.labels,
            provider: self.provider.clone(),
        }
    }

    /// Runs the shared session through the C API: `Run` on one session is
    /// thread-safe, and each call writes into its own `output`.
    fn run_shared(&self, inputs: &[TensorRef<'_, i64>], output: &mut DynTensor) -> Result<(), TaggerError> {
        let names: Vec<*const std::ffi::c_char> = self.input_names.iter().map(|n| n.as_ptr()).collect();
        let values: Vec<*const ort::sys::OrtValue> = inputs.iter().map(|v| v.ptr()).collect();
        let output_names = [self.output_name.as_ptr()];
        let mut outputs = [output.ptr_mut()];
        // SAFETY: the session, the input values (borrowing the batch's
        // arrays, alive for this call) and the output value (allocated for
        // the batch's exact logits shape) are valid; ONNX Runtime documents
        // `Run` as safe to call from several threads on one session and
        // writes the logits into the given output value.
        let status = unsafe {
            (ort::api().Run)(self.session.ptr().cast_mut(), std::ptr::null(), names.as_ptr(), values.as_ptr(), values.len(), output_names.as_ptr(), 1, outputs.as_mut_ptr())
        };
        // SAFETY: `status` comes straight from the C API call above.
        unsafe { ort::Error::result_from_status(status) }.map_err(|e| TaggerError::Run(e.to_string()))
    }
}

impl Tagger for OnnxTagger {
    fn tag(&mut self, batch: &ModelBatch) -> Result<Array3<f32>, TaggerError> {
        let run_err = |e: ort::Error| TaggerError::Run(e.to_string());
        let mut arrays = vec![&batch.input_ids];
        if self.has_attention_mask {
            arrays.push(&batch.attention_mask);
        }
        if self.has_token_type_ids {
            arrays.push(&batch.token_type_ids);
        }
        let (rows, width) = batch.input_ids.dim();
        let logits = match Arc::get_mut(&mut self.session) {
            // Sole owner (CUDA, or one CPU worker): the `ort` wrapper's run.
            Some(session) => {
                let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::with_capacity(arrays.len());
                for (name, array) in self.input_names.iter().zip(&arrays) {
                    inputs.push((name.to_string_lossy().into_owned().into(), TensorRef::from_array_view(*array).map_err(run_err)?.into()));
                }
                let outputs = session.run(inputs).map_err(run_err)?;
                let value = &outputs[self.output.as_str()];
                match value.try_extract_array::<f32>() {
                    Ok(view) => view.to_owned(),
                    Err(_) => value.try_extract_array::<half::f16>().map_err(run_err)?.mapv(f32::from),
                }
            }
            None => {
                let inputs = arrays.iter().map(|a| TensorRef::from_array_view(*a)).collect::<Result<Vec<_>, _>>().map_err(run_err)?;
                let mut output = DynTensor::new(&Allocator::default(), self.output_type, [rows, width, self.labels]).map_err(run_err)?;
                self.run_shared(&inputs, &mut output)?;
                match self.output_type {
                    TensorElementType::Float16 => output.try_extract_array::<half::f16>().map_err(run_err)?.mapv(f32::from),
                    _ => output.try_extract_array::<f32>().map_err(run_err)?.to_owned(),
                }
            }
        };
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
