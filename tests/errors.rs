//! Every bad input comes back as an `Err` whose message says what and where;
//! none panics, and a failed call leaves the network unchanged.

use crate::common::{notebook_data, notebook_network};
use neurona::{Activation, Layer, Loss, Matrix, Network};

#[track_caller]
fn assert_message<T: std::fmt::Debug>(result: neurona::Result<T>, want: &str) {
    let err = result.expect_err("expected an error");
    let msg = err.to_string();
    assert!(
        msg.contains(want),
        "message {msg:?} does not contain {want:?}"
    );
}

fn rows(r: &[&[f32]]) -> Matrix {
    Matrix::from_rows(r).unwrap()
}

#[test]
fn input_width_differs_from_first_layer() {
    let net = notebook_network();
    let (_, y) = notebook_data();
    let x = Matrix::new(4, 2, vec![0.0; 8]).unwrap();
    assert_message(
        net.predict(&x),
        "inputs have 2 columns but the first layer takes 3",
    );
    assert_message(
        net.predict_one(&[1.0; 5]),
        "inputs have 5 columns but the first layer takes 3",
    );
    assert_message(
        net.activate(&[]),
        "inputs have 0 columns but the first layer takes 3",
    );
    let mut net2 = net.clone();
    assert_message(
        net2.train(&x, &y, &crate::common::plain()),
        "inputs have 2 columns",
    );
    assert_eq!(net2, net);
}

#[test]
fn target_width_differs_from_last_layer() {
    let mut net = notebook_network();
    let (x, _) = notebook_data();
    let y = Matrix::new(4, 2, vec![0.0; 8]).unwrap();
    assert_message(
        net.train(&x, &y, &crate::common::plain()),
        "targets have 2 columns but the last layer gives 1",
    );
}

#[test]
fn zero_width_layers() {
    assert_message(
        Network::builder(3)
            .layer(0, Activation::Relu)
            .layer(1, Activation::Sigmoid)
            .init(neurona::Init::Uniform)
            .build(1),
        "layer 1 has zero outputs",
    );
    assert_message(
        Network::builder(3)
            .layer(4, Activation::Relu)
            .layer(0, Activation::Sigmoid)
            .init(neurona::Init::Uniform)
            .build(1),
        "layer 2 has zero outputs",
    );
    assert_message(
        Network::builder(0)
            .layer(4, Activation::Relu)
            .init(neurona::Init::Uniform)
            .build(1),
        "at least one input, got width 0",
    );
    assert_message(Network::neuron(0, 1), "at least one input, got width 0");
    assert_message(
        Network::builder(3).init(neurona::Init::Uniform).build(1),
        "at least one layer",
    );
    assert_message(Network::from_layers(vec![]), "at least one layer");
}

#[test]
fn empty_data_set() {
    let mut net = notebook_network();
    let x = Matrix::new(0, 3, vec![]).unwrap();
    let y = Matrix::new(0, 1, vec![]).unwrap();
    assert_message(
        net.train(&x, &y, &crate::common::plain()),
        "the data set is empty (0 rows)",
    );
    assert_message(net.predict(&x), "the data set is empty");
}

#[test]
fn inputs_and_targets_with_different_row_counts() {
    let mut net = notebook_network();
    let (x, _) = notebook_data();
    let y = rows(&[&[0.0], &[1.0], &[1.0]]);
    assert_message(
        net.train(&x, &y, &crate::common::plain()),
        "inputs have 4 rows but targets have 3",
    );
}

#[test]
fn nan_or_infinity_in_data() {
    let mut net = notebook_network();
    let (x, y) = notebook_data();
    let bad_x = rows(&[
        &[0., 0., 1.],
        &[1., f32::NAN, 1.],
        &[1., 0., 1.],
        &[0., 1., 1.],
    ]);
    assert_message(
        net.train(&bad_x, &y, &crate::common::plain()),
        "inputs: row 1, column 1 is NaN",
    );
    assert_message(net.predict(&bad_x), "inputs: row 1, column 1 is NaN");
    let bad_y = rows(&[&[0.], &[1.], &[1.], &[f32::INFINITY]]);
    assert_message(
        net.train(&x, &bad_y, &crate::common::plain()),
        "targets: row 3, column 0 is inf",
    );
    assert_eq!(net, notebook_network());
}

