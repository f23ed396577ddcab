//! The command line: flags in `args`, one file per command. The library
//! does the work; this layer reads files, prints, and draws the progress bar.

mod args;
mod bench;
mod evaluate;
mod info;
mod notebook;
mod plan;
mod predict;
mod progress;
mod sweep;
mod train;

use clap::Parser;
use neurona::{Backend, Device, Result};

/// Parse the command line and run the command it names. A bad flag is one
/// line, like every other error (clap's own report, with its usage block,
/// is for `--help`).
pub fn run() -> Result<()> {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's text on stdout, exit 0.
            let _ = e.print();
            return Ok(());
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let tip = text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("tip:"))
                .map_or(String::new(), |t| format!(" ({t})"));
            return Err(neurona::Error::Config(format!(
                "{first}{tip}; see neurona --help"
            )));
        }
    };
    match cli.command {
        None => notebook::run(),
        Some(args::Command::Train(a)) => train::run(*a),
        Some(args::Command::Predict(a)) => predict::run(a),
        Some(args::Command::Evaluate(a)) => evaluate::run(a),
        Some(args::Command::Info(a)) => info::run(a),
        Some(args::Command::Bench(a)) => bench::run(a),
        Some(args::Command::Sweep(a)) => sweep::run(*a),
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
