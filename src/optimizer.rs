//! How the gradient becomes an update: [`Optimizer`] (SGD, momentum, Adam),
//! the learning-rate [`Schedule`], and the [`OptimizerState`] a run carries
//! from step to step (and a model file keeps, so training can resume
//! exactly).
//!
//! # The update of one value
//!
//! For each weight or bias `w` with gradient `g` (the batch's gradient,
//! reduced as [`crate::Reduction`] says), at step `t = 1, 2, ...`
//! with learning rate `lr_t` from the schedule, and L2 weight decay `λ`
//! added to the gradient of weights (not biases), `g ← g + λ w`:
//!
//! - SGD: `w ← w − lr_t g`.
//! - Momentum `μ`: `v ← μ v + g`; `w ← w − lr_t v`, or with Nesterov
//!   `w ← w − lr_t (g + μ v)` (PyTorch's form, `v` starting at 0).
//! - Adam `(β1, β2, ε)`: `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`,
//!   `w ← w − lr_t · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)`.
//!
//! The host computes `lr_t` and the bias corrections `1 / (1 − β^t)` once a
//! step in f64 and hands the same f32 values to the CPU and GPU kernels.

use std::f64::consts::PI;

use crate::error::{Error, Result};
use crate::memory;
use crate::network::Network;

/// The update rule. Default: plain SGD.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Optimizer {
    /// `w ← w − lr g`.
    #[default]
    Sgd,
    /// Heavy-ball momentum, optionally Nesterov's.
    Momentum {
        /// `μ`, in [0, 1).
        momentum: f32,
        /// Nesterov's look-ahead form.
        nesterov: bool,
    },
    /// Adam with bias correction.
    Adam {
        /// Decay of the first moment, in [0, 1). Usually 0.9.
        beta1: f32,
        /// Decay of the second moment, in [0, 1). Usually 0.999.
        beta2: f32,
        /// Added to `√v̂`, > 0. Usually 1e-8.
        epsilon: f32,
    },
}

impl Optimizer {
    /// Adam with the usual settings: β1 0.9, β2 0.999, ε 1e-8.
    pub fn adam() -> Self {
        Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// Momentum `μ` without Nesterov.
    pub fn momentum(momentum: f32) -> Self {
        Optimizer::Momentum {
            momentum,
            nesterov: false,
        }
    }

    /// Nesterov momentum `μ`.
    pub fn nesterov(momentum: f32) -> Self {
        Optimizer::Momentum {
            momentum,
            nesterov: true,
        }
    }

    /// The lower-case name: `sgd`, `momentum`, `nesterov` or `adam`.
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum {
                nesterov: false, ..
            } => "momentum",
            Optimizer::Momentum { nesterov: true, .. } => "nesterov",
            Optimizer::Adam { .. } => "adam",
        }
    }

    /// State vectors kept per value: 0 (SGD), 1 (momentum), 2 (Adam).
    pub fn moments(self) -> usize {
        match self {
            Optimizer::Sgd => 0,
            Optimizer::Momentum { .. } => 1,
            Optimizer::Adam { .. } => 2,
        }
    }

    /// The id the WGSL kernels use (the generated prelude of
    /// src/gpu/shaders.rs).
    pub(crate) fn gpu_id(self) -> u32 {
        match self {
            Optimizer::Sgd => 0,
            Optimizer::Momentum { .. } => 1,
            Optimizer::Adam { .. } => 2,
        }
    }

    pub(crate) fn check(self) -> Result<()> {
        let unit = |name: &str, v: f32| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{name} must be at least 0 and below 1, got {v}"
                )))
            }
        };
        match self {
            Optimizer::Sgd => Ok(()),
            Optimizer::Momentum { momentum, .. } => unit("momentum", momentum),
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                unit("beta1", beta1)?;
                unit("beta2", beta2)?;
                if epsilon.is_finite() && epsilon > 0.0 {
                    Ok(())
                } else {
                    Err(Error::Config(format!(
                        "epsilon must be a finite number above 0, got {epsilon}"
                    )))
                }
            }
        }
    }
}

/// How the learning rate changes over the steps `t = 0, 1, ...` of
/// training (counted over resumed runs too). Default: constant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Schedule {
    /// `lr` at every step.
    #[default]
    Constant,
    /// `lr · factor^⌊t / every⌋`: multiplied by `factor` every `every` steps.
    Step {
        /// Steps between changes, at least 1.
        every: usize,
        /// The multiplier, in (0, 1] usually.
        factor: f32,
    },
    /// Cosine decay from `lr` to `lr · floor` over `steps` steps, then
    /// `lr · floor`: `lr · (floor + (1 − floor) (1 + cos(π t / steps)) / 2)`.
    Cosine {
        /// Steps of the decay, at least 1.
        steps: usize,
        /// The fraction of `lr` it ends at, in [0, 1].
        floor: f32,
    },
}