#[test]
fn weights_of_the_wrong_shape() {
    let sig = Activation::Sigmoid;
    assert_message(
        Network::from_layers(vec![
            Layer::new(3, 4, sig, vec![0.0; 12], None),
            Layer::new(4, 1, sig, vec![0.0; 5], None),
        ]),
        "layer 2: weights must be 4x1 (inputs x outputs, row-major) = 4 values, got 5",
    );
    assert_message(
        Network::from_layers(vec![Layer::new(
            3,
            4,
            sig,
            vec![0.0; 12],
            Some(vec![0.0; 3]),
        )]),
        "layer 1: bias must have one value per output (4), got 3",
    );
    assert_message(
        Network::from_layers(vec![
            Layer::new(3, 4, sig, vec![0.0; 12], None),
            Layer::new(5, 1, sig, vec![0.0; 5], None),
        ]),
        "layer 2 takes 5 inputs but the layer before it gives 4",
    );
    let mut w = vec![0.0; 12];
    w[7] = f32::NEG_INFINITY;
    assert_message(
        Network::from_layers(vec![Layer::new(3, 4, sig, w, None)]),
        "weights of layer 1: row 1, column 3 is -inf",
    );
}

#[test]
fn matrices_of_the_wrong_shape() {
    assert_message(
        Matrix::new(2, 3, vec![0.0; 5]),
        "a 2x3 matrix needs 6 values, got 5",
    );
    assert_message(
        Matrix::from_rows(&[vec![1.0, 2.0], vec![3.0]]),
        "row 1 has 1 values but row 0 has 2",
    );
}

#[test]
fn settings_that_cannot_work() {
    let (x, y) = notebook_data();
    let mut net = notebook_network();
    for lr in [0.0, -1.0, f32::NAN] {
        assert_message(
            net.train(&x, &y, &crate::common::plain().learning_rate(lr)),
            "learning rate must be a finite number above 0",
        );
    }
    assert_message(
        net.train(&x, &y, &crate::common::plain().batch_size(0)),
        "batch size must be at least 1",
    );
    let mut relu_out = Network::builder(3)
        .layer(1, Activation::Relu)
        .init(neurona::Init::Uniform)
        .build(1)
        .unwrap();
    assert_message(
        relu_out.train(&x, &y, &crate::common::plain().loss(Loss::Bce)),
        "BCE needs a sigmoid output layer, but layer 1 is relu",
    );
    let y2 = rows(&[&[0.], &[1.], &[2.], &[0.]]);
    assert_message(
        net.train(&x, &y2, &crate::common::plain().loss(Loss::Bce)),
        "targets for BCE: row 2, column 0 is 2; it must lie in [0, 1]",
    );
    let two_out = Network::builder(3)
        .layer(2, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(1)
        .unwrap();
    assert_message(
        two_out.activate(&[1.0, 2.0, 3.0]),
        "this network has 2 outputs",
    );
    assert_eq!(net, notebook_network());
}

#[test]
fn optimizer_and_softmax_settings_that_cannot_work() {
    use neurona::{Optimizer, Schedule};
    let (x, y) = notebook_data();
    let mut net = notebook_network();
    let bad = [
        (
            crate::common::plain().optimizer(Optimizer::Adam {
                beta1: 1.0,
                beta2: 0.999,
                epsilon: 1e-8,
            }),
            "beta1 must be at least 0 and below 1, got 1",
        ),
        (
            crate::common::plain().optimizer(Optimizer::Adam {
                beta1: 0.9,
                beta2: -0.1,
                epsilon: 1e-8,
            }),
            "beta2 must be at least 0 and below 1, got -0.1",
        ),
        (
            crate::common::plain().optimizer(Optimizer::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 0.0,
            }),
            "epsilon must be a finite number above 0, got 0",
        ),
        (
            crate::common::plain().optimizer(Optimizer::momentum(1.5)),
            "momentum must be at least 0 and below 1, got 1.5",
        ),
        (
            crate::common::plain().weight_decay(-0.1),
            "weight decay must be a finite number of at least 0, got -0.1",
        ),
        (
            crate::common::plain()
                .optimizer(Optimizer::adam())
                .learning_rate(-0.01),
            "learning rate must be a finite number above 0, got -0.01",
        ),
        (
            crate::common::plain().schedule(Schedule::Step {
                every: 0,
                factor: 0.5,
            }),
            "a step schedule needs at least 1 step between changes",
        ),
        (
            crate::common::plain().schedule(Schedule::Cosine {
                steps: 10,
                floor: 2.0,
            }),
            "a cosine schedule needs at least 1 step and a floor in [0, 1]",
        ),
        (
            crate::common::plain().loss(Loss::CrossEntropy),
            "cross-entropy needs a softmax output layer, but layer 2 is sigmoid",
        ),
    ];
    for (config, message) in bad {
        assert_message(net.train(&x, &y, &config), message);
    }
    assert_eq!(net, notebook_network(), "a refused run changed the network");

    assert_message(
        Network::builder(3)
            .layer(1, Activation::Softmax)
            .init(neurona::Init::Uniform)
            .build(1),
        "layer 1 is a softmax over 1 output; softmax needs at least 2 (use sigmoid for one)",
    );
    assert_message(
        Network::builder(3)
            .layer(4, Activation::Softmax)
            .layer(2, Activation::Sigmoid)
            .init(neurona::Init::Uniform)
            .build(1),
        "layer 1 is softmax, which only the output layer may be",
    );
    let mut softmax = Network::builder(3)
        .layer(2, Activation::Softmax)
        .init(neurona::Init::Uniform)
        .build(1)
        .unwrap();
    let one_hot = rows(&[&[1., 0.], &[0., 1.], &[0., 1.], &[1., 0.]]);
    assert_message(
        softmax.train(&x, &one_hot, &crate::common::plain()),
        "a softmax output layer trains with cross-entropy, not mse",
    );
    let not_a_distribution = rows(&[&[1., 0.], &[0., 1.], &[0.5, 0.], &[1., 0.]]);
    assert_message(
        softmax.train(
            &x,
            &not_a_distribution,
            &crate::common::plain().loss(Loss::CrossEntropy),
        ),
        "targets for cross-entropy: row 2 sums to 0.5; each row must sum to 1",
    );
    // A resumed run whose state belongs to another optimizer.
    let state = neurona::OptimizerState::new(&softmax, Optimizer::momentum(0.9)).unwrap();
    let adam = crate::common::plain()
        .loss(Loss::CrossEntropy)
        .optimizer(Optimizer::adam());
    let cpu = neurona::Device::new(neurona::Backend::Cpu).unwrap();
    assert_message(
        softmax.resume_on(&cpu, &x, &one_hot, &adam, &mut state.clone(), |_| {}),
        "the optimizer state holds 1 moment vectors per value, but adam keeps 2",
    );
}

