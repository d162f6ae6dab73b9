//! `kgx stats`: counts, most connected entities, components and runs of a store.

use std::io::Write;

use clap::Args;
use kgx::query::ReadStore;
use kgx::store::runlog::RunLog;

use super::args::StoreArg;

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// How many top entities to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

pub fn stats(args: &StatsArgs) -> anyhow::Result<()> {
    let store = ReadStore::open(&args.store.store, "stats")?;
    let stats = kgx::stats::compute(&store.store, args.top)?;
    let runs = RunLog::open(&store.dir)?.runs()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    kgx::stats::print(&stats, &runs, &mut out)?;
    out.flush()?;
    Ok(())
}
