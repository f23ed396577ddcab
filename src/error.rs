//! The one error type of the crate: every bad shape, value or setting a user
//! can hand us comes back as an [`Error`] whose message says what and where.

use std::fmt;

/// Everything that can go wrong with user input or a training run.
///
/// Layers are numbered from 1 (the first layer after the inputs); rows and
/// columns of data from 0, as in the matrix that was passed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A network needs at least one layer.
    NoLayers,
    /// A network's input width is zero.
    ZeroInputs,
    /// A layer with no outputs.
    ZeroWidthLayer { layer: usize },
    /// A layer whose input width is not the previous layer's output width.
    LayerChain {
        layer: usize,
        expected: usize,
        got: usize,
    },
    /// Given weights whose length does not match inputs x outputs.
    WeightShape {
        layer: usize,
        inputs: usize,
        outputs: usize,
        len: usize,
    },
    /// Given biases whose length does not match the layer's outputs.
    BiasShape {
        layer: usize,
        outputs: usize,
        len: usize,
    },
    /// A matrix whose data length is not rows x cols.
    MatrixShape {
        rows: usize,
        cols: usize,
        len: usize,
    },
    /// A row of a matrix built from rows has another width than the first.
    RaggedRow {
        row: usize,
        expected: usize,
        got: usize,
    },
    /// Inputs whose width is not the first layer's input width.
    InputWidth { expected: usize, got: usize },
    /// Targets whose width is not the last layer's output width.
    TargetWidth { expected: usize, got: usize },
    /// Inputs and targets with different numbers of rows.
    RowCount { inputs: usize, targets: usize },
    /// A data set with no rows.
    EmptyData,
    /// NaN or infinity where a finite number is needed.
    NonFinite {
        what: String,
        row: usize,
        col: usize,
        value: f32,
    },
    /// A value outside the range a setting accepts (e.g. a BCE target of 2).
    OutOfRange {
        what: String,
        row: usize,
        col: usize,
        value: f32,
        range: &'static str,
    },
    /// A training setting that cannot work (learning rate, batch size, ...).
    Config(String),
    /// A data file that cannot be read or used; the text names the file,
    /// line, column and value.
    Data(String),
    /// A model file that cannot be read, written or used with this data.
    ModelFile(String),
    /// Reading or writing a file failed.
    Io(String),
    /// No GPU adapter to run on (the text says what was found and what to do).
    NoAdapter(String),
    /// Something a GPU does not fit: a buffer over its limits, a grid too big.
    GpuLimit(String),
    /// The GPU failed: opening the device, waiting, reading back.
    Gpu(String),
    /// The update of step `step` made the loss NaN or infinite; the network
    /// is left as it was before that step.
    Diverged { step: usize, loss: f64 },
    /// More memory than the machine has free: `what` needs `bytes` (`None`:
    /// more than 2^64), `limit` is what was free (`None`: unknown, and the
    /// allocation itself failed).
    TooLarge {
        what: String,
        bytes: Option<u64>,
        limit: Option<u64>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoLayers => write!(f, "a network needs at least one layer"),
            Error::ZeroInputs => write!(f, "a network needs at least one input, got width 0"),
            Error::ZeroWidthLayer { layer } => {
                write!(
                    f,
                    "layer {layer} has zero outputs; every layer needs at least one"
                )
            }
            Error::LayerChain {
                layer,
                expected,
                got,
            } => write!(
                f,
                "layer {layer} takes {got} inputs but the layer before it gives {expected}"
            ),
            Error::WeightShape {
                layer,
                inputs,
                outputs,
                len,
            } => write!(
                f,
                "layer {layer}: weights must be {inputs}x{outputs} (inputs x outputs, row-major) = {} values, got {len}",
                inputs * outputs
            ),
            Error::BiasShape {
                layer,
                outputs,
                len,
            } => write!(
                f,
                "layer {layer}: bias must have one value per output ({outputs}), got {len}"
            ),
            Error::MatrixShape { rows, cols, len } => write!(
                f,
                "a {rows}x{cols} matrix needs {} values, got {len}",
                rows * cols
            ),
            Error::RaggedRow { row, expected, got } => {
                write!(f, "row {row} has {got} values but row 0 has {expected}")
            }
            Error::InputWidth { expected, got } => write!(
                f,
                "inputs have {got} columns but the first layer takes {expected}"
            ),
            Error::TargetWidth { expected, got } => write!(
                f,
                "targets have {got} columns but the last layer gives {expected}"
            ),
            Error::RowCount { inputs, targets } => {
                write!(f, "inputs have {inputs} rows but targets have {targets}")
            }
            Error::EmptyData => write!(f, "the data set is empty (0 rows)"),
            Error::NonFinite {
                what,
                row,
                col,
                value,
            } => write!(
                f,
                "{what}: row {row}, column {col} is {value}; values must be finite"
            ),
            Error::OutOfRange {
                what,
                row,
                col,
                value,
                range,
            } => write!(
                f,
                "{what}: row {row}, column {col} is {value}; it must lie in {range}"
            ),
            Error::Config(msg) => write!(f, "{msg}"),
            Error::Data(msg) | Error::ModelFile(msg) | Error::Io(msg) => write!(f, "{msg}"),
            Error::NoAdapter(msg) => write!(f, "no GPU to run on: {msg}"),
            Error::GpuLimit(msg) => write!(f, "too large for this GPU: {msg}"),
            Error::Gpu(msg) => write!(f, "GPU error: {msg}"),
            Error::TooLarge { what, bytes, limit } => {
                write!(f, "not enough memory for {what}: ")?;
                match bytes {
                    Some(b) => write!(f, "it needs {b} bytes ({})", human(*b))?,
                    None => write!(f, "it needs more than 2^64 bytes")?,
                }
                match limit {
                    Some(l) => write!(f, ", and this machine has {l} bytes ({}) free", human(*l)),
                    None => write!(f, ", and allocating them failed"),
                }
            }
            Error::Diverged { step, loss } => write!(
                f,
                "training diverged at step {step}: its update made the loss {loss}; the network is left as it was before that step (try a smaller learning rate)"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `bytes` for people: `1.5 GiB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `Result` with neurona's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_read_for_people() {
        assert_eq!(super::human(512), "512 bytes");
        assert_eq!(super::human(3 << 29), "1.5 GiB");
    }
}
