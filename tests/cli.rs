//! One integration-test binary that runs the real `kgx` executable on the
//! shipped samples with the real model (built by `make model`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "cli/endpoints.rs"]
mod endpoints;
#[path = "cli/entities.rs"]
mod entities;
#[path = "cli/servers.rs"]
mod servers;
#[path = "cli/views.rs"]
mod views;

/// The model `kgx` runs when none is named.
const DEFAULT_MODEL: &str = kgx::model::DEFAULT_MODEL;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kgx() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kgx"));
    c.current_dir(repo()).env_remove("KGX_STORE").env_remove("KGX_MODEL").env_remove("ORT_DYLIB_PATH");
    c
}

fn run(args: &[&str]) -> Output {
    kgx().args(args).output().expect("kgx runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn extract(store: &Path, inputs: &[&str], extra: &[&str]) -> Output {
    let mut args = vec!["extract", "--quiet", "--device", "cpu", "--store", store.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(inputs);
    run(&args)
}

/// Runs a SELECT and returns the CSV rows (header dropped).
fn select(store: &Path, query: &str) -> Vec<Vec<String>> {
    let o = run(&["query", "--store", store.to_str().unwrap(), "--format", "csv", "-e", query]);
    assert!(o.status.success(), "query failed: {}", stderr(&o));
    let mut reader = csv::ReaderBuilder::new().from_reader(o.stdout.as_slice());
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

fn count(store: &Path, query: &str) -> usize {
    select(store, query)[0][0].parse().unwrap()
}

/// Writes `(id, text)` documents as JSON Lines.
fn write_jsonl(path: &Path, documents: &[(&str, &str)]) {
    let lines: Vec<String> = documents.iter().map(|(id, text)| serde_json::json!({ "id": id, "text": text }).to_string() + "\n").collect();
    std::fs::write(path, lines.concat()).unwrap();
}

/// `docs.jsonl` under `dir` with documents `a` (Curie) and `b` (Spielberg).
fn two_documents(dir: &Path) -> PathBuf {
    let corpus = dir.join("docs.jsonl");
    write_jsonl(&corpus, &[("a", "Marie Curie discovered polonium in 1898."), ("b", "The film was directed by Steven Spielberg.")]);
    corpus
}

const ALL_QUADS: &str = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }";

#[test]
fn sample_corpus_gives_triples_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = extract(&store, &["samples/wiki_films.csv"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let extractions = count(&store, "SELECT (COUNT(?x) AS ?n) WHERE { ?x a kgx:Extraction }");
    assert!(extractions >= 150, "only {extractions} extractions from 300 sentences");
    // Every extraction has its full provenance, and offsets point into its sentence.
    let rows = select(
        &store,
        "SELECT ?text ?ss ?se ?rs ?re ?ts ?te ?c ?doc ?run ?model WHERE {
           ?x a kgx:Extraction ; kgx:sentence ?s ; kgx:confidence ?c ; prov:wasGeneratedBy ?run ;
              kgx:sourceStart ?ss ; kgx:sourceEnd ?se ; kgx:relationStart ?rs ; kgx:relationEnd ?re ;
              kgx:targetStart ?ts ; kgx:targetEnd ?te ; prov:generatedAtTime ?time .
           ?s kgx:text ?text ; kgx:document ?d . ?d kgx:documentId ?doc .
           ?run prov:used ?m . ?m rdfs:label ?model }",
    );
    assert_eq!(rows.len(), extractions);
    for r in &rows {
        let chars = r[0].chars().count();
        let offsets: Vec<usize> = r[1..7].iter().map(|v| v.parse().unwrap()).collect();
        for pair in offsets.chunks(2) {
            assert!(pair[0] < pair[1] && pair[1] <= chars, "bad span {pair:?} in {:?}", r[0]);
        }
        let c: f64 = r[7].parse().unwrap();
        assert!((0.0..=1.0).contains(&c));
        assert!(r[8].starts_with("samples/wiki_films.csv:"), "{}", r[8]);
        assert_eq!(r[10], DEFAULT_MODEL.trim_start_matches("models/"));
    }
    // The run also names the coreference model it linked pronouns with, at the
    // precision its manifest sets for the CPU (int8 when the build kept it).
    let coref: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("models/kgx-coref-minilm/model.json").unwrap()).unwrap();
    let used = select(
        &store,
        "SELECT ?name ?precision WHERE { ?run a kgx:Run ; kgx:coreferenceModel ?m . ?m rdfs:label ?name ; kgx:precision ?precision }",
    );
    assert_eq!(used, [vec!["kgx-coref-minilm".to_string(), coref["cpu_default"].as_str().unwrap().to_string()]]);
}

/// Pins what the shipped model extracts from three sample sentences, every
/// triple of each, in relation order (update together with the model): the
/// surface spans, and the relation each names (its node's label).
#[test]
fn specific_sample_sentences_give_specific_triples() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/wiki_films.csv"], &[]).status.success());
    type Pinned = (&'static str, &'static str, &'static str, &'static str, [usize; 6]);
    let expected: [(&str, &[Pinned]); 3] = [
        ("samples/wiki_films.csv:256", &[("the latter film", "spawned", "spawn", "a sequel: 28 weeks later", [0, 15, 16, 23, 24, 48])]),
        // Two predicates, two triples: the predicate-indexed model's point. A
        // preposition opening the target joins the relation.
        (
            "samples/wiki_films.csv:1",
            &[
                ("connie", "decides to", "decide to", "leave on her own", [25, 31, 32, 42, 43, 59]),
                ("connie", "leave on", "leave on", "her own", [25, 31, 43, 51, 52, 59]),
            ],
        ),
        ("samples/wiki_films.csv:4", &[("the temple", "set on", "be set on", "fire", [0, 10, 14, 20, 21, 25])]),
    ];
    for (doc, triples) in expected {
        let rows = select(
            &store,
            &format!(
                "SELECT DISTINCT ?sl ?rl ?tl ?ss ?se ?rs ?re ?ts ?te ?c ?text WHERE {{
                   ?d kgx:documentId \"{doc}\" . ?s kgx:document ?d ; kgx:text ?text .
                   ?x kgx:sentence ?s ; rdf:subject ?su ; rdf:predicate ?r ; rdf:object ?t ; kgx:confidence ?c ;
                      kgx:sourceStart ?ss ; kgx:sourceEnd ?se ; kgx:relationStart ?rs ; kgx:relationEnd ?re ;
                      kgx:targetStart ?ts ; kgx:targetEnd ?te .
                   ?su rdfs:label ?sl . ?r rdfs:label ?rl . ?t rdfs:label ?tl .
                   ?su ?r ?t }} ORDER BY ?rs"
            ),
        );
        assert_eq!(rows.len(), triples.len(), "{doc}: {rows:?}");
        for (r, &(source, relation, label, target, offsets)) in rows.iter().zip(triples) {
            assert_eq!((r[0].as_str(), r[1].as_str(), r[2].as_str()), (source, label, target), "{doc}");
            let got: Vec<usize> = r[3..9].iter().map(|v| v.parse().unwrap()).collect();
            assert_eq!(got, offsets, "{doc}");
            let sentence: Vec<char> = r[10].chars().collect();
            assert_eq!(sentence[offsets[0]..offsets[1]].iter().collect::<String>(), source);
            assert_eq!(sentence[offsets[2]..offsets[3]].iter().collect::<String>(), relation);
            assert!(r[9].parse::<f64>().unwrap() > 0.5, "{doc}: confidence {}", r[9]);
        }
    }
}

