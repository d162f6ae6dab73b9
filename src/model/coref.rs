//! The coreference model: a window of text -> a query and a key vector a
//! token, behind [`CorefScorer`].
//!
//! Takes: a model directory (`model.json` with `max_tokens`, `tokenizer`,
//! `files` by precision and the precision to run on CPU and on a GPU,
//! `cpu_default` / `gpu_default`, fp32 when absent; built by `make
//! model-coref` from the LoRA adapter trained on GAP, which makes int8 the
//! CPU default only when it keeps validation F1) whose ONNX graph reads
//! `input_ids`, `attention_mask` and maybe `token_type_ids` (int64, probed from the session) and gives `query` and
//! `key` (f32 `[batch, seq, dim]`). Gives: [`CorefVectors`] for a window
//! (special tokens included: row 0 is `[CLS]`, which stands for "no
//! antecedent"). The score of token j as the antecedent of the pronoun at
//! token i is `query[i] . key[j] / sqrt(dim)` ([`CorefVectors::score`]).
//! The manifest may also name `first_names` (`NAME<TAB>m|f` lines, built
//! from GAP development by `make train-coref`): the gender GAP gives the
//! people a first name belongs to ([`CorefScorer::first_name_gender`]).
//! Invariants: a graph with other inputs or outputs, or an unreadable first
//! names file, is refused at load time; one session, run by one thread at a
//! time (the pipeline's store thread).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::{Array2, Ix3};
use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use super::manifest::{read_manifest, shipped_model_dir, tokenizer_file, ModelError};
use super::runtime::{build_session, Device, SessionOptions};
use super::tagger::TaggerError;
use super::tokenizer::SentenceEncoder;
use super::LoadError;

/// The shipped coreference model, relative to the repository.
pub const DEFAULT_COREF_MODEL: &str = "models/kgx-coref-minilm";

/// Query and key vectors of one window's tokens, `[tokens, dim]` each.
#[derive(Debug, Clone)]
pub struct CorefVectors {
    pub query: Array2<f32>,
    pub key: Array2<f32>,
}

impl CorefVectors {
    /// Score of token `antecedent` as the antecedent of the pronoun at token `pronoun`.
    pub fn score(&self, pronoun: usize, antecedent: usize) -> f32 {
        let dim = self.query.ncols() as f32;
        self.query.row(pronoun).dot(&self.key.row(antecedent)) / dim.sqrt()
    }
}

/// A person's grammatical gender: a he/she pronoun's, or the one a first name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Masculine,
    Feminine,
}

/// A model that gives antecedent vectors for a window of token ids.
pub trait CorefScorer: Send + Sync {
    /// The tokenizer the model reads (windows and special tokens).
    fn encoder(&self) -> &SentenceEncoder;
    /// Vectors of one model input (special tokens included).
    fn vectors(&self, ids: &[u32]) -> Result<CorefVectors, TaggerError>;
    /// How far an antecedent's score must beat "none" (`[CLS]`) to link.
    fn none_margin(&self) -> f32 {
        0.0
    }
    /// The gender of the people called `first_name` (exact case), when the model knows one.
    fn first_name_gender(&self, _first_name: &str) -> Option<Gender> {
        None
    }
}

#[derive(Debug, Deserialize)]
struct CorefManifest {
    name: String,
    max_tokens: usize,
    tokenizer: PathBuf,
    files: std::collections::BTreeMap<String, PathBuf>,
    /// How far an entity's score must beat `[CLS]`'s to link (tuned on GAP validation).
    #[serde(default)]
    none_margin: f32,
    /// `NAME<TAB>m|f` lines: first names and the gender of their people.
    #[serde(default)]
    first_names: Option<PathBuf>,
    #[serde(default = "fp32")]
    cpu_default: String,
    #[serde(default = "fp32")]
    gpu_default: String,
}

fn fp32() -> String {
    "fp32".into()
}

/// The coreference model on an ONNX Runtime session.
pub struct OnnxCoref {
    name: String,
    precision: String,
    encoder: SentenceEncoder,
    session: Mutex<Session>,
    token_types: bool,
    none_margin: f32,
    first_names: HashMap<String, Gender>,
}

/// Reads a first names file (`NAME<TAB>m|f` a line).
fn read_first_names(path: &Path, manifest: &Path) -> Result<HashMap<String, Gender>, ModelError> {
    let invalid = |problem: String| ModelError::Invalid { path: manifest.to_path_buf(), problem };
    let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read first names file {}: {e}", path.display())))?;
    let mut names = HashMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (name, gender) = match line.split_once('\t') {
            Some((name, "m")) => (name, Gender::Masculine),
            Some((name, "f")) => (name, Gender::Feminine),
            _ => return Err(invalid(format!("{} line {}: expected NAME<TAB>m or NAME<TAB>f, found {line:?}", path.display(), n + 1))),
        };
        names.insert(name.to_string(), gender);
    }
    Ok(names)
}

