//! The `neurona` binary end to end, on small CSV files the tests write.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use neurona::{Activation, Matrix, Model, Network};
use tempfile::TempDir;

use crate::common::{neurona, ok as assert_ok, text};

/// Assert a failure whose message contains `want`, and that `no_file` was
/// not created.
#[track_caller]
fn assert_fails(out: &Output, want: &str, no_file: &Path) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        err.contains(want),
        "stderr {err:?} does not contain {want:?}"
    );
    assert!(!no_file.exists(), "{} was left behind", no_file.display());
}

struct Dir(TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(TempDir::new().unwrap())
    }
    fn file(&self, name: &str, contents: &str) -> String {
        let p = self.0.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p.display().to_string()
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// 200 rows: two features, a constant column, and y = 1 when x0 + x1 > 1.
fn binary_csv() -> String {
    let mut s = String::from("x0,x1,const,y\n");
    for i in 0..200 {
        let (a, b) = ((i * 37 % 100) as f32 / 100.0, (i * 61 % 100) as f32 / 100.0);
        s += &format!("{a},{b},5,{}\n", (a + b > 1.0) as u8);
    }
    s
}

/// 150 rows in three clusters; the class number is the last column.
fn classes_csv() -> String {
    let mut s = String::from("a,b,class\n");
    for i in 0..150 {
        let k = i % 3;
        let (cx, cy) = [(0.0, 0.0), (4.0, 4.0), (0.0, 5.0)][k];
        let j = (i * 13 % 17) as f32 / 17.0 - 0.5;
        s += &format!("{},{},{k}\n", cx + j, cy - j);
    }
    s
}

fn accuracy(stdout: &str, part: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{part}:")))
        .unwrap_or_else(|| panic!("no {part} line in {stdout}"));
    let at = line.find("accuracy ").expect("an accuracy") + 9;
    line[at..].split('%').next().unwrap().parse().unwrap()
}

#[test]
fn train_save_predict_round_trip() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &binary_csv());
    let model = dir.path("model.safetensors");
    let model_s = model.to_str().unwrap();
    let out = neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--layers",
        "8,1",
        "--standardize",
        "--test-split",
        "0.2",
        "--epochs",
        "150",
        "--batch",
        "16",
        "--backend",
        "cpu",
        "--save",
        model_s,
    ]);
    let stdout = assert_ok(&out);
    assert!(stdout.contains("device: CPU (asked for)"), "{stdout}");
    assert!(
        stdout.contains("160 training rows, 40 test rows, 3 inputs (standardised)"),
        "{stdout}"
    );
    assert!(accuracy(&stdout, "train") > 90.0, "{stdout}");
    assert!(accuracy(&stdout, "test") > 85.0, "{stdout}");
    // Not a terminal: no progress bar on stderr.
    assert!(
        text(&out.stderr).is_empty(),
        "stderr: {}",
        text(&out.stderr)
    );

    let preds = dir.path("preds.csv");
    let out = neurona(&[
        "predict",
        "--model",
        model_s,
        "--data",
        &data,
        "--out",
        preds.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let written = std::fs::read_to_string(&preds).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    // Two classes: the class by the 0.5 threshold, and p(class 1).
    assert_eq!(lines[0], "y,p_1");
    assert_eq!(lines.len(), 201);

    // The same predictions as the library computes from the loaded model,
    // to the bit: standardisation and weights survive the file.
    let m = Model::load(&model).unwrap();
    assert_eq!(m.features, ["x0", "x1", "const"]);
    let s = m.standardizer.as_ref().unwrap();
    assert_eq!(s.scale[2], 1.0, "a constant column keeps scale 1");
    let table = neurona::Table::read_csv(&data).unwrap();
    let x = s.apply(&table.select(&m.features).unwrap()).unwrap();
    let p = m.network.predict(&x).unwrap();
    for (line, v) in lines[1..].iter().zip(p.as_slice()) {
        let (class, prob) = line.split_once(',').unwrap();
        assert_eq!(prob.parse::<f32>().unwrap().to_bits(), v.to_bits());
        assert_eq!(class, if *v >= 0.5 { "1" } else { "0" });
    }

    // Without --out, to standard output; a target column in the data is
    // ignored, extra columns too.
    let out = neurona(&["predict", "--model", model_s, "--data", &data]);
    assert_eq!(assert_ok(&out), written);
}

#[test]
fn save_then_load_is_bit_identical() {
    let dir = Dir::new();
    let mut net = Network::builder(3)
        .layer(5, Activation::Tanh)
        .layer_without_bias(2, Activation::Sigmoid)
        .init(neurona::Init::Uniform)
        .build(3)
        .unwrap();
    let x = Matrix::new(6, 3, (0..18).map(|i| i as f32 / 7.0 - 1.0).collect()).unwrap();
    let y = Matrix::new(6, 2, (0..12).map(|i| (i % 2) as f32).collect()).unwrap();
    net.train(&x, &y, &crate::common::plain().epochs(20))
        .unwrap();
    let model = Model {
        network: net.clone(),
        loss: neurona::Loss::Mse,
        features: vec!["a".into(), "b, with a comma".into(), "c".into()],
        targets: vec!["t".into()],
        ..Model::new(net.clone(), neurona::Loss::Mse)
    };
    let path = dir.path("m.safetensors");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded, model);
    let (a, b) = (
        net.predict(&x).unwrap(),
        loaded.network.predict(&x).unwrap(),
    );
    let bits = |m: &Matrix| m.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    // The same model saves to the same bytes (its metadata is a hash map).
    let first = std::fs::read(&path).unwrap();
    for _ in 0..4 {
        model.save(&path).unwrap();
        assert!(std::fs::read(&path).unwrap() == first, "the bytes changed");
        assert_eq!(loaded.to_bytes("m").unwrap(), first);
    }
}

