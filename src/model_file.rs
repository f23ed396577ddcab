//! Model files: [safetensors](https://github.com/huggingface/safetensors),
//! one tensor per layer in PyTorch's `nn.Linear` layout, so a model opens
//! in Python and loads into a `torch.nn.Sequential` of `Linear` layers.
//!
//! - `layers.{i}.weight`: f32, shape `[out, in]` (the transpose of
//!   neurona's `inputs x outputs`), `i` from 0.
//! - `layers.{i}.bias`: f32, shape `[out]`, for layers with a bias.
//! - Metadata (strings): `format` = `neurona-model`, `neurona_version`,
//!   `activations` (a JSON list, e.g. `["relu","sigmoid"]`), `loss`,
//!   `features` (JSON list of input column names), `targets` (JSON list of
//!   target columns; `target` too when there is one), `task`
//!   (`classification`, `multi-label` or `regression`), `labels` (JSON list
//!   of the class labels, in the order of the outputs; `classes` their
//!   count), `threshold` (for sigmoid outputs), `standardize_mean` and
//!   `standardize_scale` (JSON lists, when inputs are standardised),
//!   `target_mean` and `target_scale` (regression targets, standardised for
//!   training: predictions are `z · scale + mean`), and `training` (JSON:
//!   the run's settings and data split, so `--init` can resume it).
//! - With the optimizer's state (`--save-optimizer`, [`Model::optimizer`]):
//!   its tensors in the shape of the parameter they belong to, named as
//!   PyTorch's optimizers name them: `optimizer.layers.{i}.weight.momentum_buffer`
//!   (momentum), `optimizer.layers.{i}.weight.exp_avg` and `.exp_avg_sq`
//!   (Adam), the same for `.bias`; and metadata `optimizer`, a JSON object
//!   with the rule, its settings and the `steps` and `epochs` done.
//!
//! Files written elsewhere (numpy, PyTorch) in the same layout can start a
//! training run ([`read_layers`]); f64 tensors are converted to f32.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::activation::Activation;
use crate::data::Standardizer;
use crate::error::{Error, Result};
use crate::layer::Layer;
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::network::Network;
use crate::optimizer::Schedule;
use crate::optimizer::{Optimizer, OptimizerState};
use crate::targets::Task;

/// A trained network with what it needs to be used on new data.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The network.
    pub network: Network,
    /// The loss it was trained with.
    pub loss: Loss,
    /// Names of the input columns, in order.
    pub features: Vec<String>,
    /// Names of the target columns, if known.
    pub targets: Vec<String>,
    /// What it learned: classes (with their labels), multi-label or
    /// regression; `None` for files that do not say.
    pub task: Option<Task>,
    /// The decision threshold of sigmoid outputs (binary and multi-label).
    pub threshold: f32,
    /// The standardisation fitted on the training inputs, if any.
    pub standardizer: Option<Standardizer>,
    /// The standardisation of regression targets during training, if any:
    /// the network predicts z-scores, given back as `z · scale + mean`.
    pub target_standardizer: Option<Standardizer>,
    /// The optimizer and its state, to resume training exactly; `None`
    /// saves the weights alone.
    pub optimizer: Option<(Optimizer, OptimizerState)>,
    /// How it was trained, for a run that goes on from it.
    pub training: Option<Training>,
}

/// The settings and data split of the run a model came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// The base learning rate.
    pub learning_rate: f32,
    /// Rows per step (`None`: the full batch).
    pub batch_size: Option<usize>,
    /// L2 weight decay.
    pub weight_decay: f32,
    /// The schedule, in steps.
    pub schedule: Schedule,
    /// The seed of the weights, the shuffles and the splits.
    pub seed: u64,
    /// Shares of the data's rows held out for testing and validation.
    pub test_split: f64,
    pub validation_split: f64,
    /// Rows of the data file the split was drawn from.
    pub rows: usize,
}

impl Model {
    /// `network` trained with `loss`, and nothing else known: no column
    /// names, task, standardisation or optimizer state; threshold 0.5.
    pub fn new(network: Network, loss: Loss) -> Model {
        Model {
            network,
            loss,
            features: Vec::new(),
            targets: Vec::new(),
            task: None,
            threshold: 0.5,
            standardizer: None,
            target_standardizer: None,
            optimizer: None,
            training: None,
        }
    }

