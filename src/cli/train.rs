//! `neurona train`: read a CSV file, train, report, save.

use neurona::model_file::{self, Model};
use neurona::{
    Activation, BatchOrder, Error, Loss, Matrix, Network, Result, Standardizer, Table, TrainConfig,
    shuffled_order,
};

use super::args::TrainArgs;
use super::progress::Bar;

/// Rows `rows` of `m`.
fn take(m: &Matrix, rows: &[u32]) -> Matrix {
    let mut data = Vec::with_capacity(rows.len() * m.cols());
    for &r in rows {
        data.extend_from_slice(m.row(r as usize));
    }
    Matrix::new(rows.len(), m.cols(), data).expect("rows x cols values")
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
    let mut one_hot = vec![0.0; values.len() * k];
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

/// Accuracy as (correct, rows): arg-max against the one-hot class for
/// several outputs, a 0.5 threshold for one sigmoid output with 0/1 targets;
/// `None` when the targets are not classes.
fn accuracy(p: &Matrix, y: &Matrix, classification: bool) -> Option<(usize, usize)> {
    if !classification {
        return None;
    }
    let argmax = |row: &[f32]| {
        row.iter()
            .enumerate()
            .fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
    };
    let correct = (0..p.rows())
        .filter(|&r| {
            if p.cols() == 1 {
                (p.row(r)[0] > 0.5) == (y.row(r)[0] > 0.5)
            } else {
                argmax(p.row(r)) == argmax(y.row(r))
            }
        })
        .count();
    Some((correct, p.rows()))
}

fn describe(name: &str, loss_value: f64, acc: Option<(usize, usize)>) -> String {
    let mut s = format!("{name}: loss {loss_value:.6}");
    if let Some((c, n)) = acc {
        s += &format!(", accuracy {:.2}% ({c}/{n})", 100.0 * c as f64 / n as f64);
    }
    s
}

pub fn run(args: TrainArgs) -> Result<()> {
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
    let (mut x_train, y_train) = (take(&inputs, &train_rows), take(&y_all, &train_rows));
    let (mut x_test, y_test) = (take(&inputs, &test_rows), take(&y_all, &test_rows));
    let standardizer = args.standardize.then(|| Standardizer::fit(&x_train));
    if let Some(s) = &standardizer {
        x_train = s.apply(&x_train)?;
        x_test = s.apply(&x_test)?;
    }

    let output_activation: Activation = args.output_activation.into();
    let mut activations = vec![Activation::from(args.hidden_activation); widths.len() - 1];
    activations.push(output_activation);
    let mut net = match init {
        Some((file, layers)) => {
            if layers[0].inputs != features.len() {
                return Err(Error::ModelFile(format!(
                    "{file}: its first layer takes {} inputs, but {} has {} input columns",
                    layers[0].inputs,
                    table.file,
                    features.len()
                )));
            }
            model_file::network_from(&file, layers, &activations)?
        }
        None => {
            let mut builder = Network::builder(features.len());
            for (w, a) in widths.iter().zip(&activations) {
                builder = builder.layer(*w, *a);
            }
            builder.build(args.seed)?
        }
    };

    let loss: Loss = match args.loss {
        Some(l) => l.into(),
        None if output_activation == Activation::Sigmoid => Loss::Bce,
        None => Loss::Mse,
    };
    let mut config = TrainConfig::new()
        .learning_rate(args.lr)
        .epochs(args.epochs)
        .order(BatchOrder::Shuffled { seed: args.seed })
        .loss(loss);
    if args.batch > 0 {
        config = config.batch_size(args.batch);
    }
    let rows = x_train.rows();
    let batch = config.batch_size.unwrap_or(rows).min(rows);
    let steps = args.epochs * rows.div_ceil(batch);
    config = config.report_every((steps / 200).max(1));

    let device = super::open_device(args.backend.map(Into::into))?;
    println!(
        "network {net}, loss {loss}, learning rate {}, {} epochs in batches of {batch} rows ({steps} steps){}",
        args.lr,
        args.epochs,
        if args.init.is_some() {
            ", from --init weights"
        } else {
            ""
        }
    );
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

    let mut bar = Bar::new(steps);
    let report = net.train_on(&device, &x_train, &y_train, &config, |p| bar.update(p));
    bar.finish();
    let report = report?;

    let classification = classes.is_some()
        || (output_activation == Activation::Sigmoid
            && y_train.as_slice().iter().all(|v| *v == 0.0 || *v == 1.0));
    let p_train = net.predict(&x_train)?;
    println!("trained in {:.2?}", report.elapsed);
    println!(
        "{}",
        describe(
            "train",
            report.final_loss,
            accuracy(&p_train, &y_train, classification)
        )
    );
    if x_test.rows() > 0 {
        let p_test = net.predict(&x_test)?;
        let test_loss = loss.sum(p_test.as_slice(), y_test.as_slice()) / x_test.rows() as f64;
        println!(
            "{}",
            describe(
                "test",
                test_loss,
                accuracy(&p_test, &y_test, classification)
            )
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
        };
        model.save(path)?;
        println!("saved {}", path.display());
    }
    Ok(())
}
