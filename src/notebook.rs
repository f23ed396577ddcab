//! The origin notebook's experiment as data: its four rows and its 3-4-1
//! sigmoid network without bias, starting from the weights that
//! `np.random.seed(1)` then `2*np.random.random(..) - 1` gives (as f32).
//!
//! ```
//! let (x, y) = neurona::notebook::data();
//! let mut net = neurona::notebook::network();
//! net.train(&x, &y, &neurona::TrainConfig::notebook())?;
//! let p = net.predict(&x)?;
//! assert_eq!(p.as_slice().iter().map(|v| v.round()).collect::<Vec<_>>(), [0., 1., 1., 0.]);
//! # Ok::<(), neurona::Error>(())
//! ```

use crate::activation::Activation;
use crate::layer::Layer;
use crate::matrix::Matrix;
use crate::network::Network;

/// `data_entrenamiento_x`: three inputs, the third always 1.
pub const X: [[f32; 3]; 4] = [[0., 0., 1.], [1., 1., 1.], [1., 0., 1.], [0., 1., 1.]];
/// `data_entrenamiento_y`: x0 XOR x1.
pub const Y: [[f32; 1]; 4] = [[0.], [1.], [1.], [0.]];

/// `sinapsis0` (3x4) after `np.random.seed(1)`.
pub const SINAPSIS0: [f32; 12] = [
    -0.165_955_99,
    0.440_648_97,
    -0.999_771_24,
    -0.395_334_87,
    -0.706_488_2,
    -0.815_322_8,
    -0.627_479_55,
    -0.308_878_54,
    -0.206_465_05,
    0.077_633_47,
    -0.161_610_97,
    0.370_439,
];
/// `sinapsis1` (4x1), drawn next.
pub const SINAPSIS1: [f32; 4] = [-0.591_095_5, 0.756_234_9, -0.945_224_8, 0.340_935_02];

/// The notebook's inputs and targets.
pub fn data() -> (Matrix, Matrix) {
    (
        Matrix::from_rows(&X).expect("4x3"),
        Matrix::from_rows(&Y).expect("4x1"),
    )
}

/// The notebook's network with its starting weights.
pub fn network() -> Network {
    Network::from_layers(vec![
        Layer::new(3, 4, Activation::Sigmoid, SINAPSIS0.to_vec(), None),
        Layer::new(4, 1, Activation::Sigmoid, SINAPSIS1.to_vec(), None),
    ])
    .expect("the notebook's shapes are consistent")
}
