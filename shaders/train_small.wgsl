// train_small.wgsl: whole training steps for networks small enough to live
// in one workgroup's memory, many steps in one dispatch, one network per
// workgroup. Per step, with the same math and the same order of every sum
// as the per-step kernels (gather, matmul.wgsl's epilogues,
// output_activation, loss, output_delta, optimizer):
//
//   gather    X_b, Y_b = rows idx[offset .. offset + rows] of X, Y
//   forward   A_l = act_l(A_{l-1} . W_l + b_l); a softmax output from its
//             logits z: ŷ_j = e^(z_j − lse(z)), as output_activation.wgsl
//   loss      out[loss_slot] = Σ loss(ŷ, y)   (MSE from ŷ, BCE and CE from z;
//             in loss.wgsl's order: 256 partial sums over elements (rows for
//             CE) lane, lane + 256, ..., four per invocation here, then its
//             tree: the first two halvings in registers, the rest in
//             `partial`)
//   deltas    D_L = ∂loss/∂ŷ ⊙ act'(ŷ) (ŷ − y for BCE with a sigmoid, and
//             CE);  D_l = (D_{l+1} . W_{l+1}ᵀ) ⊙ act'(A_l)
//   update    fused plain SGD:  [W_l; b_l] -= s · [A_{l-1}, 1]ᵀ . D_l
//             otherwise         G = s · [A_{l-1}, 1]ᵀ . D_l, then per value
//             optimizer.wgsl's rule: g = G + λ w (weights, not the bias),
//             SGD w −= lr g; momentum v = μ v + g, w −= lr v (Nesterov
//             lr (g + μ v)); Adam m, v, w −= lr (m c1) / (√(v c2) + ε)
//
// A network that only evaluates (`eval.x` = 1) runs each step as a chunk of
// rows: gather, forward, loss, and (with `eval.y` = 1) its predictions into
// `out` from `eval.z` on: no deltas, no update.
//
// Bindings (group 0): 0 X (rows x n_in), 1 Y (rows x n_out), 2 idx (u32 row
// indices), 3 steps (one Step per step: rows, index offset, scale, loss
// slot, lr and Adam's corrections), 4 weights (each layer's [W; b], row-major,
// then its optimizer state, momentum's v or Adam's m then v, `count` values
// each: gpu::parameters' layout; [W; b] is read at the start and written at
// the end, the state read and written in place), 5 out (one loss sum per
// step, and predictions), then the networks: 6 one Net (uniform, entry
// point `main`), or 7 one Net per workgroup (storage, entry point
// `members`). A Net holds the sizes, where each layer's values sit in `mem`
// and in `weights`, the loss, the update rule, and which steps to run.
//
// Workgroup: 64 invocations per network; each phase hands out its elements
// round-robin and ends with a barrier. Every output value is one
// invocation's fixed-order sum: no atomics, bit-identical runs, and
// workgroups never share a value, so a network trains to the same bits
// alone (`main`) or beside others (`members`). The host uses this kernel
// when weights, activations and deltas of a batch fit in MEM floats (with
// `partial`, 16 KiB: the workgroup memory every WebGPU device has), and
// runs steps first .. first + steps in each dispatch: it keeps each dispatch
// short, because Mesa's llvmpipe silently ends a shader after about 65,535
// iterations of loops with run-time bounds, and drivers reset GPUs whose
// dispatches run for seconds.

// From the prelude (Rust's SMALL_NET_* in src/gpu/shaders.rs): MEM floats
// + THREADS floats of `partial` = 4096 floats, 16 KiB.
const MEM: u32 = SMALL_NET_FLOATS;
const THREADS: u32 = SMALL_NET_THREADS;
const MAX_LAYERS: u32 = SMALL_NET_LAYERS;
// loss.wgsl's partial sums: four per invocation of THREADS = 64.
const LANES: u32 = 256u;

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
    // parameters offset in the weights buffer).
    offs: array<vec4<u32>, MAX_LAYERS>,
    // (optimizer id, 1 for Nesterov, 1 for the fused plain-SGD update, 0).
    rule: vec4<u32>,
    // (momentum μ or Adam's β1, β2, ε, weight decay λ).
    hyper: vec4<f32>,
    // (1: only evaluate, 1: write predictions, where they start in out,
    // the index offset of the row they start at).
    eval: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> x_all: array<f32>;
@group(0) @binding(1) var<storage, read> y_all: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> steps: array<Step>;
@group(0) @binding(4) var<storage, read_write> weights: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> one_net: Net;
@group(0) @binding(7) var<storage, read> nets: array<Net>;

