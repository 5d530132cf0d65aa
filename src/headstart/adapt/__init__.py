"""Domain adaptation building blocks (one loss or layer per file).

- ``grl``: the gradient reversal layer (Ganin & Lempitsky 2015), shared by
  DANN-style domain adaptation and adversarial debiasing
  (``headstart.fairness.adversarial``).
"""

from __future__ import annotations

from headstart.adapt.grl import GradientReversal, ReverseGradient, dann_schedule, reverse_gradient

__all__ = ["GradientReversal", "ReverseGradient", "dann_schedule", "reverse_gradient"]
