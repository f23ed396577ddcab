//! The flags, as close to the command line as possible.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use neurona::{Activation, Backend, Init, Loss};

/// Train fully-connected neural networks on the GPU (WGSL through wgpu) or
/// the CPU. With no command: train the origin notebook's 3-4-1 network.
#[derive(Debug, Parser)]
#[command(name = "neurona", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train on a CSV file (a header row, then rows; numbers, and text for
    /// class labels) and optionally save the model.
    Train(Box<TrainArgs>),
    /// Predict with a saved model, one output row per input row.
    Predict(PredictArgs),
    /// Score a saved model on a labelled CSV file: accuracy, precision,
    /// recall, F1, ROC AUC for classes; MSE, RMSE, MAE, R² for numbers.
    Evaluate(EvaluateArgs),
    /// List the GPU adapters found, with their backend, type and limits;
    /// with --model, describe a model file instead.
    Info(InfoArgs),
    /// Export a saved model: an ONNX graph (--onnx) and/or a PyTorch module
    /// with its state dict and optimizer state (--pytorch).
    Export(ExportArgs),
    /// Time the benchmark workloads (the notebook, 784-512-512-10, and on a
    /// GPU 4096-wide layers and the forward kernel), side by side with
    /// numpy when python3 has it.
    Bench(BenchArgs),
    /// Time every matrix-product kernel variant on the products of one
    /// training step (--layers, --batch) on the GPU and keep the fastest
    /// for this adapter (a hardware adapter's tuning cache): what training
    /// otherwise does the first time it meets a product.
    Tune(TuneArgs),
    /// Train many networks on one CSV file at once: seeds, layer widths,
    /// learning rates, optimizers, weight decay and batch sizes as lists,
    /// k-fold cross-validation; a table of every setting by its
    /// validation score, the best model or an ensemble of the best.
    Sweep(Box<SweepArgs>),
}

