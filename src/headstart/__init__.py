"""headstart: transfer learning with evidence.

Take a pretrained model, make it good at your task, and show that transfer beat
training from scratch.

    >>> import headstart as hs
    >>> data = hs.load("reviews.csv")                  # text / images / table
    >>> train, test = data.train_test_split(0.2, seed=0)
    >>> clf = hs.TransferClassifier(backbone="auto").fit(train)
    >>> clf.evaluate(test)["accuracy"]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from headstart.errors import HeadstartError

if TYPE_CHECKING:
    from headstart.backbones import Backbone, list_embedded, list_sources, load_backbone
    from headstart.classifier import TransferClassifier, load_run
    from headstart.data import Dataset, from_arrays, load
    from headstart.features import extract, extract_features
    from headstart.fewshot import FewShotClassifier
    from headstart.metrics import classification_metrics
    from headstart.pipeline import auto
    from headstart.strategies import list_strategies

# The public names, imported on first use (PEP 562): `import headstart.runtime`
# must work where torch is not installed, and everything below imports torch.
_LAZY = {
    "Backbone": "headstart.backbones",
    "list_embedded": "headstart.backbones",
    "list_sources": "headstart.backbones",
    "load_backbone": "headstart.backbones",
    "TransferClassifier": "headstart.classifier",
    "auto": "headstart.pipeline",
    "Dataset": "headstart.data",
    "from_arrays": "headstart.data",
    "load": "headstart.data",
    "extract": "headstart.features",
    "extract_features": "headstart.features",
    "FewShotClassifier": "headstart.fewshot",
    "classification_metrics": "headstart.metrics",
    "load_run": "headstart.classifier",
    "list_strategies": "headstart.strategies",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'headstart' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "Backbone",
    "Dataset",
    "FewShotClassifier",
    "HeadstartError",
    "TransferClassifier",
    "__version__",
    "auto",
    "classification_metrics",
    "extract",
    "extract_features",
    "from_arrays",
    "list_embedded",
    "list_sources",
    "list_strategies",
    "load",
    "load_backbone",
    "load_run",
]
