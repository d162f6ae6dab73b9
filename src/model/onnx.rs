//! [`Tagger`] on an ONNX Runtime session.
//!
//! Takes: an ONNX token classifier whose inputs are probed from the session
//! (`input_ids`, and `attention_mask` / `token_type_ids` when the model has
//! them; all int64; the marked graph of a layered model reads `hidden`,
//! f32 `[batch, seq, width]`, instead of `input_ids`) and whose output is
//! `logits` `[batch, seq, labels]` (f32, or f16 from half-precision
//! exports), plus `hidden` (f32 `[batch, seq, width]`) where the graph is
//! the first of a layered model; the marked graph's gather variant reads
//! `hidden_source` (a first-graph batch's whole hidden state) and
//! `hidden_index` (int64 `[batch, seq, 2]`) instead of `hidden`. Gives:
//! f32 logits, and the hidden state where the model has it: in a host
//! array, or left in the provider's memory once
//! [`OnnxTagger::use_provider_memory`] was called ([`super::io`]).
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
use super::io::{HiddenInput, HiddenState, ProviderMemory, ProviderTensor};
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
    /// [`super::io::ModelIo::Provider`]: the allocators its values use.
    provider_memory: Option<ProviderMemory>,
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
    /// The gather variant's whole first-graph hidden state (f32).
    HiddenSource,
    /// The gather variant's `(row, token)` of it for each position (int64).
    HiddenIndex,
}

impl ModelInput {
    const ALL: [ModelInput; 6] = [
        ModelInput::InputIds,
        ModelInput::AttentionMask,
        ModelInput::TokenTypeIds,
        ModelInput::Hidden,
        ModelInput::HiddenSource,
        ModelInput::HiddenIndex,
    ];

    fn name(self) -> &'static std::ffi::CStr {
        match self {
            ModelInput::InputIds => c"input_ids",
            ModelInput::AttentionMask => c"attention_mask",
            ModelInput::TokenTypeIds => c"token_type_ids",
            ModelInput::Hidden => HIDDEN,
            ModelInput::HiddenSource => c"hidden_source",
            ModelInput::HiddenIndex => c"hidden_index",
        }
    }

    fn element_type(self) -> TensorElementType {
        match self {
            ModelInput::Hidden | ModelInput::HiddenSource => TensorElementType::Float32,
            _ => TensorElementType::Int64,
        }
    }

    /// The batch array an int64 input reads.
    fn ids(self, batch: &ModelBatch) -> Option<&ndarray::Array2<i64>> {
        match self {
            ModelInput::InputIds => Some(&batch.input_ids),
            ModelInput::AttentionMask => Some(&batch.attention_mask),
            ModelInput::TokenTypeIds => Some(&batch.token_type_ids),
            ModelInput::Hidden | ModelInput::HiddenSource | ModelInput::HiddenIndex => None,
        }
    }
}

impl OnnxTagger {
    /// Whether the model reads `token_type_ids` (predicate-indexed models mark their predicate there).
    pub fn reads_token_types(&self) -> bool {
        self.0.inputs.contains(&ModelInput::TokenTypeIds)
    }

    /// Whether the model starts from a layered model's hidden state (its
    /// marked graph, or that graph's gather variant).
    pub fn reads_hidden(&self) -> bool {
        self.0.inputs.contains(&ModelInput::Hidden) || self.gathers_hidden()
    }

    /// Whether the model reads its hidden state by index from a first-graph
    /// batch's (the marked graph's gather variant).
    pub fn gathers_hidden(&self) -> bool {
        [ModelInput::HiddenSource, ModelInput::HiddenIndex].iter().all(|i| self.0.inputs.contains(i))
    }

    /// Whether [`Self::use_provider_memory`] was called.
    pub fn uses_provider_memory(&self) -> bool {
        self.0.provider_memory.is_some()
    }