// A negative number is a value (and then a clear error), not a flag.
#[derive(Debug, clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct TuneArgs {
    /// Every layer width, the inputs first (e.g. 784,512,512,10).
    #[arg(long, value_delimiter = ',', default_value = "784,512,512,10")]
    pub layers: Vec<usize>,
    /// Rows per batch.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// The update product of plain SGD (fused into the product) instead of
    /// the gradient the other optimizers read.
    #[arg(long)]
    pub sgd: bool,
    /// Time the products too small to tune as well (training leaves them
    /// to the fixed rule; the times are for reading).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// A model file to describe: layers, activations, task and classes,
    /// features, standardisation, optimizer state, version.
    #[arg(long)]
    pub model: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// One JSON object per row instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also run on a software GPU adapter when there is no hardware one.
    #[arg(long)]
    pub gpu: bool,
    /// Run W3 (4096-wide, batch 4096) on the CPU too: slow.
    #[arg(long)]
    pub cpu_w3: bool,
    /// Run workload S instead: 256 networks 2-16-16-1 on two moons, 200
    /// epochs, as one sweep and one after another, on the CPU and the GPU
    /// (and PyTorch's loop and torch.func when python3 has torch).
    #[arg(long)]
    pub sweep: bool,
    /// With --sweep: time only the first N one-after-another networks and
    /// scale to all (they differ only in seed and learning rate).
    #[arg(long, requires = "sweep", value_name = "N")]
    pub sequential: Option<usize>,
    /// With --sweep: networks in the sweep (default 256).
    #[arg(long, requires = "sweep", value_name = "N")]
    pub members: Option<usize>,
    /// With --sweep: epochs each (default 200).
    #[arg(long, requires = "sweep", value_name = "N")]
    pub epochs: Option<usize>,
    /// With --sweep: workload S2 instead, 16 networks 784-256-10 (batch
    /// 256) as one sweep against one alone, per step, on the GPU (else the
    /// CPU); N steps each.
    #[arg(long, requires = "sweep", value_name = "N", conflicts_with_all = ["sequential", "epochs"])]
    pub s2: Option<usize>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ActivationArg {
    Sigmoid,
    Relu,
    Tanh,
    Identity,
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Self {
        match a {
            ActivationArg::Sigmoid => Activation::Sigmoid,
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Identity => Activation::Identity,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputActivationArg {
    Sigmoid,
    Identity,
    Softmax,
}

impl From<OutputActivationArg> for Activation {
    fn from(a: OutputActivationArg) -> Self {
        match a {
            OutputActivationArg::Sigmoid => Activation::Sigmoid,
            OutputActivationArg::Identity => Activation::Identity,
            OutputActivationArg::Softmax => Activation::Softmax,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LossArg {
    Mse,
    Bce,
    #[value(alias = "cross-entropy")]
    Ce,
}

impl From<LossArg> for Loss {
    fn from(l: LossArg) -> Self {
        match l {
            LossArg::Mse => Loss::Mse,
            LossArg::Bce => Loss::Bce,
            LossArg::Ce => Loss::CrossEntropy,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    Sgd,
    Momentum,
    Nesterov,
    Adam,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InitArg {
    Auto,
    Uniform,
    Xavier,
    He,
}

impl From<InitArg> for Init {
    fn from(i: InitArg) -> Self {
        match i {
            InitArg::Auto => Init::Auto,
            InitArg::Uniform => Init::Uniform,
            InitArg::Xavier => Init::Xavier,
            InitArg::He => Init::He,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Auto,
    Cpu,
    Gpu,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Gpu => Backend::Gpu,
        }
    }
}

/// How to read the CSV files.
#[derive(Debug, Clone, clap::Args)]
pub struct CsvArgs {
    /// The cell separator: , ; or tab. Default: found from the header.
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Leave out rows with a missing value (an empty or NA cell) in a
    /// column the model uses, saying how many; without it they are an
    /// error.
    #[arg(long)]
    pub drop_missing: bool,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        other => Err(format!("{other:?}: use , ; or tab")),
    }
}

/// Classification or regression, when the target column alone would not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    Classification,
    Regression,
}

// A negative number is a value (and then a clear error), not a flag.
#[derive(Debug, clap::Args)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// The CSV file: a header row, then one row per sample.
    #[arg(long)]
    pub data: PathBuf,
    /// The column(s) to predict: a,b for several (multi-output regression,
    /// or multi-label when all are 0/1). Text or a few integers in one
    /// column are classes; other numbers are regression.
    #[arg(long, value_delimiter = ',', required = true)]
    pub target: Vec<String>,
    /// The input columns (default: every column but the targets).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Columns to leave out of the inputs (ids, names, ...).
    #[arg(long, value_delimiter = ',', conflicts_with = "features")]
    pub ignore_columns: Option<Vec<String>>,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Read the target as classes or as numbers to predict (default: from
    /// the column).
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,
    /// Hidden layer widths, e.g. 64,32. Default 100.
    #[arg(long, value_delimiter = ',', conflicts_with = "layers")]
    pub hidden: Option<Vec<usize>>,
    /// Every layer width after the inputs, the output last (e.g. 16,3);
    /// the output must be what the target needs.
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<usize>>,
    /// Activation of the hidden layers. Default relu.
    #[arg(long, value_enum)]
    pub hidden_activation: Option<ActivationArg>,
    /// Activation of the output layer. Default: from the target (softmax
    /// for classes, sigmoid for two classes or 0/1 columns, identity for
    /// numbers).
    #[arg(long, value_enum)]
    pub output_activation: Option<OutputActivationArg>,
    /// Loss. Default: bce for a sigmoid output, ce (cross-entropy) for
    /// softmax, mse for identity.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// How the weights start: auto (he for relu layers, xavier for the
    /// others), uniform in [-1, 1] (the notebook's), xavier or he.
    #[arg(long, value_enum, default_value = "auto")]
    pub weight_init: InitArg,
    /// The update rule. Default adam.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate (the gradient is averaged over the batch). Default
    /// 0.001 for adam, 0.5 for sgd, 0.05 for momentum and nesterov.
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// Momentum μ (momentum, nesterov). Default 0.9.
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f32>,
    /// Adam's β1. Default 0.9.
    #[arg(long, allow_negative_numbers = true)]
    pub beta1: Option<f32>,
    /// Adam's β2. Default 0.999.
    #[arg(long, allow_negative_numbers = true)]
    pub beta2: Option<f32>,
    /// Adam's ε. Default 1e-8.
    #[arg(long, allow_negative_numbers = true)]
    pub epsilon: Option<f32>,
    /// L2 weight decay λ (added as λ·w to the weights' gradient). Default 0.
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f32>,
    /// Learning-rate schedule: constant, step:E:F (times F every E epochs),
    /// cosine (down to 0 over the run's epochs) or cosine:E (over E epochs).
    /// Default constant.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Write the loss curve here (CSV: the batch loss of about 200 steps;
    /// with validation, one row per epoch too).
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Save the optimizer's state with the model (--save), so that training
    /// resumes exactly from it with --init.
    #[arg(long)]
    pub save_optimizer: bool,
    /// Passes over the training rows. Default 200.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Rows per step, shuffled each epoch; 0 = the full batch. Default 32.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Seed for the weights, the shuffles and the splits. Default 0.
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Standardise every input column (z-scores fitted on the training
    /// rows, saved with the model), and regression targets for training
    /// (predictions come back in their units). The default.
    #[arg(long, conflicts_with = "no_standardize")]
    pub standardize: bool,
    /// Feed inputs and targets as they are.
    #[arg(long)]
    pub no_standardize: bool,
    /// Share of rows held out for testing, drawn by the seed (0 to <1),
    /// scored once at the end. Default 0.
    #[arg(long, allow_negative_numbers = true)]
    pub test_split: Option<f64>,
    /// Share of the training rows checked after every epoch (stratified
    /// for classes). Default 0.
    #[arg(
        long,
        allow_negative_numbers = true,
        conflicts_with = "validation_data"
    )]
    pub validation_split: Option<f64>,
    /// A CSV file of validation rows (the same columns).
    #[arg(long)]
    pub validation_data: Option<PathBuf>,
    /// Stop after this many epochs without improvement of the validation
    /// loss, and end on the best epoch's weights.
    #[arg(long)]
    pub early_stopping: Option<usize>,
    /// The improvement of the validation loss that counts. Default 0.
    #[arg(long, allow_negative_numbers = true, requires = "early_stopping")]
    pub min_delta: Option<f64>,
    /// Save the model here whenever the validation loss is the best so far.
    #[arg(long)]
    pub save_best: Option<PathBuf>,
    /// Save the model (--save) every this many epochs during the run.
    #[arg(long, requires = "save")]
    pub checkpoint_every: Option<usize>,
    /// Probability above which a sigmoid output is class 1. Default 0.5.
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
    /// Where to train: auto (a hardware GPU, else the CPU), cpu or gpu.
    /// Default: NEURONA_BACKEND, else auto.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Save the trained model here (safetensors).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Go on from this model: a neurona model file brings its layers,
    /// activations, loss, standardisation, classes, split and (saved with
    /// --save-optimizer) its optimizer's state, and flags that contradict
    /// it are errors; bare weights (layers.{i}.weight [out, in],
    /// layers.{i}.bias [out]) start the layers given by the flags.
    #[arg(long)]
    pub init: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A model saved by `neurona train --save`.
    #[arg(long)]
    pub model: PathBuf,
    /// A CSV file with (at least) the model's input columns; other columns
    /// are ignored.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Probability above which a sigmoid output is class 1. Default: the
    /// model's (0.5 unless trained with --threshold).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
    /// Write the predictions here (CSV) instead of to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A model saved by `neurona train --save`.
    #[arg(long)]
    pub model: PathBuf,
    /// Write an ONNX graph here (opset 13): the raw input columns in,
    /// the predictions (and class index) out.
    #[arg(long, value_name = "OUT.onnx")]
    pub onnx: Option<PathBuf>,
    /// Write a PyTorch export into this folder (made if missing): the
    /// module neurona_model.py, state_dict.safetensors and, for a model
    /// saved with --save-optimizer, optimizer.safetensors.
    #[arg(long, value_name = "OUT_DIR")]
    pub pytorch: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// A model saved by `neurona train --save`.
    #[arg(long)]
    pub model: PathBuf,
    /// A CSV file with the model's input and target columns.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Probability above which a sigmoid output is class 1. Default: the
    /// model's.
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f32>,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The CSV file: a header row, then one row per sample.
    #[arg(long)]
    pub data: PathBuf,
    /// The column(s) to predict, as for `neurona train`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub target: Vec<String>,
    /// The input columns (default: every column but the targets).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Columns to leave out of the inputs.
    #[arg(long, value_delimiter = ',', conflicts_with = "features")]
    pub ignore_columns: Option<Vec<String>>,
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Read the target as classes or as numbers (default: from the column).
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,
    /// Seeds of the weights and batch orders: a list (0,1,2) or a range
    /// (0..8 is 0 to 7). Default 0.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub seeds: String,
    /// Hidden layer widths to try, alternatives separated by ';' or given
    /// as several flags: --hidden 16 --hidden 32,16. Default 100.
    #[arg(long, value_delimiter = ';', conflicts_with = "layers")]
    pub hidden: Vec<String>,
    /// Every layer width after the inputs (the output last), alternatives
    /// separated by ';' or as several flags: --layers 16,3 --layers 32,3.
    #[arg(long, value_delimiter = ';')]
    pub layers: Vec<String>,
    /// Activation of the hidden layers. Default relu.
    #[arg(long, value_enum)]
    pub hidden_activation: Option<ActivationArg>,
    /// Activation of the output layer. Default: from the target.
    #[arg(long, value_enum)]
    pub output_activation: Option<OutputActivationArg>,
    /// Loss. Default: from the output activation.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// How the weights start (see neurona train --help).
    #[arg(long, value_enum, default_value = "auto")]
    pub weight_init: InitArg,
    /// Update rules to try: sgd,momentum,nesterov,adam. Default adam.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub optimizer: Vec<OptimizerArg>,
    /// Learning rates to try: a list (0.001,0.01) or A..B:N, N rates
    /// spaced evenly on a log scale from A to B. Default: each optimizer's
    /// (0.001 adam, 0.5 sgd, 0.05 momentum and nesterov).
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<String>,
    /// Momentum μ (momentum, nesterov). Default 0.9.
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f32>,
    /// Adam's β1. Default 0.9.
    #[arg(long, allow_negative_numbers = true)]
    pub beta1: Option<f32>,
    /// Adam's β2. Default 0.999.
    #[arg(long, allow_negative_numbers = true)]
    pub beta2: Option<f32>,
    /// Adam's ε. Default 1e-8.
    #[arg(long, allow_negative_numbers = true)]
    pub epsilon: Option<f32>,
    /// L2 weight decays to try, a list or A..B:N. Default 0.
    #[arg(long, allow_hyphen_values = true)]
    pub weight_decay: Option<String>,
    /// Batch sizes to try, a list (16,32); 0 = the full batch. Default 32.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub batch: Vec<usize>,
    /// Passes over the training rows. Default 200.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Feed inputs and targets as they are (default: standardised, fitted
    /// on every row of the file).
    #[arg(long)]
    pub no_standardize: bool,
    /// k-fold cross-validation: every setting and seed trained k times,
    /// each fold of the rows held out once (stratified for classes).
    #[arg(long, conflicts_with = "validation_split")]
    pub folds: Option<usize>,
    /// Instead of folds, one share of the rows held out for validation
    /// (stratified for classes), the same for every network.
    #[arg(long, allow_negative_numbers = true)]
    pub validation_split: Option<f64>,
    /// The seed of the folds or the validation split. Default 0.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Stop each network after this many epochs without improvement of
    /// its validation loss, ending on its best epoch.
    #[arg(long)]
    pub early_stopping: Option<usize>,
    /// The improvement of the validation loss that counts. Default 0.
    #[arg(long, allow_negative_numbers = true, requires = "early_stopping")]
    pub min_delta: Option<f64>,
    /// What ranks the settings: accuracy (classes), r2 (numbers) or loss,
    /// on the validation rows (the training rows without any). Default:
    /// accuracy for classes, r2 for numbers.
    #[arg(long, value_enum)]
    pub metric: Option<MetricArg>,
    /// Write the table here as CSV.
    #[arg(long = "csv", value_name = "FILE")]
    pub table: Option<PathBuf>,
    /// Save the best network here (of the best setting, its best run).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// With --save: save an ensemble of the TOP best networks instead, one
    /// file that predict and evaluate read (their mean prediction).
    #[arg(long, requires = "save")]
    pub ensemble: Option<usize>,
    /// Where to train: auto (a hardware GPU, else the CPU), cpu or gpu.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
}

/// What ranks a sweep's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    Accuracy,
    R2,
    Loss,
}
