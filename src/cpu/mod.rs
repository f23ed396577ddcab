//! The CPU path: the reference every GPU kernel is checked against, and what
//! users get when no GPU is there.
//!
//! Each step of training is its own function, named like the GPU kernel it
//! mirrors: [`matmul_bias_act`] (forward), [`output_delta`],
//! [`hidden_delta`], [`sgd_update`], and for other optimizers
//! [`weight_gradient`] then [`optimizer_update`]; a softmax (or, with BCE,
//! sigmoid) output goes through [`output_activation`]. Matrix products go
//! through the `gemm` crate ([`matmul`](matmul/index.html)); buffers are
//! allocated once per run.

mod backward;
mod forward;
pub mod matmul;
mod update;

pub use backward::{hidden_delta, output_delta};
pub use forward::{matmul_bias_act, output_activation};
pub use update::{optimizer_update, sgd_update, weight_gradient};

use std::ops::Range;

use crate::batches::{BatchOrder, batch_ranges, shuffled_order};
use crate::config::{Reduction, TrainConfig};
use crate::error::Result;
use crate::layer::Gradient;
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::memory;
use crate::network::Network;
use crate::optimizer::OptimizerState;
use crate::plan::{PlannedStep, Runner, StepPlan, Validated};

/// Activations and deltas of every layer for batches of up to `rows` rows,
/// the output layer's logits, and (for optimizers other than plain SGD)
/// each layer's gradient.
struct Workspace {
    rows: usize,
    acts: Vec<Vec<f32>>,
    deltas: Vec<Vec<f32>>,
    logits: Vec<f32>,
    grads: Vec<Vec<f32>>,
}

impl Workspace {
    /// Buffers for batches of `rows` rows; an error naming the bytes when
    /// the machine cannot hold them.
    fn new(layers: &[Layer], rows: usize, with_grads: bool) -> Result<Self> {
        let outputs = layers.last().map_or(0, |l| l.outputs);
        let per_row = |n: usize| rows.checked_mul(n).and_then(memory::bytes_of::<f32>);
        let bytes = memory::total(
            layers
                .iter()
                .flat_map(|l| [per_row(l.outputs), per_row(l.outputs)])
                .chain([per_row(outputs)])
                .chain(layers.iter().map(|l| {
                    let grads = if with_grads { l.parameter_count() } else { 0 };
                    memory::bytes_of::<f32>(grads)
                })),
        );
        let what = format!("the activations and deltas of {rows} rows");
        memory::check(&what, bytes)?;
        let zeros = |n: usize| memory::zeros(&what, n);
        Ok(Workspace {
            rows,
            acts: layers
                .iter()
                .map(|l| zeros(rows * l.outputs))
                .collect::<Result<_>>()?,
            deltas: layers
                .iter()
                .map(|l| zeros(rows * l.outputs))
                .collect::<Result<_>>()?,
            logits: zeros(rows * outputs)?,
            grads: if with_grads {
                layers
                    .iter()
                    .map(|l| zeros(l.parameter_count()))
                    .collect::<Result<_>>()?
            } else {
                Vec::new()
            },
        })
    }
}

/// Forward pass of `rows` rows of `x` through every layer into `acts`. With
/// `keep_logits` (or a softmax output) the last product goes to `logits`
/// and the output activation is applied from there (see
/// [`output_activation`]).
fn forward(
    layers: &[Layer],
    x: &[f32],
    rows: usize,
    acts: &mut [Vec<f32>],
    logits: &mut [f32],
    keep_logits: bool,
) {
    let last = layers.len() - 1;
    for (l, layer) in layers.iter().enumerate() {
        let (before, rest) = acts.split_at_mut(l);
        let a_in = if l == 0 { x } else { &before[l - 1][..] };
        let via_logits = l == last && (keep_logits || layer.activation.is_row_wise());
        matmul_bias_act(
            a_in,
            &layer.weights,
            layer.bias.as_deref(),
            if via_logits {
                crate::Activation::Identity
            } else {
                layer.activation
            },
            if via_logits { logits } else { &mut rest[0] },
            rows,
            layer.inputs,
            layer.outputs,
        );
        if via_logits {
            let z = &logits[..rows * layer.outputs];
            output_activation(z, layer.activation, &mut rest[0], layer.outputs);
        }
    }
}

/// The batch's loss sum, from what the forward pass left in `ws`.
fn batch_loss(config: &TrainConfig, ws: &Workspace, y: &[f32], count: usize) -> f64 {
    if config.objective().uses_logits() {
        let cols = ws.logits.len() / ws.rows.max(1);
        config
            .objective()
            .sum_from_logits(&ws.logits[..count], y, cols)
    } else {
        config
            .objective()
            .sum(&ws.acts[ws.acts.len() - 1][..count], y)
    }
}

