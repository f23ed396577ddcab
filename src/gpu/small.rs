//! Networks small enough for one workgroup: train_small.wgsl runs many
//! whole training steps in one dispatch, its weights, activations and
//! deltas in workgroup memory. The resident run uses it when the network
//! fits; it computes the same sums in the same order as the per-step
//! kernels, so the two give the same bits.

use crate::config::TrainConfig;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::parameters::ParameterLayout;
use crate::gpu::shaders::{
    SMALL_NET_FLOATS, SMALL_NET_LAYERS, SMALL_NET_THREADS, Shader, SmallNetParams, StepParams,
};
use crate::loss::Loss;
use crate::network::Network;

/// Loop iterations with run-time bounds one invocation of train_small.wgsl
/// may run in one dispatch: half of llvmpipe's limit (about 65,535), which
/// ends a shader silently past it.
const SMALL_NET_ITERATIONS: usize = 32_768;

/// The buffers train_small.wgsl reads besides its own.
pub(crate) struct SmallInputs<'a> {
    pub x_all: &'a wgpu::Buffer,
    pub y_all: &'a wgpu::Buffer,
    pub index: &'a wgpu::Buffer,
    pub losses: &'a wgpu::Buffer,
}

/// train_small.wgsl's buffers, for a network that fits one workgroup.
pub(crate) struct Small {
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
    if layers.len() > SMALL_NET_LAYERS
        || !config.fused_sgd()
        || config.objective() == Loss::CrossEntropy
    {
        return None;
    }
    let mut p = SmallNetParams {
        layers: layers.len() as u32,
        loss: config.objective().gpu_id(),
        sigmoid_rule: config.sigmoid_derivative.gpu_id(),
        n_in: net.inputs() as u32,
        ..Default::default()
    };
    let (mut mem, mut buf) = (0usize, 0usize);
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
            buf as u32,
        ];
        mem = mem.checked_add(w + 2 * a)?;
        buf += w;
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
    let mut n = 8
        + share(batch * net.inputs())
        + share(batch * net.outputs())
        + share(batch * net.outputs());
    for (l, layer) in layers.iter().enumerate() {
        n += 2 + share(batch * layer.outputs()) * (layer.inputs() + 1);
        if let Some(next) = layers.get(l + 1) {
            n += 2 + share(batch * layer.outputs()) * (next.outputs() + 1);
        }
        let w = ParameterLayout::of(layer, 0).count();
        n += 2 + share(w) * (batch + 1);
    }
    n
}

impl Small {
    /// The one-workgroup kernel's buffers for `net` trained by `config` on
    /// batches of `batch` rows, when it fits; `None` otherwise (or when the
    /// device asks for per-step dispatches).
    pub(crate) fn new(
        ctx: &GpuContext,
        net: &Network,
        batch: usize,
        config: &TrainConfig,
        inputs: SmallInputs,
        steps_per_submit: usize,
    ) -> Result<Option<Small>> {
        let Some(params) = small_plan(net, batch, config) else {
            return Ok(None);
        };
        if ctx.options.per_step_dispatches {
            return Ok(None);
        }
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
        let steps_per_dispatch =
            (SMALL_NET_ITERATIONS / small_iterations_per_step(net, batch)).max(1);
        Ok(Some(Small {
            params,
            steps_per_dispatch,
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
            let net = SmallNetParams {
                first: first as u32,
                steps: count as u32,
                ..self.params
            };
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
