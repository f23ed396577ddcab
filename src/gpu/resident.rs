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
//!
//! The same buffers and kernels hold a stack of a sweep's networks of one
//! shape ([`Resident::stacked`], keyed by [`StackKey`]): every stacked
//! buffer holds each network's values a fixed stride apart, each kernel
//! covers them all (`Kernel::over_members`), and each step carries one
//! `StepParams` per network, so a step of the stack is one network's
//! dispatches. `sweep::lockstep` drives a stack in rounds (`run`); a
//! network that sits a round out is skipped by every kernel. A lone run
//! is a stack of one.

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
use crate::gpu::parameters::{ParameterLayout, layer_state, unpack_network};
use crate::gpu::shaders::StepParams;
use crate::gpu::small::{Done, MemberSpec, Small, SmallInputs, Work};
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::OptimizerState;
use crate::plan::{PlannedStep, Runner, StepPlan, Validated};

/// Row indices the index buffer holds at most for shuffled epochs (64 MiB).
const MAX_SHUFFLED_INDICES: usize = 1 << 24;

/// Everything a run keeps on the GPU: one network's, or the stacked
/// buffers of a sweep's members of one shape (`Resident::stacked`), where
/// every kernel covers all of them in one dispatch.
pub(crate) struct Resident<'a> {
    ctx: &'a GpuContext,
    /// Each member's settings (one for a lone run).
    configs: Vec<TrainConfig>,
    /// Each member's training rows in the data, `None`: all, in order.
    rows: Vec<Option<Vec<u32>>>,
    /// Training rows per member.
    n: usize,
    batch: usize,
    /// Per member: file order, then `epoch_slots` shuffled epochs, each
    /// `n` rows (member m's from `m · index_stride`).
    index: wgpu::Buffer,
    index_stride: usize,
    epoch_slots: usize,
    steps: StepSlots,
    /// The lone run's steps per submit, by which it groups loss sums.
    per_submit: usize,
    /// Per member, `2 · steps.capacity` loss slots.
    losses: wgpu::Buffer,
    /// Each layer's parameter buffer (`gpu::parameters`), member after
    /// member `weight_strides[l]` floats apart.
    weights: Vec<wgpu::Buffer>,
    weight_strides: Vec<usize>,
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
    /// The last layer's activations (the predictions), its width and its
    /// stride between members.
    outputs: (wgpu::Buffer, usize, usize),
    // Last, so every buffer above is dropped before it is released (GL).
    _gate: GateGuard,
}

/// Validation rows resident on the GPU, gathered into the batch buffers a
/// chunk at a time and run forward with the training run's kernels.
struct Validation {
    /// Per member.
    rows: usize,
    /// Each member's rows in the validation data, member after member.
    _index: wgpu::Buffer,
    gather_x: Kernel,
    gather_y: Kernel,
    /// Every row's outputs, copied chunk by chunk from the last layer,
    /// member after member `stride` floats apart.
    predictions: wgpu::Buffer,
    stride: usize,
    _data: Option<[wgpu::Buffer; 2]>,
}

/// Floats a member takes in a stacked buffer of `floats` each: whole vec4s,
/// so the vec4 family reads every member's values aligned.
fn stride(floats: usize) -> usize {
    floats.div_ceil(4) * 4
}

/// The most GPU memory one stack's buffers take (1 GiB): a device does
/// not say how much it has, and a sweep's larger groups run as several
/// stacks.
pub(crate) const STACK_BYTES: u64 = 1 << 30;

/// The floats one binding of `ctx` holds.
fn binding_floats(ctx: &GpuContext) -> usize {
    (ctx.limits.max_storage_buffer_binding_size / 4).min(usize::MAX as u64) as usize
}

/// What members must share to train in one stacked run: the shapes of
/// every buffer and kernel. Two members with equal keys stack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StackKey {
    layers: Vec<(usize, usize, bool, crate::Activation)>,
    /// Loss, optimizer (with its settings), sigmoid rule, reduction,
    /// shuffled, early stopping, weight decay.
    config: (
        crate::Loss,
        crate::Optimizer,
        crate::SigmoidDerivative,
        crate::Reduction,
        bool,
        bool,
        f32,
    ),
    rows: (usize, usize, Option<usize>),
}

