"""Rank candidate backbones (or layers of one) for a labelled data set, before training.

Each candidate's features are extracted once (and cached); every
transferability score is then computed on them, and timed. Candidates are
backbone specs (``minilm``, ``efficientnet-lite0@block4``, ``timm:resnet18``),
or ``random:SPEC`` for the same architecture with random weights (the control
that every sensible score must rank last).

    >>> rows = rank(data, ["efficientnet-lite0", "efficientnet-lite0@block4", "random:efficientnet-lite0"])
    >>> [r.candidate for r in rows]          # best first, by LogME
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from headstart.backbones import load_backbones
from headstart.backbones.layers import split_layer
from headstart.backbones.registry import check_spec
from headstart.data import Dataset
from headstart.errors import HeadstartError
from headstart.features import extract_many
from headstart.select.scores import list_scores, needs_source_probs, transferability

RANDOM_PREFIX = "random:"


@dataclass
class Candidate:
    text: str  # as the user wrote it
    spec: str  # the backbone spec
    pretrained: bool


@dataclass
class RankRow:
    candidate: str
    feature_dim: int
    features_seconds: float  # a pass shared by layers of one network: its time, on each of them
    features_cached: bool
    scores: dict[str, float | None] = field(default_factory=dict)  # None: not available for this candidate
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "feature_dim": self.feature_dim,
            "features_seconds": self.features_seconds,
            "features_cached": self.features_cached,
            "scores": self.scores,
            "seconds": self.seconds,
        }


def parse_candidate(text: str) -> Candidate:
    """``"minilm"`` -> pretrained; ``"random:minilm"`` -> the same network, random weights."""
    text = text.strip()
    pretrained = not text.startswith(RANDOM_PREFIX)
    spec = text if pretrained else text[len(RANDOM_PREFIX) :]
    if not spec:
        raise HeadstartError(f"candidate '{text}' names no backbone after '{RANDOM_PREFIX}'")
    return Candidate(text, check_spec(spec), pretrained)


def source_probs(backbone: Any, features: np.ndarray) -> np.ndarray | None:
    """Softmax of the backbone's source-task head on ``features``, when it kept one."""
    if not backbone.has_source_logits:
        return None
    with torch.no_grad():
        logits = backbone.source_logits(torch.from_numpy(features))
    return None if logits is None else torch.softmax(logits.double(), dim=1).numpy()


def _score(name: str, features: np.ndarray, data: Dataset, labels: np.ndarray, probs: Any) -> float:
    """Score ``name``; a regression or multi-label target is scored by LogME's form for it."""
    if data.task != "classification":  # LogME on the numbers or the label matrix
        from headstart.select.logme import logme_targets

        return logme_targets(features, data.labels)
    return transferability(name, features, labels, probs)


def rank(
    data: Dataset,
    candidates: list[str],
    scores: list[str] | None = None,
    *,
    seed: int = 0,
    **extract_kw: Any,
) -> list[RankRow]:
    """Score every candidate on ``data`` (labelled); rows sorted best first by the first score.

    ``extract_kw`` goes to :func:`headstart.features.extract` (batch_size,
    device, cache, cache_dir, progress). Random-weight candidates are
    initialised with ``seed``.
    """
    data.require_labels()
    if len(candidates) < 1:
        raise HeadstartError("rank needs at least one candidate backbone")
    names = scores or (list_scores() if data.task == "classification" else ["logme"])
    if data.task != "classification" and names != ["logme"]:
        other = next(n for n in names if n != "logme")
        raise HeadstartError(
            f"score '{other}' scores class labels; the task is {data.task}: use --scores logme "
            f"(LogME's {data.task} form), or leave --scores out"
        )
    for name in names:
        needs_source_probs(name)  # unknown names fail here, before any extraction
    parsed = [parse_candidate(c) for c in candidates]
    labels = np.asarray(data.labels).astype(str)
    rows = []
    # Layers of one network (SPEC, SPEC@block2, ...) are loaded once and extracted in one pass.
    families: dict[tuple[str, bool], list[Candidate]] = {}
    for cand in parsed:
        base = cand.spec if "?" in cand.spec else split_layer(cand.spec)[0]
        families.setdefault((base, cand.pretrained), []).append(cand)
    for (_, pretrained), family in families.items():
        specs = [c.spec for c in family]
        backbones = load_backbones(specs, modality=data.modality, pretrained=pretrained, seed=seed)
        for cand, backbone, ext in zip(family, backbones, extract_many(backbones, data, **extract_kw), strict=True):
            probs = source_probs(backbone, ext.features) if cand.pretrained else None
            row = RankRow(cand.text, int(ext.features.shape[1]), ext.seconds, ext.cached)
            for name in names:
                if needs_source_probs(name) and probs is None:
                    row.scores[name] = None  # no source-task head: LEEP / NCE do not apply
                    continue
                start = time.perf_counter()
                row.scores[name] = _score(name, ext.features, data, labels, probs)
                row.seconds[name] = time.perf_counter() - start
            rows.append(row)
        del backbones
    key = names[0]
    rows.sort(key=lambda r: -np.inf if r.scores.get(key) is None else r.scores[key], reverse=True)
    return rows
