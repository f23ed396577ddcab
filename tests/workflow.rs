//! The training workflow end to end through the binary: defaults from the
//! target, text labels, validation and early stopping, checkpoints,
//! metrics, `--init` taking the model's settings, `evaluate`, `info`, CSV
//! files as people have them, and the defects the workflow issue listed.

use std::path::Path;
use std::process::Output;

use neurona::Model;
use neurona::targets::Task;

use crate::common::{neurona, ok, text};

/// A failure: exit 1, one line on stderr containing `want`.
#[track_caller]
fn fails(out: &Output, want: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout {}\nstderr {err}",
        text(&out.stdout)
    );
    assert!(
        err.contains(want),
        "stderr {err:?} does not contain {want:?}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    err
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::TempDir::new().unwrap())
    }
    fn file(&self, name: &str, contents: &str) -> String {
        let p = self.0.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p.display().to_string()
    }
    fn path(&self, name: &str) -> String {
        self.0.path().join(name).display().to_string()
    }
}

/// 180 flowers of three species named by text, an id column, and a
/// column of names the model does not use.
fn flowers() -> String {
    let mut s = String::from("id,length,width,kind,species\n");
    for i in 0..180 {
        let k = i % 3;
        let j = (i * 7 % 13) as f32 / 13.0 - 0.5;
        let (l, w) = [(1.0, 1.0), (3.0, 1.5), (2.0, 4.0)][k];
        let name = ["setosa", "versicolor", "virginica"][k];
        s += &format!("{i},{},{},plant{},{name}\n", l + j, w - j, i % 5);
    }
    s
}

/// y = 1000 + 300 a − 200 b: a regression target far from 0 and 1.
fn prices() -> String {
    let mut s = String::from("a,b,price\n");
    for i in 0..200 {
        let (a, b) = ((i * 37 % 100) as f32 / 100.0, (i * 61 % 100) as f32 / 100.0);
        s += &format!("{a},{b},{}\n", 1000.0 + 300.0 * a - 200.0 * b);
    }
    s
}

#[test]
fn data_and_target_alone_give_a_good_model() {
    let dir = Dir::new();
    let data = dir.file("flowers.csv", &flowers());
    let out = neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--ignore-columns",
        "id,kind",
        "--test-split",
        "0.25",
        "--backend",
        "cpu",
    ]);
    let stdout = ok(&out);
    // The defaults: relu hidden layer of 100, softmax and cross-entropy
    // for text classes, Adam at 0.001, standardised inputs.
    assert!(
        stdout.contains("network 2-100(relu)-3(softmax), loss ce, adam learning rate 0.001, 200 epochs in batches of 32 rows"),
        "{stdout}"
    );
    assert!(
        stdout.contains("target species: 3 classes (setosa, versicolor, virginica)"),
        "{stdout}"
    );
    assert!(stdout.contains("2 inputs (standardised)"), "{stdout}");
    let test = stdout.lines().find(|l| l.starts_with("test:")).unwrap();
    assert!(test.contains("accuracy 100.00%"), "{stdout}");
    // Per-class scores, named by label, and the confusion matrix.
    assert!(
        stdout.contains("precision    recall  f1-score   support"),
        "{stdout}"
    );
    assert!(
        stdout.contains("versicolor     1.0000    1.0000    1.0000"),
        "{stdout}"
    );
    assert!(stdout.contains("actual \\ predicted"), "{stdout}");
}

#[test]
fn text_labels_go_into_the_model_and_come_back_from_predict() {
    let dir = Dir::new();
    let data = dir.file("flowers.csv", &flowers());
    let model = dir.path("m.safetensors");
    ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--features",
        "length,width",
        "--epochs",
        "50",
        "--backend",
        "cpu",
        "--save",
        &model,
    ]));
    let m = Model::load(&model).unwrap();
    assert_eq!(
        m.task,
        Some(Task::Classes {
            labels: vec!["setosa".into(), "versicolor".into(), "virginica".into()]
        })
    );
    // A text column the model does not use ("kind") is ignored.
    let out = ok(&neurona(&["predict", "--model", &model, "--data", &data]));
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("species,p_setosa,p_versicolor,p_virginica")
    );
    assert!(lines.next().unwrap().starts_with("setosa,"));
    assert!(lines.next().unwrap().starts_with("versicolor,"));
    // evaluate scores any labelled file.
    let out = ok(&neurona(&["evaluate", "--model", &model, "--data", &data]));
    assert!(out.contains("180 rows of"), "{out}");
    assert!(out.contains("accuracy 100.00% (180/180)"), "{out}");
    assert!(
        out.contains("macro avg     1.0000    1.0000    1.0000       180"),
        "{out}"
    );
    // info describes the file.
    let out = ok(&neurona(&["info", "--model", &model]));
    for want in [
        "network 2-100(relu)-3(softmax)",
        "task: 3 classes (setosa, versicolor, virginica)",
        "features (2): length, width",
        "inputs standardised",
        "no optimizer state",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
}