    /// The class labels, for a classifier.
    pub fn labels(&self) -> Option<&[String]> {
        match &self.task {
            Some(Task::Classes { labels }) => Some(labels),
            _ => None,
        }
    }

    /// Predictions for `inputs` as the model was trained to give them:
    /// standardised first when it was trained so, and regression outputs
    /// back in the targets' units.
    pub fn predict(&self, inputs: &Matrix) -> Result<Matrix> {
        let x = match &self.standardizer {
            Some(s) => s.apply(inputs)?,
            None => inputs.clone(),
        };
        let p = self.network.predict(&x)?;
        match &self.target_standardizer {
            Some(t) => t.invert(&p),
            None => Ok(p),
        }
    }
}

/// Several networks trained on the same data that predict together: the
/// mean of their outputs (of the probabilities, for classes), as
/// `neurona sweep --ensemble` saves them. The first member carries what
/// is known of the data (features, task, labels, standardisation); every
/// member takes the same inputs and gives the same outputs.
///
/// In a file the first member is stored as a model is (`layers.{i}.*`,
/// so [`Model::load`] and PyTorch read it alone), the others as
/// `members.{m}.layers.{i}.weight` and `.bias` (`m` from 1), with metadata
/// `ensemble`: JSON `{"members": n, "activations": [[...], ...]}`, the
/// activations of members 1 to n − 1. [`Ensemble::load`] reads a single
/// model's file too, as an ensemble of one.
///
/// ```
/// use neurona::model_file::{Ensemble, Model};
/// use neurona::{Activation, Loss, Matrix, Network};
/// let net = |seed| Network::builder(2).layer(3, Activation::Softmax).build(seed);
/// let ensemble = Ensemble::new(Model::new(net(1)?, Loss::CrossEntropy), vec![net(2)?, net(3)?])?;
/// let x = Matrix::from_rows(&[[0.5, -1.0]])?;
/// let p = ensemble.predict(&x)?;
/// let mean: f32 = (1..=3).map(|s| net(s).unwrap().predict(&x).unwrap().row(0)[0]).sum::<f32>() / 3.0;
/// assert!((p.row(0)[0] - mean).abs() < 1e-6);
/// # Ok::<(), neurona::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// The first member, with what is known of the data.
    pub model: Model,
    /// The other members' networks.
    pub others: Vec<Network>,
}

impl Ensemble {
    /// `model` and the networks `others`, checked: each takes the model's
    /// inputs and gives its outputs through the same output activation.
    pub fn new(model: Model, others: Vec<Network>) -> Result<Ensemble> {
        let first = &model.network;
        let act = |n: &Network| n.layers()[n.layers().len() - 1].activation();
        for (m, n) in others.iter().enumerate() {
            if n.inputs() != first.inputs()
                || n.outputs() != first.outputs()
                || act(n) != act(first)
            {
                return Err(Error::Config(format!(
                    "ensemble member {} ({n}) does not take the inputs and give the outputs of member 1 ({first})",
                    m + 2
                )));
            }
        }
        Ok(Ensemble { model, others })
    }

    /// Every member's network, the first first.
    pub fn networks(&self) -> impl Iterator<Item = &Network> {
        std::iter::once(&self.model.network).chain(&self.others)
    }

    /// How many networks it holds.
    pub fn len(&self) -> usize {
        1 + self.others.len()
    }

    /// Whether it holds only the first member (never empty).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The mean of the members' outputs for inputs already standardised
    /// as the model's are (the networks' own scale).
    pub fn predict_scaled(&self, inputs: &Matrix) -> Result<Matrix> {
        let mut sum = self.model.network.predict(inputs)?.into_vec();
        for n in &self.others {
            for (s, v) in sum.iter_mut().zip(n.predict(inputs)?.as_slice()) {
                *s += v;
            }
        }
        let k = self.len() as f32;
        sum.iter_mut().for_each(|s| *s /= k);
        Matrix::new(inputs.rows(), self.model.network.outputs(), sum)
    }

