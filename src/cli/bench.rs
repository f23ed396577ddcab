//! `neurona bench`: the benchmark of `neurona::bench`, printed.

use neurona::Result;
use neurona::bench::{self, Options};

use super::args::BenchArgs;

pub fn run(args: BenchArgs) -> Result<()> {
    let options = Options {
        gpu: args.gpu,
        cpu_w3: args.cpu_w3,
    };
    let gpu = bench::gpu_device(&options)?;
    let numpy = bench::numpy();
    if !args.json {
        outln!("{}", bench::header(gpu.as_ref(), numpy));
    }
    let rows = bench::run(gpu.as_ref(), numpy, &options)?;
    if args.json {
        out!("{}", bench::json(&rows));
    } else {
        out!("{}", bench::table(&rows));
    }
    Ok(())
}
