//! One constructor per GPU op, named after its CPU twin in [`crate::cpu`]:
//! the op's buffers by name, its settings, and the [`Kernel`] that runs it.
//! The resident training run, the one-shot twins (`gpu::twins`), the
//! benchmark and the tests all set kernels up through these.

use crate::activation::{Activation, SigmoidDerivative};
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::kernels::{Bindings, Kernel, Work, size_u32};
use crate::gpu::product::{MatmulKind, vec4_eligible};
use crate::gpu::shaders::{LOSS_CHUNK, LayerParams, Shader};
use crate::loss::Loss;
use crate::optimizer::Optimizer;

type Buffer = wgpu::Buffer;

/// [`cpu::matmul_bias_act`](crate::cpu::matmul_bias_act):
/// `out = act(a_in . W + b)`, `w_aug` holding `W` and (with `has_bias`) the
/// bias as its last row.
pub(crate) struct MatmulBiasAct<'a> {
    pub a_in: &'a Buffer,
    pub w_aug: &'a Buffer,
    pub out: &'a Buffer,
}

impl MatmulBiasAct<'_> {
    pub(crate) fn kernel(
        &self,
        ctx: &GpuContext,
        n_in: usize,
        n_out: usize,
        has_bias: bool,
        activation: Activation,
    ) -> Result<Kernel> {
        let params = LayerParams {
            n_in: size_u32("n_in", n_in)?,
            n_out: size_u32("n_out", n_out)?,
            has_bias: has_bias as u32,
            act: activation.gpu_id(),
            ..Default::default()
        };
        let buffers = Bindings {
            a: self.a_in,
            b: Some(self.w_aug),
            c: self.out,
            aux: None,
        };
        let work = Work::Matmul {
            kind: MatmulKind::Forward,
            m: None,
            n: params.n_out,
            k: Some(params.n_in),
            vec4: vec4_eligible(MatmulKind::Forward, params.n_in, params.n_out, 0),
        };
        Ok(ctx.kernel(buffers, params, work))
    }
}

/// [`cpu::hidden_delta`](crate::cpu::hidden_delta):
/// `d = (d_next . W_nextᵀ) ⊙ act'(a)`, `w_next` the next layer's `W_aug`
/// (read transposed in place; its bias row is not read).
pub(crate) struct HiddenDelta<'a> {
    pub d_next: &'a Buffer,
    pub w_next: &'a Buffer,
    pub a: &'a Buffer,
    pub d: &'a Buffer,
}

impl HiddenDelta<'_> {
    pub(crate) fn kernel(
        &self,
        ctx: &GpuContext,
        n: usize,
        n_next: usize,
        activation: Activation,
        sigmoid: SigmoidDerivative,
    ) -> Result<Kernel> {
        let params = LayerParams {
            n_out: size_u32("n", n)?,
            n_next: size_u32("n_next", n_next)?,
            act: activation.gpu_id(),
            sigmoid_rule: sigmoid.gpu_id(),
            ..Default::default()
        };
        let buffers = Bindings {
            a: self.d_next,
            b: Some(self.w_next),
            c: self.d,
            aux: Some(self.a),
        };
        let work = Work::Matmul {
            kind: MatmulKind::HiddenDelta,
            m: None,
            n: params.n_out,
            k: Some(params.n_next),
            vec4: vec4_eligible(MatmulKind::HiddenDelta, 0, params.n_out, params.n_next),
        };
        Ok(ctx.kernel(buffers, params, work))
    }
}

/// The weight products of a layer: `[A_in, 1]ᵀ . D` over the step's rows,
/// into `M = n_in + has_bias` rows of `n_out`.
fn weight_product(kind: MatmulKind, n_in: u32, n_out: u32, has_bias: bool) -> Work {
    Work::Matmul {
        kind,
        m: Some(n_in + has_bias as u32),
        n: n_out,
        k: None,
        vec4: vec4_eligible(kind, n_in, n_out, 0),
    }
}

/// [`cpu::sgd_update`](crate::cpu::sgd_update), in place:
/// `W_aug −= s · [a_in, 1]ᵀ . delta`, `s` the step's scale.
pub(crate) struct SgdUpdate<'a> {
    pub a_in: &'a Buffer,
    pub delta: &'a Buffer,
    pub w_aug: &'a Buffer,
}