#[test]
fn binary_classes_have_a_threshold_and_roc_auc() {
    let dir = Dir::new();
    let mut s = String::from("x,spam\n");
    for i in 0..120 {
        let x = (i % 40) as f32 / 40.0;
        s += &format!("{x},{}\n", if x > 0.5 { "yes" } else { "no" });
    }
    let data = dir.file("b.csv", &s);
    let model = dir.path("b.safetensors");
    let out = ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "spam",
        "--epochs",
        "100",
        "--backend",
        "cpu",
        "--save",
        &model,
    ]));
    assert!(
        out.contains("network 1-100(relu)-1(sigmoid), loss bce"),
        "{out}"
    );
    assert!(out.contains("ROC AUC 1.0000"), "{out}");
    let predict = |threshold: &str| {
        let out = ok(&neurona(&[
            "predict",
            "--model",
            &model,
            "--data",
            &data,
            "--threshold",
            threshold,
        ]));
        out.lines()
            .skip(1)
            .filter(|l| l.starts_with("yes,"))
            .count()
    };
    assert_eq!(predict("0.5"), 57);
    assert!(predict("0.05") > 57, "a low threshold calls more rows yes");
    let out = ok(&neurona(&["predict", "--model", &model, "--data", &data]));
    assert_eq!(out.lines().next(), Some("spam,p_yes"));
}

#[test]
fn regression_is_standardised_and_given_back_in_its_units() {
    let dir = Dir::new();
    let data = dir.file("p.csv", &prices());
    let model = dir.path("p.safetensors");
    let out = ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "price",
        "--epochs",
        "300",
        "--backend",
        "cpu",
        "--save",
        &model,
    ]));
    assert!(
        out.contains("network 2-100(relu)-1(identity), loss mse"),
        "{out}"
    );
    assert!(
        out.contains("target price: regression (standardised for training"),
        "{out}"
    );
    // The printed MSE is the real mean of (ŷ − y)², in the target's units.
    let line = out.lines().find(|l| l.starts_with("train:")).unwrap();
    let mse: f64 = line["train: mse ".len()..]
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let preds = ok(&neurona(&["predict", "--model", &model, "--data", &data]));
    let p: Vec<f64> = preds.lines().skip(1).map(|l| l.parse().unwrap()).collect();
    let y: Vec<f64> = prices()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    let want = p.iter().zip(&y).map(|(p, y)| (p - y).powi(2)).sum::<f64>() / y.len() as f64;
    assert!(
        (mse - want).abs() <= 1e-3 * want.max(1.0),
        "printed {mse}, computed {want}"
    );
    assert!(mse < 100.0, "a price fit to within 10 ({mse})");
    assert_eq!(preds.lines().next(), Some("price"));
}

