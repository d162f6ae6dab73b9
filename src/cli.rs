//! Command line (clap derive): the doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::Precision;
use crate::query::QueryFormat;
use crate::read::InputFormat;
use crate::tagger::Device;

/// kgx turns English text into a knowledge graph: a transformer tags each
/// sentence's source, relation and target; the triples, with their
/// provenance, go into an embedded RDF store you can query with SPARQL.
#[derive(Debug, Parser)]
#[command(name = "kgx", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract triples from text into the store.
    Extract(ExtractArgs),
    /// Run a SPARQL query on the store.
    Query(QueryArgs),
    /// Write the store as Turtle, N-Triples, N-Quads, GraphML or CaRB's TSV.
    Export(ExportArgs),
    /// Score extractions against gold Open IE tuples (CaRB's matching).
    Eval(EvalArgs),
    /// Counts, most connected entities, components and runs of a store.
    Stats(StatsArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Output format: RDF (turtle and ntriples merge all graphs, nquads keeps them) or GraphML.
    #[arg(long, value_enum)]
    pub format: crate::export::ExportFormat,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// How many top entities to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct StoreArg {
    /// Store directory (Oxigraph store + SQLite run log).
    #[arg(long, env = "KGX_STORE", default_value = "kgx-store")]
    pub store: PathBuf,
}

/// Which model runs where (shared by `extract` and `eval`).
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model directory (holding model.json); default: the shipped model.
    #[arg(long, env = "KGX_MODEL")]
    pub model: Option<PathBuf>,
    /// Where the model runs.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: Device,
    /// Which exported ONNX file to run (auto: the model's default for the device).
    #[arg(long, value_enum, default_value = "auto")]
    pub precision: Precision,
    /// CPU threads that run the model (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// CPU: ONNX Runtime threads of each worker; kgx runs threads /
    /// session-threads workers side by side, each on its own batches
    /// (default 1: single-threaded workers sharing one session; with more,
    /// each worker has a session and a copy of the weights of its own).
    #[arg(long, value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u16).range(1..), usize::from))]
    pub session_threads: Option<usize>,
    /// libonnxruntime.so to load (default: ORT_DYLIB_PATH, else the one the set-up installed).
    #[arg(long, env = "KGX_ORT_LIB")]
    pub ort_lib: Option<PathBuf>,
    /// Predicate-indexed models: the REL probability at which a word of the
    /// unmarked pass counts as a predicate head (lower: more triples, less
    /// precise). Default: the model's `head_threshold`, else the most probable label.
    #[arg(long, value_parser = probability)]
    pub head_threshold: Option<f32>,
}

fn probability(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(p) if p > 0.0 && p <= 1.0 => Ok(p),
        _ => Err(format!("{s:?} is not a probability in (0, 1]")),
    }
}

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
    #[arg(long, value_enum, default_value = "auto")]
    pub input_format: InputFormat,
    /// CSV column holding the text (default: `text`, `sentence`, or the only column).
    #[arg(long)]
    pub text_column: Option<String>,
    /// Base IRI of minted entities, relations, documents and runs.
    #[arg(long, default_value = crate::store::vocab::DEFAULT_BASE)]
    pub base_iri: String,
    /// Padded tokens per model batch (default: 512 on CPU, 65536 on CUDA).
    #[arg(long)]
    pub token_budget: Option<usize>,
    /// Most sentences (windows) per model batch (default: 32 on CPU, 2048 on CUDA).
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Sentences per store commit (default: 512 on CPU, where smaller
    /// commits keep memory flat; 2048 on CUDA, to fill its batches).
    #[arg(long)]
    pub chunk_sentences: Option<usize>,
    /// Tag and assemble but store nothing (measures tagging alone).
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true))]
pub struct QueryArgs {
    /// File holding the query (`-` for stdin).
    #[arg(group = "source")]
    pub file: Option<PathBuf>,
    /// The query text itself.
    #[arg(short = 'e', long = "expression", group = "source")]
    pub expression: Option<String>,
    #[command(flatten)]
    pub store: StoreArg,
    /// Output format (default: table on a terminal, else tsv, for SELECT/ASK; turtle for CONSTRUCT/DESCRIBE).
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,
    /// Also print the evaluation plan with row counts (JSON) on stderr.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Gold tuples: CaRB (`SENTENCE, RELATION, ARG1, ARG2...`) or OIE2016 (`SENTENCE, HEAD, PREDICATE, ARG1, ARG2...`), tab-separated.
    #[arg(long)]
    pub gold: PathBuf,
    /// Layout of the gold file.
    #[arg(long, value_enum, default_value = "carb")]
    pub format: crate::eval::GoldFormat,
    /// Score these extractions (CaRB TSV: `SENTENCE, CONFIDENCE, RELATION, ARG1, ARG2`) instead of running the model.
    #[arg(long, conflicts_with = "store")]
    pub extractions: Option<PathBuf>,
    /// Score the extractions already in this store (matched to gold sentences by text).
    #[arg(long)]
    pub store: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Write the predictions (CaRB TSV) here as well.
    #[arg(long)]
    pub write_extractions: Option<PathBuf>,
}
