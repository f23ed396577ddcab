//! `neurona predict`: apply a saved model to a CSV file.

use std::fmt::Write;

use neurona::model_file::{Model, write_atomically};
use neurona::{Error, Result, Table};

use super::args::PredictArgs;

pub fn run(args: PredictArgs) -> Result<()> {
    let model_file = args.model.display().to_string();
    let model = Model::load(&args.model)?;
    let table = Table::read_csv(&args.data)?;
    let x = if model.features.is_empty() {
        table.select_columns(&(0..table.columns.len()).collect::<Vec<_>>())?
    } else {
        table.select(&model.features).map_err(|e| {
            Error::Data(format!(
                "{e}; {model_file} was trained on {:?}",
                model.features
            ))
        })?
    };
    if x.cols() != model.network.inputs() {
        return Err(Error::ModelFile(format!(
            "{model_file}: its first layer takes {} inputs, but {} has {} columns",
            model.network.inputs(),
            table.file,
            x.cols()
        )));
    }
    let x = match &model.standardizer {
        Some(s) => s.apply(&x)?,
        None => x,
    };
    let p = model.network.predict(&x)?;

    // Values in the shortest form that reads back to the same f32.
    let mut text = String::new();
    let outputs = p.cols();
    if model.classes.is_some() {
        let probs: Vec<String> = (0..outputs).map(|j| format!("p{j}")).collect();
        writeln!(text, "class,{}", probs.join(",")).unwrap();
    } else if outputs == 1 {
        writeln!(text, "prediction").unwrap();
    } else {
        let cols: Vec<String> = (0..outputs).map(|j| format!("output{j}")).collect();
        writeln!(text, "{}", cols.join(",")).unwrap();
    }
    for r in 0..p.rows() {
        let row = p.row(r);
        let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        if model.classes.is_some() {
            let class = row
                .iter()
                .enumerate()
                .fold(0, |b, (i, v)| if *v > row[b] { i } else { b });
            write!(text, "{class},").unwrap();
        }
        writeln!(text, "{}", values.join(",")).unwrap();
    }
    match &args.out {
        Some(path) => {
            write_atomically(path, text.as_bytes())?;
            println!("wrote {} predictions to {}", p.rows(), path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
