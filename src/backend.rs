//! Where training runs: [`Backend`] is what was asked for, [`Device`] what
//! was found.
//!
//! `Backend::Auto` takes a hardware GPU when wgpu finds one and otherwise the
//! CPU path: a software adapter (Mesa's llvmpipe, WARP) runs the shaders on
//! the CPU about 100 times slower than neurona's own CPU path, so it is used
//! only when asked for with `Backend::Gpu` (tests, `--backend gpu`). The
//! environment variable `NEURONA_BACKEND=cpu|gpu|auto` replaces the default
//! choice ([`Backend::from_env_or`]); an explicit choice wins over it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::gpu::{GpuContext, GpuOptions};

/// The device a user asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// A hardware GPU if there is one, else the CPU.
    #[default]
    Auto,
    /// neurona's CPU path.
    Cpu,
    /// The best GPU adapter, software ones included; an error if none.
    Gpu,
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            other => Err(Error::Config(format!(
                "unknown backend {other:?}: use cpu, gpu or auto"
            ))),
        }
    }
}

/// The environment variable that replaces the default backend.
pub const BACKEND_ENV: &str = "NEURONA_BACKEND";

impl Backend {
    /// `NEURONA_BACKEND` if set (an error if it says something else than
    /// cpu, gpu or auto), else `default`.
    pub fn from_env_or(default: Backend) -> Result<Backend> {
        match std::env::var(BACKEND_ENV) {
            Ok(v) if !v.trim().is_empty() => v
                .parse()
                .map_err(|e| Error::Config(format!("{BACKEND_ENV}: {e}"))),
            _ => Ok(default),
        }
    }
}

/// An open device: the CPU, or a GPU with its pipelines. Open once, train
/// many times.
///
/// ```
/// use neurona::{Backend, Device};
/// let device = Device::new(Backend::Cpu)?;
/// assert_eq!(device.to_string(), "CPU (asked for)");
/// # Ok::<(), neurona::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Device {
    gpu: Option<Arc<GpuContext>>,
    reason: String,
}

impl Device {
    /// Open the device `backend` asks for (see the module docs for `Auto`).
    /// Waits with pollster; [`Device::open`] is the same without blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(backend: Backend) -> Result<Device> {
        pollster::block_on(Device::open(backend))
    }

    /// [`Device::new`] as a future, for the browser.
    // In a browser wgpu's handles are neither Send nor Sync (a page is one
    // thread); natively they are both, and the Arc is shared across threads.
    #[allow(clippy::arc_with_non_send_sync)]
    pub async fn open(backend: Backend) -> Result<Device> {
        match backend {
            Backend::Cpu => Ok(Device::cpu("asked for")),
            Backend::Gpu => {
                let options = GpuOptions {
                    allow_software: true,
                    ..Default::default()
                };
                Device::open_gpu(&options).await
            }
            Backend::Auto => match GpuContext::open(&GpuOptions::default()).await {
                Ok(ctx) => Ok(Device {
                    gpu: Some(Arc::new(ctx)),
                    reason: "hardware adapter found".into(),
                }),
                Err(e) => Ok(Device::cpu(&format!("{e}"))),
            },
        }
    }

    /// The CPU path; `reason` says why it was chosen.
    pub fn cpu(reason: &str) -> Device {
        Device {
            gpu: None,
            reason: reason.to_string(),
        }
    }

    /// A GPU opened with `options`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu(options: &GpuOptions) -> Result<Device> {
        pollster::block_on(Device::open_gpu(options))
    }

    /// [`Device::gpu`] as a future, for the browser.
    #[allow(clippy::arc_with_non_send_sync)]
    pub async fn open_gpu(options: &GpuOptions) -> Result<Device> {
        let ctx = GpuContext::open(options).await?;
        let reason = if ctx.adapter().software {
            "asked for; a software adapter, expect it to be slow".into()
        } else {
            "asked for".into()
        };
        Ok(Device {
            gpu: Some(Arc::new(ctx)),
            reason,
        })
    }

    /// The GPU, if this device is one.
    pub fn gpu_context(&self) -> Option<&GpuContext> {
        self.gpu.as_deref()
    }

    /// Why this device was chosen.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Device {
    /// `GPU NVIDIA H100 (Vulkan, hardware): hardware adapter found`, or
    /// `CPU (no GPU to run on: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.gpu {
            Some(ctx) => write!(f, "GPU {}: {}", ctx.adapter(), self.reason),
            None => write!(f, "CPU ({})", self.reason),
        }
    }
}
