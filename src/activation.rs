//! Activation functions and their derivatives, written in terms of the
//! activation's output so the backward pass needs only stored activations.

use std::fmt;

/// The nonlinearity a layer applies to `X . W + b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `s(z) = 1 / (1 + e^-z)`; `s' = s (1 - s)`.
    Sigmoid,
    /// `max(0, z)`; derivative 1 where the output is positive, else 0.
    Relu,
    /// `tanh(z)`; derivative `1 - a^2`.
    Tanh,
    /// `z`; derivative 1.
    Identity,
    /// `softmax(z)_j = e^(z_j − max z) / Σ_k e^(z_k − max z)` over each row:
    /// class probabilities. Output layer only, at least 2 wide, trained with
    /// [`Loss::CrossEntropy`](crate::Loss::CrossEntropy), whose delta
    /// through the softmax is the fused `ŷ − y`. Being a function of the
    /// whole row, it is applied after the product by
    /// [`output_activation`](crate::cpu::output_activation); [`Activation::apply`]
    /// passes `z` through.
    Softmax,
}

/// Which derivative the sigmoid uses in the backward pass.
///
/// Only [`SigmoidDerivative::Exact`] is correct. The other exists to
/// reproduce the origin notebook, whose `derivada_sigmoide(s)` returns
/// `1 - s` instead of `s * (1 - s)`; it is never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigmoidDerivative {
    /// `s' = s (1 - s)`, the derivative of the sigmoid.
    #[default]
    Exact,
    /// The notebook's `1 - s`: wrong, kept only for reproducing it.
    NotebookOneMinusS,
}

impl SigmoidDerivative {
    /// The id the WGSL kernels use (the generated prelude of
    /// src/gpu/shaders.rs).
    pub(crate) fn gpu_id(self) -> u32 {
        match self {
            SigmoidDerivative::Exact => 0,
            SigmoidDerivative::NotebookOneMinusS => 1,
        }
    }
}

impl Activation {
    /// The activation of one pre-activation value `z`.
    #[inline]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            // Written so that NaN propagates (f32::max would turn it into 0
            // and hide a diverged run behind a ReLU).
            Activation::Relu => {
                if z < 0.0 {
                    0.0
                } else {
                    z
                }
            }
            Activation::Tanh => z.tanh(),
            Activation::Identity | Activation::Softmax => z,
        }
    }

    /// The derivative at the point whose activation is `a`, i.e. `act'(z)`
    /// written in terms of `a = act(z)`.
    #[inline]
    pub fn derivative(self, a: f32, sigmoid: SigmoidDerivative) -> f32 {
        match self {
            Activation::Sigmoid => match sigmoid {
                SigmoidDerivative::Exact => a * (1.0 - a),
                SigmoidDerivative::NotebookOneMinusS => 1.0 - a,
            },
            Activation::Relu => {
                if a > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - a * a,
            // Softmax is only trained with cross-entropy, whose delta skips
            // the derivative: the fused ŷ − y.
            Activation::Identity | Activation::Softmax => 1.0,
        }
    }

    /// The id the WGSL kernels use for this activation (the generated
    /// prelude of src/gpu/shaders.rs).
    pub fn gpu_id(self) -> u32 {
        match self {
            Activation::Sigmoid => 0,
            Activation::Relu => 1,
            Activation::Tanh => 2,
            Activation::Identity => 3,
            Activation::Softmax => 4,
        }
    }

    /// The lower-case name, as used in messages and `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Identity => "identity",
            Activation::Softmax => "softmax",
        }
    }

    /// Every activation a hidden layer may have (all but softmax), for tests
    /// and command-line parsing.
    pub const ALL: [Activation; 4] = [
        Activation::Sigmoid,
        Activation::Relu,
        Activation::Tanh,
        Activation::Identity,
    ];

    /// Whether the activation is applied to a whole row (softmax) rather
    /// than to each value.
    pub fn is_row_wise(self) -> bool {
        self == Activation::Softmax
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
