//! Networks small enough for one workgroup: train_small.wgsl runs many
//! whole training steps in one dispatch, its weights, activations and
//! deltas in workgroup memory. It computes the same sums in the same order
//! as the per-step kernels, so the two give the same bits.
//!
//! - [`Small`]: one network, for the resident run (plain SGD without decay,
//!   MSE or BCE), entry point `main`.
//! - [`Members`]: many networks on one data set, one workgroup each, in the
//!   same dispatches (entry point `members`): any optimizer, weight decay,
//!   a softmax with cross-entropy, their own rows, and forward-only chunks
//!   for validation rows and losses. A sweep (`crate::sweep`) drives it.

use crate::batches::{BatchOrder, shuffled_order};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::gpu::gate::GateGuard;
use crate::gpu::kernels::{FLOP_PER_SUBMIT, MAX_STEPS_PER_SUBMIT, flop_per_step};
use crate::gpu::parameters::{ParameterLayout, layer_state, unpack_network};
use crate::gpu::shaders::{
    SMALL_NET_FLOATS, SMALL_NET_LAYERS, SMALL_NET_THREADS, Shader, SmallNetParams, StepParams,
};
use crate::layer::Layer;
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::{Optimizer, OptimizerState};
use crate::plan::{PlannedStep, StepPlan};

/// Loop iterations with run-time bounds one invocation of train_small.wgsl
/// may run in one dispatch: half of llvmpipe's limit (about 65,535), which
/// ends a shader silently past it.
const SMALL_NET_ITERATIONS: usize = 32_768;

/// Steps one member's round of training takes at most (fewer for sweeps
/// of many members, see [`Members::new`]).
const MEMBER_STEPS: usize = 1024;

/// Room for the steps and row indices of all members, in values (64 MiB).
const MEMBER_TABLES: usize = 1 << 24;

/// train_small.wgsl's `struct Net`: the network's sizes and places, then
/// its update rule and whether it only evaluates.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct SmallNet {
    base: SmallNetParams,
    /// (optimizer id, 1 for Nesterov, 1 for the fused plain-SGD update, 0).
    rule: [u32; 4],
    /// (momentum μ or Adam's β1, β2, ε, weight decay λ).
    hyper: [f32; 4],
    /// (1: only evaluate, 1: write predictions, where they start in `out`,
    /// the index offset of the row they start at).
    eval: [u32; 4],
}

impl SmallNet {
    /// `base` trained by `config`'s update rule.
    fn new(base: SmallNetParams, config: &TrainConfig) -> SmallNet {
        let (hyper, nesterov) = match config.optimizer {
            Optimizer::Sgd => ([0.0; 3], false),
            Optimizer::Momentum { momentum, nesterov } => ([momentum, 0.0, 0.0], nesterov),
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => ([beta1, beta2, epsilon], false),
        };
        SmallNet {
            base,
            rule: [
                config.optimizer.gpu_id(),
                nesterov as u32,
                config.fused_sgd() as u32,
                0,
            ],
            hyper: [hyper[0], hyper[1], hyper[2], config.weight_decay],
            eval: [0; 4],
        }
    }
}

/// The buffers train_small.wgsl reads besides its own.
pub(crate) struct SmallInputs<'a> {
    pub x_all: &'a wgpu::Buffer,
    pub y_all: &'a wgpu::Buffer,
    pub index: &'a wgpu::Buffer,
    pub losses: &'a wgpu::Buffer,
}

