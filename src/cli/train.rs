//! `neurona train`: run the checked plan (`plan.rs`), report, save.

use std::path::PathBuf;

use neurona::metrics::{ClassReport, RegressionReport};
use neurona::model_file::{self, Model};
use neurona::targets::Task;
use neurona::{
    Activation, EpochReport, Init, Loss, Matrix, Network, Observer, OptimizerState, Progress,
    Result, Schedule,
};

use super::args::TrainArgs;
use super::plan::{Rows, TrainPlan, describe_task};
use super::progress::Bar;

/// Which initialisation each layer got, in words.
fn describe_init(init: Init, activations: &[Activation]) -> String {
    let mut used: Vec<String> = Vec::new();
    for a in activations {
        let name = format!("{} for {a}", init.for_activation(*a));
        if !used.contains(&name) {
            used.push(name);
        }
    }
    format!("{init}: {}", used.join(", "))
}

/// The loss as users of other tools read it: MSE is neurona's ½ Σ (ŷ − y)²
/// per row, which is `outputs / 2` times the mean squared error.
pub fn shown_loss(loss: Loss, value: f64, outputs: usize) -> f64 {
    match loss {
        Loss::Mse => 2.0 * value / outputs as f64,
        _ => value,
    }
}

/// What the scores of a set of rows are, for printing and the history.
pub enum Scores {
    Classes(ClassReport),
    /// Multi-label: one binary report per target column.
    Labels(Vec<ClassReport>),
    Regression(RegressionReport),
}

impl Scores {
    /// Scores of `predictions` against `rows.y` for `model` (regression in
    /// the targets' own units).
    pub fn of(model: &Model, predictions: &Matrix, targets: &Matrix) -> Result<Scores> {
        Ok(match &model.task {
            Some(Task::Regression) | None if !is_classes(model) => {
                let (p, y) = match &model.target_standardizer {
                    Some(s) => (s.invert(predictions)?, s.invert(targets)?),
                    None => (predictions.clone(), targets.clone()),
                };
                Scores::Regression(RegressionReport::new(&p, &y)?)
            }
            Some(Task::MultiLabel) => {
                let column = |m: &Matrix, j: usize| {
                    Matrix::new(m.rows(), 1, (0..m.rows()).map(|r| m.row(r)[j]).collect())
                };
                Scores::Labels(
                    (0..predictions.cols())
                        .map(|j| {
                            ClassReport::new(
                                &column(predictions, j)?,
                                &column(targets, j)?,
                                model.threshold,
                            )
                        })
                        .collect::<Result<_>>()?,
                )
            }
            _ => Scores::Classes(ClassReport::new(predictions, targets, model.threshold)?),
        })
    }

    /// The headline figure: accuracy for classes, R² for numbers.
    pub fn headline(&self) -> (&'static str, f64) {
        match self {
            Scores::Classes(c) => ("accuracy", c.accuracy),
            Scores::Labels(l) => (
                "accuracy",
                l.iter().map(|c| c.accuracy).sum::<f64>() / l.len().max(1) as f64,
            ),
            Scores::Regression(r) => ("r2", r.mean().r2),
        }
    }

    /// One line: `loss 0.08, accuracy 98.10% (103/105)` or `mse 1.2, rmse
    /// 1.1, mae 0.9, r2 0.95`.
    pub fn line(&self, loss: Option<f64>) -> String {
        match self {
            Scores::Classes(c) => {
                let (correct, total) = (c.confusion.correct(), c.confusion.total());
                let loss = loss.map_or(String::new(), |l| format!("loss {l:.6}, "));
                format!(
                    "{loss}accuracy {:.2}% ({correct}/{total})",
                    100.0 * c.accuracy
                )
            }
            Scores::Labels(l) => {
                let loss = loss.map_or(String::new(), |l| format!("loss {l:.6}, "));
                let each: Vec<String> = l
                    .iter()
                    .map(|c| format!("{:.2}%", 100.0 * c.accuracy))
                    .collect();
                format!(
                    "{loss}accuracy {:.2}% (mean over labels: {})",
                    100.0 * self.headline().1,
                    each.join(", ")
                )
            }
            Scores::Regression(r) => {
                let m = r.mean();
                format!(
                    "mse {:.6}, rmse {:.6}, mae {:.6}, r2 {:.4}",
                    m.mse, m.rmse, m.mae, m.r2
                )
            }
        }
    }
}

