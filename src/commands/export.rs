//! `kgx export`: the store as an RDF, GraphML, HTML or CaRB file (or stdout).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kgx::export::{write_export, ExportFormat, ExportOptions, Selection};
use kgx::query::ReadStore;

use super::args::{ChoiceParser, StoreArg};

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Output format: RDF (turtle and ntriples merge all graphs, nquads keeps
    /// them), the entity graph (graphml, html) or CaRB's TSV.
    #[arg(long, value_parser = ChoiceParser::<ExportFormat>::new())]
    pub format: ExportFormat,
    /// Output file (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// carb, graphml and html: only extractions whose confidence is at least this
    /// (RDF formats carry every extraction with its `kgx:confidence`).
    #[arg(long, value_parser = super::args::probability)]
    pub min_confidence: Option<f32>,
    /// graphml and html: only the N most connected entities (distinct
    /// neighbours) and the edges among them. Default for html: 500.
    #[arg(long, value_name = "N", conflicts_with = "query")]
    pub top: Option<usize>,
    /// graphml and html: only the nodes this SPARQL file's results name
    /// (a SELECT's IRIs, a CONSTRUCT's subjects and objects; an alias
    /// stands for its entity) and the edges among them.
    #[arg(long, value_name = "FILE.rq")]
    pub query: Option<PathBuf>,
    /// html: the page's title (default: the store's directory).
    #[arg(long)]
    pub title: Option<String>,
}

/// The HTML view's selection when none is given: a page people can read.
const HTML_DEFAULT_TOP: usize = 500;

pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let graph_format = matches!(args.format, ExportFormat::Graphml | ExportFormat::Html);
    if args.min_confidence.is_some() && !matches!(args.format, ExportFormat::Carb | ExportFormat::Graphml | ExportFormat::Html) {
        anyhow::bail!(
            "--min-confidence applies to --format carb, graphml and html; RDF exports keep every extraction with its \
             kgx:confidence (select by it with `kgx query`)"
        );
    }
    if !graph_format && (args.top.is_some() || args.query.is_some()) {
        anyhow::bail!("--top and --query select part of the entity graph: they apply to --format graphml and html");
    }
    if args.title.is_some() && args.format != ExportFormat::Html {
        anyhow::bail!("--title applies to --format html");
    }
    let selection = match (&args.query, args.top) {
        (Some(path), _) => Selection::Query {
            text: std::fs::read_to_string(path).with_context(|| format!("cannot read query file {}", path.display()))?,
            source_name: path.display().to_string(),
        },
        (None, Some(n)) => Selection::Top(n),
        (None, None) if args.format == ExportFormat::Html => Selection::Top(HTML_DEFAULT_TOP),
        (None, None) => Selection::All,
    };
    let options = ExportOptions {
        format: args.format,
        min_confidence: f64::from(args.min_confidence.unwrap_or(0.0)),
        selection,
        title: args.title.clone().unwrap_or_else(|| format!("kgx graph: {}", args.store.store.display())),
    };
    let store = ReadStore::open(&args.store.store, "export")?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write_export(&store.store, &options, &mut out)?;
    out.flush()?;
    Ok(())
}
