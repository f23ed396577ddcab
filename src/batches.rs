//! Which rows make up each mini-batch: in file order, or shuffled by a seeded
//! permutation per epoch. Both backends take their batches from here, so they
//! see the same rows in the same order.

use crate::random::Stream;

/// The order in which rows are taken into mini-batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchOrder {
    /// Rows in the order given, every epoch.
    #[default]
    InOrder,
    /// A fresh permutation each epoch, drawn from `seed`: epoch `e` uses
    /// [`shuffled_order`]`(rows, seed, e)`.
    Shuffled { seed: u64 },
}

/// The permutation of `0..rows` used in epoch `epoch` of a run shuffled with
/// `seed`: Fisher–Yates driven by stream `epoch` of ChaCha8 seeded with
/// `seed`. The same on every machine and every run.
///
/// ```
/// let order = neurona::shuffled_order(5, 42, 0);
/// let mut sorted = order.clone();
/// sorted.sort();
/// assert_eq!(sorted, [0, 1, 2, 3, 4]);
/// assert_eq!(order, neurona::shuffled_order(5, 42, 0));
/// ```
pub fn shuffled_order(rows: usize, seed: u64, epoch: u64) -> Vec<u32> {
    let mut order: Vec<u32> = (0..rows as u32).collect();
    Stream::with_stream(seed, epoch).shuffle(&mut order);
    order
}

/// The row ranges of one epoch's batches: `[start, end)` into the epoch's
/// order, every batch `size` rows but the last, which takes what is left.
pub(crate) fn batch_ranges(rows: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..rows.div_ceil(size)).map(move |b| (b * size, ((b + 1) * size).min(rows)))
}
