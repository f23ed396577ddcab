//! The vec4 register-tiled matmul family, generated as WGSL text: one
//! module per (tile, epilogue), in matmul.wgsl's binding layout and with its
//! four epilogues, for GPUs whose speed comes from many outputs per
//! invocation (the design and its measurements:
//! `../shared/docs/gpu-kernels-on-real-hardware.md`).
//!
//! - Global memory is read as `vec4` along each operand's contiguous
//!   dimension; workgroup memory holds both operands K-major (`As[k][m]`,
//!   `Bs[k][n]`), the transposed operands of the backward products being
//!   transposed as they are stored, so every global load is coalesced.
//! - Each invocation keeps `tm x tn` outputs in `tm · tn / 4` named `vec4`
//!   accumulators (never an indexed array, so nothing depends on the
//!   driver unrolling), its rows split in halves `ty·4 + {0..3}` and
//!   `bm/2 + ty·4 + {0..3}` (columns likewise), so the reads of a k-step
//!   are conflict-free `vec4` reads of workgroup memory.
//! - `stages = 2` prefetches the next K slice into registers while the
//!   current one is summed, with two workgroup buffers and one barrier per
//!   slice; `stages = 1` uses one buffer and two barriers.
//! - The k loop and the microkernel are unrolled in the text; the only loop
//!   is over K slices.
//!
//! Every output is still one `fma` chain over `k` in order, exactly as in
//! matmul.wgsl, so a variant gives the same bits as the fallback kernel on
//! the same adapter (±0 aside): choosing one changes speed, not results.
//! The family needs every dimension that is contiguous in memory to be a
//! multiple of 4 (`product::vec4_eligible`); other widths take matmul.wgsl.

use std::fmt::Write;

use crate::error::{Error, Result};
use crate::gpu::product::MatmulKind;

/// A tile of the vec4 family: `bm x bn` outputs per workgroup, `bk` values
/// of K staged per slice, `tm x tn` outputs per invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vec4Tile {
    bm: u32,
    bn: u32,
    bk: u32,
    tm: u32,
    tn: u32,
    stages: u32,
    pad: bool,
    group_m: u32,
}

/// Why these numbers make no valid tile, if they don't.
const fn invalid(t: &Vec4Tile) -> Option<&'static str> {
    if t.tm == 0 || t.tn == 0 || t.bk == 0 || t.bm == 0 || t.bn == 0 {
        return Some("sizes must be positive");
    }
    if !t.tm.is_multiple_of(4) || !t.tn.is_multiple_of(4) || !t.bk.is_multiple_of(4) {
        return Some("outputs per invocation and the K slice must be multiples of 4");
    }
    if !t.bm.is_multiple_of(t.tm) || !t.bn.is_multiple_of(t.tn) {
        return Some("the tile must be a multiple of the outputs per invocation");
    }
    let threads = (t.bm / t.tm) * (t.bn / t.tn);
    if !(t.bm / (t.tm / 4)).is_multiple_of(4) || !(t.bn / (t.tn / 4)).is_multiple_of(4) {
        return Some("the split halves of the tile must hold whole vec4s");
    }
    if !(t.bm * t.bk / 4).is_multiple_of(threads) || !(t.bn * t.bk / 4).is_multiple_of(threads) {
        return Some("each invocation must stage the same number of vec4s");
    }
    if threads > 256 {
        return Some("more than 256 invocations per workgroup");
    }
    if t.stages != 1 && t.stages != 2 {
        return Some("stages must be 1 or 2");
    }
    None
}

impl Vec4Tile {
    /// A tile known to be valid (checked when the constant is compiled).
    #[allow(clippy::too_many_arguments)]
    const fn known(
        bm: u32,
        bn: u32,
        bk: u32,
        tm: u32,
        tn: u32,
        stages: u32,
        pad: bool,
        group_m: u32,
    ) -> Self {
        let t = Vec4Tile {
            bm,
            bn,
            bk,
            tm,
            tn,
            stages,
            pad,
            group_m,
        };
        assert!(invalid(&t).is_none());
        t
    }

