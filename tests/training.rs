//! Whole training runs: on the CPU path, and the bodies that hold on any
//! device once per backend (`on_each_backend!`).

use crate::common::{notebook_data, notebook_network, random_matrix};
use neurona::{
    Activation, BatchOrder, Device, Error, Loss, Matrix, Network, Reduction, SigmoidDerivative,
    TrainConfig, shuffled_order,
};

/// numpy (f64) running the notebook's loop from its own weights (cast to
/// f32), with the correct derivative and with the notebook's `1 − s`.
const NUMPY_EXACT: [f64; 4] = [
    0.005102015768653028,
    0.9943719390436326,
    0.9949390171356212,
    0.004218647324200085,
];
const NUMPY_NOTEBOOK: [f64; 4] = [
    3.1475808878573125e-10,
    0.9654554127140078,
    0.9999998494707796,
    0.0014125159805785722,
];

#[test]
fn notebook_predictions_round_to_xor() {
    let (x, y) = notebook_data();
    let mut net = notebook_network();
    let report = net.train(&x, &y, &TrainConfig::notebook()).unwrap();
    assert_eq!(report.steps, 10_000);
    let p = net.predict(&x).unwrap();
    let rounded: Vec<f32> = p.as_slice().iter().map(|v| v.round()).collect();
    assert_eq!(rounded, [0.0, 1.0, 1.0, 0.0]);
    // f32 against numpy's f64, over 10,000 steps.
    crate::common::assert_close("notebook vs numpy", p.as_slice(), &NUMPY_EXACT, 1e-5, 0.0);
}

#[test]
fn notebook_derivative_reproduces_the_notebook() {
    let (x, y) = notebook_data();
    let mut net = notebook_network();
    let cfg = TrainConfig::notebook().sigmoid_derivative(SigmoidDerivative::NotebookOneMinusS);
    net.train(&x, &y, &cfg).unwrap();
    let p = net.predict(&x).unwrap();
    // The wrong derivative drifts more between f32 and f64 (it does not
    // follow a gradient), hence the looser bound.
    crate::common::assert_close(
        "notebook derivative vs numpy",
        p.as_slice(),
        &NUMPY_NOTEBOOK,
        1e-4,
        0.0,
    );
}

#[test]
fn progress_reports_the_notebooks_iterations() {
    let (x, y) = notebook_data();
    let mut net = notebook_network();
    let mut seen = Vec::new();
    let report = net
        .train_with(&x, &y, &TrainConfig::notebook(), |p| seen.push(p.step))
        .unwrap();
    assert_eq!(seen, (0..10).map(|i| i * 1000).collect::<Vec<_>>());
    assert_eq!(report.history.len(), 10);
    // Step 0's loss is the untrained network's: ½ mean of the notebook's
    // first printed |error|² (0.4737, 0.4553, 0.4562, 0.4890).
    let first = [0.47372957f64, 0.45529163, 0.45615914, 0.48895696];
    let want = first.iter().map(|e| 0.5 * e * e).sum::<f64>() / 4.0;
    assert!((report.history[0].loss - want).abs() < 1e-6);
    // The loss falls, and the final loss is the trained network's.
    assert!(report.history[9].loss < report.history[1].loss);
    let p = net.predict(&x).unwrap();
    let direct: f64 = p
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .map(|(p, t)| 0.5 * ((p - t) as f64).powi(2))
        .sum::<f64>()
        / 4.0;
    assert!((report.final_loss - direct).abs() < 1e-9);
}

/// A 20-33-17-3 network (relu, tanh, sigmoid with bias) and 203 rows: shapes
/// that are not round and a last batch that is not full.
fn mid_sized() -> (Network, Matrix, Matrix) {
    let net = Network::builder(20)
        .layer(33, Activation::Relu)
        .layer(17, Activation::Tanh)
        .layer(3, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(11)
        .unwrap();
    let x = Matrix::new(203, 20, random_matrix(5, 203, 20, -1.0, 1.0)).unwrap();
    let y = Matrix::new(203, 3, random_matrix(6, 203, 3, 0.0, 1.0)).unwrap();
    (net, x, y)
}

fn same_seed_gives_bit_identical_weights(device: &Device) {
    let cfg = crate::common::plain()
        .learning_rate(0.5)
        .epochs(20)
        .batch_size(16)
        .order(BatchOrder::Shuffled { seed: 3 })
        .loss(Loss::Bce);
    let run = || {
        let (mut net, x, y) = mid_sized();
        net.train_on(device, &x, &y, &cfg, |_| {}).unwrap();
        net
    };
    let (a, b) = (run(), run());
    for (la, lb) in a.layers().iter().zip(b.layers()) {
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(la.weights()), bits(lb.weights()));
        assert_eq!(la.bias().map(bits), lb.bias().map(bits));
    }
    // And the run did change the network.
    assert_ne!(a, mid_sized().0);
}
on_each_backend!(
    same_seed_gives_bit_identical_weights,
    same_seed_gives_bit_identical_weights_on_the_cpu,
    same_seed_gives_bit_identical_weights_on_the_gpu
);

