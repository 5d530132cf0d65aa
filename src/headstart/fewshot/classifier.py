"""``FewShotClassifier``: a few labelled examples in, a classifier out, with the
scikit-learn contract: ``fit(support)`` embeds the support set with a backbone
(through the features cache) and fits a few-shot method on the embeddings;
``predict(query)`` embeds the queries and asks the method.

Example:
    >>> import headstart as hs
    >>> from headstart.fewshot import FewShotClassifier
    >>> support = hs.from_arrays(["I loved it", "Awful film"], ["pos", "neg"])    # doctest: +SKIP
    >>> FewShotClassifier("minilm").fit(support).predict(["What a great day"])    # doctest: +SKIP
    array(['pos'], dtype=object)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from headstart.errors import HeadstartError


class FewShotClassifier:
    """Few-shot classification on a backbone's embeddings.

    Args:
        backbone: ``"auto"`` (the embedded default for the data's modality), a
            spec (``"minilm"``, ``"hf:..."``, ``"local:..."``) or a Backbone
            (e.g. a Conv4 trained with :func:`train_episodic`).
        method: a few-shot method's registry name (``list_methods()``) or an
            instance with ``fit(X, y)`` / ``predict(X)`` on embeddings.
        cache: read and write the features cache.
    """

    def __init__(
        self,
        backbone: Any = "auto",
        method: Any = "protonet",
        cache: bool = True,
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        device: str | None = None,
        progress: bool | None = False,
    ) -> None:
        self.backbone = backbone
        self.method = method
        self.cache = cache
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.device = device
        self.progress = progress

    def _embed(self, data: Any) -> np.ndarray:
        from headstart.features import extract, extract_options

        if data.modality != self.modality_:
            raise HeadstartError(f"fitted on {self.modality_} inputs, {data.source} is {data.modality}")
        return extract(self.backbone_, data, **extract_options(self)).features

    def fit(self, X: Any, y: Any = None) -> FewShotClassifier:
        """Fit on the support set: a labelled Dataset, or inputs ``X`` with labels ``y``."""
        from headstart.backbones import load_backbone_for
        from headstart.data import as_dataset
        from headstart.fewshot.registry import get_method

        data = as_dataset(X, y)
        data.require_labels()
        self.modality_ = data.modality
        self.backbone_ = load_backbone_for(self.backbone, data)  # a Backbone instance comes back as it is
        self.method_ = get_method(self.method) if isinstance(self.method, str) else self.method
        self.classes_ = np.asarray(data.classes, dtype=object)
        self.method_.fit(self._embed(data), np.asarray(data.labels, dtype=object))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Labels of the queries (a Dataset, or raw inputs)."""
        from headstart.data import as_dataset

        if not hasattr(self, "method_"):
            raise HeadstartError("FewShotClassifier is not fitted: call fit(support) first")
        return np.asarray(self.method_.predict(self._embed(as_dataset(X))), dtype=object)

    def evaluate(self, data: Any) -> dict[str, Any]:
        """Accuracy, balanced accuracy, macro-F1 and per-class figures on labelled queries."""
        from headstart.data import as_dataset
        from headstart.metrics import classification_metrics

        data = as_dataset(data)
        data.require_labels(1)
        unseen = sorted(set(map(str, data.classes)) - set(map(str, self.classes_)))
        if unseen:
            raise HeadstartError(f"{data.source} has label {unseen[0]!r} that the support set lacks")
        pred = self.predict(data)
        truth = np.asarray(data.labels, dtype=object)
        return classification_metrics([str(v) for v in truth], [str(v) for v in pred], [str(c) for c in self.classes_])
