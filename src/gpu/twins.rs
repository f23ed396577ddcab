//! One-shot GPU twins of the CPU steps, for parity tests and benchmarks:
//! upload, one dispatch of the op `gpu::ops` sets up (the same constructor
//! training uses), read back. Each takes its arguments in the order of the
//! CPU function of the same name in [`crate::cpu`].

use crate::activation::{Activation, SigmoidDerivative};
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::kernels::{Kernel, StepSlots, size_u32};
use crate::gpu::ops;
use crate::gpu::parameters::ParameterLayout;
#[cfg(not(target_arch = "wasm32"))]
use crate::gpu::product::ProductShape;
use crate::gpu::shaders::StepParams;
use crate::loss::Loss;
use crate::optimizer::UpdateRule;

/// A step of `rows` rows and nothing else: what most one-shot calls run.
fn rows_step(rows: usize) -> Result<StepParams> {
    Ok(StepParams {
        rows: size_u32("rows", rows)?,
        ..Default::default()
    })
}

impl GpuContext {
    /// Dispatch `kernels` once each, in order, for `step`, then read the
    /// first `len` values of `out` back.
    async fn run_once(
        &self,
        kernels: &[&Kernel],
        step: StepParams,
        out: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<f32>> {
        let _gate = self.gate();
        let steps = StepSlots::new(self, 1);
        steps.write(self, &[step]);
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for kernel in kernels {
                kernel.record(self, &mut pass, &steps, 0, step.rows)?;
            }
        }
        self.queue.submit([encoder.finish()]);
        Ok(self.read_back(&[(out, len)]).await?.remove(0))
    }

    /// GPU twin of [`cpu::matmul_bias_act`](crate::cpu::matmul_bias_act):
    /// `act(a_in . w + bias)`.
    #[allow(clippy::too_many_arguments)]
    pub async fn matmul_bias_act(
        &self,
        a_in: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
        rows: usize,
        n_in: usize,
        n_out: usize,
    ) -> Result<Vec<f32>> {
        let _gate = self.gate();
        let w_aug = ParameterLayout::pack(&w[..n_in * n_out], bias, &[])?;
        let a_in = self.storage_from("a_in", &a_in[..rows * n_in])?;
        let w_aug = self.storage_from("w", &w_aug)?;
        let out = self.storage_zeroed("out", rows * n_out)?;
        let op = ops::MatmulBiasAct {
            a_in: &a_in,
            w_aug: &w_aug,
            out: &out,
        };
        let k = op.kernel(self, n_in, n_out, bias.is_some(), activation)?;
        self.run_once(&[&k], rows_step(rows)?, &out, rows * n_out)
            .await
    }

