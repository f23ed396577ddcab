//! Training on the GPU: the whole data set, every weight, activation and
//! delta resident in GPU buffers; pipelines, buffers and bind groups made
//! once per run; many steps recorded into each submit.
//!
//! A step is, in one compute pass: gather the batch's rows (unless the batch
//! is the whole data set in order), forward through every layer (for BCE
//! and cross-entropy the last product keeps its logits and
//! output_activation.wgsl applies the activation), the batch loss into a
//! slot of a small buffer, the output delta, the hidden deltas from the last
//! layer down, then the update of every layer: fused into the gradient
//! product for plain SGD, else the gradient product then optimizer.wgsl,
//! whose state sits in each layer's parameter buffer after `[W; b]`. After each
//! submit that small buffer (4 bytes a step) is read back for the report and
//! to stop on a NaN or infinite loss; the weights are read back at the end.

use std::ops::Range;

use crate::batches::{BatchOrder, shuffled_order};
use crate::config::TrainConfig;
use crate::driver::Runner;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::gate::GateGuard;
use crate::gpu::kernels::{
    Kernel, StepSlots, Work, optimizer_params, output_params, sigmoid_id, size_u32,
};
use crate::gpu::shaders::{
    LayerParams, SMALL_NET_FLOATS, SMALL_NET_LAYERS, SmallNetParams, StepParams,
};
use crate::layer::Layer;
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::OptimizerState;
use crate::plan::{PlannedStep, StepPlan};

/// Most steps recorded into one submit.
const MAX_STEPS_PER_SUBMIT: usize = 1024;
/// Work per submit to aim for, so a big network's submit stays well under a
/// second (drivers may reset a GPU that runs one much longer).
const FLOP_PER_SUBMIT: f64 = 1e11;
/// Row indices the index buffer holds at most for shuffled epochs (64 MiB).
const MAX_SHUFFLED_INDICES: usize = 1 << 24;

/// Loop iterations with run-time bounds one invocation of train_small.wgsl
/// may run in one dispatch: half of llvmpipe's limit (about 65,535), which
/// ends a shader silently past it.
const SMALL_NET_ITERATIONS: usize = 32_768;

/// train_small.wgsl's buffers, for a network that fits one workgroup.
struct Small {
    params: SmallNetParams,
    /// Steps per dispatch.
    steps_per_dispatch: usize,
    uniform: wgpu::Buffer,
    steps: wgpu::Buffer,
    /// Every layer's [W; b], one after another.
    weights: wgpu::Buffer,
    /// Where each layer sits in `weights`, and its size, in bytes.
    spans: Vec<(u64, u64)>,
    bind_group: wgpu::BindGroup,
}

/// Where a network's values go in train_small.wgsl's workgroup memory, if
/// they fit: each layer's [W; b], activations and deltas for `batch` rows,
/// then the batch's inputs and targets.
fn small_plan(net: &Network, batch: usize, config: &TrainConfig) -> Option<SmallNetParams> {
    let layers = net.layers();
    // The kernel does plain SGD, MSE and BCE.
    if layers.len() > SMALL_NET_LAYERS || !config.fused_sgd() || config.loss == Loss::CrossEntropy {
        return None;
    }
    let mut p = SmallNetParams {
        layers: layers.len() as u32,
        loss: crate::gpu::kernels::loss_id(config.loss),
        sigmoid_rule: sigmoid_id(config.sigmoid_derivative),
        n_in: net.inputs() as u32,
        ..Default::default()
    };
    let (mut mem, mut buf) = (0usize, 0usize);
    for (l, layer) in layers.iter().enumerate() {
        let w = (layer.inputs + layer.bias.is_some() as usize) * layer.outputs;
        let a = batch * layer.outputs;
        p.dims[l] = [
            layer.inputs as u32,
            layer.outputs as u32,
            layer.bias.is_some() as u32,
            layer.activation.gpu_id(),
        ];
        p.offs[l] = [
            mem as u32,
            (mem + w) as u32,
            (mem + w + a) as u32,
            buf as u32,
        ];
        mem += w + 2 * a;
        buf += w;
    }
    p.x_off = mem as u32;
    p.y_off = (mem + batch * net.inputs()) as u32;
    mem += batch * (net.inputs() + net.outputs());
    (mem <= SMALL_NET_FLOATS).then_some(p)
}

