//! Kernel variants as values: the tile shapes matmul.wgsl is built in,
//! each checked where it is made, and which one a product runs.
//!
//! Every shape computes each output as the same `fma` chain over `k` in
//! order (slices of [`TILE_K`], each summed from its first element to its
//! last), so all give the same bits: a variant changes speed, never a
//! result.

use crate::error::{Error, Result};
use crate::gpu::family::{VEC4_TILES, Vec4Tile};
use crate::gpu::product::MatmulKind;

/// Values of `k` staged in workgroup memory per step (matmul.wgsl's
/// `TILE_K`).
pub const TILE_K: u32 = 16;

/// Most outputs per invocation along each side: matmul.wgsl's
/// accumulators hold `MAX_PER_INVOCATION²` values.
pub const MAX_PER_INVOCATION: u32 = 4;

/// A tile shape of matmul.wgsl: each workgroup computes `tile x tile`
/// outputs, each invocation `per_invocation x per_invocation` of them.
///
/// ```
/// use neurona::gpu::TileShape;
/// let t = TileShape::new(32, 2)?;
/// assert_eq!((t.invocations(), t.workgroup_bytes()), (256, 4096));
/// assert!(TileShape::new(32, 3).is_err()); // 32 is not a multiple of 3
/// # Ok::<(), neurona::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileShape {
    tile: u32,
    per_invocation: u32,
}

/// Why `tile` and `per_invocation` make no valid shape, if they don't.
const fn invalid(tile: u32, per_invocation: u32) -> Option<&'static str> {
    if per_invocation == 0 || per_invocation > MAX_PER_INVOCATION {
        Some("outputs per invocation must be 1 to 4 (the shader's accumulators)")
    } else if tile == 0 || !tile.is_multiple_of(per_invocation) {
        Some("the tile must be a positive multiple of the outputs per invocation")
    } else if (tile / per_invocation) * (tile / per_invocation) > 1024 {
        Some("more than 1,024 invocations per workgroup")
    } else {
        None
    }
}

impl TileShape {
    /// A shape known to be valid (checked when the constant is compiled).
    const fn known(tile: u32, per_invocation: u32) -> TileShape {
        assert!(invalid(tile, per_invocation).is_none());
        TileShape {
            tile,
            per_invocation,
        }
    }

    /// A `tile x tile` shape of `per_invocation x per_invocation` outputs
    /// per invocation, checked: 1 to [`MAX_PER_INVOCATION`] outputs per
    /// side, a tile that is a multiple of it, at most 1,024 invocations.
    /// Whether an adapter runs it is [`TileShape::check_limits`]'s answer.
    pub fn new(tile: u32, per_invocation: u32) -> Result<TileShape> {
        match invalid(tile, per_invocation) {
            None => Ok(TileShape {
                tile,
                per_invocation,
            }),
            Some(why) => Err(Error::Config(format!(
                "no matmul tile {tile}x{tile} with {per_invocation}x{per_invocation} outputs per invocation: {why}"
            ))),
        }
    }

    /// Outputs per workgroup along each side.
    pub fn tile(self) -> u32 {
        self.tile
    }

    /// Outputs per invocation along each side.
    pub fn per_invocation(self) -> u32 {
        self.per_invocation
    }

    /// Invocations per workgroup: `(tile / per_invocation)²`.
    pub fn invocations(self) -> u32 {
        let side = self.tile / self.per_invocation;
        side * side
    }

    /// Workgroup memory: a `tile x TILE_K` slice of each operand, f32.
    pub fn workgroup_bytes(self) -> u32 {
        2 * self.tile * TILE_K * 4
    }

