//! Sweeps: every member of a sweep ends where it would alone, to the bit,
//! on each backend; folds; a diverging member stops alone; the errors a
//! sweep gives before anything trains.

use neurona::sweep::{GpuPlacement, Member, gpu_placements, k_folds, together, train_members};
use neurona::{
    Activation, BatchOrder, Device, EarlyStopping, Error, GpuOptions, Loss, MatmulChoice, Matrix,
    Network, Optimizer, OptimizerState, TrainConfig, TrainReport,
};

use crate::common::{cpu, random_matrix};

/// A network's or a state's values as bits.
fn bits(net: &Network) -> Vec<u32> {
    net.layers()
        .iter()
        .flat_map(|l| l.weights().iter().chain(l.bias().unwrap_or(&[])))
        .map(|v| v.to_bits())
        .collect()
}

fn state_bits(s: &OptimizerState) -> Vec<u32> {
    s.first
        .iter()
        .chain(&s.second)
        .flatten()
        .map(|v| v.to_bits())
        .collect()
}

/// A report's losses, steps, epochs, best epoch and early stop, floats as
/// bits.
type ReportBits = (
    Vec<u64>,
    usize,
    u64,
    Vec<(u64, Option<u64>)>,
    Option<usize>,
    bool,
);

/// What a report says, with its floats as bits (its time left out).
fn report_bits(r: &TrainReport) -> ReportBits {
    (
        r.history.iter().map(|p| p.loss.to_bits()).collect(),
        r.steps,
        r.final_loss.to_bits(),
        r.epochs
            .iter()
            .map(|e| (e.train_loss.to_bits(), e.validation_loss.map(f64::to_bits)))
            .collect(),
        r.best_epoch,
        r.stopped_early,
    )
}

/// Rows `rows` of `m`.
fn take(m: &Matrix, rows: &[u32]) -> Matrix {
    let data = rows
        .iter()
        .flat_map(|&r| m.row(r as usize).to_vec())
        .collect();
    Matrix::new(rows.len(), m.cols(), data).unwrap()
}

/// 45 rows of 3 inputs, 3 one-hot classes, and the same as 0/1 columns.
fn data() -> (Matrix, Matrix, Matrix, Vec<usize>) {
    let x = Matrix::new(45, 3, random_matrix(21, 45, 3, -1.0, 1.0)).unwrap();
    let classes: Vec<usize> = (0..45)
        .map(|r| {
            let row = x.row(r);
            if row[0] + 0.5 * row[1] > 0.3 {
                0
            } else if row[2] > 0.0 {
                1
            } else {
                2
            }
        })
        .collect();
    let one_hot = classes
        .iter()
        .flat_map(|&c| (0..3).map(move |j| (j == c) as u8 as f32))
        .collect();
    let y = Matrix::new(45, 3, one_hot).unwrap();
    let labels = Matrix::new(45, 3, random_matrix(22, 45, 3, 0.0, 1.0)).unwrap();
    (x, y, labels, classes)
}

/// A sweep of different members: optimizers (fused SGD, SGD with decay,
/// momentum, Nesterov, Adam), losses (CE on a softmax, BCE, MSE), widths
/// and depths, batch sizes and orders, folds with early stopping, and one
/// member too wide for one workgroup.
fn members(classes: &[usize]) -> (Vec<Member>, Vec<bool>) {
    let folds = k_folds(45, 3, 5, Some(classes)).unwrap();
    let mut members = Vec::new();
    let mut one_hot = Vec::new();
    let net = |hidden: &[usize], act: Activation, out: Activation, seed: u64| {
        let mut b = Network::builder(3);
        for &h in hidden {
            b = b.layer(h, act);
        }
        b.layer(3, out).build(seed).unwrap()
    };
    let shuffled = |seed| BatchOrder::Shuffled { seed };
    let base = TrainConfig::new().epochs(6);
    let settings: Vec<(Network, TrainConfig, Option<usize>, bool)> = vec![
        (
            net(&[8], Activation::Relu, Activation::Softmax, 1),
            base.clone()
                .optimizer(Optimizer::adam())
                .learning_rate(0.02)
                .batch_size(8),
            Some(0),
            true,
        ),
        (
            net(&[5, 4], Activation::Tanh, Activation::Softmax, 2),
            base.clone()
                .optimizer(Optimizer::momentum(0.8))
                .learning_rate(0.05)
                .weight_decay(0.01)
                .batch_size(7)
                .order(shuffled(3))
                .early_stopping(EarlyStopping {
                    patience: 2,
                    min_delta: 0.0,
                }),
            Some(1),
            true,
        ),
        (
            net(&[6], Activation::Sigmoid, Activation::Sigmoid, 3),
            base.clone()
                .optimizer(Optimizer::nesterov(0.5))
                .learning_rate(0.1)
                .loss(Loss::Bce)
                .full_batch(),
            Some(2),
            false,
        ),
        (
            net(&[7], Activation::Relu, Activation::Identity, 4),
            base.clone()
                .optimizer(Optimizer::Sgd)
                .learning_rate(0.05)
                .loss(Loss::Mse)
                .batch_size(16)
                .order(BatchOrder::InOrder),
            None,
            false,
        ),
        (
            net(&[9], Activation::Relu, Activation::Sigmoid, 5),
            base.clone()
                .optimizer(Optimizer::Sgd)
                .learning_rate(0.3)
                .weight_decay(0.001)
                .batch_size(10),
            None,
            false,
        ),
        (
            // 3-300-3: its weights alone are more than one workgroup holds.
            net(&[300], Activation::Relu, Activation::Softmax, 6),
            base.clone().learning_rate(0.01).batch_size(15),
            Some(0),
            true,
        ),
    ];
    for (network, config, fold, classes) in settings {
        let mut m = Member::new(network, config).unwrap();
        if let Some(f) = fold {
            m = m.on_fold(&folds[f]);
        }
        members.push(m);
        one_hot.push(classes);
    }
    (members, one_hot)
}

