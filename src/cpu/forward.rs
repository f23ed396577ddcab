//! Forward step of one layer: `A_out = act(A_in . W + b)`.

use rayon::prelude::*;

use super::matmul::matmul;
use crate::activation::Activation;

/// Below this many values an element-wise pass stays on one thread: handing
/// out work costs more than it saves.
pub(crate) const PARALLEL_ELEMENTS: usize = 1 << 15;

/// Apply `f` to each row of `m` (`cols` wide), on rayon's threads when `m`
/// is large.
pub(crate) fn for_each_row(m: &mut [f32], cols: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if m.len() < PARALLEL_ELEMENTS {
        m.chunks_exact_mut(cols)
            .enumerate()
            .for_each(|(i, r)| f(i, r));
    } else {
        // Blocks of rows, so each task has enough work.
        let rows_per_task = (PARALLEL_ELEMENTS / 4 / cols).max(1);
        m.par_chunks_mut(rows_per_task * cols)
            .enumerate()
            .for_each(|(t, block)| {
                for (i, r) in block.chunks_exact_mut(cols).enumerate() {
                    f(t * rows_per_task + i, r);
                }
            });
    }
}

/// `out = act(a_in . w + bias)`: `a_in` is `rows x n_in`, `w` is
/// `n_in x n_out`, `bias` has `n_out` values, `out` is `rows x n_out`; all
/// row-major. The product goes through gemm, then bias and activation are
/// applied in one pass over `out`, split over threads when it is large.
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
    for_each_row(out, n_out, |_, row| match bias {
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
    });
}

/// The output layer's activation from its logits `z` (`rows x n`, where
/// the product put them; kept for the loss): `out = act(z)` value by value,
/// or for softmax per row `out = e^(z − lse(z))` with
/// `lse(z) = max z + ln Σ e^(z − max z)`. The twin of
/// output_activation.wgsl.
pub fn output_activation(z: &[f32], activation: Activation, out: &mut [f32], n: usize) {
    let out = &mut out[..z.len()];
    if activation != Activation::Softmax {
        for (o, &z) in out.iter_mut().zip(z) {
            *o = activation.apply(z);
        }
        return;
    }
    for (z, o) in z.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
        let lse = max + sum.ln();
        for (&z, o) in z.iter().zip(o.iter_mut()) {
            *o = (z - lse).exp();
        }
    }
}
