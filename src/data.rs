//! Data from CSV files as people have them, and z-score standardisation.
//!
//! A [`Table`] is a CSV file with a header row: comma, semicolon or tab
//! separated (found from the header, or given), quoted cells, a UTF-8 byte
//! order mark, blank lines and any line ending (`\n`, `\r\n`, `\r`) all
//! read as a user would expect. Each column is numbers or text (class
//! labels); empty and `NA`-like cells are missing values. Every message
//! names the file, its real line, the column and the text found.

use std::path::Path;

use crate::error::{Error, Result};
use crate::matrix::Matrix;
use crate::memory;

/// How to read a CSV file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// The cell separator; `None` finds it from the header: the most
    /// frequent of `,`, `;` and tab (`,` when there is none of them).
    pub delimiter: Option<u8>,
}

/// Cells that stand for a missing value: empty, and the spellings R, pandas
/// and spreadsheets write.
const MISSING: [&str; 9] = ["", "NA", "N/A", "na", "NaN", "nan", "null", "NULL", "?"];

/// Whether `cell` (trimmed) is a missing value.
pub fn is_missing(cell: &str) -> bool {
    MISSING.contains(&cell)
}

/// One column's cells.
#[derive(Debug, Clone, PartialEq)]
enum Cells {
    /// Numbers, NaN where a cell is missing (no other NaN gets in).
    Numbers(Vec<f32>),
    /// Text, as written (trimmed).
    Text(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct Column {
    name: String,
    cells: Cells,
    /// In a column of numbers, the first cell that is none: its row and
    /// text ("four"; "inf" when it is a number but not finite).
    bad: Option<(usize, String)>,
}

/// A CSV file read into columns: names from the header, one row per data
/// line.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file, as named in messages.
    pub file: String,
    /// Column names, from the header.
    pub columns: Vec<String>,
    /// The file line each row came from (the header is line 1, or the
    /// line it is on).
    pub lines: Vec<u64>,
    /// The separator the file was read with.
    pub delimiter: u8,
    data: Vec<Column>,
}

/// The byte offset where each line starts, counting `\r\n`, `\n` and a
/// lone `\r` as one line break each.
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => starts.push(i + 1),
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                starts.push(i + 2);
                i += 1;
            }
            b'\r' => starts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    starts
}

/// The 1-based line of a record the csv reader places at byte `at`. Past
/// a `\r\n` the reader puts the next record at the `\n` (the line count it
/// keeps itself is one short there: BurntSushi/rust-csv#395), so line
/// breaks at `at` belong to the line before and are skipped.
fn line_of(bytes: &[u8], starts: &[usize], at: u64) -> u64 {
    let mut at = at as usize;
    while matches!(bytes.get(at), Some(b'\n' | b'\r')) {
        at += 1;
    }
    starts.partition_point(|&s| s <= at) as u64
}

/// The most frequent of `,`, `;` and tab in `header` outside quotes; `,`
/// when none occurs.
fn sniff_delimiter(header: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    counts
        .iter()
        .max_by_key(|(d, n)| (*n, *d == b','))
        .map_or(b',', |&(d, n)| if n == 0 { b',' } else { d })
}

/// `;` or `\t` as people write them in messages.
fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".into(),
        other => format!("'{}'", other as char),
    }
}

impl Table {
    /// Read a CSV file (see the module docs for what it accepts). Errors
    /// name the file, line, column and the text found.
    pub fn read_csv(path: impl AsRef<Path>) -> Result<Table> {
        Table::read_csv_with(path, &CsvOptions::default())
    }

    /// [`Table::read_csv`] with a given separator.
    pub fn read_csv_with(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Table> {
        use std::io::Read;
        let path = path.as_ref();
        let file = path.display().to_string();
        let open = |e: std::io::Error| Error::Io(format!("cannot open {file}: {e}"));
        let mut handle = std::fs::File::open(path).map_err(open)?;
        let size = handle.metadata().map_err(open)?.len();
        let mut bytes = memory::with_capacity(&format!("the text of {file}"), size as usize)?;
        handle
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Io(format!("cannot read {file}: {e}")))?;
        Table::from_bytes(file, &bytes, options)
    }

    /// A table from CSV text (a file a browser page was given), named
    /// `file` in messages; the same rules and errors as [`Table::read_csv`].
    pub fn parse(file: &str, text: &str) -> Result<Table> {
        Table::from_bytes(file.to_string(), text.as_bytes(), &CsvOptions::default())
    }

