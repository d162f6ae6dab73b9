//! Batch stage: model sequences -> padded batches filled up to a token budget.
//!
//! Takes: the length of every model sequence of a chunk. Gives: groups of
//! sequence indices, sorted by length so that sequences of similar length
//! share a batch, each group costing at most `token_budget` padded tokens
//! (longest x count) and holding at most `max_sequences`; among all such
//! groupings of the sorted sequences, the one with the fewest padded tokens
//! plus `batch_cost` tokens a batch (the fixed cost of one model call), so a
//! chunk with many sequences of one length gets batches of exactly that
//! length rather than batches cut at a fixed count; then each group's
//! [`ModelBatch`], the padded i64 input arrays.
//! Sequences may come in groups that no batch mixes (a layered model's
//! marked passes on CUDA each read one first-graph batch's hidden state).
//! Invariants: every index appears in exactly one group; a sequence longer
//! than the budget still gets a group of its own.

use crate::model::{EncodedSentence, ModelBatch, SentenceEncoder, Window};

/// How batches are filled.
#[derive(Debug, Clone, Copy)]
pub struct BatchPolicy {
    /// Padded tokens per batch (longest sequence x number of sequences).
    pub token_budget: usize,
    pub max_sequences: usize,
    /// What one more batch costs, in padded tokens: small where a model
    /// call's fixed cost is small against its tokens' (CPU), large where
    /// it is not (GPU, where fuller batches win).
    pub batch_cost: usize,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        Self { token_budget: 4096, max_sequences: 256, batch_cost: 8 }
    }
}

/// Groups sequence indices into batches (see module docs): the sequences
/// sorted by length, cut where the total cost (padded tokens + `batch_cost`
/// per batch) is least, by dynamic programming over the cut points
/// (`O(n x max_sequences)`).
pub fn plan_batches(lengths: &[usize], policy: BatchPolicy) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let n = order.len();
    let max_rows = policy.max_sequences.max(1);
    // best[i]: least cost of batching the i shortest; cut[i]: where the last batch starts.
    let mut best = vec![usize::MAX; n + 1];
    let mut cut = vec![0; n + 1];
    best[0] = 0;
    for i in 1..=n {
        // Sorted ascending: a batch ending at i is as wide as sequence i - 1.
        let width = lengths[order[i - 1]];
        for rows in 1..=max_rows.min(i) {
            if rows > 1 && rows * width > policy.token_budget {
                break;
            }
            let cost = best[i - rows].saturating_add(rows * width + policy.batch_cost);
            if cost < best[i] {
                best[i] = cost;
                cut[i] = i - rows;
            }
        }
    }
    let mut batches = Vec::new();
    let mut end = n;
    while end > 0 {
        batches.push(order[cut[end]..end].to_vec());
        end = cut[end];
    }
    batches.reverse();
    batches
}

/// [`plan_batches`] within groups: `group[i]` of each sequence; no batch
/// holds two groups' sequences. Groups come in ascending order.
pub fn plan_batches_within(lengths: &[usize], group: &[usize], policy: BatchPolicy) -> Vec<Vec<usize>> {
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, &g) in group.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let mut batches = Vec::new();
    for indices in members.into_values() {
        let lengths: Vec<usize> = indices.iter().map(|&i| lengths[i]).collect();
        batches.extend(plan_batches(&lengths, policy).into_iter().map(|batch| batch.into_iter().map(|j| indices[j]).collect()));
    }
    batches
}

