//! The GPU kernels in a real browser: WebGPU in headless Chromium, against
//! the CPU path compiled to wasm32, with the native parity tests'
//! tolerances (tests/gpu.rs says why): products 2e-5 absolute + 1e-5
//! relative, element-wise kernels 1e-6 + 1e-5, whole runs 1e-4.
//!
//! ```text
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web
//! ```
//!
//! (`.cargo/config.toml` names wasm-bindgen's test runner, `webdriver.json`
//! the one flag Chromium needs for WebGPU.) Without a WebGPU adapter each
//! test says loudly that it skipped; built with `CI=true` it fails instead.
//! Natively this file is empty.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{SHAPES, assert_close, random_matrix};
use neurona::cpu;
use neurona::{
    Activation, Backend, BatchOrder, Device, GpuOptions, Loss, Matrix, Network, Optimizer,
    OptimizerState, SigmoidDerivative, TrainConfig, UpdateRule,
};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    /// The device, opened once for all tests (building every pipeline on
    /// the browser's software adapter takes seconds).
    static DEVICE: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
}

/// The browser's WebGPU device, or `None` after saying so (a failure when
/// built with CI=true).
async fn gpu() -> Option<Device> {
    if let Some(d) = DEVICE.with(|d| d.borrow().clone()) {
        return Some(d);
    }
    let options = GpuOptions {
        allow_software: true,
        ..Default::default()
    };
    match Device::open_gpu(&options).await {
        Ok(d) => {
            console_log!("browser GPU tests run on {d}");
            DEVICE.with(|slot| *slot.borrow_mut() = Some(d.clone()));
            Some(d)
        }
        Err(e) => {
            assert!(
                option_env!("CI") != Some("true"),
                "CI=true but the browser has no WebGPU adapter: {e}"
            );
            console_log!("!!! browser GPU tests SKIPPED, they did not run: {e}");
            None
        }
    }
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|x| *x as f64).collect()
}

#[wasm_bindgen_test]
async fn forward_matches_cpu() {
    let Some(device) = gpu().await else { return };
    let ctx = device.gpu_context().unwrap();
    for (seed, &(rows, n_in, n_out)) in SHAPES.iter().enumerate() {
        let x = random_matrix(seed as u64, rows, n_in, -1.0, 1.0);
        let w = random_matrix(50 + seed as u64, n_in, n_out, -1.0, 1.0);
        let b = random_matrix(60 + seed as u64, 1, n_out, -1.0, 1.0);
        for act in Activation::ALL {
            let mut want = vec![0.0; rows * n_out];
            cpu::matmul_bias_act(&x, &w, Some(&b), act, &mut want, rows, n_in, n_out);
            let got = ctx
                .matmul_bias_act(&x, &w, Some(&b), act, rows, n_in, n_out)
                .await
                .unwrap();
            let name = format!("forward {rows}x{n_in}x{n_out} {act}");
            assert_close(&name, &got, &widen(&want), 2e-5, 1e-5);
        }
    }
}

#[wasm_bindgen_test]
async fn backward_kernels_match_cpu() {
    let Some(device) = gpu().await else { return };
    let ctx = device.gpu_context().unwrap();
    let exact = SigmoidDerivative::Exact;
    for (seed, &(rows, n, n_next)) in SHAPES.iter().enumerate() {
        let seed = seed as u64;
        let d_next = random_matrix(seed, rows, n_next, -1.0, 1.0);
        let w_next = random_matrix(100 + seed, n, n_next, -1.0, 1.0);
        let a = random_matrix(200 + seed, rows, n, 0.0, 1.0);
        let mut want = vec![0.0; rows * n];
        let sig = Activation::Sigmoid;
        cpu::hidden_delta(&d_next, &w_next, &a, sig, exact, &mut want, rows, n, n_next);
        let got = ctx
            .hidden_delta(&d_next, &w_next, &a, sig, exact, rows, n, n_next)
            .await
            .unwrap();
        let shape = format!("{rows}x{n}x{n_next}");
        assert_close(
            &format!("hidden_delta {shape}"),
            &got,
            &widen(&want),
            2e-5,
            1e-5,
        );

        // Update and gradient of a layer n -> n_next from these deltas.
        let (w, bias) = (
            w_next.clone(),
            random_matrix(300 + seed, 1, n_next, -1.0, 1.0),
        );
        let step = 0.3 / rows as f32;
        let (mut want_w, mut want_b) = (w.clone(), bias.clone());
        cpu::sgd_update(
            &mut want_w,
            Some(&mut want_b),
            &a,
            &d_next,
            rows,
            n,
            n_next,
            step,
        );
        let (got_w, got_b) = ctx
            .sgd_update(&w, Some(&bias), &a, &d_next, rows, n, n_next, step)
            .await
            .unwrap();
        assert_close(
            &format!("sgd_update W {shape}"),
            &got_w,
            &widen(&want_w),
            2e-5,
            1e-5,
        );
        let got_b = got_b.unwrap();
        assert_close(
            &format!("sgd_update b {shape}"),
            &got_b,
            &widen(&want_b),
            2e-5,
            1e-5,
        );
        let mut want_g = vec![0.0; (n + 1) * n_next];
        let scale = 1.0 / rows as f32;
        cpu::weight_gradient(&mut want_g, true, &a, &d_next, rows, n, n_next, scale);
        let got_g = ctx
            .weight_gradient(true, &a, &d_next, rows, n, n_next, scale)
            .await
            .unwrap();
        assert_close(
            &format!("gradient {shape}"),
            &got_g,
            &widen(&want_g),
            2e-5,
            1e-5,
        );
    }
}

