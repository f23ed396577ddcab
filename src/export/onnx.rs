//! A [`Model`] as one ONNX graph (opset [`OPSET`], IR version
//! [`IR_VERSION`]) that computes what `neurona predict` does, from the raw
//! input columns to the predictions:
//!
//! - input `input`: float `[batch, features]`, the model's input columns
//!   in order, as they are in the data (not standardised); `batch` is a
//!   dynamic dimension. The input's doc string and the model's metadata
//!   `features` name the columns.
//! - `Sub` and `Div` by `standardize_mean` and `standardize_scale`, when
//!   the model standardises its inputs.
//! - each layer `i`: `Gemm` with `layers.{i}.weight` (`inputs x outputs`,
//!   neurona's layout) and `layers.{i}.bias`, or `MatMul` for a layer
//!   without a bias; then its activation: `Sigmoid`, `Relu`, `Tanh`,
//!   `Identity` or `Softmax` over the last axis.
//! - `Mul` and `Add` by `target_scale` and `target_mean`, for regression
//!   targets standardised in training: outputs in the targets' units.
//! - output `output`: float `[batch, outputs]`, what `predict` writes as
//!   values (class probabilities, or the numbers).
//! - for classes, output `class`: int64 `[batch]`, the class index:
//!   `ArgMax` for a softmax, `output ≥ threshold` for two classes on one
//!   sigmoid; the labels are the metadata `labels` (a JSON list, the label
//!   of index `i` at `i`). For multi-label, output `labels`: int64
//!   `[batch, outputs]`, 1 where `output ≥ threshold`.
//!
//! Model metadata (`metadata_props`): `features`, `targets`, `task`,
//! `labels`, `threshold`, `loss`, `network` and `neurona_version`, as in the
//! model file. The protobuf messages are generated from ONNX's schema
//! (`onnx_proto.rs`) and encoded by prost.

use std::path::Path;

use prost::Message;

use super::onnx_proto as pb;
use super::{Decision, last_activation};
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::model_file::{Ensemble, Model, write_atomically};
use crate::network::Network;

/// The ONNX operator set the graph uses: 13, where `Softmax` works on one
/// axis and every operator used here has its current form; onnxruntime
/// has run it since 1.6.
pub const OPSET: i64 = 13;

/// The ONNX IR version written: 7, the one that goes with opset 13, so
/// older runtimes read the file too.
pub const IR_VERSION: i64 = 7;

/// Protobuf messages cannot exceed 2 GiB; ONNX keeps larger weights in
/// side files ("external data"), which this export does not write.
const PROTOBUF_LIMIT: usize = i32::MAX as usize;

/// The ONNX file's bytes for `model`; `file` names the model in messages.
/// An error when the graph would exceed protobuf's 2 GiB limit.
///
/// ```
/// use neurona::{Activation, Loss, Model, Network};
/// let net = Network::builder(3).layer(4, Activation::Relu).layer(1, Activation::Sigmoid).build(1)?;
/// let bytes = neurona::export::onnx::to_bytes(&Model::new(net, Loss::Bce), "model")?;
/// assert!(bytes.len() > 4 * (3 * 4 + 4 + 4 + 1));
/// # Ok::<(), neurona::Error>(())
/// ```
pub fn to_bytes(model: &Model, file: &str) -> Result<Vec<u8>> {
    encode(model_proto(model, &[]), file)
}

/// An ensemble's ONNX graph: each member's layers on the standardised
/// inputs (`members.{m}.layers.{i}`), their outputs averaged by `Mean`
/// (what `neurona predict` gives for an ensemble file), then the same
/// un-standardisation and decision as one model's.
pub fn ensemble_to_bytes(ensemble: &Ensemble, file: &str) -> Result<Vec<u8>> {
    encode(model_proto(&ensemble.model, &ensemble.others), file)
}

/// Write an ensemble's ONNX graph to `path`, as [`save`] does a model's.
pub fn save_ensemble(ensemble: &Ensemble, file: &str, path: impl AsRef<Path>) -> Result<()> {
    write_atomically(path.as_ref(), &ensemble_to_bytes(ensemble, file)?)
}