/// train_small.wgsl's buffers, for a network that fits one workgroup.
pub(crate) struct Small {
    params: SmallNet,
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
/// then the batch's inputs and targets; each layer's parameters from
/// `weights_at` on in the weights buffer, with `moments` state vectors
/// after its [W; b].
fn placement(
    net: &Network,
    batch: usize,
    config: &TrainConfig,
    weights_at: usize,
) -> Option<SmallNetParams> {
    let layers = net.layers();
    if layers.len() > SMALL_NET_LAYERS {
        return None;
    }
    let mut p = SmallNetParams {
        layers: layers.len() as u32,
        loss: config.objective().gpu_id(),
        sigmoid_rule: config.sigmoid_derivative.gpu_id(),
        n_in: net.inputs() as u32,
        ..Default::default()
    };
    let moments = config.optimizer.moments();
    let (mut mem, mut buf) = (0usize, weights_at);
    for (l, layer) in layers.iter().enumerate() {
        let w = ParameterLayout::of(layer, 0).count();
        let a = batch.checked_mul(layer.outputs())?;
        p.dims[l] = [
            layer.inputs() as u32,
            layer.outputs() as u32,
            layer.bias().is_some() as u32,
            layer.activation().gpu_id(),
        ];
        p.offs[l] = [
            mem as u32,
            (mem + w) as u32,
            (mem + w + a) as u32,
            u32::try_from(buf).ok()?,
        ];
        mem = mem.checked_add(w + 2 * a)?;
        buf = buf.checked_add(ParameterLayout::of(layer, moments).len())?;
        if mem > SMALL_NET_FLOATS {
            return None;
        }
    }
    p.x_off = mem as u32;
    p.y_off = (mem + batch * net.inputs()) as u32;
    mem += batch * (net.inputs() + net.outputs());
    (mem <= SMALL_NET_FLOATS).then_some(p)
}

/// An upper bound on the run-time-bounded loop iterations one invocation of
/// train_small.wgsl runs per step: each phase's share of elements (its
/// invocations) times its inner loop, plus the loops' own passes.
fn small_iterations_per_step(net: &Network, batch: usize) -> usize {
    let share = |elements: usize| elements.div_ceil(SMALL_NET_THREADS as usize) + 1;
    let layers = net.layers();
    let n_out = net.outputs();
    // Four of loss.wgsl's lanes each, a row of cross-entropy at most three
    // passes over the outputs; the softmax's three passes a row; the tree.
    let lanes = 4 * ((batch * n_out).div_ceil(256) + 1) * (3 * n_out + 1);
    let mut n = 16
        + share(batch * net.inputs())
        + 3 * share(batch * n_out)
        + share(batch) * (3 * n_out + 1)
        + lanes;
    for (l, layer) in layers.iter().enumerate() {
        n += 2 + share(batch * layer.outputs()) * (layer.inputs() + 1);
        if let Some(next) = layers.get(l + 1) {
            n += 2 + share(batch * layer.outputs()) * (next.outputs() + 1);
        }
        let w = ParameterLayout::of(layer, 0).count();
        n += 2 + share(w) * (batch + 2);
    }
    n
}

/// Steps of `net` on batches of `batch` rows in one dispatch.
fn steps_per_dispatch(net: &Network, batch: usize) -> usize {
    (SMALL_NET_ITERATIONS / small_iterations_per_step(net, batch)).max(1)
}

impl Small {
    /// The one-workgroup kernel's buffers for `net` trained by `config` on
    /// batches of `batch` rows, when it fits and the update is plain SGD
    /// on MSE or BCE; `None` otherwise (or when the device asks for
    /// per-step dispatches).
    pub(crate) fn new(
        ctx: &GpuContext,
        net: &Network,
        batch: usize,
        config: &TrainConfig,
        inputs: SmallInputs,
        steps_per_submit: usize,
    ) -> Result<Option<Small>> {
        if !config.fused_sgd() || config.objective() == Loss::CrossEntropy {
            return Ok(None);
        }
        let Some(params) = placement(net, batch, config, 0) else {
            return Ok(None);
        };
        if ctx.options.per_step_dispatches {
            return Ok(None);
        }
        let params = SmallNet::new(params, config);
        let mut spans = Vec::new();
        let mut at = 0;
        for layer in net.layers() {
            let size = 4 * ParameterLayout::of(layer, 0).count() as u64;
            spans.push((at, size));
            at += size;
        }
        let weights = ctx.storage_zeroed("small net weights", (at / 4) as usize)?;
        let step_floats = std::mem::size_of::<StepParams>() / 4;
        let steps = ctx.storage_zeroed("small net steps", step_floats * steps_per_submit)?;
        let uniform = ctx.uniform_from("small net", &params);
        let buffers = [
            inputs.x_all,
            inputs.y_all,
            inputs.index,
            &steps,
            &weights,
            inputs.losses,
            &uniform,
        ];
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
        Ok(Some(Small {
            params,
            steps_per_dispatch: steps_per_dispatch(net, batch),
            uniform,
            steps,
            weights,
            spans,
            bind_group,
        }))
    }

