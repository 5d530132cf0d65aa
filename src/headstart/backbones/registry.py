"""Backbone registry: sources keyed by prefix (``hf:``, ``timm:`` ...) plus named
embedded defaults (``minilm``, ``efficientnet-lite0``).

Adding a source is one file in this package with a ``load(name, **kw) -> Backbone``
function decorated with :func:`register_source` (an embedded backbone: a
``load(**kw)`` decorated with :func:`register_embedded`): :data:`SOURCES` and
:data:`EMBEDDED` import every module of the package when first asked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from headstart.errors import HeadstartError, did_you_mean
from headstart.registry import Registry


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


SOURCES = Registry("backbone source", "headstart.backbones", factory=False)
EMBEDDED = Registry("embedded backbone", "headstart.backbones", factory=False)
# What "--backbone auto" means for each modality.
DEFAULTS = {
    "text": "minilm",
    "image": "efficientnet-lite0",
    "tabular": "identity",
    "timeseries": "scratch:tsconv",
    "audio": "ge2e",
}


def register_source(prefix: str, needs: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``load(name, **kw) -> Backbone`` as the source ``PREFIX:NAME``; ``needs``: what it takes."""
    return SOURCES.register(prefix, needs=needs)


def register_embedded(
    name: str, modality: str, package: str | None, description: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``load(**kw) -> Backbone`` as the embedded backbone ``name`` (``package``: the pip package)."""
    return EMBEDDED.register(name, modality=modality, package=package, description=description)


def list_sources() -> list[Source]:
    return [Source(e.name, e.obj, e.meta["needs"]) for e in SOURCES.entries()]


def list_embedded() -> list[Embedded]:
    return [Embedded(e.name, e.obj, **e.meta) for e in EMBEDDED.entries()]


def check_spec(spec: str) -> str:
    """Validate a backbone name without loading anything; returns it stripped.

    Lets a command fail on a misspelt backbone before it reads any data.
    """
    spec = spec.strip()
    if "?" in spec:
        base, _ = split_options(spec)
        check_spec(base)
        return spec
    if "@" in spec:
        from headstart.backbones.layers import split_layer

        base, _ = split_layer(spec)
        check_spec(base)
        return spec
    if spec == "auto" or spec in EMBEDDED:
        return spec
    if ":" in spec and spec.split(":", 1)[0] in SOURCES:
        prefix, name = spec.split(":", 1)
        if not name:
            raise HeadstartError(f"backbone '{spec}' names no model after '{prefix}:'")
        return spec
    known = list(EMBEDDED) + [f"{p}:" for p in SOURCES]
    prefix = spec.split(":", 1)[0] + ":" if ":" in spec else spec
    hint = did_you_mean(prefix, known)
    raise HeadstartError(
        f"unknown backbone '{spec}'{hint} (embedded: {', '.join(EMBEDDED)}; "
        f"sources: {', '.join(p + ':NAME' for p in SOURCES)}; see `headstart models`)"
    )


def split_options(spec: str) -> tuple[str, dict[str, Any]]:
    """``"ge2e?pool=attention&x=1"`` -> ``("ge2e", {"pool": "attention", "x": 1})``: options
    written into a backbone's name, so a run folder that records the name reloads the same
    backbone (``--backbone 'scratch:tsconv?pool=attention'``). Values are JSON where they parse.

    >>> split_options("scratch:tsconv?pool=max&width=32")
    ('scratch:tsconv', {'pool': 'max', 'width': 32})
    """
    import json

    base, _, query = spec.partition("?")
    options: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise HeadstartError(f"backbone '{spec}': option '{part}' is not KEY=VALUE (e.g. ge2e?pool=attention)")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return base.strip(), options


# Tabular backbones that take a fixed number of numeric columns: built for the data's width.
WIDTH_FROM_DATA = ("auto", "identity", "scratch:mlp")
# Time-series backbones built for the data's number of channels.
CHANNELS_FROM_DATA = ("auto", "scratch:tsconv", "scratch:fcn")


def load_backbone_for(spec: Any, data: Any, **kwargs: Any) -> Any:
    """:func:`load_backbone` for ``data`` (a Dataset): its modality resolves ``"auto"``,
    and a tabular backbone of :data:`WIDTH_FROM_DATA` takes the data's number of columns."""
    if data.modality == "tabular" and spec in WIDTH_FROM_DATA:
        import numpy as np

        kwargs.setdefault("feature_dim", int(np.asarray(data.inputs).shape[1]))
    if data.modality == "timeseries" and isinstance(spec, str) and split_options(spec)[0] in CHANNELS_FROM_DATA:
        base, options = split_options(spec)
        if "in_channels" not in options and "in_channels" not in kwargs:
            # Written into the name, so that a run folder that records the name rebuilds the same network.
            base = DEFAULTS["timeseries"] if base == "auto" else base
            options["in_channels"] = int(data.inputs[0].shape[1])
            spec = base + "?" + "&".join(f"{k}={v}" for k, v in options.items())
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
    if "?" in spec:  # options in the name
        base, options = split_options(spec)
        try:
            backbone = load_backbone(base, modality=modality, **{**kwargs, **options})
        except TypeError as e:  # a loader without that keyword
            if "unexpected keyword argument" not in str(e):
                raise
            hint = "; pool is for sequence backbones (ge2e, scratch:tsconv)" if "pool" in options else ""
            raise HeadstartError(
                f"backbone '{base}' does not take the option(s) {', '.join(options)} given in '{spec}'{hint}"
            ) from None
        backbone.spec = spec
        return backbone
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
        if spec in EMBEDDED:
            backbone = EMBEDDED.get(spec)(**kwargs)
        else:
            prefix, name = spec.split(":", 1)
            backbone = SOURCES.get(prefix)(name, **kwargs)
    if modality is not None and backbone.modality != modality:
        raise HeadstartError(f"backbone '{spec}' takes {backbone.modality} inputs but the data is {modality}")
    backbone.pretrained = kwargs.get("pretrained", True)
    return backbone.eval()


def load_backbones(specs: Sequence[str], *, modality: str | None = None, **kwargs: Any) -> list[Any]:
    """:func:`load_backbone` of each spec, except that ``SPEC`` and its layers ``SPEC@blockK``
    share one loaded ``SPEC``: loaded once, and :func:`headstart.features.extract_many` then
    computes all of them in one forward pass."""
    from headstart.backbones.layers import LayerBackbone, split_layer

    bases: dict[str, Any] = {}
    out = []
    for spec in specs:
        spec = check_spec(spec)
        if "?" in spec:  # options in the name: loaded on its own
            out.append(load_backbone(spec, modality=modality, **kwargs))
            continue
        base, k = split_layer(spec)
        if base not in bases:
            bases[base] = load_backbone(base, modality=modality, **kwargs)
        out.append(bases[base] if k is None else LayerBackbone(bases[base], k).eval())
    return out
