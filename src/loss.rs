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
//!   For the reported value `ŷ` is clamped to `[1e-7, 1 − 1e-7]` so a
//!   saturated output gives a large finite loss, not infinity.
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
}

/// Clamp for the BCE value: keeps `ln` finite for saturated outputs.
pub(crate) const BCE_EPSILON: f32 = 1e-7;

impl Loss {
    /// The loss of one output value against its target.
    #[inline]
    pub fn value(self, y_hat: f32, y: f32) -> f64 {
        match self {
            Loss::Mse => {
                let e = (y_hat - y) as f64;
                0.5 * e * e
            }
            Loss::Bce => {
                let p = y_hat.clamp(BCE_EPSILON, 1.0 - BCE_EPSILON) as f64;
                let y = y as f64;
                -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            }
        }
    }

    /// Sum of the per-sample losses over a batch (row-major `ŷ` and `y`).
    pub fn sum(self, y_hat: &[f32], y: &[f32]) -> f64 {
        y_hat.iter().zip(y).map(|(&p, &t)| self.value(p, t)).sum()
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Bce => "bce",
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
