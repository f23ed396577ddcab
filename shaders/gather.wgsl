// gather.wgsl: copy this step's batch rows out of the resident data set.
//
//   dst[r, c] = src[idx[step.index_offset + r], c]   r < step.rows, c < layer.cols
//
// Bindings: a = src (data set, row-major, layer.cols wide), idx = row
// indices (u32: file order or the epoch's seeded permutation), c = dst (the
// batch). Members: src and idx shared (each member's rows start at its
// index_offset), dst at member · stride_c. Workgroup: 256 invocations, one
// element each, over a folded grid; z also holds the members.

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
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
    let cols = layer.cols;
    if e >= step.rows * cols { return; }
    let r = e / cols;
    let col = e % cols;
    dst[member * layer.stride_c + e] = src[idx[step.index_offset + r] * cols + col];
}
