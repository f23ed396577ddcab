//! The `neurona` command: train a network on a CSV file, save it, predict
//! with it; with no arguments, train the origin notebook's network.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

use std::process::ExitCode;

/// In a browser there is no command line: the page (web/) is the interface.
#[cfg(target_arch = "wasm32")]
fn main() -> ExitCode {
    ExitCode::SUCCESS
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> ExitCode {
    quiet_drivers();
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Keep the graphics drivers' own messages off stderr, where users read
/// them as neurona failing.
///
/// Mesa's Vulkan device-select layer, which every Vulkan adapter search
/// passes through, asks Wayland for the desktop's GPU and, with no
/// `XDG_RUNTIME_DIR` (a server, a container, CI), prints "error:
/// XDG_RUNTIME_DIR is invalid or not set in the environment." each time.
/// Without a desktop session the layer has nothing to select (neurona ranks
/// the adapters itself), so it is turned off then with its own switch,
/// `NODEVICE_SELECT`, unless the user chose a device through it.
#[cfg(not(target_arch = "wasm32"))]
fn quiet_drivers() {
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR");
    let session = runtime_dir.is_some_and(|d| std::path::Path::new(&d).is_dir());
    let chosen = ["NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if cfg!(target_os = "linux") && !session && !chosen {
        // SAFETY: the first thing main does, before any thread exists, so
        // nothing reads the environment concurrently.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}
