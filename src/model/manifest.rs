//! Model directory: the manifest (`model.json`) written by `export/`'s build.
//!
//! Takes: a directory holding `model.json`, `tokenizer.json` and the ONNX
//! files it names (or none: the shipped model, found near the executable
//! or the working directory). Gives: [`ModelManifest`] with absolute paths
//! resolved and the ONNX file chosen for a device and precision.
//! Invariants: every path returned exists; the labels hold O, SRC, REL
//! and TGT.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::labels::{MissingLabel, Roles};

/// The shipped model, relative to the repository.
pub const DEFAULT_MODEL: &str = "models/kgx-minilm-layered";

/// The model directory: `explicit`, else the shipped one near the
/// executable (target/release/kgx -> repository) or the working directory.
pub fn resolve_model_dir(explicit: Option<&Path>) -> PathBuf {
    match explicit {
        Some(p) => p.to_path_buf(),
        None => shipped_model_dir(DEFAULT_MODEL),
    }
}

/// A shipped model directory (`relative` to the repository) near the
/// executable or the working directory, the first that holds a `model.json`.
pub fn shipped_model_dir(relative: &str) -> PathBuf {
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).take(4).map(|a| a.join(relative)));
    }
    candidates.push(PathBuf::from(relative));
    candidates.into_iter().find(|c| c.join("model.json").is_file()).unwrap_or_else(|| PathBuf::from(relative))
}

/// `dir/model.json`'s path and contents, for any model's manifest.
pub(super) fn read_manifest<T: serde::de::DeserializeOwned>(dir: &Path) -> Result<(PathBuf, T), ModelError> {
    if !dir.is_dir() {
        return Err(ModelError::MissingDir(dir.to_path_buf()));
    }
    let path = dir.join("model.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Read { path: path.clone(), source })?;
    let manifest = serde_json::from_str(&text).map_err(|source| ModelError::Parse { path: path.clone(), source })?;
    Ok((path, manifest))
}

/// The tokenizer file a manifest (at `manifest`) names, which must exist.
pub(super) fn tokenizer_file(dir: &Path, manifest: &Path, relative: &Path) -> Result<PathBuf, ModelError> {
    let tokenizer = dir.join(relative);
    if !tokenizer.is_file() {
        let problem = format!("tokenizer file {} is missing (the model's build writes it: run `make models`)", tokenizer.display());
        return Err(ModelError::Invalid { path: manifest.to_path_buf(), problem });
    }
    Ok(tokenizer)
}

/// Errors while locating or reading a model directory.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model directory {0} does not exist (build it with `make model`, or pass --model DIR)")]
    MissingDir(PathBuf),
    #[error("cannot read model manifest {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("model manifest {path} is not valid: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("model manifest {path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("model manifest {path}")]
    Labels { path: PathBuf, source: MissingLabel },
    #[error("model file {path} ({precision}) is missing: run `make model` to build the ONNX files")]
    MissingFile { path: PathBuf, precision: String },
}

/// The numeric precision of an exported ONNX file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Auto,
    Fp32,
    Fp32Opt,
    Int8,
    Fp16,
}

crate::choice::choices!(Precision {
    Auto => "auto", "The manifest's default for the device (`cpu_default` / `gpu_default`)";
    Fp32 => "fp32", "The plain fp32 export";
    Fp32Opt => "fp32-opt", "fp32 after ONNX Runtime's transformer optimiser";
    Int8 => "int8", "Dynamically quantised int8 (CPU)";
    Fp16 => "fp16", "fp16 (GPU)";
});

impl Precision {
    /// The key of the precision's file in the manifest (`fp32_opt`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::Fp32 => "fp32",
            Precision::Fp32Opt => "fp32_opt",
            Precision::Int8 => "int8",
            Precision::Fp16 => "fp16",
        }
    }
}

/// How a model's tags become triples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// One pass a sentence, one triple a sentence.
    #[default]
    Single,
    /// Predicate-indexed: an unmarked pass finds predicate heads, then one
    /// pass per head (marked with token type 1) tags that predicate's
    /// triple (see [`crate::pipeline::predicates`]). A *layered* model (its manifest
    /// lists `marked_files`) runs the marked passes on a second graph that
    /// starts from the hidden state the first graph gave at `marker_layer`.
    Predicate,
}

#[derive(Debug, Deserialize)]
struct RawManifest {
    name: String,
    #[serde(default)]
    scheme: Scheme,
    #[serde(default)]
    head_threshold: Option<f32>,
    labels: Vec<String>,
    max_tokens: usize,
    #[serde(default = "default_tokenizer")]
    tokenizer: String,
    files: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    marked_files: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    marked_gather_files: Option<std::collections::BTreeMap<String, String>>,
    cpu_default: String,
    gpu_default: String,
}

