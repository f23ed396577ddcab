//! The metrics against scikit-learn: every expected number below was
//! computed once with scikit-learn 1.9.1 (numpy 2.4.6) from the same inputs
//! and pasted in; the calls are written next to each case. Classes were
//! given to scikit-learn as neurona reads them (`argmax` of a row, first on
//! ties, or `score >= threshold` for one column), and regression values as
//! `np.float32(...).astype(np.float64)`, the f32 values the matrices hold.

use neurona::metrics::{
    ClassReport, ClassScores, OutputScores, RegressionReport, classes, classes_at, roc_auc,
};
use neurona::{ConfusionMatrix, Error, Matrix};

/// `got` within 1e-12 of `want`, relatively (so exactly, for a `want` of 0).
fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs(),
        "{what}: got {got:?}, want {want:?}"
    );
}

/// Every field of a report against scikit-learn's numbers.
#[allow(clippy::too_many_arguments)]
fn check_report(
    r: &ClassReport,
    precision: &[f64],
    recall: &[f64],
    f1: &[f64],
    support: &[usize],
    macro_prf: [f64; 3],
    accuracy: f64,
    confusion: &[&[usize]],
    auc: Option<f64>,
) {
    assert_eq!(r.per_class.len(), support.len());
    for (c, s) in r.per_class.iter().enumerate() {
        close(
            s.precision,
            precision[c],
            &format!("precision of class {c}"),
        );
        close(s.recall, recall[c], &format!("recall of class {c}"));
        close(s.f1, f1[c], &format!("f1 of class {c}"));
        assert_eq!(s.support, support[c], "support of class {c}");
    }
    close(r.macro_precision, macro_prf[0], "macro precision");
    close(r.macro_recall, macro_prf[1], "macro recall");
    close(r.macro_f1, macro_prf[2], "macro f1");
    close(r.accuracy, accuracy, "accuracy");
    assert_eq!(r.confusion.counts, confusion);
    match (r.roc_auc, auc) {
        (Some(got), Some(want)) => close(got, want, "roc auc"),
        (got, want) => assert_eq!(got, want, "roc auc"),
    }
}

/// Every field of one output's scores: `[mse, rmse, mae, r2]`.
fn check_output(s: &OutputScores, want: [f64; 4], what: &str) {
    close(s.mse, want[0], &format!("{what} mse"));
    close(s.rmse, want[1], &format!("{what} rmse"));
    close(s.mae, want[2], &format!("{what} mae"));
    close(s.r2, want[3], &format!("{what} r2"));
}

/// Rows one-hot in `k` columns.
fn one_hot(classes: &[usize], k: usize) -> Matrix {
    let mut data = vec![0.0; classes.len() * k];
    for (r, c) in classes.iter().enumerate() {
        data[r * k + c] = 1.0;
    }
    Matrix::new(classes.len(), k, data).unwrap()
}

/// A column matrix.
fn column(values: &[f32]) -> Matrix {
    Matrix::new(values.len(), 1, values.to_vec()).unwrap()
}

/// Case A: four columns; class 2 is predicted but never a target, class 3
/// is neither (its column is 0); rows 1, 5, 6, 11 and 14 tie in the
/// arg-max. Its classes are
/// `y_true = [0,1,1,0,0,1,1,1,0,1,0,1,0,1,0,1]`,
/// `y_pred = [0,0,1,2,0,1,0,1,0,2,1,0,0,1,2,0]`.
const A_PREDICTIONS: [[f32; 4]; 16] = [
    [0.7, 0.2, 0.1, 0.0],
    [0.4, 0.4, 0.2, 0.0],
    [0.1, 0.8, 0.1, 0.0],
    [0.2, 0.3, 0.5, 0.0],
    [0.6, 0.3, 0.1, 0.0],
    [0.1, 0.45, 0.45, 0.0],
    [0.3, 0.3, 0.3, 0.0],
    [0.2, 0.7, 0.1, 0.0],
    [0.5, 0.4, 0.1, 0.0],
    [0.1, 0.2, 0.7, 0.0],
    [0.3, 0.6, 0.1, 0.0],
    [0.35, 0.35, 0.3, 0.0],
    [0.9, 0.05, 0.05, 0.0],
    [0.2, 0.5, 0.3, 0.0],
    [0.25, 0.25, 0.5, 0.0],
    [0.6, 0.2, 0.2, 0.0],
];
const A_TARGETS: [usize; 16] = [0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1];

