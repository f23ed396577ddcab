//! GPU kernel parity bodies, written once: every kernel's one-shot twin
//! against its CPU twin, at shapes that cross every tile edge. Async, so the
//! native tests (tests/gpu.rs, through pollster) and the browser tests
//! (tests/web.rs, awaited on WebGPU) run the same bodies with the same
//! tolerances:
//! - Products (forward, hidden delta, update): 2e-5 absolute + 1e-5
//!   relative. Both sum up to 130 f32 products of values in [-1, 1], in
//!   different orders (gemm's blocks against the GPU's 16-wide slices), so
//!   each result may differ by a few ulps per term.
//! - Element-wise kernels: 1e-6, the GPU's exp/log against Rust's.

#![allow(dead_code)]

use crate::common::{assert_close, random_matrix};
use neurona::cpu;
use neurona::{
    Activation, Backend, BatchOrder, Device, GpuContext, Loss, Matrix, Network, Optimizer,
    OptimizerState, SigmoidDerivative, UpdateRule,
};

/// Shapes `(rows, n_in, n_out)`: 1x1, widths that are not multiples of the
/// 16, 32 or 64 tiles, wide and tall.
pub const SHAPES: [(usize, usize, usize); 6] = [
    (1, 1, 1),
    (5, 3, 1),
    (37, 53, 29),
    (67, 130, 3),
    (129, 65, 97),
    (2, 7, 300),
];

pub const ATOL: f64 = 2e-5;
pub const RTOL: f64 = 1e-5;

pub fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|x| *x as f64).collect()
}

pub async fn forward(ctx: &GpuContext, label: &str) {
    for (seed, &(rows, n_in, n_out)) in SHAPES.iter().enumerate() {
        let x = random_matrix(seed as u64, rows, n_in, -1.0, 1.0);
        let w = random_matrix(50 + seed as u64, n_in, n_out, -1.0, 1.0);
        let b = random_matrix(60 + seed as u64, 1, n_out, -1.0, 1.0);
        for act in Activation::ALL {
            for bias in [None, Some(&b[..])] {
                let mut want = vec![0.0; rows * n_out];
                cpu::matmul_bias_act(&x, &w, bias, act, &mut want, rows, n_in, n_out);
                let got = ctx
                    .matmul_bias_act(&x, &w, bias, act, rows, n_in, n_out)
                    .await
                    .unwrap();
                let name = format!(
                    "{label} forward {rows}x{n_in}x{n_out} {act} bias={}",
                    bias.is_some()
                );
                assert_close(&name, &got, &widen(&want), ATOL, RTOL);
            }
        }
    }
}

