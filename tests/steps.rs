//! Each CPU step against the naive oracle (f64 triple loops), on shapes of
//! width 1 and sizes that are not round. Tolerances: the oracle is exact to
//! f64; gemm sums in f32 in its own order, so results may differ by a few
//! ulps per term: 1e-5 absolute plus 1e-5 relative covers k up to 130 with
//! values in [-1, 1].

use crate::common::{SHAPES, assert_close, matmul_naive, random_matrix, transpose};
use neurona::cpu::{self, matmul};
use neurona::{Activation, Loss, SigmoidDerivative};

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-5;

#[test]
fn matmul_matches_oracle() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let a = random_matrix(seed as u64, m, k, -1.0, 1.0);
        let b = random_matrix(100 + seed as u64, k, n, -1.0, 1.0);
        let mut out = vec![f32::NAN; m * n];
        matmul::matmul(&a, &b, &mut out, m, k, n);
        let want = matmul_naive(&a, &b, m, k, n);
        assert_close(&format!("matmul {m}x{k}x{n}"), &out, &want, ATOL, RTOL);
    }
}

#[test]
fn matmul_nt_matches_oracle() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let a = random_matrix(seed as u64, m, k, -1.0, 1.0);
        let b = random_matrix(200 + seed as u64, n, k, -1.0, 1.0); // stored n x k
        let mut out = vec![f32::NAN; m * n];
        matmul::matmul_nt(&a, &b, &mut out, m, k, n);
        let want = matmul_naive(&a, &transpose(&b, n, k), m, k, n);
        assert_close(&format!("matmul_nt {m}x{k}x{n}"), &out, &want, ATOL, RTOL);
    }
}

#[test]
fn matmul_tn_acc_matches_oracle() {
    for (seed, &(m, k, n)) in SHAPES.iter().enumerate() {
        let a = random_matrix(seed as u64, k, m, -1.0, 1.0); // stored k x m
        let b = random_matrix(300 + seed as u64, k, n, -1.0, 1.0);
        let start = random_matrix(400 + seed as u64, m, n, -1.0, 1.0);
        let mut out = start.clone();
        matmul::matmul_tn_acc(&a, &b, &mut out, m, k, n, -0.25);
        let prod = matmul_naive(&transpose(&a, k, m), &b, m, k, n);
        let want: Vec<f64> = start
            .iter()
            .zip(&prod)
            .map(|(s, p)| *s as f64 - 0.25 * p)
            .collect();
        assert_close(
            &format!("matmul_tn_acc {m}x{k}x{n}"),
            &out,
            &want,
            ATOL,
            RTOL,
        );
    }
}

fn act64(act: Activation, z: f64) -> f64 {
    match act {
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        Activation::Relu => z.max(0.0),
        Activation::Tanh => z.tanh(),
        Activation::Identity | Activation::Softmax => z,
    }
}

/// `act'` from the output, in f64.
fn dact64(act: Activation, a: f64) -> f64 {
    match act {
        Activation::Sigmoid => a * (1.0 - a),
        Activation::Relu => (a > 0.0) as u8 as f64,
        Activation::Tanh => 1.0 - a * a,
        Activation::Identity | Activation::Softmax => 1.0,
    }
}

#[test]
fn matmul_bias_act_matches_oracle() {
    for (seed, &(rows, n_in, n_out)) in SHAPES.iter().enumerate() {
        let x = random_matrix(seed as u64, rows, n_in, -1.0, 1.0);
        let w = random_matrix(500 + seed as u64, n_in, n_out, -1.0, 1.0);
        let b = random_matrix(600 + seed as u64, 1, n_out, -1.0, 1.0);
        let z = matmul_naive(&x, &w, rows, n_in, n_out);
        for act in Activation::ALL {
            for bias in [None, Some(&b[..])] {
                let mut out = vec![f32::NAN; rows * n_out];
                cpu::matmul_bias_act(&x, &w, bias, act, &mut out, rows, n_in, n_out);
                let want: Vec<f64> = z
                    .iter()
                    .enumerate()
                    .map(|(i, z)| act64(act, z + bias.map_or(0.0, |b| b[i % n_out] as f64)))
                    .collect();
                let name = format!(
                    "forward {rows}x{n_in}x{n_out} {act} bias={}",
                    bias.is_some()
                );
                assert_close(&name, &out, &want, ATOL, RTOL);
            }
        }
    }
}

