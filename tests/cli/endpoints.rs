//! Stores pushed into real SPARQL servers on loopback (Oxigraph's and
//! Virtuoso 7, see `servers.rs`) and read back through `kgx query
//! --endpoint`: a CONSTRUCT of every graph, terms compared as values
//! (Virtuoso rewrites literals' lexical forms).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::Term;

use super::servers::{self, Server};
use super::{extract, kgx, mask_runs, repo, run, stderr, stdout};

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// A term as a value: numbers as numbers whatever their lexical form or
/// numeric datatype, dateTimes as instants (or "TIME" when `mask_times`),
/// booleans as booleans, language tags in lower case.
fn value(term: &Term, mask_times: bool) -> String {
    let Term::Literal(l) = term else { return term.to_string() };
    let (v, datatype) = (l.value(), l.datatype().as_str());
    let local = datatype.strip_prefix(XSD).unwrap_or("");
    if let Some(lang) = l.language() {
        return format!("{v:?}@{}", lang.to_lowercase());
    }
    match local {
        "double" | "float" | "decimal" | "integer" | "int" | "long" | "short" | "nonNegativeInteger" | "unsignedInt" => {
            format!("number {:e}", v.trim().parse::<f64>().unwrap_or_else(|_| panic!("not a number: {l}")))
        }
        "dateTime" if mask_times => "TIME".to_string(),
        "dateTime" => {
            let t = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).unwrap_or_else(|_| panic!("{l}"));
            format!("instant {}", t.unix_timestamp_nanos())
        }
        "boolean" => format!("boolean {}", v == "true" || v == "1"),
        _ => format!("{v:?}^^{datatype}"),
    }
}

type Graphs = BTreeMap<String, BTreeSet<String>>;

/// Every kgx graph (IRIs under https://kgx.invalid/) read through `kgx
/// query` from `source` (`--store DIR` or `--endpoint URL`): a CONSTRUCT a
/// graph, each triple as values.
fn graphs_by_value(source: &[&str], mask_times: bool) -> Graphs {
    let query = |args: &[&str]| -> Output {
        let o = kgx().arg("query").args(source).args(args).output().unwrap();
        assert!(o.status.success(), "kgx query {source:?} {args:?}: {}", stderr(&o));
        o
    };
    let listed = query(&["--format", "tsv", "-e", "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"]);
    let graphs: Vec<String> = stdout(&listed)
        .lines()
        .skip(1)
        .filter_map(|l| l.strip_prefix("<https://kgx.invalid/").map(|rest| format!("https://kgx.invalid/{}", rest.trim_end_matches('>'))))
        .collect();
    graphs
        .into_iter()
        .map(|g| {
            let o = query(&["--format", "ntriples", "-e", &format!("CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")]);
            let triples = RdfParser::from_format(RdfFormat::NTriples)
                .for_slice(&o.stdout)
                .map(|q| {
                    let q = q.unwrap();
                    format!("{} {} {}", q.subject, q.predicate, value(&q.object, mask_times))
                })
                .collect();
            (g, triples)
        })
        .collect()
}

fn assert_same_graphs(expected: &Graphs, got: &Graphs, what: &str) {
    let names = |g: &Graphs| g.keys().cloned().collect::<BTreeSet<_>>();
    let (missing, extra): (Vec<_>, Vec<_>) =
        (names(expected).difference(&names(got)).cloned().collect(), names(got).difference(&names(expected)).cloned().collect());
    assert!(missing.is_empty() && extra.is_empty(), "{what}: graphs missing {missing:?}, extra {extra:?}");
    for (graph, triples) in expected {
        let other = &got[graph];
        let only_expected: Vec<_> = triples.difference(other).take(5).collect();
        let only_got: Vec<_> = other.difference(triples).take(5).collect();
        assert!(only_expected.is_empty() && only_got.is_empty(), "{what}, graph {graph}: missing {only_expected:#?}\nextra {only_got:#?}");
    }
    let n: usize = expected.values().map(BTreeSet::len).sum();
    assert!(n > 1000, "{what}: only {n} triples compared");
}

