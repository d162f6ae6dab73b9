//! The `kgx eval` command: gather predictions, score them, print the report.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use super::carb::{score, CarbScore};
use super::{predictions_from_rows, print_report, read_extractions, read_gold, store_rows, write_carb_rows, CollectSink};
use crate::cli::EvalArgs;
use crate::extract::{load_model, LoadedModel};
use crate::pipeline::{self, PipelineOptions, Stages};
use crate::progress::Progress;
use crate::read::{InputFormat, ReadOptions};

pub fn eval(args: &EvalArgs) -> anyhow::Result<CarbScore> {
    let gold = read_gold(&args.gold, args.format)?;
    let (predictions, rows) = if let Some(path) = &args.extractions {
        (read_extractions(path)?, Vec::new())
    } else if let Some(dir) = &args.store {
        let store = crate::query::ReadStore::open(dir, "eval")?;
        let rows = store_rows(&store.store)?;
        (predictions_from_rows(&rows), rows)
    } else {
        let rows = run_model(args, &gold.sentences)?;
        (predictions_from_rows(&rows), rows)
    };
    if let Some(path) = &args.write_extractions {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?);
        write_carb_rows(&rows, &mut f)?;
    }
    let s = score(&gold.tuples, &predictions);
    print_report(&args.gold.display().to_string(), &s, &mut std::io::stdout().lock())?;
    Ok(s)
}

/// Tags every gold sentence (one a document, exactly as written) and returns CaRB rows.
fn run_model(args: &EvalArgs, sentences: &[String]) -> anyhow::Result<Vec<[String; 5]>> {
    let LoadedModel { manifest, encoder, taggers, marked_taggers, provider, roles, precision, head_threshold, on_gpu } = load_model(&args.model, false)?;
    eprintln!("kgx: model {} ({precision}) on {provider}", manifest.name);
    let dir = tempfile_dir()?;
    let input = dir.join("gold-sentences.txt");
    let lines: Vec<String> = sentences.iter().map(|s| s.replace(['\n', '\r'], " ")).collect();
    std::fs::write(&input, lines.join("\n")).with_context(|| format!("cannot write {}", input.display()))?;
    let mut sink = CollectSink::default();
    let progress = Progress::new(false, None);
    let stop = AtomicBool::new(false);
    let read = ReadOptions { format: InputFormat::Lines, ..ReadOptions::default() };
    let opts = PipelineOptions { read, ..PipelineOptions::for_device(on_gpu) };
    let labels = manifest.labels.len();
    let stages = Stages { encoder, taggers, marked_taggers, roles, labels, scheme: manifest.scheme, head_threshold, sink: &mut sink, progress: &progress, stop: &stop };
    pipeline::run(std::slice::from_ref(&input), &opts, stages)?;
    let _ = std::fs::remove_dir_all(&dir);
    // Document ids are `PATH:LINE`; key each row by the gold sentence as written.
    let by_line: HashMap<String, &String> = sentences.iter().enumerate().map(|(i, s)| (format!("{}:{}", input.display(), i + 1), s)).collect();
    Ok(sink
        .rows
        .into_iter()
        .filter_map(|(id, mut row)| {
            row[0] = by_line.get(&id)?.to_string();
            Some(row)
        })
        .collect())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kgx-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
