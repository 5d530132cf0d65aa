"""``protonet``: the prototypical network (Snell et al. 2017), the metric baseline of ``meta-train``.

The same episodic objective as :func:`headstart.fewshot.train_episodic` (the cross-entropy
of ``softmax(-||q - c_k||^2)``, as :class:`~headstart.fewshot.episodic.PrototypicalLoss`),
trained by ``headstart meta-train`` over meta-batches of episodes; nothing adapts at test
time (no inner steps), the query is
classified by its nearest prototype. Batch norm keeps its running statistics, as there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from headstart.meta.base import MetaMethod, MetaModel
from headstart.meta.registry import METHODS


@METHODS.register(order=50)
@dataclass
class ProtoNetMeta(MetaMethod):
    """ProtoNet: queries take the class of the nearest support-set prototype; no inner loop.

    >>> ProtoNetMeta().test_steps
    0
    """

    inner_steps: int = 0
    test_steps: int = 0

    name: ClassVar[str] = "protonet"
    batch_stats: ClassVar[bool] = False
    any_ways: ClassVar[bool] = True

    def logits(self, model: MetaModel, xs: Any, ys: torch.Tensor, xq: Any) -> torch.Tensor:
        """``-||z_q - c_k||^2``: the prototypical loss's logits (Snell et al. 2017, eq. 2)."""
        zs, zq = model(xs, part="features"), model(xq, part="features")
        onehot = torch.nn.functional.one_hot(ys, int(ys.max()) + 1).to(zs.dtype)
        protos = (onehot.T @ zs) / onehot.sum(0)[:, None]
        return -torch.cdist(zq, protos).pow(2)

    def task_loss(self, model: MetaModel, xs: Any, ys: Any, xq: Any, yq: Any) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.logits(model, xs, ys, xq)
        return F.cross_entropy(logits, yq), (logits.argmax(1) == yq).float().mean().detach()

    def predict(self, model: MetaModel, xs: Any, ys: Any, xq: Any, steps: int | None = None) -> torch.Tensor:
        with torch.no_grad():
            return self.logits(model, xs, ys, xq)

    def trace(self, model: MetaModel, xs: Any, ys: Any, xq: Any, yq: Any, steps: int) -> list[float]:
        with torch.no_grad():
            return [float((self.logits(model, xs, ys, xq).argmax(1) == yq).float().mean())] * (steps + 1)
