"""``maml`` (second order, Finn et al. 2017) and ``fomaml`` (its first-order approximation).

Inner loop: ``inner_steps`` SGD steps of ``inner_lr`` on the support set, every parameter
of the backbone and the head (:class:`~headstart.meta.base.MetaMethod`). Outer loss:
the query loss at the adapted parameters. Second order, its gradient runs back through
the inner steps (``create_graph=True``: Hessian-vector products); first order, it is the
query gradient at the adapted parameters, applied to the initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.meta.base import MetaMethod
from headstart.meta.registry import METHODS


@METHODS.register(order=10)
@dataclass
class MAML(MetaMethod):
    """MAML: meta-learn an initialisation, the meta-gradient through the inner SGD steps (second order).

    >>> m = MAML(inner_steps=1, inner_lr=0.4)
    >>> m.second_order, m.adapts
    (True, 'all')
    """

    inner_steps: int = 1
    inner_lr: float = 0.4
    test_steps: int = 3
    second_order: bool = True

    name: ClassVar[str] = "maml"


@METHODS.register(order=11)
@dataclass
class FOMAML(MAML):
    """First-order MAML: the query gradient at the adapted weights, applied to the initialisation.

    >>> FOMAML().second_order
    False
    """

    second_order: bool = False

    name: ClassVar[str] = "fomaml"
