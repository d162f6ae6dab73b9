//! The `kgx` binary: parse arguments, run a command, map the outcome to an
//! exit code (see `kgx::exit`). A closed stdout (`kgx query ... | head`)
//! is success.

mod commands;

use clap::Parser;
use kgx::exit;

fn main() {
    kgx::memory::tune_malloc();
    let cli = commands::Cli::parse();
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => exit::OK,
        Err(e) => {
            eprintln!("kgx: error: {e:#}");
            kgx::exit_code(&e)
        }
    };
    std::process::exit(code);
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
