//! neurona in the browser: a [`Trainer`] the page (web/index.html,
//! web/main.js) drives from JavaScript. It is the same crate as natively:
//! the WGSL kernels run on the browser's WebGPU through the async core of
//! `neurona::gpu`, and the CPU path (compiled to wasm32) takes over when the
//! browser has no WebGPU adapter. Natively this crate is empty.
#![cfg(target_arch = "wasm32")]

use neurona::model_file::{Ensemble, Model};
use neurona::problems::{self, Problem, Shape};
use neurona::sweep::{Member, train_members_async};
use neurona::targets::Task;
use neurona::{
    Activation, BatchOrder, Device, EpochReport, GpuOptions, Init, Loss, Matrix, Network, Observer,
    Optimizer, OptimizerState, Reduction, Standardizer, Table, TrainConfig, shuffled_order,
    targets,
};
use wasm_bindgen::prelude::*;

/// The most weights a network on the page may have: each chunk also
/// predicts the whole data set and a 60 x 60 grid on the CPU path, which
/// must stay well under a frame's worth of seconds.
const MAX_WEIGHTS: usize = 1_000_000;

thread_local! {
    /// The browser's device, opened once: building every pipeline on a
    /// software adapter takes seconds, and a page rebuilds its network often.
    static DEVICE: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
}

/// The browser's WebGPU device, else the CPU path saying why.
async fn browser_device() -> Device {
    if let Some(d) = DEVICE.with(|d| d.borrow().clone()) {
        return d;
    }
    let options = GpuOptions {
        allow_software: true,
        ..Default::default()
    };
    let device = match Device::open_gpu(&options).await {
        Ok(d) => d,
        Err(e) => Device::cpu(&format!(
            "no WebGPU adapter: training on the CPU path ({e})"
        )),
    };
    DEVICE.with(|slot| *slot.borrow_mut() = Some(device.clone()));
    device
}

/// A network being trained on one problem, step by step, on one device.
#[wasm_bindgen]
pub struct Trainer {
    net: Network,
    device: Device,
    inputs: Matrix,
    targets: Matrix,
    features: Vec<String>,
    standardizer: Option<Standardizer>,
    config: TrainConfig,
    state: OptimizerState,
    /// Two inputs: the page draws the decision boundary.
    two_d: bool,
    /// Targets are classes (0/1, or one-hot): accuracy means something.
    classification: bool,
    /// What the targets are, for the model file.
    task: Task,
    /// A fifth of the rows, held out and checked after every epoch (none
    /// for problems too small to spare them, like the notebook's four).
    validation: Option<(Matrix, Matrix)>,
    /// Their loss after the last epoch trained.
    validation_loss: f64,
    /// "Train 64 at once": the other networks, seeds after `net`'s, the
    /// same settings, trained together with it (one sweep); the page then
    /// shows their mean. Empty: `net` alone.
    others: Vec<Member>,
}

/// Rows `rows` of `m`.
fn take(m: &Matrix, rows: &[u32]) -> Result<Matrix, neurona::Error> {
    let mut data = Vec::with_capacity(rows.len() * m.cols());
    for &r in rows {
        data.extend_from_slice(m.row(r as usize));
    }
    Matrix::new(rows.len(), m.cols(), data)
}

/// The last epoch's validation loss.
struct LastValidation(f64);

impl Observer for LastValidation {
    fn epoch(&mut self, e: &EpochReport) {
        if let Some(v) = &e.validation {
            self.0 = v.loss;
        }
    }
}

