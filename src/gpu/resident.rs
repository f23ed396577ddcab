//! Training on the GPU: the whole data set, every weight, activation and
//! delta resident in GPU buffers; buffers and bind groups made once per
//! run; many steps recorded into each submit. The driver's GPU
//! [`Runner`].
//!
//! A step is, in one compute pass: gather the batch's rows (unless the batch
//! is the whole data set in order), forward through every layer (for BCE
//! and cross-entropy the last product keeps its logits and
//! output_activation.wgsl applies the activation), the batch loss into a
//! slot of a small buffer, the output delta, the hidden deltas from the last
//! layer down, then the update of every layer: fused into the gradient
//! product for plain SGD, else the gradient product then optimizer.wgsl,
//! whose state sits in each layer's parameter buffer after `[W; b]`
//! (`gpu::parameters`). That small buffer (4 bytes a step) is read back
//! for the report and to stop on a NaN or infinite loss, one submit late:
//! the next submit is recorded and running while the host waits for the
//! losses of the one before (they sit in the other half of the buffer), so
//! the GPU does not idle while steps are recorded. A run that diverged has
//! done a submit more than it needed; the driver replays it to the step
//! before the break either way. The weights are read back at the end. A
//! network that fits one workgroup runs many steps per dispatch instead
//! (`gpu::small`).

use std::ops::Range;

use crate::batches::{BatchOrder, shuffled_order};
use crate::config::TrainConfig;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::buffers::PendingRead;
use crate::gpu::gate::GateGuard;
use crate::gpu::kernels::{FLOP_PER_SUBMIT, MAX_STEPS_PER_SUBMIT, flop_per_step};
use crate::gpu::kernels::{Kernel, StepSlots, size_u32};
use crate::gpu::ops;
use crate::gpu::parameters::ParameterLayout;
use crate::gpu::shaders::StepParams;
use crate::gpu::small::{Small, SmallInputs};
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::OptimizerState;
use crate::plan::{PlannedStep, Runner, StepPlan, Validated};

/// Row indices the index buffer holds at most for shuffled epochs (64 MiB).
const MAX_SHUFFLED_INDICES: usize = 1 << 24;

/// Everything a run keeps on the GPU.
pub(crate) struct Resident<'a> {
    ctx: &'a GpuContext,
    config: &'a TrainConfig,
    n: usize,
    batch: usize,
    index: wgpu::Buffer,
    epoch_slots: usize,
    steps: StepSlots,
    losses: wgpu::Buffer,
    /// Each layer's parameter buffer (`gpu::parameters`).
    weights: Vec<wgpu::Buffer>,
    layouts: Vec<ParameterLayout>,
    gather_x: Option<Kernel>,
    gather_y: Option<Kernel>,
    forward: Vec<Kernel>,
    output_activation: Option<Kernel>,
    loss: ops::LossKernels,
    output_delta: Kernel,
    hidden_delta: Vec<Kernel>,
    /// The fused SGD update, or the gradient product, per layer.
    update: Vec<Kernel>,
    /// The optimizer's step per layer, after its gradient product.
    optimizer: Vec<Kernel>,
    small: Option<Small>,
    /// The validation rows and their kernels, when the run has them.
    validation: Option<Validation>,
    /// The best epoch's parameter buffers (early stopping).
    best: Vec<wgpu::Buffer>,
    /// The last layer's activations (the predictions) and its width.
    outputs: (wgpu::Buffer, usize),
    // Last, so every buffer above is dropped before it is released (GL).
    _gate: GateGuard,
}

/// Validation rows resident on the GPU, gathered into the batch buffers a
/// chunk at a time and run forward with the training run's kernels.
struct Validation {
    rows: usize,
    /// File order: the rows of each chunk.
    _index: wgpu::Buffer,
    gather_x: Kernel,
    gather_y: Kernel,
    /// Every row's outputs, copied chunk by chunk from the last layer.
    predictions: wgpu::Buffer,
    _data: [wgpu::Buffer; 2],
}

/// Layer `l`'s state vectors in `state` (none for SGD).
fn layer_state(state: &OptimizerState, l: usize) -> [&[f32]; 2] {
    fn get(m: &[Vec<f32>], l: usize) -> &[f32] {
        m.get(l).map_or(&[], Vec::as_slice)
    }
    [get(&state.first, l), get(&state.second, l)]
}

