"""The numpy side of `cargo run --release --example benchmark`: the same
math as neurona's workloads W0 and W2, timed the same way.

W0: the origin notebook's loop (3-4-1 sigmoid, no bias, batch 4, 10,000
full-batch steps, learning rate 1, sum over the batch, the *correct*
derivative s(1 - s)), total time.
W2: 784-512-512-10 sigmoid with bias, batch 1024, MSE (the 1/2 convention,
gradient y_hat - y), SGD lr 0.1 with the mean over the batch, float32;
time per step, the median of 7 timings of 6 steps minus 1 step, divided by 5.

Prints one JSON object per workload. numpy uses its bundled BLAS with its
default threads (all cores), as neurona does.
"""

import json
import sys
import time

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def w0():
    x = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    times = []
    for _ in range(5):
        np.random.seed(1)
        s0 = 2 * np.random.random((3, 4)) - 1
        s1 = 2 * np.random.random((4, 1)) - 1
        t = time.perf_counter()
        for _ in range(10000):
            l1 = sigmoid(x @ s0)
            l2 = sigmoid(l1 @ s1)
            d2 = (y - l2) * (l2 * (1 - l2))
            d1 = (d2 @ s1.T) * (l1 * (1 - l1))
            s1 += l1.T @ d2
            s0 += x.T @ d1
        times.append(time.perf_counter() - t)
    return {"workload": "W0", "ms_total": 1e3 * float(np.median(times))}


def w2():
    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    b = 1024
    x = rng.random((b, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, b)]
    w = [(2 * rng.random((i, o), dtype=np.float32) - 1) * np.float32(0.05) for i, o in zip(sizes, sizes[1:])]
    bias = [np.zeros(o, np.float32) for o in sizes[1:]]
    lr = np.float32(0.1)

    def steps(n):
        for _ in range(n):
            acts = [x]
            for wi, bi in zip(w, bias):
                acts.append(sigmoid(acts[-1] @ wi + bi))
            d = (acts[-1] - y) * acts[-1] * (1 - acts[-1])
            deltas = [d]
            for l in range(len(w) - 1, 0, -1):
                d = (d @ w[l].T) * acts[l] * (1 - acts[l])
                deltas.insert(0, d)
            s = lr / b
            for l in range(len(w)):
                w[l] -= s * (acts[l].T @ deltas[l])
                bias[l] -= s * deltas[l].sum(axis=0)

    steps(2)  # warm-up
    per_step = []
    for _ in range(7):
        t0 = time.perf_counter()
        steps(1)
        t1 = time.perf_counter()
        steps(6)
        t2 = time.perf_counter()
        per_step.append(((t2 - t1) - (t1 - t0)) / 5)
    return {"workload": "W2", "ms_per_step": 1e3 * float(np.median(per_step))}


if __name__ == "__main__":
    which = sys.argv[1:] or ["W0", "W2"]
    for name in which:
        print(json.dumps({"W0": w0, "W2": w2}[name]() | {"numpy": np.__version__}), flush=True)
