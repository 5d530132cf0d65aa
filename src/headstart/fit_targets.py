"""What ``TransferClassifier.fit`` runs for regression and multi-label targets
(:mod:`headstart.data.targets`); :mod:`headstart.fitting` has the classification procedures.

- probe (frozen, cached features): regression -> ridge with the penalty chosen by leave-one-out
  cross-validation on the training rows (:func:`headstart.heads.ridge_probe`); multi-label -> one
  binary linear probe per label, the thresholds tuned on a validation split cut from the training
  rows, the head then refitted on every training row with the chosen ``C``;
- fine-tuning: the one training loop (:func:`headstart.train.job.build_job`) with the task's
  hooks (:mod:`headstart.train.tasks`): MSE or Huber on the standardised target and R^2 to pick
  the best epoch, or BCE (positive weights optional) and mean average precision; LP-FT starts
  from the probe's head.

A regression head is saved in the target's units (the standardisation folded into its weights:
:func:`headstart.heads.unstandardise`), so predict, export and the torch-free runtime need nothing
more; a multi-label run keeps its thresholds in the run folder (``targets``).

Task options (``task_options=`` / ``--task-option``): regression ``loss`` (``mse``, ``huber``) and
``delta``; multi-label ``loss`` (a key of :data:`headstart.imbalance.multilabel.LOSSES`: ``bce``, the
default, ``asymmetric``, ``focal``) with that loss's own options beside it (``bce``: ``pos_weight``,
``None``, ``"balanced"`` or one number per label, which also weighs the probe's positive rows;
``asymmetric``: ``gamma_neg``, ``gamma_pos``, ``clip``; ``focal``: ``gamma``, ``alpha``), and
``threshold`` (a fixed threshold instead of tuning). A multi-label loss other than ``bce`` trains
through the loop: the linear probe fits logistic regression and refuses it in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.data import Dataset
from headstart.errors import HeadstartError, did_you_mean
from headstart.runfolder import RunState

# The options of each task and their defaults; a multi-label target also takes its loss's own options
# (LOSSES.options(loss): bce's pos_weight, asymmetric's gamma_neg ...).
TASK_OPTIONS = {"regression": {"loss": "mse", "delta": 1.0}, "multilabel": {"loss": "bce", "threshold": None}}
MIN_THRESHOLD_ROWS = 10  # fewer validation rows than this: thresholds stay at 0.5


def task_options(task: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The task's options with their defaults, checked: an unknown one or a bad value is one line."""
    from headstart.train import tasks

    known = dict(TASK_OPTIONS.get(task, {}))
    with_loss = ""
    if task == "multilabel":
        from headstart.imbalance.multilabel import LOSSES

        loss = (given or {}).get("loss", known["loss"])
        if not isinstance(loss, str):
            raise HeadstartError(f"multi-label loss must be one of {', '.join(LOSSES.names())}, got {loss!r}")
        LOSSES.check(loss)  # an unknown loss: one line with a did-you-mean
        known.update(LOSSES.options(loss))
        with_loss = f" with loss '{loss}'"
    for key in given or {}:
        if key not in known:
            names = ", ".join(known) or "none"
            raise HeadstartError(
                f"task '{task}' has no option '{key}'{with_loss}{did_you_mean(key, list(known))} (its options: {names})"
            )
    out = {**known, **(given or {})}
    if task == "regression":
        tasks.regression_loss(out["loss"], out["delta"])  # a bad loss or delta fails here
    if task == "multilabel":
        LOSSES.create(out["loss"], **{k: v for k, v in loss_options(out).items() if k != "pos_weight"})  # checked
        pos = out.get("pos_weight")
        if pos is not None and pos != "balanced" and not isinstance(pos, (list, tuple, int, float)):
            raise HeadstartError(f"pos_weight must be 'balanced' or one number per label, got {pos!r}")
        cut = out["threshold"]
        if cut is not None and (isinstance(cut, bool) or not isinstance(cut, (int, float)) or not 0 < cut < 1):
            raise HeadstartError(f"threshold must be a number in (0, 1), got {cut!r}")
    return out


def loss_options(options: dict[str, Any]) -> dict[str, Any]:
    """The multi-label loss's own options among the task's ``options`` (those :func:`task_options` returned)."""
    from headstart.imbalance.multilabel import LOSSES

    return {k: options[k] for k in LOSSES.options(options["loss"])}


def multilabel_criterion(options: dict[str, Any], matrix: np.ndarray) -> tuple[Any, np.ndarray | None]:
    """The fine-tuning loss of a multi-label target (``options["loss"]`` with its options; ``pos_weight``
    resolved on the training rows' 0/1 ``matrix``) and the positive weights (``None`` without)."""
    from headstart.imbalance.multilabel import make_loss
    from headstart.train.tasks import positive_weights

    own = loss_options(options)
    pos = positive_weights(matrix, own["pos_weight"]) if "pos_weight" in own else None
    if "pos_weight" in own:
        own["pos_weight"] = pos
    return make_loss(options["loss"], **own), pos


