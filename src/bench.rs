//! The benchmark: neurona against numpy (and its GPU path against its CPU
//! path), on fixed workloads measured side by side in one run. Behind
//! `neurona bench` and `cargo run --release --example benchmark`:
//!
//! ```text
//! neurona bench             # table
//! neurona bench --json      # one JSON object per row
//! neurona bench --gpu       # also a software GPU (llvmpipe)
//! neurona bench --cpu-w3    # W3 on the CPU too (slow)
//! ```
//!
//! - W0: the notebook, 3-4-1 sigmoid, no bias, batch 4, 10,000 steps:
//!   total time, median of 5 runs.
//! - W2: 784-512-512-10 sigmoid with bias, batch 1024, MSE, SGD lr 0.1,
//!   inputs uniform in [0, 1), one-hot targets, fixed seed: time per step,
//!   the median of 7 timings of (6 steps − 1 step) / 5, which leaves out
//!   set-up, upload and the final loss.
//! - W3: 4096-4096-4096-4096 sigmoid, batch 4096, per step; GPU-sized,
//!   skipped on the CPU unless `--cpu-w3`.
//! - K, H, U: one matrix product alone on random data, in every kernel
//!   variant that can run it, with matmul.wgsl (the fallback) beside them:
//!   K the forward product (`matmul_bias_act`), H the hidden delta, U the
//!   fused update; at 1024³ and 4096³ on a hardware adapter (H and U at
//!   4096³), at 256³ on a software one. The device's own choice (tuned,
//!   or the fixed rule) is marked.
//!
//! FLOPs count 2·M·N·K per product: the forward products, the weight
//! gradients, and the input gradients of every layer but the first. Where
//! `python3` with numpy runs, `benches/numpy_reference.py` (built into the
//! binary) times W0 and W2 in the same run and each row gives neurona's time
//! as a ratio of numpy's. The CPU rows take 3 rounds in turn with numpy
//! (numpy, then neurona) and show the median time and the median of the
//! rounds' ratios, so a shift in the machine's load between the two sides
//! does not decide the ratio.
//! A GPU row appears for a hardware adapter (or any adapter with `--gpu`;
//! a software one runs W0 only); GPU/CPU is the GPU's speed-up over
//! neurona's CPU path.

use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::gpu::{MatmulKind, ProductShape};
use crate::{
    Activation, Backend, Device, GpuContext, GpuOptions, Layer, MatmulVariant, Matrix, Network,
    Result, TrainConfig,
};

/// What to run beyond the default (every workload on the CPU, and on a
/// hardware GPU when there is one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also run on a software GPU adapter when no hardware one exists.
    pub gpu: bool,
    /// Run W3 on the CPU too.
    pub cpu_w3: bool,
}

/// One measured workload on one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `W0`, `W2`, `W3`, or a kernel row: `K`, `H` or `U` and its size
    /// (`K1024`).
    pub workload: &'static str,
    /// Kernel rows: the variant timed.
    pub variant: Option<String>,
    /// Kernel rows: the variant is the one this device chooses for the
    /// product (tuned, or by the fixed rule).
    pub chosen: bool,
    /// `CPU` or the adapter's name.
    pub device: String,
    /// `cpu`, `vulkan`, `metal`, ...
    pub backend: String,
    /// Milliseconds per `per`.
    pub ms: f64,
    /// `run` (W0), `step` or `kernel`.
    pub per: &'static str,
    /// Floating-point throughput.
    pub gflops: f64,
    /// The process's peak resident memory after the row, in MiB.
    pub peak_mib: f64,
    /// GPU rows: the CPU row's time over this one's.
    pub gpu_speedup: Option<f64>,
    /// This time over numpy's, where numpy ran.
    pub numpy_ratio: Option<f64>,
    /// Kernel rows: the fallback's time (matmul.wgsl) over this one's.
    pub vs_fallback: Option<f64>,
}

/// Whether numpy's side ran: (W0 ms in all, W2 ms per step).
pub type Numpy = Option<(f64, f64)>;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The process's peak resident memory so far, in MiB (Linux; 0 elsewhere).
pub(crate) fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// FLOPs of one training step (see the module docs).
fn step_flop(widths: &[usize], batch: usize) -> f64 {
    widths
        .windows(2)
        .enumerate()
        .map(|(l, w)| {
            let products = if l == 0 { 2.0 } else { 3.0 };
            products * 2.0 * batch as f64 * w[0] as f64 * w[1] as f64
        })
        .sum()
}

