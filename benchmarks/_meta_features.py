"""Shared by meta_frozen.py and meta_text.py: meta-learning over cached frozen embeddings.

The backbone is the frozen pretrained network's embeddings (cached) followed by a
trainable residual linear adapter ``z = x + W x`` (``W`` starts at zero, so before
meta-training the adapter is the identity and every method starts from the raw
embeddings). ANIL, ProtoMAML and ProtoNet meta-train the same adapter (the outer
loop) on the meta-train classes; ANIL and ProtoMAML adapt the head on each test
episode's support set (the inner loop). Beside them, with nothing meta-trained:
ProtoNet and support-set logistic regression on the raw embeddings, and ProtoMAML's
test-time adaptation from the prototype head on the raw embeddings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.backbones.base import ParamGroup
from headstart.backbones.embedded import IdentityBackbone


class ResidualAdapter(IdentityBackbone):
    """Cached embeddings -> ``x + W x`` (``W`` zero at the start): a trainable layer on a frozen body."""

    def __init__(self, feature_dim: int) -> None:
        super().__init__(feature_dim)
        self.spec = f"adapter-{feature_dim}"
        self.proj = nn.Linear(feature_dim, feature_dim)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return batch + self.proj(batch)

    def param_groups(self) -> list[ParamGroup]:
        return [ParamGroup("proj", list(self.proj.parameters()))]


def baseline_adapter(x: np.ndarray, y: np.ndarray, steps: int = 1000, batch: int = 128, lr: float = 1e-3) -> Any:
    """Chen et al.'s Baseline pre-training: the same adapter + a linear head over every meta-train class,
    plain cross-entropy on mini-batches of rows (Adam, seed 0); returns the trained adapter."""
    classes, codes = np.unique(y, return_inverse=True)
    torch.manual_seed(0)
    adapter, head = ResidualAdapter(x.shape[1]), nn.Linear(x.shape[1], len(classes))
    opt = torch.optim.Adam([*adapter.parameters(), *head.parameters()], lr=lr)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(codes)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        idx = torch.as_tensor(rng.integers(0, len(xt), batch))
        loss = nn.functional.cross_entropy(head(adapter.forward_features(xt[idx])), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return adapter


def compare(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    ways: int,
    shots: int,
    queries: int = 15,
    episodes: int = 600,
    batches: int = 500,
    tasks: int = 4,
    lr: float = 1e-3,
    methods: Sequence[str] = ("protonet", "anil", "anil:learn_lr=1", "protomaml"),
    scale: float = 1.0,
    train_queries: int = 5,
) -> list[dict[str, Any]]:
    """Every figure: (name, accuracy, ci95, before-adaptation accuracy, train CPU s, eval CPU s)."""
    import headstart as hs
    from headstart.fewshot import evaluate_episodes
    from headstart.meta import evaluate, meta_train
    from headstart.meta.base import new_meta_model
    from headstart.meta.registry import METHODS

    dim = train_x.shape[1]
    test = hs.from_arrays(test_x * scale, test_y, modality="tabular")
    train = hs.from_arrays(train_x * scale, train_y, modality="tabular")
    rows: list[dict[str, Any]] = []

    def add(name: str, acc: float, ci: float, before: float | None, train_s: float, eval_s: float, **kw: Any) -> None:
        row = {
            "method": name,
            "accuracy": acc,
            "ci95": ci,
            "before": before,
            "train_cpu_s": train_s,
            "eval_cpu_s": eval_s,
            **kw,
        }
        rows.append(row)
        b = "" if before is None else f", before adaptation {before:.4f}"
        print(
            f"{name}: {ways}-way {shots}-shot {acc:.4f} ± {ci:.4f}{b}  [train CPU {train_s / 60:.2f} min, "
            f"eval CPU {eval_s / 60:.2f} min]",
            flush=True,
        )

    for base in ("protonet", "logistic-regression"):
        c = time.process_time()
        x = test_x if base == "logistic-regression" else test_x * scale  # its C=1 is tuned for raw scale
        r = evaluate_episodes(x, test_y, base, ways=ways, shots=shots, queries=queries, episodes=episodes, seed=0)
        add(f"{base} (raw embeddings, nothing meta-trained)", r.mean, r.ci95, None, 0.0, time.process_time() - c)

    c = time.process_time()
    adapter = baseline_adapter(train_x * scale, train_y, steps=batches)
    with torch.no_grad():
        z = adapter.forward_features(torch.as_tensor(test_x * scale, dtype=torch.float32)).numpy()
    train_s = time.process_time() - c
    for base in ("logistic-regression", "protonet"):
        c = time.process_time()
        r = evaluate_episodes(
            z / scale if base == "logistic-regression" else z,
            test_y,
            base,
            ways=ways,
            shots=shots,
            queries=queries,
            episodes=episodes,
            seed=0,
        )
        add(
            f"baseline (Chen et al.): adapter trained by {len(set(train_y))}-way classification, then {base}",
            r.mean,
            r.ci95,
            None,
            train_s,
            time.process_time() - c,
        )

    # ProtoMAML's test-time adaptation alone: prototype head + SGD steps, adapter at identity.
    m = METHODS.create("protomaml")
    model = new_meta_model(ResidualAdapter(dim), m, ways, shots, queries, 0)
    c = time.process_time()
    ev = evaluate(model, test, ways, shots, queries, episodes, seed=0)
    add(
        "protomaml adaptation only (raw embeddings, nothing meta-trained)",
        ev.mean,
        ev.ci95,
        float(ev.accuracies[:, 0].mean()),
        0.0,
        time.process_time() - c,
    )

    for spec in methods:  # NAME or NAME:key=value:... (options of the method, e.g. anil:learn_lr=1)
        name, *opts = spec.split(":")
        kv = dict(o.split("=", 1) for o in opts)
        m = METHODS.create(name, **{k: float(v) if "." in v or "e" in v else int(v) for k, v in kv.items()})
        c = time.process_time()
        model, result = meta_train(
            ResidualAdapter(dim),
            train,
            m,
            ways=ways,
            shots=shots,
            queries=train_queries,
            tasks=tasks,
            batches=max(1, batches // 10),
            epochs=10,
            lr=lr,
            seed=0,
            progress=False,
        )
        train_s = time.process_time() - c
        c = time.process_time()
        ev = evaluate(model, test, ways, shots, queries, episodes, seed=0)
        add(
            f"{spec} (adapter meta-trained)",
            ev.mean,
            ev.ci95,
            float(ev.accuracies[:, 0].mean()),
            train_s,
            time.process_time() - c,
            options=repr(m),
            curve=[h["train_loss"] for h in result.history],
        )
    return rows
