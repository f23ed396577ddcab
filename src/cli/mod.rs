//! The command line: flags in `args`, one file per command. The library
//! does the work; this layer reads files, prints, and draws the progress bar.

/// `println!` for what the commands print: a reader that went away (`neurona
/// train ... | head`) stops the printing, not the command, so a model is
/// still saved and nothing panics.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!`, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod args;
mod bench;
mod evaluate;
mod export;
mod info;
mod notebook;
mod plan;
mod predict;
mod progress;
mod sweep;
mod train;
mod tune;

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
            // Rust's own words for a count that is not a whole number.
            let first = first.replace(
                "invalid digit found in string",
                "expected a whole number, 0 or more",
            );
            // "the following required arguments were not provided:" lists
            // them on the lines after it.
            let listed: Vec<&str> = if first.ends_with(':') {
                text.lines()
                    .skip(1)
                    .take_while(|l| l.starts_with("  "))
                    .map(str::trim)
                    .collect()
            } else {
                Vec::new()
            };
            let first = if listed.is_empty() {
                first.to_string()
            } else {
                format!("{first} {}", listed.join(", "))
            };
            // clap says "none was supplied" of a comma list with an empty
            // item too ("--optimizer adam,").
            let first = match first.ends_with("but none was supplied") {
                true => format!("{first} (or a comma list has an empty item, as in \"adam,\")"),
                false => first,
            };
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
        Some(args::Command::Export(a)) => export::run(a),
        Some(args::Command::Info(a)) => info::run(a),
        Some(args::Command::Bench(a)) => bench::run(a),
        Some(args::Command::Tune(a)) => tune::run(a),
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
    outln!("device: {device}");
    Ok(device)
}