// Case A in scikit-learn, with labels = [0, 1, 2, 3]:
//   precision_recall_fscore_support(y_true, y_pred, labels=labels,
//       average=None, zero_division=0)
//     -> [0.5, 0.8, 0, 0], [0.5714285714285714, 0.4444444444444444, 0, 0],
//        [0.5333333333333333, 0.5714285714285714, 0, 0], [7, 9, 0, 0]
//   precision_recall_fscore_support(..., average='macro', zero_division=0)
//     -> 0.325, 0.25396825396825395, 0.2761904761904762
//   accuracy_score(y_true, y_pred) -> 0.5
//   confusion_matrix(y_true, y_pred, labels=labels)
//     -> [[4,1,2,0],[4,4,1,0],[0,0,0,0],[0,0,0,0]]
#[test]
fn four_classes_with_empty_ones_and_ties_match_sklearn() {
    let p = Matrix::from_rows(&A_PREDICTIONS).unwrap();
    let y = one_hot(&A_TARGETS, 4);
    assert_eq!(
        classes(&p),
        [0, 0, 1, 2, 0, 1, 0, 1, 0, 2, 1, 0, 0, 1, 2, 0],
        "ties go to the first column"
    );
    // The threshold is unused with several columns.
    for threshold in [0.5, 0.0, 10.0] {
        let r = ClassReport::new(&p, &y, threshold).unwrap();
        check_report(
            &r,
            &[0.5, 0.8, 0.0, 0.0],
            &[0.5714285714285714, 0.4444444444444444, 0.0, 0.0],
            &[0.5333333333333333, 0.5714285714285714, 0.0, 0.0],
            &[7, 9, 0, 0],
            [0.325, 0.25396825396825395, 0.2761904761904762],
            0.5,
            &[&[4, 1, 2, 0], &[4, 4, 1, 0], &[0, 0, 0, 0], &[0, 0, 0, 0]],
            None,
        );
        assert_eq!(r.confusion, ConfusionMatrix::new(&p, &y).unwrap());
    }
}

/// Case B: one column with tied scores (three at the 0.5 threshold).
const B_SCORES: [f32; 14] = [
    0.1, 0.3, 0.3, 0.5, 0.5, 0.5, 0.7, 0.9, 0.2, 0.7, 0.3, 0.8, 0.5, 0.05,
];
const B_TARGETS: [f32; 14] = [0., 0., 1., 0., 1., 1., 1., 1., 0., 0., 0., 1., 0., 1.];

// Case B in scikit-learn, s = np.float32(B_SCORES), y_true = B_TARGETS,
// labels = [0, 1]:
//   y_pred = (s >= np.float32(0.5)).astype(int)
//     = [0,0,0,1,1,1,1,1,0,1,0,1,1,0]
//   precision_recall_fscore_support(y_true, y_pred, labels=labels,
//       average=None, zero_division=0)
//     -> [0.6666666666666666, 0.625], [0.5714285714285714, 0.7142857142857143],
//        [0.6153846153846154, 0.6666666666666666], [7, 7]
//   (..., average='macro') -> 0.6458333333333333, 0.6428571428571428,
//                             0.641025641025641
//   accuracy_score -> 0.6428571428571429
//   confusion_matrix(y_true, y_pred, labels=labels) -> [[4,3],[2,5]]
//   roc_auc_score(y_true, s) -> 0.6836734693877551
// and with y_pred = (s >= np.float32(0.3)).astype(int)
//     = [0,1,1,1,1,1,1,1,0,1,1,1,1,0]:
//     -> [0.6666666666666666, 0.5454545454545454],
//        [0.2857142857142857, 0.8571428571428571], [0.4, 0.6666666666666666],
//        [7, 7]
//   (..., average='macro') -> 0.606060606060606, 0.5714285714285714,
//                             0.5333333333333333
//   accuracy_score -> 0.5714285714285714
//   confusion_matrix -> [[2,5],[1,6]]
#[test]
fn one_column_binary_with_tied_scores_matches_sklearn() {
    let p = column(&B_SCORES);
    let y = column(&B_TARGETS);
    let r = ClassReport::new(&p, &y, 0.5).unwrap();
    check_report(
        &r,
        &[0.6666666666666666, 0.625],
        &[0.5714285714285714, 0.7142857142857143],
        &[0.6153846153846154, 0.6666666666666666],
        &[7, 7],
        [0.6458333333333333, 0.6428571428571428, 0.641025641025641],
        0.6428571428571429,
        &[&[4, 3], &[2, 5]],
        Some(0.6836734693877551),
    );
    let r = ClassReport::new(&p, &y, 0.3).unwrap();
    check_report(
        &r,
        &[0.6666666666666666, 0.5454545454545454],
        &[0.2857142857142857, 0.8571428571428571],
        &[0.4, 0.6666666666666666],
        &[7, 7],
        [0.606060606060606, 0.5714285714285714, 0.5333333333333333],
        0.5714285714285714,
        &[&[2, 5], &[1, 6]],
        Some(0.6836734693877551),
    );
    let positive: Vec<bool> = B_TARGETS.iter().map(|t| *t == 1.0).collect();
    close(
        roc_auc(&B_SCORES, &positive).unwrap(),
        0.6836734693877551,
        "roc_auc",
    );
}