impl<'a> Resident<'a> {
    /// The run of `config` on `x`, `y` (checked by the driver), with its
    /// `validation` rows: the data, `net`'s parameters with `state`, and
    /// every kernel, on the GPU.
    pub(crate) fn new(
        ctx: &'a GpuContext,
        net: &Network,
        x: &Matrix,
        y: &Matrix,
        validation: Option<(&Matrix, &Matrix)>,
        config: &'a TrainConfig,
        state: &OptimizerState,
    ) -> Result<Self> {
        let gate = ctx.gate();
        let n = x.rows();
        let batch = config.batch_rows(n);
        let steps_per_submit =
            ((FLOP_PER_SUBMIT / flop_per_step(net, batch)) as usize).clamp(1, MAX_STEPS_PER_SUBMIT);
        // Validation rows are gathered into the batch buffers, so those
        // cannot be the data set itself.
        let gather = !(config.order == BatchOrder::InOrder && batch == n) || validation.is_some();
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
        let (gather_x, gather_y) = if gather {
            let x_op = ops::Gather {
                src: &x_all,
                idx: &index,
                dst: &x_in,
            };
            let y_op = ops::Gather {
                src: &y_all,
                idx: &index,
                dst: &y_in,
            };
            (
                Some(x_op.kernel(ctx, n_in)?),
                Some(y_op.kernel(ctx, n_out)?),
            )
        } else {
            (None, None)
        };

        let moments = config.optimizer.moments();
        let layouts: Vec<ParameterLayout> = layers
            .iter()
            .map(|l| ParameterLayout::of(l, moments))
            .collect();
        let mut weights = Vec::new();
        let mut acts = Vec::new();
        let mut deltas = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            let values = ParameterLayout::pack_layer(layer, &layer_state(state, l))?;
            weights.push(ctx.storage_from(&format!("layer {} parameters", l + 1), &values)?);
            acts.push(ctx.storage_zeroed(
                &format!("layer {} activations", l + 1),
                batch * layer.outputs(),
            )?);
            deltas.push(
                ctx.storage_zeroed(&format!("layer {} deltas", l + 1), batch * layer.outputs())?,
            );
        }
        let last = layers.len() - 1;
        // One gradient buffer serves every layer in turn.
        let gradient = if config.fused_sgd() {
            None
        } else {
            let largest = layouts.iter().map(ParameterLayout::count).max();
            Some(ctx.storage_zeroed("gradient", largest.unwrap_or(1))?)
        };
        // BCE and cross-entropy are computed from the output's logits.
        let logits = if config.objective().uses_logits() {
            Some(ctx.storage_zeroed("output logits", batch * n_out)?)
        } else {
            None
        };
        let mut forward = Vec::new();
        let mut update = Vec::new();
        let mut optimizer = Vec::new();
        let mut hidden_delta = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            let (inputs, outputs, has_bias) =
                (layer.inputs(), layer.outputs(), layer.bias().is_some());
            let a_in = if l == 0 { &x_in } else { &acts[l - 1] };
            forward.push(match (&logits, l == last) {
                (Some(z), true) => ops::MatmulBiasAct {
                    a_in,
                    w_aug: &weights[l],
                    out: z,
                }
                .kernel(
                    ctx,
                    inputs,
                    outputs,
                    has_bias,
                    crate::Activation::Identity,
                )?,
                _ => ops::MatmulBiasAct {
                    a_in,
                    w_aug: &weights[l],
                    out: &acts[l],
                }
                .kernel(ctx, inputs, outputs, has_bias, layer.activation())?,
            });
            match &gradient {
                None => update.push(
                    ops::SgdUpdate {
                        a_in,
                        delta: &deltas[l],
                        w_aug: &weights[l],
                    }
                    .kernel(ctx, inputs, outputs, has_bias)?,
                ),
                Some(g) => {
                    update.push(
                        ops::WeightGradient {
                            a_in,
                            delta: &deltas[l],
                            grad: g,
                        }
                        .kernel(ctx, inputs, outputs, has_bias)?,
                    );
                    optimizer.push(
                        ops::OptimizerUpdate {
                            grad: g,
                            params: &weights[l],
                        }
                        .kernel(
                            ctx,
                            layouts[l].weights,
                            layouts[l].count(),
                            config.optimizer,
                            config.weight_decay,
                        )?,
                    );
                }
            }
            if l < last {
                hidden_delta.push(
                    ops::HiddenDelta {
                        d_next: &deltas[l + 1],
                        w_next: &weights[l + 1],
                        a: &acts[l],
                        d: &deltas[l],
                    }
                    .kernel(
                        ctx,
                        outputs,
                        layers[l + 1].outputs(),
                        layer.activation(),
                        config.sigmoid_derivative,
                    )?,
                );
            }
        }
        let out = &layers[last];
        // Two halves: a submit's losses, and the next one's.
        let losses = ctx.storage_zeroed("step losses", 2 * steps_per_submit)?;
        let output_activation = match &logits {
            Some(z) => Some(
                ops::OutputActivation {
                    z,
                    y_hat: &acts[last],
                }
                .kernel(ctx, out.outputs(), out.activation())?,
            ),
            None => None,
        };
        let partials = ctx.storage_zeroed(
            "loss partials",
            ops::LossSum::partials(batch, out.outputs()),
        )?;
        let loss = ops::LossSum {
            y_hat: logits.as_ref().unwrap_or(&acts[last]),
            y: &y_in,
            partials: &partials,
            out: &losses,
        }
        .kernels(ctx, out.outputs(), config.objective())?;
        let output_delta = ops::OutputDelta {
            y_hat: &acts[last],
            y: &y_in,
            delta: &deltas[last],
        }
        .kernel(
            ctx,
            out.outputs(),
            config.objective(),
            out.activation(),
            config.sigmoid_derivative,
        )?;
        let small_inputs = SmallInputs {
            x_all: &x_all,
            y_all: &y_all,
            index: &index,
            losses: &losses,
        };
        let small = Small::new(ctx, net, batch, config, small_inputs, steps_per_submit)?;
        let validation = match validation {
            None => None,
            Some((vx, vy)) => {
                let rows = vx.rows();
                size_u32("validation rows", rows)?;
                let data = [
                    ctx.storage_from("validation inputs", vx.as_slice())?,
                    ctx.storage_from("validation targets", vy.as_slice())?,
                ];
                let identity: Vec<u32> = (0..rows as u32).collect();
                let index = ctx.storage_from("validation row indices", &identity)?;
                let gather_x = ops::Gather {
                    src: &data[0],
                    idx: &index,
                    dst: &x_in,
                }
                .kernel(ctx, n_in)?;
                let gather_y = ops::Gather {
                    src: &data[1],
                    idx: &index,
                    dst: &y_in,
                }
                .kernel(ctx, n_out)?;
                Some(Validation {
                    rows,
                    _index: index,
                    gather_x,
                    gather_y,
                    predictions: ctx.storage_zeroed("validation predictions", rows * n_out)?,
                    _data: data,
                })
            }
        };
        let best = match config.early_stopping {
            Some(_) => layouts
                .iter()
                .enumerate()
                .map(|(l, layout)| {
                    ctx.storage_zeroed(&format!("layer {} best parameters", l + 1), layout.len())
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        Ok(Resident {
            validation,
            best,
            outputs: (acts[last].clone(), n_out),
            small,
            ctx,
            config,
            n,
            batch,
            index,
            epoch_slots,
            steps: StepSlots::new(ctx, steps_per_submit),
            losses,
            weights,
            layouts,
            gather_x,
            gather_y,
            forward,
            output_activation,
            loss,
            output_delta,
            hidden_delta,
            update,
            optimizer,
            _gate: gate,
        })
    }

    /// Record and submit `plan` (at most one submit's worth, spanning at most
    /// `epoch_slots` epochs when shuffled), training when `train` is set or
    /// only evaluating the loss otherwise, each step's loss sum into half
    /// `half` of the loss buffer; returns their readback, under way.
    fn submit(&self, plan: &[PlannedStep], train: bool, half: usize) -> Result<PendingRead> {
        let first_slot = half * self.steps.capacity;
        let (ctx, config) = (self.ctx, self.config);
        let first_epoch = plan.first().map_or(0, |s| s.epoch);
        // Epochs of one submit, as a region of the index buffer.
        let region = |epoch: u64| (epoch - first_epoch) as usize;
        if train && let BatchOrder::Shuffled { seed } = config.order {
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
                let region = match config.order {
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
                    loss_slot: (first_slot + i) as u32,
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
            small.submit(ctx, &self.weights, &params);
        } else {
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
                    record(&self.loss.partials)?;
                    record(&self.loss.total)?;
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
        }
        Ok(ctx.start_read(&self.losses, first_slot, plan.len()))
    }

    /// Copy every layer's parameter buffer to its best-epoch copy
    /// (`to_best`), or back.
    fn copy_parameters(&self, to_best: bool) {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        for ((w, b), layout) in self.weights.iter().zip(&self.best).zip(&self.layouts) {
            let (from, to) = if to_best { (w, b) } else { (b, w) };
            encoder.copy_buffer_to_buffer(from, 0, to, 0, 4 * layout.len() as u64);
        }
        self.ctx.queue.submit([encoder.finish()]);
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

/// Hand each step of `steps` its loss sum until `seen` says stop; whether
/// it went through all of them.
fn see_all(
    steps: &[PlannedStep],
    sums: Vec<f32>,
    seen: &mut dyn FnMut(&PlannedStep, f64) -> bool,
) -> bool {
    steps.iter().zip(sums).all(|(s, sum)| seen(s, sum as f64))
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
        // Each submit's losses are checked once the next one is under way.
        let mut in_flight: Option<(Vec<PlannedStep>, PendingRead)> = None;
        let mut stopped = false;
        for (i, chunk) in self.submits(*plan, steps.start, steps.end).enumerate() {
            let next = self.submit(&chunk, true, i % 2)?;
            if let Some((done, losses)) = in_flight.replace((chunk, next)) {
                stopped = !see_all(&done, losses.finish(self.ctx).await?, seen);
                if stopped {
                    break;
                }
            }
        }
        if let Some((done, losses)) = in_flight {
            // Finished even when stopped, so no readback is left mapping.
            let sums = losses.finish(self.ctx).await?;
            if !stopped {
                see_all(&done, sums, seen);
            }
        }
        Ok(())
    }

    /// Mean loss over the whole data set, in batches, in file order.
    async fn mean_loss(&mut self, _: &[Layer]) -> Result<f64> {
        let plan = StepPlan::chunks(self.n, self.batch);
        let mut total = 0.0;
        for chunk in plan.chunks(self.steps.capacity) {
            let sums = self.submit(chunk, false, 0)?.finish(self.ctx).await?;
            total += sums.iter().map(|v| *v as f64).sum::<f64>();
        }
        Ok(total / self.n as f64)
    }

    async fn load(&mut self, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        for (l, (buffer, layer)) in self.weights.iter().zip(layers).enumerate() {
            let values = ParameterLayout::pack_layer(layer, &layer_state(state, l))?;
            self.ctx
                .queue
                .write_buffer(buffer, 0, bytemuck::cast_slice(&values));
        }
        Ok(())
    }

    /// The validation rows, a batch at a time: gathered, run forward, the
    /// loss into a slot per chunk and the outputs copied into the
    /// predictions buffer.
    async fn evaluate(&mut self, _: &[Layer]) -> Result<Validated> {
        let ctx = self.ctx;
        let v = self
            .validation
            .as_ref()
            .expect("a run made with validation rows");
        let (last, n_out) = (&self.outputs.0, self.outputs.1);
        let chunks = StepPlan::chunks(v.rows, self.batch);
        let mut total = 0.0f64;
        for chunk in chunks.chunks(self.steps.capacity) {
            let params: Vec<StepParams> = chunk
                .iter()
                .enumerate()
                .map(|(i, s)| StepParams {
                    rows: s.rows as u32,
                    index_offset: s.start as u32,
                    loss_slot: i as u32,
                    ..Default::default()
                })
                .collect();
            self.steps.write(ctx, &params);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            for (slot, s) in chunk.iter().enumerate() {
                let rows = s.rows as u32;
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    let mut record = |k: &Kernel| k.record(ctx, &mut pass, &self.steps, slot, rows);
                    record(&v.gather_x)?;
                    record(&v.gather_y)?;
                    for k in &self.forward {
                        record(k)?;
                    }
                    if let Some(k) = &self.output_activation {
                        record(k)?;
                    }
                    record(&self.loss.partials)?;
                    record(&self.loss.total)?;
                }
                let bytes = 4 * (s.rows * n_out) as u64;
                let at = 4 * (s.start * n_out) as u64;
                encoder.copy_buffer_to_buffer(last, 0, &v.predictions, at, bytes);
            }
            ctx.queue.submit([encoder.finish()]);
            let sums = ctx
                .read_back(&[(&self.losses, chunk.len())])
                .await?
                .remove(0);
            total += sums.iter().map(|s| *s as f64).sum::<f64>();
        }
        let predictions = ctx
            .read_back(&[(&v.predictions, v.rows * n_out)])
            .await?
            .remove(0);
        Ok(Validated {
            loss: total / v.rows as f64,
            predictions: Matrix::new(v.rows, n_out, predictions)?,
        })
    }

    async fn keep_best(&mut self, _: &[Layer], _: &OptimizerState) -> Result<()> {
        self.copy_parameters(true);
        Ok(())
    }

    async fn restore_best(&mut self, _: &mut [Layer], _: &mut OptimizerState) -> Result<()> {
        self.copy_parameters(false);
        Ok(())
    }

    /// Every layer's `[W; b]`, and the optimizer's state after them.
    async fn store(&mut self, layers: &mut [Layer], state: &mut OptimizerState) -> Result<()> {
        let sizes: Vec<(&wgpu::Buffer, usize)> = self
            .weights
            .iter()
            .zip(&self.layouts)
            .map(|(b, layout)| (b, layout.len()))
            .collect();
        let values = self.ctx.read_back(&sizes).await?;
        for (l, (values, layer)) in values.iter().zip(layers).enumerate() {
            let (w, b, moments) = self.layouts[l].unpack(values);
            layer.weights.copy_from_slice(w);
            if let Some(bias) = &mut layer.bias {
                bias.copy_from_slice(b);
            }
            for (m, saved) in moments
                .into_iter()
                .zip([&mut state.first, &mut state.second])
            {
                saved[l].copy_from_slice(m);
            }
        }
        Ok(())
    }
}
