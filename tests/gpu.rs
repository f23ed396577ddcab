//! Every GPU kernel against its CPU twin, and whole GPU runs against the CPU.
//!
//! These run the WGSL kernels for real: on a machine without a GPU, on Mesa's
//! software Vulkan driver (`apt-get install mesa-vulkan-drivers`). With no
//! adapter at all each test prints that it skipped the GPU, and fails when
//! `CI=true`, so CI can never pass without running them.
//!
//! The kernel parity bodies are in tests/parity.rs (shared with the
//! browser tests, with their tolerances); whole runs here agree with the
//! CPU within 1e-4 absolute + 1e-4 relative on the weights after many
//! steps, where rounding differences compound (see each test).

use pollster::block_on;
use std::sync::OnceLock;

use crate::common::{announce, assert_close, gpu, notebook_data, notebook_network, random_matrix};
use crate::parity::{self, ATOL, RTOL, SHAPES, widen};
use neurona::cpu;
use neurona::gpu::{MatmulKind, MatmulVariant, ProductShape, VEC4_TILES};
use neurona::{
    Activation, Backend, BatchOrder, Device, Error, GpuContext, GpuOptions, Loss, MATMUL_VARIANTS,
    MatmulChoice, Matrix, Network, SigmoidDerivative, TrainConfig,
};

fn ctx() -> Option<&'static GpuContext> {
    gpu().and_then(|d| d.gpu_context())
}

/// A device that allows only 4 workgroups per grid dimension, so every grid
/// below is folded the way a layer with millions of rows is on a real GPU.
fn folded() -> Option<&'static GpuContext> {
    static DEVICE: OnceLock<Option<GpuContext>> = OnceLock::new();
    gpu()?;
    DEVICE
        .get_or_init(|| {
            let options = GpuOptions {
                allow_software: true,
                max_workgroups_per_dimension: Some(4),
                ..Default::default()
            };
            Some(GpuContext::new(&options).expect("second device on the same adapter"))
        })
        .as_ref()
}

fn check_forward(ctx: &GpuContext, label: &str) {
    block_on(parity::forward(ctx, label));
}

#[test]
fn forward_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    check_forward(ctx, "");
}

#[test]
fn hidden_delta_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    block_on(parity::hidden_delta(ctx));
}

fn check_update(ctx: &GpuContext, label: &str) {
    block_on(parity::sgd_update(ctx, label));
}

#[test]
fn sgd_update_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    check_update(ctx, "");
}

#[test]
fn output_delta_and_loss_match_cpu() {
    let Some(ctx) = ctx() else { return };
    block_on(parity::output_delta_and_loss(ctx));
}

#[test]
fn output_activation_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    block_on(parity::output_activation(ctx));
}

#[test]
fn weight_gradient_matches_cpu() {
    let Some(ctx) = ctx() else { return };
    block_on(parity::weight_gradient(ctx));
}

#[test]
fn optimizer_kernel_matches_cpu_over_several_steps() {
    let Some(ctx) = ctx() else { return };
    block_on(parity::optimizer_update(ctx));
}

/// A 3-class softmax net with a relu and a tanh layer on 97 rows of
/// one-hot targets.
fn classifier() -> (Network, Matrix, Matrix) {
    let net = Network::builder(6)
        .layer(70, Activation::Relu)
        .layer(17, Activation::Tanh)
        .layer(3, Activation::Softmax)
        .init(neurona::Init::Auto)
        .build(9)
        .unwrap();
    let x = Matrix::new(97, 6, random_matrix(21, 97, 6, -1.0, 1.0)).unwrap();
    let mut y = vec![0.0f32; 97 * 3];
    for (r, row) in x.as_slice().chunks_exact(6).enumerate() {
        let class = if row[0] + row[1] > 0.5 {
            2
        } else if row[2] > 0.0 {
            1
        } else {
            0
        };
        y[r * 3 + class] = 1.0;
    }
    (net, x, Matrix::new(97, 3, y).unwrap())
}

