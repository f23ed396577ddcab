//! Backward steps: the deltas `D = ∂loss/∂Z` of each layer, where
//! `Z = A_in . W + b` is the layer's pre-activation.

use super::forward::for_each_row;
use super::matmul::matmul_nt;
use crate::activation::{Activation, SigmoidDerivative};
use crate::loss::Loss;

/// Output delta `D_L = ∂loss/∂Ŷ ⊙ act'(Ŷ)`, element by element over
/// `y_hat`, `y` and `out` (same length).
///
/// MSE: `(ŷ − y) · act'(ŷ)`. BCE with a sigmoid output and the exact
/// derivative: `ŷ − y`, the closed form of `(ŷ − y) / (ŷ (1 − ŷ)) · ŷ (1 − ŷ)`
/// that cannot divide by zero. BCE with the notebook's derivative uses the
/// unsimplified product, with `ŷ` clamped as in [`Loss`]. Cross-entropy
/// with its softmax output: `ŷ − y`.
pub fn output_delta(
    y_hat: &[f32],
    y: &[f32],
    loss: Loss,
    activation: Activation,
    sigmoid: SigmoidDerivative,
    out: &mut [f32],
) {
    let fused_bce = loss == Loss::Bce
        && activation == Activation::Sigmoid
        && sigmoid == SigmoidDerivative::Exact;
    for ((d, &p), &t) in out.iter_mut().zip(y_hat).zip(y) {
        *d = match loss {
            Loss::Mse => (p - t) * activation.derivative(p, sigmoid),
            Loss::Bce if fused_bce => p - t,
            Loss::CrossEntropy => p - t,
            Loss::Bce => {
                let q = p.clamp(crate::loss::BCE_EPSILON, 1.0 - crate::loss::BCE_EPSILON);
                (p - t) / (q * (1.0 - q)) * activation.derivative(p, sigmoid)
            }
        };
    }
}

/// Hidden delta `D = (D_next . W_nextᵀ) ⊙ act'(A)`: `d_next` is
/// `rows x n_next`, `w_next` is `n x n_next` (the next layer's weights, from
/// before this step's update), `a` and `out` are `rows x n`.
#[allow(clippy::too_many_arguments)]
pub fn hidden_delta(
    d_next: &[f32],
    w_next: &[f32],
    a: &[f32],
    activation: Activation,
    sigmoid: SigmoidDerivative,
    out: &mut [f32],
    rows: usize,
    n: usize,
    n_next: usize,
) {
    let out = &mut out[..rows * n];
    matmul_nt(d_next, w_next, out, rows, n_next, n);
    if activation != Activation::Identity {
        for_each_row(out, n, |r, row| {
            for (d, &a) in row.iter_mut().zip(&a[r * n..(r + 1) * n]) {
                *d *= activation.derivative(a, sigmoid);
            }
        });
    }
}