    /// Predictions for `inputs` as [`Model::predict`] gives them: inputs
    /// standardised first, the mean of the members' outputs, regression
    /// outputs back in the targets' units.
    pub fn predict(&self, inputs: &Matrix) -> Result<Matrix> {
        let x = match &self.model.standardizer {
            Some(s) => s.apply(inputs)?,
            None => inputs.clone(),
        };
        let p = self.predict_scaled(&x)?;
        match &self.model.target_standardizer {
            Some(t) => t.invert(&p),
            None => Ok(p),
        }
    }

    /// The mean loss of the mean prediction over `inputs` against
    /// `targets` (both on the networks' scale), from the predictions
    /// (probabilities clamped for BCE and cross-entropy, see
    /// [`Loss::value`]); a single model's exact loss from its logits.
    pub fn loss(&self, inputs: &Matrix, targets: &Matrix) -> Result<f64> {
        if self.others.is_empty() {
            return self.model.network.loss(inputs, targets, self.model.loss);
        }
        let p = self.predict_scaled(inputs)?;
        if targets.rows() != p.rows() || targets.cols() != p.cols() {
            return Err(Error::TargetWidth {
                expected: p.cols(),
                got: targets.cols(),
            });
        }
        Ok(self.model.loss.sum(p.as_slice(), targets.as_slice()) / p.rows().max(1) as f64)
    }

    /// The file's bytes (what [`Ensemble::save`] writes).
    pub fn to_bytes(&self, file: &str) -> Result<Vec<u8>> {
        self.model.to_bytes_with(file, &self.others)
    }

    /// Write the ensemble to `path` (atomically, as [`Model::save`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes(&path.display().to_string())?;
        write_atomically(path, &bytes)
    }

    /// Read an ensemble, or a single model as an ensemble of one.
    pub fn load(path: impl AsRef<Path>) -> Result<Ensemble> {
        let (file, bytes) = read_file(path.as_ref())?;
        Ensemble::from_bytes(&file, &bytes)
    }

    /// An ensemble from a file's `bytes`; `file` names it in messages.
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Ensemble> {
        let model = Model::from_bytes(file, bytes)?;
        let (_, meta, st) = parse(file, bytes)?;
        let Some(text) = meta.get("ensemble") else {
            return Ensemble::new(model, Vec::new());
        };
        let bad = |what: String| model_err(file, format!("metadata ensemble: {what}"));
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
        let lists = v["activations"]
            .as_array()
            .ok_or_else(|| bad("no list \"activations\"".into()))?;
        let mut others = Vec::with_capacity(lists.len());
        for (m, list) in lists.iter().enumerate() {
            let names = list
                .as_array()
                .ok_or_else(|| bad(format!("member {}: activations are not a list", m + 2)))?;
            let activations = names
                .iter()
                .map(|a| {
                    let name = a.as_str().unwrap_or_default();
                    Activation::ALL
                        .into_iter()
                        .chain([Activation::Softmax])
                        .find(|x| x.name() == name)
                        .ok_or_else(|| bad(format!("unknown activation {a}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let layers = read_layer_list(file, &st, &format!("members.{}.", m + 1))?;
            others.push(network_from(file, layers, &activations)?);
        }
        Ensemble::new(model, others).map_err(|e| model_err(file, e))
    }
}

/// A layer's tensors as read from a file: weights `inputs x outputs`
/// (neurona's layout), bias if present.
#[derive(Debug, Clone, PartialEq)]
pub struct RawLayer {
    pub inputs: usize,
    pub outputs: usize,
    pub weights: Vec<f32>,
    pub bias: Option<Vec<f32>>,
}

fn model_err(file: &str, msg: impl std::fmt::Display) -> Error {
    Error::ModelFile(format!("{file}: {msg}"))
}

/// neurona's row-major `inputs x outputs` as PyTorch's `[out, in]` bytes.
fn to_out_in_bytes(w: &[f32], n_in: usize, n_out: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(4 * n_in * n_out);
    for o in 0..n_out {
        for j in 0..n_in {
            bytes.extend_from_slice(&w[j * n_out + o].to_le_bytes());
        }
    }
    bytes
}

/// PyTorch's `[out, in]` values as neurona's row-major `inputs x outputs`.
fn from_out_in(pt: &[f32], n_in: usize, n_out: usize) -> Vec<f32> {
    let mut w = vec![0.0; n_in * n_out];
    for o in 0..n_out {
        for j in 0..n_in {
            w[j * n_out + o] = pt[o * n_in + j];
        }
    }
    w
}

/// The tensor names of an optimizer's state vectors, PyTorch's.
fn moment_names(optimizer: Optimizer) -> &'static [&'static str] {
    match optimizer {
        Optimizer::Sgd => &[],
        Optimizer::Momentum { .. } => &["momentum_buffer"],
        Optimizer::Adam { .. } => &["exp_avg", "exp_avg_sq"],
    }
}

fn values(file: &str, name: &str, t: &TensorView) -> Result<Vec<f32>> {
    let data = t.data();
    match t.dtype() {
        Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()),
        Dtype::F64 => Ok(data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()) as f32)
            .collect()),
        other => Err(model_err(
            file,
            format!("tensor {name} is {other:?}; neurona reads F32 or F64"),
        )),
    }
}

