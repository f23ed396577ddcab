//! What target columns mean, decided once for the command line and the
//! browser page alike: classes (text labels, or a few integers) as one-hot
//! rows or one 0/1 column, several 0/1 columns as multi-label, other
//! numbers as regression; the output layer and loss each kind trains with;
//! and whether a problem is classification.

use crate::activation::Activation;
use crate::data::Table;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::memory;

/// Most distinct integer values a numeric target may have to be read as
/// classes (more, and it is a quantity to predict).
pub const MAX_INTEGER_CLASSES: usize = 20;

/// What a network learns from its target columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// One column of class labels, sorted (text in byte order, numbers by
    /// value): two classes train one sigmoid output (label 1 the positive
    /// one), more a softmax over one output per label.
    Classes { labels: Vec<String> },
    /// Several columns of 0/1: one sigmoid output each.
    MultiLabel,
    /// Numbers to predict, one output per column.
    Regression,
}

impl Task {
    /// Infer the task of target columns `columns` of `table` (rows with
    /// missing values already dropped): text, 0/1, or a few integers (at
    /// most [`MAX_INTEGER_CLASSES`] distinct, and no more than half as many
    /// as the rows) in one column are classes; several columns all 0/1 are
    /// multi-label; other numbers are regression.
    pub fn infer(table: &Table, columns: &[usize]) -> Result<Task> {
        if let [c] = columns {
            let labels = match table.text(*c) {
                Some(text) => sorted_distinct(text.iter().map(String::as_str)),
                None => match integer_labels(&table.numbers(*c)?) {
                    Some(labels) => labels,
                    None => return Ok(Task::Regression),
                },
            };
            if let [only] = labels.as_slice() {
                return Err(Error::Data(format!(
                    "{}: target column {:?} holds one class only ({only:?}) in its {} rows: a classifier needs two or more",
                    table.file,
                    table.columns[*c],
                    table.rows()
                )));
            }
            return Ok(Task::Classes { labels });
        }
        for &c in columns {
            if let Some(text) = table.text(c) {
                return Err(Error::Data(format!(
                    "{}: target column {:?} holds text ({:?}); several target columns must be numbers (0/1 for multi-label)",
                    table.file, table.columns[c], text[0]
                )));
            }
        }
        let all_binary = columns.iter().try_fold(true, |acc, &c| {
            Ok::<_, Error>(acc && table.numbers(c)?.iter().all(|v| *v == 0.0 || *v == 1.0))
        })?;
        Ok(if all_binary {
            Task::MultiLabel
        } else {
            Task::Regression
        })
    }

    /// The output layer's width for `columns` target columns.
    pub fn outputs(&self, columns: usize) -> usize {
        match self {
            Task::Classes { labels } if labels.len() == 2 => 1,
            Task::Classes { labels } => labels.len(),
            _ => columns,
        }
    }

    /// The output layer's activation.
    pub fn output_activation(&self) -> Activation {
        match self {
            Task::Classes { labels } if labels.len() > 2 => Activation::Softmax,
            Task::Classes { .. } | Task::MultiLabel => Activation::Sigmoid,
            Task::Regression => Activation::Identity,
        }
    }

    /// The loss it trains with.
    pub fn loss(&self) -> Loss {
        default_loss(self.output_activation())
    }

