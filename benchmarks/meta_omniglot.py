"""Meta-learning on Omniglot: Conv4 from scratch, ProtoNet beside FOMAML / MAML / Reptile.

Data: every character of images_background_small1 (Balinese, Early Aramaic, Greek,
Korean, Latin) plus the small2 alphabets small1 lacks (Japanese (katakana), Sanskrit,
Tagalog: 106 characters). Split: the characters of each of those three alphabets are
permuted with numpy seed 0; the first two thirds (rounded down) train, the rest (36
characters) are held out. Training classes: small1's 136 + 70 characters, each also
rotated by 90/180/270 degrees as new classes (x4). Test: 600 5-way 1-shot episodes
(15 queries per class, episode seed 0) over the held-out characters, 95% CI 1.96 std/sqrt(n).

Every method trains the same Conv4 (64 filters, 28 px, batch norm on batch statistics for
the gradient-based methods), from the same seed, for the same number of meta-batches of
``--tasks`` 5-way 1-shot tasks (``--queries`` queries per class); CPU time
(time.process_time) is printed beside each figure.

    nice -n 5 python benchmarks/meta_omniglot.py --methods protonet,maml --threads 1

Per-method settings: ``NAME:key=value:...`` with keys ``batches``, ``tasks``, ``lr``, ``ways``
(the training ways; a method with a fixed head is evaluated at those ways, ProtoNet at every
``--eval-ways``) and any option of the method (``inner_steps``, ``inner_lr``, ``test_steps``), e.g.
``--methods protonet:batches=400:tasks=8,fomaml:batches=1600:tasks=8:lr=3e-3``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, need_shared  # noqa: E402

HELD = ("Japanese_(katakana)", "Sanskrit", "Tagalog")
LR = {"protonet": 1e-3, "maml": 1e-3, "fomaml": 1e-3, "reptile": 1.0, "anil": 1e-3, "protomaml": 1e-3}


def split(folder: Path):
    import headstart as hs
    from headstart.data.omniglot import load_omniglot

    small1 = load_omniglot(folder / "images_background_small1.zip")
    small2 = load_omniglot(folder / "images_background_small2.zip", alphabets=HELD)
    labels2 = np.asarray(small2.labels)
    train_chars, test_chars = [], []
    for alphabet in HELD:
        chars = sorted({lab for lab in labels2 if lab.startswith(alphabet + "/")})
        order = np.random.default_rng(0).permutation(len(chars))
        cut = 2 * len(chars) // 3
        train_chars += [chars[i] for i in order[:cut]]
        test_chars += [chars[i] for i in order[cut:]]
    keep = np.isin(labels2, train_chars)
    images = list(small1.inputs) + [small2.inputs[i] for i in np.flatnonzero(keep)]
    labels = list(small1.labels) + list(labels2[keep])
    rot_images, rot_labels = list(images), list(labels)
    for k in (1, 2, 3):
        rot_images += [np.ascontiguousarray(np.rot90(x, k)) for x in images]
        rot_labels += [f"{lab}/rot{90 * k}" for lab in labels]
    train = hs.from_arrays(rot_images, np.asarray(rot_labels), modality="image")
    test_idx = np.flatnonzero(~keep)
    test = hs.from_arrays([small2.inputs[i] for i in test_idx], labels2[test_idx], modality="image")
    return train, test, len(set(labels)), len(test_chars)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="protonet,fomaml,maml,reptile")
    ap.add_argument("--batches", type=int, default=300, help="meta-batches per method")
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--eval-episodes", type=int, default=600)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-ways", default="5,20", help="ways of the test episodes (any-ways methods: each)")
    ap.add_argument("--eval-queries", type=int, default=15)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    from headstart.fewshot import Conv4
    from headstart.meta import evaluate, meta_train
    from headstart.meta.registry import METHODS

    torch.set_num_threads(args.threads)
    print(machine())
    train, test, n_train_chars, n_test_chars = split(need_shared("fewshot", "omniglot"))
    print(
        f"train: {n_train_chars} characters x4 rotations = {len(train.classes)} classes, {len(train)} drawings; "
        f"test: {n_test_chars} held-out characters of {', '.join(HELD)}, {len(test)} drawings"
    )
    rows = []
    for spec in args.methods.split(","):
        name, *opts = spec.split(":")
        kv = dict(o.split("=", 1) for o in opts)
        batches = int(kv.pop("batches", args.batches))
        tasks = int(kv.pop("tasks", args.tasks))
        lr = float(kv.pop("lr", LR[name]))
        ways = int(kv.pop("ways", 5))
        method = METHODS.create(name, **{k: float(v) if "." in v or "e" in v else int(v) for k, v in kv.items()})
        cpu0 = time.process_time()
        model, result = meta_train(
            Conv4(size=28, width=args.width),
            train,
            method,
            ways=ways,
            shots=1,
            queries=args.queries,
            tasks=tasks,
            batches=max(1, batches // 10),
            epochs=10,
            lr=lr,
            seed=0,
            progress=False,
        )
        train_cpu = time.process_time() - cpu0
        curve = [round(h["train_loss"], 3) for h in result.history]
        print(
            f"{spec}: trained {10 * max(1, batches // 10)} meta-batches of {tasks} {ways}-way tasks in "
            f"{train_cpu / 60:.1f} CPU min; outer loss by epoch {curve}",
            flush=True,
        )
        eval_ways = [int(w) for w in args.eval_ways.split(",")] if method.any_ways else [ways]
        for w in eval_ways:
            cpu1 = time.process_time()
            ev = evaluate(model, test, w, 1, args.eval_queries, args.eval_episodes, seed=0)
            eval_cpu = time.process_time() - cpu1
            print(f"{spec} -> {ev}  [train CPU {train_cpu / 60:.1f} min, eval CPU {eval_cpu / 60:.1f} min]", flush=True)
            rows.append(
                {
                    **ev.to_dict(),
                    "spec": spec,
                    "method_options": repr(method),
                    "train_ways": ways,
                    "tasks": tasks,
                    "meta_batches": 10 * max(1, batches // 10),
                    "lr": lr,
                    "train_cpu_s": train_cpu,
                    "eval_cpu_s": eval_cpu,
                    "curve": [h["train_loss"] for h in result.history],
                }
            )
            out = Path(args.out or ROOT / "benchmarks" / "out" / "meta_omniglot.json")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"args": vars(args), "results": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
