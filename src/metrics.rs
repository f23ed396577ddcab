//! How well a classifier does: [`accuracy`] and the [`ConfusionMatrix`].
//!
//! Classes are read the same way everywhere: with several outputs, a row's
//! class is its arg-max (the first one on ties), for predictions and
//! one-hot targets alike; with one output, the class is 1 above 0.5 and 0
//! otherwise.

use std::fmt;

use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// The class of each row of `m` (arg-max, or a 0.5 threshold for one column).
pub fn classes(m: &Matrix) -> Vec<usize> {
    (0..m.rows())
        .map(|r| {
            let row = m.row(r);
            if row.len() == 1 {
                (row[0] > 0.5) as usize
            } else {
                row.iter()
                    .enumerate()
                    .fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
            }
        })
        .collect()
}

/// Rows whose predicted class is the target's, over all rows.
///
/// ```
/// use neurona::{Matrix, accuracy};
/// let p = Matrix::from_rows(&[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])?;
/// let y = Matrix::from_rows(&[[1., 0., 0.], [0., 1., 0.]])?;
/// assert_eq!(accuracy(&p, &y)?, 0.5);
/// # Ok::<(), neurona::Error>(())
/// ```
pub fn accuracy(predictions: &Matrix, targets: &Matrix) -> Result<f64> {
    let m = ConfusionMatrix::new(predictions, targets)?;
    Ok(m.accuracy())
}

/// `counts[actual][predicted]`: how many rows of each target class were
/// predicted as each class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    /// Row `a`, column `p`: rows of class `a` predicted as `p`.
    pub counts: Vec<Vec<usize>>,
}

impl ConfusionMatrix {
    /// Count predictions against targets (same shape; a one-column pair is
    /// two classes, 0 and 1).
    pub fn new(predictions: &Matrix, targets: &Matrix) -> Result<Self> {
        if predictions.rows() != targets.rows() || predictions.cols() != targets.cols() {
            return Err(Error::Config(format!(
                "predictions are {}x{} but targets are {}x{}",
                predictions.rows(),
                predictions.cols(),
                targets.rows(),
                targets.cols()
            )));
        }
        let k = predictions.cols().max(2);
        let mut counts = vec![vec![0; k]; k];
        for (a, p) in classes(targets).into_iter().zip(classes(predictions)) {
            counts[a][p] += 1;
        }
        Ok(ConfusionMatrix { counts })
    }

    /// Rows counted.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Rows on the diagonal.
    pub fn correct(&self) -> usize {
        (0..self.counts.len()).map(|i| self.counts[i][i]).sum()
    }

    /// `correct / total` (0 for no rows).
    pub fn accuracy(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            n => self.correct() as f64 / n as f64,
        }
    }
}

impl fmt::Display for ConfusionMatrix {
    /// A table: one row per actual class, one column per predicted class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.counts.len();
        let width = self
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1)
            .max(k.to_string().len() + 1);
        write!(f, "{:>10}", "actual \\ predicted")?;
        for p in 0..k {
            write!(f, " {:>width$}", format!("{p}"))?;
        }
        for (a, row) in self.counts.iter().enumerate() {
            writeln!(f)?;
            write!(f, "{a:>18}")?;
            for c in row {
                write!(f, " {c:>width$}")?;
            }
        }
        Ok(())
    }
}
