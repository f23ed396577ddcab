// matmul.wgsl: the tiled matrix product at the heart of every layer, with a
// fused epilogue. One source, three pipelines, picked by the override KIND:
//
//   KIND 0, matmul_bias_act (forward), M = rows, N = n_out, K = n_in:
//       C = act(A_in . W + b)         a = A_in (rows x n_in), b = W_aug, c = A_out
//   KIND 1, hidden_delta, M = rows, N = n (this layer), K = n_next:
//       C = (D_next . W_nextᵀ) ⊙ act'(A)
//                                     a = D_next (rows x n_next), b = W_next_aug
//                                     read transposed in place, aux = A, c = D
//   KIND 2, sgd_update, M = n_in + has_bias, N = n_out, K = rows:
//       W_aug -= s · [A_in, 1]ᵀ . D   a = A_in read transposed, with a virtual
//                                     column of ones for the bias row,
//                                     b = D (rows x n_out), c = W_aug, in place
//
// W_aug is the layer's weights, row-major n_in x n_out, followed by the bias
// as row n_in when the layer has one. All buffers row-major f32.
//
// Workgroup: (TILE / R) x (TILE / R) invocations computing a TILE x TILE
// tile of C, R x R outputs each, stepping through K in slices of 16 staged
// in workgroup memory. Two shapes are built (src/gpu/shaders.rs): TILE 64,
// R 4 (256 invocations, 2 x 4 KiB) for large products, and TILE 16, R 2 (64
// invocations, 2 x 1 KiB) for small ones, where a big tile would be mostly
// padding. Each C element is summed over K in a fixed order by one
// invocation: no atomics, so results are bit-identical run to run. Tiles are
// numbered row-major over the folded grid (see group_index).

override KIND: u32 = 0u;
override TILE: u32 = 64u;
override R: u32 = 4u;

const TK: u32 = 16u;
const MAX_R: u32 = 4u;
// Invocations per side and in all.
override SIDE: u32 = TILE / R;
override THREADS: u32 = SIDE * SIDE;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>;
@group(0) @binding(4) var<uniform> layer: Layer;
@group(1) @binding(0) var<uniform> step: Step;

var<workgroup> tile_a: array<f32, TILE * TK>; // TILE x TK, row-major
var<workgroup> tile_b: array<f32, TK * TILE>; // TK x TILE, row-major

// (M, N, K) of this product.
fn dims() -> vec3<u32> {
    switch KIND {
        case 0u: { return vec3(step.rows, layer.n_out, layer.n_in); }
        case 1u: { return vec3(step.rows, layer.n_out, layer.n_next); }
        default: { return vec3(layer.n_in + layer.has_bias, layer.n_out, step.rows); }
    }
}

// Element (i, p) of the left operand; the caller keeps i < M and p < K.
fn load_a(i: u32, p: u32) -> f32 {
    switch KIND {
        case 0u: { return a[i * layer.n_in + p]; }
        case 1u: { return a[i * layer.n_next + p]; }
        default: {
            // [A_in, 1]ᵀ: row i of the transpose is column i of A_in; the
            // bias row (i = n_in) sees ones.
            if i == layer.n_in { return 1.0; }
            return a[p * layer.n_in + i];
        }
    }
}

// Element (p, j) of the right operand; the caller keeps p < K and j < N.
fn load_b(p: u32, j: u32) -> f32 {
    switch KIND {
        case 0u: { return b[p * layer.n_out + j]; }
        // W_nextᵀ: W_next is n x n_next, so (p, j) of the transpose is (j, p).
        case 1u: { return b[j * layer.n_next + p]; }
        default: { return b[p * layer.n_out + j]; }
    }
}

fn epilogue(i: u32, j: u32, sum: f32) {
    let n = layer.n_out;
    switch KIND {
        case 0u: {
            var z = sum;
            if layer.has_bias == 1u { z += b[layer.n_in * n + j]; }
            c[i * n + j] = activate(layer.act, z);
        }
        case 1u: {
            c[i * n + j] = sum * derivative(layer.act, aux[i * n + j], layer.sigmoid_rule);
        }
        default: {
            c[i * n + j] = c[i * n + j] - step.scale * sum;
        }
    }
}

@compute @workgroup_size(SIDE, SIDE)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) flat: u32,
) {
    let d = dims();
    let m = d.x;
    let n = d.y;
    let k = d.z;
    let tiles_n = (n + TILE - 1u) / TILE;
    let tile = group_index(wid, groups);
    let row0 = (tile / tiles_n) * TILE;
    let col0 = (tile % tiles_n) * TILE;
    // Past the last tile (the folded grid rounds up): the whole workgroup
    // leaves together, so the barriers below stay uniform.
    if row0 >= m { return; }

    var acc: array<f32, 16>; // MAX_R x MAX_R, the first R x R used
    for (var k0 = 0u; k0 < k; k0 += TK) {
        // Stage A[row0.., k0..] and B[k0.., col0..] (TILE x TK values each,
        // shared out over the invocations), zero outside the matrix.
        for (var e = flat; e < TILE * TK; e += THREADS) {
            let ar = e / TK;
            let ak = e % TK;
            var va = 0.0;
            if row0 + ar < m && k0 + ak < k { va = load_a(row0 + ar, k0 + ak); }
            tile_a[e] = va;
            let bk = e / TILE;
            let bc = e % TILE;
            var vb = 0.0;
            if k0 + bk < k && col0 + bc < n { vb = load_b(k0 + bk, col0 + bc); }
            tile_b[e] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var av: array<f32, MAX_R>;
            var bv: array<f32, MAX_R>;
            for (var r = 0u; r < R; r++) { av[r] = tile_a[(lid.y * R + r) * TK + kk]; }
            for (var q = 0u; q < R; q++) { bv[q] = tile_b[kk * TILE + lid.x * R + q]; }
            for (var r = 0u; r < R; r++) {
                for (var q = 0u; q < R; q++) {
                    acc[r * MAX_R + q] = fma(av[r], bv[q], acc[r * MAX_R + q]);
                }
            }
        }
        workgroupBarrier();
    }

    for (var r = 0u; r < R; r++) {
        let i = row0 + lid.y * R + r;
        for (var q = 0u; q < R; q++) {
            let j = col0 + lid.x * R + q;
            if i < m && j < n { epilogue(i, j, acc[r * MAX_R + q]); }
        }
    }
}
