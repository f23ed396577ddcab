//! The WGSL sources (shaders/, prepended with shaders/common.wgsl) and their
//! pipelines, all sharing one layout.
//!
//! Group 0 holds a kernel's buffers and its [`LayerParams`]: `0` and `1`
//! read-only storage, `2` read-write storage, `3` read-only storage (the
//! hidden delta's activations; other kernels leave it unused), `4` the
//! uniform. Group 1 holds [`StepParams`] at a dynamic offset, one slot a
//! step, so a whole run records with bind groups made once.

use bytemuck::{Pod, Zeroable};

const COMMON: &str = include_str!("../../shaders/common.wgsl");
const MATMUL: &str = include_str!("../../shaders/matmul.wgsl");
const GATHER: &str = include_str!("../../shaders/gather.wgsl");
const OUTPUT_DELTA: &str = include_str!("../../shaders/output_delta.wgsl");
const LOSS: &str = include_str!("../../shaders/loss.wgsl");
const OUTPUT_ACTIVATION: &str = include_str!("../../shaders/output_activation.wgsl");
const OPTIMIZER: &str = include_str!("../../shaders/optimizer.wgsl");
const TRAIN_SMALL: &str = include_str!("../../shaders/train_small.wgsl");

/// Floats of workgroup memory train_small.wgsl holds for the network (its
/// `MEM`; with its 64 partial sums, 16 KiB, what every WebGPU device has).
pub(crate) const SMALL_NET_FLOATS: usize = 4032;
/// Layers train_small.wgsl takes at most (its `MAX_LAYERS`).
pub(crate) const SMALL_NET_LAYERS: usize = 8;

/// `struct Net` of train_small.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable)]
pub(crate) struct SmallNetParams {
    pub layers: u32,
    pub steps: u32,
    pub loss: u32,
    pub sigmoid_rule: u32,
    pub n_in: u32,
    pub x_off: u32,
    pub y_off: u32,
    pub first: u32,
    /// Per layer: (n_in, n_out, has_bias, act).
    pub dims: [[u32; 4]; SMALL_NET_LAYERS],
    /// Per layer: (weights in mem, activations in mem, deltas in mem,
    /// weights in the weights buffer).
    pub offs: [[u32; 4]; SMALL_NET_LAYERS],
}

/// `struct Layer` of common.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable)]
pub(crate) struct LayerParams {
    pub n_in: u32,
    pub n_out: u32,
    pub has_bias: u32,
    pub act: u32,
    pub n_next: u32,
    pub sigmoid_rule: u32,
    pub loss: u32,
    pub cols: u32,
    pub optimizer: u32,
    pub nesterov: u32,
    pub beta1: f32,
    pub beta2: f32,
    pub epsilon: f32,
    pub decay: f32,
    pub count: u32,
    pub _pad: u32,
}

/// `struct Step` of common.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable)]
pub(crate) struct StepParams {
    pub rows: u32,
    pub index_offset: u32,
    pub scale: f32,
    pub loss_slot: u32,
    pub lr: f32,
    pub correction1: f32,
    pub correction2: f32,
    pub _pad: u32,
}

/// A tile shape of matmul.wgsl: each workgroup computes `tile x tile`
/// outputs, each invocation `per_invocation x per_invocation` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TileShape {
    pub tile: u32,
    pub per_invocation: u32,
}

/// For products at least 64 x 64: 256 invocations, 4 x 4 outputs each.
pub(crate) const LARGE_TILE: TileShape = TileShape {
    tile: 64,
    per_invocation: 4,
};
/// For smaller products (the notebook's 4 x 3 . 3 x 4): 64 invocations,
/// 2 x 2 outputs each, so little of each workgroup is padding.
pub(crate) const SMALL_TILE: TileShape = TileShape {
    tile: 16,
    per_invocation: 2,
};

/// The tile shape for an `m x n` output.
pub(crate) fn tile_for(m: u32, n: u32) -> TileShape {
    if m >= LARGE_TILE.tile && n >= LARGE_TILE.tile {
        LARGE_TILE
    } else {
        SMALL_TILE
    }
}
/// Invocations per workgroup of the element-wise kernels.
pub(crate) const ELEMENTWISE_GROUP: u32 = 256;