#[test]
fn second_run_adds_nothing_and_changed_document_replaces_its_extractions() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let corpus = two_documents(dir.path());
    let c = corpus.to_str().unwrap();
    assert!(extract(&store, &[c], &[]).status.success());
    let first = count(&store, ALL_QUADS);
    let o = extract(&store, &[c], &[]);
    assert!(o.status.success());
    assert_eq!(count(&store, ALL_QUADS), first, "a second run must add nothing");
    write_jsonl(
        &corpus,
        &[("a", "Albert Einstein developed the theory of relativity."), ("b", "The film was directed by Steven Spielberg.")],
    );
    assert!(extract(&store, &[c], &[]).status.success());
    let texts = select(&store, "SELECT ?t WHERE { ?s kgx:text ?t ; kgx:document ?d . ?d kgx:documentId \"a\" }");
    assert!(texts.iter().all(|r| !r[0].contains("Curie")), "old extractions of a changed document must go: {texts:?}");
    let docs = count(&store, "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a kgx:Document }");
    assert_eq!(docs, 2);
}

/// The run log is written after the RDF commit and is what the skip check
/// asks first: a run killed between the two commits leaves documents the
/// store holds but the log does not list. The next run must replace them
/// (same content, same extractions), not add a second copy.
#[test]
fn document_stored_but_missing_from_the_run_log_is_replaced_not_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let corpus = two_documents(dir.path());
    let c = corpus.to_str().unwrap();
    assert!(extract(&store, &[c], &[]).status.success());
    let extractions = "SELECT (COUNT(*) AS ?n) WHERE { ?x a kgx:Extraction }";
    let first = count(&store, extractions);
    assert!(first > 0);
    let log = rusqlite::Connection::open(store.join("runlog.sqlite")).unwrap();
    assert_eq!(log.execute("DELETE FROM documents", []).unwrap(), 2);
    drop(log);
    let o = extract(&store, &[c], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(count(&store, extractions), first, "replaced, not duplicated");
    assert_eq!(count(&store, "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a kgx:Document }"), 2);
    let last_run = |store: &Path| -> (i64, i64) {
        let log = rusqlite::Connection::open(store.join("runlog.sqlite")).unwrap();
        log.query_row("SELECT documents, skipped FROM runs ORDER BY rowid DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
    };
    assert_eq!(last_run(&store), (2, 0), "both re-extracted");
    assert!(extract(&store, &[c], &[]).status.success());
    assert_eq!(last_run(&store), (0, 2), "listed again, so skipped");
}

#[test]
fn same_text_under_two_ids_is_two_documents() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let corpus = dir.path().join("docs.jsonl");
    write_jsonl(&corpus, &[("x", "Paris is the capital of France."), ("y", "Paris is the capital of France.")]);
    assert!(extract(&store, &[corpus.to_str().unwrap()], &[]).status.success());
    assert_eq!(count(&store, "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a kgx:Document }"), 2);
}

#[test]
fn device_cuda_without_gpu_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = run(&["extract", "--quiet", "--device", "cuda", "--store", store.to_str().unwrap(), "samples/oie2016_dev_excerpt.txt"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("CUDA"), "{}", stderr(&o));
    assert!(!store.join("oxigraph").exists(), "a failed start must not create a store");
}

#[test]
fn bad_document_is_reported_and_the_rest_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    std::fs::write(corpus.join("good.txt"), "The company acquired a small startup in Berlin.").unwrap();
    std::fs::write(corpus.join("latin1.txt"), b"caf\xe9 au lait was served.").unwrap();
    std::fs::write(corpus.join("binary.txt"), b"\x7fELF\x00\x01\x02").unwrap();
    let o = extract(&store, &[corpus.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("latin1.txt: invalid UTF-8"), "{err}");
    assert!(err.contains("binary.txt: contains NUL bytes"), "{err}");
    assert_eq!(count(&store, "SELECT (COUNT(?d) AS ?n) WHERE { ?d a kgx:Document }"), 1);
}