fn js(e: neurona::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// The problem the page's menu names, or the CSV text it was given (its
/// last column the target, whose task it infers).
fn problem(name: &str, csv: Option<String>) -> Result<(Problem, Option<Task>), neurona::Error> {
    Ok(match name {
        "notebook" => (problems::notebook(), None),
        "spam" => (problems::spam(1000, 2024), None),
        "moons" => (problems::two_d(Shape::Moons, 400, 0.12, 1)?, None),
        "circles" => (problems::two_d(Shape::Circles, 400, 0.08, 1)?, None),
        "spirals" => (problems::two_d(Shape::Spirals, 400, 0.03, 1)?, None),
        "csv" => {
            let text = csv.ok_or_else(|| neurona::Error::Data("choose a CSV file first".into()))?;
            let table = Table::parse("the CSV file", &text)?;
            let target = table.columns.last().cloned().unwrap_or_default();
            let (inputs, features) = table.features_without(&target)?;
            if features.is_empty() {
                return Err(neurona::Error::Data(
                    "the CSV file needs at least one input column before its last (target) column"
                        .into(),
                ));
            }
            // Text labels or a few integers are classes, other numbers a
            // quantity, as on the command line.
            let column = table.column(&target)?;
            let task = Task::infer(&table, &[column])?;
            let targets = task.encode(&table, &[column])?;
            let problem = Problem {
                inputs,
                targets,
                features,
            };
            (problem, Some(task))
        }
        other => {
            return Err(neurona::Error::Config(format!("unknown problem {other:?}")));
        }
    })
}

#[wasm_bindgen]
impl Trainer {
    /// Open the device (`backend`: "auto" takes the browser's WebGPU, else
    /// the CPU path; "cpu"), make the problem and a network with hidden
    /// layers `hidden` ("16,16") of `activation`, trained by `optimizer`
    /// ("sgd", "momentum", "adam") at learning rate `lr` on batches of
    /// `batch` rows (0: the full batch).
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        problem_name: String,
        csv: Option<String>,
        hidden: String,
        activation: String,
        optimizer: String,
        lr: f32,
        batch: usize,
        backend: String,
        seed: u32,
        networks: usize,
    ) -> Result<Trainer, JsError> {
        let (problem, file_task) = problem(&problem_name, csv).map_err(js)?;
        let device = match backend.as_str() {
            "cpu" => Device::cpu("asked for"),
            _ => browser_device().await,
        };
        let activation = match activation.as_str() {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "identity" => Activation::Identity,
            other => return Err(JsError::new(&format!("unknown activation {other:?}"))),
        };
        let widths: Vec<usize> = hidden
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| JsError::new(&format!("hidden widths: {s:?} is not a number")))
            })
            .collect::<Result<_, _>>()?;
        let outputs = problem.targets.cols();
        let output = if outputs > 1 {
            Activation::Softmax
        } else if targets::is_classification(&problem.targets, Activation::Sigmoid) {
            Activation::Sigmoid
        } else {
            Activation::Identity
        };
        let loss = if problem_name == "notebook" {
            Loss::Mse // the notebook's recipe
        } else {
            targets::default_loss(output)
        };
        // A fifth of the rows for validation, where there are enough.
        let n = problem.inputs.rows();
        let (train_rows, val_rows): (Vec<u32>, Vec<u32>) = if n >= 50 {
            let order = shuffled_order(n, seed as u64, u64::MAX - 1);
            let (val, train) = order.split_at(n / 5);
            let mut val = val.to_vec();
            let mut train = train.to_vec();
            val.sort_unstable();
            train.sort_unstable();
            (train, val)
        } else {
            ((0..n as u32).collect(), Vec::new())
        };
        let train_x = take(&problem.inputs, &train_rows).map_err(js)?;
        let train_y = take(&problem.targets, &train_rows).map_err(js)?;
        // Inputs on one scale, except the notebook's own 0/1 columns.
        let standardizer = (problem_name != "notebook").then(|| Standardizer::fit(&train_x));
        let scale = |x: Matrix| match &standardizer {
            Some(s) => s.apply(&x),
            None => Ok(x),
        };
        let inputs = scale(train_x).map_err(js)?;
        let validation = if val_rows.is_empty() {
            None
        } else {
            let vx = scale(take(&problem.inputs, &val_rows).map_err(js)?).map_err(js)?;
            Some((vx, take(&problem.targets, &val_rows).map_err(js)?))
        };
        let mut builder = Network::builder(inputs.cols()).init(if problem_name == "notebook" {
            Init::Uniform
        } else {
            Init::Auto
        });
        // The notebook's network has no biases.
        let no_bias = problem_name == "notebook";
        let layers = widths.iter().map(|&w| (w, activation));
        for (w, act) in layers.chain([(outputs, output)]) {
            builder = if no_bias {
                builder.layer_without_bias(w, act)
            } else {
                builder.layer(w, act)
            };
        }
        let mut weights = 0usize;
        let mut n_in = inputs.cols();
        for &w in widths.iter().chain([&outputs]) {
            weights = weights.saturating_add(n_in.saturating_mul(w));
            n_in = w;
        }
        let networks = networks.clamp(1, 64);
        if networks > 1 && weights.saturating_mul(networks) > MAX_WEIGHTS {
            return Err(JsError::new(&format!(
                "{networks} networks of {weights} weights are more than the {MAX_WEIGHTS} this page trains at once: narrow the hidden layers or train one"
            )));
        }
        if weights > MAX_WEIGHTS {
            return Err(JsError::new(&format!(
                "hidden widths {hidden:?} make {weights} weights; this page trains networks of up to {MAX_WEIGHTS} (the neurona command line takes any size)"
            )));
        }
        let net = builder.clone().build(seed as u64).map_err(js)?;
        let optimizer = match optimizer.as_str() {
            "sgd" => Optimizer::Sgd,
            "momentum" => Optimizer::momentum(0.9),
            "adam" => Optimizer::adam(),
            other => return Err(JsError::new(&format!("unknown optimizer {other:?}"))),
        };
        let mut config = TrainConfig::new()
            .learning_rate(lr)
            .loss(loss)
            .optimizer(optimizer)
            .order(BatchOrder::Shuffled { seed: seed as u64 })
            .epochs(1);
        if problem_name == "notebook" {
            config = config.reduction(Reduction::Sum).order(BatchOrder::InOrder);
        }
        config = if batch > 0 {
            config.batch_size(batch)
        } else {
            config.full_batch()
        };
        let state = OptimizerState::new(&net, optimizer).map_err(js)?;
        let task = file_task.unwrap_or_else(|| match (outputs, output) {
            (k, Activation::Softmax) => Task::Classes {
                labels: (0..k).map(|i| i.to_string()).collect(),
            },
            (_, Activation::Sigmoid) => Task::Classes {
                labels: vec!["0".into(), "1".into()],
            },
            _ => Task::Regression,
        });
        let mut others = Vec::new();
        for k in 1..networks as u64 {
            let s = seed as u64 + k;
            let mut c = config.clone();
            if problem_name != "notebook" {
                c = c.order(BatchOrder::Shuffled { seed: s });
            }
            others.push(Member::new(builder.clone().build(s).map_err(js)?, c).map_err(js)?);
        }
        let trainer = Trainer {
            two_d: inputs.cols() == 2,
            classification: targets::is_classification(&problem.targets, output),
            task,
            validation,
            validation_loss: f64::NAN,
            net,
            device,
            targets: train_y,
            inputs,
            features: problem.features,
            standardizer,
            config,
            state,
            others,
        };
        // Settings the network cannot train with (softmax on one output, a
        // negative rate, a layer too large for the adapter) fail here, in
        // the page, not at the first step.
        trainer.config.validate(&trainer.net).map_err(js)?;
        Ok(trainer)
    }

    /// The device, in words: the WebGPU adapter, or why the CPU path.
    pub fn device(&self) -> String {
        match self.device.gpu_context() {
            Some(ctx) => {
                let a = ctx.adapter();
                // Browsers may hide the adapter's name.
                let name = [a.name.as_str(), a.driver.as_str()]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or("adapter name withheld by the browser");
                let kind = if a.software { "software" } else { "hardware" };
                format!("WebGPU: {name} ({}, {kind})", a.device_type)
            }
            None if self.device.reason().starts_with("no WebGPU") => {
                self.device.reason().to_string()
            }
            None => format!("CPU path ({})", self.device.reason()),
        }
    }

    /// The network, e.g. `2-16(relu)-2(softmax)`.
    pub fn network(&self) -> String {
        self.net.to_string()
    }

    /// Train `epochs` more epochs; the mean loss over the training rows
    /// after them (the validation rows' is [`Trainer::validation_loss`]).
    pub async fn train(&mut self, epochs: usize) -> Result<f64, JsError> {
        if !self.others.is_empty() {
            return self.train_together(epochs).await;
        }
        let config = self.config.clone().epochs(epochs.max(1));
        let mut last = LastValidation(f64::NAN);
        let report = self
            .net
            .fit_async(
                &self.device,
                (&self.inputs, &self.targets),
                self.validation.as_ref().map(|(x, y)| (x, y)),
                &config,
                &mut self.state,
                &mut last,
            )
            .await
            .map_err(js)?;
        self.validation_loss = last.0;
        Ok(report.final_loss)
    }

    /// [`Trainer::train`] of every network at once (one sweep: on WebGPU
    /// one workgroup each in the same dispatches), on the training rows
    /// then the validation rows of one matrix; the mean of their losses.
    /// A network that diverges stops alone (its loss left out).
    async fn train_together(&mut self, epochs: usize) -> Result<f64, JsError> {
        let n = self.inputs.rows();
        let (x, y, validation_rows) = match &self.validation {
            Some((vx, vy)) => {
                let stack = |a: &Matrix, b: &Matrix| {
                    let mut v = a.as_slice().to_vec();
                    v.extend_from_slice(b.as_slice());
                    Matrix::new(a.rows() + b.rows(), a.cols(), v)
                };
                (
                    stack(&self.inputs, vx).map_err(js)?,
                    stack(&self.targets, vy).map_err(js)?,
                    Some((n as u32..(n + vx.rows()) as u32).collect::<Vec<u32>>()),
                )
            }
            None => (self.inputs.clone(), self.targets.clone(), None),
        };
        let first = Member {
            network: self.net.clone(),
            state: self.state.clone(),
            config: self.config.clone(),
            train_rows: None,
            validation_rows: None,
        };
        let mut members: Vec<Member> = std::iter::once(first)
            .chain(self.others.drain(..))
            .map(|mut m| {
                m.config = m.config.epochs(epochs.max(1));
                m.train_rows = validation_rows.as_ref().map(|_| (0..n as u32).collect());
                m.validation_rows = validation_rows.clone();
                m
            })
            .collect();
        let reports = train_members_async(&self.device, &x, &y, &mut members, &()).await;
        let mut members = members.into_iter();
        let first = members.next().expect("the first network");
        self.net = first.network;
        self.state = first.state;
        self.others = members.collect();
        let reports = reports.map_err(js)?;
        let ok: Vec<_> = reports.iter().filter_map(|r| r.as_ref().ok()).collect();
        if ok.is_empty() {
            return Err(JsError::new(
                "every network diverged: try a smaller learning rate",
            ));
        }
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
        self.validation_loss = match self.validation {
            Some(_) => mean(
                ok.iter()
                    .filter_map(|r| r.epochs.last().and_then(|e| e.validation_loss))
                    .collect(),
            ),
            None => f64::NAN,
        };
        Ok(mean(ok.iter().map(|r| r.final_loss).collect()))
    }

    /// The networks trained together, as one ensemble (their mean).
    fn ensemble(&self) -> Result<Ensemble, JsError> {
        let mut model = Model::new(self.net.clone(), self.config.loss_for(&self.net));
        model.features = self.features.clone();
        model.standardizer = self.standardizer.clone();
        model.task = Some(self.task.clone());
        Ensemble::new(
            model,
            self.others.iter().map(|m| m.network.clone()).collect(),
        )
        .map_err(js)
    }

    /// How many networks train: 1, or 64 with "train 64 at once".
    pub fn networks(&self) -> usize {
        1 + self.others.len()
    }

    /// The held-out validation rows' loss after the last epoch (NaN when
    /// the problem has none).
    pub fn validation_loss(&self) -> f64 {
        self.validation_loss
    }

    /// Steps taken so far.
    pub fn steps(&self) -> f64 {
        self.state.steps as f64
    }

    /// Training accuracy (a 0.5 threshold for one output, arg-max for
    /// classes); NaN for a regression target.
    pub fn accuracy(&self) -> Result<f64, JsError> {
        if !self.classification {
            return Ok(f64::NAN);
        }
        let p = self.ensemble()?.predict_scaled(&self.inputs).map_err(js)?;
        neurona::accuracy(&p, &self.targets).map_err(js)
    }

    /// Whether the inputs are 2-D (the page then draws points and the
    /// decision boundary).
    pub fn is_two_d(&self) -> bool {
        self.two_d
    }

    /// The points as `x, y, class` triples, in standardised coordinates.
    pub fn points(&self) -> Vec<f32> {
        let classes = neurona::metrics::classes(&self.targets);
        (0..self.inputs.rows())
            .flat_map(|r| {
                let p = self.inputs.row(r);
                [p[0], p[1], classes[r] as f32]
            })
            .collect()
    }

    /// The probability of class 1 at the centres of an `n x n` grid over
    /// `[-lim, lim]²`, row by row from the top.
    pub fn grid(&self, n: usize, lim: f32) -> Result<Vec<f32>, JsError> {
        let mut xy = Vec::with_capacity(n * n * 2);
        for i in 0..n {
            for j in 0..n {
                let x = -lim + (j as f32 + 0.5) * 2.0 * lim / n as f32;
                let y = lim - (i as f32 + 0.5) * 2.0 * lim / n as f32;
                xy.extend([x, y]);
            }
        }
        let p = self
            .ensemble()?
            .predict_scaled(&Matrix::new(n * n, 2, xy).map_err(js)?)
            .map_err(js)?;
        let k = p.cols();
        Ok((0..n * n).map(|r| p.row(r)[k - 1]).collect())
    }

    /// The trained model as the safetensors file `neurona train --save`
    /// writes (for `neurona predict` and PyTorch); with "train 64 at once"
    /// the ensemble file `neurona sweep --ensemble` writes, whose
    /// predictions are the networks' mean.
    pub fn model_file(&self) -> Result<Vec<u8>, JsError> {
        self.ensemble()?.to_bytes("model.safetensors").map_err(js)
    }
}

/// The page calls this once: a Rust panic then shows in the page's console
/// with its message rather than as "unreachable".
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_log(&format!("neurona panicked: {info}"));
    }));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn web_log(message: &str);
}