#[wasm_bindgen_test]
async fn output_kernels_match_cpu() {
    let Some(device) = gpu().await else { return };
    let ctx = device.gpu_context().unwrap();
    let (rows, n) = (301, 3);
    let z = random_matrix(3, rows, n, -40.0, 40.0);
    let mut y_hat = vec![0.0; rows * n];
    cpu::output_activation(&z, Activation::Softmax, &mut y_hat, n);
    let got = ctx
        .output_activation(&z, Activation::Softmax, rows, n)
        .await
        .unwrap();
    assert_close("softmax", &got, &widen(&y_hat), 1e-6, 1e-5);
    let mut one_hot = vec![0.0f32; rows * n];
    for r in 0..rows {
        one_hot[r * n + r % n] = 1.0;
    }
    let (ce, softmax, exact) = (
        Loss::CrossEntropy,
        Activation::Softmax,
        SigmoidDerivative::Exact,
    );
    let mut want = vec![0.0; rows * n];
    cpu::output_delta(&y_hat, &one_hot, ce, softmax, exact, &mut want);
    let got = ctx
        .output_delta(&y_hat, &one_hot, ce, softmax, exact, rows, n)
        .await
        .unwrap();
    assert_close("output_delta ce", &got, &widen(&want), 1e-6, 1e-5);
    for (loss, input, target) in [(Loss::Bce, &z, &one_hot), (ce, &z, &one_hot)] {
        let want = loss.sum_from_logits(input, target, n);
        let got = ctx.loss_sum(input, target, loss, rows, n).await.unwrap() as f64;
        assert!(
            (got - want).abs() <= 1e-5 * want.abs(),
            "loss {loss}: GPU {got} CPU {want}"
        );
    }
}

#[wasm_bindgen_test]
async fn optimizer_kernel_matches_cpu() {
    let Some(device) = gpu().await else { return };
    let ctx = device.gpu_context().unwrap();
    let n = 1001;
    for opt in [Optimizer::momentum(0.9), Optimizer::adam()] {
        let mut cpu_w = random_matrix(7, 1, n, -1.0, 1.0);
        let moments = |k| vec![0.0f32; if opt.moments() >= k { n } else { 0 }];
        let (mut cpu_m, mut cpu_v) = (moments(1), moments(2));
        let (mut gpu_w, mut gpu_m, mut gpu_v) = (cpu_w.clone(), cpu_m.clone(), cpu_v.clone());
        for t in 1..=3 {
            let g = random_matrix(10 + t, 1, n, -1.0, 1.0);
            let rule = UpdateRule {
                optimizer: opt,
                weight_decay: 0.0,
                lr: 0.01,
                correction1: 1.0 / (1.0 - 0.9f32.powi(t as i32)),
                correction2: 1.0 / (1.0 - 0.999f32.powi(t as i32)),
            };
            cpu::optimizer_update(&mut cpu_w, &g, &mut cpu_m, &mut cpu_v, &rule);
            (gpu_w, gpu_m, gpu_v) = ctx
                .optimizer_update(&gpu_w, n, &g, &gpu_m, &gpu_v, &rule)
                .await
                .unwrap();
            let name = format!("{} step {t}", opt.name());
            assert_close(&name, &gpu_w, &widen(&cpu_w), 1e-6, 1e-5);
        }
    }
}

#[wasm_bindgen_test]
async fn a_short_training_run_matches_the_cpu() {
    let Some(device) = gpu().await else { return };
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
    let cfg = TrainConfig::new()
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
        .resume_on_async(&device, &x, &y, &cfg, &mut state, |_| {})
        .await
        .unwrap();
    for (l, (g, c)) in on_gpu.layers().iter().zip(on_cpu.layers()).enumerate() {
        let name = format!("layer {} after 25 Adam steps", l + 1);
        assert_close(&name, g.weights(), &widen(c.weights()), 1e-4, 1e-4);
    }
}

#[wasm_bindgen_test]
async fn gather_takes_the_rows_asked_for() {
    let Some(device) = gpu().await else { return };
    let ctx = device.gpu_context().unwrap();
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
