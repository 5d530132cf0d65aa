"""``scratch:NAME`` backbones: small networks with random weights, trained from
scratch (no pretrained weights exist, none are downloaded).

- ``scratch:lenet``: the LeNet-style conv net that domain-adaptation papers use
  on digits (TLlib's ``lenet``: two 5x5 conv + max-pool blocks and a 500-unit
  fully connected layer), on grey ``size`` x ``size`` images (default 28; any
  image is resized to it, so MNIST 28x28 and USPS 16x16 meet at one size).
  Options: ``size`` (16 or more; 5x5 convs are padded by 2, so any size works),
  ``width`` (units of the last layer, the feature size D; default 500).
- ``scratch:mlp``: numeric feature columns -> a two-layer ReLU MLP (``hidden``
  units, default 64): the smallest trainable feature extractor for tabular
  data (the ``identity`` backbone has nothing to adapt).
- ``scratch:seqconv``: a 1-D conv encoder for variable-length sequences with
  a mask. Inputs are tabular rows ``[length, x_1, ..., x_T]``: column 0 holds
  each row's true length, the rest the values, zero-padded to the longest row
  (:func:`pad_sequences` builds them). Two conv blocks (kernel 5, dilation 1
  and 2), each zeroed beyond the row's length so padding never leaks in, then
  the masked mean and max over time -> ``(B, 2 * channels)``.
- ``scratch:tsconv``: time series (``timeseries`` modality: any length, any
  channels, padded per batch with a mask, pooled by ``pool``); see
  :mod:`headstart.backbones.sequence`.
- ``scratch:fcn``: Wang et al.'s (2017) fully convolutional network for time series
  (three conv + batch-norm blocks, 128/256/128 channels, global average pooling), masked
  the same way; see :mod:`headstart.backbones.fcn`.

Example:
    >>> from headstart.backbones import load_backbone
    >>> bb = load_backbone("scratch:lenet", size=16)
    >>> import numpy as np
    >>> bb.forward_features(bb.preprocess([np.zeros((28, 28), np.uint8)])).shape
    torch.Size([1, 500])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.backbones.base import WEIGHTS_FILE, Backbone, ParamGroup
from headstart.backbones.registry import register_source
from headstart.backbones.vision import ImageBackbone, to_pil
from headstart.errors import HeadstartError, did_you_mean


class _GreyTransform:
    """Any image -> a ``(1, size, size)`` tensor in [-1, 1] (bilinear resize).

    A class, not a closure, so DataLoader worker processes can pickle it."""

    def __init__(self, size: int) -> None:
        self.size = int(size)

    def __call__(self, image: Any) -> torch.Tensor:
        from PIL import Image

        im = to_pil(image).convert("L")
        if im.size != (self.size, self.size):
            im = im.resize((self.size, self.size), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)
        return (x.unsqueeze(0) - 0.5) / 0.5


def lenet(width: int = 500) -> nn.Module:
    """Conv(1->20, 5) pool ReLU, Conv(20->50, 5) dropout pool ReLU, then FC -> ``width`` ReLU
    (both convs padded by 2 so any input size works; the FC layer is lazy: its
    input size follows the image size)."""
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 20, 5, padding=2), nn.MaxPool2d(2), nn.ReLU()),
        nn.Sequential(nn.Conv2d(20, 50, 5, padding=2), nn.Dropout2d(0.5), nn.MaxPool2d(2), nn.ReLU()),
        nn.Sequential(nn.Flatten(), nn.LazyLinear(width), nn.ReLU(), nn.Dropout(0.5)),
    )


class ScratchImageBackbone(ImageBackbone):
    """``scratch:lenet``; saved as weights + ``backbone.json`` (``local:FOLDER``)."""

    def param_groups(self) -> list[ParamGroup]:
        return [ParamGroup(f"block{i}", list(b.parameters())) for i, b in enumerate(self.model)]

    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / WEIGHTS_FILE, self.model.state_dict())
        self._write_meta(folder, {"loader": "scratch"})
        return folder


def _lenet_backbone(size: int = 28, width: int = 500) -> ScratchImageBackbone:
    if int(size) < 8:
        raise HeadstartError(f"scratch:lenet needs images of at least 8x8, got size={size}")
    model = lenet(int(width))
    with torch.no_grad():  # materialise the lazy layer: its size follows the image size
        model(torch.zeros(1, 1, int(size), int(size)))
    transform = _GreyTransform(int(size))
    config = {"architecture": "lenet", "input_size": [1, int(size), int(size)], "mean": [0.5], "std": [0.5]}
    config.update(interpolation="bilinear", width=int(width))
    return ScratchImageBackbone(model, transform, int(width), "scratch:lenet", "scratch", config)


class SeqConvBackbone(Backbone):
    """``scratch:seqconv``: masked 1-D conv encoder over ``[length, values...]`` rows."""

    modality = "tabular"
    source = "scratch"
    pads_inputs = True  # rows of different widths are the same sequences with more zero padding

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.spec = "scratch:seqconv"
        self.channels = int(channels)
        self.feature_dim = 2 * self.channels
        self.pretrained_config = {"architecture": "seqconv", "channels": self.channels}
        self.blocks = nn.ModuleList(
            [
                nn.Conv1d(1, self.channels, 5, padding=2),
                nn.Conv1d(self.channels, self.channels, 5, padding=4, dilation=2),
            ]
        )

    def preprocess(self, raw: Sequence[Any]) -> torch.Tensor:
        return torch.as_tensor(np.asarray(raw, dtype=np.float32))

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        lengths = batch[:, 0].round().long().clamp(min=1)
        x = batch[:, 1:]
        mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).to(x.dtype)  # (B, T)
        h = (x * mask).unsqueeze(1)  # (B, 1, T)
        for conv in self.blocks:
            h = torch.relu(conv(h)) * mask.unsqueeze(1)  # padding stays exactly zero
        mean = h.sum(2) / mask.sum(1, keepdim=True)
        top = h.masked_fill(mask.unsqueeze(1) == 0, float("-inf")).amax(2)
        return torch.cat([mean, top], dim=1)

    def param_groups(self) -> list[ParamGroup]:
        return [ParamGroup(f"blocks.{i}", list(b.parameters())) for i, b in enumerate(self.blocks)]

    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / WEIGHTS_FILE, self.state_dict())
        self._write_meta(folder, {"loader": "scratch"})
        return folder


class MLPBackbone(Backbone):
    """``scratch:mlp``: ``(B, F)`` numeric columns -> ``(B, hidden)`` (Linear ReLU Linear ReLU)."""

    modality = "tabular"
    source = "scratch"

    def __init__(self, feature_dim: int = 0, hidden: int = 64) -> None:
        super().__init__()
        if int(feature_dim) < 1:
            raise HeadstartError("scratch:mlp needs the number of input columns (feature_dim)")
        self.spec = "scratch:mlp"
        self.in_dim, self.feature_dim = int(feature_dim), int(hidden)
        self.input_width = self.in_dim
        self.pretrained_config = {"architecture": "mlp", "in_dim": self.in_dim, "hidden": self.feature_dim}
        self.blocks = nn.Sequential(
            nn.Sequential(nn.Linear(self.in_dim, self.feature_dim), nn.ReLU()),
            nn.Sequential(nn.Linear(self.feature_dim, self.feature_dim), nn.ReLU()),
        )

    def preprocess(self, raw: Sequence[Any]) -> torch.Tensor:
        return torch.as_tensor(np.asarray(raw, dtype=np.float32))

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return self.blocks(batch)

    def param_groups(self) -> list[ParamGroup]:
        return [ParamGroup(f"blocks.{i}", list(b.parameters())) for i, b in enumerate(self.blocks)]

    save = SeqConvBackbone.save


def pad_sequences(sequences: Sequence[Sequence[float]], width: int | None = None) -> np.ndarray:
    """Variable-length sequences -> ``(N, 1 + T)`` rows ``[length, values..., 0, 0]``
    (``T`` = ``width`` or the longest), the input of ``scratch:seqconv``."""
    lengths = [len(s) for s in sequences]
    if not lengths or min(lengths) == 0:
        raise HeadstartError("pad_sequences: every sequence needs at least one value")
    width = int(width or max(lengths))
    if max(lengths) > width:
        raise HeadstartError(f"pad_sequences: a sequence of {max(lengths)} values does not fit width {width}")
    out = np.zeros((len(sequences), 1 + width), dtype=np.float32)
    for i, s in enumerate(sequences):
        out[i, 0] = len(s)
        out[i, 1 : 1 + len(s)] = np.asarray(s, dtype=np.float32)
    return out


def _tsconv(**kwargs: Any) -> Backbone:
    from headstart.backbones.sequence import TSConvBackbone

    return TSConvBackbone(**kwargs)


def _fcn(**kwargs: Any) -> Backbone:
    from headstart.backbones.fcn import FCNBackbone

    return FCNBackbone(**kwargs)


ARCHITECTURES = {
    "lenet": _lenet_backbone,
    "mlp": MLPBackbone,
    "seqconv": SeqConvBackbone,
    "tsconv": _tsconv,
    "fcn": _fcn,
}


@register_source("scratch", needs="nothing: random weights, trained from scratch")
def load(name: str, pretrained: bool = True, **kwargs: Any) -> Backbone:
    """``scratch:ARCH``: a small architecture with random weights, to train from scratch."""
    if name not in ARCHITECTURES:
        raise HeadstartError(
            f"unknown scratch network '{name}'{did_you_mean(name, ARCHITECTURES)} "
            f"(available: {', '.join(ARCHITECTURES)})"
        )
    return ARCHITECTURES[name](**kwargs)


def from_folder(folder: Path, meta: dict[str, Any]) -> Backbone:
    from headstart.io import load_tensors

    cfg = meta["pretrained_config"]
    if cfg["architecture"] == "lenet":
        backbone: Backbone = _lenet_backbone(cfg["input_size"][-1], cfg.get("width", 500))
        backbone.model.load_state_dict(load_tensors(folder / WEIGHTS_FILE))
    else:
        if cfg["architecture"] == "mlp":
            backbone = MLPBackbone(cfg["in_dim"], cfg["hidden"])
        else:
            backbone = SeqConvBackbone(cfg["channels"])
        backbone.load_state_dict(load_tensors(folder / WEIGHTS_FILE))
    backbone.spec = meta["spec"]
    return backbone
