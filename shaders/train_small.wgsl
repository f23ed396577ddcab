// train_small.wgsl: whole training steps for a network small enough to live
// in one workgroup's memory, many steps in one dispatch. Per step, with the
// same math and the same order of every sum as the per-step kernels
// (gather, matmul.wgsl's three epilogues, output_delta, loss):
//
//   gather    X_b, Y_b = rows idx[offset .. offset + rows] of X, Y
//   forward   A_l = act_l(A_{l-1} . W_l + b_l)
//   loss      out[loss_slot] = Σ loss(ŷ, y)        (partial sums per invocation,
//                                                  a tree over them; BCE from z)
//   deltas    D_L = ∂loss/∂ŷ ⊙ act'(ŷ);  D_l = (D_{l+1} . W_{l+1}ᵀ) ⊙ act'(A_l)
//   update    [W_l; b_l] -= s · [A_{l-1}, 1]ᵀ . D_l
//
// Bindings (group 0): 0 X (rows x n_in), 1 Y (rows x n_out), 2 idx (u32 row
// indices), 3 steps (one Step per step: rows, index offset, scale, loss
// slot), 4 weights (every layer's [W; b], row-major, one after another;
// read at the start, written at the end), 5 out (one loss sum per step),
// 6 the Net uniform: sizes and where each layer's values sit in `mem`.
//
// Workgroup: one, of 64 invocations; each phase hands out its elements
// round-robin and ends with a barrier. Every output value is one
// invocation's fixed-order sum: no atomics, bit-identical runs. The host
// uses this kernel when weights, activations and deltas of a batch fit in
// MEM floats (with `partial`, 16 KiB: the workgroup memory every WebGPU
// device has), and
// runs steps first .. first + steps in each dispatch: it keeps each dispatch
// short, because Mesa's llvmpipe silently ends a shader after about 65,535
// iterations of loops with run-time bounds, and drivers reset GPUs whose
// dispatches run for seconds.

// From the prelude (Rust's SMALL_NET_* in src/gpu/shaders.rs): MEM floats
// + THREADS floats of `partial` = 4096 floats, 16 KiB.
const MEM: u32 = SMALL_NET_FLOATS;
const THREADS: u32 = SMALL_NET_THREADS;
const MAX_LAYERS: u32 = SMALL_NET_LAYERS;

struct Net {
    layers: u32,
    steps: u32,
    loss: u32,
    sigmoid_rule: u32,
    n_in: u32,      // input width
    x_off: u32,     // where the batch's inputs sit in mem
    y_off: u32,     // where the batch's targets sit in mem
    first: u32,     // the first step of this dispatch
    // Per layer: (n_in, n_out, has_bias, act).
    dims: array<vec4<u32>, MAX_LAYERS>,
    // Per layer: (weights offset in mem, activations offset, deltas offset,
    // weights offset in the weights buffer).
    offs: array<vec4<u32>, MAX_LAYERS>,
}

@group(0) @binding(0) var<storage, read> x_all: array<f32>;
@group(0) @binding(1) var<storage, read> y_all: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> steps: array<Step>;
@group(0) @binding(4) var<storage, read_write> weights: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> net: Net;

var<workgroup> mem: array<f32, MEM>;
var<workgroup> partial: array<f32, THREADS>;

// The loss of one value as loss.wgsl computes it: from ŷ (MSE) or from the
// logit z (BCE).
fn loss_value(p: f32, z: f32, t: f32) -> f32 {
    if net.loss == MSE {
        let e = p - t;
        return 0.5 * e * e;
    }
    return max(z, 0.0) - t * z + log(1.0 + exp(-abs(z)));
}

// The input of layer l for row r, column i: the batch or the activations
// before it.
fn layer_input(l: u32, r: u32, i: u32) -> f32 {
    if l == 0u { return mem[net.x_off + r * net.n_in + i]; }
    let prev = net.dims[l - 1u];
    return mem[net.offs[l - 1u].y + r * prev.y + i];
}

