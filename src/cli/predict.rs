//! `neurona predict`: apply a saved model to a CSV file; and the rows a
//! saved model reads from a file, shared with `neurona evaluate`.

use std::fmt::Write;

use neurona::model_file::{Ensemble, Model, write_atomically};
use neurona::targets::Task;
use neurona::{CsvOptions, Error, Matrix, Result, Table};

use super::args::{CsvArgs, PredictArgs};
use super::plan::{Used, check_outputs, drop_missing};

/// The model file `path` (a model, or an ensemble of networks that
/// predict together) and the rows of `data` it reads: its input
/// columns (by name; other columns are ignored), and with `targets` its
/// target columns too; rows with a missing value dropped (`--drop-missing`,
/// counted) or an error.
pub fn model_rows(
    path: &std::path::Path,
    data: &std::path::Path,
    csv: &CsvArgs,
    targets: bool,
) -> Result<(Ensemble, Used)> {
    let model_file = path.display().to_string();
    let ensemble = Ensemble::load(path)?;
    let model = &ensemble.model;
    let table = Table::read_csv_with(
        data,
        &CsvOptions {
            delimiter: csv.delimiter,
        },
    )?;
    let features: Vec<usize> = if model.features.is_empty() {
        if targets {
            return Err(Error::ModelFile(format!(
                "{model_file} does not name its input columns; it cannot be scored on a file"
            )));
        }
        (0..table.columns.len()).collect()
    } else {
        model
            .features
            .iter()
            .map(|f| table.column(f))
            .collect::<Result<_>>()
            .map_err(|e| {
                Error::Data(format!(
                    "{e}; {model_file} was trained on {:?}",
                    model.features
                ))
            })?
    };
    if features.len() != model.network.inputs() {
        return Err(Error::ModelFile(format!(
            "{model_file}: its first layer takes {} inputs, but {} has {} columns",
            model.network.inputs(),
            table.file,
            features.len()
        )));
    }
    let target_cols: Vec<usize> = if targets {
        if model.targets.is_empty() {
            return Err(Error::ModelFile(format!(
                "{model_file} does not name its target columns; it cannot be scored"
            )));
        }
        model
            .targets
            .iter()
            .map(|t| table.column(t))
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let used: Vec<usize> = features.iter().chain(&target_cols).copied().collect();
    let (table, dropped) = drop_missing(table, &used, csv)?;
    Ok((
        ensemble,
        Used {
            table,
            targets: target_cols,
            features,
            dropped,
        },
    ))
}

/// The header and rows of `p`'s predictions as CSV text.
pub fn predictions_csv(model: &Model, p: &Matrix, threshold: f32, lines: Option<&[u64]>) -> String {
    let mut text = String::new();
    let outputs = p.cols();
    let target = |j: usize| model.targets.get(j).cloned();
    let mut header: Vec<String> = lines.map_or(Vec::new(), |_| vec!["line".into()]);
    match &model.task {
        Some(Task::Classes { labels }) => {
            header.push(target(0).unwrap_or("class".into()));
            if labels.len() == 2 {
                header.push(format!("p_{}", labels[1]));
            } else {
                header.extend(labels.iter().map(|l| format!("p_{l}")));
            }
        }
        Some(Task::MultiLabel) => {
            let names: Vec<String> = (0..outputs)
                .map(|j| target(j).unwrap_or(format!("output{j}")))
                .collect();
            header.extend(names.iter().cloned());
            header.extend(names.iter().map(|n| format!("p_{n}")));
        }
        _ if model
            .network
            .layers()
            .last()
            .is_some_and(|l| l.activation() == neurona::Activation::Softmax) =>
        {
            header.push("class".into());
            header.extend((0..outputs).map(|j| format!("p{j}")));
        }
        _ if outputs == 1 => header.push(target(0).unwrap_or("prediction".into())),
        _ => header.extend((0..outputs).map(|j| target(j).unwrap_or(format!("output{j}")))),
    }
    writeln!(text, "{}", csv_row(&header)).expect("writing to a String");
    // Values in the shortest form that reads back to the same f32.
    for r in 0..p.rows() {
        let row = p.row(r);
        let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        let mut cells: Vec<String> = lines.map_or(Vec::new(), |l| vec![l[r].to_string()]);
        let argmax = row
            .iter()
            .enumerate()
            .fold(0, |b, (i, v)| if *v > row[b] { i } else { b });
        match &model.task {
            Some(Task::Classes { labels }) if labels.len() == 2 => {
                cells.push(labels[(row[0] >= threshold) as usize].clone());
                cells.push(values[0].clone());
            }
            Some(Task::Classes { labels }) => {
                cells.push(labels[argmax].clone());
                cells.extend(values);
            }
            Some(Task::MultiLabel) => {
                cells.extend(row.iter().map(|v| ((*v >= threshold) as u8).to_string()));
                cells.extend(values);
            }
            _ if model
                .network
                .layers()
                .last()
                .is_some_and(|l| l.activation() == neurona::Activation::Softmax) =>
            {
                cells.push(argmax.to_string());
                cells.extend(values);
            }
            _ => cells.extend(values),
        }
        writeln!(text, "{}", csv_row(&cells)).expect("writing to a String");
    }
    text
}

pub fn run(args: PredictArgs) -> Result<()> {
    check_outputs(
        &[("--out", args.out.as_deref())],
        &[("--model", &args.model), ("--data", &args.data)],
    )?;
    let (
        ensemble,
        Used {
            table,
            features,
            dropped,
            ..
        },
    ) = model_rows(&args.model, &args.data, &args.csv, false)?;
    let model = &ensemble.model;
    let threshold = args.threshold.unwrap_or(model.threshold);
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(Error::Config(format!(
            "--threshold must lie between 0 and 1, got {threshold}"
        )));
    }
    let x = table.select_columns(&features)?;
    let p = ensemble.predict(&x)?;
    // With rows left out, each prediction says which line it is for.
    let lines = (dropped > 0).then_some(&table.lines[..]);
    let text = predictions_csv(model, &p, threshold, lines);
    if dropped > 0 {
        eprintln!(
            "note: left out {dropped} rows with missing values; the first column gives each prediction's line"
        );
    }
    match &args.out {
        Some(path) => {
            write_atomically(path, text.as_bytes())?;
            outln!("wrote {} predictions to {}", p.rows(), path.display());
        }
        None => out!("{text}"),
    }
    Ok(())
}

/// One CSV line: a cell holding a comma, a quote or a line break is
/// quoted, its quotes doubled (RFC 4180), so labels such as "Paris, FR"
/// read back as one cell.
fn csv_row(cells: &[String]) -> String {
    let quoted: Vec<std::borrow::Cow<str>> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\"")).into()
            } else {
                c.as_str().into()
            }
        })
        .collect();
    quoted.join(",")
}
