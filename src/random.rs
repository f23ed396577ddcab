//! Seeded randomness that gives the same numbers on every machine, run and
//! version: ChaCha8 (value-stable by contract) and our own conversions to
//! floats and bounded integers, so no library's distribution code can change
//! a network or a batch order under a user.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded stream of random numbers.
pub(crate) struct Stream(ChaCha8Rng);

impl Stream {
    pub(crate) fn new(seed: u64) -> Self {
        Stream(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Stream number `stream` of the generator seeded with `seed`: separate
    /// streams are independent, so epoch `e` of a shuffled run can be drawn
    /// without drawing the epochs before it.
    pub(crate) fn with_stream(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Stream(rng)
    }

    /// Uniform in [-1, 1): `2u − 1` with `u` a multiple of 2⁻²⁴ in [0, 1),
    /// exact in f32 (the lesson's `np.random.uniform(-1, 1)`, the notebook's
    /// `2 * random − 1`).
    pub(crate) fn uniform_pm1(&mut self) -> f32 {
        let u = (self.0.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0);
        2.0 * u - 1.0
    }

    /// Uniform integer in `0..n` (`n > 0`), unbiased (Lemire's method).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.0.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Shuffle in place (Fisher–Yates, from the last element down).
    pub(crate) fn shuffle(&mut self, items: &mut [u32]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