#[test]
fn output_delta_matches_oracle() {
    let (rows, n) = (13, 3);
    let y_hat = random_matrix(1, rows, n, 0.01, 0.99);
    let y = random_matrix(2, rows, n, 0.0, 1.0);
    let exact = SigmoidDerivative::Exact;
    for act in Activation::ALL {
        let mut out = vec![f32::NAN; rows * n];
        cpu::output_delta(&y_hat, &y, Loss::Mse, act, exact, &mut out);
        let want: Vec<f64> = y_hat
            .iter()
            .zip(&y)
            .map(|(&p, &t)| (p as f64 - t as f64) * dact64(act, p as f64))
            .collect();
        assert_close(&format!("output_delta mse {act}"), &out, &want, 1e-6, 1e-6);
    }

    // BCE through a sigmoid: (ŷ − y)/(ŷ(1 − ŷ)) · ŷ(1 − ŷ) = ŷ − y.
    let mut out = vec![f32::NAN; rows * n];
    cpu::output_delta(&y_hat, &y, Loss::Bce, Activation::Sigmoid, exact, &mut out);
    let want: Vec<f64> = y_hat
        .iter()
        .zip(&y)
        .map(|(&p, &t)| p as f64 - t as f64)
        .collect();
    assert_close("output_delta bce sigmoid", &out, &want, 1e-6, 1e-6);

    // The notebook's derivative, only when asked for: (ŷ − y)(1 − ŷ).
    let notebook = SigmoidDerivative::NotebookOneMinusS;
    cpu::output_delta(
        &y_hat,
        &y,
        Loss::Mse,
        Activation::Sigmoid,
        notebook,
        &mut out,
    );
    let want: Vec<f64> = y_hat
        .iter()
        .zip(&y)
        .map(|(&p, &t)| (p as f64 - t as f64) * (1.0 - p as f64))
        .collect();
    assert_close("output_delta notebook derivative", &out, &want, 1e-6, 1e-6);
}

