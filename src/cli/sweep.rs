//! `neurona sweep`: many networks on one CSV file in one run. Each setting
//! of the grid (layer widths × optimizers × learning rates × weight decays
//! × batch sizes) and each seed becomes one `TrainPlan` (`plan.rs`, the
//! flags and decisions of `neurona train`), trained on every fold with
//! `--folds K`; all of them train at once (`neurona::sweep`). The table
//! ranks the settings by the mean of their validation score over seeds and
//! folds; the best network, or an ensemble of the best, is saved.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use neurona::model_file::{Ensemble, Model, write_atomically};
use neurona::sweep::{
    Fold, GpuPlacement, Member, SweepObserver, gpu_placements, k_folds, train_members,
};
use neurona::targets::Task;
use neurona::{EarlyStopping, Error, Matrix, Optimizer, Progress, Result, shuffled_order};

use super::args::{MetricArg, OptimizerArg, SweepArgs, TrainArgs};
use super::plan::{TrainPlan, check_early_stopping, check_outputs, describe_task};
use super::progress::Bar;
use super::train::Scores;

/// The most networks one sweep trains.
const MAX_NETWORKS: usize = 1 << 20;

/// An error for a flag given an empty list.
fn empty(flag: &str, text: &str) -> Result<()> {
    match text.trim().is_empty() {
        true => Err(Error::Config(format!(
            "{flag} is an empty list: give at least one value"
        ))),
        false => Ok(()),
    }
}

/// `0,1,2` or `0..8` (0 to 7).
fn seeds(text: &str) -> Result<Vec<u64>> {
    empty("--seeds", text)?;
    let bad = || {
        Error::Config(format!(
            "--seeds {text:?}: expected a list (0,1,2) or a range (0..8) of whole numbers, 0 or more"
        ))
    };
    if let Some((a, b)) = text.split_once("..") {
        let (a, b): (u64, u64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if b <= a {
            return Err(Error::Config(format!(
                "--seeds {text}: the range is empty ({}; the end is left out: {a}..{} is seed {a})",
                if b == a {
                    "it ends where it starts"
                } else {
                    "it ends before it starts"
                },
                a + 1
            )));
        }
        if b - a > MAX_NETWORKS as u64 {
            return Err(Error::Config(format!(
                "--seeds {text}: {} seeds are more than a sweep trains ({MAX_NETWORKS})",
                b - a
            )));
        }
        return Ok((a..b).collect());
    }
    let seeds: Vec<u64> = text
        .split(',')
        .map(|s| s.trim().parse().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    once_each("--seeds", &seeds)?;
    Ok(seeds)
}

/// `0.001,0.01` or `A..B:N` (N values from A to B, evenly on a log scale).
fn numbers(flag: &str, text: &str) -> Result<Vec<f32>> {
    empty(flag, text)?;
    let bad = || {
        Error::Config(format!(
            "{flag} {text:?}: expected a list (0.001,0.01) or A..B:N (N values from A to B on a log scale)"
        ))
    };
    if let Some((range, n)) = text.split_once(':') {
        let (a, b) = range.split_once("..").ok_or_else(bad)?;
        let (a, b): (f64, f64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()) || n == 0 || n > MAX_NETWORKS {
            return Err(Error::Config(format!(
                "{flag} {text}: a log-scale range needs two numbers above 0 and a count from 1 to {MAX_NETWORKS}"
            )));
        }
        if b < a {
            return Err(Error::Config(format!(
                "{flag} {text}: the range ends before it starts (from the smaller: {}..{}:{n})",
                range.split_once("..").map_or("", |r| r.1.trim()),
                range.split_once("..").map_or("", |r| r.0.trim()),
            )));
        }
        if b == a && n > 1 {
            return Err(Error::Config(format!(
                "{flag} {text}: the range ends where it starts, so it gives the same value {n} times"
            )));
        }
        return Ok((0..n)
            .map(|i| {
                let t = if n == 1 {
                    0.0
                } else {
                    i as f64 / (n - 1) as f64
                };
                (a.ln() + t * (b.ln() - a.ln())).exp() as f32
            })
            .collect());
    }
    let values: Vec<f32> = text
        .split(',')
        .map(|s| s.trim().parse::<f32>().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    once_each(flag, &values)?;
    Ok(values)
}

/// An error when `values` of `flag` list one value twice (it would train
/// the same networks twice and report a spread of 0).
fn once_each<T: PartialEq + std::fmt::Display>(flag: &str, values: &[T]) -> Result<()> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(Error::Config(format!(
                "{flag} lists {v} twice: each value once"
            )));
        }
    }
    Ok(())
}

