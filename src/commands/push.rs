//! `kgx push`: a store's graphs -> a SPARQL 1.1 server, only what changed.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::builder::TypedValueParser;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kgx::query::ReadStore;
use kgx::remote::push::{push, GraphSelection, PushMethod, PushOptions, PushStats};
use kgx::store::pushlog::PushLog;
use kgx::store::runlog::RunLog;
use oxigraph::model::NamedOrBlankNode;

use super::args::{ChoiceParser, ServerArgs, StoreArg};

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// The server's SPARQL query URL (Oxigraph: http://HOST:7878/query;
    /// Virtuoso: http://HOST:8890/sparql, or /sparql-auth with digest credentials).
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    /// The update URL (default: `.../query` -> `.../update`, else the endpoint itself).
    #[arg(long, value_name = "URL")]
    pub update_endpoint: Option<String>,
    /// The Graph Store Protocol URL (default: `.../query` -> `.../store`,
    /// Virtuoso's `.../sparql` -> `.../sparql-graph-crud`, `.../sparql-auth`
    /// -> `.../sparql-graph-crud-auth`, else the endpoint itself).
    #[arg(long, value_name = "URL")]
    pub graph_store: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// How graphs are replaced on the server (bench/push.sh measures both).
    #[arg(long, value_parser = ChoiceParser::<PushMethod>::new(), default_value = "auto")]
    pub method: PushMethod,
    /// Requests in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64).map(usize::from))]
    pub jobs: usize,
    /// update: N-Triples kilobytes gathered into one request.
    #[arg(long, value_name = "KB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..).map(|k| k as usize))]
    pub batch_kb: usize,
    /// A graph larger than this many megabytes of N-Triples is sent in parts of that size
    /// (the first replaces the graph, the others add to it).
    #[arg(long, value_name = "MB", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..).map(|m| m as usize))]
    pub part_mb: usize,
    /// Which graphs to push (and to delete from the server when gone from the store).
    #[arg(long, value_parser = ChoiceParser::<GraphSelection>::new(), default_value = "all")]
    pub graphs: GraphSelection,
    /// Base IRI of the data (as given to `kgx extract`): names the entity graph.
    #[arg(long, default_value = kgx::store::vocab::DEFAULT_BASE)]
    pub base_iri: String,
    /// Send every graph, whatever the push log says the server holds
    /// (after the server lost data or was changed by hand).
    #[arg(long)]
    pub all: bool,
    /// Count what would be sent and deleted; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar, no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &PushArgs) -> anyhow::Result<()> {
    let endpoint = args.server.endpoint(&args.endpoint, args.update_endpoint.as_deref(), args.graph_store.as_deref())?;
    let store = ReadStore::open_exclusive(&args.store.store, "push")?;
    let runlog = RunLog::open(&store.dir)?;
    let log = PushLog::new(runlog.connection(), &endpoint.query_url)?;
    let options = PushOptions {
        method: args.method,
        jobs: args.jobs,
        batch_bytes: args.batch_kb << 10,
        part_bytes: args.part_mb << 20,
        resend_all: args.all,
        dry_run: args.dry_run,
        graphs: args.graphs,
        entity_graph: kgx::store::vocab::Iris::new(&args.base_iri).entity_graph(),
    };
    let selected = |g: &Result<NamedOrBlankNode, _>| matches!(g, Ok(NamedOrBlankNode::NamedNode(n)) if options.selects(n.as_str()));
    let total = store.store.named_graphs().filter(selected).count() as u64;
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:30} {pos}/{len} graphs {msg} ETA {eta}");
        bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let started = Instant::now();
    let mut report = |s: &PushStats| {
        if let Some(bar) = &bar {
            bar.set_position(s.sent + s.unchanged);
            bar.set_message(format!("({} sent, {} unchanged, {} quads)", s.sent, s.unchanged, s.quads));
        }
    };
    let result = push(&store.store, &log, &endpoint, &options, &mut report);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let s = result?;
    if !args.quiet {
        let seconds = started.elapsed().as_secs_f64();
        let (verb, deleted) = if args.dry_run { ("would send", "to delete") } else { ("sent", "deleted") };
        eprintln!(
            "kgx: {verb} {} of {} graphs ({} quads, {:.1} MB in {} requests) to {} in {seconds:.1} s ({:.0} quads/s); {} unchanged, {} \
             {deleted}",
            s.sent,
            s.graphs,
            s.quads,
            s.bytes as f64 / 1e6,
            s.requests,
            endpoint.query_url,
            s.quads as f64 / seconds.max(1e-9),
            s.unchanged,
            s.deleted
        );
    }
    Ok(())
}
