//! A layer's matrix products: which one ([`MatmulKind`], with its fused
//! epilogue) and its sizes ([`ProductShape`]), as the kernels, the tuner,
//! the checks and the benchmark name them.

/// Which product of a layer a matrix kernel computes, with its fused
/// epilogue (matmul.wgsl's `KIND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatmulKind {
    /// `act(A_in . W + b)`: M = rows, N = n_out, K = n_in.
    Forward,
    /// `(D_next . W_nextᵀ) ⊙ act'(A)`: M = rows, N = n_out, K = n_next.
    HiddenDelta,
    /// `W_aug −= s · [A_in, 1]ᵀ . D`: M = n_in + bias, N = n_out, K = rows.
    SgdUpdate,
    /// `G = s · [A_in, 1]ᵀ . D`, the same product for other optimizers.
    WeightGradient,
}

impl MatmulKind {
    /// Every kind.
    pub const ALL: [MatmulKind; 4] = [
        MatmulKind::Forward,
        MatmulKind::HiddenDelta,
        MatmulKind::SgdUpdate,
        MatmulKind::WeightGradient,
    ];

    /// The id matmul.wgsl's `KIND` takes.
    pub(crate) fn id(self) -> u32 {
        match self {
            MatmulKind::Forward => 0,
            MatmulKind::HiddenDelta => 1,
            MatmulKind::SgdUpdate => 2,
            MatmulKind::WeightGradient => 3,
        }
    }

    /// The name of the CPU twin, and of the pipeline.
    pub fn name(self) -> &'static str {
        match self {
            MatmulKind::Forward => "matmul_bias_act",
            MatmulKind::HiddenDelta => "hidden_delta",
            MatmulKind::SgdUpdate => "sgd_update",
            MatmulKind::WeightGradient => "weight_gradient",
        }
    }
}

/// Whether the vec4 family can run a `kind` product of a layer of `n_in`
/// inputs and `n_out` outputs whose next layer has `n_next`: every
/// dimension contiguous in memory a multiple of 4 (then every buffer it
/// binds is a whole number of vec4s too).
pub fn vec4_eligible(kind: MatmulKind, n_in: u32, n_out: u32, n_next: u32) -> bool {
    match kind {
        MatmulKind::HiddenDelta => n_next.is_multiple_of(4) && n_out.is_multiple_of(4),
        _ => n_in.is_multiple_of(4) && n_out.is_multiple_of(4),
    }
}

/// A layer's matrix product: which one, and the layer's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductShape {
    pub(crate) kind: MatmulKind,
    pub(crate) rows: usize,
    /// The layer's inputs (its next layer's width for the hidden delta).
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) bias: bool,
}

impl ProductShape {
    /// `act(A_in . W + b)` of a `rows`-row batch through an
    /// `n_in -> n_out` layer (tanh, so every output depends on the sum).
    pub fn forward(rows: usize, n_in: usize, n_out: usize, bias: bool) -> Self {
        ProductShape {
            kind: MatmulKind::Forward,
            rows,
            inputs: n_in,
            outputs: n_out,
            bias,
        }
    }

    /// `(D_next . W_nextᵀ) ⊙ act'(A)` of a layer `n` wide whose next layer
    /// is `n_next` wide (sigmoid).
    pub fn hidden_delta(rows: usize, n: usize, n_next: usize) -> Self {
        ProductShape {
            kind: MatmulKind::HiddenDelta,
            rows,
            inputs: n_next,
            outputs: n,
            bias: true,
        }
    }

    /// `W_aug −= s · [A_in, 1]ᵀ . D` (plain SGD's fused update).
    pub fn sgd_update(rows: usize, n_in: usize, n_out: usize, bias: bool) -> Self {
        ProductShape {
            kind: MatmulKind::SgdUpdate,
            ..Self::forward(rows, n_in, n_out, bias)
        }
    }

