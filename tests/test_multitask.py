"""Multi-task transfer (issue 24): task-balanced batches, task heads, task-adaptive attention, fit-multi."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import cli, make_texts

from headstart.data import from_arrays
from headstart.multitask import Task, fit_multi, list_methods
from headstart.multitask.base import TaskBatches
from headstart.multitask.shared import MeanPool
from headstart.multitask.task_attention import TaskAttentionPool


def _tasks(n1: int = 40, n2: int = 24) -> list[Task]:
    t1, l1 = make_texts(n1, seed=0)
    t2, _ = make_texts(n2, seed=1)
    l2 = [("a", "b", "c")[i % 3] for i in range(n2)]
    return [
        Task("sentiment", from_arrays(t1, l1, modality="text"), from_arrays(t1[:12], l1[:12], modality="text")),
        Task("other", from_arrays(t2, l2, modality="text")),
    ]


def test_methods_are_registered():
    assert list_methods() == ["shared", "task-attention"]


def test_batches_hold_one_task_each_and_every_task_gets_the_same_number():
    sampler = TaskBatches([100, 10], batch_size=8, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 2 * ((13 + 2) // 2)
    tasks = [{0 if i < 100 else 1 for i in b} for b in batches]
    assert all(len(t) == 1 for t in tasks)  # one task per batch
    assert sum(t == {0} for t in tasks) == sum(t == {1} for t in tasks)  # balanced
    assert batches == list(TaskBatches([100, 10], batch_size=8, seed=0))  # a pure function of (seed, epoch)
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_task_attention_starts_as_mean_pooling_and_reads_each_rows_task():
    pool = TaskAttentionPool(8, n_tasks=3)
    h, mask = torch.randn(4, 5, 8), torch.tensor([[1, 1, 0, 0, 0]] * 2 + [[1] * 5] * 2, dtype=torch.bool)
    task = torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(pool(h, mask, task), MeanPool()(h, mask, task))
    with torch.no_grad():
        pool.pool.queries.normal_()
    out = pool(h, mask, task)
    full = pool.pool(h, mask).view(4, 3, 8)
    torch.testing.assert_close(out, full[torch.arange(4), task])


@pytest.mark.parametrize("method", ["shared", "task-attention"])
def test_fit_multi_trains_the_shared_top_block_and_one_head_per_task(hf_text_spec, method):
    tasks = _tasks()
    result = fit_multi(tasks, backbone=f"{hf_text_spec}@block1", method=method, epochs=2, progress=False)
    model = result.model
    assert [len(h.weight) for h in model.head["heads"]] == [2, 3] and len(model.backbone.blocks) == 1
    from headstart.backbones import load_backbone

    original = load_backbone(hf_text_spec).model.encoder.layer[1]
    trained = model.backbone.blocks[0]
    assert any(not torch.equal(a, b) for a, b in zip(original.parameters(), trained.parameters(), strict=True))
    assert 0 <= result.tasks[0]["test_accuracy"] <= 1 and "test_accuracy" not in result.tasks[1]
    # the logits of another task's classes are masked: the loop's CE is each task's own
    batch = {"tokens": torch.randn(2, 3, 32), "mask": torch.ones(2, 3, dtype=torch.bool), "task": torch.tensor([0, 1])}
    logits = model(batch)
    assert logits.shape == (2, 5) and (logits[0, 2:] == -1e4).all() and (logits[1, :2] == -1e4).all()


def test_fit_multi_command_writes_its_run_folder(hf_text_spec, tmp_path, capsys):
    for i, task in enumerate(_tasks()):
        pd.DataFrame({"text": task.train.inputs, "label": task.train.labels}).to_csv(
            tmp_path / f"t{i}.csv", index=False
        )
    out = tmp_path / "mt"
    a, b = tmp_path / "t0.csv", tmp_path / "t1.csv"
    args = ["fit-multi", f"a={a}", f"b={b}", "--eval", f"a={a}", "-b", f"{hf_text_spec}@block1", "--epochs", "1"]
    code, stdout, err = cli(capsys, *args, "-o", out)
    assert code == 0, err
    saved = json.loads((out / "multitask.json").read_text())
    assert saved["method"] == "task-attention" and [t["name"] for t in saved["tasks"]] == ["a", "b"]
    assert (out / "model.safetensors").is_file() and "held-out accuracy" in stdout
    assert np.isfinite(saved["tasks"][0]["test_accuracy"])