#[test]
fn long_sentence_is_tagged_in_windows_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let words: Vec<String> = (0..1500).map(|i| format!("w{i}")).collect();
    let text = format!("The director praised the actors and {} .", words.join(" and "));
    let input = dir.path().join("long.txt");
    std::fs::write(&input, &text).unwrap();
    let o = extract(&store, &[input.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Whatever was found has offsets inside the (single, long) sentence.
    for r in select(&store, "SELECT ?te WHERE { ?x kgx:targetEnd ?te }") {
        assert!(r[0].parse::<usize>().unwrap() <= text.chars().count());
    }
}

/// Model work of a dry run: (tokens tagged, tokens read by marked passes), from the summary.
fn model_work(input: &Path, extra: &[&str]) -> (usize, usize) {
    let mut args = vec!["extract", "--dry-run", "--device", "cpu"];
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let line = err.lines().find(|l| l.starts_with("kgx: model work:")).unwrap_or_else(|| panic!("no model work line: {err}"));
    let numbers: Vec<usize> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (numbers[0], numbers[1])
}

/// Words of a file, as whitespace splits them.
fn word_count(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().split_whitespace().count()
}

/// Regression: in a run-on line (no sentence punctuation) every predicate
/// got a marked pass over a whole 256-token window, so a word of it cost
/// about 30 times a word of ordinary text. Bounded by work (tokens the
/// model reads), not time.
#[test]
fn a_run_on_line_costs_per_word_at_most_twice_what_ordinary_text_costs() {
    let dir = tempfile::tempdir().unwrap();
    let ordinary = repo().join("samples/oie2016_dev_excerpt.txt");
    let run_on = dir.path().join("run-on.txt");
    std::fs::write(&run_on, "Carol met Dave in Paris and ".repeat(1000)).unwrap();
    let per_word = |path: &Path| {
        let (tagged, marked) = model_work(path, &[]);
        (tagged + marked) as f64 / word_count(path) as f64
    };
    let (usual, long) = (per_word(&ordinary), per_word(&run_on));
    assert!(long <= 2.0 * usual, "a run-on word costs {long:.1} tokens of model work, an ordinary one {usual:.1}");
}

/// A 1 MB line with no sentence end (OCR, transcripts) is tagged in time
/// linear in its length: its model work per word stays within the bound above.
#[test]
fn a_one_megabyte_line_finishes_with_bounded_work() {
    let dir = tempfile::tempdir().unwrap();
    let line = dir.path().join("line.txt");
    let unit = "Carol met Dave in Paris and ";
    std::fs::write(&line, unit.repeat((1 << 20) / unit.len())).unwrap();
    let (tagged, marked) = model_work(&line, &["--threads", "2"]);
    let words = word_count(&line);
    assert!(tagged <= 2 * words, "{tagged} tokens tagged for {words} words");
    assert!(marked <= 10 * words, "{marked} tokens read by marked passes for {words} words");
}

/// `--min-confidence` keeps only surer triples, at extraction and at export.
#[test]
fn min_confidence_filters_extraction_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let (all, sure) = (dir.path().join("all"), dir.path().join("sure"));
    let input = "samples/oie2016_dev_excerpt.txt";
    assert!(extract(&all, &[input], &[]).status.success());
    assert!(extract(&sure, &[input], &["--min-confidence", "0.9"]).status.success());
    let q = "SELECT (COUNT(?x) AS ?n) (MIN(?c) AS ?low) WHERE { ?x a kgx:Extraction ; kgx:confidence ?c }";
    let (a, b) = (select(&all, q), select(&sure, q));
    let n = |r: &[Vec<String>]| r[0][0].parse::<usize>().unwrap();
    assert!(0 < n(&b) && n(&b) < n(&a), "{a:?} {b:?}");
    assert!(b[0][1].parse::<f64>().unwrap() >= 0.9, "{b:?}");
    let carb = |extra: &[&str]| {
        let mut args = vec!["export", "--store", all.to_str().unwrap(), "--format", "carb"];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().map(str::to_string).collect::<Vec<_>>()
    };
    let (every, filtered) = (carb(&[]), carb(&["--min-confidence", "0.9"]));
    assert_eq!(filtered.len(), n(&b), "the store filtered at 0.9 and the export filtered at 0.9 agree");
    assert!(filtered.iter().all(|l| l.split('\t').nth(1).unwrap().parse::<f64>().unwrap() >= 0.9) && every.len() > filtered.len());
    let o = run(&["export", "--store", all.to_str().unwrap(), "--format", "turtle", "--min-confidence", "0.9"]);
    assert!(!o.status.success() && stderr(&o).contains("--min-confidence applies to"), "{}", stderr(&o));
    let o = run(&["extract", "--dry-run", "--min-confidence", "1.5", input]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn second_writer_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut first = kgx()
        .args(["extract", "--quiet", "--device", "cpu", "--input-format", "lines", "--store", store.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = store.join("kgx.lock");
    for _ in 0..600 {
        if std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = extract(&store, &["samples/oie2016_dev_excerpt.txt"], &[]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("pid {}", first.id())), "{}", stderr(&o));
    // Reads go on, from the state the run published (tests/cli/views.rs).
    let q = run(&["query", "--store", store.to_str().unwrap(), "-e", "ASK {}"]);
    assert!(q.status.success() && stderr(&q).contains("reading the state it committed"), "{}", stderr(&q));
    first.stdin.take().unwrap().write_all(b"Sony released the film in Japan.\n").unwrap();
    assert!(first.wait().unwrap().success());
}

#[test]
fn query_errors_have_distinct_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = run(&["query", "--store", dir.path().join("nope").to_str().unwrap(), "-e", "ASK {}"]);
    assert_eq!(missing.status.code(), Some(5));
    assert!(stderr(&missing).contains("does not exist"), "{}", stderr(&missing));
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/oie2016_dev_excerpt.txt"], &[]).status.success());
    let bad = run(&["query", "--store", store.to_str().unwrap(), "-e", "SELECT ?x WHERE {\n  ?x ?y \n"]);
    assert_eq!(bad.status.code(), Some(6));
    assert!(stderr(&bad).contains("line 3, column 1"), "{}", stderr(&bad));
}

#[test]
fn text_documents_are_split_at_sentences_not_abbreviations() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/oie2016_dev_excerpt.txt"], &[]).status.success());
    let n = count(&store, "SELECT ?n WHERE { ?d kgx:documentId \"samples/oie2016_dev_excerpt.txt\" ; kgx:sentenceCount ?n }");
    assert_eq!(n, 30, "the excerpt holds 30 sentences");
}

#[test]
fn relations_query_runs_on_the_sample_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/wiki_films.csv"], &[]).status.success());
    let o = run(&["query", "--store", store.to_str().unwrap(), "--format", "table", "queries/relations.rq"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("relation"), "{out}");
    assert!(out.lines().count() > 5, "{out}");
}

fn export(store: &Path, format: &str, out: &Path) {
    let o = run(&["export", "--store", store.to_str().unwrap(), "--format", format, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "export {format}: {}", stderr(&o));
}

/// Sorted, de-duplicated N-Quads lines of a store loaded from `file`.
fn load_and_dump(file: &Path, format: oxigraph::io::RdfFormat) -> Vec<String> {
    let store = oxigraph::store::Store::new().unwrap();
    store.load_from_reader(format, std::fs::File::open(file).unwrap()).unwrap();
    let mut lines: Vec<String> = store.iter().map(|q| format!("{} .", q.unwrap())).collect();
    lines.sort();
    lines.dedup();
    lines
}

#[test]
fn exports_round_trip_and_open_in_graph_tools() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/wiki_films.csv", "samples/oie2016_dev_excerpt.txt", "samples/wiki_people.jsonl"], &[])
        .status
        .success());
    let (ttl, nt, nq, gml) = (dir.path().join("g.ttl"), dir.path().join("g.nt"), dir.path().join("g.nq"), dir.path().join("g.graphml"));
    export(&store, "turtle", &ttl);
    export(&store, "ntriples", &nt);
    export(&store, "nquads", &nq);
    export(&store, "graphml", &gml);
    // N-Quads: loading the export into a fresh store gives the same quads.
    let quads = count(&store, ALL_QUADS);
    let reloaded = load_and_dump(&nq, oxigraph::io::RdfFormat::NQuads);
    assert_eq!(reloaded.len(), quads);
    let again = dir.path().join("again.nq");
    std::fs::write(&again, reloaded.join("\n")).unwrap();
    assert_eq!(load_and_dump(&again, oxigraph::io::RdfFormat::NQuads), reloaded);
    // Turtle and N-Triples hold the same triples (the union of the graphs).
    assert_eq!(load_and_dump(&ttl, oxigraph::io::RdfFormat::Turtle), load_and_dump(&nt, oxigraph::io::RdfFormat::NTriples));
    // rdflib, networkx and igraph open them without complaint.
    let python = repo().join(".venv/bin/python");
    assert!(python.exists(), "run the set-up first: {} is missing", python.display());
    let o = Command::new(python).arg(repo().join("tests/check_exports.py")).args([&ttl, &nq, &gml]).output().unwrap();
    assert!(o.status.success(), "graph tools rejected an export: {}{}", stdout(&o), stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["nquads"].as_u64().unwrap() as usize, quads);
    let edges = count(&store, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?r ?t WHERE { ?r a kgx:Relation . ?s ?r ?t } }");
    // GraphML's edges are the asserted triples (negated extractions are not).
    assert_eq!(report["graphml_edges"].as_u64().unwrap() as usize, edges);
}

