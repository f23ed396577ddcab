//! The whole backward pass against central finite differences of the loss,
//! computed in f64 from the network's f32 weights: every activation, with and
//! without bias, MSE, BCE and softmax with cross-entropy, mean and sum
//! reductions.
//!
//! Tolerance: the analytic gradient is computed in f32 (relative error about
//! 1e-6 per operation) and the f64 difference quotient with h = 1e-6 is
//! accurate to about 1e-9, so 2e-5 absolute plus 1e-3 relative is loose
//! enough for rounding and tight enough to catch any wrong factor or term.

use crate::common::{assert_close, random_matrix};
use neurona::{Activation, Layer, Loss, Matrix, Network, Reduction, TrainConfig};

/// The loss of `net` (weights widened to f64, one parameter moved by `nudge`)
/// on `x`, `y`, evaluated entirely in f64.
fn loss64(net: &Network, x: &Matrix, y: &Matrix, cfg: &TrainConfig, nudge: Option<Param>) -> f64 {
    let mut a: Vec<f64> = x.as_slice().iter().map(|v| *v as f64).collect();
    for (l, layer) in net.layers().iter().enumerate() {
        let (n_in, n_out) = (layer.inputs(), layer.outputs());
        let mut w: Vec<f64> = layer.weights().iter().map(|v| *v as f64).collect();
        let mut b: Vec<f64> = layer
            .bias()
            .map_or(vec![0.0; n_out], |b| b.iter().map(|v| *v as f64).collect());
        match nudge {
            Some(Param::Weight(pl, i, h)) if pl == l => w[i] += h,
            Some(Param::Bias(pl, j, h)) if pl == l => b[j] += h,
            _ => {}
        }
        let rows = x.rows();
        let mut out = vec![0.0; rows * n_out];
        for r in 0..rows {
            for j in 0..n_out {
                let mut z = b[j];
                for i in 0..n_in {
                    z += a[r * n_in + i] * w[i * n_out + j];
                }
                out[r * n_out + j] = match layer.activation() {
                    Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
                    Activation::Relu => z.max(0.0),
                    Activation::Tanh => z.tanh(),
                    Activation::Identity | Activation::Softmax => z,
                };
            }
            if layer.activation() == Activation::Softmax {
                let row = &mut out[r * n_out..(r + 1) * n_out];
                let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = row.iter().map(|z| (z - max).exp()).sum();
                row.iter_mut().for_each(|z| *z = (*z - max).exp() / sum);
            }
        }
        a = out;
    }
    let total: f64 = a
        .iter()
        .zip(y.as_slice())
        .map(|(&p, &t)| {
            let t = t as f64;
            match cfg.loss.expect("the test sets its loss") {
                Loss::Mse => 0.5 * (p - t) * (p - t),
                Loss::Bce => -(t * p.ln() + (1.0 - t) * (1.0 - p).ln()),
                Loss::CrossEntropy => -t * p.ln(),
            }
        })
        .sum();
    match cfg.reduction {
        Reduction::Mean => total / x.rows() as f64,
        Reduction::Sum => total,
    }
}

#[derive(Clone, Copy)]
enum Param {
    Weight(usize, usize, f64),
    Bias(usize, usize, f64),
}

fn finite_difference(
    net: &Network,
    x: &Matrix,
    y: &Matrix,
    cfg: &TrainConfig,
    p: impl Fn(f64) -> Param,
) -> f64 {
    const H: f64 = 1e-6;
    (loss64(net, x, y, cfg, Some(p(H))) - loss64(net, x, y, cfg, Some(p(-H)))) / (2.0 * H)
}