#[test]
fn multi_class_targets_become_one_hot() {
    let dir = Dir::new();
    let data = dir.file("classes.csv", &classes_csv());
    let model = dir.path("m.safetensors");
    let out = neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "class",
        "--layers",
        "12,3",
        "--hidden-activation",
        "relu",
        "--epochs",
        "60",
        "--batch",
        "10",
        "--test-split",
        "0.2",
        "--backend",
        "cpu",
        "--save",
        model.to_str().unwrap(),
    ]);
    let stdout = assert_ok(&out);
    assert!(accuracy(&stdout, "train") > 95.0, "{stdout}");
    assert!(accuracy(&stdout, "test") > 90.0, "{stdout}");
    let out = neurona(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        &data,
    ]);
    let stdout = assert_ok(&out);
    let mut lines = stdout.lines();
    // The class label first (the target's name), then one probability per
    // class, named after it.
    assert_eq!(lines.next(), Some("class,p_0,p_1,p_2"));
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0], "0", "row 0 is class 0: {first:?}");
}

#[test]
fn a_model_trained_on_the_gpu_predicts_like_one_trained_on_the_cpu() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &binary_csv());
    let mut preds = Vec::new();
    for backend in ["gpu", "cpu"] {
        let model = dir.path(&format!("{backend}.safetensors"));
        let out = neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "y",
            "--layers",
            "6,1",
            "--epochs",
            "20",
            "--batch",
            "50",
            "--standardize",
            "--backend",
            backend,
            "--save",
            model.to_str().unwrap(),
        ]);
        if backend == "gpu"
            && !out.status.success()
            && text(&out.stderr).contains("no GPU to run on")
        {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no GPU adapter"
            );
            eprintln!("!!! GPU skipped: {}", text(&out.stderr));
            return;
        }
        assert_ok(&out);
        let out = neurona(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            &data,
        ]);
        // A binary model writes the class, then its probability.
        let values: Vec<f32> = assert_ok(&out)
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        preds.push(values);
    }
    let worst = preds[0]
        .iter()
        .zip(&preds[1])
        .map(|(g, c)| (g - c).abs())
        .fold(0.0, f32::max);
    assert!(worst < 1e-4, "GPU and CPU models differ by {worst}");
}

#[test]
fn no_arguments_trains_the_notebook() {
    let out = Command::new(env!("CARGO_BIN_EXE_neurona"))
        .env("NEURONA_BACKEND", "cpu")
        .output()
        .unwrap();
    let stdout = assert_ok(&out);
    assert!(stdout.contains("device: CPU (asked for)"), "{stdout}");
    assert!(
        stdout.contains("predictions rounded: [0, 1, 1, 0]"),
        "{stdout}"
    );
    assert!(stdout.contains("  step  9000: loss"), "{stdout}");
}

#[test]
fn info_lists_adapters_and_the_automatic_choice() {
    let stdout = assert_ok(&neurona(&["info"]));
    assert!(stdout.contains("--backend auto would use: "), "{stdout}");
}

