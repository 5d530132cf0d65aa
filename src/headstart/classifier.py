"""TransferClassifier: a pretrained backbone + a head, with the scikit-learn contract.

    >>> from headstart import TransferClassifier
    >>> clf = TransferClassifier(backbone="minilm").fit(texts, labels)
    >>> clf.predict(["what a lovely film"])

``fit`` loads the backbone, extracts (or reads cached) features, and trains the
head with the chosen strategy; learned state ends in ``_``. The constructor only
stores options, so ``sklearn.base.clone`` and cross-validation work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from headstart import fitting
from headstart.backbones import load_backbone, load_backbone_for
from headstart.data import Dataset, as_dataset, encode_labels, label_key
from headstart.data.targets import as_task
from headstart.errors import HeadstartError
from headstart.fairness import plan as fairness_plan
from headstart.features import extract, extract_options
from headstart.imbalance import plan as imbalance_plan
from headstart.metrics import classification_metrics
from headstart.options import parameter_constraints, validate_params
from headstart.runfolder import RunState, check_head_fits, checked_params, read_run, write_run


class TransferClassifier(ClassifierMixin, BaseEstimator):
    """Transfer a pretrained backbone to a new classification, regression or multi-label task.

    Args:
        backbone: ``"auto"`` (the embedded default for the data's modality),
            an embedded name (``"minilm"``, ``"efficientnet-lite0"``), a source
            spec (``"hf:..."``, ``"timm:..."``, ``"torchvision:..."``,
            ``"local:..."``) or a Backbone object.
        strategy: how to transfer: a key of ``headstart.strategies.list_strategies()``;
            ``"linear-probe"`` trains a logistic-regression head on frozen, cached
            features, the others fine-tune through ``headstart.train``.
        strategy_options: that strategy's options (``{"k": 2}`` for ``partial``,
            ``{"lr_decay": 0.8}``, ``{"r": 8}`` for ``lora`` ...).
        epochs, lr, train_batch_size, max_length, patience, precision,
            num_workers: the training loop's options (see ``headstart.train.TrainConfig``);
            ``None`` (the default for the first four): the recipe's choice from the training
            rows (:mod:`headstart.recipe`), recorded in the run folder.
        tta: images: score each image and its mirror image and average.
        imbalance, imbalance_options: ``None`` (plain training) or a key of
            ``headstart.imbalance.list_methods()`` and its options (``{"gamma": 1.0}``);
            what was done is in ``imbalance_``.
        debias, debias_options: ``None`` or a key of ``headstart.fairness.list_methods()``
            (fine-tuning; the rows need a group: ``Dataset.group``, ``--group-col``) and
            its options; what was done is in ``fairness_``, the training groups in ``groups_``.
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
        task: ``"auto"`` (detected from the labels: :mod:`headstart.data.targets`),
            ``"classification"``, ``"regression"`` (``predict`` gives numbers) or
            ``"multilabel"`` (``predict`` gives a 0/1 matrix, one column per label in
            ``classes_``); what it was is in ``task_``.
        task_options: regression ``{"loss": "huber", "delta": 1.0}``; multi-label
            ``{"pos_weight": "balanced", "threshold": 0.5}`` (see :mod:`headstart.fit_targets`).
        batch_norm: fine-tuning's batch-norm statistics: ``"auto"`` keeps a pretrained backbone's
            and estimates a random one's (:func:`headstart.train.model.has_data_statistics`),
            ``"freeze"`` keeps them, ``"update"`` re-estimates them on the training batches (a
            source of another domain: on ArrowHead a time-series encoder pre-trained on other UCR
            sets, docs/BENCHMARKS.md).
    """

    def __init__(
        self,
        backbone: Any = "auto",
        strategy: str = "auto",
        C: float | None = None,
        class_weight: Any = None,
        val_size: float = 0.1,
        pretrained: bool = True,
        seed: int = 0,
        batch_size: int = 64,
        device: str | None = None,
        cache: bool = True,
        cache_dir: str | None = None,
        progress: bool | None = None,
        strategy_options: dict[str, Any] | None = None,
        epochs: int | None = None,
        lr: float | None = None,
        train_batch_size: int | None = None,
        max_length: int | None = None,
        patience: int = 0,
        precision: str = "auto",
        head_init: str = "probe",
        num_workers: int | None = None,
        tta: bool = False,
        imbalance: str | None = None,
        imbalance_options: dict[str, Any] | None = None,
        debias: str | None = None,
        debias_options: dict[str, Any] | None = None,
        task: str = "auto",
        task_options: dict[str, Any] | None = None,
        batch_norm: str = "auto",
    ) -> None:
        # scikit-learn's contract: each option stored under its own name, untouched (clone, get_params).
        vars(self).update({k: v for k, v in locals().items() if k != "self"})

    # The declared constraints (headstart.options) of the options shared with the command line.
    _parameter_constraints = parameter_constraints(__init__)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, run_dir: str | Path | None = None, resume: bool = False) -> TransferClassifier:
        """Fit on labelled data. ``run_dir`` receives the fine-tuning checkpoints
        and history; ``resume=True`` continues a killed run from its last one."""
        validate_params(self._parameter_constraints, self.get_params(deep=False))
        data = as_task(as_dataset(X, y), self.task)
        data.require_labels()
        if data.task != "classification":
            return self._fit_targets(data, run_dir, resume)
        if self.task_options:
            raise HeadstartError(
                f"task options {sorted(self.task_options)} are for regression or multilabel tasks; "
                f"the labels of {data.source} are classes"
            )
        self.classes_ = np.asarray(data.classes, dtype=object if data.labels.dtype.kind in "OUS" else None)
        codes = self._encode(data.labels, data.source)
        n_classes, names = len(self.classes_), [label_key(c) for c in self.classes_]
        counts = np.bincount(codes, minlength=n_classes)
        params = self.get_params()
        strategy = fitting.choose_strategy(params, data)
        fine_tuning = not strategy.uses_cached_features
        method = imbalance_plan.prepare(
            self.imbalance, self.imbalance_options, self.class_weight, counts, names, fine_tuning
        )
        mitigation = fairness_plan.prepare(self.debias, self.debias_options, data, strategy)
        self._load_backbone(data)
        state = fitting.new_state(data, self.classes_, counts)
        check = fine_tuning and method is None and mitigation is None
        params, recipe = self._recipe(params, data, check)
        if fine_tuning:
            train = (data, codes, names, params, strategy, method, mitigation, self._features, run_dir, resume)
            state.extras["recipe"] = recipe.to_dict()
            checks = {"probe_check": recipe.probe_check, "refit": recipe.refit}
            backbone, head = fitting.fine_tune(state, self.backbone_, *train, **checks)
        else:  # the linear probe on cached features, or the attentive probe on cached token features
            cached = (data, codes, names, params, strategy, method, self._features, self.timings_)
            backbone, head = fitting.fit_cached(state, self.backbone_, *cached)
        if fitting.kept_probe(state):  # training did not beat the probe: the probe on every row
            state, strategy = fitting.probe_instead(state, data, params)
            cached = (data, codes, names, params, strategy, None, self._features, self.timings_)
            backbone, head = fitting.fit_cached(state, self.backbone_, *cached)
        state.timings = {**self.timings_, **state.timings}
        self._adopt(state, backbone, head)
        return self

    def _recipe(self, params: dict[str, Any], data: Dataset, check: bool) -> tuple[dict[str, Any], Any]:
        """The options left at ``None`` filled by :mod:`headstart.recipe` (the loop says them with the
        strategy); ``check``: the fine-tuning may fall back to the probe (``strategy="auto"``, no imbalance
        or debiasing method)."""
        from headstart import recipe as rules

        recipe = rules.choose(params, data, self.backbone_)
        # The check needs validation rows, and a learned pooling has no probe to start from.
        usable = check and bool(params.get("val_size")) and not fitting.learned_pooling(self.backbone_)
        recipe.probe_check = recipe.probe_check and usable
        recipe.refit = recipe.refit and recipe.probe_check
        if recipe.probe_check:
            recipe.reasons.append("falls back to the linear probe if its first epoch does not beat it on validation")
        if recipe.refit:
            recipe.reasons.append(
                f"then refits on all {len(data)} rows for the best epoch's count (under {rules.REFIT_ROWS} rows)"
            )
        return rules.filled(params, recipe), recipe

    def _load_backbone(self, data: Dataset) -> None:
        """Refitting with the same backbone options reuses the loaded model, unless
        the last fit changed its weights (fine-tuning)."""
        width = int(np.asarray(data.inputs).shape[1]) if data.modality == "tabular" else None
        key = (repr(self.backbone), self.pretrained, self.seed, data.modality, width)
        if getattr(self, "_backbone_key", None) != key or getattr(self, "fine_tuned_", False):
            self.backbone_ = load_backbone_for(self.backbone, data, pretrained=self.pretrained, seed=self.seed)
            self._backbone_key = key
        self.fine_tuned_ = False
        self.timings_ = getattr(self, "timings_", {})

    def _fit_targets(self, data: Dataset, run_dir: str | Path | None, resume: bool) -> TransferClassifier:
        """``fit`` for regression and multi-label targets (:mod:`headstart.fit_targets`)."""
        from headstart import fit_targets

        params = self.get_params()
        fit_targets.check_supported(params, data.task)
        fit_targets.task_options(data.task, self.task_options)
        fit_targets.check_labels(data)
        strategy = fitting.choose_strategy(params, data)
        if strategy.uses_tokens:
            raise HeadstartError(
                f"strategy 'attentive-probe' trains a class head; the task is {data.task}: "
                f"use --strategy linear-probe or a fine-tuning strategy"
            )
        self._load_backbone(data)
        params, recipe = self._recipe(params, data, False)
        state = fitting.new_state(data, data.classes, np.asarray(list(data.class_counts().values())))
        state.task = data.task
        if strategy.uses_cached_features:
            head = fit_targets.fit_probe(state, params, data, self._features, self.backbone_)
            backbone = self.backbone_
        else:
            state.extras["recipe"] = recipe.to_dict()
            train = (params, strategy, self._features, run_dir, resume)
            backbone, head = fit_targets.fine_tune(state, self.backbone_, data, *train)
        state.timings = {**self.timings_, **state.timings}
        self._adopt(state, backbone, head)
        return self

    def _features(self, backbone: Any, data: Dataset, stage: str) -> np.ndarray:
        ext = extract(backbone, data, **extract_options(self), tta=self.tta and data.modality == "image")
        self.timings_[f"{stage}_features_seconds"] = ext.seconds
        self.timings_[f"{stage}_features_cached"] = ext.cached
        return ext.features

    def _encode(self, labels: np.ndarray, source: str) -> np.ndarray:
        return encode_labels(labels, self.classes_, source)

    # -------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "head_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("TransferClassifier is not fitted yet: call fit first")

    def transform(self, X: Any) -> np.ndarray:
        """Backbone features ``(N, D)`` (cached like fit's)."""
        self._check_fitted()
        data = as_dataset(X)
        width = self.backbone_.input_width
        if data.modality == "tabular" and width is not None and data.inputs.shape[1] != width:
            raise HeadstartError(f"{data.source} has {data.inputs.shape[1]} features, the model was trained on {width}")
        return self._features(self.backbone_, data, "predict")

    def decision_function(self, X: Any) -> np.ndarray:
        features = torch.from_numpy(self.transform(X))
        with torch.no_grad():
            return self.head_(features).numpy()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, K)`` (softmax); multi-label: each label's probability ``(N, L)``
        (sigmoid); a regression model has none (one line)."""
        self._check_fitted()
        if self.task_ == "regression":
            raise HeadstartError("a regression model predicts numbers, not probabilities: use predict")
        logits = torch.from_numpy(self.decision_function(X))
        if self.task_ == "multilabel":
            return torch.sigmoid(logits).numpy()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Classes ``(N,)``; regression: numbers ``(N,)``; multi-label: a 0/1 matrix ``(N, L)``
        (each label's probability at or above its threshold)."""
        self._check_fitted()
        if self.task_ == "regression":
            return self.decision_function(X)[:, 0].astype(np.float64)
        if self.task_ == "multilabel":
            return (self.predict_proba(X) >= np.asarray(self.targets_["thresholds"])).astype(np.int64)
        return self.classes_[self.decision_function(X).argmax(1)]

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Accuracy; regression: R^2; multi-label: subset accuracy (every label right)."""
        data = as_task(as_dataset(X, y), self.task_, self._label_names())
        pred = self.predict(data)
        if self.task_ == "regression":
            from sklearn.metrics import r2_score

            return float(r2_score(data.labels, pred, sample_weight=sample_weight))
        if self.task_ == "multilabel":
            return float(np.average((pred == data.labels).all(1), weights=sample_weight))
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(data.labels, pred, sample_weight=sample_weight))

    def _label_names(self) -> list[str] | None:
        return [str(c) for c in self.classes_] if getattr(self, "task_", None) == "multilabel" else None

    def evaluate(self, X: Any, y: Any = None, resamples: int = 1000) -> dict[str, Any]:
        """Accuracy, balanced accuracy, macro-F1, per-class table, confusion matrix; regression: MAE,
        RMSE, R^2, Spearman; multi-label: micro/macro-F1, subset accuracy, mAP, per-label table (those
        two with 95% bootstrap intervals over the rows, ``resamples`` replicates)."""
        self._check_fitted()
        data = as_task(as_dataset(X, y), self.task_, self._label_names())
        if data.labels is None:
            raise HeadstartError(f"{data.source} has no labels to evaluate against")
        if self.task_ != "classification":
            return self._evaluate_targets(data, resamples)
        self._encode(data.labels, data.source)  # clear error for unseen labels
        self._check_fitted()
        logits = self.decision_function(data)
        pred = self.classes_[logits.argmax(1)]
        keys = [label_key(c) for c in self.classes_]
        scores, positive = None, None
        if len(keys) == 2:  # PR-AUC of the rarer training class
            counts = getattr(self, "class_counts_", None)
            k = int(np.argmin(counts)) if counts is not None and len(counts) == 2 else 1
            scores, positive = torch.softmax(torch.from_numpy(logits), 1)[:, k].numpy(), keys[k]
        truth = [label_key(v) for v in data.labels]
        return classification_metrics(truth, [label_key(v) for v in pred], keys, scores, positive)

    def _evaluate_targets(self, data: Dataset, resamples: int) -> dict[str, Any]:
        from headstart.metrics import multilabel_metrics, regression_metrics

        if self.task_ == "regression":
            return regression_metrics(data.labels, self.predict(data), resamples, name=str(self.classes_[0]))
        scores = self.predict_proba(data)
        pred = (scores >= np.asarray(self.targets_["thresholds"])).astype(np.int64)
        names = [str(c) for c in self.classes_]
        return multilabel_metrics(data.labels, pred, scores, names, self.targets_["thresholds"], resamples)

    @classmethod
    def from_trained(
        cls,
        backbone: Any,
        head: torch.nn.Module,
        classes: Any,
        data: Dataset,
        *,
        history: list[dict[str, Any]],
        best_epoch: int | None,
        seconds: float,
        columns: dict[str, Any] | None = None,
        extras: dict[str, Any] | None = None,
        task: str = "classification",
        targets: dict[str, Any] | None = None,
        **params: Any,
    ) -> TransferClassifier:
        """A fitted classifier around a ``backbone`` and ``head`` trained outside :meth:`fit`
        (distillation, domain adaptation), so that it predicts, evaluates, saves and loads
        like a ``fit`` run: ``headstart predict`` / ``export`` read its run folder.

        ``classes`` are the head's outputs in order; ``data`` is the labelled training
        data (its modality, input columns and class counts are recorded; ``columns``
        stands in when it has none); ``extras`` is what the family adds to the run
        folder (``{"distill": {...}}``); ``task`` and ``targets`` are a regression or
        multi-label head's (``data`` in that task's form; ``targets`` as ``fit`` records
        them: a regression's mean and SD, the thresholds); ``params`` are the constructor's."""
        clf = cls(backbone=backbone.spec, **({"task": task} if task != "classification" else {}), **params)
        values = list(classes)
        clf.classes_ = np.asarray(values, dtype=object if any(isinstance(v, str) for v in values) else None)
        if task == "classification":
            counts = np.bincount(clf._encode(data.labels, data.source), minlength=len(values))
        else:
            counts = np.asarray(list(data.class_counts().values()))
        state = fitting.new_state(data, values, counts)
        state.task, state.targets = task, dict(targets or {})
        state.columns = state.columns or dict(columns or {})
        state.n_features, state.history, state.best_epoch = int(backbone.feature_dim), history, best_epoch
        state.timings, state.fine_tuned, state.extras = {"train_seconds": seconds}, True, dict(extras or {})
        clf._adopt(state, backbone.eval().requires_grad_(False), head)
        clf._backbone_key = None
        return clf

    def _adopt(self, state: RunState, backbone: Any, head: torch.nn.Module) -> None:
        """Set the fitted state (the one place: ``fit``, ``from_trained`` and ``load`` come here)."""
        self.backbone_, self.head_ = backbone, head.requires_grad_(False)
        labels = state.classes
        self.classes_ = np.asarray(labels, dtype=object if any(isinstance(v, str) for v in labels) else None)
        self.modality_, self.columns_ = state.modality, dict(state.columns)
        self.n_features_in_, self.n_train_ = int(state.n_features), int(state.n_train)
        self.class_counts_ = np.asarray(state.class_counts, dtype=np.int64)
        self.imbalance_, self.groups_, self.fairness_ = state.imbalance, state.groups, state.fairness
        self.C_, self.val_scores_ = state.C, dict(state.val_scores)
        self.history_, self.best_epoch_ = list(state.history), state.best_epoch
        self.timings_, self.fine_tuned_, self.extras_ = dict(state.timings), state.fine_tuned, dict(state.extras)
        self.task_, self.targets_ = state.task, dict(state.targets)
        if "distill" in self.extras_:
            self.distilled_ = self.extras_["distill"]

    # RunState field -> the fitted attribute that holds it.
    _STATE = {
        "classes": "classes_", "modality": "modality_", "columns": "columns_", "n_features": "n_features_in_",
        "n_train": "n_train_", "imbalance": "imbalance_", "groups": "groups_", "fairness": "fairness_", "C": "C_",
        "val_scores": "val_scores_", "history": "history_", "best_epoch": "best_epoch_", "timings": "timings_",
        "fine_tuned": "fine_tuned_", "extras": "extras_", "task": "task_", "targets": "targets_",
    }  # fmt: skip

    def state(self) -> RunState:
        """The fitted state, as the run folder stores it."""
        self._check_fitted()
        values = {name: getattr(self, attr) for name, attr in self._STATE.items()}
        return RunState(
            params={**self.get_params(), "backbone": self.backbone_.spec},
            backbone=self.backbone_.describe(),
            class_counts=[int(n) for n in self.class_counts_],
            **{**values, "classes": list(self.classes_)},
        )

    # ------------------------------------------------------------ persist
    def save(
        self, folder: str | Path, metrics: dict[str, Any] | None = None, data: dict[str, Any] | None = None
    ) -> Path:
        """Write the run folder (see :mod:`headstart.runfolder`); ``metrics`` go to ``metrics.json``."""
        return write_run(folder, self.state(), self.head_, self.backbone_, metrics=metrics, data=data)

    @classmethod
    def load(cls, folder: str | Path) -> TransferClassifier:
        """A fitted classifier from a run folder (the backbone reloaded from its spec, or from
        ``backbone/`` in the folder when training changed it)."""
        state, head = read_run(folder)
        params = checked_params(folder, state.params, cls._get_param_names(), cls._parameter_constraints)
        clf = cls(**params)
        spec = state.backbone_spec(folder)
        kwargs: dict[str, Any] = {"pretrained": params.get("pretrained", True), "seed": params.get("seed")}
        if state.modality == "tabular" and spec == "identity":
            kwargs["feature_dim"] = state.n_features
        backbone = load_backbone(spec, modality=state.modality, **kwargs)
        check_head_fits(folder, head, backbone)
        clf._adopt(state, backbone, head)
        width = state.n_features if state.modality == "tabular" else None
        clf._backbone_key = (repr(params["backbone"]), clf.pretrained, clf.seed, state.modality, width)
        return clf


def load_run(folder: str | Path) -> TransferClassifier:
    """``TransferClassifier.load(folder)``: a fitted classifier from a run folder."""
    return TransferClassifier.load(folder)