impl Schedule {
    /// The learning rate at step `t` for base rate `lr`.
    pub fn rate(self, lr: f32, t: u64) -> f32 {
        let lr = lr as f64;
        let rate = match self {
            Schedule::Constant => return lr as f32,
            Schedule::Step { every, factor } => {
                lr * (factor as f64).powf((t / every.max(1) as u64) as f64)
            }
            Schedule::Cosine { steps, floor } => {
                let x = (t as f64).min(steps as f64) / steps.max(1) as f64;
                let floor = floor as f64;
                lr * (floor + (1.0 - floor) * 0.5 * (1.0 + (PI * x).cos()))
            }
        };
        rate as f32
    }

    pub(crate) fn check(self) -> Result<()> {
        match self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every, factor } => {
                if every == 0 || !(factor.is_finite() && factor > 0.0) {
                    Err(Error::Config(format!(
                        "a step schedule needs at least 1 step between changes and a factor above 0, got every {every}, factor {factor}"
                    )))
                } else {
                    Ok(())
                }
            }
            Schedule::Cosine { steps, floor } => {
                if steps == 0 || !(0.0..=1.0).contains(&floor) {
                    Err(Error::Config(format!(
                        "a cosine schedule needs at least 1 step and a floor in [0, 1], got steps {steps}, floor {floor}"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// What an optimizer carries between steps, and where a run stands: kept by
/// [`Network::resume_on`](crate::Network::resume_on), saved in model files
/// with `--save-optimizer`, so a run cut in two gives the same weights as
/// one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptimizerState {
    /// Updates made so far (Adam's `t` before the next step; the schedule's
    /// step).
    pub steps: u64,
    /// Epochs completed: the next epoch's shuffle is number `epochs`.
    pub epochs: u64,
    /// Per layer, per value of `[W; b]` (the weights row-major, then the
    /// bias): momentum's velocity or Adam's first moment; empty for SGD.
    pub first: Vec<Vec<f32>>,
    /// Per layer: Adam's second moment; empty otherwise.
    pub second: Vec<Vec<f32>>,
}

impl OptimizerState {
    /// A fresh state (zeros, step 0) for `optimizer` on `net`; an error if
    /// the machine has no room for it (Adam keeps two values per weight).
    pub fn new(net: &Network, optimizer: Optimizer) -> Result<Self> {
        let sizes: Vec<usize> = net.layers().iter().map(|l| l.parameter_count()).collect();
        let what = format!("{}'s state for a {net} network", optimizer.name());
        let per_moment = memory::total(sizes.iter().map(|&n| memory::bytes_of::<f32>(n)));
        let bytes = per_moment.and_then(|b| b.checked_mul(optimizer.moments() as u64));
        memory::check(&what, bytes)?;
        let zeros = |used: bool| -> Result<Vec<Vec<f32>>> {
            if used {
                sizes.iter().map(|&n| memory::zeros(&what, n)).collect()
            } else {
                Ok(Vec::new())
            }
        };
        Ok(OptimizerState {
            steps: 0,
            epochs: 0,
            first: zeros(optimizer.moments() >= 1)?,
            second: zeros(optimizer.moments() >= 2)?,
        })
    }

    /// State vectors kept per value: 0, 1 (`first`) or 2 (`first`, `second`).
    pub fn moments(&self) -> usize {
        (!self.first.is_empty()) as usize + (!self.second.is_empty()) as usize
    }

    /// Check that this state fits `net` and `optimizer`.
    pub(crate) fn check(&self, net: &Network, optimizer: Optimizer) -> Result<()> {
        let want = optimizer.moments();
        let have = self.moments();
        if want != have {
            return Err(Error::Config(format!(
                "the optimizer state holds {have} moment vectors per value, but {} keeps {want}",
                optimizer.name()
            )));
        }
        for moments in [&self.first, &self.second] {
            if moments.is_empty() {
                continue;
            }
            if moments.len() != net.layers().len() {
                return Err(Error::Config(format!(
                    "the optimizer state has {} layers, the network {}",
                    moments.len(),
                    net.layers().len()
                )));
            }
            for (l, (m, layer)) in moments.iter().zip(net.layers()).enumerate() {
                if m.len() != layer.parameter_count() {
                    return Err(Error::Config(format!(
                        "the optimizer state of layer {} has {} values, the layer {}",
                        l + 1,
                        m.len(),
                        layer.parameter_count()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// One update's settings, as the optimizer kernels (CPU and GPU) take
/// them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateRule {
    /// The rule.
    pub optimizer: Optimizer,
    /// `λ`, added as `λ w` to the gradient (0 for biases).
    pub weight_decay: f32,
    /// This step's learning rate `lr_t`.
    pub lr: f32,
    /// Adam's `1 / (1 − β1^t)`; 1 otherwise.
    pub correction1: f32,
    /// Adam's `1 / (1 − β2^t)`; 1 otherwise.
    pub correction2: f32,
}