    /// A tile, checked: multiples of 4 where vec4s need them, whole
    /// per-invocation blocks, at most 256 invocations, 1 or 2 stages.
    /// `pad` pads the transposed shared tiles by 4 floats (fewer bank
    /// conflicts on the transposing stores); `group_m` orders workgroups
    /// in groups of that many tile rows (0: row-major) for cache reuse.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        bm: u32,
        bn: u32,
        bk: u32,
        tm: u32,
        tn: u32,
        stages: u32,
        pad: bool,
        group_m: u32,
    ) -> Result<Self> {
        let t = Vec4Tile {
            bm,
            bn,
            bk,
            tm,
            tn,
            stages,
            pad,
            group_m,
        };
        match invalid(&t) {
            None => Ok(t),
            Some(why) => Err(Error::Config(format!(
                "no vec4 matmul tile {}: {why}",
                t.name()
            ))),
        }
    }

    /// The tile a [`Vec4Tile::name`] names, checked.
    pub fn from_name(name: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::Config(format!(
                "no vec4 matmul tile {name:?}: {why} (names look like t128x128x8_r8x8_s2, with _np unpadded and _g8 grouped)"
            ))
        };
        let mut parts = name.trim().split('_');
        let numbers = |part: Option<&str>, prefix: char, count: usize| -> Result<Vec<u32>> {
            let part = part
                .and_then(|p| p.strip_prefix(prefix))
                .ok_or_else(|| bad("unreadable"))?;
            let values: Vec<u32> = part
                .split('x')
                .map(|v| v.parse().map_err(|_| bad("unreadable")))
                .collect::<Result<_>>()?;
            if values.len() != count {
                return Err(bad("unreadable"));
            }
            Ok(values)
        };
        let t = numbers(parts.next(), 't', 3)?;
        let r = numbers(parts.next(), 'r', 2)?;
        let stages = numbers(parts.next(), 's', 1)?[0];
        let (mut pad, mut group_m) = (true, 0);
        for extra in parts {
            match extra {
                "np" if pad => pad = false,
                g if g.starts_with('g') && group_m == 0 => {
                    group_m = g[1..].parse().map_err(|_| bad("unreadable"))?;
                }
                _ => return Err(bad("unreadable")),
            }
        }
        Vec4Tile::new(t[0], t[1], t[2], r[0], r[1], stages, pad, group_m)
    }

    /// Outputs per workgroup: (rows, columns).
    pub fn outputs(self) -> (u32, u32) {
        (self.bm, self.bn)
    }

    /// Invocations per workgroup along x (columns) and y (rows).
    pub fn workgroup(self) -> (u32, u32) {
        (self.bn / self.tn, self.bm / self.tm)
    }

    /// Invocations per workgroup.
    pub fn invocations(self) -> u32 {
        let (x, y) = self.workgroup();
        x * y
    }

    /// `t128x128x8_r8x8_s2`, with `_np` unpadded and `_g8` grouped.
    pub fn name(self) -> String {
        let mut s = format!(
            "t{}x{}x{}_r{}x{}_s{}",
            self.bm, self.bn, self.bk, self.tm, self.tn, self.stages
        );
        if !self.pad {
            s += "_np";
        }
        if self.group_m > 0 {
            s += &format!("_g{}", self.group_m);
        }
        s
    }

    /// The operands stored transposed into workgroup memory: A for the
    /// forward and hidden-delta products, B for the hidden delta.
    fn a_transposed(kind: MatmulKind) -> bool {
        matches!(kind, MatmulKind::Forward | MatmulKind::HiddenDelta)
    }

    fn b_transposed(kind: MatmulKind) -> bool {
        kind == MatmulKind::HiddenDelta
    }

    /// Row pitch of `As` and `Bs`, in floats.
    fn pitches(self, kind: MatmulKind) -> (u32, u32) {
        let pad = |t: bool| if self.pad && t { 4 } else { 0 };
        (
            self.bm + pad(Self::a_transposed(kind)),
            self.bn + pad(Self::b_transposed(kind)),
        )
    }

    /// Workgroup memory of the `kind` product, in bytes.
    pub fn workgroup_bytes(self, kind: MatmulKind) -> u32 {
        let (pa, pb) = self.pitches(kind);
        self.stages * self.bk * (pa + pb) * 4
    }

    /// The most workgroup memory any of its products needs, in bytes.
    pub fn max_workgroup_bytes(self) -> u32 {
        MatmulKind::ALL
            .iter()
            .map(|k| self.workgroup_bytes(*k))
            .max()
            .unwrap_or(0)
    }

    /// An error naming the limit unless an adapter with `limits` runs the
    /// `kind` product in this tile.
    pub fn check_limits(self, kind: MatmulKind, limits: &wgpu::Limits) -> Result<()> {
        let (x, y) = self.workgroup();
        for (name, need, have) in [
            (
                "max_compute_invocations_per_workgroup",
                self.invocations(),
                limits.max_compute_invocations_per_workgroup,
            ),
            (
                "max_compute_workgroup_size_x",
                x,
                limits.max_compute_workgroup_size_x,
            ),
            (
                "max_compute_workgroup_size_y",
                y,
                limits.max_compute_workgroup_size_y,
            ),
            (
                "max_compute_workgroup_storage_size (bytes)",
                self.workgroup_bytes(kind),
                limits.max_compute_workgroup_storage_size,
            ),
        ] {
            if need > have {
                return Err(Error::GpuLimit(format!(
                    "matmul tile {} needs {need} for {name}; this adapter allows {have}",
                    self.name()
                )));
            }
        }
        Ok(())
    }
}

