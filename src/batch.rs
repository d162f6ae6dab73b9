//! Batch stage: model sequences -> padded batches filled up to a token budget.
//!
//! Takes: the length of every model sequence of a chunk. Gives: groups of
//! sequence indices, sorted by length so that sequences of similar length
//! share a batch (little padding), each group costing at most
//! `token_budget` padded tokens (longest x count) and holding at most
//! `max_sequences`; then [`ModelBatch`], the padded i64 input arrays.
//! Invariants: every index appears in exactly one group; a sequence longer
//! than the budget still gets a group of its own.

use ndarray::Array2;

/// How batches are filled.
#[derive(Debug, Clone, Copy)]
pub struct BatchPolicy {
    /// Padded tokens per batch (longest sequence x number of sequences).
    pub token_budget: usize,
    pub max_sequences: usize,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        Self { token_budget: 4096, max_sequences: 256 }
    }
}

/// Groups sequence indices into batches (see module docs).
pub fn plan_batches(lengths: &[usize], policy: BatchPolicy) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted ascending, so the newcomer is the longest.
        let cost = lengths[i] * (current.len() + 1);
        if !current.is_empty() && (cost > policy.token_budget || current.len() >= policy.max_sequences) {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
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
        let policy = BatchPolicy { token_budget: 512, max_sequences: 32 };
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
        let batches = plan_batches(&[3, 1000, 4], BatchPolicy { token_budget: 100, max_sequences: 8 });
        assert_eq!(batches, vec![vec![0, 2], vec![1]]);
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
