//! The CPU path: the reference every GPU kernel is checked against, and what
//! users get when no GPU is there.
//!
//! Each step of training is its own function, named like the GPU kernel it
//! mirrors: [`matmul_bias_act`] (forward), [`output_delta`],
//! [`hidden_delta`], [`sgd_update`]. Matrix products go through the `gemm`
//! crate ([`matmul`](matmul/index.html)); buffers are allocated once per run.

mod backward;
mod forward;
pub mod matmul;
mod update;

pub use backward::{hidden_delta, output_delta};
pub use forward::matmul_bias_act;
pub use update::sgd_update;

use std::time::Instant;

use crate::batches::{BatchOrder, batch_ranges, shuffled_order};
use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::network::{Gradient, Network};
use crate::train::{Progress, TrainConfig, TrainReport};

/// Activations and deltas of every layer for batches of up to `rows` rows.
struct Workspace {
    rows: usize,
    acts: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
}

impl Workspace {
    fn new(layers: &[Layer], rows: usize) -> Self {
        Workspace {
            rows,
            acts: layers.iter().map(|l| vec![0.0; rows * l.outputs]).collect(),
            deltas: layers.iter().map(|l| vec![0.0; rows * l.outputs]).collect(),
        }
    }
}

/// Forward pass of `rows` rows of `x` through every layer into `acts`.
fn forward(layers: &[Layer], x: &[f32], rows: usize, acts: &mut [Vec<f32>]) {
    for (l, layer) in layers.iter().enumerate() {
        let (before, rest) = acts.split_at_mut(l);
        let a_in = if l == 0 { x } else { &before[l - 1][..] };
        matmul_bias_act(
            a_in,
            &layer.weights,
            layer.bias.as_deref(),
            layer.activation,
            &mut rest[0],
            rows,
            layer.inputs,
            layer.outputs,
        );
    }
}

/// Deltas of every layer for a batch whose forward pass is in `ws.acts`.
fn backward(layers: &[Layer], y: &[f32], rows: usize, config: &TrainConfig, ws: &mut Workspace) {
    let last = layers.len() - 1;
    let out = rows * layers[last].outputs;
    output_delta(
        &ws.acts[last][..out],
        &y[..out],
        config.loss,
        layers[last].activation,
        config.sigmoid_derivative,
        &mut ws.deltas[last][..out],
    );
    for l in (0..last).rev() {
        let (this, next) = ws.deltas.split_at_mut(l + 1);
        hidden_delta(
            &next[0],
            &layers[l + 1].weights,
            &ws.acts[l],
            layers[l].activation,
            config.sigmoid_derivative,
            &mut this[l],
            rows,
            layers[l].outputs,
            layers[l + 1].outputs,
        );
    }
}

/// SGD update of every layer from the deltas in `ws`, with step size `step`.
fn update(layers: &mut [Layer], x: &[f32], rows: usize, step: f32, ws: &Workspace) {
    for (l, layer) in layers.iter_mut().enumerate() {
        let a_in = if l == 0 { x } else { &ws.acts[l - 1][..] };
        sgd_update(
            &mut layer.weights,
            layer.bias.as_deref_mut(),
            a_in,
            &ws.deltas[l],
            rows,
            layer.inputs,
            layer.outputs,
            step,
        );
    }
}

/// Predictions for every row of `x` (already checked against the network).
pub(crate) fn predict(net: &Network, x: &Matrix) -> Matrix {
    let rows = x.rows();
    let mut ws = Workspace::new(net.layers(), rows);
    forward(net.layers(), x.as_slice(), rows, &mut ws.acts);
    let out = ws.acts.pop().unwrap_or_default();
    Matrix::new(rows, net.outputs(), out).expect("forward output has rows x outputs values")
}

/// Mean loss over all rows, in chunks of `ws.rows` rows.
fn mean_loss(
    layers: &[Layer],
    x: &Matrix,
    y: &Matrix,
    config: &TrainConfig,
    ws: &mut Workspace,
) -> f64 {
    let (n_in, n_out) = (x.cols(), y.cols());
    let mut total = 0.0;
    for (s, e) in batch_ranges(x.rows(), ws.rows) {
        let rows = e - s;
        forward(
            layers,
            &x.as_slice()[s * n_in..e * n_in],
            rows,
            &mut ws.acts,
        );
        let y_hat = &ws.acts[layers.len() - 1][..rows * n_out];
        total += config.loss.sum(y_hat, &y.as_slice()[s * n_out..e * n_out]);
    }
    total / x.rows() as f64
}

/// Copy rows `order` of `m` (with `cols` columns) into `out`.
fn gather(m: &[f32], cols: usize, order: &[u32], out: &mut Vec<f32>) {
    out.clear();
    for &r in order {
        let r = r as usize;
        out.extend_from_slice(&m[r * cols..(r + 1) * cols]);
    }
}