fn encode(proto: pb::ModelProto, file: &str) -> Result<Vec<u8>> {
    let len = proto.encoded_len();
    if len > PROTOBUF_LIMIT {
        return Err(Error::ModelFile(format!(
            "{file}: its ONNX graph would be {len} bytes, beyond protobuf's 2 GiB limit (ONNX's external data files are not written)"
        )));
    }
    Ok(proto.encode_to_vec())
}

/// Write `model`'s ONNX graph to `path` (under a temporary name, then
/// renamed, so a failure leaves no partial file); `file` names the model
/// in messages.
pub fn save(model: &Model, file: &str, path: impl AsRef<Path>) -> Result<()> {
    write_atomically(path.as_ref(), &to_bytes(model, file)?)
}

/// The graph's nodes and constants, built in order.
#[derive(Default)]
struct Graph {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
}

impl Graph {
    /// A float constant `name` of shape `dims` (row-major values).
    fn floats(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(pb::TensorProto {
            name: Some(name.into()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(pb::tensor_proto::DataType::Float as i32),
            float_data: values.to_vec(),
            ..Default::default()
        });
        name.into()
    }

    /// An int64 constant `name`, one-dimensional.
    fn ints(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(pb::TensorProto {
            name: Some(name.into()),
            dims: vec![values.len() as i64],
            data_type: Some(pb::tensor_proto::DataType::Int64 as i32),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name.into()
    }

    /// A node `op` named `name` from `inputs` to one output, `name` too.
    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attributes: Vec<pb::AttributeProto>,
    ) -> String {
        self.nodes.push(pb::NodeProto {
            op_type: Some(op.into()),
            name: Some(name.into()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![name.into()],
            attribute: attributes,
            ..Default::default()
        });
        name.into()
    }

    /// Rename the value `value` to `name` (a graph output), where the node
    /// that makes it writes it.
    fn rename(&mut self, value: &str, name: &str) -> String {
        for node in &mut self.nodes {
            for out in &mut node.output {
                if out == value {
                    *out = name.into();
                }
            }
        }
        name.into()
    }
}

/// An integer attribute.
fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: Some(name.into()),
        r#type: Some(pb::attribute_proto::AttributeType::Int as i32),
        i: Some(value),
        ..Default::default()
    }
}

/// A tensor's type: `elem` values of shape `dims`, `None` being the
/// dynamic batch dimension.
fn tensor_value(
    name: &str,
    elem: pb::tensor_proto::DataType,
    dims: &[Option<usize>],
    doc: String,
) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => Value::DimValue(*n as i64),
                None => Value::DimParam("batch".into()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        doc_string: Some(doc),
        ..Default::default()
    }
}

/// ONNX's operator for an activation.
fn op(activation: Activation) -> &'static str {
    match activation {
        Activation::Sigmoid => "Sigmoid",
        Activation::Relu => "Relu",
        Activation::Tanh => "Tanh",
        Activation::Identity => "Identity",
        Activation::Softmax => "Softmax",
    }
}

fn json(strings: &[String]) -> String {
    serde_json::to_string(strings).expect("strings serialise")
}

