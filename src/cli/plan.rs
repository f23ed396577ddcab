//! `neurona train`'s flags turned into a checked [`TrainPlan`]: the data and
//! its splits, the task, the network, its settings and where results go,
//! every error found before anything trains. `train.rs` only runs and
//! prints it.
//!
//! With `--init` a neurona model file brings its layers, activations, loss,
//! standardisation, task and classes, features, split and (when saved with
//! `--save-optimizer`) its optimizer's state; a flag that contradicts the
//! file is an error naming both values.

use std::path::{Path, PathBuf};

use neurona::model_file::{self, Model, Training};
use neurona::targets::Task;
use neurona::{
    Activation, Backend, BatchOrder, CsvOptions, EarlyStopping, Error, Init, Loss, Matrix, Network,
    Optimizer, OptimizerState, Result, Schedule, Standardizer, Table, TrainConfig, shuffled_order,
};

use super::args::{CsvArgs, OptimizerArg, TaskArg, TrainArgs};

/// One set of rows: inputs, targets, and the file line of each row.
pub struct Rows {
    pub x: Matrix,
    pub y: Matrix,
    pub lines: Vec<u64>,
    /// The file the rows come from.
    pub file: String,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.x.rows()
    }
}

/// Everything a training run needs, checked.
pub struct TrainPlan {
    pub train: Rows,
    pub validation: Option<Rows>,
    pub test: Option<Rows>,
    /// Rows left out for missing values.
    pub dropped: usize,
    /// The model as it will be saved, holding the network to train.
    pub model: Model,
    /// The file the weights came from (`--init`), if any.
    pub init_file: Option<String>,
    pub weight_init: Init,
    /// The optimizer, its settings and the run's settings.
    pub optimizer: Optimizer,
    pub schedule_text: String,
    pub batch: usize,
    pub steps: u64,
    pub config: TrainConfig,
    pub state: OptimizerState,
    /// What happened to a saved optimizer state, in words.
    pub resumed: Option<String>,
    pub backend: Option<Backend>,
    pub history: Option<PathBuf>,
    pub save: Option<PathBuf>,
    pub save_best: Option<PathBuf>,
    pub checkpoint_every: Option<usize>,
    pub save_optimizer: bool,
}

/// Rows `rows` of `m`.
fn take(m: &Matrix, rows: &[u32]) -> Result<Matrix> {
    let mut data =
        neurona::memory::with_capacity("a copy of the data's rows", rows.len() * m.cols())?;
    for &r in rows {
        data.extend_from_slice(m.row(r as usize));
    }
    Matrix::new(rows.len(), m.cols(), data)
}

/// A seeded draw of `share` of `rows` (indices into the data) as held-out
/// rows: `(kept, held out)`, each in file order. With `classes` (one class
/// per row), each class gives its share (stratified). `stream` keeps the
/// draws of the test and validation splits apart.
fn split(
    rows: &[u32],
    share: f64,
    seed: u64,
    stream: u64,
    classes: Option<&[usize]>,
    flag: &str,
) -> Result<(Vec<u32>, Vec<u32>)> {
    if !(0.0..1.0).contains(&share) {
        return Err(Error::Config(format!(
            "{flag} must be at least 0 and below 1, got {share}"
        )));
    }
    if share == 0.0 {
        return Ok((rows.to_vec(), Vec::new()));
    }
    let n = rows.len();
    // Its own stream of the seed, apart from the epochs' shuffles.
    let order = shuffled_order(n, seed, stream);
    let mut held = Vec::new();
    match classes {
        None => held.extend(
            order[..(n as f64 * share).round() as usize]
                .iter()
                .map(|&i| rows[i as usize]),
        ),
        Some(classes) => {
            let k = classes.iter().copied().max().map_or(0, |m| m + 1);
            for class in 0..k {
                let members: Vec<u32> = order
                    .iter()
                    .filter(|&&i| classes[i as usize] == class)
                    .map(|&i| rows[i as usize])
                    .collect();
                let take = (members.len() as f64 * share).round() as usize;
                held.extend(&members[..take.min(members.len().saturating_sub(1))]);
            }
        }
    }
    held.sort_unstable();
    let kept: Vec<u32> = rows
        .iter()
        .copied()
        .filter(|r| held.binary_search(r).is_err())
        .collect();
    if held.is_empty() || kept.is_empty() {
        return Err(Error::Config(format!(
            "{flag} {share} of {n} rows leaves {} held out and {} training rows; both need at least one",
            held.len(),
            kept.len()
        )));
    }
    Ok((kept, held))
}