/// Whether a model's outputs are classes (a task of classes or
/// multi-label, or an old file's sigmoid/softmax output on 0/1 targets).
fn is_classes(model: &Model) -> bool {
    match &model.task {
        Some(Task::Regression) => false,
        Some(_) => true,
        None => model
            .network
            .layers()
            .last()
            .is_some_and(|l| l.activation() != Activation::Identity),
    }
}

/// The run's observer: the progress bar, the history, the checkpoints.
struct Watch<'a> {
    bar: Bar,
    model: &'a Model,
    loss: Loss,
    outputs: usize,
    validation: Option<&'a Matrix>,
    /// Epoch rows for the history: step, epoch, loss, val loss, val score.
    epochs: Vec<(u64, usize, f64, f64, f64)>,
    headline: &'static str,
    save_best: Option<PathBuf>,
    checkpoint: Option<(usize, PathBuf)>,
    save_optimizer: bool,
    saved: Vec<String>,
}

impl Observer for Watch<'_> {
    fn step(&mut self, p: &Progress) {
        self.bar.update(
            p.step,
            &format!("loss {:.5}", shown_loss(self.loss, p.loss, self.outputs)),
        );
    }

    fn epoch(&mut self, e: &EpochReport) {
        let train = shown_loss(self.loss, e.train_loss, self.outputs);
        let Some(v) = &e.validation else {
            self.epochs
                .push((e.steps, e.epoch, train, f64::NAN, f64::NAN));
            return;
        };
        let val = shown_loss(self.loss, v.loss, self.outputs);
        let score = self
            .validation
            .and_then(|y| Scores::of(self.model, &v.predictions, y).ok())
            .map_or(f64::NAN, |s| {
                let (name, value) = s.headline();
                self.headline = name;
                value
            });
        self.epochs.push((e.steps, e.epoch, train, val, score));
        self.bar.update(
            e.steps as usize,
            &format!(
                "epoch {}: loss {train:.5}, val loss {val:.5}, val {} {score:.4}",
                e.epoch + 1,
                self.headline
            ),
        );
    }

    fn wants_checkpoint(&mut self, e: &EpochReport) -> bool {
        (e.best && self.save_best.is_some())
            || self
                .checkpoint
                .as_ref()
                .is_some_and(|(every, _)| (e.epoch + 1).is_multiple_of(*every))
    }

    fn checkpoint(&mut self, e: &EpochReport, net: &Network, state: &OptimizerState) -> Result<()> {
        let mut model = self.model.clone();
        model.network = net.clone();
        if self.save_optimizer {
            model.optimizer = Some((self.model_optimizer(), state.clone()));
        }
        if e.best
            && let Some(path) = &self.save_best
        {
            model.save(path)?;
            self.saved.push(format!(
                "epoch {}: best so far, saved {}",
                e.epoch + 1,
                path.display()
            ));
        }
        if let Some((every, path)) = &self.checkpoint
            && (e.epoch + 1).is_multiple_of(*every)
        {
            model.save(path)?;
        }
        Ok(())
    }
}

impl Watch<'_> {
    fn model_optimizer(&self) -> neurona::Optimizer {
        self.model
            .optimizer
            .as_ref()
            .map_or(neurona::Optimizer::Sgd, |(o, _)| *o)
    }
}

