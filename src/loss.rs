//! Loss functions: the value reported during training and the gradient the
//! backward pass starts from.
//!
//! Per sample, with prediction `ŷ` and target `y` over the output columns `j`:
//! - MSE: `½ Σ_j (ŷ_j − y_j)²`, gradient `ŷ − y`. The ½ makes the gradient
//!   plain `ŷ − y`, the notebook's error term; PyTorch's `MSELoss()` (mean
//!   over every element, no ½) is `2 / outputs` times this.
//! - BCE: `−Σ_j [y_j ln ŷ_j + (1 − y_j) ln(1 − ŷ_j)]`, for a sigmoid output
//!   and targets in [0, 1]. With the sigmoid its gradient through the
//!   activation simplifies to `ŷ − y`, which is what the backward pass uses.
//! - Cross-entropy: `−Σ_j y_j ln ŷ_j` for a softmax output and targets
//!   that are distributions over the classes (one-hot rows, usually); its
//!   gradient through the softmax is again `ŷ − y`.
//!
//! BCE and cross-entropy are computed from the output layer's logits `z`
//! (the values before the activation), never from `ŷ`, so a saturated
//! output gives its true large loss instead of `ln 0`:
//! BCE per value is `max(z, 0) − y z + ln(1 + e^−|z|)`, and cross-entropy
//! uses the log-softmax `z_j − lse(z)`, with the log-sum-exp
//! `lse(z) = max z + ln Σ_k e^(z_k − max z)` ([`Loss::sum_from_logits`]).
//!
//! The reported loss of a batch is the mean of the per-sample losses.

use std::fmt;

/// What training minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// Mean squared error, `½ Σ_j (ŷ_j − y_j)²` per sample.
    #[default]
    Mse,
    /// Binary cross-entropy, for a sigmoid output layer and targets in [0, 1].
    Bce,
    /// Categorical cross-entropy, for a softmax output layer and target rows
    /// that sum to 1.
    CrossEntropy,
}

/// Clamp for the BCE value: keeps `ln` finite for saturated outputs.
pub(crate) const BCE_EPSILON: f32 = 1e-7;

impl Loss {
    /// The loss of one output value against its target, from the
    /// prediction `ŷ` alone (clamped to `[1e-7, 1 − 1e-7]` for BCE and
    /// cross-entropy). Training reports the exact form from the logits,
    /// [`Loss::sum_from_logits`].
    #[inline]
    pub fn value(self, y_hat: f32, y: f32) -> f64 {
        let clamped = || y_hat.clamp(BCE_EPSILON, 1.0 - BCE_EPSILON) as f64;
        match self {
            Loss::Mse => {
                let e = (y_hat - y) as f64;
                0.5 * e * e
            }
            Loss::Bce => {
                let (p, y) = (clamped(), y as f64);
                -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            }
            Loss::CrossEntropy if y == 0.0 => 0.0,
            Loss::CrossEntropy => -(y as f64) * clamped().ln(),
        }
    }

    /// Sum of [`Loss::value`] over a batch (row-major `ŷ` and `y`).
    pub fn sum(self, y_hat: &[f32], y: &[f32]) -> f64 {
        y_hat.iter().zip(y).map(|(&p, &t)| self.value(p, t)).sum()
    }

    /// Whether this loss is computed from the logits rather than from `ŷ`.
    pub fn uses_logits(self) -> bool {
        self != Loss::Mse
    }

    /// The loss of a batch from the output's logits `z` (the values before
    /// the activation, `rows x cols` row-major) for BCE and cross-entropy,
    /// computed in f64: BCE `Σ max(z, 0) − y z + ln(1 + e^−|z|)`,
    /// cross-entropy `Σ_rows Σ_j y_j (lse(z) − z_j)`. For MSE, which has no
    /// use for logits, `z` is read as `ŷ` ([`Loss::sum`]).
    pub fn sum_from_logits(self, z: &[f32], y: &[f32], cols: usize) -> f64 {
        match self {
            Loss::Mse => self.sum(z, y),
            Loss::Bce => z
                .iter()
                .zip(y)
                .map(|(&z, &t)| {
                    let (z, t) = (z as f64, t as f64);
                    z.max(0.0) - t * z + (-z.abs()).exp().ln_1p()
                })
                .sum(),
            Loss::CrossEntropy => z
                .chunks_exact(cols)
                .zip(y.chunks_exact(cols))
                .map(|(z, t)| {
                    let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
                    let sum: f64 = z.iter().map(|&v| (v as f64 - max).exp()).sum();
                    let lse = max + sum.ln();
                    z.iter()
                        .zip(t)
                        .filter(|(_, t)| **t != 0.0)
                        .map(|(&z, &t)| t as f64 * (lse - z as f64))
                        .sum::<f64>()
                })
                .sum(),
        }
    }

    /// The id the WGSL kernels use (the generated prelude of
    /// src/gpu/shaders.rs).
    pub(crate) fn gpu_id(self) -> u32 {
        match self {
            Loss::Mse => 0,
            Loss::Bce => 1,
            Loss::CrossEntropy => 2,
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::CrossEntropy => "ce",
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