/// The family's catalogue: the shapes a tuner chooses among (the prototype's
/// candidates). Which of them an adapter runs depends on its limits.
pub const VEC4_TILES: [Vec4Tile; 12] = [
    // Large M, N: 4096² is 1,024 workgroups.
    Vec4Tile::known(128, 128, 8, 8, 8, 2, true, 0),
    // Fewer barriers; 33 KiB of workgroup memory (NVIDIA's 48 KiB).
    Vec4Tile::known(128, 128, 16, 8, 8, 2, true, 0),
    // One buffer, two barriers a slice.
    Vec4Tile::known(128, 128, 8, 8, 8, 1, true, 0),
    // Unpadded: within WebGPU's guaranteed 16 KiB.
    Vec4Tile::known(128, 128, 8, 8, 8, 2, false, 0),
    // Grouped tile rows, for reuse of B in cache at large sizes.
    Vec4Tile::known(128, 128, 8, 8, 8, 2, true, 8),
    // Rectangular and medium.
    Vec4Tile::known(128, 64, 16, 8, 4, 2, true, 0),
    Vec4Tile::known(64, 128, 16, 4, 8, 2, true, 0),
    Vec4Tile::known(64, 64, 16, 4, 4, 2, true, 0),
    Vec4Tile::known(64, 64, 8, 8, 8, 2, true, 0),
    // Skinny: small batches (M <= 64) with wide layers.
    Vec4Tile::known(32, 128, 16, 4, 8, 2, true, 0),
    // 16x16 outputs per invocation, for adapters that run shaders on a
    // CPU (llvmpipe), where each workgroup-memory read costs most: 256
    // accumulators would spill on a GPU (the tuner times them there).
    // Measured on llvmpipe at 256³: about 5x and 4x matmul.wgsl.
    Vec4Tile::known(128, 128, 4, 16, 16, 1, true, 0),
    // The same in 32-row tiles: more workgroups for the CPU's cores, and
    // none of the 128-row tile's slowdown on forward products whose K is a
    // multiple of 512 (README, "Matrix-product kernels").
    Vec4Tile::known(32, 128, 8, 16, 16, 1, true, 0),
];

const COMPONENT: [&str; 4] = ["x", "y", "z", "w"];

