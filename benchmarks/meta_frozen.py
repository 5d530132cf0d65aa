"""Meta-learning on frozen pretrained features: ANIL / ProtoMAML heads on EfficientNet-Lite0
embeddings of Omniglot images_background_small2, beside ProtoNet and support-set logistic regression.

Features: EfficientNet-Lite0 (ImageNet) 1280-d embeddings of small2 at 105 px, from the
features cache (the same embeddings as fewshot_episodes_speed.py, where ProtoNet scores
0.877 5-way 5-shot over all 156 characters). Split: meta-train on small2's Greek and
Latin characters (50 characters, 1,000 drawings; both alphabets are also in small1),
evaluate on its Japanese (katakana), Sanskrit and Tagalog characters (106 characters,
2,120 drawings), which no training step sees. ``--validate``: a development split inside the
meta-train alphabets (meta-train on Greek, evaluate on Latin), to choose options without the test split.
Every method but logistic regression sees the
embeddings scaled to mean norm 1 on the meta-train rows (the inner learning rates 0.4 / 0.1
diverge at the raw scale, norm ~ 30); ProtoNet is invariant to that scale. 600 test episodes, 15 queries per class,
episode seed 0, 95% CI = 1.96 std / sqrt(600). See _meta_features.py for the methods.

    nice -n 5 python benchmarks/meta_frozen.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, need_shared  # noqa: E402
from _meta_features import compare  # noqa: E402

TRAIN_ALPHABETS = ("Greek", "Latin")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ways", type=int, default=5)
    ap.add_argument("--shots", type=int, default=5)
    ap.add_argument("--batches", type=int, default=500)
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--episodes", type=int, default=600)
    ap.add_argument("--methods", default="protonet,anil,anil:learn_lr=1,protomaml")
    ap.add_argument("--scale", type=float, default=0.0, help="feature scale (0: 1 / mean norm of the train features)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--validate",
        action="store_true",
        help="development split: meta-train on Greek alone, evaluate on Latin (no test-split row is read)",
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    import headstart as hs
    from headstart.data.omniglot import load_omniglot
    from headstart.fewshot import evaluate_episodes

    torch.set_num_threads(args.threads)
    print(machine())
    data = load_omniglot(need_shared("fewshot", "omniglot") / "images_background_small2.zip", size=105)
    ex = hs.extract(hs.load_backbone("efficientnet-lite0"), data, progress=False)
    X, labels = np.asarray(ex.features, dtype=np.float32), np.asarray(data.labels)
    print(f"embeddings {X.shape} ({'from the cache' if ex.cached else 'extracted'}, {ex.seconds:.1f} s)")
    r = evaluate_episodes(X, labels, "protonet", ways=5, shots=5, queries=15, episodes=1000, seed=0)
    print(f"check: protonet, all of small2, 1000 5-way 5-shot episodes: {r.mean:.4f} ± {r.ci95:.4f} (recorded 0.8770)")
    is_train = np.array([lab.split("/")[0] in TRAIN_ALPHABETS for lab in labels])
    if args.validate:  # the choice of options: Greek -> Latin, inside the meta-train alphabets
        X, labels = X[is_train], labels[is_train]
        is_train = np.array([lab.split("/")[0] == "Greek" for lab in labels])
    print(
        f"meta-train: {len(set(labels[is_train]))} characters ({is_train.sum()} drawings) of {TRAIN_ALPHABETS}; "
        f"test: {len(set(labels[~is_train]))} characters ({(~is_train).sum()} drawings)"
    )
    scale = args.scale or float(1 / np.linalg.norm(X[is_train], axis=1).mean())
    print(f"features x {scale:.4g} (mean norm 1 on the meta-train rows) for every method but logistic regression")
    cpu = time.process_time()
    rows = compare(
        X[is_train],
        labels[is_train],
        X[~is_train],
        labels[~is_train],
        args.ways,
        args.shots,
        episodes=args.episodes,
        batches=args.batches,
        tasks=args.tasks,
        lr=args.lr,
        scale=scale,
        methods=args.methods.split(","),
    )
    print(f"total CPU {(time.process_time() - cpu) / 60:.1f} min")
    tag = "_validate" if args.validate else ""
    name = f"meta_frozen_{args.ways}w{args.shots}s_x{scale:.3g}{tag}.json"
    out = Path(args.out or ROOT / "benchmarks" / "out" / name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"args": vars(args), "scale": scale, "check_protonet_all_small2": [r.mean, r.ci95], "results": rows},
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
