"""Shared pieces of image backbones: decoding any image input, and a wrapper
around a module that already returns pooled ``(B, D)`` features."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.backbones.base import Backbone
from headstart.errors import HeadstartError


def to_pil(x: Any) -> Any:
    """A path, PIL image or HxW[xC] array -> an RGB PIL image (clear error if unreadable).

    Arrays of floats are scaled by their own maximum (scikit-learn's digits run
    0..16), integer arrays are taken as 0..255.
    """
    from PIL import Image

    from headstart.runtime import to_rgb

    if isinstance(x, (str, os.PathLike)):
        try:
            with Image.open(x) as im:
                return to_rgb(im)
        except Exception as e:  # any failure of PIL's decoders on a file is an unreadable image
            raise HeadstartError(
                f"cannot read image {x}: {e.__class__.__name__} (damaged or not an image; remove or re-save it)"
            ) from None
    if isinstance(x, Image.Image):
        return to_rgb(x)
    arr = np.asarray(x)
    if arr.ndim not in (2, 3):
        raise HeadstartError(f"an image array must be HxW or HxWxC, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float32)
        top = float(arr.max()) if arr.size else 1.0
        arr = np.clip(arr / (top if top > 0 else 1.0) * 255.0, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return Image.fromarray(arr).convert("RGB")


class ImageBackbone(Backbone):
    """An image model that maps ``(B, 3, H, W)`` to pooled ``(B, D)`` features."""

    modality = "image"

    def __init__(
        self,
        model: nn.Module,
        transform: Callable[[Any], torch.Tensor],
        feature_dim: int,
        spec: str,
        source: str,
        pretrained_config: Mapping[str, Any],
    ) -> None:
        super().__init__()
        self.model = model
        self.transform = transform
        self.feature_dim = int(feature_dim)
        self.spec = spec
        self.source = source
        self.pretrained_config = pretrained_config  # a dict is converted to a PretrainedConfig
        # Training-time augmentation (random crops, flips ...) is ``train_transform``
        # (None: the eval transform); the sources that have one set it.
        # The source task's head (weight (C, D), bias (C,)) when the weights came with one.
        self._source_head: tuple[torch.Tensor, torch.Tensor] | None = None

    def preprocess(self, raw: Sequence[Any]) -> torch.Tensor:
        return torch.stack([self.transform(to_pil(x)) for x in raw])

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        out = self.model(batch)
        return out.flatten(1) if out.ndim > 2 else out

    @property
    def has_source_logits(self) -> bool:
        return self._source_head is not None

    def source_logits(self, features: torch.Tensor) -> torch.Tensor | None:
        """Logits of the source task's head (e.g. ImageNet) when the model had one.

        Kept outside the module's parameters: it is never trained, saved with the
        backbone or counted in its parameter groups.
        """
        if self._source_head is None:
            return None
        weight, bias = self._source_head
        return features @ weight.to(features).T + bias.to(features)
