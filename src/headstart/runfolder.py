"""The run folder: everything a fit leaves behind, readable without headstart's state.

    config.json        options, backbone, strategy, classes, input columns, versions
    model.safetensors  the head (weight, bias)
    labels.json        class index -> label
    metrics.json       held-out metrics (when given)
    backbone/          the backbone, when training changed it (loadable as ``local:RUN/backbone``)

:class:`RunState` is the one schema of a fitted model's state: the classifier
builds one to save (:func:`write_run`) and adopts one when it is loaded
(:func:`read_run`) or made from weights trained elsewhere (distillation,
adaptation), so the three cannot drift. What a family adds (distillation's
teacher and student, adaptation's method) goes in ``extras``. This module knows
nothing of the classifier: it writes and reads files and tensors.

    >>> state = RunState(params={"backbone": "identity"}, backbone={"spec": "identity"},
    ...                  classes=["neg", "pos"], modality="tabular", columns={}, n_features=4, n_train=10)
    >>> state.backbone_spec("runs/x")
    'identity'

Each file is written atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from headstart.errors import HeadstartError
from headstart.io import check_writable, load_tensors, read_json, save_tensors, write_json

CONFIG = "config.json"
HEAD = "model.safetensors"
LABELS = "labels.json"
METRICS = "metrics.json"
BACKBONE = "backbone"
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


@dataclass
class RunState:
    """A fitted classifier's state, as the run folder stores it.

    ``params`` are the estimator's constructor options (``backbone`` is the
    spec string); ``backbone`` is the backbone's ``describe()``; ``C`` and
    ``val_scores`` are what the linear probe chose (``None`` / ``{}`` after
    fine-tuning); ``history`` and ``best_epoch`` the training loop's;
    ``fine_tuned`` says the backbone's weights changed (they are then saved
    in ``backbone/``); ``extras`` holds what a family adds (``{"distill":
    {...}}``). ``task`` is ``classification``, ``regression`` or ``multilabel``
    (:mod:`headstart.data.targets`); ``classes`` then name the head's outputs (the
    target column; the labels), ``targets`` holds what the task chose (a regression
    target's mean and SD, the multi-label thresholds)."""

    params: dict[str, Any]
    backbone: dict[str, Any]
    classes: list[Any]
    modality: str
    columns: dict[str, Any]
    n_features: int
    n_train: int
    class_counts: list[int] = field(default_factory=list)
    imbalance: dict[str, Any] | None = None
    groups: dict[str, list[str]] | None = None
    fairness: dict[str, Any] | None = None
    C: float | None = None
    val_scores: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    fine_tuned: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    task: str = "classification"
    targets: dict[str, Any] = field(default_factory=dict)

    def backbone_spec(self, folder: str | Path) -> str:
        """What to load the backbone from: the run's own ``backbone/`` when training changed it."""
        return f"local:{Path(folder) / BACKBONE}" if self.fine_tuned else str(self.params["backbone"])


def write_run(
    folder: str | Path,
    state: RunState,
    head: nn.Module,
    backbone: Any = None,
    metrics: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Path:
    """Write ``state``, the linear ``head`` and (when ``state.fine_tuned``) ``backbone`` to ``folder``."""
    folder = check_writable(folder, "folder", "run folder")
    folder.mkdir(parents=True, exist_ok=True)
    save_tensors(folder / HEAD, {"weight": head.weight, "bias": head.bias}, {"format": "headstart-head"})
    if state.fine_tuned:
        if backbone is None:
            raise HeadstartError("a fine-tuned run needs its backbone to be saved")
        backbone.save(folder / BACKBONE)
    write_json(folder / LABELS, [c.item() if hasattr(c, "item") else c for c in state.classes])
    config = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "task": state.task,
        "targets": state.targets,
        "params": state.params,
        "backbone": state.backbone,
        "modality": state.modality,
        "columns": state.columns,
        "n_features": state.n_features,
        "n_train": state.n_train,
        "class_counts": [int(n) for n in state.class_counts],
        "imbalance": state.imbalance,
        "groups": state.groups,
        "fairness": state.fairness,
        "chosen": {"C": state.C, "val_scores": {str(k): v for k, v in state.val_scores.items()}},
        "training": {"history": state.history, "best_epoch": state.best_epoch},
        "timings": state.timings,
        "fine_tuned": state.fine_tuned,
        "extras": state.extras,
        "data": data or {},
        "versions": versions(),
    }
    write_json(folder / CONFIG, config)
    if metrics is not None:
        write_json(folder / METRICS, metrics)
    return folder


def _damaged(folder: Path, name: str, what: str) -> HeadstartError:
    return HeadstartError(
        f"{folder / name} {what}: the run folder is damaged or was edited; fit it again (`headstart fit ... --out`)"
    )


# config.json's keys that read_run needs, and the types they must have.
_REQUIRED: dict[str, type | tuple[type, ...]] = {"params": dict, "modality": str, "n_features": int}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "backbone": dict, "columns": dict, "n_train": int, "class_counts": list, "imbalance": dict, "groups": dict,
    "fairness": dict, "chosen": dict, "training": dict, "extras": dict, "fine_tuned": bool, "task": str,
    "targets": dict,
}  # fmt: skip
TASKS = ("classification", "regression", "multilabel")
MODALITIES = ("text", "image", "tabular", "timeseries", "audio")