/// The schedule named by `--schedule`, in steps of `steps_per_epoch`;
/// `total_epochs` is where a bare `cosine` ends.
fn schedule(text: &str, steps_per_epoch: usize, total_epochs: u64) -> Result<Schedule> {
    let bad = || {
        Error::Config(format!(
            "--schedule {text:?}: expected constant, step:EPOCHS:FACTOR, cosine or cosine:EPOCHS"
        ))
    };
    let parts: Vec<&str> = text.split(':').collect();
    let in_steps = |epochs: u64| -> Result<usize> {
        (epochs as usize).checked_mul(steps_per_epoch).ok_or_else(|| {
            Error::Config(format!(
                "--schedule {text:?}: {epochs} epochs of {steps_per_epoch} steps are more steps than a run can count"
            ))
        })
    };
    let epochs = |s: &str| -> Result<usize> {
        let e = s.parse::<u64>().ok().filter(|e| *e > 0).ok_or_else(bad)?;
        in_steps(e)
    };
    Ok(match parts[..] {
        ["constant"] => Schedule::Constant,
        ["step", every, factor] => Schedule::Step {
            every: epochs(every)?,
            factor: factor.parse().map_err(|_| bad())?,
        },
        ["cosine"] => Schedule::Cosine {
            steps: in_steps(total_epochs)?.max(1),
            floor: 0.0,
        },
        ["cosine", e] => Schedule::Cosine {
            steps: epochs(e)?,
            floor: 0.0,
        },
        _ => return Err(bad()),
    })
}

/// The optimizer `--optimizer` and its flags name (Adam by default).
fn optimizer(args: &TrainArgs) -> Optimizer {
    let momentum = args.momentum.unwrap_or(0.9);
    match args.optimizer.unwrap_or(OptimizerArg::Adam) {
        OptimizerArg::Sgd => Optimizer::Sgd,
        OptimizerArg::Momentum => Optimizer::momentum(momentum),
        OptimizerArg::Nesterov => Optimizer::nesterov(momentum),
        OptimizerArg::Adam => Optimizer::Adam {
            beta1: args.beta1.unwrap_or(0.9),
            beta2: args.beta2.unwrap_or(0.999),
            epsilon: args.epsilon.unwrap_or(1e-8),
        },
    }
}

/// The default learning rate of each rule.
fn default_lr(optimizer: Optimizer) -> f32 {
    match optimizer {
        Optimizer::Sgd => 0.5,
        Optimizer::Momentum { .. } => 0.05,
        Optimizer::Adam { .. } => 0.001,
    }
}

/// An error unless a file can be written at `path`: its folder exists and
/// takes a new file. Checked before training, so a run is not lost to a
/// typo in a path.
pub fn check_writable(path: &Path, flag: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::Io(format!(
            "{flag} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(Error::Io(format!("{flag} {} is a folder", path.display())));
    }
    let probe = dir.join(format!(".neurona-write-check.{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            Error::Io(format!(
                "{flag} {}: cannot write in {}: {e}",
                path.display(),
                dir.display()
            ))
        })
}

/// Where `path` is, for comparing paths: the file itself when it exists,
/// else its folder's real path and its name (so `out.csv` and `./out.csv`
/// meet).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// An error when an output would overwrite one of the command's input
/// files or another output: a data file replaced by a model is lost for
/// good. `outputs` and `inputs` are (flag, path) pairs.
pub fn check_distinct(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<()> {
    for (i, (flag, path)) in outputs.iter().enumerate() {
        let at = resolved(path);
        let clash = inputs
            .iter()
            .map(|(f, p)| (f, p, "input"))
            .chain(outputs[..i].iter().map(|(f, p)| (f, p, "output")))
            .find(|(_, p, _)| resolved(p) == at);
        if let Some((other, other_path, what)) = clash {
            return Err(Error::Io(format!(
                "{flag} {} is the {what} file of {other} {}: writing it would destroy that file; give another path",
                path.display(),
                other_path.display()
            )));
        }
    }
    Ok(())
}

/// [`check_writable`] for each output given (flag, path), then
/// [`check_distinct`] against the inputs and each other: every check a
/// command's output files need before it runs.
pub fn check_outputs(outputs: &[(&str, Option<&Path>)], inputs: &[(&str, &Path)]) -> Result<()> {
    let given: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|(flag, path)| path.map(|p| (*flag, p)))
        .collect();
    for (flag, path) in &given {
        check_writable(path, flag)?;
    }
    check_distinct(&given, inputs)
}