/// Sigmoid layers with weights uniform in [-0.05, 0.05) and zero bias, as
/// numpy's side starts (uniform [-1, 1) would saturate 784-wide sigmoids).
fn dense(widths: &[usize], seed: u64) -> Network {
    let mut builder = Network::builder(widths[0]).init(crate::Init::Uniform);
    for &w in &widths[1..] {
        builder = builder.layer(w, Activation::Sigmoid);
    }
    let net = builder.build(seed).expect("valid widths");
    let layers = net
        .layers()
        .iter()
        .map(|l| {
            let w = l.weights().iter().map(|v| v * 0.05).collect();
            Layer::new(
                l.inputs(),
                l.outputs(),
                l.activation(),
                w,
                Some(vec![0.0; l.outputs()]),
            )
        })
        .collect();
    Network::from_layers(layers).expect("same shapes")
}

fn data(rows: usize, inputs: usize, classes: usize, seed: u64) -> (Matrix, Matrix) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = (0..rows * inputs)
        .map(|_| rng.random_range(0.0..1.0))
        .collect();
    let mut y = vec![0.0; rows * classes];
    for r in 0..rows {
        y[r * classes + rng.random_range(0..classes)] = 1.0;
    }
    (
        Matrix::new(rows, inputs, x).unwrap(),
        Matrix::new(rows, classes, y).unwrap(),
    )
}

/// Milliseconds per step: median over `reps` of (6 steps − 1 step) / 5.
fn per_step_ms(device: &Device, widths: &[usize], batch: usize, reps: usize) -> Result<f64> {
    let (x, y) = data(batch, widths[0], *widths.last().unwrap(), 0);
    let mut net = dense(widths, 1);
    // Plain SGD on MSE over the full batch, as numpy's side computes it.
    let cfg = TrainConfig::new()
        .optimizer(crate::Optimizer::Sgd)
        .loss(crate::Loss::Mse)
        .order(crate::BatchOrder::InOrder)
        .full_batch()
        .learning_rate(0.1);
    let mut time = |epochs: usize| -> Result<Duration> {
        let t = Instant::now();
        net.train_on(device, &x, &y, &cfg.clone().epochs(epochs), |_| {})?;
        Ok(t.elapsed())
    };
    time(2)?; // warm-up
    let mut samples = Vec::new();
    for _ in 0..reps {
        let one = time(1)?;
        let six = time(6)?;
        samples.push((six.as_secs_f64() - one.as_secs_f64()) / 5.0 * 1e3);
    }
    Ok(median(samples))
}

fn w0_ms(device: &Device) -> Result<f64> {
    let (x, y) = crate::notebook::data();
    let mut samples = Vec::new();
    for _ in 0..5 {
        let mut net = crate::notebook::network();
        let t = Instant::now();
        net.train_on(
            device,
            &x,
            &y,
            &TrainConfig::notebook().report_every(0),
            |_| {},
        )?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(samples))
}

/// benches/numpy_reference.py, run with `python3 -` so an installed binary
/// needs no copy of the repository.
const NUMPY_SCRIPT: &str = include_str!("../benches/numpy_reference.py");

/// What python3 prints running `script` (given on stdin) with `args`;
/// `None` when python3 is missing or the script fails (a module it needs
/// is not installed).
pub(crate) fn python_stdout(script: &str, args: &[String]) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("python3")
        .arg("-")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(script.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The number after `"key": ` in a line of JSON the scripts print.
pub(crate) fn json_number(line: &str, key: &str) -> Option<f64> {
    let at = line.find(&format!("\"{key}\": "))? + key.len() + 4;
    line[at..].split([',', '}']).next()?.trim().parse().ok()
}

/// Run the numpy script; `None` when python3 or numpy is missing.
pub fn numpy() -> Numpy {
    let text = python_stdout(NUMPY_SCRIPT, &[])?;
    let field = |name: &str, key: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.contains(&format!("\"{name}\"")))?;
        json_number(line, key)
    };
    Some((field("W0", "ms_total")?, field("W2", "ms_per_step")?))
}

/// The GPU the benchmark runs on, if any: a hardware adapter, or with
/// `options.gpu` any adapter.
pub fn gpu_device(options: &Options) -> Result<Option<Device>> {
    Ok(if options.gpu {
        Device::gpu(&GpuOptions {
            allow_software: true,
            ..Default::default()
        })
        .ok()
    } else {
        Some(Device::new(Backend::Auto)?).filter(|d| d.gpu_context().is_some())
    })
}