#[test]
fn init_starts_from_given_weights() {
    // Weights in PyTorch's layout: a 2-3-1 net; training from them is
    // deterministic, and a file of the wrong shape is refused.
    let dir = Dir::new();
    let data = dir.file("d.csv", "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n");
    let start = Model {
        network: Network::builder(2)
            .layer(3, Activation::Tanh)
            .layer(1, Activation::Sigmoid)
            .init(neurona::Init::Uniform)
            .build(9)
            .unwrap(),
        loss: neurona::Loss::Bce,
        features: vec![],
        ..neurona::Model::new(Network::neuron(1, 1).unwrap(), neurona::Loss::Mse)
    };
    let init = dir.path("init.safetensors");
    start.save(&init).unwrap();
    let init_s = init.to_str().unwrap();
    let run = |save: &str| {
        let save = dir.path(save);
        let out = neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "y",
            "--init",
            init_s,
            "--hidden-activation",
            "tanh",
            "--epochs",
            "5",
            "--backend",
            "cpu",
            "--save",
            save.to_str().unwrap(),
        ]);
        assert_ok(&out);
        Model::load(&save).unwrap().network
    };
    let (a, b) = (run("a.safetensors"), run("b.safetensors"));
    assert_eq!(a, b);
    assert_ne!(a, start.network);
    assert_eq!(a.to_string(), "2-3(tanh)-1(sigmoid)");

    let save = dir.path("never.safetensors");
    let out = neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--init",
        init_s,
        "--layers",
        "4,1",
        "--save",
        save.to_str().unwrap(),
    ]);
    assert_fails(&out, "--layers 4,1 contradicts", &save);
    let wide = dir.file("wide.csv", "a,b,c,y\n0,0,0,0\n1,1,1,1\n");
    let out = neurona(&[
        "train",
        "--data",
        &wide,
        "--target",
        "y",
        "--init",
        init_s,
        "--save",
        save.to_str().unwrap(),
    ]);
    assert_fails(&out, "its first layer takes 2 inputs, but", &save);
}

