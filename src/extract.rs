//! `kgx extract`: wires the model, the store and the pipeline together and
//! reports the run.
//!
//! Takes: [`ExtractArgs`]. Gives: an [`ExtractOutcome`] (summary printed on
//! stderr) or a typed error for the edge to map to an exit code.
//! Invariants: CUDA is used only when asked for or available (`auto`), and
//! the provider that ran is reported; a run is recorded in the run log as
//! `completed`, `interrupted` or `failed`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::assemble::Roles;
use crate::batch::BatchPolicy;
use crate::cli::{ExtractArgs, ModelArgs};
use crate::encode::SentenceEncoder;
use crate::model::{ModelManifest, Scheme};
use crate::pipeline::{self, PipelineOptions, PipelineStats, Stages};
use crate::progress::Progress;
use crate::read::{expand_inputs, known_size, ReadOptions};
use crate::store::rdf::RunInfo;
use crate::store::sink::StoreSink;
use crate::store::{NullSink, Sink};
use crate::tagger::onnx::OnnxTagger;
use crate::tagger::runtime::SessionOptions;
use crate::tagger::{Device, Tagger, TaggerError};

/// The shipped model, relative to the repository.
pub const DEFAULT_MODEL: &str = "models/kgx-minilm-layered";

/// How a run ended.
#[derive(Debug)]
pub struct ExtractOutcome {
    pub stats: PipelineStats,
    pub interrupted: bool,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// SIGINT/SIGTERM finish the chunks in flight, then stop.
fn install_stop_handlers() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, request_stop as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, request_stop as *const () as libc::sighandler_t);
    }
}

/// The model directory: flag/env, else the shipped one near the executable or the working directory.
pub fn resolve_model_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).take(4).map(|a| a.join(DEFAULT_MODEL)));
    }
    candidates.push(PathBuf::from(DEFAULT_MODEL));
    candidates.into_iter().find(|c| c.join("model.json").is_file()).unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL))
}

/// A model ready to run: manifest, tokenizer, session and what was chosen.
pub struct LoadedModel {
    pub manifest: ModelManifest,
    pub encoder: Arc<SentenceEncoder>,
    /// Taggers run side by side: one on CUDA; on CPU one a worker (see
    /// [`CpuLayout`]).
    pub taggers: Vec<Box<dyn Tagger>>,
    /// Layered models: as many taggers of the marked graph (else empty).
    pub marked_taggers: Vec<Box<dyn Tagger>>,
    /// The execution provider that runs them.
    pub provider: String,
    pub roles: Roles,
    /// Precision key of the ONNX file that runs (`fp32`, `int8`, ...).
    pub precision: String,
    /// Predicate-indexed models: `--head-threshold`, else the manifest's.
    pub head_threshold: Option<f32>,
    pub on_gpu: bool,
}

/// Loads the model on the requested device; `auto` tries CUDA with the
/// GPU file, then CPU with the CPU file (saying so unless `quiet`).
pub fn load_model(args: &ModelArgs, quiet: bool) -> anyhow::Result<LoadedModel> {
    let model_dir = resolve_model_dir(args.model.as_deref());
    let manifest = ModelManifest::load(&model_dir)?;
    let roles = Roles::from_labels(&manifest.labels).map_err(|problem| anyhow::anyhow!("model {}: {problem}", model_dir.display()))?;
    let encoder = Arc::new(SentenceEncoder::load(&manifest.tokenizer, manifest.max_tokens)?);
    let spinning = std::env::var_os("KGX_ORT_SPIN").is_some_and(|v| v == "1");
    let mut opts = SessionOptions { device: args.device, intra_threads: args.threads, library: args.ort_lib.clone(), spinning, ..SessionOptions::default() };
    let labels = manifest.labels.len();
    let loaded = |(taggers, marked_taggers): (Vec<OnnxTagger>, Vec<OnnxTagger>), precision: String, on_gpu: bool, manifest: ModelManifest| {
        let misfit = |problem: &str| TaggerError::Interface { path: manifest.dir.display().to_string(), problem: problem.to_string() };
        match marked_taggers.first() {
            Some(marked) if !(taggers[0].gives_hidden() && marked.reads_hidden() && marked.reads_token_types()) => {
                return Err(misfit("a layered model's first graph must give a `hidden` output and its marked graph read `hidden` and `token_type_ids`").into());
            }
            None if manifest.scheme == Scheme::Predicate && !taggers[0].reads_token_types() => {
                return Err(misfit("the predicate-indexed scheme needs a token_type_ids input, which the ONNX model lacks").into());
            }
            _ => {}
        }
        if args.head_threshold.is_some() && manifest.scheme == Scheme::Single && !quiet {
            eprintln!("kgx: --head-threshold has no effect: model {} tags one triple a sentence", manifest.name);
        }
        let head_threshold = args.head_threshold.or(manifest.head_threshold);
        let provider = taggers[0].provider().to_string();
        let boxed = |taggers: Vec<OnnxTagger>| taggers.into_iter().map(|t| Box::new(t) as Box<dyn Tagger>).collect();
        let (taggers, marked_taggers) = (boxed(taggers), boxed(marked_taggers));
        Ok(LoadedModel { manifest, encoder: encoder.clone(), taggers, marked_taggers, provider, roles, precision, head_threshold, on_gpu })
    };
    // The model's graph(s) for a precision key: `workers` taggers of each,
    // clones of one session when `share`, else a session each.
    let load_graphs = |key: &str, path: &Path, opts: &SessionOptions, workers: usize, share: bool| -> anyhow::Result<(Vec<OnnxTagger>, Vec<OnnxTagger>)> {
        let load = |path: &Path| -> Result<Vec<OnnxTagger>, TaggerError> {
            if share { Ok(vec![OnnxTagger::load(path, labels, opts)?; workers]) } else { (0..workers).map(|_| OnnxTagger::load(path, labels, opts)).collect() }
        };
        let taggers = load(path)?;
        let marked = match manifest.marked_onnx_file(key)? {
            Some(marked_path) => load(&marked_path)?,
            None => Vec::new(),
        };
        Ok((taggers, marked))
    };
    if args.device != Device::Cpu {
        let (key, path) = manifest.onnx_file(args.precision, true)?;
        opts.device = Device::Cuda;
        match load_graphs(&key, &path, &opts, 1, true) {
            Ok(graphs) => return loaded(graphs, key, true, manifest),
            Err(e) => match e.downcast_ref::<TaggerError>() {
                Some(TaggerError::CudaUnavailable(reason)) if args.device == Device::Auto => {
                    if !quiet {
                        eprintln!("kgx: CUDA unavailable ({}); running on CPU", reason.lines().next().unwrap_or(""));
                    }
                }
                _ => return Err(e),
            },
        }
    }
    opts.device = Device::Cpu;
    let (key, path) = manifest.onnx_file(args.precision, false)?;
    let layout = CpuLayout::new(args.threads, args.session_threads);
    opts.intra_threads = layout.session_threads;
    // Single-threaded workers share one session (one copy of the weights,
    // clones of one tagger); a thread pool belongs to its session, so
    // workers with several threads each load their own.
    let graphs = load_graphs(&key, &path, &opts, layout.workers, layout.session_threads == 1)?;
    loaded(graphs, key, false, manifest)
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

/// Installs the SIGINT/SIGTERM handlers and returns the flag they set.
pub fn stop_flag() -> &'static AtomicBool {
    install_stop_handlers();
    &STOP
}

