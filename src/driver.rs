//! The one training driver, and running a [`Network`]: predicting,
//! training, resuming, losses and gradients.
//!
//! A run goes data → network → backend → report, the same on every
//! backend: `run` checks the settings, plans the steps
//! (`plan::StepPlan`), hands them to a backend's `Runner` (the CPU path's
//! `cpu::CpuRunner`, the GPU's `gpu::Resident`), reports progress and
//! keeps the loss history, stops at the first NaN or infinite batch loss
//! and rolls the run back to the step before it, and counts steps and
//! epochs on the optimizer state. A backend only runs the steps it is
//! given and loads and stores the parameters and the optimizer's state.

use std::future::Future;
use std::ops::Range;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

// std::time::Instant panics in a browser; web-time measures with performance.now() there.
use web_time::Instant;

use crate::backend::Device;
use crate::config::{EarlyStopping, TrainConfig};
use crate::cpu;
use crate::error::{Error, Result};
use crate::layer::Gradient;
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::OptimizerState;
pub use crate::plan::Validated;
use crate::plan::{Runner, StepPlan};

/// The loss at one step, handed to the progress callback and kept in the
/// report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Step number, from 0 (the notebook's `i`).
    pub step: usize,
    /// Epoch the step belongs to, from 0.
    pub epoch: usize,
    /// Mean loss of this step's batch, under the weights *before* this
    /// step's update (what the notebook prints at iteration `i`).
    pub loss: f64,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// The loss every `report_every` steps (steps 0, N, 2N, ...).
    pub history: Vec<Progress>,
    /// Steps taken (updates made) up to the parameters the run ended on
    /// (with early stopping, the best epoch's).
    pub steps: usize,
    /// Mean loss over the whole training set under the parameters the run
    /// ended on.
    pub final_loss: f64,
    /// Wall-clock time of the run, data checks included.
    pub elapsed: Duration,
    /// One entry per epoch, for runs that stop between epochs (validation
    /// rows, early stopping, an observer that asks); empty otherwise.
    pub epochs: Vec<EpochSummary>,
    /// With early stopping: the epoch (counted over runs) whose parameters
    /// the run ended on, the one with the lowest validation loss.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended the run before its last epoch.
    pub stopped_early: bool,
}

/// The end of an epoch, as an [`Observer`] sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    /// The epoch, counted over runs, from 0.
    pub epoch: usize,
    /// Steps done after it, counted over runs.
    pub steps: u64,
    /// Mean loss per row over the epoch's batches, each under the weights
    /// before its update.
    pub train_loss: f64,
    /// With validation rows: their loss and predictions.
    pub validation: Option<Validated>,
    /// Whether the validation loss is the best so far (by more than the
    /// early stopping rule's `min_delta`).
    pub best: bool,
}

/// An epoch, as the report keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochSummary {
    /// The epoch, counted over runs.
    pub epoch: usize,
    /// Steps done after it, counted over runs.
    pub steps: u64,
    /// Mean training loss over its batches.
    pub train_loss: f64,
    /// The validation loss after it.
    pub validation_loss: Option<f64>,
}

/// What a run tells its caller as it goes; every method has a default
/// that does nothing, and a closure `FnMut(&Progress)` is an observer of
/// steps.
pub trait Observer {
    /// The batch loss every `config.report_every` steps.
    fn step(&mut self, _progress: &Progress) {}

    /// Whether to stop after every epoch even without validation rows (so
    /// [`Observer::epoch`] sees each one).
    fn wants_epochs(&self) -> bool {
        false
    }

    /// The end of an epoch.
    fn epoch(&mut self, _epoch: &EpochReport) {}

    /// Whether to be handed this epoch's parameters (a checkpoint).
    fn wants_checkpoint(&mut self, _epoch: &EpochReport) -> bool {
        false
    }

    /// The parameters after `epoch` and the optimizer's state, when
    /// [`Observer::wants_checkpoint`] said so; an error stops the run.
    fn checkpoint(
        &mut self,
        _epoch: &EpochReport,
        _net: &Network,
        _state: &OptimizerState,
    ) -> Result<()> {
        Ok(())
    }
}

impl<F: FnMut(&Progress)> Observer for F {
    fn step(&mut self, progress: &Progress) {
        self(progress)
    }
}

