//! `kgx extract`: flags -> model, store and pipeline options -> a run,
//! reported on stderr and in the run log.
//!
//! Invariants: the model loads (and a bad one is refused) before the store
//! is created or locked; a run is recorded in the run log as `completed`,
//! `interrupted` or `failed`; SIGINT/SIGTERM end reading, and what was read
//! is still stored.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use kgx::choice::Choice;
use kgx::model::Model;
use kgx::pipeline::read::shard::Shard;
use kgx::pipeline::read::{expand_inputs, known_size, FileDocuments, InputFormat, ReadOptions};
use kgx::pipeline::{self, NullSink, PipelineOptions, PipelineStats, SplitMode, Stage};
use kgx::store::sink::{StoreOptions, StoreSink};
use kgx::store::vocab::DEFAULT_BASE;
use kgx::store::RunInfo;

use super::args::{ChoiceParser, ModelArgs, StoreArg};
use super::progress::{Progress, ProgressSink};

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Files, directories (read recursively) or `-` for stdin; `.gz` is read transparently.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub model: ModelArgs,
    /// How inputs are cut into documents.
    #[arg(long, value_parser = ChoiceParser::<InputFormat>::new(), default_value = "auto")]
    pub input_format: InputFormat,
    /// CSV column holding the text (default: `text`, `sentence`, or the only column).
    #[arg(long)]
    pub text_column: Option<String>,
    /// Base IRI of minted entities, relations, documents and runs.
    #[arg(long, default_value = DEFAULT_BASE)]
    pub base_iri: String,
    /// Padded tokens per model batch (default: 512 on CPU, 65536 on CUDA).
    #[arg(long, visible_alias = "batch-tokens")]
    pub token_budget: Option<usize>,
    /// Most sentences (windows) per model batch (default: 32 on CPU, 2048 on CUDA).
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Sentences per store commit (default: 512 on CPU, where smaller
    /// commits keep memory flat; 8192 on CUDA, to fill its batches and the
    /// store's loader threads).
    #[arg(long)]
    pub chunk_sentences: Option<usize>,
    /// While the run writes, `kgx query`, `export`, `stats` and `eval` on the
    /// store read the state it last published: at the start, then after a
    /// commit at most every SECS seconds (a hard-linked checkpoint; 0: never,
    /// and readers are refused until the run ends).
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = super::args::seconds)]
    pub publish_every: f64,
    /// Keep only triples whose confidence is at least this (the rest are
    /// neither stored nor counted; `kgx eval` shows what a threshold trades).
    #[arg(long, value_parser = super::args::probability)]
    pub min_confidence: Option<f32>,
    /// Take only the documents of shard I of N (I from 0): those whose id's
    /// SHA-256 (first 8 bytes, big-endian) is I modulo N. `auto`: from the
    /// scheduler (Kubernetes Indexed Job: JOB_COMPLETION_INDEX with
    /// KGX_SHARD_COUNT; Slurm array: SLURM_ARRAY_TASK_ID, _MIN and _COUNT).
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// Make path-based document ids relative to this directory (the same
    /// ids wherever a machine mounts the corpus).
    #[arg(long, value_name = "DIR")]
    pub id_root: Option<PathBuf>,
    /// Tag and assemble but store nothing (measures tagging alone).
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How a run ended.
pub struct ExtractOutcome {
    pub stats: PipelineStats,
    pub interrupted: bool,
}

/// For the tests of the pipeline's panic guards: `KGX_TEST_PANIC_STAGE=encode`
/// (or read, tag, store) makes that stage panic on its first chunk.
fn injected_panic() -> Option<Stage> {
    Stage::parse(&std::env::var("KGX_TEST_PANIC_STAGE").ok()?)
}

impl ExtractArgs {
    /// The pipeline's options: the device's defaults, then the flags.
    fn pipeline_options(&self, model: &Model) -> PipelineOptions {
        let defaults = PipelineOptions::for_device(model.on_gpu());
        let mut batch = defaults.batch;
        batch.token_budget = self.token_budget.unwrap_or(batch.token_budget);
        batch.max_sequences = self.max_batch.unwrap_or(batch.max_sequences);
        PipelineOptions {
            split: if self.input_format == InputFormat::Lines { SplitMode::WholeDocument } else { SplitMode::Sentences },
            batch,
            chunk_sentences: self.chunk_sentences.unwrap_or(defaults.chunk_sentences).max(1),
            min_confidence: self.min_confidence.unwrap_or(defaults.min_confidence),
            inject_panic: injected_panic(),
            ..defaults
        }
    }
}