/// The layers of a safetensors file (`layers.{i}.weight` `[out, in]`,
/// `layers.{i}.bias` `[out]`) and its metadata.
pub fn read_layers(path: impl AsRef<Path>) -> Result<(Vec<RawLayer>, HashMap<String, String>)> {
    let (file, bytes) = read_file(path.as_ref())?;
    let (layers, metadata, _) = parse(&file, &bytes)?;
    Ok((layers, metadata))
}

/// A model file's name (for messages) and bytes.
fn read_file(path: &Path) -> Result<(String, Vec<u8>)> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("cannot open {file}: {e}")))?;
    Ok((file, bytes))
}

/// The layers `{prefix}layers.{i}.weight` (`[out, in]`) and
/// `{prefix}layers.{i}.bias` (`[out]`) of a file's tensors, `i` from 0.
fn read_layer_list(file: &str, st: &SafeTensors, prefix: &str) -> Result<Vec<RawLayer>> {
    let mut layers = Vec::new();
    while let Ok(w) = st.tensor(&format!("{prefix}layers.{}.weight", layers.len())) {
        let i = layers.len();
        let name = format!("{prefix}layers.{i}.weight");
        let &[outputs, inputs] = w.shape() else {
            return Err(model_err(
                file,
                format!("{name} has shape {:?}; expected [out, in]", w.shape()),
            ));
        };
        let pt = values(file, &name, &w)?;
        let weights = from_out_in(&pt, inputs, outputs);
        let bias_name = format!("{prefix}layers.{i}.bias");
        let bias = match st.tensor(&bias_name) {
            Ok(b) if b.shape() == [outputs] => Some(values(file, &bias_name, &b)?),
            Ok(b) => {
                return Err(model_err(
                    file,
                    format!(
                        "{bias_name} has shape {:?}; expected [{outputs}]",
                        b.shape()
                    ),
                ));
            }
            Err(_) => None,
        };
        layers.push(RawLayer {
            inputs,
            outputs,
            weights,
            bias,
        });
    }
    Ok(layers)
}

/// The layers and metadata of a model file's `bytes`, and its tensors for
/// reading more (the optimizer's state).
fn parse<'a>(
    file: &str,
    bytes: &'a [u8],
) -> Result<(Vec<RawLayer>, HashMap<String, String>, SafeTensors<'a>)> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| model_err(file, format!("not a safetensors file ({e})")))?;
    let metadata = SafeTensors::read_metadata(bytes)
        .map(|(_, m)| m.metadata().clone().unwrap_or_default())
        .unwrap_or_default();

    let layers = read_layer_list(file, &st, "")?;
    if layers.is_empty() {
        return Err(model_err(
            file,
            "no tensor layers.0.weight; a neurona model holds layers.{i}.weight [out, in] and layers.{i}.bias [out]",
        ));
    }
    Ok((layers, metadata, st))
}

/// Build a network from file layers and activations, checking the chain of
/// shapes (errors name the file).
pub fn network_from(
    file: &str,
    layers: Vec<RawLayer>,
    activations: &[Activation],
) -> Result<Network> {
    if layers.len() != activations.len() {
        return Err(model_err(
            file,
            format!(
                "has {} layers but {} activations were given",
                layers.len(),
                activations.len()
            ),
        ));
    }
    let layers = layers
        .into_iter()
        .zip(activations)
        .map(|(l, &a)| Layer::new(l.inputs, l.outputs, a, l.weights, l.bias))
        .collect();
    Network::from_layers(layers).map_err(|e| model_err(file, e))
}