/// Every member of a sweep on `device` against its lone run there.
fn members_match_their_lone_runs(device: &Device) {
    let (x, y, labels, classes) = data();
    let (mut sweep, one_hot) = members(&classes);
    // Members share one data set: the 0/1 members train on `labels`.
    let (mut a, mut b): (Vec<Member>, Vec<Member>) = (Vec::new(), Vec::new());
    for (m, oh) in sweep.drain(..).zip(&one_hot) {
        if *oh { a.push(m) } else { b.push(m) }
    }
    if device.gpu_context().is_some() {
        // All but the 3-300-3 member train together in one workgroup each.
        let together: Vec<bool> = a
            .iter()
            .chain(&b)
            .map(|m| together(device, m, &x))
            .collect();
        assert_eq!(together, [true, true, false, true, true, true]);
    }
    for (members, targets) in [(&mut a, &y), (&mut b, &labels)] {
        let before = members.clone();
        let reports = train_members(device, &x, targets, members, &()).unwrap();
        for (i, ((m, start), report)) in members.iter().zip(&before).zip(&reports).enumerate() {
            let mut alone = start.network.clone();
            let mut state = start.state.clone();
            let rows: Vec<u32> = start
                .train_rows
                .clone()
                .unwrap_or_else(|| (0..45).collect());
            let val = start
                .validation_rows
                .as_ref()
                .map(|v| (take(&x, v), take(targets, v)));
            let lone = alone.fit(
                device,
                (&take(&x, &rows), &take(targets, &rows)),
                val.as_ref().map(|(x, y)| (x, y)),
                &start.config,
                &mut state,
                &mut |_: &_| {},
            );
            let report = report.as_ref().unwrap();
            let lone = lone.unwrap();
            assert_eq!(
                bits(&m.network),
                bits(&alone),
                "member {i} ({}): weights",
                m.network
            );
            assert_eq!(
                state_bits(&m.state),
                state_bits(&state),
                "member {i}: optimizer state"
            );
            assert_eq!((m.state.steps, m.state.epochs), (state.steps, state.epochs));
            assert_eq!(
                report_bits(report),
                report_bits(&lone),
                "member {i}: report"
            );
            assert_ne!(bits(&m.network), bits(&start.network), "member {i} trained");
        }
    }
}

on_each_backend!(
    members_match_their_lone_runs,
    every_cpu_member_matches_its_lone_run,
    every_gpu_member_matches_its_lone_run
);

/// Each member of `members` (trained by a sweep from `before`) against its
/// lone run on `device`, on `x`, `y`: weights, optimizer state and report,
/// to the bit; diverged members as a lone run diverges.
fn assert_lone_runs(
    device: &Device,
    x: &Matrix,
    y: &Matrix,
    before: &[Member],
    members: &[Member],
    reports: &[Result<TrainReport, Error>],
) {
    for (i, ((m, start), report)) in members.iter().zip(before).zip(reports).enumerate() {
        let mut alone = start.network.clone();
        let mut state = start.state.clone();
        let rows: Vec<u32> = start
            .train_rows
            .clone()
            .unwrap_or_else(|| (0..x.rows() as u32).collect());
        let val = start
            .validation_rows
            .as_ref()
            .map(|v| (take(x, v), take(y, v)));
        let lone = alone.fit(
            device,
            (&take(x, &rows), &take(y, &rows)),
            val.as_ref().map(|(x, y)| (x, y)),
            &start.config,
            &mut state,
            &mut |_: &_| {},
        );
        assert_eq!(bits(&m.network), bits(&alone), "member {i}: weights");
        assert_eq!(
            state_bits(&m.state),
            state_bits(&state),
            "member {i}: state"
        );
        match (report, lone) {
            (Ok(r), Ok(l)) => assert_eq!(report_bits(r), report_bits(&l), "member {i}: report"),
            (Err(Error::Diverged { step: a, .. }), Err(Error::Diverged { step: b, .. })) => {
                assert_eq!(*a, b, "member {i}: diverged at another step")
            }
            (r, l) => panic!("member {i}: {r:?} in the sweep, {l:?} alone"),
        }
        assert_ne!(bits(&m.network), bits(&start.network), "member {i} trained");
    }
}

