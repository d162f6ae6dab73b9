//! Batch stage: model sequences -> padded batches filled up to a token budget.
//!
//! Takes: the length of every model sequence of a chunk. Gives: groups of
//! sequence indices, sorted by length so that sequences of similar length
//! share a batch, each group costing at most `token_budget` padded tokens
//! (longest x count) and holding at most `max_sequences`; among all such
//! groupings of the sorted sequences, the one with the fewest padded tokens
//! plus `batch_cost` tokens a batch (the fixed cost of one model call), so a
//! chunk with many sequences of one length gets batches of exactly that
//! length rather than batches cut at a fixed count; then [`ModelBatch`], the
//! padded i64 input arrays.
//! Invariants: every index appears in exactly one group; a sequence longer
//! than the budget still gets a group of its own.

use ndarray::Array2;

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

/// Padded model inputs for one batch; row `r` holds sequence `rows[r]`.
#[derive(Debug, Clone)]
pub struct ModelBatch {
    pub input_ids: Array2<i64>,
    pub attention_mask: Array2<i64>,
    pub token_type_ids: Array2<i64>,
    /// Layered models' marked passes: the hidden state `[rows, width,
    /// hidden width]` they start from (None for token inputs).
    pub hidden: Option<ndarray::Array3<f32>>,
    /// Sequence index (within the chunk) of each row.
    pub rows: Vec<usize>,
    /// Unpadded length of each row.
    pub lengths: Vec<usize>,
}

impl ModelBatch {
    /// Builds the arrays from each row's token ids; pads with `pad_id`.
    pub fn from_sequences(rows: Vec<usize>, sequences: &[&[u32]], pad_id: u32) -> Self {
        let width = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
        let n = sequences.len();
        let mut input_ids = Array2::from_elem((n, width), pad_id as i64);
        let mut attention_mask = Array2::zeros((n, width));
        for (r, seq) in sequences.iter().enumerate() {
            for (c, &id) in seq.iter().enumerate() {
                input_ids[[r, c]] = id as i64;
                attention_mask[[r, c]] = 1;
            }
        }
        let lengths = sequences.iter().map(|s| s.len()).collect();
        Self { input_ids, attention_mask, token_type_ids: Array2::zeros((n, width)), hidden: None, rows, lengths }
    }

    /// Sets token type 1 on `columns` of row `row` (the predicate marker of
    /// predicate-indexed models); columns past the row's length are ignored.
    pub fn mark(&mut self, row: usize, columns: std::ops::Range<usize>) {
        let end = columns.end.min(self.lengths[row]);
        for c in columns.start..end {
            self.token_type_ids[[row, c]] = 1;
        }
    }
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
            for policy in [BatchPolicy { token_budget: 512, max_sequences: 32, batch_cost: 8 }, BatchPolicy { token_budget: 4096, max_sequences: 256, batch_cost: 500 }] {
                let planned = plan_batches(&lengths, policy);
                assert!(cost(&planned, &lengths, policy) <= cost(&greedy(&lengths, policy), &lengths, policy));
            }
        }
    }

    #[test]
    fn no_batches_for_no_sequences() {
        assert!(plan_batches(&[], BatchPolicy::default()).is_empty());
    }

    #[test]
    fn padding_and_mask() {
        let b = ModelBatch::from_sequences(vec![7, 9], &[&[1, 2, 3], &[4]], 0);
        assert_eq!(b.input_ids.row(1).to_vec(), vec![4, 0, 0]);
        assert_eq!(b.attention_mask.row(1).to_vec(), vec![1, 0, 0]);
        assert_eq!(b.lengths, vec![3, 1]);
    }

    #[test]
    fn marking_sets_token_type_one_inside_the_row_only() {
        let mut b = ModelBatch::from_sequences(vec![0, 1], &[&[1, 2, 3, 4], &[5, 6]], 0);
        b.mark(0, 1..3);
        b.mark(1, 1..4);
        assert_eq!(b.token_type_ids.row(0).to_vec(), vec![0, 1, 1, 0]);
        assert_eq!(b.token_type_ids.row(1).to_vec(), vec![0, 1, 0, 0]);
    }
}
