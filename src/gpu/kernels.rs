//! Dispatching the kernels: grid sizes (folded to the device's limit), the
//! per-step uniform slots, bind groups, and one-shot calls of each kernel
//! that mirror the CPU functions of the same name (for parity tests and
//! benchmarks; training keeps everything resident, see `gpu::train`).

use crate::activation::{Activation, SigmoidDerivative};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::gpu::shaders::{ELEMENTWISE_GROUP, LayerParams, MatmulPipelines, StepParams, tile_for};
use crate::loss::Loss;
use crate::optimizer::{Optimizer, UpdateRule};

/// Workgroup counts `(x, y, z)` for `groups` workgroups, folded so that no
/// dimension exceeds `max`; kernels rebuild the linear index with
/// `group_index` and skip the few past the end.
pub fn fold_grid(groups: u64, max: u32) -> Result<(u32, u32, u32)> {
    let max = max.max(1) as u64;
    let x = groups.clamp(1, max);
    let rest = groups.div_ceil(x).max(1);
    let y = rest.min(max);
    let z = rest.div_ceil(y);
    if z > max {
        return Err(Error::GpuLimit(format!(
            "{groups} workgroups do not fit a {max} x {max} x {max} grid"
        )));
    }
    Ok((x as u32, y as u32, z as u32))
}

/// What a dispatch covers, so its grid can follow the step's row count.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work {
    /// A matmul.wgsl product of `m x n` outputs, `m: None` meaning the
    /// step's rows.
    Matmul { m: Option<u32>, n: u32 },
    /// One invocation per element of a `rows x cols` matrix.
    Elementwise { cols: u32 },
    /// One invocation per element of `count`, whatever the step's rows.
    Fixed { count: u32 },
    /// One workgroup.
    Single,
}

impl Work {
    /// Workgroups for a step of `rows` rows.
    pub fn groups(self, rows: u32) -> u64 {
        match self {
            Work::Matmul { m, n } => {
                let m = m.unwrap_or(rows);
                let tile = tile_for(m, n).tile as u64;
                (m as u64).div_ceil(tile) * (n as u64).div_ceil(tile)
            }
            Work::Elementwise { cols } => {
                (rows as u64 * cols as u64).div_ceil(ELEMENTWISE_GROUP as u64)
            }
            Work::Fixed { count } => (count as u64).div_ceil(ELEMENTWISE_GROUP as u64),
            Work::Single => 1,
        }
    }
}

/// Which pipeline a kernel runs: one, or matmul.wgsl in the tile shape that
/// suits each step's size.
#[derive(Clone)]
pub(crate) enum Pipeline {
    Single(wgpu::ComputePipeline),
    Matmul(MatmulPipelines),
}

impl From<&wgpu::ComputePipeline> for Pipeline {
    fn from(p: &wgpu::ComputePipeline) -> Self {
        Pipeline::Single(p.clone())
    }
}

impl From<&MatmulPipelines> for Pipeline {
    fn from(p: &MatmulPipelines) -> Self {
        Pipeline::Matmul(p.clone())
    }
}

/// One recorded kernel: its pipeline, buffers and grid.
pub(crate) struct Kernel {
    pub pipeline: Pipeline,
    pub bind_group: wgpu::BindGroup,
    pub work: Work,
    // Kept alive with the bind group.
    _params: wgpu::Buffer,
}

impl Kernel {
    /// Record this kernel for a step of `rows` rows whose parameters sit in
    /// slot `slot` of `steps`.
    pub fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass,
        steps: &StepSlots,
        slot: usize,
        rows: u32,
    ) -> Result<()> {
        let (x, y, z) = fold_grid(
            self.work.groups(rows),
            ctx.limits.max_compute_workgroups_per_dimension,
        )?;
        let pipeline = match (&self.pipeline, self.work) {
            (Pipeline::Matmul(p), Work::Matmul { m, n }) => p.get(tile_for(m.unwrap_or(rows), n)),
            (Pipeline::Single(p), _) => p,
            (Pipeline::Matmul(p), _) => &p.large,
        };
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_bind_group(1, &steps.bind_group, &[steps.offset(slot)]);
        pass.dispatch_workgroups(x, y, z);
        Ok(())
    }
}

impl GpuContext {
    /// A kernel over buffers `a`, `b`, `c` (read-write) and `aux`, with
    /// `params` in its uniform.
    pub(crate) fn kernel(
        &self,
        pipeline: impl Into<Pipeline>,
        buffers: [&wgpu::Buffer; 3],
        aux: Option<&wgpu::Buffer>,
        params: LayerParams,
        work: Work,
    ) -> Kernel {
        let uniform = self.uniform_from("layer params", &params);
        let aux = aux.unwrap_or(&self.pipelines.unused);
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .copied()
            .chain([aux, &uniform])
            .enumerate()
            .map(|(i, buffer)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("kernel buffers"),
            layout: &self.pipelines.group0,
            entries: &entries,
        });
        Kernel {
            pipeline: pipeline.into(),
            bind_group,
            work,
            _params: uniform,
        }
    }
}