#[test]
fn every_optimizer_trains_on_the_gpu_like_the_cpu() {
    use neurona::{Optimizer, Schedule};
    let Some(device) = gpu() else { return };
    let (net, x, y) = classifier();
    let base = crate::common::plain()
        .loss(Loss::CrossEntropy)
        .batch_size(32)
        .order(BatchOrder::Shuffled { seed: 3 })
        .epochs(5);
    let configs = [
        base.clone().learning_rate(0.1).weight_decay(1e-3),
        base.clone()
            .optimizer(Optimizer::momentum(0.9))
            .learning_rate(0.05)
            .schedule(Schedule::Step {
                every: 4,
                factor: 0.5,
            }),
        base.clone()
            .optimizer(Optimizer::nesterov(0.9))
            .learning_rate(0.05),
        base.clone()
            .optimizer(Optimizer::adam())
            .learning_rate(0.01)
            .weight_decay(1e-4)
            .schedule(Schedule::Cosine {
                steps: 15,
                floor: 0.1,
            }),
    ];
    for cfg in configs {
        let name = format!("{} {:?}", cfg.optimizer.name(), cfg.schedule);
        let (mut on_cpu, mut on_gpu) = (net.clone(), net.clone());
        let c = on_cpu.train(&x, &y, &cfg).unwrap();
        let g = on_gpu.train_on(device, &x, &y, &cfg, |_| {}).unwrap();
        assert_networks_close(&name, &on_gpu, &on_cpu, 1e-4);
        assert!(
            (c.final_loss - g.final_loss).abs() <= 1e-4 * c.final_loss,
            "{name}: final loss CPU {} GPU {}",
            c.final_loss,
            g.final_loss
        );
        assert!(
            c.final_loss < 1.0,
            "{name}: did not learn, loss {}",
            c.final_loss
        );
    }
}

#[test]
fn resuming_on_the_gpu_gives_the_uninterrupted_run() {
    use neurona::{Optimizer, OptimizerState};
    let Some(device) = gpu() else { return };
    let (net, x, y) = classifier();
    let cfg = crate::common::plain()
        .loss(Loss::CrossEntropy)
        .optimizer(Optimizer::adam())
        .learning_rate(0.01)
        .batch_size(40)
        .order(BatchOrder::Shuffled { seed: 5 })
        .epochs(6);
    let mut whole = net.clone();
    let mut whole_state = OptimizerState::new(&whole, cfg.optimizer).unwrap();
    whole
        .resume_on(device, &x, &y, &cfg, &mut whole_state, |_| {})
        .unwrap();
    let mut parts = net.clone();
    let mut state = OptimizerState::new(&parts, cfg.optimizer).unwrap();
    let half = cfg.clone().epochs(3);
    parts
        .resume_on(device, &x, &y, &half, &mut state, |_| {})
        .unwrap();
    parts
        .resume_on(device, &x, &y, &half, &mut state, |_| {})
        .unwrap();
    assert!(same_bits(&whole, &parts), "resumed GPU run differs");
    assert_eq!(state, whole_state);
    assert_eq!(state.steps, 18);
    assert_eq!(state.epochs, 6);
}

#[test]
fn gather_takes_the_rows_asked_for() {
    let Some(ctx) = ctx() else { return };
    block_on(parity::gather(ctx));
}

#[test]
fn folded_grids_give_the_same_results() {
    // Only 4 workgroups per dimension: a 129x97 output needs 6 large tiles,
    // a 2x300 one 19 small tiles, folded into y.
    let Some(ctx) = folded() else { return };
    assert_eq!(ctx.limits().2, 4);
    check_forward(ctx, "folded");
    check_update(ctx, "folded");
    let y_hat = random_matrix(5, 3000, 1, 0.0, 1.0);
    let y = random_matrix(6, 3000, 1, 0.0, 1.0);
    let got = block_on(ctx.output_delta(
        &y_hat,
        &y,
        Loss::Mse,
        Activation::Identity,
        SigmoidDerivative::Exact,
        3000,
        1,
    ))
    .unwrap();
    let want: Vec<f64> = y_hat.iter().zip(&y).map(|(p, t)| (p - t) as f64).collect();
    assert_close("folded output_delta (12 groups)", &got, &want, 0.0, 0.0);
}

#[test]
fn more_than_65535_workgroups_in_one_dimension() {
    // 16,777,500 elements at 256 per workgroup: 65,537 workgroups, more
    // than one dimension of the default limit holds, on the real limit.
    let Some(ctx) = ctx() else { return };
    let (rows, n) = (5_592_500, 3);
    let y_hat: Vec<f32> = (0..rows * n).map(|i| (i % 1000) as f32 * 1e-3).collect();
    let y: Vec<f32> = (0..rows * n).map(|i| (i % 7) as f32).collect();
    let got = block_on(ctx.output_delta(
        &y_hat,
        &y,
        Loss::Mse,
        Activation::Identity,
        SigmoidDerivative::Exact,
        rows,
        n,
    ))
    .unwrap();
    let bad = got
        .iter()
        .zip(y_hat.iter().zip(&y))
        .position(|(g, (p, t))| *g != p - t);
    assert_eq!(bad, None, "first wrong element");
}

