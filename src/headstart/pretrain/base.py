"""Self-supervised pre-training of a sequence encoder, through the one training loop.

What every objective shares: the model that the loop trains, the loss and the validation figure.

- An objective (``masked``, ``forecast``: :data:`headstart.pretrain.METHODS`) says which steps
  of each row to hide (:meth:`Objective.hide`): a ``(B, T)`` bool tensor inside the rows' real
  steps.
- :class:`ReconstructionModel` sets the hidden steps of the batch's inputs (the backbone's front
  end output: a z-normalised series for ``scratch:tsconv?norm=series``, mel frames for ``ge2e``)
  to zero, runs the encoder's per-step states (``forward_tokens``), and a linear decoder maps
  each step's state back to the input's channels. Its output per row is three numbers: the squared
  error summed over the hidden steps, how many values were hidden, and the hidden values' squared
  deviations from their row's own mean (what predicting that mean would cost).
- The loss (a ``TargetsLoss`` passed as ``loss_fn``) is the mean squared error over the hidden
  steps only; the validation figure (``val_fn``, monitor ``r2``) is ``1 - error / deviations`` over
  every validation row's hidden steps: 0 is as good as filling the gap with the row's mean, 1 is
  exact. Validation rows hide the same steps in every epoch (a generator seeded by the batch's
  lengths), so the best epoch is chosen on one fixed task; training rows draw new steps each batch.
- The strategy is ``full`` (every encoder group and the decoder train, at one learning rate).

Afterwards only the encoder is kept (the decoder is dropped): ``result.backbone.save(FOLDER)``
writes a normal backbone that ``local:FOLDER`` loads, for ``fit``, ``rank``, ``compare``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from headstart.data import Dataset, at_rate
from headstart.errors import HeadstartError
from headstart.train.targets import UNLABELLED, Targets, TargetsLoss


@dataclass
class Objective:
    """Base of the objectives: which steps of each row are hidden and reconstructed."""

    name: ClassVar[str] = ""

    def check(self) -> None:
        """Raise one clear line when an option is out of range."""

    def hide(self, lengths: torch.Tensor, width: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(B, width)`` bool: the steps to hide, within each row's ``lengths[b]`` real steps."""
        raise NotImplementedError

    def describe(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.__dict__.items())
        return f"{self.name} ({options})" if options else self.name


class ReconstructionModel(nn.Module):
    """A sequence encoder (``backbone``) and a linear per-step decoder (``head``) back to the inputs.

    ``forward(batch) -> (B, 3)``: per row the squared error over the hidden steps, the number of
    hidden values and their squared deviations from the row's mean (see the module docstring)."""

    def __init__(self, backbone: nn.Module, token_dim: int, channels: int, objective: Objective) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(int(token_dim), int(channels))
        self.objective = objective

    def hidden(self, mask: torch.Tensor) -> torch.Tensor:
        """The steps to hide in a batch whose real steps are ``mask`` ``(B, T)``."""
        lengths = mask.sum(1).cpu()
        generator = None
        if not self.training:  # the same steps in every epoch: seeded by the batch's shape
            generator = torch.Generator().manual_seed(int(lengths.sum()) * 7919 + mask.shape[1])
        return self.objective.hide(lengths, mask.shape[1], generator).to(mask.device) & mask

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x, mask = batch["x"].float(), batch["mask"].bool()
        hidden = self.hidden(mask)
        seen = dict(batch, x=x.masked_fill(hidden.unsqueeze(-1), 0.0))
        tokens, _ = self.backbone.forward_tokens(seen)
        pred = self.head(tokens.float())
        h = hidden.unsqueeze(-1).to(x.dtype)
        real = mask.unsqueeze(-1).to(x.dtype)
        mean = (x * real).sum(1, keepdim=True) / real.sum(1, keepdim=True).clamp_min(1.0)
        error = ((pred - x) ** 2 * h).sum((1, 2))
        count = h.sum((1, 2)) * x.shape[-1]
        spread = ((x - mean) ** 2 * h).sum((1, 2))
        return torch.stack([error, count, spread], dim=1)


def _masked_mse(output: torch.Tensor, targets: Targets) -> torch.Tensor:
    """The mean squared error over the batch's hidden values (rows' labels are not read)."""
    return output[:, 0].sum() / output[:, 1].sum().clamp_min(1.0)


RECONSTRUCTION_LOSS = TargetsLoss(_masked_mse)


