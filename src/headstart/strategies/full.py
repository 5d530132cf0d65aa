"""``full``: fine-tune every parameter of the backbone and the new head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune


@dataclass
class Full(FineTune):
    name: ClassVar[str] = "full"
