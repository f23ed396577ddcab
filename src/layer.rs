//! One dense layer: `A_out = act(A_in . W + b)`.

use crate::activation::Activation;
use crate::error::{Error, Result};

/// Gradient of the loss with respect to one layer's parameters, in the
/// layer's own layout (see [`Network::gradients`](crate::Network::gradients)).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    /// `∂loss/∂W`, row-major `inputs x outputs`.
    pub weights: Vec<f32>,
    /// `∂loss/∂b`, if the layer has a bias.
    pub bias: Option<Vec<f32>>,
}

/// A fully-connected layer.
///
/// Weights are row-major `inputs x outputs` (the notebook's `sinapsis0` is
/// 3x4): `weights[i * outputs + j]` connects input `i` to output `j`. The
/// bias, when present, holds one value per output.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) activation: Activation,
    pub(crate) weights: Vec<f32>,
    pub(crate) bias: Option<Vec<f32>>,
}

impl Layer {
    /// A layer from given weights (`inputs x outputs`, row-major) and
    /// optional bias (`outputs` values). Shapes and values are checked by
    /// [`Network::from_layers`](crate::Network::from_layers), which knows the
    /// layer's position and names it in any error.
    ///
    /// ```
    /// use neurona::{Activation, Layer, Network};
    /// let layer = Layer::new(2, 1, Activation::Sigmoid, vec![0.5, -0.5], Some(vec![0.1]));
    /// let net = Network::from_layers(vec![layer])?;
    /// assert_eq!(net.layers()[0].weights(), &[0.5, -0.5]);
    /// # Ok::<(), neurona::Error>(())
    /// ```
    pub fn new(
        inputs: usize,
        outputs: usize,
        activation: Activation,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
    ) -> Self {
        Layer {
            inputs,
            outputs,
            activation,
            weights,
            bias,
        }
    }

    /// Check shapes and values; `number` is the layer's 1-based position,
    /// used in messages.
    /// Weights and biases in all: `inputs · outputs`, plus `outputs` with
    /// a bias.
    pub fn parameter_count(&self) -> usize {
        self.weights.len() + self.bias.as_ref().map_or(0, Vec::len)
    }

    pub(crate) fn check(&self, number: usize) -> Result<()> {
        if self.inputs == 0 {
            return Err(if number == 1 {
                Error::ZeroInputs
            } else {
                Error::ZeroWidthLayer { layer: number - 1 }
            });
        }
        if self.outputs == 0 {
            return Err(Error::ZeroWidthLayer { layer: number });
        }
        if self.inputs.checked_mul(self.outputs) != Some(self.weights.len()) {
            return Err(Error::WeightShape {
                layer: number,
                inputs: self.inputs,
                outputs: self.outputs,
                len: self.weights.len(),
            });
        }
        if let Some(b) = &self.bias
            && b.len() != self.outputs
        {
            return Err(Error::BiasShape {
                layer: number,
                outputs: self.outputs,
                len: b.len(),
            });
        }
        if let Some(i) = self.weights.iter().position(|w| !w.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("weights of layer {number}"),
                row: i / self.outputs,
                col: i % self.outputs,
                value: self.weights[i],
            });
        }
        if let Some(b) = &self.bias
            && let Some(j) = b.iter().position(|v| !v.is_finite())
        {
            return Err(Error::NonFinite {
                what: format!("bias of layer {number}"),
                row: 0,
                col: j,
                value: b[j],
            });
        }
        Ok(())
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// The activation applied after `A_in . W + b`.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The weights, row-major `inputs x outputs`.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The bias, one value per output, if the layer has one.
    pub fn bias(&self) -> Option<&[f32]> {
        self.bias.as_deref()
    }
}