/// `16,3` as widths.
fn widths(flag: &str, text: &str) -> Result<Vec<usize>> {
    if text.trim().is_empty() {
        return Err(Error::Config(format!(
            "{flag} has an empty alternative: give widths (16 or 32,16) between each ';'"
        )));
    }
    text.split(',')
        .map(|s| {
            s.trim().parse().map_err(|_| {
                Error::Config(format!(
                    "{flag} {text:?}: {s:?} is not a width (alternatives are separated by ';')"
                ))
            })
        })
        .collect()
}

/// One point of the grid: everything but the seed and the fold.
#[derive(Debug, Clone, PartialEq)]
struct Setting {
    /// `--hidden` or `--layers` widths, and which flag.
    widths: Option<(Vec<usize>, bool)>,
    optimizer: OptimizerArg,
    lr: Option<f32>,
    weight_decay: f32,
    batch: usize,
}

/// The `neurona train` flags of one setting and seed.
fn train_args(args: &SweepArgs, s: &Setting, seed: u64) -> TrainArgs {
    let (hidden, layers) = match &s.widths {
        Some((w, true)) => (None, Some(w.clone())),
        Some((w, false)) => (Some(w.clone()), None),
        None => (None, None),
    };
    TrainArgs {
        data: args.data.clone(),
        target: args.target.clone(),
        features: args.features.clone(),
        ignore_columns: args.ignore_columns.clone(),
        csv: args.csv.clone(),
        task: args.task,
        hidden,
        layers,
        hidden_activation: args.hidden_activation,
        output_activation: args.output_activation,
        loss: args.loss,
        weight_init: args.weight_init,
        optimizer: Some(s.optimizer),
        lr: s.lr,
        momentum: args.momentum,
        beta1: args.beta1,
        beta2: args.beta2,
        epsilon: args.epsilon,
        weight_decay: Some(s.weight_decay),
        schedule: None,
        history: None,
        save_optimizer: false,
        epochs: args.epochs,
        batch: Some(s.batch),
        seed: Some(seed),
        standardize: false,
        no_standardize: args.no_standardize,
        test_split: None,
        validation_split: None,
        validation_data: None,
        early_stopping: None,
        min_delta: None,
        save_best: None,
        checkpoint_every: None,
        threshold: None,
        backend: args.backend,
        save: None,
        init: None,
    }
}

/// Each row's class, for stratified splits; `None` for numbers.
fn classes(task: &Task, y: &Matrix) -> Option<Vec<usize>> {
    match task {
        Task::Classes { .. } => Some(
            (0..y.rows())
                .map(|r| {
                    let row = y.row(r);
                    match row {
                        [v] => *v as usize,
                        _ => row.iter().position(|v| *v == 1.0).unwrap_or(0),
                    }
                })
                .collect(),
        ),
        _ => None,
    }
}

/// A validation share of `rows` rows drawn by `seed`, stratified by
/// `classes`: `(training, validation)` rows, each in file order.
fn validation_split(rows: usize, share: f64, seed: u64, classes: Option<&[usize]>) -> Result<Fold> {
    if !(share > 0.0 && share < 1.0) {
        return Err(Error::Config(format!(
            "--validation-split must be above 0 and below 1, got {share}"
        )));
    }
    let order = shuffled_order(rows, seed, u64::MAX - 1);
    let mut held: Vec<u32> = match classes {
        None => order[..(rows as f64 * share).round() as usize].to_vec(),
        Some(c) => {
            let k = c.iter().copied().max().map_or(0, |m| m + 1);
            (0..k)
                .flat_map(|class| {
                    let members: Vec<u32> = order
                        .iter()
                        .copied()
                        .filter(|&r| c[r as usize] == class)
                        .collect();
                    let take = (members.len() as f64 * share).round() as usize;
                    members[..take.min(members.len().saturating_sub(1))].to_vec()
                })
                .collect()
        }
    };
    held.sort_unstable();
    let train: Vec<u32> = (0..rows as u32)
        .filter(|r| held.binary_search(r).is_err())
        .collect();
    if held.is_empty() || train.is_empty() {
        return Err(Error::Config(format!(
            "--validation-split {share} of {rows} rows leaves {} validation and {} training rows; both need at least one",
            held.len(),
            train.len()
        )));
    }
    Ok(Fold {
        train,
        validation: held,
    })
}

