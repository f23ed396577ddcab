// output_activation.wgsl: the output layer's activation from its logits,
// for losses computed from the logits (BCE, cross-entropy), where the
// forward product wrote z = A_in . W + b without an activation (the CPU's
// `output_activation`):
//
//   softmax, per row:   ŷ_j = e^(z_j − lse(z)),  lse(z) = max z + ln Σ_k e^(z_k − max z)
//   otherwise:          ŷ = act(z), value by value
//
// Bindings: a = z (rows x n_out, kept for the loss kernel), c = ŷ
// (rows x n_out), each member's at member · stride_a and stride_c.
// Workgroup: 256 invocations, one row each, over a folded grid; z is the
// member.

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> y_hat: array<f32>;
@group(0) @binding(4) var<uniform> layer: Layer;
@group(1) @binding(0) var<storage, read> steps: array<Step>;

@compute @workgroup_size(ELEMENTWISE_GROUP)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let member = member_index(wid, groups, layer.members);
    let step = steps[member];
    if step.skip == 1u { return; }
    let r = group_index(wid, groups, layer.members) * ELEMENTWISE_GROUP + lid;
    if r >= step.rows { return; }
    let n = layer.n_out;
    let row = member * layer.stride_a + r * n;
    let out = member * layer.stride_c + r * n;
    if layer.act != SOFTMAX {
        for (var j = 0u; j < n; j++) { y_hat[out + j] = activate(layer.act, z[row + j]); }
        return;
    }
    var m = z[row];
    for (var j = 1u; j < n; j++) { m = max(m, z[row + j]); }
    var s = 0.0;
    for (var j = 0u; j < n; j++) { s += exp(z[row + j] - m); }
    let lse = m + log(s);
    for (var j = 0u; j < n; j++) { y_hat[out + j] = exp(z[row + j] - lse); }
}