    /// An error naming the limit unless an adapter with `limits` runs this
    /// shape.
    pub fn check_limits(self, limits: &wgpu::Limits) -> Result<()> {
        let side = self.tile / self.per_invocation;
        for (name, need, have) in [
            (
                "max_compute_invocations_per_workgroup",
                self.invocations(),
                limits.max_compute_invocations_per_workgroup,
            ),
            (
                "max_compute_workgroup_size_x",
                side,
                limits.max_compute_workgroup_size_x,
            ),
            (
                "max_compute_workgroup_size_y",
                side,
                limits.max_compute_workgroup_size_y,
            ),
            (
                "max_compute_workgroup_storage_size (bytes)",
                self.workgroup_bytes(),
                limits.max_compute_workgroup_storage_size,
            ),
        ] {
            if need > have {
                return Err(Error::GpuLimit(format!(
                    "matmul tile {self} needs {need} for {name}; this adapter allows {have}"
                )));
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for TileShape {
    /// `64x64/4x4`: the tile, then the outputs per invocation.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (t, r) = (self.tile, self.per_invocation);
        write!(f, "{t}x{t}/{r}x{r}")
    }
}

/// For products at least 64 x 64: 256 invocations, 4 x 4 outputs each.
pub const LARGE_TILE: TileShape = TileShape::known(64, 4);
/// Between the two: 256 invocations of 2 x 2 outputs on 32 x 32 tiles.
pub const MEDIUM_TILE: TileShape = TileShape::known(32, 2);
/// For smaller products (the notebook's 4 x 3 . 3 x 4): 64 invocations,
/// 2 x 2 outputs each, so little of each workgroup is padding.
pub const SMALL_TILE: TileShape = TileShape::known(16, 2);

/// Every variant neurona builds matmul.wgsl in: each is parity-tested, and
/// each fits what every WebGPU device allows (256 invocations, 16 KiB).
pub const MATMUL_VARIANTS: [TileShape; 3] = [LARGE_TILE, MEDIUM_TILE, SMALL_TILE];

/// A kernel a matrix product can run in: matmul.wgsl in one of its tile
/// shapes (any widths: the fallback), or a tile of the vec4 family
/// (`gpu::family`: widths that are multiples of 4).
///
/// Every variant computes each output as the same `fma` chain, so the
/// choice changes speed, never a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatmulVariant {
    /// matmul.wgsl in this tile shape.
    Scalar(TileShape),
    /// The generated vec4 kernel of this tile.
    Vec4(Vec4Tile),
}

impl MatmulVariant {
    /// Outputs per workgroup: (rows, columns), for the grid.
    pub fn outputs(self) -> (u32, u32) {
        match self {
            MatmulVariant::Scalar(t) => (t.tile(), t.tile()),
            MatmulVariant::Vec4(t) => t.outputs(),
        }
    }

    /// An error naming the limit unless an adapter with `limits` runs every
    /// product in this variant.
    pub fn check_limits(self, limits: &wgpu::Limits) -> Result<()> {
        match self {
            MatmulVariant::Scalar(t) => t.check_limits(limits),
            MatmulVariant::Vec4(t) => MatmulKind::ALL
                .iter()
                .try_for_each(|k| t.check_limits(*k, limits)),
        }
    }

    /// Whether an adapter with `limits` runs the `kind` product in it.
    pub fn fits(self, kind: MatmulKind, limits: &wgpu::Limits) -> bool {
        match self {
            MatmulVariant::Scalar(t) => t.check_limits(limits).is_ok(),
            MatmulVariant::Vec4(t) => t.check_limits(kind, limits).is_ok(),
        }
    }

    /// matmul.wgsl in the shape [`MatmulChoice::Legacy`] runs an `m x n`
    /// output in: the fallback every other variant is checked against.
    pub fn fallback(m: u32, n: u32) -> MatmulVariant {
        MatmulVariant::Scalar(MatmulChoice::legacy(m, n))
    }

    /// Every variant neurona knows: matmul.wgsl's shapes, then the vec4
    /// family's catalogue.
    pub fn all() -> impl Iterator<Item = MatmulVariant> {
        MATMUL_VARIANTS
            .into_iter()
            .map(MatmulVariant::Scalar)
            .chain(VEC4_TILES.into_iter().map(MatmulVariant::Vec4))
    }
}

impl From<TileShape> for MatmulVariant {
    fn from(t: TileShape) -> Self {
        MatmulVariant::Scalar(t)
    }
}

impl From<Vec4Tile> for MatmulVariant {
    fn from(t: Vec4Tile) -> Self {
        MatmulVariant::Vec4(t)
    }
}

impl std::fmt::Display for MatmulVariant {
    /// `64x64/4x4` for matmul.wgsl's shapes, the tile's name
    /// (`t128x128x8_r8x8_s2`) for the vec4 family.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatmulVariant::Scalar(t) => write!(f, "{t}"),
            MatmulVariant::Vec4(t) => f.write_str(&t.name()),
        }
    }
}

impl std::str::FromStr for MatmulVariant {
    type Err = Error;

