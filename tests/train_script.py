"""Train a tiny-BERT TransferModel through ``headstart.train.train`` in a fresh process.

Run by tests/test_train.py in subprocesses (SIGKILL + ``--resume``, and under
``accelerate launch``); ``main(argv)`` also runs in-process (the baselines). The
data are built here, deterministically: short texts labelled "pos" / "neg" by
their sentiment words.

    python train_script.py BERT_DIR RUN_DIR OUT_FILE [--resume] [--slow SECONDS]
        [--epochs N] [--rows N] [--val-rows N] [--batch-size N] [--lr LR]
        [--checkpoint-every N] [--metrics FILE] [--balanced --minority-every K --seen PREFIX]

On success the main process writes the final model's state_dict to OUT_FILE
(safetensors) and, with ``--metrics``, a JSON file with the history, the final
validation accuracy and the number of processes. ``--balanced`` trains with the
class-balanced batch sampler (``balanced-sampling``) on data whose "pos" class
keeps only every K-th row; ``--seen PREFIX`` makes every process write the
training rows its loader read, and their classes, to ``PREFIX.rank<R>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HEADSTART_PROGRESS"] = "0"

import numpy as np  # noqa: E402
import torch  # noqa: E402

from headstart.backbones import load_backbone  # noqa: E402
from headstart.data import from_arrays  # noqa: E402
from headstart.io import save_tensors  # noqa: E402
from headstart.strategies.full import Full  # noqa: E402
from headstart.train import TrainConfig, TransferModel, train  # noqa: E402
from headstart.train.data import Rows  # noqa: E402

POSITIVE = "good great happy fun love lovely nice best brilliant wonderful amazing excellent superb".split()
NEGATIVE = "bad awful boring sad hate terrible worst dull poor ugly slow weak broken messy".split()
NEUTRAL = "the a this that film movie book story show plot was is it very really and but with of".split()


def make_texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = POSITIVE if label == "pos" else NEGATIVE
        picked = list(rng.choice(NEUTRAL, size=int(rng.integers(1, 7)))) + list(
            rng.choice(words, size=int(rng.integers(1, 3)))
        )
        rng.shuffle(picked)
        texts.append(" ".join(picked))
        labels.append(label)
    return texts, labels


@dataclass
class SlowFull(Full):
    """``full``, sleeping ``sleep`` seconds per step so a test can kill the run mid-epoch."""

    sleep: float = 0.0

    def extra_loss(self, model: Any) -> torch.Tensor | None:
        if self.sleep:
            time.sleep(self.sleep)
        return None


class SeenRows(Rows):
    """Training rows that remember which of them this process's loader read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[int] = []

    def __getitem__(self, i: int) -> tuple[Any, torch.Tensor]:
        self.seen.append(int(i))
        return super().__getitem__(i)


def rows(backbone: Any, n: int, seed: int, train: bool, minority_every: int = 1, cls: type = Rows) -> Rows | None:
    if n <= 0:
        return None
    texts, labels = make_texts(n, seed)
    keep = [i for i, label in enumerate(labels) if label == "neg" or (i // 2) % minority_every == 0]
    texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    codes = np.array([0 if label == "neg" else 1 for label in labels])
    return cls(from_arrays(texts, labels), backbone, codes, train=train, augment=False, max_length=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("bert_dir")
    parser.add_argument("run_dir")
    parser.add_argument("out_file")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--val-rows", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--checkpoint-every", type=int, default=1)
    parser.add_argument("--metrics", default=None)
    parser.add_argument("--balanced", action="store_true")
    parser.add_argument("--minority-every", type=int, default=1)
    parser.add_argument("--seen", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny model: one thread is as fast, and the same sums in every run

    backbone = load_backbone(f"hf:{args.bert_dir}")
    torch.manual_seed(0)
    model = TransferModel(backbone, 2)
    config = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        precision="no",
        checkpoint_every=args.checkpoint_every,
        warmup=0.1,
        seed=0,
    )
    train_rows = rows(backbone, args.rows, 1, True, args.minority_every, SeenRows if args.seen else Rows)
    hooks: dict[str, Any] = {}
    if args.balanced:
        from headstart.imbalance import make_method

        hooks["batch_sampler"] = make_method("balanced-sampling").batch_sampler(np.bincount(train_rows.codes.numpy()))
    result = train(
        model,
        SlowFull(sleep=args.slow),
        train_rows,
        rows(backbone, args.val_rows, seed=2, train=False),
        config,
        run_dir=args.run_dir,
        resume=args.resume,
        progress=False,
        **hooks,
    )
    from accelerate import PartialState

    state = PartialState()
    if args.seen:
        seen = {"rows": train_rows.seen, "classes": train_rows.codes[train_rows.seen].tolist()}
        with open(f"{args.seen}.rank{state.process_index}.json", "w") as f:
            json.dump(seen, f)
    if state.is_main_process:
        save_tensors(args.out_file, model.state_dict())
        if args.metrics:
            last = result.history[-1] if result.history else {}
            report = {
                "num_processes": state.num_processes,
                "val_accuracy": last.get("val_accuracy"),
                "best_score": result.best_score,
                "history": result.history,
                "resumed_from": result.resumed_from,
            }
            with open(args.metrics, "w") as f:
                json.dump(report, f)
    state.wait_for_everyone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