var<workgroup> mem: array<f32, MEM>;
var<workgroup> partial: array<f32, THREADS>;
// This workgroup's network, copied from one_net or nets at the start. Loop
// bounds around barriers are read from it with workgroupUniformLoad.
var<workgroup> net: Net;

// The loss of one value as loss.wgsl computes it: from ŷ (MSE) or from the
// logit z (BCE).
fn loss_value(p: f32, z: f32, t: f32) -> f32 {
    if net.loss == MSE {
        let e = p - t;
        return 0.5 * e * e;
    }
    return max(z, 0.0) - t * z + log(1.0 + exp(-abs(z)));
}

// Where layer l's input sits in mem, and its width: the batch's inputs,
// or the activations of the layer before.
fn input_of(l: u32) -> vec2<u32> {
    if l == 0u { return vec2(net.x_off, net.n_in); }
    return vec2(net.offs[l - 1u].y, net.dims[l - 1u].y);
}

// Cross-entropy of row r from its logits (in the output's delta slot), as
// loss.wgsl's row_cross_entropy.
fn row_cross_entropy(r: u32) -> f32 {
    let last = net.layers - 1u;
    let n = net.dims[last].y;
    let z = net.offs[last].z + r * n;
    var m = mem[z];
    for (var j = 1u; j < n; j++) { m = max(m, mem[z + j]); }
    var s = 0.0;
    for (var j = 0u; j < n; j++) { s += exp(mem[z + j] - m); }
    let lse = m + log(s);
    var loss = 0.0;
    for (var j = 0u; j < n; j++) {
        let t = mem[net.y_off + r * n + j];
        if t != 0.0 { loss += t * (lse - mem[z + j]); }
    }
    return loss;
}

// loss.wgsl's partial sum number `lane`: elements (rows for CE) lane,
// lane + 256, ... in order.
fn lane_sum(lane: u32, rows: u32) -> f32 {
    let last = net.layers - 1u;
    let n = net.dims[last].y;
    let o = net.offs[last];
    var sum = 0.0;
    if net.loss == CE {
        for (var r = lane; r < rows; r += LANES) { sum += row_cross_entropy(r); }
    } else {
        for (var e = lane; e < rows * n; e += LANES) {
            sum += loss_value(mem[o.y + e], mem[o.z + e], mem[net.y_off + e]);
        }
    }
    return sum;
}

// The batch's loss sum into out[slot], summed as loss.wgsl sums it: its 256
// partial sums halved to 128 and to 64 here in registers (lane tid holds
// lanes tid and tid + 128, tid + 64 holds tid + 64 and tid + 192), then the
// same tree over the 64 left.
fn batch_loss(tid: u32, rows: u32, slot: u32) {
    let low = lane_sum(tid, rows) + lane_sum(tid + 128u, rows);
    let high = lane_sum(tid + 64u, rows) + lane_sum(tid + 192u, rows);
    partial[tid] = low + high;
    workgroupBarrier();
    for (var half = THREADS / 2u; half > 0u; half >>= 1u) {
        if tid < half { partial[tid] += partial[tid + half]; }
        workgroupBarrier();
    }
    if tid == 0u { out[slot] = partial[0]; }
}

// One update of value e of layer l, whose gradient product is `acc`.
fn update_value(step: Step, l: u32, e: u32, acc: f32) {
    let d = net.dims[l];
    let o = net.offs[l];
    let w = mem[o.x + e];
    if net.rule.z == 1u {
        mem[o.x + e] = w - step.scale * acc;
        return;
    }
    var g = step.scale * acc;
    if e < d.x * d.y { g = g + net.hyper.w * w; }
    let count = (d.x + d.z) * d.y;
    let state = o.w + count + e;
    switch net.rule.x {
        case SGD: {
            mem[o.x + e] = w - step.lr * g;
        }
        case MOMENTUM: {
            let v = net.hyper.x * weights[state] + g;
            weights[state] = v;
            var u = v;
            if net.rule.y == 1u { u = g + net.hyper.x * v; }
            mem[o.x + e] = w - step.lr * u;
        }
        default: {
            let m = net.hyper.x * weights[state] + (1.0 - net.hyper.x) * g;
            let v = net.hyper.y * weights[state + count] + (1.0 - net.hyper.y) * (g * g);
            weights[state] = m;
            weights[state + count] = v;
            let m_hat = m * step.correction1;
            let v_hat = v * step.correction2;
            mem[o.x + e] = w - step.lr * (m_hat / (sqrt(v_hat) + net.hyper.z));
        }
    }
}