/// An error naming `flag`'s value and the file's, when a flag was given
/// and differs from what the model file says.
fn same<T: PartialEq + std::fmt::Display>(
    flag: &str,
    given: Option<T>,
    file: &str,
    in_file: T,
) -> Result<T> {
    match given {
        Some(g) if g != in_file => Err(Error::Config(format!(
            "{flag} {g} contradicts {file}, whose model has {in_file}"
        ))),
        _ => Ok(in_file),
    }
}

/// The columns a run reads: targets and features, by position.
struct Columns {
    targets: Vec<usize>,
    features: Vec<usize>,
}

fn columns(
    table: &Table,
    targets: &[String],
    features: Option<&[String]>,
    ignore: &[String],
) -> Result<Columns> {
    let targets = targets
        .iter()
        .map(|t| table.column(t))
        .collect::<Result<Vec<_>>>()?;
    for i in ignore {
        table.column(i)?;
    }
    let features: Vec<usize> = match features {
        Some(names) => {
            let f = names
                .iter()
                .map(|n| table.column(n))
                .collect::<Result<Vec<_>>>()?;
            if let Some(c) = f.iter().find(|c| targets.contains(c)) {
                return Err(Error::Config(format!(
                    "column {:?} is both a target and a feature",
                    table.columns[*c]
                )));
            }
            f
        }
        None => (0..table.columns.len())
            .filter(|c| !targets.contains(c) && !ignore.contains(&table.columns[*c]))
            .collect(),
    };
    if features.is_empty() {
        return Err(Error::Data(format!(
            "{} has no input columns besides the target{}; there are no features to learn from{}",
            table.file,
            if targets.len() > 1 { "s" } else { "" },
            table.separator_hint()
        )));
    }
    Ok(Columns { targets, features })
}

/// A data file as a run reads it: the table (rows with missing values left
/// out), the positions of its target and feature columns, and how many
/// rows were left out.
pub struct Used {
    pub table: Table,
    pub targets: Vec<usize>,
    pub features: Vec<usize>,
    pub dropped: usize,
}

/// The rows of `table` with a missing value in `used` left out
/// (`--drop-missing`), or an error naming the first such cell.
pub fn drop_missing(table: Table, used: &[usize], csv: &CsvArgs) -> Result<(Table, usize)> {
    let missing = table.rows_missing(used);
    if missing.is_empty() {
        return Ok((table, 0));
    }
    if !csv.drop_missing {
        let r = missing[0];
        let c = used
            .iter()
            .find(|&&c| table.is_missing_at(c, r))
            .expect("a missing cell");
        return Err(Error::Data(format!(
            "{} line {}, column {:?}: the value is missing; --drop-missing leaves out the {} row{} with missing values",
            table.file,
            table.lines[r],
            table.columns[*c],
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )));
    }
    if missing.len() == table.rows() {
        return Err(Error::Data(format!(
            "{}: every row has a missing value",
            table.file
        )));
    }
    Ok((table.without_rows(&missing), missing.len()))
}

/// Read `path` as the run's data: rows with missing values in the columns
/// used dropped (`--drop-missing`) or an error naming the first.
pub fn read_rows(
    path: &Path,
    csv: &CsvArgs,
    targets: &[String],
    features: Option<&[String]>,
    ignore: &[String],
) -> Result<Used> {
    let table = Table::read_csv_with(
        path,
        &CsvOptions {
            delimiter: csv.delimiter,
        },
    )?;
    let cols = columns(&table, targets, features, ignore)?;
    let used: Vec<usize> = cols.features.iter().chain(&cols.targets).copied().collect();
    let (table, dropped) = drop_missing(table, &used, csv)?;
    Ok(Used {
        table,
        targets: cols.targets,
        features: cols.features,
        dropped,
    })
}

