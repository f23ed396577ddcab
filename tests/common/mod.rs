//! Test helpers: seeded random data, the naive matmul oracle, closeness.

#![allow(dead_code)]

#[cfg(not(target_arch = "wasm32"))]
use std::io::Write;
#[cfg(not(target_arch = "wasm32"))]
use std::sync::OnceLock;

use neurona::Network;
#[cfg(not(target_arch = "wasm32"))]
use neurona::{Backend, Device, GpuOptions};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Run a test body written once, `fn body(device: &Device)`, on each
/// backend, as candle's `test_device!` does: `on_each_backend!(body,
/// body_cpu, body_gpu)` makes two tests, the GPU one skipping loudly (and
/// failing under `CI=true`) without an adapter.
#[allow(unused_macros)]
macro_rules! on_each_backend {
    ($body:ident, $cpu:ident, $gpu:ident) => {
        #[test]
        fn $cpu() {
            $body(&crate::common::cpu());
        }
        #[test]
        fn $gpu() {
            if let Some(device) = crate::common::gpu() {
                $body(device);
            }
        }
    };
}

/// The settings the tests were written against, which `TrainConfig::new()`
/// had before its defaults followed scikit-learn's: plain SGD at learning
/// rate 0.1, one full-batch epoch in file order, MSE.
pub fn plain() -> neurona::TrainConfig {
    neurona::TrainConfig {
        learning_rate: 0.1,
        epochs: 1,
        batch_size: None,
        order: neurona::BatchOrder::InOrder,
        loss: Some(neurona::Loss::Mse),
        optimizer: neurona::Optimizer::Sgd,
        ..neurona::TrainConfig::new()
    }
}

/// The CPU path.
#[cfg(not(target_arch = "wasm32"))]
pub fn cpu() -> Device {
    Device::new(Backend::Cpu).unwrap()
}

/// A `rows x cols` matrix of values uniform in `[lo, hi)`, from `seed`.
pub fn random_matrix(seed: u64, rows: usize, cols: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows * cols).map(|_| rng.random_range(lo..hi)).collect()
}

/// The oracle: `a (m x k) . b (k x n)` by the triple loop, in f64.
pub fn matmul_naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            let a_ip = a[i * k + p] as f64;
            for j in 0..n {
                out[i * n + j] += a_ip * b[p * n + j] as f64;
            }
        }
    }
    out
}

/// The transpose of a row-major `rows x cols` matrix.
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// Assert `|got − want| <= atol + rtol · |want|` everywhere; on failure,
/// report the first mismatches with their index.
#[track_caller]
pub fn assert_close(name: &str, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: lengths differ");
    let bad: Vec<String> = got
        .iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (g, w))| !g.is_finite() || ((**g as f64) - **w).abs() > atol + rtol * w.abs())
        .take(5)
        .map(|(i, (g, w))| format!("  [{i}] got {g} want {w}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{name}: mismatches (atol {atol}, rtol {rtol}):\n{}",
        bad.join("\n")
    );
}

/// Shapes `(rows, n_in, n_out)` for step tests: width 1, and sizes that are
/// not round, so every edge of gemm's blocking runs.
pub const SHAPES: [(usize, usize, usize); 7] = [
    (1, 1, 1),
    (1, 7, 1),
    (5, 3, 1),
    (4, 1, 9),
    (37, 53, 29),
    (67, 130, 3),
    (129, 65, 97),
];

/// The notebook's data: `data_entrenamiento_x`, `data_entrenamiento_y`.
pub fn notebook_data() -> (neurona::Matrix, neurona::Matrix) {
    neurona::notebook::data()
}

/// The notebook's network with its weights after `np.random.seed(1)`.
pub fn notebook_network() -> Network {
    neurona::notebook::network()
}

/// Say something even when libtest captures the output of passing tests
/// (it captures the print macros, not direct writes).
#[cfg(not(target_arch = "wasm32"))]
pub fn announce(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// The GPU device shared by the tests, software adapters included; `None`
/// (after saying so) when there is none.
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu() -> Option<&'static Device> {
    static DEVICE: OnceLock<Option<Device>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let options = GpuOptions {
                allow_software: true,
                ..Default::default()
            };
            match Device::gpu(&options) {
                Ok(d) => {
                    announce(&format!("GPU tests run on {d}"));
                    Some(d)
                }
                Err(e) => {
                    announce(&format!("!!! GPU tests SKIPPED, they did not run: {e}"));
                    None
                }
            }
        })
        .as_ref()
        .or_else(|| {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no GPU adapter: install mesa-vulkan-drivers"
            );
            announce("!!! skipped (no GPU adapter)");
            None
        })
}

/// The `neurona` binary run with `args` (the backend as the flags say, not
/// as the environment does).
#[cfg(not(target_arch = "wasm32"))]
pub fn neurona(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_neurona"))
        .args(args)
        .env_remove("NEURONA_BACKEND")
        .output()
        .expect("the binary runs")
}

/// Bytes a command printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Assert that a command succeeded (printing what it said if not); its
/// stdout.
#[cfg(not(target_arch = "wasm32"))]
#[track_caller]
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}
