"""``protomaml`` (Triantafillou et al. 2020): the head starts from the support set's prototypes.

A prototypical network is a linear classifier on the embeddings: class ``k``'s logit
``-||z - c_k||^2`` is, up to a term common to all classes, ``2 c_k . z - ||c_k||^2``. ProtoMAML
starts the head there (weight ``2 c_k``, bias ``-||c_k||^2``, with gradient into the body
through the prototypes), then takes ``inner_steps`` SGD steps on the support set. Here the
inner loop adapts the head (as ANIL); the body learns in the outer loop. Any number of
ways works at test time: nothing of the head is learnt for a fixed class count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from headstart.meta.anil import ANIL
from headstart.meta.base import MetaModel, Params
from headstart.meta.registry import METHODS


def prototype_head(zs: torch.Tensor, ys: torch.Tensor, ways: int) -> Params:
    """The linear head equal to the prototypical classifier of support embeddings ``zs``."""
    onehot = torch.nn.functional.one_hot(ys, ways).to(zs.dtype)
    protos = (onehot.T @ zs) / onehot.sum(0)[:, None]
    return {"head.linear.weight": 2 * protos, "head.linear.bias": -(protos**2).sum(1)}


@METHODS.register(order=30)
@dataclass
class ProtoMAML(ANIL):
    """ProtoMAML: the head initialised from the prototypes, then adapted by SGD on the support set.

    >>> import torch
    >>> head = prototype_head(torch.tensor([[0.0, 1.0], [2.0, 0.0]]), torch.tensor([0, 1]), 2)
    >>> head["head.linear.bias"].tolist()
    [-1.0, -4.0]
    """

    inner_steps: int = 5
    inner_lr: float = 0.1
    test_steps: int = 10
    second_order: bool = False

    name: ClassVar[str] = "protomaml"
    any_ways: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.zero_head:
            from headstart.errors import HeadstartError

            raise HeadstartError(f"{self.name} starts every head from the prototypes: zero_head is anil's option")

    def head_init(self, model: MetaModel, params: Params, zs: torch.Tensor, ys: torch.Tensor, ways: int) -> Params:
        return prototype_head(zs, ys, ways)
