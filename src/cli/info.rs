//! `neurona info`: the GPU adapters wgpu finds, and what auto would pick;
//! or, with `--model`, what a model file holds.

use neurona::model_file::Ensemble;
use neurona::{Backend, Device, Result, gpu};

use super::args::InfoArgs;

pub fn run(args: InfoArgs) -> Result<()> {
    if let Some(path) = &args.model {
        return describe_model(path);
    }
    let adapters = gpu::adapters();
    if adapters.is_empty() {
        outln!("no GPU adapters found");
    }
    for a in &adapters {
        let kind = if a.software { "software" } else { "hardware" };
        outln!(
            "{} ({}, {}, {kind}) {}",
            a.name,
            a.backend,
            a.device_type,
            a.driver
        );
        outln!(
            "  max buffer {} MiB, max storage binding {} MiB, {} workgroups per dimension, \
             {} KiB workgroup memory, {} invocations per workgroup",
            a.max_buffer_size >> 20,
            a.max_storage_binding >> 20,
            a.max_workgroups_per_dimension,
            a.max_workgroup_storage >> 10,
            a.max_invocations_per_workgroup
        );
    }
    outln!("--backend auto would use: {}", Device::new(Backend::Auto)?);
    describe_tuning_cache();
    Ok(())
}

/// The matmul variants a hardware adapter's tuner has chosen (src/gpu/tune.rs).
fn describe_tuning_cache() {
    let Some(path) = gpu::cache_path() else {
        outln!("matmul tuning cache: none (no HOME; set NEURONA_CACHE_DIR)");
        return;
    };
    let choices = gpu::TuneCache::load(Some(&path)).choices(&gpu::kernels_hash());
    if choices.is_empty() {
        outln!(
            "matmul tuning cache {}: empty (a hardware adapter fills it as it trains, \
             or with neurona tune)",
            path.display()
        );
        return;
    }
    outln!("matmul tuning cache {}:", path.display());
    for c in &choices {
        outln!(
            "  {}: {} -> {}, {}{}",
            c.adapter,
            c.key,
            c.variant,
            c.date,
            if c.current {
                ""
            } else {
                " (stale: timed with other kernels, ignored and retimed)"
            }
        );
    }
}

/// A model file in words.
fn describe_model(path: &std::path::Path) -> Result<()> {
    let ensemble = Ensemble::load(path)?;
    let model = &ensemble.model;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let meta = neurona::model_file::read_layers(path)?.1;
    outln!("{}: neurona model file, {bytes} bytes", path.display());
    outln!(
        "  written by neurona {}",
        meta.get("neurona_version")
            .map_or("(unknown)", String::as_str)
    );
    outln!(
        "  network {} ({} parameters)",
        model.network,
        model
            .network
            .layers()
            .iter()
            .map(|l| l.parameter_count())
            .sum::<usize>()
    );
    if ensemble.len() > 1 {
        outln!(
            "  an ensemble of {} networks, predicting their mean (the network above is the first; predict and evaluate use them all):",
            ensemble.len()
        );
        for (m, n) in ensemble.networks().enumerate().skip(1) {
            outln!(
                "    member {}: {n} ({} parameters)",
                m + 1,
                n.layers()
                    .iter()
                    .map(|l| l.parameter_count())
                    .sum::<usize>()
            );
        }
    }
    outln!("  loss {}", model.loss);
    match &model.task {
        Some(task) => outln!(
            "  task: {}{}",
            super::plan::describe_task(task, &model.targets),
            if matches!(task, neurona::targets::Task::Regression) {
                String::new()
            } else {
                format!(", threshold {}", model.threshold)
            }
        ),
        None => outln!("  task: not recorded"),
    }
    if !model.targets.is_empty() {
        outln!("  targets: {}", model.targets.join(", "));
    }
    if !model.features.is_empty() {
        outln!(
            "  features ({}): {}",
            model.features.len(),
            model.features.join(", ")
        );
    }
    // The first values of a wide model's standardisation (the file holds
    // them all; `neurona export` and Python read them whole).
    let short = |v: &[f32]| match v.len() {
        0..=8 => format!("{v:?}"),
        n => format!(
            "[{}, ... ({n} values)]",
            v[..6]
                .iter()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match &model.standardizer {
        Some(s) => outln!(
            "  inputs standardised (means {}, scales {})",
            short(&s.mean),
            short(&s.scale)
        ),
        None => outln!("  inputs as they are (not standardised)"),
    }
    if let Some(s) = &model.target_standardizer {
        outln!(
            "  targets standardised for training (means {}, scales {})",
            short(&s.mean),
            short(&s.scale)
        );
    }
    match &model.optimizer {
        Some((o, state)) => outln!(
            "  optimizer state: {} after {} steps, {} epochs (training resumes from it with --init)",
            super::plan::describe_optimizer(*o),
            state.steps,
            state.epochs
        ),
        None => outln!("  no optimizer state (weights only)"),
    }
    if let Some(t) = &model.training {
        outln!(
            "  trained with learning rate {}, batch {}, weight decay {}, seed {}, test split {}, validation split {} of {} rows",
            t.learning_rate,
            t.batch_size.map_or("full".to_string(), |b| b.to_string()),
            t.weight_decay,
            t.seed,
            t.test_split,
            t.validation_split,
            t.rows
        );
    }
    Ok(())
}
