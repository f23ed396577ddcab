//! neurona against numpy (and its GPU path against its CPU path), on the
//! workloads of `neurona::bench` (W0 the notebook, W2 784-512-512-10, W3
//! 4096-wide, K the forward kernel), measured side by side in one run. The
//! same as `neurona bench`.
//!
//! ```text
//! cargo run --release --example benchmark                # table
//! cargo run --release --example benchmark -- --json      # one JSON object per row
//! cargo run --release --example benchmark -- --gpu       # also a software GPU (llvmpipe)
//! cargo run --release --example benchmark -- --cpu-w3   # W3 on the CPU too (slow)
//! ```

use neurona::bench::{self, Options};

fn main() -> neurona::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let options = Options {
        gpu: has("--gpu"),
        cpu_w3: has("--cpu-w3"),
    };
    let gpu = bench::gpu_device(&options)?;
    let numpy = bench::numpy();
    if !has("--json") {
        println!("{}", bench::header(gpu.as_ref(), numpy));
    }
    let rows = bench::run(gpu.as_ref(), numpy, &options)?;
    if has("--json") {
        print!("{}", bench::json(&rows));
    } else {
        print!("{}", bench::table(&rows));
    }
    Ok(())
}
