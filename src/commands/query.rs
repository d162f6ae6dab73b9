//! `kgx query`: a SPARQL query from a file, stdin or `-e`, on a store or a SPARQL endpoint.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kgx::query::{run_endpoint_query, run_query, QueryFormat, QueryOptions, ReadStore};

use super::args::{ChoiceParser, ServerArgs, StoreArg};

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
    /// Query this SPARQL 1.1 endpoint (its default graph must be the union
    /// of its graphs, as Virtuoso's is and `oxigraph serve
    /// --union-default-graph` makes it) instead of the store.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
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
    let stdout = std::io::stdout();
    // A table for people on a terminal, W3C TSV for programs.
    let select_default = if stdout.is_terminal() { QueryFormat::Table } else { QueryFormat::Tsv };
    let options = QueryOptions { format: args.format, select_default, explain: args.explain };
    let mut out = std::io::BufWriter::new(stdout.lock());
    match &args.endpoint {
        Some(url) => run_endpoint_query(&args.server.endpoint(url, None, None)?, &text, &source, options, &mut out)?,
        None => run_query(&ReadStore::open(&args.store.store, "query")?, &text, &source, options, &mut out)?,
    }
    out.flush()?;
    Ok(())
}
