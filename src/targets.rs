//! What a target column means, decided once for the command line and the
//! browser page alike: class numbers as one-hot rows, whether a problem is
//! classification, and the loss an output layer trains with by default.

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::matrix::Matrix;
use crate::memory;

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
