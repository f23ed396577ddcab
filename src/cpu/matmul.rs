//! The only `gemm::gemm` calls of the crate: the three products of a training
//! step. Row-major throughout; a transposed operand is the same buffer read
//! with swapped strides, never a copy.
//!
//! `gemm` computes `dst := alpha · dst + beta · lhs · rhs` (alpha and beta are
//! the reverse of BLAS) and takes strides column stride first, then row
//! stride. Every argument below is labelled because of that.

use gemm::{Parallelism, gemm};

/// `out (m x n) = a (m x k) . b (k x n)`.
pub fn matmul(a: &[f32], b: &[f32], out: &mut [f32], m: usize, k: usize, n: usize) {
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n);
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
