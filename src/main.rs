//! The `kgx` binary: parse arguments, run a command, map the outcome to an
//! exit code (see `kgx::exit`). A closed stdout (`kgx query ... | head`)
//! is success.

use std::io::{Read, Write};

use anyhow::Context;
use clap::Parser;
use kgx::cli::{Cli, Command, ExportArgs, QueryArgs, StatsArgs};
use kgx::exit;

fn main() {
    kgx::memory::tune_malloc();
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => exit::OK,
        Err(e) => {
            eprintln!("kgx: error: {e:#}");
            kgx::exit_code(&e)
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Extract(args) => {
            let outcome = kgx::extract::extract(&args)?;
            Ok(if outcome.interrupted {
                exit::INTERRUPTED
            } else if outcome.stats.failed > 0 {
                exit::DOCUMENTS_FAILED
            } else {
                exit::OK
            })
        }
        Command::Query(args) => query(&args).map(|()| exit::OK),
        Command::Export(args) => export(&args).map(|()| exit::OK),
        Command::Stats(args) => stats(&args).map(|()| exit::OK),
        Command::Eval(args) => kgx::eval::command::eval(&args).map(|_| exit::OK),
    }
}

fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let store = kgx::query::ReadStore::open(&args.store.store, "export")?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    kgx::export::write_rdf(&store.store, args.format, &mut out)?;
    out.flush()?;
    Ok(())
}

fn stats(args: &StatsArgs) -> anyhow::Result<()> {
    let store = kgx::query::ReadStore::open(&args.store.store, "stats")?;
    let stats = kgx::stats::compute(&store.store, args.top)?;
    let runs = kgx::store::runlog::RunLog::open(&store.dir)?.runs()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    kgx::stats::print(&stats, &runs, &mut out)?;
    out.flush()?;
    Ok(())
}

fn query(args: &QueryArgs) -> anyhow::Result<()> {
    let (text, source) = match (&args.expression, &args.file) {
        (Some(e), _) => (e.clone(), "-e".to_string()),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("cannot read the query from stdin")?;
            (s, "stdin".to_string())
        }
        (None, Some(f)) => (std::fs::read_to_string(f).with_context(|| format!("cannot read query file {}", f.display()))?, f.display().to_string()),
        (None, None) => anyhow::bail!("give a query file or -e QUERY"),
    };
    let store = kgx::query::ReadStore::open(&args.store.store, "query")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    kgx::query::run_query(&store, &text, &source, args.format, args.explain, &mut out)?;
    out.flush()?;
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
