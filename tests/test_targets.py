"""Batch targets: ``Targets(y, group, domain)`` through Rows, the DataLoader, a
device move and the training loop's loss hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from headstart.backbones.embedded import IdentityBackbone
from headstart.data import from_arrays
from headstart.train.data import Rows, loader
from headstart.train.targets import UNLABELLED, OnClasses, Targets, TargetsLoss, as_targets, targets_loss


def test_targets_index_stack_and_move():
    t = Targets.of([2, 0, UNLABELLED, 1], group=np.array([0, 1, 1, 0]))
    assert t.y.dtype == torch.long and t.domain is None and len(t) == 4
    assert t.labelled.tolist() == [True, True, False, True]
    row = t[1]
    assert row.y.ndim == 0 and int(row.y) == 0 and int(row.group) == 1
    batch = Targets.stack([t[i] for i in (3, 0)])
    assert batch.y.tolist() == [1, 2] and batch.group.tolist() == [0, 0] and batch.domain is None
    assert t[torch.tensor([0, 2])].y.tolist() == [2, UNLABELLED]
    moved = t.to("cpu", non_blocking=True)
    assert torch.equal(moved.y, t.y) and torch.equal(moved.group, t.group)
    assert as_targets(torch.tensor([1, 0])).y.tolist() == [1, 0] and as_targets(t) is t


def test_targets_refuse_codes_that_do_not_line_up():
    with pytest.raises(ValueError, match="group codes have shape"):
        Targets.of([0, 1, 1], group=[0, 1])
    with pytest.raises(ValueError, match="one per row"):
        Targets.of(np.zeros((3, 2)))  # the old packed (N, 2) form is not class codes


def test_accelerate_moves_targets_with_the_batch():
    from accelerate.utils import send_to_device

    batch = (torch.zeros(2, 3), Targets.of([0, 1], domain=[0, 1]))
    inputs, targets = send_to_device(batch, torch.device("cpu"))
    assert isinstance(targets, Targets) and targets.domain.tolist() == [0, 1]


def test_rows_yield_targets_batches_from_codes_or_targets():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    data = from_arrays(x, np.arange(6) % 2)
    backbone = IdentityBackbone(2)
    plain = Rows(data, backbone, np.arange(6) % 2, train=True, augment=False, max_length=None)
    assert plain.codes.tolist() == [0, 1, 0, 1, 0, 1]
    grouped = Rows(data, backbone, Targets.of(np.arange(6) % 2, group=np.arange(6) // 3), True, False, None)
    for rows, has_group in ((plain, False), (grouped, True)):
        dl, _ = loader(rows, batch_size=4, seed=0, shuffle=False, num_workers=0)
        (inputs, targets), (_, last) = list(dl)
        assert torch.equal(inputs, torch.from_numpy(x[:4]))
        assert targets.y.tolist() == [0, 1, 0, 1] and len(last) == 2
        assert (targets.group is not None) == has_group
        if has_group:
            assert targets.group.tolist() == [0, 0, 0, 1]


def test_the_loop_hands_a_targets_loss_the_targets_and_other_losses_the_class_codes():
    logits = torch.randn(4, 3)
    t = Targets.of([0, 2, 1, 2], group=[0, 1, 0, 1])
    # Default: cross-entropy on the class codes, the same number as before Targets existed.
    assert torch.equal(targets_loss(None)(logits, t), F.cross_entropy(logits, t.y))
    seen = []

    def on_codes(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append(y)
        return z.sum()

    assert isinstance(targets_loss(on_codes), OnClasses)
    targets_loss(on_codes)(logits, t)
    assert torch.equal(seen[-1], t.y)
    whole = TargetsLoss(lambda z, targets: z.sum() * 0 + targets.group.sum())
    assert targets_loss(whole) is whole and float(whole(logits, t)) == 2.0


def test_training_runs_with_a_targets_loss(tmp_path):
    from headstart.strategies import make_strategy
    from headstart.train import TrainConfig, TransferModel, train

    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    backbone = IdentityBackbone(3)
    torch.manual_seed(0)
    model = TransferModel(backbone, 2)
    rows = Rows(from_arrays(x, y), backbone, Targets.of(y, group=np.arange(24) % 3), True, False, None)
    seen: list[Targets] = []

    def loss(logits: torch.Tensor, targets: Targets) -> torch.Tensor:
        seen.append(targets)
        return F.cross_entropy(logits, targets.y)

    config = TrainConfig(epochs=1, lr=0.1, head_lr=0.1, batch_size=8, precision="no", seed=0)
    train(model, make_strategy("head"), rows, None, config, progress=False, loss_fn=TargetsLoss(loss))
    assert len(seen) == 3 and all(isinstance(t, Targets) and t.group is not None for t in seen)
    assert sorted(torch.cat([t.y for t in seen]).tolist()) == sorted(y.tolist())