pub fn extract(args: &ExtractArgs) -> anyhow::Result<ExtractOutcome> {
    let started = Instant::now();
    oxigraph::model::NamedNode::new(format!("{}entity/x", args.base_iri))
        .with_context(|| format!("--base-iri {:?} is not a valid IRI base", args.base_iri))?;
    let inputs = expand_inputs(&args.inputs)?;
    let model = args.model.load(args.quiet)?;
    let opts = args.pipeline_options(&model);
    let progress = Progress::new(!args.quiet && std::io::stderr().is_terminal(), known_size(&inputs));
    let stop = Arc::new(AtomicBool::new(false));
    let reading = Arc::clone(&stop);
    let shard = args.shard.as_deref().map(|s| Shard::parse(s, |name| std::env::var(name).ok())).transpose()?;
    let read = ReadOptions {
        format: args.input_format,
        text_column: args.text_column.clone(),
        id_root: args.id_root.clone(),
        ..ReadOptions::default()
    };
    // A stop request ends reading; the pipeline still stores what was read.
    let documents = FileDocuments::new(inputs, read)
        .on_bytes(progress.byte_counter())
        .take_while(move |_| !reading.load(Ordering::SeqCst))
        .filter(move |item| {
            // An unusable input is reported by the one shard that owns its location.
            shard.is_none_or(|shard| shard.owns(item.as_ref().map_or_else(|e| e.location.as_str(), |d| d.id.as_str())))
        });
    let result = if args.dry_run {
        stop_on_signals(&stop)?;
        pipeline::run(documents, &model, &opts, &mut ProgressSink { inner: NullSink, progress: progress.clone() })
            .map_err(anyhow::Error::from)
    } else {
        let run = RunInfo {
            id: kgx::timestamp::new_run_id(),
            started_at: kgx::timestamp::now_rfc3339(),
            model_name: model.name().to_string(),
            precision: model.precision().to_string(),
            device: if model.on_gpu() { "cuda".into() } else { "cpu".into() },
            provider: model.provider().to_string(),
            coreference: model.coref().map(|c| (c.name().to_string(), c.precision().to_string())),
        };
        let command: Vec<String> = std::env::args().collect();
        let (mut store, stale) = StoreSink::open(
            &args.store.store,
            &args.base_iri,
            run,
            &command.join(" "),
            StoreOptions { publish_every: std::time::Duration::from_secs_f64(args.publish_every) },
        )?;
        if stale > 0 && !args.quiet {
            eprintln!("kgx: marked {stale} earlier run(s) that did not finish as killed; resuming (stored documents are skipped)");
        }
        stop_on_signals(&stop)?;
        let result = pipeline::run(documents, &model, &opts, &mut ProgressSink { inner: &mut store, progress: progress.clone() });
        let status = match (&result, stop.load(Ordering::SeqCst)) {
            (Err(_), _) => "failed",
            (Ok(_), true) => "interrupted",
            (Ok(_), false) => "completed",
        };
        let rebuilding = std::time::Instant::now();
        let finished = store.finish(status, result.as_ref().map_or(0, |s| s.skipped));
        if let (Ok((entities, linked)), false) = (&finished, args.quiet) {
            eprintln!(
                "kgx: entity graph rebuilt in {:.1} s: {entities} entities ({linked} names linked to another name's entity)",
                rebuilding.elapsed().as_secs_f64()
            );
        }
        // The pipeline's error, if any, is the one to report.
        result.map_err(anyhow::Error::from).and_then(|stats| finished.map(|_| stats).map_err(anyhow::Error::from))
    };
    progress.finish();
    let interrupted = stop.load(Ordering::SeqCst);
    let stats = result?;
    if !args.quiet {
        report(args, &model, &stats, started.elapsed().as_secs_f64());
        if interrupted {
            eprintln!("kgx: stopped on request after the last commit; run the same command again to resume");
        }
    }
    Ok(ExtractOutcome { stats, interrupted })
}

/// SIGINT and SIGTERM set `stop` instead of ending the process.
fn stop_on_signals(stop: &Arc<AtomicBool>) -> anyhow::Result<()> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(stop)).context("cannot install the SIGINT/SIGTERM handlers")?;
    }
    Ok(())
}

/// The run's summary line on stderr.
fn report(args: &ExtractArgs, model: &Model, stats: &PipelineStats, secs: f64) {
    let provider = model.provider();
    let precision = model.precision();
    eprintln!(
        "kgx: {} documents {} ({} replaced), {} unchanged skipped, {} failed; {} sentences, {} triples, {} new entities in \
            {secs:.1} s ({:.0} sentences/s) on {provider} [{} {precision}, {} I/O{}]",
        stats.stored,
        if args.dry_run { "tagged (dry run, nothing stored)" } else { "stored" },
        stats.replaced,
        stats.skipped,
        stats.failed,
        stats.sentences,
        stats.triples,
        stats.new_entities,
        stats.sentences as f64 / secs.max(1e-9),
        model.name(),
        model.io().name(),
        if model.gathers_hidden() { ", hidden state kept by the provider" } else { "" }
    );
    if stats.marked_tokens > 0 {
        eprintln!("kgx: model work: {} tokens tagged, {} tokens read by marked passes", stats.tokens, stats.marked_tokens);
    }
    eprintln!("kgx: busy time (all threads of a stage): {}", stats.busy.summary(std::time::Duration::from_secs_f64(secs)));
}
