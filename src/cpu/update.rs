//! The SGD update of one layer, in place.

use super::matmul::matmul_tn_acc;

/// `W ← W − s · A_inᵀ . D` and `b ← b − s · Σ_rows D`: `a_in` is
/// `rows x n_in`, `delta` is `rows x n_out`, `w` is `n_in x n_out`. The bias
/// sums run over rows in order, so the result does not depend on threads.
#[allow(clippy::too_many_arguments)]
pub fn sgd_update(
    w: &mut [f32],
    bias: Option<&mut [f32]>,
    a_in: &[f32],
    delta: &[f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
    step: f32,
) {
    matmul_tn_acc(a_in, delta, w, n_in, rows, n_out, -step);
    if let Some(b) = bias {
        let sums = column_sums(&delta[..rows * n_out], n_out);
        for (b, s) in b.iter_mut().zip(sums) {
            *b -= step * s;
        }
    }
}

/// Column sums of a row-major matrix with `cols` columns, row by row in order.
fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; cols];
    for row in m.chunks_exact(cols) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    sums
}
