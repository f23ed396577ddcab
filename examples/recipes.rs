//! The notebook's recipe against what one reaches for on real data, on a
//! W2-sized network (784-512-512-10), the same data and the same number of
//! steps for each.
//!
//! ```text
//! cargo run --release --example recipes [-- --steps 300 --backend cpu|gpu|auto]
//! ```
//!
//! Data: 8,192 training and 2,048 test rows of 784 inputs uniform in
//! [0, 1), labelled by a fixed random linear teacher (class = arg-max of
//! `(x − ½) . T`), so there is a rule to learn. Batches of 256 rows,
//! shuffled by a seed. Each recipe is scored on the test rows by the mean
//! of `½ Σ (ŷ − y)²` (one yardstick for networks trained on different
//! losses) and by accuracy.
//!
//! 1. notebook: sigmoid everywhere, MSE, plain SGD (lr 0.5), weights
//!    uniform in [−1, 1].
//! 2. adam + xavier: the same sigmoid hidden layers with xavier weights, a
//!    softmax output with cross-entropy, Adam (lr 0.001).
//! 3. relu + he + adam: ReLU hidden layers with he weights, softmax with
//!    cross-entropy, Adam (lr 0.001).

use std::time::Instant;

use neurona::{
    Activation, Backend, BatchOrder, Device, Init, Loss, Matrix, Network, Optimizer, TrainConfig,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const INPUTS: usize = 784;
const CLASSES: usize = 10;

/// `rows` rows of teacher-labelled data; `teacher` fixes the rule.
fn teacher_data(rows: usize, seed: u64, teacher: &[f32]) -> (Matrix, Matrix) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f32> = (0..rows * INPUTS)
        .map(|_| rng.random_range(0.0..1.0))
        .collect();
    let mut y = vec![0.0f32; rows * CLASSES];
    for (r, row) in x.chunks_exact(INPUTS).enumerate() {
        let mut scores = [0.0f32; CLASSES];
        for (i, v) in row.iter().enumerate() {
            for (c, s) in scores.iter_mut().enumerate() {
                *s += (v - 0.5) * teacher[i * CLASSES + c];
            }
        }
        let best = (0..CLASSES).fold(0, |b, c| if scores[c] > scores[b] { c } else { b });
        y[r * CLASSES + best] = 1.0;
    }
    (
        Matrix::new(rows, INPUTS, x).unwrap(),
        Matrix::new(rows, CLASSES, y).unwrap(),
    )
}

fn main() -> neurona::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let steps: usize = value("--steps").map_or(300, |s| s.parse().expect("--steps N"));
    let backend = match value("--backend").as_deref() {
        Some("cpu") => Backend::Cpu,
        Some("gpu") => Backend::Gpu,
        _ => Backend::Auto,
    };
    let device = Device::new(backend)?;
    println!("device: {device}");

    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let teacher: Vec<f32> = (0..INPUTS * CLASSES)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let (x, y) = teacher_data(8192, 1, &teacher);
    let (x_test, y_test) = teacher_data(2048, 2, &teacher);
    let batch = 256;
    let epochs = steps.div_ceil(x.rows() / batch);
    let base = TrainConfig::new()
        .loss(Loss::Mse)
        .optimizer(Optimizer::Sgd)
        .batch_size(batch)
        .order(BatchOrder::Shuffled { seed: 3 })
        .epochs(epochs);
    println!(
        "784-512-512-10, {} training rows, batches of {batch}, {} steps each\n",
        x.rows(),
        epochs * x.rows().div_ceil(batch)
    );

    let net = |hidden: Activation, output: Activation, init: Init| {
        Network::builder(INPUTS)
            .layer(512, hidden)
            .layer(512, hidden)
            .layer(CLASSES, output)
            .init(init)
            .build(7)
    };
    let adam = base
        .clone()
        .loss(Loss::CrossEntropy)
        .optimizer(Optimizer::adam())
        .learning_rate(0.001);
    let recipes = [
        (
            "notebook (sigmoid, MSE, SGD, uniform)",
            net(Activation::Sigmoid, Activation::Sigmoid, Init::Uniform)?,
            base.clone().learning_rate(0.5),
        ),
        (
            "adam + xavier (sigmoid, softmax/CE)",
            net(Activation::Sigmoid, Activation::Softmax, Init::Xavier)?,
            adam.clone(),
        ),
        (
            "relu + he + adam (softmax/CE)",
            net(Activation::Relu, Activation::Softmax, Init::Auto)?,
            adam,
        ),
    ];
    println!(
        "{:<40} {:>18} {:>14} {:>10}",
        "recipe", "test ½Σ(ŷ−y)²", "test accuracy", "time"
    );
    for (name, mut net, config) in recipes {
        let start = Instant::now();
        net.train_on(&device, &x, &y, &config, |_| {})?;
        let elapsed = start.elapsed();
        let p = net.predict(&x_test)?;
        let error = Loss::Mse.sum(p.as_slice(), y_test.as_slice()) / x_test.rows() as f64;
        let accuracy = neurona::accuracy(&p, &y_test)?;
        println!(
            "{name:<40} {error:>18.4} {:>13.1}% {:>9.1}s",
            100.0 * accuracy,
            elapsed.as_secs_f64()
        );
    }
    Ok(())
}
