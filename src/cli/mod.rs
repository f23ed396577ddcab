//! The command line: flags in `args`, one file per command. The library
//! does the work; this layer reads files, prints, and draws the progress bar.

mod args;
mod bench;
mod info;
mod notebook;
mod plan;
mod predict;
mod progress;
mod train;

use clap::Parser;
use neurona::{Backend, Device, Result};

/// Parse the command line and run the command it names.
pub fn run() -> Result<()> {
    let cli = args::Cli::parse();
    match cli.command {
        None => notebook::run(),
        Some(args::Command::Train(a)) => train::run(a),
        Some(args::Command::Predict(a)) => predict::run(a),
        Some(args::Command::Info) => info::run(),
        Some(args::Command::Bench(a)) => bench::run(a),
    }
}

/// The device for `--backend` (or, without it, `NEURONA_BACKEND`, else
/// auto), announced on one line.
fn open_device(backend: Option<Backend>) -> Result<Device> {
    let backend = match backend {
        Some(b) => b,
        None => Backend::from_env_or(Backend::Auto)?,
    };
    let device = Device::new(backend)?;
    println!("device: {device}");
    Ok(device)
}
