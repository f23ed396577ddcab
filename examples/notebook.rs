//! The origin notebook's experiment, on neurona's CPU path.
//!
//! A 3-4-1 sigmoid network without bias learns y = x0 XOR x1 from four rows,
//! with 10,000 full-batch steps at learning rate 1, the update summed over
//! the batch (the notebook's rule; see `neurona::train`). It starts from the
//! notebook's own weights, `np.random.seed(1)` then `2*np.random.random(..)-1`,
//! prints |error| every 1,000 iterations and the final predictions in the
//! notebook's layout, then the predictions rounded: `[0, 1, 1, 0]`.
//!
//! ```text
//! cargo run --release --example notebook                          # correct derivative
//! cargo run --release --example notebook -- --notebook-derivative # the notebook's 1 - s
//! cargo run --release --example notebook -- --seed 7              # neurona's own init
//! cargo run --release --example notebook -- --backend gpu         # on the GPU
//! cargo run --release --example notebook -- --init w.safetensors  # weights made elsewhere
//! ```
//!
//! `--init` takes a safetensors file with `layers.0.weight` [4, 3] and
//! `layers.1.weight` [1, 4] (PyTorch's `nn.Linear` layout), e.g. the
//! notebook's own `sinapsis0.T` and `sinapsis1.T` saved from numpy.
//!
//! `--backend cpu|gpu|auto` (default auto, or `NEURONA_BACKEND`) picks the
//! device; the first line printed says which and why.

use std::process::ExitCode;

use neurona::{Activation, Backend, Device, Init, Network, SigmoidDerivative, TrainConfig};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut notebook_derivative = false;
    let mut seed = None;
    let mut init = None;
    let mut backend = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--notebook-derivative" => notebook_derivative = true,
            "--seed" => {
                let v = args.next().ok_or("--seed needs a number")?;
                seed = Some(v.parse::<u64>().map_err(|e| format!("--seed {v}: {e}"))?);
            }
            "--init" => init = Some(args.next().ok_or("--init needs a safetensors file")?),
            "--backend" => {
                let v = args.next().ok_or("--backend needs cpu, gpu or auto")?;
                backend = Some(v.parse::<Backend>()?);
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (try --notebook-derivative, --seed N, --init FILE, --backend cpu|gpu|auto)"
                )
                .into());
            }
        }
    }

    let device = match backend {
        Some(b) => Device::new(b)?,
        None => Device::new(Backend::from_env_or(Backend::Auto)?)?,
    };
    println!("device: {device}");

    // data_entrenamiento_x / data_entrenamiento_y
    let (x, y) = neurona::notebook::data();

    let mut net = match (seed, &init) {
        (Some(_), Some(_)) => return Err("give --seed or --init, not both".into()),
        (None, Some(file)) => {
            let (layers, _) = neurona::model_file::read_layers(file)?;
            let net = neurona::model_file::network_from(file, layers, &[Activation::Sigmoid; 2])?;
            if net.inputs() != 3 || net.outputs() != 1 {
                return Err(
                    format!("{file} holds a {net} network; the notebook's is 3-4-1").into(),
                );
            }
            net
        }
        (None, None) => neurona::notebook::network(),
        (Some(seed), None) => Network::builder(3)
            .layer_without_bias(4, Activation::Sigmoid)
            .layer_without_bias(1, Activation::Sigmoid)
            .init(Init::Uniform)
            .build(seed)?,
    };

    let mut config = TrainConfig::notebook().epochs(1_000);
    if notebook_derivative {
        eprintln!(
            "warning: --notebook-derivative uses the notebook's sigmoid derivative 1 - s, which is wrong \
             (the derivative is s * (1 - s)); use it only to reproduce the notebook"
        );
        config = config.sigmoid_derivative(SigmoidDerivative::NotebookOneMinusS);
    }
    let start = match (seed, &init) {
        (Some(s), _) => format!("weights uniform in [-1, 1) from seed {s}"),
        (None, Some(file)) => format!("the weights in {file}"),
        (None, None) => "the notebook's weights (np.random.seed(1))".to_string(),
    };
    println!("network {net}, {start}");
    println!(
        "10,000 full-batch steps, learning rate 1, MSE summed over the batch, sigmoid derivative {}",
        if notebook_derivative {
            "1 - s (the notebook's, wrong)"
        } else {
            "s * (1 - s)"
        }
    );

    // The notebook prints |y - ŷ| at iterations 0, 1000, ..., 9000: the
    // network's error before that iteration's update.
    let mut elapsed = std::time::Duration::ZERO;
    for _ in 0..10 {
        let y_hat = net.predict(&x)?;
        let error: Vec<f32> = y_hat
            .as_slice()
            .iter()
            .zip(y.as_slice())
            .map(|(p, t)| (t - p).abs())
            .collect();
        println!("Error \n {}", numpy_column(&error));
        elapsed += net.train_on(&device, &x, &y, &config, |_| {})?.elapsed;
    }
    let y_hat = net.predict(&x)?;
    println!("Predicciones después de entrenamiento");
    println!("{}", numpy_column(y_hat.as_slice()));
    let rounded: Vec<u8> = y_hat.as_slice().iter().map(|p| p.round() as u8).collect();
    println!("rounded: {rounded:?} (targets [0, 1, 1, 0]), trained in {elapsed:.2?}");
    Ok(())
}

/// A column vector as numpy prints it: `[[a]\n [b]]`, fixed-point with 8
/// decimals, or scientific when the values span more than numpy allows.
fn numpy_column(values: &[f32]) -> String {
    let abs: Vec<f64> = values
        .iter()
        .map(|v| (*v as f64).abs())
        .filter(|v| *v > 0.0)
        .collect();
    let max = abs.iter().cloned().fold(0.0, f64::max);
    let min = abs.iter().cloned().fold(f64::INFINITY, f64::min);
    let scientific = max >= 1e8 || min < 1e-4 || max / min > 1e3;
    let cells: Vec<String> = values
        .iter()
        .map(|&v| {
            if scientific {
                let s = format!("{:.8e}", v as f64);
                // numpy writes the exponent with a sign and two digits.
                let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
                let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
                format!("[{mantissa}e{sign}{digits:0>2}]")
            } else {
                format!("[{:.8}]", v)
            }
        })
        .collect();
    format!("[{}]", cells.join("\n "))
}
