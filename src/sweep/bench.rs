//! Workload S of the benchmark: many small networks at once. 256 members
//! of 2-16(relu)-16(relu)-1(sigmoid), BCE, on two moons (1,000 rows),
//! 200 epochs in shuffled batches of 32, Adam, member `i` with seed `i`
//! and learning rate `10^(−3 + 2 i / 255)` (0.001 to 0.1). Each row is the
//! time of all members, one run:
//!
//! - `S` on a GPU: the sweep, every member in the same dispatches;
//!   `S-seq` on a GPU: the same members trained one after another
//!   (`Network::train_on` each);
//! - `S` on the CPU: the sweep over the cores; `S-seq` on the CPU: one
//!   after another on one thread at a time;
//! - `S-torch` and `S-vmap`: `benches/torch_sweep.py` (built into the
//!   binary), when `python3` has torch: a loop of `nn.Sequential` models
//!   with `torch.optim.Adam`, and the members stacked with `torch.func`
//!   (`stack_module_state`, `vmap(grad(...))`, Adam on the stacked
//!   tensors).
//!
//! One-after-another rows may time only the first `sequential` members
//! (every member costs the same: only seeds and rates differ) and scale
//! to all; [`Options::sequential`] says how many. GPU rows' `gpu_speedup`
//! is the CPU sweep's time over theirs.

use std::time::Instant;

use crate::bench::{Row, json_number, peak_rss_mib, python_stdout};
use crate::problems::{Shape, two_d};
use crate::sweep::{Member, train_members};
use crate::{Activation, BatchOrder, Device, Matrix, Network, Optimizer, Result, TrainConfig};

/// What workload S runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Members (256).
    pub members: usize,
    /// Epochs each (200).
    pub epochs: usize,
    /// Members the one-after-another rows time, scaled to all (`None`:
    /// all of them).
    pub sequential: Option<usize>,
    /// Run `benches/torch_sweep.py` when python3 has torch.
    pub torch: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            members: 256,
            epochs: 200,
            sequential: None,
            torch: true,
        }
    }
}

/// The two moons of workload S: 1,000 rows, class 1 as a 0/1 column.
pub fn data() -> Result<(Matrix, Matrix)> {
    let moons = two_d(Shape::Moons, 1000, 0.1, 0)?;
    let y = (0..1000).map(|r| moons.targets.row(r)[1]).collect();
    Ok((moons.inputs, Matrix::new(1000, 1, y)?))
}

/// Member `i` of `n` of workload S, trained for `epochs` epochs.
pub fn member(i: usize, n: usize, epochs: usize) -> Result<Member> {
    let net = Network::builder(2)
        .layer(16, Activation::Relu)
        .layer(16, Activation::Relu)
        .layer(1, Activation::Sigmoid)
        .build(i as u64)?;
    let lr = 10f32.powf(-3.0 + 2.0 * i as f32 / (n.max(2) - 1) as f32);
    let config = TrainConfig::new()
        .optimizer(Optimizer::adam())
        .learning_rate(lr)
        .epochs(epochs)
        .batch_size(32)
        .order(BatchOrder::Shuffled { seed: i as u64 });
    Member::new(net, config)
}

/// FLOPs of one member's run: 2·M·N·K per product, the forward products,
/// the weight gradients, and the input gradients of every layer but the
/// first, per step.
fn run_flop(epochs: usize) -> f64 {
    let widths = [2usize, 16, 16, 1];
    let per_step: f64 = widths
        .windows(2)
        .enumerate()
        .map(|(l, w)| {
            let products = if l == 0 { 2.0 } else { 3.0 };
            products * 2.0 * 32.0 * w[0] as f64 * w[1] as f64
        })
        .sum();
    per_step * 1000usize.div_ceil(32) as f64 * epochs as f64
}

