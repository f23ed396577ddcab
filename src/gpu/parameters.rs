//! A layer's parameters as the GPU holds them, packed and unpacked here
//! and nowhere else:
//!
//! ```text
//! [ W (n_in x n_out, row-major) | b (n_out, when the layer has one) | m | v ]
//!   \______________ [W; b]: `count` values ______________/
//! ```
//!
//! The bias is one more row of the weights (`W_aug`), updated by the same
//! product against a column of ones; after `[W; b]` come the optimizer's
//! state vectors, `count` values each (momentum's velocity or Adam's first
//! moment, then Adam's second), in the same order.

use crate::error::Result;
use crate::layer::Layer;
use crate::memory;
use crate::optimizer::OptimizerState;

/// Values of `[W; b]`, and how many state vectors follow them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParameterLayout {
    pub weights: usize,
    pub bias: usize,
    pub moments: usize,
}

impl ParameterLayout {
    /// The layout of `layer` under an optimizer keeping `moments` vectors.
    pub(crate) fn of(layer: &Layer, moments: usize) -> Self {
        ParameterLayout {
            weights: layer.weights().len(),
            bias: layer.bias().map_or(0, <[f32]>::len),
            moments,
        }
    }

    /// Values of `[W; b]`, where the state starts.
    pub(crate) fn count(&self) -> usize {
        self.weights + self.bias
    }

    /// Values of the whole buffer.
    pub(crate) fn len(&self) -> usize {
        self.count() * (1 + self.moments)
    }

    /// The buffer's values: `weights`, then `bias`, then each of `state`
    /// (empty slices where a vector is absent, which the layout then leaves
    /// out).
    pub(crate) fn pack(
        weights: &[f32],
        bias: Option<&[f32]>,
        state: &[&[f32]],
    ) -> Result<Vec<f32>> {
        let bias = bias.unwrap_or(&[]);
        let count = weights.len() + bias.len();
        let total = count * (1 + state.iter().filter(|s| !s.is_empty()).count());
        let mut values = memory::with_capacity("a layer's parameters for the GPU", total)?;
        values.extend_from_slice(weights);
        values.extend_from_slice(bias);
        for s in state.iter().filter(|s| !s.is_empty()) {
            values.extend_from_slice(s);
        }
        Ok(values)
    }

    /// The values of `layer` and its state.
    pub(crate) fn pack_layer(layer: &Layer, state: &[&[f32]]) -> Result<Vec<f32>> {
        Self::pack(layer.weights(), layer.bias(), state)
    }

    /// Split a buffer's `values` (at least `count()` of them) into
    /// `[W; b]`'s weights, bias and state vectors.
    pub(crate) fn unpack<'v>(&self, values: &'v [f32]) -> (&'v [f32], &'v [f32], Vec<&'v [f32]>) {
        let (w, rest) = values.split_at(self.weights);
        let (b, rest) = rest.split_at(self.bias);
        let count = self.count();
        let state = (0..self.moments)
            .map(|i| &rest[i * count..(i + 1) * count])
            .collect();
        (w, b, state)
    }
}

/// Layer `l`'s state vectors in `state` (none for SGD).
pub(crate) fn layer_state(state: &OptimizerState, l: usize) -> [&[f32]; 2] {
    fn get(m: &[Vec<f32>], l: usize) -> &[f32] {
        m.get(l).map_or(&[], Vec::as_slice)
    }
    [get(&state.first, l), get(&state.second, l)]
}

/// A network's values, each layer's `layouts[l].len()` after the last's,
/// into its `layers` and optimizer `state`.
pub(crate) fn unpack_network(
    layouts: &[ParameterLayout],
    values: &[f32],
    layers: &mut [Layer],
    state: &mut OptimizerState,
) {
    let mut at = 0;
    for (l, (layout, layer)) in layouts.iter().zip(layers).enumerate() {
        let (w, b, moments) = layout.unpack(&values[at..at + layout.len()]);
        at += layout.len();
        layer.weights.copy_from_slice(w);
        if let Some(bias) = &mut layer.bias {
            bias.copy_from_slice(b);
        }
        for (m, saved) in moments
            .into_iter()
            .zip([&mut state.first, &mut state.second])
        {
            saved[l].copy_from_slice(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;

    #[test]
    fn pack_and_unpack_are_inverse() {
        let layer = Layer::new(
            2,
            3,
            Activation::Relu,
            (0..6).map(|v| v as f32).collect(),
            Some(vec![7.0, 8.0, 9.0]),
        );
        let m: Vec<f32> = (10..19).map(|v| v as f32).collect();
        let v: Vec<f32> = (20..29).map(|v| v as f32).collect();
        let values = ParameterLayout::pack_layer(&layer, &[&m, &v]).unwrap();
        let layout = ParameterLayout::of(&layer, 2);
        assert_eq!((layout.count(), layout.len(), values.len()), (9, 27, 27));
        let (w, b, state) = layout.unpack(&values);
        assert_eq!((w, b), (layer.weights(), layer.bias().unwrap()));
        assert_eq!(state, [&m[..], &v[..]]);
        let plain = ParameterLayout::pack_layer(&layer, &[&[], &[]]).unwrap();
        assert_eq!(plain.len(), ParameterLayout::of(&layer, 0).len());
    }
}