def reconstruction_validation(output: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """``val_loss`` (MSE over the hidden values) and ``val_r2`` (1 - error / the row-mean baseline's)."""
    error, count, spread = (float(v) for v in output.detach().double().sum(0))
    return {
        "val_loss": error / max(count, 1.0),
        "val_r2": 1.0 - error / spread if spread > 0 else float("nan"),
    }


@dataclass
class PretrainResult:
    """What :func:`pretrain` gives: the pre-trained encoder (``backbone``) and how the training went."""

    method: str
    backbone_spec: str
    rows: int
    val_rows: int
    history: list[dict[str, Any]]
    best_epoch: int
    best_val_r2: float
    seconds: float
    backbone: Any = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "backbone"}


def unlabelled(data: Dataset) -> Targets:
    return Targets.of(np.full(len(data), UNLABELLED))


def pretrain(
    data: Dataset,
    backbone: str = "scratch:tsconv?norm=series",
    method: str = "masked",
    method_options: dict[str, Any] | None = None,
    *,
    epochs: int = 30,
    lr: float = 1e-3,
    batch_size: int = 16,
    val_size: float = 0.1,
    seed: int = 0,
    precision: str = "no",
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> PretrainResult:
    """Pre-train ``backbone`` on the series of ``data`` (labels, if any, are not read) with the
    objective ``method``; ``val_size`` of the rows (a random draw, ``seed``) pick the best epoch by
    reconstruction R^2. ``result.backbone`` is the encoder, to ``save`` and load as ``local:FOLDER``.

        >>> import numpy as np
        >>> from headstart.data import from_series
        >>> waves = from_series([np.sin(np.arange(n) / 3.0) for n in range(20, 60)])
        >>> r = pretrain(waves, "scratch:tsconv?width=8", epochs=1, progress=False)
        >>> r.backbone.modality, r.rows + r.val_rows
        ('timeseries', 40)
    """
    from headstart.backbones.registry import load_backbone_for
    from headstart.backbones.sequence import SequenceBackbone
    from headstart.pretrain.registry import METHODS
    from headstart.strategies.full import Full
    from headstart.train import TrainConfig
    from headstart.train.data import Rows
    from headstart.train.job import Job

    start = time.perf_counter()
    objective = METHODS.create(method, **(method_options or {}))
    objective.check()
    if data.modality not in ("timeseries", "audio"):
        raise HeadstartError(
            f"pretrain reads series or audio, {data.source} is {data.modality} data (a .ts file, a long table, WAVs)"
        )
    encoder = load_backbone_for(backbone, data, seed=seed)
    if not isinstance(encoder, SequenceBackbone):
        raise HeadstartError(
            f"pretrain trains a sequence encoder (scratch:tsconv, ge2e); '{backbone}' gives no per-step states"
        )
    if not 0 <= val_size < 1:
        raise HeadstartError(f"val_size must be in [0, 1), got {val_size}")
    n_val = int(round(len(data) * val_size))
    if len(data) - n_val < 2:
        raise HeadstartError(f"pretrain needs at least 2 training series, {data.source} has {len(data)}")
    order = np.random.default_rng(seed).permutation(len(data))
    train_data, val_data = data.subset(np.sort(order[n_val:])), data.subset(np.sort(order[:n_val]))
    items, _ = encoder.prepare(at_rate(data.subset([0]), encoder.pretrained_config.sample_rate, quiet=True))
    with torch.no_grad():
        tokens, _ = encoder.forward_tokens(encoder.collate(items))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ReconstructionModel(encoder, tokens.shape[-1], items[0].shape[-1], objective)
    config = TrainConfig(
        epochs=epochs, lr=lr, head_lr=lr, batch_size=batch_size, precision=precision, seed=seed, augment=False,
        monitor="r2",
    )  # fmt: skip
    train_rows = Rows(train_data, encoder, unlabelled(train_data), train=True, augment=False, max_length=None)
    val_rows = Rows(val_data, encoder, unlabelled(val_data), train=False, augment=False, max_length=None)
    identity = {"backbone": backbone, "method": objective.describe(), "data": data.fingerprint()}
    hooks = {"loss_fn": RECONSTRUCTION_LOSS, "val_fn": reconstruction_validation}
    job = Job(model, model, Full(), train_rows, val_rows if n_val else None, config, identity, hooks)
    result = job.run(run_dir, resume, progress)
    encoder.eval()
    best = result.history[result.best_epoch - 1]["val_r2"] if n_val and result.best_epoch > 0 else float("nan")
    return PretrainResult(
        objective.describe(), encoder.spec, len(train_data), n_val, list(result.history), result.best_epoch,
        float(best), time.perf_counter() - start, encoder,
    )  # fmt: skip