    /// The name, for messages and model files.
    pub fn name(&self) -> &'static str {
        match self {
            Task::Classes { .. } => "classification",
            Task::MultiLabel => "multi-label",
            Task::Regression => "regression",
        }
    }

    /// The targets of rows of `table` for this task: one-hot rows (or one
    /// 0/1 column for two classes) for class labels, the values otherwise.
    /// An error names the file line of a label the task does not know.
    pub fn encode(&self, table: &Table, columns: &[usize]) -> Result<Matrix> {
        let rows = table.rows();
        match self {
            Task::Classes { labels } => {
                let c = columns[0];
                let name = &table.columns[c];
                let text: Vec<String> = match table.text(c) {
                    Some(t) => t.to_vec(),
                    None => table.numbers(c)?.iter().map(|v| number_label(*v)).collect(),
                };
                let mut index = Vec::with_capacity(rows);
                for (r, label) in text.iter().enumerate() {
                    match labels.binary_search_by(|l| label_order(l, label)) {
                        Ok(i) => index.push(i as f32),
                        Err(_) => {
                            return Err(Error::Data(format!(
                                "{} line {}, column {name:?}: {label:?} is not one of the model's classes {labels:?}",
                                table.file, table.lines[r]
                            )));
                        }
                    }
                }
                if labels.len() == 2 {
                    return Matrix::new(rows, 1, index);
                }
                one_hot(&index, labels.len(), |r| format!("row {r}:"))
            }
            _ => table.select_columns(columns),
        }
    }
}

/// How labels sort: numbers by value when both are numbers, else bytes.
fn label_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

fn sorted_distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut labels: Vec<String> = values.map(str::to_string).collect();
    labels.sort_by(|a, b| label_order(a, b));
    labels.dedup();
    labels
}

/// An integer as its label (`3`, not `3.0`).
fn number_label(v: f32) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The sorted distinct values as labels, when they are 0/1 or a few
/// integers (no more than half as many as the rows, so an id or a count
/// stays a number).
fn integer_labels(values: &[f32]) -> Option<Vec<String>> {
    if !values.iter().all(|v| v.fract() == 0.0 && v.abs() < 1e9) {
        return None;
    }
    let mut distinct: Vec<i64> = values.iter().map(|v| *v as i64).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let binary = distinct.iter().all(|v| *v == 0 || *v == 1);
    let few = distinct.len() <= MAX_INTEGER_CLASSES && distinct.len() * 2 <= values.len();
    (binary || few).then(|| distinct.iter().map(|v| v.to_string()).collect())
}

/// The loss an output layer trains with unless told otherwise: BCE for a
/// sigmoid, cross-entropy for a softmax, MSE for anything else.
///
/// ```
/// use neurona::{Activation, Loss, targets};
/// assert_eq!(targets::default_loss(Activation::Softmax), Loss::CrossEntropy);
/// assert_eq!(targets::default_loss(Activation::Identity), Loss::Mse);
/// ```
pub fn default_loss(output: Activation) -> Loss {
    match output {
        Activation::Sigmoid => Loss::Bce,
        Activation::Softmax => Loss::CrossEntropy,
        _ => Loss::Mse,
    }
}

/// Whether a network with `output` activation trained on `targets` is a
/// classifier (accuracy and a confusion matrix mean something): one-hot
/// rows, or a single 0/1 column under a sigmoid.
pub fn is_classification(targets: &Matrix, output: Activation) -> bool {
    targets.cols() > 1
        || (output == Activation::Sigmoid
            && targets.as_slice().iter().all(|v| *v == 0.0 || *v == 1.0))
}

/// The number of classes when `values` look like class numbers 0..k-1 with
/// 3 to 64 classes (two classes stay one 0/1 column, for a sigmoid);
/// `None` otherwise.
pub fn class_count(values: &[f32]) -> Option<usize> {
    let integral = values
        .iter()
        .all(|v| v.fract() == 0.0 && *v >= 0.0 && *v < 64.0);
    let k = values.iter().fold(0.0f32, |m, v| m.max(*v)) as usize + 1;
    (integral && k > 2).then_some(k)
}

