"""The one training loop: plain PyTorch, driven by HF Accelerate.

Every method that trains (the fine-tuning strategies, domain adaptation,
distillation, imbalance, episodic few-shot and debiasing) goes through
:func:`train`, set up by one builder (:func:`headstart.train.job.build_job`),
and changes it only through the strategy's hooks:
``optimizer_groups`` (which parameters, which learning rates), ``apply`` (what
trains at each epoch), ``extra_loss`` (a term added at each step) and
``finalize``; and through two arguments of :func:`train` that change what is
learnt, not which weights learn it (``headstart.imbalance`` uses both):
``loss_fn`` (the per-batch loss, cross-entropy by default) and
``batch_sampler`` (which rows make up the batches); and ``optimizer_fn``, which
builds the optimiser from the strategy's groups (AdamW by default; Reptile's
outer update is plain SGD on a pseudo-gradient).

Per step: forward, loss (cross-entropy unless ``loss_fn``; + extra loss), ``accelerator.backward``,
gradient clipping, AdamW (fused on GPU), warm-up + cosine schedule. Mixed
precision and gradient accumulation come from ``accelerator``; the same code
runs on one CPU, one GPU, or many processes under ``accelerate launch``.
After each epoch the validation rows are scored; the best epoch's weights are
kept (early stopping after ``patience`` epochs without improvement), and a
checkpoint is written (also every ``checkpoint_every`` steps) from which
``resume=True`` continues exactly where the run stopped.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from headstart.errors import HeadstartError
from headstart.io import load_tensors, save_tensors, write_json
from headstart.progress import bar, stderr
from headstart.train import checkpoint
from headstart.train.config import TrainConfig
from headstart.train.data import Rows, loader
from headstart.train.targets import ClassLoss, TargetsLoss, targets_loss

# The validation figures that may pick the best epoch (regression: R^2; multi-label: mean average precision).
MONITORS = ("accuracy", "balanced_accuracy", "r2", "mean_ap")


@dataclass
class TrainResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = -1
    best_score: float = -math.inf
    stopped_early: bool = False
    seconds: float = 0.0
    resumed_from: str | None = None
    # With ``config.start_margin``: the starting model's validation figures (epoch 0), and whether
    # it was kept because no epoch within ``config.start_within`` beat it.
    start: dict[str, float] | None = None
    kept_start: bool = False


def _precision(setting: str) -> str:
    if setting == "auto":
        return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
    if setting not in ("no", "bf16", "fp16"):
        raise HeadstartError(f"precision must be auto, no, bf16 or fp16, got '{setting}'")
    return setting


def _schedule(total: int, warmup: float) -> Any:
    warm = max(1, int(round(total * warmup))) if warmup > 0 else 0

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _trackers(run_dir: Path | None) -> list[str]:
    import importlib.util

    if run_dir is None:
        return []
    return [name for name in ("tensorboard", "mlflow") if importlib.util.find_spec(name) is not None]


def train(
    model: torch.nn.Module,
    strategy: Any,
    train_rows: Rows,
    val_rows: Rows | None,
    config: TrainConfig,
    run_dir: str | Path | None = None,
    resume: bool = False,
    identity: dict[str, Any] | None = None,
    progress: bool | None = None,
    loss_fn: ClassLoss | TargetsLoss | None = None,
    batch_sampler: Callable[[Rows, int, int, int], Any] | None = None,
    optimizer_fn: Callable[[list[dict[str, Any]], float], torch.optim.Optimizer] | None = None,
    val_fn: Callable[[torch.Tensor, torch.Tensor], dict[str, float]] | None = None,
    notes: Sequence[str] = (),
) -> TrainResult:
    """Train ``model`` (a TransferModel) with ``strategy``; returns the history.

    ``identity`` (backbone, strategy, data fingerprints) is stored beside the
    config; resuming refuses a run whose config or identity changed. On return
    the model holds the best epoch's weights (the last epoch's without
    validation rows).

    Two hooks, both optional:

    - ``loss_fn(logits, y) -> scalar``: the training loss, given float32
      logits ``(B, K)`` (or whatever a wrapped model returns in training mode)
      and class codes ``(B,)``; default ``F.cross_entropy``. A
      :class:`~headstart.train.targets.TargetsLoss` gets the batch's whole
      :class:`~headstart.train.targets.Targets` instead (debiasing reads
      ``targets.group``, adaptation ``targets.domain``, distillation the
      unlabelled rows). The validation loss stays plain cross-entropy on
      ``targets.y``.
    - ``batch_sampler(rows, batch_size, seed, num_processes)``: returns the
      training batch sampler (default ``EpochBatches``). It must yield lists of
      row indices as a pure function of (seed, epoch) and have ``set_epoch``,
      so that a resumed run replays the interrupted epoch. Under several
      processes accelerate hands process ``r`` the batches ``r, r + P, ...``
      of what it yields.
    - ``optimizer_fn(groups, lr) -> Optimizer``: the optimiser over the strategy's
      parameter groups (default AdamW, fused on GPU); the LR schedule, clipping,
      checkpoints and resume are the same whichever it builds.
    - ``val_fn(outputs, y) -> {"val_loss": ..., "val_<monitor>": ...}``: the validation figures of
      all validation rows' outputs and ``targets.y`` (default: cross-entropy, accuracy and balanced
      accuracy); regression and multi-label targets score with :mod:`headstart.train.tasks`.

    ``notes`` are printed before the strategy line, once the options and the model passed their
    checks (the default recipe's choices, :mod:`headstart.recipe`).
    """
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import set_seed

    start = time.perf_counter()
    if config.monitor not in MONITORS:
        raise HeadstartError(f"monitor must be one of {', '.join(MONITORS)}, got '{config.monitor}'")
    run_dir = Path(run_dir) if run_dir is not None else None
    trackers = _trackers(run_dir)
    accelerator = Accelerator(
        mixed_precision=_precision(config.precision),
        gradient_accumulation_steps=config.grad_accum,
        # Gradual unfreezing changes which parameters get gradients between epochs.
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
        log_with=trackers or None,
        project_dir=str(run_dir) if run_dir is not None else None,
    )
    main = accelerator.is_main_process
    set_seed(config.seed)
    stamp = {"config": config.to_dict(), "identity": identity or {}, "fingerprint": config.fingerprint(identity)}
    found = None
    if run_dir is not None:
        _check_resume(run_dir, stamp, resume)
        if resume:  # read (and check) the checkpoint before any work; applied once the model is prepared
            path = checkpoint.latest(run_dir)
            if path is None:
                raise HeadstartError(f"nothing to resume in {run_dir}: no checkpoint yet")
            found = {"path": path, **checkpoint.read(path, accelerator.process_index)}

    head_lr = config.head_lr if config.head_lr is not None else config.lr * config.head_lr_factor
    groups = strategy.optimizer_groups(model, config.lr, head_lr, config.weight_decay)
    if run_dir is not None and main:  # after the strategy accepted the model
        write_json(run_dir / "train_config.json", stamp)
    strategy.apply(model, 0)
    n_groups = len(model.backbone.param_groups())
    if main:  # after every check of the options and the model: a bad input is one line
        for note in notes:
            stderr.print(note, highlight=False, soft_wrap=True)
        stderr.print(f"[bold]strategy[/bold] {strategy.describe(n_groups)}", highlight=False, soft_wrap=True)
    fused = torch.cuda.is_available() and accelerator.device.type == "cuda"
    if optimizer_fn is not None:
        optimizer = optimizer_fn(groups, config.lr)
    else:
        optimizer = torch.optim.AdamW(groups, lr=config.lr, fused=fused or None)
    custom = (
        batch_sampler(train_rows, config.batch_size, config.seed, accelerator.num_processes) if batch_sampler else None
    )
    train_loader, sampler = loader(train_rows, config.batch_size, config.seed, True, config.num_workers, custom)
    criterion = targets_loss(loss_fn)
    val_loader = None
    if val_rows is not None and len(val_rows):
        val_loader, _ = loader(val_rows, config.batch_size, config.seed, False, config.num_workers)
    # Accelerate steps the scheduler once per process per optimiser step, so the
    # schedule counts optimiser steps of one process times the number of processes
    # (= batches of the unsharded loader / grad_accum).
    steps_per_epoch = math.ceil(len(train_loader) / config.grad_accum)
    total = max(1, steps_per_epoch * config.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, config.warmup))
    prepared = accelerator.prepare(model, optimizer, train_loader, scheduler)
    pmodel, optimizer, train_loader, scheduler = prepared
    if val_loader is not None:
        val_loader = accelerator.prepare(val_loader)
    if trackers:
        accelerator.init_trackers("headstart", config={k: v for k, v in config.to_dict().items() if v is not None})

    result = TrainResult()
    state: dict[str, Any] = {
        "epoch": 0,
        "batches_done": 0,
        "step": 0,
        "best_score": -math.inf,
        "best_epoch": -1,
        "bad_epochs": 0,
        "losses": [],
    }
    if found is not None:
        path = found["path"]
        training = checkpoint.restore(found, accelerator.unwrap_model(pmodel))
        if main:  # what a kill left beside it (an older checkpoint, a half-made one) goes
            checkpoint.tidy(run_dir, path)
        optimizer.load_state_dict(training["optimizer"])
        scheduler.load_state_dict(training["scheduler"])
        state.update(training["state"])
        result.history = list(training["history"])
        result.resumed_from = path.name
        if main:
            where = f"epoch {state['epoch'] + 1}, batch {state['batches_done']}"
            stderr.print(f"resuming from {path} ({where})", highlight=False, soft_wrap=True)

    def save_checkpoint() -> None:
        if run_dir is None:
            return
        training = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "state": {**state, "losses": [float(x) for x in state["losses"]]},
            "history": result.history,
        }
        checkpoint.save(
            run_dir, state["step"], accelerator.unwrap_model(pmodel), training, accelerator.process_index, main
        )

    best_weights: dict[str, torch.Tensor] | None = None
    unwrapped = accelerator.unwrap_model(pmodel)
    monitor = f"val_{config.monitor}"

    def epoch_score(record: dict[str, float]) -> float:
        # Accuracy (or balanced accuracy, config.monitor) first; on a tie (a
        # few dozen validation rows often tie) the lower validation loss wins.
        score = record[monitor] - 1e-6 * min(record["val_loss"], 1e3)
        return score if math.isfinite(score) else -1e9  # a NaN figure (a constant validation target) never wins

    checking_start = config.start_margin is not None and val_loader is not None
    if checking_start and found is None:
        # The starting model (e.g. the frozen backbone with the probe's head) is epoch 0: training
        # must beat it by ``start_margin`` to be kept.
        state["start"] = _evaluate(accelerator, pmodel, val_loader, val_fn)
        state.update(best_score=epoch_score(state["start"]) + config.start_margin, best_epoch=0)
        best_weights = {k: v.detach().cpu().clone() for k, v in unwrapped.state_dict().items()}
        if run_dir is not None and main:
            save_tensors(run_dir / "checkpoints" / "best.safetensors", best_weights)
        if main:
            stderr.print(
                f"before training: {monitor} {state['start'][monitor]:.4g}; an epoch must beat it by "
                f"{config.start_margin:.3g}",
                highlight=False,
            )
    result.start = state.get("start")

    def start_kept() -> bool:
        within = max(1, min(config.start_within, config.epochs))
        return checking_start and state["epoch"] >= within and state["best_epoch"] == 0

    for epoch in range(state["epoch"], config.epochs):
        if start_kept():  # resumed after the epochs allowed had already lost to the start
            break
        strategy.apply(unwrapped, epoch)
        # Both: accelerate's loader re-sets its sampler's epoch from its own counter.
        sampler.set_epoch(epoch)
        train_loader.set_epoch(epoch)
        pmodel.train()
        skip = state["batches_done"]
        batches = accelerator.skip_first_batches(train_loader, skip) if skip else train_loader
        if not skip:
            state["losses"] = []
        losses: list[Any] = state["losses"]  # kept in the checkpoint for a mid-epoch resume
        with bar(
            f"epoch {epoch + 1}/{config.epochs}", len(train_loader) - skip, progress if main else False
        ) as advance:
            for inputs, targets in batches:
                with accelerator.accumulate(pmodel):
                    logits = pmodel(inputs)
                    loss = criterion(logits.float(), targets)
                    extra = strategy.extra_loss(unwrapped)
                    total_loss = loss if extra is None else loss + extra
                    accelerator.backward(total_loss)
                    if accelerator.sync_gradients:
                        if config.max_grad_norm > 0:
                            accelerator.clip_grad_norm_(pmodel.parameters(), config.max_grad_norm)
                        state["step"] += 1
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                losses.append(loss.detach())  # read at the epoch's end: no GPU sync per step
                state["batches_done"] += 1
                advance(1)
                last_batch = state["batches_done"] >= len(train_loader)  # the epoch end saves it
                due = config.checkpoint_every and state["step"] % config.checkpoint_every == 0
                if due and accelerator.sync_gradients and not last_batch:
                    save_checkpoint()
        record = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean([float(x) for x in losses])) if losses else float("nan"),
            "lr": scheduler.get_last_lr()[-1],
        }
        if val_loader is not None:
            record.update(_evaluate(accelerator, pmodel, val_loader, val_fn))
            score = epoch_score(record)
            if score > state["best_score"]:
                state.update(best_score=score, best_epoch=epoch + 1, bad_epochs=0)
                best_weights = {k: v.detach().cpu().clone() for k, v in unwrapped.state_dict().items()}
                if run_dir is not None and main:
                    save_tensors(run_dir / "checkpoints" / "best.safetensors", best_weights)
            else:
                state["bad_epochs"] += 1
        result.history.append(record)
        if main:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch")
            stderr.print(f"epoch {epoch + 1}: {shown}", highlight=False, soft_wrap=True)
            if run_dir is not None:
                write_json(run_dir / "history.json", result.history)
        if trackers:
            accelerator.log({k: v for k, v in record.items() if k != "epoch"}, step=epoch + 1)
        state.update(epoch=epoch + 1, batches_done=0, losses=[])
        save_checkpoint()
        if start_kept():
            if main:
                stderr.print("training did not beat the starting model: stopping, the start is kept", highlight=False)
            break
        if config.patience and state["bad_epochs"] >= config.patience:
            result.stopped_early = True
            break

    if best_weights is None and val_loader is not None and run_dir is not None:
        best_file = run_dir / "checkpoints" / "best.safetensors"
        if best_file.is_file():  # resumed after the best epoch: its weights are on disk
            best_weights = load_tensors(best_file)
    if best_weights is not None:
        unwrapped.load_state_dict(best_weights)
    if trackers:
        accelerator.end_training()
    strategy.finalize(unwrapped)
    result.best_epoch, result.best_score = state["best_epoch"], state["best_score"]
    result.kept_start = start_kept()
    result.stopped_early = result.stopped_early or (result.kept_start and state["epoch"] < config.epochs)
    result.seconds = time.perf_counter() - start
    accelerator.free_memory()
    return result


@torch.no_grad()
def _evaluate(
    accelerator: Any, model: torch.nn.Module, val_loader: Any, val_fn: Callable[..., dict[str, float]] | None = None
) -> dict[str, float]:
    model.eval()
    logits_all, labels_all = [], []
    for inputs, targets in val_loader:
        logits = model(inputs)
        logits, labels = accelerator.gather_for_metrics((logits.float(), targets.y))
        logits_all.append(logits.cpu())
        labels_all.append(labels.cpu())
    logits = torch.cat(logits_all)
    labels = torch.cat(labels_all)
    if val_fn is not None:
        return val_fn(logits, labels)
    pred = logits.argmax(1)
    recalls = [(pred[labels == k] == k).float().mean().item() for k in labels.unique()]
    return {
        "val_loss": F.cross_entropy(logits, labels).item(),
        "val_accuracy": (pred == labels).float().mean().item(),
        "val_balanced_accuracy": float(np.mean(recalls)),
    }


def _check_resume(run_dir: Path, stamp: dict[str, Any], resume: bool) -> None:
    saved_file = run_dir / "train_config.json"
    if not resume or not saved_file.is_file():
        if resume:
            raise HeadstartError(f"nothing to resume in {run_dir}: no train_config.json")
        return
    saved = json.loads(saved_file.read_text())
    if saved.get("fingerprint") != stamp["fingerprint"]:
        changed = [
            f"{k}: {saved['config'].get(k)!r} -> {v!r}"
            for k, v in stamp["config"].items()
            if saved["config"].get(k) != v
        ]
        changed += [f"{k} changed" for k, v in stamp["identity"].items() if saved.get("identity", {}).get(k) != v]
        raise HeadstartError(
            f"cannot resume {run_dir}: the configuration changed ({'; '.join(changed) or 'identity'}); "
            f"use the same options or a new --out"
        )
