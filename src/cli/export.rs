//! `neurona export`: a saved model as an ONNX graph (`--onnx`) and as a
//! PyTorch module with its state dict and optimizer state (`--pytorch`).

use std::path::Path;

use neurona::export::{Decision, onnx, pytorch};
use neurona::model_file::Ensemble;
use neurona::{Error, Result};

use super::args::ExportArgs;
use super::plan::{check_distinct, check_outputs, check_writable};

pub fn run(args: ExportArgs) -> Result<()> {
    if args.onnx.is_none() && args.pytorch.is_none() {
        return Err(Error::Config(
            "export needs --onnx OUT.onnx or --pytorch OUT_DIR (or both); see neurona export --help"
                .into(),
        ));
    }
    let file = args.model.display().to_string();
    let ensemble = Ensemble::load(&args.model)?;
    let model = &ensemble.model;
    if ensemble.len() > 1 && args.pytorch.is_some() {
        return Err(Error::Config(format!(
            "{file} is an ensemble of {} networks: --pytorch exports one network to go on training; \
             --onnx exports the ensemble (their mean), or save one member with neurona sweep --save",
            ensemble.len()
        )));
    }
    // Every output is checked before any is written.
    if let (Some(file), Some(dir)) = (&args.onnx, &args.pytorch) {
        if file == dir || dir.starts_with(file) {
            return Err(Error::Config(format!(
                "--onnx {} and --pytorch {}: the ONNX file would be where the PyTorch folder goes; give them different paths",
                file.display(),
                dir.display()
            )));
        }
    }
    let given = ("--model", args.model.as_path());
    check_outputs(&[("--onnx", args.onnx.as_deref())], &[given])?;
    if let Some(dir) = &args.pytorch {
        check_folder(dir)?;
        for name in [pytorch::MODULE, pytorch::STATE_DICT, pytorch::OPTIMIZER] {
            check_distinct(&[("--pytorch", &dir.join(name))], &[given])?;
        }
    }
    if let Some(path) = &args.onnx {
        onnx::save_ensemble(&ensemble, &file, path)?;
        outln!("wrote {}: {}", path.display(), onnx_summary(&ensemble));
    }
    if let Some(dir) = &args.pytorch {
        let written = pytorch::save(model, &file, dir)?;
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        outln!(
            "wrote {}: {} (import neurona_model; neurona_model.load())",
            dir.display(),
            names.join(", ")
        );
    }
    Ok(())
}

/// An error unless `dir` is a folder files can be written in, or can be
/// made (its parent exists).
fn check_folder(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return check_writable(&dir.join(pytorch::MODULE), "--pytorch");
    }
    if dir.exists() {
        return Err(Error::Io(format!(
            "--pytorch {} is a file; it takes a folder",
            dir.display()
        )));
    }
    check_writable(dir, "--pytorch")
}

/// What the ONNX graph takes and gives, in one line.
fn onnx_summary(ensemble: &Ensemble) -> String {
    let model = &ensemble.model;
    let net = &model.network;
    let columns = if model.features.is_empty() {
        String::new()
    } else {
        format!(" ({})", model.features.join(", "))
    };
    let second = match Decision::of(model) {
        Decision::ArgMax { .. } | Decision::Binary { .. } => {
            " and \"class\" [batch] (its labels in the metadata)".to_string()
        }
        Decision::EachAbove { .. } => format!(" and \"labels\" [batch, {}]", net.outputs()),
        Decision::None => String::new(),
    };
    let members = if ensemble.len() > 1 {
        format!(", the mean of {} networks", ensemble.len())
    } else {
        String::new()
    };
    format!(
        "ONNX opset {}{members}, input \"input\" [batch, {}]{columns}, output \"output\" [batch, {}]{second}",
        onnx::OPSET,
        net.inputs(),
        net.outputs()
    )
}