    /// Submit the steps `params` as dispatches of `steps_per_dispatch`
    /// steps each, the layers' parameter buffers `layers` copied into the
    /// kernel's weight buffer first and back after the last.
    pub(crate) fn submit(&self, ctx: &GpuContext, layers: &[wgpu::Buffer], params: &[StepParams]) {
        // Each dispatch takes the next steps_per_dispatch steps; the
        // uniform saying which is written before each submit.
        ctx.queue
            .write_buffer(&self.steps, 0, bytemuck::cast_slice(params));
        let pipeline = ctx.pipelines.get(&ctx.device, Shader::TrainSmall);
        let mut first = 0;
        while first < params.len() {
            let count = self.steps_per_dispatch.min(params.len() - first);
            let mut net = self.params;
            net.base.first = first as u32;
            net.base.steps = count as u32;
            ctx.queue
                .write_buffer(&self.uniform, 0, bytemuck::bytes_of(&net));
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            if first == 0 {
                for (w, &(at, size)) in layers.iter().zip(&self.spans) {
                    encoder.copy_buffer_to_buffer(w, 0, &self.weights, at, size);
                }
            }
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.dispatch_workgroups(1, 1, 1);
                ctx.count_dispatches(1);
            }
            first += count;
            if first == params.len() {
                for (w, &(at, size)) in layers.iter().zip(&self.spans) {
                    encoder.copy_buffer_to_buffer(&self.weights, at, w, 0, size);
                }
            }
            ctx.queue.submit([encoder.finish()]);
        }
    }
}

/// One network of a [`Members`] batch: where it starts, how it trains, and
/// which rows of the shared data it trains and validates on (indices).
pub(crate) struct MemberSpec<'a> {
    pub net: &'a Network,
    /// Its settings, made for it (`TrainConfig::for_network`).
    pub config: &'a TrainConfig,
    pub state: &'a OptimizerState,
    pub train_rows: &'a [u32],
    pub validation_rows: Option<&'a [u32]>,
}

/// What one member asks of a round.
pub(crate) enum Work<'p> {
    /// Train these steps of its plan (at most [`Members::capacity`], within
    /// [`Members::epoch_slots`] epochs).
    Train(&'p [PlannedStep]),
    /// The loss sums of its training rows in file order, a batch at a time.
    TrainingLoss,
    /// The loss sums of its validation rows, a batch at a time, and their
    /// predictions.
    Validation,
}

/// What a round gave one member: a loss sum per step or chunk, and for
/// [`Work::Validation`] the predictions (rows x outputs).
pub(crate) struct Done {
    pub sums: Vec<f32>,
    pub predictions: Vec<f32>,
}

/// Where one member lives in the shared buffers.
struct Place {
    params: SmallNetParams,
    config: TrainConfig,
    layouts: Vec<ParameterLayout>,
    /// Its parameters in `weights`, in values.
    weights_at: usize,
    weights_len: usize,
    /// Its row indices: file order, then `epoch_slots` shuffled epochs,
    /// then its validation rows.
    index_at: usize,
    rows: Vec<u32>,
    epoch_slots: usize,
    validation_at: usize,
    validation_rows: usize,
    batch: usize,
    /// Its steps (in `steps`) and loss sums (in `out`), one slot each.
    slots_at: usize,
    slots: usize,
    /// Its validation predictions in `out`.
    predictions_at: usize,
    steps_per_dispatch: usize,
    /// The resident run's steps per submit, by which it groups loss sums.
    per_submit: usize,
}

