//! Test helpers: seeded random data, the naive matmul oracle, closeness.

#![allow(dead_code)]

use neurona::Network;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A `rows x cols` matrix of values uniform in `[lo, hi)`, from `seed`.
pub fn random_matrix(seed: u64, rows: usize, cols: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows * cols).map(|_| rng.random_range(lo..hi)).collect()
}

/// The oracle: `a (m x k) . b (k x n)` by the triple loop, in f64.
pub fn matmul_naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            let a_ip = a[i * k + p] as f64;
            for j in 0..n {
                out[i * n + j] += a_ip * b[p * n + j] as f64;
            }
        }
    }
    out
}

/// The transpose of a row-major `rows x cols` matrix.
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// Assert `|got − want| <= atol + rtol · |want|` everywhere; on failure,
/// report the first mismatches with their index.
#[track_caller]
pub fn assert_close(name: &str, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: lengths differ");
    let bad: Vec<String> = got
        .iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (g, w))| !g.is_finite() || ((**g as f64) - **w).abs() > atol + rtol * w.abs())
        .take(5)
        .map(|(i, (g, w))| format!("  [{i}] got {g} want {w}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{name}: mismatches (atol {atol}, rtol {rtol}):\n{}",
        bad.join("\n")
    );
}

/// Shapes `(rows, n_in, n_out)` for step tests: width 1, and sizes that are
/// not round, so every edge of gemm's blocking runs.
pub const SHAPES: [(usize, usize, usize); 7] = [
    (1, 1, 1),
    (1, 7, 1),
    (5, 3, 1),
    (4, 1, 9),
    (37, 53, 29),
    (67, 130, 3),
    (129, 65, 97),
];

/// The notebook's data: `data_entrenamiento_x`, `data_entrenamiento_y`.
pub fn notebook_data() -> (neurona::Matrix, neurona::Matrix) {
    neurona::notebook::data()
}

/// The notebook's network with its weights after `np.random.seed(1)`.
pub fn notebook_network() -> Network {
    neurona::notebook::network()
}
