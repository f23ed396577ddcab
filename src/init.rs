//! How a new network's weights are drawn ([`Init`]), from a seeded stream
//! that gives the same numbers on every machine.

use std::fmt;

use crate::activation::Activation;

/// The initial weights of a layer with `n_in` inputs and `n_out` outputs,
/// each drawn uniformly from `[−a, a)`:
///
/// | scheme | `a` | biases |
/// |---|---|---|
/// | [`Init::Uniform`] | 1 | uniform in [−1, 1), like the weights |
/// | [`Init::Xavier`] (Glorot uniform) | `√(6 / (n_in + n_out))` | 0 |
/// | [`Init::He`] (Kaiming uniform, gain √2) | `√(6 / n_in)` | 0 |
///
/// `Uniform` is the origin notebook's `2 * random − 1` and the lesson's
/// rule, which the examples ask for to reproduce them. It saturates
/// sigmoids once a layer has more than a handful of inputs: on real data
/// use `Xavier` (for sigmoid, tanh, identity and softmax layers) or `He`
/// (for ReLU), which keep the variance of the activations about constant
/// through the layers; [`Init::Auto`], the default of
/// [`NetworkBuilder::build`](crate::NetworkBuilder::build), picks between
/// them by each layer's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// Uniform in [−1, 1), biases too.
    Uniform,
    /// Glorot uniform, biases 0.
    Xavier,
    /// He uniform, biases 0.
    He,
    /// He for ReLU layers, Xavier for every other.
    #[default]
    Auto,
}

impl Init {
    /// The scheme this one means for a layer with `activation`: `Auto`
    /// resolved, the others as they are.
    pub fn for_activation(self, activation: Activation) -> Init {
        match self {
            Init::Auto if activation == Activation::Relu => Init::He,
            Init::Auto => Init::Xavier,
            other => other,
        }
    }

    /// The bound `a` of the weights' range `[−a, a)`.
    pub fn bound(self, n_in: usize, n_out: usize, activation: Activation) -> f32 {
        match self.for_activation(activation) {
            Init::Xavier => (6.0 / (n_in + n_out) as f64).sqrt() as f32,
            Init::He => (6.0 / n_in as f64).sqrt() as f32,
            _ => 1.0,
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Init::Uniform => "uniform",
            Init::Xavier => "xavier",
            Init::He => "he",
            Init::Auto => "auto",
        }
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
