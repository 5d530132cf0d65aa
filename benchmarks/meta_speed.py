"""torch.func inner loop vs the deepcopy way, one first-order meta-batch (FOMAML) on Conv4.

The deepcopy way (what a hand-written MAML does): per task, ``copy.deepcopy(model)``, SGD
steps on the copy's support loss, the query gradient of the adapted copy added into the
original's ``.grad``. torch.func: :class:`headstart.meta.maml.FOMAML` (``functional_call``
with a dict of adapted tensors, per-task loop, and ``vmap=True``). Same meta-gradient to
1e-5 is checked (``--float64``: the same in double precision, where rounding is ~1e-16);
CPU time (time.process_time) per meta-batch, median of ``--repeats``.

    nice -n 5 python benchmarks/meta_speed.py --threads 1
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--float64", action="store_true", help="run in float64 (is a difference rounding or a bug?)")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F

    from headstart.fewshot import Conv4
    from headstart.meta.base import new_meta_model, split_tasks
    from headstart.meta.registry import METHODS

    torch.set_num_threads(args.threads)
    print(machine(), "; float64" if args.float64 else "; float32")
    ways, shots, queries = 5, 1, 5
    dtype = torch.float64 if args.float64 else torch.float32
    x = torch.rand(args.tasks * ways * (shots + queries), 1, 28, 28, generator=torch.Generator().manual_seed(0))
    x = x.to(dtype)
    models = {}
    for vmap in (False, True):
        torch.manual_seed(0)
        method = METHODS.create("fomaml", inner_steps=args.steps, inner_lr=0.4, vmap=vmap)
        models[vmap] = new_meta_model(Conv4(width=args.width), method, ways, shots, queries, 0).to(dtype).train()
    base = models[False]

    def func_grad(model):
        model.zero_grad(set_to_none=True)
        model(x).mean().backward()
        return torch.cat([p.grad.reshape(-1) for p in model.parameters()])

    def deepcopy_grad(model):
        model.zero_grad(set_to_none=True)
        grads = [torch.zeros_like(p) for p in model.parameters()]
        for xs, ys, xq, yq in split_tasks(x, ways, shots, queries):
            clone = copy.deepcopy(model)
            opt = torch.optim.SGD(clone.parameters(), lr=0.4)
            for _ in range(args.steps):
                opt.zero_grad()
                F.cross_entropy(clone(xs, part="logits"), ys).backward()
                opt.step()
            clone.zero_grad()
            F.cross_entropy(clone(xq, part="logits"), yq).backward()
            for g, p in zip(grads, clone.parameters(), strict=True):
                g += p.grad / args.tasks
        return torch.cat([g.reshape(-1) for g in grads])

    runs = {"deepcopy": lambda: deepcopy_grad(base), "torch.func loop": lambda: func_grad(base),
            "torch.func vmap": lambda: func_grad(models[True])}  # fmt: skip
    ref = runs["deepcopy"]()
    for name, fn in runs.items():
        diff = (fn() - ref).abs().max().item()
        print(f"{name}: max |meta-gradient - deepcopy's| = {diff:.2e}")
    times = {k: [] for k in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            t = time.process_time()
            fn()
            times[name].append(time.process_time() - t)
    ref_t = statistics.median(times["deepcopy"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name}: {med:.3f} CPU s per meta-batch of {args.tasks} tasks x {args.steps} steps "
              f"(deepcopy / this = {ref_t / med:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
