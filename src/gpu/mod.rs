//! The GPU path: WGSL compute shaders (shaders/) through wgpu, on Vulkan,
//! Metal, DX12 or GL.
//!
//! - [`context`](GpuContext): choosing the adapter, the device and its
//!   limits, pipelines built once.
//! - `shaders`: the WGSL sources and the pipeline layout they share.
//! - `kernels`: dispatching (grids folded to the device's limit), and
//!   one-shot calls of each kernel named like their CPU twins in
//!   [`crate::cpu`], for parity tests and benchmarks.
//! - `buffers`: upload, limits, readback.
//! - `resident`: a whole training run resident on the GPU, the driver's
//!   GPU [`Runner`](crate::driver).

mod buffers;
mod context;
mod gate;
pub mod kernels;
mod resident;
mod shaders;

#[cfg(not(target_arch = "wasm32"))]
pub use context::adapters;
pub use context::{AdapterReport, GpuContext, GpuOptions, GraphicsApi};
pub(crate) use resident::Resident;
