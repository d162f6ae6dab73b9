//! `kgx merge`: shard stores -> one store, its entity graph rebuilt.

use std::path::PathBuf;

use clap::Args;
use kgx::store::merge::merge;

use super::args::StoreArg;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The store to merge into (created if missing).
    #[command(flatten)]
    pub store: StoreArg,
    /// Shard stores made by `kgx extract --shard I/N` (each read, never changed).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Base IRI of the data (as given to `kgx extract`).
    #[arg(long, default_value = kgx::store::vocab::DEFAULT_BASE)]
    pub base_iri: String,
    /// No summary.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &MergeArgs) -> anyhow::Result<()> {
    let s = merge(&args.store.store, &args.base_iri, &args.shards)?;
    if !args.quiet {
        eprintln!(
            "kgx: merged {} shard stores ({} documents, {} quads) into {}; entity graph: {} entities ({} names linked)",
            s.shards,
            s.documents,
            s.quads,
            args.store.store.display(),
            s.entities,
            s.linked
        );
    }
    Ok(())
}