#[test]
fn matmul_past_65535_workgroups_in_one_dimension() {
    // 1,048,581 rows in 16-row tiles: 65,537 workgroups, on the real limit.
    let Some(ctx) = ctx() else { return };
    let (rows, n_in, n_out) = (65_536 * 16 + 5, 3, 1);
    let x = random_matrix(9, rows, n_in, -1.0, 1.0);
    let w = [0.5, -0.25, 0.125];
    let b = [0.1];
    let got =
        block_on(ctx.matmul_bias_act(&x, &w, Some(&b), Activation::Sigmoid, rows, n_in, n_out))
            .unwrap();
    let mut want = vec![0.0; rows];
    cpu::matmul_bias_act(
        &x,
        &w,
        Some(&b),
        Activation::Sigmoid,
        &mut want,
        rows,
        n_in,
        n_out,
    );
    assert_close("forward, 65,537 tiles", &got, &widen(&want), 1e-6, 1e-6);
}

fn same_bits(a: &Network, b: &Network) -> bool {
    let bits = |n: &Network| -> Vec<u32> {
        n.layers()
            .iter()
            .flat_map(|l| {
                l.weights()
                    .iter()
                    .chain(l.bias().unwrap_or(&[]))
                    .map(|v| v.to_bits())
            })
            .collect()
    };
    bits(a) == bits(b)
}

fn assert_networks_close(name: &str, got: &Network, want: &Network, tol: f64) {
    for (l, (g, w)) in got.layers().iter().zip(want.layers()).enumerate() {
        assert_close(
            &format!("{name} layer {} W", l + 1),
            g.weights(),
            &widen(w.weights()),
            tol,
            tol,
        );
        if let (Some(gb), Some(wb)) = (g.bias(), w.bias()) {
            assert_close(
                &format!("{name} layer {} b", l + 1),
                gb,
                &widen(wb),
                tol,
                tol,
            );
        }
    }
}

#[test]
fn notebook_on_the_gpu_matches_the_cpu() {
    let Some(device) = gpu() else { return };
    let (x, y) = notebook_data();
    let cfg = TrainConfig::notebook();
    let mut on_cpu = notebook_network();
    let cpu_report = on_cpu.train(&x, &y, &cfg).unwrap();
    let mut on_gpu = notebook_network();
    let mut seen = Vec::new();
    let gpu_report = on_gpu
        .train_on(device, &x, &y, &cfg, |p| seen.push(p.step))
        .unwrap();
    // 10,000 steps with learning rate 1 compound rounding differences.
    assert_networks_close("notebook", &on_gpu, &on_cpu, 1e-4);
    assert_eq!(seen, (0..10).map(|i| i * 1000).collect::<Vec<_>>());
    assert_eq!(gpu_report.steps, cpu_report.steps);
    for (g, c) in gpu_report.history.iter().zip(&cpu_report.history) {
        assert!(
            (g.loss - c.loss).abs() <= 1e-6 + 1e-3 * c.loss,
            "{g:?} vs {c:?}"
        );
    }
    let p = on_gpu.predict(&x).unwrap();
    let rounded: Vec<f32> = p.as_slice().iter().map(|v| v.round()).collect();
    assert_eq!(rounded, [0.0, 1.0, 1.0, 0.0]);
}

/// A device that records every step as separate dispatches, even for
/// networks small enough for train_small.wgsl.
fn per_step() -> Option<&'static Device> {
    static DEVICE: OnceLock<Option<Device>> = OnceLock::new();
    gpu()?;
    DEVICE
        .get_or_init(|| {
            let options = GpuOptions {
                allow_software: true,
                per_step_dispatches: true,
                ..Default::default()
            };
            Some(Device::gpu(&options).expect("second device on the same adapter"))
        })
        .as_ref()
}

