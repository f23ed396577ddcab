//! `neurona bench`: the benchmark of `neurona::bench`, printed; with
//! `--sweep`, workload S of `neurona::sweep::bench`.

use neurona::bench::{self, Options, Row};
use neurona::{Error, Result};

use super::args::BenchArgs;

pub fn run(args: BenchArgs) -> Result<()> {
    let options = Options {
        gpu: args.gpu,
        cpu_w3: args.cpu_w3,
    };
    let gpu = bench::gpu_device(&options)?;
    if args.sweep {
        return sweep(&args, gpu.as_ref());
    }
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

/// Workload S, and each device's sweep against its one-after-another runs.
fn sweep(args: &BenchArgs, gpu: Option<&neurona::Device>) -> Result<()> {
    use neurona::sweep::bench as s;
    if let Some(steps) = args.s2 {
        return s2(args, gpu, steps);
    }
    let defaults = s::Options::default();
    let options = s::Options {
        members: args.members.unwrap_or(defaults.members),
        epochs: args.epochs.unwrap_or(defaults.epochs),
        sequential: args.sequential,
        torch: true,
    };
    for (flag, v) in [
        ("--members", options.members),
        ("--epochs", options.epochs),
        ("--sequential", options.sequential.unwrap_or(1)),
    ] {
        if v == 0 {
            return Err(Error::Config(format!("{flag} needs at least 1")));
        }
    }
    if !args.json {
        outln!(
            "workload S: {} networks 2-16(relu)-16(relu)-1(sigmoid), two moons (1000 rows), {} epochs, batch 32, adam, seeds 0..{} and learning rates 0.001 to 0.1{}",
            options.members,
            options.epochs,
            options.members,
            match options.sequential {
                Some(n) if n < options.members => format!(
                    "; one-after-another rows time the first {n} and scale to {}",
                    options.members
                ),
                _ => String::new(),
            }
        );
        outln!(
            "CPU: {} threads; GPU: {}",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            gpu.map_or("none (--gpu runs on a software adapter)".to_string(), |g| g
                .to_string())
        );
    }
    let rows = s::rows(gpu, &options)?;
    if args.json {
        out!("{}", bench::json(&rows));
        return Ok(());
    }
    out!("{}", bench::table(&rows));
    let find = |work: &str, cpu: bool| {
        rows.iter()
            .find(|r: &&Row| r.workload == work && (r.backend == "cpu") == cpu)
            .map(|r| r.ms)
    };
    for (cpu, name) in [(true, "CPU"), (false, "GPU")] {
        if let (Some(together), Some(apart)) = (find("S", cpu), find("S-seq", cpu)) {
            outln!(
                "{name}: the sweep is {:.1}x faster than one after another",
                apart / together
            );
        }
    }
    if !rows.iter().any(|r| r.backend == "torch") {
        outln!("PyTorch: not available (python3 with torch), no S-torch or S-vmap rows");
    }
    Ok(())
}

/// Workload S2: a step of the sweep against a step of one network.
fn s2(args: &BenchArgs, gpu: Option<&neurona::Device>, steps: usize) -> Result<()> {
    let members = args.members.unwrap_or(16);
    if steps == 0 || members == 0 {
        return Err(Error::Config("--s2 and --members need at least 1".into()));
    }
    let cpu = neurona::Device::new(neurona::Backend::Cpu)?;
    let device = gpu.unwrap_or(&cpu);
    if !args.json {
        outln!(
            "workload S2: {members} networks 784-256(relu)-10(softmax), batch 256, adam, {steps} steps each, on {device}"
        );
    }
    let s2 = neurona::sweep::bench::s2_rows(device, members, steps)?;
    let rows = s2.rows;
    if args.json {
        out!("{}", bench::json(&rows));
        return Ok(());
    }
    out!("{}", bench::table(&rows));
    if let [all, one] = &rows[..] {
        outln!(
            "a step of {members} networks costs {:.1}x a step of one (the issue's target on a GPU: at most 4x for 16)",
            all.ms / one.ms
        );
    }
    if let Some((all, one)) = s2.dispatches {
        outln!(
            "kernel dispatches a step: {all:.0} for the {members} (one stack), {one:.0} for one network; one after another: {:.0}",
            one * members as f64
        );
    }
    Ok(())
}