/// The per-step uniform: `capacity` slots of [`StepParams`], spaced at the
/// device's uniform offset alignment, bound once with a dynamic offset.
pub(crate) struct StepSlots {
    buffer: wgpu::Buffer,
    pub bind_group: wgpu::BindGroup,
    stride: u64,
    pub capacity: usize,
}

impl StepSlots {
    pub fn new(ctx: &GpuContext, capacity: usize) -> Self {
        let stride = (ctx.limits.min_uniform_buffer_offset_alignment as u64)
            .max(std::mem::size_of::<StepParams>() as u64);
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step params"),
            size: stride * capacity as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("step params"),
            layout: &ctx.pipelines.group1,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(std::mem::size_of::<StepParams>() as u64),
                }),
            }],
        });
        StepSlots {
            buffer,
            bind_group,
            stride,
            capacity,
        }
    }

    /// Write `steps` into slots 0.. (takes effect at the next submit).
    pub fn write(&self, ctx: &GpuContext, steps: &[StepParams]) {
        assert!(steps.len() <= self.capacity);
        let mut bytes = vec![0u8; self.stride as usize * steps.len()];
        for (i, s) in steps.iter().enumerate() {
            let at = i * self.stride as usize;
            bytes[at..at + std::mem::size_of::<StepParams>()]
                .copy_from_slice(bytemuck::bytes_of(s));
        }
        ctx.queue.write_buffer(&self.buffer, 0, &bytes);
    }

    pub fn offset(&self, slot: usize) -> u32 {
        (slot as u64 * self.stride) as u32
    }
}

/// Sizes that reach a kernel as u32, checked.
pub(crate) fn size_u32(what: &str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        Error::GpuLimit(format!(
            "{what} = {n} is more than a GPU kernel indexes (2^32 - 1)"
        ))
    })
}

/// A step of `rows` rows and nothing else: what most one-shot calls run.
fn rows_step(rows: usize) -> Result<StepParams> {
    Ok(StepParams {
        rows: size_u32("rows", rows)?,
        ..Default::default()
    })
}

/// One-shot calls: upload, one dispatch, read back.
impl GpuContext {
    /// Dispatch `kernel` once for `step`, then read the first `len` values
    /// of `out` back.
    async fn run_once(
        &self,
        kernel: &Kernel,
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
            kernel.record(self, &mut pass, &steps, 0, step.rows)?;
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
        let w_aug: Vec<f32> = w[..n_in * n_out]
            .iter()
            .chain(bias.unwrap_or(&[]))
            .copied()
            .collect();
        let a = self.storage_from("a_in", &a_in[..rows * n_in])?;
        let b = self.storage_from("w", &w_aug)?;
        let c = self.storage_zeroed("out", rows * n_out)?;
        let params = LayerParams {
            n_in: size_u32("n_in", n_in)?,
            n_out: size_u32("n_out", n_out)?,
            has_bias: bias.is_some() as u32,
            act: activation.gpu_id(),
            ..Default::default()
        };
        let work = Work::Matmul {
            m: None,
            n: params.n_out,
        };
        let k = self.kernel(&self.pipelines.forward, [&a, &b, &c], None, params, work);
        self.run_once(&k, rows_step(rows)?, &c, rows * n_out).await
    }