    /// Seconds per dispatch of the forward kernel on a `rows x n_in` by
    /// `n_in x n_out` product (tanh, bias) in the variant the device
    /// chooses, on random data ([`GpuContext::time_product`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn time_forward(&self, rows: usize, n_in: usize, n_out: usize, reps: usize) -> Result<f64> {
        self.time_product(ProductShape::forward(rows, n_in, n_out, true), None, reps)
    }

    /// GPU twin of [`cpu::hidden_delta`](crate::cpu::hidden_delta):
    /// `(d_next . w_nextᵀ) ⊙ act'(a)`.
    #[allow(clippy::too_many_arguments)]
    pub async fn hidden_delta(
        &self,
        d_next: &[f32],
        w_next: &[f32],
        a: &[f32],
        activation: Activation,
        sigmoid: SigmoidDerivative,
        rows: usize,
        n: usize,
        n_next: usize,
    ) -> Result<Vec<f32>> {
        let _gate = self.gate();
        let d_next = self.storage_from("d_next", &d_next[..rows * n_next])?;
        let w_next = self.storage_from("w_next", &w_next[..n * n_next])?;
        let a = self.storage_from("a", &a[..rows * n])?;
        let d = self.storage_zeroed("d", rows * n)?;
        let op = ops::HiddenDelta {
            d_next: &d_next,
            w_next: &w_next,
            a: &a,
            d: &d,
        };
        let k = op.kernel(self, n, n_next, activation, sigmoid)?;
        self.run_once(&[&k], rows_step(rows)?, &d, rows * n).await
    }

    /// GPU twin of [`cpu::sgd_update`](crate::cpu::sgd_update): returns
    /// `w − step · a_inᵀ . delta` and `bias − step · Σ_rows delta`.
    #[allow(clippy::too_many_arguments)]
    pub async fn sgd_update(
        &self,
        w: &[f32],
        bias: Option<&[f32]>,
        a_in: &[f32],
        delta: &[f32],
        rows: usize,
        n_in: usize,
        n_out: usize,
        step: f32,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let _gate = self.gate();
        let values = ParameterLayout::pack(&w[..n_in * n_out], bias, &[])?;
        let a_in = self.storage_from("a_in", &a_in[..rows * n_in])?;
        let delta = self.storage_from("delta", &delta[..rows * n_out])?;
        let w_aug = self.storage_from("w", &values)?;
        let op = ops::SgdUpdate {
            a_in: &a_in,
            delta: &delta,
            w_aug: &w_aug,
        };
        let k = op.kernel(self, n_in, n_out, bias.is_some())?;
        let step = StepParams {
            scale: step,
            ..rows_step(rows)?
        };
        let all = self.run_once(&[&k], step, &w_aug, values.len()).await?;
        let layout = ParameterLayout {
            weights: n_in * n_out,
            bias: bias.map_or(0, <[f32]>::len),
            moments: 0,
        };
        let (w, b, _) = layout.unpack(&all);
        Ok((w.to_vec(), bias.map(|_| b.to_vec())))
    }

    /// GPU twin of [`cpu::output_delta`](crate::cpu::output_delta).
    #[allow(clippy::too_many_arguments)]
    pub async fn output_delta(
        &self,
        y_hat: &[f32],
        y: &[f32],
        loss: Loss,
        activation: Activation,
        sigmoid: SigmoidDerivative,
        rows: usize,
        n_out: usize,
    ) -> Result<Vec<f32>> {
        let _gate = self.gate();
        let y_hat = self.storage_from("y_hat", &y_hat[..rows * n_out])?;
        let y = self.storage_from("y", &y[..rows * n_out])?;
        let delta = self.storage_zeroed("delta", rows * n_out)?;
        let op = ops::OutputDelta {
            y_hat: &y_hat,
            y: &y,
            delta: &delta,
        };
        let k = op.kernel(self, n_out, loss, activation, sigmoid)?;
        self.run_once(&[&k], rows_step(rows)?, &delta, rows * n_out)
            .await
    }

    /// The batch's loss summed over rows and outputs, reduced on the GPU:
    /// from `y_hat` = ŷ for MSE (the CPU's [`Loss::sum`]), from `y_hat` = the
    /// logits z for BCE and cross-entropy (the CPU's
    /// [`Loss::sum_from_logits`]).
    pub async fn loss_sum(
        &self,
        y_hat: &[f32],
        y: &[f32],
        loss: Loss,
        rows: usize,
        n_out: usize,
    ) -> Result<f32> {
        let _gate = self.gate();
        let y_hat = self.storage_from("y_hat", &y_hat[..rows * n_out])?;
        let y = self.storage_from("y", &y[..rows * n_out])?;
        let out = self.storage_zeroed("loss", 1)?;
        let partials = self.storage_zeroed("loss partials", ops::LossSum::partials(rows, n_out))?;
        let op = ops::LossSum {
            y_hat: &y_hat,
            y: &y,
            partials: &partials,
            out: &out,
        };
        let k = op.kernels(self, n_out, loss)?;
        self.run_once(&[&k.partials, &k.total], rows_step(rows)?, &out, 1)
            .await
            .map(|v| v[0])
    }

    /// Rows `idx[offset..offset + rows]` of `src` (`cols` wide), gathered.
    pub async fn gather(
        &self,
        src: &[f32],
        cols: usize,
        idx: &[u32],
        offset: usize,
        rows: usize,
    ) -> Result<Vec<f32>> {
        let _gate = self.gate();
        let src = self.storage_from("src", src)?;
        let idx = self.storage_from("idx", idx)?;
        let dst = self.storage_zeroed("dst", rows * cols)?;
        let op = ops::Gather {
            src: &src,
            idx: &idx,
            dst: &dst,
        };
        let k = op.kernel(self, cols)?;
        let step = StepParams {
            index_offset: size_u32("offset", offset)?,
            ..rows_step(rows)?
        };
        self.run_once(&[&k], step, &dst, rows * cols).await
    }

    /// GPU twin of [`cpu::output_activation`](crate::cpu::output_activation):
    /// ŷ from the logits `z` (`rows x n_out`).
    pub async fn output_activation(
        &self,
        z: &[f32],
        activation: Activation,
        rows: usize,
        n_out: usize,
    ) -> Result<Vec<f32>> {
        let _gate = self.gate();
        let z = self.storage_from("z", &z[..rows * n_out])?;
        let y_hat = self.storage_zeroed("y_hat", rows * n_out)?;
        let op = ops::OutputActivation {
            z: &z,
            y_hat: &y_hat,
        };
        let k = op.kernel(self, n_out, activation)?;
        self.run_once(&[&k], rows_step(rows)?, &y_hat, rows * n_out)
            .await
    }

    /// GPU twin of [`cpu::weight_gradient`](crate::cpu::weight_gradient):
    /// `scale · [a_in, 1]ᵀ . delta`, the bias row last when `has_bias`.
    #[allow(clippy::too_many_arguments)]
    pub async fn weight_gradient(
        &self,
        has_bias: bool,
        a_in: &[f32],
        delta: &[f32],
        rows: usize,
        n_in: usize,
        n_out: usize,
        scale: f32,
    ) -> Result<Vec<f32>> {
        let _gate = self.gate();
        let count = (n_in + has_bias as usize) * n_out;
        let a_in = self.storage_from("a_in", &a_in[..rows * n_in])?;
        let delta = self.storage_from("delta", &delta[..rows * n_out])?;
        let grad = self.storage_zeroed("gradient", count)?;
        let op = ops::WeightGradient {
            a_in: &a_in,
            delta: &delta,
            grad: &grad,
        };
        let k = op.kernel(self, n_in, n_out, has_bias)?;
        let step = StepParams {
            scale,
            ..rows_step(rows)?
        };
        self.run_once(&[&k], step, &grad, count).await
    }

    /// GPU twin of [`cpu::optimizer_update`](crate::cpu::optimizer_update)
    /// over a layer's `[W; b]` (`values`, of which the first `weights` are
    /// weights, decayed), with the state `first` and `second` (empty where
    /// the optimizer keeps none). Returns the new values and state.
    pub async fn optimizer_update(
        &self,
        values: &[f32],
        weights: usize,
        grad: &[f32],
        first: &[f32],
        second: &[f32],
        rule: &UpdateRule,
    ) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
        let _gate = self.gate();
        let count = values.len();
        let layout = ParameterLayout {
            weights,
            bias: count - weights,
            moments: rule.optimizer.moments(),
        };
        let all = ParameterLayout::pack(
            &values[..weights],
            Some(&values[weights..]),
            &[first, second],
        )?;
        let params = self.storage_from("parameters", &all)?;
        let grad = self.storage_from("gradient", &grad[..count])?;
        let op = ops::OptimizerUpdate {
            grad: &grad,
            params: &params,
        };
        let k = op.kernel(self, weights, count, rule.optimizer, rule.weight_decay)?;
        let step = StepParams {
            lr: rule.lr,
            correction1: rule.correction1,
            correction2: rule.correction2,
            ..Default::default()
        };
        let all = self.run_once(&[&k], step, &params, layout.len()).await?;
        let (w, b, state) = layout.unpack(&all);
        let moment = |i: usize| state.get(i).map_or(Vec::new(), |m| m.to_vec());
        Ok(([w, b].concat(), moment(0), moment(1)))
    }
}