#[test]
fn many_steps_in_one_dispatch_match_per_step_dispatches_and_the_cpu() {
    // train_small.wgsl sums in the same order as the per-step kernels, so
    // the two GPU paths agree to the bit; against the CPU, to rounding.
    let (Some(fused), Some(separate)) = (gpu(), per_step()) else {
        return;
    };
    let net = Network::builder(5)
        .layer(9, Activation::Tanh)
        .layer_without_bias(6, Activation::Relu)
        .layer(2, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(4)
        .unwrap();
    let x = Matrix::new(37, 5, random_matrix(11, 37, 5, -1.0, 1.0)).unwrap();
    let y = Matrix::new(37, 2, random_matrix(12, 37, 2, 0.0, 1.0)).unwrap();
    let configs = [
        crate::common::plain()
            .learning_rate(0.3)
            .batch_size(8)
            .order(BatchOrder::Shuffled { seed: 2 })
            .loss(Loss::Bce)
            .epochs(30),
        TrainConfig::notebook()
            .epochs(700)
            .sigmoid_derivative(SigmoidDerivative::NotebookOneMinusS)
            .learning_rate(0.05),
    ];
    for cfg in configs {
        let mut a = net.clone();
        let mut b = net.clone();
        let mut c = net.clone();
        let ra = a.train_on(fused, &x, &y, &cfg, |_| {}).unwrap();
        let rb = b.train_on(separate, &x, &y, &cfg, |_| {}).unwrap();
        c.train(&x, &y, &cfg).unwrap();
        assert!(same_bits(&a, &b), "fused and per-step GPU runs differ");
        assert_networks_close("fused vs CPU", &a, &c, 1e-4);
        assert_eq!(ra.steps, rb.steps);
        assert!((ra.final_loss - rb.final_loss).abs() <= 1e-6 * rb.final_loss.abs());
    }
}

/// A net with three hidden layers (relu, sigmoid, relu), widths that cross
/// the 64 tile, 150 rows in shuffled batches of 64 (the last one 22 rows).
fn deep() -> (Network, Matrix, Matrix, TrainConfig) {
    let net = Network::builder(13)
        .layer(70, Activation::Relu)
        .layer(33, Activation::Sigmoid)
        .layer(65, Activation::Relu)
        .layer(3, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(5)
        .unwrap();
    let x = Matrix::new(150, 13, random_matrix(1, 150, 13, -1.0, 1.0)).unwrap();
    let y = Matrix::new(150, 3, random_matrix(2, 150, 3, 0.0, 1.0)).unwrap();
    let cfg = crate::common::plain()
        .learning_rate(0.2)
        .batch_size(64)
        .order(BatchOrder::Shuffled { seed: 8 })
        .loss(Loss::Bce)
        .epochs(4);
    (net, x, y, cfg)
}

#[test]
fn deep_network_on_mini_batches_matches_the_cpu() {
    let Some(device) = gpu() else { return };
    let (net, x, y, cfg) = deep();
    let mut on_cpu = net.clone();
    let cpu_report = on_cpu.train(&x, &y, &cfg).unwrap();
    let mut on_gpu = net.clone();
    let gpu_report = on_gpu.train_on(device, &x, &y, &cfg, |_| {}).unwrap();
    assert_eq!(gpu_report.steps, 12);
    assert_networks_close("deep", &on_gpu, &on_cpu, 1e-4);
    assert!((gpu_report.final_loss - cpu_report.final_loss).abs() < 1e-5);
    assert!(!same_bits(&on_gpu, &net), "training changed nothing");
}

#[test]
fn the_same_gpu_run_twice_is_bit_identical() {
    let Some(device) = gpu() else { return };
    let (net, x, y, cfg) = deep();
    let mut a = net.clone();
    let mut b = net.clone();
    let ra = a
        .train_on(device, &x, &y, &cfg.clone().report_every(1), |_| {})
        .unwrap();
    let rb = b
        .train_on(device, &x, &y, &cfg.report_every(1), |_| {})
        .unwrap();
    assert!(same_bits(&a, &b));
    let losses = |r: &neurona::TrainReport| {
        r.history
            .iter()
            .map(|p| p.loss.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&ra), losses(&rb));
}

#[test]
fn divergence_on_the_gpu_rolls_back_like_the_cpu() {
    let Some(device) = gpu() else { return };
    let (x, y) = notebook_data();
    let start = Network::builder(3)
        .layer(4, Activation::Identity)
        .layer(1, Activation::Identity)
        .init(neurona::Init::Uniform)
        .build(2)
        .unwrap();
    let cfg = crate::common::plain().learning_rate(1e6).epochs(1000);
    let mut on_cpu = start.clone();
    let cpu_err = on_cpu.train(&x, &y, &cfg).unwrap_err();
    let mut on_gpu = start.clone();
    let gpu_err = on_gpu.train_on(device, &x, &y, &cfg, |_| {}).unwrap_err();
    let (Error::Diverged { step: cs, .. }, Error::Diverged { step: gs, .. }) = (&cpu_err, &gpu_err)
    else {
        panic!("expected divergence on both, got {cpu_err} and {gpu_err}");
    };
    assert_eq!(cs, gs);
    assert_networks_close("rolled back", &on_gpu, &on_cpu, 1e-3);
}

#[test]
fn too_large_for_the_gpu_is_an_error_naming_the_limit() {
    let Some(device) = gpu() else { return };
    let (_, max_binding, _) = device.gpu_context().unwrap().limits();
    // A batch of activations one float wider than the largest binding.
    let width = 8;
    let rows = (max_binding / 4 / width as u64 + 1) as usize;
    let mut net = Network::builder(1)
        .layer(width, Activation::Relu)
        .init(neurona::Init::Uniform)
        .build(1)
        .unwrap();
    let x = Matrix::new(rows, 1, vec![0.5; rows]).unwrap();
    let y = Matrix::new(rows, width, vec![0.0; rows * width]).unwrap();
    let err = net
        .train_on(device, &x, &y, &crate::common::plain(), |_| {})
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("max_storage_buffer_binding_size"), "{msg}");
    assert!(msg.contains(&max_binding.to_string()), "{msg}");
}

#[test]
fn backend_choice() {
    assert_eq!("GPU".parse::<Backend>().unwrap(), Backend::Gpu);
    assert_eq!(" cpu ".parse::<Backend>().unwrap(), Backend::Cpu);
    let err = "tpu".parse::<Backend>().unwrap_err().to_string();
    assert!(
        err.contains("unknown backend \"tpu\": use cpu, gpu or auto"),
        "{err}"
    );
    let cpu = Device::new(Backend::Cpu).unwrap();
    assert!(cpu.gpu_context().is_none());
    // Auto never takes a software adapter; it says why it fell back.
    let auto = Device::new(Backend::Auto).unwrap();
    match auto.gpu_context() {
        Some(ctx) => assert!(!ctx.adapter().software),
        None => assert!(!auto.reason().is_empty(), "{auto}"),
    }
    announce(&format!("Backend::Auto here: {auto}"));
}

#[test]
fn divergence_under_an_optimizer_rolls_back_weights_and_state() {
    // Momentum runs the gradient + optimizer kernels and keeps state on the
    // GPU: a diverged run must leave both as `step` good steps leave them.
    use neurona::{Optimizer, OptimizerState};
    let Some(device) = gpu() else { return };
    let cpu = Device::new(Backend::Cpu).unwrap();
    let (x, y) = notebook_data();
    let start = Network::builder(3)
        .layer(4, Activation::Identity)
        .layer(1, Activation::Identity)
        .init(neurona::Init::Uniform)
        .build(2)
        .unwrap();
    let cfg = crate::common::plain()
        .optimizer(Optimizer::momentum(0.9))
        .weight_decay(0.01)
        .learning_rate(1e5)
        .epochs(1000);
    let mut results = Vec::new();
    for d in [&cpu, device] {
        let mut net = start.clone();
        let mut state = OptimizerState::new(&net, cfg.optimizer).unwrap();
        let err = net
            .resume_on(d, &x, &y, &cfg, &mut state, |_| {})
            .unwrap_err();
        let Error::Diverged { step, .. } = err else {
            panic!("expected divergence, got {err}");
        };
        // Replaying exactly `step` steps gives the same network and state.
        let mut replay = start.clone();
        let mut replay_state = OptimizerState::new(&replay, cfg.optimizer).unwrap();
        replay
            .resume_on(
                d,
                &x,
                &y,
                &cfg.clone().epochs(step),
                &mut replay_state,
                |_| {},
            )
            .unwrap();
        assert!(same_bits(&net, &replay), "{d}: weights not rolled back");
        assert_eq!(state, replay_state, "{d}: optimizer state not rolled back");
        assert_eq!(state.steps, step as u64);
        results.push((step, net));
    }
    assert_eq!(
        results[0].0, results[1].0,
        "CPU and GPU diverge at the same step"
    );
    assert_networks_close("rolled back", &results[1].1, &results[0].1, 1e-3);
}

#[test]
fn kernels_are_timed_by_gpu_timestamps_where_the_adapter_has_them() {
    // No speed is asserted (timings live in the benchmark): only that the
    // timing path runs and gives a time.
    let Some(ctx) = ctx() else { return };
    announce(&format!(
        "timestamps on {}: {}",
        ctx.adapter(),
        ctx.has_timestamps()
    ));
    let seconds = ctx.time_forward(67, 130, 65, 3).unwrap();
    assert!(
        seconds.is_finite() && seconds > 0.0,
        "time_forward gave {seconds}"
    );
}

/// A device on GL (Mesa's llvmpipe through EGL on a machine without a GPU),
/// where wgpu guards the driver's one context with a lock that panics after
/// 6 seconds: what a fresh machine without a Vulkan driver has.
fn gl_options() -> GpuOptions {
    GpuOptions {
        allow_software: true,
        api: Some(neurona::GraphicsApi::Gl),
        ..Default::default()
    }
}

fn gl() -> Option<&'static Device> {
    static DEVICE: OnceLock<Option<Device>> = OnceLock::new();
    DEVICE
        .get_or_init(|| match Device::gpu(&gl_options()) {
            Ok(d) => {
                announce(&format!("GL tests run on {d}"));
                Some(d)
            }
            Err(e) => {
                announce(&format!("!!! GL tests SKIPPED, they did not run: {e}"));
                None
            }
        })
        .as_ref()
        .or_else(|| {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no GL adapter (Mesa's libegl1 and libgl1-mesa-dri give one)"
            );
            None
        })
}

