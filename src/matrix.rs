//! A row-major matrix of `f32`: rows are samples, columns are features.

use crate::error::{Error, Result};

/// A dense row-major `rows x cols` matrix of `f32`.
///
/// Batches of inputs, targets and predictions are matrices whose rows are
/// samples.
///
/// ```
/// use neurona::Matrix;
/// let x = Matrix::from_rows(&[[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])?;
/// assert_eq!((x.rows(), x.cols()), (2, 3));
/// assert_eq!(x.row(1), &[1.0, 1.0, 1.0]);
/// # Ok::<(), neurona::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// A matrix from row-major data; `data.len()` must be `rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::MatrixShape {
                rows,
                cols,
                len: data.len(),
            });
        }
        Ok(Matrix { rows, cols, data })
    }

    /// A matrix from rows that must all have the same width.
    pub fn from_rows<R: AsRef<[f32]>>(rows: &[R]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != cols {
                return Err(Error::RaggedRow {
                    row: i,
                    expected: cols,
                    got: row.len(),
                });
            }
            data.extend_from_slice(row);
        }
        Ok(Matrix {
            rows: rows.len(),
            cols,
            data,
        })
    }

    /// A `rows x cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Number of rows (samples).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` as a slice. Panics if `i >= rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The element at row `r`, column `c`, if it exists.
    pub fn get(&self, r: usize, c: usize) -> Option<f32> {
        (r < self.rows && c < self.cols).then(|| self.data[r * self.cols + c])
    }

    /// All values, row after row.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The row-major data, giving up the matrix.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// The first NaN or infinite value as `(row, col, value)`.
    pub(crate) fn first_non_finite(&self) -> Option<(usize, usize, f32)> {
        let i = self.data.iter().position(|v| !v.is_finite())?;
        Some((i / self.cols, i % self.cols, self.data[i]))
    }
}
