//! The [`Model`] value and the one function that loads it.
//!
//! Takes: [`ModelOptions`] (model directory, device, precision, threads).
//! Gives: a [`Model`]: manifest, tokenizer, the ONNX Runtime sessions of its
//! graph(s) (one a worker, or one shared by single-threaded workers),
//! the provider and precision that run, its labels and how its passes run.
//! Invariants: CUDA is used only when asked for or available (`auto`), and
//! a fallback to CPU is said in [`Model::cuda_fallback`]; a model whose
//! graphs do not fit its scheme is refused here, before any store opens.

use std::path::PathBuf;

use super::coref::OnnxCoref;
use super::io::ModelIo;
use super::labels::Roles;
use super::manifest::{resolve_model_dir, ModelError, ModelManifest, Precision, Scheme};
use super::onnx::OnnxTagger;
use super::runtime::{Device, SessionOptions};
use super::tagger::{Tagger, TaggerError};
use super::tokenizer::{EncodeError, SentenceEncoder};

/// What to load and where to run it.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// Model directory (holding model.json); None: the shipped model.
    pub dir: Option<PathBuf>,
    pub device: Device,
    /// Which exported ONNX file runs (`Auto`: the manifest's default for the device).
    pub precision: Precision,
    /// CPU threads that run the model (0: one per core).
    pub threads: usize,
    /// CPU: ONNX Runtime threads of each worker (None: 1, workers sharing one session).
    pub session_threads: Option<usize>,
    /// libonnxruntime.so to load (None: `ORT_DYLIB_PATH`, else the set-up's).
    pub ort_library: Option<PathBuf>,
    /// Predicate-indexed models: the REL probability that makes a head
    /// (None: the manifest's `head_threshold`, else the most probable label).
    pub head_threshold: Option<f32>,
    /// Let idle intra-op threads spin (see [`SessionOptions::spinning`]).
    pub spinning: bool,
    /// Load the coreference model (pronouns linked to names).
    pub coref: bool,
    /// Coreference model directory (None: the shipped one).
    pub coref_dir: Option<PathBuf>,
    /// How far an antecedent must beat "none" to link (None: the coreference model's own).
    pub coref_none_margin: Option<f32>,
    /// Where the model's inputs, logits and hidden state live ([`ModelIo`]).
    pub io: ModelIo,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self {
            dir: None,
            device: Device::Auto,
            precision: Precision::Auto,
            threads: 0,
            session_threads: None,
            ort_library: None,
            head_threshold: None,
            spinning: false,
            coref: true,
            coref_dir: None,
            coref_none_margin: None,
            io: ModelIo::Auto,
        }
    }
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Manifest(#[from] ModelError),
    #[error(transparent)]
    Tokenizer(#[from] EncodeError),
    #[error(transparent)]
    Tagger(#[from] TaggerError),
}

/// The graphs one worker runs: the model (a layered model's first graph)
/// and, for a layered model, its marked graph.
struct Graphs {
    first: OnnxTagger,
    marked: Option<OnnxTagger>,
}

/// A model ready to run.
pub struct Model {
    manifest: ModelManifest,
    tokenizer: SentenceEncoder,
    /// One set a session: one set shared by every worker, or one a worker.
    graphs: Vec<Graphs>,
    workers: usize,
    provider: String,
    precision: String,
    head_threshold: Option<f32>,
    on_gpu: bool,
    cuda_fallback: Option<String>,
    /// With `--model-io auto` on CUDA: why the provider's memory was not used, when it was not.
    io_fallback: Option<String>,
    coref: Option<OnnxCoref>,
}

impl Model {
    /// Loads the model on the requested device; `auto` tries CUDA with the
    /// GPU file, then CPU with the CPU file.
    pub fn load(opts: &ModelOptions) -> Result<Self, LoadError> {
        let manifest = ModelManifest::load(&resolve_model_dir(opts.dir.as_deref()))?;
        let tokenizer = SentenceEncoder::load(&manifest.tokenizer, manifest.max_tokens)?;
        let mut session = SessionOptions {
            device: opts.device,
            intra_threads: opts.threads,
            library: opts.ort_library.clone(),
            spinning: opts.spinning,
            ..SessionOptions::default()
        };
        let mut cuda_fallback = None;
        if opts.device != Device::Cpu {
            session.device = Device::Cuda;
            let mut loaded = load_graphs(&manifest, opts.precision, true, &session, 1, opts.io);
            let mut io_fallback = None;
            if let (Err(LoadError::Tagger(TaggerError::ProviderMemory(reason))), ModelIo::Auto) = (&loaded, opts.io) {
                // Pinned and device buffers are a speed-up: without them, the host path still runs on CUDA.
                io_fallback = Some(reason.to_string());
                loaded = load_graphs(&manifest, opts.precision, true, &session, 1, ModelIo::Host);
            }
            match loaded {
                Ok((precision, graphs)) => {
                    let mut model = Self::new(manifest, tokenizer, graphs, 1, precision, opts, None)?;
                    model.io_fallback = io_fallback;
                    return Ok(model);
                }
                Err(LoadError::Tagger(TaggerError::CudaUnavailable(reason))) if opts.device == Device::Auto => {
                    cuda_fallback = Some(reason.to_string().lines().next().unwrap_or("").to_string());
                }
                Err(e) => return Err(e),
            }
        }
        session.device = Device::Cpu;
        let layout = CpuLayout::new(opts.threads, opts.session_threads);
        session.intra_threads = layout.session_threads;
        // Single-threaded workers share one session (one copy of the
        // weights); a thread pool belongs to its session, so workers with
        // several threads each load their own.
        let sessions = if layout.session_threads == 1 { 1 } else { layout.workers };
        let (precision, graphs) = load_graphs(&manifest, opts.precision, false, &session, sessions, opts.io)?;
        Self::new(manifest, tokenizer, graphs, layout.workers, precision, opts, cuda_fallback)
    }

    fn new(
        manifest: ModelManifest,
        tokenizer: SentenceEncoder,
        graphs: Vec<Graphs>,
        workers: usize,
        precision: String,
        opts: &ModelOptions,
        cuda_fallback: Option<String>,
    ) -> Result<Self, LoadError> {
        let misfit = |problem: &str| TaggerError::Interface { path: manifest.dir.display().to_string(), problem: problem.to_string() };
        let Graphs { first, marked } = &graphs[0];
        match marked {
            Some(marked) if !(first.gives_hidden() && marked.reads_hidden() && marked.reads_token_types()) => {
                return Err(misfit(
                    "a layered model's first graph must give a `hidden` output and its marked graph read `hidden` and `token_type_ids`",
                )
                .into());
            }
            None if manifest.scheme == Scheme::Predicate && !first.reads_token_types() => {
                return Err(misfit("the predicate-indexed scheme needs a token_type_ids input, which the ONNX model lacks").into());
            }
            _ => {}
        }
        let provider = first.provider().to_string();
        let on_gpu = provider == "CUDAExecutionProvider";
        let head_threshold = opts.head_threshold.or(manifest.head_threshold);
        // The coreference model runs on the store thread, one window at a time.
        let coref = if opts.coref {
            let session = SessionOptions {
                device: if on_gpu { Device::Cuda } else { Device::Cpu },
                intra_threads: 1,
                library: opts.ort_library.clone(),
                ..SessionOptions::default()
            };
            Some(OnnxCoref::load(opts.coref_dir.as_deref(), &session, opts.coref_none_margin)?)
        } else {
            None
        };
        Ok(Self {
            manifest,
            tokenizer,
            graphs,
            workers,
            provider,
            precision,
            head_threshold,
            on_gpu,
            cuda_fallback,
            io_fallback: None,
            coref,
        })
    }

    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    pub fn tokenizer(&self) -> &SentenceEncoder {
        &self.tokenizer
    }

    pub fn roles(&self) -> Roles {
        self.manifest.roles
    }

    /// How many labels the model tags.
    pub fn labels(&self) -> usize {
        self.manifest.labels.len()
    }

    pub fn scheme(&self) -> Scheme {
        self.manifest.scheme
    }

    /// Whether marked passes run on a second graph from the first one's hidden state.
    pub fn is_layered(&self) -> bool {
        self.graphs[0].marked.is_some()
    }

    /// The I/O path that runs: [`ModelIo::Host`] or [`ModelIo::Provider`].
    pub fn io(&self) -> ModelIo {
        if self.graphs[0].first.uses_provider_memory() {
            ModelIo::Provider
        } else {
            ModelIo::Host
        }
    }

    /// Whether the first graph's hidden state stays in the provider's
    /// memory (device memory on CUDA), each marked batch reading one first
    /// batch's by index ([`ModelIo::Provider`] with the gather variant).
    pub fn gathers_hidden(&self) -> bool {
        self.graphs[0].marked.as_ref().is_some_and(OnnxTagger::gathers_hidden)
    }

    /// Predicate-indexed models: the REL probability that makes a head (None: the most probable label).
    pub fn head_threshold(&self) -> Option<f32> {
        self.head_threshold
    }

    /// The execution provider that runs the model, e.g. `CPUExecutionProvider`.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Precision key of the ONNX file that runs (`fp32`, `int8`, ...).
    pub fn precision(&self) -> &str {
        &self.precision
    }

    /// The coreference model, unless it was not loaded (`--no-coref`).
    pub fn coref(&self) -> Option<&OnnxCoref> {
        self.coref.as_ref()
    }

    pub fn on_gpu(&self) -> bool {
        self.on_gpu
    }

    /// With `--device auto`: why CUDA was not used, when it was not.
    pub fn cuda_fallback(&self) -> Option<&str> {
        self.cuda_fallback.as_deref()
    }

    /// With `--model-io auto` on CUDA: why the provider's memory was not used, when it was not.
    pub fn io_fallback(&self) -> Option<&str> {
        self.io_fallback.as_deref()
    }

    /// The graphs each model worker runs (the model, and a layered model's
    /// marked graph), one entry a worker; workers may share a session.
    pub fn workers(&self) -> Vec<(&dyn Tagger, Option<&dyn Tagger>)> {
        (0..self.workers)
            .map(|w| {
                let g = &self.graphs[w % self.graphs.len()];
                (&g.first as &dyn Tagger, g.marked.as_ref().map(|m| m as &dyn Tagger))
            })
            .collect()
    }
}

/// The model's graph(s) for a precision on CPU or GPU: `sessions` sessions
/// of each, and the precision key that was chosen. With the provider's
/// memory ([`ModelIo::Provider`], or `Auto` on the GPU), a layered model
/// runs its marked graph's gather variant where the manifest lists one
/// (required when `Provider` is asked for).
fn load_graphs(
    manifest: &ModelManifest,
    precision: Precision,
    gpu: bool,
    opts: &SessionOptions,
    sessions: usize,
    io: ModelIo,
) -> Result<(String, Vec<Graphs>), LoadError> {
    let (key, path) = manifest.onnx_file(precision, gpu)?;
    let labels = manifest.labels.len();
    let provider_memory = match io {
        ModelIo::Auto => gpu,
        ModelIo::Host => false,
        ModelIo::Provider => true,
    };
    // The first graph's problems are said before a missing marked graph's.
    let mut first = (0..sessions).map(|_| OnnxTagger::load(&path, labels, opts)).collect::<Result<Vec<_>, _>>()?;
    let gather = if provider_memory { manifest.marked_gather_onnx_file(&key)? } else { None };
    let gathers = gather.is_some();
    let marked_path = match (gather, manifest.marked_onnx_file(&key)?) {
        (None, Some(_)) if io == ModelIo::Provider => {
            return Err(ModelError::Invalid {
                path: manifest.dir.join("model.json"),
                problem: format!(
                    "the provider's memory needs the marked graph's gather variant, and marked_gather_files lists none for {key}"
                ),
            }
            .into());
        }
        (Some(gather), _) => Some(gather),
        (None, marked) => marked,
    };
    let mut marked = match marked_path {
        Some(marked_path) => {
            (0..sessions).map(|_| OnnxTagger::load(&marked_path, labels, opts).map(Some)).collect::<Result<Vec<_>, _>>()?
        }
        None => (0..sessions).map(|_| None).collect(),
    };
    if provider_memory {
        for tagger in first.iter_mut() {
            tagger.use_provider_memory(gathers)?;
        }
        for tagger in marked.iter_mut().flatten() {
            tagger.use_provider_memory(false)?;
        }
    }
    let graphs = first.into_iter().zip(marked).map(|(first, marked)| Graphs { first, marked }).collect();
    Ok((key, graphs))
}

/// How the CPU threads that run the model are split into workers.
///
/// Workers run batches side by side, each on its own batch, so no operator
/// waits for a preempted thread of its own and no thread pool is woken per
/// operator (bench/RESULTS.md step 15). Single-threaded workers (the
/// default) share one session and its weights; workers with several
/// threads each hold a session of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuLayout {
    pub workers: usize,
    /// ONNX Runtime intra-op threads of each worker's runs.
    pub session_threads: usize,
}

impl CpuLayout {
    /// `threads` model threads (0: one per core) as workers of
    /// `session_threads` threads each (default 1), rounded down to whole
    /// workers, at least one.
    pub fn new(threads: usize, session_threads: Option<usize>) -> Self {
        let threads = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
        let session_threads = session_threads.unwrap_or(1).clamp(1, threads);
        Self { workers: (threads / session_threads).max(1), session_threads }
    }
}

#[cfg(test)]
mod tests {
    use super::CpuLayout;

    #[test]
    fn default_layout_is_one_single_threaded_worker_a_thread() {
        assert_eq!(CpuLayout::new(2, None), CpuLayout { workers: 2, session_threads: 1 });
        assert_eq!(CpuLayout::new(16, None), CpuLayout { workers: 16, session_threads: 1 });
        assert!(CpuLayout::new(0, None).workers >= 1);
    }

    #[test]
    fn explicit_session_threads_give_whole_workers_and_never_none() {
        assert_eq!(CpuLayout::new(2, Some(2)), CpuLayout { workers: 1, session_threads: 2 });
        assert_eq!(CpuLayout::new(5, Some(2)), CpuLayout { workers: 2, session_threads: 2 });
        assert_eq!(CpuLayout::new(2, Some(8)), CpuLayout { workers: 1, session_threads: 2 });
    }
}