/// An error about row `row`, column `col` of `rows`' inputs or targets,
/// told as the file's line and column.
fn at_lines(e: neurona::Error, rows: &Rows, model: &Model) -> neurona::Error {
    let column = |what: &str, col: usize| -> String {
        if what.contains("inputs") {
            model.features.get(col).cloned().unwrap_or_default()
        } else if model.targets.len() == 1 {
            model.targets[0].clone()
        } else {
            model.targets.get(col).cloned().unwrap_or_default()
        }
    };
    match e {
        neurona::Error::OutOfRange {
            what,
            row,
            col,
            value,
            range,
        } => neurona::Error::Data(format!(
            "{} line {}, column {:?}: {value} is outside {range}, which {what} must lie in",
            rows.file,
            rows.lines.get(row).copied().unwrap_or(0),
            column(&what, col)
        )),
        neurona::Error::NonFinite {
            what,
            row,
            col,
            value,
        } => neurona::Error::Data(format!(
            "{} line {}, column {:?}: {value} is not finite ({what})",
            rows.file,
            rows.lines.get(row).copied().unwrap_or(0),
            column(&what, col)
        )),
        other => other,
    }
}

/// The loss curve as CSV: every reported step (`step,epoch,loss`), and with
/// validation rows one row per epoch too, marked by `kind`.
fn write_history(
    path: &std::path::Path,
    history: &[Progress],
    epochs: &[(u64, usize, f64, f64, f64)],
    headline: &str,
    loss: Loss,
    outputs: usize,
) -> Result<usize> {
    let validated = epochs.iter().any(|e| !e.3.is_nan());
    let mut text = if validated {
        format!("kind,step,epoch,loss,val_loss,val_{headline}\n")
    } else {
        String::from("step,epoch,loss\n")
    };
    for p in history {
        let l = shown_loss(loss, p.loss, outputs);
        if validated {
            text += &format!("step,{},{},{l},,\n", p.step, p.epoch);
        } else {
            text += &format!("{},{},{l}\n", p.step, p.epoch);
        }
    }
    if validated {
        for (steps, epoch, train, val, score) in epochs {
            text += &format!("epoch,{steps},{epoch},{train},{val},{score}\n");
        }
    }
    model_file::write_atomically(path, text.as_bytes())?;
    Ok(history.len() + if validated { epochs.len() } else { 0 })
}