/// Rounds of numpy and the CPU path taking turns (see [`run`]).
pub const PAIRED_ROUNDS: usize = 3;

/// Run every workload on the CPU and on `gpu`, with numpy's times for the
/// ratios (`numpy` is its first run; the CPU rows run it again for each of
/// their [`PAIRED_ROUNDS`]).
pub fn run(gpu: Option<&Device>, numpy: Numpy, options: &Options) -> Result<Vec<Row>> {
    let cpu = Device::new(Backend::Cpu)?;
    let mut rows: Vec<Row> = Vec::new();
    let mut devices = vec![("CPU".to_string(), "cpu".to_string(), &cpu)];
    if let Some(g) = gpu {
        let a = g.gpu_context().unwrap().adapter();
        devices.push((a.name.clone(), a.backend.to_lowercase(), g));
    }
    let w2 = [784, 512, 512, 10];
    let w3 = [4096, 4096, 4096, 4096];
    let mut cpu_ms = std::collections::HashMap::new();
    for (name, backend, device) in &devices {
        let is_gpu = device.gpu_context().is_some();
        let software = device.gpu_context().is_some_and(|c| c.adapter().software);
        let mut push = |workload, ms: f64, per, flop: f64, numpy_ratio: Option<f64>| {
            if !is_gpu {
                cpu_ms.insert(workload, ms);
            }
            rows.push(Row {
                workload,
                variant: None,
                chosen: false,
                vs_fallback: None,
                device: name.clone(),
                backend: backend.clone(),
                ms,
                per,
                gflops: flop / ms / 1e6,
                peak_mib: peak_rss_mib(),
                gpu_speedup: is_gpu
                    .then(|| cpu_ms.get(workload).map(|c| c / ms))
                    .flatten(),
                numpy_ratio,
            });
        };
        // The CPU path against numpy: rounds in turn (numpy, then neurona),
        // each ratio from times taken seconds apart, so a change in the
        // machine's load hits both sides alike; the row shows the medians.
        // Against a GPU row, numpy's first round.
        let rounds = if !is_gpu && numpy.is_some() {
            PAIRED_ROUNDS
        } else {
            1
        };
        let (mut w0, mut w2_ms, mut w0_ratio, mut w2_ratio) = (vec![], vec![], vec![], vec![]);
        for round in 0..rounds {
            let reference = if round == 0 { numpy } else { self::numpy() };
            let ours = w0_ms(device)?;
            w0.push(ours);
            w0_ratio.extend(reference.map(|n| ours / n.0));
            // A software adapter takes seconds per W2 step: W0 only there.
            if !software {
                let ours = per_step_ms(device, &w2, 1024, 7)?;
                w2_ms.push(ours);
                w2_ratio.extend(reference.map(|n| ours / n.1));
            }
        }
        let median_of = |v: Vec<f64>| (!v.is_empty()).then(|| median(v));
        push(
            "W0",
            median(w0),
            "run",
            10_000.0 * step_flop(&[3, 4, 1], 4),
            median_of(w0_ratio),
        );
        if !software {
            push(
                "W2",
                median(w2_ms),
                "step",
                step_flop(&w2, 1024),
                median_of(w2_ratio),
            );
        }
        if (is_gpu && !software) || options.cpu_w3 {
            push(
                "W3",
                per_step_ms(device, &w3, 4096, 5)?,
                "step",
                step_flop(&w3, 4096),
                None,
            );
        }
        if let Some(ctx) = device.gpu_context() {
            let mut kernels = kernel_rows(ctx)?;
            for r in &mut kernels {
                r.device = name.clone();
                r.backend = backend.clone();
            }
            rows.extend(kernels);
        }
    }

    Ok(rows)
}

