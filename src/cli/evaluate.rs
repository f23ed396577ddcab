//! `neurona evaluate`: a saved model's scores on a labelled CSV file.

use neurona::targets::Task;
use neurona::{Error, Result};

use super::args::EvaluateArgs;
use super::plan::Used;
use super::predict::model_rows;
use super::train::{Scores, shown_loss};

pub fn run(args: EvaluateArgs) -> Result<()> {
    let (
        mut ensemble,
        Used {
            table,
            targets,
            features,
            dropped,
        },
    ) = model_rows(&args.model, &args.data, &args.csv, true)?;
    let members = ensemble.len();
    if let Some(t) = args.threshold {
        if !(t > 0.0 && t < 1.0) {
            return Err(Error::Config(format!(
                "--threshold must lie between 0 and 1, got {t}"
            )));
        }
        ensemble.model.threshold = t;
    }
    let model = &ensemble.model;
    let task = model.task.clone().unwrap_or(Task::Regression);
    let x = table.select_columns(&features)?;
    let y = task.encode(&table, &targets)?;
    let xs = match &model.standardizer {
        Some(s) => s.apply(&x)?,
        None => x,
    };
    let ys = match &model.target_standardizer {
        Some(s) => s.apply(&y)?,
        None => y,
    };
    let p = ensemble.predict_scaled(&xs)?;
    let loss = ensemble.loss(&xs, &ys)?;
    let scores = Scores::of(model, &p, &ys)?;
    outln!(
        "{}{}: {} rows{} of {}, {}",
        args.model.display(),
        if members > 1 {
            format!(" (an ensemble of {members} networks, their mean)")
        } else {
            String::new()
        },
        table.rows(),
        if dropped > 0 {
            format!(" ({dropped} with missing values left out)")
        } else {
            String::new()
        },
        table.file,
        super::plan::describe_task(&task, &model.targets)
    );
    let classes = !matches!(scores, Scores::Regression(_));
    let outputs = model.network.outputs();
    outln!(
        "{}",
        scores.line(classes.then(|| shown_loss(model.loss, loss, outputs)))
    );
    match (&scores, &task) {
        (Scores::Classes(c), Task::Classes { labels }) => {
            outln!("{}", c.labelled(labels));
            outln!("confusion matrix:\n{}", c.confusion.labelled(labels));
        }
        (Scores::Classes(c), _) => outln!("{c}"),
        (Scores::Labels(l), _) => {
            for (name, c) in model.targets.iter().zip(l) {
                outln!("{name}:\n{c}");
            }
        }
        (Scores::Regression(r), _) => outln!("{}", r.labelled(&model.targets)),
    }
    Ok(())
}
