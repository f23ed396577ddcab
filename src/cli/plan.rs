//! `neurona train`'s flags turned into a checked [`TrainPlan`]: the data
//! split, the network, its settings and where results go, every error found
//! before anything trains. `train.rs` only runs and prints it.

use std::path::PathBuf;

use neurona::model_file;
use neurona::{
    Activation, Backend, BatchOrder, Error, Init, Loss, Matrix, Network, Optimizer, OptimizerState,
    Result, Schedule, Standardizer, Table, TrainConfig, shuffled_order, targets,
};

use super::args::{OptimizerArg, TrainArgs};

/// Everything a training run needs, checked.
pub struct TrainPlan {
    /// The data file, as named in messages.
    pub file: String,
    pub features: Vec<String>,
    pub target: String,
    pub x_train: Matrix,
    pub y_train: Matrix,
    pub x_test: Matrix,
    pub y_test: Matrix,
    pub standardizer: Option<Standardizer>,
    pub net: Network,
    /// The file the weights came from (`--init`), if any.
    pub init_file: Option<String>,
    pub weight_init: Init,
    pub activations: Vec<Activation>,
    pub loss: Loss,
    pub optimizer: Optimizer,
    pub lr: f32,
    /// `--schedule` as given, for the summary.
    pub schedule_text: String,
    pub weight_decay: f32,
    pub epochs: usize,
    pub batch: usize,
    pub steps: u64,
    pub config: TrainConfig,
    pub state: OptimizerState,
    /// What happened to a saved optimizer state, in words.
    pub resumed: Option<String>,
    /// Classes of a one-hot target, if it is one.
    pub classes: Option<usize>,
    pub backend: Option<Backend>,
    pub history: Option<PathBuf>,
    pub save: Option<PathBuf>,
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

/// The target column as the network's targets: the values themselves for
/// one output, one-hot rows for `k > 1` outputs (the column then holds class
/// numbers 0..k-1).
fn targets_of(table: &Table, column: usize, k: usize) -> Result<Matrix> {
    let name = &table.columns[column];
    let values = table.numbers(column)?;
    if k == 1 {
        return Matrix::new(values.len(), 1, values);
    }
    targets::one_hot(&values, k, |r| {
        format!("{} line {}, column {name:?}:", table.file, table.lines[r])
    })
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

impl TrainPlan {
    /// Read the data, build or load the network and check every setting.
    pub fn from_args(args: TrainArgs) -> Result<TrainPlan> {
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
        let y_all = targets_of(&table, target, outputs)?;
        let classes = (outputs > 1).then_some(outputs);

        let (train_rows, test_rows) = split(table.rows(), args.test_split, args.seed)?;
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
        let net = match &init {
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
            None => targets::default_loss(output_activation),
        };
        let optimizer = optimizer(&args);
        let lr = args.lr.unwrap_or(match args.optimizer {
            OptimizerArg::Sgd => 0.5,
            OptimizerArg::Momentum | OptimizerArg::Nesterov => 0.05,
            OptimizerArg::Adam => 0.001,
        });

        // A file saved with --save-optimizer resumes its run when the rule
        // is the same; otherwise training starts a fresh state.
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

        Ok(TrainPlan {
            file: table.file.clone(),
            features,
            target: args.target,
            x_train,
            y_train,
            x_test,
            y_test,
            standardizer,
            net,
            init_file: init.map(|(file, _)| file),
            weight_init,
            activations,
            loss,
            optimizer,
            lr,
            schedule_text: args.schedule,
            weight_decay: args.weight_decay,
            epochs: args.epochs,
            batch,
            steps,
            config,
            state,
            resumed,
            classes,
            backend: args.backend.map(Into::into),
            history: args.history,
            save: args.save,
            save_optimizer: args.save_optimizer,
        })
    }

    /// Whether accuracy and a confusion matrix mean something here.
    pub fn is_classification(&self) -> bool {
        targets::is_classification(
            &self.y_train,
            self.net
                .layers()
                .last()
                .map_or(Activation::Identity, |l| l.activation()),
        )
    }
}
