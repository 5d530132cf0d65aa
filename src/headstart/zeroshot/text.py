"""Shared by the zero-shot methods: a backbone from a spec, text embeddings
through the features cache, prompt templates averaged, label descriptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from headstart.errors import HeadstartError

DEFAULT_TEMPLATES: tuple[str, ...] = ("{label}", "This message is {label}.", "This text is about {label}.")


def backbone_of(spec: Any) -> Any:
    """A Backbone from a spec string (``"minilm"``), or the Backbone itself."""
    if isinstance(spec, str):
        from headstart.backbones import load_backbone

        return load_backbone(spec)
    return spec


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def embed_texts(backbone: Any, texts: Sequence[str], cache: bool = True, progress: bool | None = False) -> np.ndarray:
    """L2-normalised ``(N, D)`` embeddings of ``texts`` (from the features cache when there)."""
    from headstart.data import from_arrays
    from headstart.features import extract

    if backbone.modality != "text":
        raise HeadstartError(f"the text encoder must be a text backbone; '{backbone.spec}' is {backbone.modality}")
    return normalize(
        extract(backbone, from_arrays(list(texts), modality="text"), cache=cache, progress=progress).features
    )


def label_prompts(
    labels: Sequence[Any], descriptions: Mapping[Any, str] | Sequence[str] | None, templates: Sequence[str]
) -> list[list[str]]:
    """For each label, its prompts: every template filled with the label's
    description (or its name when it has none)."""
    if not labels:
        raise HeadstartError("zero-shot needs at least one label")
    if not templates or any("{label}" not in t for t in templates):
        raise HeadstartError("each prompt template must contain '{label}', e.g. 'This message is {label}.'")
    if descriptions is None:
        texts = [str(label) for label in labels]
    elif isinstance(descriptions, Mapping):
        texts = [str(descriptions.get(label, label)) for label in labels]
    else:
        if len(descriptions) != len(labels):
            raise HeadstartError(f"{len(descriptions)} descriptions for {len(labels)} labels")
        texts = [str(d) for d in descriptions]
    empty = [str(label) for label, t in zip(labels, texts, strict=True) if not t.strip()]
    if empty:
        raise HeadstartError(f"label {empty[0]!r} has an empty name or description")
    return [[t.format(label=text) for t in templates] for text in texts]


def prompt_embeddings(backbone: Any, prompts: list[list[str]], cache: bool = False) -> np.ndarray:
    """One embedding per label: the normalised mean of its prompts' normalised embeddings, ``(K, D)``."""
    flat = [p for group in prompts for p in group]
    emb = embed_texts(backbone, flat, cache=cache)
    out, start = [], 0
    for group in prompts:
        out.append(emb[start : start + len(group)].mean(0))
        start += len(group)
    return normalize(np.stack(out))