    /// Seconds per dispatch of the forward kernel on a `rows x n_in` by
    /// `n_in x n_out` product (sigmoid, bias): buffers made once, one warm-up
    /// submit, then `reps` dispatches in one compute pass, timed by the GPU's
    /// timestamps at the start and end of the pass where the adapter has
    /// them (`GpuContext::has_timestamps`), else from submit to completion.
    /// For benchmarks (native: it blocks while the GPU works).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn time_forward(&self, rows: usize, n_in: usize, n_out: usize, reps: usize) -> Result<f64> {
        let _gate = self.gate();
        let a = self.storage_zeroed("a_in", rows * n_in)?;
        let b = self.storage_zeroed("w", (n_in + 1) * n_out)?;
        let c = self.storage_zeroed("out", rows * n_out)?;
        let params = LayerParams {
            n_in: size_u32("n_in", n_in)?,
            n_out: size_u32("n_out", n_out)?,
            has_bias: 1,
            act: Activation::Sigmoid.gpu_id(),
            ..Default::default()
        };
        let k = self.kernel(
            &self.pipelines.forward,
            [&a, &b, &c],
            None,
            params,
            Work::Matmul {
                m: None,
                n: params.n_out,
            },
        );
        let steps = StepSlots::new(self, 1);
        steps.write(self, &[rows_step(rows)?]);
        // With the adapter's timestamps: GPU time between the start and the
        // end of the pass, none of the submit and wait around it.
        let queries = self.timestamps.then(|| {
            let set = self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel time"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolved = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("kernel time"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            (set, resolved)
        });
        let time = |n: usize| -> Result<f64> {
            let mut encoder = self.device.create_command_encoder(&Default::default());
            {
                let timestamp_writes =
                    queries
                        .as_ref()
                        .map(|(set, _)| wgpu::ComputePassTimestampWrites {
                            query_set: set,
                            beginning_of_pass_write_index: Some(0),
                            end_of_pass_write_index: Some(1),
                        });
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("timed"),
                    timestamp_writes,
                });
                for _ in 0..n {
                    k.record(self, &mut pass, &steps, 0, rows as u32)?;
                }
            }
            if let Some((set, resolved)) = &queries {
                encoder.resolve_query_set(set, 0..2, resolved, 0);
            }
            let start = std::time::Instant::now();
            self.queue.submit([encoder.finish()]);
            self.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
            let wall = start.elapsed().as_secs_f64();
            match &queries {
                None => Ok(wall),
                Some((_, resolved)) => {
                    let words = pollster::block_on(self.read_back(&[(resolved, 4)]))?.remove(0);
                    let tick = |i: usize| {
                        words[i].to_bits() as u64 | (words[i + 1].to_bits() as u64) << 32
                    };
                    let ticks = tick(2).saturating_sub(tick(0));
                    Ok(ticks as f64 * self.queue.get_timestamp_period() as f64 * 1e-9)
                }
            }
        };
        time(1)?;
        Ok(time(reps)? / reps as f64)
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
        let dn = self.storage_from("d_next", &d_next[..rows * n_next])?;
        let wn = self.storage_from("w_next", &w_next[..n * n_next])?;
        let act = self.storage_from("a", &a[..rows * n])?;
        let d = self.storage_zeroed("d", rows * n)?;
        let params = LayerParams {
            n_out: size_u32("n", n)?,
            n_next: size_u32("n_next", n_next)?,
            act: activation.gpu_id(),
            sigmoid_rule: sigmoid_id(sigmoid),
            ..Default::default()
        };
        let work = Work::Matmul {
            m: None,
            n: params.n_out,
        };
        let k = self.kernel(
            &self.pipelines.hidden_delta,
            [&dn, &wn, &d],
            Some(&act),
            params,
            work,
        );
        self.run_once(&k, rows_step(rows)?, &d, rows * n).await
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
        let w_aug: Vec<f32> = w[..n_in * n_out]
            .iter()
            .chain(bias.unwrap_or(&[]))
            .copied()
            .collect();
        let a = self.storage_from("a_in", &a_in[..rows * n_in])?;
        let d = self.storage_from("delta", &delta[..rows * n_out])?;
        let wb = self.storage_from("w", &w_aug)?;
        let has_bias = bias.is_some() as u32;
        let params = LayerParams {
            n_in: size_u32("n_in", n_in)?,
            n_out: size_u32("n_out", n_out)?,
            has_bias,
            ..Default::default()
        };
        let work = Work::Matmul {
            m: Some(params.n_in + has_bias),
            n: params.n_out,
        };
        let k = self.kernel(
            &self.pipelines.sgd_update,
            [&a, &d, &wb],
            None,
            params,
            work,
        );
        let step = StepParams {
            scale: step,
            ..rows_step(rows)?
        };
        let mut all = self.run_once(&k, step, &wb, w_aug.len()).await?;
        let b = bias.map(|_| all.split_off(n_in * n_out));
        Ok((all, b))
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
        let p = self.storage_from("y_hat", &y_hat[..rows * n_out])?;
        let t = self.storage_from("y", &y[..rows * n_out])?;
        let d = self.storage_zeroed("delta", rows * n_out)?;
        let params = output_params(n_out, loss, activation, sigmoid)?;
        let work = Work::Elementwise { cols: params.n_out };
        let k = self.kernel(
            &self.pipelines.output_delta,
            [&p, &t, &d],
            None,
            params,
            work,
        );
        self.run_once(&k, rows_step(rows)?, &d, rows * n_out).await
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
        let p = self.storage_from("y_hat", &y_hat[..rows * n_out])?;
        let t = self.storage_from("y", &y[..rows * n_out])?;
        let out = self.storage_zeroed("loss", 1)?;
        let params = output_params(n_out, loss, Activation::Sigmoid, SigmoidDerivative::Exact)?;
        let k = self.kernel(
            &self.pipelines.loss,
            [&p, &t, &out],
            None,
            params,
            Work::Single,
        );
        Ok(self.run_once(&k, rows_step(rows)?, &out, 1).await?[0])
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
        let s = self.storage_from("src", src)?;
        let i = self.storage_from("idx", idx)?;
        let d = self.storage_zeroed("dst", rows * cols)?;
        let params = LayerParams {
            cols: size_u32("cols", cols)?,
            ..Default::default()
        };
        let k = self.kernel(
            &self.pipelines.gather,
            [&s, &i, &d],
            None,
            params,
            Work::Elementwise { cols: params.cols },
        );
        let step = StepParams {
            index_offset: size_u32("offset", offset)?,
            ..rows_step(rows)?
        };
        self.run_once(&k, step, &d, rows * cols).await
    }
}

