//! The store alone: pre-tagged documents written into a fresh store, with
//! no model in the timing. `cargo bench --bench store_only [-- INPUT...]`.
//!
//! Tags the inputs once (default: `samples/` and, when present,
//! `../shared/data/wiki_sentences_v2.csv`; not timed), copies the tagged
//! documents under new ids until there are at least `KGX_BENCH_SENTENCES`
//! sentences (default 40,000), then writes them through [`StoreSink`] into
//! fresh stores, one commit a chunk: chunks of 512 sentences (the baseline:
//! `kgx extract` on CPU) and of 8,192 (on CUDA; `KGX_BENCH_CHUNKS=a,b` adds
//! other sizes), alternately, three rounds each; the entity graph's rebuild
//! at the end is included. Prints sentences/s and quads/s of each round, and
//! the medians' ratio to the baseline in the same process; then the ceiling:
//! the quads the CUDA configuration stored, already made, bulk-loaded alone
//! in commits of the same size (what the store could reach with free
//! quads and no run log). Run it under
//! `taskset -c 0` too: the rate on one core against two says how the store
//! scales with cores.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kgx::model::{Device, Model, ModelOptions};
use kgx::pipeline::read::{expand_inputs, FileDocuments, ReadOptions};
use kgx::pipeline::{self, ExtractedDocument, PipelineOptions, Sink, WriteStats};
use kgx::store::rdf::loader_layout;
use kgx::store::sink::{StoreOptions, StoreSink};
use kgx::store::RunInfo;
use oxigraph::model::Quad;
use oxigraph::store::Store;

/// Keeps every document the pipeline gives.
struct Collect(Vec<ExtractedDocument>);

impl Sink for Collect {
    type Error = std::convert::Infallible;

    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, Self::Error> {
        self.0.extend_from_slice(chunk);
        Ok(WriteStats { documents: chunk.len(), ..WriteStats::default() })
    }
}

fn run_info(i: usize) -> RunInfo {
    RunInfo {
        id: format!("bench-{i}"),
        started_at: kgx::timestamp::now_rfc3339(),
        model_name: "bench".into(),
        precision: "fp32".into(),
        device: "cpu".into(),
        provider: "none".into(),
        coreference: None,
    }
}

/// Writes `documents` into a fresh store; returns (seconds, quads stored,
/// commits); with `keep`, the stored quads are added to it.
fn write_all(documents: &[ExtractedDocument], chunk_sentences: usize, round: usize, keep: Option<&mut Vec<Quad>>) -> (f64, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let started = Instant::now();
    let (mut sink, _) = StoreSink::open(&store_dir, "https://kgx.invalid/", run_info(round), "bench", StoreOptions::default()).unwrap();
    let (mut chunk_start, mut sentences, mut commits) = (0, 0, 0);
    for (i, doc) in documents.iter().enumerate() {
        sentences += doc.sentence_count;
        if sentences >= chunk_sentences || i + 1 == documents.len() {
            sink.write(&documents[chunk_start..=i]).unwrap();
            (chunk_start, sentences, commits) = (i + 1, 0, commits + 1);
        }
    }
    sink.finish("completed", 0).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let quads = sink.quad_count().unwrap();
    drop(sink);
    if let Some(keep) = keep {
        let store = Store::open(store_dir.join("oxigraph")).unwrap();
        keep.extend(store.iter().map(Result::unwrap));
    }
    (seconds, quads, commits)
}