fn parse_list<T: std::str::FromStr>(
    file: &str,
    key: &str,
    meta: &HashMap<String, String>,
) -> Result<Option<Vec<T>>> {
    let Some(text) = meta.get(key) else {
        return Ok(None);
    };
    let list: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| model_err(file, format!("metadata {key} is not a JSON list ({e})")))?;
    list.iter()
        .map(|v| {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            s.parse()
                .map_err(|_| model_err(file, format!("metadata {key}: cannot read {s:?}")))
        })
        .collect::<Result<Vec<T>>>()
        .map(Some)
}

impl Model {
    /// Write the model to `path` as safetensors. The file is written under a
    /// temporary name and renamed at the end, so a failed save leaves no
    /// partial file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_bytes(&path.display().to_string())?;
        write_atomically(path, &bytes)
    }

    /// The model file's bytes (what [`Model::save`] writes; a browser
    /// page downloads them); `file` names it in messages.
    pub fn to_bytes(&self, file: &str) -> Result<Vec<u8>> {
        self.to_bytes_with(file, &[])
    }

    /// The file's bytes, with `others` as the other members of an
    /// ensemble (see [`Ensemble`]).
    fn to_bytes_with(&self, file: &str, others: &[Network]) -> Result<Vec<u8>> {
        let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (m, net) in others.iter().enumerate() {
            for (i, l) in net.layers().iter().enumerate() {
                let (n_in, n_out) = (l.inputs(), l.outputs());
                let prefix = format!("members.{}.layers.{i}", m + 1);
                let pt = to_out_in_bytes(l.weights(), n_in, n_out);
                buffers.push((format!("{prefix}.weight"), vec![n_out, n_in], pt));
                if let Some(b) = l.bias() {
                    let bytes = b.iter().flat_map(|v| v.to_le_bytes()).collect();
                    buffers.push((format!("{prefix}.bias"), vec![n_out], bytes));
                }
            }
        }
        for (i, l) in self.network.layers().iter().enumerate() {
            let (n_in, n_out) = (l.inputs(), l.outputs());
            let pt = to_out_in_bytes(l.weights(), n_in, n_out);
            buffers.push((format!("layers.{i}.weight"), vec![n_out, n_in], pt));
            if let Some(b) = l.bias() {
                let bytes = b.iter().flat_map(|v| v.to_le_bytes()).collect();
                buffers.push((format!("layers.{i}.bias"), vec![n_out], bytes));
            }
            if let Some((optimizer, state)) = &self.optimizer {
                state.check(&self.network, *optimizer)?;
                let moments = [&state.first, &state.second];
                for (name, m) in moment_names(*optimizer).iter().zip(moments) {
                    let (w, b) = m[i].split_at(n_in * n_out);
                    let prefix = format!("optimizer.layers.{i}");
                    let pt = to_out_in_bytes(w, n_in, n_out);
                    buffers.push((format!("{prefix}.weight.{name}"), vec![n_out, n_in], pt));
                    if l.bias().is_some() {
                        let bytes = b.iter().flat_map(|v| v.to_le_bytes()).collect();
                        buffers.push((format!("{prefix}.bias.{name}"), vec![n_out], bytes));
                    }
                }
            }
        }
        let views = buffers
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| model_err(file, e))
            })
            .collect::<Result<Vec<_>>>()?;

        let mut meta = HashMap::new();
        let strings = |v: Vec<String>| serde_json::to_string(&v).expect("strings serialise");
        meta.insert("format".into(), "neurona-model".into());
        meta.insert("neurona_version".into(), env!("CARGO_PKG_VERSION").into());
        let acts = self
            .network
            .layers()
            .iter()
            .map(|l| l.activation().name().to_string())
            .collect();
        meta.insert("activations".into(), strings(acts));
        if !others.is_empty() {
            let activations: Vec<Vec<&str>> = others
                .iter()
                .map(|n| n.layers().iter().map(|l| l.activation().name()).collect())
                .collect();
            let ensemble = serde_json::json!({
                "members": others.len() + 1,
                "activations": activations,
            });
            meta.insert("ensemble".into(), ensemble.to_string());
        }
        meta.insert("loss".into(), self.loss.name().into());
        meta.insert("features".into(), strings(self.features.clone()));
        meta.insert("targets".into(), strings(self.targets.clone()));
        if let [t] = &self.targets[..] {
            meta.insert("target".into(), t.clone());
        }
        if let Some(task) = &self.task {
            meta.insert("task".into(), task.name().into());
            if let Task::Classes { labels } = task {
                meta.insert("labels".into(), strings(labels.clone()));
                meta.insert("classes".into(), labels.len().to_string());
            }
        }
        meta.insert("threshold".into(), self.threshold.to_string());
        if let Some(t) = &self.training {
            meta.insert("training".into(), training_json(t).to_string());
        }
        if let Some((optimizer, state)) = &self.optimizer {
            meta.insert(
                "optimizer".into(),
                optimizer_json(*optimizer, state).to_string(),
            );
        }
        let floats = |v: &[f32]| serde_json::to_string(v).expect("finite floats serialise");
        if let Some(s) = &self.standardizer {
            meta.insert("standardize_mean".into(), floats(&s.mean));
            meta.insert("standardize_scale".into(), floats(&s.scale));
        }
        if let Some(s) = &self.target_standardizer {
            meta.insert("target_mean".into(), floats(&s.mean));
            meta.insert("target_scale".into(), floats(&s.scale));
        }
        let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| model_err(file, e))?;
        Ok(with_sorted_header(bytes))
    }

    /// Read a model saved by [`Model::save`].
    ///
    /// An ensemble's file (see [`Ensemble`]) reads as its first member.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let (file, bytes) = read_file(path.as_ref())?;
        Model::from_bytes(&file, &bytes)
    }

    /// A model from a file's `bytes` (what [`Model::to_bytes`] wrote);
    /// `file` names it in messages.
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Model> {
        let file = file.to_string();
        let (layers, meta, tensors) = parse(&file, bytes)?;
        let activations: Vec<Activation> = parse_list::<String>(&file, "activations", &meta)?
            .ok_or_else(|| model_err(&file, "has no activations in its metadata; was it saved by neurona? (use --init to train from bare weights)"))?
            .iter()
            .map(|a| {
                Activation::ALL
                    .into_iter()
                    .chain([Activation::Softmax])
                    .find(|x| x.name() == a)
                    .ok_or_else(|| model_err(&file, format!("unknown activation {a:?}")))
            })
            .collect::<Result<_>>()?;
        let network = network_from(&file, layers, &activations)?;
        let loss = match meta.get("loss").map(String::as_str) {
            Some("bce") => Loss::Bce,
            Some("ce") => Loss::CrossEntropy,
            Some("mse") | None => Loss::Mse,
            Some(other) => return Err(model_err(&file, format!("unknown loss {other:?}"))),
        };
        let features = parse_list::<String>(&file, "features", &meta)?.unwrap_or_default();
        let pair = |mean: &str,
                    scale: &str,
                    width: usize,
                    what: &str|
         -> Result<Option<Standardizer>> {
            match (
                parse_list::<f32>(&file, mean, &meta)?,
                parse_list::<f32>(&file, scale, &meta)?,
            ) {
                (Some(mean), Some(scale)) if mean.len() == scale.len() && mean.len() == width => {
                    Ok(Some(Standardizer { mean, scale }))
                }
                (None, None) => Ok(None),
                _ => Err(model_err(
                    &file,
                    format!(
                        "its {what} standardisation does not have one mean and one scale per {what} ({width})"
                    ),
                )),
            }
        };
        let standardizer = pair(
            "standardize_mean",
            "standardize_scale",
            network.inputs(),
            "input",
        )?;
        let target_standardizer = pair("target_mean", "target_scale", network.outputs(), "output")?;
        let mut targets = parse_list::<String>(&file, "targets", &meta)?.unwrap_or_default();
        if targets.is_empty()
            && let Some(t) = meta.get("target")
        {
            targets.push(t.clone());
        }
        let labels = parse_list::<String>(&file, "labels", &meta)?;
        let task = match (
            meta.get("task").map(String::as_str),
            labels,
            meta.get("classes"),
        ) {
            (_, Some(labels), _) => Some(Task::Classes { labels }),
            // Files of neurona 0.1 before labels: class numbers 0..k-1.
            (_, None, Some(k)) => {
                let k: usize = k
                    .parse()
                    .map_err(|_| model_err(&file, format!("metadata classes is {k:?}")))?;
                Some(Task::Classes {
                    labels: (0..k).map(|i| i.to_string()).collect(),
                })
            }
            (Some("multi-label"), None, None) => Some(Task::MultiLabel),
            (Some("regression"), None, None) => Some(Task::Regression),
            (Some(other), None, None) => {
                return Err(model_err(&file, format!("unknown task {other:?}")));
            }
            (None, None, None) => None,
        };
        if let Some(task) = &task {
            let want = task.outputs(targets.len().max(1));
            if want != network.outputs() {
                return Err(model_err(
                    &file,
                    format!(
                        "its {} task needs {want} outputs, but its last layer has {}",
                        task.name(),
                        network.outputs()
                    ),
                ));
            }
        }
        let threshold = match meta.get("threshold") {
            Some(t) => t
                .parse()
                .map_err(|_| model_err(&file, format!("metadata threshold is {t:?}")))?,
            None => 0.5,
        };
        let optimizer = match meta.get("optimizer") {
            Some(text) => Some(read_optimizer(&file, text, &tensors, &network)?),
            None => None,
        };
        let training = match meta.get("training") {
            Some(text) => Some(read_training(&file, text)?),
            None => None,
        };
        Ok(Model {
            network,
            loss,
            features,
            targets,
            task,
            threshold,
            standardizer,
            target_standardizer,
            optimizer,
            training,
        })
    }
}

