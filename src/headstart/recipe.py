"""The default recipe: what ``TransferClassifier`` trains with when an option is left at ``None``
(``epochs``, ``lr``, ``train_batch_size``, ``max_length``) and what ``strategy="auto"`` does.

It reads the training rows only (their number, modality and token lengths), never the rows a
run reports on, and it says what it chose and why. The rule, by modality:

============  =================================================================================
text          fine-tune every layer from the linear probe's head (LP-FT), lr 5e-5, batch 32,
              3 epochs (5 under 1,000 rows), ``max_length`` = the 99th percentile of the
              training rows' token counts, rounded up to 8 (at least 16, at most the
              backbone's). Measured: SST-2 2,000 rows -> 0.831 (docs/BENCHMARKS.md, issue 3).
image         fine-tune every layer from the probe's head, lr 1e-4, batch 16, 5 epochs (the
              best of 13 recipes chosen by cross-validation on hymenoptera train/, issue 3).
audio,        the loop's defaults: lr 1e-4, batch 32, 3 epochs, from the probe's head.
timeseries
tabular       the linear probe (there is no backbone to fine-tune).
============  =================================================================================

The probe check: ``auto`` scores the starting model (the frozen backbone with the probe's head)
on the validation rows cut from the training rows before it trains, and fine-tuning must beat
that score by more than one validation row (``margin``) at the end of its first epoch; when it
does not, training stops there and the linear probe, fitted on every training row, is the model
(on hymenoptera, 243 images: fine-tuning scored 0.928-0.941 on val/ against the probe's 0.948).
So a fine-tune that does not pay costs one epoch.

The refit: under 3,000 training rows (``REFIT_ROWS``), once the probe check has passed, the same
fine-tune runs again from the pretrained weights on every training row (the validation rows too)
for the best epoch's count of epochs, and its last epoch is the model: the validation rows picked
the epoch count and are then worth training on. It doubles the training time where training is
short. Chosen on SST-2 training rows only (``benchmarks/recipe_dev.py``, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from headstart.data import Dataset

# The options the recipe fills when they are None, with the loop's fallback values.
FILLED = ("epochs", "lr", "train_batch_size", "max_length")
BY_MODALITY: dict[str, dict[str, Any]] = {
    "text": {"lr": 5e-5, "train_batch_size": 32, "epochs": 3, "small_epochs": 5},
    "image": {"lr": 1e-4, "train_batch_size": 16, "epochs": 5, "small_epochs": 5},
}
FALLBACK: dict[str, Any] = {"lr": 1e-4, "train_batch_size": 32, "epochs": 3, "small_epochs": 3}
SMALL = 1000  # fewer training rows than this: more epochs (text)
REFIT_ROWS = 3000  # fewer training rows than this: refit on all of them once fine-tuning has paid
LENGTH_SAMPLE = 5000  # token lengths are counted on at most this many training rows


@dataclass
class Recipe:
    """What the recipe chose (``values``: the options it filled) and why (``reasons``, one per choice)."""

    values: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    probe_check: bool = False
    refit: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        return "; ".join(self.reasons)


def note(chosen: dict[str, Any] | None) -> list[str]:
    """What the loop prints before its strategy line: the recipe's choices (``Recipe.to_dict()``), if any."""
    reasons = (chosen or {}).get("reasons") or []
    return [f"[bold]recipe[/bold] {'; '.join(reasons)}"] if reasons else []


def choose(params: dict[str, Any], data: Dataset, backbone: Any) -> Recipe:
    """The recipe for ``data`` (training rows) and ``backbone`` given the estimator's ``params``:
    each option the user left at ``None`` gets the rule's value; ones the user set stay."""
    recipe = Recipe()
    rule = BY_MODALITY.get(data.modality, FALLBACK)
    n = len(data)
    where = f"{data.modality} data, {n} training rows"
    if params.get("epochs") is None:
        small = data.modality == "text" and n < SMALL
        recipe.values["epochs"] = rule["small_epochs"] if small else rule["epochs"]
        why = f"under {SMALL} rows" if small else where
        recipe.reasons.append(f"epochs {recipe.values['epochs']} ({why})")
    if params.get("lr") is None:
        recipe.values["lr"] = rule["lr"]
        recipe.reasons.append(f"lr {rule['lr']:g} ({data.modality} recipe)")
    if params.get("train_batch_size") is None:
        recipe.values["train_batch_size"] = rule["train_batch_size"]
        recipe.reasons.append(f"batch {rule['train_batch_size']}")
    if params.get("max_length") is None and data.modality == "text":
        length, why = token_length(backbone, data)
        if length is not None:
            recipe.values["max_length"] = length
            recipe.reasons.append(f"max length {length} ({why})")
    recipe.probe_check = params.get("strategy") == "auto" and data.modality != "tabular"
    recipe.refit = recipe.probe_check and n < REFIT_ROWS
    return recipe


def filled(params: dict[str, Any], recipe: Recipe) -> dict[str, Any]:
    """``params`` with the recipe's values where they were ``None`` (the loop's fallbacks for the rest)."""
    out = {**params, **recipe.values}
    for name in FILLED:
        if out.get(name) is None and name != "max_length":
            out[name] = FALLBACK[name]
    return out


def token_length(backbone: Any, data: Dataset) -> tuple[int | None, str]:
    """The 99th percentile of the training rows' token counts (special tokens included), rounded
    up to a multiple of 8, within [16, the backbone's limit]; ``None`` for a backbone with no tokenizer."""
    tokenizer, limit = _tokenizer(backbone)
    if tokenizer is None:
        return None, ""
    texts = [str(t) for t in np.asarray(data.inputs, dtype=object)]
    if len(texts) > LENGTH_SAMPLE:
        rows = np.random.default_rng(0).choice(len(texts), LENGTH_SAMPLE, replace=False)
        texts = [texts[i] for i in sorted(rows)]
    counts = np.asarray([len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]])
    p99 = float(np.percentile(counts, 99))
    length = int(min(limit, max(16, 8 * math.ceil(p99 / 8))))
    cut = float((counts > length).mean())
    return length, f"99th percentile of {len(counts)} training rows' tokens {p99:.0f}; {cut:.1%} truncated"


def _tokenizer(backbone: Any) -> tuple[Any, int]:
    """The text backbone's tokenizer and token limit, through wrappers (a layer of a network)."""
    seen = backbone
    for _ in range(4):
        tokenizer = getattr(seen, "tokenizer", None)
        if tokenizer is not None:
            return tokenizer, int(getattr(seen, "max_length", 512))
        seen = getattr(seen, "inner", None)
        if seen is None:
            break
    return None, 0


def margin(n_val: int) -> float:
    """How much fine-tuning must beat the probe's validation score by: more than one validation row
    (1.5 rows: one more right could be luck)."""
    return 1.5 / max(1, n_val)
