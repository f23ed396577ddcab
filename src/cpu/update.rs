//! Updates of one layer, in place: the fused SGD update, and for other
//! optimizers the gradient product followed by the optimizer's step.

use rayon::prelude::*;

use super::forward::PARALLEL_ELEMENTS;
use super::matmul::matmul_tn_acc;
use crate::optimizer::{Optimizer, UpdateRule};

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

/// The gradient of `[W; b]`: `grad = scale · [A_in, 1]ᵀ . D`, the weights'
/// `n_in x n_out` values row-major, then (with `has_bias`) the bias's
/// `n_out` as one more row. `scale` is `1 / rows` (mean) or 1 (sum).
#[allow(clippy::too_many_arguments)]
pub fn weight_gradient(
    grad: &mut [f32],
    has_bias: bool,
    a_in: &[f32],
    delta: &[f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
    scale: f32,
) {
    let (gw, gb) = grad.split_at_mut(n_in * n_out);
    gw.fill(0.0);
    matmul_tn_acc(a_in, delta, gw, n_in, rows, n_out, scale);
    if has_bias {
        let sums = column_sums(&delta[..rows * n_out], n_out);
        for (g, s) in gb[..n_out].iter_mut().zip(sums) {
            *g = scale * s;
        }
    }
}

/// One optimizer step over `values` with gradient `grad` and the state
/// `first` (velocity, Adam's m) and `second` (Adam's v), each as long as
/// `values` where the optimizer keeps it (see [`crate::optimizer`] for the
/// rule). The twin of optimizer.wgsl; the same f32 operations in the same
/// order.
pub fn optimizer_update(
    values: &mut [f32],
    grad: &[f32],
    first: &mut [f32],
    second: &mut [f32],
    rule: &UpdateRule,
) {
    let step = |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
        let lambda = rule.weight_decay;
        match rule.optimizer {
            Optimizer::Sgd => {
                for (w, &g) in w.iter_mut().zip(g) {
                    let g = g + lambda * *w;
                    *w -= rule.lr * g;
                }
            }
            Optimizer::Momentum { momentum, nesterov } => {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    let g = g + lambda * *w;
                    *m = momentum * *m + g;
                    let u = if nesterov { g + momentum * *m } else { *m };
                    *w -= rule.lr * u;
                }
            }
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let g = g + lambda * *w;
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * (g * g);
                    let m_hat = *m * rule.correction1;
                    let v_hat = *v * rule.correction2;
                    *w -= rule.lr * (m_hat / (v_hat.sqrt() + epsilon));
                }
            }
        }
    };
    let n = values.len();
    if n < PARALLEL_ELEMENTS {
        return step(values, grad, first, second);
    }
    // Slices the optimizer does not keep are empty: give each chunk an
    // empty slice then.
    let chunk = PARALLEL_ELEMENTS / 4;
    fn split(s: &mut [f32], n: usize, chunk: usize) -> Vec<&mut [f32]> {
        if s.is_empty() {
            (0..n.div_ceil(chunk))
                .map(|_| <&mut [f32]>::default())
                .collect()
        } else {
            s.chunks_mut(chunk).collect()
        }
    }
    let (firsts, seconds) = (split(first, n, chunk), split(second, n, chunk));
    values
        .par_chunks_mut(chunk)
        .zip(grad.par_chunks(chunk))
        .zip(firsts)
        .zip(seconds)
        .for_each(|(((w, g), m), v)| step(w, g, m, v));
}
