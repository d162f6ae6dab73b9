//! [`Tagger`] on an ONNX Runtime session.
//!
//! Takes: an ONNX token classifier whose inputs are probed from the session
//! (`input_ids`, and `attention_mask` / `token_type_ids` when the model has
//! them; all int64; the marked graph of a layered model reads `hidden`,
//! f32 `[batch, seq, width]`, instead of `input_ids`) and whose output is
//! `logits` `[batch, seq, labels]` (f32, or f16 from half-precision
//! exports), plus `hidden` (f32 `[batch, seq, width]`) where the graph is
//! the first of a layered model. Gives: f32 logits, and the hidden state
//! where the model has it.
//! Invariants: a model with other inputs, another output layout or another
//! label count than the manifest is refused at load time, not at run time.
//! One tagger runs batches from several threads at once (CPU workers side
//! by side): ONNX Runtime's `Run` is thread-safe, so every call goes
//! through the C API with a shared reference (the `ort` wrapper's `run`
//! takes `&mut self`) and writes the logits straight into an array of its
//! own.

use std::ffi::CString;
use std::path::Path;

use ndarray::Array3;
use ort::session::Session;
use ort::value::{PrimitiveTensorElementType, TensorElementType, TensorRef, TensorRefMut};
use ort::AsPointer;

use super::input::ModelBatch;
use super::runtime::{build_session, SessionOptions};
use super::tagger::{Tagger, TaggerError, TaggerOutput};

/// A tagger on an ONNX Runtime session; any number of threads may run it
/// at the same time, sharing the session and its weights.
pub struct OnnxTagger(LoadedSession);

/// A session and the interface probed from it.
struct LoadedSession {
    session: Session,
    /// The inputs the model reads, in the order `tag` feeds them.
    inputs: Vec<ModelInput>,
    output_name: CString,
    /// Layered models' first graph: the width of its `hidden` output.
    hidden_width: Option<usize>,
    /// The logits are f16 (half-precision exports), else f32.
    half_output: bool,
    labels: usize,
    provider: String,
}

/// A layered model's hidden state: the first graph's second output and the marked graph's input.
const HIDDEN: &std::ffi::CStr = c"hidden";

#[derive(Clone, Copy, PartialEq, Eq)]
enum ModelInput {
    InputIds,
    AttentionMask,
    TokenTypeIds,
    /// The hidden state a layered model's marked graph starts from (f32).
    Hidden,
}

impl ModelInput {
    const ALL: [ModelInput; 4] = [ModelInput::InputIds, ModelInput::AttentionMask, ModelInput::TokenTypeIds, ModelInput::Hidden];

    fn name(self) -> &'static std::ffi::CStr {
        match self {
            ModelInput::InputIds => c"input_ids",
            ModelInput::AttentionMask => c"attention_mask",
            ModelInput::TokenTypeIds => c"token_type_ids",
            ModelInput::Hidden => HIDDEN,
        }
    }

    fn element_type(self) -> TensorElementType {
        if self == ModelInput::Hidden {
            TensorElementType::Float32
        } else {
            TensorElementType::Int64
        }
    }

    /// The batch array an int64 input reads.
    fn ids(self, batch: &ModelBatch) -> Option<&ndarray::Array2<i64>> {
        match self {
            ModelInput::InputIds => Some(&batch.input_ids),
            ModelInput::AttentionMask => Some(&batch.attention_mask),
            ModelInput::TokenTypeIds => Some(&batch.token_type_ids),
            ModelInput::Hidden => None,
        }
    }
}

impl OnnxTagger {
    /// Whether the model reads `token_type_ids` (predicate-indexed models mark their predicate there).
    pub fn reads_token_types(&self) -> bool {
        self.0.inputs.contains(&ModelInput::TokenTypeIds)
    }

    /// Whether the model starts from a layered model's hidden state (its marked graph).
    pub fn reads_hidden(&self) -> bool {
        self.0.inputs.contains(&ModelInput::Hidden)
    }

    /// Whether the model also gives its hidden state (a layered model's first graph).
    pub fn gives_hidden(&self) -> bool {
        self.0.hidden_width.is_some()
    }

