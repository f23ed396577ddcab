//! The wgpu device: which adapter, with which limits, and every pipeline,
//! created once.

use std::mem::ManuallyDrop;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::gpu::gate::{GL, GateGuard};
use crate::gpu::shaders::Pipelines;
use crate::gpu::tune::{TuneCache, Tuner, adapter_id, cache_path};
use crate::gpu::variants::MatmulChoice;

/// What an adapter is, for printing and for choosing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterReport {
    /// The adapter's name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The graphics API: "Vulkan", "Metal", "Dx12" or "Gl".
    pub backend: String,
    /// wgpu's device type: "DiscreteGpu", "IntegratedGpu", "VirtualGpu", "Cpu", "Other".
    pub device_type: String,
    /// The driver and its version, where the adapter says.
    pub driver: String,
    /// A software rasteriser (llvmpipe, WARP, SwiftShader): runs the shaders
    /// on the CPU, tens to a hundred or more times slower than neurona's CPU path.
    pub software: bool,
    /// Largest buffer, in bytes.
    pub max_buffer_size: u64,
    /// Largest storage buffer binding, in bytes.
    pub max_storage_binding: u64,
    /// Workgroups per grid dimension.
    pub max_workgroups_per_dimension: u32,
    /// Workgroup memory, in bytes.
    pub max_workgroup_storage: u32,
    /// Invocations per workgroup.
    pub max_invocations_per_workgroup: u32,
}

impl AdapterReport {
    fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        AdapterReport {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver,
            software: info.device_type == wgpu::DeviceType::Cpu,
            max_buffer_size: limits.max_buffer_size,
            max_storage_binding: limits.max_storage_buffer_binding_size,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_workgroup_storage: limits.max_compute_workgroup_storage_size,
            max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
        }
    }
}

impl std::fmt::Display for AdapterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.software {
            "software"
        } else {
            "hardware"
        };
        write!(f, "{} ({}, {kind})", self.name, self.backend)
    }
}

/// A graphics API wgpu reaches GPUs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphicsApi {
    /// Vulkan (Linux, Windows, Android).
    Vulkan,
    /// Metal (macOS, iOS).
    Metal,
    /// Direct3D 12 (Windows).
    Dx12,
    /// OpenGL / GLES (older GPUs, virtual machines, some Linux desktops).
    Gl,
}

impl GraphicsApi {
    fn backends(self) -> wgpu::Backends {
        match self {
            GraphicsApi::Vulkan => wgpu::Backends::VULKAN,
            GraphicsApi::Metal => wgpu::Backends::METAL,
            GraphicsApi::Dx12 => wgpu::Backends::DX12,
            GraphicsApi::Gl => wgpu::Backends::GL,
        }
    }
}

impl FromStr for GraphicsApi {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vulkan" => Ok(GraphicsApi::Vulkan),
            "metal" => Ok(GraphicsApi::Metal),
            "dx12" => Ok(GraphicsApi::Dx12),
            "gl" | "gles" | "opengl" => Ok(GraphicsApi::Gl),
            other => Err(Error::Config(format!(
                "unknown graphics API {other:?}: use vulkan, metal, dx12 or gl"
            ))),
        }
    }
}

/// Settings for opening a GPU device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Take a software adapter (llvmpipe) when no hardware one exists.
    pub allow_software: bool,
    /// Look for adapters on this API only (`None`: every API, or those
    /// the environment variable `WGPU_BACKEND` names).
    pub api: Option<GraphicsApi>,
    /// Ask the device for at most this many workgroups per grid dimension
    /// (instead of the adapter's own limit): lets tests run the grid folding
    /// that layers with millions of rows need, at small sizes.
    pub max_workgroups_per_dimension: Option<u32>,
    /// Record every training step as separate dispatches even for networks
    /// small enough for train_small.wgsl's many steps in one dispatch (to
    /// compare the two paths).
    pub per_step_dispatches: bool,
    /// Which kernel variant matrix products run in: chosen per product
    /// (the default; the environment variable `NEURONA_MATMUL` can force
    /// one then), matmul.wgsl alone, or one forced for every product.
    pub matmul: MatmulChoice,
    /// Compile the vec4 matmul family with naga's runtime checks (index
    /// clamps, loop bounds), as every other kernel is. Off by default:
    /// the family is written so that they are redundant (`gpu::shaders`
    /// says why), and they cost it speed. Tests run both and compare.
    pub checked_matmul: bool,
}

