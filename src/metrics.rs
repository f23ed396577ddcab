//! How well a network does: for classifiers [`accuracy`], the
//! [`ConfusionMatrix`], per-class scores in a [`ClassReport`] and
//! [`roc_auc`]; for regression the errors and R² of a [`RegressionReport`].
//!
//! Classes are read the same way everywhere: with several outputs, a row's
//! class is its arg-max (the first one on ties), for predictions and
//! one-hot targets alike; with one output, the class is 1 above 0.5 and 0
//! otherwise ([`classes_at`] and the `threshold` arguments move that cut
//! for predictions).
//!
//! The scores follow scikit-learn's conventions, named on each item, so
//! numbers can be compared with a Python run of the same predictions.

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

/// The class of each row of `m`, with a chosen cut for one column: class 1
/// when the value is `>= threshold` (at, not only above, unlike
/// [`classes`]), else 0; a NaN value (or a NaN threshold) is class 0. With
/// several columns the class is the arg-max, the first on ties, as in
/// [`classes`], and `threshold` is not used.
///
/// ```
/// use neurona::{Matrix, metrics::classes_at};
/// let p = Matrix::from_rows(&[[0.2], [0.3], [0.5], [0.9]])?;
/// assert_eq!(classes_at(&p, 0.5), [0, 0, 1, 1]);
/// assert_eq!(classes_at(&p, 0.3), [0, 1, 1, 1]);
/// # Ok::<(), neurona::Error>(())
/// ```
pub fn classes_at(m: &Matrix, threshold: f32) -> Vec<usize> {
    if m.cols() != 1 {
        return classes(m);
    }
    m.as_slice()
        .iter()
        .map(|v| (*v >= threshold) as usize)
        .collect()
}

/// `Err` naming both shapes unless predictions and targets have the same
/// rows and columns.
fn same_shape(predictions: &Matrix, targets: &Matrix) -> Result<()> {
    if predictions.rows() != targets.rows() || predictions.cols() != targets.cols() {
        return Err(Error::Config(format!(
            "predictions are {}x{} but targets are {}x{}",
            predictions.rows(),
            predictions.cols(),
            targets.rows(),
            targets.cols()
        )));
    }
    Ok(())
}

/// `Err` for a NaN threshold: every comparison with it is false, so every
/// row would silently be class 0.
fn check_threshold(threshold: f32) -> Result<()> {
    if threshold.is_nan() {
        return Err(Error::Config(
            "the classification threshold is NaN; it must be a number".to_string(),
        ));
    }
    Ok(())
}

/// `Err` at the first NaN or infinite value of either matrix: scikit-learn
/// refuses them too, and a score of NaN would not say where it came from.
fn check_finite(predictions: &Matrix, targets: &Matrix) -> Result<()> {
    for (what, m) in [("predictions", predictions), ("targets", targets)] {
        if let Some((row, col, value)) = m.first_non_finite() {
            return Err(Error::NonFinite {
                what: what.to_string(),
                row,
                col,
                value,
            });
        }
    }
    Ok(())
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
        same_shape(predictions, targets)?;
        Ok(Self::count(
            predictions.cols(),
            &classes(predictions),
            &classes(targets),
        ))
    }

    /// Like [`ConfusionMatrix::new`], but a one-column prediction is class 1
    /// when it is `>= threshold` ([`classes_at`]); targets are still read
    /// with [`classes`] (above 0.5). Several columns: arg-max, threshold
    /// unused. `Err` for different shapes or a NaN threshold; 0 rows give
    /// all-zero counts.
    pub fn with_threshold(predictions: &Matrix, targets: &Matrix, threshold: f32) -> Result<Self> {
        same_shape(predictions, targets)?;
        check_threshold(threshold)?;
        Ok(Self::count(
            predictions.cols(),
            &classes_at(predictions, threshold),
            &classes(targets),
        ))
    }

    /// The counts of `cols.max(2)` classes (one column is classes 0 and 1).
    fn count(cols: usize, predicted: &[usize], actual: &[usize]) -> Self {
        let k = cols.max(2);
        let mut counts = vec![vec![0; k]; k];
        for (a, p) in actual.iter().zip(predicted) {
            counts[*a][*p] += 1;
        }
        ConfusionMatrix { counts }
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

    /// The table of `Display` with `labels[i]` naming class `i` on both
    /// axes, right-aligned; columns are as wide as the longest label or
    /// count. A class without a label (`labels` too short) is shown by its
    /// number; extra labels are ignored.
    pub fn labelled(&self, labels: &[String]) -> String {
        let k = self.counts.len();
        let names: Vec<String> = (0..k).map(|i| label(labels, i)).collect();
        let width = self
            .counts
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .chain(names.iter().map(|n| n.chars().count()))
            .max()
            .unwrap_or(1);
        let corner = "actual \\ predicted";
        let head = names
            .iter()
            .map(|n| n.chars().count())
            .chain([corner.len()])
            .max()
            .unwrap_or(0);
        let mut out = format!("{corner:>head$}");
        for name in &names {
            out.push_str(&format!(" {name:>width$}"));
        }
        for (name, row) in names.iter().zip(&self.counts) {
            out.push_str(&format!("\n{name:>head$}"));
            for c in row {
                out.push_str(&format!(" {c:>width$}"));
            }
        }
        out
    }
}

