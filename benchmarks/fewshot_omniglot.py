"""Omniglot: Conv4 trained episodically from scratch on images_background_small1
(rotations as extra classes, light affine augmentation, 60-way episodes, warm-up
+ cosine LR schedule, all through the one training loop), evaluated on the
alphabets of images_background_small2 that small1 lacks: Japanese (katakana),
Sanskrit, Tagalog (106 characters). Greek and Latin are in both and left out.

Prints 5-way / 20-way, 1-shot / 5-shot accuracy ± 95% CI over 600 episodes for
every few-shot method on the trained embeddings, with CPU time
(time.process_time, all threads) and wall time of the training.

    nice -n 15 .venv/bin/python benchmarks/fewshot_omniglot.py [--episodes 4000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, need_shared  # noqa: E402

EVAL_ALPHABETS = ("Japanese_(katakana)", "Sanskrit", "Tagalog")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=4000, help="training episodes in all")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--ways", type=int, default=60)
    ap.add_argument("--shots", type=int, default=1)
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--eval-episodes", type=int, default=600)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: most work per CPU second)")
    ap.add_argument("--load", default=None, help="skip training: evaluate these saved encoder weights")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 20 episodes, 100 eval episodes")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "fewshot_omniglot.json"))
    args = ap.parse_args()
    if args.quick:
        args.episodes, args.epochs, args.eval_episodes = 20, 1, 100

    import torch

    from headstart.data.omniglot import load_omniglot
    from headstart.fewshot import Conv4, train_episodic

    folder = need_shared("fewshot", "omniglot")
    print(machine())
    torch.manual_seed(0)
    train = load_omniglot(folder / "images_background_small1.zip", rotations=True)
    test = load_omniglot(folder / "images_background_small2.zip", alphabets=EVAL_ALPHABETS)
    print(
        f"train: {len(train)} drawings, {len(train.classes)} classes (with rotations); "
        f"test: {len(test)} drawings, {len(test.classes)} characters"
    )

    torch.set_num_threads(args.threads)
    encoder = Conv4(size=28, width=args.width)
    weights = Path(args.out).with_suffix(".safetensors")
    if args.load:
        from headstart.io import load_tensors

        encoder.load_state_dict(load_tensors(args.load))
        encoder.eval()
        evaluate(args, encoder, train, test, None, 0.0, 0.0)
        return
    cpu0, wall0 = time.process_time(), time.perf_counter()
    encoder, result = train_episodic(
        encoder,
        train,
        ways=args.ways,
        shots=args.shots,
        queries=args.queries,
        episodes=args.episodes // args.epochs,
        epochs=args.epochs,
        lr=args.lr,
        augment=not args.no_augment,
        seed=0,
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(
        f"training: {args.episodes} episodes of {args.ways}-way {args.shots}-shot {args.queries}-query, "
        f"CPU time {cpu / 60:.1f} min, wall {wall / 60:.1f} min, final loss {result.history[-1]['train_loss']:.4f}"
    )
    from headstart.io import save_tensors

    save_tensors(weights, {k: v.contiguous() for k, v in encoder.state_dict().items()})
    evaluate(args, encoder, train, test, result, cpu, wall)


def evaluate(args, encoder, train, test, result, cpu: float, wall: float) -> None:
    from headstart.features import extract
    from headstart.fewshot import Siamese, evaluate_episodes, get_method

    feats = extract(encoder, test, cache=False, progress=False, device="cpu").features
    base = extract(encoder, train, cache=False, progress=False, device="cpu").features
    siamese = Siamese(steps=500).pretrain(base, train.labels)
    rows = []
    for ways, shots in ((5, 1), (5, 5), (20, 1), (20, 5)):
        for name in ("protonet", "protonet-cosine", "matching", "nearest-neighbour", "logistic-regression", "siamese"):
            method = siamese if name == "siamese" else get_method(name)
            r = evaluate_episodes(
                feats, test.labels, method, ways, shots, 15 if shots == 1 else 10, args.eval_episodes, seed=0
            )
            print(r)
            rows.append(r.to_dict())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "args": vars(args),
                "train_cpu_s": cpu,
                "train_wall_s": wall,
                "history": result.history if result else None,
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
