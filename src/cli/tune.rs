//! `neurona tune`: time every matrix-product variant on the products of one
//! training step and print what wins, keeping it in the tuning cache on a
//! device that tunes (a hardware adapter, variants chosen automatically).

use neurona::gpu::{self, MatmulVariant, ProductShape, Tuned};
use neurona::{Backend, Device, Error, MatmulChoice, Result};

use super::args::TuneArgs;

pub fn run(args: TuneArgs) -> Result<()> {
    if args.layers.len() < 2 || args.layers.contains(&0) {
        return Err(Error::Config(format!(
            "--layers {:?}: give two or more widths, the inputs first, none of them 0 \
             (e.g. --layers 784,512,512,10)",
            args.layers
        )));
    }
    if args.batch == 0 {
        return Err(Error::Config("--batch 0: a batch needs a row".into()));
    }
    let device = Device::new(Backend::Gpu)?;
    let ctx = device
        .gpu_context()
        .ok_or_else(|| Error::NoAdapter("neurona tune needs a GPU adapter".into()))?;
    let a = ctx.adapter();
    let kind = if a.software { "software" } else { "hardware" };
    outln!("{} ({}, {kind})", a.name, a.backend);
    // Why a product runs in the variant it does when it is not timed.
    let untimed = match ctx.matmul_choice() {
        MatmulChoice::Auto if a.software => "the fixed rule of software adapters",
        MatmulChoice::Auto => "the fixed rule: too small to be worth timing; --all times it",
        _ => "forced by NEURONA_MATMUL",
    };
    let for_reading = if args.all {
        "the times below are for reading"
    } else {
        "--all times every variant on each product, for reading"
    };
    match ctx.matmul_choice() {
        _ if ctx.tunes() => match gpu::cache_path() {
            Some(p) => outln!("tuning cache: {}", p.display()),
            None => outln!(
                "tuning cache: none (no HOME; set NEURONA_CACHE_DIR): choices last this run only"
            ),
        },
        MatmulChoice::Auto => outln!(
            "a software adapter does not tune: training takes the fixed rule, nothing is \
             cached; {for_reading}"
        ),
        forced => outln!(
            "NEURONA_MATMUL forces {}: training runs every product it can take in it, \
             nothing is tuned or cached; {for_reading}",
            match forced {
                MatmulChoice::Only(v) => v.to_string(),
                _ => "matmul.wgsl (legacy)".to_string(),
            }
        ),
    }

    let shapes = ProductShape::of_training_step(&args.layers, args.batch, args.sgd);
    let timed: Vec<ProductShape> = shapes
        .iter()
        .copied()
        .filter(|s| s.vec4() && (args.all || ctx.tunes_product(s)))
        .collect();
    let tuned = ctx.tune(&timed)?;
    for shape in &shapes {
        match tuned.iter().find(|t| t.shape == *shape) {
            Some(t) => print_tuned(t, ctx.tunes_product(shape).then_some(t.choice)),
            None => {
                let runs = ctx.variant_for(shape);
                let why = match ctx.matmul_choice() {
                    MatmulChoice::Auto if !shape.vec4() => {
                        "the fixed rule: widths the vec4 family cannot take"
                    }
                    MatmulChoice::Only(v) if v != runs => {
                        "the forced variant cannot take this product: matmul.wgsl runs it"
                    }
                    _ => untimed,
                };
                outln!("{shape}: {runs} ({why})");
            }
        }
    }
    Ok(())
}

/// One shape's candidates, fastest first, against matmul.wgsl; `kept`:
/// the variant training will use (`None`: this device does not keep it).
fn print_tuned(t: &Tuned, kept: Option<MatmulVariant>) {
    outln!(
        "{}: fastest {}{}",
        t.shape,
        t.choice,
        if kept.is_some() { " (kept)" } else { "" }
    );
    let fallback = t
        .seconds
        .iter()
        .find(|(v, _)| matches!(v, MatmulVariant::Scalar(_)))
        .map(|(_, s)| *s);
    let mut by_time = t.seconds.clone();
    by_time.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (v, s) in by_time {
        let ratio = fallback.map_or(String::new(), |f| format!("  {:.2}x matmul.wgsl", f / s));
        outln!("  {:<28} {:>12.1} us{ratio}", v.to_string(), s * 1e6);
    }
    for v in &t.rejected {
        outln!("  {v:<28} left out: its bits differ from matmul.wgsl's");
    }
}