/// The loader and store of operand `x` (`a` or `b`) when it is read with k
/// contiguous (row stride K) and stored transposed, K-major: `origin` the
/// tile's first row or column (`row`, `col`), `len` its dimension (`M`,
/// `N`), `index` the name of its index (`m`, `n`).
fn k_contiguous_loader(x: &str, origin: &str, len: &str, index: &str) -> String {
    let big = x.to_uppercase();
    format!(
        "
fn load_{x}(e: u32, {origin}0: u32, k0: u32, {len}: u32, K: u32) -> vec4<f32> {{
    let {index} = e / (BK / 4u);
    let kq = e % (BK / 4u);
    let g{index} = {origin}0 + {index};
    let gk = k0 + kq * 4u;
    if g{index} < {len} && gk < K {{ return {x}[o{x} + g{index} * (K / 4u) + gk / 4u]; }}
    return vec4<f32>(0.0);
}}
fn store_{x}(base: u32, e: u32, v: vec4<f32>) {{
    let {index} = e / (BK / 4u);
    let kq = e % (BK / 4u);
    let f0 = (kq * 4u) * P{big} + {index};
    {big}s[base + f0 / 4u][f0 % 4u] = v.x;
    let f1 = f0 + P{big};
    {big}s[base + f1 / 4u][f1 % 4u] = v.y;
    let f2 = f1 + P{big};
    {big}s[base + f2 / 4u][f2 % 4u] = v.z;
    let f3 = f2 + P{big};
    {big}s[base + f3 / 4u][f3 % 4u] = v.w;
}}
"
    )
}