#[test]
fn stats_report_counts_components_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/wiki_films.csv"], &[]).status.success());
    let o = run(&["stats", "--store", store.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let docs = count(&store, "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a kgx:Document }");
    assert!(out.contains(&format!("documents    {docs}\n")), "{out}");
    for needle in ["extractions", "entities", "components", "top entities by degree", "top entities by PageRank", "completed"] {
        assert!(out.contains(needle), "missing {needle}: {out}");
    }
}

/// Runs every query in `queries/` on the sample store and compares its rows
/// with `tests/expected/NAME.tsv` (run IRIs, which change every run, are
/// masked). `KGX_BLESS=1 cargo test --release --test cli shipped_queries`
/// rewrites the expected files after a deliberate change (e.g. a new model).
#[test]
fn shipped_queries_give_the_expected_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/wiki_films.csv", "samples/oie2016_dev_excerpt.txt", "samples/wiki_people.jsonl"], &[])
        .status
        .success());
    let mut queries: Vec<PathBuf> = std::fs::read_dir(repo().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rq"))
        .collect();
    queries.sort();
    assert!(queries.len() >= 6, "ship at least six queries");
    let bless = std::env::var_os("KGX_BLESS").is_some();
    for q in queries {
        let text = std::fs::read_to_string(&q).unwrap();
        assert!(text.starts_with('#'), "{} must start with a comment saying what it answers", q.display());
        let o = run(&["query", "--store", store.to_str().unwrap(), "--format", "tsv", q.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", q.display(), stderr(&o));
        let got = mask_runs(&stdout(&o));
        assert!(got.lines().count() > 1, "{} returned no rows on the sample store", q.display());
        let name = q.file_stem().unwrap().to_str().unwrap();
        let expected_path = repo().join("tests/expected").join(format!("{name}.tsv"));
        if bless {
            std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
            std::fs::write(&expected_path, &got).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        if let Some(difference) = first_difference(&got, &expected) {
            panic!("{name}.rq rows changed: {difference}\n--- got\n{got}");
        }
    }
}

/// Where two query results (TSV) differ, if they do: every cell must be
/// the same but for `xsd:double` values (confidences), which may differ by
/// 1e-4 (ONNX Runtime's kernels round differently on different CPUs).
fn first_difference(got: &str, expected: &str) -> Option<String> {
    let double =
        |cell: &str| cell.strip_suffix("^^<http://www.w3.org/2001/XMLSchema#double>").and_then(|v| v.trim_matches('"').parse::<f64>().ok());
    let (got_lines, expected_lines): (Vec<&str>, Vec<&str>) = (got.lines().collect(), expected.lines().collect());
    if got_lines.len() != expected_lines.len() {
        return Some(format!("{} rows, expected {}", got_lines.len(), expected_lines.len()));
    }
    for (row, (g, e)) in got_lines.iter().zip(&expected_lines).enumerate() {
        let (gc, ec): (Vec<&str>, Vec<&str>) = (g.split('\t').collect(), e.split('\t').collect());
        let same = gc.len() == ec.len()
            && gc.iter().zip(&ec).all(|(a, b)| a == b || matches!((double(a), double(b)), (Some(x), Some(y)) if (x - y).abs() <= 1e-4));
        if !same {
            return Some(format!("row {row}: got {g:?}, expected {e:?}"));
        }
    }
    None
}

fn mask_runs(tsv: &str) -> String {
    let mut out = String::with_capacity(tsv.len());
    let mut rest = tsv;
    while let Some(i) = rest.find("/run/") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let end = rest.find('>').unwrap_or(rest.len());
        out.push_str("RUN");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Both stores hold the same extractions, spans and (within 1e-4) confidences.
fn assert_same_extractions(a: &Path, b: &Path) {
    let q = "SELECT ?x ?ss ?se ?rs ?re ?ts ?te ?c WHERE { ?x a kgx:Extraction ; kgx:sourceStart ?ss ; kgx:sourceEnd ?se ; \
        kgx:relationStart ?rs ; kgx:relationEnd ?re ; kgx:targetStart ?ts ; kgx:targetEnd ?te ; kgx:confidence ?c } ORDER BY ?x";
    let (ra, rb) = (select(a, q), select(b, q));
    assert!(!ra.is_empty());
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(x[..7], y[..7]);
        let (cx, cy): (f64, f64) = (x[7].parse().unwrap(), y[7].parse().unwrap());
        assert!((cx - cy).abs() < 1e-4, "{x:?} vs {y:?}");
    }
}

#[test]
fn batch_size_does_not_change_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert!(extract(&a, &["samples/oie2016_dev_excerpt.txt", "samples/wiki_films.csv"], &[]).status.success());
    assert!(extract(&b, &["samples/oie2016_dev_excerpt.txt", "samples/wiki_films.csv"], &["--max-batch", "1"]).status.success());
    assert_same_extractions(&a, &b);
}

/// Workers run side by side take batches in whatever order they finish,
/// through one shared session or sessions of their own: each batch's rows
/// must still land on their own sentences.
#[test]
fn workers_side_by_side_give_the_output_of_one_worker() {
    let dir = tempfile::tempdir().unwrap();
    let (one, shared, own) = (dir.path().join("one"), dir.path().join("shared"), dir.path().join("own"));
    let inputs = ["samples/oie2016_dev_excerpt.txt", "samples/wiki_films.csv"];
    assert!(extract(&one, &inputs, &["--threads", "1"]).status.success());
    assert!(extract(&shared, &inputs, &["--threads", "3", "--max-batch", "4"]).status.success());
    assert!(extract(&own, &inputs, &["--threads", "4", "--session-threads", "2", "--max-batch", "4"]).status.success());
    assert_same_extractions(&one, &shared);
    assert_same_extractions(&one, &own);
}

/// Writes the hostile fixture set into `dir`: (file name, contents, usable?).
fn hostile_fixtures(dir: &Path) -> Vec<(&'static str, bool)> {
    let files: Vec<(&'static str, Vec<u8>, bool)> = vec![
        ("invalid_utf8.txt", b"The cat \xff\xfe sat on the mat.".to_vec(), false),
        ("nul_bytes.txt", b"The dog\0 barked at the mailman.".to_vec(), false),
        ("binary.bin", (0..4096u32).map(|i| (i * 7 % 256) as u8).collect(), false),
        ("empty.txt", Vec::new(), true),
        ("ten_mb_line.txt", "abcdefghij".repeat(1_000_000).into_bytes(), true),
        ("long_sentence.txt", format!("The committee approved {} finally.", "the plan and ".repeat(15_400)).into_bytes(), true),
        ("punctuation.txt", b"?!... ;;; --- ((( ))) ,,, ...".to_vec(), true),
        ("bom_crlf.txt", b"\xef\xbb\xbfThe company hired a new chief.\r\nShe started in May.\r\n".to_vec(), true),
        ("emoji.txt", "The \u{1F600} emoji 👍🏽 delighted the fans of the band 🎸.".as_bytes().to_vec(), true),
        ("cjk.txt", "東京は日本の首都です。 Tokyo is the capital of Japan.".as_bytes().to_vec(), true),
        (
            "rtl.txt",
            "\u{5E9}\u{5DC}\u{5D5}\u{5DD} means peace. The \u{202E}reversed\u{202C} word confused readers.".as_bytes().to_vec(),
            true,
        ),
        ("zero_width.txt", "The\u{200B}zero\u{200D}width\u{FEFF} joiner hid in the text of the novel.".as_bytes().to_vec(), true),
        (
            "markup.txt",
            br#"The <b>author</b> wrote "quotes" \ and ^^xsd:string @prefix ex: <http://x/> . ]]> in the CDATA section & more."#.to_vec(),
            true,
        ),
    ];
    files
        .into_iter()
        .map(|(name, bytes, usable)| {
            std::fs::write(dir.join(name), bytes).unwrap();
            (name, usable)
        })
        .collect()
}

#[test]
fn hostile_inputs_are_reported_or_stored_and_exports_still_parse() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("hostile");
    std::fs::create_dir(&corpus).unwrap();
    let fixtures = hostile_fixtures(&corpus);
    let store = dir.path().join("store");
    let o = extract(&store, &[corpus.to_str().unwrap()], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "bad documents must give exit code 3: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for (name, usable) in &fixtures {
        let reported = err.lines().any(|l| l.contains(name));
        assert_eq!(reported, !usable, "{name}: reported={reported}\n{err}");
    }
    let stored: Vec<String> = select(&store, "SELECT ?id WHERE { ?d kgx:documentId ?id }").into_iter().map(|r| r[0].clone()).collect();
    for (name, usable) in &fixtures {
        assert_eq!(stored.iter().any(|id| id.ends_with(name)), *usable, "{name} stored? {stored:?}");
    }
    let (ttl, nq, gml) = (dir.path().join("h.ttl"), dir.path().join("h.nq"), dir.path().join("h.graphml"));
    export(&store, "turtle", &ttl);
    export(&store, "nquads", &nq);
    export(&store, "graphml", &gml);
    let python = repo().join(".venv/bin/python");
    let o = Command::new(python).arg(repo().join("tests/check_exports.py")).args([&ttl, &nq, &gml]).output().unwrap();
    assert!(o.status.success(), "exports of hostile input must parse: {}{}", stdout(&o), stderr(&o));
}

/// A copy of the shipped model directory whose files a test may break.
fn model_copy(dir: &Path, precision_file: &str) -> PathBuf {
    let src = repo().join(DEFAULT_MODEL);
    let dst = dir.join("model");
    std::fs::create_dir_all(dst.join("onnx")).unwrap();
    for f in ["model.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    std::fs::copy(src.join("onnx").join(precision_file), dst.join("onnx").join(precision_file)).unwrap();
    dst
}

fn extract_with_model(dir: &Path, model: &Path) -> Output {
    let store = dir.join("store");
    run(&[
        "extract",
        "--quiet",
        "--device",
        "cpu",
        "--precision",
        "fp32",
        "--model",
        model.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "samples/oie2016_dev_excerpt.txt",
    ])
}

#[test]
fn broken_model_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // Missing directory.
    let o = extract_with_model(dir.path(), &dir.path().join("no-such-model"));
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("no-such-model does not exist"), "{}", stderr(&o));
    // Missing ONNX file.
    let model = model_copy(dir.path(), "model.onnx");
    std::fs::remove_file(model.join("onnx/model.onnx")).unwrap();
    let o = extract_with_model(dir.path(), &model);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("make model"), "{}", stderr(&o));
    // Truncated ONNX file.
    let model = model_copy(dir.path(), "model.onnx");
    let bytes = std::fs::read(model.join("onnx/model.onnx")).unwrap();
    std::fs::write(model.join("onnx/model.onnx"), &bytes[..bytes.len() / 3]).unwrap();
    let o = extract_with_model(dir.path(), &model);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("cannot load model"), "{}", stderr(&o));
    // Manifest and ONNX disagree on the label count.
    let model = model_copy(dir.path(), "model.onnx");
    let manifest = std::fs::read_to_string(model.join("model.json")).unwrap();
    std::fs::write(model.join("model.json"), manifest.replace("\"TGT\"", "\"TGT\", \"EXTRA\"")).unwrap();
    let o = extract_with_model(dir.path(), &model);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("output has 4 labels, the model manifest lists 5"), "{}", stderr(&o));
    // Garbage manifest.
    std::fs::write(model.join("model.json"), "{ not json").unwrap();
    let o = extract_with_model(dir.path(), &model);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("model.json is not valid"), "{}", stderr(&o));
    assert!(!dir.path().join("store/oxigraph").exists(), "model errors must not touch the store");
}

