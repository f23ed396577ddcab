//! A [`Model`] as PyTorch: a folder with a Python module ([`MODULE`]) that
//! builds the model as an `nn.Sequential`, its state dict ([`STATE_DICT`])
//! and, for a model saved with its optimizer's state, that state
//! ([`OPTIMIZER`]) in the layout `torch.optim.SGD`/`Adam.load_state_dict`
//! takes, so training goes on in PyTorch where neurona stopped, to
//! rounding.
//!
//! The `nn.Sequential` is `Standardize` (when the inputs are standardised:
//! `(x − mean) / scale`, the model file's `standardize_mean` and
//! `standardize_scale` as buffers), then each layer's `nn.Linear` (weights
//! `[out, in]`, as in the model file) and its activation (`nn.Sigmoid`,
//! `nn.ReLU`, `nn.Tanh`, `nn.Identity`, `nn.Softmax(dim=-1)`), then
//! `Unstandardize` for regression targets standardised in training
//! (`z · scale + mean`): `model(x)` on the raw input columns is what
//! `neurona predict` gives. The state dict's tensors are named as the
//! `nn.Sequential` names them (`1.weight`, `1.bias`, `0.mean`, ...).
//!
//! The optimizer's state follows PyTorch: keyed by parameter index, in the
//! order of the optimizer's parameter groups (`model.parameters()`'s order;
//! with weight decay, whose neurona applies to weights only, a group of the
//! weights then one of the biases without decay), with
//! `momentum_buffer`, or `exp_avg`, `exp_avg_sq` and `step` (the updates
//! done, Adam's `t`). The module's `loss_fn` is neurona's loss with
//! PyTorch's functions: MSE is `½ Σ_j (ŷ_j − y_j)²` per row, on the
//! standardised targets; BCE and cross-entropy are computed from the
//! logits; all are averaged over the batch's rows.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, tensor::TensorView};

use super::{Decision, last_activation};
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::model_file::{Model, Training, write_atomically};
use crate::optimizer::{Optimizer, OptimizerState, Schedule};
use crate::targets::Task;

/// The Python module's file name.
pub const MODULE: &str = "neurona_model.py";
/// The state dict's file name (safetensors).
pub const STATE_DICT: &str = "state_dict.safetensors";
/// The optimizer state's file name (safetensors), written for models saved
/// with their optimizer's state.
pub const OPTIMIZER: &str = "optimizer.safetensors";

/// One module of the `nn.Sequential`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Standardize,
    /// Layer `i`'s `nn.Linear`.
    Linear(usize),
    Activation(Activation),
    Unstandardize,
}

/// The `nn.Sequential`'s modules, in order (their index is their name).
fn parts(model: &Model) -> Vec<Part> {
    let mut parts = Vec::new();
    if model.standardizer.is_some() {
        parts.push(Part::Standardize);
    }
    for (i, l) in model.network.layers().iter().enumerate() {
        parts.push(Part::Linear(i));
        parts.push(Part::Activation(l.activation()));
    }
    if model.target_standardizer.is_some() {
        parts.push(Part::Unstandardize);
    }
    parts
}

/// Write `model`'s PyTorch export into the folder `dir` (made if missing;
/// its parent must exist): [`MODULE`], [`STATE_DICT`] and, with optimizer
/// state, [`OPTIMIZER`]. `file` names the model in messages and in the
/// module. Each file is written under a temporary name and renamed.
/// Returns the files written.
pub fn save(model: &Model, file: &str, dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let optimizer = optimizer_of(model, file)?;
    let state_dict = state_dict_bytes(model, file)?;
    let optimizer_bytes = match &optimizer {
        Some((rule, state, training)) => {
            Some(optimizer_state_bytes(model, *rule, state, training, file)?)
        }
        None => None,
    };
    let module = module_source(model, file)?;
    if !dir.is_dir() {
        std::fs::create_dir(dir)
            .map_err(|e| Error::Io(format!("cannot make the folder {}: {e}", dir.display())))?;
    }
    let mut written = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
        let path = dir.join(name);
        write_atomically(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    write(MODULE, module.as_bytes())?;
    write(STATE_DICT, &state_dict)?;
    match &optimizer_bytes {
        Some(bytes) => write(OPTIMIZER, bytes)?,
        // An earlier export's state would not be this model's.
        None => match std::fs::remove_file(dir.join(OPTIMIZER)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::Io(format!(
                    "cannot remove an earlier export's {}: {e}",
                    dir.join(OPTIMIZER).display()
                )));
            }
            _ => {}
        },
    }
    Ok(written)
}