impl SgdUpdate<'_> {
    pub(crate) fn kernel(
        &self,
        ctx: &GpuContext,
        n_in: usize,
        n_out: usize,
        has_bias: bool,
    ) -> Result<Kernel> {
        let params = LayerParams {
            n_in: size_u32("n_in", n_in)?,
            n_out: size_u32("n_out", n_out)?,
            has_bias: has_bias as u32,
            ..Default::default()
        };
        let buffers = Bindings {
            a: self.a_in,
            b: Some(self.delta),
            c: self.w_aug,
            aux: None,
        };
        let work = weight_product(MatmulKind::SgdUpdate, params.n_in, params.n_out, has_bias);
        Ok(ctx.kernel(buffers, params, work))
    }
}

/// [`cpu::weight_gradient`](crate::cpu::weight_gradient):
/// `grad = s · [a_in, 1]ᵀ . delta`, the bias row last with `has_bias`.
pub(crate) struct WeightGradient<'a> {
    pub a_in: &'a Buffer,
    pub delta: &'a Buffer,
    pub grad: &'a Buffer,
}

impl WeightGradient<'_> {
    pub(crate) fn kernel(
        &self,
        ctx: &GpuContext,
        n_in: usize,
        n_out: usize,
        has_bias: bool,
    ) -> Result<Kernel> {
        let params = LayerParams {
            n_in: size_u32("n_in", n_in)?,
            n_out: size_u32("n_out", n_out)?,
            has_bias: has_bias as u32,
            ..Default::default()
        };
        let buffers = Bindings {
            a: self.a_in,
            b: Some(self.delta),
            c: self.grad,
            aux: None,
        };
        let work = weight_product(
            MatmulKind::WeightGradient,
            params.n_in,
            params.n_out,
            has_bias,
        );
        Ok(ctx.kernel(buffers, params, work))
    }
}

/// [`cpu::optimizer_update`](crate::cpu::optimizer_update) over a layer's
/// whole parameter buffer (`gpu::parameters`): `[W; b]` of `count`
/// values, the first `weights` of them decayed, then the state.
pub(crate) struct OptimizerUpdate<'a> {
    pub grad: &'a Buffer,
    pub params: &'a Buffer,
}

impl OptimizerUpdate<'_> {
    pub(crate) fn kernel(
        &self,
        ctx: &GpuContext,
        weights: usize,
        count: usize,
        optimizer: Optimizer,
        decay: f32,
    ) -> Result<Kernel> {
        let (beta1, beta2, epsilon, nesterov) = match optimizer {
            Optimizer::Sgd => (0.0, 0.0, 0.0, false),
            Optimizer::Momentum { momentum, nesterov } => (momentum, 0.0, 0.0, nesterov),
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => (beta1, beta2, epsilon, false),
        };
        let params = LayerParams {
            // optimizer.wgsl decays values e < n_in · n_out.
            n_in: size_u32("decayed weights", weights)?,
            n_out: 1,
            optimizer: optimizer.gpu_id(),
            nesterov: nesterov as u32,
            beta1,
            beta2,
            epsilon,
            decay,
            count: size_u32("layer values", count)?,
            ..Default::default()
        };
        let buffers = Bindings {
            a: self.grad,
            b: None,
            c: self.params,
            aux: None,
        };
        let work = Work::Fixed {
            shader: Shader::Optimizer,
            count: params.count,
        };
        Ok(ctx.kernel(buffers, params, work))
    }
}

/// [`cpu::output_activation`](crate::cpu::output_activation): `y_hat`
/// from the logits `z` (softmax per row, or the activation per value).
pub(crate) struct OutputActivation<'a> {
    pub z: &'a Buffer,
    pub y_hat: &'a Buffer,
}

impl OutputActivation<'_> {
    pub(crate) fn kernel(
        &self,
        ctx: &GpuContext,
        n_out: usize,
        activation: Activation,
    ) -> Result<Kernel> {
        let params = LayerParams {
            n_out: size_u32("n_out", n_out)?,
            act: activation.gpu_id(),
            ..Default::default()
        };
        let buffers = Bindings {
            a: self.z,
            b: None,
            c: self.y_hat,
            aux: None,
        };
        let work = Work::Elementwise {
            shader: Shader::OutputActivation,
            cols: 1,
        };
        Ok(ctx.kernel(buffers, params, work))
    }
}

