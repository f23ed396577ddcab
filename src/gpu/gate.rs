//! One thread at a time on GL devices.
//!
//! wgpu's GL backend keeps one GL context per adapter behind a lock that
//! gives up after 6 seconds with a panic ("Could not lock adapter context.
//! This is most-likely a deadlock.", wgpu-hal `gles/egl.rs`). A shader
//! compile through Mesa's llvmpipe without a warm shader cache holds that
//! context for longer than that, so a second thread using the same device,
//! or a second device on the same adapter, panics while it waits. Vulkan,
//! Metal and DX12 devices have no such lock and take no gate.
//!
//! The [`Gate`] serialises every use of a GL device in the process: opening
//! it, recording and submitting work, waiting and reading back, and
//! dropping its objects (wgpu frees a buffer's GL name at once, under the
//! same context lock). It is reentrant, so a gated call may make other
//! gated calls on the same thread, and a thread waiting for it waits as
//! long as it takes, which is what the GL lock's timeout cannot do.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

/// A reentrant lock shared by every GL device of the process.
pub(crate) struct Gate {
    /// The thread holding the gate and how many times it took it.
    owner: Mutex<Option<(ThreadId, usize)>>,
    released: Condvar,
}

/// The gate of every GL device.
pub(crate) static GL: Gate = Gate::new();

/// Held while a thread uses a gated device; `None` for ungated devices.
#[must_use = "the gate is released when the guard is dropped"]
pub(crate) struct GateGuard(Option<&'static Gate>);

impl Gate {
    const fn new() -> Self {
        Gate {
            owner: Mutex::new(None),
            released: Condvar::new(),
        }
    }

    fn owner(&self) -> MutexGuard<'_, Option<(ThreadId, usize)>> {
        // A thread that panicked while holding the mutex left a consistent
        // state behind: the count is only changed in the lines below.
        self.owner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the gate (again, on the thread that holds it).
    pub(crate) fn enter(&'static self) -> GateGuard {
        let me = thread::current().id();
        let mut owner = self.owner();
        loop {
            match &mut *owner {
                None => {
                    *owner = Some((me, 1));
                    break;
                }
                Some((id, depth)) if *id == me => {
                    *depth += 1;
                    break;
                }
                Some(_) => {
                    owner = self.released.wait(owner).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
        GateGuard(Some(self))
    }

    fn leave(&self) {
        let mut owner = self.owner();
        if let Some((_, depth)) = &mut *owner {
            *depth -= 1;
            if *depth == 0 {
                *owner = None;
                self.released.notify_one();
            }
        }
    }
}

impl GateGuard {
    /// A guard that holds nothing: for devices that need no gate.
    pub(crate) fn open() -> Self {
        GateGuard(None)
    }
}

impl Drop for GateGuard {
    fn drop(&mut self) {
        if let Some(gate) = self.0 {
            gate.leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_thread_at_a_time_and_reentrant() {
        static GATE: Gate = Gate::new();
        static INSIDE: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                thread::spawn(|| {
                    for _ in 0..200 {
                        let _outer = GATE.enter();
                        let _inner = GATE.enter();
                        assert_eq!(INSIDE.fetch_add(1, Ordering::SeqCst), 0);
                        thread::yield_now();
                        INSIDE.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(GATE.owner().is_none());
    }
}