/// Members too large for one workgroup, of two shapes that stack and one
/// that stands alone: each ends where its lone run does. In the Adam stack
/// members differ in seed, learning rate, batch order and rows (a fold
/// each), and stop early at different epochs; in the SGD stack one
/// member diverges while the others go on.
fn stacked_members_match_their_lone_runs(device: &Device) {
    let x = Matrix::new(60, 8, random_matrix(51, 60, 8, -1.0, 1.0)).unwrap();
    let classes: Vec<usize> = (0..60)
        .map(|r| {
            let v = x.row(r);
            (v[0] > 0.0) as usize + 2 * (v[1] + v[2] > 0.0) as usize
        })
        .collect();
    let y = Matrix::new(
        60,
        4,
        classes
            .iter()
            .flat_map(|&c| (0..4).map(move |j| (j == c) as u8 as f32))
            .collect(),
    )
    .unwrap();
    let targets = Matrix::new(60, 4, random_matrix(52, 60, 4, -50.0, 50.0)).unwrap();
    let net = |out: Activation, seed: u64| {
        Network::builder(8)
            .layer(64, Activation::Relu)
            .layer(32, Activation::Tanh)
            .layer(4, out)
            .build(seed)
            .unwrap()
    };
    let adam = TrainConfig::new()
        .optimizer(Optimizer::adam())
        .epochs(10)
        .batch_size(16);
    let mut a = Vec::new();
    for (i, (lr, patience)) in [(0.01, 1), (0.03, 2), (0.003, 4)].into_iter().enumerate() {
        let config = adam
            .clone()
            .learning_rate(lr)
            .order(BatchOrder::Shuffled { seed: 7 + i as u64 })
            .early_stopping(EarlyStopping {
                patience,
                min_delta: 0.0,
            });
        let mut m = Member::new(net(Activation::Softmax, 10 + i as u64), config).unwrap();
        let validation: Vec<u32> = (12 * i as u32..12 * (i as u32 + 1)).collect();
        m.train_rows = Some((0..60).filter(|r| !validation.contains(r)).collect());
        m.validation_rows = Some(validation);
        a.push(m);
    }
    // Another optimizer: a shape of its own, alone.
    a.push(
        Member::new(
            net(Activation::Softmax, 20),
            adam.clone().optimizer(Optimizer::momentum(0.9)),
        )
        .unwrap(),
    );
    let sgd = TrainConfig::new()
        .optimizer(Optimizer::Sgd)
        .loss(Loss::Mse)
        .epochs(8)
        .batch_size(16)
        .order(BatchOrder::InOrder);
    let mut b: Vec<Member> = [1e-4, 5.0, 3e-4]
        .into_iter()
        .enumerate()
        .map(|(i, lr)| {
            Member::new(
                net(Activation::Identity, 30 + i as u64),
                sgd.clone().learning_rate(lr),
            )
            .unwrap()
        })
        .collect();
    if device.gpu_context().is_some() {
        let placed = gpu_placements(device, &x, &y, &a).unwrap().unwrap();
        let stacked = GpuPlacement::Stacked { stack: 0, size: 3 };
        assert_eq!(placed, [stacked, stacked, stacked, GpuPlacement::Alone]);
        let placed = gpu_placements(device, &x, &targets, &b).unwrap().unwrap();
        assert_eq!(placed, [stacked; 3]);
    }
    for (members, y) in [(&mut a, &y), (&mut b, &targets)] {
        let before = members.clone();
        let reports = train_members(device, &x, y, members, &()).unwrap();
        assert_lone_runs(device, &x, y, &before, members, &reports);
        if y == &targets {
            assert!(
                matches!(reports[1], Err(Error::Diverged { .. })),
                "{:?}",
                reports[1]
            );
            assert!(reports[0].is_ok() && reports[2].is_ok());
        }
    }
    let stops: Vec<Option<usize>> = a.iter().map(|m| m.state.epochs.try_into().ok()).collect();
    assert!(
        stops[..3]
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
            > 1,
        "the stacked members stopped after different epochs: {stops:?}"
    );
}

on_each_backend!(
    stacked_members_match_their_lone_runs,
    cpu_members_of_one_shape_match_their_lone_runs,
    stacked_gpu_members_match_their_lone_runs
);

#[test]
fn cpu_members_do_not_depend_on_threads() {
    // A member with products past gemm's threshold, trained inside rayon
    // pools of one and two threads, and on the test's own thread.
    let x = Matrix::new(70, 40, random_matrix(31, 70, 40, -1.0, 1.0)).unwrap();
    let y = Matrix::new(70, 1, random_matrix(32, 70, 1, 0.0, 1.0)).unwrap();
    let net = Network::builder(40)
        .layer(96, Activation::Relu)
        .layer(1, Activation::Sigmoid)
        .build(9)
        .unwrap();
    let config = TrainConfig::new()
        .epochs(3)
        .batch_size(64)
        .learning_rate(0.01);
    let mut alone = net.clone();
    alone.train(&x, &y, &config).unwrap();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut members = vec![
            Member::new(net.clone(), config.clone()).unwrap(),
            Member::new(net.clone(), config.clone().learning_rate(0.02)).unwrap(),
            Member::new(net.clone(), config.clone()).unwrap(),
        ];
        pool.install(|| train_members(&cpu(), &x, &y, &mut members, &()).unwrap());
        assert_eq!(bits(&members[0].network), bits(&alone), "{threads} threads");
        assert_eq!(bits(&members[2].network), bits(&alone), "{threads} threads");
        assert_ne!(bits(&members[1].network), bits(&alone));
    }
}