#[test]
fn divergence_names_the_step() {
    let (x, y) = notebook_data();
    let mut net = Network::builder(3)
        .layer(1, Activation::Identity)
        .init(neurona::Init::Uniform)
        .build(2)
        .unwrap();
    let cfg = crate::common::plain().learning_rate(1e7).epochs(100);
    assert_message(net.train(&x, &y, &cfg), "training diverged at step");
}

#[test]
fn counts_that_would_overflow_are_errors() {
    use neurona::{Backend, Device, OptimizerState};
    let (x, y) = notebook_data();
    let mut net = notebook_network();
    let too_many = crate::common::plain().batch_size(1).epochs(usize::MAX);
    assert_message(
        net.train(&x, &y, &too_many),
        "18446744073709551615 epochs of 4 steps are more steps than a run can count",
    );
    // Resuming a run whose step count is near the end of u64.
    let cpu = Device::new(Backend::Cpu).unwrap();
    let mut state = OptimizerState::new(&net, too_many.optimizer).unwrap();
    state.steps = u64::MAX - 2;
    let before = net.clone();
    assert_message(
        net.resume_on(
            &cpu,
            &x,
            &y,
            &crate::common::plain().epochs(3),
            &mut state,
            |_| {},
        ),
        "resuming after 18446744073709551613 steps, 3 more steps would count past 2^64 - 1",
    );
    assert_eq!(net, before);
    // Widths whose weights overflow, or are beyond any machine.
    assert_message(
        Network::builder(1 << 40)
            .layer(1 << 40, Activation::Relu)
            .init(neurona::Init::Uniform)
            .build(1),
        "not enough memory for the weights and biases of a 1099511627776-1099511627776 network: it needs more than 2^64 bytes",
    );
    assert_message(
        Network::builder(4)
            .layer(99_999_999_999, Activation::Relu)
            .init(neurona::Init::Uniform)
            .build(1),
        "it needs 1999999999980 bytes (1.8 TiB)",
    );
}
