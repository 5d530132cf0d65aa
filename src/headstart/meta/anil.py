"""``anil``: Almost No Inner Loop (Raghu et al. 2020): MAML whose inner loop adapts the head only.

The body's features of the support and query sets are computed once per task; the
inner SGD steps run on the linear head over them, and the outer loss trains the body
and the head's initialisation (second order through the head's steps by default: cheap,
since the head is small). ``zero_head``: every task's head starts at zero instead of the
meta-learnt initialisation (the "zeroing trick" of Kao et al., "MAML is a Noisy Contrastive
Learner in Classification", ICLR 2022): a learnt head start is a bias shared by every task,
whose classes are permuted per episode; from zero, the first step's head is each class's mean
support feature minus the support mean, times the inner lr.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from headstart.meta.base import MetaMethod, MetaModel, Params
from headstart.meta.registry import METHODS


@METHODS.register(order=20)
@dataclass
class ANIL(MetaMethod):
    """ANIL: the inner loop adapts the head only; the body is meta-learnt, not adapted.

    >>> ANIL().adapts
    'head'
    """

    inner_steps: int = 5
    inner_lr: float = 0.4
    test_steps: int = 10
    second_order: bool = True
    zero_head: bool = False

    name: ClassVar[str] = "anil"
    adapts: ClassVar[str] = "head"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vmap:
            from headstart.errors import HeadstartError

            raise HeadstartError(f"{self.name} adapts the head only: vmap maps whole-model inner loops")

    def head_init(self, model: MetaModel, params: Params, zs: torch.Tensor, ys: torch.Tensor, ways: int) -> Params:
        start = super().head_init(model, params, zs, ys, ways)
        if not self.zero_head:
            return start
        return {k: torch.zeros_like(v) for k, v in start.items()}