#[test]
fn onnx_runtime_library_errors_are_said_once_and_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // A path that is not there.
    let missing = dir.path().join("no-such-libonnxruntime.so");
    let o = extract(&store, &["samples/wiki_films.csv"], &["--ort-lib", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(err.contains(&format!("--ort-lib names {}, which is not a file", missing.display())), "{err}");
    assert!(!err.contains("from ONNX Runtime"), "the error was wrapped in a load error: {err}");
    // A file that is not a library.
    let o = kgx()
        .env("ORT_DYLIB_PATH", repo().join("README.md"))
        .args(["extract", "--quiet", "--device", "cpu", "--store", store.to_str().unwrap(), "samples/wiki_films.csv"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert_eq!(err.matches("cannot load ONNX Runtime from").count(), 1, "{err}");
    assert!(err.contains("README.md"), "{err}");
    assert!(!store.join("oxigraph").exists(), "a library error must not touch the store");
}

#[test]
fn model_with_unexpected_inputs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path(), "model.onnx");
    let python = repo().join(".venv/bin/python");
    let onnx_path = model.join("onnx/model.onnx");
    let script = "import onnx,sys; m=onnx.load(sys.argv[1]); old=m.graph.input[0].name; \
        m.graph.input[0].name='pixel_values'\nfor n in m.graph.node:\n  n.input[:]=['pixel_values' if i==old else i for i in \
        n.input]\nonnx.save(m, sys.argv[1])";
    let o = Command::new(python).args(["-c", script, onnx_path.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = extract_with_model(dir.path(), &model);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("unexpected input \"pixel_values\""), "{}", stderr(&o));
}

#[test]
fn store_path_that_is_a_file_gives_a_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let o = run(&["extract", "--quiet", "--device", "cpu", "--store", file.to_str().unwrap(), "samples/oie2016_dev_excerpt.txt"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("not-a-dir"), "{}", stderr(&o));
}

/// A small tmpfs, unmounted on drop; `None` where this process may not mount.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        let path = dir.join("disk");
        std::fs::create_dir_all(&path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", path.to_str()?])
            .output()
            .ok()?
            .status
            .success();
        ok.then_some(Self(path))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

#[test]
fn full_disk_gives_a_store_error_and_keeps_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(dir.path(), "3m") else {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let store = disk.0.join("store");
    assert!(extract(&store, &["samples/oie2016_dev_excerpt.txt"], &[]).status.success());
    let before = count(&store, ALL_QUADS);
    // Far more than fits: the sample rows 40 times over, one document each.
    let big = dir.path().join("big.jsonl");
    let rows: Vec<String> = (0..40)
        .flat_map(|c| {
            (0..300).map(move |i| {
                format!("{{\"id\":\"c{c}-{i}\",\"text\":\"The studio {c} released film number {i} in the summer of {}.\"}}", 1900 + i)
            })
        })
        .collect();
    std::fs::write(&big, rows.join("\n")).unwrap();
    let o = extract(&store, &[big.to_str().unwrap()], &["--chunk-sentences", "200"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(5), "a full disk is a store error: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.to_lowercase().contains("space"), "the error should say the disk is full: {err}");
    // What was committed before is still there and readable.
    assert!(count(&store, ALL_QUADS) >= before);
    assert_eq!(count(&store, "SELECT (COUNT(*) AS ?n) WHERE { ?d kgx:documentId \"samples/oie2016_dev_excerpt.txt\" }"), 1);
}

#[test]
fn eval_scores_hand_made_extractions_like_the_definitions() {
    let dir = tempfile::tempdir().unwrap();
    let gold = dir.path().join("gold.tsv");
    let pred = dir.path().join("pred.tsv");
    // Sentence 1: two gold tuples; sentence 2: one. Predictions: exact (0.9), wrong (0.4).
    std::fs::write(&gold, "A likes B .\tlikes\tA\tB\nA likes B .\thates\tA\tC\nX eats Y .\teats\tX\tY\n").unwrap();
    // A prediction for a sentence outside the gold file is neither scored nor counted in the shape.
    std::fs::write(&pred, "A likes B .\t0.9\tlikes\tA\tB\nA likes B .\t0.4\tsees\tA\tD\nZ sees W now .\t0.8\tsees\tZ\tW now\n").unwrap();
    let o = run(&["eval", "--gold", gold.to_str().unwrap(), "--extractions", pred.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("2 sentences, 3 gold tuples, 2 predicted tuples"), "{out}");
    assert!(out.contains("all predictions      P 0.500  R 0.333  F1 0.400"), "{out}");
    assert!(out.contains("best F1 (conf >= 0.900)  P 1.000  R 0.333  F1 0.500"), "{out}");
    assert!(out.contains("AUC (precision/recall curve)  0.333"), "{out}");
    assert!(out.contains("predicted 1.00 tuples a sentence; mean words: arg1 1.00, relation 1.00, arg2+ 1.00"), "{out}");
    assert!(out.contains("gold      1.50 tuples a sentence; mean words: arg1 1.00, relation 1.00, arg2+ 1.00"), "{out}");
}

#[test]
fn carb_export_scores_the_same_as_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Gold: the excerpt's sentences with made-up tuples; predictions come from the model.
    let gold = dir.path().join("gold.tsv");
    let lines: Vec<String> = std::fs::read_to_string(repo().join("samples/wiki_films.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .take(40)
        .map(|l| l.trim_matches('"').to_string())
        .collect();
    let sentences = dir.path().join("sentences.txt");
    std::fs::write(&sentences, lines.join("\n")).unwrap();
    let tuples: Vec<String> = lines
        .iter()
        .map(|s| {
            let w: Vec<&str> = s.split_whitespace().collect();
            format!("{s}\t{}\t{}\t{}", w.get(1).unwrap_or(&"x"), w[0], w[2..].join(" "))
        })
        .collect();
    std::fs::write(&gold, tuples.join("\n")).unwrap();
    assert!(extract(&store, &[sentences.to_str().unwrap()], &["--input-format", "lines"]).status.success());
    let tsv = dir.path().join("pred.tsv");
    export(&store, "carb", &tsv);
    let rows = std::fs::read_to_string(&tsv).unwrap();
    assert!(rows.lines().count() > 10 && rows.lines().all(|l| l.split('\t').count() == 5), "{rows}");
    let from_file = run(&["eval", "--gold", gold.to_str().unwrap(), "--extractions", tsv.to_str().unwrap()]);
    let from_store = run(&["eval", "--gold", gold.to_str().unwrap(), "--store", store.to_str().unwrap()]);
    assert!(from_file.status.success() && from_store.status.success(), "{}{}", stderr(&from_file), stderr(&from_store));
    assert_eq!(stdout(&from_file).lines().skip(1).collect::<Vec<_>>(), stdout(&from_store).lines().skip(1).collect::<Vec<_>>());
}

/// The GPU default (fp16) file is built and usable; on CPU it must agree
/// with fp32 (the GPU itself is measured by bench/gpu.sh on a lent machine).
#[test]
fn fp16_model_is_built_and_agrees_with_fp32_on_cpu() {
    // The layered default ships fp32 only; the input-marker model has every variant.
    let model = "models/kgx-minilm-multi";
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join(model).join("model.json")).unwrap()).unwrap();
    assert_eq!(manifest["gpu_default"], "fp16");
    assert!(repo().join(model).join(manifest["files"]["fp16"].as_str().unwrap()).is_file());
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert!(extract(&a, &["samples/wiki_films.csv"], &["--model", model, "--precision", "fp32"]).status.success());
    let o = extract(&b, &["samples/wiki_films.csv"], &["--model", model, "--precision", "fp16"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q = "SELECT ?x ?ss ?se ?rs ?re ?ts ?te WHERE { ?x a kgx:Extraction ; kgx:sourceStart ?ss ; kgx:sourceEnd ?se ; \
        kgx:relationStart ?rs ; kgx:relationEnd ?re ; kgx:targetStart ?ts ; kgx:targetEnd ?te }";
    let (ra, rb) = (select(&a, q), select(&b, q));
    let same = ra.iter().filter(|r| rb.contains(r)).count();
    assert!(same as f64 >= 0.95 * ra.len() as f64, "fp16 kept {same} of {} fp32 triples", ra.len());
}

/// An unusable store directory (root ignores permission bits, so the test
/// breaks the directory's layout instead: its RocksDB folder is a file).
#[test]
fn unusable_store_directory_gives_a_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join("oxigraph"), "not a database").unwrap();
    let o = extract(&store, &["samples/oie2016_dev_excerpt.txt"], &[]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("RDF store"), "{}", stderr(&o));
    let q = run(&["query", "--store", store.to_str().unwrap(), "-e", "ASK {}"]);
    assert_eq!(q.status.code(), Some(5), "{}", stderr(&q));
}

#[test]
fn gzip_and_stdin_inputs_are_read_transparently() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("docs.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
    enc.write_all(b"{\"id\":\"g1\",\"text\":\"The studio released the film in May.\"}\n").unwrap();
    enc.finish().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &[gz.to_str().unwrap()], &[]).status.success());
    let mut child = kgx()
        .args(["extract", "--quiet", "--device", "cpu", "--input-format", "lines", "--store", store.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"The band recorded a new album.\n\nThe critics praised the album.\n").unwrap();
    assert!(child.wait().unwrap().success());
    let ids: Vec<String> =
        select(&store, "SELECT ?id WHERE { ?d kgx:documentId ?id } ORDER BY ?id").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, vec!["-:1", "-:3", "g1"]);
}

/// Every model the set-up builds (LoRA, prefix tuning, prompt tuning) runs
/// through the same `kgx extract --model DIR`, unchanged.
#[test]
fn every_shipped_model_extracts_unchanged() {
    let is_tagger = |p: &PathBuf| std::fs::read_to_string(p.join("model.json")).is_ok_and(|m| !m.contains("\"coreference\""));
    let mut models: Vec<PathBuf> = std::fs::read_dir(repo().join("models")).unwrap().map(|e| e.unwrap().path()).filter(is_tagger).collect();
    models.sort();
    assert!(!models.is_empty());
    for model in models {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let o = run(&[
            "extract",
            "--quiet",
            "--device",
            "cpu",
            "--model",
            model.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "samples/wiki_films.csv",
        ]);
        assert!(o.status.success(), "{}: {}", model.display(), stderr(&o));
        let n = count(&store, "SELECT (COUNT(?x) AS ?n) WHERE { ?x a kgx:Extraction }");
        assert!(n >= 50, "{}: only {n} triples from 296 sentences", model.display());
    }
}

/// Every `kgx query` output format parses back to the same number of rows or triples.
#[test]
fn every_query_format_parses_back_with_the_same_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &["samples/wiki_films.csv"], &[]).status.success());
    let st = store.to_str().unwrap();
    let q = "SELECT ?x ?c WHERE { ?x a kgx:Extraction ; kgx:confidence ?c }";
    let n = count(&store, "SELECT (COUNT(?x) AS ?n) WHERE { ?x a kgx:Extraction }");
    let out = |format: &str, query: &str| {
        let o = run(&["query", "--store", st, "--format", format, "-e", query]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        o.stdout
    };
    let json: serde_json::Value = serde_json::from_slice(&out("json", q)).unwrap();
    assert_eq!(json["results"]["bindings"].as_array().unwrap().len(), n);
    let xml = String::from_utf8(out("xml", q)).unwrap();
    assert_eq!(xml.matches("<result>").count(), n);
    assert_eq!(String::from_utf8(out("tsv", q)).unwrap().lines().count(), n + 1);
    assert_eq!(csv::Reader::from_reader(out("csv", q).as_slice()).records().count(), n);
    let table = String::from_utf8(out("table", q)).unwrap();
    assert!(table.trim_end().ends_with(&format!("({n} rows)")), "{table}");
    let ask: serde_json::Value = serde_json::from_slice(&out("json", "ASK { ?x a kgx:Extraction }")).unwrap();
    assert_eq!(ask["boolean"], true);
    let construct = "CONSTRUCT { ?s ?r ?t } WHERE { ?x rdf:subject ?s ; rdf:predicate ?r ; rdf:object ?t }";
    let distinct = count(
        &store,
        "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?r ?t WHERE { ?x rdf:subject ?s ; rdf:predicate ?r ; rdf:object ?t } }",
    );
    for (format, rdf) in [
        ("turtle", oxigraph::io::RdfFormat::Turtle),
        ("ntriples", oxigraph::io::RdfFormat::NTriples),
        ("nquads", oxigraph::io::RdfFormat::NQuads),
    ] {
        let bytes = out(format, construct);
        let parsed: std::collections::HashSet<String> =
            oxigraph::io::RdfParser::from_format(rdf).for_slice(&bytes).map(|q| q.unwrap().to_string()).collect();
        assert_eq!(parsed.len(), distinct, "{format}");
    }
    let wrong = run(&["query", "--store", st, "--format", "turtle", "-e", q]);
    assert_eq!(wrong.status.code(), Some(1), "a SELECT cannot be Turtle: {}", stderr(&wrong));
}

/// `--head-threshold` (predicate-indexed models) lowers or raises the bar for
/// a predicate head; a value outside (0, 1] is a usage error.
#[test]
fn head_threshold_trades_precision_for_more_triples() {
    let dir = tempfile::tempdir().unwrap();
    let count_with = |name: &str, extra: &[&str]| {
        let store = dir.path().join(name);
        let o = extract(&store, &["samples/oie2016_dev_excerpt.txt"], extra);
        assert!(o.status.success(), "{}", stderr(&o));
        count(&store, "SELECT (COUNT(?x) AS ?n) WHERE { ?x a kgx:Extraction }")
    };
    let (default, low, high) =
        (count_with("d", &[]), count_with("l", &["--head-threshold", "0.05"]), count_with("h", &["--head-threshold", "0.99"]));
    assert!(low >= default && default >= high && low > high, "low {low}, default {default}, high {high}");
    let o = run(&["extract", "--head-threshold", "0", "samples/wiki_films.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a probability in (0, 1]"), "{}", stderr(&o));
}

/// `--dry-run` tags and assembles but writes no store, and says so.
#[test]
fn dry_run_tags_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = run(&["extract", "--dry-run", "--store", store.to_str().unwrap(), "samples/oie2016_dev_excerpt.txt"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 documents tagged (dry run, nothing stored)"), "{}", stderr(&o));
    assert!(!store.join("oxigraph").exists(), "a dry run must not create a store");
}

const LAYERED_MODEL: &str = "models/kgx-minilm-layered";

/// A layered model's marked passes start from the hidden state of the
/// unmarked pass, copied row by row into each marked batch: in any batch
/// composition and worker layout each pass must get its own sentence's rows.
#[test]
fn layered_marked_passes_get_their_own_sentences_hidden_state() {
    let dir = tempfile::tempdir().unwrap();
    let (one, many, own) = (dir.path().join("one"), dir.path().join("many"), dir.path().join("own"));
    let inputs = ["samples/oie2016_dev_excerpt.txt"];
    assert!(extract(&one, &inputs, &["--model", LAYERED_MODEL, "--threads", "1"]).status.success());
    assert!(extract(&many, &inputs, &["--model", LAYERED_MODEL, "--threads", "3", "--max-batch", "3"]).status.success());
    assert!(extract(&own, &inputs, &["--model", LAYERED_MODEL, "--threads", "2", "--session-threads", "2", "--max-batch", "5"])
        .status
        .success());
    assert_same_extractions(&one, &many);
    assert_same_extractions(&one, &own);
    // Several triples a sentence, as from the predicate-indexed model with the marker at the input.
    let per_sentence =
        select(&one, "SELECT ?s (COUNT(?x) AS ?n) WHERE { ?x a kgx:Extraction ; kgx:sentence ?s } GROUP BY ?s HAVING (COUNT(?x) > 1)");
    assert!(per_sentence.len() >= 10, "only {} sentences with several triples", per_sentence.len());
}

/// The provider's I/O path, what runs on CUDA (int64 inputs and logits
/// staged in the provider's buffers, the first graph's hidden state left in
/// its memory and read by index in the marked graph's gather variant, each
/// marked batch drawn from one first-graph batch), run on the CPU provider
/// with CPU memory: the host path's extractions, in any batch composition.
#[test]
fn provider_io_gives_the_host_paths_extractions() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = ["samples/oie2016_dev_excerpt.txt"];
    for precision in ["fp32", "fp16"] {
        let (host, provider) = (dir.path().join(format!("host-{precision}")), dir.path().join(format!("provider-{precision}")));
        let common = ["--model", LAYERED_MODEL, "--precision", precision];
        assert!(extract(&host, &inputs, &[&common[..], &["--model-io", "host", "--threads", "1"]].concat()).status.success());
        let o = extract(&provider, &inputs, &[&common[..], &["--model-io", "provider", "--threads", "3", "--max-batch", "3"]].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        assert_same_extractions(&host, &provider);
    }
    let o = run(&["extract", "--dry-run", "--device", "cpu", "--model", LAYERED_MODEL, "--model-io", "provider", inputs[0]]);
    assert!(stderr(&o).contains("provider I/O, hidden state kept by the provider"), "{}", stderr(&o));
    // A layered model without its gather variant cannot keep the hidden state in provider memory.
    let model = dir.path().join("model");
    std::fs::create_dir_all(model.join("onnx")).unwrap();
    let src = repo().join(LAYERED_MODEL);
    for f in ["model.json", "tokenizer.json", "onnx/model.onnx", "onnx/marked.onnx"] {
        std::fs::copy(src.join(f), model.join(f)).unwrap();
    }
    let o = run(&["extract", "--dry-run", "--device", "cpu", "--model", model.to_str().unwrap(), "--model-io", "provider", inputs[0]]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("marked.gather.onnx (fp32, marked graph's gather variant) is missing"), "{}", stderr(&o));
    // The host path needs no gather variant.
    let o = run(&["extract", "--dry-run", "--device", "cpu", "--model", model.to_str().unwrap(), "--model-io", "host", inputs[0]]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn layered_model_with_a_missing_or_wrong_marked_graph_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join(LAYERED_MODEL);
    let model = dir.path().join("model");
    std::fs::create_dir_all(model.join("onnx")).unwrap();
    for f in ["model.json", "tokenizer.json", "onnx/model.onnx"] {
        std::fs::copy(src.join(f), model.join(f)).unwrap();
    }
    let o = extract_with_model(dir.path(), &model);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("marked.onnx (fp32, marked graph) is missing"), "{}", stderr(&o));
    // The first graph where the marked one belongs: it reads input_ids, not the hidden state.
    std::fs::copy(src.join("onnx/model.onnx"), model.join("onnx/marked.onnx")).unwrap();
    let o = extract_with_model(dir.path(), &model);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("marked graph read `hidden`"), "{}", stderr(&o));
    assert!(!dir.path().join("store/oxigraph").exists(), "model errors must not touch the store");
}

/// Regression: a panic on a pipeline thread (a tokenizer bug, say) went
/// through `thread::scope` and the process died with exit code 101 and
/// Rust's panic text. Each stage's panic must be an error that names the
/// stage, with the documented exit code, and the run logged as failed.
#[test]
fn a_panic_in_a_pipeline_stage_exits_70_and_names_the_stage() {
    for (stage, named) in [
        ("encode", "encode (tokenizer, batching)"),
        ("read", "read (reading, splitting)"),
        ("tag", "tag (model passes)"),
        ("store", "store (decoding"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let o = kgx()
            .env("KGX_TEST_PANIC_STAGE", stage)
            .args(["extract", "--quiet", "--device", "cpu", "--store", store.to_str().unwrap(), "samples/oie2016_dev_excerpt.txt"])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(70), "{stage}: {err}");
        assert!(err.contains(&format!("kgx: error: the {named}")) && err.contains("panicked"), "{stage}: {err}");
        let log = rusqlite::Connection::open(store.join("runlog.sqlite")).unwrap();
        let status: String = log.query_row("SELECT status FROM runs", [], |r| r.get(0)).unwrap();
        assert_eq!(status, "failed", "{stage}");
    }
}

/// Regression: the directory walker followed a symbolic link back to an
/// ancestor for ever (until the stack overflowed).
#[test]
fn a_symlink_loop_in_an_input_directory_is_reported_once_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(corpus.join("sub")).unwrap();
    std::fs::write(corpus.join("a.txt"), "The studio released the film in May.").unwrap();
    std::fs::write(corpus.join("sub/b.txt"), "The band recorded a new album.").unwrap();
    std::os::unix::fs::symlink(&corpus, corpus.join("sub/loop")).unwrap();
    let store = dir.path().join("store");
    let o = extract(&store, &[corpus.to_str().unwrap()], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().filter(|l| l.contains("sub/loop")).count(), 1, "{err}");
    assert!(err.contains("symbolic link loop"), "{err}");
    assert_eq!(count(&store, "SELECT (COUNT(?d) AS ?n) WHERE { ?d a kgx:Document }"), 2);
}

