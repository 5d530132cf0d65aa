"""Self-distillation: a student of the teacher's own architecture (born-again networks).

Furlanello et al., "Born-Again Neural Networks", ICML 2018
(https://arxiv.org/abs/1805.04770).

The student has the teacher's architecture and starts again from where the
teacher started (its pretrained weights, not its fine-tuned ones); it learns
from the teacher's predictions, which carry "dark knowledge" (how similar the
classes look to the teacher) that one-hot labels lack. Born-again students
often match or beat their teachers. The loss is the logit term at ``T = 1``
with the labels weighted by ``1 - alpha``::

    L = (1 - alpha) * CE(z_s, y)  +  alpha * T^2 * KL( softmax(z_t / T) || softmax(z_s / T) )

Furlanello et al. train on the teacher's outputs alone (``alpha = 1``).

    >>> from headstart.distill import SelfDistill
    >>> SelfDistill().default_student
    'self'
"""

from __future__ import annotations

from typing import ClassVar

from headstart.distill.logits import LogitKD
from headstart.distill.registry import METHODS


@METHODS.register(order=30)
class SelfDistill(LogitKD):
    """Born-again distillation (``--method self``); the student defaults to ``self``.

    Args:
        temperature: ``T`` (1 in the paper).
        alpha: weight of the teacher's term (1 in the paper: no hard labels).

    >>> SelfDistill().options()  # the paper's: no hard labels
    {'temperature': 1.0, 'alpha': 1.0}
    """

    name: ClassVar[str] = "self"
    default_student: ClassVar[str | None] = "self"

    def __init__(self, temperature: float = 1.0, alpha: float = 1.0) -> None:
        super().__init__(temperature, alpha)
