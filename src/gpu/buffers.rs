//! Buffers: create from data, check against the device's limits, read back.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use wgpu::util::DeviceExt;

use crate::error::{Error, Result};
use crate::gpu::GpuContext;

/// Usage of every storage buffer: bound to kernels, filled by the queue,
/// copied out for readback.
const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

impl GpuContext {
    /// An error unless a storage buffer of `bytes` fits this device: both
    /// its largest buffer and its largest storage binding.
    pub(crate) fn check_fits(&self, what: &str, bytes: u64) -> Result<()> {
        let (max_buffer, max_binding, _) = self.limits();
        for (limit, name) in [
            (max_binding, "max_storage_buffer_binding_size"),
            (max_buffer, "max_buffer_size"),
        ] {
            if bytes > limit {
                return Err(Error::GpuLimit(format!(
                    "{what} needs {bytes} bytes but {} allows {limit} ({name}); use a smaller batch or layer, or the CPU backend",
                    self.adapter().name
                )));
            }
        }
        Ok(())
    }

    /// A storage buffer holding `data` (at least 4 bytes: bindings cannot be
    /// empty).
    pub(crate) fn storage_from<T: bytemuck::Pod>(
        &self,
        label: &str,
        data: &[T],
    ) -> Result<wgpu::Buffer> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        self.check_fits(label, bytes.len() as u64)?;
        let contents = if bytes.is_empty() {
            &[0u8; 4][..]
        } else {
            bytes
        };
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: STORAGE,
            }))
    }

    /// A zeroed storage buffer of `floats` f32 values (at least one).
    pub(crate) fn storage_zeroed(&self, label: &str, floats: usize) -> Result<wgpu::Buffer> {
        let bytes = 4 * floats.max(1) as u64;
        self.check_fits(label, bytes)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: STORAGE,
            mapped_at_creation: false,
        }))
    }

    /// A uniform buffer holding `value`.
    pub(crate) fn uniform_from<T: bytemuck::Pod>(&self, label: &str, value: &T) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::bytes_of(value),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// Copy `floats` f32 values from the start of each buffer to the host,
    /// after all submitted work: one staging buffer, one submit, one wait.
    /// Async, because a browser cannot block: natively the device is polled
    /// until the copy is done, in the browser its event loop finishes it.
    pub(crate) async fn read_back(
        &self,
        buffers: &[(&wgpu::Buffer, usize)],
    ) -> Result<Vec<Vec<f32>>> {
        let ranges: Vec<(&wgpu::Buffer, usize, usize)> =
            buffers.iter().map(|&(b, n)| (b, 0, n)).collect();
        self.read_ranges(&ranges).await
    }

    /// [`GpuContext::read_back`] of `floats` values from float `offset` of
    /// each buffer: `(buffer, offset, floats)`.
    pub(crate) async fn read_ranges(
        &self,
        buffers: &[(&wgpu::Buffer, usize, usize)],
    ) -> Result<Vec<Vec<f32>>> {
        let _gate = self.gate();
        let total: usize = buffers.iter().map(|(_, _, n)| n).sum();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: 4 * total.max(1) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let mut offset = 0;
        for (buffer, from, n) in buffers {
            if *n > 0 {
                let from = 4 * *from as u64;
                encoder.copy_buffer_to_buffer(buffer, from, &staging, offset, 4 * *n as u64);
            }
            offset += 4 * *n as u64;
        }
        self.queue.submit([encoder.finish()]);

        let (sender, mapped) = oneshot();
        staging
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| sender.send(r));
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        mapped
            .await
            .map_err(|e| Error::Gpu(format!("reading results back failed: {e}")))?;
        let view = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading results back failed: {e}")))?;
        let all: &[f32] = bytemuck::cast_slice(&view);
        let mut out = Vec::with_capacity(buffers.len());
        let mut start = 0;
        for (_, _, n) in buffers {
            out.push(all[start..start + n].to_vec());
            start += n;
        }
        drop(view);
        staging.unmap();
        Ok(out)
    }
}

/// Floats of a buffer on their way back: the copy is submitted after the
/// work that writes them, and waited for only when [`PendingRead::finish`]
/// is, so the host can record and submit more work meanwhile.
pub(crate) struct PendingRead {
    staging: wgpu::Buffer,
    len: usize,
    mapped: Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    index: wgpu::SubmissionIndex,
}

impl GpuContext {
    /// Start reading `len` floats of `buffer` from float `offset`, as they
    /// will be once the work submitted so far has run.
    pub(crate) fn start_read(
        &self,
        buffer: &wgpu::Buffer,
        offset: usize,
        len: usize,
    ) -> PendingRead {
        let _gate = self.gate();
        let bytes = 4 * len.max(1) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        if len > 0 {
            encoder.copy_buffer_to_buffer(buffer, 4 * offset as u64, &staging, 0, bytes);
        }
        let index = self.queue.submit([encoder.finish()]);
        let (sender, mapped) = oneshot();
        staging
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| sender.send(r));
        PendingRead {
            staging,
            len,
            mapped,
            index,
        }
    }
}

impl PendingRead {
    /// Wait for the copy (natively, for its submit only) and return it.
    pub(crate) async fn finish(self, ctx: &GpuContext) -> Result<Vec<f32>> {
        let _gate = ctx.gate();
        #[cfg(not(target_arch = "wasm32"))]
        ctx.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(self.index),
                timeout: None,
            })
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        self.mapped
            .await
            .map_err(|e| Error::Gpu(format!("reading results back failed: {e}")))?;
        let view = self
            .staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading results back failed: {e}")))?;
        let values: Vec<f32> = bytemuck::cast_slice(&view)[..self.len].to_vec();
        drop(view);
        self.staging.unmap();
        Ok(values)
    }
}

/// A one-value channel whose receiving end is a future: `map_async`'s
/// callback sends, the readback awaits. (std only; the callback may run on
/// another thread natively.)
struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

struct Sender<T>(Arc<Mutex<Shared<T>>>);
struct Receiver<T>(Arc<Mutex<Shared<T>>>);

fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Shared {
        value: None,
        waker: None,
    }));
    (Sender(shared.clone()), Receiver(shared))
}

impl<T> Sender<T> {
    fn send(self, value: T) {
        let mut shared = self.0.lock().unwrap_or_else(|e| e.into_inner());
        shared.value = Some(value);
        if let Some(w) = shared.waker.take() {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut shared = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match shared.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                shared.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