/// One-hot rows for class numbers `values`, each one of `0..classes`. An
/// error names the first value that is not, `place(row)` saying where it is
/// (e.g. a file's line and column).
///
/// ```
/// use neurona::targets::one_hot;
/// let y = one_hot(&[2.0, 0.0], 3, |r| format!("row {r}:"))?;
/// assert_eq!(y.as_slice(), &[0., 0., 1., 1., 0., 0.]);
/// let err = one_hot(&[1.5], 3, |r| format!("row {r}:")).unwrap_err();
/// assert_eq!(err.to_string(), "row 0: 1.5 is not a class number: the output layer has 3 units, for classes 0 to 2");
/// # Ok::<(), neurona::Error>(())
/// ```
pub fn one_hot(values: &[f32], classes: usize, place: impl Fn(usize) -> String) -> Result<Matrix> {
    let k = classes.max(1);
    let mut data = memory::zeros("one-hot targets", values.len().saturating_mul(k))?;
    for (r, &v) in values.iter().enumerate() {
        if v.fract() != 0.0 || v < 0.0 || v >= k as f32 {
            let what = if v.fract() != 0.0 || v < 0.0 {
                "is not a class number"
            } else {
                "is a class beyond the output width"
            };
            return Err(Error::Data(format!(
                "{} {v} {what}: the output layer has {k} units, for classes 0 to {}",
                place(r),
                k - 1
            )));
        }
        data[r * k + v as usize] = 1.0;
    }
    Matrix::new(values.len(), k, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_follow_the_target_column() {
        let t = Table::parse("t.csv", "x,species,y,a,b\n1,setosa,1.5,0,1\n2,virginica,2.5,1,1\n3,setosa,3,0,0\n4,versicolor,1,1,0\n").unwrap();
        let labels = |l: &[&str]| Task::Classes {
            labels: l.iter().map(|s| s.to_string()).collect(),
        };
        let species = labels(&["setosa", "versicolor", "virginica"]);
        assert_eq!(Task::infer(&t, &[1]).unwrap(), species);
        assert_eq!(Task::infer(&t, &[2]).unwrap(), Task::Regression);
        assert_eq!(Task::infer(&t, &[3]).unwrap(), labels(&["0", "1"]));
        assert_eq!(Task::infer(&t, &[3, 4]).unwrap(), Task::MultiLabel);
        assert_eq!(Task::infer(&t, &[2, 3]).unwrap(), Task::Regression);
        let y = species.encode(&t, &[1]).unwrap();
        assert_eq!(y.row(1), [0.0, 0.0, 1.0]);
        assert_eq!(
            (species.outputs(1), species.output_activation()),
            (3, Activation::Softmax)
        );
        let binary = labels(&["0", "1"]);
        assert_eq!(
            binary.encode(&t, &[3]).unwrap().as_slice(),
            [0.0, 1.0, 0.0, 1.0]
        );
        assert_eq!((binary.outputs(1), binary.loss()), (1, Loss::Bce));
        // Integers sort by value, and a label the model lacks is named.
        let ten = Table::parse("n.csv", "y\n10\n9\n10\n9\n").unwrap();
        assert_eq!(Task::infer(&ten, &[0]).unwrap(), labels(&["9", "10"]));
        let err = species
            .encode(&Table::parse("u.csv", "s\nsetosa\nrose\n").unwrap(), &[0])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("u.csv line 3, column \"s\": \"rose\" is not one of"),
            "{err}"
        );
    }

    #[test]
    fn classes_are_read_the_same_everywhere() {
        assert_eq!(class_count(&[0.0, 2.0, 1.0]), Some(3));
        assert_eq!(class_count(&[0.0, 1.0]), None); // two classes: one 0/1 column
        assert_eq!(class_count(&[0.0, 1.5, 2.0]), None);
        assert_eq!(class_count(&[0.0, 64.0]), None);
        let binary = Matrix::new(2, 1, vec![0.0, 1.0]).unwrap();
        assert!(is_classification(&binary, Activation::Sigmoid));
        assert!(!is_classification(&binary, Activation::Identity));
        let err = one_hot(&[0.0, 3.0], 3, |r| format!("row {r}:")).unwrap_err();
        assert!(
            err.to_string()
                .contains("row 1: 3 is a class beyond the output width")
        );
    }
}