#[test]
fn hidden_delta_matches_oracle() {
    for (seed, &(rows, n, n_next)) in SHAPES.iter().enumerate() {
        let d_next = random_matrix(seed as u64, rows, n_next, -1.0, 1.0);
        let w_next = random_matrix(700 + seed as u64, n, n_next, -1.0, 1.0);
        let back = matmul_naive(&d_next, &transpose(&w_next, n, n_next), rows, n_next, n);
        for act in Activation::ALL {
            let lo = if act == Activation::Sigmoid {
                0.0
            } else {
                -1.0
            };
            let mut a = random_matrix(800 + seed as u64, rows, n, lo, 1.0);
            if act == Activation::Relu {
                a.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            let mut out = vec![f32::NAN; rows * n];
            let exact = SigmoidDerivative::Exact;
            cpu::hidden_delta(&d_next, &w_next, &a, act, exact, &mut out, rows, n, n_next);
            let want: Vec<f64> = back
                .iter()
                .zip(&a)
                .map(|(b, &a)| b * dact64(act, a as f64))
                .collect();
            let name = format!("hidden_delta {rows}x{n}x{n_next} {act}");
            assert_close(&name, &out, &want, ATOL, RTOL);
        }
    }
}

#[test]
fn sgd_update_matches_oracle() {
    for (seed, &(rows, n_in, n_out)) in SHAPES.iter().enumerate() {
        let a_in = random_matrix(seed as u64, rows, n_in, -1.0, 1.0);
        let d = random_matrix(900 + seed as u64, rows, n_out, -1.0, 1.0);
        let w0 = random_matrix(1000 + seed as u64, n_in, n_out, -1.0, 1.0);
        let b0 = random_matrix(1100 + seed as u64, 1, n_out, -1.0, 1.0);
        let step = 0.3f32 / rows as f32;
        let (mut w, mut b) = (w0.clone(), b0.clone());
        cpu::sgd_update(&mut w, Some(&mut b), &a_in, &d, rows, n_in, n_out, step);

        let grad = matmul_naive(&transpose(&a_in, rows, n_in), &d, n_in, rows, n_out);
        let want_w: Vec<f64> = w0
            .iter()
            .zip(&grad)
            .map(|(w, g)| *w as f64 - step as f64 * g)
            .collect();
        let want_b: Vec<f64> = (0..n_out)
            .map(|j| {
                let sum: f64 = (0..rows).map(|r| d[r * n_out + j] as f64).sum();
                b0[j] as f64 - step as f64 * sum
            })
            .collect();
        let shape = format!("{rows}x{n_in}x{n_out}");
        assert_close(&format!("sgd_update W {shape}"), &w, &want_w, ATOL, RTOL);
        assert_close(&format!("sgd_update b {shape}"), &b, &want_b, ATOL, RTOL);

        // Without a bias, only the weights move.
        let mut w = w0.clone();
        cpu::sgd_update(&mut w, None, &a_in, &d, rows, n_in, n_out, step);
        assert_close(
            &format!("sgd_update W {shape}, no bias"),
            &w,
            &want_w,
            ATOL,
            RTOL,
        );
    }
}

#[test]
fn output_activation_matches_oracle() {
    for (seed, &(rows, _, n)) in SHAPES.iter().enumerate() {
        // Logits up to ±60: e^60 overflows f32, so a softmax that skipped
        // subtracting the row maximum would give inf/inf = NaN here.
        let z = random_matrix(1200 + seed as u64, rows, n, -60.0, 60.0);
        let mut out = vec![f32::NAN; rows * n];
        cpu::output_activation(&z, Activation::Softmax, &mut out, n);
        let mut want = Vec::new();
        for row in z.chunks_exact(n) {
            let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
            let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
            want.extend(row.iter().map(|&v| (v as f64 - max).exp() / sum));
        }
        assert_close(&format!("softmax {rows}x{n}"), &out, &want, 1e-6, 1e-5);
        for act in Activation::ALL {
            cpu::output_activation(&z, act, &mut out, n);
            let want: Vec<f64> = z.iter().map(|&v| act64(act, v as f64)).collect();
            assert_close(&format!("{act} from logits"), &out, &want, ATOL, RTOL);
        }
    }
}

#[test]
fn weight_gradient_matches_oracle() {
    for (seed, &(rows, n_in, n_out)) in SHAPES.iter().enumerate() {
        let a_in = random_matrix(seed as u64, rows, n_in, -1.0, 1.0);
        let d = random_matrix(1300 + seed as u64, rows, n_out, -1.0, 1.0);
        let scale = 1.0 / rows as f32;
        let mut want = matmul_naive(&transpose(&a_in, rows, n_in), &d, n_in, rows, n_out);
        want.extend((0..n_out).map(|j| (0..rows).map(|r| d[r * n_out + j] as f64).sum::<f64>()));
        want.iter_mut().for_each(|g| *g *= scale as f64);
        for has_bias in [true, false] {
            let count = (n_in + has_bias as usize) * n_out;
            let mut grad = vec![f32::NAN; count];
            cpu::weight_gradient(&mut grad, has_bias, &a_in, &d, rows, n_in, n_out, scale);
            let name = format!("weight_gradient {rows}x{n_in}x{n_out} bias={has_bias}");
            assert_close(&name, &grad, &want[..count], ATOL, RTOL);
        }
    }
}

/// Three steps of `optimizer` on `n` values, against the rule in f64.
fn check_optimizer(optimizer: neurona::Optimizer, n: usize, seed: u64) {
    use neurona::{Optimizer, UpdateRule};
    let mut w = random_matrix(seed, 1, n, -1.0, 1.0);
    let mut w64: Vec<f64> = w.iter().map(|&v| v as f64).collect();
    let moments = optimizer.moments();
    let mut m = vec![0.0f32; if moments >= 1 { n } else { 0 }];
    let mut v = vec![0.0f32; if moments >= 2 { n } else { 0 }];
    let (mut m64, mut v64) = (vec![0.0f64; n], vec![0.0f64; n]);
    let decay = 0.01f32;
    for t in 1..=3 {
        let g = random_matrix(seed + 10 * t, 1, n, -1.0, 1.0);
        let (lr, c1, c2) = (
            0.05f32,
            1.0 / (1.0 - 0.9f32.powi(t as i32)),
            1.0 / (1.0 - 0.999f32.powi(t as i32)),
        );
        let rule = UpdateRule {
            optimizer,
            weight_decay: decay,
            lr,
            correction1: c1,
            correction2: c2,
        };
        cpu::optimizer_update(&mut w, &g, &mut m, &mut v, &rule);
        for i in 0..n {
            let g = g[i] as f64 + decay as f64 * w64[i];
            let u = match optimizer {
                Optimizer::Sgd => g,
                Optimizer::Momentum { momentum, nesterov } => {
                    m64[i] = momentum as f64 * m64[i] + g;
                    if nesterov {
                        g + momentum as f64 * m64[i]
                    } else {
                        m64[i]
                    }
                }
                Optimizer::Adam {
                    beta1,
                    beta2,
                    epsilon,
                } => {
                    let (b1, b2) = (beta1 as f64, beta2 as f64);
                    m64[i] = b1 * m64[i] + (1.0 - b1) * g;
                    v64[i] = b2 * v64[i] + (1.0 - b2) * g * g;
                    (m64[i] * c1 as f64) / ((v64[i] * c2 as f64).sqrt() + epsilon as f64)
                }
            };
            w64[i] -= lr as f64 * u;
        }
        let name = format!("{} n={n} step {t}", optimizer.name());
        assert_close(&name, &w, &w64, 1e-6, 1e-5);
    }
}

#[test]
fn optimizer_update_matches_oracle() {
    use neurona::Optimizer;
    // 1, odd, and past the size where the update runs on several threads.
    for n in [1, 37, 100_003] {
        for opt in [
            Optimizer::Sgd,
            Optimizer::momentum(0.9),
            Optimizer::nesterov(0.9),
            Optimizer::adam(),
        ] {
            check_optimizer(opt, n, n as u64);
        }
    }
}
