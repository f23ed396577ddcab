//! What a training run does: [`TrainConfig`], its checks, and the rates
//! of each step, computed once on the host for both backends.
//!
//! # The update rule
//!
//! One step takes a batch of `B` rows `X` (inputs) and `Y` (targets) and, for
//! layers `l = 1..L` with weights `W_l` (`n_{l-1} x n_l`), bias `b_l` and
//! activation `act_l`:
//!
//! 1. **forward**: `A_0 = X`, `A_l = act_l(A_{l-1} . W_l + b_l)`; `Ŷ = A_L`.
//! 2. **output delta**: `D_L = ∂loss/∂Ŷ ⊙ act_L'(A_L)`. For MSE that is
//!    `(Ŷ − Y) ⊙ act_L'(A_L)`; for BCE with its sigmoid output it is `Ŷ − Y`
//!    (see [`Loss`]).
//! 3. **hidden delta**: `D_l = (D_{l+1} . W_{l+1}ᵀ) ⊙ act_l'(A_l)`, from
//!    `l = L−1` down to 1. Every delta uses the weights from *before* this
//!    step's update, as the notebook does.
//! 4. **update** (SGD): with `s = lr / B` for [`Reduction::Mean`] or
//!    `s = lr` for [`Reduction::Sum`],
//!    `W_l ← W_l − s · A_{l-1}ᵀ . D_l` and `b_l ← b_l − s · Σ_rows D_l`.
//!    Other optimizers, weight decay and learning-rate schedules take the
//!    gradient `G_l = (s / lr) · [A_{l-1}, 1]ᵀ . D_l` and update each value
//!    as [`crate::optimizer`] says.
//!
//! A softmax output with cross-entropy, and a sigmoid output with BCE, have
//! the output delta `Ŷ − Y`; their loss is computed from the logits
//! (see [`Loss`]).
//!
//! Derivatives are computed from the stored activations `A_l` (e.g. the
//! sigmoid's `s (1 − s)`).
//!
//! # Reproducing the notebook
//!
//! The notebook adds `A_{l-1}ᵀ . δ` with `δ = (y − ŷ) ⊙ s'(ŷ)`, summed over
//! the batch, with learning rate 1. That is exactly the rule above with MSE,
//! [`Reduction::Sum`] and `learning_rate = 1.0` (its `y − ŷ` is our
//! `−(ŷ − y)`, so `+=` becomes `−=`): use [`TrainConfig::notebook`]. Its
//! wrong derivative `1 − s` is available only as
//! [`SigmoidDerivative::NotebookOneMinusS`].

use crate::activation::{Activation, SigmoidDerivative};
use crate::batches::BatchOrder;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::{Optimizer, OptimizerState, Schedule, UpdateRule};

/// How the gradient of a batch is reduced over its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Average over the batch: steps of `lr / B`. The default; the step size
    /// does not depend on the batch size.
    #[default]
    Mean,
    /// Sum over the batch: steps of `lr`. The notebook's rule.
    Sum,
}

/// Settings of a training run. Build with [`TrainConfig::new`] (defaults
/// a user can train with, like scikit-learn's: Adam at 0.001, batches of
/// 32 rows shuffled each epoch, 200 epochs, the loss the output layer
/// implies) and the setters, or start from [`TrainConfig::notebook`].
///
/// ```
/// use neurona::{BatchOrder, Loss, TrainConfig};
/// let config = TrainConfig::new()
///     .learning_rate(0.5)
///     .epochs(200)
///     .batch_size(32)
///     .order(BatchOrder::Shuffled { seed: 7 })
///     .loss(Loss::Bce);
/// assert_eq!(config.batch_size, Some(32));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// The learning rate `lr` (finite, > 0). Default 0.001.
    pub learning_rate: f32,
    /// Passes over the data. Default 200.
    pub epochs: usize,
    /// Rows per step; `None` is the full batch (one step per epoch). The last
    /// batch of an epoch takes the rows left over. Default 32.
    pub batch_size: Option<usize>,
    /// File order or a seeded shuffle. Default shuffled with seed 0.
    pub order: BatchOrder,
    /// The loss minimised; `None` (the default) takes the output layer's:
    /// BCE for a sigmoid, cross-entropy for a softmax, MSE otherwise
    /// ([`targets::default_loss`](crate::targets::default_loss)).
    pub loss: Option<Loss>,
    /// Mean or sum over the batch. Default mean.
    pub reduction: Reduction,
    /// The sigmoid's derivative. Default exact; the notebook's variant only
    /// when named.
    pub sigmoid_derivative: SigmoidDerivative,
    /// Report the loss every this many steps (0: never). Default 0.
    pub report_every: usize,
    /// The update rule. Default Adam (β1 0.9, β2 0.999, ε 1e-8).
    pub optimizer: Optimizer,
    /// L2 weight decay `λ` (≥ 0): `λ W` is added to the gradient of every
    /// weight (not the biases), i.e. `½ λ ‖W‖²` to the loss minimised (the
    /// reported loss leaves it out). Default 0.
    pub weight_decay: f32,
    /// How the learning rate changes over the steps. Default constant.
    pub schedule: Schedule,
    /// Stop when the validation loss has not improved for a while, and end
    /// on the best epoch's parameters (needs validation rows, see
    /// [`Network::fit`](crate::Network::fit)). Default none.
    pub early_stopping: Option<EarlyStopping>,
}

