"""The 4-block convolutional encoder of few-shot learning (Vinyals et al. 2016;
Snell et al. 2017), a Backbone trained from scratch.

Each block is ``conv 3x3 (64) -> batch norm -> ReLU -> max-pool 2``; a 28x28
grey image becomes 64 x 1 x 1, i.e. a 64-d embedding (about 113k parameters).
Images are taken as grey, bright strokes on a dark ground (Omniglot inverted),
``size`` px square; ``train_transform`` adds the light affine augmentation
(rotation, shift, scale, shear) that episodic training uses.

Example:
    >>> import numpy as np
    >>> enc = Conv4()
    >>> enc.forward_features(enc.preprocess([np.zeros((28, 28), np.uint8)])).shape
    torch.Size([1, 64])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from headstart.backbones.vision import ImageBackbone, to_pil


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))


def conv4_transforms(size: int, augment: bool) -> Any:
    from torchvision import transforms as T

    steps: list[Any] = [T.Grayscale(1)]
    if size:
        steps.append(T.Resize((size, size), interpolation=T.InterpolationMode.BILINEAR, antialias=True))
    if augment:
        # Handwriting varies by a few degrees, pixels and percent of scale.
        steps.append(T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.85, 1.15), shear=10, fill=0))
    steps.append(T.ToTensor())
    return T.Compose(steps)


class Conv4(ImageBackbone):
    """Conv4 for ``channels``-channel ``size``-px images; ``width`` filters per block."""

    def __init__(self, size: int = 28, width: int = 64, in_channels: int = 1) -> None:
        blocks = nn.Sequential(
            conv_block(in_channels, width), conv_block(width, width), conv_block(width, width), conv_block(width, width)
        )
        super().__init__(
            model=nn.Sequential(blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten()),
            transform=conv4_transforms(size, augment=False),
            feature_dim=width,
            spec=f"conv4-{width}@{size}",
            source="scratch",
            pretrained_config={"input_size": size, "width": width, "in_channels": in_channels, "grey": True},
        )
        self.train_transform = conv4_transforms(size, augment=True)
        # channels-last convolutions run about 1.5x faster on CPU (oneDNN) for these small maps.
        self.model.to(memory_format=torch.channels_last)
        self.channels_last = True  # off under torch.func.vmap, which cannot query memory formats

    def preprocess(self, raw: Sequence[Any]) -> torch.Tensor:
        return torch.stack([self.transform(to_pil(x)) for x in raw])

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return self.model(batch)
