//! Which sgemm crate the CPU path uses: `gemm` against `matrixmultiply`
//! (with its threading feature) on the products of a training step at
//! 1024x784x512 (batch x inputs x outputs), both on every core.
//!
//! ```text
//! cargo bench --bench sgemm
//! ```
//! Prints the median of 15 runs after 3 warm-ups per product, ms and
//! GFLOP/s, and the ratio. The faster crate is the one in Cargo.toml.

use std::time::Instant;

const M: usize = 1024;
const K: usize = 784;
const N: usize = 512;

fn median_ms(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut t: Vec<f64> = (0..15)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[t.len() / 2]
}

/// `c (m x n) = a . b` with row/col strides for each operand, in matrixmultiply.
#[allow(clippy::too_many_arguments)]
fn mm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: isize,
    csa: isize,
    b: &[f32],
    rsb: isize,
    csb: isize,
    c: &mut [f32],
) {
    // SAFETY: the strides below address only inside a, b and c.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}

fn main() {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // matrixmultiply reads this once, on its first call.
        // SAFETY: single-threaded here, before any other thread starts.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", threads.to_string()) };
    }
    let x: Vec<f32> = (0..M * K)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let w: Vec<f32> = (0..K * N)
        .map(|i| ((i * 104_729) % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let d: Vec<f32> = (0..M * N)
        .map(|i| ((i * 31) % 997) as f32 / 997.0 - 0.5)
        .collect();
    let mut out = vec![0.0f32; M * N];
    let mut back = vec![0.0f32; M * K];
    let mut grad = vec![0.0f32; K * N];
    let gflop = 2.0 * (M * K * N) as f64 / 1e9;

    println!("product (1024x784x512)          | gemm ms | matrixmultiply ms | gemm / mm time");
    let rows: [(&str, f64, f64); 3] = [
        (
            "forward  X.W",
            median_ms(|| neurona::cpu::matmul::matmul(&x, &w, &mut out, M, K, N)),
            median_ms(|| mm(M, K, N, &x, K as isize, 1, &w, N as isize, 1, &mut out)),
        ),
        (
            "backward D.Wᵀ",
            median_ms(|| neurona::cpu::matmul::matmul_nt(&d, &w, &mut back, M, N, K)),
            median_ms(|| {
                // matrixmultiply writes c with row stride = its n; here n = K.
                unsafe {
                    matrixmultiply::sgemm(
                        M,
                        N,
                        K,
                        1.0,
                        d.as_ptr(),
                        N as isize,
                        1,
                        w.as_ptr(),
                        1,
                        N as isize,
                        0.0,
                        back.as_mut_ptr(),
                        K as isize,
                        1,
                    )
                }
            }),
        ),
        (
            "update   Xᵀ.D",
            median_ms(|| neurona::cpu::matmul::matmul_tn_acc(&x, &d, &mut grad, K, M, N, -1e-9)),
            median_ms(|| unsafe {
                matrixmultiply::sgemm(
                    K,
                    M,
                    N,
                    -1e-9,
                    x.as_ptr(),
                    1,
                    K as isize,
                    d.as_ptr(),
                    N as isize,
                    1,
                    1.0,
                    grad.as_mut_ptr(),
                    N as isize,
                    1,
                )
            }),
        ),
    ];
    let (mut tg, mut tm) = (0.0, 0.0);
    for (name, g, m) in rows {
        println!(
            "{name:<31} | {g:7.2} ({:5.0} GFLOP/s) | {m:7.2} ({:5.0} GFLOP/s) | {:.2}",
            gflop / g * 1e3,
            gflop / m * 1e3,
            g / m
        );
        tg += g;
        tm += m;
    }
    println!(
        "all three: gemm {tg:.2} ms, matrixmultiply {tm:.2} ms, gemm takes {:.2}x the time ({threads} threads)",
        tg / tm
    );
}
