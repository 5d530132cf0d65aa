"""One domain-adaptation run: labelled SOURCE + unlabelled TARGET -> a model for
the target, through the one training loop (:func:`headstart.train.train`).

Target labels: :func:`adapt` strips them from the target before anything else
(:func:`unlabelled`), so neither training nor model selection can see them; if
the target had labels they are used once, at the very end, to report the
target accuracy (what ``headstart adapt`` prints when the TARGET file has a
label column).

Model selection without target labels (the documented rule): ``select=
"source-val"`` (the default) holds out ``val_size`` of the *source* rows
(stratified) and keeps the epoch with the best source validation accuracy
(ties: lower validation loss), the "source risk" criterion of Ganin et al.
2016 and TLlib's default; ``select="last"`` keeps the last epoch. Neither reads
a target label. (Reverse validation and importance-weighted validation would
also be label-free, and are not implemented.)

Example:
    >>> from headstart.adapt.run import adapt
    >>> from headstart.data import load
    >>> result = adapt(load("mnist_test"), load("usps_all.mat"), method="dann",
    ...                backbone="scratch:lenet", epochs=10, lr=1e-3)  # doctest: +SKIP
    >>> result.target_accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headstart.adapt.base import AdaptModel, AdaptStrategy, adapt_loss, domain_batches, domain_targets
from headstart.data import Dataset, at_rate, stratified_split
from headstart.data.dataset import SEQUENCES
from headstart.errors import HeadstartError

SELECTIONS = ("source-val", "last")


@dataclass
class AdaptResult:
    """What one run gives. ``target_accuracy`` / ``target_metrics`` are ``None``
    when the target had no labels; ``model`` is the trained transfer model
    (backbone + head, the adaptation parts dropped)."""

    method: str
    options: dict[str, Any]
    describe: str
    backbone: str
    classes: list[Any]
    n_source_train: int
    n_source_val: int
    n_target: int
    selection: str
    best_epoch: int
    source_val_accuracy: float | None
    target_accuracy: float | None
    target_metrics: dict[str, Any] | None
    history: list[dict[str, Any]]
    seconds: float
    config: dict[str, Any]
    model: Any = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "model"}
        out["classes"] = [c.item() if hasattr(c, "item") else c for c in self.classes]
        return out


def unlabelled(data: Dataset) -> Dataset:
    """``data`` with its labels (and groups) removed: what training may see of a target."""
    return Dataset(
        inputs=data.inputs,
        labels=None,
        modality=data.modality,
        domain=data.domain,
        source=data.source,
        columns={k: v for k, v in data.columns.items() if k not in ("label", "group")},
    )


def _key(v: Any) -> str:
    return str(v.item() if hasattr(v, "item") else v)


def _pad_tabular(x: np.ndarray, width: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x if x.shape[1] == width else np.pad(x, ((0, 0), (0, width - x.shape[1])))


def combine(source: Dataset, target: Dataset, pad: bool = False) -> Dataset:
    """Source rows then target rows, as one unlabelled Dataset (for the loop's ``Rows``).

    Tabular inputs of different widths are zero-padded on the right when ``pad``
    (a backbone that ``pads_inputs``: ``scratch:seqconv`` reads each row's length), else refused."""
    if source.modality != target.modality:
        raise HeadstartError(
            f"source {source.source} is {source.modality} data but target {target.source} is {target.modality}"
        )
    if source.modality == "tabular":
        a, b = np.asarray(source.inputs, dtype=np.float32), np.asarray(target.inputs, dtype=np.float32)
        if a.shape[1] != b.shape[1]:
            if not pad:
                raise HeadstartError(
                    f"source {source.source} has {a.shape[1]} feature columns, target {target.source} {b.shape[1]}"
                )
            width = max(a.shape[1], b.shape[1])
            a, b = _pad_tabular(a, width), _pad_tabular(b, width)
        inputs: Any = np.concatenate([a, b])
    elif source.modality in SEQUENCES:  # one sampling rate (the source's) and the same channels
        if source.modality == "timeseries" and source.inputs[0].shape[1] != target.inputs[0].shape[1]:
            raise HeadstartError(
                f"source {source.source} has {source.inputs[0].shape[1]} channels, "
                f"target {target.source} {target.inputs[0].shape[1]}: both need the same channels"
            )
        rate = source.sample_rate if source.sample_rate is not None else target.sample_rate
        inputs = list(source.inputs) + at_rate(target, rate)
        name = f"{source.source}+{target.source}"
        return Dataset(inputs=inputs, labels=None, modality=source.modality, source=name, sample_rate=rate)
    else:
        inputs = list(source.inputs) + list(target.inputs)
    return Dataset(inputs=inputs, labels=None, modality=source.modality, source=f"{source.source}+{target.source}")


@torch.no_grad()
def embed(model: Any, data: Dataset, batch_size: int = 256, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(features (N, D), logits (N, K))`` of a TransferModel on ``data``, in evaluation mode."""
    from headstart.train.data import Rows, loader

    if data.modality == "tabular" and width is not None:
        data = Dataset(inputs=_pad_tabular(np.asarray(data.inputs), width), labels=None, modality="tabular")
    model.eval()
    rows = Rows(data, model.backbone, np.zeros(len(data), dtype=np.int64), False, False, None)
    dl, _ = loader(rows, batch_size, 0, False, 0)
    feats, logits = [], []
    for inputs, _ in dl:
        f = model.features(model.backbone.batch_to(inputs, model.backbone.device))
        feats.append(f.float().cpu())
        logits.append(model.head(f).float().cpu())
    return torch.cat(feats).numpy(), torch.cat(logits).numpy()


def _codes(labels: np.ndarray, classes: list[Any], source: str) -> np.ndarray:
    index = {_key(c): i for i, c in enumerate(classes)}
    unknown = sorted({_key(v) for v in labels} - set(index))
    if unknown:
        raise HeadstartError(
            f"{source}: labels {', '.join(unknown[:5])} are not classes of the source "
            f"({', '.join(index)}): adaptation needs the same classes in both domains"
        )
    return np.asarray([index[_key(v)] for v in labels], dtype=np.int64)


def adapt(
    source: Dataset,
    target: Dataset,
    method: str = "dann",
    backbone: Any = "auto",
    options: dict[str, Any] | None = None,
    *,
    strategy: str = "full",
    epochs: int = 10,
    lr: float = 1e-3,
    head_lr_factor: float = 1.0,
    batch_size: int = 64,
    weight_decay: float = 5e-4,
    val_size: float = 0.1,
    select: str = "source-val",
    seed: int = 0,
    precision: str = "no",
    num_workers: int | None = 0,
    backbone_options: dict[str, Any] | None = None,
    run_dir: str | Path | None = None,
    progress: bool | None = None,
    resume: bool = False,
) -> AdaptResult:
    """Train ``backbone`` + a head on the labelled ``source`` rows and the
    unlabelled ``target`` rows with an adaptation ``method`` (a key of
    :data:`headstart.adapt.METHODS`, with ``options``); see the module docstring
    for how target labels are kept out and how the epoch is chosen.

    ``run_dir`` receives the loop's checkpoints and history; ``resume=True``
    continues the run there from its last checkpoint (the same arguments are
    required: the loop refuses a changed configuration)."""
    from headstart.adapt import make_method
    from headstart.backbones import load_backbone_for
    from headstart.strategies import make_strategy
    from headstart.train import TrainConfig
    from headstart.train.job import build_job

    start = time.perf_counter()
    loss_module = make_method(method, **(options or {}))
    if select not in SELECTIONS:
        raise HeadstartError(f"select must be one of {', '.join(SELECTIONS)}, got '{select}'")
    source.require_labels()
    has_target_labels = target.labels is not None
    target_labels = target.labels
    target = unlabelled(target)  # from here on, no target label exists in this function's reach
    if len(target) == 0:
        raise HeadstartError(f"target {target.source} has no rows")
    classes = list(source.classes)
    codes = _codes(source.labels, classes, source.source)
    n_classes = len(classes)

    if select == "source-val" and val_size > 0:
        counts = np.bincount(codes, minlength=n_classes)
        if counts.min() < 2 or len(source) < 10:
            raise HeadstartError(
                f"source validation (select=source-val) needs at least 2 rows of every class in {source.source}; "
                f"use select='last'"
            )
        tr_idx, va_idx = stratified_split(source.labels, val_size, seed)
    else:
        tr_idx, va_idx = np.arange(len(source)), np.empty(0, dtype=np.int64)
    src_train, src_val = source.subset(tr_idx), source.subset(va_idx)

    net_backbone = load_backbone_for(backbone, source, seed=seed, **(backbone_options or {}))
    both = combine(src_train, target, pad=net_backbone.pads_inputs)
    width = int(np.asarray(both.inputs).shape[1]) if both.modality == "tabular" else None

    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        precision=precision,
        seed=seed,
        head_lr_factor=head_lr_factor,
        num_workers=num_workers,
        augment=False,  # the source and target rows must look alike to the network, bar the domain
    )
    scratch = str(getattr(net_backbone, "source", "")) == "scratch"
    base_strategy = make_strategy(strategy)
    if base_strategy.uses_cached_features or base_strategy.name == "head":
        raise HeadstartError(
            f"strategy '{strategy}' keeps the backbone frozen: adaptation must move the features "
            f"(use full, partial, discriminative, gradual, l2sp or lora)"
        )
    n_src, n_tgt = len(src_train), len(target)
    val_data = None
    if len(va_idx):
        val_data = src_val
        if width is not None:
            val_data = Dataset(inputs=_pad_tabular(np.asarray(src_val.inputs), width), labels=None, modality="tabular")
    job = build_job(
        net_backbone,
        n_classes,
        both,
        domain_targets(codes[tr_idx], n_tgt),
        config,
        AdaptStrategy(base_strategy, loss_module),
        val_data=val_data,
        val_codes=codes[va_idx],
        identity={"backbone": net_backbone.spec, "adapt": f"{method} {loss_module.options()}", "select": select},
        freeze_bn=not scratch,
        # The discriminator (or other module) is drawn from the same seeded stream, after the model.
        init=lambda _: loss_module.build(int(net_backbone.feature_dim), n_classes),
    )
    loss_module.total_steps = epochs * math.ceil(n_src / math.ceil(batch_size / 2))
    job.wrap(AdaptModel(job.model, loss_module), job.strategy)
    job.hooks = {"loss_fn": adapt_loss(loss_module, n_classes), "batch_sampler": domain_batches(n_src, n_tgt)}
    result = job.run(run_dir, resume, progress)
    model = job.model
    model = model.cpu().eval()
    source_val = None
    if len(va_idx):
        _, logits = embed(model, src_val, width=width)
        source_val = float((logits.argmax(1) == codes[va_idx]).mean())
    target_accuracy, target_metrics = None, None
    if has_target_labels:  # the report only: training and selection are over
        from headstart.metrics import classification_metrics

        truth = _codes(target_labels, classes, target.source)
        _, logits = embed(model, target, width=width)
        pred = logits.argmax(1)
        target_accuracy = float((pred == truth).mean())
        keys = [_key(c) for c in classes]
        target_metrics = classification_metrics([keys[i] for i in truth], [keys[i] for i in pred], keys)
    return AdaptResult(
        method=method,
        options=loss_module.options(),
        describe=loss_module.describe(),
        backbone=net_backbone.spec,
        classes=classes,
        n_source_train=n_src,
        n_source_val=int(len(va_idx)),
        n_target=n_tgt,
        selection=select,
        best_epoch=result.best_epoch if len(va_idx) else epochs,
        source_val_accuracy=source_val,
        target_accuracy=target_accuracy,
        target_metrics=target_metrics,
        history=result.history,
        seconds=time.perf_counter() - start,
        config={**config.to_dict(), "strategy": strategy, "backbone_options": backbone_options or {}},
        model=model,
    )
