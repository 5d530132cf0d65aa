"""ConSE zero-shot on hymenoptera val: efficientnet-lite0's ImageNet head (top-T
classes) + minilm text embeddings of the ImageNet class names, matched against
the labels "ants" and "bees" (the folder names). No hymenoptera image is used
for training. Target: accuracy >= 0.90.

    nice -n 15 .venv/bin/python benchmarks/zeroshot_conse.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, need_shared  # noqa: E402


def main() -> None:

    import headstart as hs
    from headstart.metrics import classification_metrics
    from headstart.zeroshot import ConSE

    print(machine())
    val = hs.load(need_shared("images", "hymenoptera")).where_split("val")
    labels = [str(c) for c in val.classes]
    truth = [str(v) for v in val.labels]
    for top_t in (1, 5, 10):
        start = time.perf_counter()
        zs = ConSE("efficientnet-lite0", "minilm", top_t=top_t).fit(labels)
        pred = [str(p) for p in zs.predict(val)]
        m = classification_metrics(truth, pred, labels)
        verdict = "target >= 0.90 met" if m["accuracy"] >= 0.90 else "target >= 0.90 NOT met"
        print(
            f"ConSE T={top_t}: hymenoptera val ({len(val)} images) accuracy {m['accuracy']:.4f}, "
            f"macro-F1 {m['macro_f1']:.4f} ({time.perf_counter() - start:.1f} s); {verdict}"
        )


if __name__ == "__main__":
    main()