/// Case C: two columns, scored by column 1; row 1 ties and is class 0.
const C_PREDICTIONS: [[f32; 2]; 12] = [
    [0.8, 0.2],
    [0.5, 0.5],
    [0.3, 0.7],
    [0.6, 0.4],
    [0.1, 0.9],
    [0.4, 0.6],
    [0.7, 0.3],
    [0.45, 0.55],
    [0.2, 0.8],
    [0.9, 0.1],
    [0.55, 0.45],
    [0.3, 0.7],
];
const C_TARGETS: [usize; 12] = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1];

// Case C in scikit-learn, P = np.float32(C_PREDICTIONS), labels = [0, 1]:
//   y_pred = P.argmax(axis=1) = [0,0,1,0,1,1,0,1,1,0,0,1]
//   precision_recall_fscore_support(y_true, y_pred, labels=labels,
//       average=None, zero_division=0)
//     -> [0.6666666666666666, 0.8333333333333334], [0.8, 0.7142857142857143],
//        [0.7272727272727273, 0.7692307692307693], [5, 7]
//   (..., average='macro') -> 0.75, 0.7571428571428571, 0.7482517482517483
//   accuracy_score -> 0.75
//   confusion_matrix -> [[4,1],[2,5]]
//   roc_auc_score(y_true, P[:, 1]) -> 0.9142857142857144
#[test]
fn two_column_binary_matches_sklearn() {
    let p = Matrix::from_rows(&C_PREDICTIONS).unwrap();
    let y = one_hot(&C_TARGETS, 2);
    let r = ClassReport::new(&p, &y, 0.5).unwrap();
    check_report(
        &r,
        &[0.6666666666666666, 0.8333333333333334],
        &[0.8, 0.7142857142857143],
        &[0.7272727272727273, 0.7692307692307693],
        &[5, 7],
        [0.75, 0.7571428571428571, 0.7482517482517483],
        0.75,
        &[&[4, 1], &[2, 5]],
        Some(0.9142857142857144),
    );
}

/// Case D: two outputs, 15 rows.
const D_TARGETS: [[f32; 2]; 15] = [
    [1.5, -0.2],
    [2.1, 0.4],
    [0.3, 1.1],
    [-1.2, 0.9],
    [3.3, -0.7],
    [0.8, 0.0],
    [1.9, 2.2],
    [-0.4, 1.6],
    [2.7, -1.3],
    [0.1, 0.5],
    [1.1, 0.8],
    [-2.0, -0.1],
    [0.6, 1.4],
    [2.4, 0.3],
    [1.7, -0.9],
];
const D_PREDICTIONS: [[f32; 2]; 15] = [
    [1.3, -0.1],
    [2.4, 0.2],
    [0.1, 1.3],
    [-0.9, 0.7],
    [3.0, -0.4],
    [1.0, 0.2],
    [1.6, 1.9],
    [-0.2, 1.8],
    [2.9, -1.0],
    [0.4, 0.3],
    [0.9, 1.0],
    [-1.7, 0.1],
    [0.7, 1.1],
    [2.2, 0.6],
    [1.8, -0.6],
];

