"""``forecast``: hide the end of each series and reconstruct it from the steps before it
(self-supervised forecasting; the encoder sees the past only, the hidden future is zeros)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from headstart.errors import HeadstartError
from headstart.pretrain.base import Objective
from headstart.pretrain.registry import METHODS


@METHODS.register(order=20)
@dataclass
class Forecast(Objective):
    """Hide the last ``horizon`` of each row's steps (at least one); reconstruct them from the rest.

    >>> Forecast(horizon=0.25).hide(torch.tensor([8, 4]), 8).int().tolist()
    [[0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 0, 0, 0, 0]]
    """

    horizon: float = 0.2

    name: ClassVar[str] = "forecast"

    def check(self) -> None:
        if not 0 < self.horizon < 1:
            raise HeadstartError(f"forecast: horizon must be in (0, 1), got {self.horizon}")

    def hide(self, lengths: torch.Tensor, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
        length = lengths.long().clamp_min(1)
        ahead = (length * self.horizon).round().long().clamp(min=1)
        t = torch.arange(width)[None, :]
        return (t >= (length - ahead)[:, None]) & (t < length[:, None])