/// The output layer's settings, as the output-delta and loss kernels read
/// them.
fn output_params(
    n_out: usize,
    loss: Loss,
    activation: Activation,
    sigmoid: SigmoidDerivative,
) -> Result<LayerParams> {
    Ok(LayerParams {
        n_out: size_u32("n_out", n_out)?,
        act: activation.gpu_id(),
        sigmoid_rule: sigmoid.gpu_id(),
        loss: loss.gpu_id(),
        ..Default::default()
    })
}

/// [`cpu::output_delta`](crate::cpu::output_delta): the last layer's delta
/// from its activations `y_hat` and the targets `y`.
pub(crate) struct OutputDelta<'a> {
    pub y_hat: &'a Buffer,
    pub y: &'a Buffer,
    pub delta: &'a Buffer,
}

impl OutputDelta<'_> {
    pub(crate) fn kernel(
        &self,
        ctx: &GpuContext,
        n_out: usize,
        loss: Loss,
        activation: Activation,
        sigmoid: SigmoidDerivative,
    ) -> Result<Kernel> {
        let params = output_params(n_out, loss, activation, sigmoid)?;
        let buffers = Bindings {
            a: self.y_hat,
            b: Some(self.y),
            c: self.delta,
            aux: None,
        };
        let work = Work::Elementwise {
            shader: Shader::OutputDelta,
            cols: params.n_out,
        };
        Ok(ctx.kernel(buffers, params, work))
    }
}

/// The batch's loss sum ([`Loss::sum`], [`Loss::sum_from_logits`]) into
/// slot `step.loss_slot` of `out`, from `y_hat` = ŷ for MSE and the logits
/// for BCE and cross-entropy, in two stages through `partials` (at least
/// [`LossSum::partials`] floats).
pub(crate) struct LossSum<'a> {
    pub y_hat: &'a Buffer,
    pub y: &'a Buffer,
    pub partials: &'a Buffer,
    pub out: &'a Buffer,
}

/// loss.wgsl's two kernels, recorded one after the other.
pub(crate) struct LossKernels {
    pub partials: Kernel,
    pub total: Kernel,
}

impl LossSum<'_> {
    /// Floats of partial sums a batch of `rows` needs.
    pub(crate) fn partials(rows: usize, n_out: usize) -> usize {
        (rows * n_out).div_ceil(LOSS_CHUNK as usize).max(1)
    }

    pub(crate) fn kernels(
        &self,
        ctx: &GpuContext,
        n_out: usize,
        loss: Loss,
    ) -> Result<LossKernels> {
        // The loss kernels read neither the activation nor the rule.
        let params = output_params(n_out, loss, Activation::Identity, SigmoidDerivative::Exact)?;
        let stage1 = Bindings {
            a: self.y_hat,
            b: Some(self.y),
            c: self.partials,
            aux: None,
        };
        // Cross-entropy's items are rows.
        let cols = if loss == Loss::CrossEntropy {
            1
        } else {
            params.n_out
        };
        let work = Work::Chunks {
            shader: Shader::LossPartials,
            cols,
            chunk: LOSS_CHUNK,
        };
        let stage2 = Bindings {
            a: self.partials,
            b: None,
            c: self.out,
            aux: None,
        };
        Ok(LossKernels {
            partials: ctx.kernel(stage1, params, work),
            total: ctx.kernel(
                stage2,
                params,
                Work::Single {
                    shader: Shader::LossTotal,
                },
            ),
        })
    }
}

/// Rows of a resident data set by index (the CPU slices or gathers with
/// [`shuffled_order`](crate::shuffled_order)): `dst[r] = src[idx[offset + r]]`,
/// rows `cols` wide, `offset` the step's.
pub(crate) struct Gather<'a> {
    pub src: &'a Buffer,
    pub idx: &'a Buffer,
    pub dst: &'a Buffer,
}

impl Gather<'_> {
    pub(crate) fn kernel(&self, ctx: &GpuContext, cols: usize) -> Result<Kernel> {
        let params = LayerParams {
            cols: size_u32("cols", cols)?,
            ..Default::default()
        };
        let buffers = Bindings {
            a: self.src,
            b: Some(self.idx),
            c: self.dst,
            aux: None,
        };
        let work = Work::Elementwise {
            shader: Shader::Gather,
            cols: params.cols,
        };
        Ok(ctx.kernel(buffers, params, work))
    }
}
