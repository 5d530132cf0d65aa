"""``reptile`` (Nichol et al. 2018): move the initialisation towards each task's adapted weights.

Inner loop: ``inner_steps`` plain SGD steps on the support set from the current weights
``theta`` (first order, no graph kept). Outer update: ``theta <- theta + eps (phi - theta)``,
averaged over the meta-batch. That is an interpolation, not a gradient; it runs through
the one loop as a *pseudo-gradient*: the loss ``1/2 ||theta - sg(phi)||^2`` has gradient
``theta - phi``, and the outer optimiser is plain SGD (the loop's ``optimizer_fn`` hook)
with learning rate ``eps`` (``--lr``, warm-up + cosine schedule as every run). The loss the
loop records is the query loss after adaptation (the pseudo-loss adds zero to its value).

Reptile has no query loss to learn from, so by default (``train_on_query``) its inner loop
during meta-training runs on the whole task, support and query rows together, as Nichol et
al. train on more examples per class than the test-time shots (``--train-shots 10`` for
Omniglot 1-shot); the recorded loss is then the fit on those rows. Adapting on the support
rows alone (``train_on_query=False``) leaves one drawing per class per 1-shot task to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from headstart.errors import HeadstartError
from headstart.meta.base import MetaMethod, MetaModel, sgd_steps
from headstart.meta.registry import METHODS


@METHODS.register(order=40)
@dataclass
class Reptile(MetaMethod):
    """Reptile: the outer step moves the initialisation towards the weights adapted to each task.

    >>> r = Reptile(inner_steps=5)
    >>> type(r.optimizer([{"params": [torch.zeros(1, requires_grad=True)]}], lr=1.0)).__name__
    'SGD'
    """

    inner_steps: int = 5
    inner_lr: float = 0.1
    test_steps: int = 10
    train_on_query: bool = True

    name: ClassVar[str] = "reptile"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.second_order or self.learn_lr or self.vmap:
            raise HeadstartError("reptile is first order by definition: second_order, learn_lr and vmap do not apply")

    def optimizer(self, groups: list[dict[str, Any]], lr: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(groups, lr=lr)

    def task_loss(self, model: MetaModel, xs: Any, ys: Any, xq: Any, yq: Any) -> tuple[torch.Tensor, torch.Tensor]:
        theta = model.params()
        start = {k: v.detach().requires_grad_() for k, v in theta.items()}
        lrs = model.inner_lrs(list(theta))
        if self.train_on_query:
            xs, ys = torch.cat([xs, xq]), torch.cat([ys, yq])
        (phi,) = sgd_steps(
            lambda p: F.cross_entropy(model.call(p, xs, "logits"), ys), start, lrs, self.inner_steps, False
        )
        pseudo = sum(0.5 * (theta[k] - phi[k].detach()).pow(2).sum() for k in theta)
        with torch.no_grad():
            logits = model.call(phi, xq, "logits")
            query = F.cross_entropy(logits, yq)
        return pseudo - pseudo.detach() + query, (logits.argmax(1) == yq).float().mean()