/// Run training steps `0..limit` (all of them when `limit` is past the end)
/// on `layers`; `Err((step, loss))` when the batch loss of `step` is not
/// finite, before that step's update.
#[allow(clippy::too_many_arguments)]
fn run_steps(
    layers: &mut [Layer],
    x: &Matrix,
    y: &Matrix,
    config: &TrainConfig,
    ws: &mut Workspace,
    limit: usize,
    on_progress: &mut dyn FnMut(&Progress),
    history: &mut Vec<Progress>,
) -> std::result::Result<usize, (usize, f64)> {
    let n = x.rows();
    let (n_in, n_out) = (x.cols(), y.cols());
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    let mut step = 0usize;
    for epoch in 0..config.epochs {
        let order = match config.order {
            BatchOrder::InOrder => None,
            BatchOrder::Shuffled { seed } => Some(shuffled_order(n, seed, epoch as u64)),
        };
        for (s, e) in batch_ranges(n, ws.rows) {
            if step == limit {
                return Ok(step);
            }
            let rows = e - s;
            let (xs, ys): (&[f32], &[f32]) = match &order {
                None => (
                    &x.as_slice()[s * n_in..e * n_in],
                    &y.as_slice()[s * n_out..e * n_out],
                ),
                Some(order) => {
                    gather(x.as_slice(), n_in, &order[s..e], &mut xb);
                    gather(y.as_slice(), n_out, &order[s..e], &mut yb);
                    (&xb, &yb)
                }
            };

            forward(layers, xs, rows, &mut ws.acts);
            let y_hat = &ws.acts[layers.len() - 1][..rows * n_out];
            let loss = config.loss.sum(y_hat, ys) / rows as f64;
            if !loss.is_finite() {
                return Err((step, loss));
            }
            if config.report_every > 0 && step.is_multiple_of(config.report_every) {
                let p = Progress { step, epoch, loss };
                on_progress(&p);
                history.push(p);
            }
            backward(layers, ys, rows, config, ws);
            update(layers, xs, rows, config.step_size(rows), ws);
            step += 1;
        }
    }
    Ok(step)
}

/// Train `net` on the CPU (see [`crate::train`] for the rule).
pub(crate) fn train(
    net: &mut Network,
    x: &Matrix,
    y: &Matrix,
    config: &TrainConfig,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<TrainReport> {
    let start = Instant::now();
    config.check(net)?;
    config.check_data(net, x, y)?;

    let batch = config.batch_size.unwrap_or(x.rows()).min(x.rows());
    let mut ws = Workspace::new(net.layers(), batch);
    // Kept to roll a diverged run back: runs are deterministic, so
    // replaying from here reproduces any earlier step exactly. One copy a
    // run, not one a step.
    let initial = net.layers().to_vec();
    let mut history = Vec::new();

    let layers = net.layers_mut();
    let outcome = run_steps(
        layers,
        x,
        y,
        config,
        &mut ws,
        usize::MAX,
        on_progress,
        &mut history,
    );
    let (diverged, steps, final_loss) = match outcome {
        Err((step, loss)) => (Some((step, loss)), step, loss),
        Ok(steps) => {
            let final_loss = mean_loss(layers, x, y, config, &mut ws);
            (
                (!final_loss.is_finite()).then_some((steps, final_loss)),
                steps,
                final_loss,
            )
        }
    };
    if let Some((step, loss)) = diverged {
        // The update of the step before broke the run: replay up to it.
        let broken = step.saturating_sub(1);
        layers.clone_from_slice(&initial);
        let _ = run_steps(
            layers,
            x,
            y,
            config,
            &mut ws,
            broken,
            &mut |_| {},
            &mut Vec::new(),
        );
        return Err(Error::Diverged { step: broken, loss });
    }
    Ok(TrainReport {
        history,
        steps,
        final_loss,
        elapsed: start.elapsed(),
    })
}

/// Gradients of the batch loss (reduced as `config.reduction` says) with
/// respect to every weight and bias, through the same steps as training:
/// `sgd_update` applied to zeros with step `−1` (sum) or `−1/B` (mean).
pub(crate) fn gradients(
    net: &Network,
    x: &Matrix,
    y: &Matrix,
    config: &TrainConfig,
) -> Result<Vec<Gradient>> {
    config.check(net)?;
    config.check_data(net, x, y)?;
    let rows = x.rows();
    let layers = net.layers();
    let mut ws = Workspace::new(layers, rows);
    forward(layers, x.as_slice(), rows, &mut ws.acts);
    backward(layers, y.as_slice(), rows, config, &mut ws);

    let mut grads = layers.to_vec();
    for g in &mut grads {
        g.weights.fill(0.0);
        if let Some(b) = &mut g.bias {
            b.fill(0.0);
        }
    }
    let step = match config.reduction {
        crate::train::Reduction::Mean => -1.0 / rows as f32,
        crate::train::Reduction::Sum => -1.0,
    };
    update(&mut grads, x.as_slice(), rows, step, &ws);
    Ok(grads
        .into_iter()
        .map(|g| Gradient {
            weights: g.weights,
            bias: g.bias,
        })
        .collect())
}
