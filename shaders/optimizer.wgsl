// optimizer.wgsl: one optimizer step over a layer's values [W; b], in
// place, from the gradient G that matmul.wgsl's weight_gradient wrote (the
// CPU's `optimizer_update`; src/optimizer.rs has the rule). Per value e,
// with g = G[e] + λ w for weights (e < n_in · n_out), g = G[e] for the bias:
//
//   SGD:       w −= lr g
//   momentum:  v = μ v + g;  w −= lr v   (Nesterov: w −= lr (g + μ v))
//   Adam:      m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;
//              w −= lr (m c1) / (√(v c2) + ε),  c1, c2 the bias corrections
//
// Bindings: a = G (count values), c = the layer's parameter buffer:
// [W; b] (count values), then the state: velocity or m (count), then v
// (count). lr, c1 and c2 come with the step. Members: G at member ·
// stride_a, parameters at member · stride_c. Workgroup: 256 invocations,
// one value each, over a folded grid; z also holds the members.

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> params: array<f32>;
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
    let count = layer.count;
    if e >= count { return; }
    let p0 = member * layer.stride_c;
    var w = params[p0 + e];
    var g = grad[member * layer.stride_a + e];
    if e < layer.n_in * layer.n_out { g = g + layer.decay * w; }
    switch layer.optimizer {
        case SGD: {
            w -= step.lr * g;
        }
        case MOMENTUM: {
            let v = layer.beta1 * params[p0 + count + e] + g;
            params[p0 + count + e] = v;
            var u = v;
            if layer.nesterov == 1u { u = g + layer.beta1 * v; }
            w -= step.lr * u;
        }
        default: {
            let m = layer.beta1 * params[p0 + count + e] + (1.0 - layer.beta1) * g;
            let v = layer.beta2 * params[p0 + 2u * count + e] + (1.0 - layer.beta2) * (g * g);
            params[p0 + count + e] = m;
            params[p0 + 2u * count + e] = v;
            let m_hat = m * step.correction1;
            let v_hat = v * step.correction2;
            w -= step.lr * (m_hat / (sqrt(v_hat) + layer.epsilon));
        }
    }
    params[p0 + e] = w;
}
