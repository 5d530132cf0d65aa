"""``scratch:fcn``: the fully convolutional network of Wang, Yan and Oates (2017), "Time series
classification from scratch with deep neural networks: a strong baseline", on variable-length
series with a mask.

Three blocks, each a 1-D convolution (kernel 8, 5, 3; ``widths`` channels, default 128, 256,
128; "same" padding), batch normalisation and ReLU, then the pooling (``pool``, default
``mean``: the paper's global average pooling). The batch normalisation is
:class:`MaskedBatchNorm`: its statistics are taken over the valid steps only, so a batch of
rows of different lengths normalises as the rows' real values say, and padding never leaks
in (every block's output is zeroed beyond each row's length). On a batch without padding it
is ``nn.BatchNorm1d`` exactly. Option ``norm``: ``series`` (default; the UCR convention the
paper uses: each channel of each row z-normalised) or ``none``.

Fawaz et al. (2019, "Deep learning for time series classification: a review") rank this
network among the best on the UCR archive; on ArrowHead (36 training series) it reaches 0.86
where ``scratch:tsconv`` reaches 0.67 (docs/BENCHMARKS.md, issue 23).

    >>> import numpy as np
    >>> from headstart.backbones import load_backbone
    >>> bb = load_backbone("scratch:fcn", in_channels=1, widths=[8, 16, 8])
    >>> bb.forward_features(bb.preprocess([np.ones((5, 1)), np.ones((9, 1))])).shape
    torch.Size([2, 8])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.backbones.base import ParamGroup
from headstart.backbones.sequence import SequenceBackbone, series_frontend
from headstart.errors import HeadstartError

KERNELS = (8, 5, 3)


class MaskedBatchNorm(nn.BatchNorm1d):
    """Batch normalisation over ``(B, C, T)`` whose statistics count only the steps where
    ``mask`` (``(B, T)``) is true; running statistics (eval mode) as ``nn.BatchNorm1d``'s
    (the unbiased variance kept, the biased one used)."""

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        if mask is None or not self.training or bool(mask.all()):
            return super().forward(h)
        m = mask.unsqueeze(1).to(h.dtype)  # (B, 1, T)
        n = m.sum()
        mean = (h * m).sum((0, 2)) / n
        var = (((h - mean[None, :, None]) ** 2) * m).sum((0, 2)) / n
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var * n / (n - 1).clamp(min=1)
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
        out = (h - mean[None, :, None]) / torch.sqrt(var[None, :, None] + self.eps)
        if self.affine:
            out = out * self.weight[None, :, None] + self.bias[None, :, None]
        return out


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel)
        self.norm = MaskedBatchNorm(cout)
        left = (kernel - 1) // 2  # "same" padding, as PyTorch's: the odd step on the right
        self.padding = (left, kernel - 1 - left)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # h (B, C, T), mask (B, T)
        h = self.conv(nn.functional.pad(h, self.padding))
        return torch.relu(self.norm(h, mask)) * mask.unsqueeze(1)


class FCNBackbone(SequenceBackbone):
    """``scratch:fcn``: Wang et al.'s fully convolutional network over ``(T, in_channels)`` series."""

    modality = "timeseries"
    source = "scratch"

    def __init__(
        self,
        in_channels: int = 1,
        widths: Sequence[int] = (128, 256, 128),
        pool: str = "mean",
        norm: str = "series",
    ) -> None:
        super().__init__()
        if norm not in ("series", "none"):
            raise HeadstartError(f"scratch:fcn norm must be 'series' or 'none', got '{norm}'")
        if int(in_channels) < 1:
            raise HeadstartError(f"scratch:fcn needs at least one input channel, got {in_channels}")
        widths = [int(w) for w in (widths if isinstance(widths, list | tuple) else [widths] * 3)]
        if len(widths) != len(KERNELS) or min(widths) < 1:
            raise HeadstartError(f"scratch:fcn widths must be three positive channel counts, got {widths}")
        self.spec = "scratch:fcn"
        self.in_channels, self.norm = int(in_channels), norm
        cins = [self.in_channels, *widths[:-1]]
        self.blocks = nn.ModuleList([_Block(c, w, k) for c, w, k in zip(cins, widths, KERNELS, strict=True)])
        self.init_pool(pool, widths[-1])
        self.pretrained_config = {
            "architecture": "fcn",
            "in_channels": self.in_channels,
            "widths": widths,
            "pooling": pool,
            "norm": norm,
        }

    def frontend(self, x: np.ndarray) -> np.ndarray:
        return series_frontend(x, self.in_channels, self.norm, "scratch:fcn")

    def forward_tokens(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        mask = batch["mask"].bool()
        h = (batch["x"].float() * mask.unsqueeze(-1)).transpose(1, 2)
        for block in self.blocks:
            h = block(h, mask)
        return h.transpose(1, 2), mask

    def encoder_groups(self) -> list[ParamGroup]:
        return [ParamGroup(f"blocks.{i}", list(b.parameters())) for i, b in enumerate(self.blocks)]


def build(cfg: dict[str, Any]) -> FCNBackbone:
    """The network a saved ``backbone.json`` describes (random weights)."""
    return FCNBackbone(cfg["in_channels"], cfg["widths"], cfg.get("pooling", "mean"), cfg.get("norm", "series"))