/// The `training` metadata.
fn training_json(t: &Training) -> serde_json::Value {
    let schedule = match t.schedule {
        Schedule::Constant => serde_json::json!({"name": "constant"}),
        Schedule::Step { every, factor } => {
            serde_json::json!({"name": "step", "every": every, "factor": factor})
        }
        Schedule::Cosine { steps, floor } => {
            serde_json::json!({"name": "cosine", "steps": steps, "floor": floor})
        }
    };
    serde_json::json!({
        "learning_rate": t.learning_rate,
        "batch_size": t.batch_size,
        "weight_decay": t.weight_decay,
        "schedule": schedule,
        "seed": t.seed,
        "test_split": t.test_split,
        "validation_split": t.validation_split,
        "rows": t.rows,
    })
}

fn read_training(file: &str, text: &str) -> Result<Training> {
    let bad = |what: &str| model_err(file, format!("metadata training: {what}"));
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let number = |v: &serde_json::Value, key: &str| -> Result<f64> {
        v[key]
            .as_f64()
            .ok_or_else(|| bad(&format!("no number {key:?}")))
    };
    let s = &v["schedule"];
    let schedule = match s["name"].as_str() {
        Some("constant") | None => Schedule::Constant,
        Some("step") => Schedule::Step {
            every: number(s, "every")? as usize,
            factor: number(s, "factor")? as f32,
        },
        Some("cosine") => Schedule::Cosine {
            steps: number(s, "steps")? as usize,
            floor: number(s, "floor")? as f32,
        },
        Some(other) => return Err(bad(&format!("unknown schedule {other:?}"))),
    };
    Ok(Training {
        learning_rate: number(&v, "learning_rate")? as f32,
        batch_size: v["batch_size"].as_u64().map(|b| b as usize),
        weight_decay: number(&v, "weight_decay")? as f32,
        schedule,
        seed: v["seed"].as_u64().ok_or_else(|| bad("no seed"))?,
        test_split: number(&v, "test_split")?,
        validation_split: number(&v, "validation_split")?,
        rows: number(&v, "rows")? as usize,
    })
}