// Case D in scikit-learn, yt = np.float32(D_TARGETS).astype(np.float64),
// yp likewise from D_PREDICTIONS, each with multioutput='raw_values' and
// then multioutput='uniform_average':
//   mean_squared_error(yt, yp)  -> [0.05600000832478658, 0.05799999239047522];
//                                  0.057000000357630906
//   root_mean_squared_error(yt, yp)
//                               -> [0.23664320891330598, 0.24083187577742948];
//                                  0.23873754234536773
//   mean_absolute_error(yt, yp) -> [0.22666667898495993, 0.23333331694205603];
//                                  0.22999999796350798
//   r2_score(yt, yp)            -> [0.9721940199839837, 0.9338905859430268];
//                                  0.9530423029635052
#[test]
fn two_outputs_regression_matches_sklearn() {
    let p = Matrix::from_rows(&D_PREDICTIONS).unwrap();
    let y = Matrix::from_rows(&D_TARGETS).unwrap();
    let r = RegressionReport::new(&p, &y).unwrap();
    assert_eq!(r.per_output.len(), 2);
    check_output(
        &r.per_output[0],
        [
            0.05600000832478658,
            0.23664320891330598,
            0.22666667898495993,
            0.9721940199839837,
        ],
        "output 0",
    );
    check_output(
        &r.per_output[1],
        [
            0.05799999239047522,
            0.24083187577742948,
            0.23333331694205603,
            0.9338905859430268,
        ],
        "output 1",
    );
    check_output(
        &r.mean(),
        [
            0.057000000357630906,
            0.23873754234536773,
            0.22999999796350798,
            0.9530423029635052,
        ],
        "mean",
    );
}

// Case E in scikit-learn: constant targets, yt = [[2.5, 0.1]] * 6 and
// yp = [[2.4,0.1],[2.6,0.1],[2.5,0.1],[2.9,0.1],[2.0,0.1],[2.5,0.1]], both
// np.float32(...).astype(np.float64); raw_values, then uniform_average:
//   mean_squared_error      -> [0.07166667302449999, 0.0]; 0.03583333651224999
//   root_mean_squared_error -> [0.267706318611459, 0.0];   0.1338531593057295
//   mean_absolute_error     -> [0.18333331743876138, 0.0]; 0.09166665871938069
//   r2_score                -> [0.0, 1.0];                 0.5
// (force_finite=True: SS_tot = 0 gives 0 for wrong predictions, 1 for
// exact ones).
#[test]
fn constant_targets_regression_matches_sklearn() {
    let y = Matrix::from_rows(&[[2.5f32, 0.1]; 6]).unwrap();
    let p = Matrix::from_rows(&[
        [2.4f32, 0.1],
        [2.6, 0.1],
        [2.5, 0.1],
        [2.9, 0.1],
        [2.0, 0.1],
        [2.5, 0.1],
    ])
    .unwrap();
    let r = RegressionReport::new(&p, &y).unwrap();
    check_output(
        &r.per_output[0],
        [
            0.07166667302449999,
            0.267706318611459,
            0.18333331743876138,
            0.0,
        ],
        "output 0",
    );
    check_output(&r.per_output[1], [0.0, 0.0, 0.0, 1.0], "output 1");
    check_output(
        &r.mean(),
        [
            0.03583333651224999,
            0.1338531593057295,
            0.09166665871938069,
            0.5,
        ],
        "mean",
    );
}

#[test]
fn classes_at_moves_the_cut_of_one_column_only() {
    let p = column(&[0.1, 0.29, 0.3, 0.31, 0.5, 0.51, f32::NAN]);
    // `classes` keeps its strict 0.5; `classes_at` includes the threshold.
    assert_eq!(classes(&p), [0, 0, 0, 0, 0, 1, 0]);
    assert_eq!(classes_at(&p, 0.5), [0, 0, 0, 0, 1, 1, 0]);
    assert_eq!(classes_at(&p, 0.3), [0, 0, 1, 1, 1, 1, 0]);
    assert_eq!(classes_at(&p, f32::NAN), [0; 7]);
    // Several columns: arg-max whatever the threshold.
    let p = Matrix::from_rows(&[[0.2f32, 0.8], [0.4, 0.4], [0.9, 0.1]]).unwrap();
    assert_eq!(classes_at(&p, 0.3), classes(&p));
    assert_eq!(classes_at(&p, 0.99), [1, 0, 0]);
    // The confusion matrix follows the threshold for predictions only.
    let p = column(&[0.3, 0.4, 0.6]);
    let y = column(&[0.3, 1.0, 1.0]);
    let at = |t| ConfusionMatrix::with_threshold(&p, &y, t).unwrap().counts;
    assert_eq!(at(0.5), [[1, 0], [1, 1]]);
    assert_eq!(at(0.3), [[0, 1], [0, 2]]);
}