impl OnnxCoref {
    /// `dir`, else the shipped model; `none_margin` overrides the manifest's.
    pub fn load(dir: Option<&Path>, session: &SessionOptions, none_margin: Option<f32>) -> Result<Self, LoadError> {
        let dir = dir.map_or_else(|| shipped_model_dir(DEFAULT_COREF_MODEL), Path::to_path_buf);
        let (path, manifest): (PathBuf, CorefManifest) = read_manifest(&dir)?;
        let precision = if session.device == Device::Cpu { manifest.cpu_default.clone() } else { manifest.gpu_default.clone() };
        let onnx = manifest
            .files
            .get(&precision)
            .map(|f| dir.join(f))
            .ok_or_else(|| ModelError::Invalid { path: path.clone(), problem: format!("no file listed for precision {precision}") })?;
        if !onnx.is_file() {
            return Err(ModelError::MissingFile { path: onnx, precision }.into());
        }
        let encoder = SentenceEncoder::load(&tokenizer_file(&dir, &path, &manifest.tokenizer)?, manifest.max_tokens)?;
        let (session, _) = build_session(&onnx, session)?;
        let interface = |problem: String| TaggerError::Interface { path: onnx.display().to_string(), problem };
        let inputs: Vec<String> = session.inputs().iter().map(|i| i.name().to_string()).collect();
        for name in &inputs {
            if !matches!(name.as_str(), "input_ids" | "attention_mask" | "token_type_ids") {
                return Err(interface(format!("unexpected input {name:?}")).into());
            }
        }
        for name in ["input_ids", "attention_mask"] {
            if !inputs.iter().any(|i| i == name) {
                return Err(interface(format!("no {name} input")).into());
            }
        }
        for name in ["query", "key"] {
            if !session.outputs().iter().any(|o| o.name() == name) {
                return Err(interface(format!("no {name} output")).into());
            }
        }
        let token_types = inputs.iter().any(|i| i == "token_type_ids");
        let none_margin = none_margin.unwrap_or(manifest.none_margin);
        let first_names = match &manifest.first_names {
            Some(file) => read_first_names(&dir.join(file), &path)?,
            None => HashMap::new(),
        };
        Ok(Self { name: manifest.name, precision, encoder, session: Mutex::new(session), token_types, none_margin, first_names })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key of the ONNX file that runs (`fp32`, `int8`).
    pub fn precision(&self) -> &str {
        &self.precision
    }
}

impl CorefScorer for OnnxCoref {
    fn encoder(&self) -> &SentenceEncoder {
        &self.encoder
    }

    fn vectors(&self, ids: &[u32]) -> Result<CorefVectors, TaggerError> {
        let n = ids.len();
        let input_ids = Array2::from_shape_fn((1, n), |(_, j)| i64::from(ids[j]));
        let mask = Array2::<i64>::ones((1, n));
        let types = Array2::<i64>::zeros((1, n));
        let mut session = self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut inputs = vec![
            ("input_ids", TensorRef::from_array_view(&input_ids).map_err(TaggerError::Inference)?),
            ("attention_mask", TensorRef::from_array_view(&mask).map_err(TaggerError::Inference)?),
        ];
        if self.token_types {
            inputs.push(("token_type_ids", TensorRef::from_array_view(&types).map_err(TaggerError::Inference)?));
        }
        let outputs = session.run(inputs).map_err(TaggerError::Inference)?;
        let take = |name: &str| -> Result<Array2<f32>, TaggerError> {
            let view = outputs[name].try_extract_array::<f32>().map_err(TaggerError::Inference)?;
            let view = view.into_dimensionality::<Ix3>().map_err(|_| TaggerError::Batch("coreference output is not [batch, seq, dim]"))?;
            Ok(view.index_axis(ndarray::Axis(0), 0).to_owned())
        };
        let (query, key) = (take("query")?, take("key")?);
        if query.dim() != key.dim() || query.nrows() != n || query.ncols() == 0 {
            return Err(TaggerError::Batch("coreference outputs query and key must both be [1, tokens, dim]"));
        }
        Ok(CorefVectors { query, key })
    }

    fn none_margin(&self) -> f32 {
        self.none_margin
    }

    fn first_name_gender(&self, first_name: &str) -> Option<Gender> {
        self.first_names.get(first_name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_names_file_is_read_and_a_bad_line_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let (file, manifest) = (dir.path().join("first_names.tsv"), dir.path().join("model.json"));
        std::fs::write(&file, "Anna\tf\nTom\tm\n\n").unwrap();
        let names = read_first_names(&file, &manifest).unwrap();
        assert_eq!((names.get("Anna"), names.get("Tom"), names.get("anna")), (Some(&Gender::Feminine), Some(&Gender::Masculine), None));
        std::fs::write(&file, "Anna\tf\nTom male\n").unwrap();
        let err = read_first_names(&file, &manifest).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("first_names.tsv"), "{err}");
    }
}
