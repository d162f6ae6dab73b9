//! Model inputs: padded `[rows, width]` arrays of one batch, as a
//! [`crate::model::Tagger`] reads them.
//!
//! Takes: each row's token ids (special tokens included) and the pad id.
//! Gives: [`ModelBatch`]: input ids, attention mask, token types (the
//! predicate marker of predicate-indexed models) and, for a layered model's
//! marked passes, the hidden state they start from.
//! Invariants: row `r` holds sequence `rows[r]` of its chunk; the mask is 1
//! exactly over each row's first `lengths[r]` columns.

use ndarray::Array2;

use super::io::HiddenInput;

/// Padded model inputs for one batch; row `r` holds sequence `rows[r]`.
#[derive(Debug, Clone)]
pub struct ModelBatch {
    pub input_ids: Array2<i64>,
    pub attention_mask: Array2<i64>,
    pub token_type_ids: Array2<i64>,
    /// Layered models' marked passes: the hidden state they start from
    /// (None for token inputs).
    pub hidden: Option<HiddenInput>,
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