#[test]
fn shape_mismatches_are_errors_naming_both_shapes() {
    let a = Matrix::zeros(3, 2);
    for (other, shapes) in [
        (
            Matrix::zeros(3, 1),
            "predictions are 3x2 but targets are 3x1",
        ),
        (
            Matrix::zeros(4, 2),
            "predictions are 3x2 but targets are 4x2",
        ),
    ] {
        let want = Error::Config(shapes.to_string());
        assert_eq!(ConfusionMatrix::new(&a, &other), Err(want.clone()));
        assert_eq!(
            ConfusionMatrix::with_threshold(&a, &other, 0.5),
            Err(want.clone())
        );
        assert_eq!(ClassReport::new(&a, &other, 0.5), Err(want.clone()));
        assert_eq!(RegressionReport::new(&a, &other), Err(want));
    }
}

#[test]
fn bad_values_are_errors() {
    let y = column(&[0.0, 1.0]);
    let nan = column(&[0.2, f32::NAN]);
    let bad = ClassReport::new(&column(&[0.2, 0.7]), &y, f32::NAN).unwrap_err();
    assert!(
        matches!(bad, Error::Config(ref m) if m.contains("NaN")),
        "{bad}"
    );
    assert!(matches!(
        ConfusionMatrix::with_threshold(&y, &y, f32::NAN),
        Err(Error::Config(_))
    ));
    for err in [
        ClassReport::new(&nan, &y, 0.5).unwrap_err(),
        RegressionReport::new(&nan, &y).unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::NonFinite { ref what, row: 1, col: 0, .. } if what == "predictions"),
            "{err:?}"
        );
    }
    let inf = column(&[f32::INFINITY, 0.0]);
    assert!(matches!(
        RegressionReport::new(&y, &inf),
        Err(Error::NonFinite { ref what, row: 0, .. }) if what == "targets"
    ));
}

