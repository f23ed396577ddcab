//! Learning well on real-sized problems: initialisation schemes, schedules,
//! resuming, metrics, and the modern recipe against the notebook's.

use crate::common::random_matrix;
use neurona::{
    Activation, BatchOrder, ConfusionMatrix, Init, Loss, Matrix, Network, Optimizer,
    OptimizerState, Schedule,
};

/// `rows` inputs uniform in [0, 1) (drawn from `seed`) and one-hot labels
/// from a fixed random linear teacher (drawn from `teacher`): class =
/// arg-max of `(x − ½) . T`, a rule a network can learn, with the classes
/// about equally common.
pub fn teacher_data(
    rows: usize,
    inputs: usize,
    classes: usize,
    seed: u64,
    teacher: u64,
) -> (Matrix, Matrix) {
    let x = random_matrix(seed, rows, inputs, 0.0, 1.0);
    let t = random_matrix(teacher, inputs, classes, -1.0, 1.0);
    let mut y = vec![0.0f32; rows * classes];
    for r in 0..rows {
        let scores: Vec<f32> = (0..classes)
            .map(|c| {
                (0..inputs)
                    .map(|i| x[r * inputs + i] * t[i * classes + c])
                    .sum()
            })
            .collect();
        let best = (0..classes).fold(0, |b, c| if scores[c] > scores[b] { c } else { b });
        y[r * classes + best] = 1.0;
    }
    (
        Matrix::new(rows, inputs, x).unwrap(),
        Matrix::new(rows, classes, y).unwrap(),
    )
}

/// Mean over rows of ½ Σ (ŷ − y)²: one yardstick for networks trained on
/// different losses.
fn squared_error(net: &Network, x: &Matrix, y: &Matrix) -> f64 {
    let p = net.predict(x).unwrap();
    Loss::Mse.sum(p.as_slice(), y.as_slice()) / x.rows() as f64
}