    /// `G = s · [A_in, 1]ᵀ . D` (the other optimizers' gradient).
    pub fn weight_gradient(rows: usize, n_in: usize, n_out: usize, bias: bool) -> Self {
        ProductShape {
            kind: MatmulKind::WeightGradient,
            ..Self::forward(rows, n_in, n_out, bias)
        }
    }

    /// The `kind` product of `m x n` outputs over `k`, as a layer: for the
    /// weight products `m` is the layer's inputs, plus one for a bias row
    /// where that leaves a multiple of 4 (how neurona's layers come).
    pub fn of_dims(kind: MatmulKind, m: usize, n: usize, k: usize) -> Self {
        match kind {
            MatmulKind::Forward => Self::forward(m, k, n, true),
            MatmulKind::HiddenDelta => Self::hidden_delta(m, n, k),
            _ => {
                let bias = m > 1 && m % 4 == 1;
                let n_in = if bias { m - 1 } else { m };
                ProductShape {
                    kind,
                    ..Self::forward(k, n_in, n, bias)
                }
            }
        }
    }

    /// The products of one training step of a network with these widths
    /// (inputs first, every layer with a bias) on `rows`-row batches, each
    /// once: every layer's forward product, every hidden layer's delta, and
    /// every layer's update (fused into the product for plain SGD, `sgd`,
    /// else the gradient the optimizer reads).
    pub fn of_training_step(widths: &[usize], rows: usize, sgd: bool) -> Vec<ProductShape> {
        let mut all = Vec::new();
        let mut add = |s: ProductShape| {
            if !all.contains(&s) {
                all.push(s);
            }
        };
        for w in widths.windows(2) {
            add(Self::forward(rows, w[0], w[1], true));
        }
        for w in widths.windows(2).skip(1) {
            add(Self::hidden_delta(rows, w[0], w[1]));
        }
        for w in widths.windows(2) {
            add(if sgd {
                Self::sgd_update(rows, w[0], w[1], true)
            } else {
                Self::weight_gradient(rows, w[0], w[1], true)
            });
        }
        all
    }

    /// Which product.
    pub fn kind(&self) -> MatmulKind {
        self.kind
    }

    /// `(M, N, K)`: outputs `M x N`, each a sum over `K`.
    pub fn dims(&self) -> (usize, usize, usize) {
        match self.kind {
            MatmulKind::Forward | MatmulKind::HiddenDelta => (self.rows, self.outputs, self.inputs),
            _ => (self.inputs + self.bias as usize, self.outputs, self.rows),
        }
    }

    /// Multiply-adds times two.
    pub fn flop(&self) -> f64 {
        let (m, n, k) = self.dims();
        2.0 * m as f64 * n as f64 * k as f64
    }

    /// Whether the vec4 family can run it.
    pub fn vec4(&self) -> bool {
        let (i, o) = (self.inputs as u32, self.outputs as u32);
        match self.kind {
            MatmulKind::HiddenDelta => vec4_eligible(self.kind, 0, o, i),
            _ => vec4_eligible(self.kind, i, o, 0),
        }
    }

    /// Lengths of the operands: (a, b, c, aux), in floats.
    pub(crate) fn lengths(&self) -> [usize; 4] {
        let (r, i, o, b) = (self.rows, self.inputs, self.outputs, self.bias as usize);
        match self.kind {
            MatmulKind::Forward => [r * i, (i + b) * o, r * o, 0],
            // b is the next layer's [W; b]: `outputs` rows of `inputs`.
            MatmulKind::HiddenDelta => [r * i, (o + 1) * i, r * o, r * o],
            _ => [r * i, r * o, (i + b) * o, 0],
        }
    }
}

impl std::fmt::Display for ProductShape {
    /// `hidden_delta 256x256x256`: the kernel, then M x N x K.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (m, n, k) = self.dims();
        write!(f, "{} {m}x{n}x{k}", self.kind.name())
    }
}