/// The whole ONNX model of `model`.
/// `model`'s graph, averaging its network with `others` when there are any.
fn model_proto(model: &Model, others: &[Network]) -> pb::ModelProto {
    use pb::tensor_proto::DataType;
    let net = &model.network;
    let (inputs, outputs) = (net.inputs(), net.outputs());
    let mut g = Graph::default();

    let mut x = "input".to_string();
    if let Some(s) = &model.standardizer {
        let mean = g.floats("standardize_mean", &[inputs], &s.mean);
        let scale = g.floats("standardize_scale", &[inputs], &s.scale);
        let centred = g.node("Sub", "standardize.centred", &[&x, &mean], vec![]);
        x = g.node("Div", "standardize.z", &[&centred, &scale], vec![]);
    }
    let members: Vec<&Network> = std::iter::once(net).chain(others).collect();
    let mut member_outputs = Vec::new();
    for (m, member) in members.iter().enumerate() {
        let prefix = if members.len() > 1 {
            format!("members.{m}.layers")
        } else {
            "layers".to_string()
        };
        let mut h = x.clone();
        for (i, l) in member.layers().iter().enumerate() {
            let dims = [l.inputs(), l.outputs()];
            let w = g.floats(&format!("{prefix}.{i}.weight"), &dims, l.weights());
            let z = format!("{prefix}.{i}.z");
            let z = match l.bias() {
                Some(b) => {
                    let b = g.floats(&format!("{prefix}.{i}.bias"), &[l.outputs()], b);
                    g.node("Gemm", &z, &[&h, &w, &b], vec![])
                }
                None => g.node("MatMul", &z, &[&h, &w], vec![]),
            };
            let attributes = match l.activation() {
                Activation::Softmax => vec![int("axis", -1)],
                _ => vec![],
            };
            let name = format!("{prefix}.{i}.{}", l.activation());
            h = g.node(op(l.activation()), &name, &[&z], attributes);
        }
        member_outputs.push(h);
    }
    x = match member_outputs.as_slice() {
        [one] => one.clone(),
        all => {
            let inputs: Vec<&str> = all.iter().map(String::as_str).collect();
            g.node("Mean", "members.mean", &inputs, vec![])
        }
    };
    if let Some(t) = &model.target_standardizer {
        let scale = g.floats("target_scale", &[outputs], &t.scale);
        let mean = g.floats("target_mean", &[outputs], &t.mean);
        let scaled = g.node("Mul", "target.scaled", &[&x, &scale], vec![]);
        x = g.node("Add", "target.value", &[&scaled, &mean], vec![]);
    }
    let x = g.rename(&x, "output");

    let what = match &model.task {
        Some(task) => format!("{} outputs", task.name()),
        None if last_activation(model) == Activation::Softmax => "class probabilities".into(),
        None => "outputs".into(),
    };
    let mut graph_outputs = vec![tensor_value(
        "output",
        DataType::Float,
        &[None, Some(outputs)],
        format!("the {what}, as neurona predict gives them"),
    )];
    let decision = Decision::of(model);
    match &decision {
        Decision::ArgMax { .. } => {
            g.node(
                "ArgMax",
                "class",
                &[&x],
                vec![int("axis", 1), int("keepdims", 0)],
            );
        }
        Decision::Binary { threshold, .. } => {
            let t = g.floats("threshold", &[], &[*threshold]);
            let above = g.node("GreaterOrEqual", "class.above", &[&x, &t], vec![]);
            let int64 = DataType::Int64 as i64;
            let index = g.node("Cast", "class.index", &[&above], vec![int("to", int64)]);
            let axes = g.ints("class.axes", &[1]);
            g.node("Squeeze", "class", &[&index, &axes], vec![]);
        }
        Decision::EachAbove { threshold } => {
            let t = g.floats("threshold", &[], &[*threshold]);
            let above = g.node("GreaterOrEqual", "labels.above", &[&x, &t], vec![]);
            g.node(
                "Cast",
                "labels",
                &[&above],
                vec![int("to", DataType::Int64 as i64)],
            );
        }
        Decision::None => {}
    }
    match &decision {
        Decision::ArgMax { .. } | Decision::Binary { .. } => graph_outputs.push(tensor_value(
            "class",
            DataType::Int64,
            &[None],
            "the class index of each row; metadata labels names it".into(),
        )),
        Decision::EachAbove { .. } => graph_outputs.push(tensor_value(
            "labels",
            DataType::Int64,
            &[None, Some(outputs)],
            "1 where the output is at least the threshold, else 0".into(),
        )),
        Decision::None => {}
    }

    let columns = if model.features.is_empty() {
        "the model file does not name them".to_string()
    } else {
        model.features.join(", ")
    };
    let input_doc = format!(
        "the raw input columns, in order ({columns}){}",
        if model.standardizer.is_some() {
            "; the graph standardises them"
        } else {
            ""
        }
    );
    let graph = pb::GraphProto {
        name: Some("neurona".into()),
        doc_string: Some(format!("{net}, trained with {}", model.loss)),
        node: g.nodes,
        initializer: g.initializers,
        input: vec![tensor_value(
            "input",
            DataType::Float,
            &[None, Some(inputs)],
            input_doc,
        )],
        output: graph_outputs,
        ..Default::default()
    };

    let mut meta = vec![
        ("features", json(&model.features)),
        ("targets", json(&model.targets)),
        ("network", net.to_string()),
        ("loss", model.loss.name().to_string()),
        ("threshold", model.threshold.to_string()),
        ("neurona_version", env!("CARGO_PKG_VERSION").to_string()),
    ];
    if let Some(task) = &model.task {
        meta.push(("task", task.name().to_string()));
    }
    if !others.is_empty() {
        // `network` is the first member's; every member's, in order.
        let all: Vec<String> = members.iter().map(|n| n.to_string()).collect();
        meta.push(("ensemble", json(&all)));
    }
    if let Decision::ArgMax { labels } | Decision::Binary { labels, .. } = &decision {
        meta.push(("labels", json(labels)));
    }
    pb::ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![pb::OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("neurona".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(format!("{net}: {what} from the raw input columns")),
        graph: Some(graph),
        metadata_props: meta
            .into_iter()
            .map(|(k, v)| pb::StringStringEntryProto {
                key: Some(k.into()),
                value: Some(v),
            })
            .collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Standardizer;
    use crate::loss::Loss;
    use crate::network::Network;
    use crate::targets::Task;

    fn ops(bytes: &[u8]) -> (Vec<String>, Vec<String>, pb::ModelProto) {
        let m = pb::ModelProto::decode(bytes).expect("our bytes decode");
        let g = m.graph.clone().unwrap();
        let ops = g.node.iter().map(|n| n.op_type.clone().unwrap()).collect();
        let outputs = g.output.iter().map(|o| o.name.clone().unwrap()).collect();
        (ops, outputs, m)
    }

    #[test]
    fn a_classifier_standardises_then_picks_the_class() {
        let net = Network::builder(2)
            .layer(3, Activation::Tanh)
            .layer_without_bias(3, Activation::Softmax)
            .build(1)
            .unwrap();
        let mut model = Model::new(net, Loss::CrossEntropy);
        model.standardizer = Some(Standardizer {
            mean: vec![1.0, 2.0],
            scale: vec![3.0, 4.0],
        });
        model.task = Some(Task::Classes {
            labels: vec!["a".into(), "b".into(), "c".into()],
        });
        let (ops, outputs, m) = ops(&to_bytes(&model, "m").unwrap());
        let want = ["Sub", "Div", "Gemm", "Tanh", "MatMul", "Softmax", "ArgMax"];
        assert_eq!(ops, want);
        assert_eq!(outputs, ["output", "class"]);
        let labels = m
            .metadata_props
            .iter()
            .find(|p| p.key.as_deref() == Some("labels"));
        assert_eq!(labels.unwrap().value.as_deref(), Some(r#"["a","b","c"]"#));
        assert_eq!(m.opset_import[0].version, Some(13));
    }

    #[test]
    fn regression_comes_back_in_the_targets_units() {
        let net = Network::builder(2)
            .layer(2, Activation::Identity)
            .build(1)
            .unwrap();
        let mut model = Model::new(net, Loss::Mse);
        model.task = Some(Task::Regression);
        model.target_standardizer = Some(Standardizer {
            mean: vec![10.0, 20.0],
            scale: vec![2.0, 5.0],
        });
        let (ops, outputs, _) = ops(&to_bytes(&model, "m").unwrap());
        assert_eq!(ops, ["Gemm", "Identity", "Mul", "Add"]);
        assert_eq!(outputs, ["output"]);
    }
}
