"""Self-supervised pre-training of a sequence encoder (``headstart pretrain``, issue 23).

Synthetic and tiny: sine waves of random frequency and length, a narrow ``scratch:tsconv``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import cli

from headstart.data import from_series
from headstart.pretrain import METHODS, pretrain
from headstart.pretrain.base import ReconstructionModel, reconstruction_validation

TS_HEADER = (
    "@problemName waves\n@timestamps false\n@missing false\n@univariate true\n@equalLength false\n"
    "@classLabel true slow fast\n@data\n"
)


def waves(n: int = 40, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.sin(np.arange(int(rng.integers(30, 70))) * rng.uniform(0.1, 0.4) + rng.uniform(0, 6)) for _ in range(n)]


def test_the_objectives_hide_steps_inside_each_row_only():
    lengths = torch.tensor([100, 40, 3])
    masked = METHODS.create("masked", ratio=0.2, span=5).hide(lengths, 100, torch.Generator().manual_seed(1))
    forecast = METHODS.create("forecast", horizon=0.25).hide(lengths, 100)
    for hidden in (masked, forecast):
        assert not hidden[1, 40:].any() and not hidden[2, 3:].any()  # padding is never a target
        assert hidden.sum(1).min() >= 1
    assert 10 <= int(masked[0].sum()) <= 20  # about ratio * length (spans may overlap)
    runs = np.diff(np.r_[0, masked[0].int().numpy(), 0])
    assert (np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)).min() >= 5  # spans, not single steps
    assert forecast[0].nonzero().squeeze(1).tolist() == list(range(75, 100)) and forecast[2].tolist()[:3] == [0, 0, 1]


def test_the_loss_reads_the_hidden_steps_only_and_the_encoder_never_sees_them():
    from headstart.backbones import load_backbone

    bb = load_backbone("scratch:tsconv", width=8, seed=0)
    model = ReconstructionModel(bb, 8, 1, METHODS.create("masked", ratio=0.3, span=4)).eval()
    batch = bb.preprocess([w[:, None] for w in waves(3)])
    hidden = model.hidden(batch["mask"].bool())
    out = model(batch)
    seen = dict(batch, x=batch["x"].masked_fill(hidden.unsqueeze(-1), 0.0))
    pred = model.head(bb.forward_tokens(seen)[0])
    error = ((pred - batch["x"]) ** 2)[..., 0] * hidden
    torch.testing.assert_close(out[:, 0], error.sum(1))
    torch.testing.assert_close(out[:, 1], hidden.sum(1).float())
    changed = dict(batch, x=torch.where(hidden.unsqueeze(-1), batch["x"] + 5.0, batch["x"]))
    assert not torch.equal(model(changed)[:, 0], out[:, 0])  # the targets are the true hidden values ...
    torch.testing.assert_close(model.head(bb.forward_tokens(dict(changed, x=seen["x"]))[0]), pred)  # ... never inputs
    assert torch.equal(model.hidden(batch["mask"].bool()), hidden)  # validation: the same steps every time
    figures = reconstruction_validation(out, torch.zeros(3))
    assert figures["val_loss"] == pytest.approx(float(out[:, 0].sum().detach() / out[:, 1].sum()))


@pytest.mark.parametrize("method", ["masked", "forecast"])
def test_pretraining_learns_to_fill_the_gaps_through_the_one_loop(method):
    r = pretrain(from_series(waves()), "scratch:tsconv?width=16", method, epochs=6, lr=3e-3, progress=False)
    r2, loss = [h["val_r2"] for h in r.history], [h["train_loss"] for h in r.history]
    assert r.best_val_r2 == max(r2) and r2[0] < r.best_val_r2 and loss[-1] < 0.8 * loss[0]
    if method == "masked":  # a gap inside a wave: far better than filling it with the wave's mean
        assert r.best_val_r2 > 0.3
    assert (r.rows, r.val_rows) == (36, 4) and r.backbone.modality == "timeseries"


def test_the_command_saves_a_backbone_that_fit_loads_as_local(tmp_path, capsys):
    rows = "\n".join(",".join(f"{v:.4f}" for v in w) + (":slow" if i % 2 else ":fast") for i, w in enumerate(waves(24)))
    (tmp_path / "waves.ts").write_text(TS_HEADER + rows + "\n")
    out = tmp_path / "pt"
    code, stdout, err = cli(capsys, "pretrain", tmp_path / "waves.ts", "-o", out, "--epochs", "2", "-b",
                            "scratch:tsconv?norm=series&width=8", "--option", "span=4")  # fmt: skip
    assert code == 0, err
    assert f"local:{out}" in stdout and "masked (ratio=0.15, span=4)" in stdout
    saved = json.loads((out / "pretrain.json").read_text())
    assert saved["kind"] == "pretrain" and len(saved["history"]) == 2 and saved["rows"] + saved["val_rows"] == 24
    from headstart.backbones import load_backbone

    loaded = load_backbone(f"local:{out}")
    assert loaded.norm == "series" and loaded.blocks[0].conv.out_channels == 8
    code, _, err = cli(capsys, "fit", tmp_path / "waves.ts", "-b", f"local:{out}", "-s", "linear-probe", "-o",
                       tmp_path / "run")  # fmt: skip
    assert code == 0, err
