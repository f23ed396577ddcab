"""The PyTorch side of workload S (src/sweep/bench.rs): many small networks
at once. MEMBERS members of 2-16(relu)-16(relu)-1, BCE on the logits, two
moons of 1,000 rows, EPOCHS epochs in shuffled batches of 32, Adam, member i
with seed i and learning rate 10^(-3 + 2 i / (MEMBERS - 1)).

  python3 - MEMBERS EPOCHS TIMED < torch_sweep.py

- loop: the first TIMED members one after another, each an nn.Sequential
  with torch.optim.Adam, the time scaled to all MEMBERS;
- stacked: all members at once with torch.func (stack_module_state,
  vmap(grad(...)) over the stacked parameters, each member its own batch
  order), Adam written out on the stacked tensors.

Prints one JSON object: loop_ms, stacked_ms (null when torch.func is
missing), the threads torch used. Exits 3 without torch.
"""

import copy
import json
import math
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit(3)

MEMBERS, EPOCHS, TIMED = (int(a) for a in sys.argv[1:4])
ROWS, BATCH = 1000, 32


def moons(rows, noise, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(rows, generator=g) * math.pi
    cls = torch.arange(rows) % 2
    upper = torch.stack([t.cos(), t.sin()], 1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
    x = torch.where(cls[:, None] == 0, upper, lower)
    x = x + noise * torch.randn(rows, 2, generator=g)
    return x, cls.float()[:, None]


def make(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 1),
    )


def rate(i):
    return 10 ** (-3 + 2 * i / max(MEMBERS - 1, 1))


def loop(x, y):
    t = time.perf_counter()
    for i in range(TIMED):
        net = make(i)
        opt = torch.optim.Adam(net.parameters(), lr=rate(i))
        g = torch.Generator().manual_seed(i)
        for _ in range(EPOCHS):
            order = torch.randperm(ROWS, generator=g)
            for b in range(0, ROWS, BATCH):
                rows = order[b : b + BATCH]
                opt.zero_grad()
                loss = F.binary_cross_entropy_with_logits(net(x[rows]), y[rows])
                loss.backward()
                opt.step()
    return (time.perf_counter() - t) * 1e3 * MEMBERS / TIMED


def stacked(x, y):
    try:
        from torch.func import functional_call, grad, stack_module_state, vmap
    except ImportError:
        return None
    t = time.perf_counter()
    params, buffers = stack_module_state([make(i) for i in range(MEMBERS)])
    base = copy.deepcopy(make(0)).to("meta")

    def loss(p, b, xb, yb):
        return F.binary_cross_entropy_with_logits(functional_call(base, (p, b), (xb,)), yb)

    grads_of = vmap(grad(loss))
    lr = torch.tensor([rate(i) for i in range(MEMBERS)])
    m = {k: torch.zeros_like(v) for k, v in params.items()}
    v = {k: torch.zeros_like(p) for k, p in params.items()}
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(EPOCHS):
            order = torch.argsort(torch.rand(MEMBERS, ROWS, generator=g), dim=1)
            for b in range(0, ROWS, BATCH):
                rows = order[:, b : b + BATCH]
                grads = grads_of(params, buffers, x[rows], y[rows])
                step += 1
                c1, c2 = 1 - beta1**step, 1 - beta2**step
                for k, p in params.items():
                    m[k].mul_(beta1).add_(grads[k], alpha=1 - beta1)
                    v[k].mul_(beta2).addcmul_(grads[k], grads[k], value=1 - beta2)
                    shape = (MEMBERS,) + (1,) * (p.dim() - 1)
                    update = (m[k] / c1) / ((v[k] / c2).sqrt() + eps)
                    p.sub_(lr.view(shape) * update)
    return (time.perf_counter() - t) * 1e3


x, y = moons(ROWS, 0.1, 0)
result = {"loop_ms": loop(x, y), "stacked_ms": stacked(x, y), "threads": torch.get_num_threads()}
print(json.dumps(result))