#[test]
fn validation_early_stopping_history_and_checkpoints() {
    let dir = Dir::new();
    let data = dir.file("flowers.csv", &flowers());
    let (model, best, history) = (dir.path("m.st"), dir.path("best.st"), dir.path("h.csv"));
    let out = ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--ignore-columns",
        "id,kind",
        "--validation-split",
        "0.2",
        "--early-stopping",
        "5",
        "--min-delta",
        "0.001",
        "--epochs",
        "400",
        "--backend",
        "cpu",
        "--save",
        &model,
        "--save-best",
        &best,
        "--checkpoint-every",
        "10",
        "--history",
        &history,
    ]));
    assert!(
        out.contains("144 training rows, 36 validation rows"),
        "{out}"
    );
    assert!(out.contains("early stopping: stopped after epoch"), "{out}");
    assert!(out.contains("restored the weights of epoch"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("validation: loss")),
        "{out}"
    );
    // The saved model is the best epoch's, as --save-best kept it.
    let (saved, kept) = (Model::load(&model).unwrap(), Model::load(&best).unwrap());
    assert_eq!(saved.network, kept.network);
    // One row per reported step, and one per epoch with its validation.
    let h = std::fs::read_to_string(&history).unwrap();
    let mut lines = h.lines();
    assert_eq!(
        lines.next(),
        Some("kind,step,epoch,loss,val_loss,val_accuracy")
    );
    let epochs: Vec<&str> = h.lines().filter(|l| l.starts_with("epoch,")).collect();
    let steps = h.lines().filter(|l| l.starts_with("step,")).count();
    assert!(epochs.len() >= 6 && steps > 0, "{h}");
    let last: Vec<f64> = epochs[epochs.len() - 1]
        .split(',')
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(last[3] > 0.0 && (0.0..=1.0).contains(&last[4]), "{last:?}");
    // Flags that need validation rows say so.
    fails(
        &neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "species",
            "--early-stopping",
            "3",
        ]),
        "--early-stopping watches the validation loss: give --validation-split or --validation-data",
    );
}

#[test]
fn validation_rows_from_their_own_file() {
    let dir = Dir::new();
    let data = dir.file("p.csv", &prices());
    let val = dir.file("v.csv", "b,a,price\n0.5,0.5,1050\n0.1,0.9,1250\n");
    let out = ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "price",
        "--validation-data",
        &val,
        "--epochs",
        "20",
        "--backend",
        "cpu",
    ]));
    assert!(
        out.contains("200 training rows, 2 validation rows"),
        "{out}"
    );
    let bad = dir.file("bad.csv", "a,b,price\n0.5,0.5,x\n");
    fails(
        &neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "price",
            "--validation-data",
            &bad,
        ]),
        "bad.csv line 2, column \"price\": \"x\" is not a number",
    );
}

#[test]
fn init_takes_the_models_settings_and_refuses_contradictions() {
    let dir = Dir::new();
    let data = dir.file("flowers.csv", &flowers());
    let model = dir.path("m.st");
    ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--ignore-columns",
        "id,kind",
        "--hidden",
        "12",
        "--hidden-activation",
        "tanh",
        "--test-split",
        "0.2",
        "--validation-split",
        "0.1",
        "--seed",
        "5",
        "--epochs",
        "3",
        "--lr",
        "0.01",
        "--backend",
        "cpu",
        "--save",
        &model,
        "--save-optimizer",
    ]));
    // Nothing but --init and --epochs: the file's network, loss,
    // standardisation, split and optimizer.
    let out = ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--init",
        &model,
        "--epochs",
        "2",
        "--backend",
        "cpu",
    ]));
    for want in [
        "network 2-12(tanh)-3(softmax), loss ce, adam learning rate 0.01",
        "resuming",
        "adam state at step 15, epoch 3",
        "130 training rows, 14 validation rows, 36 test rows, 2 inputs (standardised)",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    // Two more epochs of the same split give what five epochs in one run do.
    let whole = dir.path("whole.st");
    ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--ignore-columns",
        "id,kind",
        "--hidden",
        "12",
        "--hidden-activation",
        "tanh",
        "--test-split",
        "0.2",
        "--validation-split",
        "0.1",
        "--seed",
        "5",
        "--epochs",
        "5",
        "--lr",
        "0.01",
        "--backend",
        "cpu",
        "--save",
        &whole,
    ]));
    let resumed = dir.path("resumed.st");
    ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--init",
        &model,
        "--epochs",
        "2",
        "--backend",
        "cpu",
        "--save",
        &resumed,
    ]));
    assert_eq!(
        Model::load(&whole).unwrap().network,
        Model::load(&resumed).unwrap().network
    );
    for (flag, value, want) in [
        (
            "--hidden-activation",
            "relu",
            "--hidden-activation relu contradicts",
        ),
        (
            "--output-activation",
            "sigmoid",
            "--output-activation sigmoid contradicts",
        ),
        ("--loss", "mse", "--loss mse contradicts"),
        ("--hidden", "20", "--hidden 20 contradicts"),
        ("--test-split", "0.3", "--test-split 0.3 contradicts"),
        ("--seed", "1", "--seed 1 contradicts"),
        ("--optimizer", "sgd", "--optimizer sgd contradicts"),
    ] {
        let err = fails(
            &neurona(&[
                "train", "--data", &data, "--target", "species", "--init", &model, flag, value,
            ]),
            want,
        );
        assert!(err.contains(&model), "{err}");
    }
    fails(
        &neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "species",
            "--init",
            &model,
            "--no-standardize",
        ]),
        "--no-standardize contradicts",
    );
}