    /// From now on, stages int64 inputs and logits in the provider's host
    /// buffers and, with `keep_hidden`, leaves the hidden state it gives in
    /// the provider's memory ([`super::io::ModelIo::Provider`]).
    pub fn use_provider_memory(&mut self, keep_hidden: bool) -> Result<(), TaggerError> {
        let memory = ProviderMemory::new(&self.0.session, &self.0.provider, keep_hidden).map_err(TaggerError::ProviderMemory)?;
        self.0.provider_memory = Some(memory);
        Ok(())
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
                let fed = "input_ids, attention_mask, token_type_ids, hidden, or hidden_source and hidden_index";
                return Err(interface(format!("unexpected input {name:?} (kgx feeds {fed})")));
            };
            if input.dtype().tensor_type() != Some(known.element_type()) {
                return Err(interface(format!("input {name:?} must be {:?}, is {:?}", known.element_type(), input.dtype())));
            }
            names.push(name);
        }
        if !names.iter().any(|n| n == "input_ids" || n == "hidden" || n == "hidden_source") {
            return Err(interface(format!("no input_ids, hidden or hidden_source input (inputs: {names:?})")));
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
        let loaded = LoadedSession { session, inputs, output_name, hidden_width, half_output, labels, provider, provider_memory: None };
        if loaded.inputs.contains(&ModelInput::HiddenSource) != loaded.inputs.contains(&ModelInput::HiddenIndex) {
            return Err(interface("hidden_source and hidden_index come together (the marked graph's gather variant)".into()));
        }
        Ok(Self(loaded))
    }

    /// Runs the session on `batch` into `logits` (shaped `[rows, width,
    /// labels]`); returns the hidden state where the model gives it: in
    /// the provider's memory with [`ModelIo::Provider`], else in a host
    /// array. With provider memory, the int64 inputs and the logits go
    /// through its staging buffers.
    fn run_into<T: PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static>(
        &self,
        batch: &ModelBatch,
        logits: &mut Array3<T>,
    ) -> Result<Option<HiddenState>, TaggerError> {
        let run_err = TaggerError::Inference;
        let model = &self.0;
        let memory = model.provider_memory.as_ref();
        let (rows, width) = batch.input_ids.dim();
        // The values live in these for the call; ORT reads them through `value_ptrs`.
        let (mut views, mut staged, mut floats) = (Vec::with_capacity(4), Vec::with_capacity(3), Vec::with_capacity(1));
        let mut value_ptrs = Vec::with_capacity(model.inputs.len());
        for input in &model.inputs {
            let value_ptr = match (input.ids(batch), &batch.hidden, input) {
                (Some(array), ..) => match memory {
                    Some(memory) => {
                        let tensor = memory.staged(array.view()).map_err(run_err)?;
                        let ptr = tensor.ptr();
                        staged.push(tensor);
                        ptr
                    }
                    None => {
                        let value = TensorRef::from_array_view(array).map_err(run_err)?;
                        let ptr = value.ptr();
                        views.push(value);
                        ptr
                    }
                },
                (None, Some(HiddenInput::Rows(hidden)), ModelInput::Hidden) => {
                    let value = TensorRef::from_array_view(hidden).map_err(run_err)?;
                    let ptr = value.ptr();
                    floats.push(value);
                    ptr
                }
                (None, Some(HiddenInput::Gather { source, .. }), ModelInput::HiddenSource) => source.value.ptr(),
                (None, Some(HiddenInput::Gather { index, .. }), ModelInput::HiddenIndex) => {
                    let value = TensorRef::from_array_view(index).map_err(run_err)?;
                    let ptr = value.ptr();
                    views.push(value);
                    ptr
                }
                _ => return Err(TaggerError::Batch("the batch lacks the hidden input the model reads (rows or a gather index)")),
            };
            value_ptrs.push(value_ptr);
        }
        let names: Vec<*const std::ffi::c_char> = model.inputs.iter().map(|i| i.name().as_ptr()).collect();
        let labels = logits.dim().2;
        let mut staged_logits = memory.map(|m| m.staging_tensor::<T>([rows, width, labels])).transpose().map_err(run_err)?;
        let mut logits_view = None;
        let logits_ptr = match &staged_logits {
            Some(tensor) => tensor.ptr(),
            None => logits_view.insert(TensorRefMut::from_array_view_mut(logits.view_mut()).map_err(run_err)?).ptr(),
        };
        let mut outputs = vec![logits_ptr.cast_mut()];
        let mut output_names = vec![model.output_name.as_ptr()];
        let mut host_hidden = None;
        let mut device_hidden = None;
        let mut hidden_view = None;
        if let Some(hidden_width) = model.hidden_width {
            let ptr = match memory.and_then(|m| m.device_tensor([rows, width, hidden_width])) {
                Some(tensor) => device_hidden.insert(tensor.map_err(run_err)?).ptr(),
                None => {
                    let array = host_hidden.insert(Array3::<f32>::zeros((rows, width, hidden_width)));
                    hidden_view.insert(TensorRefMut::from_array_view_mut(array.view_mut()).map_err(run_err)?).ptr()
                }
            };
            outputs.push(ptr.cast_mut());
            output_names.push(HIDDEN.as_ptr());
        }
        // SAFETY: the session, the input values (views of the batch's
        // arrays, tensors held above, and the batch's hidden source, all
        // alive for this call) and the output values (views of `logits`
        // and the host hidden array, or tensors held above, shaped for this
        // batch) are valid for the call. ONNX Runtime documents `Run` as
        // safe to call from several threads on one session; it writes into
        // the given output values (and fails if the model's outputs have
        // other shapes).
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
        unsafe { ort::Error::result_from_status(status) }.map_err(run_err)?;
        drop((views, staged, floats, logits_view, hidden_view));
        if let Some(tensor) = staged_logits.as_mut() {
            let (_, data) = tensor.try_extract_tensor_mut::<T>().map_err(run_err)?;
            for (to, from) in logits.iter_mut().zip(data.iter()) {
                *to = from.clone();
            }
        }
        Ok(match (host_hidden, device_hidden) {
            (Some(array), _) => Some(HiddenState::Host(array)),
            (_, Some(value)) => {
                let dim = (rows, width, model.hidden_width.unwrap_or(0));
                Some(HiddenState::Provider(std::sync::Arc::new(ProviderTensor { value, dim })))
            }
            (None, None) => None,
        })
    }
}

impl Tagger for OnnxTagger {
    fn tag(&self, batch: &ModelBatch) -> Result<TaggerOutput, TaggerError> {
        let (rows, width) = batch.input_ids.dim();
        let shape = (rows, width, self.0.labels);
        let (logits, hidden) = if self.0.half_output {
            let mut logits = Array3::from_elem(shape, half::f16::ZERO);
            let hidden = self.run_into(batch, &mut logits)?;
            (logits.mapv(f32::from), hidden)
        } else {
            let mut logits = Array3::<f32>::zeros(shape);
            let hidden = self.run_into(batch, &mut logits)?;
            (logits, hidden)
        };
        Ok(TaggerOutput { logits, hidden })
    }

    fn provider(&self) -> &str {
        &self.0.provider
    }
}