#[test]
fn adam_and_xavier_beat_the_notebook_recipe() {
    // A W2-shaped problem at a size the test suite can afford: 64-32-32-10
    // on 1,024 rows, 160 steps of 64 rows for both recipes.
    let (x, y) = teacher_data(1024, 64, 10, 40, 99);
    let (x_test, y_test) = teacher_data(512, 64, 10, 41, 99);
    let batches = crate::common::plain()
        .batch_size(64)
        .order(BatchOrder::Shuffled { seed: 1 })
        .epochs(10);

    // The notebook's recipe: sigmoid everywhere, MSE, SGD, weights in [-1, 1].
    let mut notebook = Network::builder(64)
        .layer(32, Activation::Sigmoid)
        .layer(32, Activation::Sigmoid)
        .layer(10, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(3)
        .unwrap();
    notebook
        .train(&x, &y, &batches.clone().learning_rate(0.5))
        .unwrap();

    // The same hidden layers with xavier weights, a softmax output with
    // cross-entropy, and Adam.
    let mut modern = Network::builder(64)
        .layer(32, Activation::Sigmoid)
        .layer(32, Activation::Sigmoid)
        .layer(10, Activation::Softmax)
        .init(Init::Xavier)
        .build(3)
        .unwrap();
    let adam = batches
        .clone()
        .loss(Loss::CrossEntropy)
        .optimizer(Optimizer::adam())
        .learning_rate(0.01);
    modern.train(&x, &y, &adam).unwrap();

    let (e_notebook, e_modern) = (
        squared_error(&notebook, &x_test, &y_test),
        squared_error(&modern, &x_test, &y_test),
    );
    let acc = |net: &Network| neurona::accuracy(&net.predict(&x_test).unwrap(), &y_test).unwrap();
    let (a_notebook, a_modern) = (acc(&notebook), acc(&modern));
    eprintln!(
        "test squared error: notebook recipe {e_notebook:.4}, adam+xavier {e_modern:.4}; \
         accuracy {a_notebook:.3} vs {a_modern:.3}"
    );
    assert!(
        e_modern < 0.75 * e_notebook,
        "adam+xavier {e_modern} does not beat the notebook recipe {e_notebook}"
    );
    assert!(
        a_modern > a_notebook + 0.1,
        "accuracy {a_modern} vs {a_notebook}"
    );
}

fn resuming_gives_the_uninterrupted_run(device: &neurona::Device) {
    let (x, y) = teacher_data(150, 8, 3, 2, 3);
    let net = Network::builder(8)
        .layer(12, Activation::Relu)
        .layer(3, Activation::Softmax)
        .init(Init::Auto)
        .build(4)
        .unwrap();
    for optimizer in [Optimizer::nesterov(0.9), Optimizer::adam()] {
        let cfg = crate::common::plain()
            .loss(Loss::CrossEntropy)
            .optimizer(optimizer)
            .learning_rate(0.01)
            .weight_decay(1e-3)
            .schedule(Schedule::Cosine {
                steps: 40,
                floor: 0.0,
            })
            .batch_size(32)
            .order(BatchOrder::Shuffled { seed: 6 })
            .epochs(3);
        let mut whole = net.clone();
        whole
            .train_on(device, &x, &y, &cfg.clone().epochs(6), |_| {})
            .unwrap();
        let mut parts = net.clone();
        let mut state = OptimizerState::new(&parts, optimizer).unwrap();
        let first = parts
            .resume_on(device, &x, &y, &cfg, &mut state, |_| {})
            .unwrap();
        assert_eq!((first.steps, state.steps, state.epochs), (15, 15, 3));
        let mut steps_seen = Vec::new();
        parts
            .resume_on(
                device,
                &x,
                &y,
                &cfg.clone().report_every(5),
                &mut state,
                |p| steps_seen.push(p.step),
            )
            .unwrap();
        assert_eq!(whole, parts, "{} resumed differs", optimizer.name());
        // Steps count on over the runs.
        assert_eq!(steps_seen, [15, 20, 25]);
    }
}
on_each_backend!(
    resuming_gives_the_uninterrupted_run,
    resuming_on_the_cpu_gives_the_uninterrupted_run,
    resuming_on_the_gpu_gives_the_uninterrupted_run_too
);

#[test]
fn xavier_and_he_draw_in_their_ranges() {
    let net = Network::builder(300)
        .layer(100, Activation::Relu)
        .layer(50, Activation::Tanh)
        .layer(4, Activation::Softmax)
        .init(Init::Auto)
        .build(5)
        .unwrap();
    let bounds = [
        (6.0f64 / 300.0).sqrt(), // he, relu
        (6.0f64 / 150.0).sqrt(), // xavier, tanh
        (6.0f64 / 54.0).sqrt(),  // xavier, softmax
    ];
    for (l, (layer, a)) in net.layers().iter().zip(bounds).enumerate() {
        let w = layer.weights();
        let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
        let var = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / w.len() as f64;
        assert!(
            max <= a && max > 0.9 * a,
            "layer {}: max {max}, bound {a}",
            l + 1
        );
        // Uniform on [−a, a) has variance a²/3.
        let want = a * a / 3.0;
        assert!(
            (var - want).abs() < 0.1 * want,
            "layer {}: variance {var}, want {want}",
            l + 1
        );
        assert!(layer.bias().unwrap().iter().all(|b| *b == 0.0));
    }
    // The default stays the notebook's uniform rule, biases included.
    let uniform = Network::builder(300)
        .layer(100, Activation::Relu)
        .init(neurona::Init::Uniform)
        .build(5)
        .unwrap();
    assert!(uniform.layers()[0].weights().iter().any(|w| w.abs() > 0.99));
    assert!(
        uniform.layers()[0]
            .bias()
            .unwrap()
            .iter()
            .any(|b| *b != 0.0)
    );
    assert_eq!(Init::Auto.for_activation(Activation::Relu), Init::He);
    assert_eq!(Init::Auto.for_activation(Activation::Sigmoid), Init::Xavier);
}

#[test]
fn schedules_give_their_rates() {
    let step = Schedule::Step {
        every: 10,
        factor: 0.5,
    };
    assert_eq!(step.rate(0.8, 0), 0.8);
    assert_eq!(step.rate(0.8, 9), 0.8);
    assert_eq!(step.rate(0.8, 10), 0.4);
    assert_eq!(step.rate(0.8, 25), 0.2);
    let cosine = Schedule::Cosine {
        steps: 100,
        floor: 0.1,
    };
    assert_eq!(cosine.rate(1.0, 0), 1.0);
    assert!((cosine.rate(1.0, 50) - 0.55).abs() < 1e-6);
    assert!((cosine.rate(1.0, 100) - 0.1).abs() < 1e-6);
    assert!((cosine.rate(1.0, 1000) - 0.1).abs() < 1e-6);
    assert_eq!(Schedule::Constant.rate(0.3, 12345), 0.3);
}

#[test]
fn accuracy_and_the_confusion_matrix_count_classes() {
    let p = Matrix::from_rows(&[
        [0.8, 0.1, 0.1],
        [0.2, 0.7, 0.1],
        [0.1, 0.2, 0.7],
        [0.6, 0.3, 0.1],
        [0.1, 0.1, 0.8],
    ])
    .unwrap();
    let y = Matrix::from_rows(&[
        [1., 0., 0.],
        [0., 1., 0.],
        [0., 1., 0.],
        [0., 0., 1.],
        [0., 0., 1.],
    ])
    .unwrap();
    let m = ConfusionMatrix::new(&p, &y).unwrap();
    assert_eq!(m.counts, [[1, 0, 0], [0, 1, 1], [1, 0, 1]]);
    assert_eq!((m.correct(), m.total()), (3, 5));
    assert_eq!(neurona::accuracy(&p, &y).unwrap(), 0.6);
    let table = m.to_string();
    assert!(table.contains("actual \\ predicted"), "{table}");
    // One sigmoid output: two classes by the 0.5 threshold.
    let p1 = Matrix::from_rows(&[[0.9], [0.2], [0.6]]).unwrap();
    let y1 = Matrix::from_rows(&[[1.], [0.], [0.]]).unwrap();
    let m1 = ConfusionMatrix::new(&p1, &y1).unwrap();
    assert_eq!(m1.counts, [[1, 1], [0, 1]]);
    assert!(ConfusionMatrix::new(&p1, &y).is_err());
}

#[test]
fn the_pages_problems_are_seeded_balanced_and_learnable() {
    use neurona::problems::{self, Shape};
    for shape in [Shape::Moons, Shape::Circles, Shape::Spirals] {
        let a = problems::two_d(shape, 400, 0.1, 1).unwrap();
        assert_eq!(
            a,
            problems::two_d(shape, 400, 0.1, 1).unwrap(),
            "{}",
            shape.name()
        );
        assert_ne!(a, problems::two_d(shape, 400, 0.1, 2).unwrap());
        let ones: f32 = (0..400).map(|r| a.targets.row(r)[1]).sum();
        assert_eq!(ones, 200.0, "{}: half of each class", shape.name());
    }
    // The page's default: two moons, 16-16 ReLU, Adam; learnt on the CPU.
    let moons = problems::two_d(Shape::Moons, 400, 0.12, 1).unwrap();
    let mut net = Network::builder(2)
        .layer(16, Activation::Relu)
        .layer(16, Activation::Relu)
        .layer(2, Activation::Softmax)
        .init(Init::Auto)
        .build(1)
        .unwrap();
    let config = crate::common::plain()
        .loss(Loss::CrossEntropy)
        .optimizer(Optimizer::adam())
        .learning_rate(0.01)
        .batch_size(32)
        .order(BatchOrder::Shuffled { seed: 1 })
        .epochs(20);
    net.train(&moons.inputs, &moons.targets, &config).unwrap();
    let acc = neurona::accuracy(&net.predict(&moons.inputs).unwrap(), &moons.targets).unwrap();
    assert!(acc >= 0.95, "moons accuracy {acc}");
    // The lesson's spam messages: the neuron example's data.
    let spam = problems::spam(1000, 2024);
    let share = spam.targets.as_slice().iter().sum::<f32>() / 1000.0;
    assert!((0.4..0.6).contains(&share), "spam share {share}");
}

#[test]
fn csv_text_and_model_bytes_match_their_file_forms() {
    let text = "a,b,y\n1,2,0\n3,four,1\n";
    // A column of text is labels until it is read as numbers.
    let upload = neurona::Table::parse("upload.csv", text).unwrap();
    let err = upload.numbers(1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "upload.csv line 3, column \"b\": \"four\" is not a number"
    );
    let table = neurona::Table::parse("ok.csv", "a,y\n1,0\n2,1\n").unwrap();
    assert_eq!(
        table.select_columns(&[0, 1]).unwrap().as_slice(),
        [1.0, 0.0, 2.0, 1.0]
    );

    let model = neurona::Model {
        network: Network::neuron(2, 1).unwrap(),
        loss: Loss::Bce,
        features: vec!["a".into(), "b".into()],
        ..neurona::Model::new(Network::neuron(1, 1).unwrap(), Loss::Mse)
    };
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("m.safetensors");
    // The page's download: to_bytes, written as is, loads as the model.
    // (Byte equality with save() would fail on the header alone:
    // safetensors writes its metadata map in hash order.)
    std::fs::write(&path, model.to_bytes("m").unwrap()).unwrap();
    assert_eq!(neurona::Model::load(&path).unwrap(), model);
}
