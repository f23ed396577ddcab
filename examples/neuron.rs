//! The lesson's single neuron: `sigmoid(w . x + b)` deciding spam or not spam.
//!
//! The example makes up 1,000 messages from a fixed seed, each described by
//! four numbers, and labels them with a known rule plus noise: spam when
//! `0.9·links + 4·capitals + 1.5·free_words + 0.4·exclamations − 8 + noise`
//! is above 0. A neuron with weights and bias drawn from [-1, 1) (the
//! lesson's initialisation) learns it with binary cross-entropy on 800 of
//! them; it prints its accuracy on the 200 it never saw (about 96%: the
//! noise keeps it from 100%), its weights next to the rule's, and `activate`
//! on two messages.
//!
//! ```text
//! cargo run --release --example neuron [-- --backend cpu|gpu|auto]
//! ```

use std::process::ExitCode;

use neurona::{Backend, BatchOrder, Device, Loss, Matrix, Network, Optimizer, TrainConfig};

const FEATURES: [&str; 4] = ["links", "capitals", "free_words", "exclamations"];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), neurona::Error> {
    let backend = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Backend::from_env_or(Backend::Auto)?,
        [flag, value] if flag == "--backend" => value.parse()?,
        other => {
            return Err(neurona::Error::Config(format!(
                "unknown arguments {other:?}; try --backend cpu|gpu|auto"
            )));
        }
    };
    let device = Device::new(backend)?;
    println!("device: {device}");

    // 1,000 messages from the lesson's rule (neurona::problems::spam), the
    // first 800 to train on.
    let spam = neurona::problems::spam(1000, 2024);
    let rows = |m: &Matrix, r: std::ops::Range<usize>| {
        Matrix::new(
            r.len(),
            m.cols(),
            m.as_slice()[r.start * m.cols()..r.end * m.cols()].to_vec(),
        )
    };
    let (train_x, test_x) = (rows(&spam.inputs, 0..800)?, rows(&spam.inputs, 800..1000)?);
    let (train_y, test_y) = (
        rows(&spam.targets, 0..800)?,
        rows(&spam.targets, 800..1000)?,
    );
    let labels = spam.targets.as_slice();
    let spam_share = labels.iter().filter(|y| **y == 1.0).count() as f32 / labels.len() as f32;
    println!(
        "1000 messages ({:.0}% spam), features {FEATURES:?}",
        spam_share * 100.0
    );

    let mut neuron = Network::neuron(FEATURES.len(), 42)?;
    // The lesson's plain gradient descent.
    let config = TrainConfig::new()
        .optimizer(Optimizer::Sgd)
        .loss(Loss::Bce)
        .learning_rate(0.5)
        .batch_size(32)
        .order(BatchOrder::Shuffled { seed: 7 })
        .epochs(300);
    let report = neuron.train_on(&device, &train_x, &train_y, &config, |_| {})?;
    println!(
        "trained {neuron} for {} steps in {:.1?}: mean BCE on the training part {:.4}",
        report.steps, report.elapsed, report.final_loss
    );

    let predictions = neuron.predict(&test_x)?;
    let correct = (0..test_x.rows())
        .filter(|&i| (predictions.row(i)[0] > 0.5) == (test_y.row(i)[0] == 1.0))
        .count();
    println!(
        "held-out accuracy: {correct}/{} = {:.1}%",
        test_x.rows(),
        100.0 * correct as f32 / test_x.rows() as f32
    );

    let layer = &neuron.layers()[0];
    for (name, w) in FEATURES.iter().zip(layer.weights()) {
        println!("  weight {name:<13} {w:+.3}");
    }
    println!(
        "  bias               {:+.3}",
        layer.bias().unwrap_or(&[0.0])[0]
    );

    println!("  (the rule: links 0.9, capitals 4, free_words 1.5, exclamations 0.4, bias -8)");

    for email in [[6.0, 0.5, 3.0, 4.0], [1.0, 0.05, 0.0, 1.0]] {
        let p = neuron.activate(&email)?;
        let verdict = if p > 0.5 { "spam" } else { "not spam" };
        println!("activate({email:?}) = {p:.3}: {verdict}");
    }
    Ok(())
}