impl TrainPlan {
    /// Read the data, build or load the network and check every setting.
    pub fn from_args(args: TrainArgs) -> Result<TrainPlan> {
        if args.save_optimizer && args.save.is_none() {
            return Err(Error::Config(
                "--save-optimizer saves with the model: give --save FILE too".into(),
            ));
        }
        // --init may be --save: a model trained further in place.
        let mut inputs = vec![("--data", args.data.as_path())];
        inputs.extend(
            args.validation_data
                .as_deref()
                .map(|p| ("--validation-data", p)),
        );
        check_outputs(
            &[
                ("--save", args.save.as_deref()),
                ("--save-best", args.save_best.as_deref()),
                ("--history", args.history.as_deref()),
            ],
            &inputs,
        )?;
        // Every other output spares --init.
        if let Some(init) = args.init.as_deref() {
            let others: Vec<(&str, &Path)> = [
                ("--save-best", args.save_best.as_deref()),
                ("--history", args.history.as_deref()),
            ]
            .into_iter()
            .filter_map(|(flag, p)| p.map(|p| (flag, p)))
            .collect();
            check_distinct(&others, &[("--init", init)])?;
        }
        check_early_stopping(args.early_stopping, args.min_delta)?;
        if args.early_stopping.is_some()
            && args.validation_split.is_none()
            && args.validation_data.is_none()
        {
            return Err(Error::Config(
                "--early-stopping watches the validation loss: give --validation-split or --validation-data".into(),
            ));
        }
        if args.save_best.is_some()
            && args.validation_split.is_none()
            && args.validation_data.is_none()
        {
            return Err(Error::Config(
                "--save-best keeps the epoch with the best validation loss: give --validation-split or --validation-data".into(),
            ));
        }

        // A neurona model file, or bare weights.
        let init_file = args.init.as_ref().map(|p| p.display().to_string());
        let (from_file, bare) = match &args.init {
            None => (None, None),
            Some(path) => {
                let (layers, meta) = model_file::read_layers(path)?;
                if meta.contains_key("activations") {
                    (Some(Model::load(path)?), None)
                } else {
                    (None, Some(layers))
                }
            }
        };
        let file = init_file.clone().unwrap_or_default();
        let features_flag = match (&from_file, &args.features) {
            (Some(m), Some(f)) if *f != m.features => {
                return Err(Error::Config(format!(
                    "--features {} contradicts {file}, whose model reads {}",
                    f.join(","),
                    m.features.join(",")
                )));
            }
            (Some(m), _) if !m.features.is_empty() => Some(m.features.clone()),
            (_, f) => f.clone(),
        };
        if let Some(m) = &from_file
            && !m.targets.is_empty()
            && m.targets != args.target
        {
            return Err(Error::Config(format!(
                "--target {} contradicts {file}, whose model predicts {}",
                args.target.join(","),
                m.targets.join(",")
            )));
        }
        let ignore = args.ignore_columns.clone().unwrap_or_default();
        let Used {
            table,
            targets: target_cols,
            features: feature_cols,
            dropped,
        } = read_rows(
            &args.data,
            &args.csv,
            &args.target,
            features_flag.as_deref(),
            &ignore,
        )?;
        let feature_names: Vec<String> = feature_cols
            .iter()
            .map(|&c| table.columns[c].clone())
            .collect();

        // What the target means.
        let inferred = match (&from_file, args.task) {
            (Some(m), task) if m.task.is_some() => {
                let t = m.task.clone().expect("checked");
                let asked = task.map(|t| match t {
                    TaskArg::Classification => "classification",
                    TaskArg::Regression => "regression",
                });
                if let Some(a) = asked
                    && (a == "regression") != (t == Task::Regression)
                {
                    return Err(Error::Config(format!(
                        "--task {a} contradicts {file}, whose model does {}",
                        t.name()
                    )));
                }
                t
            }
            (_, Some(TaskArg::Regression)) => Task::Regression,
            (_, Some(TaskArg::Classification)) => match Task::infer(&table, &target_cols)? {
                t @ Task::Classes { .. } => t,
                _ if target_cols.len() == 1 => {
                    let values = table.numbers(target_cols[0])?;
                    if let Some(v) = values.iter().find(|v| v.fract() != 0.0) {
                        return Err(Error::Data(format!(
                            "--task classification: target {:?} holds {v}, not a class label",
                            args.target[0]
                        )));
                    }
                    let mut labels: Vec<i64> = values.iter().map(|v| *v as i64).collect();
                    labels.sort_unstable();
                    labels.dedup();
                    Task::Classes {
                        labels: labels.iter().map(|l| l.to_string()).collect(),
                    }
                }
                t => t,
            },
            (_, None) => Task::infer(&table, &target_cols)?,
        };
        // `--layers` ending in k > 1 outputs on one column of numbers means
        // classes 0..k-1 (as it always has), and the values must be those.
        let numeric_target = target_cols.len() == 1 && table.text(target_cols[0]).is_none();
        let layers_classes = match (&args.layers, &from_file, args.task, numeric_target) {
            (Some(l), None, None, true) => l.last().copied().filter(|k| *k > 1),
            _ => None,
        };
        let y_all = match layers_classes {
            Some(k) => {
                let c = target_cols[0];
                let name = &table.columns[c];
                Some(neurona::targets::one_hot(&table.numbers(c)?, k, |r| {
                    format!("{} line {}, column {name:?}:", table.file, table.lines[r])
                })?)
            }
            None => None,
        };
        let inferred = match (layers_classes, &args.layers, &inferred) {
            (Some(k), _, _) => {
                // A label per class: room checked like any buffer.
                let what = format!("the labels of {k} classes");
                neurona::memory::check(&what, (k as u64).checked_mul(48))?;
                let mut labels = neurona::memory::with_capacity(&what, k)?;
                labels.extend((0..k).map(|i| i.to_string()));
                Task::Classes { labels }
            }
            (None, Some(l), Task::Classes { labels })
                if numeric_target && l.last() == Some(&1) && labels.len() > 2 =>
            {
                Task::Regression
            }
            _ => inferred,
        };
        let y_all = match y_all {
            Some(y) => y,
            None => inferred.encode(&table, &target_cols)?,
        };
        let x_all = table.select_columns(&feature_cols)?;
        let outputs = inferred.outputs(target_cols.len());

        // The splits: test rows first (a seeded draw, as before), then
        // validation rows from what is left (stratified for classes).
        let training = from_file.as_ref().and_then(|m| m.training.clone());
        let seed = match &training {
            Some(t) => same("--seed", args.seed, &file, t.seed)?,
            None => args.seed.unwrap_or(0),
        };
        let test_split = match &training {
            Some(t) => same("--test-split", args.test_split, &file, t.test_split)?,
            None => args.test_split.unwrap_or(0.0),
        };
        let validation_split = match &training {
            Some(t) if args.validation_data.is_none() => same(
                "--validation-split",
                args.validation_split,
                &file,
                t.validation_split,
            )?,
            _ => args.validation_split.unwrap_or(0.0),
        };
        let all: Vec<u32> = (0..table.rows() as u32).collect();
        let (rest, test_rows) = split(&all, test_split, seed, u64::MAX, None, "--test-split")?;
        let class_of = |r: u32| -> usize {
            let row = y_all.row(r as usize);
            if row.len() == 1 {
                row[0] as usize
            } else {
                row.iter().position(|v| *v == 1.0).unwrap_or(0)
            }
        };
        let rest_classes: Option<Vec<usize>> = matches!(inferred, Task::Classes { .. })
            .then(|| rest.iter().map(|&r| class_of(r)).collect());
        let (train_rows, val_rows) = split(
            &rest,
            validation_split,
            seed,
            u64::MAX - 1,
            rest_classes.as_deref(),
            "--validation-split",
        )?;
        let lines = |rows: &[u32]| rows.iter().map(|&r| table.lines[r as usize]).collect();
        let pick = |rows: &[u32]| -> Result<Option<Rows>> {
            Ok((!rows.is_empty()).then_some(Rows {
                x: take(&x_all, rows)?,
                y: take(&y_all, rows)?,
                lines: lines(rows),
                file: table.file.clone(),
            }))
        };
        let train = pick(&train_rows)?.expect("the split keeps training rows");
        let test = pick(&test_rows)?;
        let mut validation = pick(&val_rows)?;
        if let Some(path) = &args.validation_data {
            let target_names = args.target.clone();
            let v = read_rows(path, &args.csv, &target_names, Some(&feature_names), &[])?;
            validation = Some(Rows {
                x: v.table.select_columns(&v.features)?,
                y: inferred.encode(&v.table, &v.targets)?,
                lines: v.table.lines.clone(),
                file: v.table.file.clone(),
            });
        }

        // Standardisation of inputs, and of regression targets.
        let standardize = match &from_file {
            Some(m) => {
                let asked = if args.no_standardize {
                    Some(false)
                } else if args.standardize {
                    Some(true)
                } else {
                    None
                };
                let has = m.standardizer.is_some();
                if let Some(a) = asked
                    && a != has
                {
                    return Err(Error::Config(format!(
                        "--{}standardize contradicts {file}, whose model {} standardised inputs",
                        if a { "" } else { "no-" },
                        if has { "takes" } else { "does not take" }
                    )));
                }
                has
            }
            None => !args.no_standardize,
        };
        // Targets are standardised only for a regression trained with MSE
        // on an identity output (other losses need the values as they are).
        let output_guess: Activation = match (&from_file, args.output_activation) {
            (Some(m), _) => m.network.layers()[m.network.layers().len() - 1].activation(),
            (None, Some(a)) => a.into(),
            (None, None) => inferred.output_activation(),
        };
        let loss_guess = args
            .loss
            .map(Loss::from)
            .unwrap_or_else(|| neurona::targets::default_loss(output_guess));
        let scale_targets = inferred == Task::Regression
            && loss_guess == Loss::Mse
            && output_guess == Activation::Identity;
        let (standardizer, target_standardizer) = match &from_file {
            Some(m) => (m.standardizer.clone(), m.target_standardizer.clone()),
            None => (
                standardize.then(|| Standardizer::fit(&train.x)),
                (standardize && scale_targets).then(|| Standardizer::fit(&train.y)),
            ),
        };
        let scale = |rows: Option<Rows>| -> Result<Option<Rows>> {
            rows.map(|r| -> Result<Rows> {
                Ok(Rows {
                    x: match &standardizer {
                        Some(s) => s.apply(&r.x)?,
                        None => r.x,
                    },
                    y: match &target_standardizer {
                        Some(s) => s.apply(&r.y)?,
                        None => r.y,
                    },
                    ..r
                })
            })
            .transpose()
        };
        let train = scale(Some(train))?.expect("training rows");
        let validation = scale(validation)?;
        let test = scale(test)?;

        // The network.
        let weight_init: Init = args.weight_init.into();
        let net = match &from_file {
            Some(m) => {
                let layers = m.network.layers();
                let widths: Vec<usize> = layers.iter().map(|l| l.outputs()).collect();
                let hidden: Vec<usize> = widths[..widths.len() - 1].to_vec();
                if let Some(l) = &args.layers
                    && *l != widths
                {
                    return Err(Error::Config(format!(
                        "--layers {} contradicts {file}, whose layers are {}",
                        join(l),
                        join(&widths)
                    )));
                }
                if let Some(h) = &args.hidden
                    && *h != hidden
                {
                    return Err(Error::Config(format!(
                        "--hidden {} contradicts {file}, whose hidden layers are {}",
                        join(h),
                        join(&hidden)
                    )));
                }
                if let Some(a) = args.hidden_activation
                    && let Some(first) = layers.first().filter(|_| layers.len() > 1)
                {
                    same(
                        "--hidden-activation",
                        Some(Activation::from(a)),
                        &file,
                        first.activation(),
                    )?;
                }
                if let Some(a) = args.output_activation {
                    same(
                        "--output-activation",
                        Some(Activation::from(a)),
                        &file,
                        layers[layers.len() - 1].activation(),
                    )?;
                }
                if m.network.inputs() != feature_names.len() {
                    return Err(Error::ModelFile(format!(
                        "{file}: its first layer takes {} inputs, but {} has {} input columns",
                        m.network.inputs(),
                        table.file,
                        feature_names.len()
                    )));
                }
                m.network.clone()
            }
            None => {
                let widths: Vec<usize> = match (&args.layers, &args.hidden) {
                    (Some(l), _) => {
                        let Some(&last) = l.last() else {
                            return Err(Error::Config(
                                "--layers needs at least one width (the output layer's)".into(),
                            ));
                        };
                        if last != outputs {
                            return Err(Error::Config(format!(
                                "--layers {} ends in {last} output{}, but {} needs {outputs}: {}",
                                join(l),
                                if last == 1 { "" } else { "s" },
                                args.target.join(","),
                                describe_task(&inferred, &args.target)
                            )));
                        }
                        l.clone()
                    }
                    (None, Some(h)) => h.iter().copied().chain([outputs]).collect(),
                    (None, None) => match &bare {
                        Some(layers) => layers.iter().map(|l| l.outputs).collect(),
                        None => vec![100, outputs],
                    },
                };
                let output: Activation = args
                    .output_activation
                    .map(Into::into)
                    .unwrap_or_else(|| inferred.output_activation());
                let hidden: Activation =
                    args.hidden_activation.map_or(Activation::Relu, Into::into);
                let mut activations = vec![hidden; widths.len() - 1];
                activations.push(output);
                match &bare {
                    Some(layers) => {
                        let in_file: Vec<usize> = layers.iter().map(|l| l.outputs).collect();
                        if widths != in_file {
                            return Err(Error::ModelFile(format!(
                                "{file} has {} layers of widths {in_file:?}, but the flags ask for {widths:?}",
                                in_file.len()
                            )));
                        }
                        if layers[0].inputs != feature_names.len() {
                            return Err(Error::ModelFile(format!(
                                "{file}: its first layer takes {} inputs, but {} has {} input columns",
                                layers[0].inputs,
                                table.file,
                                feature_names.len()
                            )));
                        }
                        model_file::network_from(&file, layers.clone(), &activations)?
                    }
                    None => {
                        let mut builder = Network::builder(feature_names.len()).init(weight_init);
                        for (w, a) in widths.iter().zip(&activations) {
                            builder = builder.layer(*w, *a);
                        }
                        builder.build(seed)?
                    }
                }
            }
        };
        let output = net.layers()[net.layers().len() - 1].activation();
        let loss = match &from_file {
            Some(m) => same("--loss", args.loss.map(Loss::from), &file, m.loss)?,
            None => args
                .loss
                .map(Loss::from)
                .unwrap_or_else(|| neurona::targets::default_loss(output)),
        };

        // The optimizer: from the file for an exact resume when it saved
        // its state; the run's settings default to the file's.
        let mut optimizer = optimizer(&args);
        let mut state = OptimizerState::new(&net, optimizer)?;
        let mut resumed = None;
        if let Some(m) = &from_file
            && let Some((saved, saved_state)) = &m.optimizer
        {
            if args.optimizer.is_some() && saved.name() != optimizer.name() {
                return Err(Error::Config(format!(
                    "--optimizer {} contradicts {file}, whose saved state is {}'s",
                    optimizer.name(),
                    saved.name()
                )));
            }
            if args.optimizer.is_some() && *saved != optimizer {
                return Err(Error::Config(format!(
                    "--optimizer {} with these settings contradicts {file}, whose {} has {}",
                    optimizer.name(),
                    saved.name(),
                    describe_optimizer(*saved)
                )));
            }
            optimizer = *saved;
            state = saved_state.clone();
            resumed = Some(format!(
                "resuming {file}'s {} state at step {}, epoch {}",
                saved.name(),
                saved_state.steps,
                saved_state.epochs
            ));
        }
        let lr = args
            .lr
            .or(training.as_ref().map(|t| t.learning_rate))
            .unwrap_or_else(|| default_lr(optimizer));
        let weight_decay = args
            .weight_decay
            .or(training.as_ref().map(|t| t.weight_decay))
            .unwrap_or(0.0);
        let rows = train.len();
        let batch_size = match (args.batch, &training) {
            (Some(0), _) => None,
            (Some(b), _) => Some(b),
            (None, Some(t)) => t.batch_size,
            (None, None) => Some(32),
        };
        let batch = batch_size.unwrap_or(rows).min(rows).max(1);
        let steps_per_epoch = rows.div_ceil(batch);
        let epochs = args.epochs.unwrap_or(200);
        let schedule_text = args.schedule.clone().unwrap_or_else(|| "constant".into());
        let schedule = match (&args.schedule, &training) {
            (None, Some(t)) => t.schedule,
            _ => schedule(
                &schedule_text,
                steps_per_epoch,
                state.epochs.saturating_add(epochs as u64),
            )?,
        };
        let mut config = TrainConfig::new()
            .learning_rate(lr)
            .epochs(epochs)
            .order(BatchOrder::Shuffled { seed })
            .loss(loss)
            .optimizer(optimizer)
            .weight_decay(weight_decay)
            .schedule(schedule);
        config.batch_size = batch_size;
        if let Some(patience) = args.early_stopping {
            config = config.early_stopping(EarlyStopping {
                patience,
                min_delta: args.min_delta.unwrap_or(0.0),
            });
        }
        config.validate(&net)?;
        let steps = config.steps(rows)?;
        config = config.report_every((steps / 200).max(1) as usize);
        if let Some(e) = args.checkpoint_every
            && e == 0
        {
            return Err(Error::Config(
                "--checkpoint-every must be at least 1 epoch".into(),
            ));
        }
        let threshold = args
            .threshold
            .or(from_file.as_ref().map(|m| m.threshold))
            .unwrap_or(0.5);
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(Error::Config(format!(
                "--threshold must lie between 0 and 1, got {threshold}"
            )));
        }