/// When to stop a run early: after `patience` epochs in a row whose
/// validation loss is not below the best so far by more than `min_delta`.
/// The run then ends on the best epoch's parameters and optimizer state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping (at least 1).
    pub patience: usize,
    /// The improvement that counts (at least 0).
    pub min_delta: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            learning_rate: 0.001,
            epochs: 200,
            batch_size: Some(32),
            order: BatchOrder::Shuffled { seed: 0 },
            loss: None,
            reduction: Reduction::Mean,
            sigmoid_derivative: SigmoidDerivative::Exact,
            report_every: 0,
            optimizer: Optimizer::adam(),
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            early_stopping: None,
        }
    }
}

impl TrainConfig {
    /// The defaults: Adam at 0.001, batches of 32 rows shuffled by seed 0,
    /// 200 epochs, the output layer's loss, the gradient averaged over the
    /// batch.
    ///
    /// ```
    /// use neurona::{Optimizer, TrainConfig};
    /// let config = TrainConfig::new();
    /// assert_eq!((config.optimizer, config.learning_rate), (Optimizer::adam(), 0.001));
    /// assert_eq!((config.batch_size, config.epochs, config.loss), (Some(32), 200, None));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The notebook's run: plain SGD on MSE summed over the full batch,
    /// learning rate 1, 10,000 epochs, the loss reported every 1,000 steps,
    /// and the *correct* sigmoid derivative.
    pub fn notebook() -> Self {
        TrainConfig {
            learning_rate: 1.0,
            epochs: 10_000,
            batch_size: None,
            order: BatchOrder::InOrder,
            loss: Some(Loss::Mse),
            optimizer: Optimizer::Sgd,
            reduction: Reduction::Sum,
            sigmoid_derivative: SigmoidDerivative::Exact,
            report_every: 1_000,
            ..Self::default()
        }
    }

    /// Set the learning rate.
    pub fn learning_rate(mut self, lr: f32) -> Self {
        self.learning_rate = lr;
        self
    }