impl StackKey {
    /// The key of `net` trained by `config` on `train` rows, validated
    /// on `validation`.
    pub(crate) fn of(
        net: &Network,
        config: &TrainConfig,
        train: usize,
        validation: Option<usize>,
    ) -> Self {
        StackKey {
            layers: net
                .layers()
                .iter()
                .map(|l| (l.inputs(), l.outputs(), l.bias().is_some(), l.activation()))
                .collect(),
            config: (
                config.objective(),
                config.optimizer,
                config.sigmoid_derivative,
                config.reduction,
                matches!(config.order, BatchOrder::Shuffled { .. }),
                config.early_stopping.is_some(),
                config.weight_decay,
            ),
            rows: (train, config.batch_rows(train), validation),
        }
    }
}

/// One member's share of a submit: its steps, or `None` when it sits out.
type Share<'p> = Option<&'p [PlannedStep]>;

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
        let all: Vec<u32> = (0..size_u32("data rows", x.rows())?).collect();
        let v_all: Vec<u32> = match validation {
            Some((vx, _)) => (0..size_u32("validation rows", vx.rows())?).collect(),
            None => Vec::new(),
        };
        let validation_rows = validation.map(|_| v_all.as_slice());
        let spec = MemberSpec {
            net,
            config,
            state,
            train_rows: &all,
            validation_rows,
        };
        Self::build(ctx, x, y, None, &[spec], validation, true)
    }

    /// Members of one [`StackKey`] on `x`, `y` (their rows checked),
    /// already on the GPU as `data`, each training on its own rows of the
    /// data and validating on its own.
    pub(crate) fn stacked(
        ctx: &'a GpuContext,
        x: &Matrix,
        y: &Matrix,
        data: &[wgpu::Buffer; 2],
        members: &[MemberSpec],
    ) -> Result<Self> {
        Self::build(ctx, x, y, Some(data), members, None, false)
    }

    /// `members` on `x`, `y` (uploaded unless `data` holds them);
    /// validation rows index `validation` when given, else `x`, `y`.
    /// `identity`: the one member trains on every row of `x` in order.
    fn build(
        ctx: &'a GpuContext,
        x: &Matrix,
        y: &Matrix,
        data: Option<&[wgpu::Buffer; 2]>,
        members: &[MemberSpec],
        validation: Option<(&Matrix, &Matrix)>,
        identity: bool,
    ) -> Result<Self> {
        let gate = ctx.gate();
        let count = members.len();
        let first = &members[0];
        let (net, config) = (first.net, first.config);
        let n = first.train_rows.len();
        let batch = config.batch_rows(n);
        // A lone run's submit, and its loss sums' grouping; a stack's
        // submits hold as much work in all.
        let per_submit =
            ((FLOP_PER_SUBMIT / flop_per_step(net, batch)) as usize).clamp(1, MAX_STEPS_PER_SUBMIT);
        let steps_per_submit = (per_submit / count).max(1);
        let validating = first.validation_rows.is_some();
        // Validation rows are gathered into the batch buffers, so those
        // cannot be the data set itself; nor can a stack's.
        let gather =
            !(config.order == BatchOrder::InOrder && batch == n) || validating || count > 1;
        let layers = net.layers();
        let (n_in, n_out) = (x.cols(), y.cols());
        size_u32("batch rows", batch)?;
        size_u32("data rows", n)?;
        size_u32("members", count)?;

        let [x_all, y_all] = match data {
            Some(data) => data.clone(),
            None => [
                ctx.storage_from("inputs", x.as_slice())?,
                ctx.storage_from("targets", y.as_slice())?,
            ],
        };
        // Each member's region 0 of the index buffer is its rows in file
        // order; regions 1.. hold the permutations of the epochs a submit
        // covers.
        let epoch_slots = match config.order {
            BatchOrder::InOrder => 0,
            BatchOrder::Shuffled { .. } => {
                let steps_per_epoch = n.div_ceil(batch);
                // The file order and the epochs within 64 MiB and the
                // device's binding size, where they fit at all.
                let bound = MAX_SHUFFLED_INDICES.min(binding_floats(ctx));
                let room = bound.saturating_sub(n * count) / (n * count).max(1);
                (steps_per_submit / steps_per_epoch + 2).min(room.max(1))
            }
        };
        let index_stride = n * (1 + epoch_slots);
        let mut indices = vec![0u32; index_stride * count];
        for (m, spec) in members.iter().enumerate() {
            indices[m * index_stride..][..n].copy_from_slice(spec.train_rows);
        }
        size_u32("row indices", indices.len())?;
        let index = ctx.storage_from("row indices", &indices)?;
        drop(indices);
        let rows = members
            .iter()
            .map(|m| (!identity).then(|| m.train_rows.to_vec()))
            .collect();

        // A stacked kernel over `strides` (one per binding), or the kernel.
        let stack = |k: Kernel, strides: [usize; 4]| -> Result<Kernel> {
            if count == 1 {
                return Ok(k);
            }
            let mut s = [0u32; 4];
            for (to, from) in s.iter_mut().zip(strides) {
                *to = size_u32("a member's values", from)?;
            }
            Ok(k.over_members(ctx, count as u32, s))
        };
        let per = |what: &str, floats: usize| ctx.storage_zeroed(what, stride(floats) * count);

        let (xs, ys) = (stride(batch * n_in), stride(batch * n_out));
        let (x_in, y_in) = if gather {
            (
                per("batch inputs", batch * n_in)?,
                per("batch targets", batch * n_out)?,
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
                Some(stack(x_op.kernel(ctx, n_in)?, [0, 0, xs, 0])?),
                Some(stack(y_op.kernel(ctx, n_out)?, [0, 0, ys, 0])?),
            )
        } else {
            (None, None)
        };

        let moments = config.optimizer.moments();
        let layouts: Vec<ParameterLayout> = layers
            .iter()
            .map(|l| ParameterLayout::of(l, moments))
            .collect();
        let weight_strides: Vec<usize> = layouts.iter().map(|l| stride(l.len())).collect();
        let mut weights = Vec::new();
        let mut acts = Vec::new();
        let mut deltas = Vec::new();
        let mut act_strides = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            let mut values = vec![0.0f32; weight_strides[l] * count];
            for (m, spec) in members.iter().enumerate() {
                let layer = &spec.net.layers()[l];
                let packed = ParameterLayout::pack_layer(layer, &layer_state(spec.state, l))?;
                values[m * weight_strides[l]..][..packed.len()].copy_from_slice(&packed);
            }
            weights.push(ctx.storage_from(&format!("layer {} parameters", l + 1), &values)?);
            let floats = batch * layer.outputs();
            act_strides.push(stride(floats));
            acts.push(per(&format!("layer {} activations", l + 1), floats)?);
            deltas.push(per(&format!("layer {} deltas", l + 1), floats)?);
        }
        let last = layers.len() - 1;
        // One gradient buffer serves every layer in turn.
        let largest = layouts
            .iter()
            .map(ParameterLayout::count)
            .max()
            .unwrap_or(1);
        let gradient = if config.fused_sgd() {
            None
        } else {
            Some(per("gradient", largest)?)
        };
        let gs = stride(largest);
        // BCE and cross-entropy are computed from the output's logits.
        let logits = if config.objective().uses_logits() {
            Some(per("output logits", batch * n_out)?)
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
            let (a_in, a_stride) = match l {
                0 => (&x_in, xs),
                _ => (&acts[l - 1], act_strides[l - 1]),
            };
            let (ws, os) = (weight_strides[l], act_strides[l]);
            let kernel = match (&logits, l == last) {
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
            };
            forward.push(stack(kernel, [a_stride, ws, os, 0])?);
            match &gradient {
                None => {
                    let k = ops::SgdUpdate {
                        a_in,
                        delta: &deltas[l],
                        w_aug: &weights[l],
                    }
                    .kernel(ctx, inputs, outputs, has_bias)?;
                    update.push(stack(k, [a_stride, os, ws, 0])?);
                }
                Some(g) => {
                    let k = ops::WeightGradient {
                        a_in,
                        delta: &deltas[l],
                        grad: g,
                    }
                    .kernel(ctx, inputs, outputs, has_bias)?;
                    update.push(stack(k, [a_stride, os, gs, 0])?);
                    let k = ops::OptimizerUpdate {
                        grad: g,
                        params: &weights[l],
                    }
                    .kernel(
                        ctx,
                        layouts[l].weights,
                        layouts[l].count(),
                        config.optimizer,
                        config.weight_decay,
                    )?;
                    optimizer.push(stack(k, [gs, 0, ws, 0])?);
                }
            }
            if l < last {
                let k = ops::HiddenDelta {
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
                )?;
                let next = (act_strides[l + 1], weight_strides[l + 1]);
                hidden_delta.push(stack(k, [next.0, next.1, os, os])?);
            }
        }
        let out = &layers[last];
        let os = act_strides[last];
        // Per member, two halves: a submit's losses, and the next one's.
        let losses = ctx.storage_zeroed("step losses", 2 * steps_per_submit * count)?;
        let output_activation = match &logits {
            Some(z) => {
                let k = ops::OutputActivation {
                    z,
                    y_hat: &acts[last],
                }
                .kernel(ctx, out.outputs(), out.activation())?;
                Some(stack(k, [os, 0, os, 0])?)
            }
            None => None,
        };
        let partial_floats = ops::LossSum::partials(batch, out.outputs());
        let partials = per("loss partials", partial_floats)?;
        let ps = stride(partial_floats);
        let mut loss = ops::LossSum {
            y_hat: logits.as_ref().unwrap_or(&acts[last]),
            y: &y_in,
            partials: &partials,
            out: &losses,
        }
        .kernels(ctx, out.outputs(), config.objective())?;
        loss.partials = stack(loss.partials, [os, ys, ps, 0])?;
        // Each member's step names its own loss slot.
        loss.total = stack(loss.total, [ps, 0, 0, 0])?;
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
        let output_delta = stack(output_delta, [os, ys, os, 0])?;
        let small = match count {
            1 => {
                let small_inputs = SmallInputs {
                    x_all: &x_all,
                    y_all: &y_all,
                    index: &index,
                    losses: &losses,
                };
                Small::new(ctx, net, batch, config, small_inputs, steps_per_submit)?
            }
            _ => None,
        };
        let validation = match first.validation_rows {
            None => None,
            Some(v) => {
                let rows = v.len();
                size_u32("validation rows", rows * count)?;
                let data = match validation {
                    Some((vx, vy)) => Some([
                        ctx.storage_from("validation inputs", vx.as_slice())?,
                        ctx.storage_from("validation targets", vy.as_slice())?,
                    ]),
                    None => None,
                };
                let (src_x, src_y) = match &data {
                    Some([vx, vy]) => (vx, vy),
                    None => (&x_all, &y_all),
                };
                let mut indices = Vec::with_capacity(rows * count);
                for spec in members {
                    indices.extend_from_slice(spec.validation_rows.unwrap_or_default());
                }
                let index = ctx.storage_from("validation row indices", &indices)?;
                let gather_x = ops::Gather {
                    src: src_x,
                    idx: &index,
                    dst: &x_in,
                }
                .kernel(ctx, n_in)?;
                let gather_y = ops::Gather {
                    src: src_y,
                    idx: &index,
                    dst: &y_in,
                }
                .kernel(ctx, n_out)?;
                let stride = stride(rows * n_out);
                Some(Validation {
                    rows,
                    _index: index,
                    gather_x: stack(gather_x, [0, 0, xs, 0])?,
                    gather_y: stack(gather_y, [0, 0, ys, 0])?,
                    predictions: ctx.storage_zeroed("validation predictions", stride * count)?,
                    stride,
                    _data: data,
                })
            }
        };
        let best = match config.early_stopping {
            Some(_) => weight_strides
                .iter()
                .enumerate()
                .map(|(l, s)| {
                    ctx.storage_zeroed(&format!("layer {} best parameters", l + 1), s * count)
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        Ok(Resident {
            validation,
            best,
            outputs: (acts[last].clone(), n_out, os),
            small,
            ctx,
            configs: members.iter().map(|m| m.config.clone()).collect(),
            rows,
            n,
            batch,
            index,
            index_stride,
            epoch_slots,
            steps: StepSlots::for_members(ctx, steps_per_submit, count),
            per_submit,
            losses,
            weights,
            weight_strides,
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

    fn members(&self) -> usize {
        self.configs.len()
    }

    /// The most members of `net`'s shape, trained by `config` on `train`
    /// rows and validated on `validation`, one stacked run takes: each
    /// stacked buffer within the device's binding limit, all of them
    /// within [`STACK_BYTES`], every dispatch's grid within the device's,
    /// and at most 256 (a sweep's larger groups run as several stacks; a
    /// limit of 1 means alone).
    pub(crate) fn stack_limit(
        ctx: &GpuContext,
        net: &Network,
        config: &TrainConfig,
        train: usize,
        validation: Option<usize>,
    ) -> usize {
        let batch = config.batch_rows(train);
        let moments = config.optimizer.moments();
        let (n_in, n_out) = (net.inputs(), net.outputs());
        // Each stacked buffer's floats per member (`build`).
        let mut buffers = Vec::new();
        let mut largest_count = 1;
        for l in net.layers() {
            let params = stride(ParameterLayout::of(l, moments).len());
            let copies = 1 + config.early_stopping.is_some() as usize;
            buffers.extend(std::iter::repeat_n(params, copies));
            buffers.extend([stride(batch * l.outputs()); 2]);
            largest_count = largest_count.max(ParameterLayout::of(l, 0).count());
        }
        buffers.extend([
            stride(batch * n_in),
            stride(batch * n_out),
            stride(batch * n_out),
            stride(largest_count),
            stride(ops::LossSum::partials(batch, n_out)),
            // The index: file order and at least one epoch (`build`).
            2 * train,
        ]);
        if let Some(v) = validation {
            buffers.extend([stride(v * n_out), v]);
        }
        let largest = buffers.iter().copied().max().unwrap_or(1).max(1) as u64;
        let total: u64 = buffers.iter().map(|&f| 4 * f as u64).sum();
        let by_binding = binding_floats(ctx) as u64 / largest;
        let by_memory = STACK_BYTES / total.max(1);
        // A dispatch has at most one workgroup per value it writes; its
        // grid's z (`fold_grid`), repeated once per member, must fit.
        let max = ctx.limits.max_compute_workgroups_per_dimension.max(1) as u64;
        let z = largest.div_ceil(max * max).max(1);
        let by_grid = max / z;
        by_binding.min(by_memory).min(by_grid).clamp(1, 256) as usize
    }

    /// Where member `m`'s loss of slot `slot` (of half `half`) sits.
    fn loss_slot(&self, m: usize, half: usize, slot: usize) -> usize {
        (2 * m + half) * self.steps.capacity + slot
    }

    /// The floats of the loss buffer read back after a submit of `len`
    /// steps into half `half`, `(offset, floats)`: a lone run's `len`
    /// sums, a stack's every slot.
    fn losses_read(&self, half: usize, len: usize) -> (usize, usize) {
        match self.members() {
            1 => (self.loss_slot(0, half, 0), len),
            all => (0, 2 * all * self.steps.capacity),
        }
    }

    /// Member `m`'s `len` loss sums of half `half` in a readback of
    /// `losses_read(half, len)`.
    fn sums_of(&self, read: &[f32], m: usize, half: usize, len: usize) -> Vec<f32> {
        let (offset, _) = self.losses_read(half, len);
        read[self.loss_slot(m, half, 0) - offset..][..len].to_vec()
    }

    /// Record a step's forward products, output activation and loss, the
    /// batch already gathered.
    fn record_forward(&self, record: &mut dyn FnMut(&Kernel) -> Result<()>) -> Result<()> {
        for k in &self.forward {
            record(k)?;
        }
        if let Some(k) = &self.output_activation {
            record(k)?;
        }
        record(&self.loss.partials)?;
        record(&self.loss.total)
    }

    /// Record and submit one submit's steps: each member's `shares` (at
    /// most one submit's worth, spanning at most `epoch_slots` epochs when
    /// shuffled; every member that takes part the same row counts), training
    /// when `train` is set or only evaluating the loss otherwise, each
    /// step's loss sum into half `half` of the member's loss slots;
    /// returns the readback of those halves, under way.
    fn submit(&self, shares: &[Share], train: bool, half: usize) -> Result<PendingRead> {
        let ctx = self.ctx;
        let lead = shares.iter().flatten().next().copied().unwrap_or_default();
        let mut slots = vec![
            vec![
                StepParams {
                    skip: 1,
                    ..Default::default()
                };
                shares.len()
            ];
            lead.len()
        ];
        for (m, share) in shares.iter().enumerate() {
            let Some(plan) = share else { continue };
            let config = &self.configs[m];
            let first_epoch = plan.first().map_or(0, |s| s.epoch);
            // Epochs of one submit, as a region of the member's indices.
            let region = |epoch: u64| (epoch - first_epoch) as usize;
            let base = m * self.index_stride;
            if train && let BatchOrder::Shuffled { seed } = config.order {
                let last_epoch = plan.last().map_or(0, |s| s.epoch);
                for e in first_epoch..=last_epoch {
                    let mut order = shuffled_order(self.n, seed, e);
                    if let Some(rows) = &self.rows[m] {
                        for i in &mut order {
                            *i = rows[*i as usize];
                        }
                    }
                    let at = 4 * (base + self.n * (1 + region(e))) as u64;
                    ctx.queue
                        .write_buffer(&self.index, at, bytemuck::cast_slice(&order));
                }
            }
            for (i, s) in plan.iter().enumerate() {
                let region = match config.order {
                    BatchOrder::Shuffled { .. } if train => 1 + region(s.epoch),
                    _ => 0,
                };
                let rates = config.rates(s.t, s.rows);
                slots[i][m] = StepParams {
                    rows: s.rows as u32,
                    index_offset: (base + region * self.n + s.start) as u32,
                    scale: if config.fused_sgd() {
                        rates.sgd_step
                    } else {
                        rates.gradient_scale
                    },
                    loss_slot: self.loss_slot(m, half, i) as u32,
                    lr: rates.lr,
                    correction1: rates.correction1,
                    correction2: rates.correction2,
                    skip: 0,
                };
            }
        }
        if train && let Some(small) = &self.small {
            // Many steps, one dispatch: the layers' weights go into the
            // kernel's buffer and come back after it.
            let params: Vec<StepParams> = slots.iter().map(|s| s[0]).collect();
            small.submit(ctx, &self.weights, &params);
        } else {
            let slices: Vec<&[StepParams]> = slots.iter().map(Vec::as_slice).collect();
            self.steps.write_members(ctx, &slices);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                for (slot, s) in lead.iter().enumerate() {
                    let rows = s.rows as u32;
                    let mut record = |k: &Kernel| k.record(ctx, &mut pass, &self.steps, slot, rows);
                    if let (Some(gx), Some(gy)) = (&self.gather_x, &self.gather_y) {
                        record(gx)?;
                        record(gy)?;
                    }
                    self.record_forward(&mut record)?;
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
        let (offset, floats) = self.losses_read(half, lead.len());
        Ok(ctx.start_read(&self.losses, offset, floats))
    }

    /// Copy member `m`'s parameter values to its best-epoch copy
    /// (`to_best`), or back.
    pub(crate) fn copy_parameters(&self, m: usize, to_best: bool) {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        for (l, (w, b)) in self.weights.iter().zip(&self.best).enumerate() {
            let (from, to) = if to_best { (w, b) } else { (b, w) };
            let at = 4 * (m * self.weight_strides[l]) as u64;
            let bytes = 4 * self.layouts[l].len() as u64;
            encoder.copy_buffer_to_buffer(from, at, to, at, bytes);
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

    /// The loss sums of `which` members' training rows in file order, a
    /// batch at a time.
    async fn training_loss(&self, which: &[bool]) -> Result<Vec<Vec<f32>>> {
        let plan = StepPlan::chunks(self.n, self.batch);
        let mut sums = vec![Vec::new(); which.len()];
        for chunk in plan.chunks(self.steps.capacity) {
            let shares: Vec<Share> = which.iter().map(|&w| w.then_some(chunk)).collect();
            let read = self.submit(&shares, false, 0)?.finish(self.ctx).await?;
            for (m, _) in which.iter().enumerate().filter(|(_, w)| **w) {
                sums[m].extend(self.sums_of(&read, m, 0, chunk.len()));
            }
        }
        Ok(sums)
    }

    /// The validation rows of `which` members, a batch at a time: gathered,
    /// run forward, the loss into a slot per chunk and the outputs copied
    /// into the predictions buffer. Each member's loss sums and
    /// predictions.
    async fn validate(&self, which: &[bool]) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
        let ctx = self.ctx;
        let v = self
            .validation
            .as_ref()
            .expect("a run made with validation rows");
        let (last, n_out, last_stride) = (&self.outputs.0, self.outputs.1, self.outputs.2);
        let chunks = StepPlan::chunks(v.rows, self.batch);
        let mut sums = vec![Vec::new(); which.len()];
        for chunk in chunks.chunks(self.steps.capacity) {
            let slots: Vec<Vec<StepParams>> = chunk
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (0..which.len())
                        .map(|m| StepParams {
                            rows: s.rows as u32,
                            index_offset: (m * v.rows + s.start) as u32,
                            loss_slot: self.loss_slot(m, 0, i) as u32,
                            skip: !which[m] as u32,
                            ..Default::default()
                        })
                        .collect()
                })
                .collect();
            let slices: Vec<&[StepParams]> = slots.iter().map(Vec::as_slice).collect();
            self.steps.write_members(ctx, &slices);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            for (slot, s) in chunk.iter().enumerate() {
                let rows = s.rows as u32;
                {
                    let mut pass = encoder.begin_compute_pass(&Default::default());
                    let mut record = |k: &Kernel| k.record(ctx, &mut pass, &self.steps, slot, rows);
                    record(&v.gather_x)?;
                    record(&v.gather_y)?;
                    self.record_forward(&mut record)?;
                }
                let bytes = 4 * (s.rows * n_out) as u64;
                for (m, _) in which.iter().enumerate().filter(|(_, w)| **w) {
                    let from = 4 * (m * last_stride) as u64;
                    let to = 4 * (m * v.stride + s.start * n_out) as u64;
                    encoder.copy_buffer_to_buffer(last, from, &v.predictions, to, bytes);
                }
            }
            ctx.queue.submit([encoder.finish()]);
            let (offset, floats) = self.losses_read(0, chunk.len());
            let read = ctx
                .read_ranges(&[(&self.losses, offset, floats)])
                .await?
                .remove(0);
            for (m, _) in which.iter().enumerate().filter(|(_, w)| **w) {
                sums[m].extend(self.sums_of(&read, m, 0, chunk.len()));
            }
        }
        let ranges: Vec<(&wgpu::Buffer, usize, usize)> = (0..which.len())
            .filter(|&m| which[m])
            .map(|m| (&v.predictions, m * v.stride, v.rows * n_out))
            .collect();
        let mut read = ctx.read_ranges(&ranges).await?.into_iter();
        Ok(sums
            .into_iter()
            .zip(which)
            .map(|(s, &w)| {
                (
                    s,
                    if w {
                        read.next().unwrap_or_default()
                    } else {
                        Vec::new()
                    },
                )
            })
            .collect())
    }

    /// The parameter values of the members `which`, each layer after
    /// layer, read back in one copy of only their values.
    pub(crate) async fn read_members(&self, which: &[usize]) -> Result<Vec<Vec<f32>>> {
        let mut ranges = Vec::new();
        for &m in which {
            for ((buffer, layout), s) in self
                .weights
                .iter()
                .zip(&self.layouts)
                .zip(&self.weight_strides)
            {
                ranges.push((buffer, m * s, layout.len()));
            }
        }
        let mut read = self.ctx.read_ranges(&ranges).await?.into_iter();
        Ok(which
            .iter()
            .map(|_| read.by_ref().take(self.layouts.len()).flatten().collect())
            .collect())
    }

    /// A member's values as `read_members` gave them, into `layers` and
    /// `state`.
    pub(crate) fn unpack_member(
        &self,
        values: &[f32],
        layers: &mut [Layer],
        state: &mut OptimizerState,
    ) {
        unpack_network(&self.layouts, values, layers, state);
    }

    /// Write `layers` and `state` into member `m`'s parameter values.
    pub(crate) fn load_member(
        &self,
        m: usize,
        layers: &[Layer],
        state: &OptimizerState,
    ) -> Result<()> {
        for (l, (buffer, layer)) in self.weights.iter().zip(layers).enumerate() {
            let values = ParameterLayout::pack_layer(layer, &layer_state(state, l))?;
            let at = 4 * (m * self.weight_strides[l]) as u64;
            self.ctx
                .queue
                .write_buffer(buffer, at, bytemuck::cast_slice(&values));
        }
        Ok(())
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
            let next = self.submit(&[Some(&chunk)], true, i % 2)?;
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
        let sums = self.training_loss(&[true]).await?.remove(0);
        Ok(grouped_sum(&sums, self.per_submit) / self.n as f64)
    }

    async fn load(&mut self, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        self.load_member(0, layers, state)
    }

    async fn evaluate(&mut self, _: &[Layer]) -> Result<Validated> {
        let (sums, predictions) = self.validate(&[true]).await?.remove(0);
        let rows = self.validation.as_ref().map_or(0, |v| v.rows);
        Ok(Validated {
            loss: grouped_sum(&sums, self.per_submit) / rows as f64,
            predictions: Matrix::new(rows, self.outputs.1, predictions)?,
        })
    }

    async fn keep_best(&mut self, _: &[Layer], _: &OptimizerState) -> Result<()> {
        self.copy_parameters(0, true);
        Ok(())
    }

    async fn restore_best(&mut self, _: &mut [Layer], _: &mut OptimizerState) -> Result<()> {
        self.copy_parameters(0, false);
        Ok(())
    }

    /// Every layer's `[W; b]`, and the optimizer's state after them.
    async fn store(&mut self, layers: &mut [Layer], state: &mut OptimizerState) -> Result<()> {
        let values = self.read_members(&[0]).await?.remove(0);
        self.unpack_member(&values, layers, state);
        Ok(())
    }
}

/// Loss sums added up as a lone run adds them: in f64, a submit's worth
/// (`per_submit` sums) at a time.
pub(crate) fn grouped_sum(sums: &[f32], per_submit: usize) -> f64 {
    let mut total = 0.0;
    for group in sums.chunks(per_submit.max(1)) {
        total += group.iter().map(|v| *v as f64).sum::<f64>();
    }
    total
}

/// A stacked run as the lock step drives it (`sweep::lockstep`): rounds
/// of work for some of its members at a time, each member's the same as
/// its lone run's.
impl<'a> Resident<'a> {
    /// Steps a [`Work::Train`] may hold.
    pub(crate) fn capacity(&self) -> usize {
        self.steps.capacity
    }

    /// Epochs a [`Work::Train`] may span (0: file order).
    pub(crate) fn epoch_slots(&self) -> usize {
        self.epoch_slots
    }

    /// The lone run's steps per submit: the grouping of its loss sums.
    pub(crate) fn per_submit(&self) -> usize {
        self.per_submit
    }

    /// Run every job of a round, `(member, work)`, at most one per member:
    /// those of one kind (and for training, the same row counts) in the
    /// same dispatches. Each job's loss sums (and predictions).
    pub(crate) async fn run(&self, jobs: &[(usize, Work<'_>)]) -> Result<Vec<Done>> {
        let count = self.members();
        let mut done: Vec<Option<Done>> = jobs.iter().map(|_| None).collect();
        let mut left: Vec<usize> = (0..jobs.len()).collect();
        while let Some(&lead) = left.first() {
            // The jobs that share the lead's dispatches.
            let key = |w: &Work| match w {
                Work::Train(p) => Some(p.iter().map(|s| s.rows).collect::<Vec<_>>()),
                _ => None,
            };
            let lead_key = key(&jobs[lead].1);
            let (now, later): (Vec<usize>, Vec<usize>) = left.iter().partition(|&&j| {
                std::mem::discriminant(&jobs[j].1) == std::mem::discriminant(&jobs[lead].1)
                    && key(&jobs[j].1) == lead_key
            });
            left = later;
            let mut which = vec![false; count];
            for &j in &now {
                which[jobs[j].0] = true;
            }
            match &jobs[lead].1 {
                Work::Train(_) => {
                    let mut shares: Vec<Share> = vec![None; count];
                    for &j in &now {
                        if let (m, Work::Train(p)) = (&jobs[j].0, &jobs[j].1) {
                            shares[*m] = Some(p);
                        }
                    }
                    let read = self.submit(&shares, true, 0)?.finish(self.ctx).await?;
                    for &j in &now {
                        let (m, Work::Train(p)) = (&jobs[j].0, &jobs[j].1) else {
                            continue;
                        };
                        let sums = self.sums_of(&read, *m, 0, p.len());
                        done[j] = Some(Done {
                            sums,
                            predictions: Vec::new(),
                        });
                    }
                }
                Work::TrainingLoss => {
                    let mut sums = self.training_loss(&which).await?;
                    for &j in &now {
                        let sums = std::mem::take(&mut sums[jobs[j].0]);
                        done[j] = Some(Done {
                            sums,
                            predictions: Vec::new(),
                        });
                    }
                }
                Work::Validation => {
                    let mut results = self.validate(&which).await?;
                    for &j in &now {
                        let (sums, predictions) = std::mem::take(&mut results[jobs[j].0]);
                        done[j] = Some(Done { sums, predictions });
                    }
                }
            }
        }
        Ok(done
            .into_iter()
            .map(|d| d.expect("every job ran"))
            .collect())
    }
}
