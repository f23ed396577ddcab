//! Data from CSV files: a header row, numeric cells, a target column chosen
//! by name; and z-score standardisation.

use std::path::Path;

use crate::error::{Error, Result};
use crate::matrix::Matrix;
use crate::memory;

/// A CSV file read into numbers: column names from the header, one row per
/// data line.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file, as named in messages.
    pub file: String,
    /// Column names, from the header.
    pub columns: Vec<String>,
    /// The values, row-major, `rows x columns.len()`.
    pub values: Matrix,
    /// The file line each row came from (the header is line 1).
    pub lines: Vec<u64>,
}

impl Table {
    /// Read a CSV file with a header row. Every cell must be a finite
    /// number; rows must have as many cells as the header; the file must
    /// have at least one data row. Errors name the file, line, column and
    /// the text found.
    pub fn read_csv(path: impl AsRef<Path>) -> Result<Table> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let handle =
            std::fs::File::open(path).map_err(|e| Error::Io(format!("cannot open {file}: {e}")))?;
        Table::from_reader(file, std::io::BufReader::new(handle))
    }

    /// A table from CSV text (a file a browser page was given), named
    /// `file` in messages; the same rules and errors as [`Table::read_csv`].
    pub fn parse(file: &str, text: &str) -> Result<Table> {
        Table::from_reader(file.to_string(), text.as_bytes())
    }

    fn from_reader(file: String, source: impl std::io::Read) -> Result<Table> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(source);
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(&file, e))?
            .iter()
            .map(str::to_string)
            .collect();
        if columns.is_empty() || columns.iter().all(String::is_empty) {
            return Err(Error::Data(format!(
                "{file} is empty: expected a header row, then data rows"
            )));
        }
        for (i, name) in columns.iter().enumerate() {
            if columns[..i].contains(name) {
                return Err(Error::Data(format!(
                    "{file}: column {name:?} appears twice in the header"
                )));
            }
        }

        let mut data = Vec::new();
        let mut lines = Vec::new();
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .map_err(|e| csv_error(&file, e))?
        {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1 && record[0].is_empty() {
                continue; // a blank line
            }
            memory::reserve(&mut data, columns.len(), &format!("the values of {file}"))?;
            for (cell, name) in record.iter().zip(&columns) {
                let value: f32 = cell.parse().map_err(|_| {
                    Error::Data(format!(
                        "{file} line {line}, column {name:?}: {cell:?} is not a number"
                    ))
                })?;
                if !value.is_finite() {
                    return Err(Error::Data(format!(
                        "{file} line {line}, column {name:?}: {cell:?} is not a finite number"
                    )));
                }
                data.push(value);
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(Error::Data(format!("{file} has a header but no data rows")));
        }
        let values = Matrix::new(lines.len(), columns.len(), data)?;
        Ok(Table {
            file,
            columns,
            values,
            lines,
        })
    }

    /// The position of column `name`, or an error listing the columns.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            Error::Data(format!(
                "{} has no column {name:?}; its columns are {}",
                self.file,
                self.columns
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// The columns `names`, in that order, as a matrix.
    pub fn select(&self, names: &[String]) -> Result<Matrix> {
        let idx = names
            .iter()
            .map(|n| self.column(n))
            .collect::<Result<Vec<_>>>()?;
        let count = self.values.rows().saturating_mul(idx.len());
        let mut data =
            memory::with_capacity(&format!("{} columns of {}", idx.len(), self.file), count)?;
        for r in 0..self.values.rows() {
            let row = self.values.row(r);
            data.extend(idx.iter().map(|&c| row[c]));
        }
        Matrix::new(self.values.rows(), idx.len(), data)
    }

    /// Every column but `target`, in file order, and their names.
    pub fn features_without(&self, target: &str) -> Result<(Matrix, Vec<String>)> {
        let t = self.column(target)?;
        let names: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != t)
            .map(|(_, c)| c.clone())
            .collect();
        if names.is_empty() {
            return Err(Error::Data(format!(
                "{} has only the target column {target:?}; there are no features to learn from",
                self.file
            )));
        }
        Ok((self.select(&names)?, names))
    }
}

fn csv_error(file: &str, e: csv::Error) -> Error {
    let at = e
        .position()
        .map(|p| format!(" line {}", p.line()))
        .unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Error::Data(format!(
            "{file}{at}: {len} cells, but the header has {expected_len} columns"
        )),
        csv::ErrorKind::Io(io) => Error::Io(format!("cannot read {file}: {io}")),
        csv::ErrorKind::Utf8 { .. } => Error::Data(format!("{file}{at}: not UTF-8 text")),
        _ => Error::Data(format!("{file}{at}: {e}")),
    }
}

/// Per-column z-scores: `(x − mean) / scale`, with the mean and the
/// (population) standard deviation of the data it was fitted on. A column
/// whose values are all equal keeps scale 1, so it becomes 0, not NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f32>,
    /// Column standard deviations (1 where a column does not vary).
    pub scale: Vec<f32>,
}

impl Standardizer {
    /// Fit to the columns of `x` (sums in f64).
    pub fn fit(x: &Matrix) -> Standardizer {
        let (rows, cols) = (x.rows().max(1) as f64, x.cols());
        let mut mean = vec![0.0f64; cols];
        for r in 0..x.rows() {
            for (m, v) in mean.iter_mut().zip(x.row(r)) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows);
        let mut var = vec![0.0f64; cols];
        for r in 0..x.rows() {
            for ((s, v), m) in var.iter_mut().zip(x.row(r)).zip(&mean) {
                *s += (*v as f64 - m).powi(2);
            }
        }
        let scale = var
            .iter()
            .map(|v| {
                let sd = (v / rows).sqrt() as f32;
                if sd > 0.0 && sd.is_finite() { sd } else { 1.0 }
            })
            .collect();
        Standardizer {
            mean: mean.iter().map(|m| *m as f32).collect(),
            scale,
        }
    }

    /// `x` standardised (an error if its width differs from the fit's).
    pub fn apply(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols() != self.mean.len() {
            return Err(Error::InputWidth {
                expected: self.mean.len(),
                got: x.cols(),
            });
        }
        let mut out = memory::with_capacity("the standardised inputs", x.as_slice().len())?;
        out.extend_from_slice(x.as_slice());
        for row in out.chunks_exact_mut(x.cols()) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = (*v - m) / s;
            }
        }
        Matrix::new(x.rows(), x.cols(), out)
    }
}
