//! `neurona train`: run the checked plan (`plan.rs`), report, save.

use neurona::model_file::{self, Model};
use neurona::{Activation, ConfusionMatrix, Init, Matrix, Result, Schedule};

use super::args::TrainArgs;
use super::plan::TrainPlan;
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

fn describe(name: &str, loss_value: f64, acc: Option<&ConfusionMatrix>) -> String {
    let mut s = format!("{name}: loss {loss_value:.6}");
    if let Some(m) = acc {
        s += &format!(
            ", accuracy {:.2}% ({}/{})",
            100.0 * m.accuracy(),
            m.correct(),
            m.total()
        );
    }
    s
}

/// The loss curve as CSV: step, epoch, loss.
fn write_history(path: &std::path::Path, history: &[neurona::Progress]) -> Result<()> {
    let mut text = String::from("step,epoch,loss\n");
    for p in history {
        text += &format!("{},{},{}\n", p.step, p.epoch, p.loss);
    }
    model_file::write_atomically(path, text.as_bytes())
}

pub fn run(args: TrainArgs) -> Result<()> {
    let plan = TrainPlan::from_args(args)?;
    let classification = plan.is_classification();
    let TrainPlan {
        file,
        features,
        target,
        x_train,
        y_train,
        x_test,
        y_test,
        standardizer,
        mut net,
        init_file,
        weight_init,
        activations,
        loss,
        optimizer,
        lr,
        schedule_text,
        weight_decay,
        epochs,
        batch,
        steps,
        config,
        mut state,
        resumed,
        classes,
        backend,
        history,
        save,
        save_optimizer,
    } = plan;

    let device = super::open_device(backend)?;
    println!(
        "network {net}, loss {loss}, {} learning rate {lr}{}{}, {epochs} epochs in batches of {batch} rows ({steps} steps)",
        optimizer.name(),
        match config.schedule {
            Schedule::Constant => String::new(),
            _ => format!(" ({schedule_text} schedule)"),
        },
        if weight_decay > 0.0 {
            format!(", weight decay {weight_decay}")
        } else {
            String::new()
        },
    );
    match &init_file {
        Some(file) => println!("weights from {file}"),
        None => println!("init {}", describe_init(weight_init, &activations)),
    }
    if let Some(line) = &resumed {
        println!("{line}");
    }
    println!(
        "data {file}: {} training rows, {} test rows, {} inputs{}",
        x_train.rows(),
        x_test.rows(),
        features.len(),
        if standardizer.is_some() {
            " (standardised)"
        } else {
            ""
        }
    );

    let mut bar = Bar::new(steps, state.steps);
    let report = net.resume_on(&device, &x_train, &y_train, &config, &mut state, |p| {
        bar.update(p)
    });
    bar.finish();
    let report = report?;

    let confusion = |x: &Matrix, y: &Matrix| -> Result<Option<ConfusionMatrix>> {
        if !classification {
            return Ok(None);
        }
        ConfusionMatrix::new(&net.predict(x)?, y).map(Some)
    };
    println!("trained in {:.2?}", report.elapsed);
    let on_train = confusion(&x_train, &y_train)?;
    println!(
        "{}",
        describe("train", report.final_loss, on_train.as_ref())
    );
    let mut shown = on_train;
    if x_test.rows() > 0 {
        let test_loss = net.loss(&x_test, &y_test, loss)?;
        let on_test = confusion(&x_test, &y_test)?;
        println!("{}", describe("test", test_loss, on_test.as_ref()));
        shown = on_test;
    }
    if let Some(m) = shown.filter(|_| classes.is_some()) {
        let set = if x_test.rows() > 0 { "test" } else { "train" };
        println!("confusion matrix ({set} rows):\n{m}");
    }

    if let Some(path) = &history {
        write_history(path, &report.history)?;
        println!(
            "loss curve: {} ({} points)",
            path.display(),
            report.history.len()
        );
    }
    if let Some(path) = &save {
        let model = Model {
            network: net,
            loss,
            features,
            target: Some(target),
            standardizer,
            classes,
            optimizer: save_optimizer.then_some((optimizer, state)),
        };
        model.save(path)?;
        println!(
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