/// Regression: `kgx eval` wrote the gold sentences to a directory it made
/// under the temporary directory (and left it behind when a run failed).
/// It hands them to the pipeline from memory now, so it runs where no
/// temporary directory can be made: here TMPDIR names a plain file.
#[test]
fn eval_runs_the_model_without_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_directory = dir.path().join("tmp");
    std::fs::write(&not_a_directory, "").unwrap();
    let gold = dir.path().join("gold.tsv");
    std::fs::write(
        &gold,
        "Marie Curie discovered polonium in 1898 .\tdiscovered\tMarie Curie\tpolonium\nThe film was \
        directed by Steven Spielberg .\twas directed by\tThe film\tSteven Spielberg\n",
    )
    .unwrap();
    let o = kgx().env("TMPDIR", &not_a_directory).args(["eval", "--device", "cpu", "--gold", gold.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 sentences, 2 gold tuples"), "{}", stdout(&o));
}

/// The installed binary must stay small: with the C++ dependencies' debug
/// info (RocksDB) it was 466 MB. Checked on the release build only.
#[test]
fn the_release_binary_is_at_most_60_mb() {
    if cfg!(debug_assertions) {
        return;
    }
    let size = std::fs::metadata(env!("CARGO_BIN_EXE_kgx")).unwrap().len();
    assert!(size <= 60 << 20, "target/release/kgx is {:.1} MB", size as f64 / (1 << 20) as f64);
}

/// Relations are normalised: "is distributed by" and "distributes" are one
/// relation, the passive's triple asserted from its agent; a denied relation
/// is recorded on its extraction and never asserted (issue 20, part 4).
#[test]
fn passive_and_active_name_one_relation_and_a_denied_one_is_not_asserted() {
    let dir = tempfile::tempdir().unwrap();
    let (store, corpus) = (dir.path().join("store"), dir.path().join("docs.jsonl"));
    write_jsonl(
        &corpus,
        &[
            ("passive", "The film is distributed by Walt Disney Studios."),
            ("active", "Walt Disney Studios distributes the film."),
            ("denied", "The studio did not release the film."),
        ],
    );
    assert!(extract(&store, &[corpus.to_str().unwrap()], &[]).status.success());
    // (subject, relation, object) IRIs' last segments, inverted?, negated?, asserted?
    let extraction = |id: &str| -> Vec<String> {
        let rows = select(
            &store,
            &format!(
                "SELECT DISTINCT ?su ?rel ?ob ?inverted ?negated (EXISTS {{ ?su ?rel ?ob }} AS ?asserted) WHERE {{
                   ?d kgx:documentId \"{id}\" . ?sentence kgx:document ?d .
                   ?x kgx:sentence ?sentence ; rdf:subject ?su ; rdf:predicate ?rel ; rdf:object ?ob .
                   OPTIONAL {{ ?x kgx:inverted ?inverted }} OPTIONAL {{ ?x kgx:negated ?negated }} }}"
            ),
        );
        assert_eq!(rows.len(), 1, "{id}: {rows:?}");
        rows[0].iter().map(|v| v.rsplit('/').next().unwrap_or(v).to_string()).collect()
    };
    assert_eq!(extraction("passive"), ["walt_disney_studios", "distribute", "the_film", "true", "", "true"]);
    assert_eq!(extraction("active"), ["walt_disney_studios", "distribute", "the_film", "", "", "true"]);
    assert_eq!(extraction("denied"), ["the_studio", "release", "the_film", "", "true", "false"], "a denied relation is not asserted");
}
