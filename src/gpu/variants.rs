//! Kernel variants as values: the tile shapes matmul.wgsl is built in,
//! each checked where it is made, and which one a product runs.
//!
//! Every shape computes each output as the same `fma` chain over `k` in
//! order (slices of [`TILE_K`], each summed from its first element to its
//! last), so all give the same bits: a variant changes speed, never a
//! result.

use crate::error::{Error, Result};

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
                "max_compute_workgroup_storage_size",
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

/// Which matmul variant products run: chosen per product, or one forced
/// (for tests and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatmulChoice {
    /// The context picks per product shape (today: the large tile when the
    /// output is at least 64 x 64, the small one otherwise).
    #[default]
    Auto,
    /// Every product runs this shape.
    Only(TileShape),
}

impl MatmulChoice {
    /// The variant for an `m x n` output.
    pub(crate) fn for_output(self, m: u32, n: u32) -> TileShape {
        match self {
            MatmulChoice::Only(shape) => shape,
            MatmulChoice::Auto if m >= LARGE_TILE.tile && n >= LARGE_TILE.tile => LARGE_TILE,
            MatmulChoice::Auto => SMALL_TILE,
        }
    }
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
        assert_eq!(MatmulChoice::Auto.for_output(64, 100), LARGE_TILE);
        assert_eq!(MatmulChoice::Auto.for_output(63, 100), SMALL_TILE);
        let forced = MatmulChoice::Only(MEDIUM_TILE);
        assert_eq!(forced.for_output(1000, 1000), MEDIUM_TILE);
    }
}