    /// [`Table::parse`] with a given separator.
    pub fn parse_with(file: &str, text: &str, options: &CsvOptions) -> Result<Table> {
        Table::from_bytes(file.to_string(), text.as_bytes(), options)
    }

    fn from_bytes(file: String, bytes: &[u8], options: &CsvOptions) -> Result<Table> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let starts = line_starts(bytes);
        // The header: the first line that is not blank.
        let header_line = (0..starts.len())
            .find(|&l| {
                let end = starts.get(l + 1).copied().unwrap_or(bytes.len());
                bytes[starts[l]..end]
                    .iter()
                    .any(|b| !b.is_ascii_whitespace())
            })
            .unwrap_or(0);
        let header_end = starts.get(header_line + 1).copied().unwrap_or(bytes.len());
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| sniff_delimiter(&bytes[starts[header_line]..header_end]));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(&file, bytes, &starts, e))?
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

        let mut data: Vec<Column> = columns
            .iter()
            .map(|name| Column {
                name: name.clone(),
                cells: Cells::Numbers(Vec::new()),
                bad: None,
            })
            .collect();
        let mut lines = Vec::new();
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .map_err(|e| csv_error(&file, bytes, &starts, e))?
        {
            let line = record
                .position()
                .map_or(0, |p| line_of(bytes, &starts, p.byte()));
            if record.len() == 1 && record[0].is_empty() {
                continue; // a blank line
            }
            if record.len() != columns.len() {
                let mut msg = format!(
                    "{file} line {line}: {} cells, but the header has {} columns",
                    record.len(),
                    columns.len()
                );
                if record.len() == 1 {
                    msg += &one_cell_hint(&record[0], delimiter);
                }
                return Err(Error::Data(msg));
            }
            let row = lines.len();
            for (cell, column) in record.iter().zip(data.iter_mut()) {
                column.push(row, cell, &file)?;
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(Error::Data(format!("{file} has a header but no data rows")));
        }
        Ok(Table {
            file,
            columns,
            lines,
            delimiter,
            data,
        })
    }

    /// Data rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The position of column `name`, or an error listing the columns.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            // A wide file's header would be a line of thousands of
            // characters: the first columns, and a near miss if any.
            const SHOWN: usize = 12;
            let mut listed: Vec<String> = self
                .columns
                .iter()
                .take(SHOWN)
                .map(|c| format!("{c:?}"))
                .collect();
            if self.columns.len() > SHOWN {
                listed.push(format!("... ({} in all)", self.columns.len()));
            }
            let near = self
                .columns
                .iter()
                .find(|c| c.trim().eq_ignore_ascii_case(name.trim()))
                .map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
            Error::Data(format!(
                "{} has no column {name:?}{near}; its columns are {}",
                self.file,
                listed.join(", ")
            ))
        })
    }

    /// The text of column `c`, when it is a column of text (labels).
    pub fn text(&self, c: usize) -> Option<&[String]> {
        match &self.data[c].cells {
            Cells::Text(t) => Some(t),
            Cells::Numbers(_) => None,
        }
    }

    /// Whether row `r` of column `c` is missing.
    pub fn is_missing_at(&self, c: usize, r: usize) -> bool {
        match &self.data[c].cells {
            Cells::Numbers(v) => {
                v[r].is_nan() && self.data[c].bad.as_ref().is_none_or(|(b, _)| *b != r)
            }
            Cells::Text(t) => is_missing(&t[r]),
        }
    }

    /// Rows with a missing value in any of `columns`, in order.
    pub fn rows_missing(&self, columns: &[usize]) -> Vec<usize> {
        (0..self.rows())
            .filter(|&r| columns.iter().any(|&c| self.is_missing_at(c, r)))
            .collect()
    }

    /// The table without rows `drop` (sorted).
    pub fn without_rows(&self, drop: &[usize]) -> Table {
        let keep = |r: &usize| drop.binary_search(r).is_err();
        let rows: Vec<usize> = (0..self.rows()).filter(keep).collect();
        let data = self
            .data
            .iter()
            .map(|col| Column {
                name: col.name.clone(),
                cells: match &col.cells {
                    Cells::Numbers(v) => Cells::Numbers(rows.iter().map(|&r| v[r]).collect()),
                    Cells::Text(t) => Cells::Text(rows.iter().map(|&r| t[r].clone()).collect()),
                },
                bad: col.bad.as_ref().and_then(|(b, text)| {
                    rows.iter()
                        .position(|r| r == b)
                        .map(|at| (at, text.clone()))
                }),
            })
            .collect();
        Table {
            file: self.file.clone(),
            columns: self.columns.clone(),
            lines: rows.iter().map(|&r| self.lines[r]).collect(),
            delimiter: self.delimiter,
            data,
        }
    }

    /// Column `c` as numbers: an error naming the line and the text at the
    /// first cell that is not a finite number or is missing.
    pub fn numbers(&self, c: usize) -> Result<Vec<f32>> {
        let col = &self.data[c];
        let at = |r: usize| {
            format!(
                "{} line {}, column {:?}",
                self.file, self.lines[r], col.name
            )
        };
        match &col.cells {
            Cells::Text(t) => {
                let (r, cell) = t
                    .iter()
                    .enumerate()
                    .find(|(_, cell)| !is_missing(cell))
                    .unwrap_or((0, &t[0]));
                Err(Error::Data(format!(
                    "{}: {cell:?} is not a number{}",
                    at(r),
                    self.one_column_hint(cell)
                )))
            }
            Cells::Numbers(v) => {
                let first_missing = v.iter().position(|x| x.is_nan());
                match (&col.bad, first_missing) {
                    (Some((r, text)), Some(m)) if m >= *r => Err(bad_number(&at(*r), text, self)),
                    (Some((r, text)), None) => Err(bad_number(&at(*r), text, self)),
                    (_, Some(m)) => Err(Error::Data(format!(
                        "{}: the value is missing ({:?}); --drop-missing leaves out rows with missing values",
                        at(m),
                        "NA or empty"
                    ))),
                    (None, None) => Ok(v.clone()),
                }
            }
        }
    }

    /// When the file was read as one column whose header holds another
    /// separator: which, and the flag that reads it (else empty).
    pub fn separator_hint(&self) -> String {
        if self.columns.len() == 1 {
            one_cell_hint(&self.columns[0], self.delimiter)
                .replace("the whole row is", "the header is")
        } else {
            String::new()
        }
    }

    /// A hint when a file read as one column holds another separator.
    fn one_column_hint(&self, cell: &str) -> String {
        if self.columns.len() == 1 {
            one_cell_hint(cell, self.delimiter)
        } else {
            String::new()
        }
    }

    /// The columns `names`, in that order, as a matrix of numbers.
    pub fn select(&self, names: &[String]) -> Result<Matrix> {
        let idx = names
            .iter()
            .map(|n| self.column(n))
            .collect::<Result<Vec<_>>>()?;
        self.select_columns(&idx)
    }

    /// The columns at `idx`, in that order, as a matrix of numbers.
    pub fn select_columns(&self, idx: &[usize]) -> Result<Matrix> {
        let count = self.rows().saturating_mul(idx.len());
        let mut data =
            memory::with_capacity(&format!("{} columns of {}", idx.len(), self.file), count)?;
        let columns = idx
            .iter()
            .map(|&c| self.numbers(c))
            .collect::<Result<Vec<_>>>()?;
        for r in 0..self.rows() {
            data.extend(columns.iter().map(|col| col[r]));
        }
        Matrix::new(self.rows(), idx.len(), data)
    }

    /// Every column but `target`, in file order, as numbers, and their
    /// names.
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

