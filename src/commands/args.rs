//! Flags shared by several commands, and how a library [`Choice`] becomes a
//! clap value (its names and help lines listed in `--help`).

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::Args;
use kgx::choice::Choice;
use kgx::model::{Device, Model, ModelIo, ModelOptions, Precision, Scheme};

/// Parses a flag's value into a library [`Choice`], listing every value
/// (with its help line) in `--help` and in the error for a wrong one.
#[derive(Clone)]
pub struct ChoiceParser<T>(PhantomData<T>);

impl<T: Choice> ChoiceParser<T> {
    pub fn new() -> Self {
        Self(PhantomData)
    }

    fn values() -> impl Iterator<Item = PossibleValue> {
        T::ALL.iter().map(|c| {
            let value = PossibleValue::new(c.name());
            if c.help().is_empty() {
                value
            } else {
                value.help(c.help())
            }
        })
    }
}

impl<T: Choice + Send + Sync> TypedValueParser for ChoiceParser<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let name = PossibleValuesParser::new(Self::values()).parse_ref(cmd, arg, value)?;
        // PossibleValuesParser accepted one of T's names.
        T::parse(&name).ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
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
    #[arg(long, value_parser = ChoiceParser::<Device>::new(), default_value = "auto")]
    pub device: Device,
    /// Which exported ONNX file to run (auto: the model's default for the device).
    #[arg(long, value_parser = ChoiceParser::<Precision>::new(), default_value = "auto")]
    pub precision: Precision,
    /// Where the model's inputs, logits and a layered model's hidden state live.
    #[arg(long, value_parser = ChoiceParser::<ModelIo>::new(), default_value = "auto")]
    pub model_io: ModelIo,
    /// CPU threads that run the model (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// CPU: ONNX Runtime threads of each worker; kgx runs threads /
    /// session-threads workers side by side, each on its own batches
    /// (default 1: single-threaded workers sharing one session; with more,
    /// each worker has a session and a copy of the weights of its own).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub session_threads: Option<usize>,
    /// libonnxruntime.so to load (default: ORT_DYLIB_PATH, else the one the set-up installed).
    #[arg(long, env = "KGX_ORT_LIB")]
    pub ort_lib: Option<PathBuf>,
    /// Predicate-indexed models: the REL probability at which a word of the
    /// unmarked pass counts as a predicate head (lower: more triples, less
    /// precise). Default: the model's `head_threshold`, else the most probable label.
    #[arg(long, value_parser = probability)]
    pub head_threshold: Option<f32>,
    /// Coreference model directory (default: the shipped one).
    #[arg(long, env = "KGX_COREF_MODEL")]
    pub coref_model: Option<PathBuf>,
    /// Do not load the coreference model: no pronoun is linked to a name,
    /// so extractions with a pronoun argument assert no triple.
    #[arg(long, conflicts_with = "coref_model")]
    pub no_coref: bool,
    /// How far a name's score must beat "no antecedent" for a pronoun to
    /// link to it (higher: fewer, surer links). Default: the coreference
    /// model's `none_margin`, tuned on GAP validation.
    #[arg(long, allow_negative_numbers = true)]
    pub coref_none_margin: Option<f32>,
}

impl ModelArgs {
    /// The library's options for these flags (and `KGX_ORT_SPIN=1`: idle
    /// ONNX Runtime threads spin).
    pub fn options(&self) -> ModelOptions {
        ModelOptions {
            dir: self.model.clone(),
            device: self.device,
            precision: self.precision,
            threads: self.threads,
            session_threads: self.session_threads,
            ort_library: self.ort_lib.clone(),
            head_threshold: self.head_threshold,
            spinning: std::env::var_os("KGX_ORT_SPIN").is_some_and(|v| v == "1"),
            coref: !self.no_coref,
            coref_dir: self.coref_model.clone(),
            coref_none_margin: self.coref_none_margin,
            io: self.model_io,
        }
    }
}

impl ModelArgs {
    /// Loads the model, saying on stderr (unless `quiet`) what runs where
    /// and why CUDA was not used when `--device auto` fell back.
    pub fn load(&self, quiet: bool) -> anyhow::Result<Model> {
        let loading = std::time::Instant::now();
        let model = Model::load(&self.options())?;
        let loaded = loading.elapsed().as_secs_f64();
        if !quiet {
            if let Some(reason) = model.cuda_fallback() {
                eprintln!("kgx: CUDA unavailable ({reason}); running on CPU");
            }
            if let Some(reason) = model.io_fallback() {
                eprintln!("kgx: the provider's pinned and device buffers are unavailable ({reason}); host I/O");
            }
            if self.head_threshold.is_some() && model.scheme() == Scheme::Single {
                eprintln!("kgx: --head-threshold has no effect: model {} tags one triple a sentence", model.name());
            }
            eprintln!("kgx: model {} ({}) on {}, loaded in {loaded:.2} s", model.name(), model.precision(), model.provider());
            match model.coref() {
                Some(coref) => eprintln!("kgx: coreference model {} ({})", coref.name(), coref.precision()),
                None => eprintln!("kgx: no coreference model (--no-coref): pronouns stay unresolved"),
            }
        }
        Ok(model)
    }
}

pub fn probability(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(p) if p > 0.0 && p <= 1.0 => Ok(p),
        _ => Err(format!("{s:?} is not a probability in (0, 1]")),
    }
}

/// A non-negative, finite number of seconds.
pub fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1e9).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds (0 or more)")),
    }
}

/// How to talk to a SPARQL server (`push`, and `query`/`stats` with `--endpoint`).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Environment variable holding the server's credentials:
    /// `basic:USER:PASSWORD`, `digest:USER:PASSWORD` (Virtuoso's
    /// `/sparql-auth`) or `bearer:TOKEN`.
    #[arg(long, value_name = "VAR", default_value = kgx::remote::auth::DEFAULT_AUTH_ENV)]
    pub auth_env: String,
    /// Seconds one request may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Tries after the first on 5xx, 408, 429, timeouts and failed connections (waiting 0.5 s, doubling up to 30 s).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
}

impl ServerArgs {
    /// The server at query URL `endpoint` (update and graph-store URLs
    /// derived unless given), credentials read from the environment.
    pub fn endpoint(
        &self,
        endpoint: &str,
        update_url: Option<&str>,
        graph_store_url: Option<&str>,
    ) -> anyhow::Result<kgx::remote::Endpoint> {
        let credentials = kgx::remote::auth::Credentials::from_env(&self.auth_env)?;
        let http = kgx::remote::http::HttpOptions {
            timeout: std::time::Duration::from_secs(self.timeout),
            retries: self.retries,
            ..Default::default()
        };
        Ok(kgx::remote::Endpoint::new(kgx::remote::EndpointOptions {
            query_url: endpoint.to_string(),
            update_url: update_url.map(str::to_string),
            graph_store_url: graph_store_url.map(str::to_string),
            credentials,
            http,
        })?)
    }
}