fn check(hidden: Activation, output: Activation, bias: bool, loss: Loss, reduction: Reduction) {
    let widths = [3usize, 5, 4, 2];
    let layers: Vec<Layer> = (0..3)
        .map(|l| {
            let (n_in, n_out) = (widths[l], widths[l + 1]);
            let act = if l == 2 { output } else { hidden };
            let w = random_matrix(10 + l as u64, n_in, n_out, -1.0, 1.0);
            let b = bias.then(|| random_matrix(20 + l as u64, 1, n_out, -0.5, 0.5));
            Layer::new(n_in, n_out, act, w, b)
        })
        .collect();
    let net = Network::from_layers(layers).unwrap();
    let rows = 6;
    let x = Matrix::new(rows, 3, random_matrix(1, rows, 3, -1.0, 1.0)).unwrap();
    let mut y = random_matrix(2, rows, 2, 0.0, 1.0);
    if loss == Loss::CrossEntropy {
        // Each row a distribution over the two classes.
        for r in y.chunks_exact_mut(2) {
            r[1] = 1.0 - r[0];
        }
    }
    let y = Matrix::new(rows, 2, y).unwrap();
    let cfg = crate::common::plain().loss(loss).reduction(reduction);

    let grads = net.gradients(&x, &y, &cfg).unwrap();
    let case = format!("{hidden}/{output} bias={bias} {loss} {reduction:?}");
    for (l, (layer, g)) in net.layers().iter().zip(&grads).enumerate() {
        let fd: Vec<f64> = (0..layer.weights().len())
            .map(|i| finite_difference(&net, &x, &y, &cfg, |h| Param::Weight(l, i, h)))
            .collect();
        assert_close(
            &format!("dW layer {} ({case})", l + 1),
            &g.weights,
            &fd,
            2e-5,
            1e-3,
        );
        match (&g.bias, layer.bias()) {
            (Some(gb), Some(_)) => {
                let fd: Vec<f64> = (0..layer.outputs())
                    .map(|j| finite_difference(&net, &x, &y, &cfg, |h| Param::Bias(l, j, h)))
                    .collect();
                assert_close(&format!("db layer {} ({case})", l + 1), gb, &fd, 2e-5, 1e-3);
            }
            (None, None) => {}
            _ => panic!("{case}: gradient and layer disagree on having a bias"),
        }
    }
}

#[test]
fn mse_gradients_match_finite_differences() {
    for act in Activation::ALL {
        for bias in [false, true] {
            check(act, act, bias, Loss::Mse, Reduction::Mean);
        }
    }
    check(
        Activation::Tanh,
        Activation::Sigmoid,
        true,
        Loss::Mse,
        Reduction::Sum,
    );
}

#[test]
fn bce_gradients_match_finite_differences() {
    for act in Activation::ALL {
        for bias in [false, true] {
            check(act, Activation::Sigmoid, bias, Loss::Bce, Reduction::Mean);
        }
    }
    check(
        Activation::Relu,
        Activation::Sigmoid,
        true,
        Loss::Bce,
        Reduction::Sum,
    );
}

#[test]
fn softmax_cross_entropy_gradients_match_finite_differences() {
    for act in Activation::ALL {
        for bias in [false, true] {
            check(
                act,
                Activation::Softmax,
                bias,
                Loss::CrossEntropy,
                Reduction::Mean,
            );
        }
    }
    check(
        Activation::Tanh,
        Activation::Softmax,
        true,
        Loss::CrossEntropy,
        Reduction::Sum,
    );
}

#[test]
fn notebook_derivative_is_not_the_gradient() {
    // The notebook's `1 − s` must give a different (wrong) gradient; if it
    // matched, the switch would not be doing anything.
    let (x, y) = crate::common::notebook_data();
    let net = crate::common::notebook_network();
    let exact = net.gradients(&x, &y, &TrainConfig::notebook()).unwrap();
    let notebook_cfg =
        TrainConfig::notebook().sigmoid_derivative(neurona::SigmoidDerivative::NotebookOneMinusS);
    let wrong = net.gradients(&x, &y, &notebook_cfg).unwrap();
    let fd: Vec<f64> = (0..net.layers()[1].weights().len())
        .map(|i| {
            finite_difference(&net, &x, &y, &TrainConfig::notebook(), |h| {
                Param::Weight(1, i, h)
            })
        })
        .collect();
    assert_close("exact dW2", &exact[1].weights, &fd, 2e-5, 1e-3);
    let max_err = wrong[1]
        .weights
        .iter()
        .zip(&fd)
        .map(|(g, f)| (*g as f64 - f).abs())
        .fold(0.0, f64::max);
    assert!(
        max_err > 1e-2,
        "notebook derivative unexpectedly matches the gradient"
    );
}