    /// `64x64/4x4` (any valid matmul.wgsl shape) or a vec4 tile's name
    /// (`t128x128x8_r8x8_s2`, with `_np` and `_g8` suffixes).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.starts_with('t') {
            return Vec4Tile::from_name(s).map(MatmulVariant::Vec4);
        }
        let bad = || {
            Error::Config(format!(
                "unknown matmul variant {s:?}: write a matmul.wgsl shape such as 64x64/4x4 or a vec4 tile such as t128x128x8_r8x8_s2"
            ))
        };
        let (tile, per) = s.split_once('/').ok_or_else(bad)?;
        let side = |t: &str| -> Result<u32> {
            let (a, b) = t.split_once('x').ok_or_else(bad)?;
            let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a != b {
                return Err(Error::Config(format!(
                    "matmul.wgsl's tiles are square; {t} is not"
                )));
            }
            Ok(a)
        };
        TileShape::new(side(tile)?, side(per)?).map(MatmulVariant::Scalar)
    }
}

/// Which variant matrix products run: chosen per product, matmul.wgsl
/// alone, or one forced (for tests and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatmulChoice {
    /// Chosen per product shape: on a hardware adapter by the tuner
    /// (`gpu::tune`: timed once, cached), on a software adapter by a fixed
    /// rule ([`heuristic`]). The environment variable `NEURONA_MATMUL`
    /// (`auto`, `legacy` or a variant's name) overrides it.
    #[default]
    Auto,
    /// matmul.wgsl only, in its large or small shape by output size: the
    /// kernel neurona had before the vec4 family.
    Legacy,
    /// Every product in this variant; a vec4 tile runs only products whose
    /// widths are multiples of 4, the others take [`MatmulChoice::Legacy`]'s.
    Only(MatmulVariant),
}

impl MatmulChoice {
    /// matmul.wgsl's shape for an `m x n` output.
    pub(crate) fn legacy(m: u32, n: u32) -> TileShape {
        if m >= LARGE_TILE.tile && n >= LARGE_TILE.tile {
            LARGE_TILE
        } else {
            SMALL_TILE
        }
    }
}

impl std::str::FromStr for MatmulChoice {
    type Err = Error;

    /// `auto`, `legacy`, or a variant's name ([`MatmulVariant`]'s `from_str`).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(MatmulChoice::Auto),
            "legacy" => Ok(MatmulChoice::Legacy),
            _ => s.parse().map(MatmulChoice::Only),
        }
    }
}