fn a_diverging_member_stops_alone(device: &Device) {
    let x = Matrix::new(20, 2, random_matrix(41, 20, 2, -1.0, 1.0)).unwrap();
    let y = Matrix::new(20, 1, random_matrix(42, 20, 1, -50.0, 50.0)).unwrap();
    let net = Network::builder(2)
        .layer(4, Activation::Identity)
        .layer(1, Activation::Identity)
        .build(1)
        .unwrap();
    let sgd = TrainConfig::new()
        .optimizer(Optimizer::Sgd)
        .loss(Loss::Mse)
        .epochs(40)
        .batch_size(5);
    let mut members = vec![
        Member::new(net.clone(), sgd.clone().learning_rate(1e-3)).unwrap(),
        Member::new(net.clone(), sgd.clone().learning_rate(50.0)).unwrap(),
    ];
    let reports = train_members(device, &x, &y, &mut members, &()).unwrap();
    assert!(reports[0].is_ok(), "{:?}", reports[0]);
    let Err(Error::Diverged { step, .. }) = &reports[1] else {
        panic!("{:?}", reports[1]);
    };
    // Rolled back as a lone run is.
    let mut alone = net.clone();
    let lone = alone.train_on(device, &x, &y, &sgd.learning_rate(50.0), |_| {});
    assert!(matches!(lone, Err(Error::Diverged { step: s, .. }) if s == *step));
    assert_eq!(bits(&members[1].network), bits(&alone));
}

on_each_backend!(
    a_diverging_member_stops_alone,
    a_diverging_cpu_member_stops_alone,
    a_diverging_gpu_member_stops_alone
);

#[test]
fn a_sweep_checks_every_member_before_training() {
    let (x, y, _, _) = data();
    let net = |inputs: usize| {
        Network::builder(inputs)
            .layer(3, Activation::Softmax)
            .build(1)
            .unwrap()
    };
    let config = TrainConfig::new().epochs(1);
    let message = |members: &mut Vec<Member>| {
        train_members(&cpu(), &x, &y, members, &())
            .unwrap_err()
            .to_string()
    };
    let untouched = net(3);
    let mut empty = Vec::new();
    assert!(message(&mut empty).contains("at least one member"));
    let mut widths = vec![
        Member::new(untouched.clone(), config.clone()).unwrap(),
        Member::new(net(4), config.clone()).unwrap(),
    ];
    let msg = message(&mut widths);
    assert!(
        msg.contains("sweep member 2")
            && msg.contains("takes 4 inputs")
            && msg.contains("3 input columns"),
        "{msg}"
    );
    assert_eq!(
        widths[0].network, untouched,
        "nothing trained before the error"
    );
    let mut rows = vec![Member::new(net(3), config.clone()).unwrap()];
    rows[0].train_rows = Some(vec![0, 45]);
    assert!(message(&mut rows).contains("row 45, but the data has 45 rows"));
    rows[0].train_rows = Some(Vec::new());
    assert!(message(&mut rows).contains("empty list"));
    let mut bad = vec![Member::new(net(3), config.clone().learning_rate(-1.0)).unwrap()];
    assert!(message(&mut bad).contains("learning rate"));
    let mut stopping = vec![
        Member::new(
            net(3),
            config.early_stopping(EarlyStopping {
                patience: 1,
                min_delta: 0.0,
            }),
        )
        .unwrap(),
    ];
    assert!(message(&mut stopping).contains("validation rows"));
    let classes = [0usize, 0, 1, 1, 1, 2, 2, 2];
    let msg = k_folds(8, 3, 0, Some(&classes)).unwrap_err().to_string();
    assert!(msg.contains("class 0 has 2"), "{msg}");
}

#[test]
fn folds_are_disjoint_and_cover_every_row() {
    let (_, _, _, classes) = data();
    for (k, stratified) in [(2, false), (5, true), (9, true)] {
        let folds = k_folds(45, k, 11, stratified.then_some(&classes[..])).unwrap();
        assert_eq!(folds.len(), k);
        let mut seen = vec![0; 45];
        for f in &folds {
            for &r in &f.validation {
                seen[r as usize] += 1;
                assert!(!f.train.contains(&r), "row {r} both trains and validates");
            }
            assert_eq!(f.train.len() + f.validation.len(), 45);
        }
        assert!(
            seen.iter().all(|&n| n == 1),
            "every row validated once: {seen:?}"
        );
    }
    assert_eq!(
        k_folds(45, 5, 11, None).unwrap(),
        k_folds(45, 5, 11, None).unwrap()
    );
    assert_ne!(
        k_folds(45, 5, 11, None).unwrap(),
        k_folds(45, 5, 12, None).unwrap()
    );
}

/// The binary end to end: the table, its CSV, the best model and an
/// ensemble, as files that `predict` and `evaluate` read.
mod command_line {
    use std::process::Output;

    use neurona::Matrix;
    use neurona::model_file::{Ensemble, Model};

    use crate::common::{neurona, ok};

    #[track_caller]
    fn fails(out: &Output, want: &str) {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(want), "{err:?} does not say {want:?}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(!said.contains("trained"), "it trained first: {said}");
    }

    /// 90 flowers-like rows: two measures and a text label of 3 kinds.
    fn csv(dir: &tempfile::TempDir) -> String {
        let mut s = String::from("a,b,kind\n");
        for i in 0..90 {
            let kind = ["small", "mid", "big"][i % 3];
            let base = (i % 3) as f32;
            let (a, b) = (
                base + (i * 7 % 10) as f32 / 12.0,
                base * 0.5 + (i * 3 % 10) as f32 / 9.0,
            );
            s += &format!("{a},{b},{kind}\n");
        }
        let path = dir.path().join("kinds.csv");
        std::fs::write(&path, s).unwrap();
        path.display().to_string()
    }

