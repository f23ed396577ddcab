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
//!
//! A run flows one way: data → network → backend → report. This list names
//! every file of the repository (README.md points here).
//!
//! Data and the network, as data:
//! - `src/data.rs` ([`data`]): CSV files ([`Table`]) and [`Standardizer`].
//! - `src/targets.rs` ([`targets`]): what target columns mean (`Task`:
//!   classes with their labels, multi-label, regression), their one-hot
//!   rows, the output layer and loss each trains with.
//! - `src/matrix.rs` ([`matrix`]): [`Matrix`], row-major batches.
//! - `src/network.rs` ([`network`]): [`Network`] (layers in order), its
//!   builder and `Display`; `src/layer.rs` ([`layer`]): [`Layer`], weights
//!   `inputs x outputs` row-major plus bias, and its [`Gradient`].
//! - `src/activation.rs` ([`activation`]): [`Activation`] and its derivative
//!   from the output; `src/loss.rs` ([`loss`]): [`Loss`] (MSE, BCE,
//!   cross-entropy); `src/init.rs` ([`init`]): [`Init`], how weights start.
//! - `src/model_file.rs` ([`model_file`]): [`Model`] saved as safetensors in
//!   PyTorch's layout.
//! - `src/export/` ([`export`]): a [`Model`] for other tools: `onnx.rs` one
//!   ONNX graph (its messages in `onnx_proto.rs`, generated from ONNX's
//!   schema), `pytorch.rs` a PyTorch module, state dict and optimizer state.
//! - `src/notebook.rs` ([`notebook`]): the origin notebook's data and
//!   weights; `src/problems.rs` ([`problems`]): seeded toy problems.
//!
//! A run:
//! - `src/config.rs` ([`config`]): [`TrainConfig`], its checks, the exact
//!   update rule and each step's rates.
//! - `src/optimizer.rs` ([`optimizer`]): [`Optimizer`], [`Schedule`],
//!   [`OptimizerState`]; `src/batches.rs` ([`batches`]): batch order.
//! - `src/plan.rs`: the steps of a run, planned lazily, and the `Runner`
//!   trait every backend implements (train these steps, mean loss, load,
//!   store).
//! - `src/driver.rs` ([`driver`]): the one training driver (checks,
//!   progress, history, validation each epoch, early stopping, checkpoints,
//!   divergence and rollback, step counts) and running a [`Network`]:
//!   `predict`, `train`, `resume_on`, `fit`, `loss`, `gradients`;
//!   [`TrainReport`], [`Progress`], [`Observer`], [`EpochReport`].
//! - `src/backend.rs` ([`backend`]): [`Backend`] (cpu, gpu, auto) and the
//!   [`Device`] it opens.
//! - `src/sweep/` ([`sweep`]): many networks on one data set in one run,
//!   each to the bits of its lone run: `mod.rs` (`Member`,
//!   `train_members`, `gpu_placements`), `folds.rs` (`k_folds`),
//!   `lockstep.rs` (GPU members stepping together: one workgroup each, or
//!   stacked), `bench.rs` (workloads S and S2).
//! - `src/metrics.rs` ([`metrics`]): accuracy, [`ConfusionMatrix`],
//!   precision/recall/F1 and ROC AUC (`ClassReport`), MSE/RMSE/MAE/R²
//!   (`RegressionReport`).
//!
//! The CPU path, [`cpu`] (the reference every kernel is checked against):
//! `src/cpu/mod.rs` (its `Runner`, workspaces, predict), `forward.rs`
//! (`matmul_bias_act`, `output_activation`), `backward.rs` (`output_delta`,
//! `hidden_delta`), `update.rs` (`sgd_update`, `weight_gradient`,
//! `optimizer_update`), `matmul.rs` (the only `gemm` calls).
//!
//! The GPU path, [`gpu`]: `src/gpu/context.rs` ([`GpuContext`],
//! [`GpuOptions`], adapter choice), `gate.rs` (GL devices take turns),
//! `shaders.rs` (WGSL sources, the constants generated for them, pipelines
//! per shader and variant), `product.rs` (a layer's products:
//! `MatmulKind`, `ProductShape`), `variants.rs` ([`TileShape`],
//! [`MatmulVariant`], [`MatmulChoice`], the fixed rule), `family.rs` (the
//! vec4 matmul family, generated WGSL), `tune.rs` (the per-adapter tuner and
//! its cache file), `probe.rs` (one product checked on padded buffers or
//! timed), `kernels.rs` (dispatch, folded grids, per-step uniforms),
//! `ops.rs` (one constructor per kernel, named after its CPU twin),
//! `parameters.rs` (a layer's parameter buffer layout), `buffers.rs`
//! (upload, limits, readback), `resident.rs` (a run resident on the GPU, its
//! `Runner`), `small.rs` (networks that fit one workgroup), `twins.rs`
//! (one-shot kernel calls for tests and benchmarks). The kernels are in
//! `shaders/`: `common.wgsl` (prepended to all), `matmul.wgsl` (forward,
//! hidden delta, update, gradient), `gather.wgsl`, `output_activation.wgsl`,
//! `loss.wgsl`, `output_delta.wgsl`, `optimizer.wgsl`, `train_small.wgsl`;
//! each opens with its math, bindings and workgroup shape.
//!
//! Around it:
//! - `src/error.rs` ([`error`]): [`Error`], every bad input as a value;
//!   `src/memory.rs` ([`memory`]): sizes checked against free memory;
//!   `src/random.rs`: seeded streams, the same on every machine.
//! - `src/bench.rs` ([`bench`](mod@bench)): the benchmark, side by side
//!   with numpy (`benches/numpy_reference.py`); `benches/sgemm.rs`: gemm
//!   against matrixmultiply; `benches/torch_sweep.py`: workload S in
//!   PyTorch.
//! - The command: `src/main.rs`, `src/cli/` (`args.rs` the flags, `plan.rs`
//!   flags into a checked training plan, `train.rs`, `predict.rs`,
//!   `evaluate.rs`, `export.rs`, `info.rs`, `bench.rs`, `tune.rs`,
//!   `sweep.rs`, `notebook.rs` (no arguments), `progress.rs`).
//! - `examples/`: `notebook.rs`, `neuron.rs`, `recipes.rs`, `benchmark.rs`;
//!   `examples/data/iris.csv` with `iris.README.md`.
//! - `tests/` (one binary, `tests.rs`): `common/mod.rs` (helpers,
//!   `on_each_backend!`), `steps.rs` (each CPU step against a naive
//!   oracle), `gradcheck.rs` (finite differences), `training.rs`,
//!   `learning.rs`, `errors.rs`, `parity.rs` (kernel parity bodies shared
//!   with the browser), `gpu.rs`, `sweep.rs` (sweeps, parity with lone
//!   runs, the `sweep` command), `validation.rs` (validation, early
//!   stopping, checkpoints), `metrics.rs` (against scikit-learn), `cli.rs`
//!   and `workflow.rs` (the binary end to end), `modules.rs` (no module
//!   cycle); `web.rs`: the parity bodies in a browser.
//! - `web/`: the browser page (`index.html`, `main.js`, `src/lib.rs` its
//!   bindings, `serve.sh`, `test.sh`, `tests/e2e.mjs`, `package.json`),
//!   `docs/web-page.png` its screenshot; `webdriver.json` and
//!   `.cargo/config.toml` run the browser tests; `.ci/run` is CI.

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
pub mod export;
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
pub mod sweep;
pub mod targets;

pub use activation::{Activation, SigmoidDerivative};
pub use backend::{Backend, Device};
pub use batches::{BatchOrder, shuffled_order};
pub use config::{EarlyStopping, Reduction, TrainConfig};
pub use data::{CsvOptions, Standardizer, Table};
pub use driver::{EpochReport, EpochSummary, Observer, Progress, TrainReport, Validated};
pub use error::{Error, Result};
pub use gpu::{
    AdapterReport, GpuContext, GpuOptions, GraphicsApi, MATMUL_VARIANTS, MatmulChoice,
    MatmulVariant, TileShape,
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
