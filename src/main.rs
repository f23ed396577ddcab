//! The `neurona` command: train a network on a CSV file, save it, predict
//! with it; with no arguments, train the origin notebook's network.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
