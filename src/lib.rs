//! # neurona
//!
//! Train small and large fully-connected neural networks, on a GPU through
//! WGSL compute shaders or on the CPU through a fast path that computes the
//! same math. It grew from a numpy notebook training a 3-4-1 sigmoid network
//! and a lesson on one neuron with a bias; both are in `examples/`.
//!
//! ```
//! use neurona::{Matrix, Network};
//! // The lesson's neuron: sigmoid(w . x + b), weights and bias in [-1, 1).
//! let neuron = Network::neuron(3, 42)?;
//! println!("{}", neuron.activate(&[1.0, 0.0, 1.0])?);
//! # Ok::<(), neurona::Error>(())
//! ```
//!
//! ## Where things are
//! - [`network`]: [`Network`] (layers in order), its builder, prediction and
//!   training entry points.
//! - [`layer`]: [`Layer`], weights `inputs x outputs` row-major plus bias.
//! - [`activation`]: [`Activation`] and its derivative from the output.
//! - [`loss`]: [`Loss`] (MSE, BCE, cross-entropy): values and gradients.
//! - [`init`]: [`Init`], how a new network's weights are drawn.
//! - [`train`]: [`TrainConfig`] and the exact update rule, [`TrainReport`].
//! - [`optimizer`]: [`Optimizer`] (SGD, momentum, Adam), [`Schedule`],
//!   [`OptimizerState`].
//! - [`metrics`]: accuracy and [`ConfusionMatrix`].
//! - [`batches`]: mini-batch order, shuffled by a seeded permutation.
//! - [`backend`]: [`Backend`] (cpu, gpu, auto) and the [`Device`] it opens.
//! - [`bench`](mod@bench): the benchmark workloads, side by side with numpy.
//! - [`cpu`]: the CPU path, one function per step of training.
//! - [`gpu`]: the GPU path: [`GpuContext`], kernels, a resident training
//!   run; the WGSL sources are in `shaders/`, one file per kernel.
//! - [`matrix`]: [`Matrix`], row-major batches.
//! - [`data`]: CSV files ([`Table`]) and [`Standardizer`].
//! - [`model_file`]: [`Model`] saved as safetensors in PyTorch's layout.
//! - [`notebook`]: the origin notebook's data and starting weights.
//! - [`problems`]: small seeded problems (the spam neuron, two moons, ...).
//! - [`error`]: [`Error`], every bad input as a value with a message.
//! - [`memory`]: sizes checked against the memory the machine has free.

pub mod activation;
pub mod backend;
pub mod batches;
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod config;
pub mod cpu;
pub mod data;
pub mod driver;
pub mod error;
pub mod gpu;
pub mod init;
pub mod layer;
pub mod loss;
pub mod matrix;
pub mod memory;
pub mod metrics;
pub mod model_file;
pub mod network;
pub mod notebook;
pub mod optimizer;
mod plan;
pub mod problems;
mod random;
pub mod targets;

pub use activation::{Activation, SigmoidDerivative};
pub use backend::{Backend, Device};
pub use batches::{BatchOrder, shuffled_order};
pub use config::{Reduction, TrainConfig};
pub use data::{Standardizer, Table};
pub use driver::{Progress, TrainReport};
pub use error::{Error, Result};
pub use gpu::{
    AdapterReport, GpuContext, GpuOptions, GraphicsApi, MATMUL_VARIANTS, MatmulChoice, TileShape,
};
pub use init::Init;
pub use layer::{Gradient, Layer};
pub use loss::Loss;
pub use matrix::Matrix;
pub use metrics::{ConfusionMatrix, accuracy};
pub use model_file::Model;
pub use network::{Network, NetworkBuilder};
pub use optimizer::{Optimizer, OptimizerState, Schedule, UpdateRule};

// The README's code blocks run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
