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
}

pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let store = ReadStore::open(&args.store.store, "export")?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write_rdf(&store.store, args.format, &mut out)?;
    out.flush()?;
    Ok(())
}