#[test]
fn csv_files_as_people_have_them() {
    let dir = Dir::new();
    // Semicolons, a byte order mark, CRLF, quoted cells and a blank line.
    let semi = dir.file(
        "s.csv",
        "\u{feff}a;b;y\r\n1;\"2\";0\r\n\r\n3;4;1\r\n5;6;0\r\n7;8;1\r\n",
    );
    let out = ok(&neurona(&[
        "train",
        "--data",
        &semi,
        "--target",
        "y",
        "--epochs",
        "1",
        "--backend",
        "cpu",
    ]));
    assert!(out.contains("4 training rows"), "{out}");
    // The line of a bad cell is the file's, whatever its line endings.
    for (name, body, line) in [
        ("crlf.csv", "a,y\r\n1,0\r\n2,1\r\nx,0\r\n", 4),
        ("cr.csv", "a,y\r1,0\r2,1\rx,0\r", 4),
        ("blank.csv", "a,y\n1,0\n\n\n2,1\nx,0\n", 6),
    ] {
        let f = dir.file(name, body);
        fails(
            &neurona(&["train", "--data", &f, "--target", "y"]),
            &format!("{name} line {line}, column \"a\": \"x\" is not a number"),
        );
    }
    // A row in one cell: the message names the separator it holds.
    let one = dir.file("one.csv", "a;b;y\n1;2;0\n");
    fails(
        &neurona(&[
            "train",
            "--data",
            &one,
            "--target",
            "a;b;y",
            "--delimiter",
            ",",
        ]),
        "one.csv has no input columns besides the target; there are no features to learn from (the header is one cell: is the file separated by ';'? use --delimiter ;)",
    );
    let ragged = dir.file("r.csv", "a,b,y\n1;2;0\n");
    fails(
        &neurona(&["train", "--data", &ragged, "--target", "y"]),
        "r.csv line 2: 1 cells, but the header has 3 columns (the whole row is one cell: is the file separated by ';'? use --delimiter ;)",
    );
    // Missing values: an error naming --drop-missing, which drops them.
    let na = dir.file(
        "na.csv",
        "a,b,y\n1,2,0\nNA,4,1\n5,,0\n7,8,1\n9,10,0\n11,12,1\n",
    );
    fails(
        &neurona(&["train", "--data", &na, "--target", "y"]),
        "na.csv line 3, column \"a\": the value is missing; --drop-missing leaves out the 2 rows with missing values",
    );
    let out = ok(&neurona(&[
        "train",
        "--data",
        &na,
        "--target",
        "y",
        "--drop-missing",
        "--epochs",
        "1",
        "--backend",
        "cpu",
    ]));
    assert!(out.contains("4 training rows"), "{out}");
    assert!(out.contains("2 rows with missing values left out"), "{out}");
}

#[test]
fn the_listed_defects_stay_fixed() {
    let dir = Dir::new();
    let data = dir.file("p.csv", &prices());
    // Flag errors: one line, exit 1; negative numbers are values.
    fails(
        &neurona(&["train", "--data", &data, "--target", "price", "--bogus"]),
        "unexpected argument '--bogus'",
    );
    fails(
        &neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "price",
            "--test-split",
            "-0.1",
        ]),
        "--test-split must be at least 0 and below 1, got -0.1",
    );
    fails(
        &neurona(&[
            "train", "--data", &data, "--target", "price", "--seed", "-1",
        ]),
        "invalid value '-1' for '--seed <SEED>'",
    );
    // An out-of-range BCE target names its file line.
    let bce = dir.file("bce.csv", "a,y\n0.1,0\n0.2,1\n0.3,2\n0.4,0\n");
    fails(
        &neurona(&[
            "train",
            "--data",
            &bce,
            "--target",
            "y",
            "--task",
            "regression",
            "--output-activation",
            "sigmoid",
            "--loss",
            "bce",
        ]),
        "bce.csv line 4, column \"y\": 2 is outside [0, 1], which targets for BCE must lie in",
    );
    // Output paths are checked before training.
    let out = neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "price",
        "--save",
        "/no/such/folder/m.st",
    ]);
    fails(
        &out,
        "--save /no/such/folder/m.st: the folder /no/such/folder does not exist",
    );
    assert!(
        !text(&out.stdout).contains("trained in"),
        "no training before the check"
    );
    fails(
        &neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "price",
            "--history",
            "/no/such/h.csv",
        ]),
        "--history /no/such/h.csv: the folder /no/such does not exist",
    );
    assert!(!Path::new("/no/such/folder/m.st").exists());
}

