"""The Backbone protocol: one surface over every pretrained model.

Whatever its source (Hugging Face, timm, torchvision, a saved folder, the
embedded defaults), a backbone is an ``nn.Module`` with:

- ``modality``: ``"text"``, ``"image"`` or ``"tabular"``;
- ``feature_dim``: size D of the pooled embedding;
- ``preprocess(raw)``: a list of raw inputs -> a batch for ``forward_features``;
- ``forward_features(batch) -> (B, D)`` pooled embeddings (and, where the model
  has them, ``forward_tokens(batch) -> ((B, T, D), mask)``);
- ``param_groups()``: parameters grouped from input to output (embeddings/stem,
  each block, then the top), which layer-wise learning rates and gradual
  unfreezing need;
- ``pretrained_config``: what preprocessing expects (input size, mean/std,
  interpolation; or tokenizer, max length, pooling);
- ``save(folder)``: weights (safetensors) + ``backbone.json``, loadable with
  ``local:FOLDER`` and no network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

BACKBONE_JSON = "backbone.json"
WEIGHTS_FILE = "weights.safetensors"


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
    """Base class; subclasses set the attributes and implement the methods."""

    spec: str = ""
    modality: str = ""
    feature_dim: int = 0
    source: str = ""
    input_width: int | None = None  # numeric columns a tabular backbone takes (None: any)

    def __init__(self) -> None:
        super().__init__()
        self.pretrained_config: dict[str, Any] = {}

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
        config = json.dumps(self.pretrained_config, sort_keys=True, default=str)
        return hashlib.sha256(f"{self.spec}|{config}|{weights_fingerprint(self)}".encode()).hexdigest()[:24]

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "source": self.source,
            "modality": self.modality,
            "feature_dim": self.feature_dim,
            "parameters": sum(p.numel() for p in self.parameters()),
            "pretrained_config": self.pretrained_config,
        }

    def _write_meta(self, folder: Path, meta: dict[str, Any]) -> None:
        from headstart.io import atomic_write_text

        meta = {
            "source": self.source,
            "spec": self.spec,
            "modality": self.modality,
            "feature_dim": self.feature_dim,
            "pretrained_config": self.pretrained_config,
            **meta,
        }
        atomic_write_text(folder / BACKBONE_JSON, json.dumps(meta, indent=2, default=str))
