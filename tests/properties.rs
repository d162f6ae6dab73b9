//! Property tests ("fuzzing" on stable Rust: cargo-fuzz needs a nightly
//! toolchain this project does not install) for the stages that see user
//! data: reader/splitter, decoder/assembler, IRI minting and label escaping.
//!
//! `cargo test --release --test properties` runs each property on a few
//! hundred random cases. `KGX_FUZZ_SECONDS=600 cargo test --release --test
//! properties -- --ignored` runs each for that long (see tests/fuzz/RUNS.md).
//! Failing cases proptest finds are kept in `proptest-regressions/` and
//! replayed first on every run.

use std::time::{Duration, Instant};

use kgx::export::graphml::xml_escape;
use kgx::iri::{mint, normalise};
use kgx::model::tokenizer::windows;
use kgx::model::{EncodedSentence, Roles, Window};
use kgx::pipeline::assemble::assemble;
use kgx::pipeline::decode::{merge_windows, softmax_rows, spans, word_tags};
use kgx::pipeline::read::decode_text;
use kgx::pipeline::split::split_sentences;
use oxigraph::io::{RdfFormat, RdfParser, RdfSerializer};
use oxigraph::model::{Literal, NamedNode, Triple};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const ROLES: Roles = Roles { outside: 0, source: 1, relation: 2, target: 3 };

/// Text with the characters that break naive code: markup, quotes, escapes,
/// newlines, abbreviations, CJK, RTL, zero-width, emoji, control chars.
fn nasty_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "Dr.",
        "U.S.",
        "e.g.",
        "3.14",
        "Mr. Smith",
        ".",
        "!",
        "?",
        "...",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        "<",
        ">",
        "\"",
        "'",
        "\\",
        "^^",
        "@prefix",
        "]]>",
        "&",
        "東京",
        "שלום",
        "\u{202e}",
        "\u{200b}",
        "\u{feff}",
        "👍🏽",
        "\u{0}",
        "\u{1b}",
        "the film",
        "was directed by",
        "Paris",
        "a",
        "Z",
        "é",
        "e\u{301}",
    ]);
    prop::collection::vec(prop_oneof![pieces.prop_map(String::from), "[a-zA-Z]{1,8}", any::<char>().prop_map(|c| c.to_string())], 0..40)
        .prop_map(|v| v.concat())
}

fn split_property(text: &str) -> Result<(), TestCaseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut last_end = 0;
    for s in split_sentences(text) {
        prop_assert!(s.start >= last_end && s.start < s.end && s.end <= chars.len());
        prop_assert_eq!(chars[s.start..s.end].iter().collect::<String>(), s.text.clone());
        prop_assert!(!s.text.trim().is_empty());
        last_end = s.end;
    }
    Ok(())
}

fn reader_property(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    if let Ok(text) = decode_text(bytes, "fuzz") {
        const BOM: char = '\u{feff}';
        let clean = !text.contains('\0') && !text.contains('\r') && !text.starts_with(BOM);
        prop_assert!(clean, "decoded text keeps NUL, CR or BOM");
        split_property(&text)?;
    }
    Ok(())
}

/// A random encoded sentence over `text` with random logits per token.
fn decode_case() -> impl Strategy<Value = (String, Vec<usize>, Vec<f32>, usize)> {
    ("[a-zé东 ]{0,60}", prop::collection::vec(0usize..3, 0..80), prop::collection::vec(-20.0f32..20.0, 0..400), 4usize..40)
}

fn decode_property(text: String, pieces: Vec<usize>, raw: Vec<f32>, window_len: usize) -> Result<(), TestCaseError> {
    let n_chars = text.chars().count();
    // Tokens: consecutive char ranges; `pieces[i] == 0` starts a new word.
    let mut enc = EncodedSentence::default();
    let (mut pos, mut word) = (0usize, 0u32);
    for (i, p) in pieces.iter().enumerate() {
        if pos >= n_chars {
            break;
        }
        if i > 0 && *p == 0 {
            word += 1;
        }
        let end = (pos + 1 + p).min(n_chars);
        enc.ids.push(1);
        enc.offsets.push((pos, end));
        enc.word_ids.push(word);
        pos = end;
    }
    let labels = 4;
    let ws: Vec<Window> = windows(enc.len(), window_len);
    let rows: Vec<Vec<f32>> = ws
        .iter()
        .map(|w| {
            let mut v: Vec<f32> = (0..w.len() * labels).map(|i| raw.get(i % raw.len().max(1)).copied().unwrap_or(0.0)).collect();
            softmax_rows(&mut v, labels);
            v
        })
        .collect();
    let refs: Vec<(Window, &[f32])> = ws.iter().copied().zip(rows.iter().map(Vec::as_slice)).collect();
    let probs = merge_windows(enc.len(), labels, &refs);
    prop_assert_eq!(probs.len(), enc.len() * labels);
    let words = word_tags(&enc, &probs, labels);
    let found = spans(&words, 0);
    for pair in found.windows(2) {
        prop_assert!(pair[0].end <= pair[1].start, "spans overlap: {:?}", pair);
    }
    for s in &found {
        prop_assert!(s.start < s.end && s.end <= n_chars && (0.0..=1.0001).contains(&s.confidence));
    }
    let chars: Vec<char> = text.chars().collect();
    for t in assemble(&text, &found, ROLES) {
        for m in [&t.source, &t.relation, &t.target] {
            prop_assert_eq!(chars[m.start..m.end].iter().collect::<String>(), m.text.clone());
        }
    }
    Ok(())
}