/// Which fused epilogue matmul.wgsl is specialised for (its `KIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatmulKind {
    Forward = 0,
    HiddenDelta = 1,
    SgdUpdate = 2,
    WeightGradient = 3,
}

/// matmul.wgsl specialised for one epilogue, in both tile shapes.
#[derive(Clone)]
pub(crate) struct MatmulPipelines {
    pub large: wgpu::ComputePipeline,
    pub small: wgpu::ComputePipeline,
}

impl MatmulPipelines {
    pub fn get(&self, shape: TileShape) -> &wgpu::ComputePipeline {
        if shape == LARGE_TILE {
            &self.large
        } else {
            &self.small
        }
    }
}

/// Every compute pipeline, built once per device.
pub(crate) struct Pipelines {
    pub group0: wgpu::BindGroupLayout,
    pub group1: wgpu::BindGroupLayout,
    pub forward: MatmulPipelines,
    pub hidden_delta: MatmulPipelines,
    pub sgd_update: MatmulPipelines,
    pub weight_gradient: MatmulPipelines,
    pub gather: wgpu::ComputePipeline,
    pub output_activation: wgpu::ComputePipeline,
    pub optimizer: wgpu::ComputePipeline,
    pub output_delta: wgpu::ComputePipeline,
    pub loss: wgpu::ComputePipeline,
    /// train_small.wgsl and its own layout (six storage buffers, a uniform).
    pub train_small: wgpu::ComputePipeline,
    pub small_group: wgpu::BindGroupLayout,
    /// Bound where a kernel leaves a binding unused (bindings cannot be empty).
    pub unused: wgpu::Buffer,
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform(binding: u32, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

impl Pipelines {
    pub fn new(device: &wgpu::Device) -> Self {
        let group0 = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("kernel buffers"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, false),
                storage(3, true),
                uniform(4, false),
            ],
        });
        let group1 = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("step"),
            entries: &[uniform(0, true)],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("neurona"),
            bind_group_layouts: &[Some(&group0), Some(&group1)],
            immediate_size: 0,
        });
        let pipeline = |name: &str, source: &str, constants: &[(&str, f64)]| {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{source}").into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(name),
                layout: Some(&layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    ..Default::default()
                },
                cache: None,
            })
        };
        let matmul = |name: &str, kind: MatmulKind| {
            let shape = |s: TileShape| {
                [
                    ("KIND", kind as u32 as f64),
                    ("TILE", s.tile as f64),
                    ("R", s.per_invocation as f64),
                ]
            };
            MatmulPipelines {
                large: pipeline(name, MATMUL, &shape(LARGE_TILE)),
                small: pipeline(name, MATMUL, &shape(SMALL_TILE)),
            }
        };
        let small_group = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("train_small buffers"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, true),
                storage(3, true),
                storage(4, false),
                storage(5, false),
                uniform(6, false),
            ],
        });
        let small_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("train_small"),
            bind_group_layouts: &[Some(&small_group)],
            immediate_size: 0,
        });
        let small_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("train_small"),
            source: wgpu::ShaderSource::Wgsl(format!("{COMMON}\n{TRAIN_SMALL}").into()),
        });
        let train_small = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("train_small"),
            layout: Some(&small_layout),
            module: &small_module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        Pipelines {
            train_small,
            small_group,
            forward: matmul("matmul_bias_act", MatmulKind::Forward),
            hidden_delta: matmul("hidden_delta", MatmulKind::HiddenDelta),
            sgd_update: matmul("sgd_update", MatmulKind::SgdUpdate),
            weight_gradient: matmul("weight_gradient", MatmulKind::WeightGradient),
            gather: pipeline("gather", GATHER, &[]),
            output_activation: pipeline("output_activation", OUTPUT_ACTIVATION, &[]),
            optimizer: pipeline("optimizer", OPTIMIZER, &[]),
            output_delta: pipeline("output_delta", OUTPUT_DELTA, &[]),
            loss: pipeline("loss", LOSS, &[]),
            group0,
            group1,
            unused: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("unused binding"),
                size: 16,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            }),
        }
    }
}
