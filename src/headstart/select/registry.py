"""The transferability scores by name: ``transferability(name, ...)`` and
``headstart rank --scores`` take these keys.

A score file registers its function ``f(inputs, labels) -> float`` with
``@SCORES.register("name", inputs=...)``, ``inputs`` being ``"features"`` (a
backbone's features, N x D) or ``"source_probs"`` (the source model's class
probabilities, N x Z); the registry finds every file of this package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

SCORES = Registry("transferability score", "headstart.select", factory=False)
