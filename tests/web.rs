//! The GPU kernels in a real browser: WebGPU in headless Chromium, against
//! the CPU path compiled to wasm32. The bodies are the native parity tests'
//! (tests/parity.rs, with their tolerances), awaited here.
//!
//! ```text
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web
//! ```
//!
//! (`.cargo/config.toml` names wasm-bindgen's test runner, `webdriver.json`
//! the one flag Chromium needs for WebGPU.) Without a WebGPU adapter each
//! test says loudly that it skipped; built with `CI=true` it fails instead.
//! Natively this file is empty.
#![cfg(target_arch = "wasm32")]

mod common;
mod parity;

use neurona::{Device, GpuOptions};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    /// The device, opened once for all tests (building every pipeline on
    /// the browser's software adapter takes seconds).
    static DEVICE: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
}

/// The browser's WebGPU device, or `None` after saying so (a failure when
/// built with CI=true).
async fn gpu() -> Option<Device> {
    if let Some(d) = DEVICE.with(|d| d.borrow().clone()) {
        return Some(d);
    }
    let options = GpuOptions {
        allow_software: true,
        ..Default::default()
    };
    match Device::open_gpu(&options).await {
        Ok(d) => {
            console_log!("browser GPU tests run on {d}");
            DEVICE.with(|slot| *slot.borrow_mut() = Some(d.clone()));
            Some(d)
        }
        Err(e) => {
            assert!(
                option_env!("CI") != Some("true"),
                "CI=true but the browser has no WebGPU adapter: {e}"
            );
            console_log!("!!! browser GPU tests SKIPPED, they did not run: {e}");
            None
        }
    }
}

/// A test awaiting the parity body `$body` on the browser's GPU device,
/// named `$device` in it.
macro_rules! in_the_browser {
    ($name:ident, |$device:ident| $body:expr) => {
        #[wasm_bindgen_test]
        async fn $name() {
            let Some(device) = gpu().await else { return };
            let $device = &device;
            $body.await;
        }
    };
}

/// The GPU context of a device the macro hands over.
fn ctx(device: &Device) -> &neurona::GpuContext {
    device.gpu_context().expect("a GPU device")
}

in_the_browser!(forward_matches_cpu, |d| parity::forward(ctx(d), "browser"));
in_the_browser!(hidden_delta_matches_cpu, |d| parity::hidden_delta(ctx(d)));
in_the_browser!(sgd_update_matches_cpu, |d| parity::sgd_update(
    ctx(d),
    "browser"
));
in_the_browser!(weight_gradient_matches_cpu, |d| parity::weight_gradient(
    ctx(d)
));
in_the_browser!(output_delta_and_loss_match_cpu, |d| {
    parity::output_delta_and_loss(ctx(d))
});
in_the_browser!(output_activation_matches_cpu, |d| {
    parity::output_activation(ctx(d))
});
in_the_browser!(optimizer_kernel_matches_cpu, |d| parity::optimizer_update(
    ctx(d)
));
in_the_browser!(gather_takes_the_rows_asked_for, |d| parity::gather(ctx(d)));
in_the_browser!(a_short_training_run_matches_the_cpu, |d| {
    parity::short_adam_run(d)
});