        let model = Model {
            network: net,
            loss,
            features: feature_names,
            targets: args.target.clone(),
            task: Some(inferred),
            threshold,
            standardizer,
            target_standardizer,
            optimizer: None,
            training: Some(Training {
                learning_rate: lr,
                batch_size,
                weight_decay,
                schedule,
                seed,
                test_split,
                validation_split,
                rows: table.rows(),
            }),
        };
        Ok(TrainPlan {
            train,
            validation,
            test,
            dropped,
            model,
            init_file,
            weight_init,
            optimizer,
            schedule_text,
            batch,
            steps,
            config,
            state,
            resumed,
            backend: args.backend.map(Into::into),
            history: args.history,
            save: args.save,
            save_best: args.save_best,
            checkpoint_every: args.checkpoint_every,
            save_optimizer: args.save_optimizer,
        })
    }
}

fn join(v: &[usize]) -> String {
    v.iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `adam (beta1 0.9, beta2 0.999, epsilon 1e-8)`.
pub fn describe_optimizer(o: Optimizer) -> String {
    match o {
        Optimizer::Sgd => "sgd".into(),
        Optimizer::Momentum { momentum, nesterov } => format!(
            "{} (momentum {momentum})",
            if nesterov { "nesterov" } else { "momentum" }
        ),
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
        } => format!("adam (beta1 {beta1}, beta2 {beta2}, epsilon {epsilon})"),
    }
}

