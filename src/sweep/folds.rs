//! k-fold cross-validation: the rows split into `k` folds drawn by a
//! seed, each fold validated once on a model trained on the others; for
//! classes each fold takes its share of every class (stratified, as
//! scikit-learn's `StratifiedKFold`).

use crate::batches::shuffled_order;
use crate::error::{Error, Result};

/// The seed's stream the folds are drawn from, apart from the epochs'
/// shuffles and the command line's test and validation splits.
const FOLD_STREAM: u64 = u64::MAX - 2;

/// One fold: the rows a member trains on and the rows it is validated on,
/// indices into the data, each in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// The rows of the other folds.
    pub train: Vec<u32>,
    /// This fold's rows.
    pub validation: Vec<u32>,
}

/// `k` folds of `rows` rows, drawn by `seed`: every row is in exactly one
/// fold's validation rows and in the training rows of all the others.
/// With `classes` (each row's class, `0..`), every class is dealt out over
/// the folds in turn, so each fold holds its share of each class; without,
/// the shuffled rows are cut into `k` runs of nearly equal length.
///
/// An error when `k` is below 2, above `rows`, or (with classes) above the
/// rows of the smallest class.
///
/// ```
/// use neurona::sweep::k_folds;
/// let classes = [0, 0, 0, 1, 1, 1, 1, 0, 1];
/// let folds = k_folds(9, 3, 7, Some(&classes))?;
/// assert_eq!(folds.len(), 3);
/// let mut seen: Vec<u32> = folds.iter().flat_map(|f| f.validation.clone()).collect();
/// seen.sort();
/// assert_eq!(seen, (0..9).collect::<Vec<u32>>());
/// assert!(k_folds(9, 5, 7, Some(&classes)).is_err()); // class 0 has 4 rows
/// # Ok::<(), neurona::Error>(())
/// ```
pub fn k_folds(rows: usize, k: usize, seed: u64, classes: Option<&[usize]>) -> Result<Vec<Fold>> {
    if k < 2 {
        return Err(Error::Config(format!(
            "k-fold cross-validation needs at least 2 folds, got {k}"
        )));
    }
    if k > rows {
        return Err(Error::Config(format!(
            "{k} folds need at least {k} rows, but the data has {rows}"
        )));
    }
    let order = shuffled_order(rows, seed, FOLD_STREAM);
    let mut fold_of = vec![0usize; rows];
    match classes {
        None => {
            for (position, &r) in order.iter().enumerate() {
                fold_of[r as usize] = position * k / rows;
            }
        }
        Some(classes) => {
            if classes.len() != rows {
                return Err(Error::Config(format!(
                    "k folds of {rows} rows were given {} classes",
                    classes.len()
                )));
            }
            let count = classes.iter().copied().max().map_or(0, |m| m + 1);
            let mut sizes = vec![0usize; count];
            for &c in classes {
                sizes[c] += 1;
            }
            if let Some((c, &n)) = sizes
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .min_by_key(|(_, n)| **n)
                && n < k
            {
                return Err(Error::Config(format!(
                    "{k} folds need at least {k} rows of every class, but class {c} has {n}"
                )));
            }
            // Class by class, in the shuffled order, one row to each fold
            // in turn, the turn carried on from class to class so the
            // folds' sizes differ by one at most.
            let mut next = 0;
            for class in 0..count {
                for &r in order.iter().filter(|&&r| classes[r as usize] == class) {
                    fold_of[r as usize] = next % k;
                    next += 1;
                }
            }
        }
    }
    Ok((0..k)
        .map(|f| {
            let (validation, train) = (0..rows as u32).partition(|&r| fold_of[r as usize] == f);
            Fold { train, validation }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_disjoint_cover_the_rows_and_balance_classes() {
        let classes: Vec<usize> = (0..23).map(|r| if r % 3 == 0 { 1 } else { 0 }).collect();
        for stratified in [None, Some(&classes[..])] {
            let folds = k_folds(23, 4, 3, stratified).unwrap();
            let mut all: Vec<u32> = folds.iter().flat_map(|f| f.validation.clone()).collect();
            all.sort_unstable();
            assert_eq!(all, (0..23).collect::<Vec<u32>>());
            for f in &folds {
                assert!((5..=6).contains(&f.validation.len()), "{f:?}");
                let mut both: Vec<u32> = f.train.iter().chain(&f.validation).copied().collect();
                both.sort_unstable();
                assert_eq!(both, (0..23).collect::<Vec<u32>>());
                assert!(f.train.windows(2).all(|w| w[0] < w[1]));
                if stratified.is_some() {
                    let ones = f.validation.iter().filter(|&&r| classes[r as usize] == 1);
                    assert!((1..=3).contains(&ones.count()));
                }
            }
        }
        assert!(k_folds(23, 1, 0, None).is_err());
        assert!(k_folds(3, 4, 0, None).is_err());
    }
}