/// Every bad input: a message naming what and where, exit status 1, and no
/// model or prediction file left behind.
#[test]
fn bad_inputs_fail_with_clear_messages() {
    let dir = Dir::new();
    let save = dir.path("model.safetensors");
    let save_s = save.to_str().unwrap().to_string();
    let train = |data: &str, extra: &[&str]| {
        let mut args = vec!["train", "--data", data, "--target", "y", "--save", &save_s];
        args.extend_from_slice(extra);
        neurona(&args)
    };

    let missing = dir.path("missing.csv");
    assert_fails(&train(missing.to_str().unwrap(), &[]), "cannot open", &save);
    assert_fails(
        &train(&dir.file("empty.csv", ""), &[]),
        "is empty: expected a header row",
        &save,
    );
    assert_fails(
        &train(&dir.file("header.csv", "a,b,y\n"), &[]),
        "has a header but no data rows",
        &save,
    );
    let ok = dir.file("ok.csv", "a,b,y\n1,2,0\n3,4,1\n");
    assert_fails(
        &neurona(&[
            "train", "--data", &ok, "--target", "label", "--save", &save_s,
        ]),
        "has no column \"label\"; its columns are \"a\", \"b\", \"y\"",
        &save,
    );
    assert_fails(
        &neurona(&["train", "--data", &ok, "--target", "Y", "--save", &save_s]),
        "has no column \"Y\" (did you mean \"y\"?)",
        &save,
    );
    // A wide file's header is not printed whole.
    let header: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    let wide = dir.file(
        "wide.csv",
        &format!("{}\n{}\n", header.join(","), vec!["1"; 300].join(",")),
    );
    let out = neurona(&["train", "--data", &wide, "--target", "g", "--save", &save_s]);
    assert_fails(&out, "\"f11\", ... (300 in all)", &save);
    assert!(text(&out.stderr).len() < 300, "{}", text(&out.stderr));
    assert_fails(
        &train(&dir.file("text.csv", "a,b,y\n1,2,0\n3,four,1\n"), &[]),
        "line 3, column \"b\": \"four\" is not a number",
        &save,
    );
    assert_fails(
        &train(&dir.file("ragged.csv", "a,b,y\n1,2,0\n3,4\n"), &[]),
        "line 3: 2 cells, but the header has 3 columns",
        &save,
    );
    assert_fails(
        &train(&dir.file("nan.csv", "a,b,y\n1,NaN,0\n3,4,1\n"), &[]),
        "line 2, column \"b\": the value is missing",
        &save,
    );
    assert_fails(
        &train(&dir.file("inf.csv", "a,b,y\n1,2,0\n3,-inf,1\n"), &[]),
        "line 3, column \"b\": \"-inf\" is not a finite number",
        &save,
    );
    assert_fails(
        &train(
            &dir.file("classes.csv", "a,b,y\n1,2,0\n3,4,3\n"),
            &["--layers", "4,3"],
        ),
        "line 3, column \"y\": 3 is a class beyond the output width: the output layer has 3 units, for classes 0 to 2",
        &save,
    );
    assert_fails(
        &train(
            &dir.file("frac.csv", "a,b,y\n1,2,0.5\n"),
            &["--layers", "4,2"],
        ),
        "line 2, column \"y\": 0.5 is not a class number",
        &save,
    );
    assert_fails(
        &train(&ok, &["--test-split", "1.5"]),
        "--test-split must be at least 0 and below 1",
        &save,
    );

    // A model whose shapes do not fit the data.
    let model = dir.path("two.safetensors");
    assert_ok(&neurona(&[
        "train",
        "--data",
        &ok,
        "--target",
        "y",
        "--epochs",
        "1",
        "--backend",
        "cpu",
        "--save",
        model.to_str().unwrap(),
    ]));
    let out_file = dir.path("preds.csv");
    let predict = |data: &str| {
        neurona(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data,
            "--out",
            out_file.to_str().unwrap(),
        ])
    };
    let other = dir.file("other.csv", "a,c\n1,2\n");
    assert_fails(&predict(&other), "has no column \"b\"", &out_file);
    assert_fails(
        &predict(&dir.file("bad.csv", "a,b\n1,x\n")),
        "\"x\" is not a number",
        &out_file,
    );
    let not_model = dir.file("not.safetensors", "hello");
    let out = neurona(&[
        "predict",
        "--model",
        &not_model,
        "--data",
        &ok,
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert_fails(&out, "not a safetensors file", &out_file);
}

/// The README's iris walk-through (examples/data/iris.csv): 3 classes,
/// softmax with cross-entropy, Adam, on a fixed split of 45 test rows.
const IRIS: [&str; 27] = [
    "train",
    "--data",
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris.csv"),
    "--target",
    "species",
    "--layers",
    "16,3",
    "--hidden-activation",
    "relu",
    "--output-activation",
    "softmax",
    "--optimizer",
    "adam",
    "--lr",
    "0.01",
    "--weight-decay",
    "0.01",
    "--epochs",
    "100",
    "--batch",
    "16",
    "--standardize",
    "--test-split",
    "0.3",
    "--seed",
    "1",
    "--backend",
];

#[test]
fn iris_reaches_95_percent_on_cpu_and_gpu() {
    let mut losses = Vec::new();
    for backend in ["cpu", "gpu"] {
        let mut args = IRIS.to_vec();
        args.push(backend);
        let out = neurona(&args);
        if backend == "gpu" && !out.status.success() && text(&out.stderr).contains("no GPU") {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no GPU"
            );
            eprintln!("!!! GPU skipped: {}", text(&out.stderr));
            continue;
        }
        let stdout = assert_ok(&out);
        let test = accuracy(&stdout, "test");
        assert!(test >= 95.0, "{backend}: test accuracy {test}%\n{stdout}");
        assert!(
            stdout.contains("init auto: he for relu, xavier for softmax"),
            "{stdout}"
        );
        assert!(stdout.contains("confusion matrix (test rows):"), "{stdout}");
        assert!(
            stdout.contains("loss ce, adam learning rate 0.01"),
            "{stdout}"
        );
        let line = stdout.lines().find(|l| l.starts_with("test:")).unwrap();
        losses.push(line.to_string());
    }
    // Both paths give the same accuracy (and losses to rounding).
    if let [cpu, gpu] = &losses[..] {
        assert_eq!(
            cpu.split(", ").nth(1),
            gpu.split(", ").nth(1),
            "{cpu} / {gpu}"
        );
    }
}

