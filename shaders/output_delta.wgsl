// output_delta.wgsl: the last layer's delta, loss gradient through the
// activation, element by element (the CPU's `output_delta`):
//
//   MSE:                         D = (ŷ − y) · act'(ŷ)
//   BCE, sigmoid, exact rule:    D = ŷ − y   (the closed form, no division)
//   BCE, notebook's 1 − s:       D = (ŷ − y) / (q (1 − q)) · act'(ŷ), q = clamp(ŷ)
//   CE, softmax:                 D = ŷ − y
//
// Bindings: a = ŷ (the last layer's activations), b = y (targets), c = D;
// all rows x n_out, each member's at member · stride_a, _b and _c.
// Workgroup: 256 invocations, one element each, over a folded grid; z also holds
// the members.

@group(0) @binding(0) var<storage, read> y_hat: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> delta: array<f32>;
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
    let e = group_index(wid, groups, layer.members) * ELEMENTWISE_GROUP + lid;
    if e >= step.rows * layer.n_out { return; }
    let p = y_hat[member * layer.stride_a + e];
    let t = y[member * layer.stride_b + e];
    let d = member * layer.stride_c + e;
    if layer.loss == MSE {
        delta[d] = (p - t) * derivative(layer.act, p, layer.sigmoid_rule);
    } else if layer.loss == CE || (layer.act == SIGMOID && layer.sigmoid_rule == SIGMOID_EXACT) {
        delta[d] = p - t;
    } else {
        let q = clamp(p, BCE_EPSILON, 1.0 - BCE_EPSILON);
        delta[d] = (p - t) / (q * (1.0 - q)) * derivative(layer.act, p, layer.sigmoid_rule);
    }
}