#[test]
fn seeded_initialisation_is_pinned() {
    // These values are the contract "same seed, same network on every
    // machine and every run": a change of generator would break them.
    let net = Network::builder(2)
        .layer(2, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(1)
        .unwrap();
    let l = &net.layers()[0];
    let got: Vec<f32> = l
        .weights()
        .iter()
        .chain(l.bias().unwrap())
        .copied()
        .collect();
    assert_eq!(got, PINNED_SEED_1);
    assert!(got.iter().all(|v| (-1.0..1.0).contains(v)));
    let other = Network::builder(2)
        .layer(2, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(2)
        .unwrap();
    assert_ne!(net, other);
}

const PINNED_SEED_1: [f32; 6] = [
    0.09875643,
    -0.19502878,
    0.9691942,
    -0.8392327,
    -0.57791066,
    0.19312036,
];

#[test]
fn initial_weights_are_uniform_in_minus_one_one() {
    let net = Network::builder(100)
        .layer(100, Activation::Relu)
        .init(neurona::Init::Uniform)
        .build(9)
        .unwrap();
    let w = net.layers()[0].weights();
    let mean = w.iter().map(|v| *v as f64).sum::<f64>() / w.len() as f64;
    let var = w.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / w.len() as f64;
    assert!(mean.abs() < 0.02, "mean {mean}");
    assert!((var - 1.0 / 3.0).abs() < 0.01, "variance {var}, want 1/3");
    assert!(w.iter().all(|v| (-1.0..1.0).contains(v)));
}

#[test]
fn shuffled_order_is_a_seeded_permutation_per_epoch() {
    let e0 = shuffled_order(100, 5, 0);
    let mut sorted = e0.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<u32>>());
    assert_eq!(e0, shuffled_order(100, 5, 0));
    assert_ne!(e0, shuffled_order(100, 5, 1));
    assert_ne!(e0, shuffled_order(100, 6, 0));
    assert_ne!(e0, sorted);
}

#[test]
fn mini_batches_in_order_are_consecutive_steps() {
    // One epoch in batches of 2 is the same as two full-batch steps on the
    // first and the second half: bit for bit.
    let (x, y) = notebook_data();
    let mut batched = notebook_network();
    let cfg = crate::common::plain().learning_rate(0.7).batch_size(2);
    batched.train(&x, &y, &cfg).unwrap();

    let half = |m: &Matrix, r: std::ops::Range<usize>| {
        Matrix::from_rows(&r.map(|i| m.row(i).to_vec()).collect::<Vec<_>>()).unwrap()
    };
    let mut manual = notebook_network();
    let full = crate::common::plain().learning_rate(0.7);
    manual
        .train(&half(&x, 0..2), &half(&y, 0..2), &full)
        .unwrap();
    manual
        .train(&half(&x, 2..4), &half(&y, 2..4), &full)
        .unwrap();
    assert_eq!(batched, manual);
}

#[test]
fn shuffled_batches_follow_the_permutation() {
    // One shuffled epoch with batch 3 on 7 rows equals in-order training on
    // the rows rearranged by shuffled_order(7, seed, 0).
    let (net, x, y) = mid_sized();
    let take = |m: &Matrix, rows: &[u32]| {
        Matrix::from_rows(
            &rows
                .iter()
                .map(|&r| m.row(r as usize).to_vec())
                .collect::<Vec<_>>(),
        )
        .unwrap()
    };
    let first7: Vec<u32> = (0..7).collect();
    let (x, y) = (take(&x, &first7), take(&y, &first7));
    let mut shuffled = net.clone();
    let cfg = crate::common::plain()
        .batch_size(3)
        .order(BatchOrder::Shuffled { seed: 9 });
    shuffled.train(&x, &y, &cfg).unwrap();

    let order = shuffled_order(7, 9, 0);
    let mut manual = net.clone();
    let in_order = crate::common::plain().batch_size(3);
    manual
        .train(&take(&x, &order), &take(&y, &order), &in_order)
        .unwrap();
    assert_eq!(shuffled, manual);
}

#[test]
fn a_step_moves_each_parameter_by_lr_times_its_gradient() {
    let (net, x, y) = mid_sized();
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let lr = 0.05;
        let cfg = crate::common::plain()
            .learning_rate(lr)
            .reduction(reduction);
        let grads = net.gradients(&x, &y, &cfg).unwrap();
        let mut stepped = net.clone();
        stepped.train(&x, &y, &cfg).unwrap();
        for ((before, after), g) in net.layers().iter().zip(stepped.layers()).zip(&grads) {
            let want: Vec<f64> = before
                .weights()
                .iter()
                .zip(&g.weights)
                .map(|(w, g)| *w as f64 - lr as f64 * *g as f64)
                .collect();
            crate::common::assert_close("W after one step", after.weights(), &want, 1e-6, 1e-5);
        }
        // Sum is B times Mean.
        if reduction == Reduction::Sum {
            let mean = net.gradients(&x, &y, &crate::common::plain()).unwrap();
            let want: Vec<f64> = mean[0].weights.iter().map(|g| *g as f64 * 203.0).collect();
            crate::common::assert_close("sum = B x mean", &grads[0].weights, &want, 1e-5, 1e-4);
        }
    }
}