/// `labels[i]`, or `i` written out where there is no such label.
fn label(labels: &[String], i: usize) -> String {
    labels.get(i).cloned().unwrap_or_else(|| i.to_string())
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

/// `x / d`, or 0 when `d` is 0: scikit-learn's `zero_division=0`.
fn ratio(x: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { x as f64 / d as f64 }
}

/// The mean of `values`, 0 for none.
fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    match values.len() {
        0 => 0.0,
        n => values.sum::<f64>() / n as f64,
    }
}

/// How well one class is found, as scikit-learn's
/// `precision_recall_fscore_support(average=None, zero_division=0)` gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassScores {
    /// Of the rows predicted as this class, the share that are: `tp / (tp +
    /// fp)`, 0 when the class is never predicted.
    pub precision: f64,
    /// Of the rows of this class, the share predicted as it: `tp / (tp +
    /// fn)`, 0 when the class never occurs.
    pub recall: f64,
    /// `2PR / (P + R)`, 0 when both are 0; computed as `2tp / (2tp + fp +
    /// fn)`, the same number with one rounding, as scikit-learn does.
    pub f1: f64,
    /// Rows whose target is this class.
    pub support: usize,
}

/// A classifier's scores: per class, their macro averages, accuracy, the
/// confusion matrix and, for two classes, the ROC AUC.
///
/// Classes are those of the [`ConfusionMatrix`]: one per column, or 0 and 1
/// for one column, all of them counted in the averages even when a class
/// never occurs (scikit-learn's `average='macro'` with `labels=range(k)`).
///
/// ```
/// use neurona::{Matrix, metrics::ClassReport};
/// let p = Matrix::from_rows(&[[0.9], [0.4], [0.6], [0.2]])?;
/// let y = Matrix::from_rows(&[[1.], [1.], [0.], [0.]])?;
/// let report = ClassReport::new(&p, &y, 0.5)?;
/// assert_eq!(report.accuracy, 0.5);
/// assert_eq!(report.per_class[1].recall, 0.5);
/// assert_eq!(report.roc_auc, Some(0.75));
/// # Ok::<(), neurona::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClassReport {
    /// One entry per class, in class order.
    pub per_class: Vec<ClassScores>,
    /// Rows predicted right, over all rows (0 for no rows).
    pub accuracy: f64,
    /// The unweighted mean of the per-class precisions.
    pub macro_precision: f64,
    /// The unweighted mean of the per-class recalls.
    pub macro_recall: f64,
    /// The unweighted mean of the per-class F1 scores (not the F1 of the
    /// macro precision and recall), as scikit-learn's `average='macro'`.
    pub macro_f1: f64,
    /// What the scores were computed from.
    pub confusion: ConfusionMatrix,
    /// Area under the ROC curve, for binary problems only (one column, or
    /// exactly two): see [`roc_auc`]. `None` for more classes, when the
    /// targets hold only one class, or for no rows.
    pub roc_auc: Option<f64>,
}

impl ClassReport {
    /// Score `predictions` against `targets` (same shape). Classes are read
    /// as in [`ConfusionMatrix::with_threshold`]: a one-column prediction
    /// is class 1 when `>= threshold`, several columns by arg-max. The ROC
    /// AUC ranks the prediction itself (one column) or its column 1 (two
    /// columns), whatever the threshold.
    ///
    /// `Err` for different shapes, a NaN threshold, or a NaN or infinite
    /// value. 0 rows give every score 0, supports 0 and no ROC AUC.
    pub fn new(predictions: &Matrix, targets: &Matrix, threshold: f32) -> Result<ClassReport> {
        same_shape(predictions, targets)?;
        check_finite(predictions, targets)?;
        let confusion = ConfusionMatrix::with_threshold(predictions, targets, threshold)?;
        let counts = &confusion.counts;
        let k = counts.len();
        let per_class: Vec<ClassScores> = (0..k)
            .map(|c| {
                let tp = counts[c][c];
                let support: usize = counts[c].iter().sum();
                let predicted: usize = counts.iter().map(|row| row[c]).sum();
                ClassScores {
                    precision: ratio(tp, predicted),
                    recall: ratio(tp, support),
                    f1: ratio(2 * tp, support + predicted),
                    support,
                }
            })
            .collect();
        let scores: Option<Vec<f32>> = match predictions.cols() {
            1 => Some(predictions.as_slice().to_vec()),
            2 => Some(
                (0..predictions.rows())
                    .map(|r| predictions.row(r)[1])
                    .collect(),
            ),
            _ => None,
        };
        let roc_auc = scores.and_then(|s| {
            let positive: Vec<bool> = classes(targets).into_iter().map(|c| c == 1).collect();
            roc_auc(&s, &positive)
        });
        Ok(ClassReport {
            accuracy: confusion.accuracy(),
            macro_precision: mean(per_class.iter().map(|s| s.precision)),
            macro_recall: mean(per_class.iter().map(|s| s.recall)),
            macro_f1: mean(per_class.iter().map(|s| s.f1)),
            per_class,
            confusion,
            roc_auc,
        })
    }