/// Many small networks trained on one data set in the same dispatches,
/// one workgroup each: the data uploaded once, every member's parameters,
/// optimizer state, row indices, steps and results in shared buffers.
pub(crate) struct Members<'c> {
    ctx: &'c GpuContext,
    places: Vec<Place>,
    outputs: usize,
    capacity: usize,
    index: wgpu::Buffer,
    weights: wgpu::Buffer,
    best: Option<wgpu::Buffer>,
    steps: wgpu::Buffer,
    nets: wgpu::Buffer,
    out: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    pipeline: wgpu::ComputePipeline,
    _data: [wgpu::Buffer; 2],
    // Last, so every buffer above is dropped before it is released (GL).
    _gate: GateGuard,
}

/// The room an index region of `what` needs, checked against u32.
fn index_u32(what: &str, at: usize) -> Result<u32> {
    u32::try_from(at).map_err(|_| {
        Error::GpuLimit(format!(
            "{what} = {at} is more than a GPU kernel indexes (2^32 - 1)"
        ))
    })
}

impl<'c> Members<'c> {
    /// Whether `net`, trained by `config` (made for it) on batches of
    /// `batch` rows, fits one workgroup on `ctx`.
    pub(crate) fn fits(
        ctx: &GpuContext,
        net: &Network,
        batch: usize,
        config: &TrainConfig,
    ) -> bool {
        !ctx.options.per_step_dispatches && placement(net, batch, config, 0).is_some()
    }

    /// Steps a [`Work::Train`] may hold.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Epochs a [`Work::Train`] of member `m` may span (0: file order).
    pub(crate) fn epoch_slots(&self, m: usize) -> usize {
        self.places[m].epoch_slots
    }

    /// The steps per submit of member `m`'s resident run: the grouping of
    /// its loss sums when they are added up in f64.
    pub(crate) fn per_submit(&self, m: usize) -> usize {
        self.places[m].per_submit
    }

