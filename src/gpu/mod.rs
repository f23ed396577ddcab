//! The GPU path: WGSL compute shaders (shaders/) through wgpu, on Vulkan,
//! Metal, DX12 or GL.
//!
//! - `context`: choosing the adapter, the device and its limits
//!   ([`GpuContext`], [`GpuOptions`]).
//! - `gate`: one thread at a time on GL devices.
//! - `shaders`: the WGSL sources, the constants they share with Rust, their
//!   pipelines (built on first use, per shader and variant).
//! - `product`: a layer's matrix products ([`MatmulKind`], [`ProductShape`]).
//! - `variants`: the kernels a product can run in, as checked values
//!   ([`TileShape`] of matmul.wgsl, [`MatmulVariant`], [`MatmulChoice`]),
//!   and the fixed rule that picks one on software adapters.
//! - `family`: the vec4 matmul family ([`Vec4Tile`]), WGSL generated per
//!   tile and product.
//! - `tune`: the tuner that times the variants on a hardware adapter, and
//!   its cache file ([`TuneCache`]).
//! - `probe`: one product checked on padded buffers, or timed.
//! - `kernels`: dispatching (grids folded to the device's limit, per-step
//!   uniforms).
//! - `ops`: one constructor per kernel, named after its CPU twin in
//!   [`crate::cpu`].
//! - `parameters`: a layer's parameter buffer, packed and unpacked.
//! - `buffers`: upload, limits, readback.
//! - `resident`: a whole training run resident on the GPU, the driver's GPU
//!   runner, and stacks of a sweep's networks of one shape (each kernel
//!   over all of them); `small`: networks that fit one workgroup.
//! - `twins`: one-shot calls of each kernel for parity tests and benchmarks.

mod buffers;
mod context;
mod family;
mod gate;
pub mod kernels;
mod ops;
mod parameters;
mod probe;
mod product;
mod resident;
mod shaders;
mod small;
mod tune;
mod twins;
mod variants;

#[cfg(not(target_arch = "wasm32"))]
pub use context::adapters;
pub use context::{AdapterReport, GpuContext, GpuOptions, GraphicsApi};
pub use family::{VEC4_TILES, Vec4Tile};
pub use probe::ProductCheck;
pub use product::{MatmulKind, ProductShape};
pub(crate) use resident::{Resident, StackKey, grouped_sum};
pub(crate) use small::{Done, MemberSpec, Members, Work};
pub use tune::{
    CACHE_FILE, CachedChoice, MIN_TUNED_FLOP, ProductKey, ProductTimer, TuneCache, Tuned,
    cache_path, candidates, kernels_hash, same_bits, tune,
};
pub use variants::{
    LARGE_TILE, MATMUL_VARIANTS, MAX_PER_INVOCATION, MEDIUM_TILE, MatmulChoice, MatmulVariant,
    SMALL_TILE, TILE_K, TileShape, heuristic,
};