    /// Loads `model` and checks its interface against `labels` outputs.
    pub fn load(model: &Path, labels: usize, opts: &SessionOptions) -> Result<Self, TaggerError> {
        let (session, provider) = build_session(model, opts)?;
        let interface = |problem: String| TaggerError::Interface { path: model.display().to_string(), problem };
        let mut names = Vec::new();
        for input in session.inputs() {
            let name = input.name().to_string();
            let Some(known) = ModelInput::ALL.into_iter().find(|i| i.name().to_bytes() == name.as_bytes()) else {
                return Err(interface(format!(
                    "unexpected input {name:?} (kgx feeds input_ids, attention_mask, token_type_ids, or hidden)"
                )));
            };
            if input.dtype().tensor_type() != Some(known.element_type()) {
                return Err(interface(format!("input {name:?} must be {:?}, is {:?}", known.element_type(), input.dtype())));
            }
            names.push(name);
        }
        if !names.iter().any(|n| n == "input_ids" || n == "hidden") {
            return Err(interface(format!("no input_ids or hidden input (inputs: {names:?})")));
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
        let output_name =
            CString::new(output.name()).map_err(|_| interface(format!("output name {:?} holds a NUL byte", output.name())))?;
        let hidden_width = match session.outputs().iter().find(|o| o.name().as_bytes() == HIDDEN.to_bytes() && o.name() != output.name()) {
            None => None,
            Some(h) => {
                let shape = h.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default();
                if h.dtype().tensor_type() != Some(TensorElementType::Float32) || shape.len() != 3 || shape[2] <= 0 {
                    return Err(interface(format!(
                        "output \"hidden\" must be float32 [batch, seq, width] with a fixed width, is {:?}",
                        h.dtype()
                    )));
                }
                Some(shape[2] as usize)
            }
        };
        let inputs = ModelInput::ALL.into_iter().filter(|i| names.iter().any(|n| n.as_bytes() == i.name().to_bytes())).collect();
        Ok(Self(LoadedSession { session, inputs, output_name, hidden_width, half_output, labels, provider }))
    }

    /// Runs the session on `batch` into `logits` (shaped `[rows, width,
    /// labels]`) and, where the model gives it, `hidden` (`[rows, width,
    /// hidden width]`).
    fn run_into<T: PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static>(
        &self,
        batch: &ModelBatch,
        logits: &mut Array3<T>,
        hidden: Option<&mut Array3<f32>>,
    ) -> Result<(), TaggerError> {
        let run_err = TaggerError::Inference;
        let model = &self.0;
        // The values live in `ids` / `hidden_in` for the call; ORT reads them through `value_ptrs`.
        let (mut ids, mut hidden_in, mut value_ptrs) = (Vec::with_capacity(3), None, Vec::with_capacity(model.inputs.len()));
        for input in &model.inputs {
            let value_ptr = match input.ids(batch) {
                Some(array) => {
                    let value = TensorRef::from_array_view(array).map_err(run_err)?;
                    let ptr = value.ptr();
                    ids.push(value);
                    ptr
                }
                None => {
                    let hidden =
                        batch.hidden.as_ref().ok_or(TaggerError::Batch("the model reads a hidden state, which the batch lacks"))?;
                    hidden_in.insert(TensorRef::from_array_view(hidden).map_err(run_err)?).ptr()
                }
            };
            value_ptrs.push(value_ptr);
        }
        let names: Vec<*const std::ffi::c_char> = model.inputs.iter().map(|i| i.name().as_ptr()).collect();
        let logits_out = TensorRefMut::from_array_view_mut(logits.view_mut()).map_err(run_err)?;
        let hidden_out = hidden.map(|h| TensorRefMut::from_array_view_mut(h.view_mut())).transpose().map_err(run_err)?;
        let mut outputs = vec![logits_out.ptr().cast_mut()];
        let mut output_names = vec![model.output_name.as_ptr()];
        if let Some(out) = &hidden_out {
            outputs.push(out.ptr().cast_mut());
            output_names.push(HIDDEN.as_ptr());
        }
        // SAFETY: the session, the input values (views of the batch's
        // arrays, alive for this call) and the output values (views of
        // `logits` and `hidden`, shaped for this batch) are valid for the
        // call. ONNX Runtime documents `Run` as safe to call from several
        // threads on one session; it writes into the given output values
        // (and fails if the model's outputs have other shapes).
        let status = unsafe {
            (ort::api().Run)(
                model.session.ptr().cast_mut(),
                std::ptr::null(),
                names.as_ptr(),
                value_ptrs.as_ptr(),
                value_ptrs.len(),
                output_names.as_ptr(),
                outputs.len(),
                outputs.as_mut_ptr(),
            )
        };
        // SAFETY: `status` comes straight from the C API call above.
        unsafe { ort::Error::result_from_status(status) }.map_err(run_err)
    }
}

impl Tagger for OnnxTagger {
    fn tag(&self, batch: &ModelBatch) -> Result<TaggerOutput, TaggerError> {
        let (rows, width) = batch.input_ids.dim();
        let shape = (rows, width, self.0.labels);
        let mut hidden = self.0.hidden_width.map(|w| Array3::<f32>::zeros((rows, width, w)));
        let logits = if self.0.half_output {
            let mut logits = Array3::from_elem(shape, half::f16::ZERO);
            self.run_into(batch, &mut logits, hidden.as_mut())?;
            logits.mapv(f32::from)
        } else {
            let mut logits = Array3::<f32>::zeros(shape);
            self.run_into(batch, &mut logits, hidden.as_mut())?;
            logits
        };
        Ok(TaggerOutput { logits, hidden })
    }

    fn provider(&self) -> &str {
        &self.0.provider
    }
}
