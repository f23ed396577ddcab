//! `neurona train`: read a CSV file, train, report, save.

use neurona::model_file::{self, Model};
use neurona::{
    Activation, BatchOrder, ConfusionMatrix, Error, Init, Loss, Matrix, Network, Optimizer,
    OptimizerState, Result, Schedule, Standardizer, Table, TrainConfig, shuffled_order,
};

use super::args::{OptimizerArg, TrainArgs};
use super::progress::Bar;

/// Rows `rows` of `m`.
fn take(m: &Matrix, rows: &[u32]) -> Result<Matrix> {
    let mut data =
        neurona::memory::with_capacity("a copy of the data's rows", rows.len() * m.cols())?;
    for &r in rows {
        data.extend_from_slice(m.row(r as usize));
    }
    Matrix::new(rows.len(), m.cols(), data)
}

/// The target column as the network's targets: the values themselves for
/// one output, one-hot rows for `k > 1` outputs (the column then holds class
/// numbers 0..k-1).
fn targets(table: &Table, column: usize, k: usize) -> Result<Matrix> {
    let name = &table.columns[column];
    let values: Vec<f32> = (0..table.values.rows())
        .map(|r| table.values.row(r)[column])
        .collect();
    if k == 1 {
        return Matrix::new(values.len(), 1, values);
    }
    let mut one_hot = neurona::memory::zeros("one-hot targets", values.len().saturating_mul(k))?;
    for (r, &v) in values.iter().enumerate() {
        if v.fract() != 0.0 || v < 0.0 || v >= k as f32 {
            let what = if v.fract() != 0.0 || v < 0.0 {
                "is not a class number"
            } else {
                "is a class beyond the output width"
            };
            return Err(Error::Data(format!(
                "{} line {}, column {name:?}: {v} {what}: the output layer has {k} units, for classes 0 to {}",
                table.file,
                table.lines[r],
                k - 1
            )));
        }
        one_hot[r * k + v as usize] = 1.0;
    }
    Matrix::new(values.len(), k, one_hot)
}

