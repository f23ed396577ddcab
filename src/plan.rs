//! The steps of a training run, planned without being listed, and what a
//! backend does with them ([`Runner`]). Step `i` of a run is computed when
//! it is needed, so a run of 2^64 − 1 steps costs no memory up front, and
//! both backends number steps and epochs the same way.

use std::ops::Range;

use crate::batches::batch_ranges;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::optimizer::OptimizerState;

/// The validation rows' loss and the network's predictions for them, at
/// the end of an epoch, computed on the device that trains.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    /// Mean loss per row, as training reports it.
    pub loss: f64,
    /// One row of outputs per validation row.
    pub predictions: Matrix,
}

/// One step: its number `t` over all runs (Adam's `t − 1`, the schedule's
/// step), its epoch (also counted over all runs), and which rows of the
/// epoch's order it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlannedStep {
    pub t: u64,
    pub epoch: u64,
    pub start: usize,
    pub rows: usize,
}

/// The steps of one run: `config.epochs` epochs of `rows` rows in batches,
/// counting on from `state`'s steps and epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StepPlan {
    rows: usize,
    batch: usize,
    per_epoch: u64,
    first_t: u64,
    first_epoch: u64,
    steps: u64,
}

impl StepPlan {
    /// The plan of a run of `config` on `rows` rows from `state` (checked
    /// by `TrainConfig::check_run`: its counts do not overflow).
    pub(crate) fn new(config: &TrainConfig, rows: usize, state: &OptimizerState) -> Result<Self> {
        let batch = config.batch_rows(rows);
        Ok(StepPlan {
            rows,
            batch,
            per_epoch: rows.div_ceil(batch) as u64,
            first_t: state.steps,
            first_epoch: state.epochs,
            steps: config.steps(rows)?,
        })
    }

    /// Steps in the run.
    pub(crate) fn len(&self) -> u64 {
        self.steps
    }

    /// Batches in an epoch.
    pub(crate) fn per_epoch(&self) -> u64 {
        self.per_epoch
    }

    /// The number `t` of the run's first step: the steps done before it.
    pub(crate) fn first_step(&self) -> u64 {
        self.first_t
    }

    /// Step `i` of the run (from 0).
    pub(crate) fn step(&self, i: u64) -> PlannedStep {
        let b = (i % self.per_epoch) as usize;
        let start = b * self.batch;
        PlannedStep {
            t: self.first_t + i,
            epoch: self.first_epoch + i / self.per_epoch,
            start,
            rows: self.batch.min(self.rows - start),
        }
    }

    /// Epochs completed after the first `steps` steps of the run, counted
    /// over all runs.
    pub(crate) fn epochs_after(&self, steps: u64) -> u64 {
        self.first_epoch + steps / self.per_epoch
    }

    /// The batches of one epoch over `rows` rows in batches of `batch`, as
    /// steps numbered 0 (for evaluating a whole data set in chunks).
    pub(crate) fn chunks(rows: usize, batch: usize) -> Vec<PlannedStep> {
        batch_ranges(rows, batch.max(1))
            .map(|(s, e)| PlannedStep {
                t: 0,
                epoch: 0,
                start: s,
                rows: e - s,
            })
            .collect()
    }
}

/// What a backend does for the driver. A backend is made for one run: its
/// data, settings and buffers are set up when it is made.
pub(crate) trait Runner {
    /// Whether [`Runner::train`] updates `layers` and `state` themselves
    /// (the CPU path) rather than a copy on a device, which the driver then
    /// need not copy to roll a run back.
    fn trains_in_place(&self) -> bool;

    /// Train steps `steps` of `plan` in order, handing each step and its
    /// batch's loss sum (under the weights before its update) to `seen`.
    /// When `seen` returns false the backend stops: before that step's
    /// update where it can, else after the steps it has already submitted.
    /// It leaves `state`'s step and epoch counts to the driver.
    async fn train(
        &mut self,
        layers: &mut [Layer],
        state: &mut OptimizerState,
        plan: &StepPlan,
        steps: Range<u64>,
        seen: &mut dyn FnMut(&PlannedStep, f64) -> bool,
    ) -> Result<()>;

    /// The mean loss over the run's training rows under the parameters as
    /// trained so far.
    async fn mean_loss(&mut self, layers: &[Layer]) -> Result<f64>;

    /// Start again from `layers` and `state` (a rollback).
    async fn load(&mut self, layers: &[Layer], state: &OptimizerState) -> Result<()>;

    /// Write the trained parameters and the optimizer's state back.
    async fn store(&mut self, layers: &mut [Layer], state: &mut OptimizerState) -> Result<()>;

    /// The validation rows the backend was made with: their mean loss and
    /// the predictions, under the parameters as trained so far.
    async fn evaluate(&mut self, layers: &[Layer]) -> Result<Validated>;

    /// Keep a copy of the parameters and state as trained so far (the best
    /// epoch's), where the backend trains them.
    async fn keep_best(&mut self, layers: &[Layer], state: &OptimizerState) -> Result<()>;

    /// Go back to the copy [`Runner::keep_best`] kept.
    async fn restore_best(
        &mut self,
        layers: &mut [Layer],
        state: &mut OptimizerState,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_epochs_and_batches() {
        let config = TrainConfig::new().batch_size(4).epochs(3);
        let state = OptimizerState {
            steps: 7,
            epochs: 2,
            ..Default::default()
        };
        let plan = StepPlan::new(&config, 10, &state).unwrap();
        assert_eq!((plan.len(), plan.per_epoch, plan.batch), (9, 3, 4));
        let s = plan.step(5);
        assert_eq!((s.t, s.epoch, s.start, s.rows), (12, 3, 8, 2));
        assert_eq!(plan.epochs_after(9), 5);
        let huge = TrainConfig::new().full_batch().epochs(usize::MAX);
        let plan = StepPlan::new(&huge, 10, &OptimizerState::default()).unwrap();
        assert_eq!(plan.len(), u64::MAX);
        assert_eq!(plan.step(u64::MAX - 1).epoch, u64::MAX - 1);
    }
}
