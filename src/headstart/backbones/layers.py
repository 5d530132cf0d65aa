"""Features from an intermediate block: ``SPEC@blockK``.

``efficientnet-lite0@block4`` or ``minilm@block3`` is the same network cut after
its K-th block (1-based, counted in the block container that
:func:`~headstart.backbones.base.find_blocks` finds: timm's ``blocks``, BERT's
``encoder.layer``), its output pooled to one vector per input:

- ``(B, C, H, W)`` feature maps: global average pooling;
- ``(B, T, D)`` token states: the mean over the tokens the attention mask keeps
  (L2-normalised when the full backbone normalises, as sentence encoders do);
- ``(B, D)``: as is.

Lower layers are more generic, higher ones more specific to the source task
(Yosinski et al. 2014), so ranking the layers of one backbone is part of
choosing what to transfer. The forward pass stops after block K (a hook raises
once block K's output is captured), so a low layer is also cheaper. The hooks are
registered for the one forward pass that needs them (:func:`tap_blocks`), so several
layers of one network can share it: :func:`forward_members` computes the features of
the whole network and of any number of its layers from one pass.

    >>> bb = load_backbone("efficientnet-lite0@block4")
    >>> bb.feature_dim
    80
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from headstart.backbones.base import Backbone, WrappedBackbone, as_tokens, find_blocks
from headstart.errors import HeadstartError

LAYER_RE = re.compile(r"^(?P<base>.+)@block(?P<k>\d+)$")


def split_layer(spec: str) -> tuple[str, int | None]:
    """``"minilm@block3"`` -> ``("minilm", 3)``; a spec without a layer -> ``(spec, None)``."""
    if "@" not in spec:
        return spec, None
    m = LAYER_RE.match(spec)
    if m is None:
        raise HeadstartError(f"backbone '{spec}': a layer is written NAME@blockK, K = 1, 2, ... (e.g. minilm@block3)")
    return m["base"], int(m["k"])


class _Captured(Exception):
    """Raised by a hook once the last block wanted has run: nothing above it is needed."""


def tap_blocks(
    inner: Backbone, paths: Sequence[str], batch: Any, run_all: bool = False
) -> tuple[dict[str, Any], torch.Tensor | None]:
    """One forward pass of ``inner`` that keeps the outputs of the blocks at ``paths``.

    The pass stops once every block in ``paths`` has run, unless ``run_all``: then it
    runs to the end and ``inner``'s own features come back too (else None). The hooks
    live for this pass only."""
    outputs: dict[str, Any] = {}
    wanted = set(paths)

    def keep(path: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            outputs[path] = output[0] if isinstance(output, tuple) else output
            if not run_all and wanted <= outputs.keys():
                raise _Captured

        return hook

    handles = [inner.get_submodule(p).register_forward_hook(keep(p)) for p in dict.fromkeys(paths)]
    full = None
    try:
        full = inner.forward_features(batch)
    except _Captured:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = wanted - outputs.keys()
    if missing:  # pragma: no cover - a block outside the forward pass
        raise HeadstartError(f"block {sorted(missing)[0]} of '{inner.spec}' did not run")
    return outputs, full


def forward_members(root: Backbone, members: Sequence[Backbone], batch: Any) -> list[torch.Tensor]:
    """Features of each member (``root`` itself, or a :class:`LayerBackbone` of ``root``) from
    one forward pass of ``root``: what ``member.forward_features(batch)`` returns, each."""
    layers = [m for m in members if m is not root]
    for m in layers:
        if not isinstance(m, LayerBackbone) or m.inner is not root:
            raise HeadstartError(f"'{m.spec}' is not a layer of '{root.spec}': it needs a forward pass of its own")
    outputs, full = tap_blocks(root, [m.block_path for m in layers], batch, run_all=len(layers) < len(members))
    return [full if m is root else m.pool(outputs[m.block_path], batch) for m in members]


class LayerBackbone(WrappedBackbone):
    """``inner`` cut after its ``k``-th block; the same preprocessing as ``inner``."""

    source = "layer"

    def __init__(self, inner: Backbone, k: int) -> None:
        super().__init__()
        found = find_blocks(inner)
        if found is None:
            raise HeadstartError(f"backbone '{inner.spec}' has no block container to cut: use it whole")
        name, blocks = found
        if not 1 <= k <= len(blocks):
            raise HeadstartError(
                f"backbone '{inner.spec}' has {len(blocks)} blocks: use @block1 .. @block{len(blocks)}"
            )
        self.inner = inner
        self.k = k
        self.block_path = f"{name}.{k - 1}"
        self.spec = f"{inner.spec}@block{k}"
        self.modality = inner.modality
        self.pretrained = inner.pretrained
        self.pretrained_config = inner.pretrained_config.updated(layer=f"block{k}")
        self.train_transform = inner.train_transform
        # The modality's own surface that callers read off the backbone (images:
        # ``transform``; text: ``tokenizer``, ``max_length``), where the inner one has it.
        for attr in ("transform", "tokenizer", "max_length"):
            if hasattr(inner, attr):
                setattr(self, attr, getattr(inner, attr))
        self.feature_dim = self._probe_dim()

    def _probe_dim(self) -> int:
        from PIL import Image

        if self.modality not in ("text", "image"):
            raise HeadstartError(f"backbone '{self.inner.spec}' ({self.modality}) has no layers to choose from")
        sample: list[Any] = ["a"] if self.modality == "text" else [Image.new("RGB", (32, 32))]
        with torch.no_grad():
            return int(self.forward_features(self.preprocess(sample)).shape[1])

    def _block_output(self, batch: Any) -> torch.Tensor:
        # Under torch.export (ONNX export) the pass runs to the end instead of stopping by an exception,
        # which tracing cannot follow; the exported graph keeps only what block K's output needs.
        run_all = torch.compiler.is_exporting()
        return tap_blocks(self.inner, [self.block_path], batch, run_all=run_all)[0][self.block_path]

    @property
    def has_tokens(self) -> bool:
        return self.inner.has_tokens

    def forward_tokens(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Block K's output as tokens (text: its hidden states and the attention mask)."""
        if not self.inner.has_tokens:
            return self.inner.forward_tokens(batch)  # the one-line refusal
        mask = batch.get("attention_mask") if isinstance(batch, dict) else None
        return as_tokens(self._block_output(batch), mask)

    def forward_features(self, batch: Any) -> torch.Tensor:
        return self.pool(self._block_output(batch), batch)

    def pool(self, h: torch.Tensor, batch: Any) -> torch.Tensor:
        """Block K's output ``h`` for ``batch`` as one vector per input (module docstring)."""
        if h.ndim == 4:
            return h.mean(dim=(2, 3))
        if h.ndim == 3:
            mask = batch.get("attention_mask") if isinstance(batch, dict) else None
            if mask is None:
                return h.mean(dim=1)
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1)
            if self.inner.pretrained_config.get("normalize"):
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            return pooled
        return h

    # source_logits: the default (None): an intermediate layer has no source-task head.

    def save(self, folder: str | Path) -> Path:
        from headstart.io import write_json

        out = self.inner.save(folder)
        meta_file = Path(folder) / "backbone.json"
        meta = json.loads(meta_file.read_text())
        write_json(meta_file, {**meta, "layer": self.k})
        return out
