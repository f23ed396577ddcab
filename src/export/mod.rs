//! A trained [`Model`] handed to other tools: [`onnx`] writes one ONNX graph
//! from the raw input columns to the predictions (for onnxruntime on
//! servers and phones, Triton, Spark, browsers without WebGPU), and
//! [`pytorch`] a Python module that builds the same `nn.Sequential`, its
//! state dict and the optimizer's state, so that a run goes on in PyTorch
//! (on many machines, with DistributedDataParallel) exactly where neurona
//! left it.
//!
//! Both exports compute what `neurona predict` does: the inputs'
//! standardisation, every layer and activation, regression outputs back in
//! the targets' units, and the decision each row gets ([`Decision`]).

pub mod onnx;
mod onnx_proto;
pub mod pytorch;

use crate::activation::Activation;
use crate::model_file::Model;
use crate::targets::Task;

/// What `neurona predict` decides from a row of outputs, besides giving
/// them: both exports give it as a second output.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The index of the largest output (softmax classes; the first on a
    /// tie, as `predict` takes it): `labels[index]` is the class.
    ArgMax {
        /// The class of each output, in order.
        labels: Vec<String>,
    },
    /// Two classes on one sigmoid output: `labels[(p ≥ threshold) as usize]`.
    Binary {
        /// The negative and the positive class.
        labels: Vec<String>,
        /// The decision threshold.
        threshold: f32,
    },
    /// Multi-label: each output is 1 where `p ≥ threshold`, else 0.
    EachAbove {
        /// The decision threshold.
        threshold: f32,
    },
    /// Numbers (regression), given as they are.
    None,
}

impl Decision {
    /// The decision `model`'s predictions get: by its task, and for files
    /// that name none, class numbers `0..k-1` when the last layer is a
    /// softmax (as `predict` does).
    pub fn of(model: &Model) -> Decision {
        let threshold = model.threshold;
        match &model.task {
            Some(Task::Classes { labels }) if labels.len() == 2 => Decision::Binary {
                labels: labels.clone(),
                threshold,
            },
            Some(Task::Classes { labels }) => Decision::ArgMax {
                labels: labels.clone(),
            },
            Some(Task::MultiLabel) => Decision::EachAbove { threshold },
            _ if last_activation(model) == Activation::Softmax => Decision::ArgMax {
                labels: (0..model.network.outputs())
                    .map(|i| i.to_string())
                    .collect(),
            },
            _ => Decision::None,
        }
    }
}

/// The activation of `model`'s output layer.
fn last_activation(model: &Model) -> Activation {
    let layers = model.network.layers();
    layers[layers.len() - 1].activation()
}