/// The kernel rows of `ctx` (see the module's docs): each product in the
/// device's choice, the fallback, and every other variant that can run it.
pub fn kernel_rows(ctx: &GpuContext) -> Result<Vec<Row>> {
    let software = ctx.adapter().software;
    let sizes: &[(MatmulKind, usize, &'static str)] = if software {
        &[
            (MatmulKind::Forward, 256, "K256"),
            (MatmulKind::HiddenDelta, 256, "H256"),
            (MatmulKind::SgdUpdate, 256, "U256"),
        ]
    } else {
        &[
            (MatmulKind::Forward, 1024, "K1024"),
            (MatmulKind::Forward, 4096, "K4096"),
            (MatmulKind::HiddenDelta, 4096, "H4096"),
            (MatmulKind::SgdUpdate, 4096, "U4096"),
        ]
    };
    let mut rows = Vec::new();
    for &(kind, n, workload) in sizes {
        let shape = ProductShape::of_dims(kind, n, n, n);
        // About a fifth of a second of dispatches per row.
        let time = |v: Option<MatmulVariant>| -> Result<f64> {
            ctx.timing_product(shape, v, |time| {
                let once = time(1)?;
                let reps = ((0.2 / once.max(1e-6)) as usize).clamp(1, 20);
                Ok(time(reps)? * 1e3)
            })
        };
        let (m, n, k) = shape.dims();
        let chosen = ctx.matmul_variant(kind, m as u32, n as u32, k as u32, shape.vec4());
        let row = |variant: MatmulVariant, ms: f64, fallback_ms: f64| Row {
            workload,
            variant: Some(variant.to_string()),
            chosen: variant == chosen,
            device: String::new(),
            backend: String::new(),
            ms,
            per: "kernel",
            gflops: shape.flop() / ms / 1e6,
            peak_mib: peak_rss_mib(),
            gpu_speedup: None,
            numpy_ratio: None,
            vs_fallback: Some(fallback_ms / ms),
        };
        let all = crate::gpu::candidates(&shape, &ctx.limits);
        let fallback_ms = time(Some(all[0]))?;
        rows.push(row(all[0], fallback_ms, fallback_ms));
        for v in &all[1..] {
            rows.push(row(*v, time(Some(*v))?, fallback_ms));
        }
    }
    Ok(rows)
}

/// The first lines of the table: the devices, and whether numpy ran.
pub fn header(gpu: Option<&Device>, numpy: Numpy) -> String {
    format!(
        "CPU: {} threads; GPU: {}\nnumpy: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        gpu.map_or("none".to_string(), |g| g.to_string()),
        match numpy {
            Some(_) => "benches/numpy_reference.py ran in this run",
            None => "not available (python3 with numpy), no ratios",
        }
    )
}

/// One JSON object per row.
pub fn json(rows: &[Row]) -> String {
    let mut out = String::new();
    for r in rows {
        out += &format!(
            "{{\"workload\":\"{}\",\"variant\":{},\"chosen\":{},\"device\":{:?},\"backend\":\"{}\",\"ms_per_{}\":{:.4},\"gflops\":{:.2},\"peak_rss_mib\":{:.1},\"gpu_cpu_speedup\":{},\"vs_numpy\":{},\"vs_fallback\":{}}}",
            r.workload,
            r.variant
                .as_ref()
                .map_or("null".into(), |v| format!("{v:?}")),
            r.chosen,
            r.device,
            r.backend,
            r.per,
            r.ms,
            r.gflops,
            r.peak_mib,
            r.gpu_speedup.map_or("null".into(), |v| format!("{v:.3}")),
            r.numpy_ratio.map_or("null".into(), |v| format!("{v:.4}")),
            r.vs_fallback.map_or("null".into(), |v| format!("{v:.3}")),
        );
        out.push('\n');
    }
    out
}

/// The rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<6} {:<34} {:<7} {:>14} {:>10} {:>9} {:>8} {:>16}  kernel\n",
        "work", "device", "backend", "ms", "GFLOP/s", "peak MiB", "GPU/CPU", "time / numpy's"
    );
    for r in rows {
        out += &format!(
            "{:<6} {:<34} {:<7} {:>9.3}/{:<4} {:>10.2} {:>9.0} {:>8} {:>16}  {}\n",
            r.workload,
            r.device.chars().take(34).collect::<String>(),
            r.backend,
            r.ms,
            r.per,
            r.gflops,
            r.peak_mib,
            r.gpu_speedup.map_or("-".into(), |v| format!("{v:.2}x")),
            r.numpy_ratio
                .map_or("-".into(), |v| format!("{v:.3} ({:.1}x)", 1.0 / v)),
            match (&r.variant, r.vs_fallback) {
                (Some(v), Some(x)) => format!(
                    "{v}{} {x:.2}x matmul.wgsl",
                    if r.chosen { " (chosen)" } else { "" }
                ),
                _ => String::new(),
            },
        );
    }
    out
}
