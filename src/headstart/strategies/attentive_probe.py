"""``attentive-probe``: learned queries cross-attend over a frozen backbone's cached token features.

The linear probe reads one mean-pooled vector per input; the attentive probe
reads the backbone's token (text) or patch (images: a ViT's tokens, a conv
net's H x W map) features and learns, per input, which ones to read: ``queries``
learned vectors attend over the tokens (multi-head attention pooling, padding
masked), their outputs are concatenated and a linear layer classifies them. The
queries start at zero (uniform attention: mean pooling) and the linear layer at
the linear probe's solution on the training rows, so training starts from the
linear probe and moves only where the held-out rows say it helps
(:class:`~headstart.backbones.attentive.AttentivePool`; Chen et al. 2022, El-Nouby
et al. 2024). The backbone stays frozen: its token features are extracted once
and cached (float16, :func:`headstart.features.extract_tokens`), and only the
pool and the linear layer train, through the one loop on the cached tokens.

Model selection on the training rows only: a stratified ``val_size`` of them is
held out; each setting of the grid (``queries`` 1 and 4 when ``grid``) trains on
the rest with the epoch of best held-out accuracy kept; the best setting wins
(ties: the lower held-out loss). Nothing of the evaluation rows is read.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> tokens = rng.normal(size=(40, 6, 8)).astype("float16"); lengths = np.full(40, 6)
    >>> y = (tokens[:, 0, 0] > 0).astype(int)
    >>> probe = AttentiveProbe(queries=2, epochs=2, grid=False).fit(tokens, lengths, y, n_classes=2, progress=False)
    >>> probe.head_.in_features
    16
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset as TorchDataset

from headstart.backbones.attentive import AttentivePool
from headstart.backbones.base import ParamGroup
from headstart.errors import HeadstartError
from headstart.strategies.registry import STRATEGIES
from headstart.train.targets import Targets

# What ``fit`` says when ``check`` kept the probe.
KEPT_PROBE = (
    "no epoch beat its start (mean pooling + the probe) on the held-out rows by more than one row: "
    "the linear probe, fitted on every training row, is the model"
)


class TokenRows(TorchDataset):
    """Rows of cached token features for the one loop: row ``i`` -> (i, its Targets); a batch pads
    to its own longest row: ``{"tokens": (B, T, D) float32, "mask": (B, T) bool}``. ``lengths``
    let the loop's sampler bucket rows of similar length."""

    modality = "tokens"

    def __init__(self, tokens: np.ndarray, lengths: np.ndarray, codes: np.ndarray) -> None:
        self.tokens = torch.from_numpy(np.ascontiguousarray(tokens))
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.targets = Targets.of(codes)
        self.codes = self.targets.y

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> tuple[int, Targets]:
        return i, self.targets[i]

    def collate(self, rows: Sequence[tuple[int, Targets]]) -> tuple[dict[str, torch.Tensor], Targets]:
        idx = torch.as_tensor([r[0] for r in rows])
        lengths = torch.from_numpy(self.lengths[idx.numpy()])
        width = max(1, int(lengths.max()))
        tokens = self.tokens[idx, :width].float()
        mask = torch.arange(width)[None, :] < lengths[:, None]
        return {"tokens": tokens, "mask": mask}, Targets.stack([r[1] for r in rows])


class CachedFeatures(nn.Module):
    """The backbone the loop sees when the features are cached: nothing of it trains."""

    def param_groups(self) -> list[ParamGroup]:
        return []


class AttentiveHead(nn.Module):
    """pool -> dropout -> linear, on a batch ``{"tokens", "mask"}``."""

    def __init__(self, pool: AttentivePool, n_classes: int, dropout: float) -> None:
        super().__init__()
        self.pool = pool
        self.drop = nn.Dropout(dropout)
        self.linear = nn.Linear(pool.out_dim, n_classes)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.linear(self.drop(self.pool(batch["tokens"], batch["mask"])))


class TokenModel(nn.Module):
    """What the loop trains on cached tokens: a frozen ``backbone`` (nothing) and the attentive ``head``."""

    def __init__(self, head: AttentiveHead) -> None:
        super().__init__()
        self.backbone = CachedFeatures()
        self.head = head

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(batch)