#[test]
fn a_saved_optimizer_resumes_the_run_exactly() {
    // 4 epochs in one run, against 2 + 2 with the state saved in between:
    // the predictions must be the same to the bit.
    let dir = Dir::new();
    let data = dir.file("c.csv", &classes_csv());
    let train = |epochs: &str, init: Option<&str>, save: &str, extra: &[&str]| {
        let save = dir.path(save);
        let mut args = vec![
            "train",
            "--data",
            &data,
            "--target",
            "class",
            "--layers",
            "8,3",
            "--hidden-activation",
            "tanh",
            "--output-activation",
            "softmax",
            "--epochs",
            epochs,
            "--batch",
            "20",
            "--standardize",
            "--seed",
            "4",
            "--backend",
            "cpu",
            "--save",
            save.to_str().unwrap(),
        ];
        if let Some(init) = init {
            args.extend(["--init", init]);
        }
        if !extra.contains(&"--optimizer") {
            args.extend(["--optimizer", "adam"]);
        }
        args.extend(extra);
        let stdout = assert_ok(&neurona(&args));
        (save, stdout)
    };
    let predict = |model: &Path| {
        assert_ok(&neurona(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--data",
            &data,
        ]))
    };
    let (whole, _) = train("4", None, "whole.safetensors", &[]);
    let (half, out) = train("2", None, "half.safetensors", &["--save-optimizer"]);
    assert!(out.contains("with the optimizer's state"), "{out}");
    let half_s = half.to_str().unwrap().to_string();
    let (resumed, out) = train("2", Some(&half_s), "resumed.safetensors", &[]);
    assert!(out.contains("adam state at step 16, epoch 2"), "{out}");
    assert_eq!(predict(&whole), predict(&resumed));

    // The state in the file: Adam's two moments, in the weights' shapes.
    let model = Model::load(&half).unwrap();
    let (opt, state) = model.optimizer.expect("optimizer state saved");
    assert_eq!(opt.name(), "adam");
    assert_eq!((state.steps, state.epochs), (16, 2));
    assert!(state.first[0].iter().any(|m| *m != 0.0));
    assert!(state.second[1].iter().all(|v| *v >= 0.0));

    // Another rule contradicts the saved state: an error naming both.
    let mut args = vec![
        "train", "--data", &data, "--target", "class", "--init", &half_s,
    ];
    args.extend(["--optimizer", "sgd", "--epochs", "1", "--backend", "cpu"]);
    assert_fails(
        &neurona(&args),
        "--optimizer sgd contradicts",
        &dir.path("none"),
    );
    let err = text(&neurona(&args).stderr);
    assert!(err.contains("whose saved state is adam's"), "{err}");
}

#[test]
fn history_writes_the_loss_curve() {
    let dir = Dir::new();
    let data = dir.file("c.csv", &classes_csv());
    let history = dir.path("curve.csv");
    let out = neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "class",
        "--layers",
        "3",
        "--output-activation",
        "softmax",
        "--epochs",
        "30",
        "--batch",
        "50",
        "--optimizer",
        "momentum",
        "--schedule",
        "cosine",
        "--backend",
        "cpu",
        "--history",
        history.to_str().unwrap(),
    ]);
    let stdout = assert_ok(&out);
    assert!(
        stdout.contains("momentum learning rate 0.05 (cosine schedule)"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&history).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,epoch,loss"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 90, "one point a step for 90 steps");
    assert_eq!((rows[0][0], rows[89][0], rows[89][1]), (0.0, 89.0, 29.0));
    assert!(
        rows[89][2] < 0.5 * rows[0][2],
        "the loss fell: {:?} -> {:?}",
        rows[0],
        rows[89]
    );
}

#[test]
fn bad_learning_settings_fail_with_clear_messages() {
    let dir = Dir::new();
    let data = dir.file("c.csv", &classes_csv());
    let save = dir.path("never.safetensors");
    let save_s = save.to_str().unwrap();
    let base = [
        "train",
        "--data",
        &data,
        "--target",
        "class",
        "--backend",
        "cpu",
    ];
    let cases: [(&[&str], &str); 7] = [
        (
            &["--layers", "3", "--lr", "-0.1"],
            "learning rate must be a finite number above 0, got -0.1",
        ),
        (
            &["--layers", "3", "--optimizer", "adam", "--beta1", "1"],
            "beta1 must be at least 0 and below 1, got 1",
        ),
        (
            &["--layers", "3", "--optimizer", "adam", "--beta2", "1.5"],
            "beta2 must be at least 0 and below 1, got 1.5",
        ),
        (
            &["--layers", "4,1", "--output-activation", "softmax"],
            "softmax needs at least 2",
        ),
        (
            &["--layers", "3", "--schedule", "linear"],
            "--schedule \"linear\": expected constant, step:EPOCHS:FACTOR",
        ),
        (
            &["--layers", "3", "--weight-decay", "-1"],
            "weight decay must be a finite number of at least 0",
        ),
        (
            &["--layers", "3", "--save-optimizer"],
            "--save-optimizer saves with the model: give --save FILE too",
        ),
    ];
    for (extra, want) in cases {
        let mut args = base.to_vec();
        args.extend(extra);
        args.extend(["--save", save_s]);
        if *extra.last().unwrap() == "--save-optimizer" {
            args.truncate(args.len() - 2);
        }
        assert_fails(&neurona(&args), want, &save);
    }
}

