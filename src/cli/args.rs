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
    /// Train on a CSV file (header row, numeric cells) and optionally save the model.
    Train(TrainArgs),
    /// Predict with a saved model, one output row per input row.
    Predict(PredictArgs),
    /// List the GPU adapters found, with their backend, type and limits.
    Info,
    /// Time the benchmark workloads (the notebook, 784-512-512-10, and on a
    /// GPU 4096-wide layers and the forward kernel), side by side with
    /// numpy when python3 has it.
    Bench(BenchArgs),
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

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The CSV file: a header row, then numeric rows.
    #[arg(long)]
    pub data: PathBuf,
    /// The column to predict; every other column is an input.
    #[arg(long)]
    pub target: String,
    /// Layer widths after the inputs, the last one the output: e.g.
    /// 30,16,1. An output wider than 1 means classes 0..k-1 in the target
    /// column. Default 16,1, or the shapes of --init.
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<usize>>,
    /// Activation of the hidden layers.
    #[arg(long, value_enum, default_value = "sigmoid")]
    pub hidden_activation: ActivationArg,
    /// Activation of the output layer (softmax: class probabilities, for an
    /// output of 2 or more classes).
    #[arg(long, value_enum, default_value = "sigmoid")]
    pub output_activation: OutputActivationArg,
    /// Loss. Default: bce for a sigmoid output, ce (cross-entropy) for
    /// softmax, mse for identity.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// How the weights start: auto (he for relu layers, xavier for the
    /// others), uniform in [-1, 1] (the notebook's), xavier or he.
    #[arg(long, value_enum, default_value = "auto")]
    pub weight_init: InitArg,
    /// The update rule.
    #[arg(long, value_enum, default_value = "sgd")]
    pub optimizer: OptimizerArg,
    /// Learning rate (the gradient is averaged over the batch). Default 0.5
    /// for sgd, 0.05 for momentum and nesterov, 0.001 for adam.
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// Momentum μ (momentum, nesterov).
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub momentum: f32,
    /// Adam's β1.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub beta1: f32,
    /// Adam's β2.
    #[arg(long, default_value_t = 0.999, allow_negative_numbers = true)]
    pub beta2: f32,
    /// Adam's ε.
    #[arg(long, default_value_t = 1e-8, allow_negative_numbers = true)]
    pub epsilon: f32,
    /// L2 weight decay λ (added as λ·w to the weights' gradient).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub weight_decay: f32,
    /// Learning-rate schedule: constant, step:E:F (times F every E epochs),
    /// cosine (down to 0 over the run's epochs) or cosine:E (over E epochs).
    #[arg(long, default_value = "constant")]
    pub schedule: String,
    /// Write the loss curve here (CSV: step, epoch, loss of the batch).
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Save the optimizer's state with the model (--save), so that training
    /// resumes exactly from it with --init.
    #[arg(long)]
    pub save_optimizer: bool,
    /// Passes over the training rows.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Rows per step, shuffled each epoch; 0 = the full batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Seed for the weights, the shuffles and the test split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Standardise every input column (z-scores fitted on the training rows;
    /// saved with the model).
    #[arg(long)]
    pub standardize: bool,
    /// Share of rows held out for testing, drawn by the seed (0 to <1).
    #[arg(long, default_value_t = 0.0)]
    pub test_split: f64,
    /// Where to train: auto (a hardware GPU, else the CPU), cpu or gpu.
    /// Default: NEURONA_BACKEND, else auto.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Save the trained model here (safetensors).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Start from these weights (safetensors: layers.{i}.weight [out, in],
    /// layers.{i}.bias [out]) instead of random ones; with a saved
    /// optimizer state of the same rule, resume training from it.
    #[arg(long)]
    pub init: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A model saved by `neurona train --save`.
    #[arg(long)]
    pub model: PathBuf,
    /// A CSV file with (at least) the model's input columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Write the predictions here (CSV) instead of to standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}
