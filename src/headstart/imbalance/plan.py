"""How an estimator takes an imbalance method: made and checked against the training
classes, ``auto`` resolved on the training rows, recorded, and finished after fine-tuning.

The classifier (``TransferClassifier(imbalance=...)``) calls these with plain
values, so the rules live beside the methods:

    >>> import numpy as np
    >>> m = prepare("weighted", {}, None, np.array([90, 10]), ["a", "b"], fine_tuning=False)
    >>> record(m, "weighted", "", None, ["a", "b"], np.array([90, 10]))["method"]
    'weighted'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from headstart.errors import HeadstartError
from headstart.progress import stderr


def prepare(
    name: str | None,
    options: dict[str, Any] | None,
    class_weight: Any,
    counts: np.ndarray,
    names: Sequence[str],
    fine_tuning: bool,
) -> Any:
    """The imbalance method ``name`` (``None`` for plain training), checked against the class
    ``counts``: one clear line when it cannot apply."""
    from headstart.imbalance import Auto, check_method, make_method, warn_rare_classes

    if name is None:
        if options:
            raise HeadstartError("imbalance_options given without an imbalance method")
        return None
    method = make_method(name, **(options or {}))
    if class_weight is not None:
        raise HeadstartError("class_weight and imbalance both re-weight the classes: use imbalance='weighted' alone")
    if not isinstance(method, Auto):
        check_method(method, counts, names, fine_tuning)
    warn_rare_classes(counts, names)
    return method


def resolve_auto(
    method: Any,
    features: np.ndarray | None,
    codes: np.ndarray,
    n_classes: int,
    probe: dict[str, Any],
    names: Sequence[str],
    fine_tuning: bool,
    batches_taken: bool = False,
) -> tuple[Any, str | None]:
    """``auto``: (the method its rule picks for these training rows, why), printed; any other
    method: (itself, ``None``). ``batches_taken``: debiasing samples the batches by group."""
    from headstart.imbalance import Auto, check_method

    if not isinstance(method, Auto):
        return method, None
    chosen, why = method.choose(features, codes, n_classes, probe, names, fine_tuning, batches_taken=batches_taken)
    stderr.print(f"[bold]imbalance[/bold] auto: {why}", highlight=False, soft_wrap=True)
    check_method(chosen, np.bincount(codes, minlength=n_classes), names, fine_tuning)
    return chosen, why


def record(
    method: Any, requested: str | None, note: str, why: str | None, names: Sequence[str], counts: np.ndarray
) -> dict[str, Any]:
    """What was done, as the run folder's ``imbalance`` entry."""
    return {
        "requested": requested,
        "method": method.name,
        "options": dataclasses.asdict(method),
        "what": method.describe(),
        "note": note,
        "why": why if requested == "auto" else None,
        "class_counts": {n: int(c) for n, c in zip(names, counts, strict=True)},
    }


def finish(
    method: Any,
    head: torch.nn.Linear,
    features: Callable[[Any, str], np.ndarray],
    data: Any,
    codes: np.ndarray,
    val: Any,
    val_codes: np.ndarray | None,
    counts: np.ndarray,
    n_classes: int,
    probe: dict[str, Any],
) -> tuple[torch.nn.Linear, float | None, str]:
    """After fine-tuning: two-stage's second stage, or a post-hoc change of ``head``.
    Returns (the head, the C a second stage chose or ``None``, a note). ``features(rows, stage)``
    gives the fine-tuned backbone's features."""
    if method.two_stage:
        # Stage 2 (cRT): a class-balanced head on the fine-tuned backbone's features.
        stage2 = method.retrain(features(data, "stage2"), codes, n_classes, probe)
        return (
            stage2.head_,
            stage2.C_,
            (f"stage 2: class-balanced linear head on the fine-tuned features of {len(data)} rows, C={stage2.C_:g}"),
        )
    note = ""
    if method.post_hoc:
        val_logits = None
        if method.needs_validation and val is not None:
            with torch.no_grad():
                val_logits = head(torch.from_numpy(features(val, "validation"))).numpy()
        note = method.adjust(head, counts, val_logits, val_codes)
    return head, None, note