    /// Every member's buffers, on the data set `data` (on the GPU) with
    /// targets `y` (checked: each member's inputs and outputs fit them,
    /// every row index is in range), each member fitting
    /// ([`Members::fits`]).
    pub(crate) fn new(
        ctx: &'c GpuContext,
        y: &Matrix,
        data: &[wgpu::Buffer; 2],
        specs: &[MemberSpec],
    ) -> Result<Members<'c>> {
        let gate = ctx.gate();
        let max_groups = ctx.limits.max_compute_workgroups_per_dimension as usize;
        if specs.len() > max_groups {
            return Err(Error::GpuLimit(format!(
                "{} sweep members are more than the {max_groups} workgroups {} runs in one dispatch; train fewer at once",
                specs.len(),
                ctx.adapter().name
            )));
        }
        let members = specs.len().max(1);
        // Fewer steps a round for many members, so steps and losses fit.
        let capacity = (MEMBER_TABLES / 8 / members).clamp(1, MEMBER_STEPS);
        let mut places = Vec::with_capacity(specs.len());
        let (mut weights_at, mut index_at, mut slots_at, mut predictions) = (0, 0, 0, 0);
        let mut index_len = 0usize;
        for (m, spec) in specs.iter().enumerate() {
            let n = spec.train_rows.len();
            let batch = spec.config.batch_rows(n);
            let params = placement(spec.net, batch, spec.config, weights_at).ok_or_else(|| {
                Error::GpuLimit(format!(
                    "sweep member {} ({}) does not fit one workgroup",
                    m + 1,
                    spec.net
                ))
            })?;
            let moments = spec.config.optimizer.moments();
            let layouts: Vec<ParameterLayout> = spec
                .net
                .layers()
                .iter()
                .map(|l| ParameterLayout::of(l, moments))
                .collect();
            let weights_len: usize = layouts.iter().map(ParameterLayout::len).sum();
            let per_epoch = n.div_ceil(batch);
            let epoch_slots = match spec.config.order {
                BatchOrder::InOrder => 0,
                BatchOrder::Shuffled { .. } => capacity / per_epoch + 2,
            };
            let v = spec.validation_rows.map_or(0, <[u32]>::len);
            let slots = capacity.max(n.div_ceil(batch)).max(v.div_ceil(batch));
            let per_submit = ((FLOP_PER_SUBMIT / flop_per_step(spec.net, batch)) as usize)
                .clamp(1, MAX_STEPS_PER_SUBMIT);
            let place = Place {
                params,
                config: spec.config.clone(),
                layouts,
                weights_at,
                weights_len,
                index_at,
                rows: spec.train_rows.to_vec(),
                epoch_slots,
                validation_at: index_at + n * (1 + epoch_slots),
                validation_rows: v,
                batch,
                slots_at,
                slots,
                predictions_at: predictions,
                steps_per_dispatch: steps_per_dispatch(spec.net, batch),
                per_submit,
            };
            weights_at += weights_len;
            index_len = place.validation_at + v;
            index_at = index_len;
            slots_at += slots;
            predictions += v * y.cols();
            places.push(place);
        }
        let what = |t: &str| format!("the {t} of {} sweep members", specs.len());
        if index_len > MEMBER_TABLES {
            return Err(Error::GpuLimit(format!(
                "{} need {index_len} row indices, more than the {MEMBER_TABLES} a sweep holds on the GPU; train fewer members at once or use the CPU backend",
                what("batch orders")
            )));
        }
        index_u32(&what("row indices"), index_len)?;
        index_u32(&what("parameters"), weights_at)?;
        index_u32(&what("results"), slots_at + predictions)?;
        for p in &mut places {
            p.predictions_at += slots_at;
        }