/// The `kind` product in `tile`, as WGSL to append to the prelude and
/// common.wgsl (`gpu::shaders` puts them first).
pub(crate) fn wgsl(tile: Vec4Tile, kind: MatmulKind) -> String {
    let t = tile;
    let (bm, bn, bk, tm, tn) = (t.bm, t.bn, t.bk, t.tm, t.tn);
    let nt = t.invocations();
    let (pa, pb) = t.pitches(kind);
    let rs = bm / (tm / 4); // distance between an invocation's row groups
    let cs = bn / (tn / 4); // and between its column groups
    let la = bm * bk / 4 / nt; // vec4 loads of A per invocation per slice
    let lb = bn * bk / 4 / nt;
    let (wx, wy) = t.workgroup();
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "// Generated by src/gpu/family.rs: {name}, the {kernel} product (KIND {kind_id}).
// Shapes and layouts are in that file's docs; every output is one fma
// chain over k in order, as in matmul.wgsl.
const BM: u32 = {bm}u;
const BN: u32 = {bn}u;
const BK: u32 = {bk}u;
const PA: u32 = {pa}u;
const PB: u32 = {pb}u;
const SA: u32 = {sa}u; // vec4s per stage of As
const SB: u32 = {sb}u;

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> aux: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> layer: Layer;
@group(1) @binding(0) var<storage, read> steps: array<Step>;

// This workgroup's member (in the grid's z): where its values start in each
// binding, in vec4s, and its step's scale (set first thing in main).
var<private> oa: u32;
var<private> ob: u32;
var<private> oc: u32;
var<private> ox: u32;
var<private> scale: f32;

var<workgroup> As: array<vec4<f32>, {sa_all}>; // [k][m], pitch PA floats
var<workgroup> Bs: array<vec4<f32>, {sb_all}>; // [k][n], pitch PB floats
",
        name = t.name(),
        kernel = kind.name(),
        kind_id = kind.id(),
        sa = bk * pa / 4,
        sb = bk * pb / 4,
        sa_all = t.stages * bk * pa / 4,
        sb_all = t.stages * bk * pb / 4,
    );
    let dims = match kind {
        MatmulKind::Forward => "vec3(rows, layer.n_out, layer.n_in)",
        MatmulKind::HiddenDelta => "vec3(rows, layer.n_out, layer.n_next)",
        _ => "vec3(layer.n_in + layer.has_bias, layer.n_out, rows)",
    };
    let _ = writeln!(
        w,
        "// (M, N, K) of this product for a step of `rows` rows.\nfn dims(rows: u32) -> vec3<u32> {{ return {dims}; }}"
    );

    // Loaders: one vec4 of global memory per call, zero outside.
    if Vec4Tile::a_transposed(kind) {
        // A [m][k], k contiguous, row stride K: stored transposed.
        w.push_str(&k_contiguous_loader("a", "row", "M", "m"));
    } else {
        // Aᵀ read in place: element (m, k) at A_in[k][m], m contiguous, row
        // stride n_in; m = n_in is the bias row of ones.
        w.push_str(
            "
fn load_a(e: u32, row0: u32, k0: u32, M: u32, K: u32) -> vec4<f32> {
    let kr = e / (BM / 4u);
    let m4 = e % (BM / 4u);
    let gk = k0 + kr;
    let gm = row0 + m4 * 4u;
    let nin = layer.n_in;
    if gk < K {
        if gm < nin { return a[oa + gk * (nin / 4u) + gm / 4u]; }
        if gm == nin && layer.has_bias == 1u { return vec4<f32>(1.0, 0.0, 0.0, 0.0); }
    }
    return vec4<f32>(0.0);
}
fn store_a(base: u32, e: u32, v: vec4<f32>) {
    let kr = e / (BM / 4u);
    let m4 = e % (BM / 4u);
    As[base + kr * (PA / 4u) + m4] = v;
}
",
        );
    }
    if Vec4Tile::b_transposed(kind) {
        // B(k = p, n = j) = W_next[j][p]: k contiguous, row stride K.
        w.push_str(&k_contiguous_loader("b", "col", "N", "n"));
    } else {
        // B [k][n], n contiguous, row stride N.
        w.push_str(
            "
fn load_b(e: u32, col0: u32, k0: u32, N: u32, K: u32) -> vec4<f32> {
    let kr = e / (BN / 4u);
    let n4 = e % (BN / 4u);
    let gk = k0 + kr;
    let gn = col0 + n4 * 4u;
    if gk < K && gn < N { return b[ob + gk * (N / 4u) + gn / 4u]; }
    return vec4<f32>(0.0);
}
fn store_b(base: u32, e: u32, v: vec4<f32>) {
    let kr = e / (BN / 4u);
    let n4 = e % (BN / 4u);
    Bs[base + kr * (PB / 4u) + n4] = v;
}
",
        );
    }

    let _ = writeln!(
        w,
        "
@compute @workgroup_size({wx}, {wy}, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {{
    let member = member_index(wid, groups, layer.members);
    let step = steps[member];
    if step.skip == 1u {{ return; }}
    oa = member * layer.stride_a / 4u;
    ob = member * layer.stride_b / 4u;
    oc = member * layer.stride_c / 4u;
    ox = member * layer.stride_aux / 4u;
    scale = step.scale;
    let d = dims(step.rows);
    let M = d.x;
    let N = d.y;
    let K = d.z;
    let tiles_m = max((M + BM - 1u) / BM, 1u);
    let tiles_n = max((N + BN - 1u) / BN, 1u);
    let tile = group_index(wid, groups, layer.members);
    // Past the last tile (the folded grid rounds up): the whole workgroup
    // leaves together, so the barriers below stay uniform.
    if tile >= tiles_m * tiles_n {{ return; }}"
    );
    if t.group_m > 0 {
        let _ = writeln!(
            w,
            "    let width = {g}u * tiles_n;
    let first_m = (tile / width) * {g}u;
    let gsize = min(tiles_m - first_m, {g}u);
    let tmi = first_m + (tile % width) % gsize;
    let tni = (tile % width) / gsize;",
            g = t.group_m
        );
    } else {
        w.push_str("    let tmi = tile / tiles_n;\n    let tni = tile % tiles_n;\n");
    }
    w.push_str("    let row0 = tmi * BM;\n    let col0 = tni * BN;\n    let tx = lid.x;\n    let ty = lid.y;\n");
    for i in 0..tm {
        for h in 0..tn / 4 {
            let _ = writeln!(w, "    var acc_{i}_{h} = vec4<f32>(0.0);");
        }
    }
    w.push_str("    let nk = (K + BK - 1u) / BK;\n");
    for l in 0..la {
        let _ = writeln!(
            w,
            "    var ra{l} = load_a(t + {o}u, row0, 0u, M, K);",
            o = l * nt
        );
    }
    for l in 0..lb {
        let _ = writeln!(
            w,
            "    var rb{l} = load_b(t + {o}u, col0, 0u, N, K);",
            o = l * nt
        );
    }
    for l in 0..la {
        let _ = writeln!(w, "    store_a(0u, t + {o}u, ra{l});", o = l * nt);
    }
    for l in 0..lb {
        let _ = writeln!(w, "    store_b(0u, t + {o}u, rb{l});", o = l * nt);
    }
    w.push_str("    workgroupBarrier();\n    for (var kt = 0u; kt < nk; kt++) {\n");
    let loads = |w: &mut String, ind: &str| {
        let _ = writeln!(w, "{ind}let k1 = (kt + 1u) * BK;");
        for l in 0..la {
            let _ = writeln!(
                w,
                "{ind}ra{l} = load_a(t + {o}u, row0, k1, M, K);",
                o = l * nt
            );
        }
        for l in 0..lb {
            let _ = writeln!(
                w,
                "{ind}rb{l} = load_b(t + {o}u, col0, k1, N, K);",
                o = l * nt
            );
        }
    };
    let stores = |w: &mut String, ind: &str, ba: &str, bb: &str| {
        for l in 0..la {
            let _ = writeln!(w, "{ind}store_a({ba}, t + {o}u, ra{l});", o = l * nt);
        }
        for l in 0..lb {
            let _ = writeln!(w, "{ind}store_b({bb}, t + {o}u, rb{l});", o = l * nt);
        }
    };
    let compute = |w: &mut String, ba: &str, bb: &str| {
        for kk in 0..bk {
            w.push_str("        {\n");
            for g in 0..tm / 4 {
                let _ = writeln!(
                    w,
                    "            let a{g} = As[{ba} + {o}u + ty];",
                    o = kk * pa / 4 + g * rs / 4
                );
            }
            for h in 0..tn / 4 {
                let _ = writeln!(
                    w,
                    "            let b{h} = Bs[{bb} + {o}u + tx];",
                    o = kk * pb / 4 + h * cs / 4
                );
            }
            for i in 0..tm {
                for h in 0..tn / 4 {
                    let _ = writeln!(
                        w,
                        "            acc_{i}_{h} = fma(vec4<f32>(a{g}.{c}), b{h}, acc_{i}_{h});",
                        g = i / 4,
                        c = COMPONENT[(i % 4) as usize]
                    );
                }
            }
            w.push_str("        }\n");
        }
    };
    if t.stages == 2 {
        w.push_str(
            "        let cur = kt % 2u;\n        let ba = cur * SA;\n        let bb = cur * SB;\n",
        );
        w.push_str("        let has_next = kt + 1u < nk;\n        if has_next {\n");
        loads(w, "            ");
        w.push_str("        }\n");
        compute(w, "ba", "bb");
        w.push_str("        if has_next {\n");
        stores(w, "            ", "(1u - cur) * SA", "(1u - cur) * SB");
        w.push_str("        }\n        workgroupBarrier();\n");
    } else {
        compute(w, "0u", "0u");
        w.push_str("        workgroupBarrier();\n        if kt + 1u < nk {\n");
        loads(w, "            ");
        stores(w, "            ", "0u", "0u");
        w.push_str("        }\n        workgroupBarrier();\n");
    }
    w.push_str("    }\n");

    // The epilogue of each vec4 of outputs, guarded by the product's dims.
    for i in 0..tm {
        let _ = writeln!(
            w,
            "    let gi{i} = row0 + {o}u + ty * 4u;",
            o = (i / 4) * rs + i % 4
        );
    }
    for h in 0..tn / 4 {
        let _ = writeln!(w, "    let gj{h} = col0 + {o}u + tx * 4u;", o = h * cs);
    }
    for i in 0..tm {
        for h in 0..tn / 4 {
            let _ = writeln!(
                w,
                "    if gi{i} < M && gj{h} < N {{ epilogue(gi{i} * (N / 4u) + gj{h} / 4u, gj{h}, N, acc_{i}_{h}); }}"
            );
        }
    }
    w.push_str("}\n");
    w.push_str(match kind {
        MatmulKind::Forward => {
            "
fn epilogue(idx: u32, gj: u32, N: u32, sum: vec4<f32>) {
    var z = sum;
    if layer.has_bias == 1u { z += b[ob + (layer.n_in * N + gj) / 4u]; }
    let f = layer.act;
    c[oc + idx] = vec4<f32>(activate(f, z.x), activate(f, z.y), activate(f, z.z), activate(f, z.w));
}
"
        }
        MatmulKind::HiddenDelta => {
            "
fn epilogue(idx: u32, gj: u32, N: u32, sum: vec4<f32>) {
    let av = aux[ox + idx];
    let f = layer.act;
    let r = layer.sigmoid_rule;
    c[oc + idx] = sum * vec4<f32>(derivative(f, av.x, r), derivative(f, av.y, r), derivative(f, av.z, r), derivative(f, av.w, r));
}
"
        }
        MatmulKind::SgdUpdate => {
            "
fn epilogue(idx: u32, gj: u32, N: u32, sum: vec4<f32>) {
    c[oc + idx] = c[oc + idx] - scale * sum;
}
"
        }
        MatmulKind::WeightGradient => {
            "
fn epilogue(idx: u32, gj: u32, N: u32, sum: vec4<f32>) {
    c[oc + idx] = scale * sum;
}
"
        }
    });
    s
}

/// A cooperative-matrix forward product (tensor cores through wgpu's
/// experimental `wgpu_cooperative_matrix`): f32 in global memory, f16 in
/// workgroup memory, `coop_mat{t}x{t}` products summed in f32, then bias
/// and activation from an f32 staging tile. Workgroup: `wg` invocations in
/// 4 subgroups, each 2 x 2 tiles of t x t. A first kernel, validated with
/// naga; neurona does not run it until a GPU run shows the path works.
// Not run yet, so only its naga test uses it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn coop_wgsl(t: u32, wg: u32) -> String {
    format!(
        "
const T: u32 = {t}u;
const CBM: u32 = {bm}u;
const CBN: u32 = {bm}u;
const CBK: u32 = {bk}u;
const WG: u32 = {wg}u;
alias MA = coop_mat{t}x{t}<f16, A>;
alias MB = coop_mat{t}x{t}<f16, B>;
alias MC = coop_mat{t}x{t}<f32, C>;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>;
@group(0) @binding(4) var<uniform> layer: Layer;
@group(1) @binding(0) var<storage, read> steps: array<Step>;

var<workgroup> As: array<f16, {asz}>; // [m][k], row stride CBK
var<workgroup> Bs: array<f16, {bsz}>; // [k][n], row stride CBN
var<workgroup> Cs: array<f32, {csz}>; // [m][n], row stride CBN

@compute @workgroup_size(WG, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lt: u32,
    @builtin(subgroup_id) sg: u32,
) {{
    // A lone run's (member 0's) product: no member offsets yet.
    let M = steps[0].rows;
    let N = layer.n_out;
    let K = layer.n_in;
    let tiles_n = max((N + CBN - 1u) / CBN, 1u);
    let tiles_m = max((M + CBM - 1u) / CBM, 1u);
    // group_index inlined: naga treats a call's result as non-uniform, and
    // cooperative operations must follow uniform control flow.
    let tile = wid.x + groups.x * (wid.y + groups.y * wid.z);
    if tile >= tiles_m * tiles_n {{ return; }}
    let row0 = (tile / tiles_n) * CBM;
    let col0 = (tile % tiles_n) * CBN;
    let wm = (sg / 2u) * 2u * T;
    let wn = (sg % 2u) * 2u * T;
    var c00 = MC();
    var c01 = MC();
    var c10 = MC();
    var c11 = MC();
    for (var k0 = 0u; k0 < K; k0 += CBK) {{
        for (var e = lt; e < CBM * CBK; e += WG) {{
            let m = e / CBK;
            let k = e % CBK;
            var v = 0.0;
            if row0 + m < M && k0 + k < K {{ v = a[(row0 + m) * K + k0 + k]; }}
            As[e] = f16(v);
        }}
        for (var e = lt; e < CBK * CBN; e += WG) {{
            let k = e / CBN;
            let n = e % CBN;
            var v = 0.0;
            if k0 + k < K && col0 + n < N {{ v = b[(k0 + k) * N + col0 + n]; }}
            Bs[e] = f16(v);
        }}
        workgroupBarrier();
        for (var kk = 0u; kk < CBK; kk += T) {{
            let a0 = coopLoadT<MA>(&As[wm * CBK + kk], CBK);
            let a1 = coopLoadT<MA>(&As[(wm + T) * CBK + kk], CBK);
            let b0 = coopLoadT<MB>(&Bs[kk * CBN + wn], CBN);
            let b1 = coopLoadT<MB>(&Bs[kk * CBN + wn + T], CBN);
            c00 = coopMultiplyAdd(a0, b0, c00);
            c01 = coopMultiplyAdd(a0, b1, c01);
            c10 = coopMultiplyAdd(a1, b0, c10);
            c11 = coopMultiplyAdd(a1, b1, c11);
        }}
        workgroupBarrier();
    }}
    coopStoreT(c00, &Cs[wm * CBN + wn], CBN);
    coopStoreT(c01, &Cs[wm * CBN + wn + T], CBN);
    coopStoreT(c10, &Cs[(wm + T) * CBN + wn], CBN);
    coopStoreT(c11, &Cs[(wm + T) * CBN + wn + T], CBN);
    workgroupBarrier();
    for (var e = lt; e < CBM * CBN; e += WG) {{
        let i = row0 + e / CBN;
        let j = col0 + e % CBN;
        if i < M && j < N {{
            var z = Cs[e];
            if layer.has_bias == 1u {{ z += b[layer.n_in * N + j]; }}
            c[i * N + j] = activate(layer.act, z);
        }}
    }}
}}
",
        bm = 4 * t,
        bk = 2 * t,
        asz = 4 * t * 2 * t,
        bsz = 2 * t * 4 * t,
        csz = 4 * t * 4 * t,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_checked_where_they_are_made() {
        for t in VEC4_TILES {
            assert_eq!(
                Vec4Tile::new(t.bm, t.bn, t.bk, t.tm, t.tn, t.stages, t.pad, t.group_m),
                Ok(t)
            );
            assert!(t.invocations() <= 256);
        }
        assert!(Vec4Tile::new(128, 128, 8, 6, 8, 2, true, 0).is_err());
        assert!(Vec4Tile::new(128, 128, 8, 8, 8, 3, true, 0).is_err());
        assert!(Vec4Tile::new(256, 256, 8, 4, 4, 2, true, 0).is_err()); // 4,096 invocations
        assert_eq!(VEC4_TILES[0].name(), "t128x128x8_r8x8_s2");
        // The prototype's workgroup memory figures (forward / hidden / update).
        let t = VEC4_TILES[0];
        assert_eq!(
            [
                MatmulKind::Forward,
                MatmulKind::HiddenDelta,
                MatmulKind::SgdUpdate
            ]
            .map(|k| t.workgroup_bytes(k)),
            [16_640, 16_896, 16_384]
        );
        assert_eq!(
            VEC4_TILES[3].max_workgroup_bytes(),
            16_384,
            "the unpadded tile fits 16 KiB"
        );
    }
}