/// Forward products and a short run on `device`: GPU work that compiles
/// pipelines and waits for the device.
fn some_gpu_work(device: &Device) {
    let ctx = device.gpu_context().expect("a GPU device");
    let (rows, n_in, n_out) = (37, 53, 29);
    let x = random_matrix(1, rows, n_in, -1.0, 1.0);
    let w = random_matrix(2, n_in, n_out, -1.0, 1.0);
    let mut want = vec![0.0; rows * n_out];
    cpu::matmul_bias_act(&x, &w, None, Activation::Tanh, &mut want, rows, n_in, n_out);
    let got =
        block_on(ctx.matmul_bias_act(&x, &w, None, Activation::Tanh, rows, n_in, n_out)).unwrap();
    assert_close("forward from a thread", &got, &widen(&want), ATOL, RTOL);
    let (net, x, y, cfg) = deep();
    let mut on_gpu = net.clone();
    on_gpu.train_on(device, &x, &y, &cfg, |_| {}).unwrap();
    assert!(!same_bits(&on_gpu, &net), "training changed nothing");
}

#[test]
fn threads_sharing_a_device_and_second_devices_never_panic() {
    // Each adapter kind this machine has: the default GPU device, and GL.
    let devices: Vec<(&'static Device, GpuOptions)> = [
        gpu().map(|d| {
            (
                d,
                GpuOptions {
                    allow_software: true,
                    ..Default::default()
                },
            )
        }),
        gl().map(|d| (d, gl_options())),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (shared, options) in devices {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|i| {
                    let options = options.clone();
                    s.spawn(move || {
                        if i % 2 == 0 {
                            some_gpu_work(shared);
                        } else {
                            // A second device on the same adapter.
                            let own = Device::gpu(&options).expect("a second device");
                            some_gpu_work(&own);
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().expect("a thread using the GPU panicked");
            }
        });
    }
}

/// Every matmul product of the parity shapes on `ctx`: forward, hidden
/// delta, SGD update and weight gradient, in that order.
fn matmul_outputs(ctx: &GpuContext) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for (seed, &(rows, n_in, n_out)) in SHAPES.iter().enumerate() {
        let seed = seed as u64;
        let a = random_matrix(seed, rows, n_in, -1.0, 1.0);
        let w = random_matrix(10 + seed, n_in, n_out, -1.0, 1.0);
        let b = random_matrix(20 + seed, 1, n_out, -1.0, 1.0);
        let d = random_matrix(30 + seed, rows, n_out, -1.0, 1.0);
        let act = random_matrix(40 + seed, rows, n_in, 0.0, 1.0);
        let wt = random_matrix(50 + seed, n_in, n_out, -1.0, 1.0);
        out.push(
            block_on(ctx.matmul_bias_act(&a, &w, Some(&b), Activation::Tanh, rows, n_in, n_out))
                .unwrap(),
        );
        out.push(
            block_on(ctx.hidden_delta(
                &d,
                &wt,
                &act,
                Activation::Sigmoid,
                SigmoidDerivative::Exact,
                rows,
                n_in,
                n_out,
            ))
            .unwrap(),
        );
        let (w2, b2) =
            block_on(ctx.sgd_update(&w, Some(&b), &a, &d, rows, n_in, n_out, 0.3)).unwrap();
        out.push(w2);
        out.push(b2.unwrap());
        out.push(block_on(ctx.weight_gradient(true, &a, &d, rows, n_in, n_out, 0.5)).unwrap());
    }
    out
}

/// A device choosing its matmul variants as `options` say (software
/// adapters allowed).
fn device_with(matmul: MatmulChoice, checked_matmul: bool) -> Device {
    let options = GpuOptions {
        allow_software: true,
        matmul,
        checked_matmul,
        ..Default::default()
    };
    Device::gpu(&options).expect("a second device on the same adapter")
}

/// On GL, the first `keep` of `all`, said aloud; elsewhere all of them.
/// Each new GL device compiles every kernel again (about a minute per
/// training run on llvmpipe's GL), so the tests that open one device per
/// variant try fewer there; every variant runs on Vulkan, and every vec4
/// tile runs on GL too, on the shared device
/// (`every_vec4_tile_gives_the_fallback_kernels_bits_and_stays_in_bounds`).
fn fewer_on_gl<T: std::fmt::Debug>(test: &str, all: Vec<T>, keep: usize) -> Vec<T> {
    let on_gl = ctx().is_some_and(|c| c.adapter().backend == "Gl");
    if !on_gl || all.len() <= keep {
        return all;
    }
    let (kept, left) = all.split_at(keep);
    announce(&format!(
        "!!! {test} on GL: {kept:?} only, not {left:?} (a new GL device compiles every kernel \
         again; they run on Vulkan)"
    ));
    all.into_iter().take(keep).collect()
}

#[test]
fn every_matmul_variant_matches_the_cpu_and_gives_the_same_bits() {
    // Every variant sums each output as the same fma chain over k in
    // order, so forcing one changes speed, never a bit: whole runs too.
    let Some(base) = ctx() else { return };
    let bits = |outs: &[Vec<f32>]| -> Vec<Vec<u32>> {
        outs.iter()
            .map(|o| o.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    let reference = bits(&matmul_outputs(base));
    let (net, x, y, cfg) = deep();
    let mut trained = net.clone();
    trained
        .train_on(gpu().unwrap(), &x, &y, &cfg, |_| {})
        .unwrap();
    let mut choices: Vec<MatmulChoice> = MATMUL_VARIANTS
        .into_iter()
        .map(|t| MatmulChoice::Only(t.into()))
        .collect();
    // The vec4 family runs the layers whose widths are multiples of 4.
    choices.extend([MatmulChoice::Legacy, "t64x64x8_r8x8_s2".parse().unwrap()]);
    choices.rotate_right(2);
    let choices = fewer_on_gl("every_matmul_variant", choices, 2);
    for choice in choices {
        let device = device_with(choice, false);
        let ctx = device.gpu_context().unwrap();
        let label = format!("matmul {choice:?}");
        check_forward(ctx, &label);
        check_update(ctx, &label);
        assert!(
            bits(&matmul_outputs(ctx)) == reference,
            "{label}: other bits than the default variants"
        );
        let mut on_variant = net.clone();
        on_variant.train_on(&device, &x, &y, &cfg, |_| {}).unwrap();
        assert!(
            same_bits(&on_variant, &trained),
            "{label}: a whole run differs"
        );
    }
}

/// Products around every tile edge of the vec4 family (all widths
/// multiples of 4): (M, N, K) as the forward product has them.
const EDGE_SHAPES: [(usize, usize, usize); 7] = [
    (1, 4, 4),
    (33, 132, 20),
    (127, 64, 36),
    (129, 128, 132),
    (65, 68, 128),
    (200, 36, 8),
    (31, 260, 68),
];

/// The `kind` product of a layer with these sizes.
fn edge_product(kind: MatmulKind, (m, n, k): (usize, usize, usize)) -> ProductShape {
    match kind {
        MatmulKind::Forward => ProductShape::forward(m, k, n, m % 2 == 1),
        MatmulKind::HiddenDelta => ProductShape::hidden_delta(m, n, k),
        MatmulKind::SgdUpdate => ProductShape::sgd_update(k, m.next_multiple_of(4), n, m % 2 == 1),
        MatmulKind::WeightGradient => {
            ProductShape::weight_gradient(k, m.next_multiple_of(4), n, m % 2 == 0)
        }
    }
}

#[test]
fn every_vec4_tile_gives_the_fallback_kernels_bits_and_stays_in_bounds() {
    // Each product in each tile the adapter runs, on inputs followed by NaN
    // and an output followed by guard words: a read past an input would
    // put NaN in the result, a write past the output break a guard.
    let Some(ctx) = ctx() else { return };
    let mut ran = 0;
    for kind in MatmulKind::ALL {
        for (i, dims) in EDGE_SHAPES.into_iter().enumerate() {
            let shape = edge_product(kind, dims);
            let (m, n, _) = shape.dims();
            let fallback = MatmulVariant::fallback(m as u32, n as u32);
            let want = block_on(ctx.product_check(shape, Some(fallback), i as u64)).unwrap();
            assert!(
                want.guards_intact,
                "{shape} {fallback}: wrote past its output"
            );
            let expected: Vec<f64> = want.cpu.iter().map(|v| *v as f64).collect();
            assert_close(
                &format!("{shape} {fallback}"),
                &want.gpu,
                &expected,
                ATOL,
                RTOL,
            );
            for tile in VEC4_TILES {
                let v = MatmulVariant::Vec4(tile);
                let got = match block_on(ctx.product_check(shape, Some(v), i as u64)) {
                    Ok(got) => got,
                    // Tiles beyond this adapter's workgroup memory.
                    Err(Error::GpuLimit(_)) => continue,
                    Err(e) => panic!("{shape} {v}: {e}"),
                };
                let label = format!("{shape} in {v}");
                assert!(got.guards_intact, "{label}: wrote past its output");
                assert_close(&label, &got.gpu, &expected, ATOL, RTOL);
                assert!(
                    neurona::gpu::same_bits(&got.gpu, &want.gpu),
                    "{label}: other bits than matmul.wgsl"
                );
                ran += 1;
            }
        }
    }
    announce(&format!("{ran} vec4 products checked bit for bit"));
    assert!(
        ran >= 4 * EDGE_SHAPES.len() * 2,
        "only {ran} vec4 products ran"
    );
}

#[test]
fn vec4_tiles_give_the_same_bits_with_and_without_runtime_checks() {
    // The family runs without naga's runtime checks; with them it must
    // compute exactly the same.
    let Some(ctx) = ctx() else { return };
    let checked = device_with(MatmulChoice::Auto, true);
    let checked = checked.gpu_context().unwrap();
    let tiles = fewer_on_gl(
        "vec4_tiles_with_and_without_runtime_checks",
        // The 4x4 tile first: its checked module is the smallest, and
        // compiling checked modules is what takes GL long.
        vec![
            "t64x64x16_r4x4_s2",
            "t64x64x8_r8x8_s2",
            // The software adapters' pick.
            "t32x128x8_r16x16_s1",
            "t128x128x8_r8x8_s2_np",
            "t32x128x16_r4x8_s2",
            "t128x64x16_r8x4_s2",
        ],
        1,
    );
    let mut ran = 0;
    for kind in MatmulKind::ALL {
        for name in &tiles {
            let v: MatmulVariant = name.parse().unwrap();
            for (i, dims) in EDGE_SHAPES.into_iter().enumerate().skip(1).step_by(2) {
                let shape = edge_product(kind, dims);
                let a = match block_on(ctx.product_check(shape, Some(v), i as u64)) {
                    Err(Error::GpuLimit(_)) => continue,
                    other => other.unwrap(),
                };
                let b = block_on(checked.product_check(shape, Some(v), i as u64)).unwrap();
                ran += 1;
                assert!(a.guards_intact && b.guards_intact, "{shape} {v}");
                assert!(
                    a.gpu
                        .iter()
                        .map(|x| x.to_bits())
                        .eq(b.gpu.iter().map(|x| x.to_bits())),
                    "{shape} {v}: checked and unchecked modules differ"
                );
            }
        }
    }
    assert!(ran >= 4 * 2, "only {ran} products compared");
}

#[test]
fn a_forced_vec4_tile_trains_as_matmul_wgsl_does_and_odd_widths_fall_back() {
    // 8-12-4 layers run in the tile, the 3-wide output layer in
    // matmul.wgsl; the whole run matches the legacy kernels bit for bit.
    let Some(_) = ctx() else { return };
    let net = Network::builder(8)
        .layer(12, Activation::Tanh)
        .layer(4, Activation::Relu)
        .layer(3, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(5)
        .unwrap();
    let x = Matrix::new(50, 8, random_matrix(1, 50, 8, -1.0, 1.0)).unwrap();
    let y = Matrix::new(50, 3, random_matrix(2, 50, 3, 0.0, 1.0)).unwrap();
    let cfg = crate::common::plain().batch_size(16).epochs(30);
    let run = |choice: MatmulChoice| {
        let device = device_with(choice, false);
        let mut n = net.clone();
        n.train_on(&device, &x, &y, &cfg, |_| {}).unwrap();
        n
    };
    let legacy = run(MatmulChoice::Legacy);
    let choices = fewer_on_gl(
        "a_forced_vec4_tile_trains",
        vec!["t64x64x8_r8x8_s2", "t128x128x8_r8x8_s2_np", "auto"],
        1,
    );
    for name in choices {
        let tiled = run(name.parse().unwrap());
        assert!(
            same_bits(&tiled, &legacy),
            "{name}: a whole run differs from matmul.wgsl's"
        );
    }
}

#[test]
fn the_loss_of_a_big_batch_is_spread_over_workgroups_and_the_same_every_run() {
    // Past LOSS_CHUNK (4,096) items the loss sums in several workgroups,
    // then adds their sums in order: close to the CPU's f64 sum, the same
    // bits every run, and on a folded grid too.
    let Some(ctx) = ctx() else { return };
    let folded = folded().unwrap();
    for &(rows, n) in &[(3001, 7), (9000, 3), (4096, 1), (1, 5)] {
        let y_hat = random_matrix(1, rows, n, 0.0, 1.0);
        let y = random_matrix(2, rows, n, 0.0, 1.0);
        let z = random_matrix(3, rows, n, -30.0, 30.0);
        let mut one_hot = vec![0.0f32; rows * n];
        for r in 0..rows {
            one_hot[r * n + (r * 7) % n] = 1.0;
        }
        for (loss, input, target) in [
            (Loss::Mse, &y_hat, &y),
            (Loss::Bce, &z, &y),
            (Loss::CrossEntropy, &z, &one_hot),
        ] {
            if loss == Loss::CrossEntropy && n == 1 {
                continue;
            }
            let want = loss.sum_from_logits(input, target, n);
            let run = |c: &GpuContext| block_on(c.loss_sum(input, target, loss, rows, n)).unwrap();
            let got = run(ctx);
            assert!(
                (got as f64 - want).abs() <= 1e-5 * want.abs(),
                "loss {loss} {rows}x{n}: GPU {got} CPU {want}"
            );
            assert_eq!(
                got.to_bits(),
                run(ctx).to_bits(),
                "loss {loss} {rows}x{n}: runs differ"
            );
            assert_eq!(
                got.to_bits(),
                run(folded).to_bits(),
                "loss {loss} {rows}x{n}: folded grid"
            );
        }
    }
}

#[test]
fn a_short_adam_run_matches_the_cpu() {
    let Some(device) = gpu() else { return };
    block_on(parity::short_adam_run(device));
}