/// Sizes no machine holds are one error naming what, the bytes and the
/// limit, never an abort (SIGABRT: exit code None).
#[test]
fn networks_too_large_for_memory_are_an_error_not_an_abort() {
    let dir = Dir::new();
    let data = dir.file("d.csv", &binary_csv());
    for (layers, what) in [
        (
            "99999999999,1",
            "the weights and biases of a 3-99999999999-1 network",
        ),
        (
            "200000,200000,1",
            "the weights and biases of a 3-200000-200000-1 network",
        ),
        ("16,99999999999", "one-hot targets"),
    ] {
        for backend in ["cpu", "auto"] {
            let out = neurona(&[
                "train",
                "--data",
                &data,
                "--target",
                "y",
                "--layers",
                layers,
                "--backend",
                backend,
            ]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "--layers {layers}: {err}");
            assert!(
                err.contains(&format!("not enough memory for {what}: it needs ")),
                "--layers {layers}: {err}"
            );
            assert!(err.contains(" bytes ("), "{err}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
        }
    }
}

/// Step counts are exact or an error, never wrapped.
#[test]
fn step_counts_never_overflow() {
    let dir = Dir::new();
    let data = dir.file("d.csv", &binary_csv());
    // 200 rows in batches of 32: 7 steps an epoch, so 2^62 epochs are more
    // steps than 2^64.
    let out = neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--epochs",
        "4611686018427387904",
        "--backend",
        "cpu",
    ]);
    assert_fails(
        &out,
        "4611686018427387904 epochs of 7 steps are more steps than a run can count",
        &dir.path("none"),
    );
    // One step an epoch: 2^64 − 1 steps is a long run, counted exactly. A
    // learning rate of 1e30 makes it diverge at once, after the plan is
    // printed.
    for backend in ["cpu", "gpu"] {
        let out = neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "y",
            "--epochs",
            "18446744073709551615",
            "--batch",
            "0",
            "--output-activation",
            "identity",
            "--lr",
            "1e30",
            "--backend",
            backend,
        ]);
        let stdout = text(&out.stdout);
        if backend == "gpu" && !stdout.contains("device: GPU") {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no GPU adapter"
            );
            eprintln!("!!! skipped the GPU half: {}", text(&out.stderr));
            continue;
        }
        assert!(
            stdout.contains("(18446744073709551615 steps)"),
            "{backend}: {stdout}"
        );
        assert!(
            text(&out.stderr).contains("training diverged at step"),
            "{backend}: {}",
            text(&out.stderr)
        );
    }
}

/// Without a desktop session (no XDG_RUNTIME_DIR, as on servers and in
/// CI), the graphics drivers' own complaints stay off stderr.
#[test]
fn stderr_holds_only_neuronas_own_words() {
    let dir = Dir::new();
    let data = dir.file("d.csv", &binary_csv());
    let quiet = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_neurona"))
            .args(args)
            .env_remove("NEURONA_BACKEND")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("NODEVICE_SELECT")
            .output()
            .unwrap();
        assert_ok(&out);
        let err = text(&out.stderr);
        assert!(err.is_empty(), "{args:?} printed on stderr: {err}");
    };
    quiet(&["info"]);
    quiet(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--epochs",
        "2",
        "--backend",
        "auto",
    ]);
}