@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) tid: u32) {
    let last = net.layers - 1u;
    let n_out = net.dims[last].y;

    // Weights into workgroup memory.
    for (var l = 0u; l < net.layers; l++) {
        let d = net.dims[l];
        let o = net.offs[l];
        for (var e = tid; e < (d.x + d.z) * d.y; e += THREADS) {
            mem[o.x + e] = weights[o.w + e];
        }
    }
    workgroupBarrier();

    for (var s = net.first; s < net.first + net.steps; s++) {
        let step = steps[s];
        let rows = step.rows;

        // Gather the batch.
        for (var e = tid; e < rows * net.n_in; e += THREADS) {
            let r = e / net.n_in;
            mem[net.x_off + e] = x_all[idx[step.index_offset + r] * net.n_in + e % net.n_in];
        }
        for (var e = tid; e < rows * n_out; e += THREADS) {
            let r = e / n_out;
            mem[net.y_off + e] = y_all[idx[step.index_offset + r] * n_out + e % n_out];
        }
        workgroupBarrier();

        // Forward.
        for (var l = 0u; l < net.layers; l++) {
            let d = net.dims[l];
            let o = net.offs[l];
            for (var e = tid; e < rows * d.y; e += THREADS) {
                let r = e / d.y;
                let j = e % d.y;
                var sum = 0.0;
                for (var i = 0u; i < d.x; i++) {
                    sum = fma(layer_input(l, r, i), mem[o.x + i * d.y + j], sum);
                }
                var z = sum;
                if d.z == 1u { z += mem[o.x + d.x * d.y + j]; }
                mem[o.y + e] = activate(d.w, z);
                // BCE's loss needs the logit: kept in the delta slot, which
                // the same invocation reads before writing the delta there.
                if l == last { mem[o.z + e] = z; }
            }
            workgroupBarrier();
        }

        // Loss, and the output delta (the same as output_delta.wgsl).
        let dl = net.dims[last];
        let ol = net.offs[last];
        var sum = 0.0;
        for (var e = tid; e < rows * n_out; e += THREADS) {
            let p = mem[ol.y + e];
            let t = mem[net.y_off + e];
            sum += loss_value(p, mem[ol.z + e], t);
            var delta: f32;
            if net.loss == MSE {
                delta = (p - t) * derivative(dl.w, p, net.sigmoid_rule);
            } else if dl.w == SIGMOID && net.sigmoid_rule == SIGMOID_EXACT {
                delta = p - t;
            } else {
                let q = clamp(p, BCE_EPSILON, 1.0 - BCE_EPSILON);
                delta = (p - t) / (q * (1.0 - q)) * derivative(dl.w, p, net.sigmoid_rule);
            }
            mem[ol.z + e] = delta;
        }
        partial[tid] = sum;
        workgroupBarrier();
        for (var half = THREADS / 2u; half > 0u; half >>= 1u) {
            if tid < half { partial[tid] += partial[tid + half]; }
            workgroupBarrier();
        }
        if tid == 0u { out[step.loss_slot] = partial[0]; }

        // Hidden deltas, last to first, from this step's weights.
        for (var k = 0u; k < last; k++) {
            let l = last - 1u - k;
            let d = net.dims[l];
            let o = net.offs[l];
            let dn = net.dims[l + 1u];
            let on = net.offs[l + 1u];
            for (var e = tid; e < rows * d.y; e += THREADS) {
                let r = e / d.y;
                let j = e % d.y;
                var acc = 0.0;
                for (var p = 0u; p < dn.y; p++) {
                    acc = fma(mem[on.z + r * dn.y + p], mem[on.x + j * dn.y + p], acc);
                }
                mem[o.z + e] = acc * derivative(d.w, mem[o.y + e], net.sigmoid_rule);
            }
            workgroupBarrier();
        }

        // Updates: every layer's deltas are ready, no weight is read again
        // this step.
        for (var l = 0u; l < net.layers; l++) {
            let d = net.dims[l];
            let o = net.offs[l];
            for (var e = tid; e < (d.x + d.z) * d.y; e += THREADS) {
                let i = e / d.y;
                let j = e % d.y;
                var acc = 0.0;
                for (var r = 0u; r < rows; r++) {
                    var a = 1.0; // the bias row sees ones
                    if i < d.x { a = layer_input(l, r, i); }
                    acc = fma(a, mem[o.z + r * d.y + j], acc);
                }
                mem[o.x + e] = mem[o.x + e] - step.scale * acc;
            }
        }
        workgroupBarrier();
    }

    for (var l = 0u; l < net.layers; l++) {
        let d = net.dims[l];
        let o = net.offs[l];
        for (var e = tid; e < (d.x + d.z) * d.y; e += THREADS) {
            weights[o.w + e] = mem[o.x + e];
        }
    }
}
