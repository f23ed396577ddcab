//! Dispatching kernels: grid sizes (folded to the device's limit), the
//! per-step slots (one `StepParams` per member), and `Kernel`, one
//! pipeline with its bound buffers, over one member or many. The kernels
//! themselves are set up in `gpu::ops`.

use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::gpu::product::MatmulKind;
use crate::gpu::shaders::{ELEMENTWISE_GROUP, LayerParams, Shader, StepParams};
use crate::gpu::variants::{MatmulChoice, MatmulVariant, heuristic};
use crate::network::Network;

/// Most steps recorded into one submit.
pub(crate) const MAX_STEPS_PER_SUBMIT: usize = 1024;
/// Work per submit to aim for, so a big network's submit stays well under a
/// second (drivers may reset a GPU that runs one much longer).
pub(crate) const FLOP_PER_SUBMIT: f64 = 1e11;

/// Floating-point work of one training step (2·M·N·K per product, three
/// products a layer), to size submits (the resident run's, and a sweep
/// member's, which groups its loss sums as its resident run would).
pub(crate) fn flop_per_step(net: &Network, rows: usize) -> f64 {
    net.layers()
        .iter()
        .map(|l| 6.0 * rows as f64 * l.inputs() as f64 * l.outputs() as f64)
        .sum()
}

/// Workgroup counts `(x, y, z)` for `groups` workgroups, folded so that no
/// dimension exceeds `max`; kernels rebuild the linear index with
/// `group_index` and skip the few past the end. A dispatch over several
/// members repeats this z once per member.
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

/// What a dispatch runs and covers, so its pipeline and grid can follow
/// the step's row count.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work {
    /// A product of `m x n` outputs summed over `k`, `None` meaning the
    /// step's rows; its variant is chosen per shape, among the vec4 family
    /// too when `vec4` (its widths are multiples of 4).
    Matmul {
        kind: MatmulKind,
        m: Option<u32>,
        n: u32,
        k: Option<u32>,
        vec4: bool,
    },
    /// One invocation per element of a `rows x cols` matrix.
    Elementwise { shader: Shader, cols: u32 },
    /// One workgroup per `chunk` elements of a `rows x cols` matrix.
    Chunks {
        shader: Shader,
        cols: u32,
        chunk: u32,
    },
    /// One invocation per element of `count`, whatever the step's rows.
    Fixed { shader: Shader, count: u32 },
    /// One workgroup.
    Single { shader: Shader },
}

/// One recorded kernel: its work, buffers and grid.
pub(crate) struct Kernel {
    bind_group: wgpu::BindGroup,
    work: Work,
    /// The pipeline and workgroups of the last row count recorded (a
    /// matmul's variant follows its product's shape).
    resolved: Mutex<Option<(u32, wgpu::ComputePipeline, u64)>>,
    /// A matmul variant this kernel always runs in (the tuner's timings
    /// and the benchmark's rows), instead of the device's choice.
    forced: Option<MatmulVariant>,
    /// Members it covers: the grid's z.
    members: u32,
    // Kept alive with the bind group; `over_members` writes its strides.
    params: wgpu::Buffer,
}

/// Where a kernel's buffers go: group 0's bindings 0 to 3.
pub(crate) struct Bindings<'a> {
    pub a: &'a wgpu::Buffer,
    pub b: Option<&'a wgpu::Buffer>,
    pub c: &'a wgpu::Buffer,
    pub aux: Option<&'a wgpu::Buffer>,
}

impl Kernel {
    /// The pipeline and workgroup count for a step of `rows` rows.
    fn resolve(&self, ctx: &GpuContext, rows: u32) -> (wgpu::ComputePipeline, u64) {
        let mut last = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((r, pipeline, groups)) = &*last
            && *r == rows
        {
            return (pipeline.clone(), *groups);
        }
        let (shader, groups) = match self.work {
            Work::Matmul {
                kind,
                m,
                n,
                k,
                vec4,
            } => {
                let m = m.unwrap_or(rows);
                let k = k.unwrap_or(rows);
                let variant = match self.forced {
                    Some(v) => v,
                    None => ctx.matmul_variant(kind, m, n, k, vec4),
                };
                let (bm, bn) = variant.outputs();
                (
                    Shader::Matmul(kind, variant),
                    (m as u64).div_ceil(bm as u64) * (n as u64).div_ceil(bn as u64),
                )
            }
            Work::Elementwise { shader, cols } => (
                shader,
                (rows as u64 * cols as u64).div_ceil(ELEMENTWISE_GROUP as u64),
            ),
            Work::Chunks {
                shader,
                cols,
                chunk,
            } => (shader, (rows as u64 * cols as u64).div_ceil(chunk as u64)),
            Work::Fixed { shader, count } => {
                (shader, (count as u64).div_ceil(ELEMENTWISE_GROUP as u64))
            }
            Work::Single { shader } => (shader, 1),
        };
        let pipeline = ctx.pipelines.get(&ctx.device, shader);
        *last = Some((rows, pipeline.clone(), groups));
        (pipeline, groups)
    }