def read_config(folder: str | Path) -> dict[str, Any]:
    """``config.json`` of a run folder; one clear line when ``folder`` is not one, or the file is damaged
    (not JSON, or a key that :func:`read_run` reads is missing or of the wrong type)."""
    folder = Path(folder)
    if not folder.is_dir():
        if folder.exists():
            raise HeadstartError(f"{folder} is a file, not a run folder; give the folder `headstart fit` wrote")
        raise HeadstartError(f"no such run folder: {folder}")
    if not (folder / CONFIG).is_file() or not (folder / HEAD).is_file():
        raise HeadstartError(
            f"{folder} is not a headstart run folder (no {CONFIG} / {HEAD}); make one with `headstart fit`"
        )
    try:
        config = read_json(folder / CONFIG)
    except HeadstartError as e:
        raise HeadstartError(f"{e}: the run folder is damaged or was edited; fit it again") from None
    if not isinstance(config, dict):
        raise _damaged(folder, CONFIG, f"holds a JSON {type(config).__name__}, not an object")
    if config.get("format") != FORMAT:
        raise HeadstartError(f"{folder}: run format {config.get('format')!r} is not supported by this version")
    _check_config(folder, config)
    return config


def _check_config(folder: Path, config: dict[str, Any]) -> None:
    """Each key read_run reads has the type it must have (a tampered file is one line, never a traceback)."""
    for key, kind in {**_REQUIRED, **_OPTIONAL}.items():
        value = config.get(key)
        if value is None and key not in _REQUIRED:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            got = "nothing" if value is None else f"a {type(value).__name__}"
            raise _damaged(folder, CONFIG, f"has {got} for '{key}' where a {names} belongs")
    if config["modality"] not in MODALITIES:
        raise _damaged(folder, CONFIG, f"names modality {config['modality']!r} (one of {', '.join(MODALITIES)})")
    if config.get("task", "classification") not in TASKS:
        raise _damaged(folder, CONFIG, f"names task {config.get('task')!r} (one of {', '.join(TASKS)})")
    if not isinstance(config["params"].get("backbone"), str):
        raise _damaged(folder, CONFIG, "names no backbone in 'params'")
    counts = config.get("class_counts") or []
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        raise _damaged(folder, CONFIG, "has 'class_counts' that are not counts")
    columns = config.get("columns") or {}
    for key, value in columns.items():
        ok = (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
            if key == "features"
            else isinstance(value, str) or key == "layout"
        )
        if not ok:
            raise _damaged(folder, CONFIG, f"names a malformed input column '{key}'")
    groups = config.get("groups") or {}
    if not all(isinstance(v, list) and all(isinstance(g, str) for g in v) for v in groups.values()):
        raise _damaged(folder, CONFIG, "has malformed 'groups'")
    chosen = config.get("chosen") or {}
    if not isinstance(chosen.get("C"), (int, float, type(None))) or not isinstance(chosen.get("val_scores", {}), dict):
        raise _damaged(folder, CONFIG, "has a malformed 'chosen' entry")
    training = config.get("training") or {}
    if not isinstance(training.get("history", []), list) or not isinstance(
        training.get("best_epoch"), (int, type(None))
    ):
        raise _damaged(folder, CONFIG, "has a malformed 'training' entry")


def _read_classes(folder: Path) -> list[Any]:
    try:
        classes = read_json(folder / LABELS)
    except HeadstartError as e:
        raise HeadstartError(f"{e}: the run folder is damaged or was edited; fit it again") from None
    ok = (
        isinstance(classes, list)
        and classes
        and all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in classes)
    )
    if not ok:
        raise _damaged(folder, LABELS, "is not a list of class labels")
    if len({str(c) for c in classes}) != len(classes):
        raise _damaged(folder, LABELS, "names a class twice")
    return classes


