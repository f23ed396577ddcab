//! One matrix product of a layer in a chosen variant, on seeded random
//! data: checked against its CPU twin on padded buffers (the parity tests,
//! the tuner's bit-equality gate), or timed (the benchmark, the tuner,
//! whose timer on a device this is).
//!
//! The checks pad every input with NaN past its end and follow the output
//! with guard words, so a kernel that reads past an operand puts NaN in its
//! result and one that writes past its output changes a guard: either fails
//! the check, even where the driver does no bounds checking of its own.

#[cfg(not(target_arch = "wasm32"))]
use std::collections::HashMap;

use crate::activation::{Activation, SigmoidDerivative};
use crate::cpu;
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::gpu::kernels::{Kernel, StepSlots, size_u32};
use crate::gpu::ops;
use crate::gpu::product::{MatmulKind, ProductShape};
use crate::gpu::shaders::StepParams;
use crate::gpu::tune::ProductTimer;
#[cfg(not(target_arch = "wasm32"))]
use crate::gpu::tune::{Tuned, candidates, same_bits, tune};
use crate::gpu::variants::MatmulVariant;
use crate::random::Stream;

/// Floats of NaN after each input of a checked product: more than any
/// tile reaches past an operand's end.
const NAN_PADDING: usize = 4096;
/// Guard words after a checked product's output.
const GUARD_WORDS: usize = 256;
/// The bits of a guard word (a quiet NaN no kernel computes).
const GUARD: u32 = 0x7fc0_dead;

/// What [`GpuContext::product_check`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductCheck {
    /// The GPU's output.
    pub gpu: Vec<f32>,
    /// The CPU twin's output on the same inputs.
    pub cpu: Vec<f32>,
    /// Every guard word after the output is as written: nothing was
    /// written past it.
    pub guards_intact: bool,
}

/// Seeded operands of a product: values in [-1, 1), activations in (0, 1).
struct Operands {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    aux: Vec<f32>,
}

impl Operands {
    fn new(shape: &ProductShape, seed: u64) -> Self {
        let [la, lb, lc, laux] = shape.lengths();
        let next = |n: usize, stream: u64| -> Vec<f32> {
            let mut r = Stream::with_stream(seed, stream);
            (0..n).map(|_| r.uniform_pm1()).collect()
        };
        let (a, b, c) = (next(la, 1), next(lb, 2), next(lc, 3));
        let aux = next(laux, 4).iter().map(|v| 0.5 + 0.45 * v).collect();
        Operands { a, b, c, aux }
    }

    /// The CPU twin's output on these operands.
    fn cpu(&self, shape: &ProductShape) -> Vec<f32> {
        let (r, i, o, bias) = (shape.rows, shape.inputs, shape.outputs, shape.bias);
        match shape.kind {
            MatmulKind::Forward => {
                let mut out = vec![0.0; r * o];
                let (w, b) = self.b.split_at(i * o);
                let b = bias.then_some(b);
                cpu::matmul_bias_act(&self.a, w, b, Activation::Tanh, &mut out, r, i, o);
                out
            }
            MatmulKind::HiddenDelta => {
                let mut out = vec![0.0; r * o];
                let w_next = &self.b[..o * i];
                let (act, rule) = (Activation::Sigmoid, SigmoidDerivative::Exact);
                cpu::hidden_delta(&self.a, w_next, &self.aux, act, rule, &mut out, r, o, i);
                out
            }
            MatmulKind::SgdUpdate => {
                let mut out = self.c.clone();
                let (w, b) = out.split_at_mut(i * o);
                let b = bias.then_some(b);
                cpu::sgd_update(w, b, &self.a, &self.b, r, i, o, STEP_SCALE);
                out
            }
            MatmulKind::WeightGradient => {
                let mut out = vec![0.0; self.c.len()];
                cpu::weight_gradient(&mut out, bias, &self.a, &self.b, r, i, o, STEP_SCALE);
                out
            }
        }
    }
}

/// The step scale the weight products run with.
const STEP_SCALE: f32 = 0.25;

/// Buffers for `values` followed by `extra` floats of `fill`.
fn padded(
    ctx: &GpuContext,
    label: &str,
    values: &[f32],
    extra: usize,
    fill: f32,
) -> Result<wgpu::Buffer> {
    let mut all = Vec::with_capacity(values.len() + extra);
    all.extend_from_slice(values);
    all.resize(values.len() + extra, fill);
    ctx.storage_from(label, &all)
}

