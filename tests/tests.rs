//! neurona's native integration tests, one binary (one link of the crate,
//! one run). The browser's are in tests/web.rs.
#![cfg(not(target_arch = "wasm32"))]

// First, for its macros.
#[macro_use]
mod common;
/// The neurona binary end to end.
mod cli;
/// Every error a user can trigger, with its message.
mod errors;
/// ONNX and PyTorch exports: onnxruntime and PyTorch against neurona.
mod export;
/// Every GPU kernel against its CPU twin; whole GPU runs against the CPU.
mod gpu;
/// The CPU backward pass against finite differences in f64.
mod gradcheck;
/// Initialisation, schedules, resuming, metrics, recipes compared.
mod learning;
/// Classification and regression scores against scikit-learn's.
mod metrics;
/// The library's modules depend on each other without cycles.
mod modules;
/// GPU kernel parity bodies shared with the browser tests.
mod parity;
/// Each CPU step against the naive oracle.
mod steps;
/// Many networks at once: every member as it would train alone.
mod sweep;
/// Whole runs: the notebook, batching, determinism, divergence.
mod training;
/// Validation rows, early stopping and checkpoints, on each backend.
mod validation;
/// The training workflow end to end: defaults, labels, validation, metrics.
mod workflow;