fn push(store: &Path, endpoint: &str, auth: Option<&str>, extra: &[&str]) -> Output {
    let mut c = kgx();
    c.args(["push", "--store", store.to_str().unwrap(), "--endpoint", endpoint]).args(extra);
    match auth {
        Some(auth) => c.env("KGX_ENDPOINT_AUTH", auth),
        None => c.env_remove("KGX_ENDPOINT_AUTH"),
    };
    c.output().unwrap()
}

/// `kgx stats` up to its runs (an endpoint lists none).
fn stats_counts(source: &[&str]) -> String {
    let o = kgx().arg("stats").args(source).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).split("\nruns").next().unwrap().to_string()
}

/// A store of the people and OIE samples (about 60 graphs).
fn small_store(dir: &Path) -> std::path::PathBuf {
    let store = dir.join("store");
    let o = extract(&store, &["samples/wiki_people.jsonl", "samples/oie2016_dev_excerpt.txt"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    store
}

/// SPARQL Update into Oxigraph and the Graph Store Protocol into Virtuoso
/// behind Digest: each server then holds the store's graphs, triple for
/// triple by value; a second push sends nothing; `kgx stats --endpoint`
/// counts what `kgx stats` counts; errors get their exit codes.
#[test]
fn pushed_graphs_read_back_equal_by_value_from_oxigraph_and_virtuoso_and_a_second_push_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = small_store(dir.path());
    let store_arg = ["--store", store.to_str().unwrap()];
    let local = graphs_by_value(&store_arg, false);
    let n = local.len();
    let (oxigraph, virtuoso) = (servers::oxigraph(), servers::virtuoso());
    let cases = [
        ("oxigraph, update", oxigraph.query_url.clone(), oxigraph.query_url.clone(), "update", None),
        ("virtuoso, gsp + digest", virtuoso.auth_url(), virtuoso.query_url.clone(), "gsp", Some("digest:dba:dba")),
    ];
    for (what, push_url, read_url, method, auth) in cases {
        let o = push(&store, &push_url, auth, &["--method", method]);
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains(&format!("sent {n} of {n} graphs")), "{what}: {}", stderr(&o));
        assert_same_graphs(&local, &graphs_by_value(&["--endpoint", &read_url], false), what);
        let o = push(&store, &push_url, auth, &["--method", method]);
        assert!(stderr(&o).contains(&format!("sent 0 of {n} graphs")) && stderr(&o).contains(&format!("{n} unchanged")), "{}", stderr(&o));
        assert_eq!(stats_counts(&["--endpoint", &read_url]), stats_counts(&store_arg), "{what}: stats");
        // The shipped query without its LIMIT: Virtuoso orders ties at the
        // cut by its own rule (not the ORDER BY's second key), so the 20 differ.
        let text = std::fs::read_to_string(repo().join("queries/relations.rq")).unwrap().replace("LIMIT 20", "");
        let relations = |source: &[&str]| {
            let o = kgx().args(["query", "-e", &text, "--format", "tsv"]).args(source).output().unwrap();
            assert!(o.status.success(), "{}", stderr(&o));
            let mut lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(relations(&["--endpoint", &read_url]), relations(&store_arg), "{what}: queries/relations.rq");
    }
    let o = push(&store, &virtuoso.auth_url(), None, &["--all", "--retries", "0"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(stderr(&o).contains("answered 401") && stderr(&o).contains("KGX_ENDPOINT_AUTH"), "{}", stderr(&o));
    let o = run(&["query", "--endpoint", &oxigraph.query_url, "-e", "SELEC ?x"]);
    assert_eq!(o.status.code(), Some(6), "a syntax error is found before anything is sent: {}", stderr(&o));
    let gone = format!("http://127.0.0.1:{}/query", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let o = run(&["query", "--endpoint", &gone, "--retries", "1", "-e", "ASK {}"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(stderr(&o).contains(&gone) && stderr(&o).contains("gave up after 2 tries"), "{}", stderr(&o));
}

/// The push log's rows for a server: (acknowledged, in flight).
fn push_log(store: &Path, endpoint: &str) -> (usize, usize) {
    let db = rusqlite::Connection::open(store.join("runlog.sqlite")).unwrap();
    let count = |sql: &str| -> usize { db.query_row(sql, [endpoint], |r| r.get::<_, i64>(0)).unwrap() as usize };
    (
        count("SELECT COUNT(*) FROM push_log WHERE target = ?1 AND hash IS NOT NULL"),
        count("SELECT COUNT(*) FROM push_log WHERE target = ?1 AND hash IS NULL"),
    )
}

/// `kill -9` while requests are in flight, then the same push again: the
/// second sends only what the first had not had acknowledged, and the
/// server holds exactly the store, on both servers and with both methods.
#[test]
fn a_push_killed_midway_and_repeated_leaves_each_server_holding_exactly_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = extract(&store, &["samples/wiki_films.csv", "samples/wiki_people.jsonl"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let local = graphs_by_value(&["--store", store.to_str().unwrap()], false);
    let n = local.len();
    let (oxigraph, virtuoso) = (servers::oxigraph(), servers::virtuoso());
    let cases = [
        ("oxigraph, gsp", oxigraph.query_url.clone(), oxigraph.query_url.clone(), &["--method", "gsp", "--jobs", "1"][..], None),
        (
            "virtuoso, update + digest",
            virtuoso.auth_url(),
            virtuoso.query_url.clone(),
            &["--method", "update", "--jobs", "1", "--batch-kb", "4"][..],
            Some("digest:dba:dba"),
        ),
    ];
    for (what, push_url, read_url, flags, auth) in cases {
        let mut midway = None;
        for delay_ms in [300u64, 150, 600, 80, 1200, 40, 2400] {
            let mut c = kgx();
            c.args(["push", "--quiet", "--store", store.to_str().unwrap(), "--endpoint", &push_url]).args(flags);
            if let Some(auth) = auth {
                c.env("KGX_ENDPOINT_AUTH", auth);
            }
            let mut child = c.spawn().unwrap();
            std::thread::sleep(Duration::from_millis(delay_ms));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let (acknowledged, in_flight) = push_log(&store, &push_url);
            if in_flight > 0 && acknowledged < n {
                midway = Some((acknowledged, in_flight));
                break;
            }
            // Finished before the kill (or never started): start again from an unpushed state.
            let db = rusqlite::Connection::open(store.join("runlog.sqlite")).unwrap();
            db.execute("UPDATE push_log SET hash = NULL WHERE target = ?1", [&push_url]).unwrap();
        }
        let (acknowledged, in_flight) = midway.unwrap_or_else(|| panic!("{what}: no kill landed while requests were in flight"));
        let o = push(&store, &push_url, auth, flags);
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("sent {} of {n} graphs", n - acknowledged)),
            "{what}: {acknowledged} acknowledged and {in_flight} in flight at the kill: {}",
            stderr(&o)
        );
        assert_same_graphs(&local, &graphs_by_value(&["--endpoint", &read_url], false), what);
    }
}

/// Graphs the push log lists that the store no longer holds are deleted
/// from the server (here: a store of the people sample without its last
/// five documents, given the push log of the whole sample's store).
#[test]
fn graphs_gone_from_the_store_are_deleted_from_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let whole = small_store(dir.path());
    let server = servers::oxigraph();
    assert!(push(&whole, &server.query_url, None, &[]).status.success());
    let people = std::fs::read_to_string(repo().join("samples/wiki_people.jsonl")).unwrap();
    let lines: Vec<&str> = people.lines().collect();
    let fewer = dir.path().join("fewer.jsonl");
    std::fs::write(&fewer, lines[..lines.len() - 5].join("\n") + "\n").unwrap();
    let smaller = dir.path().join("smaller");
    let o = extract(&smaller, &[fewer.to_str().unwrap(), "samples/oie2016_dev_excerpt.txt"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let db = rusqlite::Connection::open(smaller.join("runlog.sqlite")).unwrap();
    db.execute_batch(kgx::store::pushlog::SCHEMA).unwrap();
    db.execute_batch(&format!(
        "ATTACH DATABASE '{}' AS whole; INSERT INTO push_log SELECT * FROM whole.push_log; DETACH DATABASE whole;",
        whole.join("runlog.sqlite").display()
    ))
    .unwrap();
    drop(db);
    let dry = push(&smaller, &server.query_url, None, &["--dry-run"]);
    // Five documents and the whole store's run graph are gone.
    assert!(stderr(&dry).contains("6 to delete"), "{}", stderr(&dry));
    let o = push(&smaller, &server.query_url, None, &[]);
    assert!(o.status.success() && stderr(&o).contains("6 deleted"), "{}", stderr(&o));
    let expected = graphs_by_value(&["--store", smaller.to_str().unwrap()], false);
    assert_same_graphs(&expected, &graphs_by_value(&["--endpoint", &server.query_url], false), "after the deletions");
}

/// Virtuoso's bulk path (deploy/virtuoso-bulk-load.sh: ld_dir +
/// rdf_loader_run) loads `kgx export --format nquads` into what a push gives.
#[test]
fn virtuoso_bulk_loads_the_nquads_export_into_what_the_store_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = small_store(dir.path());
    let virtuoso = servers::virtuoso();
    let load = virtuoso.dir.path().join("load");
    std::fs::create_dir_all(&load).unwrap();
    let nq = load.join("shard-0.nq");
    let o = run(&["export", "--store", store.to_str().unwrap(), "--format", "nquads", "--output", nq.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = std::process::Command::new(repo().join("deploy/virtuoso-bulk-load.sh"))
        .arg(&load)
        .env("VIRTUOSO_PORT", virtuoso.isql_port.unwrap().to_string())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let local = graphs_by_value(&["--store", store.to_str().unwrap()], false);
    assert_same_graphs(&local, &graphs_by_value(&["--endpoint", &virtuoso.query_url], false), "bulk-loaded");
    let loaded = virtuoso.isql("SELECT COUNT(*) FROM DB.DBA.LOAD_LIST WHERE ll_state = 2 AND ll_error IS NULL;");
    assert!(stdout(&loaded).lines().any(|l| l.trim() == "1"), "{}", stdout(&loaded));
}

/// The scale-out recipe on one machine: three Slurm array tasks
/// (`deploy/slurm-array.sh` -> `deploy/kgx-shard.sh`) extract their shards and push
/// their document graphs side by side into one server, then
/// `deploy/kgx-finish.sh` merges the shard stores and pushes the entity
/// graph: the server holds what one run stores (run ids and times aside).
#[test]
fn shards_pushed_side_by_side_into_one_server_hold_what_one_run_stores() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    for sample in ["samples/oie2016_dev_excerpt.txt", "samples/wiki_people.jsonl"] {
        let from = repo().join(sample);
        std::fs::copy(&from, corpus.join(from.file_name().unwrap())).unwrap();
    }
    let one = dir.path().join("one");
    let o = extract(&one, &[corpus.to_str().unwrap()], &["--id-root", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let server: Server = servers::oxigraph();
    let shard_root = dir.path().join("shards");
    let script = |name: &str| {
        let mut c = std::process::Command::new(repo().join("deploy").join(name));
        c.env("KGX_BIN", env!("CARGO_BIN_EXE_kgx"))
            .env("KGX_CORPUS", &corpus)
            .env("KGX_ID_ROOT", dir.path())
            .env("KGX_SHARD_ROOT", &shard_root)
            .env("KGX_ENDPOINT", &server.query_url)
            .env("KGX_EXTRACT_ARGS", "--device cpu --threads 1")
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("KGX_STORE")
            .current_dir(repo());
        c
    };
    let tasks: Vec<_> = (0..3).map(|i| script("slurm-array.sh").env("SLURM_ARRAY_TASK_ID", i.to_string()).spawn().unwrap()).collect();
    for mut task in tasks {
        assert!(task.wait().unwrap().success());
    }
    let o = script("kgx-finish.sh").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let masked = |graphs: Graphs| -> Graphs {
        graphs
            .into_iter()
            .filter(|(g, _)| !g.contains("/run/"))
            .map(|(g, triples)| (g, triples.into_iter().map(|t| mask_runs(&t)).collect()))
            .collect()
    };
    let expected = masked(graphs_by_value(&["--store", one.to_str().unwrap()], true));
    let pushed = masked(graphs_by_value(&["--endpoint", &server.query_url], true));
    assert!(expected.keys().any(|g| g.ends_with("/graph/entities")), "the entity graph is compared");
    assert_same_graphs(&expected, &pushed, "three shards pushed + merged entity graph vs one run");
}