    /// The `Display` table with `labels[i]` naming class `i`'s row (its
    /// number where `labels` is too short).
    pub fn labelled(&self, labels: &[String]) -> String {
        let names: Vec<String> = (0..self.per_class.len())
            .map(|i| label(labels, i))
            .collect();
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .chain(["macro avg".len()])
            .max()
            .unwrap_or(0);
        let total = self.confusion.total();
        let blank = "";
        // scikit-learn's classification_report layout, 4 decimals.
        let mut out = format!(
            "{blank:>width$}  {:>9} {:>9} {:>9} {:>9}\n",
            "precision", "recall", "f1-score", "support"
        );
        for (name, s) in names.iter().zip(&self.per_class) {
            out.push_str(&format!(
                "\n{name:>width$}  {:>9.4} {:>9.4} {:>9.4} {:>9}",
                s.precision, s.recall, s.f1, s.support
            ));
        }
        out.push_str(&format!(
            "\n\n{:>width$}  {blank:>9} {blank:>9} {:>9.4} {total:>9}",
            "accuracy", self.accuracy
        ));
        out.push_str(&format!(
            "\n{:>width$}  {:>9.4} {:>9.4} {:>9.4} {total:>9}",
            "macro avg", self.macro_precision, self.macro_recall, self.macro_f1
        ));
        if let Some(auc) = self.roc_auc {
            out.push_str(&format!("\n\nROC AUC {auc:.4}"));
        }
        out
    }
}

impl fmt::Display for ClassReport {
    /// One row per class (precision, recall, f1, support), then accuracy
    /// and the macro averages, then the ROC AUC when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.labelled(&[]))
    }
}

