//! The one training driver, and running a [`Network`]: predicting,
//! training, resuming, losses and gradients.
//!
//! A run goes data → network → backend → report, the same on every
//! backend: [`run`] checks the settings, plans the steps
//! ([`StepPlan`]), hands them to a backend's [`Runner`](crate::plan) (the CPU path's
//! `cpu::CpuRunner`, the GPU's `gpu::Resident`), reports progress and
//! keeps the loss history, stops at the first NaN or infinite batch loss
//! and rolls the run back to the step before it, and counts steps and
//! epochs on the optimizer state. A backend only runs the steps it is
//! given and loads and stores the parameters and the optimizer's state.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

// std::time::Instant panics in a browser; web-time measures with performance.now() there.
use web_time::Instant;

use crate::backend::Device;
use crate::config::TrainConfig;
use crate::cpu;
use crate::error::{Error, Result};
use crate::layer::Gradient;
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::OptimizerState;
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
    /// Steps taken (updates made).
    pub steps: usize,
    /// Mean loss over the whole training set after the last update.
    pub final_loss: f64,
    /// Wall-clock time of the run, data checks included.
    pub elapsed: Duration,
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

/// Run `config` on `net` with `runner` (already made for this run's data),
/// carrying `state` on: the training loop of every backend.
pub(crate) async fn run(
    runner: &mut impl Runner,
    net: &mut Network,
    rows: usize,
    config: &TrainConfig,
    state: &mut OptimizerState,
    on_progress: &mut dyn FnMut(&Progress),
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
    runner
        .train(
            net.layers_mut(),
            state,
            &plan,
            0..plan.len(),
            &mut |s, sum| {
                let loss = batch_loss(sum, s.rows);
                if !loss.is_finite() {
                    diverged = Some((s.t - first, loss));
                    return false;
                }
                if config.report_every > 0 && s.t.is_multiple_of(config.report_every as u64) {
                    let p = Progress {
                        step: s.t as usize,
                        epoch: s.epoch as usize,
                        loss,
                    };
                    on_progress(&p);
                    history.push(p);
                }
                true
            },
        )
        .await?;

    let final_loss = match diverged {
        None => runner.mean_loss(net.layers()).await?,
        Some(_) => f64::NAN,
    };
    if let Some((step, loss)) =
        diverged.or((!final_loss.is_finite()).then_some((plan.len(), final_loss)))
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
    state.steps = first + plan.len();
    state.epochs = plan.epochs_after(plan.len());
    Ok(TrainReport {
        history,
        steps: plan.len() as usize,
        final_loss,
        elapsed: start.elapsed(),
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
        on_progress: impl FnMut(&Progress),
    ) -> Result<TrainReport> {
        let run = self.resume_on_async(device, inputs, targets, config, state, on_progress);
        match device.gpu_context() {
            None => now(run),
            #[cfg(not(target_arch = "wasm32"))]
            Some(_) => pollster::block_on(run),
            #[cfg(target_arch = "wasm32")]
            Some(_) => Err(Error::Gpu(
                "a browser cannot wait for the GPU: use Network::resume_on_async".into(),
            )),
        }
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
        let start = Instant::now();
        config.check_run(self, inputs, targets, state)?;
        let rows = inputs.rows();
        match device.gpu_context() {
            Some(ctx) => {
                let mut runner =
                    crate::gpu::Resident::new(ctx, self, inputs, targets, config, state)?;
                run(
                    &mut runner,
                    self,
                    rows,
                    config,
                    state,
                    &mut on_progress,
                    start,
                )
                .await
            }
            None => {
                let mut runner = cpu::CpuRunner::new(self, inputs, targets, config)?;
                run(
                    &mut runner,
                    self,
                    rows,
                    config,
                    state,
                    &mut on_progress,
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
        cpu::gradients(self, inputs, targets, config)
    }
}
