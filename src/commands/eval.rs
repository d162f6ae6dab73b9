//! `kgx eval`: gather predictions (the model on the gold sentences, a store
//! or a file), score them against gold tuples, print the report.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use std::io::Write;

use kgx::eval::carb::{score, sentence_key, CarbScore};
use kgx::eval::{cesi, gap};
use kgx::eval::{
    predict, predictions_from_rows, print_report, read_extractions, read_gold, store_rows, write_carb_rows, GoldFormat, TupleShape,
};
use kgx::query::ReadStore;

use super::args::{ChoiceParser, ModelArgs};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Gold tuples: CaRB (`SENTENCE, RELATION, ARG1, ARG2...`) or OIE2016 (`SENTENCE, HEAD, PREDICATE, ARG1, ARG2...`), tab-separated.
    #[arg(long)]
    pub gold: PathBuf,
    /// Layout of the gold file.
    #[arg(long, value_parser = ChoiceParser::<GoldFormat>::new(), default_value = "carb")]
    pub format: GoldFormat,
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
    /// `--format gap`: write kgx's decisions here (`ID \t A-coref \t B-coref`, as GAP's scorer reads them);
    /// `--format cesi`: each element's cluster (`LINE \t PHRASE \t CLUSTER`).
    #[arg(long)]
    pub write_predictions: Option<PathBuf>,
}

/// Scores Open IE extractions (CaRB, OIE2016) or coreference (GAP).
pub fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    match args.format {
        GoldFormat::Gap => return eval_gap(args),
        GoldFormat::Cesi => return eval_cesi(args),
        GoldFormat::Carb | GoldFormat::Oie2016 => {}
    }
    eval_open_ie(args).map(drop)
}

/// GAP: the pipeline on each Text, the pronoun's entity against A and B.
fn eval_gap(args: &EvalArgs) -> anyhow::Result<()> {
    if args.extractions.is_some() || args.store.is_some() || args.write_extractions.is_some() {
        anyhow::bail!("--format gap runs the model on the GAP texts: --extractions, --store and --write-extractions do not apply");
    }
    let rows = gap::read_gap(&args.gold)?;
    let decisions = gap::predict(&args.model.load(false)?, &rows)?;
    if let Some(path) = &args.write_predictions {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?);
        gap::write_predictions(&rows, &decisions, &mut f)?;
        f.flush()?;
    }
    let s = gap::score(&rows, &decisions);
    gap::print_report(&args.gold.display().to_string(), &s, &mut std::io::stdout().lock())?;
    Ok(())
}

/// CESI: the entity index on each triple's subject phrase, in file order
/// and shuffled, against the gold entities; with two baselines.
fn eval_cesi(args: &EvalArgs) -> anyhow::Result<()> {
    if args.extractions.is_some() || args.store.is_some() || args.write_extractions.is_some() {
        anyhow::bail!("--format cesi clusters the file's subject phrases: --extractions, --store and --write-extractions do not apply");
    }
    let elements = cesi::read_cesi(&args.gold)?;
    let gold: Vec<String> = elements.iter().map(|e| e.gold.clone()).collect();
    let in_file_order = cesi::cluster(&elements, &(0..elements.len()).collect::<Vec<_>>()).context("entity index")?;
    let seed = 7_038_840;
    let in_shuffled_order = cesi::cluster(&elements, &cesi::shuffled(elements.len(), seed)).context("entity index")?;
    if in_file_order != in_shuffled_order {
        anyhow::bail!("the entity index gave different clusters in file order and in shuffled order (seed {seed}): a bug");
    }
    if let Some(path) = &args.write_predictions {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?);
        for (e, c) in elements.iter().zip(&in_file_order) {
            writeln!(f, "{}\t{}\t{c}", e.line, e.phrase.replace(['\t', '\n'], " "))?;
        }
        f.flush()?;
    }
    let rows = [
        ("every phrase alone", cesi::score(&cesi::singletons(&elements), &gold)),
        ("exact normalised", cesi::score(&cesi::exact_strings(&elements), &gold)),
        ("kgx entity index", cesi::score(&in_file_order, &gold)),
    ];
    let mut out = std::io::stdout().lock();
    cesi::print_report(&args.gold.display().to_string(), &elements, &rows, &mut out)?;
    writeln!(out, "file order and shuffled order (seed {seed}): identical clusters")?;
    Ok(())
}

fn eval_open_ie(args: &EvalArgs) -> anyhow::Result<CarbScore> {
    if args.write_predictions.is_some() {
        anyhow::bail!("--write-predictions is for --format gap; Open IE extractions go to --write-extractions");
    }
    let gold = read_gold(&args.gold, args.format)?;
    let (predictions, rows) = if let Some(path) = &args.extractions {
        (read_extractions(path)?, Vec::new())
    } else {
        let rows = match &args.store {
            Some(dir) => store_rows(&ReadStore::open(dir, "eval")?.store)?,
            None => predict(&args.model.load(false)?, &gold.sentences)?,
        };
        (predictions_from_rows(&rows), rows)
    };
    if let Some(path) = &args.write_extractions {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?);
        write_carb_rows(&rows, &mut f)?;
    }
    let s = score(&gold.tuples, &predictions);
    // The predicted shape counts the scored predictions only (those of gold sentences), as the report's header does.
    let gold_keys: std::collections::HashSet<String> = gold.tuples.keys().map(|s| sentence_key(s)).collect();
    let scored = predictions.iter().filter(|(sentence, _)| gold_keys.contains(&sentence_key(sentence)));
    let sentences = gold.tuples.len();
    let shapes = [
        ("predicted", TupleShape::of(sentences, scored.flat_map(|(_, ps)| ps).map(|p| &p.tuple))),
        ("gold", TupleShape::of(sentences, gold.tuples.values().flatten())),
    ];
    print_report(&args.gold.display().to_string(), &s, &shapes, &mut std::io::stdout().lock())?;
    Ok(s)
}
