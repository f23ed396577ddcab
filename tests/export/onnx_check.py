"""Run neurona's ONNX exports with onnxruntime and compare with neurona predict.

Usage: onnx_check.py DIR...  Each DIR holds model.onnx, data.csv (the rows,
the model's input columns among others) and predictions.csv (what `neurona
predict` wrote for them). Prints one JSON object per DIR: whether
onnx.checker passed, the largest differences of the values, and the rows
whose decision (class or labels) differs.
"""

import csv
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


for d in sys.argv[1:]:
    model = onnx.load(f"{d}/model.onnx")
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    features = json.loads(meta["features"])
    header, rows = read(f"{d}/data.csv")
    x = np.array(
        [[float(r[header.index(c)]) for c in features] for r in rows], dtype=np.float32
    )
    session = ort.InferenceSession(
        f"{d}/model.onnx", providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {"input": x})))
    _, predicted = read(f"{d}/predictions.csv")
    k = got["output"].shape[1]
    # predict's columns: the decision first (a label, or k 0/1 values for
    # multi-label), then the values.
    if "class" in got:
        labels = json.loads(meta["labels"])
        decisions = [labels[i] for i in got["class"].tolist()]
        wanted = [r[0] for r in predicted]
        values = [r[1:] for r in predicted]
    elif "labels" in got:
        decisions = got["labels"].tolist()
        wanted = [[int(v) for v in r[:k]] for r in predicted]
        values = [r[k:] for r in predicted]
    else:
        decisions, wanted = [], []
        values = predicted
    want = np.array([[float(v) for v in r] for r in values], dtype=np.float64)
    diff = np.abs(got["output"].astype(np.float64) - want)
    print(
        json.dumps(
            {
                "dir": d,
                "checker": "passed",
                "outputs": names,
                "opset": model.opset_import[0].version,
                "batch": model.graph.input[0].type.tensor_type.shape.dim[0].dim_param,
                "rows": len(rows),
                "shape_equal": list(got["output"].shape) == list(want.shape),
                "max_abs": float(diff.max()),
                # Relative to the value, or to 1 for values below 1.
                "max_rel": float((diff / np.maximum(np.abs(want), 1.0)).max()),
                "max_rel_strict": float((diff / np.maximum(np.abs(want), 1e-30)).max()),
                "decisions_differ": sum(a != b for a, b in zip(decisions, wanted)),
            }
        ),
        flush=True,
    )