impl GpuContext {
    /// The kernel of `shape` over these buffers, in `variant` (`None`: the
    /// device's choice).
    fn product_kernel(
        &self,
        shape: &ProductShape,
        variant: Option<MatmulVariant>,
        [a, b, c, aux]: [&wgpu::Buffer; 4],
    ) -> Result<Kernel> {
        let (i, o, bias) = (shape.inputs, shape.outputs, shape.bias);
        let kernel = match shape.kind {
            MatmulKind::Forward => ops::MatmulBiasAct {
                a_in: a,
                w_aug: b,
                out: c,
            }
            .kernel(self, i, o, bias, Activation::Tanh)?,
            MatmulKind::HiddenDelta => ops::HiddenDelta {
                d_next: a,
                w_next: b,
                a: aux,
                d: c,
            }
            .kernel(self, o, i, Activation::Sigmoid, SigmoidDerivative::Exact)?,
            MatmulKind::SgdUpdate => ops::SgdUpdate {
                a_in: a,
                delta: b,
                w_aug: c,
            }
            .kernel(self, i, o, bias)?,
            MatmulKind::WeightGradient => ops::WeightGradient {
                a_in: a,
                delta: b,
                grad: c,
            }
            .kernel(self, i, o, bias)?,
        };
        let variant = match variant {
            None => return Ok(kernel),
            Some(MatmulVariant::Vec4(t)) => {
                if !shape.vec4() {
                    return Err(Error::Config(format!(
                        "{shape}: the vec4 family needs widths that are multiples of 4"
                    )));
                }
                t.check_limits(shape.kind, &self.limits)?;
                MatmulVariant::Vec4(t)
            }
            Some(v) => {
                v.check_limits(&self.limits)?;
                v
            }
        };
        Ok(kernel.in_variant(variant))
    }

    fn product_step(&self, shape: &ProductShape) -> Result<StepSlots> {
        let steps = StepSlots::new(self, 1);
        steps.write(
            self,
            &[StepParams {
                rows: size_u32("rows", shape.rows)?,
                scale: STEP_SCALE,
                ..Default::default()
            }],
        );
        Ok(steps)
    }

    /// Run `shape` once in `variant` (`None`: the device's choice) on inputs drawn
    /// from `seed`, each followed by NaN, the output by guard words; and
    /// its CPU twin on the same inputs. For parity tests: a kernel that
    /// reads past an input gives NaN, one that writes past its output
    /// breaks a guard.
    pub async fn product_check(
        &self,
        shape: ProductShape,
        variant: Option<MatmulVariant>,
        seed: u64,
    ) -> Result<ProductCheck> {
        let _gate = self.gate();
        let ops = Operands::new(&shape, seed);
        let guard = f32::from_bits(GUARD);
        let a = padded(self, "a", &ops.a, NAN_PADDING, f32::NAN)?;
        let b = padded(self, "b", &ops.b, NAN_PADDING, f32::NAN)?;
        let aux = padded(self, "aux", &ops.aux, NAN_PADDING, f32::NAN)?;
        let c = padded(self, "c", &ops.c, GUARD_WORDS, guard)?;
        let kernel = self.product_kernel(&shape, variant, [&a, &b, &c, &aux])?;
        let steps = self.product_step(&shape)?;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            kernel.record(self, &mut pass, &steps, 0, shape.rows as u32)?;
        }
        self.queue.submit([encoder.finish()]);
        let len = ops.c.len();
        let mut all = self.read_back(&[(&c, len + GUARD_WORDS)]).await?.remove(0);
        let guards_intact = all[len..].iter().all(|g| g.to_bits() == GUARD);
        all.truncate(len);
        Ok(ProductCheck {
            gpu: all,
            cpu: ops.cpu(&shape),
            guards_intact,
        })
    }

    /// Seconds per dispatch of `shape` in `variant` (`None`: the device's
    /// choice) on random data: buffers made once, one warm-up dispatch, then `reps`
    /// dispatches in one compute pass, timed by the GPU's timestamps where
    /// the adapter has them ([`GpuContext::has_timestamps`]), else from
    /// submit to completion. Native only: it blocks while the GPU works.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn time_product(
        &self,
        shape: ProductShape,
        variant: Option<MatmulVariant>,
        reps: usize,
    ) -> Result<f64> {
        self.timing_product(shape, variant, |time| time(reps))
    }

    /// `timing` given a clock for `shape` in `variant`: seconds per
    /// dispatch over a pass of `reps` dispatches, on random data whose
    /// buffers and kernel are made once (and warmed up by one dispatch)
    /// however often it is called, so timing a big product again does not
    /// draw and upload its operands again.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn timing_product<T>(
        &self,
        shape: ProductShape,
        variant: Option<MatmulVariant>,
        timing: impl FnOnce(&dyn Fn(usize) -> Result<f64>) -> Result<T>,
    ) -> Result<T> {
        let _gate = self.gate();
        let ops = Operands::new(&shape, 7);
        let a = self.storage_from("a", &ops.a)?;
        let b = self.storage_from("b", &ops.b)?;
        let c = self.storage_from("c", &ops.c)?;
        let aux = self.storage_from("aux", &ops.aux)?;
        let kernel = self.product_kernel(&shape, variant, [&a, &b, &c, &aux])?;
        let steps = self.product_step(&shape)?;
        let rows = shape.rows as u32;
        self.time_kernel(&kernel, &steps, rows, 1)?;
        timing(&|reps: usize| {
            Ok(self.time_kernel(&kernel, &steps, rows, reps.max(1))? / reps.max(1) as f64)
        })
    }

    /// Seconds for `reps` dispatches of `kernel` in one compute pass.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn time_kernel(
        &self,
        kernel: &Kernel,
        steps: &StepSlots,
        rows: u32,
        reps: usize,
    ) -> Result<f64> {
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
            for _ in 0..reps {
                kernel.record(self, &mut pass, steps, 0, rows)?;
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
                let tick =
                    |i: usize| words[i].to_bits() as u64 | (words[i + 1].to_bits() as u64) << 32;
                let ticks = tick(2).saturating_sub(tick(0));
                Ok(ticks as f64 * self.queue.get_timestamp_period() as f64 * 1e-9)
            }
        }
    }
}

