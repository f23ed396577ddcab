//! Small problems made from a seed, the same on every machine: the origin
//! notebook's four rows, the lesson's spam neuron, and 2-D classification
//! sets (two moons, circles, spirals) for watching a decision boundary
//! form. The examples and the browser page train on these.

use std::f32::consts::PI;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::matrix::Matrix;

/// Inputs, targets and the input columns' names.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// One row per sample.
    pub inputs: Matrix,
    /// One row per sample: a 0/1 column, or one-hot classes.
    pub targets: Matrix,
    /// The input columns' names.
    pub features: Vec<String>,
}

/// The notebook's four rows (`data_entrenamiento_x`, `_y`).
pub fn notebook() -> Problem {
    let (inputs, targets) = crate::notebook::data();
    Problem {
        inputs,
        targets,
        features: vec!["x0".into(), "x1".into(), "x2".into()],
    }
}

/// The lesson's spam neuron: `rows` messages with four counts (links,
/// capitals as a share, "free" words, exclamation marks) and a 0/1 label
/// from a noisy linear rule. `examples/neuron.rs` uses seed 2024.
pub fn spam(rows: usize, seed: u64) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::with_capacity(rows * 4), Vec::with_capacity(rows));
    for _ in 0..rows {
        let links = rng.random_range(0..8) as f32;
        let capitals: f32 = rng.random_range(0.0..0.6);
        let free_words = rng.random_range(0..4) as f32;
        let exclamations = rng.random_range(0..6) as f32;
        let noise: f32 = rng.random_range(-1.0..1.0);
        let score = 0.9 * links + 4.0 * capitals + 1.5 * free_words + 0.4 * exclamations - 8.0;
        x.extend([links, capitals, free_words, exclamations]);
        y.push((score + noise > 0.0) as u8 as f32);
    }
    Problem {
        inputs: Matrix::new(rows, 4, x).expect("rows x 4"),
        targets: Matrix::new(rows, 1, y).expect("rows x 1"),
        features: ["links", "capitals", "free_words", "exclamations"]
            .map(String::from)
            .to_vec(),
    }
}

/// Which 2-D set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Two interleaved half circles.
    Moons,
    /// A ring around a disc.
    Circles,
    /// Two arms of a spiral, wound once and a half.
    Spirals,
}

impl Shape {
    /// `moons`, `circles` or `spirals`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Moons => "moons",
            Shape::Circles => "circles",
            Shape::Spirals => "spirals",
        }
    }
}

/// `rows` points of `shape` in 2-D, half of each class, with Gaussian-like
/// noise of spread `noise`; targets one-hot over 2 classes.
pub fn two_d(shape: Shape, rows: usize, noise: f32, seed: u64) -> Result<Problem> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(rows * 2);
    let mut y = Vec::with_capacity(rows * 2);
    for i in 0..rows {
        let class = i % 2;
        let u: f32 = rng.random_range(0.0..1.0);
        let (px, py) = match shape {
            Shape::Moons => {
                let a = PI * u;
                if class == 0 {
                    (a.cos(), a.sin())
                } else {
                    (1.0 - a.cos(), 0.5 - a.sin())
                }
            }
            Shape::Circles => {
                let a = 2.0 * PI * u;
                let r = if class == 0 { 1.0 } else { 0.45 };
                (r * a.cos(), r * a.sin())
            }
            Shape::Spirals => {
                let t = 0.25 + 3.0 * PI * u;
                let a = t + PI * class as f32;
                (t * a.cos() / (3.0 * PI), t * a.sin() / (3.0 * PI))
            }
        };
        // The sum of three uniforms: a cheap bell-shaped noise.
        let mut bell =
            || (0..3).map(|_| rng.random_range(-1.0f32..1.0)).sum::<f32>() / 3.0f32.sqrt();
        x.extend([px + noise * bell(), py + noise * bell()]);
        y.extend(if class == 0 { [1.0, 0.0] } else { [0.0, 1.0] });
    }
    Ok(Problem {
        inputs: Matrix::new(rows, 2, x)?,
        targets: Matrix::new(rows, 2, y)?,
        features: vec!["x".into(), "y".into()],
    })
}