/// Padded batches of model sequences `(index into encoded, window)`, each
/// window wrapped in the tokenizer's special tokens; with `group`, batched
/// within groups ([`plan_batches_within`]).
pub fn build_batches(
    tokenizer: &SentenceEncoder,
    encoded: &[EncodedSentence],
    sequences: &[(usize, Window)],
    group: Option<&[usize]>,
    policy: BatchPolicy,
) -> Vec<ModelBatch> {
    let special = tokenizer.special_len();
    let pad_id = tokenizer.pad_id();
    let lengths: Vec<usize> = sequences.iter().map(|(_, w)| w.len() + special).collect();
    let mut ids_buf = Vec::new();
    let planned = match group {
        Some(group) => plan_batches_within(&lengths, group, policy),
        None => plan_batches(&lengths, policy),
    };
    planned
        .into_iter()
        .map(|rows| {
            let seqs: Vec<Vec<u32>> = rows
                .iter()
                .map(|&q| {
                    let (s, w) = sequences[q];
                    tokenizer.model_input(&encoded[s], w, &mut ids_buf);
                    ids_buf.clone()
                })
                .collect();
            let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
            ModelBatch::from_sequences(rows, &refs, pad_id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sequence_in_exactly_one_batch_within_budget() {
        let lengths: Vec<usize> = (0..500).map(|i| 5 + (i * 37) % 60).collect();
        let policy = BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 8 };
        let batches = plan_batches(&lengths, policy);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..500).collect::<Vec<_>>());
        for b in &batches {
            let longest = b.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(longest * b.len() <= 512 && b.len() <= 32);
        }
    }

    #[test]
    fn oversized_sequence_gets_its_own_batch() {
        let batches = plan_batches(&[3, 1000, 4], BatchPolicy { token_budget: 100, max_sequences: 8, batch_cost: 8 });
        assert_eq!(batches, vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn sequences_of_one_length_share_a_batch_instead_of_being_cut_at_a_count() {
        // 20 sequences of length 10 then 20 of length 11, at most 32 a batch:
        // cutting at 32 would pad 12 of the short ones to 11.
        let lengths: Vec<usize> = (0..40).map(|i| if i < 20 { 10 } else { 11 }).collect();
        let batches = plan_batches(&lengths, BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 8 });
        assert_eq!(batches, vec![(0..20).collect::<Vec<_>>(), (20..40).collect()]);
    }

    #[test]
    fn a_high_batch_cost_fills_batches_instead() {
        // 10 sequences each of lengths 10, 11 and 12: three exact batches pad
        // nothing, one batch pads 30 tokens.
        let lengths: Vec<usize> = (0..30).map(|i| 10 + i / 10).collect();
        let cheap = plan_batches(&lengths, BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 8 });
        assert_eq!(cheap.len(), 3);
        let dear = plan_batches(&lengths, BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 1000 });
        assert_eq!(dear, vec![(0..30).collect::<Vec<_>>()]);
    }

    #[test]
    fn never_costs_more_than_filling_each_batch_in_turn() {
        // The planner this one replaced: fill a batch until the next sequence breaks a limit.
        fn greedy(lengths: &[usize], policy: BatchPolicy) -> Vec<Vec<usize>> {
            let mut order: Vec<usize> = (0..lengths.len()).collect();
            order.sort_by_key(|&i| (lengths[i], i));
            let mut batches: Vec<Vec<usize>> = Vec::new();
            for i in order {
                match batches.last_mut() {
                    Some(b) if b.len() < policy.max_sequences && lengths[i] * (b.len() + 1) <= policy.token_budget => b.push(i),
                    _ => batches.push(vec![i]),
                }
            }
            batches
        }
        let cost = |batches: &[Vec<usize>], lengths: &[usize], policy: BatchPolicy| -> usize {
            batches.iter().map(|b| b.len() * b.iter().map(|&i| lengths[i]).max().unwrap() + policy.batch_cost).sum()
        };
        for seed in 0..20usize {
            let lengths: Vec<usize> = (0..300).map(|i| 3 + (i * 7919 + seed * 104_729) % 61).collect();
            for policy in [
                BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 8 },
                BatchPolicy { token_budget: 4096, max_sequences: 256, batch_cost: 500 },
            ] {
                let planned = plan_batches(&lengths, policy);
                assert!(cost(&planned, &lengths, policy) <= cost(&greedy(&lengths, policy), &lengths, policy));
            }
        }
    }

    #[test]
    fn batches_within_groups_never_mix_groups_and_hold_every_sequence_once() {
        let lengths = [5, 9, 5, 7, 5, 9, 12, 5];
        let group = [2, 0, 2, 1, 0, 0, 1, 2];
        let policy = BatchPolicy { token_budget: 20, max_sequences: 8, batch_cost: 8 };
        let batches = plan_batches_within(&lengths, &group, policy);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
        for batch in &batches {
            assert!(batch.iter().all(|&i| group[i] == group[batch[0]]), "{batch:?} mixes groups");
            assert!(batch.len() == 1 || batch.iter().map(|&i| lengths[i]).max().unwrap() * batch.len() <= 20);
        }
        // Groups in ascending order; within one, the same cut as plan_batches.
        let firsts: Vec<usize> = batches.iter().map(|b| group[b[0]]).collect();
        assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{firsts:?}");
        assert_eq!(plan_batches_within(&lengths, &[0; 8], policy), plan_batches(&lengths, policy));
    }

    #[test]
    fn no_batches_for_no_sequences() {
        assert!(plan_batches(&[], BatchPolicy::default()).is_empty());
    }
}