pub fn extract(args: &ExtractArgs) -> anyhow::Result<ExtractOutcome> {
    let started = Instant::now();
    oxigraph::model::NamedNode::new(format!("{}entity/x", args.base_iri)).with_context(|| format!("--base-iri {:?} is not a valid IRI base", args.base_iri))?;
    let files = expand_inputs(&args.inputs)?;
    let LoadedModel { manifest: model, encoder, taggers, marked_taggers, provider, roles, precision, head_threshold, on_gpu } = load_model(&args.model, args.quiet)?;
    if !args.quiet {
        eprintln!("kgx: model {} ({precision}) on {provider}", model.name);
    }
    let run = RunInfo {
        id: crate::timestamp::new_run_id(),
        started_at: crate::timestamp::now_rfc3339(),
        model_name: model.name.clone(),
        precision: precision.clone(),
        device: if on_gpu { "cuda".into() } else { "cpu".into() },
        provider: provider.clone(),
    };
    let command: Vec<String> = std::env::args().collect();
    let mut store_sink = None;
    let mut null_sink = NullSink;
    let sink: &mut dyn Sink = if args.dry_run {
        &mut null_sink
    } else {
        let (sink, stale) = StoreSink::open(&args.store.store, &args.base_iri, run.clone(), &command.join(" "))?;
        if stale > 0 && !args.quiet {
            eprintln!("kgx: marked {stale} earlier run(s) that did not finish as killed; resuming (stored documents are skipped)");
        }
        store_sink.insert(sink)
    };
    let read = ReadOptions { format: args.input_format, text_column: args.text_column.clone(), ..ReadOptions::default() };
    let defaults = PipelineOptions::for_device(on_gpu);
    let batch = BatchPolicy {
        token_budget: args.token_budget.unwrap_or(defaults.batch.token_budget),
        max_sequences: args.max_batch.unwrap_or(defaults.batch.max_sequences),
        batch_cost: defaults.batch.batch_cost,
    };
    let chunk_sentences = args.chunk_sentences.unwrap_or(defaults.chunk_sentences).max(1);
    let opts = PipelineOptions { read, batch, chunk_sentences, ..defaults };
    let progress = Progress::new(!args.quiet && is_terminal::is_terminal(std::io::stderr()), known_size(&files));
    let stop = stop_flag();
    let stages = Stages { encoder, taggers, marked_taggers, roles, labels: model.labels.len(), scheme: model.scheme, head_threshold, sink, progress: &progress, stop };
    let result = pipeline::run(&files, &opts, stages);
    progress.finish();
    let interrupted = STOP.load(Ordering::SeqCst);
    let status = match (&result, interrupted) {
        (Err(_), _) => "failed",
        (Ok(_), true) => "interrupted",
        (Ok(_), false) => "completed",
    };
    if let Some(sink) = store_sink.as_mut() {
        let skipped = result.as_ref().map(|s| s.skipped).unwrap_or(0);
        sink.finish(status, skipped)?;
    }
    let stats = result?;
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "kgx: {} documents {} ({} replaced), {} unchanged skipped, {} failed; {} sentences, {} triples, {} new entities in {secs:.1} s ({:.0} sentences/s) on {provider} [{} {precision}]",
            stats.stored,
            if args.dry_run { "tagged (dry run, nothing stored)" } else { "stored" }, stats.replaced, stats.skipped, stats.failed, stats.sentences, stats.triples, stats.new_entities, stats.sentences as f64 / secs.max(1e-9), model.name
        );
        if interrupted {
            eprintln!("kgx: stopped on request after the last commit; run the same command again to resume");
        }
    }
    Ok(ExtractOutcome { stats, interrupted })
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
