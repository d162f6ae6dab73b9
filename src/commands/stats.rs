//! `kgx stats`: counts, most connected entities, components and runs of a
//! store (or the counts of a SPARQL endpoint it was pushed to).

use std::io::Write;

use clap::Args;
use kgx::query::ReadStore;
use kgx::store::runlog::RunLog;

use super::args::{ServerArgs, StoreArg};

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// Count what this SPARQL 1.1 endpoint holds (a store pushed there;
    /// its default graph the union of its graphs) instead of the store; no runs are listed.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// How many top entities to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

pub fn stats(args: &StatsArgs) -> anyhow::Result<()> {
    let (stats, runs) = match &args.endpoint {
        Some(url) => (kgx::stats::compute(&args.server.endpoint(url, None, None)?, args.top)?, Vec::new()),
        None => {
            let store = ReadStore::open(&args.store.store, "stats")?;
            (kgx::stats::compute(&store.store, args.top)?, RunLog::open(&store.dir)?.runs()?)
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    kgx::stats::print(&stats, &runs, &mut out)?;
    out.flush()?;
    Ok(())
}
