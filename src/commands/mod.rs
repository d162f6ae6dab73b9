//! The `kgx` commands: flags (clap derive; the doc comments are the
//! `--help` text) -> the library's options structs -> library calls. The
//! only place, with `main.rs`, that knows about clap.

pub mod args;
pub mod eval;
pub mod export;
pub mod extract;
pub mod merge;
mod progress;
pub mod push;
pub mod query;
pub mod stats;

use clap::{Parser, Subcommand};
use kgx::exit;

/// kgx turns English text into a knowledge graph: a transformer tags each
/// sentence's source, relation and target; the triples, with their
/// provenance, go into an embedded RDF store you can query with SPARQL.
#[derive(Debug, Parser)]
#[command(name = "kgx", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract triples from text into the store.
    Extract(extract::ExtractArgs),
    /// Run a SPARQL query on the store.
    Query(query::QueryArgs),
    /// Write the store as Turtle, N-Triples, N-Quads, GraphML, an HTML page that draws it, or CaRB's TSV.
    Export(export::ExportArgs),
    /// Score extractions against gold Open IE tuples (CaRB's matching).
    Eval(eval::EvalArgs),
    /// Counts, most connected entities, components and runs of a store.
    Stats(stats::StatsArgs),
    /// Merge the stores of `kgx extract --shard I/N` into one and rebuild its entity graph.
    Merge(merge::MergeArgs),
    /// Send the store's graphs to a SPARQL 1.1 server, replacing each; a repeated push sends only what changed.
    Push(push::PushArgs),
}

/// Runs a command; its exit code when it finished (see `kgx::exit`).
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Extract(args) => {
            let outcome = extract::extract(&args)?;
            Ok(if outcome.interrupted {
                exit::INTERRUPTED
            } else if outcome.stats.failed > 0 {
                exit::DOCUMENTS_FAILED
            } else {
                exit::OK
            })
        }
        Command::Query(args) => query::query(&args).map(|()| exit::OK),
        Command::Export(args) => export::export(&args).map(|()| exit::OK),
        Command::Stats(args) => stats::stats(&args).map(|()| exit::OK),
        Command::Eval(args) => eval::eval(&args).map(|_| exit::OK),
        Command::Merge(args) => merge::run(&args).map(|()| exit::OK),
        Command::Push(args) => push::run(&args).map(|()| exit::OK),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn choice_flags_list_their_values_and_refuse_others() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from(["kgx", "extract", "--precision", "fp32-opt", "--input-format", "lines", "x.txt"]).unwrap();
        let super::Command::Extract(args) = cli.command else { panic!("extract") };
        assert_eq!((args.model.precision, args.input_format), (kgx::model::Precision::Fp32Opt, kgx::pipeline::read::InputFormat::Lines));
        let err = super::Cli::try_parse_from(["kgx", "extract", "--device", "tpu", "x.txt"]).unwrap_err().to_string();
        assert!(err.contains("possible values: auto, cpu, cuda"), "{err}");
    }
}