def _read_head(folder: Path, n_classes: int) -> nn.Linear:
    tensors = load_tensors(folder / HEAD)
    weight, bias = tensors.get("weight"), tensors.get("bias")
    if weight is None or bias is None:
        raise _damaged(
            folder, HEAD, f"holds {', '.join(sorted(tensors)) or 'no tensors'}, not a head's weight and bias"
        )
    if not (weight.is_floating_point() and bias.is_floating_point()):
        raise _damaged(folder, HEAD, "holds a head whose weights are not floating point")
    if weight.ndim != 2 or tuple(bias.shape) != (weight.shape[0],) or weight.shape[0] != n_classes:
        raise _damaged(
            folder, HEAD, f"holds a head of shape {tuple(weight.shape)} / {tuple(bias.shape)} for {n_classes} classes"
        )
    head = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    return head


def read_run(folder: str | Path) -> tuple[RunState, nn.Linear]:
    """The :class:`RunState` and the head of a run folder (the backbone is the caller's to load:
    ``state.backbone_spec(folder)``). Every file is checked: a damaged or tampered one is one clear
    line (:class:`~headstart.errors.HeadstartError`); weights are read from safetensors only."""
    folder = Path(folder)
    config = read_config(folder)
    training = config.get("training") or {}
    chosen = config.get("chosen") or {}
    classes = _read_classes(folder)
    state = RunState(
        params=dict(config["params"]),
        backbone=config.get("backbone") or {},
        classes=list(classes),
        modality=config["modality"],
        columns=config.get("columns") or {},
        n_features=config["n_features"],
        n_train=config.get("n_train") or 0,
        class_counts=list(config.get("class_counts") or []),
        imbalance=config.get("imbalance"),
        groups=config.get("groups"),
        fairness=config.get("fairness"),
        C=chosen.get("C"),
        val_scores=chosen.get("val_scores") or {},
        history=training.get("history") or [],
        best_epoch=training.get("best_epoch"),
        timings={},
        # Folders written before the field existed: the backbone folder says it.
        fine_tuned=bool(config.get("fine_tuned", (folder / BACKBONE).is_dir())),
        extras=config.get("extras") or {},
        task=config.get("task") or "classification",
        targets=config.get("targets") or {},
    )
    _check_targets(folder, state)
    head = _read_head(folder, len(classes))
    return state, head.requires_grad_(False)


def _check_targets(folder: Path, state: RunState) -> None:
    """A regression run has one output and a finite mean and SD; a multi-label run one threshold in (0, 1)
    per label: else the folder is damaged."""
    t = state.targets
    if state.task == "regression":
        numbers = [t.get("mean"), t.get("std")]
        if len(state.classes) != 1 or not all(isinstance(v, (int, float)) and abs(v) < float("inf") for v in numbers):
            raise _damaged(folder, CONFIG, "has a regression run without one target and its mean and SD")
    elif state.task == "multilabel":
        cuts = t.get("thresholds")
        ok = isinstance(cuts, list) and len(cuts) == len(state.classes)
        if not ok or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in cuts):
            raise _damaged(folder, CONFIG, "has a multi-label run without one threshold in [0, 1] per label")


def checked_params(
    folder: str | Path, params: dict[str, Any], known: list[str], constraints: dict[str, Any]
) -> dict[str, Any]:
    """The estimator options of a run folder, for an estimator whose parameters are ``known``
    with ``constraints`` (``headstart.options``): an option it does not know, or a value it
    refuses, is one line. Where to cache features and which device to use belong to this
    machine, not to the folder (a folder from elsewhere must not choose where this machine
    writes): they are reset to ``None``."""
    from headstart.options import validate_params

    config = Path(folder) / CONFIG
    params = {**params, "cache_dir": None, "device": None}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise HeadstartError(
            f"{config} sets option '{unknown[0]}' that this version of headstart does not know: "
            f"the run folder was edited or written by another version; fit it again"
        )
    try:
        validate_params(constraints, params)
    except HeadstartError as e:
        raise HeadstartError(f"{config}: {e}; the run folder was edited, fit it again") from None
    return params


def check_head_fits(folder: str | Path, head: nn.Linear, backbone: Any) -> None:
    """The head's input width is the backbone's feature width, else one line."""
    if int(getattr(backbone, "feature_dim", head.in_features)) != head.in_features:
        raise HeadstartError(
            f"{Path(folder) / HEAD} holds a head for {head.in_features} features but the backbone "
            f"{backbone.spec} gives {backbone.feature_dim}: the run folder was edited; fit it again"
        )


def state_fields() -> list[str]:
    """The names of :class:`RunState`'s fields (what a classifier must provide to be saved)."""
    return [f.name for f in dataclasses.fields(RunState)]
