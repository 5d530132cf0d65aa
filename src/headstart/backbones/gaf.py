"""``gaf:IMAGE_SPEC``: a series drawn as its Gramian angular field, read by an image backbone.

The vision route for time series (Wang & Oates 2015): each channel of a series is min-max scaled
to [-1, 1] (``x``), seen as angles ``phi = arccos(x)``, and drawn as the ``T x T`` image of
``cos(phi_i + phi_j)`` (``field=summation``, the GASF) or ``sin(phi_i - phi_j)``
(``field=difference``, the GADF). A series longer than ``size`` steps (default: the image
backbone's input size) is first shortened to ``size`` by piecewise aggregate approximation
(segment means, as ``pyts``' ``image_size`` does); the field is then resized (bilinear) to
``size x size``, put in [0, 1] and normalised with the image backbone's mean and std (no crop:
the corners are the series' first and last steps). Colour ``k`` is the field of channel
``k % C`` (a univariate series: the same field in all three; at most 3 channels). The image
backbone (``gaf:efficientnet-lite0``) gives the pooled features: frozen with
``--strategy linear-probe``, or fine-tuned. The summation field of ``-x`` is that of ``x``
(``phi -> pi - phi`` leaves ``cos(phi_i + phi_j)`` unchanged): it cannot tell a series from its
upside-down copy; the difference field can.

The field is computed here with numpy (three lines); it equals ``pyts.image.GramianAngularField``
(0.14.1, ``sample_range=(-1, 1)``) to float precision: ``benchmarks/ucr_transfer.py --check-gaf``.

    >>> import numpy as np
    >>> g = gramian_angular_field(np.array([0.0, 1.0, 2.0]))
    >>> g.shape, float(g[0, 0]), float(g[1, 1])  # the diagonal is cos(2 phi) = 2 x^2 - 1
    ((3, 3), 1.0, -1.0)
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
from headstart.errors import HeadstartError

FIELDS = ("summation", "difference")


def paa(x: np.ndarray, size: int) -> np.ndarray:
    """``x`` (T,) as ``size`` segment means when ``T > size`` (piecewise aggregate approximation), else ``x``."""
    if len(x) <= size:
        return x
    bounds = (np.arange(size + 1) * len(x)) // size
    return np.add.reduceat(x, bounds[:-1]) / np.diff(bounds)


def gramian_angular_field(x: np.ndarray, field: str = "summation") -> np.ndarray:
    """The ``(T, T)`` Gramian angular field of a series ``x`` (T,), values in [-1, 1]."""
    x = np.asarray(x, dtype=np.float64)
    low, high = float(x.min()), float(x.max())
    scaled = np.zeros_like(x) if high == low else np.clip(2.0 * (x - low) / (high - low) - 1.0, -1.0, 1.0)
    sine = np.sqrt(np.clip(1.0 - scaled**2, 0.0, 1.0))
    if field == "summation":  # cos(phi_i + phi_j)
        return np.outer(scaled, scaled) - np.outer(sine, sine)
    return np.outer(sine, scaled) - np.outer(scaled, sine)  # sin(phi_i - phi_j)


class GAFBackbone(Backbone):
    """``gaf:IMAGE_SPEC``: series -> Gramian angular field images -> ``inner`` (an image backbone)."""

    modality = "timeseries"

    def __init__(self, inner: Backbone, field: str = "summation", size: int | None = None) -> None:
        super().__init__()
        if field not in FIELDS:
            raise HeadstartError(f"gaf: field must be one of {', '.join(FIELDS)}, got '{field}'")
        if inner.modality != "image":
            raise HeadstartError(f"gaf: draws series for an image backbone; '{inner.spec}' takes {inner.modality}")
        cfg = inner.pretrained_config
        self.inner, self.field = inner, field
        self.size = int(size or (cfg.get("input_size") or [3, 224, 224])[-1])
        if self.size < 8:
            raise HeadstartError(f"gaf: size must be at least 8 pixels, got {size}")
        self.mean = torch.tensor(cfg.get("mean") or [0.5, 0.5, 0.5], dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.tensor(cfg.get("std") or [0.5, 0.5, 0.5], dtype=torch.float32).view(1, -1, 1, 1)
        self.spec = f"gaf:{inner.spec}"
        self.source = inner.source
        self.feature_dim = inner.feature_dim
        self.pretrained = inner.pretrained
        self.pretrained_config = {
            "architecture": "gaf",
            "field": field,
            "size": self.size,
            "image": {"spec": inner.spec, **cfg.to_dict()},
        }

    def frontend(self, x: Any) -> np.ndarray:
        """One row ``(T, C)`` -> its fields ``(3, T', T')``: colour ``k`` is channel ``k % C``'s field."""
        x = np.asarray(x, dtype=np.float64)
        x = x.reshape(len(x), -1)
        if x.shape[1] > 3:
            raise HeadstartError(f"gaf draws up to 3 channels (one per colour); a row has {x.shape[1]}")
        if not len(x):
            raise HeadstartError("gaf: a series has no steps")
        fields = [gramian_angular_field(paa(x[:, c], self.size), self.field) for c in range(x.shape[1])]
        return np.stack([fields[k % len(fields)] for k in range(3)]).astype(np.float32)

    def prepare(self, raw: Sequence[Any], max_length: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        return [self.frontend(x) for x in raw], np.asarray([len(x) for x in raw])

    def collate(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        images = [
            nn.functional.interpolate(
                torch.from_numpy(g)[None], size=(self.size, self.size), mode="bilinear", align_corners=False
            )
            for g in items
        ]
        colour = (torch.cat(images) + 1.0) / 2.0  # (B, 3, S, S) in [0, 1]
        return (colour - self.mean) / self.std

    def preprocess(self, raw: Sequence[Any]) -> torch.Tensor:
        return self.collate(self.prepare(raw)[0])

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return self.inner.forward_features(batch)

    def param_groups(self) -> list[ParamGroup]:
        return self.inner.param_groups()

    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / WEIGHTS_FILE, self.inner.state_dict())
        self._write_meta(folder, {"loader": "gaf"})
        return folder


@register_source("gaf", needs="an image backbone to read the series' Gramian angular fields (efficientnet-lite0)")
def load(name: str, pretrained: bool = True, field: str = "summation", size: int | None = None) -> Backbone:
    """``gaf:IMAGE_SPEC``: time series drawn as Gramian angular fields for an image backbone."""
    from headstart.backbones.registry import load_backbone

    return GAFBackbone(load_backbone(name, pretrained=pretrained), field, size)


def from_folder(folder: Path, meta: dict[str, Any]) -> Backbone:
    from headstart.backbones.registry import load_backbone
    from headstart.io import load_tensors

    cfg = meta["pretrained_config"]
    inner = load_backbone(cfg["image"]["spec"], pretrained=False)
    inner.load_state_dict(load_tensors(folder / WEIGHTS_FILE))
    backbone = GAFBackbone(inner, cfg["field"], cfg["size"])
    backbone.spec = meta["spec"]
    return backbone
