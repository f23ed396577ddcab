//! The exports end to end, through the binary: `neurona export --onnx`
//! writes graphs that `onnx.checker` passes and onnxruntime runs to what
//! `neurona predict` gives, for every kind of model; `neurona export
//! --pytorch` writes a module whose `nn.Sequential` predicts the same and
//! whose optimizer, trained on for 20 steps, reaches the weights neurona
//! reaches itself; the README's DistributedDataParallel snippet runs; and
//! bad inputs are one-line errors.
//!
//! The Python side (`tests/export/*.py`) runs in the interpreter
//! `NEURONA_PYTHON` names (`.ci/run` makes a virtual environment with
//! onnx, onnxruntime, numpy, safetensors and torch), else `python3`.
//! Without those packages the Python tests say loudly that they skipped;
//! under `CI=true` they fail instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use neurona::export::Decision;
use neurona::model_file::Training;
use neurona::targets::Task;
use neurona::{
    Activation, BatchOrder, Loss, Matrix, Model, Network, Optimizer, OptimizerState, Schedule,
    Standardizer, Table, TrainConfig,
};
use serde_json::Value;

use crate::common::{announce, cpu, neurona, ok, random_matrix, text};

/// A failure: exit 1, one line on stderr containing `want`.
#[track_caller]
fn fails(out: &Output, want: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr {err}");
    assert!(
        err.contains(want),
        "stderr {err:?} does not contain {want:?}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// The Python interpreter that imports `modules`, or `None` after saying
/// loudly that `what` skipped; under `CI=true` a missing package fails.
fn python(modules: &str, what: &str) -> Option<String> {
    let python = std::env::var("NEURONA_PYTHON").unwrap_or_else(|_| "python3".into());
    let why = match Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
    {
        Ok(o) if o.status.success() => return Some(python),
        Ok(o) => text(&o.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_string(),
        Err(e) => e.to_string(),
    };
    let msg = format!(
        "!!! SKIPPED {what}: {python} cannot import {modules} ({why}); set NEURONA_PYTHON to a Python that has them (.ci/run makes one)"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}; under CI=true that is a failure");
    }
    announce(&msg);
    None
}

/// Run `script` (in tests/export/) on `dirs`: one JSON object per line.
fn run_python(python: &str, script: &str, dirs: &[PathBuf], cwd: &Path) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/export")
        .join(script);
    let out = Command::new(python)
        .arg(&script)
        .args(dirs)
        .current_dir(cwd)
        .output()
        .expect("python runs");
    let stdout = ok(&out);
    let results: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(
        results.len(),
        dirs.len(),
        "one result per folder:\n{stdout}"
    );
    results
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A network from `inputs` through `layers` (width, activation, bias).
fn network(inputs: usize, layers: &[(usize, Activation, bool)], seed: u64) -> Network {
    let mut b = Network::builder(inputs);
    for &(width, act, bias) in layers {
        b = if bias {
            b.layer(width, act)
        } else {
            b.layer_without_bias(width, act)
        };
    }
    b.build(seed).unwrap()
}

/// A standardisation with means in [-3, 3) and scales in [0.5, 4).
fn standardizer(seed: u64, width: usize) -> Standardizer {
    Standardizer {
        mean: random_matrix(seed, 1, width, -3.0, 3.0),
        scale: random_matrix(seed + 1, 1, width, 0.5, 4.0),
    }
}

/// A CSV file of `x`'s rows under the columns `features`, written in the
/// reverse order and after an `id` column of text, so that every reader
/// takes the model's columns by name.
fn write_inputs(file: &Path, features: &[String], x: &[f32]) {
    let cols = features.len();
    let mut csv = String::from("id");
    for f in features.iter().rev() {
        csv += &format!(",{f}");
    }
    csv.push('\n');
    for (r, row) in x.chunks(cols).enumerate() {
        csv += &format!("row{r}");
        for v in row.iter().rev() {
            csv += &format!(",{v}");
        }
        csv.push('\n');
    }
    std::fs::write(file, csv).unwrap();
}

/// One model for the ONNX test.
struct Kind {
    name: &'static str,
    network: Network,
    loss: Loss,
    task: Option<Task>,
    targets: Vec<String>,
    standardised: bool,
    targets_standardised: bool,
    threshold: f32,
    /// An ensemble's other members (empty: one model).
    others: Vec<Network>,
}

fn onnx_kinds() -> Vec<Kind> {
    use Activation::*;
    let classes = |names: &[&str]| {
        Some(Task::Classes {
            labels: strings(names),
        })
    };
    let kind = |name, network, loss, task, targets: &[&str], standardised, threshold| Kind {
        name,
        network,
        loss,
        task,
        targets: strings(targets),
        standardised,
        targets_standardised: false,
        threshold,
        others: Vec::new(),
    };
    let mut kinds = vec![
        kind(
            "sigmoid-classes",
            network(5, &[(8, Sigmoid, true), (3, Softmax, true)], 1),
            Loss::CrossEntropy,
            classes(&["setosa", "versicolor", "virginica"]),
            &["species"],
            true,
            0.5,
        ),
        kind(
            "relu-classes",
            network(5, &[(16, Relu, true), (4, Softmax, true)], 2),
            Loss::CrossEntropy,
            classes(&["a", "b", "c", "d"]),
            &["letter"],
            true,
            0.5,
        ),
        kind(
            "tanh-binary-threshold",
            network(5, &[(6, Tanh, true), (1, Sigmoid, true)], 3),
            Loss::Bce,
            classes(&["no", "yes"]),
            &["sold"],
            true,
            0.3,
        ),
        kind(
            "identity-regression",
            network(5, &[(7, Identity, true), (1, Identity, true)], 4),
            Loss::Mse,
            Some(Task::Regression),
            &["price"],
            true,
            0.5,
        ),
        kind(
            "no-bias-unstandardised",
            network(5, &[(4, Sigmoid, false), (1, Sigmoid, false)], 5),
            Loss::Bce,
            classes(&["0", "1"]),
            &["y"],
            false,
            0.5,
        ),
        kind(
            "mixed-bias-multi-output",
            network(
                5,
                &[(9, Relu, true), (6, Tanh, false), (3, Identity, true)],
                6,
            ),
            Loss::Mse,
            Some(Task::Regression),
            &["a", "b", "c"],
            false,
            0.5,
        ),
        kind(
            "multi-label",
            network(5, &[(10, Relu, true), (3, Sigmoid, true)], 7),
            Loss::Bce,
            Some(Task::MultiLabel),
            &["x", "y", "z"],
            true,
            0.5,
        ),
        kind(
            "softmax-without-task",
            network(5, &[(6, Tanh, true), (3, Softmax, true)], 8),
            Loss::CrossEntropy,
            None,
            &[],
            false,
            0.5,
        ),
        kind(
            "deep",
            network(
                5,
                &[
                    (64, Relu, true),
                    (32, Tanh, true),
                    (16, Sigmoid, true),
                    (2, Identity, true),
                ],
                9,
            ),
            Loss::Mse,
            Some(Task::Regression),
            &["u", "v"],
            false,
            0.5,
        ),
    ];
    kinds[3].targets_standardised = true;
    kinds[5].targets_standardised = true;
    // Ensembles (neurona sweep --ensemble): one graph, the members' mean.
    let ensemble = |name, layers: &[(usize, Activation, bool)], seed, loss, task, targets, std| {
        let mut k = kind(
            name,
            network(5, layers, seed),
            loss,
            task,
            targets,
            true,
            0.4,
        );
        k.targets_standardised = std;
        k.others = (1..3).map(|m| network(5, layers, seed + m)).collect();
        k
    };
    kinds.push(ensemble(
        "ensemble-classes",
        &[(8, Relu, true), (3, Softmax, true)],
        11,
        Loss::CrossEntropy,
        classes(&["a", "b", "c"]),
        &["letter"],
        false,
    ));
    kinds.push(ensemble(
        "ensemble-binary",
        &[(6, Tanh, true), (1, Sigmoid, true)],
        21,
        Loss::Bce,
        classes(&["no", "yes"]),
        &["sold"],
        false,
    ));
    kinds.push(ensemble(
        "ensemble-regression",
        &[(9, Relu, true), (2, Identity, true)],
        31,
        Loss::Mse,
        Some(Task::Regression),
        &["u", "v"],
        true,
    ));
    kinds
}

/// Every kind of model: onnxruntime gives `neurona predict`'s values
/// within 1e-5 (relative, or absolute below 1) and the same decisions, on
/// random inputs, and onnx.checker passes.
#[test]
fn onnx_runs_to_what_predict_gives() {
    let Some(python) = python("onnx, onnxruntime, numpy", "the ONNX export test") else {
        return;
    };
    let tmp = tempfile::TempDir::new().unwrap();
    let features = strings(&["f0", "f1", "f2", "f3", "f4"]);
    let (mut dirs, mut outputs_wanted) = (Vec::new(), Vec::new());
    for (k, kind) in onnx_kinds().into_iter().enumerate() {
        let dir = tmp.path().join(kind.name);
        std::fs::create_dir(&dir).unwrap();
        let outputs = kind.network.outputs();
        let mut model = Model::new(kind.network, kind.loss);
        model.features = features.clone();
        model.targets = kind.targets;
        model.task = kind.task;
        model.threshold = kind.threshold;
        model.standardizer = kind.standardised.then(|| standardizer(10 * k as u64, 5));
        model.target_standardizer = kind.targets_standardised.then(|| Standardizer {
            mean: random_matrix(20 + k as u64, 1, outputs, -50.0, 50.0),
            scale: random_matrix(30 + k as u64, 1, outputs, 0.5, 20.0),
        });
        let file = dir.join("model.safetensors");
        let members = 1 + kind.others.len();
        if kind.others.is_empty() {
            model.save(&file).unwrap();
        } else {
            neurona::model_file::Ensemble::new(model.clone(), kind.others)
                .unwrap()
                .save(&file)
                .unwrap();
        }
        // Inputs like the data a standardisation was fitted on: about 3
        // scales either side of its means.
        let mut x = random_matrix(40 + k as u64, 257, 5, -6.0, 6.0);
        if let Some(s) = &model.standardizer {
            for row in x.chunks_mut(5) {
                for ((v, m), sd) in row.iter_mut().zip(&s.mean).zip(&s.scale) {
                    *v = m + sd * *v / 2.0;
                }
            }
        }
        write_inputs(&dir.join("data.csv"), &features, &x);
        let predictions = dir.join("predictions.csv");
        ok(&neurona(&[
            "predict",
            "--model",
            path(&file),
            "--data",
            path(&dir.join("data.csv")),
            "--out",
            path(&predictions),
        ]));
        let said = ok(&neurona(&[
            "export",
            "--model",
            path(&file),
            "--onnx",
            path(&dir.join("model.onnx")),
        ]));
        assert!(said.contains("ONNX opset 13"), "{said}");
        assert_eq!(
            said.contains(&format!("the mean of {members} networks")),
            members > 1,
            "{said}"
        );
        outputs_wanted.push(match Decision::of(&model) {
            Decision::ArgMax { .. } | Decision::Binary { .. } => vec!["output", "class"],
            Decision::EachAbove { .. } => vec!["output", "labels"],
            Decision::None => vec!["output"],
        });
        dirs.push(dir);
    }
    let results = run_python(&python, "onnx_check.py", &dirs, tmp.path());
    for (r, want) in results.iter().zip(outputs_wanted) {
        announce(&format!("onnx {r}"));
        assert_eq!(r["checker"], "passed", "{r}");
        assert_eq!(
            (r["opset"].as_i64(), r["batch"].as_str()),
            (Some(13), Some("batch")),
            "{r}"
        );
        assert_eq!(r["shape_equal"], true, "{r}");
        assert!(number(r, "max_rel") <= 1e-5, "values differ: {r}");
        assert_eq!(r["decisions_differ"], 0, "{r}");
        let outputs: Vec<&str> = r["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(outputs, want, "{r}");
    }
}

/// One run handed to PyTorch.
struct Handover {
    name: &'static str,
    network: Network,
    loss: Loss,
    task: Option<Task>,
    targets: Vec<String>,
    optimizer: Optimizer,
    learning_rate: f32,
    weight_decay: f32,
    schedule: Schedule,
}

fn handovers() -> Vec<Handover> {
    use Activation::*;
    let run =
        |name, network, loss, task, targets: &[&str], optimizer, learning_rate, weight_decay| {
            Handover {
                name,
                network,
                loss,
                task,
                targets: strings(targets),
                optimizer,
                learning_rate,
                weight_decay,
                schedule: Schedule::Constant,
            }
        };
    let classes = Some(Task::Classes {
        labels: strings(&["a", "b", "c"]),
    });
    let binary = Some(Task::Classes {
        labels: strings(&["no", "yes"]),
    });
    let mut runs = vec![
        run(
            "sgd-classes",
            network(5, &[(12, Relu, true), (3, Softmax, true)], 1),
            Loss::CrossEntropy,
            classes.clone(),
            &["class"],
            Optimizer::Sgd,
            0.1,
            0.0,
        ),
        run(
            "sgd-decay-regression",
            network(5, &[(8, Tanh, true), (1, Identity, true)], 2),
            Loss::Mse,
            Some(Task::Regression),
            &["price"],
            Optimizer::Sgd,
            0.05,
            0.01,
        ),
        run(
            "momentum-binary",
            network(5, &[(8, Sigmoid, true), (1, Sigmoid, true)], 3),
            Loss::Bce,
            binary,
            &["sold"],
            Optimizer::momentum(0.9),
            0.1,
            0.0,
        ),
        run(
            "nesterov-decay-multi-label",
            network(5, &[(10, Relu, true), (3, Sigmoid, true)], 4),
            Loss::Bce,
            Some(Task::MultiLabel),
            &["x", "y", "z"],
            Optimizer::nesterov(0.9),
            0.05,
            0.001,
        ),
        run(
            "adam-classes-mixed-bias",
            network(
                5,
                &[(12, Relu, true), (8, Tanh, false), (3, Softmax, true)],
                5,
            ),
            Loss::CrossEntropy,
            classes,
            &["class"],
            Optimizer::adam(),
            0.01,
            0.0,
        ),
        run(
            "adam-decay-step-schedule-regression",
            network(5, &[(10, Relu, true), (2, Identity, true)], 6),
            Loss::Mse,
            Some(Task::Regression),
            &["u", "v"],
            Optimizer::adam(),
            0.01,
            0.01,
        ),
        run(
            "adam-cosine-mse-sigmoid-no-bias",
            network(5, &[(6, Sigmoid, false), (2, Sigmoid, false)], 7),
            Loss::Mse,
            None,
            &["p", "q"],
            Optimizer::Adam {
                beta1: 0.8,
                beta2: 0.99,
                epsilon: 1e-6,
            },
            0.02,
            0.0,
        ),
    ];
    runs[5].schedule = Schedule::Step {
        every: 7,
        factor: 0.5,
    };
    runs[6].schedule = Schedule::Cosine {
        steps: 25,
        floor: 0.1,
    };
    runs
}

/// A training file of `rows` rows for `run`: inputs f0..f4 (in [-3, 3)
/// around offsets, so standardising matters) and its targets.
fn training_csv(run: &Handover, rows: usize, seed: u64) -> String {
    let x = random_matrix(seed, rows, 5, -3.0, 3.0);
    let noise = random_matrix(seed + 1, rows, 3, 0.0, 1.0);
    let mut csv = String::from("f0,f1,f2,f3,f4");
    for t in &run.targets {
        csv += &format!(",{t}");
    }
    csv.push('\n');
    for r in 0..rows {
        let row = &x[r * 5..r * 5 + 5];
        let s = row[0] - 0.5 * row[1] + 0.3 * row[2] * row[3];
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, v)| format!("{}", v + 2.0 * j as f32))
            .collect();
        csv += &cells.join(",");
        let n = |j: usize| noise[r * 3 + j];
        let targets: Vec<String> = match &run.task {
            Some(Task::Classes { labels }) => {
                let i = if labels.len() == 2 {
                    (s > 0.0) as usize
                } else {
                    ((s + 3.0 * n(0)).max(0.0) as usize).min(labels.len() - 1)
                };
                vec![labels[i].clone()]
            }
            Some(Task::MultiLabel) => (0..run.targets.len())
                .map(|j| ((row[j] + n(j) - 0.5 > 0.0) as u8).to_string())
                .collect(),
            Some(Task::Regression) => (0..run.targets.len())
                .map(|j| format!("{}", 40.0 + 12.0 * s + 5.0 * n(j) + 3.0 * j as f32))
                .collect(),
            _ => (0..run.targets.len())
                .map(|j| format!("{}", n(j)))
                .collect(),
        };
        csv += &format!(",{}\n", targets.join(","));
    }
    csv
}

/// The rows of `p` as CSV, values in the shortest form that reads back.
fn matrix_csv(p: &Matrix) -> String {
    (0..p.rows())
        .map(|r| {
            let cells: Vec<String> = p.row(r).iter().map(|v| v.to_string()).collect();
            cells.join(",") + "\n"
        })
        .collect()
}

/// Runs of each optimizer (SGD with and without weight decay, momentum,
/// Nesterov, Adam with decay and with a step and a cosine schedule), on
/// classes, two classes, multi-label and regression with standardised
/// targets: trained 10 steps in neurona, saved with the optimizer, exported,
/// then trained 20 steps more by neurona and by PyTorch from the export, on
/// the same batches (16 rows in file order, the last of each epoch 6).
/// PyTorch reaches neurona's weights within 1e-5 (relative, or absolute
/// below 1), its nn.Sequential predicts what neurona does (within the
/// same), and the weights moved far more than that.
#[test]
fn pytorch_goes_on_training_exactly() {
    let Some(python) = python("torch, safetensors", "the PyTorch export test") else {
        return;
    };
    let tmp = tempfile::TempDir::new().unwrap();
    let device = cpu();
    let (rows, batch) = (70, 16);
    let mut dirs = Vec::new();
    for (k, run) in handovers().into_iter().enumerate() {
        let dir = tmp.path().join(run.name);
        std::fs::create_dir(&dir).unwrap();
        let data = dir.join("data.csv");
        std::fs::write(&data, training_csv(&run, rows, 100 + k as u64)).unwrap();
        let table = Table::read_csv(&data).unwrap();
        let features = strings(&["f0", "f1", "f2", "f3", "f4"]);
        let x = table.select(&features).unwrap();
        let target_cols: Vec<usize> = run
            .targets
            .iter()
            .map(|t| table.column(t).unwrap())
            .collect();
        let y = match &run.task {
            Some(task) => task.encode(&table, &target_cols).unwrap(),
            None => table.select(&run.targets).unwrap(),
        };
        let standardizer = Standardizer::fit(&x);
        let target_standardizer =
            (run.task == Some(Task::Regression)).then(|| Standardizer::fit(&y));
        let xs = standardizer.apply(&x).unwrap();
        let ys = match &target_standardizer {
            Some(t) => t.apply(&y).unwrap(),
            None => y.clone(),
        };
        let config = TrainConfig::new()
            .optimizer(run.optimizer)
            .learning_rate(run.learning_rate)
            .weight_decay(run.weight_decay)
            .schedule(run.schedule)
            .loss(run.loss)
            .batch_size(batch)
            .epochs(2)
            .order(BatchOrder::Shuffled { seed: 3 });
        let mut net = run.network;
        let mut state = OptimizerState::new(&net, run.optimizer).unwrap();
        net.resume_on(&device, &xs, &ys, &config, &mut state, |_| {})
            .unwrap();
        assert_eq!(state.steps, 10);
        let mut model = Model::new(net, run.loss);
        model.features = features;
        model.targets = run.targets;
        model.task = run.task;
        model.standardizer = Some(standardizer);
        model.target_standardizer = target_standardizer;
        model.optimizer = Some((run.optimizer, state));
        model.training = Some(Training {
            learning_rate: run.learning_rate,
            batch_size: Some(batch),
            weight_decay: run.weight_decay,
            schedule: run.schedule,
            seed: 3,
            test_split: 0.0,
            validation_split: 0.0,
            rows,
        });
        let file = dir.join("model.safetensors");
        model.save(&file).unwrap();
        let said = ok(&neurona(&[
            "export",
            "--model",
            path(&file),
            "--pytorch",
            path(&dir.join("pt")),
        ]));
        assert!(said.contains("optimizer.safetensors"), "{said}");

        // neurona goes on from the file, 20 steps in file order.
        let mut model = Model::load(&file).unwrap();
        std::fs::write(
            dir.join("predictions.csv"),
            matrix_csv(&model.predict(&x).unwrap()),
        )
        .unwrap();
        let (rule, mut state) = model.optimizer.take().unwrap();
        let more = config.order(BatchOrder::InOrder).epochs(4);
        model
            .network
            .resume_on(&device, &xs, &ys, &more, &mut state, |_| {})
            .unwrap();
        assert_eq!(state.steps, 30);
        model.optimizer = Some((rule, state));
        model.save(dir.join("after.safetensors")).unwrap();
        std::fs::write(
            dir.join("run.json"),
            format!(r#"{{"batch": {batch}, "steps": 20}}"#),
        )
        .unwrap();
        dirs.push(dir);
    }
    for r in run_python(&python, "torch_continue.py", &dirs, tmp.path()) {
        announce(&format!("pytorch {r}"));
        assert_eq!(r["steps"], 20, "{r}");
        assert!(
            number(&r, "forward_max_rel") <= 1e-5,
            "predictions differ: {r}"
        );
        assert!(number(&r, "weights_max_rel") <= 1e-5, "weights differ: {r}");
        assert!(number(&r, "moved") >= 1e-3, "the weights hardly moved: {r}");
    }
}

/// The README's export section as a user follows it: its commands, then
/// each Python block (a `print(...)  # [...]` line must print what its
/// comment says), the DistributedDataParallel one under torchrun with two
/// processes.
#[test]
fn the_readme_export_section_runs() {
    let Some(python) = python(
        "onnxruntime, numpy, torch, safetensors",
        "the README's export section",
    ) else {
        return;
    };
    let readme = include_str!("../README.md");
    let start = readme
        .find("### Export: ONNX and PyTorch")
        .expect("README has the export section");
    let section = &readme[start..];
    // Up to the next heading of level 2 or 3 (Python comments have one #).
    let end = section[4..].find("\n##").map_or(section.len(), |e| e + 4);
    let section = &section[..end];
    let blocks = |lang: &str| -> Vec<String> {
        let fence = format!("```{lang}\n");
        section
            .split(&fence)
            .skip(1)
            .map(|b| b.split("```").next().unwrap().to_string())
            .collect()
    };

    let tmp = tempfile::TempDir::new().unwrap();
    let data = tmp.path().join("examples/data");
    std::fs::create_dir_all(&data).unwrap();
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/iris.csv");
    std::fs::copy(iris, data.join("iris.csv")).unwrap();
    let commands = blocks("sh");
    assert_eq!(commands.len(), 1, "one sh block");
    for line in commands[0].lines().filter(|l| l.starts_with("neurona ")) {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_neurona"))
            .args(&args)
            .args(if args[0] == "train" {
                &["--backend", "cpu"][..]
            } else {
                &[]
            })
            .current_dir(tmp.path())
            .output()
            .unwrap();
        ok(&out);
    }

    let scripts = blocks("python");
    assert_eq!(scripts.len(), 3, "ONNX, PyTorch and DDP blocks");
    for script in &scripts {
        let file = tmp.path().join("snippet.py");
        std::fs::write(&file, script).unwrap();
        let mut cmd = Command::new(&python);
        if script.contains("torchrun") {
            let file = tmp.path().join("train_ddp.py");
            std::fs::write(&file, script).unwrap();
            cmd.args([
                "-m",
                "torch.distributed.run",
                "--standalone",
                "--nproc_per_node=2",
            ])
            .arg(file);
        } else {
            cmd.arg(&file);
        }
        let stdout = ok(&cmd.current_dir(tmp.path()).output().unwrap());
        for line in script.lines().filter(|l| l.starts_with("print(")) {
            if let Some((_, said)) = line.split_once("  # [") {
                let said = format!("[{said}");
                assert!(stdout.contains(&said), "{line}\nprinted:\n{stdout}");
            }
        }
        if script.contains("torchrun") {
            assert!(stdout.contains("saved iris_ddp.pt"), "{stdout}");
            assert!(tmp.path().join("iris_ddp.pt").is_file());
        }
    }
}

/// Bad inputs are one line each and write nothing; a model saved without
/// its optimizer exports without one.
#[test]
fn export_errors_are_one_line_and_write_nothing() {
    let tmp = tempfile::TempDir::new().unwrap();
    let p = |name: &str| tmp.path().join(name);
    let net = network(
        3,
        &[(4, Activation::Relu, true), (1, Activation::Sigmoid, true)],
        1,
    );
    let mut model = Model::new(net.clone(), Loss::Bce);
    model.features = strings(&["a", "b", "c"]);
    model.targets = strings(&["y"]);
    model.task = Some(Task::Classes {
        labels: strings(&["0", "1"]),
    });
    model.save(p("m.safetensors")).unwrap();
    let m = p("m.safetensors");
    let m = path(&m);

    let missing = p("missing.safetensors");
    let out = neurona(&[
        "export",
        "--model",
        path(&missing),
        "--onnx",
        path(&p("x.onnx")),
    ]);
    fails(&out, &format!("cannot open {}", missing.display()));
    fails(
        &neurona(&["export", "--model", m]),
        "export needs --onnx OUT.onnx or --pytorch OUT_DIR (or both)",
    );
    std::fs::write(p("data.csv"), "a,b\n1,2\n").unwrap();
    fails(
        &neurona(&[
            "export",
            "--model",
            path(&p("data.csv")),
            "--onnx",
            path(&p("x.onnx")),
        ]),
        "not a safetensors file",
    );
    fails(
        &neurona(&["export", "--model", m, "--onnx", "/no/such/dir/m.onnx"]),
        "--onnx /no/such/dir/m.onnx: the folder /no/such/dir does not exist",
    );
    fails(
        &neurona(&["export", "--model", m, "--onnx", "/proc/m.onnx"]),
        "--onnx /proc/m.onnx: cannot write in /proc",
    );
    fails(
        &neurona(&["export", "--model", m, "--onnx", path(tmp.path())]),
        "is a folder",
    );
    // The second output's error comes before the first is written.
    let onnx = p("m.onnx");
    fails(
        &neurona(&[
            "export",
            "--model",
            m,
            "--onnx",
            path(&onnx),
            "--pytorch",
            "/no/such/pt",
        ]),
        "--pytorch /no/such/pt: the folder /no/such does not exist",
    );
    assert!(!onnx.exists(), "nothing written");
    fails(
        &neurona(&["export", "--model", m, "--pytorch", m]),
        "is a file; it takes a folder",
    );

    // Optimizer state without the run's settings: no learning rate for
    // PyTorch's optimizer.
    let mut bare = Model::new(net.clone(), Loss::Bce);
    bare.optimizer = Some((
        Optimizer::adam(),
        OptimizerState::new(&net, Optimizer::adam()).unwrap(),
    ));
    let err = neurona::export::pytorch::save(&bare, "bare", p("bare_pt"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bare holds an optimizer's state but not the run's settings"),
        "{err}"
    );
    assert!(!p("bare_pt").exists());

    // Both at once, without optimizer state.
    let said = ok(&neurona(&[
        "export",
        "--model",
        m,
        "--onnx",
        path(&onnx),
        "--pytorch",
        path(&p("pt")),
    ]));
    assert!(said.contains("\"class\" [batch]"), "{said}");
    assert!(onnx.is_file() && p("pt/neurona_model.py").is_file());
    assert!(p("pt/state_dict.safetensors").is_file());
    assert!(!p("pt/optimizer.safetensors").exists());
    let module = std::fs::read_to_string(p("pt/neurona_model.py")).unwrap();
    assert!(
        module.contains("saved without its optimizer's state"),
        "{module}"
    );
    // load_optimizer says why it cannot go on exactly.
    assert!(module.contains("def load_optimizer(model):\n    \"\"\"Not in this export"));
    assert!(!module.contains("def make_optimizer"));
}

/// An ensemble goes to ONNX as one graph, not to PyTorch (one network to
/// go on training): that is an error naming why, and nothing is written.
#[test]
fn an_ensemble_is_no_pytorch_run() {
    let tmp = tempfile::TempDir::new().unwrap();
    let layers = [(4, Activation::Relu, true), (1, Activation::Sigmoid, true)];
    let ensemble = neurona::model_file::Ensemble::new(
        Model::new(network(3, &layers, 1), Loss::Bce),
        vec![network(3, &layers, 2)],
    )
    .unwrap();
    let file = tmp.path().join("ens.safetensors");
    ensemble.save(&file).unwrap();
    let out_dir = tmp.path().join("pt");
    fails(
        &neurona(&[
            "export",
            "--model",
            path(&file),
            "--pytorch",
            path(&out_dir),
        ]),
        "is an ensemble of 2 networks: --pytorch exports one network",
    );
    assert!(!out_dir.exists());
}