/// One-shot twins of the optimizer's kernels.
impl GpuContext {
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
        let zb = self.storage_from("z", &z[..rows * n_out])?;
        let out = self.storage_zeroed("y_hat", rows * n_out)?;
        let params = LayerParams {
            n_out: size_u32("n_out", n_out)?,
            act: activation.gpu_id(),
            ..Default::default()
        };
        let k = self.kernel(
            &self.pipelines.output_activation,
            [&zb, &self.pipelines.unused, &out],
            None,
            params,
            Work::Elementwise { cols: 1 },
        );
        self.run_once(&k, rows_step(rows)?, &out, rows * n_out)
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
        let a = self.storage_from("a_in", &a_in[..rows * n_in])?;
        let d = self.storage_from("delta", &delta[..rows * n_out])?;
        let g = self.storage_zeroed("gradient", count)?;
        let params = LayerParams {
            n_in: size_u32("n_in", n_in)?,
            n_out: size_u32("n_out", n_out)?,
            has_bias: has_bias as u32,
            ..Default::default()
        };
        let work = Work::Matmul {
            m: Some(params.n_in + params.has_bias),
            n: params.n_out,
        };
        let k = self.kernel(
            &self.pipelines.weight_gradient,
            [&a, &d, &g],
            None,
            params,
            work,
        );
        let step = StepParams {
            scale,
            ..rows_step(rows)?
        };
        self.run_once(&k, step, &g, count).await
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
        let all: Vec<f32> = values.iter().chain(first).chain(second).copied().collect();
        let p = self.storage_from("parameters", &all)?;
        let g = self.storage_from("gradient", &grad[..count])?;
        let params = LayerParams {
            n_in: size_u32("weights", weights)?,
            n_out: 1,
            ..optimizer_params(rule.optimizer, rule.weight_decay, count)?
        };
        let k = self.kernel(
            &self.pipelines.optimizer,
            [&g, &self.pipelines.unused, &p],
            None,
            params,
            Work::Fixed {
                count: params.count,
            },
        );
        let step = StepParams {
            lr: rule.lr,
            correction1: rule.correction1,
            correction2: rule.correction2,
            ..Default::default()
        };
        let mut all = self.run_once(&k, step, &p, all.len()).await?;
        let second = all.split_off(count + first.len());
        let first = all.split_off(count);
        Ok((all, first, second))
    }
}

/// The optimizer kernel's settings for a layer of `count` values.
pub(crate) fn optimizer_params(
    optimizer: Optimizer,
    decay: f32,
    count: usize,
) -> Result<LayerParams> {
    let (beta1, beta2, epsilon, nesterov) = match optimizer {
        Optimizer::Sgd => (0.0, 0.0, 0.0, false),
        Optimizer::Momentum { momentum, nesterov } => (momentum, 0.0, 0.0, nesterov),
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        } => (beta1, beta2, epsilon, false),
    };
    Ok(LayerParams {
        optimizer: optimizer.gpu_id(),
        nesterov: nesterov as u32,
        beta1,
        beta2,
        epsilon,
        decay,
        count: size_u32("layer values", count)?,
        ..Default::default()
    })
}

pub(crate) fn sigmoid_id(rule: SigmoidDerivative) -> u32 {
    match rule {
        SigmoidDerivative::Exact => 0,
        SigmoidDerivative::NotebookOneMinusS => 1,
    }
}

pub(crate) fn loss_id(loss: Loss) -> u32 {
    match loss {
        Loss::Mse => 0,
        Loss::Bce => 1,
        Loss::CrossEntropy => 2,
    }
}

/// Parameters of the output-delta and loss kernels.
pub(crate) fn output_params(
    n_out: usize,
    loss: Loss,
    activation: Activation,
    sigmoid: SigmoidDerivative,
) -> Result<LayerParams> {
    Ok(LayerParams {
        n_out: size_u32("n_out", n_out)?,
        act: activation.gpu_id(),
        sigmoid_rule: sigmoid_id(sigmoid),
        loss: loss_id(loss),
        ..Default::default()
    })
}
