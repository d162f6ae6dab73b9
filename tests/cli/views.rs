//! Looking at a store: the HTML view's page (the browser checks are
//! tests/html_view.py), selections shared with GraphML, and reads while an
//! extraction writes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{extract, kgx, run, select, stderr};

const SAMPLES: [&str; 3] = ["samples/wiki_films.csv", "samples/oie2016_dev_excerpt.txt", "samples/wiki_people.jsonl"];

/// The JSON a page embeds, and the page's text.
fn page_data(page: &Path) -> (serde_json::Value, String) {
    let html = std::fs::read_to_string(page).unwrap();
    let marker = "<script id=\"kgx-data\" type=\"application/json\">";
    let start = html.find(marker).expect("data script") + marker.len();
    let end = start + html[start..].find("</script>").unwrap();
    (serde_json::from_str(&html[start..end]).expect("the embedded data is JSON"), html)
}

fn graphml_counts(file: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(file).unwrap();
    (text.matches("<node id=").count(), text.matches("<edge id=").count())
}

fn export_to(store: &Path, format: &str, out: &Path, extra: &[&str]) {
    let mut args = vec!["export", "--store", store.to_str().unwrap(), "--format", format, "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "export {format} {extra:?}: {}", stderr(&o));
}

#[test]
fn html_and_graphml_of_one_selection_hold_the_same_graph() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(extract(&store, &SAMPLES, &[]).status.success());
    let (page, again, gml) = (dir.path().join("v.html"), dir.path().join("v2.html"), dir.path().join("v.graphml"));
    for selection in [&["--top", "40"][..], &["--top", "100000"][..]] {
        export_to(&store, "html", &page, selection);
        export_to(&store, "graphml", &gml, selection);
        let (data, html) = page_data(&page);
        let (nodes, edges) = (data["nodes"].as_array().unwrap(), data["edges"].as_array().unwrap());
        assert_eq!((nodes.len(), edges.len()), graphml_counts(&gml), "{selection:?}");
        assert!(html.contains("default-src 'none'"), "the page forbids network sources");
        assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "nothing loaded from elsewhere");
        // Every edge lists extractions whose spans lie in their sentence.
        let sentences = data["sentences"].as_array().unwrap();
        for e in edges {
            let listed = e["extractions"].as_array().unwrap();
            assert!(!listed.is_empty() && listed.len() as u64 <= e["weight"].as_u64().unwrap().min(20), "{e}");
            // Regression: a sum over the union of the graphs counted each extraction once per
            // graph holding the relation's label (mean confidence 70.4 for one extraction).
            if listed.len() as u64 == e["weight"].as_u64().unwrap() {
                let mean = listed.iter().map(|x| x[1].as_f64().unwrap()).sum::<f64>() / listed.len() as f64;
                assert!((mean - e["confidence"].as_f64().unwrap()).abs() < 1e-6, "edge confidence is not its extractions' mean: {e}");
            }
            for x in listed {
                let chars = sentences[x[0].as_u64().unwrap() as usize].as_str().unwrap().chars().count() as u64;
                let offsets: Vec<u64> = (3..9).map(|i| x[i].as_u64().unwrap()).collect();
                assert!(offsets.chunks(2).all(|p| p[0] < p[1] && p[1] <= chars), "{x} in a sentence of {chars} characters");
            }
        }
        // The same store draws the same picture.
        export_to(&store, "html", &again, selection);
        assert_eq!(std::fs::read(&page).unwrap(), std::fs::read(&again).unwrap(), "two exports differ");
    }
    // --top N keeps the N nodes with most neighbours.
    export_to(&store, "graphml", &gml, &["--top", "40"]);
    assert_eq!(graphml_counts(&gml).0, 40);
    // --query: the nodes a SELECT names (an alias's IRI stands for its entity) and the edges among them.
    let rq = dir.path().join("two.rq");
    std::fs::write(&rq, "SELECT ?s ?t WHERE { ?x a kgx:Extraction ; rdf:subject ?s ; rdf:object ?t ; kgx:sourceText \"Nicholas Rogers\" }")
        .unwrap();
    export_to(&store, "html", &page, &["--query", rq.to_str().unwrap()]);
    export_to(&store, "graphml", &gml, &["--query", rq.to_str().unwrap()]);
    let (data, _) = page_data(&page);
    let labels: Vec<&str> = data["nodes"].as_array().unwrap().iter().map(|n| n["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"Nicholas Rogers"), "{labels:?}");
    assert_eq!((labels.len(), data["edges"].as_array().unwrap().len()), graphml_counts(&gml));
    // Wrong uses are refused with the reason.
    let o = run(&["export", "--store", store.to_str().unwrap(), "--format", "turtle", "--top", "5"]);
    assert!(!o.status.success() && stderr(&o).contains("--top and --query"), "{}", stderr(&o));
    std::fs::write(&rq, "ASK { ?s ?p ?o }").unwrap();
    let o = run(&["export", "--store", store.to_str().unwrap(), "--format", "html", "--query", rq.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("ASK query"), "{}", stderr(&o));
}

/// Per document id, its extractions, as one read of the store sees them.
const PER_DOCUMENT: &str = "SELECT ?id (COUNT(?x) AS ?n) WHERE { GRAPH ?d { ?d a kgx:Document ; kgx:documentId ?id . \
                            OPTIONAL { ?x a kgx:Extraction } } } GROUP BY ?id";

fn per_document(rows: &[Vec<String>]) -> BTreeMap<String, usize> {
    rows.iter().map(|r| (r[0].clone(), r[1].parse().unwrap())).collect()
}

/// Reads during an extraction answer from the state the run last published:
/// whole documents only, never fewer than an earlier answer saw; a second
/// writer is still refused; with `--publish-every 0` readers are refused.
#[test]
fn queries_during_an_extraction_see_only_committed_states_that_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap();
    let mut writer = kgx()
        .args(["extract", "--quiet", "--device", "cpu", "--chunk-sentences", "8", "--publish-every", "0.2", "--store", store_arg])
        .args(SAMPLES)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut answers: Vec<(BTreeMap<String, usize>, f64)> = Vec::new();
    let mut refused_writer = false;
    while writer.try_wait().unwrap().is_none() {
        let asked = Instant::now();
        let o = run(&["query", "--store", store_arg, "--format", "csv", "-e", PER_DOCUMENT]);
        if !o.status.success() {
            // Only the moments the lock is taken or given back, with no snapshot published.
            assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
            continue;
        }
        let mut reader = csv::ReaderBuilder::new().from_reader(o.stdout.as_slice());
        let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
        let said = stderr(&o);
        if let Some(at) = said.split("reading the state it committed at ").nth(1).and_then(|rest| rest.split(' ').next()) {
            let published = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap();
            let stale = (time::OffsetDateTime::now_utc() - published).as_seconds_f64() - asked.elapsed().as_secs_f64();
            answers.push((per_document(&rows), stale));
        }
        if !refused_writer && answers.len() == 3 {
            let second = extract(&store, &["samples/oie2016_dev_excerpt.txt"], &[]);
            assert_eq!(second.status.code(), Some(5), "a second writer is refused: {}", stderr(&second));
            let stats = run(&["stats", "--store", store_arg]);
            assert!(stats.status.success(), "stats during the run: {}", stderr(&stats));
            refused_writer = true;
        }
    }
    let finished = writer.wait_with_output().unwrap();
    assert!(finished.status.success(), "{}", String::from_utf8_lossy(&finished.stderr));
    let run_secs = started.elapsed().as_secs_f64();
    let last = per_document(&select(&store, PER_DOCUMENT));
    assert!(answers.len() >= 5, "only {} answers during a {run_secs:.1} s run", answers.len());
    assert!(refused_writer);
    let distinct: std::collections::BTreeSet<usize> = answers.iter().map(|(a, _)| a.len()).collect();
    assert!(distinct.len() >= 3, "answers saw only {distinct:?} document counts: the run published too rarely");
    for pair in answers.windows(2) {
        assert!(pair[0].0.keys().all(|id| pair[1].0.contains_key(id)), "a later answer lost documents");
    }
    for (answer, _) in &answers {
        for (id, n) in answer {
            assert_eq!(Some(n), last.get(id), "document {id} was read with {n} extractions, stored with {:?}", last.get(id));
        }
    }
    let stalest = answers.iter().map(|(_, s)| *s).fold(0.0, f64::max);
    assert!(stalest < 30.0, "an answer read a state {stalest:.1} s old");
    println!(
        "{} answers from snapshots during a {run_secs:.1} s extraction ({} documents at the end); document counts seen: {:?}; \
         oldest state read: {stalest:.2} s before the query started",
        answers.len(),
        last.len(),
        distinct
    );
    // With publishing off, a reader is refused as before, naming the holder.
    let mut quiet_writer = kgx()
        .args(["extract", "--quiet", "--device", "cpu", "--input-format", "lines", "--publish-every", "0", "--store", store_arg, "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(store.join("kgx.lock")).is_ok_and(|s| s.contains(&format!("pid {}", quiet_writer.id()))) {
        assert!(Instant::now() < deadline, "the second run never took the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let q = run(&["query", "--store", store_arg, "-e", "ASK {}"]);
    assert_eq!(q.status.code(), Some(5), "{}", stderr(&q));
    assert!(stderr(&q).contains(&format!("pid {}", quiet_writer.id())), "{}", stderr(&q));
    drop(quiet_writer.stdin.take());
    assert!(quiet_writer.wait().unwrap().success());
    assert!(!store.join("snapshots").exists() || std::fs::read_dir(store.join("snapshots")).unwrap().next().is_none(), "snapshots left");
}
