"""``masked``: hide random spans of each series and reconstruct them (masked reconstruction, as
Zerveas et al. 2021 pre-train a time-series encoder; spans rather than single steps, so that a
gap is not filled by copying a neighbour)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from headstart.errors import HeadstartError
from headstart.pretrain.base import Objective
from headstart.pretrain.registry import METHODS


@METHODS.register(order=10)
@dataclass
class MaskedSpans(Objective):
    """Hide spans of ``span`` steps covering about ``ratio`` of each row; reconstruct them.

    A row of length L gets ``max(1, round(ratio * L / s))`` spans of ``s = min(span, max(1,
    floor(ratio * L)))`` steps at uniform random starts (they may overlap, so a little under
    ``ratio`` is hidden).

    >>> m = MaskedSpans(ratio=0.25, span=4)
    >>> hidden = m.hide(torch.tensor([40, 8]), 40, torch.Generator().manual_seed(0))
    >>> hidden.shape, int(hidden[1, 8:].sum())
    (torch.Size([2, 40]), 0)
    """

    ratio: float = 0.15
    span: int = 8

    name: ClassVar[str] = "masked"

    def check(self) -> None:
        if not 0 < self.ratio < 1:
            raise HeadstartError(f"masked: ratio must be in (0, 1), got {self.ratio}")
        if int(self.span) < 1:
            raise HeadstartError(f"masked: span must be at least 1 step, got {self.span}")

    def hide(self, lengths: torch.Tensor, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
        length = lengths.long().clamp_min(1)
        span = torch.minimum(torch.full_like(length, int(self.span)), (length * self.ratio).long().clamp_min(1))
        count = (length * self.ratio / span).round().long().clamp_min(1)
        k = int(count.max())
        u = torch.rand(len(length), k, generator=generator)
        begin = (u * (length - span + 1)[:, None]).long()  # (B, k)
        used = torch.arange(k)[None, :] < count[:, None]
        t = torch.arange(width)[None, None, :]
        inside = (t >= begin[..., None]) & (t < (begin + span[:, None])[..., None]) & used[..., None]
        return inside.any(1)