/// The ceiling: the same quads, already made, given to Oxigraph's bulk
/// loader in commits of `per_commit` quads, laid out as the store lays out
/// its commits ([`loader_layout`]), into a fresh store; returns seconds.
fn bulk_load_only(quads: &[Quad], per_commit: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let store = Store::open(dir.path().join("oxigraph")).unwrap();
    for commit in quads.chunks(per_commit.max(1)) {
        let (threads, megabytes) = loader_layout(commit.len(), cores);
        let mut loader = store.bulk_loader().with_num_threads(threads).with_max_memory_size_in_megabytes(megabytes);
        loader.load_quads(commit.iter().cloned()).unwrap();
        loader.commit().unwrap();
    }
    started.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut inputs: Vec<PathBuf> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).map(PathBuf::from).collect();
    if inputs.is_empty() {
        inputs.push(repo.join("samples"));
        let wiki = repo.join("../shared/data/wiki_sentences_v2.csv");
        if wiki.exists() {
            inputs.push(wiki);
        }
    }
    let target: usize = std::env::var("KGX_BENCH_SENTENCES").ok().and_then(|v| v.parse().ok()).unwrap_or(40_000);
    let model = Model::load(&ModelOptions { device: Device::Cpu, ..ModelOptions::default() }).expect("the shipped model loads");
    let documents = FileDocuments::new(expand_inputs(&inputs).expect("inputs"), ReadOptions::default());
    let mut tagged = Collect(Vec::new());
    let tagging = Instant::now();
    pipeline::run(documents, &model, &PipelineOptions::for_device(false), &mut tagged).expect("tagging");
    let tagging = tagging.elapsed();
    let originals = tagged.0;
    let per_copy: usize = originals.iter().map(|d| d.sentence_count).sum();
    let copies = target.div_ceil(per_copy.max(1));
    let documents: Vec<ExtractedDocument> = (0..copies)
        .flat_map(|k| {
            originals.iter().map(move |d| {
                let mut d = d.clone();
                d.document.id = format!("{}#{k}", d.document.id);
                d
            })
        })
        .collect();
    let sentences: usize = documents.iter().map(|d| d.sentence_count).sum();
    let triples: usize = documents.iter().map(ExtractedDocument::triple_count).sum();
    println!(
        "store_only: {} documents tagged in {:.1} s, copied {copies} times: {} documents, {sentences} sentences, {triples} triples",
        originals.len(),
        tagging.as_secs_f64(),
        documents.len()
    );
    let mut configs = vec![("chunks of 512 (baseline, CPU)".to_string(), 512), ("chunks of 8192 (CUDA)".to_string(), 8192)];
    if let Ok(extra) = std::env::var("KGX_BENCH_CHUNKS") {
        configs.extend(extra.split(',').filter_map(|c| c.trim().parse().ok()).map(|c: usize| (format!("chunks of {c}"), c)));
    }
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let (mut stored, mut cuda_commits) = (Vec::new(), 1);
    for round in 0..3 {
        for (c, (name, chunk_sentences)) in configs.iter().enumerate() {
            let chunk_sentences = *chunk_sentences;
            let keep = (round == 0 && c == 1).then_some(&mut stored);
            let (seconds, quads, commits) = write_all(&documents, chunk_sentences, round * 10 + c, keep);
            if c == 1 {
                cuda_commits = commits;
            }
            let rate = sentences as f64 / seconds;
            rates[c].push(rate);
            println!("round {round} {name:<30} {seconds:6.2} s  {rate:8.0} sentences/s  {:9.0} quads/s", quads as f64 / seconds);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let baseline = median(rates[0].clone());
    for (c, (name, _)) in configs.iter().enumerate() {
        let m = median(rates[c].clone());
        println!("median {name:<30} {m:8.0} sentences/s  ratio to baseline {:.2}", m / baseline);
    }
    // How near the CUDA configuration comes to the loader's own rate.
    let per_commit = stored.len().div_ceil(cuda_commits);
    let loads: Vec<f64> = (0..3).map(|_| bulk_load_only(&stored, per_commit)).collect();
    let ceiling = stored.len() as f64 / median(loads.clone());
    let quads_a_sentence = stored.len() as f64 / sentences as f64;
    let ceiling_sentences = ceiling / quads_a_sentence;
    println!(
        "ceiling: Oxigraph's bulk loader alone, the same {} quads already made, commits of {per_commit}: \
         rounds {} s, median {ceiling:.0} quads/s = {ceiling_sentences:.0} sentences/s at this corpus's \
         {quads_a_sentence:.1} quads a sentence; the CUDA configuration reaches {:.2} of it",
        stored.len(),
        loads.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(", "),
        median(rates[1].clone()) / ceiling_sentences,
    );
}