/// The variant the fixed rule picks for the `kind` product of `m x n`
/// outputs over `k`, among those `limits` allow: what runs on software
/// adapters (`software`), in the browser and for products too small to
/// tune. `vec4` says whether the product's widths let the vec4 family run
/// it.
///
/// On a software adapter (measured on llvmpipe, README "Matrix-product
/// kernels"): 16x16 outputs per invocation wherever the outputs are at
/// least 128 wide, fewer workgroup-memory reads being what counts when a
/// CPU runs the shader, in 128x128 tiles when there are four or more of
/// them, else in 32x128 tiles. Elsewhere: large tiles when both
/// sides fill them, the skinny tile for small batches with wide layers,
/// matmul.wgsl for small or odd products.
pub fn heuristic(
    kind: MatmulKind,
    (m, n, k): (u32, u32, u32),
    vec4: bool,
    software: bool,
    limits: &wgpu::Limits,
) -> MatmulVariant {
    let _ = k;
    let legacy = MatmulVariant::Scalar(MatmulChoice::legacy(m, n));
    if !vec4 {
        return legacy;
    }
    let fits = |t: &Vec4Tile| t.check_limits(kind, limits).is_ok();
    let pick = |names: &[&str]| -> Option<MatmulVariant> {
        names
            .iter()
            .filter_map(|name| Vec4Tile::from_name(name).ok())
            .find(fits)
            .map(MatmulVariant::Vec4)
    };
    // A CPU running the shaders has few cores: the 128x128 tile once there
    // are at least four of them to share out, else 32-row tiles.
    let choice = if software && m >= 128 && n >= 128 && m as u64 * n as u64 >= 4 * 128 * 128 {
        pick(&["t128x128x4_r16x16_s1", "t32x128x8_r16x16_s1"])
    } else if software && n >= 128 && m >= 16 {
        pick(&["t32x128x8_r16x16_s1", "t64x64x8_r8x8_s2"])
    } else if m >= 128 && n >= 128 {
        pick(&[
            "t128x128x8_r8x8_s2",
            "t128x128x8_r8x8_s2_np",
            "t64x64x8_r8x8_s2",
        ])
    } else if m >= 64 && n >= 64 {
        pick(&["t64x64x8_r8x8_s2"])
    } else if m <= 64 && n > 64 && m >= 16 {
        pick(&["t32x128x16_r4x8_s2", "t64x64x8_r8x8_s2"])
    } else {
        None
    };
    choice.unwrap_or(legacy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked_where_they_are_made() {
        for shape in MATMUL_VARIANTS {
            assert_eq!(
                TileShape::new(shape.tile(), shape.per_invocation()),
                Ok(shape)
            );
            assert!(shape.invocations() <= 256 && shape.workgroup_bytes() <= 16_384);
            shape
                .check_limits(&wgpu::Limits::downlevel_defaults())
                .unwrap();
        }
        assert!(TileShape::new(64, 5).is_err());
        assert!(TileShape::new(0, 1).is_err());
        assert!(TileShape::new(256, 2).is_err()); // 16,384 invocations
        let big = TileShape::new(128, 4).unwrap(); // 1,024 invocations, 16 KiB
        let err = big
            .check_limits(&wgpu::Limits::downlevel_defaults())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("max_compute_invocations_per_workgroup"),
            "{err}"
        );
        assert_eq!(LARGE_TILE.to_string(), "64x64/4x4");
        assert_eq!(MatmulChoice::legacy(64, 100), LARGE_TILE);
        assert_eq!(MatmulChoice::legacy(63, 100), SMALL_TILE);
    }

    #[test]
    fn variants_and_choices_read_from_their_names() {
        for v in MatmulVariant::all() {
            assert_eq!(v.to_string().parse::<MatmulVariant>(), Ok(v));
        }
        assert_eq!("legacy".parse(), Ok(MatmulChoice::Legacy));
        assert_eq!(" Auto ".parse(), Ok(MatmulChoice::Auto));
        assert_eq!(
            "32x32/2x2".parse(),
            Ok(MatmulChoice::Only(MatmulVariant::Scalar(MEDIUM_TILE)))
        );
        for bad in ["t128x128", "64x32/4x4", "fast", "t128x128x8_r6x8_s2"] {
            let err = bad.parse::<MatmulChoice>().unwrap_err().to_string();
            assert!(
                err.contains("matmul") || err.contains("tile"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_fixed_rule_keeps_to_eligibility_and_limits() {
        let big = wgpu::Limits::default(); // 16 KiB, 256 invocations
        let f = MatmulKind::Forward;
        let name = |v: MatmulVariant| v.to_string();
        assert_eq!(
            name(heuristic(f, (4096, 4096, 4096), true, false, &big)),
            "t128x128x8_r8x8_s2_np"
        );
        let mut roomy = big.clone();
        roomy.max_compute_workgroup_storage_size = 32_768;
        assert_eq!(
            name(heuristic(f, (4096, 4096, 4096), true, false, &roomy)),
            "t128x128x8_r8x8_s2"
        );
        assert_eq!(
            name(heuristic(f, (32, 512, 784), true, false, &roomy)),
            "t32x128x16_r4x8_s2"
        );
        assert_eq!(
            heuristic(f, (4096, 4096, 4096), false, false, &roomy),
            MatmulVariant::Scalar(LARGE_TILE)
        );
        assert_eq!(
            heuristic(f, (4, 1, 3), true, false, &roomy),
            MatmulVariant::Scalar(SMALL_TILE)
        );
        for kind in MatmulKind::ALL {
            for (m, n) in [(4096, 4096), (100, 100), (32, 1000), (8, 8)] {
                for software in [false, true] {
                    let v = heuristic(kind, (m, n, 64), true, software, &big);
                    if let MatmulVariant::Vec4(t) = v {
                        t.check_limits(kind, &big).unwrap();
                    }
                }
            }
        }
        // A software adapter: many outputs per invocation where the
        // outputs are wide, the hardware rule below that.
        for (m, n, want) in [
            (256, 256, "t128x128x4_r16x16_s1"),
            (128, 512, "t128x128x4_r16x16_s1"),
            (128, 128, "t32x128x8_r16x16_s1"),
            (16, 512, "t32x128x8_r16x16_s1"),
            (256, 64, "t64x64x8_r8x8_s2"),
        ] {
            assert_eq!(name(heuristic(f, (m, n, 512), true, true, &big)), want);
        }
    }
}