fn bad_number(at: &str, text: &str, table: &Table) -> Error {
    let finite = if text.parse::<f32>().is_ok() {
        " finite"
    } else {
        ""
    };
    Error::Data(format!(
        "{at}: {text:?} is not a{finite} number{}",
        table.one_column_hint(text)
    ))
}

/// When a whole row sits in one cell that holds another separator: say
/// which, and the flag that reads it.
fn one_cell_hint(cell: &str, delimiter: u8) -> String {
    [b';', b'\t', b',']
        .into_iter()
        .filter(|d| *d != delimiter)
        .find(|d| cell.as_bytes().contains(d))
        .map(|d| {
            format!(
                " (the whole row is one cell: is the file separated by {}? use --delimiter {})",
                delimiter_name(d),
                match d {
                    b'\t' => "tab".to_string(),
                    other => (other as char).to_string(),
                }
            )
        })
        .unwrap_or_default()
}

impl Column {
    /// Add row `row`'s `cell`.
    fn push(&mut self, row: usize, cell: &str, file: &str) -> Result<()> {
        let missing = is_missing(cell);
        match &mut self.cells {
            Cells::Text(t) => {
                memory::reserve(t, 1, &format!("the text of {file}"))?;
                t.push(cell.to_string());
            }
            Cells::Numbers(v) => {
                memory::reserve(v, 1, &format!("the values of {file}"))?;
                match cell.parse::<f32>() {
                    _ if missing => v.push(f32::NAN),
                    Ok(x) if x.is_finite() => v.push(x),
                    parsed => {
                        if parsed.is_err() && self.bad.is_none() && v.iter().all(|x| x.is_nan()) {
                            // Text from the start (missing cells aside):
                            // a column of labels.
                            let mut text: Vec<String> = vec![String::new(); v.len()];
                            text.push(cell.to_string());
                            self.cells = Cells::Text(text);
                        } else {
                            if self.bad.is_none() {
                                self.bad = Some((row, cell.to_string()));
                            }
                            v.push(f32::NAN);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn csv_error(file: &str, bytes: &[u8], starts: &[usize], e: csv::Error) -> Error {
    let at = e
        .position()
        .map(|p| format!(" line {}", line_of(bytes, starts, p.byte())))
        .unwrap_or_default();
    match e.kind() {
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

    /// Standardised values back in the original units: `z · scale + mean`.
    pub fn invert(&self, z: &Matrix) -> Result<Matrix> {
        if z.cols() != self.mean.len() {
            return Err(Error::InputWidth {
                expected: self.mean.len(),
                got: z.cols(),
            });
        }
        let mut out = memory::with_capacity("values in their own units", z.as_slice().len())?;
        out.extend_from_slice(z.as_slice());
        for row in out.chunks_exact_mut(z.cols()) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = *v * s + m;
            }
        }
        Matrix::new(z.rows(), z.cols(), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_for_every_line_ending() {
        for (text, bad_line) in [
            ("a,b\n1,2\n3,x\n", 3),
            ("a,b\r\n1,2\r\n3,x\r\n", 3),
            ("a,b\r1,2\r3,x\r", 3),
            ("a,b\n\n1,2\n\n\n3,x\n", 6),
            ("\u{feff}a,b\n1,2\n3,x", 3),
            ("a;b\r\n1;2\r\n\r\n3;x\r\n", 4),
        ] {
            let t = Table::parse("t.csv", text).unwrap();
            let err = t.numbers(1).unwrap_err().to_string();
            let want = format!("t.csv line {bad_line}, column \"b\": \"x\" is not a number");
            assert_eq!(err, want, "{text:?}");
            assert_eq!(t.numbers(0).unwrap(), [1.0, 3.0]);
        }
    }

    #[test]
    fn separators_labels_and_missing_values() {
        let t = Table::parse("t.csv", "a\tb\tlabel\n1\t\"2\"\tsetosa\nNA\t4\tvirginica\n").unwrap();
        assert_eq!(t.delimiter, b'\t');
        assert_eq!(t.text(2).unwrap(), ["setosa", "virginica"]);
        assert_eq!(t.rows_missing(&[0, 1]), [1]);
        let err = t.numbers(0).unwrap_err().to_string();
        assert!(
            err.contains("line 3, column \"a\": the value is missing"),
            "{err}"
        );
        assert!(err.contains("--drop-missing"), "{err}");
        let kept = t.without_rows(&[1]);
        assert_eq!(
            (kept.numbers(0).unwrap(), kept.lines.clone()),
            (vec![1.0], vec![2])
        );
        // A row in one cell: the other separator is named.
        let one = Table::parse_with(
            "o.csv",
            "a;b\n1;2\n",
            &CsvOptions {
                delimiter: Some(b','),
            },
        )
        .unwrap();
        let err = one.numbers(0).unwrap_err().to_string();
        assert!(
            err.contains("is the file separated by ';'? use --delimiter ;"),
            "{err}"
        );
        let err = Table::parse("r.csv", "a,b,c\n1;2;3\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "r.csv line 2: 1 cells, but the header has 3 columns (the whole row is one cell"
            ),
            "{err}"
        );
    }
}
