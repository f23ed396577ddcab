//! Room for large buffers: every allocation whose size comes from user
//! input (a network's weights, its optimizer state, a data set, a training
//! workspace) is sized with checked arithmetic, compared with the memory
//! the machine has free, and made with `try_reserve`, so a network too
//! large for the machine is an [`Error::TooLarge`] naming what, how many
//! bytes and the limit, never an abort.

use crate::error::{Error, Result};

/// Bytes of `count` values of `T`, or `None` when that overflows.
pub(crate) fn bytes_of<T>(count: usize) -> Option<u64> {
    (count as u64).checked_mul(std::mem::size_of::<T>() as u64)
}

/// The sum of several byte counts, or `None` when it overflows.
pub(crate) fn total(parts: impl IntoIterator<Item = Option<u64>>) -> Option<u64> {
    parts
        .into_iter()
        .try_fold(0u64, |sum, part| sum.checked_add(part?))
}

/// Memory free for new allocations, in bytes: RAM the kernel says is
/// available plus free swap (Linux's `/proc/meminfo`); `None` where the
/// platform does not say, and allocations are only made fallibly.
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    };
    Some(field("MemAvailable:")?.saturating_add(field("SwapFree:").unwrap_or(0)))
}

/// An error unless `bytes` (`None`: more than 2^64) of `what` fit in the
/// memory this machine has free.
pub fn check(what: &str, bytes: Option<u64>) -> Result<()> {
    let limit = available();
    match (bytes, limit) {
        (None, _) => Err(Error::TooLarge {
            what: what.to_string(),
            bytes: None,
            limit,
        }),
        (Some(b), Some(l)) if b > l => Err(Error::TooLarge {
            what: what.to_string(),
            bytes: Some(b),
            limit,
        }),
        _ => Ok(()),
    }
}

/// An empty vector with room for `count` values, allocated fallibly after
/// [`check`]: an error naming `what` when the machine cannot hold it.
pub fn with_capacity<T>(what: &str, count: usize) -> Result<Vec<T>> {
    let bytes = bytes_of::<T>(count);
    check(what, bytes)?;
    let mut v = Vec::new();
    v.try_reserve_exact(count).map_err(|_| Error::TooLarge {
        what: what.to_string(),
        bytes,
        limit: available(),
    })?;
    Ok(v)
}

/// `count` zeros, allocated as [`with_capacity`] does.
pub fn zeros(what: &str, count: usize) -> Result<Vec<f32>> {
    let mut v = with_capacity(what, count)?;
    v.resize(count, 0.0);
    Ok(v)
}

/// Make room for `more` values in `v`, growing it the usual way but
/// fallibly: for vectors that grow while a file is read.
pub(crate) fn reserve<T>(v: &mut Vec<T>, more: usize, what: &str) -> Result<()> {
    if v.capacity() - v.len() >= more {
        return Ok(());
    }
    v.try_reserve(more).map_err(|_| Error::TooLarge {
        what: what.to_string(),
        bytes: bytes_of::<T>(v.len().saturating_add(more)),
        limit: available(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_overflow_to_none() {
        assert_eq!(bytes_of::<f32>(3), Some(12));
        assert_eq!(bytes_of::<f32>(usize::MAX), None);
        assert_eq!(total([Some(1), Some(2)]), Some(3));
        assert_eq!(total([Some(u64::MAX), Some(1)]), None);
        assert_eq!(total([Some(1), None]), None);
    }

    #[test]
    fn more_than_the_machine_is_an_error() {
        let err = zeros("a test buffer", usize::MAX / 8).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("not enough memory for a test buffer: it needs"),
            "{msg}"
        );
        assert!(
            zeros("a small buffer", 10)
                .unwrap()
                .iter()
                .all(|v| *v == 0.0)
        );
    }
}
