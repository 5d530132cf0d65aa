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
from headstart.data import Dataset, from_arrays, stratified_split
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
            head on frozen, cached features; ``"head"``, ``"partial"``,
            ``"full"``, ``"gradual"``, ``"discriminative"``, ``"l2sp"``,
            ``"lora"`` and ``"auto"`` fine-tune through ``headstart.train``.
        strategy_options: options of a fine-tuning strategy (``{"k": 2}`` for
            ``partial``, ``{"lr_decay": 0.8}``, ``{"r": 8}`` for ``lora`` ...).
        epochs, lr, train_batch_size, max_length, patience, precision,
            num_workers: the training loop's options (see ``headstart.train.TrainConfig``).
        tta: images: score each image and its mirror image and average
            (test-time augmentation; the probe is fitted on the averaged
            features too).
        head_init: ``"probe"`` starts fine-tuning from the linear probe's head
            (LP-FT), ``"random"`` from a random one.
        C: inverse regularisation of the probe's head (also the head that
            fine-tuning starts from); ``None`` chooses it on a validation split
            cut from the training rows.
        class_weight: ``None``, ``"balanced"`` or a dict class index -> weight.
        val_size: fraction of training rows held out to choose ``C`` (linear
            probe, single split) or the best epoch (fine-tuning).
        pretrained: ``False`` gives the same architecture with random weights
            (the from-scratch baseline).
        seed: seeds the validation split and random initialisations.
        batch_size, device, cache, cache_dir, progress: feature extraction.
    """

    def __init__(
        self,
        backbone: Any = "auto",
        strategy: str = "auto",
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
        strategy_options: dict[str, Any] | None = None,
        epochs: int = 3,
        lr: float = 1e-4,
        train_batch_size: int = 32,
        max_length: int | None = None,
        patience: int = 0,
        precision: str = "auto",
        head_init: str = "probe",
        num_workers: int | None = None,
        tta: bool = False,
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
        self.strategy_options = strategy_options
        self.epochs = epochs
        self.lr = lr
        self.train_batch_size = train_batch_size
        self.max_length = max_length
        self.patience = patience
        self.precision = precision
        self.head_init = head_init
        self.num_workers = num_workers
        self.tta = tta

    # ------------------------------------------------------------------ fit
    def _load_backbone(self, data: Dataset) -> Any:
        kwargs: dict[str, Any] = {"pretrained": self.pretrained, "seed": self.seed}
        if data.modality == "tabular" and self.backbone in ("auto", "identity"):
            kwargs["feature_dim"] = int(np.asarray(data.inputs).shape[1])
        return load_backbone(self.backbone, modality=data.modality, **kwargs)

    def fit(self, X: Any, y: Any = None, run_dir: str | Path | None = None, resume: bool = False) -> TransferClassifier:
        """Fit on labelled data. ``run_dir`` receives the fine-tuning checkpoints
        and history; ``resume=True`` continues a killed run from its last one."""
        data = as_dataset(X, y)
        data.require_labels()
        self.classes_ = np.asarray(data.classes, dtype=object if data.labels.dtype.kind in "OUS" else None)
        codes = self._encode(data.labels, data.source)
        self.modality_ = data.modality
        self.columns_ = dict(data.columns)
        strategy = self._make_strategy(data)
        # Refitting with the same backbone options reuses the loaded model, unless
        # the last fit changed its weights (fine-tuning).
        width = int(np.asarray(data.inputs).shape[1]) if data.modality == "tabular" else None
        key = (repr(self.backbone), self.pretrained, self.seed, data.modality, width)
        if getattr(self, "_backbone_key", None) != key or getattr(self, "fine_tuned_", False):
            self.backbone_ = self._load_backbone(data)
            self._backbone_key = key
        self.n_train_ = len(data)
        self.fine_tuned_ = False
        if not strategy.uses_cached_features:
            return self._fine_tune(data, codes, strategy, run_dir, resume)
        features = self._features(data, "fit")
        start = time.perf_counter()
        strategy.fit(features, codes, len(self.classes_))
        self.timings_["head_seconds"] = time.perf_counter() - start
        self.head_ = strategy.head_
        self.C_ = strategy.C_
        self.val_scores_ = dict(strategy.val_scores_)
        self.n_features_in_ = int(features.shape[1])
        return self

    def _make_strategy(self, data: Dataset) -> Any:
        probe = {"C": self.C, "class_weight": self.class_weight, "val_size": self.val_size, "seed": self.seed}
        if self.strategy == "linear-probe":
            return make_strategy("linear-probe", **probe)
        strategy = make_strategy(self.strategy, **(self.strategy_options or {}))  # unknown names fail here
        if data.modality == "tabular":
            if self.strategy == "auto":  # no backbone to fine-tune: auto means the probe
                return make_strategy("linear-probe", **probe)
            raise HeadstartError(f"strategy '{self.strategy}' fine-tunes a backbone; tabular data has none")
        return strategy

    def _fine_tune(
        self, data: Dataset, codes: np.ndarray, strategy: Any, run_dir: str | Path | None, resume: bool
    ) -> TransferClassifier:
        from headstart.train import TrainConfig, TransferModel, train
        from headstart.train.data import Rows

        config = TrainConfig(
            epochs=self.epochs,
            lr=self.lr,
            batch_size=self.train_batch_size,
            max_length=self.max_length,
            patience=self.patience,
            precision=self.precision,
            seed=self.seed,
            # LP-FT: a head that starts from the probe's solution moves at the backbone's pace.
            head_lr_factor=1.0 if self.head_init == "probe" else 10.0,
            num_workers=self.num_workers,
        )
        counts = np.bincount(codes, minlength=len(self.classes_))
        if self.val_size and counts.min() >= 2 and len(data) >= 10:
            tr_idx, va_idx = stratified_split(data.labels, self.val_size, self.seed)  # = data.train_test_split
            tr, va, tr_codes, va_codes = data.subset(tr_idx), data.subset(va_idx), codes[tr_idx], codes[va_idx]
        else:
            tr, va, tr_codes, va_codes = data, None, codes, None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = TransferModel(self.backbone_, len(self.classes_))
        if self.head_init == "probe" and not resume:
            # LP-FT (Kumar et al. 2022): start from the linear probe's head, so the
            # backbone is not first pushed around by a random head's gradients.
            probe = make_strategy("linear-probe", C=self.C, class_weight=self.class_weight, seed=self.seed)
            probe.fit(self._features(tr, "probe"), tr_codes, len(self.classes_))
            with torch.no_grad():
                model.head.weight.copy_(probe.head_.weight)
                model.head.bias.copy_(probe.head_.bias)
        train_rows = Rows(
            tr, self.backbone_, tr_codes, train=True, augment=config.augment, max_length=config.max_length
        )
        val_rows = None
        if va is not None:
            val_rows = Rows(va, self.backbone_, va_codes, train=False, augment=False, max_length=config.max_length)
        identity = {
            "backbone": self.backbone_.spec,
            "strategy": f"{self.strategy} {self.strategy_options or {}}",
            "data": data.fingerprint(),
            "pretrained": self.pretrained,
        }
        result = train(model, strategy, train_rows, val_rows, config, run_dir, resume, identity, self.progress)
        # Back to the CPU: the head scores features that extract() returns as
        # numpy arrays, and extract() moves the backbone to its device itself.
        model.cpu().eval()
        self.backbone_ = model.backbone.eval()
        self.head_ = model.head.requires_grad_(False)
        self.backbone_.requires_grad_(False)
        self.fine_tuned_ = strategy.name != "head"
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.C_ = None
        self.val_scores_ = {}
        self.n_features_in_ = int(self.backbone_.feature_dim)
        self.timings_ = {**getattr(self, "timings_", {}), "train_seconds": result.seconds}
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
            tta=self.tta and data.modality == "image",
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