/// The mean loss of a batch of `rows` rows from its sum; a sum beyond f32's
/// range counts as infinite on every backend (the GPU holds it in f32), so
/// all stop at the same step.
fn batch_loss(sum: f64, rows: usize) -> f64 {
    let loss = sum / rows as f64;
    if loss.is_nan() {
        loss
    } else if !loss.is_finite() || !(sum as f32).is_finite() {
        f64::INFINITY
    } else {
        loss
    }
}

/// Which epoch's parameters are the best so far, by validation loss, and
/// whether a run of `config` should stop for want of improvement.
struct BestEpoch {
    stopping: Option<EarlyStopping>,
    best: Option<(u64, f64)>,
    since: usize,
}

impl BestEpoch {
    /// Whether `loss` (epoch `epoch`'s validation loss) is the new best:
    /// below the best so far by more than the stopping rule's `min_delta`.
    fn update(&mut self, epoch: u64, loss: f64) -> bool {
        let min_delta = self.stopping.map_or(0.0, |s| s.min_delta);
        let better = loss.is_finite() && self.best.is_none_or(|(_, b)| loss < b - min_delta);
        if better {
            self.best = Some((epoch, loss));
            self.since = 0;
        } else {
            self.since += 1;
        }
        better
    }

    fn should_stop(&self) -> bool {
        self.stopping.is_some_and(|s| self.since >= s.patience)
    }
}

/// Run `config` on `net` with `runner` (already made for this run's data,
/// and its validation rows when `validating`), carrying `state` on: the
/// training loop of every backend.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    runner: &mut impl Runner,
    net: &mut Network,
    rows: usize,
    validating: bool,
    config: &TrainConfig,
    state: &mut OptimizerState,
    observer: &mut dyn Observer,
    start: Instant,
) -> Result<TrainReport> {
    let plan = StepPlan::new(config, rows, state)?;
    // Kept to roll a diverged run back: runs are deterministic, so
    // replaying from here reproduces any earlier step exactly. One copy a
    // run, not one a step, and none where the backend trains a copy.
    let initial = runner
        .trains_in_place()
        .then(|| (net.layers().to_vec(), state.clone()));
    let first = plan.first_step();
    let mut history = Vec::new();
    let mut diverged = None;
    // Epoch by epoch when something happens between epochs; else in one
    // go, which lets a GPU put many epochs into each submit.
    let by_epoch = validating || config.early_stopping.is_some() || observer.wants_epochs();
    let ranges: Box<dyn Iterator<Item = Range<u64>>> = if by_epoch {
        let per = plan.per_epoch();
        Box::new((0..config.epochs as u64).map(move |e| e * per..(e + 1) * per))
    } else {
        Box::new(std::iter::once(0..plan.len()))
    };
    let mut best = BestEpoch {
        stopping: config.early_stopping,
        best: None,
        since: 0,
    };
    let restore_best = config.early_stopping.is_some();
    let mut epochs = Vec::new();
    let mut done = 0;
    let mut stopped_early = false;
    for range in ranges {
        let mut epoch_sum = (0.0f64, 0usize);
        runner
            .train(
                net.layers_mut(),
                state,
                &plan,
                range.clone(),
                &mut |s, sum| {
                    let loss = batch_loss(sum, s.rows);
                    if !loss.is_finite() {
                        diverged = Some((s.t - first, loss));
                        return false;
                    }
                    epoch_sum.0 += sum;
                    epoch_sum.1 += s.rows;
                    if config.report_every > 0 && s.t.is_multiple_of(config.report_every as u64) {
                        let p = Progress {
                            step: s.t as usize,
                            epoch: s.epoch as usize,
                            loss,
                        };
                        observer.step(&p);
                        history.push(p);
                    }
                    true
                },
            )
            .await?;
        if diverged.is_some() {
            break;
        }
        done = range.end;
        if !by_epoch {
            continue;
        }
        let epoch = plan.epochs_after(done) - 1;
        let validation = match validating {
            true => Some(runner.evaluate(net.layers()).await?),
            false => None,
        };
        let is_best = validation
            .as_ref()
            .is_some_and(|v| best.update(epoch, v.loss));
        if is_best && restore_best {
            runner.keep_best(net.layers(), state).await?;
        }
        let report = EpochReport {
            epoch: epoch as usize,
            steps: first + done,
            train_loss: epoch_sum.0 / epoch_sum.1.max(1) as f64,
            validation,
            best: is_best,
        };
        observer.epoch(&report);
        if observer.wants_checkpoint(&report) {
            let (mut copy, mut saved) = (net.clone(), state.clone());
            runner.store(copy.layers_mut(), &mut saved).await?;
            saved.steps = first + done;
            saved.epochs = epoch + 1;
            observer.checkpoint(&report, &copy, &saved)?;
        }
        epochs.push(EpochSummary {
            epoch: report.epoch,
            steps: report.steps,
            train_loss: report.train_loss,
            validation_loss: report.validation.as_ref().map(|v| v.loss),
        });
        if best.should_stop() {
            stopped_early = true;
            break;
        }
    }

    // With early stopping, the run ends on the best epoch's parameters.
    let best_epoch = best.best.map(|(e, _)| e);
    if diverged.is_none()
        && restore_best
        && let Some(e) = best_epoch
        && plan.epochs_after(done) != e + 1
    {
        runner.restore_best(net.layers_mut(), state).await?;
        done = (e + 1 - plan.epochs_after(0)) * plan.per_epoch();
    }
    let final_loss = match diverged {
        None => runner.mean_loss(net.layers()).await?,
        Some(_) => f64::NAN,
    };
    if let Some((step, loss)) = diverged.or((!final_loss.is_finite()).then_some((done, final_loss)))
    {
        // The update of the step before broke the run: replay the steps up
        // to it from the start, which gives the network as it was before
        // that update, bit for bit.
        let kept = step.saturating_sub(1);
        if let Some((layers, saved)) = initial {
            net.layers_mut().clone_from_slice(&layers);
            *state = saved;
        }
        runner.load(net.layers(), state).await?;
        runner
            .train(net.layers_mut(), state, &plan, 0..kept, &mut |_, _| true)
            .await?;
        runner.store(net.layers_mut(), state).await?;
        state.steps = first + kept;
        state.epochs = plan.epochs_after(kept);
        return Err(Error::Diverged {
            step: state.steps as usize,
            loss,
        });
    }
    runner.store(net.layers_mut(), state).await?;
    state.steps = first + done;
    state.epochs = plan.epochs_after(done);
    Ok(TrainReport {
        history,
        steps: done as usize,
        final_loss,
        elapsed: start.elapsed(),
        epochs,
        best_epoch: best_epoch.filter(|_| restore_best).map(|e| e as usize),
        stopped_early,
    })
}

