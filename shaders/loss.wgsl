// loss.wgsl: the sum of the loss over this step's batch, written to
// out[step.loss_slot] (the host divides by the rows). Per element (the CPU's
// `Loss::value`):
//
//   MSE: ½ (ŷ − y)²       BCE: −[y ln q + (1 − y) ln(1 − q)], q = clamp(ŷ, 1e-7, 1 − 1e-7)
//
// Bindings: a = ŷ, b = y (rows x n_out), c = out (one f32 per step).
// Workgroup: one, of 256 invocations; each sums elements lid, lid + 256, ...
// in order, then a tree in workgroup memory halves 256 partial sums to one.
// The order is fixed, so the result is the same every run.

@group(0) @binding(0) var<storage, read> y_hat: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> layer: Layer;
@group(1) @binding(0) var<uniform> step: Step;

var<workgroup> partial: array<f32, 256>;

fn loss_value(p: f32, t: f32) -> f32 {
    if layer.loss == MSE {
        let e = p - t;
        return 0.5 * e * e;
    }
    let q = clamp(p, BCE_EPSILON, 1.0 - BCE_EPSILON);
    return -(t * log(q) + (1.0 - t) * log(1.0 - q));
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    let count = step.rows * layer.n_out;
    var sum = 0.0;
    for (var e = lid; e < count; e += 256u) {
        sum += loss_value(y_hat[e], y[e]);
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if lid < half { partial[lid] += partial[lid + half]; }
        workgroupBarrier();
    }
    if lid == 0u { out[step.loss_slot] = partial[0]; }
}