/// An open GPU device with neurona's pipelines.
///
/// It may be shared between threads. On GL, whose driver context wgpu
/// guards with a lock that panics after a few seconds, every use of the
/// device (and of any other GL device of the process) takes one gate in
/// turn, so threads wait for each other instead (see `gpu::gate`).
pub struct GpuContext {
    // Dropped by hand, under the gate (see `Drop`).
    pub(crate) device: ManuallyDrop<wgpu::Device>,
    pub(crate) queue: ManuallyDrop<wgpu::Queue>,
    pub(crate) pipelines: ManuallyDrop<Pipelines>,
    pub(crate) limits: wgpu::Limits,
    pub(crate) options: GpuOptions,
    /// The device was opened with `TIMESTAMP_QUERY` (benchmarks time
    /// kernels on the GPU then).
    pub(crate) timestamps: bool,
    report: AdapterReport,
    /// A GL device: its every use goes through the gate.
    gated: bool,
    /// How products choose their variant: the options', or
    /// `NEURONA_MATMUL`'s when the options leave it to the device.
    pub(crate) matmul: MatmulChoice,
    /// On a hardware adapter choosing by itself, the tuner (`gpu::tune`).
    pub(crate) tuner: Option<Tuner>,
    /// Kernel dispatches recorded so far ([`GpuContext::dispatches`]).
    pub(crate) dispatched: std::sync::atomic::AtomicU64,
}

impl Drop for GpuContext {
    fn drop(&mut self) {
        let _gate = self.gate();
        // SAFETY: each field is dropped once, here, and never used after:
        // the struct itself is being dropped.
        unsafe {
            ManuallyDrop::drop(&mut self.pipelines);
            ManuallyDrop::drop(&mut self.queue);
            ManuallyDrop::drop(&mut self.device);
        }
    }
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.report)
            .finish()
    }
}

/// How much an adapter is preferred: hardware before software, discrete
/// before integrated, and the native APIs before GL.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let api = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (kind, api)
}

/// The native APIs, searched before GL: a hardware adapter found there
/// needs no GL context at all.
#[cfg(not(target_arch = "wasm32"))]
const NATIVE: wgpu::Backends = wgpu::Backends::VULKAN
    .union(wgpu::Backends::METAL)
    .union(wgpu::Backends::DX12);

/// An instance on `backends`, as far as `WGPU_BACKEND` allows them.
fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends &= backends;
    // Validation layers cost time and print to stderr; wgpu's own checks
    // stay on.
    desc.flags = wgpu::InstanceFlags::empty().with_env();
    // In a browser: its WebGPU, never WebGL (no compute shaders there).
    #[cfg(target_arch = "wasm32")]
    {
        desc.backends = wgpu::Backends::BROWSER_WEBGPU;
    }
    wgpu::Instance::new(desc)
}

/// Every adapter wgpu finds (on the backends `WGPU_BACKEND` allows, all by
/// default), best first.
#[cfg(not(target_arch = "wasm32"))]
pub fn adapters() -> Vec<AdapterReport> {
    // Listing GL adapters opens a GL context.
    let _gate = GL.enter();
    let all = wgpu::Backends::all();
    let mut found = pollster::block_on(instance(all).enumerate_adapters(all));
    found.sort_by_key(|a| rank(&a.get_info()));
    found.iter().map(AdapterReport::of).collect()
}

/// The adapters to choose from, on `wanted`: natively those of the native
/// APIs, then (unless a hardware adapter was found there) GL's; in the
/// browser its WebGPU adapter (a page cannot list more). Takes the gate in
/// `gate` before waking GL.
async fn find_adapters(wanted: wgpu::Backends, gate: &mut GateGuard) -> Vec<wgpu::Adapter> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut found = Vec::new();
        for group in [NATIVE, wgpu::Backends::GL] {
            let backends = wanted & group;
            let hardware = found
                .iter()
                .any(|a: &wgpu::Adapter| a.get_info().device_type != wgpu::DeviceType::Cpu);
            if backends.is_empty() || hardware {
                continue;
            }
            if group == wgpu::Backends::GL {
                *gate = GL.enter();
            }
            found.extend(instance(backends).enumerate_adapters(backends).await);
        }
        found
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = (wanted, gate);
        let options = wgpu::RequestAdapterOptions::default();
        instance(wgpu::Backends::all())
            .request_adapter(&options)
            .await
            .into_iter()
            .collect()
    }
}