/// The `optimizer` metadata: the rule, its settings, steps and epochs done.
fn optimizer_json(optimizer: Optimizer, state: &OptimizerState) -> serde_json::Value {
    let mut v = serde_json::json!({
        "name": optimizer.name(),
        "steps": state.steps,
        "epochs": state.epochs,
    });
    match optimizer {
        Optimizer::Sgd => {}
        Optimizer::Momentum { momentum, .. } => v["momentum"] = momentum.into(),
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        } => {
            v["beta1"] = beta1.into();
            v["beta2"] = beta2.into();
            v["epsilon"] = epsilon.into();
        }
    }
    v
}

/// The optimizer state saved in the model file at `path` (by
/// `--save-optimizer`) for `network`, if it holds one.
pub fn read_optimizer_state(
    path: impl AsRef<Path>,
    network: &Network,
) -> Result<Option<(Optimizer, OptimizerState)>> {
    let (file, bytes) = read_file(path.as_ref())?;
    let (_, meta, tensors) = parse(&file, &bytes)?;
    match meta.get("optimizer") {
        Some(text) => read_optimizer(&file, text, &tensors, network).map(Some),
        None => Ok(None),
    }
}

/// The optimizer and its state from a model file's metadata and tensors.
fn read_optimizer(
    file: &str,
    text: &str,
    st: &SafeTensors,
    network: &Network,
) -> Result<(Optimizer, OptimizerState)> {
    let bad = |what: &str| model_err(file, format!("metadata optimizer: {what}"));
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let number = |key: &str| -> Result<f64> {
        v[key]
            .as_f64()
            .ok_or_else(|| bad(&format!("no number {key:?}")))
    };
    let optimizer = match v["name"].as_str() {
        Some("sgd") => Optimizer::Sgd,
        Some(name @ ("momentum" | "nesterov")) => Optimizer::Momentum {
            momentum: number("momentum")? as f32,
            nesterov: name == "nesterov",
        },
        Some("adam") => Optimizer::Adam {
            beta1: number("beta1")? as f32,
            beta2: number("beta2")? as f32,
            epsilon: number("epsilon")? as f32,
        },
        other => return Err(bad(&format!("unknown rule {other:?}"))),
    };
    let mut state = OptimizerState::new(network, optimizer)?;
    state.steps = number("steps")? as u64;
    state.epochs = number("epochs")? as u64;
    let names = moment_names(optimizer);
    let moments = [&mut state.first, &mut state.second];
    for (name, m) in names.iter().zip(moments) {
        for (i, l) in network.layers().iter().enumerate() {
            let (n_in, n_out) = (l.inputs(), l.outputs());
            let tensor = |part: &str, shape: &[usize]| -> Result<Vec<f32>> {
                let key = format!("optimizer.layers.{i}.{part}.{name}");
                let t = st
                    .tensor(&key)
                    .map_err(|_| model_err(file, format!("has no tensor {key}")))?;
                if t.shape() != shape {
                    return Err(model_err(
                        file,
                        format!("{key} has shape {:?}; expected {shape:?}", t.shape()),
                    ));
                }
                values(file, &key, &t)
            };
            let mut values = from_out_in(&tensor("weight", &[n_out, n_in])?, n_in, n_out);
            if l.bias().is_some() {
                values.extend(tensor("bias", &[n_out])?);
            }
            m[i] = values;
        }
    }
    Ok((optimizer, state))
}

/// `bytes` (a safetensors file) with its JSON header's keys in sorted
/// order: the metadata is a hash map, so the same model would otherwise
/// save to different bytes from run to run. The tensors' offsets are
/// relative to the data after the header, so they stay as they are.
fn with_sorted_header(bytes: Vec<u8>) -> Vec<u8> {
    fn sorted(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let by_key: std::collections::BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::Value::Object(by_key.into_iter().collect())
            }
            other => other,
        }
    }
    let Some(len) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
    else {
        return bytes;
    };
    let Some(header) = bytes
        .get(8..8 + len)
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(h).ok())
    else {
        return bytes;
    };
    let mut text = sorted(header).to_string().into_bytes();
    // Padded with spaces to 8 bytes, as safetensors writes it.
    text.resize(text.len().div_ceil(8) * 8, b' ');
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - len);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + len..]);
    out
}

/// Write `bytes` to `path` through a temporary file in the same folder and
/// a rename, so readers never see a partial file and a failure leaves none.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file = path.display().to_string();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io(format!("cannot write {file}: {e}")));
    }
    Ok(())
}