/// The progress of every member on one bar.
struct Watch {
    bar: Mutex<(Bar, Vec<u64>)>,
}

impl SweepObserver for Watch {
    fn step(&self, member: usize, p: &Progress) {
        let mut guard = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let (bar, done) = &mut *guard;
        done[member] = p.step as u64;
        let total: u64 = done.iter().sum();
        bar.update(
            total as usize,
            &format!("member {} loss {:.5}", member + 1, p.loss),
        );
    }
}

/// One trained network's figures.
struct Run {
    setting: usize,
    seed: u64,
    fold: Option<usize>,
    /// The headline score (accuracy or R²) and the loss, on its
    /// validation rows (its training rows without any); NaN if diverged.
    score: f64,
    loss: f64,
    epochs: usize,
    stopped_early: bool,
    diverged: bool,
    time: Duration,
}

/// Mean and sample standard deviation.
fn spread(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, if values.len() > 1 { var.sqrt() } else { 0.0 })
}

/// `n` things: "1 seed", "4 seeds".
fn plural(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// A rate in four significant digits.
fn rate(lr: f32) -> String {
    if (0.001..1000.0).contains(&lr) {
        format!("{}", (lr as f64 * 1e4).round() / 1e4)
    } else {
        format!("{lr:.3e}")
    }
}

fn join(v: &[usize]) -> String {
    v.iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn run(args: SweepArgs) -> Result<()> {
    check_outputs(
        &[
            ("--csv", args.table.as_deref()),
            ("--save", args.save.as_deref()),
        ],
        &[("--data", &args.data)],
    )?;
    if args.early_stopping.is_some() && args.folds.is_none() && args.validation_split.is_none() {
        return Err(Error::Config(
            "--early-stopping watches the validation loss: give --folds or --validation-split"
                .into(),
        ));
    }
    check_early_stopping(args.early_stopping, args.min_delta)?;
    if args.ensemble == Some(0) {
        return Err(Error::Config("--ensemble needs at least 1 network".into()));
    }
    let seed_list = seeds(&args.seeds)?;
    let alternatives: Vec<Option<(Vec<usize>, bool)>> = match (&args.layers[..], &args.hidden[..]) {
        ([], []) => vec![None],
        (l, []) => l
            .iter()
            .map(|t| Ok(Some((widths("--layers", t)?, true))))
            .collect::<Result<_>>()?,
        (_, h) => h
            .iter()
            .map(|t| Ok(Some((widths("--hidden", t)?, false))))
            .collect::<Result<_>>()?,
    };
    let optimizers = match args.optimizer.is_empty() {
        true => vec![OptimizerArg::Adam],
        false => args.optimizer.clone(),
    };
    let lrs: Vec<Option<f32>> = match &args.lr {
        Some(t) => numbers("--lr", t)?.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let decays = match &args.weight_decay {
        Some(t) => numbers("--weight-decay", t)?,
        None => vec![0.0],
    };
    let batches = match args.batch.is_empty() {
        true => vec![32],
        false => args.batch.clone(),
    };
    once_each("--batch", &batches)?;
    let names: Vec<String> = optimizers
        .iter()
        .map(|o| format!("{o:?}").to_lowercase())
        .collect();
    once_each("--optimizer", &names)?;
    for (name, empty) in [
        ("--seeds", seed_list.is_empty()),
        ("--lr", lrs.is_empty()),
        ("--weight-decay", decays.is_empty()),
    ] {
        if empty {
            return Err(Error::Config(format!("{name} is an empty list")));
        }
    }
    let folds_k = args.folds.unwrap_or(1);
    let count = [
        alternatives.len(),
        optimizers.len(),
        lrs.len(),
        decays.len(),
        batches.len(),
        seed_list.len(),
        folds_k,
    ]
    .iter()
    .try_fold(1usize, |n, &k| n.checked_mul(k))
    .filter(|n| *n <= MAX_NETWORKS)
    .ok_or_else(|| {
        Error::Config(format!(
            "the grid is {} layer alternatives x {} optimizers x {} learning rates x {} weight decays x {} batch sizes x {} seeds x {} folds: more than the {MAX_NETWORKS} networks a sweep trains",
            alternatives.len(),
            optimizers.len(),
            lrs.len(),
            decays.len(),
            batches.len(),
            seed_list.len(),
            folds_k
        ))
    })?;
    let mut settings = Vec::new();
    for w in &alternatives {
        for &optimizer in &optimizers {
            for &lr in &lrs {
                for &weight_decay in &decays {
                    for &batch in &batches {
                        settings.push(Setting {
                            widths: w.clone(),
                            optimizer,
                            lr,
                            weight_decay,
                            batch,
                        });
                    }
                }
            }
        }
    }

    // The first plan reads the data; its size bounds the whole grid's.
    let first = TrainPlan::from_args(train_args(&args, &settings[0], seed_list[0]))?;
    let per_network: u64 = first
        .model
        .network
        .layers()
        .iter()
        .map(|l| l.parameter_count() as u64 * 4 * 4)
        .sum();
    neurona::memory::check(
        &format!("the {count} networks of the sweep"),
        per_network.checked_mul(count as u64),
    )?;
    let (x, y) = (first.train.x.clone(), first.train.y.clone());
    let file = first.train.file.clone();
    let task = first.model.task.clone().expect("the plan sets the task");
    let rows = x.rows();
    let headline = match &task {
        Task::Regression => "r2",
        _ => "accuracy",
    };
    let metric = args.metric.unwrap_or(match task {
        Task::Regression => MetricArg::R2,
        _ => MetricArg::Accuracy,
    });
    if metric != MetricArg::Loss && (metric == MetricArg::R2) != (headline == "r2") {
        return Err(Error::Config(format!(
            "--metric {}: the target is {}, scored by {headline} (or --metric loss)",
            if metric == MetricArg::R2 {
                "r2"
            } else {
                "accuracy"
            },
            describe_task(&task, &args.target)
        )));
    }
    let row_classes = classes(&task, &y);
    let folds: Vec<Option<Fold>> = match (args.folds, args.validation_split) {
        (Some(k), _) => {
            if let (Some(c), Task::Classes { labels }) = (&row_classes, &task) {
                let mut counts = vec![0usize; labels.len()];
                for &r in c {
                    counts[r] += 1;
                }
                if let Some((i, n)) = counts.iter().enumerate().min_by_key(|(_, n)| **n)
                    && *n < k
                {
                    return Err(Error::Config(format!(
                        "--folds {k}: class {:?} has {n} rows in {file}; k-fold needs at least {k} rows of every class",
                        labels[i]
                    )));
                }
            }
            k_folds(rows, k, args.split_seed, row_classes.as_deref())
                .map_err(|e| Error::Config(format!("--folds {k}: {e}")))?
                .into_iter()
                .map(Some)
                .collect()
        }
        (None, Some(share)) => vec![Some(validation_split(
            rows,
            share,
            args.split_seed,
            row_classes.as_deref(),
        )?)],
        (None, None) => vec![None],
    };

    // One plan per setting and seed; every fold trains its network.
    let mut plans = Vec::new();
    let mut members = Vec::new();
    let mut runs_of = Vec::new();
    let mut plan = Some(first);
    for (s, setting) in settings.iter().enumerate() {
        for &seed in &seed_list {
            let p = match plan.take() {
                Some(p) => p,
                None => TrainPlan::from_args(train_args(&args, setting, seed))?,
            };
            if p.train.y != y || p.model.task.as_ref() != Some(&task) {
                return Err(Error::Config(format!(
                    "the layer alternatives read the target differently ({} and {}); give alternatives with the same output width",
                    describe_task(&task, &args.target),
                    describe_task(p.model.task.as_ref().expect("a task"), &args.target)
                )));
            }
            let mut config = p.config.clone();
            if let Some(patience) = args.early_stopping {
                config = config.early_stopping(EarlyStopping {
                    patience,
                    min_delta: args.min_delta.unwrap_or(0.0),
                });
            }
            for (f, fold) in folds.iter().enumerate() {
                let mut m = Member {
                    network: p.model.network.clone(),
                    state: p.state.clone(),
                    config: config.clone(),
                    train_rows: None,
                    validation_rows: None,
                };
                if let Some(fold) = fold {
                    m = m.on_fold(fold);
                }
                members.push(m);
                runs_of.push((s, seed, (args.folds.is_some()).then_some(f), plans.len()));
            }
            // The plan's data is the first's: keep only its model.
            plans.push((p.model, p.optimizer, p.batch));
        }
    }

    let device = super::open_device(args.backend.map(Into::into))?;
    let describe = |s: &Setting| -> String {
        match &s.widths {
            Some((w, true)) => format!("layers {}", join(w)),
            Some((w, false)) => format!("hidden {}", join(w)),
            None => "hidden 100".into(),
        }
    };
    outln!(
        "sweep of {}: {} x {}{} on {file} ({rows} rows, {} inputs{}), target {}: {}",
        plural(count, "network"),
        plural(settings.len(), "setting"),
        plural(seed_list.len(), "seed"),
        match args.folds {
            Some(k) => format!(" x {k} folds"),
            None => String::new(),
        },
        x.cols(),
        if first_standardised(&plans) {
            ", standardised"
        } else {
            ""
        },
        args.target.join(","),
        describe_task(&task, &args.target)
    );
    let validation_note = match (args.folds, args.validation_split) {
        (Some(k), _) => format!(
            "validated on each of {k} folds (split seed {})",
            args.split_seed
        ),
        (None, Some(v)) => format!(
            "validated on {} rows ({v} of them, split seed {})",
            folds[0].as_ref().map_or(0, |f| f.validation.len()),
            args.split_seed
        ),
        (None, None) => "no validation rows: scored on the training rows".into(),
    };
    let placements = gpu_placements(&device, &x, &y, &members)?;
    let count = |f: fn(&GpuPlacement) -> bool| placements.iter().flatten().filter(|p| f(p)).count();
    let together_count = count(|p| *p == GpuPlacement::OneWorkgroup);
    let stacked_count = count(|p| matches!(p, GpuPlacement::Stacked { .. }));
    let stacks = placements.as_deref().map_or(0, GpuPlacement::stacks);
    let grouped = together_count + stacked_count;
    outln!(
        "{validation_note}; {}",
        match placements {
            None => "on the CPU path, in parallel over the cores".to_string(),
            Some(_) => {
                let mut parts = Vec::new();
                if together_count > 0 {
                    parts.push(format!("{together_count} together (one workgroup each)"));
                }
                if stacked_count > 0 {
                    parts.push(format!(
                        "{stacked_count} stacked in {stacks} {} (each kernel covers a stack's networks at once)",
                        if stacks == 1 { "stack" } else { "stacks" }
                    ));
                }
                match members.len() - grouped {
                    0 => {}
                    1 => parts.push("1 alone".into()),
                    n => parts.push(format!("{n} one after another")),
                }
                format!("on the GPU {}", parts.join(", "))
            }
        }
    );

    let total: u64 = members
        .iter()
        .map(|m| {
            let n = m.train_rows.as_ref().map_or(rows, Vec::len);
            m.config.steps(n).unwrap_or(0)
        })
        .sum();
    let watch = Watch {
        bar: Mutex::new((Bar::new(total, 0), vec![0; members.len()])),
    };
    let started = std::time::Instant::now();
    let reports = train_members(&device, &x, &y, &mut members, &watch)?;
    let elapsed = started.elapsed();
    let (bar, _) = watch.bar.into_inner().unwrap_or_else(|e| e.into_inner());
    bar.finish();

    // Each network scored on its validation rows (its training rows
    // without any), on the CPU.
    let take = |m: &Matrix, rows: &[u32]| -> Result<Matrix> {
        let data = rows
            .iter()
            .flat_map(|&r| m.row(r as usize).to_vec())
            .collect();
        Matrix::new(rows.len(), m.cols(), data)
    };
    let mut runs = Vec::with_capacity(members.len());
    for ((m, report), &(s, seed, fold, p)) in members.iter().zip(&reports).zip(&runs_of) {
        let (xv, yv) = match &m.validation_rows {
            Some(v) => (take(&x, v)?, take(&y, v)?),
            None => (x.clone(), y.clone()),
        };
        let (diverged, epochs, stopped, time) = match report {
            Ok(r) => (
                false,
                if r.epochs.is_empty() {
                    m.config.epochs
                } else {
                    r.epochs.len()
                },
                r.stopped_early,
                r.elapsed,
            ),
            // Its epochs before the one that broke it.
            Err(Error::Diverged { .. }) => (true, m.state.epochs as usize, false, Duration::ZERO),
            Err(e) => return Err(e.clone()),
        };
        let (score, loss) = if diverged {
            (f64::NAN, f64::NAN)
        } else {
            let mut model = plans[p].0.clone();
            model.network = m.network.clone();
            let predictions = m.network.predict(&xv)?;
            let scores = Scores::of(&model, &predictions, &yv)?;
            let loss = m.network.loss(&xv, &yv, model.loss)?;
            (
                scores.headline().1,
                super::train::shown_loss(model.loss, loss, y.cols()),
            )
        };
        runs.push(Run {
            setting: s,
            seed,
            fold,
            score,
            loss,
            epochs,
            stopped_early: stopped,
            diverged,
            time,
        });
    }
    // Higher is better, NaN (diverged) last.
    let key = |score: f64, loss: f64| -> f64 {
        let v = if metric == MetricArg::Loss {
            -loss
        } else {
            score
        };
        if v.is_nan() { f64::NEG_INFINITY } else { v }
    };

    struct Row {
        setting: usize,
        score: (f64, f64),
        loss: f64,
        runs: usize,
        diverged: usize,
        epochs: f64,
        stopped: usize,
        time: Duration,
    }
    let mut table: Vec<Row> = (0..settings.len())
        .map(|s| {
            let mine: Vec<&Run> = runs.iter().filter(|r| r.setting == s).collect();
            let ok: Vec<&&Run> = mine.iter().filter(|r| !r.diverged).collect();
            let scores: Vec<f64> = ok.iter().map(|r| r.score).collect();
            let losses: Vec<f64> = ok.iter().map(|r| r.loss).collect();
            Row {
                setting: s,
                score: if scores.is_empty() {
                    (f64::NAN, f64::NAN)
                } else {
                    spread(&scores)
                },
                loss: if losses.is_empty() {
                    f64::NAN
                } else {
                    spread(&losses).0
                },
                runs: mine.len(),
                diverged: mine.len() - ok.len(),
                epochs: mine.iter().map(|r| r.epochs as f64).sum::<f64>() / mine.len() as f64,
                stopped: ok.iter().filter(|r| r.stopped_early).count(),
                time: ok.iter().map(|r| r.time).sum::<Duration>() / ok.len().max(1) as u32,
            }
        })
        .collect();
    // Ties broken by the lower loss.
    table.sort_by(|a, b| better(&key, (a.score.0, a.loss), (b.score.0, b.loss)));

    outln!(
        "trained {} in {:.2?}{}",
        plural(runs.len(), "network"),
        elapsed,
        match runs.iter().filter(|r| r.diverged).count() {
            0 => String::new(),
            n => format!("; {n} diverged and stopped alone (marked)"),
        }
    );
    let score_name = if args.validation_split.is_some() || args.folds.is_some() {
        format!("val {headline}")
    } else {
        format!("train {headline}")
    };
    let loss_name = if score_name.starts_with("val") {
        "val loss"
    } else {
        "train loss"
    };
    let shown = |v: f64| -> String {
        if v.is_nan() {
            "-".into()
        } else if headline == "accuracy" {
            format!("{:.2}%", 100.0 * v)
        } else {
            format!("{v:.4}")
        }
    };
    let mut text = format!(
        "{:>4}  {:<12} {:<9} {:>7} {:>6} {:>5}  {:>4}  {:>18}  {:>9}  {:>20}  {:>9}\n",
        "rank",
        "network",
        "optimizer",
        "lr",
        "decay",
        "batch",
        "runs",
        score_name,
        loss_name,
        "epochs",
        "time"
    );
    let mut csv = format!(
        "rank,network,optimizer,learning_rate,weight_decay,batch,runs,{}_mean,{}_std,{},epochs_mean,stopped_early,diverged,seconds_mean\n",
        score_name.replace(' ', "_"),
        score_name.replace(' ', "_"),
        loss_name.replace(' ', "_")
    );
    for (rank, row) in table.iter().enumerate() {
        let s = &settings[row.setting];
        // The plan of this setting's first seed names its network and rate.
        let p = runs_of
            .iter()
            .find(|r| r.0 == row.setting)
            .map(|r| r.3)
            .expect("every setting has runs");
        let (model, optimizer, batch) = &plans[p];
        let net = model.network.to_string();
        let lr = model
            .training
            .as_ref()
            .map_or(f32::NAN, |t| t.learning_rate);
        let (mean, std) = row.score;
        // One run has no spread to show.
        let score_text = if mean.is_nan() {
            "diverged".to_string()
        } else if row.runs - row.diverged < 2 {
            shown(mean)
        } else if headline == "accuracy" {
            format!("{} ± {:.2}", shown(mean), 100.0 * std)
        } else {
            format!("{} ± {std:.4}", shown(mean))
        };
        let epochs = if args.early_stopping.is_some() {
            format!(
                "{:.0} ({}/{} stopped)",
                row.epochs,
                row.stopped,
                row.runs - row.diverged
            )
        } else {
            format!("{:.0}", row.epochs)
        };
        let marks = if row.diverged > 0 {
            format!("  {} of {} diverged", row.diverged, row.runs)
        } else {
            String::new()
        };
        text += &format!(
            "{:>4}  {:<12} {:<9} {:>7} {:>6} {:>5}  {:>4}  {:>18}  {:>9}  {:>20}  {:>9}{marks}\n",
            rank + 1,
            describe(s).replace("layers ", "").replace("hidden ", "h "),
            optimizer.name(),
            rate(lr),
            s.weight_decay,
            batch,
            row.runs,
            score_text,
            if row.loss.is_nan() {
                "-".into()
            } else {
                format!("{:.4}", row.loss)
            },
            epochs,
            if row.diverged == row.runs {
                "-".to_string()
            } else {
                format!("{:.2?}", row.time)
            },
        );
        // A diverged setting's figures are empty fields, not NaN.
        let field = |v: f64| {
            if v.is_nan() {
                String::new()
            } else {
                v.to_string()
            }
        };
        csv += &format!(
            "{},{},{},{lr},{},{batch},{},{},{},{},{},{},{},{}\n",
            rank + 1,
            net,
            optimizer.name(),
            s.weight_decay,
            row.runs,
            field(mean),
            field(std),
            field(row.loss),
            row.epochs,
            row.stopped,
            row.diverged,
            if row.diverged == row.runs {
                String::new()
            } else {
                row.time.as_secs_f64().to_string()
            }
        );
    }
    out!("{text}");
    if device.gpu_context().is_some() && grouped > 0 {
        outln!(
            "(time: the {grouped} networks trained together or stacked on the GPU each count from the start of their group's run)"
        );
    }
    if let Some(best) = table.first() {
        let s = &settings[best.setting];
        outln!(
            "best: {}, {} at learning rate {} (rank 1 of {})",
            describe(s),
            plans[runs_of
                .iter()
                .find(|r| r.0 == best.setting)
                .expect("runs")
                .3]
                .1
                .name(),
            plans[runs_of
                .iter()
                .find(|r| r.0 == best.setting)
                .expect("runs")
                .3]
                .0
                .training
                .as_ref()
                .map_or("-".into(), |t| rate(t.learning_rate)),
            settings.len()
        );
    }
    if let Some(path) = &args.table {
        write_atomically(path, csv.as_bytes())?;
        let settings = match table.len() {
            1 => "1 setting".to_string(),
            n => format!("{n} settings"),
        };
        outln!("table: {} ({settings})", path.display());
    }
    if let Some(path) = &args.save {
        save(
            path,
            &args,
            &table.iter().map(|r| r.setting).collect::<Vec<_>>(),
            &runs,
            &members,
            &plans,
            &runs_of,
            &key,
        )?;
    }
    Ok(())
}

/// Whether the plans standardise their inputs.
fn first_standardised(plans: &[(Model, Optimizer, usize)]) -> bool {
    plans.first().is_some_and(|p| p.0.standardizer.is_some())
}

/// `a` before `b` when its key is higher (scores equal to 1e-9 count as
/// equal: means of the same accuracies summed in another order), then
/// when its loss is lower; NaN last.
fn better(
    key: &dyn Fn(f64, f64) -> f64,
    (a_score, a_loss): (f64, f64),
    (b_score, b_loss): (f64, f64),
) -> std::cmp::Ordering {
    let (ka, kb) = (key(a_score, a_loss), key(b_score, b_loss));
    let lower_loss = || {
        let nan_last = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
        nan_last(a_loss).total_cmp(&nan_last(b_loss))
    };
    if (ka - kb).abs() <= 1e-9 || ka == kb {
        lower_loss()
    } else {
        kb.total_cmp(&ka)
    }
}

/// Save the best run of the best setting, or with `--ensemble TOP` the TOP
/// best runs: the best run of each setting in the table's order (`ranked`),
/// then each one's second best, and so on, so that a grid's ensemble
/// spans its best settings and a seed sweep's is its best seeds.
#[allow(clippy::too_many_arguments)]
fn save(
    path: &PathBuf,
    args: &SweepArgs,
    ranked: &[usize],
    runs: &[Run],
    members: &[Member],
    plans: &[(Model, Optimizer, usize)],
    runs_of: &[(usize, u64, Option<usize>, usize)],
    key: &dyn Fn(f64, f64) -> f64,
) -> Result<()> {
    let per_setting: Vec<Vec<usize>> = ranked
        .iter()
        .map(|&s| {
            let mut mine: Vec<usize> = (0..runs.len())
                .filter(|&i| runs[i].setting == s && !runs[i].diverged)
                .collect();
            mine.sort_by(|&a, &b| {
                better(
                    key,
                    (runs[a].score, runs[a].loss),
                    (runs[b].score, runs[b].loss),
                )
            });
            mine
        })
        .collect();
    let deepest = per_setting.iter().map(Vec::len).max().unwrap_or(0);
    let order: Vec<usize> = (0..deepest)
        .flat_map(|d| per_setting.iter().filter_map(move |v| v.get(d).copied()))
        .collect();
    let Some(&top) = order.first() else {
        return Err(Error::Config(
            "every network diverged: there is no model to save".into(),
        ));
    };
    let model_of = |i: usize| {
        let mut model = plans[runs_of[i].3].0.clone();
        model.network = members[i].network.clone();
        model
    };
    let describe = |i: usize| {
        let config = &members[i].config;
        format!(
            "{} {} lr {}{} seed {}{}",
            members[i].network,
            config.optimizer.name(),
            rate(config.learning_rate),
            match config.weight_decay {
                0.0 => String::new(),
                d => format!(" decay {d}"),
            },
            runs[i].seed,
            runs[i]
                .fold
                .map_or(String::new(), |f| format!(" fold {}", f + 1))
        )
    };
    match args.ensemble {
        None => {
            model_of(top).save(path)?;
            outln!("saved {}: {}", path.display(), describe(top));
        }
        Some(k) => {
            let chosen: Vec<usize> = order.iter().copied().take(k).collect();
            let ensemble = Ensemble::new(
                model_of(chosen[0]),
                chosen[1..]
                    .iter()
                    .map(|&i| members[i].network.clone())
                    .collect(),
            )?;
            ensemble.save(path)?;
            outln!(
                "saved {}: an ensemble of the {} best networks ({}{})",
                path.display(),
                chosen.len(),
                chosen
                    .iter()
                    .take(3)
                    .map(|&i| describe(i))
                    .collect::<Vec<_>>()
                    .join("; "),
                if chosen.len() > 3 { "; ..." } else { "" }
            );
            if chosen.len() < k {
                let diverged = runs.iter().filter(|r| r.diverged).count();
                outln!(
                    "note: --ensemble {k}, but the sweep has only {} networks{}",
                    chosen.len(),
                    match diverged {
                        0 => String::new(),
                        d => format!(" that did not diverge ({d} did)"),
                    }
                );
            }
        }
    }
    Ok(())
}