// Steps net.first .. net.first + net.steps of this workgroup's network.
fn run(tid: u32) {
    let layers = workgroupUniformLoad(&net.layers);
    let first = workgroupUniformLoad(&net.first);
    let count = workgroupUniformLoad(&net.steps);
    let evaluate = workgroupUniformLoad(&net.eval).x == 1u;
    let last = layers - 1u;
    let softmax = workgroupUniformLoad(&net.dims[last]).w == SOFTMAX;
    let n_out = net.dims[last].y;

    // Weights into workgroup memory.
    for (var l = 0u; l < layers; l++) {
        let d = net.dims[l];
        let o = net.offs[l];
        for (var e = tid; e < (d.x + d.z) * d.y; e += THREADS) {
            mem[o.x + e] = weights[o.w + e];
        }
    }
    workgroupBarrier();

    for (var s = first; s < first + count; s++) {
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
        for (var l = 0u; l < layers; l++) {
            let d = net.dims[l];
            let o = net.offs[l];
            let input = input_of(l);
            for (var e = tid; e < rows * d.y; e += THREADS) {
                let r = e / d.y;
                let j = e % d.y;
                let a = input.x + r * input.y;
                var sum = 0.0;
                for (var i = 0u; i < d.x; i++) {
                    sum = fma(mem[a + i], mem[o.x + i * d.y + j], sum);
                }
                var z = sum;
                if d.z == 1u { z += mem[o.x + d.x * d.y + j]; }
                // The output's logits (for BCE and CE, and a softmax) are
                // kept in its delta slot, which the loss reads before the
                // deltas are written there.
                if l == last { mem[o.z + e] = z; }
                if d.w != SOFTMAX { mem[o.y + e] = activate(d.w, z); }
            }
            workgroupBarrier();
        }
        let dl = net.dims[last];
        let ol = net.offs[last];
        if softmax {
            for (var r = tid; r < rows; r += THREADS) {
                let z = ol.z + r * n_out;
                var m = mem[z];
                for (var j = 1u; j < n_out; j++) { m = max(m, mem[z + j]); }
                var sum = 0.0;
                for (var j = 0u; j < n_out; j++) { sum += exp(mem[z + j] - m); }
                let lse = m + log(sum);
                for (var j = 0u; j < n_out; j++) { mem[ol.y + r * n_out + j] = exp(mem[z + j] - lse); }
            }
            workgroupBarrier();
        }

        batch_loss(tid, rows, step.loss_slot);

        if evaluate {
            if net.eval.y == 1u {
                let at = net.eval.z + (step.index_offset - net.eval.w) * n_out;
                for (var e = tid; e < rows * n_out; e += THREADS) {
                    out[at + e] = mem[ol.y + e];
                }
            }
            continue;
        }

        // The output delta (output_delta.wgsl's).
        for (var e = tid; e < rows * n_out; e += THREADS) {
            let p = mem[ol.y + e];
            let t = mem[net.y_off + e];
            var delta: f32;
            if net.loss == MSE {
                delta = (p - t) * derivative(dl.w, p, net.sigmoid_rule);
            } else if net.loss == CE || (dl.w == SIGMOID && net.sigmoid_rule == SIGMOID_EXACT) {
                delta = p - t;
            } else {
                let q = clamp(p, BCE_EPSILON, 1.0 - BCE_EPSILON);
                delta = (p - t) / (q * (1.0 - q)) * derivative(dl.w, p, net.sigmoid_rule);
            }
            mem[ol.z + e] = delta;
        }
        workgroupBarrier();

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
        for (var l = 0u; l < layers; l++) {
            let d = net.dims[l];
            let deltas = net.offs[l].z;
            let input = input_of(l);
            for (var e = tid; e < (d.x + d.z) * d.y; e += THREADS) {
                let i = e / d.y;
                let j = e % d.y;
                var acc = 0.0;
                for (var r = 0u; r < rows; r++) {
                    var a = 1.0; // the bias row sees ones
                    if i < d.x { a = mem[input.x + r * input.y + i]; }
                    acc = fma(a, mem[deltas + r * d.y + j], acc);
                }
                update_value(step, l, e, acc);
            }
        }
        workgroupBarrier();
    }

    if evaluate { return; }
    for (var l = 0u; l < layers; l++) {
        let d = net.dims[l];
        let o = net.offs[l];
        for (var e = tid; e < (d.x + d.z) * d.y; e += THREADS) {
            weights[o.w + e] = mem[o.x + e];
        }
    }
}

// One network, its Net in a uniform.
@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) tid: u32) {
    if tid == 0u { net = one_net; }
    run(tid);
}

// Many networks, workgroup w training nets[w].
@compute @workgroup_size(THREADS)
fn members(
    @builtin(local_invocation_index) tid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    if tid == 0u { net = nets[wid.x]; }
    run(tid);
}