def check_supported(params: dict[str, Any], task: str) -> None:
    """What classification offers that these tasks do not: one line naming the task."""
    for name, flag in (("imbalance", "--imbalance"), ("debias", "--debias"), ("class_weight", "--class-weight")):
        if params.get(name) is not None:
            raise HeadstartError(f"{flag} works on classes; the task is {task}: leave out {flag}")
    if params.get("tta"):
        raise HeadstartError(f"--tta averages class scores; the task is {task}: leave out --tta")


def check_labels(data: Dataset) -> None:
    """Multi-label training rows: every label has a positive and a negative row, else one line."""
    if data.task != "multilabel":
        return
    pos = data.labels.sum(0)
    for name, n in zip(data.label_names or [], pos, strict=True):
        if n == 0 or n == len(data):
            which = "no row" if n == 0 else "every row"
            raise HeadstartError(
                f"label '{name}' is on {which} of the {len(data)} training rows of {data.source}: "
                f"nothing to learn; drop it or add rows {'with' if n == 0 else 'without'} it"
            )


def validation_rows(data: Dataset, val_size: float, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Row indices (training, validation cut from them: a random ``val_size``, as
    ``Dataset.train_test_split`` cuts it), or no validation rows when ``val_size`` is 0 or rows are few."""
    from headstart.data import stratified_split

    if not val_size or len(data) < MIN_THRESHOLD_ROWS:
        return np.arange(len(data)), None
    return stratified_split(np.zeros(len(data)), val_size, seed)


def _probabilities(head: nn.Module, features: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.sigmoid(head(torch.from_numpy(np.asarray(features, dtype=np.float32)))).numpy()


def thresholds_on(
    head: nn.Module, features: np.ndarray | None, matrix: np.ndarray | None, fixed: Any, n_labels: int
) -> tuple[list[float], str]:
    """Each label's threshold: ``fixed``, else tuned on validation rows (best F1 per label), else 0.5;
    and how it was chosen."""
    from headstart.heads import tune_thresholds

    if fixed is not None:
        if not isinstance(fixed, (int, float)) or not 0 < fixed < 1:
            raise HeadstartError(f"threshold must be a number in (0, 1), got {fixed!r}")
        return [float(fixed)] * n_labels, "fixed"
    if features is None or matrix is None or len(matrix) < MIN_THRESHOLD_ROWS:
        return [0.5] * n_labels, "0.5 (too few validation rows to tune)"
    return tune_thresholds(_probabilities(head, features), matrix), f"tuned on {len(matrix)} validation rows"


def fit_probe(
    state: RunState, params: dict[str, Any], data: Dataset, features: Callable[..., np.ndarray], backbone: Any
) -> nn.Linear:
    """The probe for ``data.task`` on ``backbone``'s cached features; what it chose goes in ``state``."""
    from headstart.heads import ridge_probe, unstandardise
    from headstart.train.tasks import positive_weights

    options = task_options(data.task, params.get("task_options"))
    feats = features(backbone, data, "fit")
    start = time.perf_counter()
    state.n_features = int(feats.shape[1])
    if data.task == "regression":
        head, info = ridge_probe(feats, data.labels)
        state.targets = {**info, "probe": "ridge (RidgeCV, leave-one-out)"}
        head = unstandardise(head, info["mean"], info["std"])
    else:  # C (per label) and thresholds chosen on the validation split, then refitted on every row
        if options["loss"] != "bce":
            raise HeadstartError(
                f"multi-label loss '{options['loss']}' trains through the loop; the linear probe fits logistic "
                f"regression per label: use a fine-tuning --strategy (head, full, ...) or leave out loss"
            )
        matrix = data.labels
        pos = positive_weights(matrix, options["pos_weight"])
        weights = None if pos is None else [{0: 1.0, 1: float(w)} for w in pos]
        probe = {"seed": params["seed"], "val_size": params["val_size"]}
        tr, va = validation_rows(data, params["val_size"], params["seed"])
        if va is None:
            head, Cs = per_label_probe(feats, matrix, params["C"], weights, probe)
            cuts, how = thresholds_on(head, None, None, options["threshold"], matrix.shape[1])
        else:
            first, Cs = per_label_probe(feats[tr], matrix[tr], params["C"], weights, probe)
            cuts, how = thresholds_on(first, feats[va], matrix[va], options["threshold"], matrix.shape[1])
            head = per_label_probe(feats, matrix, Cs, weights, probe)[0]
        state.targets = {"thresholds": cuts, "thresholds_from": how, "C": Cs,
                         "pos_weight": None if pos is None else pos.tolist()}  # fmt: skip
    state.timings["head_seconds"] = time.perf_counter() - start
    return head


def per_label_probe(
    feats: np.ndarray, matrix: np.ndarray, C: Any, weights: list | None, probe: dict[str, Any]
) -> tuple[nn.Linear, list[float]]:
    from headstart.heads import multilabel_probe

    if weights is None:
        return multilabel_probe(feats, matrix, C=C, **probe)
    heads = [multilabel_probe(feats, matrix[:, [k]], C=C if not isinstance(C, list) else C[k],
                              class_weight=weights[k], **probe) for k in range(matrix.shape[1])]  # fmt: skip
    head = nn.Linear(feats.shape[1], matrix.shape[1])
    with torch.no_grad():
        head.weight.copy_(torch.cat([h.weight for h, _ in heads]))
        head.bias.copy_(torch.cat([h.bias for h, _ in heads]))
    return head, [c for _, cs in heads for c in cs]


def fine_tune(
    state: RunState,
    backbone: Any,
    data: Dataset,
    params: dict[str, Any],
    strategy: Any,
    features: Callable[..., np.ndarray],
    run_dir: Any = None,
    resume: bool = False,
) -> tuple[Any, nn.Linear]:
    """Fine-tune ``backbone`` + a head on ``data``'s numbers or label sets through the one loop
    (:func:`headstart.train.job.build_job` with the task's loss and validation hooks)."""
    from headstart.fitting import freeze_bn, learned_pooling, train_config, with_batch_norm
    from headstart.heads import ridge_probe, unstandardise
    from headstart.recipe import note as recipe_note
    from headstart.train import tasks
    from headstart.train.job import build_job
    from headstart.train.targets import Targets

    p, task = params, data.task
    options = task_options(task, p.get("task_options"))
    tr_idx, va_idx = validation_rows(data, p["val_size"], p["seed"])
    tr, va = data.subset(tr_idx), None if va_idx is None else data.subset(va_idx)
    lp_ft = p["head_init"] == "probe" and not resume
    head: nn.Module | None = None
    if task == "regression":
        mean, std = float(tr.labels.mean()), float(tr.labels.std()) or 1.0
        y_tr, y_va = (tr.labels - mean) / std, None if va is None else (va.labels - mean) / std
        loss, val_fn, monitor, width = tasks.regression_loss(options["loss"], options["delta"]), \
            tasks.regression_validation, "r2", 1  # fmt: skip
        if lp_ft:
            head = ridge_probe(features(backbone, tr, "probe"), tr.labels)[0]
        pos = None
    else:
        y_tr, y_va = tr.labels, None if va is None else va.labels
        loss, pos = multilabel_criterion(options, tr.labels)
        val_fn, monitor, width = tasks.multilabel_validation, "mean_ap", tr.labels.shape[1]
        if lp_ft:
            weights = None if pos is None else [{0: 1.0, 1: float(w)} for w in pos]
            head = per_label_probe(features(backbone, tr, "probe"), tr.labels, p["C"], weights,
                              {"seed": p["seed"], "val_size": p["val_size"]})[0]  # fmt: skip
    identity = {"backbone": backbone.spec, "strategy": f"{p['strategy']} {p['strategy_options'] or {}}",
                "data": data.fingerprint(), "pretrained": p["pretrained"], "task": f"{task} {options}"}  # fmt: skip
    job = build_job(
        backbone,
        width,
        tr,
        Targets.values(y_tr),
        train_config(p, monitor),
        strategy,
        val_data=va,
        val_codes=None if va is None else Targets.values(y_va),
        identity=with_batch_norm(identity, p),
        head=head,
        freeze_bn=freeze_bn(p),
    )
    job.hooks = {"loss_fn": loss, "val_fn": val_fn}
    job.notes += recipe_note(state.extras.get("recipe"))
    result = job.run(run_dir, resume, p["progress"])
    model = job.model.cpu().eval()
    backbone, head = model.backbone.eval().requires_grad_(False), model.head.requires_grad_(False)
    state.history, state.best_epoch, state.n_features = result.history, result.best_epoch, int(backbone.feature_dim)
    state.fine_tuned = strategy.name != "head" or learned_pooling(backbone)
    state.timings = {"train_seconds": result.seconds}
    if task == "regression":
        state.targets = {"mean": mean, "std": std, "loss": options["loss"], "delta": options["delta"]}
        return backbone, unstandardise(head, mean, std)
    va_feats = None if va is None else features(backbone, va, "val")
    cuts, how = thresholds_on(head, va_feats, y_va, options["threshold"], width)
    state.targets = {"thresholds": cuts, "thresholds_from": how, "pos_weight": None if pos is None else pos.tolist(),
                     "loss": loss.describe(), "loss_options": {"loss": options["loss"], **loss.options()}}  # fmt: skip
    return backbone, head