/// The sweep on `device` in one run, in milliseconds.
fn sweep_ms(device: &Device, x: &Matrix, y: &Matrix, options: &Options) -> Result<f64> {
    let mut members = (0..options.members)
        .map(|i| member(i, options.members, options.epochs))
        .collect::<Result<Vec<_>>>()?;
    let t = Instant::now();
    for report in train_members(device, x, y, &mut members, &())? {
        report?;
    }
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

/// The members one after another on `device`, in milliseconds for all
/// (the first `options.sequential` timed, scaled).
fn one_after_another_ms(device: &Device, x: &Matrix, y: &Matrix, options: &Options) -> Result<f64> {
    let timed = options
        .sequential
        .unwrap_or(options.members)
        .clamp(1, options.members);
    let t = Instant::now();
    for i in 0..timed {
        let mut m = member(i, options.members, options.epochs)?;
        m.network.train_on(device, x, y, &m.config, |_| {})?;
    }
    Ok(t.elapsed().as_secs_f64() * 1e3 * options.members as f64 / timed as f64)
}

/// benches/torch_sweep.py, run with `python3 -` so an installed binary
/// needs no copy of the repository.
const TORCH_SCRIPT: &str = include_str!("../../benches/torch_sweep.py");

/// The PyTorch loop's and stacked version's milliseconds for all members;
/// `None` when python3 or torch is missing.
pub fn torch(options: &Options) -> Option<(f64, Option<f64>)> {
    let timed = options
        .sequential
        .unwrap_or(options.members)
        .clamp(1, options.members);
    let args = [options.members, options.epochs, timed].map(|v| v.to_string());
    let text = python_stdout(TORCH_SCRIPT, &args)?;
    Some((
        json_number(&text, "loop_ms")?,
        json_number(&text, "stacked_ms"),
    ))
}

/// Workload S's rows: on `gpu` (if any) the sweep and one after another,
/// on the CPU the same, and PyTorch's where it runs.
pub fn rows(gpu: Option<&Device>, options: &Options) -> Result<Vec<Row>> {
    let (x, y) = data()?;
    let flop = run_flop(options.epochs) * options.members as f64;
    let cpu = Device::new(crate::Backend::Cpu)?;
    let row = |workload: &'static str, device: String, backend: String, ms: f64| Row {
        workload,
        device,
        backend,
        ms,
        per: "run",
        gflops: flop / ms / 1e6,
        peak_mib: peak_rss_mib(),
        gpu_speedup: None,
        numpy_ratio: None,
        variant: None,
        chosen: false,
        vs_fallback: None,
    };
    let mut rows = Vec::new();
    let cpu_sweep = sweep_ms(&cpu, &x, &y, options)?;
    rows.push(row("S", "CPU".into(), "cpu".into(), cpu_sweep));
    let cpu_seq = one_after_another_ms(&cpu, &x, &y, options)?;
    rows.push(row("S-seq", "CPU".into(), "cpu".into(), cpu_seq));
    if let Some(g) = gpu {
        let a = g.gpu_context().expect("a GPU device").adapter();
        let (name, backend) = (a.name.clone(), a.backend.to_lowercase());
        for (workload, ms) in [
            ("S", sweep_ms(g, &x, &y, options)?),
            ("S-seq", one_after_another_ms(g, &x, &y, options)?),
        ] {
            let mut r = row(workload, name.clone(), backend.clone(), ms);
            r.gpu_speedup = Some(cpu_sweep / ms);
            rows.push(r);
        }
    }
    if options.torch
        && let Some((looped, stacked)) = torch(options)
    {
        rows.push(row("S-torch", "PyTorch CPU".into(), "torch".into(), looped));
        if let Some(ms) = stacked {
            rows.push(row("S-vmap", "PyTorch CPU".into(), "torch".into(), ms));
        }
    }
    Ok(rows)
}

/// Workload S2's rows ([`s2_rows`]), and on a GPU the kernel dispatches
/// a step of the sweep and of one network made.
pub struct S2 {
    /// `S2` and `S2-one`.
    pub rows: Vec<Row>,
    /// Dispatches per step: the sweep's, one network's.
    pub dispatches: Option<(f64, f64)>,
}

/// Workload S2: `members` networks 784-256(relu)-10(softmax), cross-entropy,
/// different seeds, trained `steps` steps each in batches of 256 on random
/// rows (seeded: the time of a step does not depend on the values). Rows:
/// `S2` the sweep of all members, `S2-one` one member alone, both in
/// milliseconds per step. The issue asks a step of 16 members to cost at
/// most 4 times a step of one on a GPU. The members are one stack: each
/// kernel of a step covers all of them in one dispatch, so a step costs
/// the dispatches of one network and `members` times its arithmetic (on a
/// software adapter, where the arithmetic is all, about `members` times).
pub fn s2_rows(device: &Device, members: usize, steps: usize) -> Result<S2> {
    let (rows, batch) = (256 * steps.max(1), 256);
    let mut random = crate::random::Stream::new(784);
    let x = Matrix::new(
        rows,
        784,
        (0..rows * 784).map(|_| random.uniform_pm1()).collect(),
    )?;
    let y = Matrix::new(
        rows,
        10,
        (0..rows)
            .flat_map(|_| {
                let class = random.below(10) as usize;
                (0..10).map(move |j| if j == class { 1.0 } else { 0.0 })
            })
            .collect(),
    )?;
    let member = |seed: u64| -> Result<Member> {
        let net = Network::builder(784)
            .layer(256, Activation::Relu)
            .layer(10, Activation::Softmax)
            .build(seed)?;
        let config = TrainConfig::new()
            .optimizer(Optimizer::adam())
            .loss(crate::Loss::CrossEntropy)
            .learning_rate(0.001)
            .epochs(1)
            .batch_size(batch)
            .order(BatchOrder::Shuffled { seed });
        Member::new(net, config)
    };
    let per_step = 6.0 * batch as f64 * (784.0 * 256.0 + 256.0 * 10.0);
    let (name, backend) = match device.gpu_context() {
        Some(ctx) => (
            ctx.adapter().name.clone(),
            ctx.adapter().backend.to_lowercase(),
        ),
        None => ("CPU".to_string(), "cpu".to_string()),
    };
    let dispatched = || device.gpu_context().map_or(0, |c| c.dispatches());
    let time = |n: usize| -> Result<(f64, f64)> {
        let mut all = (0..n as u64).map(member).collect::<Result<Vec<_>>>()?;
        let (t, d) = (Instant::now(), dispatched());
        for report in train_members(device, &x, &y, &mut all, &())? {
            report?;
        }
        let per = steps.max(1) as f64;
        Ok((
            t.elapsed().as_secs_f64() * 1e3 / per,
            (dispatched() - d) as f64 / per,
        ))
    };
    // One member first, untimed: its run builds the pipelines both use.
    time(1)?;
    let (one, one_d) = time(1)?;
    let (all, all_d) = time(members)?;
    let dispatches = device.gpu_context().map(|_| (all_d, one_d));
    let rows = [("S2", all, members), ("S2-one", one, 1)]
        .into_iter()
        .map(|(workload, ms, n)| Row {
            workload,
            device: name.clone(),
            backend: backend.clone(),
            ms,
            per: "step",
            gflops: per_step * n as f64 / ms / 1e6,
            peak_mib: peak_rss_mib(),
            gpu_speedup: None,
            numpy_ratio: None,
            variant: None,
            chosen: false,
            vs_fallback: None,
        })
        .collect();
    Ok(S2 { rows, dispatches })
}