fn mini_batch_training_learns(device: &Device) {
    // y = x0 XOR x1 on noisy corners, tanh hidden layer, BCE, shuffled.
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    let noise = random_matrix(8, 400, 2, -0.2, 0.2);
    for i in 0..400 {
        let (a, b) = ((i % 2) as f32, ((i / 2) % 2) as f32);
        rows.push([a + noise[2 * i], b + noise[2 * i + 1]]);
        targets.push([((a as u8) ^ (b as u8)) as f32]);
    }
    let x = Matrix::from_rows(&rows).unwrap();
    let y = Matrix::from_rows(&targets).unwrap();
    let mut net = Network::builder(2)
        .layer(8, Activation::Tanh)
        .layer(1, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(4)
        .unwrap();
    let cfg = crate::common::plain()
        .loss(Loss::Bce)
        .learning_rate(0.5)
        .batch_size(20)
        .order(BatchOrder::Shuffled { seed: 1 })
        .epochs(300);
    let report = net.train_on(device, &x, &y, &cfg, |_| {}).unwrap();
    assert!(report.final_loss < 0.05, "final BCE {}", report.final_loss);
    assert_eq!(report.steps, 300 * 20);
}
on_each_backend!(
    mini_batch_training_learns,
    mini_batch_training_learns_on_the_cpu,
    mini_batch_training_learns_on_the_gpu
);

fn divergence_stops_and_rolls_back_the_breaking_step(device: &Device) {
    // An identity output with a huge learning rate blows up in a few steps.
    let (x, y) = notebook_data();
    let start = Network::builder(3)
        .layer(4, Activation::Identity)
        .layer(1, Activation::Identity)
        .init(neurona::Init::Uniform)
        .build(2)
        .unwrap();
    let cfg = crate::common::plain().learning_rate(1e6).epochs(1000);
    let mut net = start.clone();
    let err = net.train_on(device, &x, &y, &cfg, |_| {}).unwrap_err();
    let Error::Diverged { step, loss } = err else {
        panic!("expected Diverged, got {err}");
    };
    assert!(!loss.is_finite());
    assert!(err_message_names_step(
        &Error::Diverged { step, loss },
        step
    ));
    // The network is what `step` successful steps give: finite, and the
    // same as training for exactly that many steps.
    let mut replay = start.clone();
    replay
        .train_on(device, &x, &y, &cfg.clone().epochs(step), |_| {})
        .unwrap();
    assert_eq!(net, replay);
    assert!(
        net.layers()
            .iter()
            .all(|l| l.weights().iter().all(|w| w.is_finite()))
    );
}
on_each_backend!(
    divergence_stops_and_rolls_back_the_breaking_step,
    divergence_stops_and_rolls_back_the_breaking_step_on_the_cpu,
    divergence_stops_and_rolls_back_the_breaking_step_on_the_gpu
);

fn err_message_names_step(e: &Error, step: usize) -> bool {
    e.to_string().contains(&format!("at step {step}"))
}