#[test]
fn tune_times_every_product_of_a_step_and_info_lists_the_cache() {
    let dir = Dir::new();
    let cache_dir = dir.path("cache");
    let tune = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_neurona"))
            .arg("tune")
            .args(args)
            .env("NEURONA_CACHE_DIR", &cache_dir)
            .env_remove("NEURONA_MATMUL")
            .output()
            .expect("the binary runs")
    };
    assert_fails(
        &tune(&["--layers", "7"]),
        "--layers [7]: give two or more widths",
        &cache_dir,
    );
    assert_fails(&tune(&["--batch", "0"]), "--batch 0", &cache_dir);

    let out = tune(&["--layers", "16,64,3", "--batch", "33", "--all"]);
    if !out.status.success() && text(&out.stderr).contains("adapter") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no GPU adapter: {}",
            text(&out.stderr)
        );
        eprintln!("!!! tune skipped (no GPU adapter): {}", text(&out.stderr));
        return;
    }
    let stdout = assert_ok(&out);
    // The step's products: both forwards, the hidden delta, both gradients.
    for product in [
        "matmul_bias_act 33x64x16",
        "matmul_bias_act 33x3x64",
        "hidden_delta 33x64x3",
        "weight_gradient 17x64x33",
        "weight_gradient 65x3x33",
    ] {
        assert!(stdout.contains(product), "{product} missing:\n{stdout}");
    }
    // 16 -> 64 is one the vec4 family takes: timed against matmul.wgsl.
    let timed = stdout
        .split("matmul_bias_act 33x64x16: fastest ")
        .nth(1)
        .unwrap_or_else(|| panic!("the first forward was not timed:\n{stdout}"));
    assert!(timed.contains("1.00x matmul.wgsl"), "{stdout}");
    assert!(timed.contains("t64x64x8_r8x8_s2"), "{stdout}");
    // 64 -> 3 is not a width it takes: the fixed rule, untimed.
    assert!(
        stdout.contains("matmul_bias_act 33x3x64: 16x16/2x2 (the fixed rule: widths"),
        "{stdout}"
    );
    let software = stdout.contains("software");
    if software {
        assert!(
            stdout.contains("a software adapter does not tune"),
            "{stdout}"
        );
        assert!(
            stdout.contains("the times below are for reading"),
            "{stdout}"
        );
        assert!(!cache_dir.exists(), "a software adapter wrote a cache");
    } else {
        assert!(
            cache_dir.join(neurona::gpu::CACHE_FILE).exists(),
            "{stdout}"
        );
    }

    // A forced variant is named as such, and where it cannot run.
    let forced = Command::new(env!("CARGO_BIN_EXE_neurona"))
        .args(["tune", "--layers", "16,64,3", "--batch", "33"])
        .env("NEURONA_CACHE_DIR", &cache_dir)
        .env("NEURONA_MATMUL", "t64x64x8_r8x8_s2")
        .output()
        .expect("the binary runs");
    let forced = assert_ok(&forced);
    assert!(
        forced.contains("NEURONA_MATMUL forces t64x64x8_r8x8_s2")
            && forced
                .contains("matmul_bias_act 33x64x16: t64x64x8_r8x8_s2 (forced by NEURONA_MATMUL)")
            && forced
                .contains("matmul_bias_act 33x3x64: 16x16/2x2 (the forced variant cannot take"),
        "{forced}"
    );

    // info reads the cache the tuner writes, stale entries marked.
    let mut cache = neurona::gpu::TuneCache::load(Some(&cache_dir.join(neurona::gpu::CACHE_FILE)));
    let shape = neurona::gpu::ProductShape::forward(256, 512, 512, true);
    let key = neurona::gpu::ProductKey::of(neurona::gpu::MatmulKind::Forward, 256, 512, 512);
    let variant: neurona::MatmulVariant = "t128x128x8_r8x8_s2".parse().unwrap();
    let tuned = neurona::gpu::Tuned {
        shape,
        choice: variant,
        seconds: vec![(variant, 1e-4)],
        rejected: vec![],
    };
    cache.put(
        "Some GPU",
        &neurona::gpu::kernels_hash(),
        &key,
        &tuned,
        &Default::default(),
    );
    cache.put(
        "Old GPU",
        "0000000000000000",
        &key,
        &tuned,
        &Default::default(),
    );
    cache.save().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_neurona"))
        .arg("info")
        .env("NEURONA_CACHE_DIR", &cache_dir)
        .output()
        .expect("the binary runs");
    let stdout = assert_ok(&out);
    assert!(
        stdout.contains("  Some GPU: matmul_bias_act 256x512x512 -> t128x128x8_r8x8_s2, 20"),
        "{stdout}"
    );
    let old = stdout
        .lines()
        .find(|l| l.starts_with("  Old GPU"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(old.contains("(stale"), "{stdout}");
}

#[test]
fn a_closed_stdout_one_class_and_clashing_exports_are_handled() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &binary_csv());
    // The reader goes away before the first line (`neurona train | head
    // -0`): the run goes on, saves its model and exits 0.
    let model = dir.path("m.safetensors");
    let mut child = Command::new(env!("CARGO_BIN_EXE_neurona"))
        .args(["train", "--data", &data, "--target", "y", "--epochs", "3"])
        .args(["--backend", "cpu", "--save-optimizer", "--save"])
        .arg(&model)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("panicked"));
    assert!(model.exists(), "the model was not saved");

    // Missing required flags are named.
    let err = text(&neurona(&["predict", "--data", &data]).stderr);
    assert!(err.contains("not provided: --model"), "{err}");
    // A negative count is named as such, not as Rust's "invalid digit".
    let err = text(&neurona(&["train", "--data", &data, "--target", "y", "--epochs", "-5"]).stderr);
    assert!(
        err.contains("'-5' for '--epochs <EPOCHS>': expected a whole number, 0 or more"),
        "{err}"
    );

    // One class is no classifier.
    let one = dir.file("one.csv", "a,y\n1,cat\n2,cat\n3,cat\n");
    let out = neurona(&["train", "--data", &one, "--target", "y"]);
    assert_fails(
        &out,
        "target column \"y\" holds one class only (\"cat\") in its 3 rows",
        &dir.path("none"),
    );

    // --onnx and --pytorch on one path: an error before anything is written.
    let same = dir.path("same");
    let m = model.to_str().unwrap();
    let s = same.to_str().unwrap();
    let out = neurona(&["export", "--model", m, "--onnx", s, "--pytorch", s]);
    assert_fails(&out, "give them different paths", &same);

    // Exporting a model without optimizer state over one with it leaves no
    // stale state behind.
    let pt = dir.path("pt");
    assert_ok(&neurona(&[
        "export",
        "--model",
        m,
        "--pytorch",
        pt.to_str().unwrap(),
    ]));
    assert!(pt.join("optimizer.safetensors").exists());
    let bare = dir.path("bare.safetensors");
    assert_ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--epochs",
        "2",
        "--backend",
        "cpu",
        "--save",
        bare.to_str().unwrap(),
    ]));
    assert_ok(&neurona(&[
        "export",
        "--model",
        bare.to_str().unwrap(),
        "--pytorch",
        pt.to_str().unwrap(),
    ]));
    assert!(!pt.join("optimizer.safetensors").exists());
    let module = std::fs::read_to_string(pt.join("neurona_model.py")).unwrap();
    assert!(module.contains("def load_optimizer(model):\n    \"\"\"Not in this export"));

    // Labels with a comma or a quote come back as one CSV cell each.
    let mut rows = String::from("a,city\n");
    for i in 0..12 {
        rows += &format!("{i},{}\n", ["\"Paris, FR\"", "\"kat\"\"ze\""][i % 2]);
    }
    let cities = dir.file("cities.csv", &rows);
    let cm = dir.path("cities.safetensors");
    let cm = cm.to_str().unwrap();
    let train = [
        "train", "--data", &cities, "--target", "city", "--epochs", "2",
    ];
    assert_ok(&neurona(
        &[&train[..], &["--backend", "cpu", "--save", cm]].concat(),
    ));
    let out = assert_ok(&neurona(&["predict", "--model", cm, "--data", &cities]));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("city,\"p_kat\"\"ze\""), "{out}");
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("\"Paris, FR\",") || first.starts_with("\"kat\"\"ze\","),
        "{out}"
    );
}