pub async fn hidden_delta(ctx: &GpuContext) {
    for (seed, &(rows, n, n_next)) in SHAPES.iter().enumerate() {
        let d_next = random_matrix(seed as u64, rows, n_next, -1.0, 1.0);
        let w_next = random_matrix(70 + seed as u64, n, n_next, -1.0, 1.0);
        for act in Activation::ALL {
            for rule in [
                SigmoidDerivative::Exact,
                SigmoidDerivative::NotebookOneMinusS,
            ] {
                let lo = if act == Activation::Sigmoid {
                    0.0
                } else {
                    -1.0
                };
                let mut a = random_matrix(80 + seed as u64, rows, n, lo, 1.0);
                if act == Activation::Relu {
                    a.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                let mut want = vec![0.0; rows * n];
                cpu::hidden_delta(&d_next, &w_next, &a, act, rule, &mut want, rows, n, n_next);
                let got = ctx
                    .hidden_delta(&d_next, &w_next, &a, act, rule, rows, n, n_next)
                    .await
                    .unwrap();
                let name = format!("hidden_delta {rows}x{n}x{n_next} {act} {rule:?}");
                assert_close(&name, &got, &widen(&want), ATOL, RTOL);
            }
        }
    }
}

pub async fn sgd_update(ctx: &GpuContext, label: &str) {
    for (seed, &(rows, n_in, n_out)) in SHAPES.iter().enumerate() {
        let a_in = random_matrix(seed as u64, rows, n_in, -1.0, 1.0);
        let d = random_matrix(90 + seed as u64, rows, n_out, -1.0, 1.0);
        let w = random_matrix(100 + seed as u64, n_in, n_out, -1.0, 1.0);
        let b = random_matrix(110 + seed as u64, 1, n_out, -1.0, 1.0);
        let step = 0.7 / rows as f32;
        for bias in [None, Some(&b[..])] {
            let (mut want_w, mut want_b) = (w.clone(), b.clone());
            let cpu_bias = bias.map(|_| &mut want_b[..]);
            cpu::sgd_update(&mut want_w, cpu_bias, &a_in, &d, rows, n_in, n_out, step);
            let (got_w, got_b) = ctx
                .sgd_update(&w, bias, &a_in, &d, rows, n_in, n_out, step)
                .await
                .unwrap();
            let name = format!(
                "{label} sgd_update {rows}x{n_in}x{n_out} bias={}",
                bias.is_some()
            );
            assert_close(&format!("{name} W"), &got_w, &widen(&want_w), ATOL, RTOL);
            match got_b {
                Some(got_b) => {
                    assert_close(&format!("{name} b"), &got_b, &widen(&want_b), ATOL, RTOL)
                }
                None => assert!(bias.is_none()),
            }
        }
    }
}

pub async fn output_delta_and_loss(ctx: &GpuContext) {
    let (rows, n) = (301, 3);
    let y_hat = random_matrix(1, rows, n, 0.001, 0.999);
    let y = random_matrix(2, rows, n, 0.0, 1.0);
    for loss in [Loss::Mse, Loss::Bce] {
        for act in Activation::ALL {
            for rule in [
                SigmoidDerivative::Exact,
                SigmoidDerivative::NotebookOneMinusS,
            ] {
                let mut want = vec![0.0; rows * n];
                cpu::output_delta(&y_hat, &y, loss, act, rule, &mut want);
                let got = ctx
                    .output_delta(&y_hat, &y, loss, act, rule, rows, n)
                    .await
                    .unwrap();
                let name = format!("output_delta {loss} {act} {rule:?}");
                assert_close(&name, &got, &widen(&want), 1e-6, 1e-5);
            }
        }
    }
    // Softmax with cross-entropy: ŷ − y.
    let exact = SigmoidDerivative::Exact;
    let (ce, softmax) = (Loss::CrossEntropy, Activation::Softmax);
    let mut want = vec![0.0; rows * n];
    cpu::output_delta(&y_hat, &y, ce, softmax, exact, &mut want);
    let got = ctx
        .output_delta(&y_hat, &y, ce, softmax, exact, rows, n)
        .await
        .unwrap();
    assert_close("output_delta ce", &got, &widen(&want), 1e-6, 1e-5);

    // Losses: MSE from ŷ; BCE and cross-entropy from logits as large as
    // ±40, where ln ŷ of a clamped ŷ would be far off.
    let z = random_matrix(3, rows, n, -40.0, 40.0);
    let mut one_hot = vec![0.0f32; rows * n];
    for r in 0..rows {
        one_hot[r * n + r % n] = 1.0;
    }
    for (loss, input, target) in [
        (Loss::Mse, &y_hat, &y),
        (Loss::Bce, &z, &y),
        (Loss::CrossEntropy, &z, &one_hot),
    ] {
        let want = loss.sum_from_logits(input, target, n);
        let got = ctx.loss_sum(input, target, loss, rows, n).await.unwrap() as f64;
        assert!(
            (got - want).abs() <= 1e-5 * want.abs(),
            "loss {loss}: GPU {got} CPU {want}"
        );
    }
}

pub async fn output_activation(ctx: &GpuContext) {
    for &(rows, n) in &[(1, 2), (5, 3), (300, 10), (257, 1)] {
        let z = random_matrix(4, rows, n, -60.0, 60.0);
        let acts = Activation::ALL.into_iter().chain([Activation::Softmax]);
        for act in acts.filter(|a| n > 1 || *a != Activation::Softmax) {
            let mut want = vec![0.0; rows * n];
            cpu::output_activation(&z, act, &mut want, n);
            let got = ctx.output_activation(&z, act, rows, n).await.unwrap();
            let name = format!("output_activation {act} {rows}x{n}");
            assert_close(&name, &got, &widen(&want), 1e-6, 1e-5);
        }
    }
}

pub async fn weight_gradient(ctx: &GpuContext) {
    for &(rows, n_in, n_out) in &[(1, 1, 1), (37, 53, 29), (130, 67, 65)] {
        let a_in = random_matrix(5, rows, n_in, -1.0, 1.0);
        let d = random_matrix(6, rows, n_out, -1.0, 1.0);
        for has_bias in [false, true] {
            let mut want = vec![0.0; (n_in + has_bias as usize) * n_out];
            let scale = 1.0 / rows as f32;
            cpu::weight_gradient(&mut want, has_bias, &a_in, &d, rows, n_in, n_out, scale);
            let got = ctx
                .weight_gradient(has_bias, &a_in, &d, rows, n_in, n_out, scale)
                .await
                .unwrap();
            let name = format!("weight_gradient {rows}x{n_in}x{n_out} bias={has_bias}");
            assert_close(&name, &got, &widen(&want), 2e-5, 1e-5);
        }
    }
}

pub async fn optimizer_update(ctx: &GpuContext) {
    // The same f32 operations in the same order on both sides: they agree
    // to a few ulps (the GPU's sqrt and division may round differently).
    let (n, weights) = (1001, 900);
    for opt in [
        Optimizer::Sgd,
        Optimizer::momentum(0.9),
        Optimizer::nesterov(0.8),
        Optimizer::adam(),
    ] {
        let mut cpu_w = random_matrix(7, 1, n, -1.0, 1.0);
        let moments = |k| vec![0.0f32; if opt.moments() >= k { n } else { 0 }];
        let (mut cpu_m, mut cpu_v) = (moments(1), moments(2));
        let (mut gpu_w, mut gpu_m, mut gpu_v) = (cpu_w.clone(), cpu_m.clone(), cpu_v.clone());
        for t in 1..=5 {
            let g = random_matrix(10 + t, 1, n, -1.0, 1.0);
            let rule = |decay| UpdateRule {
                optimizer: opt,
                weight_decay: decay,
                lr: 0.01 * t as f32,
                correction1: 1.0 / (1.0 - 0.9f32.powi(t as i32)),
                correction2: 1.0 / (1.0 - 0.999f32.powi(t as i32)),
            };
            // The first `weights` values decay, the rest (a bias) do not.
            let split = |v: &mut Vec<f32>| {
                let tail = if v.is_empty() {
                    Vec::new()
                } else {
                    v.split_off(weights)
                };
                (std::mem::take(v), tail)
            };
            let (mut w, mut b) = split(&mut cpu_w);
            let (mut mw, mut mb) = split(&mut cpu_m);
            let (mut vw, mut vb) = split(&mut cpu_v);
            cpu::optimizer_update(&mut w, &g[..weights], &mut mw, &mut vw, &rule(0.1));
            cpu::optimizer_update(&mut b, &g[weights..], &mut mb, &mut vb, &rule(0.0));
            let join = |mut a: Vec<f32>, b: Vec<f32>| {
                a.extend(b);
                a
            };
            (cpu_w, cpu_m, cpu_v) = (join(w, b), join(mw, mb), join(vw, vb));
            (gpu_w, gpu_m, gpu_v) = ctx
                .optimizer_update(&gpu_w, weights, &g, &gpu_m, &gpu_v, &rule(0.1))
                .await
                .unwrap();
            let name = format!("{} step {t}", opt.name());
            assert_close(&name, &gpu_w, &widen(&cpu_w), 1e-6, 1e-5);
            assert_close(&format!("{name} m"), &gpu_m, &widen(&cpu_m), 1e-6, 1e-5);
            assert_close(&format!("{name} v"), &gpu_v, &widen(&cpu_v), 1e-6, 1e-5);
        }
    }
}

pub async fn gather(ctx: &GpuContext) {
    let (rows, cols) = (11, 5);
    let src = random_matrix(3, rows, cols, -1.0, 1.0);
    let idx = neurona::shuffled_order(rows, 4, 0);
    let got = ctx.gather(&src, cols, &idx, 2, 7).await.unwrap();
    let want: Vec<f32> = idx[2..9]
        .iter()
        .flat_map(|&r| src[r as usize * cols..(r as usize + 1) * cols].to_vec())
        .collect();
    assert_eq!(got, want);
}

/// 25 Adam steps of a softmax net on shuffled batches, awaited as a browser
/// must: the GPU run against the CPU path's.
pub async fn short_adam_run(device: &Device) {
    let net = Network::builder(5)
        .layer(9, Activation::Tanh)
        .layer(3, Activation::Softmax)
        .init(neurona::Init::Auto)
        .build(4)
        .unwrap();
    let x = Matrix::new(37, 5, random_matrix(11, 37, 5, -1.0, 1.0)).unwrap();
    let mut y = vec![0.0f32; 37 * 3];
    for r in 0..37 {
        y[r * 3 + r % 3] = 1.0;
    }
    let y = Matrix::new(37, 3, y).unwrap();
    let cfg = crate::common::plain()
        .loss(Loss::CrossEntropy)
        .optimizer(Optimizer::adam())
        .learning_rate(0.01)
        .batch_size(8)
        .order(BatchOrder::Shuffled { seed: 2 })
        .epochs(5);
    let cpu_device = Device::open(Backend::Cpu).await.unwrap();
    let (mut on_cpu, mut on_gpu) = (net.clone(), net.clone());
    let mut state = OptimizerState::new(&net, cfg.optimizer).unwrap();
    on_cpu
        .resume_on_async(&cpu_device, &x, &y, &cfg, &mut state, |_| {})
        .await
        .unwrap();
    let mut state = OptimizerState::new(&net, cfg.optimizer).unwrap();
    on_gpu
        .resume_on_async(device, &x, &y, &cfg, &mut state, |_| {})
        .await
        .unwrap();
    for (l, (g, c)) in on_gpu.layers().iter().zip(on_cpu.layers()).enumerate() {
        let name = format!("layer {} after 25 Adam steps", l + 1);
        assert_close(&name, g.weights(), &widen(c.weights()), 1e-4, 1e-4);
    }
}