/// The output of a future that never waits (the CPU path's), without an
/// executor: it runs to the end at its first poll.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the CPU path never waits"),
    }
}

impl Network {
    /// The single output for one sample: `sigmoid(w . x + b)` for a neuron.
    /// An error if the network has more than one output.
    pub fn activate(&self, inputs: &[f32]) -> Result<f32> {
        if self.outputs() != 1 {
            return Err(Error::Config(format!(
                "activate gives one value, but this network has {} outputs; use predict_one",
                self.outputs()
            )));
        }
        Ok(self.predict_one(inputs)?[0])
    }

    /// Predictions for a batch: one row of outputs per row of inputs.
    pub fn predict(&self, inputs: &Matrix) -> Result<Matrix> {
        self.check_inputs(inputs)?;
        cpu::predict(self, inputs)
    }

    /// Prediction for one sample.
    pub fn predict_one(&self, inputs: &[f32]) -> Result<Vec<f32>> {
        let x = Matrix::new(1, inputs.len(), inputs.to_vec())?;
        Ok(self.predict(&x)?.into_vec())
    }

    /// Train on the CPU with `config` (the update rule is in
    /// [`crate::config`]).
    pub fn train(
        &mut self,
        inputs: &Matrix,
        targets: &Matrix,
        config: &TrainConfig,
    ) -> Result<TrainReport> {
        self.train_with(inputs, targets, config, |_| {})
    }

    /// Like [`Network::train`], calling `on_progress` every
    /// `config.report_every` steps with the loss.
    ///
    /// ```
    /// use neurona::{Matrix, Network, TrainConfig};
    /// let mut neuron = Network::neuron(2, 7)?;
    /// let x = Matrix::from_rows(&[[0., 1.], [1., 0.]])?;
    /// let y = Matrix::from_rows(&[[1.], [0.]])?;
    /// let config = TrainConfig::new().learning_rate(1.0).epochs(100).report_every(25);
    /// let mut seen = Vec::new();
    /// neuron.train_with(&x, &y, &config, |p| seen.push(p.step))?;
    /// assert_eq!(seen, [0, 25, 50, 75]);
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn train_with(
        &mut self,
        inputs: &Matrix,
        targets: &Matrix,
        config: &TrainConfig,
        on_progress: impl FnMut(&Progress),
    ) -> Result<TrainReport> {
        self.train_on(
            &Device::cpu("asked for"),
            inputs,
            targets,
            config,
            on_progress,
        )
    }