/// An upper bound on the run-time-bounded loop iterations one invocation of
/// train_small.wgsl runs per step: each phase's share of elements (64
/// invocations) times its inner loop, plus the loops' own passes.
fn small_iterations_per_step(net: &Network, batch: usize) -> usize {
    let share = |elements: usize| elements.div_ceil(64) + 1;
    let layers = net.layers();
    let mut n = 8
        + share(batch * net.inputs())
        + share(batch * net.outputs())
        + share(batch * net.outputs());
    for (l, layer) in layers.iter().enumerate() {
        n += 2 + share(batch * layer.outputs) * (layer.inputs + 1);
        if let Some(next) = layers.get(l + 1) {
            n += 2 + share(batch * layer.outputs) * (next.outputs + 1);
        }
        let w = (layer.inputs + layer.bias.is_some() as usize) * layer.outputs;
        n += 2 + share(w) * (batch + 1);
    }
    n
}

/// Everything a run keeps on the GPU: the GPU's [`Runner`].
pub(crate) struct Resident<'a> {
    ctx: &'a GpuContext,
    config: &'a TrainConfig,
    n: usize,
    batch: usize,
    order: BatchOrder,
    index: wgpu::Buffer,
    epoch_slots: usize,
    steps: StepSlots,
    losses: wgpu::Buffer,
    weights: Vec<wgpu::Buffer>,
    gather_x: Option<Kernel>,
    gather_y: Option<Kernel>,
    forward: Vec<Kernel>,
    output_activation: Option<Kernel>,
    loss: Kernel,
    output_delta: Kernel,
    hidden_delta: Vec<Kernel>,
    /// The fused SGD update, or the gradient product, per layer.
    update: Vec<Kernel>,
    /// The optimizer's step per layer, after its gradient product.
    optimizer: Vec<Kernel>,
    /// Values of `[W; b]` per layer; its buffer holds the optimizer's state
    /// after them.
    counts: Vec<usize>,
    small: Option<Small>,
    // Last, so every buffer above is dropped before it is released (GL).
    _gate: GateGuard,
}

/// A layer's weights with its bias as one more row: the layout the kernels use.
fn augmented(layer: &Layer) -> Vec<f32> {
    layer
        .weights
        .iter()
        .chain(layer.bias.iter().flatten())
        .copied()
        .collect()
}

