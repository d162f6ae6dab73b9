//! ONNX Runtime loading and session construction.
//!
//! Takes: an optional explicit library path, `ORT_DYLIB_PATH`, and the
//! places the set-up installs ONNX Runtime (the repository's `.venv` with
//! the `onnxruntime` wheel, `.ort-gpu` with the `onnxruntime-gpu` wheel).
//! Gives: the process-wide ORT environment and sessions built from
//! [`SessionOptions`] (device, threads, optimisation level).
//! Invariants: `Device::Cuda` never silently falls back to CPU; the
//! provider that actually runs is reported.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ort::ep;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use super::tagger::{LibraryError, TaggerError};

/// Where inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Auto,
    Cpu,
    Cuda,
}

crate::choice::choices!(Device {
    Auto => "auto", "CUDA when ONNX Runtime's CUDA provider loads, else CPU (says which on stderr)";
    Cpu => "cpu", "CPU only; never tries CUDA";
    Cuda => "cuda", "CUDA or a clear error; never falls back";
});

/// How a session is built.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub device: Device,
    /// Intra-op threads (0: ONNX Runtime's default, one per core).
    pub intra_threads: usize,
    pub optimization: GraphOptimizationLevel,
    /// Explicit ONNX Runtime library (overrides discovery and `ORT_DYLIB_PATH`).
    pub library: Option<PathBuf>,
    /// Let idle intra-op threads spin. Off by default: spinning threads take
    /// the cores that tokenization and storage need between batches.
    pub spinning: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self { device: Device::Auto, intra_threads: 0, optimization: GraphOptimizationLevel::All, library: None, spinning: false }
    }
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, LibraryError>> = OnceLock::new();

/// Loads ONNX Runtime once per process. A library that is not found or does
/// not load gives the same error on every call.
pub fn environment(opts: &SessionOptions) -> Result<&'static ort::environment::Environment, LibraryError> {
    let result = ENVIRONMENT.get_or_init(|| {
        let path = find_library(opts.library.as_deref(), opts.device != Device::Cpu)?;
        let load_error = |source: Arc<dyn std::error::Error + Send + Sync>| LibraryError::Load { path: path.display().to_string(), source };
        let builder = ort::init_from(&path).map_err(|e| load_error(Arc::new(e)))?;
        builder.with_name("kgx").build().map_err(|e| load_error(Arc::new(e)))
    });
    result.as_ref().map_err(LibraryError::clone)
}

/// Finds `libonnxruntime.so*`: explicit path, then `ORT_DYLIB_PATH`, then the
/// set-up's install locations near the executable and the working directory.
/// With `prefer_gpu`, a library with the CUDA provider beside it wins.
pub fn find_library(explicit: Option<&Path>, prefer_gpu: bool) -> Result<PathBuf, LibraryError> {
    if let Some(p) = explicit {
        return existing(p, "--ort-lib");
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return existing(Path::new(&p), "ORT_DYLIB_PATH");
    }
    let mut found = Vec::new();
    for root in search_roots() {
        for package_dir in package_dirs(&root) {
            if let Some(lib) = library_in(&package_dir.join("onnxruntime").join("capi")) {
                found.push(lib);
            }
        }
    }
    let has_cuda = |lib: &PathBuf| lib.parent().is_some_and(|d| d.join("libonnxruntime_providers_cuda.so").exists());
    let pick = if prefer_gpu {
        found.iter().find(|l| has_cuda(l)).or(found.first())
    } else {
        found.iter().find(|l| !has_cuda(l)).or(found.first())
    };
    pick.cloned().ok_or_else(|| {
        LibraryError::NotFound("run the set-up (`make setup`), or point ORT_DYLIB_PATH or --ort-lib at libonnxruntime.so".into())
    })
}

fn existing(p: &Path, what: &str) -> Result<PathBuf, LibraryError> {
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(LibraryError::NotFound(format!("{what} names {}, which is not a file", p.display())))
    }
}

/// Directories that may hold `.venv` / `.ort-gpu`: the executable's
/// ancestors (target/release/kgx -> repository), the working directory's
/// ancestors, and an active virtual environment.
fn search_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(4).map(Path::to_path_buf));
    }
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().take(4).map(Path::to_path_buf));
    }
    roots.dedup();
    roots
}

/// site-packages-like directories under a root.
fn package_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.join(".ort-gpu")];
    let mut venvs = vec![root.join(".venv")];
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(v));
    }
    for venv in venvs {
        if let Ok(entries) = std::fs::read_dir(venv.join("lib")) {
            let mut pythons: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            pythons.sort();
            dirs.extend(pythons.into_iter().map(|p| p.join("site-packages")));
        }
    }
    dirs
}

fn library_in(dir: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so")))
        .collect();
    libs.sort();
    libs.pop()
}

/// Builds a session for `model`: CPU, or CUDA (`Auto` is treated as CUDA;
/// the caller decides about falling back). Returns the session and the
/// name of the provider that runs it.
pub fn build_session(model: &Path, opts: &SessionOptions) -> Result<(Session, String), TaggerError> {
    let env = environment(opts)?;
    let mut builder = Session::builder(env).map_err(session_error(model))?;
    builder = builder.with_optimization_level(opts.optimization).map_err(session_error(model))?;
    builder = builder.with_intra_op_spinning(opts.spinning).map_err(session_error(model))?;
    if opts.intra_threads > 0 {
        builder = builder.with_intra_threads(opts.intra_threads).map_err(session_error(model))?;
    }
    let mut provider = "CPUExecutionProvider".to_string();
    if opts.device != Device::Cpu {
        let cuda = ep::CUDA::default().with_tf32(true).build().error_on_failure();
        builder = builder.with_execution_providers([cuda]).map_err(|e| TaggerError::CudaUnavailable(e.into()))?;
        provider = "CUDAExecutionProvider".to_string();
    }
    let session = builder.commit_from_file(model).map_err(session_error(model))?;
    Ok((session, provider))
}

/// A session builder's error for `model`, whichever builder step gave it.
fn session_error<R>(model: &Path) -> impl Fn(ort::Error<R>) -> TaggerError + '_
where
    ort::Error: From<ort::Error<R>>,
{
    move |e| TaggerError::Session { path: model.display().to_string(), source: e.into() }
}