    #[test]
    fn sweep_prints_and_writes_the_table_and_saves_the_best() {
        let dir = tempfile::TempDir::new().unwrap();
        let data = csv(&dir);
        let (table, best) = (
            dir.path().join("t.csv"),
            dir.path().join("best.safetensors"),
        );
        let out = ok(&neurona(&[
            "sweep",
            "--data",
            &data,
            "--target",
            "kind",
            "--hidden",
            "4;8",
            "--lr",
            "0.01,0.05",
            "--seeds",
            "0..2",
            "--folds",
            "3",
            "--epochs",
            "30",
            "--backend",
            "cpu",
            "--csv",
            table.to_str().unwrap(),
            "--save",
            best.to_str().unwrap(),
        ]));
        assert!(
            out.contains("sweep of 24 networks: 4 settings x 2 seeds x 3 folds"),
            "{out}"
        );
        assert!(out.contains("validated on each of 3 folds"), "{out}");
        let ranked: Vec<&str> = out
            .lines()
            .filter(|l| l.trim_start().starts_with(['1', '2', '3', '4']) && l.contains("adam"))
            .collect();
        assert_eq!(ranked.len(), 4, "{out}");
        let csv = std::fs::read_to_string(&table).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].starts_with("rank,network,optimizer,learning_rate"),
            "{csv}"
        );
        assert_eq!(lines.len(), 5, "{csv}");
        let means: Vec<f64> = lines[1..]
            .iter()
            .map(|l| l.split(',').nth(7).unwrap().parse().unwrap())
            .collect();
        assert!(
            means.windows(2).all(|w| w[0] >= w[1]),
            "sorted best first: {means:?}"
        );
        for l in &lines[1..] {
            assert_eq!(
                l.split(',').nth(6),
                Some("6"),
                "2 seeds x 3 folds per setting: {l}"
            );
        }
        // The best model is a neurona model with the data's columns and
        // labels; evaluate and predict read it.
        let model = Model::load(&best).unwrap();
        assert_eq!(model.features, ["a", "b"]);
        assert_eq!(model.labels().unwrap(), ["big", "mid", "small"]);
        assert!(
            ok(&neurona(&[
                "evaluate",
                "--model",
                best.to_str().unwrap(),
                "--data",
                &data
            ]))
            .contains("accuracy")
        );
        let predicted = ok(&neurona(&[
            "predict",
            "--model",
            best.to_str().unwrap(),
            "--data",
            &data,
        ]));
        assert_eq!(predicted.lines().next(), Some("kind,p_big,p_mid,p_small"));
    }

    #[test]
    fn an_ensemble_predicts_the_mean_of_its_members() {
        let dir = tempfile::TempDir::new().unwrap();
        let data = csv(&dir);
        let file = dir.path().join("ens.safetensors");
        let out = ok(&neurona(&[
            "sweep",
            "--data",
            &data,
            "--target",
            "kind",
            "--hidden",
            "6",
            "--seeds",
            "0..4",
            "--validation-split",
            "0.3",
            "--epochs",
            "20",
            "--lr",
            "0.02",
            "--backend",
            "cpu",
            "--save",
            file.to_str().unwrap(),
            "--ensemble",
            "3",
        ]));
        assert!(out.contains("an ensemble of the 3 best networks"), "{out}");
        let ensemble = Ensemble::load(&file).unwrap();
        assert_eq!(ensemble.len(), 3);
        // More asked for than trained: all of them, and a note that says so.
        let small = dir.path().join("small.safetensors");
        let few = ok(&neurona(&[
            "sweep",
            "--data",
            &data,
            "--target",
            "kind",
            "--hidden",
            "6",
            "--seeds",
            "0..2",
            "--epochs",
            "5",
            "--backend",
            "cpu",
            "--ensemble",
            "9",
            "--save",
            small.to_str().unwrap(),
        ]));
        assert!(
            few.contains("note: --ensemble 9, but the sweep has only 2 networks\n"),
            "{few}"
        );
        assert_eq!(Ensemble::load(&small).unwrap().len(), 2);
        let distinct: Vec<_> = ensemble.networks().collect();
        assert!(distinct[0] != distinct[1] && distinct[1] != distinct[2]);
        // The file's rows, as predict reads them.
        let text = std::fs::read_to_string(&data).unwrap();
        let rows: Vec<f32> = text
            .lines()
            .skip(1)
            .flat_map(|l| {
                l.split(',')
                    .take(2)
                    .map(|v| v.parse::<f32>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        let x = Matrix::new(90, 2, rows).unwrap();
        let scaled = ensemble
            .model
            .standardizer
            .as_ref()
            .unwrap()
            .apply(&x)
            .unwrap();
        let mean = ensemble.predict(&x).unwrap();
        for r in 0..90 {
            for j in 0..3 {
                let each: f32 = ensemble
                    .networks()
                    .map(|n| n.predict(&scaled).unwrap().row(r)[j])
                    .sum::<f32>()
                    / 3.0;
                assert!(
                    (mean.row(r)[j] - each).abs() <= 1e-6,
                    "row {r}: {} vs {each}",
                    mean.row(r)[j]
                );
            }
        }
        // predict writes the ensemble's probabilities, to the f32.
        let predicted = ok(&neurona(&[
            "predict",
            "--model",
            file.to_str().unwrap(),
            "--data",
            &data,
        ]));
        for (r, line) in predicted.lines().skip(1).enumerate() {
            let p: Vec<f32> = line
                .split(',')
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect();
            assert_eq!(p, mean.row(r), "row {r}");
        }
        let scored = ok(&neurona(&[
            "evaluate",
            "--model",
            file.to_str().unwrap(),
            "--data",
            &data,
        ]));
        assert!(
            scored.contains("an ensemble of 3 networks, their mean"),
            "{scored}"
        );
        // Alone, the file's first member is a model like any other.
        assert_eq!(Model::load(&file).unwrap().network, ensemble.model.network);
        let info = ok(&neurona(&["info", "--model", file.to_str().unwrap()]));
        assert!(
            info.contains("an ensemble of 3 networks") && info.contains("member 3: 2-6(relu)-3"),
            "{info}"
        );
    }

    #[test]
    fn a_diverging_setting_is_marked_and_the_others_still_rank() {
        let dir = tempfile::TempDir::new().unwrap();
        let data = csv(&dir);
        let table = dir.path().join("t.csv");
        let best = dir.path().join("best.safetensors");
        let out = ok(&neurona(&[
            "sweep",
            "--data",
            &data,
            "--target",
            "kind",
            "--hidden",
            "6",
            "--optimizer",
            "sgd",
            "--lr",
            "1e30,0.1",
            "--seeds",
            "0,1",
            "--epochs",
            "10",
            "--backend",
            "cpu",
            "--csv",
            table.to_str().unwrap(),
            "--save",
            best.to_str().unwrap(),
        ]));
        assert!(
            out.contains("2 diverged and stopped alone (marked)"),
            "{out}"
        );
        let marked: Vec<&str> = out.lines().filter(|l| l.contains("diverged")).collect();
        assert!(
            marked
                .iter()
                .any(|l| l.contains("1.000e30") && l.ends_with("2 of 2 diverged")),
            "{out}"
        );
        let csv = std::fs::read_to_string(&table).unwrap();
        let rows: Vec<Vec<&str>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert_eq!(rows.len(), 2, "{csv}");
        // The rate that learns ranks first, with a score; the other last,
        // its score empty and both runs counted as diverged.
        assert_eq!((rows[0][3], rows[0][12]), ("0.1", "0"), "{csv}");
        assert!(rows[0][7].parse::<f64>().unwrap() > 0.5, "{csv}");
        assert_eq!((rows[1][7], rows[1][12]), ("", "2"), "{csv}");
        let model = Model::load(&best).unwrap();
        assert_eq!(model.training.unwrap().learning_rate, 0.1);
    }

    /// The saved best network of a seed sweep is, to the bit, what
    /// `neurona train` gives alone with its seed: on the CPU, and on the
    /// GPU where one exists (all members together in its dispatches).
    #[test]
    fn the_best_network_of_a_sweep_is_its_lone_train_run() {
        let dir = tempfile::TempDir::new().unwrap();
        let data = csv(&dir);
        let mut backends = vec!["cpu"];
        if crate::common::gpu().is_some() {
            backends.push("gpu");
        }
        // 2-5-3 trains in one workgroup on the GPU, 2-300-3 stacked.
        let runs = backends
            .iter()
            .flat_map(|b| [(*b, "5"), (*b, "300")])
            .filter(|(b, h)| *b == "gpu" || *h == "5");
        for (backend, hidden) in runs {
            let best = dir
                .path()
                .join(format!("best-{backend}-{hidden}.safetensors"));
            let out = ok(&neurona(&[
                "sweep",
                "--data",
                &data,
                "--target",
                "kind",
                "--hidden",
                hidden,
                "--seeds",
                "3..7",
                "--epochs",
                "8",
                "--lr",
                "0.03",
                "--backend",
                backend,
                "--save",
                best.to_str().unwrap(),
            ]));
            if backend == "gpu" {
                let how = match hidden {
                    "5" => "on the GPU 4 together (one workgroup each)\n",
                    _ => {
                        "on the GPU 4 stacked in 1 stack (each kernel covers a stack's networks at once)\n"
                    }
                };
                assert!(out.contains(how), "{out}");
            }
            let saved = out
                .lines()
                .find(|l| l.starts_with("saved "))
                .unwrap_or_else(|| panic!("{out}"));
            let seed = saved.rsplit("seed ").next().unwrap().trim();
            let alone = dir
                .path()
                .join(format!("alone-{backend}-{hidden}.safetensors"));
            ok(&neurona(&[
                "train",
                "--data",
                &data,
                "--target",
                "kind",
                "--hidden",
                hidden,
                "--seed",
                seed,
                "--epochs",
                "8",
                "--lr",
                "0.03",
                "--backend",
                backend,
                "--save",
                alone.to_str().unwrap(),
            ]));
            let (swept, lone) = (Model::load(&best).unwrap(), Model::load(&alone).unwrap());
            assert_eq!(
                super::bits(&swept.network),
                super::bits(&lone.network),
                "{backend}, hidden {hidden}, seed {seed}"
            );
            assert_eq!(swept.standardizer, lone.standardizer);
        }
    }

    /// `neurona bench --sweep` at a tiny size: its rows, not its times.
    #[test]
    fn the_sweep_benchmark_prints_its_cpu_rows() {
        let out = ok(&neurona(&[
            "bench",
            "--sweep",
            "--members",
            "3",
            "--epochs",
            "1",
            "--sequential",
            "2",
            "--json",
        ]));
        let rows: Vec<&str> = out.lines().collect();
        for work in ["S", "S-seq"] {
            assert!(
                rows.iter()
                    .any(|r| r.starts_with(&format!("{{\"workload\":\"{work}\","))
                        && r.contains("\"device\":\"CPU\"")),
                "{out}"
            );
        }
        fails(
            &neurona(&["bench", "--sweep", "--members", "0"]),
            "--members needs at least 1",
        );
        // S2: the sweep's step and one network's, on the CPU here.
        let s2 = ok(&neurona(&[
            "bench",
            "--sweep",
            "--s2",
            "1",
            "--members",
            "2",
            "--json",
        ]));
        for work in ["S2", "S2-one"] {
            assert!(
                s2.lines()
                    .any(|r| r.starts_with(&format!("{{\"workload\":\"{work}\","))
                        && r.contains("\"ms_per_step\":")),
                "{s2}"
            );
        }
    }

    #[test]
    fn a_bad_sweep_is_one_line_before_anything_trains() {
        let dir = tempfile::TempDir::new().unwrap();
        let data = csv(&dir);
        let save = dir.path().join("never.safetensors");
        let s = save.to_str().unwrap();
        let base = [
            "sweep",
            "--data",
            &data,
            "--target",
            "kind",
            "--backend",
            "cpu",
            "--save",
            s,
        ];
        let with = |more: &[&str]| {
            let mut a: Vec<&str> = base.to_vec();
            a.extend(more);
            neurona(&a)
        };
        fails(&with(&["--folds", "31"]), "class \"big\" has 30 rows");
        fails(&with(&["--seeds", "5..2"]), "the range is empty");
        fails(&with(&["--seeds", "3..3"]), "3..4 is seed 3");
        fails(&with(&["--seeds", "a,b"]), "expected a list");
        fails(&with(&["--lr="]), "--lr is an empty list");
        fails(&with(&["--hidden="]), "--hidden has an empty alternative");
        fails(
            &with(&["--hidden", "8;;16"]),
            "--hidden has an empty alternative",
        );
        // Negative values reach neurona's checks, not clap's flag parser.
        fails(&with(&["--weight-decay", "-0.1"]), "at least 0, got -0.1");
        fails(&with(&["--lr", "-1"]), "above 0, got -1");
        fails(&with(&["--seeds", "-1"]), "whole numbers, 0 or more");
        fails(
            &with(&["--batch", "-3"]),
            "expected a whole number, 0 or more",
        );
        fails(
            &with(&["--lr", "0.1..0.001:3"]),
            "ends before it starts (from the smaller: 0.001..0.1:3)",
        );
        fails(&with(&["--lr", "1e-2..1e-2:3"]), "the same value 3 times");
        fails(&with(&["--seeds", "1,1"]), "--seeds lists 1 twice");
        fails(&with(&["--lr", "0.1,0.1"]), "--lr lists 0.1 twice");
        fails(&with(&["--batch", "16,16"]), "--batch lists 16 twice");
        fails(
            &with(&["--optimizer", "adam,adam"]),
            "--optimizer lists adam twice",
        );
        fails(
            &with(&["--optimizer", "adam,"]),
            "or a comma list has an empty item",
        );
        fails(
            &with(&["--folds", "3", "--early-stopping", "0"]),
            "--early-stopping 0: give a patience of at least 1 epoch",
        );
        fails(
            &with(&["--folds", "3", "--early-stopping", "2", "--min-delta=-1"]),
            "--min-delta -1: the improvement",
        );
        fails(&with(&["--lr", "0.1..0.01:0"]), "count from 1");
        fails(&with(&["--layers", "4,3;4,x"]), "\"x\" is not a width");
        fails(
            &with(&["--layers", "4,2"]),
            "--layers 4,2 ends in 2 outputs",
        );
        fails(
            &with(&["--early-stopping", "3"]),
            "give --folds or --validation-split",
        );
        fails(
            &with(&["--seeds", "0..100000000"]),
            "more than a sweep trains",
        );
        fails(
            &with(&[
                "--seeds",
                "0..1000",
                "--lr",
                "1e-4..1:1000",
                "--folds",
                "10",
            ]),
            "more than the 1048576 networks",
        );
        fails(&with(&["--metric", "r2"]), "scored by accuracy");
        assert!(!save.exists());
    }
}

/// A device of `options` for `test` alone (its kernels and counts its
/// own), or `None`, said aloud, on GL: a new GL device compiles every
/// kernel again (the test runs on Vulkan), and without a GPU.
fn device_of_its_own(test: &str, options: GpuOptions) -> Option<Device> {
    let gpu = crate::common::gpu()?;
    if gpu
        .gpu_context()
        .is_some_and(|c| c.adapter().backend == "Gl")
    {
        crate::common::announce(&format!(
            "!!! {test} on GL: not run (a new GL device compiles every kernel again; it runs \
             on Vulkan)"
        ));
        return None;
    }
    Some(Device::gpu(&options).unwrap())
}

/// An 8-64(relu)-32(relu)-4(sigmoid) member of `seed`, too large for one
/// GPU workgroup at batches of 16.
fn too_wide_for_a_workgroup(seed: u64, config: TrainConfig) -> Member {
    let net = Network::builder(8)
        .layer(64, Activation::Relu)
        .layer(32, Activation::Relu)
        .layer(4, Activation::Sigmoid)
        .build(seed)
        .unwrap();
    Member::new(net, config).unwrap()
}

#[test]
fn stacked_members_in_a_vec4_tile_match_their_lone_runs() {
    // Every product of the 8-64-32-4 members in the vec4 family, whose
    // modules run without bounds checks: member offsets in vec4s.
    let options = GpuOptions {
        allow_software: true,
        matmul: "t64x64x8_r8x8_s2".parse::<MatmulChoice>().unwrap(),
        ..Default::default()
    };
    let Some(device) = device_of_its_own("stacked_members_in_a_vec4_tile", options) else {
        return;
    };
    stacked_members_match_their_lone_runs(&device);
}

#[test]
fn a_stacked_step_makes_the_dispatches_of_one_network() {
    // Three 8-64-32-4 networks in one stack record as many kernel
    // dispatches as one of them alone; one after another they make three
    // times as many. A device of its own, so no other test's kernels count.
    let options = GpuOptions {
        allow_software: true,
        ..Default::default()
    };
    let Some(device) = device_of_its_own("a_stacked_step_makes_the_dispatches", options) else {
        return;
    };
    let ctx = device.gpu_context().unwrap();
    let x = Matrix::new(60, 8, random_matrix(61, 60, 8, -1.0, 1.0)).unwrap();
    let y = Matrix::new(60, 4, random_matrix(62, 60, 4, 0.0, 1.0)).unwrap();
    let member = |seed: u64| {
        let config = TrainConfig::new()
            .loss(Loss::Mse)
            .epochs(3)
            .batch_size(16)
            .learning_rate(0.01 * (seed + 1) as f32);
        too_wide_for_a_workgroup(seed, config)
    };
    let dispatches = |members: &mut Vec<Member>| {
        let before = ctx.dispatches();
        for r in train_members(&device, &x, &y, members, &()).unwrap() {
            r.unwrap();
        }
        ctx.dispatches() - before
    };
    let mut stack: Vec<Member> = (0..3).map(member).collect();
    let placed = gpu_placements(&device, &x, &y, &stack).unwrap().unwrap();
    assert_eq!(placed, [GpuPlacement::Stacked { stack: 0, size: 3 }; 3]);
    let stacked = dispatches(&mut stack);
    let alone: Vec<u64> = (0..3).map(|s| dispatches(&mut vec![member(s)])).collect();
    assert!(stacked > 0);
    assert_eq!(alone, [stacked; 3], "one network alone, three times");
}

#[test]
fn stacks_stay_within_the_devices_buffer_limits() {
    // 100 networks of 8-64-10, each validating on 40,000 rows: their
    // predictions alone (160 MB) pass llvmpipe's 128 MiB a binding, so the
    // sweep splits them into stacks that fit, and each still ends as alone.
    let Some(device) = crate::common::gpu() else {
        return;
    };
    let (train, val) = (64usize, 40_000usize);
    let n = train + val;
    let x = Matrix::new(n, 8, random_matrix(71, n, 8, -1.0, 1.0)).unwrap();
    let y = Matrix::new(n, 10, random_matrix(72, n, 10, -1.0, 1.0)).unwrap();
    let config = TrainConfig::new()
        .loss(Loss::Mse)
        .epochs(1)
        .batch_size(train);
    let mut members: Vec<Member> = (0..100)
        .map(|seed| {
            let net = Network::builder(8)
                .layer(64, Activation::Relu)
                .layer(10, Activation::Identity)
                .build(seed)
                .unwrap();
            let mut m = Member::new(net, config.clone()).unwrap();
            m.train_rows = Some((0..train as u32).collect());
            m.validation_rows = Some((train as u32..n as u32).collect());
            m
        })
        .collect();
    let placed = gpu_placements(device, &x, &y, &members).unwrap().unwrap();
    let sizes: Vec<usize> = placed
        .iter()
        .map(|p| match p {
            GpuPlacement::Stacked { size, .. } => *size,
            _ => 1,
        })
        .collect();
    assert!(sizes.iter().all(|&s| s < 100), "{placed:?}");
    let before = members[..1].to_vec();
    let reports = train_members(device, &x, &y, &mut members, &()).unwrap();
    assert!(reports.iter().all(|r| r.is_ok()));
    assert_lone_runs(device, &x, &y, &before, &members[..1], &reports[..1]);
}

#[test]
fn a_stack_fits_the_devices_grid() {
    // On a device of 4 workgroups a dimension, where a grid's z is taken
    // by folding, five networks of one shape cannot share a grid: they
    // train alone, as they would without stacks, rather than fail.
    let options = GpuOptions {
        allow_software: true,
        max_workgroups_per_dimension: Some(4),
        ..Default::default()
    };
    let Some(device) = device_of_its_own("a_stack_fits_the_devices_grid", options) else {
        return;
    };
    let x = Matrix::new(60, 8, random_matrix(81, 60, 8, -1.0, 1.0)).unwrap();
    let y = Matrix::new(60, 4, random_matrix(82, 60, 4, 0.0, 1.0)).unwrap();
    let config = TrainConfig::new().loss(Loss::Mse).epochs(2).batch_size(16);
    let mut members: Vec<Member> = (0..5)
        .map(|seed| too_wide_for_a_workgroup(seed, config.clone()))
        .collect();
    let placed = gpu_placements(&device, &x, &y, &members).unwrap().unwrap();
    assert_eq!(placed, [GpuPlacement::Alone; 5]);
    let before = members.clone();
    let reports = train_members(&device, &x, &y, &mut members, &()).unwrap();
    assert_lone_runs(&device, &x, &y, &before, &members, &reports);
}