impl<'a> Resident<'a> {
    /// The run of `config` on `x`, `y` (checked by the driver): the data,
    /// `net`'s parameters with `state`, and every kernel, on the GPU.
    pub(crate) fn new(
        ctx: &'a GpuContext,
        net: &Network,
        x: &Matrix,
        y: &Matrix,
        config: &'a TrainConfig,
        state: &OptimizerState,
    ) -> Result<Self> {
        let gate = ctx.gate();
        let n = x.rows();
        let batch = config.batch_rows(n);
        let steps_per_submit =
            ((FLOP_PER_SUBMIT / flop_per_step(net, batch)) as usize).clamp(1, MAX_STEPS_PER_SUBMIT);
        let gather = !(config.order == BatchOrder::InOrder && batch == n);
        let layers = net.layers();
        let (n_in, n_out) = (x.cols(), y.cols());
        size_u32("batch rows", batch)?;
        size_u32("data rows", n)?;

        let x_all = ctx.storage_from("inputs", x.as_slice())?;
        let y_all = ctx.storage_from("targets", y.as_slice())?;
        // Region 0 of the index buffer is file order; regions 1.. hold the
        // permutations of the epochs a submit covers.
        let epoch_slots = match config.order {
            BatchOrder::InOrder => 0,
            BatchOrder::Shuffled { .. } => {
                let steps_per_epoch = n.div_ceil(batch);
                (steps_per_submit / steps_per_epoch + 2).min((MAX_SHUFFLED_INDICES / n).max(1))
            }
        };
        let identity: Vec<u32> = (0..n as u32).collect();
        let index = ctx.storage_from("row indices", &identity)?;
        let index = if epoch_slots > 0 {
            let buffer = ctx.storage_zeroed("row indices", n * (1 + epoch_slots))?;
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            encoder.copy_buffer_to_buffer(&index, 0, &buffer, 0, 4 * n as u64);
            ctx.queue.submit([encoder.finish()]);
            buffer
        } else {
            index
        };

        let (x_in, y_in) = if gather {
            (
                ctx.storage_zeroed("batch inputs", batch * n_in)?,
                ctx.storage_zeroed("batch targets", batch * n_out)?,
            )
        } else {
            (x_all.clone(), y_all.clone())
        };
        let p = &ctx.pipelines;
        let (gather_x, gather_y) = if gather {
            let kx = LayerParams {
                cols: n_in as u32,
                ..Default::default()
            };
            let ky = LayerParams {
                cols: n_out as u32,
                ..Default::default()
            };
            (
                Some(ctx.kernel(
                    &p.gather,
                    [&x_all, &index, &x_in],
                    None,
                    kx,
                    Work::Elementwise { cols: kx.cols },
                )),
                Some(ctx.kernel(
                    &p.gather,
                    [&y_all, &index, &y_in],
                    None,
                    ky,
                    Work::Elementwise { cols: ky.cols },
                )),
            )
        } else {
            (None, None)
        };

        let mut weights = Vec::new();
        let mut acts = Vec::new();
        let mut deltas = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            weights.push(ctx.storage_from(
                &format!("layer {} parameters", l + 1),
                &parameters(layer, state, l),
            )?);
            acts.push(ctx.storage_zeroed(
                &format!("layer {} activations", l + 1),
                batch * layer.outputs,
            )?);
            deltas.push(
                ctx.storage_zeroed(&format!("layer {} deltas", l + 1), batch * layer.outputs)?,
            );
        }
        let params = |l: usize| -> Result<LayerParams> {
            let layer = &layers[l];
            Ok(LayerParams {
                n_in: size_u32("layer inputs", layer.inputs)?,
                n_out: size_u32("layer outputs", layer.outputs)?,
                has_bias: layer.bias.is_some() as u32,
                act: layer.activation.gpu_id(),
                n_next: layers.get(l + 1).map_or(0, |next| next.outputs as u32),
                sigmoid_rule: sigmoid_id(config.sigmoid_derivative),
                ..Default::default()
            })
        };
        let last = layers.len() - 1;
        let fused = config.fused_sgd();
        let counts: Vec<usize> = layers.iter().map(|l| l.parameter_count()).collect();
        // One gradient buffer serves every layer in turn.
        let gradient = if fused {
            None
        } else {
            Some(ctx.storage_zeroed("gradient", counts.iter().copied().max().unwrap_or(1))?)
        };
        // BCE and cross-entropy are computed from the output's logits.
        let logits = if config.loss.uses_logits() {
            Some(ctx.storage_zeroed("output logits", batch * n_out)?)
        } else {
            None
        };
        let mut forward = Vec::new();
        let mut update = Vec::new();
        let mut optimizer = Vec::new();
        let mut hidden_delta = Vec::new();
        for l in 0..layers.len() {
            let pl = params(l)?;
            let input = if l == 0 { &x_in } else { &acts[l - 1] };
            let work = Work::Matmul {
                m: None,
                n: pl.n_out,
            };
            forward.push(match (&logits, l == last) {
                (Some(z), true) => {
                    let identity = LayerParams {
                        act: crate::Activation::Identity.gpu_id(),
                        ..pl
                    };
                    ctx.kernel(&p.forward, [input, &weights[l], z], None, identity, work)
                }
                _ => ctx.kernel(&p.forward, [input, &weights[l], &acts[l]], None, pl, work),
            });
            let m = Some(pl.n_in + pl.has_bias);
            let product = Work::Matmul { m, n: pl.n_out };
            match &gradient {
                None => update.push(ctx.kernel(
                    &p.sgd_update,
                    [input, &deltas[l], &weights[l]],
                    None,
                    pl,
                    product,
                )),
                Some(g) => {
                    update.push(ctx.kernel(
                        &p.weight_gradient,
                        [input, &deltas[l], g],
                        None,
                        pl,
                        product,
                    ));
                    let po = LayerParams {
                        n_in: pl.n_in,
                        n_out: pl.n_out,
                        ..optimizer_params(config.optimizer, config.weight_decay, counts[l])?
                    };
                    optimizer.push(ctx.kernel(
                        &p.optimizer,
                        [g, &p.unused, &weights[l]],
                        None,
                        po,
                        Work::Fixed { count: po.count },
                    ));
                }
            }
            if l < last {
                let hd = [&deltas[l + 1], &weights[l + 1], &deltas[l]];
                hidden_delta.push(ctx.kernel(
                    &p.hidden_delta,
                    hd,
                    Some(&acts[l]),
                    pl,
                    Work::Matmul {
                        m: None,
                        n: pl.n_out,
                    },
                ));
            }
        }
        let out = &layers[last];
        let op = output_params(
            out.outputs,
            config.loss,
            out.activation,
            config.sigmoid_derivative,
        )?;
        let losses = ctx.storage_zeroed("step losses", steps_per_submit)?;
        let output_activation = logits.as_ref().map(|z| {
            ctx.kernel(
                &p.output_activation,
                [z, &p.unused, &acts[last]],
                None,
                op,
                Work::Elementwise { cols: 1 },
            )
        });
        let loss = ctx.kernel(
            &p.loss,
            [logits.as_ref().unwrap_or(&acts[last]), &y_in, &losses],
            None,
            op,
            Work::Single,
        );
        let output_delta = ctx.kernel(
            &p.output_delta,
            [&acts[last], &y_in, &deltas[last]],
            None,
            op,
            Work::Elementwise { cols: op.n_out },
        );
        let small = match small_plan(net, batch, config) {
            Some(params) if !ctx.options.per_step_dispatches => {
                let sizes: Vec<u64> = layers
                    .iter()
                    .map(|l| 4 * augmented(l).len() as u64)
                    .collect();
                let mut spans = Vec::new();
                let mut at = 0;
                for size in sizes {
                    spans.push((at, size));
                    at += size;
                }
                let all = ctx.storage_zeroed("small net weights", (at / 4) as usize)?;
                let step_floats = std::mem::size_of::<StepParams>() / 4;
                let steps =
                    ctx.storage_zeroed("small net steps", step_floats * steps_per_submit)?;
                let uniform = ctx.uniform_from("small net", &params);
                let buffers = [&x_all, &y_all, &index, &steps, &all, &losses, &uniform];
                let entries: Vec<wgpu::BindGroupEntry> = buffers
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource: b.as_entire_binding(),
                    })
                    .collect();
                let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("train_small"),
                    layout: &ctx.pipelines.small_group,
                    entries: &entries,
                });
                let steps_per_dispatch =
                    (SMALL_NET_ITERATIONS / small_iterations_per_step(net, batch)).max(1);
                Some(Small {
                    params,
                    steps_per_dispatch,
                    uniform,
                    steps,
                    weights: all,
                    spans,
                    bind_group,
                })
            }
            _ => None,
        };
        Ok(Resident {
            small,
            ctx,
            config,
            n,
            batch,
            order: config.order,
            index,
            epoch_slots,
            steps: StepSlots::new(ctx, steps_per_submit),
            losses,
            weights,
            gather_x,
            gather_y,
            forward,
            output_activation,
            loss,
            output_delta,
            hidden_delta,
            update,
            optimizer,
            counts,
            _gate: gate,
        })
    }

    /// Record and submit `plan` (at most one submit's worth, spanning at most
    /// `epoch_slots` epochs when shuffled), training when `train` is set or
    /// only evaluating the loss otherwise; returns each step's loss sum.
    async fn submit(
        &self,
        plan: &[PlannedStep],
        config: &TrainConfig,
        train: bool,
    ) -> Result<Vec<f32>> {
        let ctx = self.ctx;
        let first_epoch = plan.first().map_or(0, |s| s.epoch);
        // Epochs of one submit, as a region of the index buffer.
        let region = |epoch: u64| (epoch - first_epoch) as usize;
        if train && let BatchOrder::Shuffled { seed } = self.order {
            let last_epoch = plan.last().map_or(0, |s| s.epoch);
            for e in first_epoch..=last_epoch {
                let order = shuffled_order(self.n, seed, e);
                let at = 4 * (self.n * (1 + region(e))) as u64;
                ctx.queue
                    .write_buffer(&self.index, at, bytemuck::cast_slice(&order));
            }
        }
        let params: Vec<StepParams> = plan
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let region = match self.order {
                    BatchOrder::Shuffled { .. } if train => 1 + region(s.epoch),
                    _ => 0,
                };
                let rates = config.rates(s.t, s.rows);
                StepParams {
                    rows: s.rows as u32,
                    index_offset: (region * self.n + s.start) as u32,
                    scale: if config.fused_sgd() {
                        rates.sgd_step
                    } else {
                        rates.gradient_scale
                    },
                    loss_slot: i as u32,
                    lr: rates.lr,
                    correction1: rates.correction1,
                    correction2: rates.correction2,
                    _pad: 0,
                }
            })
            .collect();
        if train && let Some(small) = &self.small {
            // Many steps, one dispatch: the layers' weights go into the
            // kernel's buffer and come back after it.
            // Each dispatch takes the next steps_per_dispatch steps; the
            // uniform saying which is written before each submit.
            ctx.queue
                .write_buffer(&small.steps, 0, bytemuck::cast_slice(&params));
            let mut first = 0;
            while first < plan.len() {
                let count = small.steps_per_dispatch.min(plan.len() - first);
                let net = SmallNetParams {
                    first: first as u32,
                    steps: count as u32,
                    ..small.params
                };
                ctx.queue
                    .write_buffer(&small.uniform, 0, bytemuck::bytes_of(&net));
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                if first == 0 {
                    for (w, &(at, size)) in self.weights.iter().zip(&small.spans) {
                        encoder.copy_buffer_to_buffer(w, 0, &small.weights, at, size);
                    }
                }
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    pass.set_pipeline(&ctx.pipelines.train_small);
                    pass.set_bind_group(0, &small.bind_group, &[]);
                    pass.dispatch_workgroups(1, 1, 1);
                }
                first += count;
                if first == plan.len() {
                    for (w, &(at, size)) in self.weights.iter().zip(&small.spans) {
                        encoder.copy_buffer_to_buffer(&small.weights, at, w, 0, size);
                    }
                }
                ctx.queue.submit([encoder.finish()]);
            }
            return Ok(ctx
                .read_back(&[(&self.losses, plan.len())])
                .await?
                .remove(0));
        }
        self.steps.write(ctx, &params);

        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for (slot, s) in plan.iter().enumerate() {
                let rows = s.rows as u32;
                let mut record = |k: &Kernel| k.record(ctx, &mut pass, &self.steps, slot, rows);
                if let (Some(gx), Some(gy)) = (&self.gather_x, &self.gather_y) {
                    record(gx)?;
                    record(gy)?;
                }
                for k in &self.forward {
                    record(k)?;
                }
                if let Some(k) = &self.output_activation {
                    record(k)?;
                }
                record(&self.loss)?;
                if train {
                    record(&self.output_delta)?;
                    // Every delta before any update: they all use this
                    // step's weights.
                    for k in self.hidden_delta.iter().rev() {
                        record(k)?;
                    }
                    for (l, k) in self.update.iter().enumerate() {
                        record(k)?;
                        if let Some(o) = self.optimizer.get(l) {
                            record(o)?;
                        }
                    }
                }
            }
        }
        ctx.queue.submit([encoder.finish()]);
        Ok(ctx
            .read_back(&[(&self.losses, plan.len())])
            .await?
            .remove(0))
    }

    /// Mean loss over the whole data set, in batches, in file order.
    async fn mean_loss(&self, config: &TrainConfig) -> Result<f64> {
        let plan = StepPlan::chunks(self.n, self.batch);
        let mut total = 0.0;
        for chunk in plan.chunks(self.steps.capacity) {
            total += self
                .submit(chunk, config, false)
                .await?
                .iter()
                .map(|v| *v as f64)
                .sum::<f64>();
        }
        Ok(total / self.n as f64)
    }

    fn upload_weights(&self, layers: &[Layer], state: &OptimizerState) {
        for (l, (buffer, layer)) in self.weights.iter().zip(layers).enumerate() {
            let values = parameters(layer, state, l);
            self.ctx
                .queue
                .write_buffer(buffer, 0, bytemuck::cast_slice(&values));
        }
    }

    /// Every layer's `[W; b]`, and the optimizer's state after them.
    async fn download_weights(
        &self,
        layers: &mut [Layer],
        state: &mut OptimizerState,
    ) -> Result<()> {
        let moments = state.moments();
        let sizes: Vec<(&wgpu::Buffer, usize)> = self
            .weights
            .iter()
            .zip(&self.counts)
            .map(|(b, &n)| (b, n * (1 + moments)))
            .collect();
        for (l, (values, layer)) in self
            .ctx
            .read_back(&sizes)
            .await?
            .into_iter()
            .zip(layers)
            .enumerate()
        {
            let count = self.counts[l];
            let (w, rest) = values.split_at(layer.weights.len());
            layer.weights.copy_from_slice(w);
            if let Some(bias) = &mut layer.bias {
                let outputs = bias.len();
                bias.copy_from_slice(&rest[..outputs]);
            }
            if let Some(m) = state.first.get_mut(l) {
                m.copy_from_slice(&values[count..2 * count]);
            }
            if let Some(v) = state.second.get_mut(l) {
                v.copy_from_slice(&values[2 * count..3 * count]);
            }
        }
        Ok(())
    }

    /// Steps `from..to` of `plan` in submits: at most `capacity` steps and,
    /// when shuffled, at most `epoch_slots` epochs each.
    fn submits(
        &self,
        plan: StepPlan,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Vec<PlannedStep>> {
        let (capacity, epoch_slots) = (self.steps.capacity, self.epoch_slots as u64);
        let mut next = from;
        std::iter::from_fn(move || {
            if next >= to {
                return None;
            }
            let first = plan.step(next);
            let mut chunk = vec![first];
            next += 1;
            while next < to && chunk.len() < capacity {
                let s = plan.step(next);
                if epoch_slots > 0 && s.epoch - first.epoch >= epoch_slots {
                    break;
                }
                chunk.push(s);
                next += 1;
            }
            Some(chunk)
        })
    }
}

