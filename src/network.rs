//! A [`Network`]: dense layers applied one after another, as data: its
//! layers, shapes and how it prints. Running it (predicting, training,
//! resuming, losses, gradients) is in [`crate::driver`].

use std::fmt;

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::memory;
use crate::random::Stream;

/// A fully-connected network: `A_0 = X`, `A_l = act_l(A_{l-1} . W_l + b_l)`.
///
/// Build one with [`Network::builder`] (weights drawn from a seed, by
/// default He or Xavier by each layer's activation), [`Network::from_layers`]
/// (given weights) or [`Network::neuron`] (the lesson's single neuron).
///
/// ```
/// use neurona::{Activation, Init, Matrix, Network, TrainConfig};
/// // The notebook's 3-4-1 sigmoid network, without bias, its weights
/// // uniform in [-1, 1) as the notebook draws them.
/// let mut net = Network::builder(3)
///     .layer_without_bias(4, Activation::Sigmoid)
///     .layer_without_bias(1, Activation::Sigmoid)
///     .init(Init::Uniform)
///     .build(1)?;
/// assert_eq!(net.to_string(), "3-4(sigmoid)-1(sigmoid), no bias");
///
/// let x = Matrix::from_rows(&[[0., 0., 1.], [1., 1., 1.], [1., 0., 1.], [0., 1., 1.]])?;
/// let y = Matrix::from_rows(&[[0.], [1.], [1.], [0.]])?;
/// let report = net.train(&x, &y, &TrainConfig::notebook())?;
/// assert!(report.final_loss < 0.01);
/// # Ok::<(), neurona::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    layers: Vec<Layer>,
}

/// Builds a [`Network`] layer by layer; see [`Network::builder`].
#[derive(Debug, Clone)]
pub struct NetworkBuilder {
    inputs: usize,
    layers: Vec<(usize, Activation, bool)>,
    init: Init,
}

impl NetworkBuilder {
    /// Add a layer of `outputs` units with a bias.
    pub fn layer(mut self, outputs: usize, activation: Activation) -> Self {
        self.layers.push((outputs, activation, true));
        self
    }

    /// Add a layer of `outputs` units without a bias (as in the notebook).
    pub fn layer_without_bias(mut self, outputs: usize, activation: Activation) -> Self {
        self.layers.push((outputs, activation, false));
        self
    }

    /// Draw the weights with `init` instead of the default [`Init::Auto`]
    /// (He for ReLU layers, Xavier for the others); [`Init::Uniform`] is the
    /// notebook's and the lesson's rule.
    ///
    /// ```
    /// use neurona::{Activation, Init, Network};
    /// let net = Network::builder(784)
    ///     .layer(128, Activation::Relu)
    ///     .layer(10, Activation::Softmax)
    ///     .init(Init::Auto) // He for the ReLU layer, Xavier for the softmax
    ///     .build(1)?;
    /// let bound = (6.0f32 / 784.0).sqrt();
    /// assert!(net.layers()[0].weights().iter().all(|w| w.abs() <= bound));
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The network, its weights and biases drawn as the [`Init`] scheme says
    /// (by default [`Init::Auto`]) by a generator seeded with
    /// `seed`: layer by layer, the weights in row-major order, then the
    /// bias. The same seed gives the same network on every machine and
    /// every run.
    pub fn build(self, seed: u64) -> Result<Network> {
        // Sizes first, so an absurd width is an error naming the bytes it
        // needs, not an allocation that aborts the process.
        let mut shape = self.inputs.to_string();
        let mut inputs = self.inputs;
        let mut counts = Vec::with_capacity(self.layers.len());
        for &(outputs, _, has_bias) in &self.layers {
            shape += &format!("-{outputs}");
            let weights = inputs.checked_mul(outputs);
            let bias = if has_bias { outputs } else { 0 };
            counts.push(weights.and_then(|w| w.checked_add(bias)));
            inputs = outputs;
        }
        let what = format!("the weights and biases of a {shape} network");
        let bytes = memory::total(counts.iter().map(|c| c.and_then(memory::bytes_of::<f32>)));
        memory::check(&what, bytes)?;

        let mut rng = Stream::new(seed);
        let mut inputs = self.inputs;
        let mut layers = Vec::with_capacity(self.layers.len());
        for (outputs, activation, has_bias) in self.layers {
            let count = inputs * outputs; // checked above
            let init = self.init.for_activation(activation);
            let a = init.bound(inputs, outputs, activation);
            let mut weights = memory::with_capacity(&what, count)?;
            weights.extend((0..count).map(|_| a * rng.uniform_pm1()));
            let bias = has_bias.then(|| match init {
                Init::Uniform => (0..outputs).map(|_| rng.uniform_pm1()).collect(),
                _ => vec![0.0; outputs],
            });
            layers.push(Layer::new(inputs, outputs, activation, weights, bias));
            inputs = outputs;
        }
        Network::from_layers(layers)
    }
}

