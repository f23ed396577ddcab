//! Forward step of one layer: `A_out = act(A_in . W + b)`.

use super::matmul::matmul;
use crate::activation::Activation;

/// `out = act(a_in . w + bias)`: `a_in` is `rows x n_in`, `w` is
/// `n_in x n_out`, `bias` has `n_out` values, `out` is `rows x n_out`; all
/// row-major. The product goes through gemm, then bias and activation are
/// applied in one pass over `out`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_bias_act(
    a_in: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    out: &mut [f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    let out = &mut out[..rows * n_out];
    matmul(a_in, w, out, rows, n_in, n_out);
    for row in out.chunks_exact_mut(n_out) {
        match bias {
            Some(b) => {
                for (z, &b) in row.iter_mut().zip(b) {
                    *z = activation.apply(*z + b);
                }
            }
            None => {
                for z in row.iter_mut() {
                    *z = activation.apply(*z);
                }
            }
        }
    }
}
