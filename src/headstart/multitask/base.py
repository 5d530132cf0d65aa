"""Multi-task transfer: one shared backbone, one head per task, batches that balance the tasks,
through the one training loop.

The shared backbone is ``SPEC@blockK`` cut in two: blocks 1..K stay frozen and their token
states are extracted once and cached (:func:`headstart.features.extract_tokens`); blocks K+1..N
(copied from the pretrained model) are shared by every task and train, with the method's pooler
(``shared``: mean pooling; ``task-attention``: a learned task embedding queries the tokens) and a
linear head per task. A plain spec (no ``@blockK``) trains only the pooler and the heads on its
last layer's tokens. Freezing the lower blocks is the CPU budget's choice: full fine-tuning of
MiniLM on three tables x seeds x (multi + one model per task) does not fit 2 cores; the top
block(s) still adapt to the tasks, and the comparison is fair because every model (multi-task
or single-task) trains the same parts.

How the rows travel: every task's rows are one :class:`TaskRows` (row ``i`` is task ``t``'s
local row ``i - offset_t``); a row's class code is global (``offset_k + class``), and the
model puts ``-1e4`` on the logits of the other tasks' classes, so the loop's plain
cross-entropy is each task's own cross-entropy and its validation accuracy is each task's
accuracy (pooled). :class:`TaskBatches` (the loop's ``batch_sampler``) makes every batch one
task's rows and gives each task the same number of batches per epoch (smaller tasks cycle,
larger ones are subsampled): task-balanced sampling; an epoch has as many batches as one pass
over all the tasks' rows.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.backbones.base import ParamGroup, find_blocks
from headstart.data import Dataset, encode_labels, stratified_split
from headstart.errors import HeadstartError
from headstart.strategies.attentive_probe import TokenRows
from headstart.train.data import EpochBatches
from headstart.train.targets import Targets

MASKED = -1e4  # the logits of another task's classes


@dataclass
class Task:
    """One labelled table: its ``name``, training rows ``train`` and (optionally) scored rows ``test``."""

    name: str
    train: Dataset
    test: Dataset | None = None


class TaskRows(TokenRows):
    """Every task's cached tokens as one row set; a row's target is its global class code (rows,
    targets and lengths as :class:`TokenRows`; a batch also says each row's task)."""

    def __init__(
        self, tokens: list[np.ndarray], lengths: list[np.ndarray], codes: list[np.ndarray], offsets: list[int]
    ):
        self.tokens = [torch.from_numpy(np.ascontiguousarray(t)) for t in tokens]
        self.sizes = [len(t) for t in tokens]
        self.starts = np.cumsum([0, *self.sizes])
        self.lengths = np.concatenate(lengths).astype(np.int64)
        self.task_of = np.repeat(np.arange(len(tokens)), self.sizes)
        self.targets = Targets.of(np.concatenate([c + o for c, o in zip(codes, offsets, strict=True)]))
        self.codes = self.targets.y

    def collate(self, rows: Sequence[tuple[int, Targets]]) -> tuple[dict[str, torch.Tensor], Targets]:
        idx = np.asarray([r[0] for r in rows])
        tasks, lengths = self.task_of[idx], self.lengths[idx]
        width = max(1, int(lengths.max()))
        dim = self.tokens[0].shape[2]
        out = torch.zeros(len(idx), width, dim)
        for j, (i, t) in enumerate(zip(idx, tasks, strict=True)):
            local = i - self.starts[t]
            n = min(width, self.tokens[t].shape[1])
            out[j, :n] = self.tokens[t][local, :n].float()
        mask = torch.arange(width)[None, :] < torch.from_numpy(lengths)[:, None]
        batch = {"tokens": out, "mask": mask, "task": torch.from_numpy(tasks.astype(np.int64))}
        return batch, Targets.stack([r[1] for r in rows])


class TaskBatches(EpochBatches):
    """Batches of one task each, every task the same number per epoch (task-balanced sampling);
    a pure function of (seed, epoch), like ``EpochBatches``."""

    def __init__(self, sizes: list[int], batch_size: int, seed: int) -> None:
        super().__init__(sum(sizes), batch_size, seed, shuffle=True)
        self.sizes = sizes
        self.starts = np.cumsum([0, *sizes])
        total = sum(math.ceil(n / batch_size) for n in sizes)
        self.per_task = max(1, total // len(sizes))

    def __len__(self) -> int:
        return self.per_task * len(self.sizes)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        batches = []
        for t, n in enumerate(self.sizes):
            need = self.per_task * self.batch_size
            order = np.concatenate([rng.permutation(n) for _ in range(math.ceil(need / n))])[:need]
            rows = self.starts[t] + order
            batches += [rows[i : i + self.batch_size].tolist() for i in range(0, need, self.batch_size)]
        yield from (batches[k] for k in rng.permutation(len(batches)))


class TopBlocks(nn.Module):
    """The shared, trained blocks above the cached layer (BERT-style layers: ``layer(h, attention_mask)``)."""

    def __init__(self, blocks: Sequence[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def param_groups(self) -> list[ParamGroup]:
        return [ParamGroup(f"block.{i}", list(b.parameters())) for i, b in enumerate(self.blocks)]

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not len(self.blocks):
            return h
        extended = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        for block in self.blocks:
            out = block(h, attention_mask=extended)
            h = out[0] if isinstance(out, tuple) else out
        return h


class MultiTaskModel(nn.Module):
    """Shared top blocks (``backbone``), the method's pooler and one linear head per task (``head``)."""

    def __init__(self, top: TopBlocks, pooler: nn.Module, dim: int, n_classes: list[int]) -> None:
        super().__init__()
        self.backbone = top
        self.head = nn.ModuleDict({"pool": pooler, "heads": nn.ModuleList(nn.Linear(dim, k) for k in n_classes)})
        self.offsets = [int(x) for x in np.cumsum([0, *n_classes])]

    def task_logits(self, batch: dict[str, torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per task present in ``batch``: (its rows, its own logits)."""
        h = self.backbone(batch["tokens"], batch["mask"])
        z = self.head["pool"](h, batch["mask"], batch["task"])
        return [
            (rows, head(z[rows])) for t, head in enumerate(self.head["heads"]) if (rows := batch["task"] == t).any()
        ]

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = torch.full((len(batch["task"]), self.offsets[-1]), MASKED, device=batch["tokens"].device)
        for rows, logits in self.task_logits(batch):
            t = int(batch["task"][rows][0])
            block = torch.full((len(logits), self.offsets[-1]), MASKED, device=logits.device, dtype=logits.dtype)
            block[:, self.offsets[t] : self.offsets[t + 1]] = logits
            out = out.index_put((rows.nonzero().squeeze(1),), block)
        return out


def split_top(spec: str, modality: str) -> tuple[Any, TopBlocks]:
    """(the frozen backbone whose tokens are cached, the shared trainable blocks above it)."""
    from headstart.backbones import load_backbone
    from headstart.backbones.layers import LayerBackbone

    backbone = load_backbone(spec, modality=modality)
    if not backbone.has_tokens:
        backbone.forward_tokens(None)  # the one-line refusal
    if not isinstance(backbone, LayerBackbone):
        return backbone, TopBlocks([])
    if modality != "text":
        raise HeadstartError(f"fit-multi trains the blocks above {spec} for text only; give an image backbone whole")
    _, blocks = find_blocks(backbone.inner)
    return backbone, TopBlocks([copy.deepcopy(b) for b in list(blocks)[backbone.k :]])


@dataclass
class MultiTaskResult:
    """What :func:`fit_multi` gives: the model, per task its classes and (with test rows) accuracy."""

    method: str
    backbone: str
    tasks: list[dict[str, Any]]
    history: list[dict[str, Any]]
    best_epoch: int
    seconds: float
    model: Any = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "model"}


def _tokens(backbone: Any, data: Dataset, max_length: int | None, progress: bool | None) -> Any:
    from headstart.features import extract_tokens

    return extract_tokens(backbone, data, max_length=max_length, progress=progress)


@torch.no_grad()
def task_accuracy(model: MultiTaskModel, tokens: Any, codes: np.ndarray, task: int, batch: int = 256) -> float:
    """Accuracy of ``model`` on one task's cached ``tokens`` (an extraction) and class ``codes``."""
    model.eval()
    right = 0
    for s in range(0, len(codes), batch):
        t = torch.from_numpy(tokens.tokens[s : s + batch].astype(np.float32))
        n = torch.from_numpy(tokens.lengths[s : s + batch])
        rows = {
            "tokens": t,
            "mask": torch.arange(t.shape[1])[None, :] < n[:, None],
            "task": torch.full((len(t),), task),
        }
        logits = model.task_logits(rows)[0][1]
        right += int((logits.argmax(1).numpy() == codes[s : s + batch]).sum())
    return right / max(1, len(codes))


def fit_multi(
    tasks: Sequence[Task],
    backbone: str = "minilm@block5",
    method: str = "task-attention",
    method_options: dict[str, Any] | None = None,
    epochs: int = 3,
    lr: float = 1e-4,
    head_lr: float = 1e-3,
    batch_size: int = 32,
    max_length: int | None = 64,
    val_size: float = 0.1,
    seed: int = 0,
    run_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> MultiTaskResult:
    """Train one shared backbone with a head per task on ``tasks`` (each its own labels and rows)
    with ``method`` (``headstart.multitask.METHODS``); validation rows (``val_size`` of each task's
    training rows, stratified) pick the best epoch. Tasks with ``test`` rows get their accuracy."""
    from headstart.multitask.registry import METHODS
    from headstart.strategies.full import Full
    from headstart.train import TrainConfig
    from headstart.train.job import Job

    if not tasks:
        raise HeadstartError("fit-multi needs at least one task table")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise HeadstartError(f"task names must differ, got {', '.join(names)}")
    start = time.perf_counter()
    pooler_factory = METHODS.create(method, **(method_options or {}))
    modality = tasks[0].train.modality
    frozen, top = split_top(backbone, modality)
    parts: dict[str, list[Any]] = {"tr": [], "va": []}
    meta = []
    for task in tasks:
        task.train.require_labels()
        if task.train.modality != modality:
            raise HeadstartError(f"task '{task.name}' is {task.train.modality} data, the first task {modality}")
        classes = np.asarray(task.train.classes, dtype=object)
        codes = encode_labels(task.train.labels, classes, task.train.source)
        ext = _tokens(frozen, task.train, max_length, progress)
        tr, va = stratified_split(task.train.labels, val_size, seed) if val_size else (np.arange(len(codes)), [])
        parts["tr"].append((ext.tokens[tr], ext.lengths[tr], codes[tr]))
        parts["va"].append((ext.tokens[va], ext.lengths[va], codes[va]))
        meta.append({"name": task.name, "classes": [str(c) for c in classes], "n_train": len(tr), "n_val": len(va)})
    n_classes = [len(m["classes"]) for m in meta]
    offsets = [int(x) for x in np.cumsum([0, *n_classes])][:-1]
    rows = {k: TaskRows(*[list(x) for x in zip(*v, strict=True)], offsets) for k, v in parts.items()}
    dim = rows["tr"].tokens[0].shape[2]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MultiTaskModel(top, pooler_factory.pooler(dim, len(tasks)), dim, n_classes)
    config = TrainConfig(
        epochs=epochs, lr=lr, head_lr=head_lr, batch_size=batch_size, precision="no", augment=False, seed=seed
    )
    identity = {"backbone": backbone, "method": f"{method} {method_options or {}}", "tasks": ",".join(names)}
    sizes = rows["tr"].sizes
    hooks = {"batch_sampler": lambda r, b, s, p: TaskBatches(sizes, b, s)}
    val = rows["va"] if len(rows["va"]) else None
    job = Job(model, model, Full(), rows["tr"], val, config, identity, hooks)
    result = job.run(run_dir, resume, progress)
    for t, (task, m) in enumerate(zip(tasks, meta, strict=True)):
        if task.test is not None:
            codes = encode_labels(task.test.labels, np.asarray(m["classes"], dtype=object), task.test.source)
            m["test_rows"] = len(codes)
            m["test_accuracy"] = task_accuracy(model, _tokens(frozen, task.test, max_length, progress), codes, t)
    return MultiTaskResult(
        method, backbone, meta, list(result.history), result.best_epoch, time.perf_counter() - start, model.eval()
    )