/// The task in words: `3 classes (setosa, versicolor, virginica)`.
pub fn describe_task(task: &Task, targets: &[String]) -> String {
    match task {
        Task::Classes { labels } => {
            let shown: Vec<&str> = labels.iter().take(8).map(String::as_str).collect();
            format!(
                "{} classes ({}{})",
                labels.len(),
                shown.join(", "),
                if labels.len() > 8 { ", ..." } else { "" }
            )
        }
        Task::MultiLabel => format!("multi-label, {} 0/1 columns", targets.len()),
        Task::Regression if targets.len() == 1 => "regression".into(),
        Task::Regression => format!("regression of {} columns", targets.len()),
    }
}

/// `--early-stopping` and `--min-delta`, named by their flags: a patience
/// of at least 1 epoch and an improvement of 0 or more.
pub fn check_early_stopping(patience: Option<usize>, min_delta: Option<f64>) -> Result<()> {
    if patience == Some(0) {
        return Err(Error::Config(
            "--early-stopping 0: give a patience of at least 1 epoch".into(),
        ));
    }
    if let Some(d) = min_delta
        && !(d.is_finite() && d >= 0.0)
    {
        return Err(Error::Config(format!(
            "--min-delta {d}: the improvement that counts must be a number, 0 or more"
        )));
    }
    Ok(())
}