fn default_tokenizer() -> String {
    "tokenizer.json".to_string()
}

/// A model directory, validated.
#[derive(Debug, Clone)]
pub struct ModelManifest {
    pub dir: PathBuf,
    pub name: String,
    pub scheme: Scheme,
    /// Predicate-indexed models: REL probability that makes a head (tuned on CaRB dev).
    pub head_threshold: Option<f32>,
    pub labels: Vec<String>,
    /// Which label ids are O, SRC, REL and TGT.
    pub roles: Roles,
    /// Longest input the model accepts, special tokens included.
    pub max_tokens: usize,
    pub tokenizer: PathBuf,
    files: std::collections::BTreeMap<String, String>,
    marked_files: Option<std::collections::BTreeMap<String, String>>,
    /// Layered models: the marked graph's gather variant per precision (optional).
    marked_gather_files: Option<std::collections::BTreeMap<String, String>>,
    cpu_default: String,
    gpu_default: String,
}

impl ModelManifest {
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let (path, raw): (PathBuf, RawManifest) = read_manifest(dir)?;
        let invalid = |problem: String| ModelError::Invalid { path: path.clone(), problem };
        let roles = Roles::from_labels(&raw.labels).map_err(|source| ModelError::Labels { path: path.clone(), source })?;
        if raw.max_tokens < 8 {
            return Err(invalid(format!("max_tokens {} is too small", raw.max_tokens)));
        }
        let tokenizer = tokenizer_file(dir, &path, Path::new(&raw.tokenizer))?;
        if let Some(marked) = &raw.marked_files {
            if raw.scheme != Scheme::Predicate {
                return Err(invalid("marked_files needs \"scheme\": \"predicate\"".into()));
            }
            if let Some(key) = raw.files.keys().find(|k| !marked.contains_key(*k)) {
                return Err(invalid(format!("precision {key} has a file but no marked_files entry")));
            }
        }
        if raw.marked_gather_files.is_some() && raw.marked_files.is_none() {
            return Err(invalid("marked_gather_files needs marked_files (a layered model)".into()));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            name: raw.name,
            scheme: raw.scheme,
            head_threshold: raw.head_threshold,
            labels: raw.labels,
            roles,
            max_tokens: raw.max_tokens,
            tokenizer,
            files: raw.files,
            marked_files: raw.marked_files,
            marked_gather_files: raw.marked_gather_files,
            cpu_default: raw.cpu_default,
            gpu_default: raw.gpu_default,
        })
    }

    /// The precision key the manifest recommends for a device.
    pub fn default_precision(&self, gpu: bool) -> &str {
        if gpu {
            &self.gpu_default
        } else {
            &self.cpu_default
        }
    }

    /// Resolves a precision to (key, existing ONNX path).
    pub fn onnx_file(&self, precision: Precision, gpu: bool) -> Result<(String, PathBuf), ModelError> {
        let key = match precision {
            Precision::Auto => self.default_precision(gpu).to_string(),
            p => p.key().to_string(),
        };
        let rel = self.files.get(&key).ok_or_else(|| ModelError::Invalid {
            path: self.dir.join("model.json"),
            problem: format!("no file listed for precision {key}"),
        })?;
        let path = self.dir.join(rel);
        if !path.is_file() {
            return Err(ModelError::MissingFile { path, precision: key });
        }
        Ok((key, path))
    }

    /// Layered models: the marked graph for a precision key (from
    /// [`Self::onnx_file`]); None for other models.
    pub fn marked_onnx_file(&self, key: &str) -> Result<Option<PathBuf>, ModelError> {
        let Some(marked) = &self.marked_files else { return Ok(None) };
        let rel = marked.get(key).ok_or_else(|| ModelError::Invalid {
            path: self.dir.join("model.json"),
            problem: format!("no marked_files entry for precision {key}"),
        })?;
        self.listed_file(rel, key, "marked graph").map(Some)
    }

    /// Layered models: the marked graph's gather variant for a precision
    /// key; None where the manifest lists none for it.
    pub fn marked_gather_onnx_file(&self, key: &str) -> Result<Option<PathBuf>, ModelError> {
        let Some(rel) = self.marked_gather_files.as_ref().and_then(|files| files.get(key)) else { return Ok(None) };
        self.listed_file(rel, key, "marked graph's gather variant").map(Some)
    }

    /// A file the manifest lists, which must exist.
    fn listed_file(&self, rel: &str, key: &str, what: &str) -> Result<PathBuf, ModelError> {
        let path = self.dir.join(rel);
        if !path.is_file() {
            return Err(ModelError::MissingFile { path, precision: format!("{key}, {what}") });
        }
        Ok(path)
    }
}
