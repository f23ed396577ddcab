// common.wgsl: prepended to every neurona kernel (src/gpu/shaders.rs).
//
// Activations by id (the ids of `Activation::gpu_id` in src/activation.rs),
// their derivatives written in terms of the output a = act(z) (the CPU's
// `Activation::derivative`), and the folded-grid index: grids wider than
// the device's limit per dimension are folded into y, so a kernel rebuilds
// its linear workgroup index and skips indices past the end.

const SIGMOID: u32 = 0u;
const RELU: u32 = 1u;
const TANH: u32 = 2u;
const IDENTITY: u32 = 3u;

// Sigmoid derivative rules (`SigmoidDerivative`): 0 exact s(1 - s), 1 the
// notebook's 1 - s.
const SIGMOID_EXACT: u32 = 0u;

// Losses (`Loss`): 0 MSE, 1 BCE.
const MSE: u32 = 0u;
const BCE: u32 = 1u;
const BCE_EPSILON: f32 = 1e-7;

// Per-layer sizes and settings: the same struct for every kernel, each
// reading the fields it needs.
struct Layer {
    n_in: u32,      // input width
    n_out: u32,     // output width
    has_bias: u32,  // 1: the weight buffer has a bias row after the n_in rows
    act: u32,       // activation id
    n_next: u32,    // next layer's width (hidden delta), 0 for the last
    sigmoid_rule: u32,
    loss: u32,
    cols: u32,      // row width for gather
}

// What changes from step to step, bound with a dynamic offset.
struct Step {
    rows: u32,         // rows in this step's batch
    index_offset: u32, // where this batch's row indices start in the index buffer
    scale: f32,        // SGD step size s = lr / rows (mean) or lr (sum)
    loss_slot: u32,    // where the loss kernel writes this step's loss sum
}

fn activate(kind: u32, z: f32) -> f32 {
    switch kind {
        case SIGMOID: { return 1.0 / (1.0 + exp(-z)); }
        // select(z, 0, z < 0) keeps NaN (as the CPU does) rather than hiding it.
        case RELU: { return select(z, 0.0, z < 0.0); }
        // tanh is 1.0 in f32 beyond |z| = 9; clamping avoids inf/inf = NaN
        // in drivers that compute tanh through exp.
        case TANH: { return tanh(clamp(z, -15.0, 15.0)); }
        default: { return z; }
    }
}

fn derivative(kind: u32, a: f32, sigmoid_rule: u32) -> f32 {
    switch kind {
        case SIGMOID: {
            if sigmoid_rule == SIGMOID_EXACT { return a * (1.0 - a); }
            return 1.0 - a;
        }
        case RELU: { return select(0.0, 1.0, a > 0.0); }
        case TANH: { return 1.0 - a * a; }
        default: { return 1.0; }
    }
}

// The linear index of this workgroup in a grid folded over x, y and z.
fn group_index(wid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wid.x + groups.x * (wid.y + groups.y * wid.z);
}
