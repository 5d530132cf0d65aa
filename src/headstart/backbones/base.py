"""The Backbone protocol: one surface over every pretrained model.

Whatever its source (Hugging Face, timm, torchvision, a saved folder, the
embedded defaults, the scratch networks), a backbone is an ``nn.Module`` with:

- ``modality``: ``"text"``, ``"image"``, ``"tabular"``, ``"timeseries"`` or ``"audio"``;
- ``feature_dim``: size D of the pooled embedding;
- ``preprocess(raw)``: a list of raw inputs -> a batch for ``forward_features``;
- ``forward_features(batch) -> (B, D)`` pooled embeddings;
- ``param_groups()``: parameters grouped from input to output (embeddings/stem,
  each block, then the top), which layer-wise learning rates and gradual
  unfreezing need;
- ``pretrained_config``: a :class:`PretrainedConfig`, what preprocessing
  expects (input size, mean/std, interpolation; or tokenizer, max length,
  pooling), recorded in ``backbone.json`` and in the feature-cache key;
- ``save(folder)``: weights (safetensors) + ``backbone.json``, loadable with
  ``local:FOLDER`` and no network.

and optional abilities, declared here with their defaults so that callers ask
the backbone instead of probing it with ``getattr``:

- ``prepare(raw, max_length=None) -> (items, lengths | None)``: a one-off step
  over all rows (tokenizing; a sequence backbone's front end); the default keeps the rows as they are and has
  no lengths (no length bucketing);
- ``collate(items)``: a batch from prepared items; the default is ``preprocess``;
- ``train_transform``: a per-image training augmentation, or ``None`` (the
  evaluation preprocessing is used for training too);
- ``has_source_logits`` / ``source_logits(features)``: the source task's head
  (ImageNet's) when the backbone kept one; the default has none and returns ``None``;
- ``pads_inputs``: tabular rows are ``[length, values...]`` zero-padded
  sequences, so inputs of different widths may be padded to one width
  (``scratch:seqconv``); default ``False``;
- ``input_width``: the numeric columns a tabular backbone takes (``None``: any);
- ``has_tokens`` / ``forward_tokens(batch) -> ((B, T, D), mask (B, T))``: the
  per-token / per-patch features before pooling (text tokens, ViT patch tokens,
  a conv feature map's H x W positions as H*W tokens), the mask 1 where a token
  is real and 0 at padding (right-padded); the default has none and says so
  in one line (what ``attentive-probe`` and multi-task attention read);
- ``pretrained``: whether the weights are pretrained (``load_backbone`` sets it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

BACKBONE_JSON = "backbone.json"
WEIGHTS_FILE = "weights.safetensors"


@dataclass(eq=False)
class PretrainedConfig(Mapping[str, Any]):
    """What a backbone's inputs must look like: the recipe its weights were trained with.

    Every source fills the fields that apply to it (images: ``input_size``
    ``[C, H, W]``, ``mean``, ``std``, ``interpolation``; text: ``tokenizer``,
    ``max_length``, ``pooling``, ``normalize``; scratch networks:
    ``architecture`` and their options); what is specific to one source
    (timm's ``crop_pct``, torchvision's ``resize``, ``layer`` of ``SPEC@blockK``)
    goes to ``extra``. Unset fields are ``None`` (``sample_rate`` for every
    source but the audio encoders, which name the rate they resample to).

    It is also a read-only mapping over the set fields and ``extra``
    (``cfg["pooling"]``, ``cfg.get("input_size")``, ``{**cfg}``), whose
    :meth:`to_dict` is what ``backbone.json`` records and the feature cache
    key hashes: the same dict the sources wrote before this class existed, so
    saved folders load and cache keys stay the same. ``from_dict(to_dict())``
    gives an equal config.
    """

    architecture: str | None = None
    input_size: list[int] | None = None
    mean: list[float] | None = None
    std: list[float] | None = None
    interpolation: str | None = None
    tokenizer: str | None = None
    max_length: int | None = None
    pooling: str | None = None
    normalize: bool | None = None
    sample_rate: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> PretrainedConfig:
        """Known keys become fields, the others ``extra``; a PretrainedConfig is copied."""
        values = dict(values or {})
        known = {k: values.pop(k) for k in _FIELDS if k in values}
        return cls(**known, extra=values)

    def to_dict(self) -> dict[str, Any]:
        """The set fields (in declaration order) then ``extra``: what is saved and hashed."""
        out = {k: getattr(self, k) for k in _FIELDS if getattr(self, k) is not None}
        return {**out, **self.extra}

    def updated(self, **changes: Any) -> PretrainedConfig:
        """A copy with ``changes`` (fields or extra keys; ``None`` unsets a field)."""
        return PretrainedConfig.from_dict({**self.to_dict(), **changes})

    # -- the read-only mapping ----------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if key in _FIELDS and getattr(self, key) is not None:
            return getattr(self, key)
        return self.extra[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # mutable, like a dict


# The typed fields, in declaration order (everything but ``extra``).
_FIELDS = tuple(f.name for f in fields(PretrainedConfig) if f.name != "extra")


@dataclass
class ParamGroup:
    """A named set of parameters; groups are listed from input to output."""

    name: str
    params: list[nn.Parameter]

    def numel(self) -> int:
        return sum(p.numel() for p in self.params)


def group_parameters(model: nn.Module) -> list[ParamGroup]:
    """Group a model's parameters input -> output, for any architecture.

    Finds the block container (the ``ModuleList``/``Sequential`` of 2+ children
    holding the most parameters: BERT's ``encoder.layer``, timm's ``blocks``,
    ViT's ``blocks``) among those holding 30%+ of the weights. Parameters registered before it form ``stem``, each child
    is one group, and those after it form ``top``. Models without such a
    container (torchvision's ResNet keeps ``layer1..4`` as attributes) fall back
    to one group per top-level child. Registration order is taken as data order,
    which holds for the model families we load.
    """
    named = [(n, p) for n, p in model.named_parameters()]
    found = find_blocks(model)
    best = found[0] if found is not None else None
    groups: list[ParamGroup] = []

    def add(group_name: str, p: nn.Parameter) -> None:
        if groups and groups[-1].name == group_name:
            groups[-1].params.append(p)
        else:
            groups.append(ParamGroup(group_name, [p]))

    if best is None:
        for n, p in named:
            add(n.split(".")[0], p)
        return groups
    prefix = best + "."
    seen_block = False
    for n, p in named:
        if n.startswith(prefix):
            seen_block = True
            add(f"{best}.{n[len(prefix) :].split('.')[0]}", p)
        else:
            add("top" if seen_block else "stem", p)
    return groups


def pool_groups(pool: nn.Module | None) -> list[ParamGroup]:
    """``[the pool group]`` when ``pool`` is a learned pooling (:mod:`headstart.pooling`), else ``[]``:
    the group a sequence or text backbone lists last, trained with the head."""
    from headstart.pooling import LEARNED, POOL_GROUP

    if pool is None or getattr(pool, "kind", None) not in LEARNED:
        return []
    return [ParamGroup(POOL_GROUP, list(pool.parameters()))]


def find_blocks(model: nn.Module) -> tuple[str, nn.Module] | None:
    """The block container: the ``ModuleList``/``Sequential`` of 2+ children
    holding the most parameters, among those holding 30%+ of the weights
    (BERT's ``encoder.layer``, timm's ``blocks``); None when there is none."""
    total = sum(p.numel() for p in model.parameters()) or 1
    best, best_size = None, 0
    for name, mod in model.named_modules():
        if isinstance(mod, (nn.ModuleList, nn.Sequential)) and len(mod) >= 2:
            size = sum(p.numel() for p in mod.parameters())
            # A container with under 30% of the weights is not "the blocks" (BERT's
            # vocabulary embedding alone is half of MiniLM; its layers hold 47%).
            if size > best_size and size >= 0.3 * total and name:
                best, best_size = (name, mod), size
    return best


def as_tokens(h: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Any unpooled output as ``(B, T, D)`` tokens and a ``(B, T)`` mask: a feature map
    ``(B, C, H, W)`` becomes its ``H * W`` positions (row-major), ``(B, D)`` one token;
    without ``mask`` every token is real."""
    if h.ndim == 4:
        h = h.flatten(2).transpose(1, 2)
    elif h.ndim == 2:
        h = h.unsqueeze(1)
    if mask is None:
        mask = torch.ones(h.shape[:2], dtype=torch.long, device=h.device)
    return h, mask


def weights_fingerprint(module: nn.Module) -> str:
    """A cheap, stable hash of a module's weights (shapes + a strided sample).

    Distinguishes pretrained from random or fine-tuned weights without hashing
    every byte (used in feature-cache keys).
    """
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        flat = t.detach().reshape(-1)
        step = max(1, flat.numel() // 256)
        sample = flat[::step][:256].float().cpu().numpy()
        h.update(f"{name}{tuple(t.shape)}".encode())
        h.update(sample.tobytes())
    return h.hexdigest()[:16]


class Backbone(nn.Module):
    """Base class; subclasses set the attributes and implement the methods.

    The optional abilities (see the module docstring) have their defaults here;
    a subclass overrides the ones it has.
    """

    spec: str = ""
    modality: str = ""
    feature_dim: int = 0
    source: str = ""
    input_width: int | None = None  # numeric columns a tabular backbone takes (None: any)
    pads_inputs: ClassVar[bool] = False  # tabular rows are zero-padded [length, values...] sequences
    pretrained: bool = True  # pretrained weights (False: random); load_backbone sets it

    def __init__(self) -> None:
        super().__init__()
        self._pretrained_config = PretrainedConfig()
        # An instance attribute, not a class default: a transform that is an nn.Module
        # (torchvision v2) is registered as a submodule, which a class attribute would shadow.
        self.train_transform: Callable[[Any], torch.Tensor] | None = None

    @property
    def pretrained_config(self) -> PretrainedConfig:
        """The preprocessing recipe (:class:`PretrainedConfig`)."""
        return self._pretrained_config

    @pretrained_config.setter
    def pretrained_config(self, value: Mapping[str, Any]) -> None:
        # A plain dict is accepted (and converted): sources outside this package build them.
        self._pretrained_config = PretrainedConfig.from_dict(value)

    # -- the surface ---------------------------------------------------------
    def preprocess(self, raw: Sequence[Any]) -> Any:
        raise NotImplementedError

    def forward_features(self, batch: Any) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, batch: Any) -> torch.Tensor:
        return self.forward_features(batch)

    def param_groups(self) -> list[ParamGroup]:
        return group_parameters(self)

    def save(self, folder: str | Path) -> Path:
        raise NotImplementedError

    # -- optional abilities, with their defaults -----------------------------
    def prepare(self, raw: Sequence[Any], max_length: int | None = None) -> tuple[Any, np.ndarray | None]:
        """Run a one-off step over all rows before batching; returns (items, lengths).

        ``collate`` turns a list of the items into a batch. Lengths (one per
        row) let callers batch rows of similar length together; ``None``: no
        lengths, keep the rows' order. The default keeps ``raw`` as it is.
        ``max_length`` caps the length where there is one (tokens).
        """
        return raw, None

    def collate(self, items: Sequence[Any]) -> Any:
        """A batch for ``forward_features`` from prepared items (default: ``preprocess``)."""
        return self.preprocess(items)

    @property
    def has_source_logits(self) -> bool:
        """Whether :meth:`source_logits` has a source-task head to apply (default: no)."""
        return False

    def source_logits(self, features: torch.Tensor) -> torch.Tensor | None:
        """Logits of the source task (e.g. ImageNet's 1000 classes) from pooled
        ``features`` ``(B, D)``; ``None`` when the backbone has no source head."""
        return None

    @property
    def has_tokens(self) -> bool:
        """Whether :meth:`forward_tokens` gives per-token / per-patch features (default: no)."""
        return False

    def forward_tokens(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Token / patch features ``(B, T, D)`` and their mask ``(B, T)`` (1: a real token)."""
        from headstart.errors import HeadstartError

        raise HeadstartError(
            f"backbone '{self.spec}' has no token or patch features (only pooled ones): use a text encoder "
            f"(minilm, hf:...), a timm model or efficientnet-lite0, or a strategy on pooled features"
        )

    # -- helpers shared by every source -------------------------------------
    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def batch_to(self, batch: Any, device: torch.device) -> Any:
        if isinstance(batch, torch.Tensor):
            return batch.to(device, non_blocking=True)
        if isinstance(batch, dict):
            return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        return batch

    def cache_key(self) -> str:
        """Identity of (architecture, weights, preprocessing) for the feature cache."""
        # Recomputed each time (a strided sample, milliseconds): weights changed in
        # place, by fine-tuning say, must not hit features of the old weights.
        config = json.dumps(self.pretrained_config.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(f"{self.spec}|{config}|{weights_fingerprint(self)}".encode()).hexdigest()[:24]

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "source": self.source,
            "modality": self.modality,
            "feature_dim": self.feature_dim,
            "parameters": sum(p.numel() for p in self.parameters()),
            "pretrained_config": self.pretrained_config.to_dict(),
        }

    def _write_meta(self, folder: Path, meta: dict[str, Any]) -> None:
        from headstart.io import atomic_write_text

        meta = {
            "source": self.source,
            "spec": self.spec,
            "modality": self.modality,
            "feature_dim": self.feature_dim,
            "pretrained_config": self.pretrained_config.to_dict(),
            **meta,
        }
        atomic_write_text(folder / BACKBONE_JSON, json.dumps(meta, indent=2, default=str))


class WrappedBackbone(Backbone):
    """A backbone built around another (``self.inner``, set by the subclass): its inputs are
    ``inner``'s, so reading, preparing and batching them are delegated."""

    inner: Backbone

    def preprocess(self, raw: Sequence[Any]) -> Any:
        return self.inner.preprocess(raw)

    def prepare(self, raw: Sequence[Any], max_length: int | None = None) -> tuple[Any, np.ndarray | None]:
        return self.inner.prepare(raw, max_length=max_length)

    def collate(self, items: Sequence[Any]) -> Any:
        return self.inner.collate(items)
