//! The flags, as close to the command line as possible.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use neurona::{Activation, Backend, Loss};

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
}

impl From<OutputActivationArg> for Activation {
    fn from(a: OutputActivationArg) -> Self {
        match a {
            OutputActivationArg::Sigmoid => Activation::Sigmoid,
            OutputActivationArg::Identity => Activation::Identity,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LossArg {
    Mse,
    Bce,
}

impl From<LossArg> for Loss {
    fn from(l: LossArg) -> Self {
        match l {
            LossArg::Mse => Loss::Mse,
            LossArg::Bce => Loss::Bce,
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
    /// Activation of the output layer.
    #[arg(long, value_enum, default_value = "sigmoid")]
    pub output_activation: OutputActivationArg,
    /// Loss. Default: bce for a sigmoid output, mse for identity.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Learning rate (SGD, gradient averaged over the batch).
    #[arg(long, default_value_t = 0.5)]
    pub lr: f32,
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
    /// layers.{i}.bias [out]) instead of random ones.
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