pub fn run(args: TrainArgs) -> Result<()> {
    let plan = TrainPlan::from_args(args)?;
    let TrainPlan {
        train,
        validation,
        test,
        dropped,
        mut model,
        init_file,
        weight_init,
        optimizer,
        schedule_text,
        batch,
        steps,
        config,
        mut state,
        resumed,
        backend,
        history,
        save,
        save_best,
        checkpoint_every,
        save_optimizer,
    } = plan;
    let outputs = model.network.outputs();
    let loss = model.loss;

    let device = super::open_device(backend)?;
    outln!(
        "network {}, loss {loss}, {} learning rate {}{}{}, {} epochs in batches of {batch} rows ({steps} steps)",
        model.network,
        optimizer.name(),
        config.learning_rate,
        match config.schedule {
            Schedule::Constant => String::new(),
            _ => format!(" ({schedule_text} schedule)"),
        },
        if config.weight_decay > 0.0 {
            format!(", weight decay {}", config.weight_decay)
        } else {
            String::new()
        },
        config.epochs,
    );
    let activations: Vec<Activation> = model
        .network
        .layers()
        .iter()
        .map(|l| l.activation())
        .collect();
    match &init_file {
        Some(file) => outln!("weights from {file}"),
        None => outln!("init {}", describe_init(weight_init, &activations)),
    }
    if let Some(line) = &resumed {
        outln!("{line}");
    }
    let task = model.task.clone().expect("the plan sets the task");
    let target_note = if model.target_standardizer.is_some() {
        " (standardised for training; predictions in its units)"
    } else {
        ""
    };
    outln!(
        "target {}: {}{target_note}",
        model.targets.join(","),
        describe_task(&task, &model.targets)
    );
    outln!(
        "data {}: {} training rows, {}{} test rows, {} inputs{}{}",
        train.file,
        train.len(),
        validation
            .as_ref()
            .map_or(String::new(), |v| format!("{} validation rows, ", v.len())),
        test.as_ref().map_or(0, Rows::len),
        model.features.len(),
        if model.standardizer.is_some() {
            " (standardised)"
        } else {
            ""
        },
        if dropped > 0 {
            format!("; {dropped} rows with missing values left out")
        } else {
            String::new()
        }
    );

    if save_optimizer {
        model.optimizer = Some((optimizer, state.clone()));
    }
    let mut watch = Watch {
        bar: Bar::new(steps, state.steps),
        model: &model,
        loss,
        outputs,
        validation: validation.as_ref().map(|v| &v.y),
        epochs: Vec::new(),
        headline: if matches!(task, Task::Regression) {
            "r2"
        } else {
            "accuracy"
        },
        save_best,
        checkpoint: checkpoint_every.zip(save.clone()),
        save_optimizer,
        saved: Vec::new(),
    };
    let mut net = model.network.clone();
    let report = net.fit(
        &device,
        (&train.x, &train.y),
        validation.as_ref().map(|v| (&v.x, &v.y)),
        &config,
        &mut state,
        &mut watch,
    );
    let Watch {
        bar,
        epochs,
        headline,
        saved,
        ..
    } = watch;
    bar.finish();
    // A diverged run names the step; nothing was saved. Errors about a row
    // of the data name its line in the file.
    let report = report.map_err(|e| {
        let set = match &e {
            neurona::Error::OutOfRange { what, .. } | neurona::Error::NonFinite { what, .. }
                if what.starts_with("validation") =>
            {
                validation.as_ref()
            }
            _ => Some(&train),
        };
        match set {
            Some(rows) => at_lines(e, rows, &model),
            None => e,
        }
    })?;
    model.network = net;

    outln!("trained in {:.2?}", report.elapsed);
    if let Some(best) = report.best_epoch {
        let how = if report.stopped_early {
            format!(
                "stopped after epoch {} ({} epochs without improvement)",
                report.epochs.len(),
                config.early_stopping.map_or(0, |s| s.patience)
            )
        } else {
            "ran every epoch".into()
        };
        outln!(
            "early stopping: {how}; restored the weights of epoch {}, the best validation loss",
            best + 1
        );
    }
    for line in &saved {
        outln!("{line}");
    }
    let mut shown = None;
    for (name, rows) in [
        ("train", Some(&train)),
        ("validation", validation.as_ref()),
        ("test", test.as_ref()),
    ] {
        let Some(rows) = rows else { continue };
        let p = model.network.predict(&rows.x)?;
        let value = model.network.loss(&rows.x, &rows.y, loss)?;
        let scores = Scores::of(&model, &p, &rows.y)?;
        let shown_value =
            (!matches!(scores, Scores::Regression(_))).then(|| shown_loss(loss, value, outputs));
        outln!("{name}: {}", scores.line(shown_value));
        shown = Some((name, scores));
    }
    if let Some((set, scores)) = shown {
        match (&scores, &task) {
            (Scores::Classes(c), Task::Classes { labels }) => {
                outln!("scores ({set} rows):\n{}", c.labelled(labels));
                outln!(
                    "confusion matrix ({set} rows):\n{}",
                    c.confusion.labelled(labels)
                );
            }
            (Scores::Classes(c), _) => outln!("scores ({set} rows):\n{c}"),
            (Scores::Labels(l), _) => {
                for (name, c) in model.targets.iter().zip(l) {
                    outln!("scores of {name} ({set} rows):\n{c}");
                }
            }
            (Scores::Regression(r), _) if model.targets.len() > 1 => {
                outln!(
                    "scores ({set} rows, in the targets' units):\n{}",
                    r.labelled(&model.targets)
                );
            }
            _ => {}
        }
    }

    if let Some(path) = &history {
        let points = write_history(path, &report.history, &epochs, headline, loss, outputs)?;
        outln!("loss curve: {} ({points} points)", path.display());
    }
    if let Some(path) = &save {
        if save_optimizer {
            model.optimizer = Some((optimizer, state));
        }
        model.save(path)?;
        outln!(
            "saved {}{}",
            path.display(),
            if save_optimizer {
                " with the optimizer's state"
            } else {
                ""
            }
        );
    }
    Ok(())
}
