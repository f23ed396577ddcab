"""Go on with neurona runs in PyTorch from their export, and compare.

Usage: torch_continue.py DIR...  Each DIR holds pt/ (`neurona export
--pytorch`), data.csv (the training rows), predictions.csv (the exported
model's outputs on them, from neurona), run.json ({"batch": B, "steps": S})
and after.safetensors (neurona's model after S more steps on the rows in
file order, B at a time). Prints one JSON object per DIR: how far the
nn.Sequential's outputs are from neurona's (relative, or absolute below 1), how far its weights are after
S steps of the exported optimizer from neurona's, and how far the weights
moved.
"""

import csv
import importlib.util
import json
import sys

import torch
from safetensors.torch import load_file

for n, d in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(
        f"neurona_model_{n}", f"{d}/pt/neurona_model.py"
    )
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    run = json.load(open(f"{d}/run.json"))
    x, y = m.read_csv(f"{d}/data.csv")

    model = m.load()
    with open(f"{d}/predictions.csv", newline="") as f:
        want = torch.tensor([[float(v) for v in r] for r in csv.reader(f)])
    with torch.no_grad():
        # Relative (absolute below 1), as for the weights: a regression's
        # outputs are in the target's units, tens here, where 1e-5 absolute
        # is under two float32 steps.
        forward = ((model(x) - want).abs() / want.abs().clamp(min=1.0)).max().item()

    linears = [mod for mod in model if isinstance(mod, torch.nn.Linear)]
    start = [p.detach().clone() for p in model.parameters()]
    net = m.training_part(model)
    optimizer = m.load_optimizer(model)
    scheduler = m.make_scheduler(optimizer) if hasattr(m, "make_scheduler") else None
    batch, steps = run["batch"], 0
    while steps < run["steps"]:
        for first in range(0, len(x), batch):
            if steps == run["steps"]:
                break
            loss = m.loss_fn(net(x[first : first + batch]), y[first : first + batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            steps += 1

    after = load_file(f"{d}/after.safetensors")
    worst, moved = 0.0, 0.0
    for i, lin in enumerate(linears):
        pairs = [(lin.weight, after[f"layers.{i}.weight"])]
        if lin.bias is not None:
            pairs.append((lin.bias, after[f"layers.{i}.bias"]))
        for got, want in pairs:
            diff = (got.detach() - want).abs() / want.abs().clamp(min=1.0)
            worst = max(worst, diff.max().item())
    for s, p in zip(start, model.parameters()):
        moved = max(moved, (p.detach() - s).abs().max().item())
    print(
        json.dumps(
            {
                "dir": d,
                "forward_max_rel": forward,
                "weights_max_rel": worst,
                "moved": moved,
                "steps": steps,
                "optimizer": type(optimizer).__name__,
                "groups": len(optimizer.param_groups),
                "lr": optimizer.param_groups[0]["lr"],
            }
        ),
        flush=True,
    )
