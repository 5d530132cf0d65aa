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

from headstart.backbones import load_backbone_for
from headstart.data import Dataset, from_arrays, stratified_split
from headstart.errors import HeadstartError
from headstart.features import extract
from headstart.metrics import classification_metrics
from headstart.options import parameter_constraints, validate_params
from headstart.progress import stderr
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
        imbalance: ``None`` (plain training) or a method of
            ``headstart.imbalance`` for imbalanced classes: ``"auto"``,
            ``"weighted"``, ``"effective"``, ``"focal"``, ``"la-loss"``,
            ``"balanced-sampling"``, ``"sqrt-sampling"``, ``"oversample"``,
            ``"undersample"``, ``"smote"``, ``"borderline-smote"``,
            ``"adasyn"`` (the last three: linear probe only),
            ``"logit-adjust"``, ``"threshold"`` (two classes),
            ``"two-stage"``. What was done is in ``imbalance_``.
        imbalance_options: the method's options (``{"gamma": 1.0}`` for
            focal, ``{"tau": 1.5}`` for logit adjustment ...).
        debias: ``None`` or a method of ``headstart.fairness`` that trains
            against a group gap: ``"adversarial"``, ``"penalty"``,
            ``"group-sampling"`` (fine-tuning strategies; the training rows
            need a group: ``Dataset.group``, ``--group-col``). What was done
            is in ``fairness_``; the training groups in ``groups_``.
        debias_options: the method's options (``{"coeff": 1.0}``,
            ``{"weight": 2.0, "target": "equalized_odds"}`` ...).
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
        val_size: float = 0.1,
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
        imbalance: str | None = None,
        imbalance_options: dict[str, Any] | None = None,
        debias: str | None = None,
        debias_options: dict[str, Any] | None = None,
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
        self.imbalance = imbalance
        self.imbalance_options = imbalance_options
        self.debias = debias
        self.debias_options = debias_options

    # The declared constraints (headstart.options) of the options shared with the command line.
    _parameter_constraints = parameter_constraints(__init__)

    # ------------------------------------------------------------------ fit
    def _load_backbone(self, data: Dataset) -> Any:
        return load_backbone_for(self.backbone, data, pretrained=self.pretrained, seed=self.seed)

    def fit(self, X: Any, y: Any = None, run_dir: str | Path | None = None, resume: bool = False) -> TransferClassifier:
        """Fit on labelled data. ``run_dir`` receives the fine-tuning checkpoints
        and history; ``resume=True`` continues a killed run from its last one."""
        validate_params(self._parameter_constraints, self.get_params(deep=False))
        data = as_dataset(X, y)
        data.require_labels()
        self.classes_ = np.asarray(data.classes, dtype=object if data.labels.dtype.kind in "OUS" else None)
        codes = self._encode(data.labels, data.source)
        self.modality_ = data.modality
        self.columns_ = dict(data.columns)
        self.class_counts_ = np.bincount(codes, minlength=len(self.classes_))
        strategy = self._make_strategy(data)
        method = self._make_imbalance(not strategy.uses_cached_features)
        mitigation = self._make_debias(data, strategy)
        self.imbalance_: dict[str, Any] | None = None
        # Refitting with the same backbone options reuses the loaded model, unless
        # the last fit changed its weights (fine-tuning).
        width = int(np.asarray(data.inputs).shape[1]) if data.modality == "tabular" else None
        key = (repr(self.backbone), self.pretrained, self.seed, data.modality, width)
        if getattr(self, "_backbone_key", None) != key or getattr(self, "fine_tuned_", False):
            self.backbone_ = self._load_backbone(data)
            self._backbone_key = key
        self.n_train_ = len(data)
        self.fairness_: dict[str, Any] | None = None
        self.groups_: dict[str, list[str]] | None = None
        if data.group is not None:  # the audit refuses a group the model never saw in training
            from headstart.fairness.audit import group_labels

            labels, present = group_labels(data.group)
            self.groups_ = {data.columns.get("group", "group"): sorted(set(labels[present].tolist()))}
        self.fine_tuned_ = False
        if not strategy.uses_cached_features:
            return self._fine_tune(data, codes, strategy, run_dir, resume, method, mitigation)
        features = self._features(data, "fit")
        start = time.perf_counter()
        if method is None:
            strategy.fit(features, codes, len(self.classes_))
        else:
            from headstart.imbalance import fit_probe

            method = self._resolve_auto(method, features, codes, fine_tuning=False)
            strategy, note = fit_probe(method, features, codes, len(self.classes_), self._probe_options())
            self._record_imbalance(method, note)
        self.timings_["head_seconds"] = time.perf_counter() - start
        self.head_ = strategy.head_
        self.C_ = strategy.C_
        self.val_scores_ = dict(strategy.val_scores_)
        self.n_features_in_ = int(features.shape[1])
        return self

    def _probe_options(self) -> dict[str, Any]:
        return {"C": self.C, "class_weight": self.class_weight, "val_size": self.val_size, "seed": self.seed}

    def _make_imbalance(self, fine_tuning: bool) -> Any:
        """The imbalance method (``None`` for plain training), checked against the
        training classes: one clear line when it cannot apply."""
        from headstart.imbalance import Auto, check_method, make_method, warn_rare_classes

        if self.imbalance is None:
            if self.imbalance_options:
                raise HeadstartError("imbalance_options given without an imbalance method")
            return None
        method = make_method(self.imbalance, **(self.imbalance_options or {}))
        if self.class_weight is not None:
            raise HeadstartError(
                "class_weight and imbalance both re-weight the classes: use imbalance='weighted' alone"
            )
        names = [self._key(c) for c in self.classes_]
        if not isinstance(method, Auto):
            check_method(method, self.class_counts_, names, fine_tuning)
        warn_rare_classes(self.class_counts_, names)
        return method

    def _resolve_auto(self, method: Any, features: np.ndarray | None, codes: np.ndarray, fine_tuning: bool) -> Any:
        """``auto``: the method its rule picks for these training rows (printed)."""
        from headstart.imbalance import Auto, check_method

        if not isinstance(method, Auto):
            return method
        names = [self._key(c) for c in self.classes_]
        taken = fine_tuning and self.debias is not None  # debiasing samples the batches by group
        chosen, why = method.choose(
            features, codes, len(self.classes_), self._probe_options(), names, fine_tuning, batches_taken=taken
        )
        stderr.print(f"[bold]imbalance[/bold] auto: {why}", highlight=False, soft_wrap=True)
        check_method(chosen, np.bincount(codes, minlength=len(self.classes_)), names, fine_tuning)
        self._auto_why = why
        return chosen

    def _record_imbalance(self, method: Any, note: str) -> None:
        import dataclasses

        self.imbalance_ = {
            "requested": self.imbalance,
            "method": method.name,
            "options": dataclasses.asdict(method),
            "what": method.describe(),
            "note": note,
            "why": getattr(self, "_auto_why", None) if self.imbalance == "auto" else None,
            "class_counts": {self._key(c): int(n) for c, n in zip(self.classes_, self.class_counts_, strict=True)},
        }

    def _make_debias(self, data: Dataset, strategy: Any) -> Any:
        """The debiasing method (``None`` without one), checked against the data and strategy."""
        if self.debias is None:
            if self.debias_options:
                raise HeadstartError("debias_options given without a debias method")
            return None
        from headstart.fairness import make_method

        mitigation = make_method(self.debias, **(self.debias_options or {}))
        if strategy.uses_cached_features:
            raise HeadstartError(
                f"debias '{self.debias}' trains through the fine-tuning loop: use a fine-tuning strategy "
                f"(head, partial, full ...), not '{strategy.name}'"
            )
        if data.group is None:
            raise HeadstartError(
                f"debias '{self.debias}' needs each training row's group: pass a group column (--group-col) "
                f"or Dataset.group"
            )
        mitigation.check(strategy)
        return mitigation

    def _make_strategy(self, data: Dataset) -> Any:
        probe = self._probe_options()
        if self.strategy == "linear-probe":
            return make_strategy("linear-probe", **probe)
        strategy = make_strategy(self.strategy, **(self.strategy_options or {}))  # unknown names fail here
        if data.modality == "tabular":
            if self.strategy == "auto":  # no backbone to fine-tune: auto means the probe
                return make_strategy("linear-probe", **probe)
            raise HeadstartError(f"strategy '{self.strategy}' fine-tunes a backbone; tabular data has none")
        return strategy

    def _fine_tune(
        self,
        data: Dataset,
        codes: np.ndarray,
        strategy: Any,
        run_dir: str | Path | None,
        resume: bool,
        method: Any = None,
        mitigation: Any = None,
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
            # Imbalanced classes: the best epoch is the one with the best balanced accuracy.
            monitor="accuracy" if method is None else "balanced_accuracy",
        )
        counts = np.bincount(codes, minlength=len(self.classes_))
        if self.val_size and counts.min() >= 2 and len(data) >= 10:
            tr_idx, va_idx = stratified_split(data.labels, self.val_size, self.seed)  # = data.train_test_split
            tr, va, tr_codes, va_codes = data.subset(tr_idx), data.subset(va_idx), codes[tr_idx], codes[va_idx]
        else:
            tr, va, tr_codes, va_codes = data, None, codes, None
        n_classes = len(self.classes_)
        tr_counts = np.bincount(tr_codes, minlength=n_classes)
        lp_ft = self.head_init == "probe" and not resume
        tr_features = self._features(tr, "probe") if lp_ft else None
        init_method = method
        if method is not None:
            method = self._resolve_auto(method, tr_features, tr_codes, fine_tuning=True)
            rows = method.resample_rows(tr_codes, self.seed)  # random over- / under-sampling
            if rows is not None:
                tr, tr_codes = tr.subset(rows), tr_codes[rows]
                tr_features = tr_features[rows] if tr_features is not None else None
            # The LP-FT head is trained like the fine-tuning run: resampled rows are
            # its training rows already, two-stage's first stage samples naturally,
            # and a post-hoc change waits for the end of fine-tuning.
            plain = rows is not None or method.two_stage
            init_method = None if plain else method
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            model = TransferModel(self.backbone_, n_classes)
        if lp_ft:
            # LP-FT (Kumar et al. 2022): start from the linear probe's head, so the
            # backbone is not first pushed around by a random head's gradients.
            probe_options = {"C": self.C, "class_weight": self.class_weight, "seed": self.seed}
            if init_method is None:
                probe = make_strategy("linear-probe", **probe_options)
                probe.fit(tr_features, tr_codes, n_classes)
            else:
                from headstart.imbalance import fit_probe

                probe = fit_probe(init_method, tr_features, tr_codes, n_classes, probe_options, post_hoc=False)[0]
            with torch.no_grad():
                model.head.weight.copy_(probe.head_.weight)
                model.head.bias.copy_(probe.head_.bias)
        targets = tr_codes
        if mitigation is not None:
            # Debiasing: each training row carries (class code, group code); see headstart.fairness.base.
            from headstart.fairness.base import encode_groups, with_groups

            group_codes, group_names = encode_groups(tr.group, tr.source, data.columns.get("group", "group"))
            targets = with_groups(tr_codes, group_codes)
        train_rows = Rows(tr, self.backbone_, targets, train=True, augment=config.augment, max_length=config.max_length)
        val_rows = None
        if va is not None:
            val_rows = Rows(va, self.backbone_, va_codes, train=False, augment=False, max_length=config.max_length)
        identity = {
            "backbone": self.backbone_.spec,
            "strategy": f"{self.strategy} {self.strategy_options or {}}",
            "data": data.fingerprint(),
            "pretrained": self.pretrained,
        }
        hooks: dict[str, Any] = {}
        if method is not None:
            identity["imbalance"] = f"{self.imbalance} {self.imbalance_options or {}}"
            hooks = {"loss_fn": method.loss(tr_counts), "batch_sampler": method.batch_sampler(tr_counts)}
            if method.needs_validation and va is None:
                raise HeadstartError(
                    f"imbalance '{method.name}' tunes on validation rows cut from the training rows: "
                    f"set val_size > 0 (--val-size) with at least 2 rows of every class"
                )
        net, run_strategy = model, strategy
        if mitigation is not None:
            identity["debias"] = f"{self.debias} {self.debias_options or {}}"
            if hooks.get("batch_sampler") is not None:  # it reads plain class codes
                raise HeadstartError(
                    f"imbalance '{method.name}' chooses the training batches by class: it cannot run with "
                    f"debias '{mitigation.name}'; use one of them (or a loss-based imbalance method)"
                )
            sampler = mitigation.batch_sampler(tr_codes, group_codes)
            hooks["loss_fn"] = mitigation.loss(hooks.get("loss_fn"), n_classes, len(group_names))
            if sampler is not None:
                hooks["batch_sampler"] = sampler
            net, run_strategy = mitigation.wrap(model, strategy, n_classes, len(group_names))
        result = train(
            net, run_strategy, train_rows, val_rows, config, run_dir, resume, identity, self.progress, **hooks
        )
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
        if method is not None:
            self._finish_imbalance(method, data, codes, va, va_codes, tr_counts)
        if mitigation is not None:
            self.fairness_ = {
                "method": mitigation.name,
                "options": mitigation.options(),
                "what": mitigation.describe(),
                "column": data.columns.get("group", "group"),
                "groups": group_names,
                "group_counts": {n: int(c) for n, c in zip(group_names, np.bincount(group_codes), strict=True)},
            }
        return self

    def _finish_imbalance(
        self,
        method: Any,
        data: Dataset,
        codes: np.ndarray,
        va: Dataset | None,
        va_codes: np.ndarray | None,
        counts: np.ndarray,
    ) -> None:
        """After fine-tuning: two-stage's second stage, or a post-hoc change of the head."""
        note = ""
        if method.two_stage:
            # Stage 2 (cRT): a class-balanced head on the fine-tuned backbone's features.
            options = {"C": self.C, "val_size": self.val_size, "seed": self.seed}
            stage2 = method.retrain(self._features(data, "stage2"), codes, len(self.classes_), options)
            self.head_, self.C_ = stage2.head_, stage2.C_
            note = f"stage 2: class-balanced linear head on the fine-tuned features of {len(data)} rows, C={self.C_:g}"
        elif method.post_hoc:
            val_logits = None
            if method.needs_validation and va is not None:
                with torch.no_grad():
                    val_logits = self.head_(torch.from_numpy(self._features(va, "validation"))).numpy()
            note = method.adjust(self.head_, counts, val_logits, va_codes)
        self._record_imbalance(method, note)

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
        width = getattr(self.backbone_, "input_width", None)
        if data.modality == "tabular" and width is not None and data.inputs.shape[1] != width:
            raise HeadstartError(f"{data.source} has {data.inputs.shape[1]} features, the model was trained on {width}")
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
        self._check_fitted()
        logits = self.decision_function(data)
        pred = self.classes_[logits.argmax(1)]
        keys = [self._key(c) for c in self.classes_]
        scores, positive = None, None
        if len(keys) == 2:  # PR-AUC of the rarer training class
            counts = getattr(self, "class_counts_", None)
            k = int(np.argmin(counts)) if counts is not None and len(counts) == 2 else 1
            scores, positive = torch.softmax(torch.from_numpy(logits), 1)[:, k].numpy(), keys[k]
        truth = [self._key(v) for v in data.labels]
        return classification_metrics(truth, [self._key(v) for v in pred], keys, scores, positive)

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
        **params: Any,
    ) -> TransferClassifier:
        """A fitted classifier around a ``backbone`` and ``head`` trained outside :meth:`fit`
        (distillation, domain adaptation), so that it predicts, evaluates, saves and loads
        like a ``fit`` run: ``headstart predict`` / ``export`` read its run folder.

        ``classes`` are the head's outputs in order; ``data`` is the labelled training
        data (its modality, input columns and class counts are recorded; ``columns``
        stands in when it has none); ``params`` are the constructor's."""
        clf = cls(backbone=backbone.spec, **params)
        clf.backbone_ = backbone.eval().requires_grad_(False)
        clf.head_ = head.requires_grad_(False)
        values = list(classes)
        clf.classes_ = np.asarray(values, dtype=object if any(isinstance(v, str) for v in values) else None)
        codes = clf._encode(data.labels, data.source)
        clf.modality_ = data.modality
        clf.columns_ = dict(data.columns) or dict(columns or {})
        clf.class_counts_ = np.bincount(codes, minlength=len(values))
        clf.n_train_ = len(data)
        clf.n_features_in_ = int(backbone.feature_dim)
        clf.fine_tuned_ = True
        clf.imbalance_ = None
        clf.history_ = history
        clf.best_epoch_ = best_epoch
        clf.C_ = None
        clf.val_scores_ = {}
        clf.timings_ = {"train_seconds": seconds}
        clf._backbone_key = None
        return clf

    # ------------------------------------------------------------ persist
    def save(self, folder: str | Path, **extra: Any) -> Path:
        from headstart.run import save_run

        self._check_fitted()
        return save_run(self, folder, **extra)

    @classmethod
    def load(cls, folder: str | Path) -> TransferClassifier:
        from headstart.run import load_run

        return load_run(folder)