#[test]
fn several_targets_multi_output_and_multi_label() {
    let dir = Dir::new();
    let mut s = String::from("a,b,name,y1,y2,l1,l2\n");
    for i in 0..240 {
        let (a, b) = (
            (i * 37 % 100) as f32 / 50.0 - 1.0,
            (i * 61 % 100) as f32 / 50.0 - 1.0,
        );
        let a_cell = if i % 60 == 7 {
            "NA".to_string()
        } else {
            a.to_string()
        };
        s += &format!(
            "{a_cell},{b},n{i},{},{},{},{}\n",
            100.0 + 50.0 * a,
            -5.0 * b,
            (a + b > 0.0) as u8,
            (b > 0.2) as u8
        );
    }
    let data = dir.file("m.csv", &s);
    // Two numbers: two identity outputs, scored per output in their units.
    let model = dir.path("mo.st");
    let out = ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "y1,y2",
        "--features",
        "a,b",
        "--drop-missing",
        "--epochs",
        "300",
        "--backend",
        "cpu",
        "--save",
        &model,
    ]));
    assert!(
        out.contains("network 2-100(relu)-2(identity), loss mse"),
        "{out}"
    );
    assert!(
        out.contains("target y1,y2: regression of 2 columns"),
        "{out}"
    );
    assert!(out.contains("4 rows with missing values left out"), "{out}");
    assert!(out.contains("output          mse"), "{out}");
    let preds = ok(&neurona(&[
        "predict",
        "--model",
        &model,
        "--data",
        &data,
        "--drop-missing",
    ]));
    let mut lines = preds.lines();
    assert_eq!(lines.next(), Some("line,y1,y2"));
    let first: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(first[0], 2.0, "the first prediction is for file line 2");
    assert!(
        (first[1] - 50.0).abs() < 5.0,
        "y1 of row 0 (a = -1) is about 50: {first:?}"
    );
    let eval = ok(&neurona(&[
        "evaluate",
        "--model",
        &model,
        "--data",
        &data,
        "--drop-missing",
    ]));
    assert!(
        eval.contains("236 rows (4 with missing values left out)"),
        "{eval}"
    );
    assert!(eval.contains("    y2 "), "{eval}");
    // Several 0/1 columns: multi-label, a sigmoid each.
    let labels = dir.path("ml.st");
    let out = ok(&neurona(&[
        "train",
        "--data",
        &data,
        "--target",
        "l1,l2",
        "--features",
        "a,b",
        "--drop-missing",
        "--epochs",
        "200",
        "--backend",
        "cpu",
        "--save",
        &labels,
    ]));
    assert!(
        out.contains("network 2-100(relu)-2(sigmoid), loss bce"),
        "{out}"
    );
    assert!(
        out.contains("target l1,l2: multi-label, 2 0/1 columns"),
        "{out}"
    );
    assert!(out.contains("scores of l2 (train rows)"), "{out}");
    let preds = ok(&neurona(&[
        "predict",
        "--model",
        &labels,
        "--data",
        &data,
        "--drop-missing",
    ]));
    assert_eq!(preds.lines().next(), Some("line,l1,l2,p_l1,p_l2"));
    // Text among several targets is refused.
    fails(
        &neurona(&[
            "train",
            "--data",
            &data,
            "--target",
            "y1,name",
            "--drop-missing",
        ]),
        "several target columns must be numbers",
    );
}