impl GpuContext {
    /// Open the best adapter: a hardware one if any, else (when
    /// `options.allow_software`) a software one. Requests the adapter's own
    /// limits, not wgpu's defaults, so large layers fit. Waits with
    /// pollster; [`GpuContext::open`] is the same without blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(options: &GpuOptions) -> Result<Self> {
        pollster::block_on(Self::open(options))
    }

    /// [`GpuContext::new`] as a future, for the browser.
    pub async fn open(options: &GpuOptions) -> Result<Self> {
        // Declared first, so it is released after everything below is
        // dropped.
        let mut gate = GateGuard::open();
        let wanted = options
            .api
            .map_or(wgpu::Backends::all(), GraphicsApi::backends);
        let mut found = find_adapters(wanted, &mut gate).await;
        found.sort_by_key(|a| rank(&a.get_info()));
        let names: Vec<String> = found
            .iter()
            .map(|a| AdapterReport::of(a).to_string())
            .collect();
        let adapter = found
            .into_iter()
            .find(|a| options.allow_software || a.get_info().device_type != wgpu::DeviceType::Cpu)
            .ok_or_else(|| {
                Error::NoAdapter(if names.is_empty() {
                    "no GPU adapter found (on Linux without a GPU, install Mesa's Vulkan driver: apt-get install mesa-vulkan-drivers)".into()
                } else {
                    format!("no hardware GPU adapter found, only {}", names.join(", "))
                })
            })?;
        let report = AdapterReport::of(&adapter);
        // A GL adapter was found after find_adapters took the gate, which
        // `gate` holds until the device is open and its pipelines built.
        let gated = adapter.get_info().backend == wgpu::Backend::Gl;
        // The kernels' fixed needs: workgroups of up to 256 invocations and
        // 16 KiB of workgroup memory, what WebGPU guarantees everywhere (a
        // browser's adapter offers no more invocations than that).
        let have = adapter.limits();
        for (name, value, need) in [
            (
                "max_compute_invocations_per_workgroup",
                have.max_compute_invocations_per_workgroup,
                256,
            ),
            (
                "max_compute_workgroup_storage_size",
                have.max_compute_workgroup_storage_size,
                16_384,
            ),
        ] {
            if value < need {
                return Err(Error::GpuLimit(format!(
                    "{report} allows {value} for {name}; neurona's kernels need {need}"
                )));
            }
        }

        let matmul = match (options.matmul, std::env::var("NEURONA_MATMUL")) {
            (MatmulChoice::Auto, Ok(name)) => name
                .parse()
                .map_err(|e: Error| Error::Config(format!("NEURONA_MATMUL: {e}")))?,
            (choice, _) => choice,
        };
        if let MatmulChoice::Only(variant) = matmul {
            variant.check_limits(&have)?;
        }
        let info = adapter.get_info();
        let tuner =
            (matmul == MatmulChoice::Auto && !report.software && cfg!(not(target_arch = "wasm32")))
                .then(|| Tuner::new(adapter_id(&info), TuneCache::load(cache_path().as_deref())));
        let mut limits = adapter.limits();
        if let Some(max) = options.max_workgroups_per_dimension {
            limits.max_compute_workgroups_per_dimension =
                limits.max_compute_workgroups_per_dimension.min(max.max(1));
        }
        // Timestamps where the adapter has them, for timing kernels.
        let required_features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("neurona"),
                required_features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("could not open {report}: {e}")))?;
        let pipelines = Pipelines::new(&device, options.checked_matmul);
        Ok(GpuContext {
            device: ManuallyDrop::new(device),
            queue: ManuallyDrop::new(queue),
            pipelines: ManuallyDrop::new(pipelines),
            limits,
            options: options.clone(),
            timestamps: required_features.contains(wgpu::Features::TIMESTAMP_QUERY),
            report,
            gated,
            matmul,
            tuner,
            dispatched: Default::default(),
        })
    }

    /// How many kernel dispatches neurona has recorded on this device so
    /// far: a benchmark's count of what a run costs in launches, beside its
    /// time (a sweep's stacked step makes as many as one network's).
    pub fn dispatches(&self) -> u64 {
        self.dispatched.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Count `n` dispatches just recorded.
    pub(crate) fn count_dispatches(&self, n: u64) {
        self.dispatched
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// Hold this while using the device: on GL, one thread at a time in
    /// the whole process (see `gpu::gate`); elsewhere a no-op.
    pub(crate) fn gate(&self) -> GateGuard {
        if self.gated {
            GL.enter()
        } else {
            GateGuard::open()
        }
    }

    /// Whether kernels are timed by the GPU's own timestamps
    /// ([`GpuContext::time_forward`]).
    pub fn has_timestamps(&self) -> bool {
        self.timestamps
    }

    /// The adapter this device runs on.
    pub fn adapter(&self) -> &AdapterReport {
        &self.report
    }

    /// The limits that decide what fits: (largest buffer, largest storage
    /// binding, workgroups per dimension), in bytes and groups.
    pub fn limits(&self) -> (u64, u64, u32) {
        (
            self.limits.max_buffer_size,
            self.limits.max_storage_buffer_binding_size,
            self.limits.max_compute_workgroups_per_dimension,
        )
    }
}