    /// Train on `device` (the CPU, or a GPU with every buffer resident
    /// there), calling `on_progress` every `config.report_every` steps. Both
    /// compute the same rule (see [`crate::config`]); results agree to
    /// rounding, and each is bit-identical from run to run.
    ///
    /// ```
    /// use neurona::{Backend, Device, Matrix, Network, TrainConfig};
    /// let device = Device::new(Backend::Cpu)?;
    /// let mut neuron = Network::neuron(2, 7)?;
    /// let x = Matrix::from_rows(&[[0., 1.], [1., 0.]])?;
    /// let y = Matrix::from_rows(&[[1.], [0.]])?;
    /// let report = neuron.train_on(&device, &x, &y, &TrainConfig::new().epochs(10), |_| {})?;
    /// assert_eq!(report.steps, 10);
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn train_on(
        &mut self,
        device: &Device,
        inputs: &Matrix,
        targets: &Matrix,
        config: &TrainConfig,
        on_progress: impl FnMut(&Progress),
    ) -> Result<TrainReport> {
        let mut state = OptimizerState::new(self, config.optimizer)?;
        self.resume_on(device, inputs, targets, config, &mut state, on_progress)
    }

    /// Train on `device` from `state` (the optimizer's moments, the step and
    /// epoch counts of earlier runs) and leave it updated, so that training
    /// in several calls, or across a save and load of the model with its
    /// state, gives the same weights as one run of all the epochs.
    /// `config.epochs` counts the epochs of this call.
    ///
    /// ```
    /// use neurona::{Backend, Device, Matrix, Network, Optimizer, OptimizerState, TrainConfig};
    /// let x = Matrix::from_rows(&[[0., 1.], [1., 0.], [1., 1.]])?;
    /// let y = Matrix::from_rows(&[[1.], [0.], [1.]])?;
    /// let config = TrainConfig::new().optimizer(Optimizer::adam()).epochs(5);
    /// let (mut a, mut b) = (Network::neuron(2, 3)?, Network::neuron(2, 3)?);
    /// a.train(&x, &y, &config.clone().epochs(10))?;
    /// let (cpu, mut state) = (Device::new(Backend::Cpu)?, OptimizerState::new(&b, config.optimizer)?);
    /// b.resume_on(&cpu, &x, &y, &config, &mut state, |_| {})?;
    /// b.resume_on(&cpu, &x, &y, &config, &mut state, |_| {})?;
    /// assert_eq!(a, b);
    /// assert_eq!(state.steps, 10);
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn resume_on(
        &mut self,
        device: &Device,
        inputs: &Matrix,
        targets: &Matrix,
        config: &TrainConfig,
        state: &mut OptimizerState,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<TrainReport> {
        self.fit(
            device,
            (inputs, targets),
            None,
            config,
            state,
            &mut on_progress,
        )
    }

    /// [`Network::resume_on`] as a future: the GPU path's readbacks are
    /// awaited rather than waited for, so it runs in a browser (the CPU path
    /// runs to the end at the first poll).
    pub async fn resume_on_async(
        &mut self,
        device: &Device,
        inputs: &Matrix,
        targets: &Matrix,
        config: &TrainConfig,
        state: &mut OptimizerState,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<TrainReport> {
        self.fit_async(
            device,
            (inputs, targets),
            None,
            config,
            state,
            &mut on_progress,
        )
        .await
    }

    /// Train on `train` (inputs, targets) from `state`, as
    /// [`Network::resume_on`] does, checking the network against
    /// `validation` rows after every epoch (their loss and predictions,
    /// computed on `device`, go to `observer`), stopping early by
    /// `config.early_stopping` and then ending on the best epoch's
    /// parameters. `observer` also sees the steps and may ask for
    /// checkpoints.
    ///
    /// ```
    /// use neurona::{Activation, Backend, Device, EarlyStopping, Loss, Matrix, Network};
    /// use neurona::{Optimizer, OptimizerState, TrainConfig};
    /// let x = Matrix::from_rows(&[[0.], [1.], [2.], [3.]])?;
    /// let y = Matrix::from_rows(&[[0.], [1.], [2.], [3.]])?;
    /// let mut net = Network::builder(1).layer(1, Activation::Identity).build(1)?;
    /// let config = TrainConfig::new()
    ///     .loss(Loss::Mse)
    ///     .optimizer(Optimizer::Sgd)
    ///     .learning_rate(0.05)
    ///     .full_batch()
    ///     .epochs(500)
    ///     .early_stopping(EarlyStopping { patience: 5, min_delta: 1e-9 });
    /// let mut state = OptimizerState::new(&net, config.optimizer)?;
    /// let cpu = Device::new(Backend::Cpu)?;
    /// let report = net.fit(&cpu, (&x, &y), Some((&x, &y)), &config, &mut state, &mut |_: &_| {})?;
    /// assert_eq!(report.epochs.len(), report.best_epoch.unwrap() + 1 + 5 * report.stopped_early as usize);
    /// assert!(report.final_loss < 1e-6);
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn fit(
        &mut self,
        device: &Device,
        train: (&Matrix, &Matrix),
        validation: Option<(&Matrix, &Matrix)>,
        config: &TrainConfig,
        state: &mut OptimizerState,
        observer: &mut dyn Observer,
    ) -> Result<TrainReport> {
        let run = self.fit_async(device, train, validation, config, state, observer);
        match device.gpu_context() {
            None => now(run),
            #[cfg(not(target_arch = "wasm32"))]
            Some(_) => pollster::block_on(run),
            #[cfg(target_arch = "wasm32")]
            Some(_) => Err(Error::Gpu(
                "a browser cannot wait for the GPU: use Network::fit_async".into(),
            )),
        }
    }

    /// [`Network::fit`] as a future (for the browser).
    pub async fn fit_async(
        &mut self,
        device: &Device,
        (inputs, targets): (&Matrix, &Matrix),
        validation: Option<(&Matrix, &Matrix)>,
        config: &TrainConfig,
        state: &mut OptimizerState,
        observer: &mut dyn Observer,
    ) -> Result<TrainReport> {
        let start = Instant::now();
        let config = &config.for_network(self);
        config.check_run(self, inputs, targets, state)?;
        if let Some((vx, vy)) = validation {
            config.check_data(self, vx, vy).map_err(|e| match e {
                Error::OutOfRange {
                    what,
                    row,
                    col,
                    value,
                    range,
                } => Error::OutOfRange {
                    what: format!("validation {what}"),
                    row,
                    col,
                    value,
                    range,
                },
                Error::NonFinite {
                    what,
                    row,
                    col,
                    value,
                } => Error::NonFinite {
                    what: format!("validation {what}"),
                    row,
                    col,
                    value,
                },
                Error::Config(m) | Error::Data(m) => Error::Data(format!("validation rows: {m}")),
                other => Error::Data(format!("validation rows: {other}")),
            })?;
        } else if config.early_stopping.is_some() {
            return Err(Error::Config(
                "early stopping watches the validation loss: give validation rows".into(),
            ));
        }
        let rows = inputs.rows();
        let validating = validation.is_some();
        match device.gpu_context() {
            Some(ctx) => {
                let mut runner = crate::gpu::Resident::new(
                    ctx, self, inputs, targets, validation, config, state,
                )?;
                run(
                    &mut runner,
                    self,
                    rows,
                    validating,
                    config,
                    state,
                    observer,
                    start,
                )
                .await
            }
            None => {
                let mut runner = cpu::CpuRunner::new(self, inputs, targets, validation, config)?;
                run(
                    &mut runner,
                    self,
                    rows,
                    validating,
                    config,
                    state,
                    observer,
                    start,
                )
                .await
            }
        }
    }

    /// The mean loss of `loss` over `inputs` against `targets` on the CPU,
    /// computed as training reports it (from the logits for BCE and
    /// cross-entropy).
    pub fn loss(&self, inputs: &Matrix, targets: &Matrix, loss: Loss) -> Result<f64> {
        let config = TrainConfig::new().loss(loss);
        config.check(self)?;
        config.check_data(self, inputs, targets)?;
        cpu::evaluate_loss(self, inputs, targets, &config)
    }

    /// Gradients of the batch loss (`config.loss`, reduced by
    /// `config.reduction`, using `config.sigmoid_derivative`) with respect to
    /// every layer's weights and bias, one [`Gradient`] per layer. The same
    /// steps as training compute them; a training step moves each parameter
    /// by `−learning_rate ·` its gradient.
    pub fn gradients(
        &self,
        inputs: &Matrix,
        targets: &Matrix,
        config: &TrainConfig,
    ) -> Result<Vec<Gradient>> {
        cpu::gradients(self, inputs, targets, &config.for_network(self))
    }
}