fn iri_and_label_property(text: String) -> Result<(), TestCaseError> {
    let n = normalise(&text);
    prop_assert_eq!(normalise(&n), n.clone(), "normalise is idempotent");
    if let Some(iri) = mint("https://kgx.invalid/", "entity", &text) {
        prop_assert!(NamedNode::new(&iri).is_ok(), "invalid IRI {}", iri);
        prop_assert_eq!(Some(iri), mint("https://kgx.invalid/", "entity", &n), "same key for the normalised text");
    } else {
        prop_assert!(n.is_empty());
    }
    // Labels survive N-Triples and Turtle serialisation whatever they hold.
    let node = NamedNode::new_unchecked("https://kgx.invalid/entity/x");
    let triple = Triple::new(node.clone(), node.clone(), Literal::new_simple_literal(&text));
    for format in [RdfFormat::NTriples, RdfFormat::Turtle] {
        let mut w = RdfSerializer::from_format(format).for_writer(Vec::new());
        w.serialize_triple(&triple).unwrap();
        let bytes = w.finish().unwrap();
        let back: Vec<_> =
            RdfParser::from_format(format).for_slice(&bytes).collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(&back[0].object, &triple.object);
    }
    let escaped = xml_escape(&text);
    prop_assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('"'));
    prop_assert!(escaped.chars().all(|c| c == '\t' || c == '\n' || c == '\r' || (c as u32) >= 0x20));
    Ok(())
}

proptest! {
    #![proptest_config(Config::with_cases(512))]
    #[test]
    fn reader_and_splitter_never_panic_and_keep_offsets(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        reader_property(bytes)?;
    }
    #[test]
    fn splitter_keeps_offsets_on_nasty_text(text in nasty_text()) {
        split_property(&text)?;
    }
    #[test]
    fn decoder_and_assembler_keep_spans_inside_the_sentence((text, pieces, raw, window_len) in decode_case()) {
        decode_property(text, pieces, raw, window_len)?;
    }
    #[test]
    fn iris_are_valid_and_labels_round_trip(text in nasty_text()) {
        iri_and_label_property(text)?;
    }
}

/// Runs `property` on fresh random cases until the time budget is spent.
/// `share` is the part of the KGX_FUZZ_SECONDS budget (default 10 s) it gets.
fn run_for<S: Strategy>(name: &str, share: f64, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let budget: f64 = std::env::var("KGX_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let seconds = (budget * share).ceil() as u64;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cases = std::sync::atomic::AtomicU64::new(0);
    let counted = |v: S::Value| {
        cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        property(v)
    };
    while Instant::now() < deadline {
        // A fresh runner per round: new random seed, new cases.
        let mut runner = TestRunner::new(Config { cases: 2000, failure_persistence: None, ..Config::default() });
        runner.run(&strategy, counted).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    eprintln!("fuzz {name}: {} cases in {seconds} s, no failure", cases.into_inner());
}

#[test]
#[ignore = "long run: KGX_FUZZ_SECONDS=600 cargo test --release --test properties -- --ignored"]
fn fuzz_reader_and_splitter() {
    run_for("reader_splitter", 0.5, prop::collection::vec(any::<u8>(), 0..2000), reader_property);
    run_for("splitter_nasty", 0.5, nasty_text(), |t| split_property(&t));
}

#[test]
#[ignore = "long run"]
fn fuzz_decoder_and_assembler() {
    run_for("decoder_assembler", 1.0, decode_case(), |(a, b, c, d)| decode_property(a, b, c, d));
}

#[test]
#[ignore = "long run"]
fn fuzz_iri_and_label_escaping() {
    run_for("iri_labels", 1.0, nasty_text(), iri_and_label_property);
}