#[test]
fn no_output_overwrites_an_input_or_another_output() {
    let dir = Dir::new();
    let data = dir.file("data.csv", &binary_csv());
    let before = std::fs::read(&data).unwrap();
    let model = dir.path("m.safetensors");
    let m = model.to_str().unwrap();
    let none = dir.path("none");
    let unchanged = |out: &Output, want: &str| {
        assert_fails(out, want, &none);
        assert_eq!(
            std::fs::read(&data).unwrap(),
            before,
            "the data file changed"
        );
    };
    let train = ["train", "--data", &data, "--target", "y", "--epochs", "1"];
    // The same file by another name is the same file.
    let other_name = format!("{}/./data.csv", dir.0.path().display());
    unchanged(
        &neurona(&[&train[..], &["--save", &other_name]].concat()),
        "is the input file of --data",
    );
    unchanged(
        &neurona(&[&train[..], &["--history", &data]].concat()),
        "--history",
    );
    unchanged(
        &neurona(&[&train[..], &["--save", m, "--history", m]].concat()),
        "is the output file of --save",
    );
    assert!(!model.exists(), "{m} was written before the error");
    assert_ok(&neurona(&[&train[..], &["--save", m]].concat()));
    // A model trained further in place is allowed; the loss curve written
    // over it is not.
    assert_ok(&neurona(
        &[&train[..], &["--init", m, "--save", m]].concat(),
    ));
    let saved = std::fs::read(&model).unwrap();
    unchanged(
        &neurona(&[&train[..], &["--init", m, "--history", m]].concat()),
        "is the input file of --init",
    );
    assert_eq!(std::fs::read(&model).unwrap(), saved, "the model changed");
    let predict = ["predict", "--model", m, "--data", &data];
    unchanged(
        &neurona(&[&predict[..], &["--out", &data]].concat()),
        "--out",
    );
    unchanged(
        &neurona(&[&predict[..], &["--out", m]].concat()),
        "is the input file of --model",
    );
    let sweep = ["sweep", "--data", &data, "--target", "y", "--seeds", "0..2"];
    unchanged(&neurona(&[&sweep[..], &["--csv", &data]].concat()), "--csv");
    unchanged(
        &neurona(&["export", "--model", m, "--onnx", m]),
        "is the input file of --model",
    );
    assert_eq!(std::fs::read(&model).unwrap(), saved, "the model changed");
}