/// A layer's parameter buffer: `[W; b]`, then the optimizer's state for it.
fn parameters(layer: &Layer, state: &OptimizerState, l: usize) -> Vec<f32> {
    let mut values = augmented(layer);
    for moments in [&state.first, &state.second] {
        if let Some(m) = moments.get(l) {
            values.extend_from_slice(m);
        }
    }
    values
}

/// Floating-point work of one training step (2·M·N·K per product, three
/// products a layer), to size submits.
fn flop_per_step(net: &Network, rows: usize) -> f64 {
    net.layers()
        .iter()
        .map(|l| 6.0 * rows as f64 * l.inputs as f64 * l.outputs as f64)
        .sum()
}

impl Runner for Resident<'_> {
    fn trains_in_place(&self) -> bool {
        false
    }

    async fn train(
        &mut self,
        _: &mut [Layer],
        _: &mut OptimizerState,
        plan: &StepPlan,
        steps: Range<u64>,
        seen: &mut dyn FnMut(&PlannedStep, f64) -> bool,
    ) -> Result<()> {
        for chunk in self.submits(*plan, steps.start, steps.end) {
            let sums = self.submit(&chunk, self.config, true).await?;
            for (s, sum) in chunk.iter().zip(sums) {
                if !seen(s, sum as f64) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    async fn mean_loss(&mut self, _: &[Layer]) -> Result<f64> {
        Resident::mean_loss(self, self.config).await
    }

    async fn load(&mut self, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        self.upload_weights(layers, state);
        Ok(())
    }

    async fn store(&mut self, layers: &mut [Layer], state: &mut OptimizerState) -> Result<()> {
        self.download_weights(layers, state).await
    }
}
