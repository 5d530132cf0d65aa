"""Backbone registry: sources keyed by prefix (``hf:``, ``timm:`` ...) plus named
embedded defaults (``minilm``, ``efficientnet-lite0``).

Adding a source is one file with a ``load(name, **kw) -> Backbone`` function
decorated with :func:`register_source`, plus its import in ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headstart.errors import HeadstartError, did_you_mean


@dataclass
class Source:
    prefix: str
    load: Callable[..., Any]
    needs: str


@dataclass
class Embedded:
    name: str
    load: Callable[..., Any]
    modality: str
    package: str | None
    description: str


_SOURCES: dict[str, Source] = {}
_EMBEDDED: dict[str, Embedded] = {}
# What "--backbone auto" means for each modality.
DEFAULTS = {"text": "minilm", "image": "efficientnet-lite0", "tabular": "identity"}


def register_source(prefix: str, needs: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _SOURCES[prefix] = Source(prefix, fn, needs)
        return fn

    return deco


def register_embedded(
    name: str, modality: str, package: str | None, description: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _EMBEDDED[name] = Embedded(name, fn, modality, package, description)
        return fn

    return deco


def list_sources() -> list[Source]:
    return list(_SOURCES.values())


def list_embedded() -> list[Embedded]:
    return list(_EMBEDDED.values())


def check_spec(spec: str) -> str:
    """Validate a backbone name without loading anything; returns it stripped.

    Lets a command fail on a misspelt backbone before it reads any data.
    """
    spec = spec.strip()
    if "@" in spec:
        from headstart.backbones.layers import split_layer

        base, _ = split_layer(spec)
        check_spec(base)
        return spec
    if spec == "auto" or spec in _EMBEDDED:
        return spec
    if ":" in spec and spec.split(":", 1)[0] in _SOURCES:
        prefix, name = spec.split(":", 1)
        if not name:
            raise HeadstartError(f"backbone '{spec}' names no model after '{prefix}:'")
        return spec
    known = list(_EMBEDDED) + [f"{p}:" for p in _SOURCES]
    prefix = spec.split(":", 1)[0] + ":" if ":" in spec else spec
    hint = did_you_mean(prefix, known)
    raise HeadstartError(
        f"unknown backbone '{spec}'{hint} (embedded: {', '.join(_EMBEDDED)}; "
        f"sources: {', '.join(p + ':NAME' for p in _SOURCES)}; see `headstart models`)"
    )


# Tabular backbones that take a fixed number of numeric columns: built for the data's width.
WIDTH_FROM_DATA = ("auto", "identity", "scratch:mlp")


def load_backbone_for(spec: Any, data: Any, **kwargs: Any) -> Any:
    """:func:`load_backbone` for ``data`` (a Dataset): its modality resolves ``"auto"``,
    and a tabular backbone of :data:`WIDTH_FROM_DATA` takes the data's number of columns."""
    if data.modality == "tabular" and spec in WIDTH_FROM_DATA:
        import numpy as np

        kwargs.setdefault("feature_dim", int(np.asarray(data.inputs).shape[1]))
    return load_backbone(spec, modality=data.modality, **kwargs)


def load_backbone(spec: Any, *, modality: str | None = None, **kwargs: Any) -> Any:
    """``"minilm"``, ``"timm:resnet18"``, ``"hf:org/model"``, ``"local:runs/x/backbone"``,
    ``"auto"`` (with ``modality``), or a Backbone (returned as is). ``SPEC@blockK``
    cuts any of them after block K (see :mod:`headstart.backbones.layers`).

    ``pretrained=False`` gives the same architecture with random weights (the
    "from scratch" baseline); ``seed`` makes that initialisation reproducible.
    """
    from headstart.backbones.base import Backbone

    if isinstance(spec, Backbone):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise HeadstartError(f"a backbone is a name like 'minilm' or 'timm:resnet18', got {spec!r}")
    spec = check_spec(spec)
    if "@" in spec:  # an intermediate layer of a backbone
        from headstart.backbones.layers import LayerBackbone, split_layer

        base, k = split_layer(spec)
        return LayerBackbone(load_backbone(base, modality=modality, **kwargs), k).eval()
    seed = kwargs.pop("seed", None)
    if spec == "auto":
        if modality is None:
            raise HeadstartError("backbone 'auto' needs to know the data's modality")
        spec = DEFAULTS[modality]
    import torch

    # Random initialisations draw from a forked RNG: reproducible for a seed, and
    # the caller's global RNG state is left as it was.
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if spec in _EMBEDDED:
            backbone = _EMBEDDED[spec].load(**kwargs)
        else:
            prefix, name = spec.split(":", 1)
            backbone = _SOURCES[prefix].load(name, **kwargs)
    if modality is not None and backbone.modality != modality:
        raise HeadstartError(f"backbone '{spec}' takes {backbone.modality} inputs but the data is {modality}")
    backbone.pretrained = kwargs.get("pretrained", True)
    return backbone.eval()