/// The real timer: the product on this device, a few dispatches each, the
/// median of three passes.
#[cfg(not(target_arch = "wasm32"))]
impl ProductTimer for &GpuContext {
    fn seconds(&mut self, shape: &ProductShape, variant: MatmulVariant) -> Result<f64> {
        self.timing_product(*shape, Some(variant), |time| {
            // About 2 ms a pass, from a first dispatch's time.
            let once = time(1)?;
            let reps = ((2e-3 / once.max(1e-7)) as usize).clamp(1, 50);
            let mut times = [0.0; 3];
            for t in &mut times {
                *t = time(reps)?;
            }
            times.sort_by(f64::total_cmp);
            Ok(times[1])
        })
    }

    fn same_bits(&mut self, kind: MatmulKind, variant: MatmulVariant) -> Result<bool> {
        // One small, odd shape, over every tile edge of the smaller tiles.
        let shape = match kind {
            MatmulKind::Forward => ProductShape::forward(37, 20, 44, true),
            MatmulKind::HiddenDelta => ProductShape::hidden_delta(37, 20, 44),
            MatmulKind::SgdUpdate => ProductShape::sgd_update(37, 20, 44, true),
            MatmulKind::WeightGradient => ProductShape::weight_gradient(37, 20, 44, true),
        };
        let (m, n, _) = shape.dims();
        let fallback = MatmulVariant::fallback(m as u32, n as u32);
        let want = pollster::block_on(self.product_check(shape, Some(fallback), 11))?;
        let got = pollster::block_on(self.product_check(shape, Some(variant), 11))?;
        Ok(got.guards_intact && same_bits(&got.gpu, &want.gpu))
    }
}

#[cfg(target_arch = "wasm32")]
impl ProductTimer for &GpuContext {
    fn seconds(&mut self, _: &ProductShape, _: MatmulVariant) -> Result<f64> {
        Err(Error::Gpu("the browser does not time kernels".into()))
    }

    fn same_bits(&mut self, _: MatmulKind, _: MatmulVariant) -> Result<bool> {
        Err(Error::Gpu("the browser does not time kernels".into()))
    }
}

impl GpuContext {
    /// Time every variant that can run each of `shapes` on this device and
    /// report the fastest (what `neurona tune` prints). On a device that
    /// tunes (a hardware adapter, variants chosen automatically) the
    /// choices also go into its cache, for every later run.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn tune(&self, shapes: &[ProductShape]) -> Result<Vec<Tuned>> {
        let _gate = self.gate();
        let mut verified = HashMap::new();
        let mut timer = self;
        shapes
            .iter()
            .map(|shape| match &self.tuner {
                Some(tuner) => tuner.tune(shape, &self.limits, &mut timer),
                None => tune(
                    shape,
                    &candidates(shape, &self.limits),
                    &mut timer,
                    &mut verified,
                ),
            })
            .collect()
    }

    /// The variant `shape` runs in on this device: forced, tuned (timed
    /// now if neither remembered nor cached) or by the fixed rule, as a
    /// training run would pick it.
    pub fn variant_for(&self, shape: &ProductShape) -> MatmulVariant {
        let (m, n, k) = shape.dims();
        self.matmul_variant(shape.kind(), m as u32, n as u32, k as u32, shape.vec4())
    }

    /// Whether training on this device times variants for `shape`: a
    /// device that tunes ([`GpuContext::tunes`]), a product the vec4 family
    /// can run, and at least [`MIN_TUNED_FLOP`](crate::gpu::MIN_TUNED_FLOP)
    /// of work (smaller ones take the fixed rule, timing would cost more
    /// than it saves).
    pub fn tunes_product(&self, shape: &ProductShape) -> bool {
        self.tunes() && shape.vec4() && shape.flop() >= crate::gpu::MIN_TUNED_FLOP
    }

    /// How this device chooses matmul variants: per product
    /// ([`MatmulChoice::Auto`](crate::MatmulChoice::Auto)), or forced by [`GpuOptions::matmul`](crate::GpuOptions)
    /// or `NEURONA_MATMUL`.
    pub fn matmul_choice(&self) -> crate::MatmulChoice {
        self.matmul
    }

    /// Whether this device tunes matmul variants itself (a hardware adapter
    /// with [`MatmulChoice::Auto`](crate::MatmulChoice::Auto)); else the
    /// fixed rule or a forced variant decides.
    pub fn tunes(&self) -> bool {
        self.tuner.is_some()
    }
}
