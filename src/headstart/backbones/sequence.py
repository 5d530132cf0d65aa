"""What the sequence backbones share (``timeseries`` and ``audio``), and ``scratch:tsconv``.

A :class:`SequenceBackbone` runs a front end once per row (``prepare``: a series as it
is, or a waveform's mel spectrogram) and returns the rows' lengths, so that batches
are bucketed by length; ``collate`` pads a batch to its own longest row and carries
the mask; ``forward_tokens`` gives ``(B, T, D)`` states and the mask, and
``forward_features`` pools them (:mod:`headstart.pooling`: ``mean``, ``max``, ``last``,
``attention``; the option ``pool``, e.g. ``--backbone 'scratch:tsconv?pool=attention'``).
No row is ever cut or padded beyond its batch.

``scratch:tsconv``: a masked 1-D conv encoder over series of ``in_channels``
channels (taken from the data): three blocks (kernel 7, 5, 3; dilation 1, 2, 4;
``width`` channels, default 64), each a conv, ReLU and a LayerNorm over the
channels at every step, zeroed beyond each row's length so padding never leaks
in. Option ``norm``: ``none`` (default) keeps the values, ``series`` z-normalises each channel
of each row (the UCR convention; on JapaneseVowels it costs 0.2 accuracy).

    >>> import numpy as np
    >>> from headstart.backbones import load_backbone
    >>> bb = load_backbone("scratch:tsconv", in_channels=2, pool="max")
    >>> bb.forward_features(bb.preprocess([np.ones((5, 2)), np.ones((9, 2))])).shape
    torch.Size([2, 64])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.backbones.base import WEIGHTS_FILE, Backbone, ParamGroup, pool_groups
from headstart.data.sequences import pad
from headstart.errors import HeadstartError
from headstart.pooling import Pooling


def series_frontend(x: np.ndarray, in_channels: int, norm: str, name: str) -> np.ndarray:
    """One series as ``(T, C)`` float32, checked against the network's ``in_channels`` (``name`` in the
    error) and, with ``norm="series"``, z-normalised per channel."""
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if x.shape[1] != in_channels:
        raise HeadstartError(f"{name} was built for {in_channels} channels, a row has {x.shape[1]}")
    if norm == "series":
        x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return x


class SequenceBackbone(Backbone):
    """Base of the sequence backbones; subclasses give ``frontend``, ``forward_tokens``
    and ``encoder_groups``."""

    normalize: bool = False  # L2-normalise the pooled vector (GE2E's recipe)

    def init_pool(self, pool: str, dim: int) -> None:
        """The pooling over ``dim``-wide states; called after the encoder's layers, so that
        parameters are registered input to output, as ``param_groups`` lists them."""
        self.pool = Pooling(pool, int(dim))
        self.feature_dim = self.pool.out_dim(int(dim))

    # -- front end, once per row ---------------------------------------------
    def frontend(self, x: np.ndarray) -> np.ndarray:
        """One row -> ``(T, F)`` float32 steps."""
        return np.asarray(x, dtype=np.float32).reshape(len(x), -1)

    def prepare(self, raw: Sequence[Any], max_length: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        items = [self.frontend(x) for x in raw]
        return items, np.asarray([len(x) for x in items])

    def collate(self, items: Sequence[Any]) -> dict[str, torch.Tensor]:
        x, mask = pad(list(items))
        return {"x": torch.from_numpy(x), "mask": torch.from_numpy(mask)}

    def preprocess(self, raw: Sequence[Any]) -> dict[str, torch.Tensor]:
        return self.collate(self.prepare(raw)[0])

    # -- the network ------------------------------------------------------------
    def forward_tokens(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens, mask = self.forward_tokens(batch)
        pooled = self.pool(tokens, mask)
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled

    def encoder_groups(self) -> list[ParamGroup]:
        raise NotImplementedError

    def param_groups(self) -> list[ParamGroup]:
        return self.encoder_groups() + pool_groups(self.pool)

    def save(self, folder: str | Path) -> Path:
        from headstart.io import save_tensors

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / WEIGHTS_FILE, self.state_dict())
        self._write_meta(folder, {"loader": "sequence"})
        return folder


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)
        self.norm = nn.LayerNorm(cout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # h (B, T, C)
        h = torch.relu(self.conv(h.transpose(1, 2))).transpose(1, 2)
        return self.norm(h) * mask.unsqueeze(-1)


class TSConvBackbone(SequenceBackbone):
    """``scratch:tsconv``: masked dilated 1-D conv blocks over ``(T, in_channels)`` series."""

    modality = "timeseries"
    source = "scratch"

    def __init__(self, in_channels: int = 1, width: int = 64, pool: str = "mean", norm: str = "none") -> None:
        super().__init__()
        if norm not in ("series", "none"):
            raise HeadstartError(f"scratch:tsconv norm must be 'series' or 'none', got '{norm}'")
        if int(in_channels) < 1:
            raise HeadstartError(f"scratch:tsconv needs at least one input channel, got {in_channels}")
        self.spec = "scratch:tsconv"
        self.in_channels, self.norm = int(in_channels), norm
        w = int(width)
        self.blocks = nn.ModuleList([_Block(self.in_channels, w, 7, 1), _Block(w, w, 5, 2), _Block(w, w, 3, 4)])
        self.init_pool(pool, w)
        self.pretrained_config = {
            "architecture": "tsconv",
            "in_channels": self.in_channels,
            "width": w,
            "pooling": pool,
            "norm": norm,
        }

    def frontend(self, x: np.ndarray) -> np.ndarray:
        return series_frontend(x, self.in_channels, self.norm, "scratch:tsconv")

    def forward_tokens(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        mask = batch["mask"].bool()
        h = batch["x"].float() * mask.unsqueeze(-1)
        for block in self.blocks:
            h = block(h, mask)
        return h, mask

    def encoder_groups(self) -> list[ParamGroup]:
        return [ParamGroup(f"blocks.{i}", list(b.parameters())) for i, b in enumerate(self.blocks)]


def build(cfg: dict[str, Any]) -> SequenceBackbone:
    """The architecture a saved ``backbone.json`` names (random weights)."""
    if cfg["architecture"] == "tsconv":
        return TSConvBackbone(cfg["in_channels"], cfg["width"], cfg.get("pooling", "mean"), cfg.get("norm", "none"))
    if cfg["architecture"] == "fcn":
        from headstart.backbones.fcn import build as build_fcn

        return build_fcn(cfg)
    if cfg["architecture"] == "ge2e":
        from headstart.backbones.ge2e import GE2EBackbone

        return GE2EBackbone(pool=cfg.get("pooling", "last"), load_weights=False, layers=cfg.get("layers", 3))
    raise HeadstartError(f"unknown sequence architecture '{cfg['architecture']}'")


def from_folder(folder: Path, meta: dict[str, Any], pool: str | None = None) -> Backbone:
    """The saved encoder; ``pool`` (``local:FOLDER?pool=attention``) pools its states another way
    than it was saved with (a learned pooling then starts afresh: as the mean)."""
    from headstart.io import load_tensors

    cfg = dict(meta["pretrained_config"])
    if pool is not None:
        cfg["pooling"] = pool
    backbone = build(cfg)
    weights = load_tensors(folder / WEIGHTS_FILE)
    if pool is not None:  # the saved pooling's parameters (if any) are not this one's
        ours = backbone.pool.state_dict()
        weights = {k: v for k, v in weights.items() if not k.startswith("pool.")}
        weights.update({f"pool.{k}": v for k, v in ours.items()})
    backbone.load_state_dict(weights)
    backbone.spec = meta["spec"]
    return backbone