        let [x_all, y_all] = data.clone();
        let mut indices = vec![0u32; index_len];
        let mut values = Vec::with_capacity(weights_at);
        for (p, spec) in places.iter().zip(specs) {
            indices[p.index_at..p.index_at + p.rows.len()].copy_from_slice(&p.rows);
            if let Some(v) = spec.validation_rows {
                indices[p.validation_at..p.validation_at + v.len()].copy_from_slice(v);
            }
            for (l, layer) in spec.net.layers().iter().enumerate() {
                values.extend(ParameterLayout::pack_layer(
                    layer,
                    &layer_state(spec.state, l),
                )?);
            }
        }
        let index = ctx.storage_from(&what("row indices"), &indices)?;
        let weights = ctx.storage_from(&what("parameters"), &values)?;
        let best = match specs.iter().any(|s| s.config.early_stopping.is_some()) {
            true => Some(ctx.storage_zeroed(&what("best parameters"), values.len())?),
            false => None,
        };
        let step_floats = std::mem::size_of::<StepParams>() / 4;
        let steps = ctx.storage_zeroed(&what("steps"), step_floats * slots_at)?;
        let nets = ctx.storage_zeroed(
            &what("networks"),
            std::mem::size_of::<SmallNet>() / 4 * specs.len(),
        )?;
        let out = ctx.storage_zeroed(&what("results"), slots_at + predictions)?;

        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = ctx
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("train_small members"),
                entries: &[
                    storage(0, true),
                    storage(1, true),
                    storage(2, true),
                    storage(3, true),
                    storage(4, false),
                    storage(5, false),
                    storage(7, true),
                ],
            });
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("train_small members"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("train_small"),
                source: wgpu::ShaderSource::Wgsl(Shader::TrainSmall.wgsl().into()),
            });
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("train_small members"),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("members"),
                compilation_options: Default::default(),
                cache: None,
            });
        let bound = [
            (0, &x_all),
            (1, &y_all),
            (2, &index),
            (3, &steps),
            (4, &weights),
            (5, &out),
            (7, &nets),
        ];
        let entries: Vec<wgpu::BindGroupEntry> = bound
            .iter()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: *i,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("train_small members"),
            layout: &layout,
            entries: &entries,
        });
        Ok(Members {
            ctx,
            places,
            outputs: y.cols(),
            capacity,
            index,
            weights,
            best,
            steps,
            nets,
            out,
            bind_group,
            pipeline,
            _data: [x_all, y_all],
            _gate: gate,
        })
    }

    /// Run every job of a round, `(member, work)`, at most one per member,
    /// in shared dispatches; each job's loss sums (and predictions).
    pub(crate) async fn run(&self, jobs: &[(usize, Work<'_>)]) -> Result<Vec<Done>> {
        let ctx = self.ctx;
        let mut nets = Vec::with_capacity(jobs.len());
        let mut counts = Vec::with_capacity(jobs.len());
        let mut read_to = 0;
        for (m, work) in jobs {
            let p = &self.places[*m];
            let mut net = SmallNet::new(p.params, &p.config);
            let params: Vec<StepParams> = match work {
                Work::Train(plan) => {
                    self.write_orders(p, plan);
                    let first_epoch = plan.first().map_or(0, |s| s.epoch);
                    plan.iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let region = match p.config.order {
                                BatchOrder::Shuffled { .. } => 1 + (s.epoch - first_epoch) as usize,
                                BatchOrder::InOrder => 0,
                            };
                            let rates = p.config.rates(s.t, s.rows);
                            StepParams {
                                rows: s.rows as u32,
                                index_offset: (p.index_at + region * p.rows.len() + s.start) as u32,
                                scale: if p.config.fused_sgd() {
                                    rates.sgd_step
                                } else {
                                    rates.gradient_scale
                                },
                                loss_slot: (p.slots_at + i) as u32,
                                lr: rates.lr,
                                correction1: rates.correction1,
                                correction2: rates.correction2,
                                skip: 0,
                            }
                        })
                        .collect()
                }
                Work::TrainingLoss | Work::Validation => {
                    let validation = matches!(work, Work::Validation);
                    let (at, rows) = match validation {
                        true => (p.validation_at, p.validation_rows),
                        false => (p.index_at, p.rows.len()),
                    };
                    net.eval = [1, validation as u32, p.predictions_at as u32, at as u32];
                    StepPlan::chunks(rows, p.batch)
                        .iter()
                        .enumerate()
                        .map(|(i, s)| StepParams {
                            rows: s.rows as u32,
                            index_offset: (at + s.start) as u32,
                            loss_slot: (p.slots_at + i) as u32,
                            ..Default::default()
                        })
                        .collect()
                }
            };
            assert!(params.len() <= p.slots, "a round fits its member's slots");
            ctx.queue.write_buffer(
                &self.steps,
                (p.slots_at * std::mem::size_of::<StepParams>()) as u64,
                bytemuck::cast_slice(&params),
            );
            net.base.first = p.slots_at as u32;
            read_to = read_to.max(p.slots_at + params.len());
            if matches!(work, Work::Validation) {
                read_to = read_to.max(p.predictions_at + p.validation_rows * self.outputs);
            }
            counts.push(params.len());
            nets.push(net);
        }

        // Dispatch by dispatch: each member its next steps_per_dispatch
        // steps, until every job is done.
        for d in 0.. {
            let mut active: Vec<SmallNet> = Vec::new();
            for (((m, _), net), &count) in jobs.iter().zip(&nets).zip(&counts) {
                let per = self.places[*m].steps_per_dispatch;
                let start = d * per;
                if start >= count {
                    continue;
                }
                let mut n = *net;
                n.base.first += start as u32;
                n.base.steps = per.min(count - start) as u32;
                active.push(n);
            }
            if active.is_empty() {
                break;
            }
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            ctx.queue
                .write_buffer(&self.nets, 0, bytemuck::cast_slice(&active));
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.dispatch_workgroups(active.len() as u32, 1, 1);
                ctx.count_dispatches(1);
            }
            ctx.queue.submit([encoder.finish()]);
        }

        let all = ctx.read_back(&[(&self.out, read_to)]).await?.remove(0);
        Ok(jobs
            .iter()
            .zip(&counts)
            .map(|((m, work), &count)| {
                let p = &self.places[*m];
                let predictions = match work {
                    Work::Validation => {
                        all[p.predictions_at..][..p.validation_rows * self.outputs].to_vec()
                    }
                    _ => Vec::new(),
                };
                Done {
                    sums: all[p.slots_at..p.slots_at + count].to_vec(),
                    predictions,
                }
            })
            .collect())
    }

    /// Member `p`'s shuffled orders for the epochs of `plan`, as indices
    /// into the shared data, into its epoch slots.
    fn write_orders(&self, p: &Place, plan: &[PlannedStep]) {
        let BatchOrder::Shuffled { seed } = p.config.order else {
            return;
        };
        let (Some(first), Some(last)) = (plan.first(), plan.last()) else {
            return;
        };
        let n = p.rows.len();
        for e in first.epoch..=last.epoch {
            let order: Vec<u32> = shuffled_order(n, seed, e)
                .iter()
                .map(|&i| p.rows[i as usize])
                .collect();
            let region = 1 + (e - first.epoch) as usize;
            let at = 4 * (p.index_at + region * n) as u64;
            self.ctx
                .queue
                .write_buffer(&self.index, at, bytemuck::cast_slice(&order));
        }
    }

    /// Start member `m` again from `layers` and `state`.
    pub(crate) fn load(&self, m: usize, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        let mut values = Vec::with_capacity(self.places[m].weights_len);
        for (l, layer) in layers.iter().enumerate() {
            values.extend(ParameterLayout::pack_layer(layer, &layer_state(state, l))?);
        }
        let at = 4 * self.places[m].weights_at as u64;
        self.ctx
            .queue
            .write_buffer(&self.weights, at, bytemuck::cast_slice(&values));
        Ok(())
    }

    /// Copy member `m`'s parameters and state to its best-epoch copy
    /// (`to_best`), or back.
    pub(crate) fn copy_best(&self, m: usize, to_best: bool) {
        let Some(best) = &self.best else { return };
        let p = &self.places[m];
        let (at, size) = (4 * p.weights_at as u64, 4 * p.weights_len as u64);
        let (from, to) = match to_best {
            true => (&self.weights, best),
            false => (best, &self.weights),
        };
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(from, at, to, at, size);
        self.ctx.queue.submit([encoder.finish()]);
    }

    /// Every member's parameters and state, read back at once: the values
    /// of the members `which` (gpu::parameters' layout, layer after layer).
    pub(crate) async fn read(&self, which: &[usize]) -> Result<Vec<Vec<f32>>> {
        let end = which
            .iter()
            .map(|&m| self.places[m].weights_at + self.places[m].weights_len)
            .max()
            .unwrap_or(0);
        let all = self.ctx.read_back(&[(&self.weights, end)]).await?.remove(0);
        Ok(which
            .iter()
            .map(|&m| {
                let p = &self.places[m];
                all[p.weights_at..p.weights_at + p.weights_len].to_vec()
            })
            .collect())
    }

    /// Member `m`'s values as [`Members::read`] gave them, into `layers`
    /// and `state`.
    pub(crate) fn unpack(
        &self,
        m: usize,
        values: &[f32],
        layers: &mut [Layer],
        state: &mut OptimizerState,
    ) {
        unpack_network(&self.places[m].layouts, values, layers, state);
    }
}
