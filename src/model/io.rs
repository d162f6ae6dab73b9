//! Where a model's values live: host arrays, or memory of the provider.
//!
//! Takes: a session and the I/O path chosen for it ([`ModelIo`]). Gives:
//! [`ProviderMemory`], the session's allocators of its provider's memory
//! (device memory on CUDA) and of host buffers its provider reads fastest
//! (pinned memory on CUDA), and the values a layered model hands from its
//! first graph to its marked graph ([`HiddenState`], [`HiddenInput`]).
//! On CPU both allocators are ONNX Runtime's CPU allocator, so the same
//! path runs (and is tested) without a GPU.
//! Invariants: a [`ProviderTensor`] is only read by ONNX Runtime (its memory
//! may not be addressable from the host); a value allocated here keeps its
//! allocator alive; allocators are used under a lock (ONNX Runtime's CUDA
//! allocator is not safe to call from several threads at once).

use std::sync::{Arc, Mutex};

use ndarray::{Array3, ArrayView2};
use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::Session;
use ort::value::Tensor;

/// How a model's inputs and outputs travel between kgx and the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelIo {
    /// [`ModelIo::Provider`] on CUDA when the model ships its marked graph's
    /// gather variant; [`ModelIo::Host`] otherwise.
    #[default]
    Auto,
    /// Host arrays: inputs read from kgx's arrays, logits and a layered
    /// model's hidden state written into them, and each marked batch's
    /// hidden rows copied together on the host (the CPU way).
    Host,
    /// Inputs and logits staged in host buffers of the provider's (pinned on
    /// CUDA); a layered model's hidden state left in the provider's memory
    /// (device memory on CUDA) and read there by the marked graph's gather
    /// variant, by index. On CPU this runs the same code with CPU memory.
    Provider,
}

crate::choice::choices!(ModelIo {
    Auto => "auto", "provider on CUDA, host on CPU";
    Host => "host", "host arrays; marked batches' hidden rows copied on the host";
    Provider => "provider", "pinned staging buffers; the hidden state stays in device memory (CPU memory on CPU)";
});

/// A session's allocators for [`ModelIo::Provider`].
pub struct ProviderMemory {
    /// The provider's own memory: where a hidden state the session gives
    /// stays (None: the session writes it to the host).
    device: Option<Mutex<Allocator>>,
    /// Host memory the provider copies from and to fastest.
    staging: Mutex<Allocator>,
}

impl ProviderMemory {
    /// The allocators of `session`, run by `provider` (an ONNX Runtime
    /// provider name): CUDA device and pinned memory for the CUDA provider,
    /// ONNX Runtime's CPU allocator otherwise; the device allocator only
    /// when `keep_hidden`.
    pub fn new(session: &Session, provider: &str, keep_hidden: bool) -> ort::Result<Self> {
        let on_cuda = provider == "CUDAExecutionProvider";
        let staging = if on_cuda {
            let pinned = MemoryInfo::new(AllocationDevice::CUDA_PINNED, 0, AllocatorType::Device, MemoryType::CPUOutput)?;
            Allocator::new(session, pinned)?
        } else {
            Allocator::default()
        };
        let device = match (keep_hidden, on_cuda) {
            (false, _) => None,
            (true, true) => {
                let device = MemoryInfo::new(AllocationDevice::CUDA, 0, AllocatorType::Device, MemoryType::Default)?;
                Some(Allocator::new(session, device)?)
            }
            (true, false) => Some(Allocator::default()),
        };
        Ok(Self { device: device.map(Mutex::new), staging: Mutex::new(staging) })
    }

    /// An uninitialised tensor in the provider's memory, if the hidden state stays there.
    pub fn device_tensor(&self, shape: [usize; 3]) -> Option<ort::Result<Tensor<f32>>> {
        self.device.as_ref().map(|device| Tensor::new(&lock(device), shape))
    }

    /// An uninitialised tensor in staging memory (host-addressable).
    pub fn staging_tensor<T: ort::value::PrimitiveTensorElementType + std::fmt::Debug>(
        &self,
        shape: impl ort::value::IntoShape,
    ) -> ort::Result<Tensor<T>> {
        Tensor::new(&lock(&self.staging), shape)
    }

    /// `array` copied into a staging tensor.
    pub fn staged(&self, array: ArrayView2<'_, i64>) -> ort::Result<Tensor<i64>> {
        let mut tensor = self.staging_tensor::<i64>([array.nrows(), array.ncols()])?;
        let (_, data) = tensor.try_extract_tensor_mut::<i64>()?;
        for (to, from) in data.iter_mut().zip(array.iter()) {
            *to = *from;
        }
        Ok(tensor)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A hidden state `[rows, width, hidden width]` in the provider's memory.
#[derive(Debug)]
pub struct ProviderTensor {
    pub value: Tensor<f32>,
    pub dim: (usize, usize, usize),
}

/// A layered model's hidden state, as its first graph gave it.
#[derive(Debug, Clone)]
pub enum HiddenState {
    /// In a host array.
    Host(Array3<f32>),
    /// In the provider's memory ([`ModelIo::Provider`]).
    Provider(Arc<ProviderTensor>),
}

impl HiddenState {
    /// `(rows, width, hidden width)`.
    pub fn dim(&self) -> (usize, usize, usize) {
        match self {
            HiddenState::Host(h) => h.dim(),
            HiddenState::Provider(p) => p.dim,
        }
    }
}

/// What a marked batch's hidden input is.
#[derive(Debug, Clone)]
pub enum HiddenInput {
    /// Its rows, copied together on the host: `[rows, width, hidden width]`.
    Rows(Array3<f32>),
    /// One first-graph batch's hidden state in the provider's memory and,
    /// for every position of the marked batch, the `(row, token)` of it to
    /// read: `[rows, width, 2]` (the gather variant's `hidden_index`).
    Gather { source: Arc<ProviderTensor>, index: Array3<i64> },
}
