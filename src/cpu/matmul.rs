//! The only `gemm::gemm` calls of the crate: the three products of a training
//! step. Row-major throughout; a transposed operand is the same buffer read
//! with swapped strides, never a copy.
//!
//! `gemm` computes `dst := alpha · dst + beta · lhs · rhs` (alpha and beta are
//! the reverse of BLAS) and takes strides column stride first, then row
//! stride. Every argument below is labelled because of that.
//!
//! Products of at most [`SMALL_PRODUCT`] multiply-adds (the notebook's 4x3 by
//! 3x4) skip gemm: its set-up costs about 250 ns a call, a plain loop over
//! so few values about 40.

use gemm::{Parallelism, gemm};

/// Largest `m · k · n` computed by a plain loop instead of gemm.
pub const SMALL_PRODUCT: usize = 4096;

/// `out (m x n) = alpha · out + a . b` (alpha 0 or 1) with `a` and `b`
/// addressed through strides `(row, col)`: the small-product path.
#[allow(clippy::too_many_arguments)]
#[inline]
fn small_product(
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
    out: &mut [f32],
    (m, k, n): (usize, usize, usize),
    keep_out: bool,
    scale: f32,
) {
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f32;
            for p in 0..k {
                sum += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
            }
            let o = &mut out[i * n + j];
            *o = if keep_out {
                *o + scale * sum
            } else {
                scale * sum
            };
        }
    }
}

/// `out (m x n) = a (m x k) . b (k x n)`.
pub fn matmul(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n);
    if m * k * n <= SMALL_PRODUCT {
        return small_product(a, (k, 1), b, (n, 1), out, (m, k, n), false, 1.0);
    }
    // SAFETY: the assert above keeps every index gemm forms in bounds.
    unsafe {
        gemm(
            /* m: */ m,
            /* n: */ n,
            /* k: */ k,
            /* dst: */ out.as_mut_ptr(),
            /* dst_cs: */ 1,
            /* dst_rs: */ n as isize,
            /* read_dst: */ false,
            /* lhs: */ a.as_ptr(),
            /* lhs_cs: */ 1,
            /* lhs_rs: */ k as isize,
            /* rhs: */ b.as_ptr(),
            /* rhs_cs: */ 1,
            /* rhs_rs: */ n as isize,
            /* alpha: */ 0.0,
            /* beta: */ 1.0,
            /* conj_dst: */ false,
            /* conj_lhs: */ false,
            /* conj_rhs: */ false,
            /* parallelism: */ Parallelism::Rayon(0),
        )
    }
}

/// `out (m x n) = a (m x k) . bᵀ`, where `b` is stored `n x k`.
///
/// The hidden delta's `D_next . W_nextᵀ`.
pub fn matmul_nt(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    assert!(a.len() >= m * k && b.len() >= n * k && out.len() >= m * n);
    if m * k * n <= SMALL_PRODUCT {
        return small_product(a, (k, 1), b, (1, k), out, (m, k, n), false, 1.0);
    }
    // SAFETY: the assert above keeps every index gemm forms in bounds.
    unsafe {
        gemm(
            /* m: */ m,
            /* n: */ n,
            /* k: */ k,
            /* dst: */ out.as_mut_ptr(),
            /* dst_cs: */ 1,
            /* dst_rs: */ n as isize,
            /* read_dst: */ false,
            /* lhs: */ a.as_ptr(),
            /* lhs_cs: */ 1,
            /* lhs_rs: */ k as isize,
            // bᵀ[p][j] = b[j][p]: one step down bᵀ's column is one element.
            /* rhs: */
            b.as_ptr(),
            /* rhs_cs: */ k as isize,
            /* rhs_rs: */ 1,
            /* alpha: */ 0.0,
            /* beta: */ 1.0,
            /* conj_dst: */ false,
            /* conj_lhs: */ false,
            /* conj_rhs: */ false,
            /* parallelism: */ Parallelism::Rayon(0),
        )
    }
}

/// `out (m x n) += scale · aᵀ . b`, where `a` is stored `k x m` and `b` is
/// `k x n`.
///
/// The weight update's `W −= s · A_inᵀ . D` (with `scale = −s`).
pub fn matmul_tn_acc(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    m: usize,
    k: usize,
    n: usize,
    scale: f32,
) {
    assert!(a.len() >= k * m && b.len() >= k * n && out.len() >= m * n);
    if m * k * n <= SMALL_PRODUCT {
        return small_product(a, (1, m), b, (n, 1), out, (m, k, n), true, scale);
    }
    // SAFETY: the assert above keeps every index gemm forms in bounds.
    unsafe {
        gemm(
            /* m: */ m,
            /* n: */ n,
            /* k: */ k,
            /* dst: */ out.as_mut_ptr(),
            /* dst_cs: */ 1,
            /* dst_rs: */ n as isize,
            /* read_dst: */ true,
            // aᵀ[i][p] = a[p][i]: one step along aᵀ's row is a row of a.
            /* lhs: */
            a.as_ptr(),
            /* lhs_cs: */ m as isize,
            /* lhs_rs: */ 1,
            /* rhs: */ b.as_ptr(),
            /* rhs_cs: */ 1,
            /* rhs_rs: */ n as isize,
            /* alpha: */ 1.0,
            /* beta: */ scale,
            /* conj_dst: */ false,
            /* conj_lhs: */ false,
            /* conj_rhs: */ false,
            /* parallelism: */ Parallelism::Rayon(0),
        )
    }
}
