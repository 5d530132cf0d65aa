"""The run folder: everything a fit leaves behind, readable without headstart's state.

    config.json        options, backbone, strategy, classes, input columns, versions
    model.safetensors  the head (weight, bias)
    labels.json        class index -> label
    metrics.json       held-out metrics (when given)

Each file is written atomically. ``load_run`` rebuilds a fitted
TransferClassifier from the folder (the frozen backbone is reloaded from its
spec; a fine-tuned one from ``backbone/`` in the folder).
"""

from __future__ import annotations

import datetime as dt
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.errors import HeadstartError
from headstart.io import load_tensors, read_json, save_tensors, write_json

CONFIG = "config.json"
HEAD = "model.safetensors"
LABELS = "labels.json"
METRICS = "metrics.json"
FORMAT = 1


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("headstart", "torch", "transformers", "timm", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def save_run(
    clf: Any, folder: str | Path, metrics: dict[str, Any] | None = None, data: dict[str, Any] | None = None
) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = clf.get_params()
    params["backbone"] = clf.backbone_.spec
    save_tensors(folder / HEAD, {"weight": clf.head_.weight, "bias": clf.head_.bias}, {"format": "headstart-head"})
    if getattr(clf, "fine_tuned_", False):
        # The backbone changed: keep it in the run folder (loadable as local:RUN/backbone).
        clf.backbone_.save(folder / "backbone")
    write_json(folder / LABELS, [c.item() if hasattr(c, "item") else c for c in clf.classes_])
    config = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": "classification",
        "params": params,
        "backbone": clf.backbone_.describe(),
        "modality": clf.modality_,
        "columns": clf.columns_,
        "n_features": clf.n_features_in_,
        "n_train": clf.n_train_,
        "class_counts": [int(n) for n in getattr(clf, "class_counts_", [])],
        "imbalance": getattr(clf, "imbalance_", None),
        "groups": getattr(clf, "groups_", None),
        "fairness": getattr(clf, "fairness_", None),
        "chosen": {"C": clf.C_, "val_scores": {str(k): v for k, v in clf.val_scores_.items()}},
        "training": {"history": getattr(clf, "history_", []), "best_epoch": getattr(clf, "best_epoch_", None)},
        "timings": clf.timings_,
        "data": data or {},
        "versions": versions(),
    }
    write_json(folder / CONFIG, config)
    if metrics is not None:
        write_json(folder / METRICS, metrics)
    return folder


def read_config(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    if not folder.is_dir():
        raise HeadstartError(f"no such run folder: {folder}")
    if not (folder / CONFIG).is_file() or not (folder / HEAD).is_file():
        raise HeadstartError(
            f"{folder} is not a headstart run folder (no {CONFIG} / {HEAD}); make one with `headstart fit`"
        )
    config = read_json(folder / CONFIG)
    if config.get("format") != FORMAT:
        raise HeadstartError(f"{folder}: run format {config.get('format')} is not supported by this version")
    return config


def load_run(folder: str | Path) -> Any:
    from headstart.backbones import load_backbone
    from headstart.classifier import TransferClassifier

    folder = Path(folder)
    config = read_config(folder)
    params = dict(config["params"])
    clf = TransferClassifier(**params)
    spec = params["backbone"]
    if (folder / "backbone").is_dir():
        spec = f"local:{folder / 'backbone'}"
    kwargs: dict[str, Any] = {"pretrained": params.get("pretrained", True), "seed": params.get("seed")}
    if config["modality"] == "tabular" and spec == "identity":
        kwargs["feature_dim"] = config["n_features"]
    clf.backbone_ = load_backbone(spec, modality=config["modality"], **kwargs)
    width = config["n_features"] if config["modality"] == "tabular" else None
    clf._backbone_key = (repr(params["backbone"]), clf.pretrained, clf.seed, config["modality"], width)
    tensors = load_tensors(folder / HEAD)
    head = nn.Linear(tensors["weight"].shape[1], tensors["weight"].shape[0])
    with torch.no_grad():
        head.weight.copy_(tensors["weight"])
        head.bias.copy_(tensors["bias"])
    clf.head_ = head.requires_grad_(False)
    labels = read_json(folder / LABELS)
    clf.classes_ = np.asarray(labels, dtype=object if any(isinstance(v, str) for v in labels) else None)
    clf.modality_ = config["modality"]
    clf.columns_ = config.get("columns", {})
    clf.n_features_in_ = config["n_features"]
    clf.n_train_ = config.get("n_train", 0)
    if config.get("class_counts"):
        clf.class_counts_ = np.asarray(config["class_counts"])
    clf.imbalance_ = config.get("imbalance")
    clf.groups_ = config.get("groups")
    clf.fairness_ = config.get("fairness")
    clf.fine_tuned_ = (folder / "backbone").is_dir()
    clf.history_ = config.get("training", {}).get("history", [])
    clf.C_ = config["chosen"]["C"]
    clf.val_scores_ = config["chosen"]["val_scores"]
    clf.timings_ = {}
    return clf
