//! `kgx query`: a SPARQL query from a file, stdin or `-e`, on a store.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kgx::query::{run_query, QueryFormat, QueryOptions, ReadStore};

use super::args::{ChoiceParser, StoreArg};

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
    #[arg(long, value_parser = ChoiceParser::<QueryFormat>::new())]
    pub format: Option<QueryFormat>,
    /// Also print the evaluation plan with row counts (JSON) on stderr.
    #[arg(long)]
    pub explain: bool,
}

pub fn query(args: &QueryArgs) -> anyhow::Result<()> {
    let (text, source) = match (&args.expression, &args.file) {
        (Some(e), _) => (e.clone(), "-e".to_string()),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("cannot read the query from stdin")?;
            (s, "stdin".to_string())
        }
        (None, Some(f)) => {
            (std::fs::read_to_string(f).with_context(|| format!("cannot read query file {}", f.display()))?, f.display().to_string())
        }
        (None, None) => anyhow::bail!("give a query file or -e QUERY"),
    };
    let store = ReadStore::open(&args.store.store, "query")?;
    let stdout = std::io::stdout();
    // A table for people on a terminal, W3C TSV for programs.
    let select_default = if stdout.is_terminal() { QueryFormat::Table } else { QueryFormat::Tsv };
    let mut out = std::io::BufWriter::new(stdout.lock());
    run_query(&store, &text, &source, QueryOptions { format: args.format, select_default, explain: args.explain }, &mut out)?;
    out.flush()?;
    Ok(())
}