/// The area under the ROC curve: the chance that a random positive row
/// scores above a random negative one, ties counting one half (the
/// Mann-Whitney U over `positives x negatives`), the number
/// `sklearn.metrics.roc_auc_score(positive, scores)` gives.
///
/// Sorts once and averages the ranks of tied scores, so O(n log n); sums in
/// f64. `None` when the lengths differ, a score is NaN, or `positive` holds
/// only one class (or nothing): the area is not defined then.
///
/// ```
/// use neurona::metrics::roc_auc;
/// assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
/// assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
/// assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
/// ```
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_pos = positive.iter().filter(|p| **p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Sum the 1-based ranks of the positives; a run of equal scores (by
    // `==`, so -0 and +0 tie, and total_cmp puts them side by side) shares
    // the mean of its ranks.
    let mut rank_sum = 0.0f64;
    let mut start = 0;
    while start < order.len() {
        let score = scores[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|i| scores[**i] == score)
                .count();
        let positives = order[start..end].iter().filter(|i| positive[**i]).count();
        rank_sum += (start + 1 + end) as f64 / 2.0 * positives as f64;
        start = end;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// How far one output's predictions are from its targets, as
/// `sklearn.metrics`' `mean_squared_error`, `root_mean_squared_error`,
/// `mean_absolute_error` and `r2_score` (`multioutput='raw_values'`) give
/// them.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputScores {
    /// The mean of `(ŷ - y)²` over rows (no ½ factor, unlike the MSE loss's
    /// gradient convention).
    pub mse: f64,
    /// `√mse`, in the targets' units.
    pub rmse: f64,
    /// The mean of `|ŷ - y|`.
    pub mae: f64,
    /// The coefficient of determination, `1 - SS_res / SS_tot` (1 is
    /// perfect, 0 is no better than predicting the targets' mean, below 0
    /// is worse). For constant targets (`SS_tot = 0`) it is 1 when the
    /// predictions are exact and 0 otherwise, scikit-learn's
    /// `force_finite=True`.
    pub r2: f64,
}

/// A regression's scores, one [`OutputScores`] per output column.
///
/// ```
/// use neurona::{Matrix, metrics::RegressionReport};
/// let p = Matrix::from_rows(&[[1.0], [2.0], [4.0]])?;
/// let y = Matrix::from_rows(&[[1.0], [3.0], [5.0]])?;
/// let report = RegressionReport::new(&p, &y)?;
/// let s = &report.per_output[0];
/// // Errors 0, -1, -1; the targets' mean is 3, so SS_tot = 8, SS_res = 2.
/// assert_eq!((s.mse, s.mae, s.r2), (2.0 / 3.0, 2.0 / 3.0, 0.75));
/// # Ok::<(), neurona::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionReport {
    /// One entry per output column, in column order.
    pub per_output: Vec<OutputScores>,
}

impl RegressionReport {
    /// Score `predictions` against `targets` (same shape), column by
    /// column, summing in f64.
    ///
    /// `Err` for different shapes, for 0 rows ([`Error::EmptyData`]: no
    /// mean error exists), or for a NaN or infinite value. 0 columns give
    /// a report with no outputs.
    pub fn new(predictions: &Matrix, targets: &Matrix) -> Result<Self> {
        same_shape(predictions, targets)?;
        if predictions.rows() == 0 {
            return Err(Error::EmptyData);
        }
        check_finite(predictions, targets)?;
        let n = predictions.rows() as f64;
        let column = |m: &Matrix, c: usize| -> Vec<f64> {
            (0..m.rows()).map(|r| m.row(r)[c] as f64).collect()
        };
        let per_output = (0..predictions.cols())
            .map(|c| {
                let (p, y) = (column(predictions, c), column(targets, c));
                let ss_res: f64 = p.iter().zip(&y).map(|(p, y)| (p - y) * (p - y)).sum();
                let abs: f64 = p.iter().zip(&y).map(|(p, y)| (p - y).abs()).sum();
                // Constant targets have SS_tot exactly 0; their computed
                // mean can be off by an ulp, which would leave a tiny
                // SS_tot and a huge negative R² instead.
                let ss_tot = if y.iter().all(|v| *v == y[0]) {
                    0.0
                } else {
                    let m = y.iter().sum::<f64>() / n;
                    y.iter().map(|v| (v - m) * (v - m)).sum()
                };
                let r2 = match (ss_tot == 0.0, ss_res == 0.0) {
                    (false, _) => 1.0 - ss_res / ss_tot,
                    (true, true) => 1.0,
                    (true, false) => 0.0,
                };
                let mse = ss_res / n;
                OutputScores {
                    mse,
                    rmse: mse.sqrt(),
                    mae: abs / n,
                    r2,
                }
            })
            .collect();
        Ok(RegressionReport { per_output })
    }

    /// Each score's unweighted mean over the outputs, scikit-learn's
    /// `multioutput='uniform_average'`: `rmse` is the mean of the outputs'
    /// RMSEs, not the root of the mean MSE. All 0 for no outputs.
    pub fn mean(&self) -> OutputScores {
        let o = &self.per_output;
        OutputScores {
            mse: mean(o.iter().map(|s| s.mse)),
            rmse: mean(o.iter().map(|s| s.rmse)),
            mae: mean(o.iter().map(|s| s.mae)),
            r2: mean(o.iter().map(|s| s.r2)),
        }
    }

    /// The `Display` table with `names[i]` naming output `i`'s row (its
    /// number where `names` is too short).
    pub fn labelled(&self, names: &[String]) -> String {
        let names: Vec<String> = (0..self.per_output.len())
            .map(|i| label(names, i))
            .collect();
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .chain(["output".len()])
            .max()
            .unwrap_or(0);
        let mut out = format!(
            "{:>width$} {:>12} {:>12} {:>12} {:>12}",
            "output", "mse", "rmse", "mae", "r2"
        );
        let mut row = |name: &str, s: &OutputScores| {
            out.push_str(&format!(
                "\n{name:>width$} {:>12} {:>12} {:>12} {:>12}",
                significant(s.mse),
                significant(s.rmse),
                significant(s.mae),
                significant(s.r2)
            ));
        };
        for (name, s) in names.iter().zip(&self.per_output) {
            row(name, s);
        }
        if self.per_output.len() > 1 {
            row("mean", &self.mean());
        }
        out
    }
}

impl fmt::Display for RegressionReport {
    /// One row per output (mse, rmse, mae, r2 to 6 significant digits),
    /// then their mean when there are several.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.labelled(&[]))
    }
}

/// `x` to 6 significant digits, as C's `%#g`: fixed for exponents -4 to 5,
/// scientific outside, trailing zeros kept so columns line up.
fn significant(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0.00000".to_string();
    }
    // The exponent after rounding to 6 digits (9.999996 is 1.00000e1).
    let sci = format!("{x:.5e}");
    let exp: i32 = sci
        .rsplit('e')
        .next()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{x:.prec$}", prec = (5 - exp) as usize)
    } else {
        sci
    }
}
