"""TransferClassifier: a pretrained backbone + a head, with the scikit-learn contract.

    >>> from headstart import TransferClassifier
    >>> clf = TransferClassifier(backbone="minilm").fit(texts, labels)
    >>> clf.predict(["what a lovely film"])

``fit`` loads the backbone, extracts (or reads cached) features, and trains the
head with the chosen strategy; learned state ends in ``_``. The constructor only
stores options, so ``sklearn.base.clone`` and cross-validation work.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from headstart.backbones import load_backbone
from headstart.data import Dataset, from_arrays
from headstart.errors import HeadstartError
from headstart.features import extract
from headstart.metrics import classification_metrics
from headstart.strategies import make_strategy


def as_dataset(X: Any, y: Any = None) -> Dataset:
    if isinstance(X, Dataset):
        if y is not None:
            raise HeadstartError("pass labels inside the Dataset or as y, not both")
        return X
    return from_arrays(X, y)


class TransferClassifier(ClassifierMixin, BaseEstimator):
    """Transfer a pretrained backbone to a new classification task.

    Args:
        backbone: ``"auto"`` (the embedded default for the data's modality),
            an embedded name (``"minilm"``, ``"efficientnet-lite0"``), a source
            spec (``"hf:..."``, ``"timm:..."``, ``"torchvision:..."``,
            ``"local:..."``) or a Backbone object.
        strategy: how to transfer; ``"linear-probe"`` trains a logistic-regression
            head on frozen, cached features.
        C: inverse regularisation of the head; ``None`` chooses it on a
            validation split cut from the training rows.
        class_weight: ``None``, ``"balanced"`` or a dict class index -> weight.
        val_size: fraction of training rows held out to choose ``C``.
        pretrained: ``False`` gives the same architecture with random weights
            (the from-scratch baseline).
        seed: seeds the validation split and random initialisations.
        batch_size, device, cache, cache_dir, progress: feature extraction.
    """

    def __init__(
        self,
        backbone: Any = "auto",
        strategy: str = "linear-probe",
        C: float | None = None,
        class_weight: Any = None,
        val_size: float = 0.2,
        pretrained: bool = True,
        seed: int = 0,
        batch_size: int = 64,
        device: str | None = None,
        cache: bool = True,
        cache_dir: str | None = None,
        progress: bool | None = None,
    ) -> None:
        self.backbone = backbone
        self.strategy = strategy
        self.C = C
        self.class_weight = class_weight
        self.val_size = val_size
        self.pretrained = pretrained
        self.seed = seed
        self.batch_size = batch_size
        self.device = device
        self.cache = cache
        self.cache_dir = cache_dir
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def _load_backbone(self, data: Dataset) -> Any:
        kwargs: dict[str, Any] = {"pretrained": self.pretrained, "seed": self.seed}
        if data.modality == "tabular" and self.backbone in ("auto", "identity"):
            kwargs["feature_dim"] = int(np.asarray(data.inputs).shape[1])
        return load_backbone(self.backbone, modality=data.modality, **kwargs)

    def fit(self, X: Any, y: Any = None) -> TransferClassifier:
        data = as_dataset(X, y)
        data.require_labels()
        self.classes_ = np.asarray(data.classes, dtype=object if data.labels.dtype.kind in "OUS" else None)
        codes = self._encode(data.labels, data.source)
        self.modality_ = data.modality
        self.columns_ = dict(data.columns)
        # Refitting with the same backbone options reuses the loaded model.
        width = int(np.asarray(data.inputs).shape[1]) if data.modality == "tabular" else None
        key = (repr(self.backbone), self.pretrained, self.seed, data.modality, width)
        if getattr(self, "_backbone_key", None) != key:
            self.backbone_ = self._load_backbone(data)
            self._backbone_key = key
        strategy = make_strategy(
            self.strategy, C=self.C, class_weight=self.class_weight, val_size=self.val_size, seed=self.seed
        )
        features = self._features(data, "fit")
        start = time.perf_counter()
        strategy.fit(features, codes, len(self.classes_))
        self.timings_["head_seconds"] = time.perf_counter() - start
        self.head_ = strategy.head_
        self.C_ = strategy.C_
        self.val_scores_ = dict(strategy.val_scores_)
        self.n_features_in_ = int(features.shape[1])
        self.n_train_ = len(data)
        return self

    def _features(self, data: Dataset, stage: str) -> np.ndarray:
        ext = extract(
            self.backbone_,
            data,
            batch_size=self.batch_size,
            device=self.device,
            cache=self.cache,
            cache_dir=self.cache_dir,
            progress=self.progress,
        )
        if not hasattr(self, "timings_"):
            self.timings_ = {}
        self.timings_[f"{stage}_features_seconds"] = ext.seconds
        self.timings_[f"{stage}_features_cached"] = ext.cached
        return ext.features

    def _encode(self, labels: np.ndarray, source: str) -> np.ndarray:
        index = {self._key(c): i for i, c in enumerate(self.classes_)}
        codes = np.empty(len(labels), dtype=np.int64)
        for i, v in enumerate(labels):
            k = index.get(self._key(v))
            if k is None:
                known = ", ".join(map(str, self.classes_[:10]))
                raise HeadstartError(
                    f"row {i + 1} of {source}: label '{v}' was not seen in training (classes: {known})"
                )
            codes[i] = k
        return codes

    @staticmethod
    def _key(v: Any) -> str:
        return str(v.item() if hasattr(v, "item") else v)

    # -------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "head_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("TransferClassifier is not fitted yet: call fit first")

    def transform(self, X: Any) -> np.ndarray:
        """Backbone features ``(N, D)`` (cached like fit's)."""
        self._check_fitted()
        data = as_dataset(X)
        if data.modality == "tabular" and data.inputs.shape[1] != self.n_features_in_:
            raise HeadstartError(
                f"{data.source} has {data.inputs.shape[1]} features, the model was trained on {self.n_features_in_}"
            )
        return self._features(data, "predict")

    def decision_function(self, X: Any) -> np.ndarray:
        features = torch.from_numpy(self.transform(X))
        with torch.no_grad():
            return self.head_(features).numpy()

    def predict_proba(self, X: Any) -> np.ndarray:
        logits = torch.from_numpy(self.decision_function(X))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self.classes_[self.decision_function(X).argmax(1)]

    def evaluate(self, X: Any, y: Any = None) -> dict[str, Any]:
        """Accuracy, balanced accuracy, macro-F1, per-class table, confusion matrix."""
        data = as_dataset(X, y)
        if data.labels is None:
            raise HeadstartError(f"{data.source} has no labels to evaluate against")
        self._encode(data.labels, data.source)  # clear error for unseen labels
        pred = self.predict(data)
        keys = [self._key(c) for c in self.classes_]
        return classification_metrics([self._key(v) for v in data.labels], [self._key(v) for v in pred], keys)

    # ------------------------------------------------------------ persist
    def save(self, folder: str | Path, **extra: Any) -> Path:
        from headstart.run import save_run

        self._check_fitted()
        return save_run(self, folder, **extra)

    @classmethod
    def load(cls, folder: str | Path) -> TransferClassifier:
        from headstart.run import load_run

        return load_run(folder)
