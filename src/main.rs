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
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
