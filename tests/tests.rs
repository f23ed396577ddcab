//! neurona's one integration test binary (one link of the crate, one run).

mod common;
/// Every error a user can trigger, with its message.
mod errors;
/// The CPU backward pass against finite differences in f64.
mod gradcheck;
/// Each CPU step against the naive oracle.
mod steps;
/// Whole runs: the notebook, batching, determinism, divergence.
mod training;