/// The model's optimizer, its state and the run's settings, when it was
/// saved with them; an error for state without the settings (PyTorch's
/// optimizer needs the learning rate).
fn optimizer_of<'a>(
    model: &'a Model,
    file: &str,
) -> Result<Option<(Optimizer, &'a OptimizerState, &'a Training)>> {
    match (&model.optimizer, &model.training) {
        (None, _) => Ok(None),
        (Some((rule, state)), Some(training)) => {
            state.check(&model.network, *rule)?;
            Ok(Some((*rule, state, training)))
        }
        (Some(_), None) => Err(Error::ModelFile(format!(
            "{file} holds an optimizer's state but not the run's settings (metadata training: the learning rate, weight decay and schedule), which a PyTorch optimizer needs"
        ))),
    }
}

/// neurona's `inputs x outputs` row-major weights as `[out, in]` values.
fn out_in(w: &[f32], n_in: usize, n_out: usize) -> Vec<f32> {
    let mut t = Vec::with_capacity(w.len());
    for o in 0..n_out {
        for j in 0..n_in {
            t.push(w[j * n_out + o]);
        }
    }
    t
}

/// Tensors as a safetensors file's bytes.
fn safetensors_bytes(file: &str, tensors: Vec<(String, Vec<usize>, Vec<f32>)>) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, values)| {
            let b = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, shape, b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, b)| {
            TensorView::new(Dtype::F32, shape.clone(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::ModelFile(format!("{file}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(|e| Error::ModelFile(format!("{file}: {e}")))
}

/// The state dict of the `nn.Sequential`, as safetensors bytes.
pub fn state_dict_bytes(model: &Model, file: &str) -> Result<Vec<u8>> {
    let layers = model.network.layers();
    let mut tensors = Vec::new();
    for (k, part) in parts(model).into_iter().enumerate() {
        let standardizer = match part {
            Part::Standardize => model.standardizer.as_ref(),
            Part::Unstandardize => model.target_standardizer.as_ref(),
            _ => None,
        };
        if let Some(s) = standardizer {
            tensors.push((format!("{k}.mean"), vec![s.mean.len()], s.mean.clone()));
            tensors.push((format!("{k}.scale"), vec![s.scale.len()], s.scale.clone()));
        }
        if let Part::Linear(i) = part {
            let l = &layers[i];
            let (n_in, n_out) = (l.inputs(), l.outputs());
            tensors.push((
                format!("{k}.weight"),
                vec![n_out, n_in],
                out_in(l.weights(), n_in, n_out),
            ));
            if let Some(b) = l.bias() {
                tensors.push((format!("{k}.bias"), vec![n_out], b.to_vec()));
            }
        }
    }
    safetensors_bytes(file, tensors)
}

/// Whether the optimizer has two parameter groups: weights with decay,
/// biases without (neurona never decays biases; PyTorch decays every
/// parameter of a group).
fn split_groups(model: &Model, training: &Training) -> bool {
    training.weight_decay != 0.0 && model.network.layers().iter().any(|l| l.bias().is_some())
}

/// PyTorch's index of each layer's weight and bias in the optimizer's
/// state: `model.parameters()`'s order, or with two groups the weights
/// first, then the biases.
fn parameter_indices(model: &Model, split: bool) -> Vec<(usize, Option<usize>)> {
    let layers = model.network.layers();
    let mut next = 0;
    let mut indices = Vec::with_capacity(layers.len());
    if split {
        let weights = layers.len();
        let mut biases = weights;
        for (i, l) in layers.iter().enumerate() {
            let b = l.bias().map(|_| {
                biases += 1;
                biases - 1
            });
            indices.push((i, b));
        }
        return indices;
    }
    for l in layers {
        let w = next;
        next += 1;
        let b = l.bias().map(|_| {
            next += 1;
            next - 1
        });
        indices.push((w, b));
    }
    indices
}

/// The optimizer's state as safetensors bytes: `state.{index}.{name}`.
fn optimizer_state_bytes(
    model: &Model,
    rule: Optimizer,
    state: &OptimizerState,
    training: &Training,
    file: &str,
) -> Result<Vec<u8>> {
    let names: &[&str] = match rule {
        Optimizer::Sgd => &[],
        Optimizer::Momentum { .. } => &["momentum_buffer"],
        Optimizer::Adam { .. } => &["exp_avg", "exp_avg_sq"],
    };
    let indices = parameter_indices(model, split_groups(model, training));
    let mut tensors = Vec::new();
    for (i, (l, (w_index, b_index))) in model.network.layers().iter().zip(indices).enumerate() {
        let (n_in, n_out) = (l.inputs(), l.outputs());
        for (name, moment) in names.iter().zip([&state.first, &state.second]) {
            let (w, b) = moment[i].split_at(n_in * n_out);
            tensors.push((
                format!("state.{w_index}.{name}"),
                vec![n_out, n_in],
                out_in(w, n_in, n_out),
            ));
            if let Some(b_index) = b_index {
                tensors.push((format!("state.{b_index}.{name}"), vec![n_out], b.to_vec()));
            }
        }
        if matches!(rule, Optimizer::Adam { .. }) {
            // PyTorch keeps Adam's step as a float32 scalar tensor.
            let step = state.steps as f32;
            tensors.push((format!("state.{w_index}.step"), vec![], vec![step]));
            if let Some(b_index) = b_index {
                tensors.push((format!("state.{b_index}.step"), vec![], vec![step]));
            }
        }
    }
    safetensors_bytes(file, tensors)
}

/// A Python string literal (JSON's escapes are Python's).
fn py_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// A Python list of strings.
fn py_strs(list: &[String]) -> String {
    serde_json::to_string(list).expect("strings serialise")
}

/// A Python float of an f32: the shortest form that reads back to the
/// same f32.
fn py_f32(v: f32) -> String {
    format!("{v:?}")
}

fn py_f32s(values: &[f32]) -> String {
    let items: Vec<String> = values.iter().map(|v| py_f32(*v)).collect();
    format!("[{}]", items.join(", "))
}

/// The `nn` module of a part, as Python.
fn part_source(model: &Model, part: Part) -> String {
    let layers = model.network.layers();
    match part {
        Part::Standardize => format!("Standardize({})", model.network.inputs()),
        Part::Unstandardize => format!("Unstandardize({})", model.network.outputs()),
        Part::Linear(i) => {
            let l = &layers[i];
            let bias = if l.bias().is_some() {
                ""
            } else {
                ", bias=False"
            };
            format!("nn.Linear({}, {}{bias})", l.inputs(), l.outputs())
        }
        Part::Activation(a) => match a {
            Activation::Sigmoid => "nn.Sigmoid()".into(),
            Activation::Relu => "nn.ReLU()".into(),
            Activation::Tanh => "nn.Tanh()".into(),
            Activation::Identity => "nn.Identity()".into(),
            Activation::Softmax => "nn.Softmax(dim=-1)".into(),
        },
    }
}

/// The generated module's text.
pub fn module_source(model: &Model, file: &str) -> Result<String> {
    let optimizer = optimizer_of(model, file)?;
    let parts = parts(model);
    let net = &model.network;
    let decision = Decision::of(model);
    // The file name only, kept printable, for the docstring.
    let source: String = Path::new(file)
        .file_name()
        .map_or(file.into(), |n| n.to_string_lossy().into_owned())
        .chars()
        .map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut py = String::new();
    let w = &mut py;

    // The docstring: what it is and how to use it.
    let optimizer_line = match &optimizer {
        Some((rule, state, _)) => format!(
            "\n- {OPTIMIZER}: the {} optimizer's state after {} steps, which\n  torch.optim.{}.load_state_dict takes as it is.",
            rule.name(),
            state.steps,
            torch_class(*rule)
        ),
        None => "\n(saved without its optimizer's state: neurona train --save-optimizer\nkeeps it)"
            .into(),
    };
    let y_means = match (&model.task, model.loss) {
        (Some(Task::Classes { labels }), _) if labels.len() > 2 => {
            "the class index of each row (a LongTensor), or one-hot rows"
        }
        (Some(Task::Classes { .. }), _) => "[rows, 1] of 0 or 1 (LABELS[1] is 1)",
        (Some(Task::MultiLabel), _) => "[rows, labels] of 0 or 1",
        (_, Loss::CrossEntropy) => "the class index of each row, or one-hot rows",
        (_, Loss::Bce) => "[rows, outputs] in [0, 1]",
        (_, Loss::Mse) => "[rows, outputs], the targets in their own units",
    };
    writeln!(
        w,
        r#""""neurona's model {source} in PyTorch: {net},
trained with {loss}.

Written by `neurona export --pytorch` (neurona {version}). Beside this file:
- {STATE_DICT}: the state dict of build()'s nn.Sequential, which
  load_state_dict takes as it is.{optimizer_line}

    import neurona_model as m
    model = m.load()                  # the nn.Sequential, trained weights
    p = model(x)                      # what `neurona predict` gives"#,
        loss = model.loss,
        version = env!("CARGO_PKG_VERSION"),
    )
    .unwrap();
    if optimizer.is_some() {
        writeln!(
            w,
            r#"    net = m.training_part(model)      # wrap this in DDP to train on many machines
    optimizer = m.load_optimizer(model)
    loss = m.loss_fn(net(x), y)       # neurona's loss on a batch
    optimizer.zero_grad(); loss.backward(); optimizer.step()"#
        )
        .unwrap();
    }
    writeln!(
        w,
        r#"
x: float32 [rows, {inputs}], the raw input columns FEATURES in order{standardised}.
y, as loss_fn takes it:
{y_means}. read_csv(path) gives both from a CSV file.
"""

import csv
import math
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

HERE = Path(__file__).resolve().parent

# The input columns, in order: x's columns, raw.
FEATURES = {features}
# The target columns.
TARGETS = {targets}
# classification, multi-label or regression (None: the model file does not say).
TASK = {task}
# The class of each output (for two classes on one sigmoid output: the
# negative one, then the positive one), or None.
LABELS = {labels}
# A sigmoid output at least this is class LABELS[1] (or label on).
THRESHOLD = {threshold}
# neurona's loss: "mse", "bce" or "ce" (see loss_fn).
LOSS = {loss}"#,
        inputs = net.inputs(),
        standardised = if model.standardizer.is_some() {
            " (the model standardises them)"
        } else {
            ""
        },
        features = py_strs(&model.features),
        targets = py_strs(&model.targets),
        task = model
            .task
            .as_ref()
            .map_or("None".into(), |t| py_str(t.name())),
        labels = match &decision {
            Decision::ArgMax { labels } | Decision::Binary { labels, .. } => py_strs(labels),
            _ => "None".into(),
        },
        threshold = py_f32(model.threshold),
        loss = py_str(model.loss.name()),
    )
    .unwrap();
    if let Some(t) = &model.target_standardizer {
        writeln!(
            w,
            r#"# The targets' standardisation in training: the network predicts
# (y - TARGET_MEAN) / TARGET_SCALE (Unstandardize undoes it).
TARGET_MEAN = {}
TARGET_SCALE = {}"#,
            py_f32s(&t.mean),
            py_f32s(&t.scale)
        )
        .unwrap();
    }

    // The layers.
    write!(
        w,
        r#"

class Standardize(nn.Module):
    """(x - mean) / scale per column: the z-scores neurona fitted on the
    training rows (buffers, in the state dict)."""

    def __init__(self, width):
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("scale", torch.ones(width))

    def forward(self, x):
        return (x - self.mean) / self.scale


class Unstandardize(nn.Module):
    """z * scale + mean per column: outputs trained on standardised
    targets back in the targets' units."""

    def __init__(self, width):
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("scale", torch.ones(width))

    def forward(self, z):
        return z * self.scale + self.mean


def build():
    """The model as an nn.Sequential with PyTorch's fresh weights; load()
    gives the trained ones."""
    return nn.Sequential(
"#
    )
    .unwrap();
    for part in &parts {
        writeln!(w, "        {},", part_source(model, *part)).unwrap();
    }
    // The training part: up to the output activation (MSE) or before it
    // (BCE and cross-entropy, from the logits).
    let last_act = parts
        .iter()
        .rposition(|p| matches!(p, Part::Activation(_)))
        .expect("a network has a layer");
    let from_logits = model.loss != Loss::Mse;
    let end = if from_logits { last_act } else { last_act + 1 };
    let what = if from_logits {
        format!(
            "the output layer's logits (before its {}), from which\n    neurona computes {}",
            last_activation(model),
            model.loss
        )
    } else {
        "the output layer's values, on the scale on which\n    neurona's MSE compares them with the targets".into()
    };
    let standardized_y = if model.target_standardizer.is_some() {
        "(y - torch.tensor(TARGET_MEAN)) / torch.tensor(TARGET_SCALE)"
    } else {
        "y"
    };
    let loss_body = match model.loss {
        Loss::Mse => format!(
            "0.5 * ((out - {standardized_y}) ** 2).sum(dim=1).mean()"
        ),
        Loss::Bce => "nn.functional.binary_cross_entropy_with_logits(out, y, reduction=\"none\").sum(dim=1).mean()".into(),
        Loss::CrossEntropy => "nn.functional.cross_entropy(out, y)".into(),
    };
    let loss_doc = match model.loss {
        Loss::Mse => {
            "MSE: 1/2 sum_j (out_j - y_j)^2 per row (on the standardised targets\n    when they were standardised), averaged over the rows. PyTorch's\n    nn.MSELoss() is 2 / outputs times this"
        }
        Loss::Bce => {
            "BCE from the logits, summed over the outputs of a row, averaged over\n    the rows (nn.BCEWithLogitsLoss() for one output)"
        }
        Loss::CrossEntropy => {
            "cross-entropy from the logits, averaged over the rows\n    (nn.CrossEntropyLoss(); y class indices or one-hot rows)"
        }
    };
    write!(
        w,
        r#"    )


def state_dict():
    """The trained model's state dict, named as build()'s modules name it."""
    return load_file(HERE / "{STATE_DICT}")


def load():
    """build() with the trained weights."""
    model = build()
    model.load_state_dict(state_dict())
    return model


def training_part(model):
    """The first modules of model, sharing its parameters, up to
    {what}.
    Train this part with loss_fn (wrapped in DistributedDataParallel on
    many machines)."""
    return model[:{end}]


def loss_fn(out, y):
    """neurona's loss of training_part(model)(x) = out against targets y:
    {loss_doc}."""
    return {loss_body}
"#
    )
    .unwrap();

    // Reading a CSV file as neurona does.
    let y_code = match (&model.task, model.loss) {
        (Some(Task::Classes { labels }), _) if labels.len() > 2 => {
            "torch.tensor([label_index(r[TARGETS[0]]) for r in rows])"
        }
        (Some(Task::Classes { .. }), _) => {
            "torch.tensor([[float(label_index(r[TARGETS[0]]))] for r in rows])"
        }
        _ => "torch.tensor([[float(r[c]) for c in TARGETS] for r in rows])",
    };
    write!(
        w,
        r#"

def label_index(label):
    """The index of class label in LABELS (numbers compare by value)."""
    if label in LABELS:
        return LABELS.index(label)
    for i, known in enumerate(LABELS):
        try:
            if float(known) == float(label):
                return i
        except ValueError:
            pass
    raise ValueError(f"{{label!r}} is not one of the model's classes {{LABELS}}")


def read_csv(path, delimiter=","):
    """x and y of a CSV file with a header row: x its FEATURES columns, y its
    TARGETS as loss_fn takes them (y is None without them)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    x = torch.tensor([[float(r[c]) for c in FEATURES] for r in rows])
    if not TARGETS or any(c not in rows[0] for c in TARGETS):
        return x, None
    return x, {y_code}
"#
    )
    .unwrap();
    match &decision {
        Decision::ArgMax { .. } => w.push_str(
            r#"

def classes(p):
    """The class label of each row of p = model(x), as neurona predict gives it."""
    return [LABELS[i] for i in p.argmax(dim=1).tolist()]
"#,
        ),
        Decision::Binary { .. } => w.push_str(
            r#"

def classes(p):
    """The class label of each row of p = model(x), as neurona predict gives it."""
    return [LABELS[int(v >= THRESHOLD)] for v in p[:, 0].tolist()]
"#,
        ),
        _ => {}
    }

    match optimizer {
        Some((rule, state, training)) => optimizer_source(w, model, rule, state, training),
        // The README's hand-over calls it: say why it cannot work.
        None => w.push_str(&format!(
            r#"

def load_optimizer(model):
    """Not in this export: {source} was saved without its optimizer's state."""
    raise RuntimeError(
        "{source} was saved without its optimizer's state, so training cannot go on "
        "exactly where neurona stopped: train with neurona train --save-optimizer, or "
        "make a new torch.optim optimizer over training_part(model).parameters()"
    )
"#
        )),
    }
    Ok(py)
}

/// `torch.optim`'s class for a rule.
fn torch_class(rule: Optimizer) -> &'static str {
    match rule {
        Optimizer::Adam { .. } => "Adam",
        _ => "SGD",
    }
}

/// The optimizer's part of the module: its settings, building it, its
/// state dict, and the learning-rate schedule.
fn optimizer_source(
    w: &mut String,
    model: &Model,
    rule: Optimizer,
    state: &OptimizerState,
    training: &Training,
) {
    let split = split_groups(model, training);
    let lr = training.learning_rate;
    // The rate of the next step, so that a run without the scheduler goes
    // on at the rate neurona would use next; the scheduler starts from
    // the base rate ("initial_lr").
    let next_lr = training.schedule.rate(lr, state.steps);
    let scheduled = training.schedule != Schedule::Constant;
    let settings = |decay: f32| -> String {
        let mut s = format!("\"lr\": {}", py_f32(next_lr));
        if scheduled {
            write!(s, ", \"initial_lr\": {}", py_f32(lr)).unwrap();
        }
        match rule {
            Optimizer::Sgd => write!(
                s,
                ", \"momentum\": 0.0, \"dampening\": 0.0, \"nesterov\": False"
            ),
            // PyTorch refuses Nesterov without momentum, where it changes
            // nothing.
            Optimizer::Momentum { momentum, nesterov } => write!(
                s,
                ", \"momentum\": {}, \"dampening\": 0.0, \"nesterov\": {}",
                py_f32(momentum),
                if nesterov && momentum > 0.0 {
                    "True"
                } else {
                    "False"
                }
            ),
            Optimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => write!(
                s,
                ", \"betas\": ({}, {}), \"eps\": {}, \"amsgrad\": False",
                py_f32(beta1),
                py_f32(beta2),
                py_f32(epsilon)
            ),
        }
        .unwrap();
        write!(
            s,
            ", \"weight_decay\": {}, \"maximize\": False",
            py_f32(decay)
        )
        .unwrap();
        s
    };
    let indices = parameter_indices(model, split);
    let groups = if split {
        let weights: Vec<String> = indices.iter().map(|(w, _)| w.to_string()).collect();
        let biases: Vec<String> = indices
            .iter()
            .filter_map(|(_, b)| b.map(|b| b.to_string()))
            .collect();
        format!(
            "    {{{}, \"params\": [{}]}},\n    {{{}, \"params\": [{}]}},\n",
            settings(training.weight_decay),
            weights.join(", "),
            settings(0.0),
            biases.join(", ")
        )
    } else {
        let all: Vec<String> = indices
            .iter()
            .flat_map(|(w, b)| std::iter::once(*w).chain(*b))
            .map(|i| i.to_string())
            .collect();
        format!(
            "    {{{}, \"params\": [{}]}},\n",
            settings(training.weight_decay),
            all.join(", ")
        )
    };
    let params = if split {
        r#"[
        {"params": [p for n, p in named if n.endswith("weight")]},
        {"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0},
    ]"#
    } else {
        "[p for _, p in named]"
    };
    let groups_doc = if split {
        "two parameter groups: the\n    weights with weight decay, then the biases without (neurona decays weights only)"
    } else {
        "one parameter group, model.parameters()"
    };
    write!(
        w,
        r#"

# The optimizer's settings and parameter groups, as torch.optim's
# state_dict() gives them: neurona's {name} after {steps} steps.
PARAM_GROUPS = [
{groups}]
# Updates done so far (the next one is number STEPS + 1, Adam's t).
STEPS = {steps}


def make_optimizer(model):
    """torch.optim.{class} over model's parameters (model, training_part(model),
    or either wrapped in DistributedDataParallel) with neurona's settings, in
    {groups_doc}."""
    named = list(model.named_parameters())
    settings = {{k: v for k, v in PARAM_GROUPS[0].items() if k not in ("params", "initial_lr")}}
    return torch.optim.{class}({params}, **settings)


def optimizer_state_dict():
    """The optimizer's state dict: the state of each parameter by its index,
    and PARAM_GROUPS."""
    state = {{}}
    for key, value in load_file(HERE / "{OPTIMIZER}").items():
        _, index, name = key.split(".")
        state.setdefault(int(index), {{}})[name] = value
    return {{"state": state, "param_groups": [dict(g) for g in PARAM_GROUPS]}}


def load_optimizer(model):
    """make_optimizer(model) with neurona's state loaded: training goes on
    where neurona stopped."""
    optimizer = make_optimizer(model)
    optimizer.load_state_dict(optimizer_state_dict())
    return optimizer
"#,
        name = rule.name(),
        steps = state.steps,
        class = torch_class(rule),
    )
    .unwrap();
    let rate = match training.schedule {
        Schedule::Constant => return,
        Schedule::Step { every, factor } => {
            format!("LEARNING_RATE * {} ** (step // {every})", py_f32(factor))
        }
        Schedule::Cosine { steps, floor } => format!(
            "LEARNING_RATE * ({floor} + (1 - {floor}) * 0.5 * (1 + math.cos(math.pi * min(step, {steps}) / {steps})))",
            floor = py_f32(floor)
        ),
    };
    write!(
        w,
        r#"

# The base learning rate; learning_rate(step) gives each step's.
LEARNING_RATE = {lr}


def learning_rate(step):
    """neurona's learning rate at step `step` (from 0, counted over the whole run)."""
    return {rate}


def make_scheduler(optimizer):
    """A LambdaLR giving each step neurona's rate: make it after
    load_optimizer, and call scheduler.step() after each optimizer.step()."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: learning_rate(STEPS + k) / LEARNING_RATE
    )
"#,
        lr = py_f32(lr),
    )
    .unwrap();
}
