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
        println!("no GPU adapters found");
    }
    for a in &adapters {
        let kind = if a.software { "software" } else { "hardware" };
        println!(
            "{} ({}, {}, {kind}) {}",
            a.name, a.backend, a.device_type, a.driver
        );
        println!(
            "  max buffer {} MiB, max storage binding {} MiB, {} workgroups per dimension, \
             {} KiB workgroup memory, {} invocations per workgroup",
            a.max_buffer_size >> 20,
            a.max_storage_binding >> 20,
            a.max_workgroups_per_dimension,
            a.max_workgroup_storage >> 10,
            a.max_invocations_per_workgroup
        );
    }
    println!("--backend auto would use: {}", Device::new(Backend::Auto)?);
    Ok(())
}

/// A model file in words.
fn describe_model(path: &std::path::Path) -> Result<()> {
    let ensemble = Ensemble::load(path)?;
    let model = &ensemble.model;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let meta = neurona::model_file::read_layers(path)?.1;
    println!("{}: neurona model file, {bytes} bytes", path.display());
    println!(
        "  written by neurona {}",
        meta.get("neurona_version")
            .map_or("(unknown)", String::as_str)
    );
    println!(
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
        println!(
            "  an ensemble of {} networks, predicting their mean (the network above is the first; predict and evaluate use them all):",
            ensemble.len()
        );
        for (m, n) in ensemble.networks().enumerate().skip(1) {
            println!(
                "    member {}: {n} ({} parameters)",
                m + 1,
                n.layers()
                    .iter()
                    .map(|l| l.parameter_count())
                    .sum::<usize>()
            );
        }
    }
    println!("  loss {}", model.loss);
    match &model.task {
        Some(task) => println!(
            "  task: {}{}",
            super::plan::describe_task(task, &model.targets),
            if matches!(task, neurona::targets::Task::Regression) {
                String::new()
            } else {
                format!(", threshold {}", model.threshold)
            }
        ),
        None => println!("  task: not recorded"),
    }
    if !model.targets.is_empty() {
        println!("  targets: {}", model.targets.join(", "));
    }
    if !model.features.is_empty() {
        println!(
            "  features ({}): {}",
            model.features.len(),
            model.features.join(", ")
        );
    }
    match &model.standardizer {
        Some(s) => println!(
            "  inputs standardised (means {:?}, scales {:?})",
            s.mean, s.scale
        ),
        None => println!("  inputs as they are (not standardised)"),
    }
    if let Some(s) = &model.target_standardizer {
        println!(
            "  targets standardised for training (means {:?}, scales {:?})",
            s.mean, s.scale
        );
    }
    match &model.optimizer {
        Some((o, state)) => println!(
            "  optimizer state: {} after {} steps, {} epochs (training resumes from it with --init)",
            super::plan::describe_optimizer(*o),
            state.steps,
            state.epochs
        ),
        None => println!("  no optimizer state (weights only)"),
    }
    if let Some(t) = &model.training {
        println!(
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