@STRATEGIES.register(order=15)
@dataclass
class AttentiveProbe:
    """Attentive probe: learned queries cross-attend over frozen, cached token features.

    Args:
        queries: learned queries (their outputs are concatenated).
        heads: attention heads (``None``: the most of 8, 6, 4, 2, 1 dividing D).
        with_mean: also feed the linear layer the mean-pooled feature.
        epochs, lr, batch_size, weight_decay, dropout: training on the cached tokens (AdamW,
            warm-up + cosine).
        val_size: the share of training rows held out to pick the epoch and the setting.
        grid: train ``queries`` = 1 and ``queries``, keep the better on the held-out rows.
        check: attention must beat its start (mean pooling + the probe) on the held-out rows by more
            than one row (:func:`headstart.recipe.margin`) at some epoch; when no setting does,
            ``kept_start_`` is set and ``fit`` with this strategy returns the linear probe instead
            (the recipe's probe check, over every epoch).

    >>> AttentiveProbe(queries=2).queries
    2
    """

    queries: int = 4
    heads: int | None = None
    with_mean: bool = False
    epochs: int = 12
    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 0.05
    dropout: float = 0.1
    val_size: float = 0.15
    grid: bool = True
    check: bool = True
    seed: int = 0
    pool_: AttentivePool | None = field(default=None, init=False, repr=False)
    head_: nn.Linear | None = field(default=None, init=False, repr=False)
    chosen_: dict[str, Any] = field(default_factory=dict, init=False)
    history_: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)
    best_epoch_: int | None = field(default=None, init=False)
    kept_start_: bool = field(default=False, init=False)
    seconds_: float = field(default=0.0, init=False)

    name: ClassVar[str] = "attentive-probe"
    uses_cached_features: ClassVar[bool] = True
    uses_tokens: ClassVar[bool] = True

    def settings(self) -> list[dict[str, Any]]:
        """The (queries, lr) settings tried: the given one, and with ``grid`` one query too."""
        queries = sorted({1, self.queries}) if self.grid else [self.queries]
        return [{"queries": q, "lr": self.lr} for q in queries]

    def _train(
        self,
        setting: dict[str, Any],
        rows: TokenRows,
        val: TokenRows | None,
        n_classes: int,
        start: tuple[torch.Tensor, ...],
        progress: bool | None,
    ) -> tuple[AttentiveHead, Any]:
        from headstart.strategies.head import Head
        from headstart.train import TrainConfig
        from headstart.train.job import Job

        dim = rows.tokens.shape[2]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            pool = AttentivePool(dim, setting["queries"], self.heads, with_mean=self.with_mean)
            head = AttentiveHead(pool, n_classes, self.dropout)
        center, scale, weight, bias = start
        parts = pool.out_dim // dim
        with torch.no_grad():  # the pool starts as mean pooling, the linear layer as the probe on it
            pool.center.copy_(center)
            pool.scale.copy_(scale)
            head.linear.weight.copy_(torch.cat([weight / parts] * parts, dim=1))
            head.linear.bias.copy_(bias)
        config = TrainConfig(
            epochs=self.epochs,
            lr=setting["lr"],
            head_lr=setting["lr"],
            batch_size=self.batch_size,
            weight_decay=self.weight_decay,
            precision="no",
            augment=False,
            seed=self.seed,
        )
        if self.check and val is not None:  # some epoch must beat the start (the probe) by one held-out row
            from headstart.recipe import margin

            config.start_margin, config.start_within = margin(len(val)), self.epochs
        model = TokenModel(head)
        identity = {"strategy": self.name, **setting}
        result = Job(model, model, Head(), rows, val, config, identity).run(progress=progress)
        return head.eval(), result

    def _start(self, rows: TokenRows, n_classes: int) -> tuple[torch.Tensor, ...]:
        """Where training starts: the training rows' mean-pooled features' mean and spread (the pool's
        standardisation), and the linear probe on those standardised features (the linear layer)."""
        from headstart.strategies.linear_probe import LinearProbe

        means = torch.empty(len(rows), rows.tokens.shape[2])
        for s in range(0, len(rows), 512):
            t = rows.tokens[s : s + 512].float()
            n = torch.from_numpy(rows.lengths[s : s + 512]).clamp_min(1).float()
            means[s : s + 512] = t.sum(1) / n[:, None]  # padding is zero
        center = means.mean(0)
        scale = (means - center).square().mean(0).sqrt().clamp_min(1e-6)
        probe = LinearProbe(seed=self.seed).fit(((means - center) / scale).numpy(), rows.codes.numpy(), n_classes)
        return center, scale, probe.head_.weight.detach().clone(), probe.head_.bias.detach().clone()

    def fit(
        self,
        tokens: np.ndarray,
        lengths: np.ndarray,
        y: np.ndarray,
        n_classes: int,
        progress: bool | None = None,
    ) -> AttentiveProbe:
        """``tokens`` (N, T, D), ``lengths`` (N,) real tokens per row, ``y`` (N,) class codes."""
        from headstart.data.splits import stratified_split

        y = np.asarray(y, dtype=np.int64)
        if tokens.ndim != 3 or len(tokens) != len(y) or len(lengths) != len(y):
            raise HeadstartError(f"token features must be (N, T, D) with one label per row, got {tokens.shape}")
        start = time.perf_counter()
        counts = np.bincount(y, minlength=n_classes)
        if self.val_size and counts.min() >= 2 and len(y) >= 10:
            tr, va = stratified_split(y, self.val_size, self.seed)
            rows, val = TokenRows(tokens[tr], lengths[tr], y[tr]), TokenRows(tokens[va], lengths[va], y[va])
        else:
            rows, val = TokenRows(tokens, lengths, y), None
        init = self._start(rows, n_classes)
        best: tuple[Any, ...] | None = None
        scores = []
        for setting in self.settings() if val is not None else self.settings()[:1]:
            head, result = self._train(setting, rows, val, n_classes, init, progress)
            if result.kept_start:
                record = {**(result.start or {}), "kept_start": True}
            else:
                record = result.history[result.best_epoch - 1] if result.best_epoch > 0 else result.history[-1]
            score = (not result.kept_start, record.get("val_accuracy", 0.0), -record.get("val_loss", 0.0))
            scores.append({**setting, "val_accuracy": score[1], "val_loss": -score[2], "kept_start": result.kept_start})
            if best is None or score > best[0]:
                best = (score, setting, head, result)
        _, setting, head, result = best
        self.kept_start_ = bool(result.kept_start)
        self.pool_, self.head_ = head.pool.requires_grad_(False), head.linear.requires_grad_(False)
        self.chosen_ = {**setting, "tried": scores}
        self.history_, self.best_epoch_ = list(result.history), result.best_epoch
        self.seconds_ = time.perf_counter() - start
        return self