/// Train and test row numbers, each in file order: a seeded draw of
/// `share` of the rows for testing.
fn split(rows: usize, share: f64, seed: u64) -> Result<(Vec<u32>, Vec<u32>)> {
    if !(0.0..1.0).contains(&share) {
        return Err(Error::Config(format!(
            "--test-split must be at least 0 and below 1, got {share}"
        )));
    }
    let test = (rows as f64 * share).round() as usize;
    if share > 0.0 && (test == 0 || test == rows) {
        return Err(Error::Config(format!(
            "--test-split {share} of {rows} rows leaves {test} test rows and {} training rows; both need at least one",
            rows - test
        )));
    }
    // Its own stream of the seed, apart from the epochs' shuffles.
    let order = shuffled_order(rows, seed, u64::MAX);
    let (mut test_rows, mut train_rows) = (order[..test].to_vec(), order[test..].to_vec());
    test_rows.sort_unstable();
    train_rows.sort_unstable();
    Ok((train_rows, test_rows))
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

/// The optimizer `--optimizer` and its flags name.
fn optimizer(args: &TrainArgs) -> Optimizer {
    match args.optimizer {
        OptimizerArg::Sgd => Optimizer::Sgd,
        OptimizerArg::Momentum => Optimizer::momentum(args.momentum),
        OptimizerArg::Nesterov => Optimizer::nesterov(args.momentum),
        OptimizerArg::Adam => Optimizer::Adam {
            beta1: args.beta1,
            beta2: args.beta2,
            epsilon: args.epsilon,
        },
    }
}

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
    if args.save_optimizer && args.save.is_none() {
        return Err(Error::Config(
            "--save-optimizer saves with the model: give --save FILE too".into(),
        ));
    }
    let table = Table::read_csv(&args.data)?;
    let target = table.column(&args.target)?;
    let (inputs, features) = table.features_without(&args.target)?;

    let init = match &args.init {
        Some(path) => Some((path.display().to_string(), model_file::read_layers(path)?.0)),
        None => None,
    };
    let widths: Vec<usize> = match (&args.layers, &init) {
        (Some(l), Some((file, layers))) => {
            let in_file: Vec<usize> = layers.iter().map(|l| l.outputs).collect();
            if *l != in_file {
                return Err(Error::ModelFile(format!(
                    "{file} has {} layers of widths {in_file:?}, but --layers asks for {l:?}",
                    in_file.len()
                )));
            }
            l.clone()
        }
        (Some(l), None) => l.clone(),
        (None, Some((_, layers))) => layers.iter().map(|l| l.outputs).collect(),
        (None, None) => vec![16, 1],
    };
    let Some(&outputs) = widths.last() else {
        return Err(Error::Config(
            "--layers needs at least one width (the output layer's)".into(),
        ));
    };
    let y_all = targets(&table, target, outputs)?;
    let classes = (outputs > 1).then_some(outputs);

    let (train_rows, test_rows) = split(table.values.rows(), args.test_split, args.seed)?;
    let (mut x_train, y_train) = (take(&inputs, &train_rows)?, take(&y_all, &train_rows)?);
    let (mut x_test, y_test) = (take(&inputs, &test_rows)?, take(&y_all, &test_rows)?);
    let standardizer = args.standardize.then(|| Standardizer::fit(&x_train));
    if let Some(s) = &standardizer {
        x_train = s.apply(&x_train)?;
        x_test = s.apply(&x_test)?;
    }

    let output_activation: Activation = args.output_activation.into();
    let mut activations = vec![Activation::from(args.hidden_activation); widths.len() - 1];
    activations.push(output_activation);
    let weight_init: Init = args.weight_init.into();
    let mut net = match &init {
        Some((file, layers)) => {
            if layers[0].inputs != features.len() {
                return Err(Error::ModelFile(format!(
                    "{file}: its first layer takes {} inputs, but {} has {} input columns",
                    layers[0].inputs,
                    table.file,
                    features.len()
                )));
            }
            model_file::network_from(file, layers.clone(), &activations)?
        }
        None => {
            let mut builder = Network::builder(features.len()).init(weight_init);
            for (w, a) in widths.iter().zip(&activations) {
                builder = builder.layer(*w, *a);
            }
            builder.build(args.seed)?
        }
    };

    let loss: Loss = match args.loss {
        Some(l) => l.into(),
        None if output_activation == Activation::Sigmoid => Loss::Bce,
        None if output_activation == Activation::Softmax => Loss::CrossEntropy,
        None => Loss::Mse,
    };
    let optimizer = optimizer(&args);
    let lr = args.lr.unwrap_or(match args.optimizer {
        OptimizerArg::Sgd => 0.5,
        OptimizerArg::Momentum | OptimizerArg::Nesterov => 0.05,
        OptimizerArg::Adam => 0.001,
    });

    // A file saved with --save-optimizer resumes its run when the rule is
    // the same; otherwise training starts a fresh state.
    let mut resumed = None;
    let mut state = OptimizerState::new(&net, optimizer)?;
    if let Some(path) = &args.init
        && let Some((saved, saved_state)) = model_file::read_optimizer_state(path, &net)?
    {
        if saved.name() == optimizer.name() {
            resumed = Some(format!(
                "resuming {}'s {} state at step {}, epoch {}",
                path.display(),
                saved.name(),
                saved_state.steps,
                saved_state.epochs
            ));
            state = saved_state;
        } else {
            resumed = Some(format!(
                "{} holds {} state; --optimizer {} starts afresh",
                path.display(),
                saved.name(),
                optimizer.name()
            ));
        }
    }

    let rows = x_train.rows();
    let batch = if args.batch > 0 {
        args.batch.min(rows)
    } else {
        rows
    };
    let steps_per_epoch = rows.div_ceil(batch);
    let schedule = schedule(
        &args.schedule,
        steps_per_epoch,
        state.epochs.saturating_add(args.epochs as u64),
    )?;
    let mut config = TrainConfig::new()
        .learning_rate(lr)
        .epochs(args.epochs)
        .order(BatchOrder::Shuffled { seed: args.seed })
        .loss(loss)
        .optimizer(optimizer)
        .weight_decay(args.weight_decay)
        .schedule(schedule);
    if args.batch > 0 {
        config = config.batch_size(args.batch);
    }
    let steps = config.steps(rows)?;
    config = config.report_every((steps / 200).max(1) as usize);

    let device = super::open_device(args.backend.map(Into::into))?;
    println!(
        "network {net}, loss {loss}, {} learning rate {lr}{}{}, {} epochs in batches of {batch} rows ({steps} steps)",
        optimizer.name(),
        match schedule {
            Schedule::Constant => String::new(),
            _ => format!(" ({} schedule)", args.schedule),
        },
        if args.weight_decay > 0.0 {
            format!(", weight decay {}", args.weight_decay)
        } else {
            String::new()
        },
        args.epochs,
    );
    match &init {
        Some((file, _)) => println!("weights from {file}"),
        None => println!("init {}", describe_init(weight_init, &activations)),
    }
    if let Some(line) = &resumed {
        println!("{line}");
    }
    println!(
        "data {}: {} training rows, {} test rows, {} inputs{}",
        table.file,
        rows,
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

    let classification = classes.is_some()
        || (output_activation == Activation::Sigmoid
            && y_train.as_slice().iter().all(|v| *v == 0.0 || *v == 1.0));
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

    if let Some(path) = &args.history {
        write_history(path, &report.history)?;
        println!(
            "loss curve: {} ({} points)",
            path.display(),
            report.history.len()
        );
    }
    if let Some(path) = &args.save {
        let model = Model {
            network: net,
            loss,
            features,
            target: Some(args.target.clone()),
            standardizer,
            classes,
            optimizer: args.save_optimizer.then_some((optimizer, state)),
        };
        model.save(path)?;
        println!(
            "saved {}{}",
            path.display(),
            if args.save_optimizer {
                " with the optimizer's state"
            } else {
                ""
            }
        );
    }
    Ok(())
}