    /// This kernel over `members` members whose values lie `strides`
    /// floats apart in bindings 0 to 3 (0: a buffer they share). The
    /// caller makes each stacked buffer `members` strides long (the vec4
    /// family, which runs without bounds checks, relies on it) and each
    /// stride a multiple of 4 floats (a vec4 kernel reads whole vec4s).
    pub fn over_members(mut self, ctx: &GpuContext, members: u32, strides: [u32; 4]) -> Kernel {
        debug_assert!(strides.iter().all(|s| s % 4 == 0));
        self.members = members.max(1);
        // The strides and the member count, side by side in the uniform.
        let values = [strides[0], strides[1], strides[2], strides[3], self.members];
        ctx.queue.write_buffer(
            &self.params,
            std::mem::offset_of!(LayerParams, strides) as u64,
            bytemuck::cast_slice(&values),
        );
        self
    }

    /// This kernel, its matrix product always run in `variant` (which the
    /// caller knows fits the product and the adapter).
    pub fn in_variant(mut self, variant: MatmulVariant) -> Kernel {
        self.forced = Some(variant);
        self
    }

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
        let (pipeline, groups) = self.resolve(ctx, rows);
        let max = ctx.limits.max_compute_workgroups_per_dimension;
        let (x, y, z) = fold_grid(groups, max)?;
        let zs = z as u64 * self.members as u64;
        if zs > max as u64 || self.members as usize > steps.members {
            return Err(Error::GpuLimit(format!(
                "{} members of {groups} workgroups each do not fit one dispatch \
                 ({max} a dimension, step slots for {})",
                self.members, steps.members
            )));
        }
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_bind_group(1, &steps.bind_group, &[steps.offset(slot)]);
        pass.dispatch_workgroups(x, y, zs as u32);
        ctx.count_dispatches(1);
        Ok(())
    }
}

impl GpuContext {
    /// A kernel doing `work` over `buffers`, with `params` in its uniform.
    pub(crate) fn kernel(&self, buffers: Bindings, params: LayerParams, work: Work) -> Kernel {
        let _gate = self.gate();
        let uniform = self.uniform_from("layer params", &params);
        let unused = &self.pipelines.unused;
        let entries: Vec<wgpu::BindGroupEntry> = [
            buffers.a,
            buffers.b.unwrap_or(unused),
            buffers.c,
            buffers.aux.unwrap_or(unused),
            &uniform,
        ]
        .iter()
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
            bind_group,
            work,
            resolved: Mutex::new(None),
            forced: None,
            members: 1,
            params: uniform,
        }
    }

    /// The variant the `kind` product of `m x n` outputs over `k` runs in
    /// on this device: forced by `GpuOptions::matmul` (or
    /// `NEURONA_MATMUL`), else the tuner's choice on a hardware adapter, the
    /// fixed rule on a software one. `vec4`: its widths let the vec4 family
    /// run it.
    pub(crate) fn matmul_variant(
        &self,
        kind: MatmulKind,
        m: u32,
        n: u32,
        k: u32,
        vec4: bool,
    ) -> MatmulVariant {
        let legacy = MatmulVariant::Scalar(MatmulChoice::legacy(m, n));
        match self.matmul {
            MatmulChoice::Legacy => legacy,
            MatmulChoice::Only(MatmulVariant::Vec4(t))
                if !vec4 || t.check_limits(kind, &self.limits).is_err() =>
            {
                legacy
            }
            MatmulChoice::Only(v) => v,
            MatmulChoice::Auto => match &self.tuner {
                Some(tuner) => {
                    let mut timer = self;
                    tuner.choose(&mut timer, &self.limits, (kind, m, n, k), vec4)
                }
                None => heuristic(kind, (m, n, k), vec4, self.adapter().software, &self.limits),
            },
        }
    }
}

/// The per-step parameters: `capacity` slots, each `members`
/// [`StepParams`] (one per member), spaced at the device's storage offset
/// alignment, bound once with a dynamic offset.
pub(crate) struct StepSlots {
    buffer: wgpu::Buffer,
    pub bind_group: wgpu::BindGroup,
    stride: u64,
    pub capacity: usize,
    pub members: usize,
}

impl StepSlots {
    /// Slots for one member.
    pub fn new(ctx: &GpuContext, capacity: usize) -> Self {
        Self::for_members(ctx, capacity, 1)
    }

    pub fn for_members(ctx: &GpuContext, capacity: usize, members: usize) -> Self {
        let bytes = (members * std::mem::size_of::<StepParams>()) as u64;
        let align = ctx.limits.min_storage_buffer_offset_alignment.max(1) as u64;
        let stride = bytes.div_ceil(align) * align;
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step params"),
            size: stride * capacity as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
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
                    size: wgpu::BufferSize::new(bytes),
                }),
            }],
        });
        StepSlots {
            buffer,
            bind_group,
            stride,
            capacity,
            members,
        }
    }

    /// Write `steps` into slots 0.., one [`StepParams`] a slot (one
    /// member; takes effect at the next submit).
    pub fn write(&self, ctx: &GpuContext, steps: &[StepParams]) {
        let slots: Vec<&[StepParams]> = steps.iter().map(std::slice::from_ref).collect();
        self.write_members(ctx, &slots);
    }

    /// Write `slots` into slots 0.., each every member's [`StepParams`].
    pub fn write_members(&self, ctx: &GpuContext, slots: &[&[StepParams]]) {
        assert!(slots.len() <= self.capacity);
        let mut bytes = vec![0u8; self.stride as usize * slots.len()];
        for (i, members) in slots.iter().enumerate() {
            assert_eq!(members.len(), self.members);
            let at = i * self.stride as usize;
            let values: &[u8] = bytemuck::cast_slice(members);
            bytes[at..at + values.len()].copy_from_slice(values);
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
