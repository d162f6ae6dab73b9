//! `kgx export`: the store as an RDF or GraphML file (or stdout).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kgx::export::{write_rdf, ExportFormat};
use kgx::query::ReadStore;

use super::args::{ChoiceParser, StoreArg};

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Output format: RDF (turtle and ntriples merge all graphs, nquads keeps them) or GraphML.
    #[arg(long, value_parser = ChoiceParser::<ExportFormat>::new())]
    pub format: ExportFormat,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// carb and graphml: only extractions whose confidence is at least this
    /// (RDF formats carry every extraction with its `kgx:confidence`).
    #[arg(long, value_parser = super::args::probability)]
    pub min_confidence: Option<f32>,
}

pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    if args.min_confidence.is_some() && !matches!(args.format, ExportFormat::Carb | ExportFormat::Graphml) {
        anyhow::bail!(
            "--min-confidence applies to --format carb and graphml; RDF exports keep every extraction with its kgx:confidence \
             (select by it with `kgx query`)"
        );
    }
    let store = ReadStore::open(&args.store.store, "export")?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write_rdf(&store.store, args.format, f64::from(args.min_confidence.unwrap_or(0.0)), &mut out)?;
    out.flush()?;
    Ok(())
}