    /// Set the number of epochs.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Train on mini-batches of `rows` rows.
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = Some(rows);
        self
    }

    /// Train on the full batch (one step per epoch).
    pub fn full_batch(mut self) -> Self {
        self.batch_size = None;
        self
    }

    /// Set the batch order.
    pub fn order(mut self, order: BatchOrder) -> Self {
        self.order = order;
        self
    }

    /// Set the loss.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
        self
    }

    /// Set the batch reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Set the sigmoid derivative rule.
    pub fn sigmoid_derivative(mut self, rule: SigmoidDerivative) -> Self {
        self.sigmoid_derivative = rule;
        self
    }

    /// Report the loss every `steps` steps (0: never).
    pub fn report_every(mut self, steps: usize) -> Self {
        self.report_every = steps;
        self
    }

    /// Set the optimizer.
    pub fn optimizer(mut self, optimizer: Optimizer) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// Set the L2 weight decay `λ`.
    pub fn weight_decay(mut self, lambda: f32) -> Self {
        self.weight_decay = lambda;
        self
    }

    /// Stop early by `rule` (see [`EarlyStopping`]).
    pub fn early_stopping(mut self, rule: EarlyStopping) -> Self {
        self.early_stopping = Some(rule);
        self
    }

    /// Set the learning-rate schedule.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The loss `net` trains with under these settings: the one set, else
    /// the output layer's (BCE for a sigmoid, cross-entropy for a softmax,
    /// MSE otherwise).
    pub fn loss_for(&self, net: &Network) -> Loss {
        self.loss.unwrap_or_else(|| {
            let layers = net.layers();
            crate::targets::default_loss(layers[layers.len() - 1].activation())
        })
    }

    /// These settings with the loss made explicit for `net`: what a run
    /// works with.
    pub(crate) fn for_network(&self, net: &Network) -> TrainConfig {
        TrainConfig {
            loss: Some(self.loss_for(net)),
            ..self.clone()
        }
    }

    /// The loss of settings made for a network ([`TrainConfig::for_network`]).
    pub(crate) fn objective(&self) -> Loss {
        self.loss.unwrap_or_default()
    }

    /// Check these settings against `net` without training: the error a
    /// training run would give for them (e.g. softmax without
    /// cross-entropy, a negative learning rate, beta1 of 1).
    pub fn validate(&self, net: &Network) -> Result<()> {
        self.check(net)
    }

    /// Rows per step on a data set of `rows` rows.
    pub(crate) fn batch_rows(&self, rows: usize) -> usize {
        self.batch_size.unwrap_or(rows).min(rows).max(1)
    }

    /// The steps a run of these settings takes on `rows` rows: `epochs`
    /// times the batches of an epoch, counted exactly; an error when that
    /// is more than 2^64 − 1.
    ///
    /// ```
    /// use neurona::TrainConfig;
    /// let config = TrainConfig::new().batch_size(32).epochs(10);
    /// assert_eq!(config.steps(100)?, 40);
    /// assert!(TrainConfig::new().batch_size(1).epochs(usize::MAX).steps(2).is_err());
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn steps(&self, rows: usize) -> Result<u64> {
        let per_epoch = rows.div_ceil(self.batch_rows(rows)) as u64;
        (self.epochs as u64).checked_mul(per_epoch).ok_or_else(|| {
            Error::Config(format!(
                "{} epochs of {per_epoch} steps are more steps than a run can count (2^64 - 1)",
                self.epochs
            ))
        })
    }

    /// Everything a run checks before its first step, on either path: the
    /// settings, the data, and the optimizer state it resumes from.
    pub(crate) fn check_run(
        &self,
        net: &Network,
        inputs: &Matrix,
        targets: &Matrix,
        state: &OptimizerState,
    ) -> Result<()> {
        self.check(net)?;
        self.check_data(net, inputs, targets)?;
        state.check(net, self.optimizer)?;
        // Step and epoch numbers count on over resumed runs: they must not
        // wrap.
        let steps = self.steps(inputs.rows())?;
        let resumed = |what: &str, done: u64, more: u64| {
            done.checked_add(more).map(|_| ()).ok_or_else(|| {
                Error::Config(format!(
                    "resuming after {done} {what}, {more} more {what} would count past 2^64 - 1"
                ))
            })
        };
        resumed("steps", state.steps, steps)?;
        resumed("epochs", state.epochs, self.epochs as u64)
    }

    /// Check the settings against the network, without data.
    pub(crate) fn check(&self, net: &Network) -> Result<()> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::Config(format!(
                "learning rate must be a finite number above 0, got {}",
                self.learning_rate
            )));
        }
        if self.batch_size == Some(0) {
            return Err(Error::Config(
                "batch size must be at least 1 (or None for the full batch)".into(),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::Config(format!(
                "weight decay must be a finite number of at least 0, got {}",
                self.weight_decay
            )));
        }
        self.optimizer.check()?;
        self.schedule.check()?;
        if let Some(rule) = self.early_stopping
            && (rule.patience == 0 || !(rule.min_delta.is_finite() && rule.min_delta >= 0.0))
        {
            return Err(Error::Config(format!(
                "early stopping needs a patience of at least 1 epoch and a min_delta of at least 0, got patience {}, min_delta {}",
                rule.patience, rule.min_delta
            )));
        }
        let last = net.layers().len();
        let act = net.layers()[last - 1].activation();
        match (self.loss_for(net), act) {
            (Loss::Bce, a) if a != Activation::Sigmoid => Err(Error::Config(format!(
                "BCE needs a sigmoid output layer, but layer {last} is {act}"
            ))),
            (Loss::CrossEntropy, a) if a != Activation::Softmax => Err(Error::Config(format!(
                "cross-entropy needs a softmax output layer, but layer {last} is {act}"
            ))),
            (loss, Activation::Softmax) if loss != Loss::CrossEntropy => Err(Error::Config(
                format!("a softmax output layer trains with cross-entropy, not {loss}"),
            )),
            _ => Ok(()),
        }
    }

    /// Check data against the network and these settings.
    pub(crate) fn check_data(
        &self,
        net: &Network,
        inputs: &Matrix,
        targets: &Matrix,
    ) -> Result<()> {
        net.check_inputs(inputs)?;
        let out = net.outputs();
        if targets.cols() != out {
            return Err(Error::TargetWidth {
                expected: out,
                got: targets.cols(),
            });
        }
        if inputs.rows() != targets.rows() {
            return Err(Error::RowCount {
                inputs: inputs.rows(),
                targets: targets.rows(),
            });
        }
        if inputs.rows() > u32::MAX as usize {
            return Err(Error::Config(format!(
                "{} rows is more than the {} a data set may have",
                inputs.rows(),
                u32::MAX
            )));
        }
        if let Some((row, col, value)) = targets.first_non_finite() {
            return Err(Error::NonFinite {
                what: "targets".into(),
                row,
                col,
                value,
            });
        }
        let loss = self.loss_for(net);
        if loss != Loss::Mse
            && let Some(i) = targets
                .as_slice()
                .iter()
                .position(|t| !(0.0..=1.0).contains(t))
        {
            return Err(Error::OutOfRange {
                what: match loss {
                    Loss::Bce => "targets for BCE".into(),
                    _ => "targets for cross-entropy".into(),
                },
                row: i / out,
                col: i % out,
                value: targets.as_slice()[i],
                range: "[0, 1]",
            });
        }
        if loss == Loss::CrossEntropy {
            for r in 0..targets.rows() {
                let sum: f32 = targets.row(r).iter().sum();
                if (sum - 1.0).abs() > 1e-4 {
                    return Err(Error::Config(format!(
                        "targets for cross-entropy: row {r} sums to {sum}; each row must sum to 1 (one-hot classes, or class probabilities)"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What one step needs beyond the data, computed once on the host for both
/// paths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StepRates {
    /// The fused SGD update's step `s` (`lr_t / B` or `lr_t`).
    pub sgd_step: f32,
    /// What the gradient product is scaled by: `1 / B` or 1.
    pub gradient_scale: f32,
    /// `lr_t`.
    pub lr: f32,
    /// Adam's `1 / (1 − β1^t)` and `1 / (1 − β2^t)`; 1 otherwise.
    pub correction1: f32,
    pub correction2: f32,
}

impl StepRates {
    /// The update rule of this step for `config`, with decay on or off.
    pub(crate) fn rule(&self, config: &TrainConfig, decay: bool) -> UpdateRule {
        UpdateRule {
            optimizer: config.optimizer,
            weight_decay: if decay { config.weight_decay } else { 0.0 },
            lr: self.lr,
            correction1: self.correction1,
            correction2: self.correction2,
        }
    }
}

impl TrainConfig {
    /// Whether the update is plain SGD without decay, which both paths fuse
    /// into the gradient product itself.
    pub(crate) fn fused_sgd(&self) -> bool {
        self.optimizer == Optimizer::Sgd && self.weight_decay == 0.0
    }

    /// The rates of update number `t` (from 0) on a batch of `rows` rows.
    pub(crate) fn rates(&self, t: u64, rows: usize) -> StepRates {
        let lr = self.schedule.rate(self.learning_rate, t);
        let (gradient_scale, sgd_step) = match self.reduction {
            Reduction::Mean => (1.0 / rows as f32, lr / rows as f32),
            Reduction::Sum => (1.0, lr),
        };
        let (correction1, correction2) = match self.optimizer {
            Optimizer::Adam { beta1, beta2, .. } => {
                let t = (t + 1) as f64;
                (
                    (1.0 / (1.0 - (beta1 as f64).powf(t))) as f32,
                    (1.0 / (1.0 - (beta2 as f64).powf(t))) as f32,
                )
            }
            _ => (1.0, 1.0),
        };
        StepRates {
            sgd_step,
            gradient_scale,
            lr,
            correction1,
            correction2,
        }
    }
}