/// Deltas of every layer for a batch whose forward pass is in `ws.acts`.
fn backward(layers: &[Layer], y: &[f32], rows: usize, config: &TrainConfig, ws: &mut Workspace) {
    let last = layers.len() - 1;
    let out = rows * layers[last].outputs;
    output_delta(
        &ws.acts[last][..out],
        &y[..out],
        config.objective(),
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

/// Update number `t` of every layer from the deltas in `ws`: the fused SGD
/// update, or the gradient then the optimizer's step on `state`.
#[allow(clippy::too_many_arguments)]
fn apply_update(
    layers: &mut [Layer],
    x: &[f32],
    rows: usize,
    config: &TrainConfig,
    t: u64,
    ws: &mut Workspace,
    state: &mut OptimizerState,
) {
    let rates = config.rates(t, rows);
    if config.fused_sgd() {
        return update(layers, x, rows, rates.sgd_step, ws);
    }
    for (l, layer) in layers.iter_mut().enumerate() {
        let a_in = if l == 0 { x } else { &ws.acts[l - 1][..] };
        let grad = &mut ws.grads[l];
        weight_gradient(
            grad,
            layer.bias.is_some(),
            a_in,
            &ws.deltas[l],
            rows,
            layer.inputs,
            layer.outputs,
            rates.gradient_scale,
        );
        let n = layer.weights.len();
        fn split(v: &mut [Vec<f32>], l: usize, n: usize) -> (&mut [f32], &mut [f32]) {
            match v.get_mut(l) {
                Some(m) => m.split_at_mut(n),
                None => (&mut [], &mut []),
            }
        }
        let (m_w, m_b) = split(&mut state.first, l, n);
        let (v_w, v_b) = split(&mut state.second, l, n);
        let (g_w, g_b) = grad.split_at(n);
        optimizer_update(&mut layer.weights, g_w, m_w, v_w, &rates.rule(config, true));
        if let Some(b) = &mut layer.bias {
            optimizer_update(b, g_b, m_b, v_b, &rates.rule(config, false));
        }
    }
}

/// Rows a prediction or evaluation handles at a time, so its buffers stay
/// small whatever the data set's size.
const CHUNK_ROWS: usize = 4096;

/// Predictions for every row of `x` (already checked against the network),
/// in chunks of [`CHUNK_ROWS`] rows.
pub(crate) fn predict(net: &Network, x: &Matrix) -> Result<Matrix> {
    let (rows, n_in, n_out) = (x.rows(), x.cols(), net.outputs());
    let what = format!("the predictions for {rows} rows");
    let mut out = memory::with_capacity(&what, rows.saturating_mul(n_out))?;
    let mut ws = Workspace::new(net.layers(), rows.min(CHUNK_ROWS), false)?;
    for (s, e) in batch_ranges(rows, ws.rows) {
        forward(
            net.layers(),
            &x.as_slice()[s * n_in..e * n_in],
            e - s,
            &mut ws.acts,
            &mut ws.logits,
            false,
        );
        out.extend_from_slice(&ws.acts[net.layers().len() - 1][..(e - s) * n_out]);
    }
    Matrix::new(rows, n_out, out)
}

/// The mean loss over `x`, `y` and the predictions, from one forward pass
/// over chunks of [`CHUNK_ROWS`] rows.
fn evaluate(layers: &[Layer], x: &Matrix, y: &Matrix, config: &TrainConfig) -> Result<Validated> {
    let (rows, n_in, n_out) = (x.rows(), x.cols(), y.cols());
    let what = format!("the predictions for {rows} rows");
    let mut out = memory::with_capacity(&what, rows.saturating_mul(n_out))?;
    let mut ws = Workspace::new(layers, rows.min(CHUNK_ROWS), false)?;
    let logits = config.objective().uses_logits();
    let mut total = 0.0;
    for (s, e) in batch_ranges(rows, ws.rows) {
        let xs = &x.as_slice()[s * n_in..e * n_in];
        forward(layers, xs, e - s, &mut ws.acts, &mut ws.logits, logits);
        let sum = batch_loss(
            config,
            &ws,
            &y.as_slice()[s * n_out..e * n_out],
            (e - s) * n_out,
        );
        // Beyond f32's range is infinite, as on the GPU (see the driver).
        total += if (sum as f32).is_finite() || sum.is_nan() {
            sum
        } else {
            f64::INFINITY
        };
        out.extend_from_slice(&ws.acts[layers.len() - 1][..(e - s) * n_out]);
    }
    Ok(Validated {
        loss: total / rows as f64,
        predictions: Matrix::new(rows, n_out, out)?,
    })
}

/// Mean loss of `net` over every row of `x`, in batches of up to 4,096.
pub(crate) fn evaluate_loss(
    net: &Network,
    x: &Matrix,
    y: &Matrix,
    config: &TrainConfig,
) -> Result<f64> {
    let mut ws = Workspace::new(net.layers(), x.rows().min(CHUNK_ROWS), false)?;
    Ok(mean_loss(net.layers(), x, y, config, &mut ws))
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
            &mut ws.logits,
            config.objective().uses_logits(),
        );
        let sum = batch_loss(
            config,
            ws,
            &y.as_slice()[s * n_out..e * n_out],
            rows * n_out,
        );
        // Beyond f32's range is infinite, as on the GPU (see run_steps).
        if !(sum as f32).is_finite() {
            return if sum.is_nan() { sum } else { f64::INFINITY };
        }
        total += sum;
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

/// The CPU path's side of a run: the data, the settings and the workspace
/// for batches of the run's size, made once. It trains the caller's
/// layers in place.
pub(crate) struct CpuRunner<'a> {
    x: &'a Matrix,
    y: &'a Matrix,
    validation: Option<(&'a Matrix, &'a Matrix)>,
    config: &'a TrainConfig,
    ws: Workspace,
    /// The best epoch's parameters and state (early stopping).
    best: Option<(Vec<Layer>, OptimizerState)>,
    /// The rows of the current batch, when shuffled.
    xb: Vec<f32>,
    yb: Vec<f32>,
    /// The epoch whose shuffled order `order` holds.
    order: Option<(u64, Vec<u32>)>,
}

impl<'a> CpuRunner<'a> {
    /// A runner for `config` on `x`, `y` (checked by the driver).
    pub(crate) fn new(
        net: &Network,
        x: &'a Matrix,
        y: &'a Matrix,
        validation: Option<(&'a Matrix, &'a Matrix)>,
        config: &'a TrainConfig,
    ) -> Result<Self> {
        let batch = config.batch_rows(x.rows());
        Ok(CpuRunner {
            x,
            y,
            validation,
            config,
            best: None,
            ws: Workspace::new(net.layers(), batch, !config.fused_sgd())?,
            xb: Vec::new(),
            yb: Vec::new(),
            order: None,
        })
    }
}

impl Runner for CpuRunner<'_> {
    fn trains_in_place(&self) -> bool {
        true
    }

    async fn train(
        &mut self,
        layers: &mut [Layer],
        state: &mut OptimizerState,
        plan: &StepPlan,
        steps: Range<u64>,
        seen: &mut dyn FnMut(&PlannedStep, f64) -> bool,
    ) -> Result<()> {
        let (x, y, config) = (self.x, self.y, self.config);
        let (n_in, n_out) = (x.cols(), y.cols());
        for i in steps {
            let s = plan.step(i);
            let (start, end) = (s.start, s.start + s.rows);
            let (xs, ys): (&[f32], &[f32]) = match config.order {
                BatchOrder::InOrder => (
                    &x.as_slice()[start * n_in..end * n_in],
                    &y.as_slice()[start * n_out..end * n_out],
                ),
                BatchOrder::Shuffled { seed } => {
                    if self.order.as_ref().is_none_or(|(e, _)| *e != s.epoch) {
                        self.order = Some((s.epoch, shuffled_order(x.rows(), seed, s.epoch)));
                    }
                    let order = &self.order.as_ref().expect("just set").1[start..end];
                    gather(x.as_slice(), n_in, order, &mut self.xb);
                    gather(y.as_slice(), n_out, order, &mut self.yb);
                    (&self.xb, &self.yb)
                }
            };
            let ws = &mut self.ws;
            forward(
                layers,
                xs,
                s.rows,
                &mut ws.acts,
                &mut ws.logits,
                config.objective().uses_logits(),
            );
            let sum = batch_loss(config, ws, ys, s.rows * n_out);
            if !seen(&s, sum) {
                return Ok(());
            }
            backward(layers, ys, s.rows, config, ws);
            apply_update(layers, xs, s.rows, config, s.t, ws, state);
        }
        Ok(())
    }

    async fn mean_loss(&mut self, layers: &[Layer]) -> Result<f64> {
        Ok(mean_loss(layers, self.x, self.y, self.config, &mut self.ws))
    }

    async fn load(&mut self, _: &[Layer], _: &OptimizerState) -> Result<()> {
        Ok(()) // trains the caller's layers in place
    }

    async fn store(&mut self, _: &mut [Layer], _: &mut OptimizerState) -> Result<()> {
        Ok(())
    }

    async fn evaluate(&mut self, layers: &[Layer]) -> Result<Validated> {
        let (x, y) = self.validation.expect("a runner made with validation rows");
        evaluate(layers, x, y, self.config)
    }

    async fn keep_best(&mut self, layers: &[Layer], state: &OptimizerState) -> Result<()> {
        self.best = Some((layers.to_vec(), state.clone()));
        Ok(())
    }

    async fn restore_best(
        &mut self,
        layers: &mut [Layer],
        state: &mut OptimizerState,
    ) -> Result<()> {
        if let Some((kept, saved)) = &self.best {
            layers.clone_from_slice(kept);
            *state = saved.clone();
        }
        Ok(())
    }
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
    let mut ws = Workspace::new(layers, rows, false)?;
    let logits = config.objective().uses_logits();
    forward(
        layers,
        x.as_slice(),
        rows,
        &mut ws.acts,
        &mut ws.logits,
        logits,
    );
    backward(layers, y.as_slice(), rows, config, &mut ws);

    let mut grads = layers.to_vec();
    for g in &mut grads {
        g.weights.fill(0.0);
        if let Some(b) = &mut g.bias {
            b.fill(0.0);
        }
    }
    let step = match config.reduction {
        Reduction::Mean => -1.0 / rows as f32,
        Reduction::Sum => -1.0,
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
