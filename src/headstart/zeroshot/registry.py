"""The zero-shot methods by name: ``headstart zeroshot --method NAME`` takes these keys.

A method file registers its class with ``@METHODS.register("name", inputs=...)``;
the registry finds every file of this package itself. Metadata the command reads:

- ``inputs``: ``"text"`` or ``"image"`` (``fit(labels, descriptions)``, then
  ``predict`` on the inputs), or ``"attributes"`` (``fit(features, labels,
  attributes)`` on labelled rows of the seen classes, then ``predict(features,
  classes)``: a class x attribute matrix describes the unseen classes);
- ``summary``: how the command names the model, formatted with its options;
- ``example_options``: the least a method needs to be built (``clip``: a model).
"""

from __future__ import annotations

from headstart.registry import Registry

METHODS = Registry("zero-shot method", "headstart.zeroshot")
