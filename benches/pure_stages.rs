//! Criterion benchmarks of the pure stages (decode, assemble, IRI minting),
//! so that regressions show. `cargo bench --bench pure_stages`.

use criterion::{criterion_group, criterion_main, Criterion};
use kgx::model::{EncodedSentence, Roles, Window};
use kgx::pipeline::assemble::assemble;
use kgx::pipeline::decode::{merge_windows, softmax_rows, spans, word_tags};
use std::hint::black_box;

const LABELS: usize = 4;

/// A 40-token sentence of 30 words with a plausible SRC/REL/TGT pattern.
fn fixture() -> (String, EncodedSentence, Vec<f32>) {
    let words: Vec<String> = (0..30).map(|i| format!("word{i}")).collect();
    let text = words.join(" ");
    let mut enc = EncodedSentence::default();
    let mut pos = 0;
    for (w, word) in words.iter().enumerate() {
        let pieces = if w % 3 == 0 { 2 } else { 1 };
        for p in 0..pieces {
            let len = word.len() / pieces;
            let start = pos + p * len;
            let end = if p + 1 == pieces { pos + word.len() } else { start + len };
            enc.ids.push(100 + w as u32);
            enc.offsets.push((start, end));
            enc.word_ids.push(w as u32);
        }
        pos += word.len() + 1;
    }
    let mut logits = Vec::with_capacity(enc.len() * LABELS);
    for t in 0..enc.len() {
        let hot = match enc.word_ids[t] {
            0..=2 => 1,
            3..=4 => 2,
            5..=8 => 3,
            _ => 0,
        };
        logits.extend((0..LABELS).map(|l| if l == hot { 4.0 } else { 0.5 }));
    }
    (text, enc, logits)
}

fn bench(c: &mut Criterion) {
    let (text, enc, logits) = fixture();
    let roles = Roles { outside: 0, source: 1, relation: 2, target: 3 };
    c.bench_function("decode_sentence", |b| {
        b.iter(|| {
            let mut probs = logits.clone();
            softmax_rows(&mut probs, LABELS);
            let merged = merge_windows(enc.len(), LABELS, &[(Window { start: 0, end: enc.len() }, probs.as_slice())]);
            let words = word_tags(black_box(&enc), &merged, LABELS);
            black_box(spans(&words, 0))
        })
    });
    let mut probs = logits.clone();
    softmax_rows(&mut probs, LABELS);
    let found = spans(&word_tags(&enc, &probs, LABELS), 0);
    c.bench_function("assemble_sentence", |b| b.iter(|| black_box(assemble(black_box(&text), &found, roles))));
    c.bench_function("mint_iri", |b| {
        b.iter(|| black_box(kgx::iri::mint("https://kgx.invalid/", "entity", black_box("The  Eiffel Tower, Paris"))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