impl Network {
    /// Start a network that takes `inputs` values per sample.
    pub fn builder(inputs: usize) -> NetworkBuilder {
        NetworkBuilder {
            inputs,
            layers: Vec::new(),
            init: Init::Auto,
        }
    }

    /// A network from given layers, checked: at least one layer, no zero
    /// widths, each layer's inputs equal to the previous layer's outputs,
    /// weight and bias lengths that match, finite values.
    pub fn from_layers(layers: Vec<Layer>) -> Result<Self> {
        if layers.is_empty() {
            return Err(Error::NoLayers);
        }
        for (i, layer) in layers.iter().enumerate() {
            if i > 0 && layer.inputs != layers[i - 1].outputs {
                return Err(Error::LayerChain {
                    layer: i + 1,
                    expected: layers[i - 1].outputs,
                    got: layer.inputs,
                });
            }
            layer.check(i + 1)?;
            if layer.activation == Activation::Softmax {
                if i + 1 < layers.len() {
                    return Err(Error::Config(format!(
                        "layer {} is softmax, which only the output layer may be",
                        i + 1
                    )));
                }
                if layer.outputs < 2 {
                    return Err(Error::Config(format!(
                        "layer {} is a softmax over {} output; softmax needs at least 2 (use sigmoid for one)",
                        i + 1,
                        layer.outputs
                    )));
                }
            }
        }
        Ok(Network { layers })
    }

    /// The lesson's single neuron: `n_inputs` weights and a bias drawn
    /// uniformly from [-1, 1) with `seed`, and a sigmoid output.
    ///
    /// ```
    /// use neurona::Network;
    /// let neuron = Network::neuron(3, 42)?;
    /// let p = neuron.activate(&[2.0, 0.4, 1.0])?;
    /// assert!(0.0 < p && p < 1.0);
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn neuron(n_inputs: usize, seed: u64) -> Result<Self> {
        Network::builder(n_inputs)
            .layer(1, Activation::Sigmoid)
            .init(Init::Uniform)
            .build(seed)
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    pub(crate) fn layers_mut(&mut self) -> &mut [Layer] {
        &mut self.layers
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// Check a batch of inputs: its width and that every value is finite.
    pub(crate) fn check_inputs(&self, inputs: &Matrix) -> Result<()> {
        if inputs.cols() != self.inputs() {
            return Err(Error::InputWidth {
                expected: self.inputs(),
                got: inputs.cols(),
            });
        }
        if inputs.rows() == 0 {
            return Err(Error::EmptyData);
        }
        if let Some((row, col, value)) = inputs.first_non_finite() {
            return Err(Error::NonFinite {
                what: "inputs".into(),
                row,
                col,
                value,
            });
        }
        Ok(())
    }
}

impl fmt::Display for Network {
    /// `3-4(sigmoid)-1(sigmoid)`, with `, no bias` when no layer has one, or
    /// a `no bias` mark on the layers without.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let none = self.layers.iter().all(|l| l.bias.is_none());
        write!(f, "{}", self.inputs())?;
        for l in &self.layers {
            write!(f, "-{}({}", l.outputs, l.activation)?;
            if !none && l.bias.is_none() {
                write!(f, ", no bias")?;
            }
            write!(f, ")")?;
        }
        if none {
            write!(f, ", no bias")?;
        }
        Ok(())
    }
}