#[test]
fn empty_inputs_give_zeros_or_an_error() {
    for cols in [1, 3] {
        let e = Matrix::zeros(0, cols);
        let r = ClassReport::new(&e, &e, 0.5).unwrap();
        let k = cols.max(2);
        let zero = ClassScores {
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
            support: 0,
        };
        assert_eq!(r.per_class, vec![zero; k]);
        assert_eq!(
            (r.accuracy, r.macro_precision, r.macro_recall, r.macro_f1),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!(r.confusion.counts, vec![vec![0; k]; k]);
        assert_eq!(r.roc_auc, None);
        assert_eq!(RegressionReport::new(&e, &e), Err(Error::EmptyData));
        // The tables render too.
        assert!(r.to_string().contains("accuracy"));
        assert!(r.confusion.labelled(&[]).starts_with("actual"));
    }
    // No outputs: an empty report whose mean is all 0.
    let none = RegressionReport::new(&Matrix::zeros(2, 0), &Matrix::zeros(2, 0)).unwrap();
    assert!(none.per_output.is_empty());
    assert_eq!(
        none.mean(),
        OutputScores {
            mse: 0.0,
            rmse: 0.0,
            mae: 0.0,
            r2: 0.0
        }
    );
    assert_eq!(
        none.to_string(),
        "output          mse         rmse          mae           r2"
    );
    assert_eq!(roc_auc(&[], &[]), None);
}

#[test]
fn roc_auc_is_none_when_undefined_and_counts_ties_half() {
    // One class only in the targets: no curve, here and in the report.
    assert_eq!(roc_auc(&[0.1, 0.9, 0.4], &[true, true, true]), None);
    assert_eq!(roc_auc(&[0.1, 0.9], &[false, false]), None);
    let r = ClassReport::new(&column(&[0.1, 0.9]), &column(&[1.0, 1.0]), 0.5).unwrap();
    assert_eq!(r.roc_auc, None);
    // More than two classes: none either.
    let p = Matrix::from_rows(&A_PREDICTIONS).unwrap();
    let y = one_hot(&A_TARGETS, 4);
    assert_eq!(ClassReport::new(&p, &y, 0.5).unwrap().roc_auc, None);
    // Lengths that differ, or a NaN score.
    assert_eq!(roc_auc(&[0.1, 0.9], &[false]), None);
    assert_eq!(roc_auc(&[0.1, f32::NAN], &[false, true]), None);
    // Exact values: all tied is 1/2, perfect is 1, reversed is 0, and -0
    // ties +0.
    assert_eq!(roc_auc(&[0.5; 4], &[true, false, true, false]), Some(0.5));
    assert_eq!(
        roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
        Some(1.0)
    );
    assert_eq!(
        roc_auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
        Some(0.0)
    );
    assert_eq!(roc_auc(&[-0.0, 0.0], &[true, false]), Some(0.5));
    assert_eq!(
        roc_auc(&[f32::NEG_INFINITY, f32::INFINITY], &[false, true]),
        Some(1.0)
    );
}

#[test]
fn tables_render_with_numbers_or_labels() {
    let p = column(&B_SCORES);
    let y = column(&B_TARGETS);
    let r = ClassReport::new(&p, &y, 0.5).unwrap();
    assert_eq!(
        r.to_string(),
        "           precision    recall  f1-score   support\n\
         \n        0     0.6667    0.5714    0.6154         7\
         \n        1     0.6250    0.7143    0.6667         7\n\
         \n accuracy                         0.6429        14\
         \nmacro avg     0.6458    0.6429    0.6410        14\n\
         \nROC AUC 0.6837"
    );
    let labels = ["ham".to_string(), "spam, probably".to_string()];
    assert_eq!(
        r.labelled(&labels),
        "                precision    recall  f1-score   support\n\
         \n           ham     0.6667    0.5714    0.6154         7\
         \nspam, probably     0.6250    0.7143    0.6667         7\n\
         \n      accuracy                         0.6429        14\
         \n     macro avg     0.6458    0.6429    0.6410        14\n\
         \nROC AUC 0.6837"
    );
    assert_eq!(
        r.confusion.labelled(&labels),
        "actual \\ predicted            ham spam, probably\
         \n               ham              4              3\
         \n    spam, probably              2              5"
    );
    // Too few labels: the rest by number.
    assert_eq!(
        r.confusion.labelled(&labels[..1]),
        "actual \\ predicted ham   1\
         \n               ham   4   3\
         \n                 1   2   5"
    );

    let p = Matrix::from_rows(&D_PREDICTIONS).unwrap();
    let y = Matrix::from_rows(&D_TARGETS).unwrap();
    let r = RegressionReport::new(&p, &y).unwrap();
    assert_eq!(
        r.to_string(),
        "output          mse         rmse          mae           r2\
         \n     0    0.0560000     0.236643     0.226667     0.972194\
         \n     1    0.0580000     0.240832     0.233333     0.933891\
         \n  mean    0.0570000     0.238738     0.230000     0.953042"
    );
    let names = ["price".to_string(), "log volume".to_string()];
    assert_eq!(
        r.labelled(&names),
        "    output          mse         rmse          mae           r2\
         \n     price    0.0560000     0.236643     0.226667     0.972194\
         \nlog volume    0.0580000     0.240832     0.233333     0.933891\
         \n      mean    0.0570000     0.238738     0.230000     0.953042"
    );
    // One output: no mean row; large and tiny numbers go scientific.
    let r = RegressionReport::new(&column(&[0.0, 2000.0]), &column(&[0.0, 0.0])).unwrap();
    assert_eq!(
        r.to_string(),
        "output          mse         rmse          mae           r2\
         \n     0    2.00000e6      1414.21      1000.00      0.00000"
    );
    let r = RegressionReport::new(&column(&[1e-3, 0.0]), &column(&[0.0, 0.0])).unwrap();
    assert_eq!(
        r.to_string(),
        "output          mse         rmse          mae           r2\
         \n     0   5.00000e-7  0.000707107  0.000500000      0.00000"
    );
}
