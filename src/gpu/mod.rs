//! The GPU path: WGSL compute shaders (shaders/) through wgpu, on Vulkan,
//! Metal, DX12 or GL.
//!
//! - `context`: choosing the adapter, the device and its limits
//!   ([`GpuContext`], [`GpuOptions`]).
//! - `gate`: one thread at a time on GL devices.
//! - `shaders`: the WGSL sources, the constants they share with Rust, their
//!   pipelines (built on first use, per shader and variant).
//! - `variants`: the tile shapes of the matrix products, as checked values
//!   ([`TileShape`], [`MatmulChoice`]).
//! - `kernels`: dispatching (grids folded to the device's limit, per-step
//!   uniforms).
//! - `ops`: one constructor per kernel, named after its CPU twin in
//!   [`crate::cpu`].
//! - `parameters`: a layer's parameter buffer, packed and unpacked.
//! - `buffers`: upload, limits, readback.
//! - `resident`: a whole training run resident on the GPU, the driver's GPU
//!   runner; `small`: networks that fit one workgroup.
//! - `twins`: one-shot calls of each kernel for parity tests and benchmarks.

mod buffers;
mod context;
mod gate;
pub mod kernels;
mod ops;
mod parameters;
mod resident;
mod shaders;
mod small;
mod twins;
mod variants;

#[cfg(not(target_arch = "wasm32"))]
pub use context::adapters;
pub use context::{AdapterReport, GpuContext, GpuOptions, GraphicsApi};
pub(crate) use resident::Resident;
pub(crate) use small::{Done, MemberSpec, Members, Work};
pub use variants::{
    LARGE_TILE, MATMUL_VARIANTS, MAX_PER_INVOCATION, MEDIUM_TILE, MatmulChoice, SMALL_TILE, TILE_K,
    TileShape,
};
